//! Counters shared by the analytic model and the simulator, their energy,
//! the per-layer result row, CSV writers, and safe output names.
//!
//! Both models fill the same [`LevelCounts`]; what one read or write means
//! at each level is defined in `docs/counters.md`, and nowhere else.

mod counts;
pub mod csv;
mod names;
mod result;

pub use counts::{Access, Energy, Level, LevelCounts, MacCounts, Tensor, LEVELS, TENSORS};
pub use names::{check_file_name, sanitize_file_name, MAX_NAME_CHARS};
pub use result::LayerResult;
