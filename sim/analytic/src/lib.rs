//! The analytic model: closed-form per-level access counts, MAC counts and
//! cycles of a row-stationary mapping (docs/dataflow.md, docs/counters.md).
//!
//! Counts are sums over the loop nest's chunks taken in closed form (a
//! handful of distinct chunk sizes), never by stepping through it. Sparsity
//! enters as expectations from the layer's zero fractions; the expected
//! counts are rounded to integers once, at the end. Dense counts are exact.
//!
//! It depends on the core crate only: it never calls the simulator, and the
//! simulator never calls it (ARCHITECTURE.md, "Two independent models").
#![warn(missing_docs)]

use eyesim_core::{hw, mapping, stats, workload};

mod banks;
mod bursts;
mod cycles;
mod eltwise;
mod link;
mod lockstep;
pub mod model;
pub mod reuse;
mod sparsity;

pub use eltwise::{estimate_eltwise, estimate_global_pool};

use crate::hw::HwConfig;
use crate::mapping::RowStationaryMapping;
use crate::stats::LevelCounts;
use crate::workload::ConvProblem;
use model::LayerModel;

/// The analytic model's verdict on one layer and mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerEstimate {
    /// Accesses and MACs for the whole batch.
    pub counts: LevelCounts,
    /// Core cycles with DRAM transfers serialized as on the chip.
    pub cycles: u64,
    /// Core cycles with DRAM time hidden ("processing latency").
    pub processing_cycles: u64,
    /// PEs in the mapping's footprint (`ceil(R/fr)`·e·r·t·g).
    pub active_pes: u32,
}

impl LayerEstimate {
    /// No work at all (concatenation).
    pub fn zero() -> LayerEstimate {
        LayerEstimate {
            counts: Default::default(),
            cycles: 0,
            processing_cycles: 0,
            active_pes: 0,
        }
    }
}

/// Evaluates `mapping` of `prob` on `hw`. The mapping is assumed legal
/// (see [`crate::mapping::check()`]); an illegal one gives meaningless numbers.
///
/// ```
/// use eyesim_core::fixtures::{alexnet_convs, eyeriss_v1};
/// use eyesim_core::mapping::RowStationaryMapping;
/// let (hw, conv1) = (eyeriss_v1(), alexnet_convs(4)[0]);
/// // The chip's own CONV1 mapping (JSSC 2017 Table III).
/// let m = RowStationaryMapping { e: 7, r: 1, t: 2, g: 1, p: 16, q: 1, n: 1, m: 96, fr: 1, fs: 1, fw: 1 };
/// let est = eyesim_analytic::estimate_layer(&conv1, &m, &hw);
/// assert_eq!(est.active_pes, 154);
/// ```
pub fn estimate_layer(
    prob: &ConvProblem,
    mapping: &RowStationaryMapping,
    hw: &HwConfig,
) -> LayerEstimate {
    let model = LayerModel::with_e_max(prob, hw, 0);
    evaluate(&model, mapping)
}

/// Evaluates one mapping with a prepared model.
#[inline]
pub fn evaluate(model: &LayerModel<'_>, mapping: &RowStationaryMapping) -> LayerEstimate {
    if mapping.fw > 1 {
        return evaluate_column_tiles(model.prob, mapping, model.hw);
    }
    let st = model.strip(mapping.e, mapping.fr);
    let raw = model.counts(mapping, &st);
    let (cycles, processing) = cycles::cycles(model, mapping, &st, &raw);
    LayerEstimate {
        counts: raw.rounded(),
        cycles: cycles.round() as u64,
        processing_cycles: processing.round() as u64,
        active_pes: active_pes(model.prob, mapping),
    }
}

/// A mapping with column tiles: each tile is a layer of its own, run one
/// after the other (docs/dataflow.md §3), so its counts and cycles add up.
/// A tile that the mapping does not fit counts as the tile's estimate all
/// the same; `mapping::check` is what rejects such mappings, and a column
/// tile count the layer cannot take (which it also rejects) counts as the
/// layer without column tiles.
fn evaluate_column_tiles(
    prob: &ConvProblem,
    mapping: &RowStationaryMapping,
    hw: &HwConfig,
) -> LayerEstimate {
    let base = mapping.untiled();
    let Some(tiles) = prob.column_tiles(mapping.fw) else {
        return estimate_layer(prob, &base, hw);
    };
    let mut total = LayerEstimate::zero();
    // Equal tiles in the middle are the same layer: estimate it once.
    let mut last: Option<(ConvProblem, LayerEstimate)> = None;
    for t in &tiles {
        let est = match &last {
            Some((p, e)) if *p == t.prob => *e,
            _ => estimate_layer(&t.prob, &base, hw),
        };
        last = Some((t.prob, est));
        total.counts += est.counts;
        total.cycles += est.cycles;
        total.processing_cycles += est.processing_cycles;
        total.active_pes = total.active_pes.max(est.active_pes);
    }
    total
}

/// PEs in the footprint of `m`: `ceil(R/fr)`·e·r·t·g (the tallest fold's set).
#[inline]
pub fn active_pes(prob: &ConvProblem, m: &RowStationaryMapping) -> u32 {
    m.fold_rows(prob) * m.e * m.r * m.t * m.g
}

/// Cycles (serialized, processing) of one mapping, for the mapper.
#[inline]
pub fn cycles_of(
    model: &LayerModel<'_>,
    mapping: &RowStationaryMapping,
    st: &model::StripSums,
    raw: &model::RawCounts,
) -> (f64, f64) {
    cycles::cycles(model, mapping, st, raw)
}
