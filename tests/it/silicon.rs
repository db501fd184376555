//! Silicon fidelity: AlexNet CONV1–5 under the chip's own mappings (JSSC
//! 2017 Table III), layer by layer against Table V, in both models.

use eyesim::analytic::EstimateOptions;
use eyesim::crosscheck::{chip, run_both, BothOptions};
use eyesim::mapping::{self, Objective};
use eyesim::{hw, workload};

/// Per-layer rows that miss Table V, by what they compare, in both models.
fn misses() -> [Vec<String>; 2] {
    let hw = hw::load("eyeriss-v1").unwrap();
    let net = workload::load("alexnet").unwrap();
    let layers: Vec<usize> = (1..=5)
        .map(|k| {
            let name = format!("conv{k}");
            net.layers.iter().position(|l| l.name == name).unwrap()
        })
        .collect();
    let opts = BothOptions {
        estimate: EstimateOptions {
            objective: Objective::Energy,
            pinned: mapping::builtin_mappings("chip").unwrap(),
            batch: None,
            threads: 2,
        },
        layers,
        seed: 7,
        threads: 2,
        ..Default::default()
    };
    let both = run_both(&net, &hw, &opts, &|_| {}).unwrap();
    [both.analytic.clone(), both.simulated_rows()].map(|results| {
        let rows =
            chip::compare_alexnet_per_layer(&results, hw.clock.core_mhz, hw.pe.word_bits).unwrap();
        assert_eq!(rows.len(), 20);
        rows.iter()
            .filter(|r| !r.passes())
            .map(|r| format!("{} ({:+.1}%)", r.what, 100.0 * r.rel_diff()))
            .collect()
    })
}

/// Every layer's processing and total latency within 10% of Table V, and
/// its DRAM traffic within 20%, in the analytic model and the simulator.
/// The GLB traffic of CONV1 and CONV3 still misses the 15% bound
/// (docs/silicon.md, "GLB traffic"); the test names them so that closing
/// either one, or any new miss, fails it.
#[test]
fn alexnet_per_layer_with_the_chips_mappings_lies_within_table_v() {
    for (model, missed) in ["analytic", "simulated"].iter().zip(misses()) {
        let names: Vec<&str> = missed
            .iter()
            .map(|m| m.split(" (").next().unwrap())
            .collect();
        assert_eq!(
            names,
            ["conv1 GLB MB", "conv3 GLB MB"],
            "{model}: {missed:?}"
        );
    }
}
