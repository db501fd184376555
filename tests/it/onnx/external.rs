//! Weights in external data files (issue 13 §5): read relative to the
//! model file, or the import says which file is missing. Never density 1.0
//! by default.

use super::build::Graph;
use eyesim::onnx::proto::tensor_proto::{DataLocation, DataType};
use eyesim::onnx::proto::{StringStringEntryProto, TensorProto};
use eyesim::onnx::{import_bytes, import_file};
use std::path::Path;

/// A Conv whose 4×2×3×3 = 72 float weights (one in four zero) are stored
/// in `location` at `offset`; the data file is written into `dir` unless
/// `write_file` is false.
fn model(dir: &Path, location: &str, offset: usize, write_file: bool) -> Graph {
    let values: Vec<f32> = (0..72)
        .map(|i| if i % 4 == 0 { 0.0 } else { 0.25 })
        .collect();
    let mut bytes = vec![0xAAu8; offset];
    bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    bytes.extend([0xBB; 8]); // another tensor's bytes after ours
    if write_file {
        std::fs::create_dir_all(dir.join(location).parent().unwrap()).unwrap();
        std::fs::write(dir.join(location), &bytes).unwrap();
    }
    let entry = |k: &str, v: String| StringStringEntryProto {
        key: k.into(),
        value: v,
    };
    let mut g = Graph::new(&[1, 2, 8, 8]);
    g.0.initializer.push(TensorProto {
        name: "w".into(),
        dims: vec![4, 2, 3, 3],
        data_type: DataType::Float as i32,
        data_location: DataLocation::External as i32,
        external_data: vec![
            entry("location", location.into()),
            entry("offset", offset.to_string()),
            entry("length", (72 * 4).to_string()),
        ],
        ..Default::default()
    });
    g.node("Conv", "c", &["x", "w"], &["y"], vec![]);
    g
}

#[test]
fn external_weights_are_read_relative_to_the_model() {
    let t = tempfile::tempdir().unwrap();
    let path = model(t.path(), "data/weights.bin", 16, true).write(t.path(), "m");
    let net = import_file(&path).unwrap();
    assert_eq!(net.layers[0].sparsity.weight_density, 0.75);
}

#[test]
fn missing_or_short_external_data_is_an_error_naming_the_file() {
    let t = tempfile::tempdir().unwrap();
    let path = model(t.path(), "weights.bin", 0, false).write(t.path(), "m");
    let e = import_file(&path).unwrap_err().to_string();
    assert!(
        e.contains("tensor 'w'") && e.contains("weights.bin") && e.contains("external data file"),
        "{e}"
    );
    // Truncated: the tensor's bytes run past the end of the file.
    let path = model(t.path(), "short.bin", 0, true).write(t.path(), "m2");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(t.path().join("short.bin"))
        .unwrap();
    f.set_len(100).unwrap();
    let e = import_file(&path).unwrap_err().to_string();
    assert!(
        e.contains("has 100 bytes") && e.contains("truncated"),
        "{e}"
    );
    // Outside the model's folder.
    let path = model(t.path(), "../escape.bin", 0, false).write(t.path(), "m3");
    let e = import_file(&path).unwrap_err().to_string();
    assert!(
        e.contains("must be a path inside the model's folder"),
        "{e}"
    );
    // In memory there is no folder to read from: an error, not density 1.
    let bytes = model(t.path(), "weights.bin", 0, true).bytes();
    let e = import_bytes(&bytes, "mem", "m").unwrap_err().to_string();
    assert!(e.contains("external data file"), "{e}");
}
