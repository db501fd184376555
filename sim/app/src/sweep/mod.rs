//! Design-space sweeps: many hwconfig variants (and batch sizes), each
//! evaluated on every layer, streamed to CSV in a deterministic order.
//!
//! * [`plan`]: parameters ([`Axis`]), their values ([`values`] syntax) and
//!   the points they span ([`SweepPlan`]); [`spec`] reads sweep files.
//! * [`run_sweep`]: parallel evaluation through a [`PointEvaluator`], with
//!   in-order streaming output, `--resume` and `--shard` ([`output`]).
//! * [`merge()`]: shard outputs into the unsharded output, byte for byte.
//!
//! The output folder holds `sweep.csv` (one row per point, layer, level and
//! tensor), `sweep_summary.csv` (one row per point) and `manifest.json`.

pub mod csv_text;
pub mod eval;
pub mod lock;
pub mod manifest;
pub mod merge;
pub mod output;
pub mod plan;
pub mod rows;
pub mod run;
pub mod spec;
pub mod values;

pub use eval::{load_base, param_space, NetworkEvaluator, SweepBase};
pub use manifest::{Manifest, Shard};
pub use merge::merge;
pub use plan::{Axis, ParamSpace, Point, SweepPlan, BATCH_KEY};
pub use rows::{PointOutcome, PointResult, Status};
pub use run::{run_sweep, PointEvaluator, RunObserver, RunOptions, RunReport};
pub use spec::SweepSpec;

use std::path::Path;

/// Errors of sweep definition, output and merging.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The run was cancelled; the output holds the points done so far.
    #[error(transparent)]
    Cancelled(#[from] crate::cancel::Cancelled),
    /// A `--vary` key that is not a sweepable parameter.
    #[error("unknown parameter `{key}`{hint}; parameters that can be varied: {valid}")]
    UnknownKey {
        /// The key given.
        key: String,
        /// ` (did you mean ...)`, or empty.
        hint: String,
        /// Every valid key.
        valid: String,
    },
    /// A bad value list or range, shown with a caret under the token.
    #[error("{message}\n{shown}")]
    BadValue {
        /// What is wrong.
        message: String,
        /// The argument and a caret line.
        shown: String,
    },
    /// A sweep file problem.
    #[error("{origin}: {message}")]
    Spec {
        /// File, line and column.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// An inconsistent sweep definition.
    #[error("{0}")]
    Plan(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// An unreadable manifest.
    #[error("{path}: not a sweep manifest: {message}")]
    Manifest {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A damaged progress journal.
    #[error("{path}: cannot resume: {message}")]
    Journal {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// `--resume` on a folder holding another sweep.
    #[error("{dir} holds a different sweep ({found}) than this one ({expected}); use another --out, or drop --resume")]
    Mismatch {
        /// The output folder.
        dir: String,
        /// What the folder holds.
        found: String,
        /// What this run is.
        expected: String,
    },
    /// A fresh start would discard an interrupted sweep.
    #[error("{dir} holds an interrupted sweep; continue it with --resume, or pass --force to start over")]
    Interrupted {
        /// The output folder.
        dir: String,
    },
    /// Another process is writing the folder.
    #[error("{dir} is being written by another eyesim process ({holder}); wait for it to finish, or choose another --out")]
    Locked {
        /// The output folder.
        dir: String,
        /// Who holds the lock (`pid 1234`), as recorded in the lock file.
        holder: String,
    },
    /// Shards that cannot be merged.
    #[error("cannot merge: {0}")]
    Merge(String),
}

impl SweepError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> SweepError {
        SweepError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

#[cfg(test)]
mod tests;
