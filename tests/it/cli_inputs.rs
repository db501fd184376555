//! `eyesim show` and `eyesim validate` through the binary.

use std::process::Command;

fn eyesim(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_eyesim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn show_defaults_to_alexnet_with_totals() {
    let (ok, out, _) = eyesim(&["show"]);
    assert!(ok);
    assert!(
        out.starts_with("network alexnet: batch 4, input 3x227x227, 11 layers"),
        "{out}"
    );
    let conv2 = out.lines().find(|l| l.starts_with("conv2 ")).unwrap();
    assert!(
        conv2.contains("96x27x27 -> 256x27x27")
            && conv2.contains("223948800")
            && conv2.contains("307200"),
        "{conv2}"
    );
    let total = out.lines().last().unwrap();
    assert!(
        total.starts_with("total") && total.contains("724406816") && total.contains("60954656"),
        "{total}"
    );
}

#[test]
fn show_csv_has_per_image_macs_and_weights() {
    let (ok, out, _) = eyesim(&["show", "--net", "alexnet", "--csv"]);
    assert!(ok);
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let head = rdr.headers().unwrap().clone();
    for col in [
        "layer",
        "kind",
        "macs",
        "weights",
        "weight_density",
        "ifmap_zero_fraction",
    ] {
        assert!(head.iter().any(|h| h == col), "{col}");
    }
    let idx = |c: &str| head.iter().position(|h| h == c).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 11);
    let conv: u64 = rows
        .iter()
        .filter(|r| &r[idx("kind")] == "conv")
        .map(|r| r[idx("macs")].parse::<u64>().unwrap())
        .sum();
    assert_eq!(conv, 665_784_864);
    let conv3 = rows.iter().find(|r| &r[idx("layer")] == "conv3").unwrap();
    assert_eq!(
        (&conv3[idx("weights")], &conv3[idx("ifmap_zero_fraction")]),
        ("884736", "0.725")
    );
}

#[test]
fn show_accepts_a_trace_file_and_reports_bad_names() {
    let (ok, out, _) = eyesim(&["show", "--net", "traces/mobilenet.toml"]);
    assert!(ok && out.contains("dwconv"), "{out}");
    let (ok, _, err) = eyesim(&["show", "--net", "alexnett"]);
    assert!(!ok && err.contains("no network `alexnett`"), "{err}");
}

#[test]
fn validate_accepts_every_shipped_file() {
    let mut args = vec!["validate"];
    let files: Vec<String> = ["hwconfigs", "traces"]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(format!("{}/{d}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    args.extend(files.iter().map(String::as_str));
    let (ok, out, err) = eyesim(&args);
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        10,
        "{out}"
    );
}

#[test]
fn validate_reports_every_failure_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let bad_hw = dir.path().join("bad-hw.toml");
    std::fs::write(&bad_hw, "[array]\nrows = 12\ncolz = 14\n").unwrap();
    let bad_trace = dir.path().join("bad-trace.toml");
    std::fs::write(&bad_trace, "[network]\nbatch = 0\ninput = [3, 8, 8]\n").unwrap();
    let (ok, out, err) = eyesim(&[
        "validate",
        bad_hw.to_str().unwrap(),
        "hwconfigs/tiny.toml",
        bad_trace.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(out.contains("ok    hwconfigs/tiny.toml"), "{out}");
    assert!(
        err.contains("bad-hw.toml:3:1: unknown key `array.colz`; did you mean `array.cols`?"),
        "{err}"
    );
    assert!(
        err.contains("bad-trace.toml:2:1: [network]: `batch` = 0"),
        "{err}"
    );
    assert!(err.contains("2 of 3 files failed validation"), "{err}");
}
