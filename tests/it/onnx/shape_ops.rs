//! Shape computations, Pad and Resize, opset forms, constants folded into
//! weights, and the commands that run on an imported model.

use super::build::{float, int, ints, string, Graph};
use super::families::{conv, import, import_at, pads, relu, row, rows, se_block};
use super::shape;
use eyesim::onnx::{import_bytes_with, ImportOptions};
use eyesim::workload::LayerKind;

#[test]
fn batch_computed_by_shape_gather_unsqueeze_concat_reshape() {
    // PyTorch's x.view(x.size(0), -1) on a symbolic batch.
    let mut g = Graph::new(&[0, 3, 8, 8]);
    conv(&mut g, "conv", "x", (16, 3, 3), vec![pads(1)]);
    // Shape reads only dimensions: the Relu still fuses into the conv.
    g.node("Shape", "", &["conv"], &["shape"], vec![]);
    relu(&mut g, "conv", "r");
    g.0.initializer.push(super::build::int64_scalar("zero", 0));
    g.node(
        "Gather",
        "",
        &["shape", "zero"],
        &["n"],
        vec![int("axis", 0)],
    );
    g.int64s("axes0", &[0]);
    g.node("Unsqueeze", "", &["n", "axes0"], &["n1"], vec![]);
    g.int64s("minus1", &[-1]);
    g.node(
        "Concat",
        "",
        &["n1", "minus1"],
        &["target"],
        vec![int("axis", 0)],
    );
    g.node("Reshape", "", &["r", "target"], &["flat"], vec![]);
    g.weight("fc.weight", &[10, 1024], None);
    g.node(
        "Gemm",
        "fc",
        &["flat", "fc.weight"],
        &["y"],
        vec![int("transB", 1)],
    );
    let net = import_at(g, Some(4));
    assert_eq!(net.batch, 4, "--batch fills the symbolic batch");
    let m = shape(16, 8, 8);
    assert_eq!(
        rows(&net),
        vec![
            row("conv", "conv", shape(3, 8, 8), m, 64 * 16 * 27, 432),
            row("fc", "fc", m, shape(10, 1, 1), 10_240, 10_240),
        ]
    );
}

#[test]
fn pad_folds_into_the_next_conv_but_not_into_a_pool() {
    let mut g = Graph::new(&[1, 3, 8, 8]);
    conv(&mut g, "c0", "x", (4, 3, 1), vec![]);
    g.int64s("p", &[0, 0, 1, 2, 0, 0, 1, 2]);
    g.node("Pad", "pad", &["c0", "p"], &["padded"], vec![]);
    conv(&mut g, "c1", "padded", (4, 4, 3), vec![pads(1)]);
    g.node("Pad", "pad2", &["c1", "p"], &["padded2"], vec![]);
    g.node(
        "MaxPool",
        "pool",
        &["padded2"],
        &["y"],
        vec![ints("kernel_shape", &[2, 2])],
    );
    let net = import(g);
    let LayerKind::Conv(p) = &net.layers[1].kind else {
        panic!()
    };
    // (top, bottom, left, right): the conv's 1 plus the Pad's (1, 1, 2, 2).
    assert_eq!(p.padding, [2, 2, 3, 3]);
    let (m, c1) = (shape(4, 8, 8), shape(4, 10, 12));
    assert_eq!(
        rows(&net),
        vec![
            row("c0", "conv", shape(3, 8, 8), m, 64 * 4 * 3, 12),
            row("c1", "conv", m, c1, 10 * 12 * 4 * 4 * 9, 144),
            row("pad2", "Pad", c1, shape(4, 12, 16), 480, 0),
            row("pool", "maxpool", shape(4, 12, 16), shape(4, 11, 15), 0, 0),
        ]
    );
}

fn eyesim(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_eyesim"))
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn import_show_estimate_and_crosscheck_an_se_block() {
    let dir = tempfile::tempdir().unwrap();
    let model = se_block("GlobalAveragePool", "Sigmoid").write(dir.path(), "se");
    let trace = dir.path().join("se.toml");
    let (ok, _, err) = eyesim(&[
        "import".as_ref(),
        model.as_os_str(),
        "-o".as_ref(),
        trace.as_os_str(),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("7 layers (4 array, 1 GLB-side, 2 host (Sigmoid ×1, Mul ×1))"),
        "{err}"
    );
    let (ok, out, err) = eyesim(&["show".as_ref(), "--net".as_ref(), trace.as_os_str()]);
    assert!(ok, "{err}");
    let runs_on = |layer: &str| -> Vec<String> {
        let line = out
            .lines()
            .find(|l| l.starts_with(layer))
            .unwrap_or_else(|| panic!("{out}"));
        line.split_whitespace()
            .skip(1)
            .take(2)
            .map(String::from)
            .collect()
    };
    assert_eq!(runs_on("se.pool"), ["avgpool", "GLB-side"]);
    assert_eq!(runs_on("se.gate"), ["Sigmoid", "host"]);
    assert_eq!(runs_on("se.scale"), ["Mul", "host"]);
    assert_eq!(runs_on("next"), ["conv", "array"]);
    assert!(
        out.contains("host (per image, off the accelerator): 2 layers, 8256 values read, 8224 written, 8224 operations"),
        "{out}"
    );
    let res = dir.path().join("est");
    let (ok, out, err) = eyesim(&[
        "estimate".as_ref(),
        "--net".as_ref(),
        trace.as_os_str(),
        "--hw".as_ref(),
        "tiny".as_ref(),
        "--out".as_ref(),
        res.as_os_str(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("host: 2 layers run off the accelerator and are not in these totals: 8256 values read, 8224 written, 8224 operations (batch 1)"),
        "{out}"
    );
    let gate = out.lines().find(|l| l.starts_with("se.gate")).unwrap();
    assert_eq!(gate.split_whitespace().nth(1), Some("host"), "{gate}");
    let (ok, out, err) = eyesim(&[
        "estimate".as_ref(),
        "--net".as_ref(),
        trace.as_os_str(),
        "--hw".as_ref(),
        "tiny".as_ref(),
        "--batch".as_ref(),
        "2".as_ref(),
        "--out".as_ref(),
        res.as_os_str(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("16512 values read, 16448 written, 16448 operations (batch 2)"),
        "{out}"
    );
    // Both models count no accelerator access for a host layer; the
    // crosscheck over the whole network still holds.
    let res = dir.path().join("cc");
    let (ok, out, err) = eyesim(&[
        "crosscheck".as_ref(),
        "--net".as_ref(),
        trace.as_os_str(),
        "--hw".as_ref(),
        "tiny".as_ref(),
        "--out".as_ref(),
        res.as_os_str(),
        "-q".as_ref(),
    ]);
    assert!(ok, "{out}\n{err}");
}

#[test]
fn per_channel_constants_fold_into_the_weights_and_host_layers_are_not_executed() {
    let dir = tempfile::tempdir().unwrap();
    // y = ((x · Wᵀ + 1) · [2, 3]) + [10, 20]: PyTorch's Linear followed by
    // a scale and a shift, as exporters leave them.
    let mut g = Graph::new(&[1, 4]);
    g.weight("w", &[2, 4], Some(&|i| (i + 1) as f32));
    g.weight("b", &[2], Some(&|_| 1.0));
    g.node(
        "Gemm",
        "fc",
        &["x", "w", "b"],
        &["y"],
        vec![int("transB", 1)],
    );
    g.weight("scale", &[2], Some(&|i| (i + 2) as f32));
    g.node("Mul", "", &["y", "scale"], &["s"], vec![]);
    g.weight("shift", &[2], Some(&|i| 10.0 * (i + 1) as f32));
    g.node("Add", "", &["shift", "s"], &["z"], vec![]);
    let path = g.write(dir.path(), "affine");
    let m = eyesim::onnx::import_model(&path).unwrap();
    assert_eq!(m.network.layers.len(), 1);
    let w = m.weights[0].as_ref().unwrap();
    assert_eq!(w.weights, [2., 4., 6., 8., 15., 18., 21., 24.]);
    assert_eq!(w.bias, [12., 23.]);
    // Subtracting the feature map from a constant is not affine in the
    // weights' favour: a host layer, which executing commands refuse.
    let mut g = Graph::new(&[1, 4]);
    g.weight("w", &[2, 4], Some(&|i| (i + 1) as f32));
    g.node("Gemm", "fc", &["x", "w"], &["y"], vec![int("transB", 1)]);
    g.weight("shift", &[2], Some(&|_| 1.0));
    g.node("Sub", "flip", &["shift", "y"], &["z"], vec![]);
    let path = g.write(dir.path(), "flip");
    let net = eyesim::onnx::import_file(&path).unwrap();
    assert_eq!(
        rows(&net)[1],
        row("flip", "Sub", shape(2, 1, 1), shape(2, 1, 1), 4, 2)
    );
    let e = eyesim::onnx::import_model(&path).unwrap_err().to_string();
    assert!(e.contains("'flip' (Sub): runs on the host"), "{e}");
    // ReLU6's cap is not applied by the chip's datapath: refused too.
    let mut g = Graph::new(&[1, 2, 4, 4]);
    g.weight("w", &[2, 2, 1, 1], Some(&|_| 1.0));
    g.node("Conv", "c", &["x", "w"], &["y"], vec![]);
    g.node(
        "Clip",
        "relu6",
        &["y"],
        &["z"],
        vec![float("min", 0.0), float("max", 6.0)],
    );
    let path = g.write(dir.path(), "relu6");
    assert!(eyesim::onnx::import_file(&path).unwrap().layers[0].relu);
    let e = eyesim::onnx::import_model(&path).unwrap_err().to_string();
    assert!(
        e.contains("'relu6' (Clip)") && e.contains("upper bound"),
        "{e}"
    );
}

#[test]
fn opset_forms_of_slice_split_pad_and_reduce_mean() {
    // Slice with attributes (opset 9) and with inputs (opset 13) select the
    // same channels; Split by attribute; Pad by attribute; ReduceMean with
    // axes from a Range.
    let build = |old: bool| {
        let mut g = Graph::new(&[1, 8, 6, 6]);
        conv(&mut g, "c", "x", (8, 8, 1), vec![]);
        if old {
            g.1 = 9;
            g.node(
                "Slice",
                "slice",
                &["c"],
                &["s"],
                vec![ints("starts", &[2]), ints("ends", &[6]), ints("axes", &[1])],
            );
            g.node(
                "Split",
                "split",
                &["s"],
                &["a", "b"],
                vec![int("axis", 1), ints("split", &[1, 3])],
            );
            g.node(
                "Pad",
                "pad",
                &["b"],
                &["p"],
                vec![ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1])],
            );
        } else {
            for (n, v) in [("st", 2), ("en", 6), ("ax", 1)] {
                g.int64s(n, &[v]);
            }
            g.node("Slice", "slice", &["c", "st", "en", "ax"], &["s"], vec![]);
            g.int64s("parts", &[1, 3]);
            g.node(
                "Split",
                "split",
                &["s", "parts"],
                &["a", "b"],
                vec![int("axis", 1)],
            );
            g.int64s("pads", &[0, 0, 1, 1, 0, 0, 1, 1]);
            g.node("Pad", "pad", &["b", "pads"], &["p"], vec![]);
        }
        // Pad feeds a ReduceMean, not a Conv: a host copy.
        g.0.initializer.push(super::build::int64_scalar("two", 2));
        g.0.initializer.push(super::build::int64_scalar("four", 4));
        g.0.initializer.push(super::build::int64_scalar("one", 1));
        g.node("Range", "", &["two", "four", "one"], &["hw"], vec![]);
        g.node(
            "ReduceMean",
            "gap",
            &["p", "hw"],
            &["y"],
            vec![int("keepdims", 1)],
        );
        g
    };
    for old in [true, false] {
        let mut g = build(old);
        if old {
            // Opset 9's ReduceMean takes its axes as an attribute.
            let n = g.0.node.last_mut().unwrap();
            n.input.truncate(1);
            n.attribute.push(ints("axes", &[2, 3]));
        }
        let net = import(g);
        let (c, s, q) = (shape(8, 6, 6), shape(4, 6, 6), shape(3, 6, 6));
        assert_eq!(
            rows(&net),
            vec![
                row("c", "conv", c, c, 36 * 64, 64),
                row("slice", "Slice", c, s, 144, 0),
                row("split", "Split", s, shape(1, 6, 6), 36, 0),
                row("split_2", "Split", s, q, 108, 0),
                row("pad", "Pad", q, shape(3, 8, 8), 108, 0),
                row("gap", "avgpool", shape(3, 8, 8), shape(3, 1, 1), 0, 0),
            ],
            "opset {}",
            if old { 9 } else { 13 }
        );
    }
}

#[test]
fn resize_and_upsample_by_integer_factors() {
    // Resize-13 (roi empty, scales) nearest, and Upsample-9 linear.
    for (op, mode, taps) in [("Resize", "nearest", 0), ("Upsample", "linear", 4)] {
        let mut g = Graph::new(&[1, 3, 8, 8]);
        conv(&mut g, "c", "x", (4, 3, 1), vec![]);
        g.weight("scales", &[4], Some(&|i| if i < 2 { 1.0 } else { 2.0 }));
        let ins: Vec<&str> = if op == "Resize" {
            vec!["c", "", "scales"]
        } else {
            g.1 = 9;
            vec!["c", "scales"]
        };
        g.node(op, "up", &ins, &["u"], vec![string("mode", mode)]);
        conv(&mut g, "d", "u", (4, 4, 1), vec![]);
        let net = import(g);
        let (m, big) = (shape(4, 8, 8), shape(4, 16, 16));
        assert_eq!(
            rows(&net),
            vec![
                row("c", "conv", shape(3, 8, 8), m, 64 * 12, 12),
                row("up", op, m, big, 256, 1024 * taps),
                row("d", "conv", big, big, 256 * 16, 16),
            ],
            "{op}"
        );
    }
    // Downsampling is not an integer upsampling factor.
    let mut g = Graph::new(&[1, 3, 8, 8]);
    conv(&mut g, "c", "x", (4, 3, 1), vec![]);
    g.weight("scales", &[4], Some(&|i| if i < 2 { 1.0 } else { 0.5 }));
    g.node("Resize", "down", &["c", "", "scales"], &["u"], vec![]);
    let e = import_bytes_with(&g.bytes(), "r.onnx", "r", &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'down' (Resize)") && e.contains("integer factors"),
        "{e}"
    );
}

/// Exporters list initializers among the graph inputs (opset < 9 style),
/// and write `value_info` and output shapes that may be stale or wrong;
/// none of it may change the import, which propagates shapes itself.
#[test]
fn initializers_as_inputs_and_wrong_value_info_change_nothing() {
    use eyesim::onnx::proto::tensor_shape_proto::{dimension, Dimension};
    use eyesim::onnx::proto::{type_proto, TensorShapeProto, TypeProto, ValueInfoProto};
    use prost::Message;
    let plain = import(se_block("GlobalAveragePool", "Sigmoid"));
    let info = |name: &str, dims: &[i64]| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension {
                            value: Some(dimension::Value::DimValue(d)),
                        })
                        .collect(),
                }),
            })),
        }),
    };
    let mut g = se_block("GlobalAveragePool", "Sigmoid");
    let inits: Vec<ValueInfoProto> =
        g.0.initializer
            .iter()
            .map(|t| info(&t.name, &t.dims))
            .collect();
    g.0.input.extend(inits);
    // A wrong output shape, and value_info (GraphProto field 13, which
    // the reduced proto does not declare) with wrong shapes for two
    // intermediate values.
    g.0.output.push(info("next", &[7, 7, 7, 7]));
    let mut graph = g.0.encode_to_vec();
    for (name, dims) in [("f", &[1i64, 5, 2, 2][..]), ("p", &[3, 3][..])] {
        let v = info(name, dims).encode_to_vec();
        graph.push(13 << 3 | 2);
        prost::encoding::encode_varint(v.len() as u64, &mut graph);
        graph.extend(v);
    }
    let mut model = eyesim::onnx::proto::ModelProto {
        ir_version: 8,
        producer_name: "eyesim-tests".into(),
        graph: None,
        opset_import: vec![eyesim::onnx::proto::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
    }
    .encode_to_vec();
    model.push(7 << 3 | 2);
    prost::encoding::encode_varint(graph.len() as u64, &mut model);
    model.extend(graph);
    let opts = ImportOptions {
        allow_host_ops: false,
        batch: None,
    };
    let quirky =
        import_bytes_with(&model, "quirky.onnx", "family", &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows(&quirky), rows(&plain));
    assert_eq!(quirky, plain);
}
