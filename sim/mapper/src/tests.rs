//! The mapper's choices, evaluated by the analytic model: the published
//! footprints and multicast counts on AlexNet.

use crate::{search, Objective};
use eyesim_analytic::estimate_layer;
use eyesim_core::fixtures::*;
use eyesim_core::stats::LevelCounts;
use eyesim_core::workload::ConvProblem;

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
        .map(|p| estimate_layer(&p, &search(&p, &hw, Objective::Energy).unwrap(), &hw).active_pes)
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
