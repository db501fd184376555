//! Import errors: messages name the file, the node and the problem; bad
//! input never panics.

use super::build::{int, ints, Graph};
use super::{alexnet_like, conv, import_err, shape, small_mixed_model};
use eyesim::onnx::{import_bytes, import_bytes_with, import_file, ImportOptions, OnnxErrorKind};
use eyesim::workload::LayerKind;

#[test]
fn unsupported_op_names_the_node_its_opset_and_whether_host_ops_would_help() {
    let mut g = Graph::new(&[1, 3, 8, 8]);
    conv(&mut g, "c", "x", (4, 3, 3), vec![]);
    g.node("NonMaxSuppression", "nms7", &["c"], &["s"], vec![]);
    let msg = import_err(g);
    assert!(
        msg.contains("test.onnx")
            && msg.contains("'nms7'")
            && msg.contains("'NonMaxSuppression' (opset 13)")
            && msg.contains("--allow-host-ops would not import it"),
        "{msg}"
    );
    // An element-wise op: the flag would import it as host work.
    let mut g = Graph::new(&[1, 3, 8, 8]);
    conv(&mut g, "c", "x", (4, 3, 3), vec![]);
    g.node("Tanh", "t", &["c"], &["s"], vec![]);
    let bytes = g.bytes();
    let err = import_bytes(&bytes, "test.onnx", "test").unwrap_err();
    let OnnxErrorKind::Unsupported { host_op, opset, .. } = &*err.kind else {
        panic!("{err}")
    };
    assert!(*host_op && *opset == 13, "{err}");
    assert!(
        err.to_string()
            .contains("--allow-host-ops imports it as host work"),
        "{err}"
    );
    let opts = ImportOptions {
        allow_host_ops: true,
        batch: None,
    };
    let net = import_bytes_with(&bytes, "test.onnx", "test", &opts).unwrap();
    let LayerKind::Host(h) = &net.layers[1].kind else {
        panic!("{:?}", net.layers[1])
    };
    assert_eq!(
        (h.op.as_str(), h.reads, h.ops),
        ("Tanh", 4 * 6 * 6, 4 * 6 * 6)
    );
}

#[test]
fn truncated_file_is_a_decode_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = alexnet_like().bytes();
    let path = dir.path().join("cut.onnx");
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let err = import_file(&path).unwrap_err();
    assert!(matches!(*err.kind, OnnxErrorKind::Decode(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("cut.onnx") && msg.contains("truncated"),
        "{msg}"
    );
}

#[test]
fn concat_mismatch_names_the_shapes() {
    let mut g = Graph::new(&[1, 4, 16, 16]);
    conv(
        &mut g,
        "a",
        "x",
        (4, 4, 3),
        vec![ints("pads", &[1, 1, 1, 1])],
    );
    conv(
        &mut g,
        "b",
        "x",
        (4, 4, 3),
        vec![ints("pads", &[1, 1, 1, 1]), ints("strides", &[2, 2])],
    );
    g.node("Concat", "join", &["a", "b"], &["j"], vec![int("axis", 1)]);
    let msg = import_err(g);
    assert!(
        msg.contains("'join' (Concat)") && msg.contains("4x16x16") && msg.contains("4x8x8"),
        "{msg}"
    );
}

#[test]
fn add_mismatch_missing_weight_and_bad_group_are_errors() {
    let mut g = Graph::new(&[1, 4, 16, 16]);
    conv(&mut g, "a", "x", (4, 4, 3), vec![]);
    conv(&mut g, "b", "x", (4, 4, 1), vec![]);
    g.node("Add", "sum", &["a", "b"], &["s"], vec![]);
    let msg = import_err(g);
    assert!(
        msg.contains("'sum' (Add): shapes [1, 4, 14, 14] and [1, 4, 16, 16] do not broadcast"),
        "{msg}"
    );

    let mut g = Graph::new(&[1, 4, 16, 16]);
    g.node("Conv", "c", &["x", "nowhere"], &["c"], vec![]);
    assert!(import_err(g).contains("input 'nowhere' is not an initializer"));

    let mut g = Graph::new(&[1, 6, 16, 16]);
    conv(&mut g, "c", "x", (4, 2, 3), vec![int("group", 4)]);
    assert!(import_err(g).contains("attribute 'group'"));
}

#[test]
fn truncated_or_corrupted_models_never_panic() {
    let bytes = small_mixed_model().bytes();
    let net = import_bytes(&bytes, "m.onnx", "m").unwrap();
    assert_eq!(net.layers.len(), 5);
    assert_eq!(net.layer("p").unwrap().output, shape(8, 5, 5));
    for len in 0..bytes.len() {
        let _ = import_bytes(&bytes[..len], "m.onnx", "m");
    }
    for i in 0..bytes.len() {
        for v in [0x00, 0x01, 0x7f, 0xff] {
            let mut b = bytes.clone();
            b[i] = v;
            let _ = import_bytes(&b, "m.onnx", "m");
        }
    }
}
