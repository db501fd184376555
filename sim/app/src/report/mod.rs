//! SVG plots drawn from eyesim's output CSVs.
//!
//! Plots read only the CSVs (and a sweep's `manifest.json`), so anyone can
//! redraw them from the files. [`plot_dir`] detects what a folder holds:
//!
//! * a sweep (`sweep_summary.csv`): energy per level and latency against
//!   each varied parameter, and the energy/latency Pareto front;
//! * an estimate or run (`layers.csv`, `accesses.csv`): energy per layer
//!   stacked by level, and the energy share of each data type.
//!
//! Every SVG is written atomically.

mod chart;
mod layer_plots;
mod prune_plots;
mod sweep_plots;
mod table;

pub use layer_plots::{plot_layer_energy, plot_tensor_share};
pub use prune_plots::plot_prune;
pub use sweep_plots::plot_sweep;

use chart::{Area, DrawResult};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Errors while reading CSVs or drawing.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A malformed CSV.
    #[error("{path}: {message}")]
    Csv {
        /// The file (and line).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A CSV without a column a plot needs.
    #[error("{path}: no column `{column}`")]
    MissingColumn {
        /// The file.
        path: String,
        /// The column.
        column: String,
    },
    /// Nothing to plot.
    #[error("{0}")]
    NoData(String),
    /// The plotting backend failed.
    #[error("{path}: cannot draw: {message}")]
    Plot {
        /// The SVG being drawn.
        path: String,
        /// The backend's message.
        message: String,
    },
    /// A folder without any CSV that eyesim plots.
    #[error("{0}: no sweep_summary.csv, layers.csv or accesses.csv to plot")]
    Unknown(String),
}

/// What an output folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    /// A sweep (`sweep_summary.csv`).
    Sweep,
    /// Per-layer results of `estimate` or `run` (`layers.csv` and/or `accesses.csv`).
    Layers,
}

/// Detects the kind of `dir` from its CSVs.
pub fn detect(dir: &Path) -> Option<FolderKind> {
    if dir.join(crate::sweep::manifest::SUMMARY).is_file() {
        Some(FolderKind::Sweep)
    } else if dir.join("layers.csv").is_file() || dir.join("accesses.csv").is_file() {
        Some(FolderKind::Layers)
    } else {
        None
    }
}

/// Draws every applicable plot into `dir`; returns the SVGs written.
pub fn plot_dir(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    match detect(dir) {
        Some(FolderKind::Sweep) => plot_sweep(dir),
        Some(FolderKind::Layers) => plot_layers(dir),
        None => Err(ReportError::Unknown(dir.display().to_string())),
    }
}

/// The per-layer plots of an estimate/run folder (the `run` command calls
/// this after writing its CSVs).
pub fn plot_layers(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut out = Vec::new();
    if dir.join("layers.csv").is_file() {
        out.push(plot_layer_energy(dir)?);
    }
    if dir.join("accesses.csv").is_file() {
        out.push(plot_tensor_share(dir)?);
    }
    Ok(out)
}

/// A legend in its own column: a colour swatch and a name per entry.
fn legend(area: &Area, entries: &[(String, RGBColor)], top: i32) -> DrawResult {
    let style = ("sans-serif", 14).into_font().into_text_style(area);
    for (i, (name, color)) in entries.iter().enumerate() {
        let y = top + 24 * i as i32;
        area.draw(&Rectangle::new([(6, y - 6), (26, y + 6)], color.filled()))?;
        area.draw_text(name, &style, (34, y - 8))?;
    }
    Ok(())
}
