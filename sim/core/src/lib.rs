//! eyesim's core: the types both models share and the arithmetic they agree
//! on. Workloads ([`workload`]) and hardware configs ([`hw`]) parsed and
//! validated from text, row-stationary mappings and their legality
//! ([`mapping`]), the counters ([`stats`]), the chip's 16-bit arithmetic,
//! synthetic data and the reference convolution ([`data`]), and the
//! cooperative stop flag ([`cancel`]).
//!
//! The core does no file I/O: it parses text and returns values. The
//! `eyesim` application crate reads and writes files.
#![warn(missing_docs)]

pub mod cancel;
pub mod data;
pub mod fixtures;
pub mod hw;
pub mod input;
pub mod mapping;
pub mod stats;
pub mod tomldoc;
pub mod workload;

pub use input::{InputError, InputKind};
pub use tomldoc::Location;
