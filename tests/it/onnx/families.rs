//! The CNN families exporters produce, built node by node as PyTorch and
//! the ONNX model zoo write them: per-layer shapes, MACs, weights and host
//! work against values computed by hand.

use super::build::{float, int, ints, Graph};
use super::shape;
use eyesim::onnx::{import_bytes_with, ImportOptions};
use eyesim::workload::{
    from_toml_str, to_trace_toml, FmapShape, LayerKind, LayerWork, Network, Op,
};

/// One layer as the tests state it: name, kind (the host op for host
/// layers), input and output shapes, and two counts per image: MACs and
/// weights for array layers that multiply, the host's reads and
/// operations for host layers, zeros otherwise.
pub(super) type Row = (String, String, FmapShape, FmapShape, u64, u64);

pub(super) fn rows(net: &Network) -> Vec<Row> {
    net.layers
        .iter()
        .map(|l| {
            let (kind, a, b) = match (&l.kind, LayerWork::of(l, 1)) {
                (LayerKind::Host(h), _) => (h.op.clone(), h.reads, h.ops),
                (k, LayerWork::Array(p)) if p.op == Op::Mac => {
                    (k.name().to_string(), p.macs(), p.weights())
                }
                (k, _) => (k.name().to_string(), 0, 0),
            };
            (l.name.clone(), kind, l.input, l.output, a, b)
        })
        .collect()
}

pub(super) fn row(name: &str, kind: &str, i: FmapShape, o: FmapShape, a: u64, b: u64) -> Row {
    (name.into(), kind.into(), i, o, a, b)
}

/// Imports with `batch` for a symbolic batch, checks the trace reads back
/// identically, and that `eyesim show` and `eyesim estimate` run on it and
/// list every layer.
pub(super) fn import_at(g: Graph, batch: Option<u32>) -> Network {
    let opts = ImportOptions {
        allow_host_ops: false,
        batch,
    };
    let net = import_bytes_with(&g.bytes(), "family.onnx", "family", &opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let text = to_trace_toml(&net);
    let back = from_toml_str(&text, "family.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, net, "{text}");
    show_and_estimate(&net, &text);
    net
}

/// Runs `show` and `estimate` (on eyeriss-v1) on the trace `text` of
/// `net`: both must succeed, and each layer must have its row.
fn show_and_estimate(net: &Network, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("family.toml");
    std::fs::write(&trace, text).unwrap();
    let out = dir.path().join("est");
    let commands: [&[&std::ffi::OsStr]; 2] = [
        &["show".as_ref(), "--net".as_ref(), trace.as_os_str()],
        &[
            "estimate".as_ref(),
            "--net".as_ref(),
            trace.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
    ];
    for args in commands {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_eyesim"))
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        let cmd = args[0].to_string_lossy();
        assert!(
            o.status.success(),
            "{cmd}: {}\n{stdout}",
            String::from_utf8_lossy(&o.stderr)
        );
        for l in &net.layers {
            assert!(
                stdout
                    .lines()
                    .any(|line| line.starts_with(&format!("{} ", l.name))),
                "{cmd} has no row for {}:\n{stdout}",
                l.name
            );
        }
    }
}

pub(super) fn import(g: Graph) -> Network {
    import_at(g, None)
}

/// Conv `name` reading `x` with an `m`×`c`×`k`×`k` weight and a bias;
/// its output value is `name`.
pub(super) fn conv(
    g: &mut Graph,
    name: &str,
    x: &str,
    (m, c, k): (i64, i64, i64),
    attrs: Vec<eyesim::onnx::proto::AttributeProto>,
) {
    let (w, b) = (format!("{name}.weight"), format!("{name}.bias"));
    g.weight(&w, &[m, c, k, k], None);
    g.weight(&b, &[m], None);
    g.node("Conv", name, &[x, &w, &b], &[name], attrs);
}

/// BatchNormalization of `c` channels named `name`, output `name`.
pub(super) fn bn(g: &mut Graph, name: &str, x: &str, c: i64) {
    let p: Vec<String> = ["scale", "B", "mean", "var"]
        .iter()
        .map(|s| format!("{name}.{s}"))
        .collect();
    for n in &p {
        g.weight(n, &[c], Some(&|_| 1.0));
    }
    let mut ins = vec![x];
    ins.extend(p.iter().map(String::as_str));
    g.node("BatchNormalization", name, &ins, &[name], vec![]);
}

pub(super) fn relu(g: &mut Graph, x: &str, out: &str) {
    g.node("Relu", "", &[x], &[out], vec![]);
}

pub(super) fn pads(p: i64) -> eyesim::onnx::proto::AttributeProto {
    ints("pads", &[p, p, p, p])
}

#[test]
fn resnet_basic_blocks_with_identity_and_projection_shortcuts() {
    let mut g = Graph::new(&[0, 3, 112, 112]);
    conv(
        &mut g,
        "/conv1/Conv",
        "x",
        (64, 3, 7),
        vec![pads(3), ints("strides", &[2, 2])],
    );
    bn(&mut g, "/bn1", "/conv1/Conv", 64);
    relu(&mut g, "/bn1", "s");
    // Block 1: identity shortcut.
    conv(&mut g, "/layer1/conv1", "s", (64, 64, 3), vec![pads(1)]);
    bn(&mut g, "/layer1/bn1", "/layer1/conv1", 64);
    relu(&mut g, "/layer1/bn1", "a1");
    conv(&mut g, "/layer1/conv2", "a1", (64, 64, 3), vec![pads(1)]);
    bn(&mut g, "/layer1/bn2", "/layer1/conv2", 64);
    g.node(
        "Add",
        "/layer1/Add",
        &["/layer1/bn2", "s"],
        &["sum1"],
        vec![],
    );
    relu(&mut g, "sum1", "o1");
    // Block 2: stride 2, 1×1 projection.
    let s2 = || vec![pads(1), ints("strides", &[2, 2])];
    conv(&mut g, "/layer2/conv1", "o1", (128, 64, 3), s2());
    relu(&mut g, "/layer2/conv1", "a2");
    conv(&mut g, "/layer2/conv2", "a2", (128, 128, 3), vec![pads(1)]);
    conv(
        &mut g,
        "/layer2/downsample",
        "o1",
        (128, 64, 1),
        vec![ints("strides", &[2, 2])],
    );
    g.node(
        "Add",
        "/layer2/Add",
        &["/layer2/conv2", "/layer2/downsample"],
        &["sum2"],
        vec![],
    );
    relu(&mut g, "sum2", "o2");
    let net = import(g);
    let (x, a, b) = (shape(3, 112, 112), shape(64, 56, 56), shape(128, 28, 28));
    assert_eq!(
        rows(&net),
        vec![
            row(
                "conv1_Conv",
                "conv",
                x,
                a,
                56 * 56 * 64 * 3 * 49,
                64 * 3 * 49
            ),
            row("layer1_conv1", "conv", a, a, 56 * 56 * 64 * 64 * 9, 36_864),
            row("layer1_conv2", "conv", a, a, 56 * 56 * 64 * 64 * 9, 36_864),
            row("layer1_Add", "add", a, a, 0, 0),
            row("layer2_conv1", "conv", a, b, 28 * 28 * 128 * 64 * 9, 73_728),
            row(
                "layer2_conv2",
                "conv",
                b,
                b,
                28 * 28 * 128 * 128 * 9,
                147_456
            ),
            row("layer2_downsample", "conv", a, b, 28 * 28 * 128 * 64, 8192),
            row("layer2_Add", "add", b, b, 0, 0),
        ]
    );
    let relu: Vec<bool> = net.layers.iter().map(|l| l.relu).collect();
    assert_eq!(relu, [true, true, false, true, true, false, false, true]);
    assert_eq!(net.layers[3].inputs, vec![2, 0]);
    assert_eq!(net.layers[7].inputs, vec![5, 6]);
    let LayerKind::Conv(p) = &net.layers[4].kind else {
        panic!()
    };
    assert_eq!((p.stride, p.padding), ([2, 2], [1; 4]));
}

/// MobileNet-v2's inverted residual: 1×1 expansion, 3×3 depthwise, 1×1
/// projection, each with BatchNormalization, ReLU6 after the first two.
fn inverted_residual(g: &mut Graph, clip: &dyn Fn(&mut Graph, &str, &str)) {
    conv(g, "stem", "x", (16, 3, 3), vec![pads(1)]);
    clip(g, "stem", "s");
    conv(g, "expand", "s", (96, 16, 1), vec![]);
    bn(g, "expand.bn", "expand", 96);
    clip(g, "expand.bn", "e");
    conv(g, "dw", "e", (96, 1, 3), vec![pads(1), int("group", 96)]);
    bn(g, "dw.bn", "dw", 96);
    clip(g, "dw.bn", "d");
    conv(g, "project", "d", (16, 96, 1), vec![]);
    bn(g, "project.bn", "project", 16);
    g.node("Add", "residual", &["project.bn", "s"], &["y"], vec![]);
}

fn inverted_residual_rows() -> Vec<Row> {
    let (x, s, e) = (shape(3, 32, 32), shape(16, 32, 32), shape(96, 32, 32));
    vec![
        row("stem", "conv", x, s, 32 * 32 * 16 * 27, 432),
        row("expand", "conv", s, e, 32 * 32 * 96 * 16, 1536),
        row("dw", "dwconv", e, e, 32 * 32 * 96 * 9, 864),
        row("project", "conv", e, s, 32 * 32 * 16 * 96, 1536),
        row("residual", "add", s, s, 0, 0),
    ]
}

#[test]
fn inverted_residual_with_relu6_as_inputs_and_as_attributes() {
    // Opset 11 and later: Clip's bounds are inputs.
    let mut g = Graph::new(&[1, 3, 32, 32]);
    g.weight("zero", &[], Some(&|_| 0.0));
    g.weight("six", &[], Some(&|_| 6.0));
    inverted_residual(&mut g, &|g, x, y| {
        g.node("Clip", "", &[x, "zero", "six"], &[y], vec![])
    });
    let net = import(g);
    assert_eq!(rows(&net), inverted_residual_rows());
    let relu: Vec<bool> = net.layers.iter().map(|l| l.relu).collect();
    assert_eq!(
        relu,
        [true, true, true, false, false],
        "ReLU6 fuses like ReLU"
    );
    // Opset 6: they are attributes.
    let mut g = Graph::new(&[1, 3, 32, 32]);
    inverted_residual(&mut g, &|g, x, y| {
        g.node(
            "Clip",
            "",
            &[x],
            &[y],
            vec![float("min", 0.0), float("max", 6.0)],
        );
    });
    g.1 = 6;
    assert_eq!(rows(&import(g)), inverted_residual_rows());
    // A Clip that is not a capped ReLU runs on the host.
    let mut g = Graph::new(&[1, 3, 32, 32]);
    inverted_residual(&mut g, &|g, x, y| {
        g.node(
            "Clip",
            "",
            &[x],
            &[y],
            vec![float("min", -1.0), float("max", 1.0)],
        );
    });
    let net = import(g);
    let clip = LayerKind::Host(eyesim::workload::HostOp {
        op: "Clip".into(),
        reads: 16 * 32 * 32,
        ops: 16 * 32 * 32,
    });
    assert_eq!(
        (net.layers[1].name.as_str(), &net.layers[1].kind),
        ("clip1", &clip)
    );
    assert!(net.layers.iter().all(|l| !l.relu));
}

/// A squeeze-and-excitation block: pool, two 1×1 convs, a gate, the
/// channel-wise product, then one more conv.
pub(super) fn se_block(pool: &str, gate: &str) -> Graph {
    let mut g = Graph::new(&[1, 3, 16, 16]);
    conv(&mut g, "features", "x", (32, 3, 3), vec![pads(1)]);
    relu(&mut g, "features", "f");
    let attrs = if pool == "ReduceMean" {
        vec![ints("axes", &[2, 3]), int("keepdims", 1)]
    } else {
        vec![]
    };
    g.node(pool, "se.pool", &["f"], &["p"], attrs);
    conv(&mut g, "se.fc1", "p", (8, 32, 1), vec![]);
    relu(&mut g, "se.fc1", "r");
    conv(&mut g, "se.fc2", "r", (32, 8, 1), vec![]);
    g.node(gate, "se.gate", &["se.fc2"], &["s"], vec![]);
    g.node("Mul", "se.scale", &["f", "s"], &["y"], vec![]);
    conv(&mut g, "next", "y", (32, 32, 1), vec![]);
    g
}

#[test]
fn squeeze_and_excitation_with_global_pool_reduce_mean_and_hard_sigmoid() {
    for (pool, gate) in [
        ("GlobalAveragePool", "Sigmoid"),
        ("ReduceMean", "HardSigmoid"),
    ] {
        let net = import(se_block(pool, gate));
        let (f, one, eight) = (shape(32, 16, 16), shape(32, 1, 1), shape(8, 1, 1));
        assert_eq!(
            rows(&net),
            vec![
                row(
                    "features",
                    "conv",
                    shape(3, 16, 16),
                    f,
                    16 * 16 * 32 * 27,
                    864
                ),
                row("se.pool", "avgpool", f, one, 0, 0),
                row("se.fc1", "conv", one, eight, 256, 256),
                row("se.fc2", "conv", eight, one, 256, 256),
                row("se.gate", gate, one, one, 32, 32),
                // Reads the map and the gate; one multiplication per value.
                row("se.scale", "Mul", f, f, 8192 + 32, 8192),
                row("next", "conv", f, f, 16 * 16 * 32 * 32, 1024),
            ],
            "{pool}"
        );
        assert!(matches!(
            LayerWork::of(&net.layers[1], 1),
            LayerWork::GlobalPool { .. }
        ));
        assert_eq!(net.layers[5].inputs, vec![0, 4]);
    }
}

#[test]
fn shufflenet_units_channel_shuffle_and_split() {
    // v1: grouped 1×1, shuffle (Reshape with 0, Transpose, Reshape with -1),
    // depthwise 3×3, grouped 1×1, residual add.
    let mut g = Graph::new(&[1, 3, 8, 8]);
    conv(&mut g, "stem", "x", (24, 3, 3), vec![pads(1)]);
    conv(&mut g, "gconv1", "stem", (24, 8, 1), vec![int("group", 3)]);
    relu(&mut g, "gconv1", "g1");
    g.int64s("split_shape", &[0, 3, 8, 8, 8]);
    g.int64s("merge_shape", &[0, -1, 8, 8]);
    g.node("Reshape", "", &["g1", "split_shape"], &["v"], vec![]);
    g.node(
        "Transpose",
        "shuffle",
        &["v"],
        &["t"],
        vec![ints("perm", &[0, 2, 1, 3, 4])],
    );
    g.node("Reshape", "", &["t", "merge_shape"], &["m"], vec![]);
    conv(
        &mut g,
        "dw",
        "m",
        (24, 1, 3),
        vec![pads(1), int("group", 24)],
    );
    conv(&mut g, "gconv2", "dw", (24, 8, 1), vec![int("group", 3)]);
    g.node("Add", "add", &["gconv2", "stem"], &["y"], vec![]);
    let net = import(g);
    let m = shape(24, 8, 8);
    assert_eq!(
        rows(&net),
        vec![
            row("stem", "conv", shape(3, 8, 8), m, 64 * 24 * 27, 648),
            row("gconv1", "conv", m, m, 64 * 3 * 8 * 8, 192),
            row("shuffle", "ChannelShuffle", m, m, 1536, 0),
            row("dw", "dwconv", m, m, 64 * 24 * 9, 216),
            row("gconv2", "conv", m, m, 64 * 3 * 8 * 8, 192),
            row("add", "add", m, m, 0, 0),
        ]
    );
    // v2: Split into halves, one branch convolved, Concat.
    let mut g = Graph::new(&[1, 3, 8, 8]);
    conv(&mut g, "stem", "x", (24, 3, 3), vec![pads(1)]);
    g.int64s("halves", &[12, 12]);
    g.node(
        "Split",
        "split",
        &["stem", "halves"],
        &["l", "r"],
        vec![int("axis", 1)],
    );
    conv(&mut g, "branch", "r", (12, 12, 1), vec![]);
    g.node(
        "Concat",
        "cat",
        &["l", "branch"],
        &["y"],
        vec![int("axis", 1)],
    );
    let net = import(g);
    let h = shape(12, 8, 8);
    assert_eq!(
        rows(&net),
        vec![
            row("stem", "conv", shape(3, 8, 8), m, 64 * 24 * 27, 648),
            row("split", "Split", m, h, 768, 0),
            row("split_2", "Split", m, h, 768, 0),
            row("branch", "conv", h, h, 64 * 12 * 12, 144),
            row("cat", "concat", h, m, 0, 0),
        ]
    );
    assert_eq!(net.layers[4].inputs, vec![1, 3]);
}

#[test]
fn densenet_block_with_its_concat_chain_and_an_unsqueezed_classifier() {
    let mut g = Graph::new(&[1, 3, 16, 16]);
    conv(&mut g, "features.conv0", "x", (16, 3, 3), vec![pads(1)]);
    relu(&mut g, "features.conv0", "x0");
    let mut feats = vec!["x0".to_string()];
    for (k, c_in) in [(1, 16i64), (2, 24)] {
        let cat = if feats.len() == 1 {
            feats[0].clone()
        } else {
            let cat = format!("cat{k}");
            let refs: Vec<&str> = feats.iter().map(String::as_str).collect();
            g.node("Concat", &cat, &refs, &[&cat], vec![int("axis", 1)]);
            cat
        };
        let l = format!("denselayer{k}");
        bn(&mut g, &format!("{l}.norm1"), &cat, c_in);
        relu(&mut g, &format!("{l}.norm1"), &format!("{l}.r1"));
        conv(
            &mut g,
            &format!("{l}.conv1"),
            &format!("{l}.r1"),
            (32, c_in, 1),
            vec![],
        );
        bn(&mut g, &format!("{l}.norm2"), &format!("{l}.conv1"), 32);
        relu(&mut g, &format!("{l}.norm2"), &format!("{l}.r2"));
        conv(
            &mut g,
            &format!("{l}.conv2"),
            &format!("{l}.r2"),
            (8, 32, 3),
            vec![pads(1)],
        );
        feats.push(format!("{l}.conv2"));
    }
    let refs: Vec<&str> = feats.iter().map(String::as_str).collect();
    g.node("Concat", "cat3", &refs, &["cat3"], vec![int("axis", 1)]);
    // The classifier as the zoo's DenseNet has it: pooled, unsqueezed back
    // to N×C×1×1 for a 1×1 conv, squeezed for Softmax.
    g.node(
        "ReduceMean",
        "gap",
        &["cat3"],
        &["p"],
        vec![ints("axes", &[2, 3]), int("keepdims", 0)],
    );
    g.int64s("hw_axes", &[2, 3]);
    g.node("Unsqueeze", "", &["p", "hw_axes"], &["u"], vec![]);
    conv(&mut g, "classifier", "u", (10, 32, 1), vec![]);
    g.node(
        "Squeeze",
        "",
        &["classifier", "hw_axes"],
        &["logits"],
        vec![],
    );
    g.node("Softmax", "prob", &["logits"], &["y"], vec![int("axis", 1)]);
    let net = import(g);
    let sh = |c| shape(c, 16, 16);
    let plane = 256;
    assert_eq!(
        rows(&net),
        vec![
            row(
                "features.conv0",
                "conv",
                shape(3, 16, 16),
                sh(16),
                plane * 16 * 27,
                432
            ),
            // BN after a ReLU cannot fold: the host scales and shifts (and
            // then rectifies) each value, reading a scale and shift per channel.
            row(
                "denselayer1.norm1",
                "BatchNormalization",
                sh(16),
                sh(16),
                16 * plane + 32,
                2 * 16 * plane
            ),
            row(
                "denselayer1.conv1",
                "conv",
                sh(16),
                sh(32),
                plane * 32 * 16,
                512
            ),
            row(
                "denselayer1.conv2",
                "conv",
                sh(32),
                sh(8),
                plane * 8 * 32 * 9,
                2304
            ),
            row("cat2", "concat", sh(16), sh(24), 0, 0),
            row(
                "denselayer2.norm1",
                "BatchNormalization",
                sh(24),
                sh(24),
                24 * plane + 48,
                2 * 24 * plane
            ),
            row(
                "denselayer2.conv1",
                "conv",
                sh(24),
                sh(32),
                plane * 32 * 24,
                768
            ),
            row(
                "denselayer2.conv2",
                "conv",
                sh(32),
                sh(8),
                plane * 8 * 32 * 9,
                2304
            ),
            row("cat3", "concat", sh(16), sh(32), 0, 0),
            row("gap", "avgpool", sh(32), shape(32, 1, 1), 0, 0),
            row(
                "classifier",
                "conv",
                shape(32, 1, 1),
                shape(10, 1, 1),
                320,
                320
            ),
            row("prob", "Softmax", shape(10, 1, 1), shape(10, 1, 1), 10, 30),
        ]
    );
    assert_eq!(net.layers[4].inputs, vec![0, 3]);
    assert_eq!(net.layers[8].inputs, vec![0, 3, 7]);
    assert!(net.layers[1].relu && net.layers[2].relu && !net.layers[3].relu);
}

#[test]
fn inception_module_with_ceil_mode_pooling() {
    let mut g = Graph::new(&[1, 3, 28, 28]);
    conv(&mut g, "stem", "x", (32, 3, 3), vec![pads(1)]);
    relu(&mut g, "stem", "s");
    conv(&mut g, "b1", "s", (16, 32, 1), vec![]);
    conv(&mut g, "b2.reduce", "s", (8, 32, 1), vec![]);
    conv(&mut g, "b2", "b2.reduce", (16, 8, 3), vec![pads(1)]);
    conv(&mut g, "b3.reduce", "s", (4, 32, 1), vec![]);
    conv(&mut g, "b3", "b3.reduce", (8, 4, 5), vec![pads(2)]);
    g.node(
        "MaxPool",
        "b4.pool",
        &["s"],
        &["b4p"],
        vec![
            ints("kernel_shape", &[3, 3]),
            pads(1),
            ints("strides", &[1, 1]),
        ],
    );
    conv(&mut g, "b4", "b4p", (8, 32, 1), vec![]);
    g.node(
        "Concat",
        "mixed",
        &["b1", "b2", "b3", "b4"],
        &["m"],
        vec![int("axis", 1)],
    );
    g.node(
        "MaxPool",
        "reduce",
        &["m"],
        &["y"],
        vec![
            ints("kernel_shape", &[3, 3]),
            ints("strides", &[2, 2]),
            int("ceil_mode", 1),
        ],
    );
    let net = import(g);
    let p = 28 * 28;
    let (s, sh) = (shape(32, 28, 28), |c| shape(c, 28, 28));
    assert_eq!(
        rows(&net),
        vec![
            row("stem", "conv", shape(3, 28, 28), s, p * 32 * 27, 864),
            row("b1", "conv", s, sh(16), p * 16 * 32, 512),
            row("b2.reduce", "conv", s, sh(8), p * 8 * 32, 256),
            row("b2", "conv", sh(8), sh(16), p * 16 * 8 * 9, 1152),
            row("b3.reduce", "conv", s, sh(4), p * 4 * 32, 128),
            row("b3", "conv", sh(4), sh(8), p * 8 * 4 * 25, 800),
            row("b4.pool", "maxpool", s, s, 0, 0),
            row("b4", "conv", s, sh(8), p * 8 * 32, 256),
            row("mixed", "concat", sh(16), sh(48), 0, 0),
            // Ceil mode: (28 - 3) / 2 rounded up, plus one.
            row("reduce", "maxpool", sh(48), shape(48, 14, 14), 0, 0),
        ]
    );
    assert_eq!(net.layers[8].inputs, vec![1, 3, 5, 7]);
}
