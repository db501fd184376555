//! The analytic model: published reference numbers, hand-counted layers,
//! sparsity monotonicity and golden CSVs.

use eyesim::analytic::{estimate_layer, estimate_network, EstimateOptions};
use eyesim::hw::{self, HwConfig};
use eyesim::mapping::{self, Objective, RowStationaryMapping};
use eyesim::stats::{self, Level, Tensor};
use eyesim::workload::{self, ConvProblem, LayerWork};

fn conv(n: u32, c: u32, m: u32, h: u32, r: u32, pad: u32) -> ConvProblem {
    eyesim_core::fixtures::conv(n, 1, c, m, h, r, 1, pad)
}

/// ISCA 2016 Fig. 10 (docs/reference.md §7), 10⁹ MAC-normalized units: (layer, ALU, DRAM, RF).
const FIG10: [(&str, f64, f64, f64); 8] = [
    ("conv1", 1.69, 2.46, 6.75),
    ("conv2", 3.58, 2.27, 14.33),
    ("conv3", 2.39, 2.02, 9.57),
    ("conv4", 1.79, 1.57, 7.18),
    ("conv5", 1.20, 1.05, 4.78),
    ("fc6", 0.60, 7.78, 2.42),
    ("fc7", 0.27, 3.39, 1.07),
    ("fc8", 0.07, 0.84, 0.26),
];

#[test]
fn isca16_fig10_energy_breakdown_within_10_percent() {
    let hw = hw::load("eyeriss-isca16-256pe").unwrap();
    let net = workload::load("alexnet").unwrap().densified();
    let opts = EstimateOptions {
        batch: Some(16),
        ..EstimateOptions::default()
    };
    let results = estimate_network(&net, &hw, &opts).unwrap();
    let mut misses = Vec::new();
    for (layer, alu, dram, rf) in FIG10 {
        let r = results.iter().find(|r| r.layer == layer).unwrap();
        for (what, got, want) in [
            ("alu", r.energy.alu, alu),
            ("dram", r.energy.level(Level::Dram), dram),
            ("rf", r.energy.level(Level::Rf), rf),
        ] {
            let err = got / 1e9 / want - 1.0;
            eprintln!(
                "{layer} {what}: {:.3} vs {want} ({:+.1}%)",
                got / 1e9,
                100.0 * err
            );
            if err.abs() > 0.10 {
                misses.push(format!("{layer} {what} {:+.1}%", 100.0 * err));
            }
        }
    }
    assert!(misses.is_empty(), "cells off by more than 10%: {misses:?}");
}

#[test]
fn every_shipped_network_maps_on_the_shipped_chips() {
    for hw_name in ["eyeriss-v1", "eyeriss-isca16-256pe"] {
        let hw = hw::load(hw_name).unwrap();
        for name in workload::builtin_names() {
            let net = workload::load(name).unwrap();
            let rs = estimate_network(&net, &hw, &EstimateOptions::default())
                .unwrap_or_else(|e| panic!("{name} on {hw_name}: {e}"));
            assert_eq!(rs.len(), net.layers.len());
            for (r, l) in rs.iter().zip(&net.layers) {
                let on_array = matches!(LayerWork::of(l, 1), LayerWork::Array(_));
                assert_eq!(r.mapping.is_some(), on_array, "{name}/{}", l.name);
            }
        }
    }
}

/// Every count of a 2-channel, 2-filter 4×4 layer on `tiny`, worked out by
/// hand from docs/dataflow.md: e = 2 (one strip, RN = CN = 4), q = r = 1 so
/// two channel chunks, p = t = 1 so two passes per chunk: 4 passes.
#[test]
fn hand_counted_tiny_layer() {
    let hw = hw::load("tiny").unwrap();
    let prob = conv(1, 2, 2, 4, 3, 0);
    let m = RowStationaryMapping {
        e: 2,
        r: 1,
        t: 1,
        g: 1,
        p: 1,
        q: 1,
        n: 1,
        m: 2,
        fr: 1,
        fs: 1,
        fw: 1,
    };
    mapping::check(&m, &prob, &hw).unwrap();
    let c = estimate_layer(&prob, &m, &hw).counts;
    let at = |l, t| {
        let a = c.get(l, t);
        (a.reads, a.writes)
    };
    // 2 tile loads of one 4×4 channel; RLC: 16 pairs → 6 words of 64 b → 24.
    assert_eq!(at(Level::Dram, Tensor::Ifmap), (2 * 24, 0));
    // 36 weights, loaded once (one strip, one image tile).
    assert_eq!(at(Level::Dram, Tensor::Filter), (36, 0));
    // 2 filters × one 2×2 stream: 4 pairs → 2 RLC words → 8 each.
    assert_eq!(at(Level::Dram, Tensor::Psum), (0, 16));
    // GLB: 4 passes × RN·CN = 16 reads; 2 loads × RN·Wp = 16 writes.
    assert_eq!(at(Level::Glb, Tensor::Ifmap), (64, 32));
    assert_eq!(at(Level::Glb, Tensor::Filter), (36, 36));
    // 8 ofmap values: GON writes in both chunks; reads: psum GIN in chunk 2 + write-back.
    assert_eq!(at(Level::Glb, Tensor::Psum), (16, 16));
    // Each pass: R·e_s·CN = 3·2·4 = 24 ifmap deliveries; weights to e_s = 2 PEs.
    assert_eq!(at(Level::Noc, Tensor::Ifmap), (96, 0));
    assert_eq!(at(Level::Noc, Tensor::Filter), (72, 0));
    // Psums: 8 GIN deliveries (chunk 2) + 4 passes × 4 psums × 2 hops; 16 GON sends.
    assert_eq!(at(Level::Noc, Tensor::Psum), (40, 16));
    // 144 taps, all performed.
    assert_eq!(at(Level::Rf, Tensor::Ifmap), (144, 96));
    assert_eq!(at(Level::Rf, Tensor::Filter), (144, 72));
    assert_eq!(at(Level::Rf, Tensor::Psum), (144, 144));
    assert_eq!(c.macs.algorithmic, 144);
    assert_eq!(c.macs.performed, 144);
    assert_eq!(c.macs.gated + c.macs.skipped, 0);
}

/// Padding taps are zeros: a 3×3 layer with padding 1 has 81 taps, 49 on
/// real values (7 per axis). With a quarter of the real values zero,
/// 32 + 12.25 taps are gated and 36.75 performed.
#[test]
fn padding_taps_count_as_zeros() {
    let hw = hw::load("tiny").unwrap();
    let mut prob = conv(1, 1, 1, 3, 3, 1);
    prob.ifmap_zero_fraction = 0.25;
    let m = RowStationaryMapping {
        e: 3,
        r: 1,
        t: 1,
        g: 1,
        p: 1,
        q: 1,
        n: 1,
        m: 1,
        fr: 1,
        fs: 1,
        fw: 1,
    };
    let c = estimate_layer(&prob, &m, &hw).counts;
    assert_eq!(c.macs.algorithmic, 81);
    assert_eq!(c.macs.gated, 44);
    assert_eq!(c.macs.performed, 37);
    assert_eq!(c.get(Level::Rf, Tensor::Filter).reads, 37);
    assert_eq!(c.get(Level::Rf, Tensor::Ifmap).reads, 81);
}

fn alexnet_conv3(hw: &HwConfig) -> (ConvProblem, RowStationaryMapping) {
    let net = workload::load("alexnet").unwrap();
    let layer = net.layer("conv3").unwrap();
    let LayerWork::Array(prob) = LayerWork::of(layer, 4) else {
        panic!("conv3 is an array layer")
    };
    let m = mapping::search(&prob.dense(), hw, Objective::Energy).unwrap();
    (prob, m)
}

#[test]
fn sparsity_never_raises_energy() {
    for features in [
        (true, false, false),
        (false, true, false),
        (true, false, true),
        (false, false, false),
    ] {
        let mut hw = hw::load("eyeriss-v1").unwrap();
        (
            hw.sparsity.zero_gating,
            hw.sparsity.zero_skipping,
            hw.sparsity.weight_compression,
        ) = features;
        let (base, m) = alexnet_conv3(&hw);
        let energy = |z: f64, d: f64| {
            let p = ConvProblem {
                ifmap_zero_fraction: z,
                ofmap_zero_fraction: z,
                weight_density: d,
                ..base
            };
            estimate_layer(&p, &m, &hw)
                .counts
                .energy(&hw.energy)
                .total()
        };
        for k in 0..10 {
            let (lo, hi) = (f64::from(k) / 10.0, f64::from(k + 1) / 10.0);
            assert!(
                energy(hi, 1.0) <= energy(lo, 1.0),
                "{features:?}: zeros {lo}→{hi} raised energy"
            );
            assert!(
                energy(0.3, 1.0 - hi) <= energy(0.3, 1.0 - lo),
                "{features:?}: density {lo}→{hi} raised energy"
            );
        }
    }
}

#[test]
fn gating_alone_leaves_cycles_unchanged() {
    let mut hw = hw::load("eyeriss-v1").unwrap();
    hw.sparsity.rlc = None; // RLC shrinks DRAM transfers, hence serialized cycles
    let (base, m) = alexnet_conv3(&hw);
    let dense = estimate_layer(&base.dense(), &m, &hw);
    for (z, d) in [(0.5, 1.0), (0.9, 0.3), (0.0, 0.1)] {
        let p = ConvProblem {
            ifmap_zero_fraction: z,
            weight_density: d,
            ..base
        };
        let est = estimate_layer(&p, &m, &hw);
        assert_eq!(est.cycles, dense.cycles);
        assert_eq!(est.processing_cycles, dense.processing_cycles);
        assert!(est.counts.macs.performed < dense.counts.macs.performed);
    }
}

/// Golden CSVs of `tests/golden/tiny-net.toml` on the `tiny` hwconfig.
/// They pin every count, so any change to the model shows up here. After an
/// intended change, regenerate them with
/// `EYESIM_UPDATE_GOLDEN=1 cargo test --test it golden` and review the diff.
#[test]
fn golden_csvs_on_tiny() {
    let hw = hw::load("tiny").unwrap();
    let net = workload::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/tiny-net.toml"
    ))
    .unwrap();
    let results = estimate_network(&net, &hw, &EstimateOptions::default()).unwrap();
    let files = [
        (
            "tinynet-tiny-accesses.csv",
            stats::csv::accesses_csv(&results, hw.energy.unit),
        ),
        (
            "tinynet-tiny-layers.csv",
            stats::csv::layers_csv(&results, hw.energy.unit, hw.clock.core_mhz),
        ),
    ];
    for (name, bytes) in files {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if std::env::var_os("EYESIM_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            want == bytes,
            "{name} differs from the golden file; if intended, regenerate with EYESIM_UPDATE_GOLDEN=1"
        );
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let hw = hw::load("eyeriss-v1").unwrap();
    let net = workload::load("alexnet").unwrap();
    let one = EstimateOptions {
        threads: 1,
        ..EstimateOptions::default()
    };
    let two = EstimateOptions {
        threads: 2,
        ..EstimateOptions::default()
    };
    let a = estimate_network(&net, &hw, &one).unwrap();
    let b = estimate_network(&net, &hw, &two).unwrap();
    assert_eq!(
        stats::csv::accesses_csv(&a, hw.energy.unit),
        stats::csv::accesses_csv(&b, hw.energy.unit)
    );
}
