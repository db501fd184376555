//! The analytic model: closed-form per-level access counts, MAC counts and
//! cycles of a row-stationary mapping (docs/dataflow.md, docs/counters.md).
//!
//! Counts are sums over the loop nest's chunks taken in closed form (a
//! handful of distinct chunk sizes), never by stepping through it. Sparsity
//! enters as expectations from the layer's zero fractions; the expected
//! counts are rounded to integers once, at the end. Dense counts are exact.

mod cycles;
mod eltwise;
mod lockstep;
pub(crate) mod model;
mod network;
pub mod reuse;
mod sparsity;

pub use eltwise::{estimate_eltwise, estimate_global_pool};
pub use network::{
    estimate_network, estimate_network_cached, estimate_network_layer, AnalyticError,
    EstimateOptions,
};

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

/// PEs in the footprint of `m`: `ceil(R/fr)`·e·r·t·g (the tallest fold's set).
pub fn active_pes(prob: &ConvProblem, m: &RowStationaryMapping) -> u32 {
    m.fold_rows(prob) * m.e * m.r * m.t * m.g
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
    fn alexnet_dense_on_eyeriss_v1_uses_the_published_footprints() {
        let hw = eyeriss_v1();
        let pes: Vec<u32> = alexnet_convs(4)
            .iter()
            .map(|p| estimate_layer(p, &search(p, &hw, Objective::Energy).unwrap(), &hw).active_pes)
            .collect();
        assert_eq!(pes, [154, 135, 156, 156, 156], "dense");
        // The chip's measurement conditions (docs/reference.md §4 zero fractions).
        let zeros = [0.0001, 0.387, 0.725, 0.793, 0.776, 0.5];
        let pes: Vec<u32> = alexnet_convs(4)
            .iter()
            .enumerate()
            .map(|(i, p)| ConvProblem {
                ifmap_zero_fraction: zeros[i],
                ofmap_zero_fraction: zeros[i + 1],
                ..*p
            })
            .map(|p| {
                estimate_layer(&p, &search(&p, &hw, Objective::Energy).unwrap(), &hw).active_pes
            })
            .collect();
        assert_eq!(pes, [154, 135, 156, 156, 156], "measured sparsity");
    }

    #[test]
    fn without_multicast_the_glb_is_read_per_receiving_pe() {
        let mut hw = eyeriss_v1();
        let prob = alexnet_convs(1)[2];
        let m = search(&prob, &hw, Objective::Energy).unwrap();
        hw.noc.multicast = false;
        let c = estimate_layer(&prob, &m, &hw).counts;
        for t in [crate::stats::Tensor::Ifmap, crate::stats::Tensor::Filter] {
            let glb = c.get(crate::stats::Level::Glb, t).reads;
            assert_eq!(glb, c.get(crate::stats::Level::Noc, t).reads);
        }
    }

    #[test]
    fn weight_compression_scales_filter_traffic_and_skips_taps() {
        let mut hw = eyeriss_v1();
        hw.sparsity.weight_compression = true;
        let dense = alexnet_convs(1)[2];
        let sparse = ConvProblem {
            weight_density: 0.25,
            ..dense
        };
        let m = search(&dense, &hw, Objective::Energy).unwrap();
        let (d, s) = (
            estimate_layer(&dense, &m, &hw).counts,
            estimate_layer(&sparse, &m, &hw).counts,
        );
        let dram = |c: &LevelCounts| {
            c.get(crate::stats::Level::Dram, crate::stats::Tensor::Filter)
                .reads
        };
        assert_eq!(dram(&s), dram(&d) / 4);
        assert_eq!(s.macs.skipped, d.macs.algorithmic * 3 / 4);
        assert_eq!(
            s.macs.performed + s.macs.gated + s.macs.skipped,
            d.macs.algorithmic
        );
        assert!(
            estimate_layer(&sparse, &m, &hw).processing_cycles
                < estimate_layer(&dense, &m, &hw).processing_cycles
        );
    }
}
