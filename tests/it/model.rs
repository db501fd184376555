//! A trained network end to end (`traces/fmnist/`): ONNX weights and IDX
//! images in, fixed-point formats, the functional path against the
//! cycle-level chain bit for bit, overflow reporting, accuracy, and every
//! bad input named.

use eyesim::hw;
use eyesim::infer::{self, Formats, QuantModel};
use eyesim::mapping::{self, Objective};
use eyesim::onnx::{self, proto, Model};
use eyesim::workload::LayerWork;
use prost::Message;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model() -> Model {
    onnx::import_model(&root().join("traces/fmnist/fmnist-cnn.onnx")).unwrap()
}

/// The first `n` shipped test images as floats in [0, 1].
fn images(n: usize) -> Vec<f32> {
    let a = eyesim::data::read_idx(&root().join("traces/fmnist/t1k-images-idx3-ubyte.gz")).unwrap();
    a.values[..n * 784]
        .iter()
        .map(|&b| f32::from(b) / 255.0)
        .collect()
}

fn quantized(m: &Model, x: &[f32], n: u32) -> (QuantModel, Vec<i16>) {
    let q = QuantModel::new(m, infer::calibrate(m, x, n));
    let xq = x
        .iter()
        .map(|&v| infer::quant::quantize(v, q.formats.input_frac).0)
        .collect();
    (q, xq)
}

#[test]
fn the_chained_cycle_level_run_equals_the_functional_path_bit_for_bit() {
    let m = model();
    let x = images(4);
    let (mut q, xq) = quantized(&m, &x, 4);
    q.net.batch = 4;
    let hw = hw::load("eyeriss-v1").unwrap();
    let mappings: Vec<_> = q
        .net
        .layers
        .iter()
        .map(|l| match LayerWork::of(l, 4) {
            LayerWork::Array(p) => Some(mapping::search(&p, &hw, Objective::Energy).unwrap()),
            _ => None,
        })
        .collect();
    // Every layer's simulated ofmap is checked against the reference on its
    // own input, which is the previous layer's simulated ofmap.
    let chain = infer::simulate_chain(&q, &hw, &mappings, &xq, 4).unwrap();
    let fast = infer::run_fixed(&q, &xq, 4, 2);
    assert_eq!(chain.last().unwrap().sim.ofmap, fast.outputs);
    assert_eq!(fast.outputs.len(), 40);
    // The functional path sees the same sparsity the chain moved: conv2's
    // input zeros equal the zeros of what pool1's simulation wrote.
    let pool1 = &chain[1].sim.ofmap;
    let zeros = pool1.iter().filter(|&&v| v == 0).count() as u64;
    assert_eq!(fast.layers[2].ifmap_zeros, zeros);
    assert!(chain[2].row.counts.macs.gated > 0, "real zeros are gated");
}

#[test]
fn accumulator_wraps_and_saturations_are_counted() {
    let m = model();
    let x = images(8);
    let (q, xq) = quantized(&m, &x, 8);
    assert!(infer::run_fixed(&q, &xq, 8, 1)
        .layers
        .iter()
        .all(|l| l.wraps == 0));
    assert_eq!(q.saturated.iter().sum::<u64>(), 0);
    // Four more fractional bits on conv2's output than calibration chose:
    // its accumulators overflow 16 bits, and the run says where.
    let mut tight = q.formats.clone();
    tight.layers[2].format.output_frac += 4;
    let run = infer::run_fixed(&QuantModel::new(&m, tight), &xq, 8, 1);
    assert!(run.layers[2].wraps > 0, "{:?}", run.layers[2]);
    // Weights with too many fractional bits saturate.
    let mut wide = q.formats.clone();
    wide.layers[0].format.weight_frac += 6;
    assert!(QuantModel::new(&m, wide).saturated[0] > 0);
}

#[test]
fn formats_round_trip_and_must_match_the_network() {
    let m = model();
    let x = images(4);
    let f = infer::calibrate(&m, &x, 4);
    let back = Formats::from_toml(&f.to_toml(), "formats.toml", &m.network).unwrap();
    assert_eq!(back, f);
    let mut other = m.network.clone();
    other.layers[0].name = "first".into();
    let e = Formats::from_toml(&f.to_toml(), "formats.toml", &other).unwrap_err();
    assert!(
        e.to_string().contains("formats.toml") && e.to_string().contains("first"),
        "{e}"
    );
}

/// The shipped model with one initializer changed by `edit`, written to `dir`.
fn edited_model(dir: &Path, edit: impl Fn(&mut proto::TensorProto)) -> PathBuf {
    let bytes = std::fs::read(root().join("traces/fmnist/fmnist-cnn.onnx")).unwrap();
    let mut m = proto::ModelProto::decode(bytes.as_slice()).unwrap();
    let g = m.graph.as_mut().unwrap();
    let t = g
        .initializer
        .iter_mut()
        .find(|t| t.name == "conv2.weight")
        .unwrap();
    edit(t);
    let p = dir.join("edited.onnx");
    std::fs::write(&p, m.encode_to_vec()).unwrap();
    p
}

#[test]
fn weights_without_values_or_with_nan_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = edited_model(dir.path(), |t| {
        t.raw_data.clear();
        t.float_data.clear();
    });
    let e = onnx::import_model(&p).unwrap_err().to_string();
    assert!(
        e.contains("edited.onnx") && e.contains("conv2") && e.contains("no values"),
        "{e}"
    );
    // The same file still imports as a trace (no values needed).
    assert!(onnx::import_file(&p).is_ok());
    let p = edited_model(dir.path(), |t| {
        if t.raw_data.is_empty() {
            t.float_data[3] = f32::NAN;
        } else {
            t.raw_data[12..16].copy_from_slice(&f32::NAN.to_le_bytes());
        }
    });
    let e = onnx::import_model(&p).unwrap_err().to_string();
    assert!(
        e.contains("conv2.weight") && e.contains("NaN") && e.contains("element 3"),
        "{e}"
    );
}

fn eyesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eyesim"))
        .args(args)
        .output()
        .unwrap()
}

fn write_idx(path: &Path, dims: &[u32], values: &[u8]) {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(values);
    std::fs::write(path, b).unwrap();
}

#[test]
fn bad_images_and_labels_are_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = root().join("traces/fmnist/fmnist-cnn.onnx");
    write_idx(&d.join("small.idx"), &[3, 27, 27], &[0; 3 * 27 * 27]);
    write_idx(&d.join("good.idx"), &[3, 28, 28], &[0; 3 * 28 * 28]);
    write_idx(&d.join("labels2.idx"), &[2], &[1, 2]);
    write_idx(&d.join("labels3.idx"), &[3], &[1, 2, 3]);
    let mut trunc = vec![0u8, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28];
    trunc.extend_from_slice(&[7; 100]);
    std::fs::write(d.join("trunc.idx"), trunc).unwrap();
    let out = d.join("out");
    let run = |images: &str, labels: &str| {
        eyesim(&[
            "run",
            "--net",
            model.to_str().unwrap(),
            "--images",
            d.join(images).to_str().unwrap(),
            "--labels",
            d.join(labels).to_str().unwrap(),
            "--sample",
            "4",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    for (images, labels, needles) in [
        (
            "small.idx",
            "labels3.idx",
            vec!["small.idx", "[3, 27, 27]", "1x28x28"],
        ),
        (
            "good.idx",
            "labels2.idx",
            vec!["labels2.idx", "2 labels", "3 images"],
        ),
        ("trunc.idx", "labels3.idx", vec!["trunc.idx", "truncated"]),
    ] {
        let o = run(images, labels);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{images}");
        for n in needles {
            assert!(err.contains(n), "{images}: {n} not in {err}");
        }
        assert!(
            !out.exists(),
            "{images}: a failed run wrote {}",
            out.display()
        );
    }
}

#[test]
fn run_on_the_shipped_model_reports_accuracy_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let model = root().join("traces/fmnist/fmnist-cnn.onnx");
    let mut csvs = Vec::new();
    for (k, threads) in ["1", "2"].iter().enumerate() {
        let out = dir.path().join(format!("r{k}"));
        let o = eyesim(&[
            "run",
            "--net",
            model.to_str().unwrap(),
            "--sample",
            "8",
            "--threads",
            threads,
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let line = text.lines().find(|l| l.starts_with("top-1:")).unwrap();
        let pct: Vec<f64> = line
            .split(['%', ' ', '('])
            .filter_map(|w| w.parse().ok())
            .collect();
        let (float, chip) = (pct[0], pct[1]);
        assert!(float >= 90.0, "{line}");
        assert!((float - chip).abs() <= 0.5, "{line}");
        csvs.push(std::fs::read(out.join("layers.csv")).unwrap());
        csvs.push(std::fs::read(out.join("simulated/layers.csv")).unwrap());
        csvs.push(std::fs::read(out.join("formats.toml")).unwrap());
        // The measured trace loads and carries the measured densities.
        let t = eyesim::workload::load(out.join("measured.toml").to_str().unwrap()).unwrap();
        assert!(t.layers[2].sparsity.ifmap_zero_fraction > 0.3);
    }
    assert_eq!(csvs[0], csvs[3]);
    assert_eq!(csvs[1], csvs[4]);
    assert_eq!(csvs[2], csvs[5]);
}

#[test]
fn npy_images_and_labels_give_the_same_answers_as_idx() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let idx =
        eyesim::data::read_idx(&root().join("traces/fmnist/t1k-images-idx3-ubyte.gz")).unwrap();
    let lab =
        eyesim::data::read_idx(&root().join("traces/fmnist/t1k-labels-idx1-ubyte.gz")).unwrap();
    let n = 8;
    let img: Vec<i16> = idx.values[..n * 784]
        .iter()
        .map(|&b| i16::from(b))
        .collect();
    let labels: Vec<i16> = lab.values[..n].iter().map(|&b| i16::from(b)).collect();
    eyesim::data::write_npy_i16(&d.join("x.npy"), &[n as u64, 1, 28, 28], &img).unwrap();
    eyesim::data::write_npy_i16(&d.join("y.npy"), &[n as u64], &labels).unwrap();
    write_idx(
        &d.join("x.idx"),
        &[n as u32, 28, 28],
        &idx.values[..n * 784],
    );
    write_idx(&d.join("y.idx"), &[n as u32], &lab.values[..n]);
    let model = root().join("traces/fmnist/fmnist-cnn.onnx");
    let mut outs = Vec::new();
    for (x, y) in [("x.npy", "y.npy"), ("x.idx", "y.idx")] {
        let out = d.join(format!("out-{x}"));
        let o = eyesim(&[
            "run",
            "--net",
            model.to_str().unwrap(),
            "--images",
            d.join(x).to_str().unwrap(),
            "--labels",
            d.join(y).to_str().unwrap(),
            "--sample",
            "4",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{x}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(text.contains("8 images"), "{text}");
        outs.push(std::fs::read(out.join("layers.csv")).unwrap());
        // The labels count too: the accuracy line is the same from both.
        let top1 = text.lines().find(|l| l.starts_with("top-1:")).unwrap();
        outs.push(top1.as_bytes().to_vec());
    }
    assert_eq!(outs[0], outs[2]);
    assert_eq!(outs[1], outs[3]);
}

#[test]
fn a_sample_too_large_for_the_memory_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let model = root().join("traces/fmnist/fmnist-cnn.onnx");
    let o = eyesim(&[
        "run",
        "--net",
        model.to_str().unwrap(),
        "--max-memory",
        "2M",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("layer conv1") && err.contains("2.0 MiB limit"),
        "{err}"
    );
    assert!(!out.exists());
}

/// A residual block, a concat and global pooling: the chained cycle-level
/// run (Add and global pooling on the GLB-side datapath, Concat as DRAM
/// addressing) still equals the functional path bit for bit.
#[test]
fn residual_concat_and_global_pool_chain_bit_for_bit() {
    use crate::onnx::build::{int, ints, Graph};
    let dir = tempfile::tempdir().unwrap();
    let w = |seed: usize| move |i: usize| (((i * 37 + seed * 11) % 17) as f32 - 8.0) / 24.0;
    let mut g = Graph::new(&[2, 3, 8, 8]);
    let pad = || vec![ints("pads", &[1, 1, 1, 1])];
    g.weight("w1", &[4, 3, 3, 3], Some(&w(1)));
    g.node("Conv", "c1", &["x", "w1"], &["c1"], pad());
    g.node("Relu", "", &["c1"], &["r1"], vec![]);
    g.weight("w2", &[4, 4, 1, 1], Some(&w(2)));
    g.node("Conv", "c2", &["r1", "w2"], &["c2"], vec![]);
    g.node("Relu", "", &["c2"], &["r2"], vec![]);
    g.node("Add", "res", &["r1", "r2"], &["s"], vec![]);
    g.node("Relu", "", &["s"], &["rs"], vec![]);
    g.node(
        "Concat",
        "cat",
        &["r1", "rs"],
        &["cat"],
        vec![int("axis", 1)],
    );
    g.weight("w3", &[4, 8, 3, 3], Some(&w(3)));
    g.node("Conv", "c3", &["cat", "w3"], &["c3"], pad());
    g.node("Relu", "", &["c3"], &["r3"], vec![]);
    g.node("GlobalAveragePool", "gap", &["r3"], &["gap"], vec![]);
    g.node("Flatten", "", &["gap"], &["f"], vec![]);
    g.weight("w4", &[5, 4], Some(&w(4)));
    g.node("Gemm", "fc", &["f", "w4"], &["y"], vec![int("transB", 1)]);
    let path = g.write(dir.path(), "resnetish");
    let m = onnx::import_model(&path).unwrap();
    let kinds: Vec<&str> = m.network.layers.iter().map(|l| l.kind.name()).collect();
    assert!(
        kinds.contains(&"add") && kinds.contains(&"concat"),
        "{kinds:?}"
    );
    let x: Vec<f32> = (0..2 * 3 * 64)
        .map(|i| ((i * 7919) % 101) as f32 / 100.0)
        .collect();
    let (mut q, xq) = quantized(&m, &x, 2);
    q.net.batch = 2;
    let hw = hw::load("eyeriss-v1").unwrap();
    let mappings: Vec<_> = q
        .net
        .layers
        .iter()
        .map(|l| match LayerWork::of(l, 2) {
            LayerWork::Array(p) => Some(mapping::search(&p, &hw, Objective::Energy).unwrap()),
            _ => None,
        })
        .collect();
    let chain = infer::simulate_chain(&q, &hw, &mappings, &xq, 2).unwrap();
    let fast = infer::run_fixed(&q, &xq, 2, 2);
    assert_eq!(chain.last().unwrap().sim.ofmap, fast.outputs);
    assert_eq!(fast.outputs.len(), 10);
    assert!(fast.outputs.iter().any(|&v| v != 0), "{:?}", fast.outputs);
    // The Add and the global pooling ran on the GLB-side datapath.
    for l in ["res", "gap"] {
        let i = q.net.layers.iter().position(|x| x.name == l).unwrap();
        assert!(chain[i].row.counts.macs.performed > 0, "{l}");
    }
}

#[test]
fn flags_that_do_not_apply_are_errors_not_ignored() {
    let model = root().join("traces/fmnist/fmnist-cnn.onnx");
    for (args, needle) in [
        (
            vec!["run", "--net", model.to_str().unwrap(), "--dense"],
            "--dense does not apply",
        ),
        (
            vec!["run", "--net", model.to_str().unwrap(), "--layers", "conv1"],
            "--layers does not apply",
        ),
        (
            vec!["run", "--images", "x.idx", "--labels", "y.idx"],
            "--images needs a trained model",
        ),
    ] {
        let o = eyesim(&args);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{err}");
    }
}
