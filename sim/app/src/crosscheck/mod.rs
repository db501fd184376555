//! Cross-check: the analytic model against the simulator, level by level.
//!
//! Both models evaluate the same layers under the same mappings. This module
//! pairs their [`LayerResult`]s and compares every counter (each level ×
//! tensor × read/write, the MAC counts), the cycles and the energy. Dense
//! layers must agree exactly, because both follow `docs/dataflow.md`; sparse
//! layers differ because the analytic model uses expected zero counts while
//! the simulator sees the actual data; cycles differ because the analytic
//! timing is an estimate of the simulated contention.

mod both;
pub mod chip;
mod parity;
mod read;

pub use both::{run_both, BothError, BothOptions, BothResults};
pub use parity::parity_svg;
pub use read::read_crosscheck_csv;

use crate::stats::{LayerResult, Level, LEVELS, TENSORS};
use serde::Serialize;

/// Pass/fail thresholds, as relative differences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// Access and MAC counts of dense layers (0 = exact).
    pub dense_counts: f64,
    /// Access and MAC counts of layers with sparse data.
    pub sparse_counts: f64,
    /// Cycles and processing cycles.
    pub cycles: f64,
    /// Total energy.
    pub energy: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            dense_counts: 0.0,
            sparse_counts: 0.05,
            cycles: 0.10,
            energy: 0.05,
        }
    }
}

/// What a compared quantity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantity {
    /// Reads at a level for a tensor.
    Reads,
    /// Writes at a level for a tensor.
    Writes,
    /// MACs performed.
    Macs,
    /// Cycles with DRAM serialized.
    Cycles,
    /// Cycles with DRAM hidden.
    ProcessingCycles,
    /// Total energy.
    Energy,
}

impl Quantity {
    /// Lowercase name used in `crosscheck.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Quantity::Reads => "reads",
            Quantity::Writes => "writes",
            Quantity::Macs => "macs",
            Quantity::Cycles => "cycles",
            Quantity::ProcessingCycles => "processing_cycles",
            Quantity::Energy => "energy",
        }
    }
}

/// One compared number.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Layer name.
    pub layer: String,
    /// Level (`-` for cycles and energy).
    pub level: &'static str,
    /// Tensor (`-` where it does not apply).
    pub tensor: &'static str,
    /// What is compared.
    pub quantity: Quantity,
    /// Whether the layer's data is dense.
    pub dense: bool,
    /// The analytic value.
    pub analytic: f64,
    /// The simulated value.
    pub simulated: f64,
    /// The threshold applied.
    pub tolerance: f64,
}

impl Comparison {
    /// (simulated − analytic) / analytic; 0 when both are 0, infinite when
    /// only the analytic value is 0.
    pub fn rel_diff(&self) -> f64 {
        let d = self.simulated - self.analytic;
        if d == 0.0 {
            0.0
        } else if self.analytic == 0.0 {
            f64::INFINITY
        } else {
            d / self.analytic.abs()
        }
    }
    /// Whether the difference is within the tolerance.
    pub fn passes(&self) -> bool {
        self.rel_diff().abs() <= self.tolerance
    }
}

/// Why two result lists cannot be compared.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CrossCheckError {
    /// The two models evaluated different layers.
    #[error("layer `{0}` was evaluated by only one of the two models")]
    UnpairedLayer(String),
}

/// Compares analytic and simulated results layer by layer. `dense(layer)`
/// says whether a layer's data is dense (exact agreement expected).
pub fn compare(
    analytic: &[LayerResult],
    simulated: &[LayerResult],
    dense: impl Fn(&str) -> bool,
    tol: &Tolerances,
) -> Result<Vec<Comparison>, CrossCheckError> {
    let mut out = Vec::new();
    for a in analytic {
        let s = simulated
            .iter()
            .find(|s| s.layer == a.layer)
            .ok_or_else(|| CrossCheckError::UnpairedLayer(a.layer.clone()))?;
        compare_layer(a, s, dense(&a.layer), tol, &mut out);
    }
    if let Some(s) = simulated
        .iter()
        .find(|s| !analytic.iter().any(|a| a.layer == s.layer))
    {
        return Err(CrossCheckError::UnpairedLayer(s.layer.clone()));
    }
    Ok(out)
}

fn compare_layer(
    a: &LayerResult,
    s: &LayerResult,
    dense: bool,
    tol: &Tolerances,
    out: &mut Vec<Comparison>,
) {
    let count_tol = if dense {
        tol.dense_counts
    } else {
        tol.sparse_counts
    };
    let row = |level: &'static str, tensor: &'static str, q: Quantity, av: f64, sv: f64, t: f64| {
        Comparison {
            layer: a.layer.clone(),
            level,
            tensor,
            quantity: q,
            dense,
            analytic: av,
            simulated: sv,
            tolerance: t,
        }
    };
    for level in LEVELS {
        for tensor in TENSORS {
            let (x, y) = (a.counts.get(level, tensor), s.counts.get(level, tensor));
            let (l, t) = (level.name(), tensor.name());
            out.push(row(
                l,
                t,
                Quantity::Reads,
                x.reads as f64,
                y.reads as f64,
                count_tol,
            ));
            out.push(row(
                l,
                t,
                Quantity::Writes,
                x.writes as f64,
                y.writes as f64,
                count_tol,
            ));
        }
    }
    let alu = Level::Alu.name();
    let (am, sm) = (
        a.counts.macs.performed as f64,
        s.counts.macs.performed as f64,
    );
    out.push(row(alu, "-", Quantity::Macs, am, sm, count_tol));
    out.push(row(
        "-",
        "-",
        Quantity::Cycles,
        a.cycles as f64,
        s.cycles as f64,
        tol.cycles,
    ));
    let (ap, sp) = (a.processing_cycles as f64, s.processing_cycles as f64);
    out.push(row(
        "-",
        "-",
        Quantity::ProcessingCycles,
        ap,
        sp,
        tol.cycles,
    ));
    let (ae, se) = (a.energy.total(), s.energy.total());
    let energy_tol = if dense { tol.dense_counts } else { tol.energy };
    out.push(row("-", "-", Quantity::Energy, ae, se, energy_tol));
}

/// The bytes of `crosscheck.csv`.
pub fn crosscheck_csv(network: &str, rows: &[Comparison]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "network",
        "layer",
        "level",
        "tensor",
        "quantity",
        "data",
        "analytic",
        "simulated",
        "rel_diff",
        "tolerance",
        "status",
    ];
    w.write_record(header).expect("in-memory CSV");
    for r in rows {
        let rel = r.rel_diff();
        let rel = if rel.is_finite() {
            format!("{rel:.6}")
        } else {
            "inf".into()
        };
        w.write_record([
            network,
            &r.layer,
            r.level,
            r.tensor,
            r.quantity.name(),
            if r.dense { "dense" } else { "sparse" },
            &fmt_value(r.analytic),
            &fmt_value(r.simulated),
            &rel,
            &format!("{:.4}", r.tolerance),
            if r.passes() { "ok" } else { "FAIL" },
        ])
        .expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.6e}")
    }
}

/// The worst comparison (largest |relative difference| relative to its tolerance).
pub fn worst(rows: &[Comparison]) -> Option<&Comparison> {
    rows.iter().max_by(|x, y| {
        x.rel_diff()
            .abs()
            .partial_cmp(&y.rel_diff().abs())
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

#[cfg(test)]
mod tests;
