//! Counters shared by the analytic model and the simulator, and their energy.
//!
//! Both models fill the same [`LevelCounts`]; what one read or write means
//! at each level is defined in `docs/counters.md`, and nowhere else.

mod counts;

pub use counts::{Access, Energy, Level, LevelCounts, MacCounts, Tensor, LEVELS, TENSORS};
