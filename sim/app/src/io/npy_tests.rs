use super::*;
use crate::data::generate;
use crate::workload::Padding;
use eyesim_core::data::testing::problem;

fn conv() -> ConvProblem {
    let mut p = problem(Op::Mac, 3, 4, 5, 6, 3, 3);
    p.n = 2;
    p.g = 2;
    p.pad = Padding {
        top: 1,
        bottom: 1,
        left: 1,
        right: 1,
    };
    eyesim_core::data::testing::shaped(p)
}

fn save(dir: &Path, layer: &str, p: &ConvProblem, d: &LayerData, bias: bool) {
    let u = u64::from;
    let f = |k: &str| dir.join(format!("{layer}.{k}.npy"));
    write_npy_i16(
        &f("ifmap"),
        &[u(p.n), u(p.g * p.c), u(p.h), u(p.w)],
        &d.ifmap,
    )
    .unwrap();
    if !d.weights.is_empty() {
        write_npy_i16(
            &f("weights"),
            &[u(p.g * p.m), u(p.c), u(p.r), u(p.s)],
            &d.weights,
        )
        .unwrap();
    }
    if bias {
        write_npy_i16(&f("bias"), &[u(p.g * p.m)], &d.bias).unwrap();
    }
}

/// A hand-built file, with the header exactly as numpy writes it.
fn raw_npy(version: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    let pre = if version == 1 { 10 } else { 12 };
    while !(pre + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((h.len() as u16).to_le_bytes());
    } else {
        out.extend((h.len() as u32).to_le_bytes());
    }
    out.extend(h.as_bytes());
    out.extend(data);
    out
}

#[test]
fn round_trip_with_and_without_bias() {
    let dir = tempfile::tempdir().unwrap();
    let p = conv();
    let mut d = generate(&p, 1);
    d.bias = vec![1, -2, 3, -4, 5, -6, 7, -8];
    save(dir.path(), "conv", &p, &d, true);
    assert_eq!(load_npy(dir.path(), "conv", &p).unwrap(), d);
    save(dir.path(), "nobias", &p, &d, false);
    let loaded = load_npy(dir.path(), "nobias", &p).unwrap();
    assert_eq!(loaded.bias, vec![0; 8]);
    assert_eq!(loaded.weights, d.weights);
}

#[test]
fn pooling_needs_no_weights() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = problem(Op::Max, 1, 1, 4, 4, 2, 2);
    p.g = 3;
    let d = generate(&p, 1);
    save(dir.path(), "pool", &p, &d, false);
    assert_eq!(load_npy(dir.path(), "pool", &p).unwrap(), d);
}

#[test]
fn fc_accepts_flat_weights() {
    let dir = tempfile::tempdir().unwrap();
    let p = problem(Op::Mac, 2, 3, 2, 2, 2, 2);
    let d = generate(&p, 1);
    write_npy_i16(&dir.path().join("fc.ifmap.npy"), &[1, 2, 2, 2], &d.ifmap).unwrap();
    write_npy_i16(&dir.path().join("fc.weights.npy"), &[3, 8], &d.weights).unwrap();
    assert_eq!(load_npy(dir.path(), "fc", &p).unwrap(), d);
}

#[test]
fn numpy_written_headers_parse() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = [1i16, -2, 300]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let path = dir.path().join("a.npy");
    let v1 = raw_npy(
        1,
        "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }",
        &data,
    );
    std::fs::write(&path, v1).unwrap();
    let arr = read_npy_i16(&path).unwrap();
    assert_eq!(
        arr,
        NpyArray {
            shape: vec![3],
            values: vec![1, -2, 300]
        }
    );

    let be: Vec<u8> = [1i16, -2, 300]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let v2 = raw_npy(
        2,
        "{'descr': '>i2', 'fortran_order': False, 'shape': (1, 3), }",
        &be,
    );
    std::fs::write(&path, v2).unwrap();
    let arr = read_npy_i16(&path).unwrap();
    assert_eq!(
        arr,
        NpyArray {
            shape: vec![1, 3],
            values: vec![1, -2, 300]
        }
    );

    let scalar = raw_npy(
        1,
        "{'descr': '<i2', 'fortran_order': False, 'shape': (), }",
        &data[..2],
    );
    std::fs::write(&path, scalar).unwrap();
    assert_eq!(read_npy_i16(&path).unwrap().shape, Vec::<u64>::new());
}

fn error_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.npy");
    std::fs::write(&path, bytes).unwrap();
    let err = read_npy_i16(&path).unwrap_err().to_string();
    assert!(
        err.contains("bad.npy"),
        "error does not name the file: {err}"
    );
    err
}

#[test]
fn bad_files_are_named_and_explained() {
    let two = [0u8; 4];
    let e = error_text(&raw_npy(
        1,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
        &two,
    ));
    assert!(e.contains("'<f4'") && e.contains("int16"), "{e}");
    let e = error_text(&raw_npy(
        1,
        "{'descr': '<i2', 'fortran_order': True, 'shape': (2,), }",
        &two,
    ));
    assert!(e.contains("Fortran"), "{e}");
    let e = error_text(&raw_npy(
        1,
        "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }",
        &two,
    ));
    assert!(e.contains("needs 6 data bytes, file has 4"), "{e}");
    let e = error_text(b"PK\x03\x04 not numpy");
    assert!(e.contains("magic"), "{e}");
    let e = error_text(&raw_npy(1, "{'descr': '<i2', 'shape': (2,), }", &two));
    assert!(e.contains("fortran_order"), "{e}");
    let mut truncated = raw_npy(
        1,
        "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }",
        &two,
    );
    truncated.truncate(30);
    let e = error_text(&truncated);
    assert!(e.contains("truncated"), "{e}");
    let e = error_text(&raw_npy(
        1,
        "{'descr': '<i2', 'fortran_order': False, 'shape': (2, x), }",
        &two,
    ));
    assert!(e.contains("bad shape"), "{e}");
}

#[test]
fn wrong_shapes_name_layer_and_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let p = conv();
    let d = generate(&p, 1);
    save(dir.path(), "conv", &p, &d, false);
    let mut other = p;
    other.h = 4;
    other.e = 4;
    let e = load_npy(dir.path(), "conv", &other)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("conv.ifmap.npy") && e.contains("[2, 6, 4, 6]") && e.contains("[2, 6, 5, 6]"),
        "{e}"
    );

    let mut other = p;
    other.m = 3;
    let e = load_npy(dir.path(), "conv", &other)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("conv.weights.npy") && e.contains("[6, 3, 3, 3]"),
        "{e}"
    );

    write_npy_i16(&dir.path().join("conv.bias.npy"), &[7], &[0; 7]).unwrap();
    let e = load_npy(dir.path(), "conv", &p).unwrap_err().to_string();
    assert!(
        e.contains("conv.bias.npy") && e.contains("[8]") && e.contains("[7]"),
        "{e}"
    );
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_npy(dir.path(), "nope", &conv()).unwrap_err();
    assert!(matches!(e, DataError::Io { .. }));
    assert!(e.to_string().contains("nope.ifmap.npy"), "{e}");
}
