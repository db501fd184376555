//! `eyesim import` end to end, and the shipped traces through ONNX and back.

use super::build::Graph;
use super::{alexnet_like, export};
use eyesim::onnx::{import_bytes, import_file};
use eyesim::workload::from_toml_str;

fn eyesim(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_eyesim"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_writes_a_parseable_trace_only_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let model = alexnet_like().write(dir.path(), "alexlike");
    let out = dir.path().join("traces/alexlike.toml");
    let run = eyesim(&[
        "import".as_ref(),
        model.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let parsed = from_toml_str(&text, "alexlike.toml").unwrap();
    assert_eq!(parsed, import_file(&model).unwrap());
    assert_eq!((parsed.name.as_str(), parsed.batch), ("alexlike", 1));
    let names: Vec<_> = parsed.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["conv1", "norm1", "pool1", "conv2", "pool2", "conv3", "pool3", "fc6", "fc7", "prob"]
    );

    // An existing trace is not overwritten without --force.
    let before = std::fs::read(&out).unwrap();
    let mut args = vec![
        "import".as_ref(),
        model.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--batch".as_ref(),
        "4".as_ref(),
    ];
    let run = eyesim(&args);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success() && stderr.contains("already exists; pass --force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), before, "left unchanged");
    args.push("--force".as_ref());
    let run = eyesim(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let parsed = from_toml_str(&std::fs::read_to_string(&out).unwrap(), "b4.toml").unwrap();
    assert_eq!(parsed.batch, 4);

    let mut g = Graph::new(&[1, 3, 8, 8]);
    g.node("Tanh", "squash", &["x"], &["y"], vec![]);
    let bad = g.write(dir.path(), "bad");
    let bad_out = dir.path().join("bad.toml");
    let run = eyesim(&[
        "import".as_ref(),
        bad.as_os_str(),
        "-o".as_ref(),
        bad_out.as_os_str(),
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("'squash'") && stderr.contains("Tanh"),
        "{stderr}"
    );
    assert!(!bad_out.exists());
}

#[test]
fn shipped_traces_survive_export_to_onnx_and_import() {
    let names = eyesim::workload::builtin_names();
    assert!(
        names.contains(&"googlenet") && names.contains(&"resnet50"),
        "{names:?}"
    );
    for name in names {
        let net = eyesim::workload::load(name).unwrap();
        let model = export::to_onnx(&net).bytes();
        let got = import_bytes(&model, name, name).unwrap_or_else(|e| panic!("{e}"));
        // ONNX carries no data statistics and no precision.
        let mut want = net.densified();
        for l in &mut want.layers {
            l.precision_bits = 16;
        }
        assert_eq!(got.layers.len(), want.layers.len(), "{name}");
        for (g, w) in got.layers.iter().zip(&want.layers) {
            assert_eq!(g, w, "{name}");
        }
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn cli_default_output_is_traces_stem_toml() {
    let dir = tempfile::tempdir().unwrap();
    let model = alexnet_like().write(dir.path(), "tiny-alex");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_eyesim"))
        .current_dir(dir.path())
        .args([
            "import".as_ref(),
            model.as_os_str(),
            "--name".as_ref(),
            "renamed".as_ref(),
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("traces/tiny-alex.toml")).unwrap();
    assert_eq!(from_toml_str(&text, "t.toml").unwrap().name, "renamed");
}
