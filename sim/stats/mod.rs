//! Counters shared by the analytic model and the simulator, their energy,
//! the per-layer result row, and output writing.
//!
//! Both models fill the same [`LevelCounts`]; what one read or write means
//! at each level is defined in `docs/counters.md`, and nowhere else.

mod atomic;
mod counts;
pub mod csv;
mod paths;
mod result;

pub use atomic::{write_atomic, write_atomic_with};
pub use counts::{Access, Energy, Level, LevelCounts, MacCounts, Tensor, LEVELS, TENSORS};
pub use paths::{
    check_dir_writable, check_file_name, check_file_writable, parent_or_cwd, sanitize_file_name,
    MAX_NAME_CHARS,
};
pub use result::LayerResult;
