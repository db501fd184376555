//! Timing reuse (docs/engine.md): a pass identical to one its layer already
//! timed moves its data all the same and takes its twin's cycles. Every
//! result must be what timing every pass gives, on any thread count.

use super::fold;
use eyesim::data;
use eyesim::engine::{simulate_layer, simulate_network, NetworkOptions, SimOptions, SimResult};
use eyesim::hw;
use eyesim::mapping::{self, Objective};
use eyesim::workload::{self, LayerWork};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A result without the simulator's own work (events processed, passes
/// replayed), which depends on reuse and threads as wall time does.
fn outcome(r: &SimResult) -> SimResult {
    let mut r = r.clone();
    r.stats.events = 0;
    r.stats.replayed_passes = 0;
    r
}

#[test]
fn random_layers_replayed_give_what_timing_every_pass_gives() {
    let mut rng = ChaCha8Rng::seed_from_u64(43);
    let (mut cases, mut passes, mut replayed) = (0, 0, [0, 0]);
    // Layers whose replayed passes took bank conflicts from their twins.
    let mut conflicted = 0;
    while cases < 150 {
        let mut hw = fold::random_hw(&mut rng);
        hw.pe.mac_stages = rng.gen_range(0..=3);
        hw.noc.ifmap_gin_bits = 16 * rng.gen_range(1..=4);
        hw.noc.gon_bits = 16 * rng.gen_range(1..=4);
        hw.glb.banks = rng.gen_range(2..=8);
        hw.glb.bank_words = 4 * rng.gen_range(2..=16);
        hw.glb.bank_port_words = [1, 2, 4][rng.gen_range(0..3)];
        hw.dram.overlap = rng.gen_bool(0.5);
        // Zeros skipped or weights compressed make timing follow the data:
        // such layers time every pass.
        hw.sparsity.zero_skipping = rng.gen_bool(0.1);
        hw.sparsity.weight_compression = rng.gen_bool(0.1);
        let mut prob = fold::random_layer(&mut rng);
        prob.n = rng.gen_range(1..=3);
        prob.ifmap_zero_fraction = rng.gen_range(0.0..0.5);
        prob.weight_density = rng.gen_range(0.5..=1.0);
        let Some(m) = fold::random_mapping(&mut rng, &prob, &hw) else {
            continue;
        };
        let d = data::generate_with_shift(&prob, rng.gen(), hw.pe.product_shift);
        let run = |time_every_pass, threads| {
            let opts = SimOptions {
                time_every_pass,
                threads,
                ..SimOptions::default()
            };
            simulate_layer(&prob, &m, &hw, &d, &opts).unwrap_or_else(|e| panic!("{m}: {e}"))
        };
        let timed = run(true, 1);
        assert_eq!(timed.stats.replayed_passes, 0);
        let data_free = !hw.sparsity.zero_skipping && !hw.sparsity.weight_compression;
        for threads in [1, 2] {
            let r = run(false, threads);
            let what = format!("{m} of {prob:?} on {hw:?}, {threads} threads");
            assert_eq!(outcome(&r), outcome(&timed), "{what}");
            assert!(data_free || r.stats.replayed_passes == 0, "{what}");
            replayed[threads - 1] += r.stats.replayed_passes;
            let conflicts = r.stats.glb.conflict_stall_cycles > 0;
            conflicted += usize::from(threads == 1 && conflicts && r.stats.replayed_passes > 0);
        }
        passes += timed.stats.passes;
        cases += 1;
    }
    // Measured: 3,166 (one thread) and 3,289 (two) of 5,542 passes
    // replayed; each kind's first two passes are timed.
    for r in replayed {
        assert!(r * 2 > passes, "{r} of {passes} passes replayed");
    }
    // Measured: 28 of the 150 layers.
    assert!(
        conflicted >= 10,
        "{conflicted} layers replayed bank conflicts"
    );
}

#[test]
fn alexnet_replayed_gives_what_timing_every_pass_gives() {
    let hw = hw::load("eyeriss-v1").unwrap();
    let mut net = workload::builtin("alexnet").unwrap();
    net.batch = 1;
    let works = net.works(1);
    let mappings: Vec<_> = works
        .iter()
        .map(|w| match w {
            LayerWork::Array(p) => Some(mapping::search(p, &hw, Objective::Chip).unwrap()),
            _ => None,
        })
        .collect();
    let convs: Vec<usize> = ["conv1", "conv2", "conv3", "conv4", "conv5"]
        .iter()
        .map(|n| net.layers.iter().position(|l| l.name == *n).unwrap())
        .collect();
    let opts = |time_every_pass, threads| NetworkOptions {
        layers: convs.clone(),
        seed: 3,
        threads,
        check: true,
        time_every_pass,
        ..Default::default()
    };
    let timed = simulate_network(&net, &hw, &mappings, &opts(true, 1)).unwrap();
    assert_eq!(timed.len(), 5);
    for threads in [1, 2] {
        let reused = simulate_network(&net, &hw, &mappings, &opts(false, threads)).unwrap();
        let (mut passes, mut replayed) = (0, 0);
        for (a, b) in timed.iter().zip(&reused) {
            assert_eq!(a.row, b.row);
            assert_eq!(outcome(&a.sim), outcome(&b.sim), "{}", a.row.layer);
            assert_eq!(a.sim.stats.replayed_passes, 0);
            passes += b.sim.stats.passes;
            replayed += b.sim.stats.replayed_passes;
        }
        // Measured on one thread: 1,153 of 1,320 passes replayed.
        assert!(
            replayed * 5 > passes * 4,
            "{replayed} of {passes} passes replayed"
        );
    }
}

#[test]
fn a_fault_or_a_trace_times_every_pass() {
    let hw = hw::load("eyeriss-v1").unwrap();
    let prob = eyesim_core::fixtures::conv(1, 1, 32, 32, 56, 3, 1, 1);
    let m = mapping::search(&prob, &hw, Objective::Energy).unwrap();
    let d = data::generate_with_shift(&prob, 5, hw.pe.product_shift);
    let run = |opts: SimOptions| simulate_layer(&prob, &m, &hw, &d, &opts).unwrap();
    let plain = run(SimOptions::default());
    // Measured: 11 of 16 passes replayed.
    assert!(
        plain.stats.replayed_passes * 2 > plain.stats.passes,
        "{:?}",
        plain.stats
    );
    let traced = run(SimOptions {
        trace: true,
        ..SimOptions::default()
    });
    // A delay changes no value: the run completes, every pass timed.
    let delayed = run(SimOptions {
        fault: Some("delay:gon:5".parse().unwrap()),
        ..SimOptions::default()
    });
    for r in [&traced, &delayed] {
        assert_eq!(r.stats.replayed_passes, 0);
        assert_eq!(r.stats.passes, plain.stats.passes);
    }
}
