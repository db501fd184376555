//! The analytic model: closed-form per-level access counts, MAC counts and
//! cycles of a row-stationary mapping (docs/dataflow.md, docs/counters.md).
//!
//! Counts are sums over the loop nest's chunks taken in closed form (a
//! handful of distinct chunk sizes), never by stepping through it. Sparsity
//! enters as expectations from the layer's zero fractions; the expected
//! counts are rounded to integers once, at the end. Dense counts are exact.

mod cycles;
mod eltwise;
pub(crate) mod model;
mod network;
pub mod reuse;
mod sparsity;

pub use eltwise::estimate_eltwise;
pub use network::{estimate_network, AnalyticError, EstimateOptions};

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
    /// PEs in the mapping's footprint (R·e·r·t·g).
    pub active_pes: u32,
}

/// Evaluates `mapping` of `prob` on `hw`. The mapping is assumed legal
/// (see [`crate::mapping::check`]); an illegal one gives meaningless numbers.
pub fn estimate_layer(
    prob: &ConvProblem,
    mapping: &RowStationaryMapping,
    hw: &HwConfig,
) -> LayerEstimate {
    let model = LayerModel::with_e_max(prob, hw, 0);
    evaluate(&model, mapping)
}

/// Evaluates one mapping with a prepared model.
pub(crate) fn evaluate(model: &LayerModel<'_>, mapping: &RowStationaryMapping) -> LayerEstimate {
    let st = model.strip(mapping.e);
    let raw = model.counts(mapping, &st);
    let (cycles, processing) = cycles::cycles(model, mapping, &st, &raw);
    LayerEstimate {
        counts: raw.rounded(),
        cycles: cycles.round() as u64,
        processing_cycles: processing.round() as u64,
        active_pes: active_pes(model.prob, mapping),
    }
}

/// PEs in the footprint of `m`: R·e·r·t·g.
pub fn active_pes(prob: &ConvProblem, m: &RowStationaryMapping) -> u32 {
    prob.r * m.e * m.r * m.t * m.g
}

/// Cycles (serialized, processing) of one mapping, for the mapper.
pub(crate) fn cycles_of(
    model: &LayerModel<'_>,
    mapping: &RowStationaryMapping,
    st: &model::StripSums,
    raw: &model::RawCounts,
) -> (f64, f64) {
    cycles::cycles(model, mapping, st, raw)
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::mapping::{search, Objective};

    #[test]
    fn alexnet_on_eyeriss_v1_probe() {
        let hw = eyeriss_v1();
        for (i, prob) in alexnet_convs(4).iter().enumerate() {
            for obj in [Objective::Energy, Objective::Edp, Objective::Cycles] {
                let m = search(prob, &hw, obj).unwrap();
                let est = estimate_layer(prob, &m, &hw);
                let e = est.counts.energy(&hw.energy);
                eprintln!(
                "conv{} {} pes={} cycles={} proc={} E={:.4e} dram={:.3e} glb={:.3e} noc={:.3e} rf={:.3e} alu={:.3e}",
                i + 1, m, est.active_pes, est.cycles, est.processing_cycles, e.total(),
                e.level(crate::stats::Level::Dram), e.level(crate::stats::Level::Glb),
                e.level(crate::stats::Level::Noc), e.level(crate::stats::Level::Rf), e.alu
            );
            }
        }
        let chip: [(u32, u32, u32, u32); 5] = [
            (7, 1, 2, 1),
            (27, 1, 1, 1),
            (13, 1, 4, 1),
            (13, 2, 2, 1),
            (13, 2, 2, 1),
        ];
        for (i, prob) in alexnet_convs(4).iter().enumerate() {
            let (ce, cr, ct, cg) = chip[i];
            let Ok(m) = crate::mapping::search::search_where(prob, &hw, Objective::Energy, |m| {
                m.e == ce && m.r == cr && m.t == ct && m.g == cg
            }) else {
                continue;
            };
            let est = estimate_layer(prob, &m, &hw);
            let e = est.counts.energy(&hw.energy);
            eprintln!(
                "chip conv{} {} pes={} cycles={} proc={} E={:.4e} dram={:.3e} glb={:.3e} noc={:.3e} rf={:.3e} alu={:.3e}",
                i + 1, m, est.active_pes, est.cycles, est.processing_cycles, e.total(),
                e.level(crate::stats::Level::Dram), e.level(crate::stats::Level::Glb),
                e.level(crate::stats::Level::Noc), e.level(crate::stats::Level::Rf), e.alu
            );
        }
    }
}
