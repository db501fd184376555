//! Counters shared by the analytic model and the simulator, their energy,
//! the per-layer result row, and output writing.
//!
//! Both models fill the same [`LevelCounts`]; what one read or write means
//! at each level is defined in `docs/counters.md`, and nowhere else.

mod atomic;
mod counts;
pub mod csv;
mod result;

pub use atomic::write_atomic;
pub use counts::{Access, Energy, Level, LevelCounts, MacCounts, Tensor, LEVELS, TENSORS};
pub use result::LayerResult;
