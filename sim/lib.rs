//! eyesim: analytic and cycle-level models of row-stationary CNN accelerators.
//!
//! Data flows one way: a workload ([`workload`]) and a hardware config
//! ([`hw`]) go to the mapper ([`mapping`]), whose mapping is evaluated by the
//! analytic model ([`analytic`]) or executed by the cycle-level simulator
//! ([`engine`]); both fill the same counters ([`stats`]), which
//! [`crosscheck`], [`sweep`] and [`report`] consume. [`cli`] is the
//! application on top: the `eyesim` command line, which the binary and the
//! Python package both run. See `ARCHITECTURE.md`.
#![warn(missing_docs)]

pub mod analytic;
pub mod cancel;
pub mod cli;
pub mod crosscheck;
pub mod data;
pub mod engine;
pub mod hw;
#[cfg(feature = "onnx")]
pub mod infer;
pub mod mapping;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod prune;
pub mod report;
pub mod stats;
pub mod sweep;
mod tomldoc;
pub mod workload;

pub use tomldoc::Location;
