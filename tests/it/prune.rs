//! Energy-aware pruning: the AlexNet ranking observation, the plan on
//! AlexNet with the shipped floors, and `eyesim prune` end to end on `tiny`.

use eyesim::data::{self, read_npy_i16, write_npy_i16};
use eyesim::prune::{self, Floors, PruneOptions, StopReason};
use eyesim::workload::{self, LayerWork};
use eyesim::{hw, stats::LayerResult};
use std::path::Path;
use std::process::Command;

/// Three conv layers and an FC layer, small enough for `tiny`.
const SMALL: &str = include_str!("../data/prune-small.toml");

fn eyesim(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eyesim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn alexnet_options() -> PruneOptions {
    let net = workload::load("alexnet").unwrap();
    let (origin, text) = prune::builtin_floors("alexnet").unwrap();
    PruneOptions {
        floors: Floors::uniform(0.1)
            .unwrap()
            .with_file(text, origin, &net)
            .unwrap(),
        ..PruneOptions::default()
    }
}

#[test]
fn alexnet_energy_ranking_is_not_the_weight_or_mac_ranking() {
    let net = workload::load("alexnet").unwrap();
    let (hw, _) = prune::with_weight_compression(&hw::load("eyeriss-v1").unwrap());
    let results: Vec<LayerResult> =
        eyesim::analytic::estimate_network(&net, &hw, &Default::default()).unwrap();
    let ranks = prune::ranking(&net, &results);
    assert_eq!(ranks.len(), 8, "5 conv + 3 fc layers");
    let fewest = ranks.iter().min_by_key(|r| r.weights).unwrap();
    // CVPR 2017's observation: the layer with the fewest weights (CONV1)
    // is not the one that costs the least energy; weights do not predict energy.
    assert_eq!(fewest.layer, "conv1");
    assert_eq!(fewest.weight_rank, ranks.len());
    assert!(fewest.energy_rank < ranks.len(), "{ranks:?}");
    let cheaper_with_more_weights = ranks
        .iter()
        .filter(|r| r.energy < fewest.energy && r.weights > fewest.weights)
        .count();
    assert!(cheaper_with_more_weights >= 1, "{ranks:?}");
    let order = |key: fn(&prune::LayerRank) -> usize| {
        let mut v: Vec<&str> = ranks.iter().map(|r| r.layer.as_str()).collect();
        v.sort_by_key(|l| key(ranks.iter().find(|r| r.layer == *l).unwrap()));
        v
    };
    assert_ne!(order(|r| r.energy_rank), order(|r| r.weight_rank));
    assert_ne!(order(|r| r.energy_rank), order(|r| r.mac_rank));
    // The conv layers hold a small share of the weights but a larger share of the energy.
    let share = |f: &dyn Fn(&prune::LayerRank) -> f64| {
        let conv: f64 = ranks
            .iter()
            .filter(|r| r.layer.starts_with("conv"))
            .map(f)
            .sum();
        conv / ranks.iter().map(f).sum::<f64>()
    };
    assert!(share(&|r| r.energy) > 2.0 * share(&|r| r.weights as f64));
}

#[test]
fn alexnet_plan_with_deep_compression_floors() {
    let net = workload::load("alexnet").unwrap();
    let hw = hw::load("eyeriss-v1").unwrap();
    let opts = alexnet_options();
    let p = prune::plan(&net, &hw, &opts).unwrap();
    assert!(p.enabled_weight_compression);
    let hungriest = (0..net.layers.len())
        .max_by(|&a, &b| {
            p.baseline[a]
                .energy
                .total()
                .total_cmp(&p.baseline[b].energy.total())
                .then(b.cmp(&a))
        })
        .unwrap();
    assert_eq!(p.steps[0].layer, hungriest);
    let mut last = p.baseline_energy();
    for s in &p.steps {
        assert!(s.network_energy < last, "{s:?}");
        last = s.network_energy;
    }
    match p.stop {
        StopReason::TargetReached => assert!(p.reduction() >= opts.target_reduction),
        StopReason::AllAtFloor => {
            assert!(p.reduction() < opts.target_reduction);
            for (l, &floor) in p.pruned.layers.iter().zip(&p.floors) {
                if matches!(LayerWork::of(l, 1), LayerWork::Array(q) if q.op.has_weights()) {
                    assert_eq!(l.sparsity.weight_density, floor, "{}", l.name);
                }
            }
        }
    }
}

fn write_trace(dir: &Path) -> String {
    let path = dir.join("small.toml");
    std::fs::write(&path, SMALL).unwrap();
    path.display().to_string()
}

fn run_prune(trace: &str, out: &Path, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "prune",
        "--net",
        trace,
        "--hw",
        "tiny",
        "--target-reduction",
        "2",
        "--floor",
        "0.2",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    eyesim(&args)
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for sub in [dir.to_path_buf(), dir.join("weights")] {
        let mut names: Vec<_> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        for p in names {
            v.push((
                p.display()
                    .to_string()
                    .replace(&dir.display().to_string(), ""),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
    v
}

#[test]
fn cli_outputs_are_complete_consistent_and_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = write_trace(tmp.path());
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (ok, out, err) = run_prune(&trace, &a, &[]);
    assert!(ok, "{err}");
    assert!(
        out.contains("weight_compression = true"),
        "the switch is announced: {out}"
    );
    assert!(
        out.contains("reduction ") && out.contains("pruning order: "),
        "{out}"
    );
    assert!(run_prune(&trace, &b, &[]).0);
    let (fa, fb) = (files(&a), files(&b));
    let names: Vec<&str> = fa.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "/mappings.toml",
            "/plan.csv",
            "/pruned.toml",
            "/ranking.csv",
            "/weights.csv",
            "/weights/c1.bias.npy",
            "/weights/c1.ifmap.npy",
            "/weights/c1.weights.npy",
            "/weights/c2.bias.npy",
            "/weights/c2.ifmap.npy",
            "/weights/c2.weights.npy",
            "/weights/c3.bias.npy",
            "/weights/c3.ifmap.npy",
            "/weights/c3.weights.npy",
            "/weights/fc.bias.npy",
            "/weights/fc.ifmap.npy",
            "/weights/fc.weights.npy",
            "/weights/p1.ifmap.npy",
            "/weights/p2.ifmap.npy",
        ]
    );
    assert_eq!(fa, fb, "identical inputs give identical bytes");

    // pruned.toml is a valid trace whose densities are the plan's last ones,
    // and the pruned weights have exactly those densities.
    let pruned = workload::load(a.join("pruned.toml").to_str().unwrap()).unwrap();
    let plan = std::fs::read_to_string(a.join("plan.csv")).unwrap();
    for l in pruned
        .layers
        .iter()
        .filter(|l| l.name.starts_with('c') || l.name == "fc")
    {
        let last = plan
            .lines()
            .rfind(|row| row.split(',').nth(1) == Some(l.name.as_str()));
        let want = last.map_or(1.0, |row| row.split(',').nth(3).unwrap().parse().unwrap());
        assert!(
            (l.sparsity.weight_density - want).abs() < 1e-6,
            "{}",
            l.name
        );
        let w = read_npy_i16(&a.join(format!("weights/{}.weights.npy", l.name))).unwrap();
        let nonzero = w.values.iter().filter(|&&v| v != 0).count() as f64;
        let count = w.values.len() as f64;
        assert_eq!(
            nonzero,
            (l.sparsity.weight_density * count).round(),
            "{}",
            l.name
        );
    }
    let weights_csv = std::fs::read_to_string(a.join("weights.csv")).unwrap();
    assert!(weights_csv.starts_with(
        "layer,weights,floor,density_before,planned_density,density_after,ofmap_rel_error"
    ));
}

#[test]
fn cli_prunes_real_weights_from_npy_files() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = write_trace(tmp.path());
    let net = workload::load(&trace).unwrap();
    let npy = tmp.path().join("npy");
    for l in &net.layers {
        let LayerWork::Array(p) = LayerWork::of(l, net.batch) else {
            continue;
        };
        if !p.op.has_weights() {
            continue;
        }
        let d = data::generate(&p, 11);
        let ifmap_shape = [u64::from(p.n), u64::from(p.g * p.c), p.h.into(), p.w.into()];
        write_npy_i16(
            &npy.join(format!("{}.ifmap.npy", l.name)),
            &ifmap_shape,
            &d.ifmap,
        )
        .unwrap();
        let w_shape = [u64::from(p.g * p.m), p.c.into(), p.r.into(), p.s.into()];
        write_npy_i16(
            &npy.join(format!("{}.weights.npy", l.name)),
            &w_shape,
            &d.weights,
        )
        .unwrap();
    }
    let out = tmp.path().join("out");
    let (ok, stdout, err) = run_prune(&trace, &out, &["--weights", npy.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(stdout.contains("ofmap error"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("weights.csv")).unwrap();
    // Every pruned layer shows a non-zero error; the weights were really cut.
    let pruned_rows: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter(|r| {
            let f: Vec<&str> = r.split(',').collect();
            f[4] != "1.000000"
        })
        .collect();
    assert!(!pruned_rows.is_empty(), "{csv}");
    for row in pruned_rows {
        let err: f64 = row.split(',').nth(6).unwrap().parse().unwrap();
        assert!(err > 0.0, "{row}");
    }
    // A missing file is named.
    let (ok, _, err) = run_prune(&trace, &out, &["--weights", "/nonexistent-dir"]);
    assert!(
        !ok && err.contains("/nonexistent-dir/c1.ifmap.npy"),
        "{err}"
    );
}

#[test]
fn cli_bad_floors_file_names_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = write_trace(tmp.path());
    let floors = tmp.path().join("floors.toml");
    std::fs::write(&floors, "c1 = 0.5\nc2 = 0.4\nc7 = 0.3\n").unwrap();
    let out = tmp.path().join("out");
    let (ok, _, err) = run_prune(&trace, &out, &["--floors", floors.to_str().unwrap()]);
    assert!(!ok);
    let want = format!(
        "{}:3:1: key `c7`: is not a layer of `small`",
        floors.display()
    );
    assert!(err.contains(&want), "{err}");
    std::fs::write(&floors, "c1 = 0.5\nc2 = 2\n").unwrap();
    let (ok, _, err) = run_prune(&trace, &out, &["--floors", floors.to_str().unwrap()]);
    assert!(
        !ok && err.contains(":2:1: key `c2`: 2 is not a density in (0, 1]"),
        "{err}"
    );
    let (ok, _, err) = run_prune(&trace, &out, &["--step", "1.2"]);
    assert!(
        !ok && err.contains("--step: 1.2 is not a factor in (0, 1)"),
        "{err}"
    );
}

#[test]
fn verify_simulates_every_pruned_layer_before_and_after() {
    let net = workload::from_toml_str(SMALL, "small.toml").unwrap();
    let hw = hw::load("tiny").unwrap();
    let opts = PruneOptions {
        target_reduction: 1.4,
        floors: Floors::uniform(0.2).unwrap(),
        ..PruneOptions::default()
    };
    let p = prune::plan(&net, &hw, &opts).unwrap();
    let vopts = prune::VerifyOptions {
        tolerance: 0.05,
        threads: 2,
    };
    let v = prune::verify(&p, prune::WeightSource::Generated { seed: 3 }, &vopts).unwrap();
    let pruned = p.pruning_order();
    assert_eq!(v.rows.len(), 2 * pruned.len());
    for r in &v.rows {
        assert!(pruned.contains(&r.index));
        let (want, analytic) = match r.stage {
            prune::Stage::Baseline => (&p.original, p.baseline[r.index].energy.total()),
            prune::Stage::Pruned => (&p.pruned, p.last[r.index].energy.total()),
        };
        let d = want.layers[r.index].sparsity.weight_density;
        assert!((r.density - d).abs() < 0.01, "{r:?} vs {d}");
        assert_eq!(r.analytic, analytic);
    }
    // Same figures with one thread: the simulator is deterministic.
    let one = prune::verify(
        &p,
        prune::WeightSource::Generated { seed: 3 },
        &prune::VerifyOptions {
            threads: 1,
            ..vopts
        },
    )
    .unwrap();
    assert_eq!(one.rows, v.rows);
    assert!(v.simulated_reduction() > 1.0);
}

#[test]
fn cli_verify_fails_when_a_layer_is_out_of_tolerance() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = write_trace(tmp.path());
    let out = tmp.path().join("out");
    let (ok, stdout, err) = run_prune(&trace, &out, &["--verify"]);
    assert!(ok, "{stdout}\n{err}");
    assert!(
        stdout.contains("verification (cycle-level simulator"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(out.join("verify.csv")).unwrap();
    assert!(csv.starts_with("layer,stage,weight_density,analytic_energy,simulated_energy,rel_diff"));
    // A zero tolerance cannot hold: the analytic model works with expected
    // zero counts, the simulator with the generated data's.
    let (ok, _, err) = run_prune(&trace, &out, &["--verify", "--tolerance", "0"]);
    assert!(
        !ok && err.contains("simulated energy differs from the analytic by more than 0.00%"),
        "{err}"
    );
}

#[test]
fn cli_pruned_folder_is_accepted_by_simulate_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = write_trace(tmp.path());
    let out = tmp.path().join("p");
    let (ok, _, err) = run_prune(&trace, &out, &[]);
    assert!(ok, "{err}");
    let pruned = out.join("pruned.toml");
    let (ok, stdout, err) = eyesim(&[
        "simulate",
        "--net",
        pruned.to_str().unwrap(),
        "--hw",
        "tiny",
        "--weights",
        out.join("weights").to_str().unwrap(),
        "--mapping",
        out.join("mappings.toml").to_str().unwrap(),
        "--out",
        tmp.path().join("sim").to_str().unwrap(),
    ]);
    assert!(ok, "simulate --weights on prune's folder: {err}");
    assert!(
        stdout.contains("all ofmaps equal the reference"),
        "{stdout}"
    );
    let layers = std::fs::read_to_string(tmp.path().join("sim/layers.csv")).unwrap();
    assert_eq!(layers.lines().count(), 1 + 6, "{layers}");
}
