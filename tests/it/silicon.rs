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
    let chip_set = mapping::builtin_mappings("chip").unwrap();
    [both.analytic.clone(), both.simulated_rows()].map(|results| {
        for r in &results {
            assert_eq!(r.mapping.as_ref(), chip_set.get(&r.layer), "{}", r.layer);
        }
        let rows =
            chip::compare_alexnet_per_layer(&results, hw.clock.core_mhz, hw.pe.word_bits).unwrap();
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

/// `eyesim run --mapping chip` prints the per-layer comparison with Table
/// V, with each row's verdict; a run on the mapper's own mappings does not
/// (its layers are not the chip's mappings, so the comparison would not be
/// like for like).
#[test]
fn run_with_the_chips_mappings_prints_table_v_per_layer() {
    let dir = tempfile::tempdir().unwrap();
    let summary = |extra: &[&str], name: &str| {
        let out = dir.path().join(name);
        let mut args = vec!["run", "-q", "--layers", "conv1,conv2,conv3,conv4,conv5"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_eyesim"))
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(out.join("summary.txt")).unwrap()
    };
    let chip = summary(&["--mapping", "chip"], "chip");
    let heading = "per layer, the chip's own mappings";
    let section = &chip[chip.find(heading).expect(heading)..];
    for layer in ["conv1", "conv2", "conv3", "conv4", "conv5"] {
        for what in ["processing ms", "total ms", "GLB MB", "DRAM MB"] {
            assert!(
                section.contains(&format!("{layer} {what}")),
                "{layer} {what}"
            );
        }
    }
    let line = section
        .lines()
        .find(|l| l.contains("conv3 GLB MB"))
        .unwrap();
    assert!(line.contains("MISS"), "{line}");
    let line = section
        .lines()
        .find(|l| l.contains("conv1 total ms"))
        .unwrap();
    assert!(line.contains(" ok "), "{line}");
    let searched = summary(&["--objective", "cycles"], "searched");
    assert!(!searched.contains(heading), "{searched}");
}
