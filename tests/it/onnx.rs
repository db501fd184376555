//! `eyesim import`: ONNX models built in memory are converted to networks
//! whose shapes match the trace formula, and to trace files.

pub(crate) mod build;
mod cli;
mod errors;
mod export;
mod external;
mod families;
mod shape_ops;
mod traces;

use build::{int, int64_tensor, ints, string, tensor, Graph};
use eyesim::onnx::import_bytes;
use eyesim::onnx::proto::AttributeProto;
use eyesim::workload::{from_toml_str, to_trace_toml, FmapShape, LayerKind, Network, PoolKind};

/// The trace format's output extent: floor division.
fn out(h: u32, k: u32, s: u32, pad_total: u32, d: u32) -> u32 {
    (h + pad_total - d * (k - 1) - 1) / s + 1
}

fn shape(c: u32, h: u32, w: u32) -> FmapShape {
    FmapShape { c, h, w }
}

/// Imports the model and checks that its trace reads back identically.
fn import(g: Graph) -> Network {
    let net = import_bytes(&g.bytes(), "test.onnx", "test").unwrap_or_else(|e| panic!("{e}"));
    let text = to_trace_toml(&net);
    let back = from_toml_str(&text, "roundtrip.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, net, "{text}");
    net
}

/// The imported network must equal the parsed hand-written trace: same
/// layers, shapes, geometry, ReLUs and densities.
fn assert_same_as_trace(net: &Network, hand: &str) {
    let want = from_toml_str(hand, "hand.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((net.batch, net.input), (want.batch, want.input));
    assert_eq!(net.layers.len(), want.layers.len());
    for (got, want) in net.layers.iter().zip(&want.layers) {
        assert_eq!(got, want, "layer {}", want.name);
    }
    assert_eq!(net, &want);
}

fn import_err(g: Graph) -> String {
    import_bytes(&g.bytes(), "test.onnx", "test")
        .unwrap_err()
        .to_string()
}

fn conv(g: &mut Graph, name: &str, x: &str, w: (i64, i64, i64), attrs: Vec<AttributeProto>) {
    let (m, c, k) = w;
    g.weight(&format!("{name}.w"), &[m, c, k, k], None);
    g.node("Conv", name, &[x, &format!("{name}.w")], &[name], attrs);
}

/// A small AlexNet: conv1 → LRN → pool1 → 2-group conv2 → pool2 → conv3 →
/// pool3 → fc6 → fc7 → Softmax, each conv/fc but fc7 followed by Relu. LRN
/// and Softmax run on the host.
fn alexnet_like() -> Graph {
    let mut g = Graph::new(&[0, 3, 227, 227]);
    g.weight(
        "conv1.w",
        &[96, 3, 11, 11],
        Some(&|i| if i % 4 == 0 { 0.0 } else { 0.5 }),
    );
    g.node(
        "Conv",
        "conv1",
        &["x", "conv1.w"],
        &["c1"],
        vec![ints("strides", &[4, 4])],
    );
    g.node("Relu", "relu1", &["c1"], &["r1"], vec![]);
    g.node("LRN", "norm1", &["r1"], &["n1"], vec![int("size", 5)]);
    g.node(
        "MaxPool",
        "pool1",
        &["n1"],
        &["p1"],
        vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2])],
    );
    conv(
        &mut g,
        "conv2",
        "p1",
        (256, 48, 5),
        vec![ints("pads", &[2, 2, 2, 2]), int("group", 2)],
    );
    g.node("Relu", "relu2", &["conv2"], &["r2"], vec![]);
    g.node(
        "MaxPool",
        "pool2",
        &["r2"],
        &["p2"],
        vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2])],
    );
    conv(
        &mut g,
        "conv3",
        "p2",
        (64, 256, 3),
        vec![ints("pads", &[1, 1, 1, 1])],
    );
    g.node("Relu", "relu3", &["conv3"], &["r3"], vec![]);
    g.node(
        "MaxPool",
        "pool3",
        &["r3"],
        &["p3"],
        vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2])],
    );
    g.node("Flatten", "flat", &["p3"], &["f"], vec![]);
    g.weight("fc6.w", &[512, 64 * 6 * 6], None);
    g.weight("fc6.b", &[512], None);
    g.node(
        "Gemm",
        "fc6",
        &["f", "fc6.w", "fc6.b"],
        &["y6"],
        vec![int("transB", 1)],
    );
    g.node("Relu", "relu6", &["y6"], &["r6"], vec![]);
    g.node("Dropout", "drop6", &["r6"], &["d6"], vec![]);
    g.weight("fc7.w", &[512, 10], None);
    g.node("Gemm", "fc7", &["d6", "fc7.w"], &["y7"], vec![]);
    g.node("Softmax", "prob", &["y7"], &["prob"], vec![]);
    g
}

#[test]
fn alexnet_like_shapes_follow_the_trace_formula() {
    let net = import(alexnet_like());
    assert_eq!(net.batch, 1, "symbolic batch becomes 1");
    assert_eq!(net.input, shape(3, 227, 227));
    let e1 = out(227, 11, 4, 0, 1);
    let p1 = out(e1, 3, 2, 0, 1);
    let e2 = out(p1, 5, 1, 4, 1);
    let p2 = out(e2, 3, 2, 0, 1);
    let e3 = out(p2, 3, 1, 2, 1);
    let p3 = out(e3, 3, 2, 0, 1);
    let expected = [
        ("conv1", shape(3, 227, 227), shape(96, e1, e1), true),
        ("norm1", shape(96, e1, e1), shape(96, e1, e1), false),
        ("pool1", shape(96, e1, e1), shape(96, p1, p1), false),
        ("conv2", shape(96, p1, p1), shape(256, e2, e2), true),
        ("pool2", shape(256, e2, e2), shape(256, p2, p2), false),
        ("conv3", shape(256, p2, p2), shape(64, e3, e3), true),
        ("pool3", shape(64, e3, e3), shape(64, p3, p3), false),
        ("fc6", shape(64, p3, p3), shape(512, 1, 1), true),
        ("fc7", shape(512, 1, 1), shape(10, 1, 1), false),
        ("prob", shape(10, 1, 1), shape(10, 1, 1), false),
    ];
    let got: Vec<_> = net
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.input, l.output, l.relu))
        .collect();
    assert_eq!(got, expected);
    assert_eq!((e1, p1, p3), (55, 27, 6), "the AlexNet extents");
    let LayerKind::Conv(c2) = &net.layers[3].kind else {
        panic!("conv2 is a conv")
    };
    assert_eq!((c2.groups, c2.filters, c2.padding), (2, 256, [2; 4]));
    // conv1: every fourth weight is zero; the others carry no values.
    assert_eq!(net.layers[0].sparsity.weight_density, 0.75);
    assert_eq!(net.layers[3].sparsity.weight_density, 1.0);
    // LRN (size 5): 5 squares, a power and a division per value; Softmax:
    // an exponential, a sum and a division per value.
    let host = |i: usize| match &net.layers[i].kind {
        LayerKind::Host(h) => (h.op.as_str(), h.reads, h.ops),
        k => panic!("{} is {k:?}", net.layers[i].name),
    };
    let lrn_values = 96 * 55 * 55;
    assert_eq!(host(1), ("LRN", lrn_values, 7 * lrn_values));
    assert_eq!(host(9), ("Softmax", 10, 30));
    for (i, l) in net.layers.iter().enumerate() {
        assert_eq!(
            l.inputs,
            if i == 0 { vec![] } else { vec![i - 1] },
            "{}",
            l.name
        );
    }
}

#[test]
fn batch_comes_from_the_input_and_names_are_generated() {
    let mut g = Graph::new(&[4, 8, 10, 10]);
    conv(&mut g, "", "x", (8, 8, 3), vec![]);
    g.0.node[0].output = vec!["a".into()];
    conv(&mut g, "", "a", (8, 8, 3), vec![]);
    g.0.node[1].output = vec!["b".into()];
    conv(&mut g, "/features/features.0/Conv", "b", (8, 8, 1), vec![]);
    conv(
        &mut g,
        "features_features.0_Conv",
        "/features/features.0/Conv",
        (8, 8, 1),
        vec![],
    );
    conv(
        &mut g,
        "input",
        "features_features.0_Conv",
        (8, 8, 1),
        vec![],
    );
    let net = import(g);
    assert_eq!(net.batch, 4);
    let names: Vec<_> = net.layers.iter().map(|l| l.name.as_str()).collect();
    let want = [
        "conv1",
        "conv2",
        "features_features.0_Conv",
        "features_features.0_Conv_2",
        "input_2",
    ];
    assert_eq!(names, want);
    let back = from_toml_str(&to_trace_toml(&net), "names.toml").unwrap();
    assert_eq!(back, net);
}

#[test]
fn concat_branch_sums_channels() {
    let mut g = Graph::new(&[1, 16, 20, 20]);
    conv(&mut g, "a", "x", (8, 16, 1), vec![]);
    conv(
        &mut g,
        "b",
        "x",
        (24, 16, 3),
        vec![ints("pads", &[1, 1, 1, 1])],
    );
    g.node("Concat", "cat", &["a", "b"], &["cat"], vec![int("axis", 1)]);
    conv(&mut g, "c", "cat", (4, 32, 1), vec![]);
    let net = import(g);
    let cat = net.layer("cat").unwrap();
    assert_eq!(cat.kind, LayerKind::Concat);
    assert_eq!(cat.inputs, vec![0, 1]);
    assert_eq!(
        (cat.input, cat.output),
        (shape(8, 20, 20), shape(32, 20, 20))
    );
    assert_eq!(
        net.layers[1].inputs,
        Vec::<usize>::new(),
        "branch b reads the network input"
    );
    assert_eq!(net.layer("c").unwrap().input, shape(32, 20, 20));
}

#[test]
fn residual_add_gets_the_relu_after_it() {
    let mut g = Graph::new(&[1, 16, 14, 14]);
    conv(
        &mut g,
        "c1",
        "x",
        (16, 16, 3),
        vec![ints("pads", &[1, 1, 1, 1])],
    );
    g.node("Relu", "", &["c1"], &["r1"], vec![]);
    conv(
        &mut g,
        "c2",
        "r1",
        (16, 16, 3),
        vec![ints("pads", &[1, 1, 1, 1])],
    );
    g.node("Add", "res", &["r1", "c2"], &["s"], vec![]);
    g.node("Relu", "", &["s"], &["y"], vec![]);
    let net = import(g);
    let add = net.layer("res").unwrap();
    assert_eq!(add.kind, LayerKind::Add);
    assert_eq!(
        (add.inputs.clone(), add.output, add.relu),
        (vec![0, 1], shape(16, 14, 14), true)
    );
    assert!(net.layers[0].relu && !net.layers[1].relu);
}

#[test]
fn batch_norm_folds_into_the_conv() {
    let mut g = Graph::new(&[1, 3, 32, 32]);
    conv(
        &mut g,
        "c1",
        "x",
        (16, 3, 3),
        vec![ints("strides", &[2, 2])],
    );
    for p in ["scale", "bias", "mean", "var"] {
        g.weight(p, &[16], Some(&|_| 1.0));
    }
    g.node(
        "BatchNormalization",
        "bn",
        &["c1", "scale", "bias", "mean", "var"],
        &["b"],
        vec![],
    );
    g.node("Relu", "", &["b"], &["y"], vec![]);
    let net = import(g);
    assert_eq!(net.layers.len(), 1);
    assert_eq!(
        (net.layers[0].output, net.layers[0].relu),
        (shape(16, 15, 15), true)
    );
}

#[test]
fn matmul_and_gemm_are_fully_connected() {
    let mut g = Graph::new(&[2, 64]);
    g.weight("w1", &[64, 32], Some(&|i| (i % 2) as f32));
    g.weight("b1", &[32], None);
    g.node("MatMul", "fc1", &["x", "w1"], &["m"], vec![]);
    g.node("Add", "bias1", &["m", "b1"], &["a"], vec![]);
    g.node("Relu", "", &["a"], &["r"], vec![]);
    g.weight("w2", &[32, 10], None);
    g.node("Gemm", "fc2", &["r", "w2"], &["y"], vec![]);
    let net = import(g);
    assert_eq!((net.batch, net.input), (2, shape(64, 1, 1)));
    let got: Vec<_> = net
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.kind.clone(), l.output, l.relu))
        .collect();
    assert_eq!(
        got,
        [
            (
                "fc1",
                LayerKind::FullyConnected { outputs: 32 },
                shape(32, 1, 1),
                true
            ),
            (
                "fc2",
                LayerKind::FullyConnected { outputs: 10 },
                shape(10, 1, 1),
                false
            ),
        ]
    );
    assert_eq!(net.layers[0].sparsity.weight_density, 0.5);
}

#[test]
fn auto_pad_same_upper_and_lower() {
    for (mode, pad) in [
        ("SAME_UPPER", [1, 2, 1, 2]),
        ("SAME_LOWER", [2, 1, 2, 1]),
        ("VALID", [0; 4]),
    ] {
        let mut g = Graph::new(&[1, 3, 15, 15]);
        conv(
            &mut g,
            "c",
            "x",
            (8, 3, 4),
            vec![ints("strides", &[2, 2]), string("auto_pad", mode)],
        );
        let net = import(g);
        let LayerKind::Conv(p) = &net.layers[0].kind else {
            panic!()
        };
        assert_eq!(p.padding, pad, "{mode}");
        let e = out(15, 4, 2, pad[0] + pad[1], 1);
        if mode != "VALID" {
            assert_eq!(e, 15u32.div_ceil(2), "SAME keeps ceil(H / stride)");
        }
        assert_eq!(net.layers[0].output, shape(8, e, e), "{mode}");
    }
}

#[test]
fn ceil_mode_pooling_is_normalized_with_padding() {
    let mut g = Graph::new(&[1, 8, 14, 14]);
    let attrs = vec![
        ints("kernel_shape", &[3, 3]),
        ints("strides", &[2, 2]),
        int("ceil_mode", 1),
    ];
    g.node("MaxPool", "p", &["x"], &["p"], attrs);
    let attrs = vec![
        ints("kernel_shape", &[2, 2]),
        ints("strides", &[2, 2]),
        int("count_include_pad", 1),
    ];
    g.node("AveragePool", "a", &["p"], &["a"], attrs);
    g.node("GlobalAveragePool", "g", &["a"], &["g"], vec![]);
    let net = import(g);
    let LayerKind::Pool(p) = &net.layers[0].kind else {
        panic!()
    };
    assert_eq!((p.kind, p.padding), (PoolKind::Max, [0, 1, 0, 1]));
    let e = out(14, 3, 2, 1, 1);
    assert_eq!(e, (14u32 - 3).div_ceil(2) + 1, "ceil mode");
    assert_eq!(net.layers[0].output, shape(8, e, e));
    assert_eq!(net.layers[1].output, shape(8, e / 2, e / 2));
    let LayerKind::Pool(gp) = &net.layers[2].kind else {
        panic!()
    };
    assert_eq!((gp.kind, gp.kernel), (PoolKind::Avg, [e / 2, e / 2]));
    assert_eq!(net.layers[2].output, shape(8, 1, 1));
}

#[test]
fn flatten_and_reshape_only_change_shapes() {
    let mut g = Graph::new(&[1, 4, 6, 6]);
    conv(&mut g, "c", "x", (8, 4, 3), vec![]);
    g.node(
        "Constant",
        "",
        &[],
        &["shape"],
        vec![tensor("value", int64_tensor("", &[0, -1]))],
    );
    g.node("Reshape", "r", &["c", "shape"], &["flat"], vec![]);
    g.node("Identity", "", &["flat"], &["flat2"], vec![]);
    g.weight("w", &[8 * 4 * 4, 5], None);
    g.node("MatMul", "fc", &["flat2", "w"], &["fc"], vec![]);
    g.int64s("back", &[1, 5, 1, 1]);
    g.node("Reshape", "", &["fc", "back"], &["img"], vec![]);
    conv(&mut g, "c2", "img", (3, 5, 1), vec![]);
    g.node("Flatten", "", &["c2"], &["f"], vec![]);
    g.weight("w2", &[2, 3], None);
    g.node("Gemm", "fc2", &["f", "w2"], &["y"], vec![int("transB", 1)]);
    let net = import(g);
    let got: Vec<_> = net
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.input, l.output))
        .collect();
    assert_eq!(
        got,
        [
            ("c", shape(4, 6, 6), shape(8, 4, 4)),
            ("fc", shape(8, 4, 4), shape(5, 1, 1)),
            ("c2", shape(5, 1, 1), shape(3, 1, 1)),
            ("fc2", shape(3, 1, 1), shape(2, 1, 1)),
        ]
    );
}

#[test]
fn relu_through_a_view_is_fine_but_not_when_the_raw_output_is_reused() {
    let mut g = Graph::new(&[1, 2, 4, 4]);
    conv(&mut g, "c", "x", (4, 2, 3), vec![]);
    g.node("Flatten", "", &["c"], &["f"], vec![]);
    g.node("Relu", "", &["f"], &["r"], vec![]);
    g.weight("w", &[16, 3], None);
    g.node("MatMul", "fc", &["r", "w"], &["y"], vec![]);
    let net = import(g);
    assert!(net.layers[0].relu && !net.layers[1].relu);

    let mut g = Graph::new(&[1, 2, 4, 4]);
    conv(&mut g, "c", "x", (4, 2, 3), vec![]);
    g.node("Identity", "", &["c"], &["i"], vec![]);
    g.node("Relu", "act", &["i"], &["r"], vec![]);
    g.node("Add", "skip", &["r", "c"], &["s"], vec![]);
    // The raw conv output is also read by the Add: the host applies the
    // ReLU to its own copy, one operation per value.
    let net = import(g);
    assert!(!net.layers[0].relu);
    let LayerKind::Host(h) = &net.layers[1].kind else {
        panic!("{:?}", net.layers[1])
    };
    assert_eq!(
        (h.op.as_str(), h.reads, h.ops),
        ("Relu", 4 * 2 * 2, 4 * 2 * 2)
    );
    assert_eq!(net.layers[2].inputs, vec![1, 0]);
}

#[test]
fn constant_of_shape_weights_are_all_zero_or_dense() {
    for (fill, density) in [(0.0f32, 0.0), (0.25, 1.0)] {
        let mut g = Graph::new(&[1, 2, 5, 5]);
        g.int64s("wshape", &[3, 2, 3, 3]);
        let value = eyesim::onnx::proto::TensorProto {
            dims: vec![1],
            data_type: 1,
            float_data: vec![fill],
            ..Default::default()
        };
        g.node(
            "ConstantOfShape",
            "",
            &["wshape"],
            &["w"],
            vec![tensor("value", value)],
        );
        g.node("Conv", "c", &["x", "w"], &["y"], vec![]);
        let net = import(g);
        assert_eq!(net.layers[0].output, shape(3, 3, 3));
        assert_eq!(
            net.layers[0].sparsity.weight_density, density,
            "fill {fill}"
        );
    }
}

/// A small model using most operators, for corruption tests.
fn small_mixed_model() -> Graph {
    let mut g = Graph::new(&[2, 3, 9, 9]);
    g.weight("w1", &[4, 3, 3, 3], Some(&|i| (i % 3) as f32));
    let attrs = vec![
        ints("pads", &[1, 1, 1, 1]),
        ints("strides", &[1, 1]),
        int("group", 1),
    ];
    g.node("Conv", "c1", &["x", "w1"], &["c1"], attrs);
    g.node("Relu", "", &["c1"], &["r1"], vec![]);
    g.weight("w2", &[4, 2, 1, 1], Some(&|i| i as f32));
    g.node("Conv", "c2", &["r1", "w2"], &["c2"], vec![int("group", 2)]);
    g.node(
        "Concat",
        "cat",
        &["r1", "c2"],
        &["cat"],
        vec![int("axis", 1)],
    );
    let attrs = vec![
        ints("kernel_shape", &[2, 2]),
        ints("strides", &[2, 2]),
        int("ceil_mode", 1),
    ];
    g.node("MaxPool", "p", &["cat"], &["p"], attrs);
    g.int64s("s", &[0, -1]);
    g.node("Reshape", "", &["p", "s"], &["f"], vec![]);
    g.weight("w3", &[8 * 5 * 5, 6], None);
    g.node("MatMul", "fc", &["f", "w3"], &["y"], vec![]);
    g
}

#[test]
fn initializers_listed_as_graph_inputs_and_value_ints_constants() {
    let mut g = Graph::new(&[1, 4, 8, 8]);
    for k in 0..3 {
        conv(&mut g, &format!("b{k}"), "x", (4, 4, 1), vec![]);
    }
    // Old exporters list every weight among the graph inputs too.
    let mut weight_input = g.0.input[0].clone();
    weight_input.name = "b0.w".into();
    g.0.input.push(weight_input);
    g.node("Sum", "sum3", &["b0", "b1", "b2"], &["s"], vec![]);
    g.node("GlobalAveragePool", "gap", &["s"], &["gap"], vec![]);
    let shape_attr = eyesim::onnx::proto::AttributeProto {
        name: "value_ints".into(),
        ints: vec![1, 4],
        r#type: eyesim::onnx::proto::attribute_proto::AttributeType::Ints as i32,
        ..Default::default()
    };
    g.node("Constant", "", &[], &["shape"], vec![shape_attr]);
    g.node("Reshape", "", &["gap", "shape"], &["flat"], vec![]);
    g.weight("w", &[3, 4], None);
    g.node(
        "Gemm",
        "head",
        &["flat", "w"],
        &["y"],
        vec![int("transB", 1)],
    );
    let net = import(g);
    let sum = net.layer("sum3").unwrap();
    assert_eq!(
        (sum.kind.clone(), sum.inputs.clone()),
        (LayerKind::Add, vec![0, 1, 2])
    );
    assert_eq!(net.layer("gap").unwrap().output, shape(4, 1, 1));
    assert_eq!(net.layer("head").unwrap().output, shape(3, 1, 1));
}

#[test]
fn dilated_same_conv_and_bad_auto_pad() {
    let mut g = Graph::new(&[1, 2, 17, 17]);
    let attrs = vec![ints("dilations", &[2, 3]), string("auto_pad", "SAME_UPPER")];
    conv(&mut g, "d", "x", (4, 2, 3), attrs);
    let net = import(g);
    let LayerKind::Conv(p) = &net.layers[0].kind else {
        panic!()
    };
    // Effective extents 5 and 7: total padding 4 and 6, split evenly.
    assert_eq!((p.dilation, p.padding), ([2, 3], [2, 2, 3, 3]));
    let (e, f) = (out(17, 3, 1, 4, 2), out(17, 3, 1, 6, 3));
    assert_eq!(net.layers[0].output, shape(4, e, f));
    assert_eq!((e, f), (17, 17), "SAME keeps the size at stride 1");

    let mut g = Graph::new(&[1, 2, 8, 8]);
    conv(
        &mut g,
        "c",
        "x",
        (4, 2, 3),
        vec![string("auto_pad", "SAME")],
    );
    assert!(import_err(g).contains("attribute 'auto_pad': expected NOTSET"));
    let mut g = Graph::new(&[1, 2, 8, 8]);
    let attrs = vec![string("auto_pad", "VALID"), ints("pads", &[1, 1, 1, 1])];
    conv(&mut g, "c", "x", (4, 2, 3), attrs);
    assert!(import_err(g).contains("attribute 'pads': cannot be combined"));
}
