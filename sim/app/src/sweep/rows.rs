//! The bytes of `sweep.csv` and `sweep_summary.csv`.
//!
//! Rows are formatted by the worker that evaluated the point, so the writer
//! thread only appends bytes. Floats use the fixed formats of
//! `accesses.csv` and `layers.csv` (energies with 3 decimals, latencies in
//! ms with 6), so identical inputs give identical bytes.

use super::csv_text::{csv_field, record_end};
use super::plan::{Point, SweepPlan};
use crate::hw::EnergyUnit;
use crate::stats::{LayerResult, Level};
use serde::{Deserialize, Serialize};

/// Columns of `sweep.csv` after the varied parameters.
pub const DETAIL_COLUMNS: &str = "network,layer,level,tensor,reads,writes,energy,energy_unit";

/// Columns of `sweep_summary.csv` after the varied parameters.
pub const SUMMARY_COLUMNS: &str = "status,energy,energy_dram,energy_glb,energy_noc,energy_rf,\
energy_alu,energy_unit,cycles,processing_cycles,latency_ms,edp,mappings,reason";

/// A successfully evaluated point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointResult {
    /// One result per layer, in network order.
    pub layers: Vec<LayerResult>,
    /// Unit of every energy.
    pub energy_unit: EnergyUnit,
    /// Core clock of the point's hwconfig, for the latency in ms.
    pub core_mhz: f64,
}

/// What evaluating one point gave.
#[derive(Debug, Clone, PartialEq)]
pub enum PointOutcome {
    /// Every layer was mapped and evaluated.
    Done(PointResult),
    /// The point is not a valid hwconfig; the reason says why.
    Invalid(String),
    /// The hwconfig is valid but a layer could not be evaluated (e.g. no
    /// legal mapping fits); the reason names the layer.
    Failed(String),
}

/// Status of a point, as written in the `status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Evaluated.
    Ok,
    /// Skipped: not a valid hwconfig.
    Invalid,
    /// Skipped: a layer could not be evaluated.
    Failed,
}

impl Status {
    /// The `status` column value.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Invalid => "invalid",
            Status::Failed => "failed",
        }
    }
}

/// One point's rows, ready to append.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRows {
    /// Index of the point in the full sweep.
    pub index: usize,
    /// Lines for `sweep.csv` (possibly none).
    pub detail: String,
    /// Number of lines in `detail`.
    pub detail_rows: usize,
    /// The line for `sweep_summary.csv`.
    pub summary: String,
    /// The point's status.
    pub status: Status,
    /// The skip reason, for invalid and failed points.
    pub reason: Option<String>,
}

/// Header line of `sweep.csv`.
pub fn detail_header(plan: &SweepPlan) -> String {
    format!("{}{DETAIL_COLUMNS}\n", plan.csv_header_prefix())
}

/// Header line of `sweep_summary.csv`.
pub fn summary_header(plan: &SweepPlan) -> String {
    format!("{}{SUMMARY_COLUMNS}\n", plan.csv_header_prefix())
}

/// Formats the rows of `point` from its outcome.
pub fn format_point(plan: &SweepPlan, point: &Point, outcome: &PointOutcome) -> PointRows {
    let prefix = plan.csv_prefix(point);
    let (status, reason) = match outcome {
        PointOutcome::Done(_) => (Status::Ok, None),
        PointOutcome::Invalid(r) => (Status::Invalid, Some(r.clone())),
        PointOutcome::Failed(r) => (Status::Failed, Some(r.clone())),
    };
    let (detail, detail_rows, numbers) = match outcome {
        PointOutcome::Done(res) => {
            let (d, n) = access_rows(&prefix, res);
            (d, n, summary_numbers(res))
        }
        // Every column between `status` and `reason` stays empty.
        _ => (
            String::new(),
            0,
            ",".repeat(SUMMARY_COLUMNS.split(',').count() - 3),
        ),
    };
    let summary = format!(
        "{prefix}{},{numbers},{}\n",
        status.name(),
        csv_field(reason.as_deref().unwrap_or(""))
    );
    PointRows {
        index: point.index,
        detail,
        detail_rows,
        summary,
        status,
        reason,
    }
}

/// The data lines of `accesses.csv` for the point (so both files format
/// numbers identically), each prefixed with the point's values.
fn access_rows(prefix: &str, res: &PointResult) -> (String, usize) {
    let bytes = crate::stats::csv::accesses_csv(&res.layers, res.energy_unit);
    let text = String::from_utf8(bytes).expect("accesses.csv is UTF-8");
    let mut out = String::with_capacity(text.len() + 64 * res.layers.len());
    let mut n = 0;
    let mut rest = text.as_bytes();
    let mut first = true;
    while let Some(end) = record_end(rest) {
        let (record, tail) = rest.split_at(end);
        rest = tail;
        if std::mem::take(&mut first) {
            continue; // the header
        }
        out.push_str(prefix);
        out.push_str(std::str::from_utf8(record).expect("split at ASCII newlines"));
        n += 1;
    }
    (out, n)
}

/// The numeric summary fields from `energy` to `mappings`.
fn summary_numbers(res: &PointResult) -> String {
    let levels = [Level::Dram, Level::Glb, Level::Noc, Level::Rf, Level::Alu];
    let mut per_level = [0.0f64; 5];
    let (mut cycles, mut processing) = (0u64, 0u64);
    for l in &res.layers {
        for (slot, &lv) in per_level.iter_mut().zip(&levels) {
            *slot += l.energy.level(lv);
        }
        cycles += l.cycles;
        processing += l.processing_cycles;
    }
    let total: f64 = per_level.iter().sum();
    let latency_ms = cycles as f64 / (res.core_mhz * 1e3);
    let mappings: Vec<String> = res
        .layers
        .iter()
        .filter_map(|l| l.mapping.map(|m| format!("{}={}", l.layer, m.summary())))
        .collect();
    let lv: Vec<String> = per_level.iter().map(|e| format!("{e:.3}")).collect();
    format!(
        "{total:.3},{},{},{cycles},{processing},{latency_ms:.6},{:.3},{}",
        lv.join(","),
        res.energy_unit.label(),
        total * latency_ms,
        csv_field(&mappings.join(";")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::plan::{Axis, ParamSpace};

    fn plan() -> SweepPlan {
        let space = ParamSpace::new([("batch".to_string(), true)]);
        let a = Axis::parse_arg("batch=1,2", &space).unwrap();
        SweepPlan::new(vec![a], String::new()).unwrap()
    }

    #[test]
    fn skipped_point_has_empty_numbers_and_quoted_reason() {
        let p = plan();
        let rows = format_point(&p, &p.point(1), &PointOutcome::Invalid("a, b".into()));
        let cols = SUMMARY_COLUMNS.split(',').count() + 1;
        let fields = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(rows.summary.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(fields.len(), cols);
        assert_eq!(&fields[0], "2");
        assert_eq!(&fields[1], "invalid");
        assert_eq!(&fields[cols - 1], "a, b");
        assert_eq!(rows.detail_rows, 0);
    }
}
