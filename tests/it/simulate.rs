//! The cycle-level simulator: functional equality with the reference on
//! every layer shape, count invariants over random layers, hardware and
//! mappings, determinism, traces and RLC sizes.

use eyesim::data;
use eyesim::engine::{
    layer_seed, simulate_layer, simulate_network, NetworkOptions, SimOptions, SimResult,
};
use eyesim::hw::{self, HwConfig};
use eyesim::mapping::{Geometry, RowStationaryMapping};
use eyesim::stats::{Level, Tensor};
use eyesim::workload::{self, ConvProblem, LayerWork, Network, Op, Padding};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random legal mapping of `prob` on `hw` (spads, array fit, copies),
/// or `None` when no set fits the array.
pub(crate) fn random_mapping(
    prob: &ConvProblem,
    hw: &HwConfig,
    rng: &mut ChaCha8Rng,
) -> Option<RowStationaryMapping> {
    let es: Vec<u32> = (1..=prob.e)
        .filter(|&e| prob.r * e.div_ceil(hw.array.cols) <= hw.array.rows)
        .collect();
    if es.is_empty() {
        return None;
    }
    let e = es[rng.gen_range(0..es.len())];
    let mut m = RowStationaryMapping {
        e,
        r: 1,
        t: 1,
        g: 1,
        p: 1,
        q: 1,
        n: 1,
        m: prob.m,
        fr: 1,
        fs: 1,
        fw: 1,
    };
    let geo = Geometry::new(&m, prob, &hw.array)?;
    let q_max = prob.c.min(hw.pe.ifmap_spad_words / prob.s).max(1);
    if prob.s > hw.pe.ifmap_spad_words {
        return None;
    }
    m.q = rng.gen_range(1..=q_max);
    let p_max = prob.m.min(hw.pe.psum_spad_words);
    m.p = rng.gen_range(1..=p_max);
    if prob.op.has_weights() {
        while m.p * m.q * prob.s > hw.pe.filter_spad_words {
            if m.p > 1 {
                m.p -= 1;
            } else if m.q > 1 {
                m.q -= 1;
            } else {
                return None;
            }
        }
    }
    let cap = geo.capacity();
    m.r = rng.gen_range(1..=prob.c.div_ceil(m.q).min(cap));
    m.t = rng.gen_range(1..=prob.m.div_ceil(m.p).min(cap / m.r));
    m.g = rng.gen_range(1..=prob.g.min(cap / (m.r * m.t)));
    m.n = rng.gen_range(1..=prob.n);
    let pt = m.p * m.t;
    let multiples: Vec<u32> = (1..=prob.m / pt).map(|k| k * pt).chain([prob.m]).collect();
    m.m = multiples[rng.gen_range(0..multiples.len())];
    Some(m)
}

pub(crate) fn problem(
    op: Op,
    [n, g, c, m]: [u32; 4],
    [h, w]: [u32; 2],
    [r, s]: [u32; 2],
    [uh, uw]: [u32; 2],
    pad: Padding,
) -> ConvProblem {
    let e = (h + pad.top + pad.bottom - r) / uh + 1;
    let f = (w + pad.left + pad.right - s) / uw + 1;
    ConvProblem {
        op,
        n,
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
        d_h: 1,
        d_w: 1,
        pad,
        weight_density: 1.0,
        ifmap_zero_fraction: 0.0,
        ofmap_zero_fraction: 0.0,
        network_input: false,
        relu: op == Op::Mac,
    }
}

fn sim(prob: &ConvProblem, m: &RowStationaryMapping, hw: &HwConfig, seed: u64) -> SimResult {
    let d = data::generate_with_shift(prob, seed, hw.pe.product_shift);
    simulate_layer(prob, m, hw, &d, &SimOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// What a fault-free run must show: the MACs the PEs executed add up to the
/// problem's formula, every word delivered into a PE FIFO was used exactly
/// once and no PE ever read a word that had not arrived, and the psum
/// spad is read and written once per performed MAC.
fn invariants(r: &SimResult, prob: &ConvProblem) {
    let c = &r.counts;
    assert_eq!(c.macs.algorithmic, prob.macs(), "{prob:?}");
    assert_eq!(r.stats.pe.leftover_words, 0, "{prob:?}");
    assert_eq!(r.stats.pe.starved_words, 0, "{prob:?}");
    // Each performed MAC writes the psum spad; each but a psum's first in a
    // PE reads it, and each psum that had a MAC is read once more when it
    // leaves the PE (two code paths: the PE step and the chain).
    let psum = c.get(Level::Rf, Tensor::Psum);
    assert_eq!(psum.writes, c.macs.performed, "{prob:?}");
    assert_eq!(psum.reads, c.macs.performed, "{prob:?}");
}

#[test]
fn every_layer_shape_matches_the_reference_on_tiny() {
    let hw = hw::load("tiny").unwrap();
    let none = Padding::default();
    let pad1 = Padding {
        top: 1,
        bottom: 1,
        left: 1,
        right: 1,
    };
    let odd = Padding {
        top: 0,
        bottom: 2,
        left: 1,
        right: 0,
    };
    let mut fc = problem(Op::Mac, [2, 1, 6, 5], [3, 3], [3, 3], [1, 1], none);
    fc.relu = false;
    let mut maxp = problem(Op::Max, [2, 5, 1, 1], [7, 7], [3, 3], [2, 2], none);
    maxp.relu = false;
    let mut avgp = problem(Op::Avg, [1, 4, 1, 1], [6, 5], [2, 2], [2, 2], none);
    avgp.relu = false;
    let cases = [
        (
            "stride",
            problem(Op::Mac, [2, 1, 3, 4], [9, 9], [3, 3], [2, 2], none),
        ),
        (
            "padding",
            problem(Op::Mac, [1, 1, 4, 3], [5, 6], [3, 3], [1, 1], pad1),
        ),
        (
            "groups",
            problem(Op::Mac, [2, 2, 3, 2], [6, 6], [3, 3], [1, 1], pad1),
        ),
        (
            "depthwise",
            problem(Op::Mac, [1, 6, 1, 1], [7, 5], [3, 3], [1, 1], pad1),
        ),
        (
            "1x1",
            problem(Op::Mac, [2, 1, 7, 9], [5, 4], [1, 1], [1, 1], none),
        ),
        ("fc", fc),
        ("maxpool", maxp),
        ("avgpool", avgp),
        (
            "odd",
            problem(Op::Mac, [3, 1, 5, 3], [11, 7], [3, 2], [2, 3], odd),
        ),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (name, mut prob) in cases {
        prob.ifmap_zero_fraction = 0.3;
        for _ in 0..3 {
            let m = random_mapping(&prob, &hw, &mut rng)
                .unwrap_or_else(|| panic!("{name}: no mapping"));
            let r = sim(&prob, &m, &hw, rng.gen());
            invariants(&r, &prob);
        }
    }
}

pub(crate) fn random_hw(rng: &mut ChaCha8Rng) -> HwConfig {
    let mut hw = hw::load("tiny").unwrap();
    hw.array.rows = rng.gen_range(3..=8);
    hw.array.cols = rng.gen_range(2..=7);
    hw.pe.ifmap_spad_words = rng.gen_range(3..=12);
    hw.pe.psum_spad_words = rng.gen_range(1..=24);
    hw.pe.filter_spad_words = rng.gen_range(9..=64);
    hw.pe.fifo_words = rng.gen_range(1..=8);
    hw.pe.mac_stages = rng.gen_range(0..=3);
    hw.noc.multicast = rng.gen_bool(0.8);
    hw.noc.ifmap_gin_bits = 16 * rng.gen_range(1..=4);
    hw.sparsity.zero_gating = rng.gen_bool(0.7);
    hw.sparsity.zero_skipping = !hw.sparsity.zero_gating && rng.gen_bool(0.5);
    hw.sparsity.weight_compression = rng.gen_bool(0.3);
    if rng.gen_bool(0.2) {
        hw.sparsity.rlc = None;
    }
    hw
}

#[test]
fn random_layers_hardware_and_mappings() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut ran = 0;
    while ran < 60 {
        let hw = random_hw(&mut rng);
        let (mut prob, _, s) = random_conv(&mut rng, 6, 9);
        prob.d_w = rng.gen_range(1..=2);
        if prob.wp() < prob.d_w * (s - 1) + 1 {
            prob.d_w = 1;
        }
        prob.f = (prob.wp() - prob.d_w * (s - 1) - 1) / prob.u_w + 1;
        prob.ifmap_zero_fraction = if rng.gen_bool(0.3) {
            0.0
        } else {
            rng.gen_range(0.0..0.8)
        };
        prob.weight_density = if rng.gen_bool(0.5) {
            1.0
        } else {
            rng.gen_range(0.3..1.0)
        };
        prob.network_input = rng.gen_bool(0.2);
        let Some(m) = random_mapping(&prob, &hw, &mut rng) else {
            continue;
        };
        let res = sim(&prob, &m, &hw, rng.gen());
        invariants(&res, &prob);
        ran += 1;
    }
}

pub(crate) const SMALL_NET: &str = r#"
[network]
name = "small"
batch = 2
input = [3, 12, 12]

[[layer]]
name = "conv1"
kind = "conv"
filters = 4
kernel = 3
padding = 1

[[layer]]
name = "pool1"
kind = "maxpool"
kernel = 2
stride = 2

[[layer]]
name = "conv2"
kind = "conv"
filters = 4
kernel = 3
padding = 1
ifmap_zero_fraction = 0.4

[[layer]]
name = "add"
kind = "add"
inputs = ["pool1", "conv2"]

[[layer]]
name = "pool2"
kind = "avgpool"
kernel = 2
stride = 2

[[layer]]
name = "fc"
kind = "fc"
outputs = 5
"#;

fn small_net() -> Network {
    workload::from_toml_str(SMALL_NET, "small.toml").unwrap()
}

#[test]
fn network_results_do_not_depend_on_thread_count() {
    let hw = hw::load("tiny").unwrap();
    let net = small_net();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mappings: Vec<_> = net
        .works(net.batch)
        .iter()
        .map(|w| match w {
            LayerWork::Array(p) => random_mapping(p, &hw, &mut rng),
            _ => None,
        })
        .collect();
    let opts = |threads| NetworkOptions {
        layers: (0..net.layers.len()).collect(),
        seed: 7,
        weights: None,
        threads,
        trace: false,
        check: true,
        fault: None,
        max_memory: None,
        cancel: Default::default(),
        memo: None,
        time_every_pass: false,
    };
    let one = simulate_network(&net, &hw, &mappings, &opts(1)).unwrap();
    let two = simulate_network(&net, &hw, &mappings, &opts(2)).unwrap();
    assert_eq!(one.len(), net.layers.len());
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(a.row, b.row);
        let mut b = b.sim.clone();
        // The simulator's own work: the threads share it out differently.
        (b.stats.events, b.stats.replayed_passes) =
            (a.sim.stats.events, a.sim.stats.replayed_passes);
        assert_eq!(a.sim, b);
    }
    let add = &one[3].row.counts;
    assert_eq!(add.macs.performed, 2 * 4 * 6 * 6);
    assert_ne!(layer_seed(7, 0), layer_seed(7, 1));
}

#[test]
fn a_raised_cancel_stops_the_run_before_its_layers() {
    let hw = hw::load("eyeriss-v1").unwrap();
    let net = small_net();
    let mappings: Vec<_> = net
        .works(net.batch)
        .iter()
        .map(|w| match w {
            LayerWork::Array(p) => {
                Some(eyesim::mapping::search(p, &hw, Default::default()).unwrap())
            }
            _ => None,
        })
        .collect();
    let cancel = eyesim::cancel::Cancel::new();
    let opts = NetworkOptions {
        layers: (0..net.layers.len()).collect(),
        seed: 7,
        threads: 2,
        check: true,
        cancel: cancel.clone(),
        ..Default::default()
    };
    assert!(simulate_network(&net, &hw, &mappings, &opts).is_ok());
    cancel.cancel();
    let err = simulate_network(&net, &hw, &mappings, &opts).unwrap_err();
    assert!(
        matches!(err, eyesim::engine::SimError::Cancelled(_)),
        "{err}"
    );
}

#[test]
fn dram_words_are_the_measured_rlc_sizes() {
    let hw = hw::load("eyeriss-v1").unwrap();
    let mut prob = problem(
        Op::Mac,
        [2, 1, 3, 4],
        [10, 10],
        [3, 3],
        [1, 1],
        Padding::default(),
    );
    prob.ifmap_zero_fraction = 0.6;
    // One strip, one filter block, one channel chunk: each ifmap plane and
    // each ofmap plane is exactly one RLC stream.
    let m = RowStationaryMapping {
        e: 8,
        r: 1,
        t: 1,
        g: 1,
        p: 4,
        q: 3,
        n: 2,
        m: 4,
        fr: 1,
        fs: 1,
        fw: 1,
    };
    let d = data::generate_with_shift(&prob, 3, hw.pe.product_shift);
    let res = simulate_layer(&prob, &m, &hw, &d, &SimOptions::default()).unwrap();
    let fmt = hw.sparsity.rlc.unwrap();
    let words = |v: &[i16], plane: usize| -> u64 {
        v.chunks(plane)
            .map(|s| data::rlc::encoded_words16(s, &fmt))
            .sum()
    };
    assert_eq!(
        res.counts.get(Level::Dram, Tensor::Ifmap).reads,
        words(&d.ifmap, 100)
    );
    assert_eq!(
        res.counts.get(Level::Dram, Tensor::Psum).writes,
        words(&res.ofmap, 64)
    );
    let dense_words = (2 * 3 * 100u64).div_ceil(3) * 4;
    assert!(res.counts.get(Level::Dram, Tensor::Ifmap).reads < dense_words);
}

/// Dense layers: every counter equals the analytic model's exactly; sparse
/// ones stay within 5% (the analytic model uses expected zero counts).
#[test]
fn counts_agree_with_the_analytic_model() {
    use eyesim::analytic::estimate_layer;
    use eyesim::stats::{LEVELS, TENSORS};
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let (mut dense, mut sparse) = (0, 0);
    while dense + sparse < 120 {
        let hw = random_hw(&mut rng);
        let (mut prob, r, s) = random_conv(&mut rng, 8, 10);
        let is_dense = rng.gen_bool(0.5);
        if !is_dense {
            // RLC streams must be long enough for expected pair counts to
            // mean something: with a handful of values per stream, whole-word
            // rounding of each stream (E[ceil(x)] > ceil(E[x])) dominates.
            prob.h += 20;
            prob.w += 20;
            prob.e = (prob.hp() - r) / prob.u_h + 1;
            prob.f = (prob.wp() - s) / prob.u_w + 1;
            prob.ifmap_zero_fraction = rng.gen_range(0.2..0.7);
        }
        let Some(m) = random_mapping(&prob, &hw, &mut rng) else {
            continue;
        };
        if eyesim::mapping::check(&m, &prob, &hw).is_err() {
            continue;
        }
        // Every RLC stream (ifmap strip rows, ofmap strip) long enough; see above.
        let last = if prob.e.is_multiple_of(m.e) {
            m.e
        } else {
            prob.e % m.e
        };
        let rows = ((last - 1) * prob.u_h + prob.r).min(prob.h);
        if !is_dense && (rows * prob.w < 150 || last * prob.f < 150) {
            continue;
        }
        let res = sim(&prob, &m, &hw, rng.gen());
        let est = estimate_layer(&prob, &m, &hw);
        for l in LEVELS {
            for t in TENSORS {
                let (a, b) = (res.counts.get(l, t), est.counts.get(l, t));
                if is_dense {
                    assert_eq!(a, b, "{l:?} {t:?}: {prob:?} {m}");
                } else {
                    for (x, y) in [(a.reads, b.reads), (a.writes, b.writes)] {
                        // Tiny cells are dominated by rounding of expectations.
                        if y >= 500 {
                            let d = (x as f64 - y as f64).abs() / y as f64;
                            assert!(d <= 0.05, "{l:?} {t:?} {x} vs {y}: {prob:?} {m}");
                        }
                    }
                }
            }
        }
        if is_dense {
            assert_eq!(res.counts.macs, est.counts.macs);
            dense += 1;
        } else {
            sparse += 1;
        }
    }
}

/// A random small MAC layer: R, S in 1..=3 with padding below them, up to
/// 3 images, 2 groups, `max_channels` channels and filters per group, an
/// ifmap of up to `max_size` on each side and strides of 1 or 2. Returns
/// the problem with its R and S.
pub(crate) fn random_conv(
    rng: &mut ChaCha8Rng,
    max_channels: u32,
    max_size: u32,
) -> (ConvProblem, u32, u32) {
    let r = rng.gen_range(1..=3);
    let s = rng.gen_range(1..=3);
    let pad = Padding {
        top: rng.gen_range(0..r),
        bottom: rng.gen_range(0..r),
        left: rng.gen_range(0..s),
        right: rng.gen_range(0..s),
    };
    let prob = problem(
        Op::Mac,
        [
            rng.gen_range(1..=3),
            rng.gen_range(1..=2),
            rng.gen_range(1..=max_channels),
            rng.gen_range(1..=max_channels),
        ],
        [rng.gen_range(r..=max_size), rng.gen_range(s..=max_size)],
        [r, s],
        [rng.gen_range(1..=2), rng.gen_range(1..=2)],
        pad,
    );
    (prob, r, s)
}
