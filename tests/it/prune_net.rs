//! `eyesim prune --net model.onnx`: the paper's method on the shipped
//! trained network (small image subsets, so that the tests stay quick),
//! the pruned model's ONNX and masks, the check of a fine-tuned model
//! against its masks, and the write-back of weights into ONNX graphs with
//! a folded BatchNormalization and a scaled, untransposed Gemm.

use crate::onnx::build::{int, Graph};
use eyesim::onnx::{self, proto};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_path() -> PathBuf {
    root().join("traces/fmnist/fmnist-cnn.onnx")
}

fn eyesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eyesim"))
        .args(args)
        .output()
        .expect("eyesim runs")
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes images `from..from+n` of the shipped t1k subset as plain IDX files.
fn subset(dir: &Path, name: &str, from: usize, n: usize) -> (PathBuf, PathBuf) {
    let fm = root().join("traces/fmnist");
    let x = eyesim::data::read_idx(&fm.join("t1k-images-idx3-ubyte.gz")).unwrap();
    let y = eyesim::data::read_idx(&fm.join("t1k-labels-idx1-ubyte.gz")).unwrap();
    let idx = |dims: &[u32], data: &[u8]| -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    };
    let (ip, lp) = (
        dir.join(format!("{name}-images")),
        dir.join(format!("{name}-labels")),
    );
    std::fs::write(
        &ip,
        idx(&[n as u32, 28, 28], &x.values[from * 784..(from + n) * 784]),
    )
    .unwrap();
    std::fs::write(&lp, idx(&[n as u32], &y.values[from..from + n])).unwrap();
    (ip, lp)
}

/// One shared prune of the shipped model: 40 calibration + 160 validation
/// images, 100 test images, every criterion.
struct Pruned {
    _dir: tempfile::TempDir,
    out: PathBuf,
    data: PathBuf,
    stdout: String,
}

fn pruned() -> &'static Pruned {
    static RUN: OnceLock<Pruned> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_path_buf();
        let (vi, vl) = subset(&data, "val", 0, 200);
        let (ti, tl) = subset(&data, "test", 500, 100);
        let out = dir.path().join("out");
        let o = eyesim(&[
            "prune",
            "--net",
            model_path().to_str().unwrap(),
            "--images",
            vi.to_str().unwrap(),
            "--labels",
            vl.to_str().unwrap(),
            "--test-images",
            ti.to_str().unwrap(),
            "--test-labels",
            tl.to_str().unwrap(),
            "--calibration",
            "40",
            "--budget",
            "2",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        Pruned {
            _dir: dir,
            out,
            data,
            stdout: text(&o),
        }
    })
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h.starts_with(name))
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

#[test]
fn every_criterion_stays_in_the_budget_and_prunes_in_energy_order() {
    let p = pruned();
    let (h, rows) = csv_rows(&p.out.join("steps.csv"));
    let (crit, layer, acc, energy) = (
        col(&h, "criterion"),
        col(&h, "layer"),
        col(&h, "val_top1_percent"),
        col(&h, "network_energy_per_image"),
    );
    let (before, after) = (col(&h, "density_before"), col(&h, "density_after"));
    let (eb, ea) = (col(&h, "ofmap_error_before"), col(&h, "ofmap_error_after"));
    let num = |r: &[String], c: usize| r[c].parse::<f64>().unwrap();
    let (_, ranks) = csv_rows(&p.out.join("ranking.csv"));
    let hungriest = ranks
        .iter()
        .find(|r| r[2] == "1")
        .expect("an energy rank 1")[0]
        .clone();
    for name in ["energy-aware", "output-error", "magnitude"] {
        let steps: Vec<&Vec<String>> = rows.iter().filter(|r| r[crit] == name).collect();
        assert_eq!(
            steps.len(),
            7,
            "{name}: the unpruned row and one turn per layer with weights"
        );
        let base = num(steps[0], acc);
        assert_eq!(
            steps[1][layer], hungriest,
            "{name}: the most energy-hungry layer goes first"
        );
        let mut e = num(steps[0], energy);
        let mut pruned_any = false;
        for s in &steps[1..] {
            assert!(
                num(s, acc) >= base - 2.0 - 1e-9,
                "{name}: {s:?} is over the budget"
            );
            assert!(
                num(s, energy) <= e * (1.0 + 1e-9),
                "{name}: energy rose at {s:?}"
            );
            e = num(s, energy);
            pruned_any |= num(s, after) < num(s, before);
            if name == "energy-aware" {
                assert!(
                    num(s, ea) <= num(s, eb) + 1e-12,
                    "restoration never raises the held-out error: {s:?}"
                );
            } else {
                assert_eq!(s[ea], s[eb], "{name} does not restore");
            }
        }
        assert!(pruned_any, "{name} pruned nothing");
    }
    let (_, crits) = csv_rows(&p.out.join("criteria.csv"));
    let names: Vec<&str> = crits.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        ["unpruned", "energy-aware", "output-error", "magnitude"]
    );
    assert!(p.stdout.contains("bit-exact"), "{}", p.stdout);
    for f in [
        "accuracy_vs_energy.svg",
        "densities.svg",
        "summary.txt",
        "plan.csv",
    ] {
        assert!(p.out.join(f).is_file(), "{f}");
    }
}

/// Reads a `uint8` mask written by prune.
fn mask(path: &Path) -> Vec<f64> {
    eyesim::data::read_npy_numbers(path).unwrap().1
}

#[test]
fn the_pruned_model_reimports_with_the_planned_densities_and_its_masks_hold() {
    let p = pruned();
    let (h, plan) = csv_rows(&p.out.join("plan.csv"));
    let d = col(&h, "density_energy-aware");
    let dir = p.out.join("energy-aware");
    let m = onnx::import_model(&dir.join("pruned.onnx")).expect("the written model imports");
    for (l, w) in m.network.layers.iter().zip(&m.weights) {
        let Some(w) = w else { continue };
        let nz = w.weights.iter().filter(|&&v| v != 0.0).count();
        let row = plan.iter().find(|r| r[0] == l.name).expect("a plan row");
        let planned: f64 = row[d].parse().unwrap();
        assert!(
            (nz as f64 / w.weights.len() as f64 - planned).abs() < 5e-5,
            "{}",
            l.name
        );
        let k = mask(&dir.join("masks").join(format!("{}.weight.npy", l.name)));
        assert_eq!(
            k.iter().filter(|&&x| x != 0.0).count(),
            nz,
            "{}: mask and weights agree",
            l.name
        );
    }
    let out = p.data.join("check-ok");
    let o = eyesim(&[
        "prune",
        "--net",
        dir.join("pruned.onnx").to_str().unwrap(),
        "--masks",
        dir.join("masks").to_str().unwrap(),
        "--images",
        p.data.join("val-images").to_str().unwrap(),
        "--labels",
        p.data.join("val-labels").to_str().unwrap(),
        "--calibration",
        "40",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("held"), "{}", text(&o));
    assert!(out.join("masks.csv").is_file());
}

/// A masks-check run of `model` against `masks`; returns the output and
/// whether the output folder stayed empty.
fn check_run(model: &Path, masks: &Path, tag: &str) -> (std::process::Output, bool) {
    let p = pruned();
    let out = p.data.join(format!("check-{tag}"));
    let o = eyesim(&[
        "prune",
        "--net",
        model.to_str().unwrap(),
        "--masks",
        masks.to_str().unwrap(),
        "--images",
        p.data.join("val-images").to_str().unwrap(),
        "--labels",
        p.data.join("val-labels").to_str().unwrap(),
        "--calibration",
        "40",
        "--out",
        out.to_str().unwrap(),
    ]);
    let empty = !out.exists() || std::fs::read_dir(&out).unwrap().next().is_none();
    (o, empty)
}

#[test]
fn a_model_whose_pruned_weights_came_back_is_refused_by_layer_and_count() {
    let p = pruned();
    let masks = p.out.join("energy-aware/masks");
    // The unpruned model has every masked weight back.
    let (o, empty) = check_run(&model_path(), &masks, "broken");
    assert!(!o.status.success());
    let msg = text(&o);
    assert!(msg.contains("pruned weights came back"), "{msg}");
    // The first layer in network order with pruned weights is named.
    let first = ["conv1", "conv2", "conv3", "conv4", "fc5", "fc6"]
        .into_iter()
        .find(|l| mask(&masks.join(format!("{l}.weight.npy"))).contains(&0.0))
        .expect("a pruned layer");
    let k = mask(&masks.join(format!("{first}.weight.npy")));
    let zeros = k.iter().filter(|&&x| x == 0.0).count();
    assert!(
        msg.contains(&format!("layer `{first}`: {zeros} of the {zeros} pruned")),
        "{msg}"
    );
    assert!(empty, "nothing is written");
}

#[test]
fn masks_that_do_not_fit_the_model_are_refused() {
    let p = pruned();
    let model = p.out.join("energy-aware/pruned.onnx");
    let bad = p.data.join("bad-masks");
    std::fs::create_dir_all(&bad).unwrap();
    let conv1 = mask(&p.out.join("energy-aware/masks/conv1.weight.npy"));
    let bits: Vec<u8> = conv1.iter().map(|&x| x as u8).collect();
    std::fs::write(
        bad.join("conv1.weight.npy"),
        eyesim::data::npy_u8_bytes(&[288], &bits),
    )
    .unwrap();
    let (o, empty) = check_run(&model, &bad, "shape");
    assert!(!o.status.success());
    assert!(
        text(&o).contains("mask of shape [288] for layer `conv1`"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("[32, 1, 3, 3]"), "{}", text(&o));
    assert!(empty);
    let other = p.data.join("other-masks");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("conv9.weight.npy"),
        eyesim::data::npy_u8_bytes(&[1], &[1]),
    )
    .unwrap();
    let (o, _) = check_run(&model, &other, "unknown");
    assert!(!o.status.success());
    assert!(
        text(&o).contains("matches no weight of the model"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_options_and_inputs_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let (vi, vl) = subset(dir.path(), "v", 0, 20);
    let m = model_path();
    let base = |extra: &[&str]| {
        let out = dir.path().join("out");
        let mut a = vec![
            "prune",
            "--net",
            m.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        let o = eyesim(&a);
        assert!(!o.status.success(), "{extra:?} was accepted");
        assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
        text(&o)
    };
    for b in ["--budget=0", "--budget=100", "--budget=-1", "--budget=nan"] {
        assert!(base(&[b]).contains("--budget"), "{b}");
    }
    assert!(base(&["--floor", "0.2"]).contains("density planning of a trace"));
    // Images of the wrong size.
    let wrong = dir.path().join("wrong");
    let mut b = vec![0, 0, 8, 3];
    for d in [2u32, 10, 10] {
        b.extend(d.to_be_bytes());
    }
    b.extend(vec![0u8; 200]);
    std::fs::write(&wrong, b).unwrap();
    let msg = base(&[
        "--images",
        wrong.to_str().unwrap(),
        "--labels",
        vl.to_str().unwrap(),
    ]);
    assert!(msg.contains("takes images of 1x28x28"), "{msg}");
    let msg = base(&[
        "--images",
        vi.to_str().unwrap(),
        "--labels",
        vl.to_str().unwrap(),
        "--calibration",
        "20",
    ]);
    assert!(msg.contains("--calibration 20"), "{msg}");
    let o = eyesim(&["prune", "--net", "alexnet", "--masks", "x"]);
    assert!(
        !o.status.success() && text(&o).contains("needs a trained model"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_model_without_weight_values_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Graph::new(&[0, 1, 28, 28]);
    g.weight("w", &[4, 1, 3, 3], None);
    g.node("Conv", "conv", &["x", "w"], &["y"], vec![]);
    g.0.output.push(proto::ValueInfoProto {
        name: "y".into(),
        r#type: None,
    });
    let path = g.write(dir.path(), "stripped");
    let o = eyesim(&["prune", "--net", path.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("has no values in the file"),
        "{}",
        text(&o)
    );
}

#[test]
fn written_weights_reimport_through_a_folded_batch_norm_and_a_scaled_gemm() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Graph::new(&[0, 1, 4, 4]);
    g.weight("w", &[2, 1, 3, 3], Some(&|i| 0.1 * i as f32 - 0.5));
    g.weight("b", &[2], Some(&|i| i as f32));
    for (n, v) in [
        ("s", [2.0f32, 0.5]),
        ("t", [0.1, -0.2]),
        ("mu", [0.3, 0.0]),
        ("var", [4.0, 1.0]),
    ] {
        g.weight(n, &[2], Some(&move |i| v[i]));
    }
    g.weight("fw", &[8, 3], Some(&|i| 0.01 * i as f32));
    g.weight("fb", &[3], Some(&|i| -(i as f32)));
    g.node("Conv", "conv", &["x", "w", "b"], &["c"], vec![]);
    g.node(
        "BatchNormalization",
        "bn",
        &["c", "s", "t", "mu", "var"],
        &["n"],
        vec![],
    );
    g.node("Relu", "relu", &["n"], &["r"], vec![]);
    g.node("Flatten", "flat", &["r"], &["f"], vec![]);
    let mut alpha = int("transB", 0);
    alpha.name = "alpha".into();
    alpha.r#type = proto::attribute_proto::AttributeType::Float as i32;
    alpha.f = 0.5;
    alpha.i = 0;
    g.node(
        "Gemm",
        "fc",
        &["f", "fw", "fb"],
        &["y"],
        vec![alpha, int("transB", 0)],
    );
    g.0.output.push(proto::ValueInfoProto {
        name: "y".into(),
        r#type: None,
    });
    let path = g.write(dir.path(), "bn-gemm");
    let mut m = onnx::import_model(&path).unwrap();
    // New values, some pruned, and new biases (free: Conv has B, BN has its shift).
    for lw in m.weights.iter_mut().flatten() {
        for (i, w) in lw.weights.iter_mut().enumerate() {
            *w = if i % 3 == 0 {
                0.0
            } else {
                0.25 * (i as f32 % 7.0) - 0.7
            };
        }
        for (i, b) in lw.bias.iter_mut().enumerate() {
            *b = 0.5 - i as f32;
        }
    }
    let layers: Vec<_> = m
        .network
        .layers
        .iter()
        .zip(&m.weights)
        .map(|(l, w)| (l.name.clone(), w.clone()))
        .collect();
    let bytes = onnx::write_weights(&path, &layers).unwrap();
    let out = dir.path().join("written.onnx");
    std::fs::write(&out, bytes).unwrap();
    let back = onnx::import_model(&out).unwrap();
    for (a, b) in m
        .weights
        .iter()
        .flatten()
        .zip(back.weights.iter().flatten())
    {
        for (x, y) in a
            .weights
            .iter()
            .zip(&b.weights)
            .chain(a.bias.iter().zip(&b.bias))
        {
            assert!((x - y).abs() <= 1e-6 * x.abs().max(1.0), "{x} vs {y}");
            assert_eq!(*x == 0.0, *y == 0.0, "zeros stay zeros");
        }
    }
}
