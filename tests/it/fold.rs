//! Folding and segmentation: every layer maps on every array and spad size
//! a sweep can reach, and on those mappings the analytic model and the
//! simulator agree exactly on dense counts and within the cycle tolerance
//! (docs/dataflow.md §1, "Folds and segments").

use eyesim::analytic::{estimate_layer, estimate_network, EstimateOptions};
use eyesim::data;
use eyesim::engine::{simulate_layer, SimOptions};
use eyesim::hw::{self, HwConfig};
use eyesim::mapping::{self, check, Objective, RowStationaryMapping};
use eyesim::stats::{Level, Tensor};
use eyesim::workload::{self, ConvProblem, LayerWork, Op, Padding};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The cycle tolerance of the cross-check gate (`--cycle-tolerance`).
pub(super) const CYCLES: f64 = 0.10;

/// A random config: arrays from 1×1, spads from one word, tiny otherwise.
pub(super) fn random_hw(rng: &mut ChaCha8Rng) -> HwConfig {
    let mut hw = hw::load("tiny").unwrap();
    hw.array.rows = rng.gen_range(1..=6);
    hw.array.cols = rng.gen_range(1..=6);
    hw.pe.ifmap_spad_words = rng.gen_range(1..=12);
    hw.pe.filter_spad_words = rng.gen_range(1..=48);
    hw.pe.psum_spad_words = rng.gen_range(1..=16);
    hw.pe.fifo_words = rng.gen_range(1..=6);
    hw.noc.multicast = rng.gen_bool(0.85);
    hw
}

/// A random small layer: a conv (filters up to 7×7, strides and dilations
/// up to 2, padding), an FC layer (the filter is the whole ifmap), or a
/// max/avg pooling window.
pub(super) fn random_layer(rng: &mut ChaCha8Rng) -> ConvProblem {
    let kind = rng.gen_range(0..4);
    let (r, s) = (rng.gen_range(1..=7), rng.gen_range(1..=7));
    let (uh, uw) = (rng.gen_range(1..=2), rng.gen_range(1..=2));
    let (dh, dw) = if kind == 0 {
        (rng.gen_range(1..=2), rng.gen_range(1..=2))
    } else {
        (1, 1)
    };
    let pad = if kind == 1 {
        Padding::default()
    } else {
        Padding {
            top: rng.gen_range(0..r.min(3)),
            bottom: rng.gen_range(0..r.min(3)),
            left: rng.gen_range(0..s.min(3)),
            right: rng.gen_range(0..s.min(3)),
        }
    };
    let span = |k: u32, d: u32| (k - 1) * d + 1;
    let (h, w) = match kind {
        1 => (r, s),
        _ => (
            rng.gen_range(span(r, dh)..=span(r, dh) + 6),
            rng.gen_range(span(s, dw)..=span(s, dw) + 6),
        ),
    };
    let (op, c, m, g) = match kind {
        2 => (Op::Max, 1, 1, rng.gen_range(1..=3)),
        3 => (Op::Avg, 1, 1, rng.gen_range(1..=3)),
        _ => (Op::Mac, rng.gen_range(1..=5), rng.gen_range(1..=6), 1),
    };
    let e = (h + pad.top + pad.bottom - span(r, dh)) / uh + 1;
    let f = (w + pad.left + pad.right - span(s, dw)) / uw + 1;
    ConvProblem {
        op,
        n: rng.gen_range(1..=2),
        g,
        c,
        m,
        h,
        w,
        r,
        s,
        e,
        f,
        u_h: uh,
        u_w: uw,
        d_h: dh,
        d_w: dw,
        pad,
        weight_density: 1.0,
        ifmap_zero_fraction: 0.0,
        ofmap_zero_fraction: 0.0,
        network_input: rng.gen_bool(0.3),
        // A ReLU zeroes about half the ofmap, which RLC then codes: the
        // counts would be sparse, not dense.
        relu: false,
    }
}

/// Simulates `m` on dense data (the ofmap is checked bit for bit against
/// the reference) and compares every count and both cycle figures with
/// the analytic model. Returns the worst cycle gap.
///
/// Dense data has no zero in the ifmap or the weights, but an ofmap value
/// can still be 0 by chance (an average that sums to 0): then the RLC-coded
/// write-back is shorter than a dense one, and only that one counter is
/// left out (it is the data's, not the dataflow's).
pub(super) fn agree(prob: &ConvProblem, m: &RowStationaryMapping, hw: &HwConfig, seed: u64) -> f64 {
    let d = data::generate_with_shift(prob, seed, hw.pe.product_shift);
    let sim = simulate_layer(prob, m, hw, &d, &SimOptions::default())
        .unwrap_or_else(|e| panic!("{m} of {prob:?}: {e}"));
    let mut est = estimate_layer(prob, m, hw);
    if sim.ofmap.contains(&0) && hw.sparsity.rlc.is_some() {
        let (a, s) = (
            est.counts.get(Level::Dram, Tensor::Psum).writes,
            sim.counts.get(Level::Dram, Tensor::Psum).writes,
        );
        assert!(s <= a, "zeros only shorten the write-back");
        est.counts.at(Level::Dram, Tensor::Psum).writes = s;
    }
    assert_eq!(est.counts, sim.counts, "{m} of {prob:?} on {hw:?}");
    let gap = |a: u64, s: u64| (a as f64 - s as f64).abs() / (s as f64).max(1.0);
    gap(est.processing_cycles, sim.processing_cycles).max(gap(est.cycles, sim.cycles))
}

/// Maps and runs `cases` random layers on random configs; returns how many
/// mappings folded and segmented, every case's cycle gap, and the worst
/// gap with its case.
fn random_cases(cases: u32) -> (usize, usize, Vec<f64>, (f64, String)) {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let (mut folded, mut segmented) = (0, 0);
    let mut worst = (0.0, String::new());
    let mut gaps = Vec::new();
    for case in 0..cases {
        let hw = random_hw(&mut rng);
        let prob = random_layer(&mut rng);
        let m = mapping::search(&prob, &hw, Objective::Energy)
            .unwrap_or_else(|e| panic!("case {case}: {prob:?} on {hw:?}: {e}"));
        check(&m, &prob, &hw).unwrap();
        folded += usize::from(m.fr > 1);
        segmented += usize::from(m.fs > 1);
        let gap = agree(&prob, &m, &hw, rng.gen());
        gaps.push(gap);
        if gap > worst.0 {
            worst = (gap, format!("case {case}: {m} of {prob:?} on {hw:?}"));
        }
    }
    (folded, segmented, gaps, worst)
}

#[test]
fn random_layers_map_on_random_arrays_and_spads_and_both_models_agree() {
    let (folded, segmented, _, _) = random_cases(300);
    // The configs must really need folds and segments, or this proves little.
    assert!(
        folded >= 60 && segmented >= 30,
        "{folded} folded, {segmented} segmented"
    );
}

/// Issue 13 §2: on these small and odd shapes both cycle figures of every
/// case stay within the cross-check's tolerance (78 cases were beyond it
/// before the mechanisms of docs/engine.md, "Where the simulator and the
/// analytic model differ in time", were modelled).
#[test]
fn random_small_layers_hold_the_cycle_tolerance() {
    let (_, _, _, (worst, case)) = random_cases(300);
    assert!(worst <= CYCLES, "cycles {:+.1}%: {case}", 100.0 * worst);
}

/// Realistic layers that need folds and segments (the shipped networks'
/// large filters on `tiny`, a 4-row eyeriss-v1 and a wide FC input) stay
/// within the cross-check's cycle tolerance.
#[test]
fn shipped_layers_that_fold_hold_the_cycle_tolerance() {
    let tiny = hw::load("tiny").unwrap();
    let mut short = hw::load("eyeriss-v1").unwrap();
    short.array.rows = 4;
    let cases = [
        ("alexnet", "conv1", &tiny),
        ("alexnet", "conv2", &tiny),
        ("alexnet", "fc6", &tiny),
        ("googlenet", "conv1_7x7_s2", &short),
        ("vgg16", "fc6", &short),
    ];
    for (net, layer, hw) in cases {
        let net = workload::load(net).unwrap();
        let l = net.layers.iter().find(|l| l.name == layer).unwrap();
        let LayerWork::Array(prob) = LayerWork::of(l, 1) else {
            unreachable!()
        };
        let prob = prob.dense();
        let m = mapping::search(&prob, hw, Objective::Energy).unwrap();
        assert!(m.beyond_chip().is_some(), "{layer}: {m}");
        let gap = agree(&prob, &m, hw, 11);
        assert!(gap <= CYCLES, "{layer} {m}: {:+.1}%", 100.0 * gap);
    }
}

#[test]
fn pinned_folds_and_segments_agree_beyond_the_searched_ones() {
    // More folds and segments than the array and spads need, on a layer
    // that needs none: the mapping is legal and both models follow it.
    let hw = hw::load("tiny").unwrap();
    let prob = ConvProblem {
        op: Op::Mac,
        n: 1,
        g: 1,
        c: 3,
        m: 4,
        h: 9,
        w: 9,
        r: 3,
        s: 3,
        e: 9,
        f: 9,
        u_h: 1,
        u_w: 1,
        d_h: 1,
        d_w: 1,
        pad: Padding {
            top: 1,
            bottom: 1,
            left: 1,
            right: 1,
        },
        weight_density: 1.0,
        ifmap_zero_fraction: 0.0,
        ofmap_zero_fraction: 0.0,
        network_input: false,
        relu: true,
    };
    for (fr, fs) in [(1, 1), (2, 1), (3, 1), (1, 2), (1, 3), (3, 3)] {
        let m = RowStationaryMapping {
            e: 2,
            r: 1,
            t: 1,
            g: 1,
            p: 2,
            q: 1,
            n: 1,
            m: 4,
            fr,
            fs,
            fw: 1,
        };
        check(&m, &prob, &hw).unwrap();
        let gap = agree(&prob, &m, &hw, 3);
        assert!(gap <= CYCLES, "fr{fr} fs{fs}: {gap}");
    }
    let too_many = RowStationaryMapping {
        e: 2,
        r: 1,
        t: 1,
        g: 1,
        p: 2,
        q: 1,
        n: 1,
        m: 4,
        fr: 4,
        fs: 1,
        fw: 1,
    };
    let e = check(&too_many, &prob, &hw).unwrap_err();
    assert!(e.to_string().contains("fr = 4 exceeds its bound 3"), "{e}");
}

#[test]
fn every_shipped_network_maps_on_tiny_and_on_short_arrays() {
    let mut short = hw::load("eyeriss-v1").unwrap();
    short.array.rows = 4;
    let mut configs = vec![hw::load("tiny").unwrap(), short];
    let mut narrow = hw::load("eyeriss-v1").unwrap();
    narrow.pe.ifmap_spad_words = 4;
    configs.push(narrow);
    for hw in &configs {
        let mut needed = 0;
        for name in workload::builtin_names() {
            let net = workload::load(name).unwrap();
            let est = estimate_network(&net, hw, &EstimateOptions::default())
                .unwrap_or_else(|e| panic!("{name} on {}: {e}", hw.name));
            needed += usize::from(
                est.iter()
                    .any(|r| r.mapping.is_some_and(|m| m.beyond_chip().is_some())),
            );
        }
        // Before folding and segmentation, these networks had no mapping.
        assert!(needed >= 5, "{} networks folded on {}", needed, hw.name);
    }
}

#[test]
fn a_wide_fc_input_is_segmented() {
    // An FC layer directly on a 16×32×32 map: a filter row of 32 taps does
    // not fit eyeriss-v1's 12-word ifmap spad.
    let net = workload::from_toml_str(
        "[network]\nname = \"wide\"\nbatch = 1\ninput = [16, 32, 32]\n\n\
         [[layer]]\nname = \"fc\"\nkind = \"fc\"\noutputs = 10\n",
        "wide.toml",
    )
    .unwrap();
    let hw = hw::load("eyeriss-v1").unwrap();
    let LayerWork::Array(prob) = LayerWork::of(&net.layers[0], 1) else {
        unreachable!()
    };
    let m = mapping::search(&prob, &hw, Objective::Energy).unwrap();
    assert!(m.fs >= 3, "{m}");
    assert!(m.fr >= 3, "32 filter rows on 12 array rows: {m}");
    assert!(agree(&prob.dense(), &m, &hw, 5) <= CYCLES);
}

/// A random legal mapping of `prob` on `hw`, keeping the searched
/// mapping's folds and segments (which legality may need); `None` when 400
/// draws find none.
pub(super) fn random_mapping(
    rng: &mut ChaCha8Rng,
    prob: &ConvProblem,
    hw: &HwConfig,
) -> Option<RowStationaryMapping> {
    let base = mapping::search(prob, hw, Objective::Energy).ok()?;
    (0..400).find_map(|_| {
        let mut m = base;
        m.e = rng.gen_range(1..=prob.e);
        (m.r, m.q) = (rng.gen_range(1..=prob.c), rng.gen_range(1..=prob.c));
        (m.p, m.t) = (rng.gen_range(1..=prob.m), rng.gen_range(1..=prob.m));
        m.m = rng.gen_range(1..=prob.m);
        (m.n, m.g) = (rng.gen_range(1..=prob.n), rng.gen_range(1..=prob.g));
        check(&m, prob, hw).is_ok().then_some(m)
    })
}

/// Mappings the mapper would not choose: dense counts agree exactly on
/// every one, and cycles within the tolerance on all but a few (issue 13
/// §2 asks it of the searched mappings, above; on arbitrary ones 4 of 297
/// are still 10.9–12.8% off, by mechanisms not yet found). A ratchet: it
/// fails if more drift beyond.
#[test]
fn random_legal_mappings_count_exactly_and_few_are_beyond_the_cycle_tolerance() {
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    let (mut tried, mut beyond, mut worst) = (0, 0, (0.0, String::new()));
    for case in 0..300 {
        let hw = random_hw(&mut rng);
        let prob = random_layer(&mut rng);
        let Some(m) = random_mapping(&mut rng, &prob, &hw) else {
            continue;
        };
        tried += 1;
        let gap = agree(&prob, &m, &hw, rng.gen());
        beyond += usize::from(gap > CYCLES);
        if gap > worst.0 {
            worst = (gap, format!("case {case}: {m} of {prob:?}"));
        }
    }
    assert!(tried >= 290, "{tried} legal mappings drawn");
    assert!(beyond <= 4, "{beyond} of {tried} beyond {CYCLES}");
    assert!(
        worst.0 <= 0.13,
        "cycles {:+.1}%: {}",
        100.0 * worst.0,
        worst.1
    );
}
