//! Numbers and messages (issue 13 §5), through the binary: bad numbers are
//! refused at the edge, every message says what to do, sweeps report by
//! exit status.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_eyesim");

/// Runs in the repository, so built-in names and shipped files resolve.
fn eyesim(args: &[&str]) -> Output {
    eyesim_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn eyesim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn fails_with(o: &Output, want: &str) -> String {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !o.status.success() && e.contains(want),
        "wanted `{want}` in: {e}"
    );
    e
}

#[test]
fn tolerances_must_be_numbers_from_0_to_1() {
    for cmd in ["crosscheck", "run", "prune"] {
        for bad in [
            "--tolerance=nan",
            "--tolerance=-0.1",
            "--tolerance=inf",
            "--tolerance=2",
        ] {
            let o = eyesim(&[cmd, bad]);
            fails_with(&o, "a relative tolerance must be a number from 0 to 1");
        }
    }
    for flag in ["--dense-tolerance=nan", "--cycle-tolerance=-1"] {
        fails_with(&eyesim(&["crosscheck", flag]), "from 0 to 1");
    }
}

#[test]
fn onnx_models_are_pointed_at_import() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("m.onnx"), b"\x08\x07").unwrap();
    let o = eyesim_in(t.path(), &["show", "--net", "m.onnx"]);
    fails_with(&o, "`m.onnx` is an ONNX model, not a trace: convert it first with `eyesim import m.onnx -o traces/m.toml`");
    let o = eyesim_in(t.path(), &["estimate", "--hw", "m.onnx"]);
    fails_with(&o, "is an ONNX model, not a hardware config");
    let o = eyesim_in(t.path(), &["validate", "m.onnx"]);
    let e = fails_with(
        &o,
        "convert it with `eyesim import m.onnx -o traces/m.toml`",
    );
    assert!(!e.contains("missing required key"), "{e}");
}

#[test]
fn os_errors_are_printed_once_with_the_users_path() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("d.toml")).unwrap();
    for args in [["show", "--net", "d.toml"], ["estimate", "--hw", "d.toml"]] {
        let o = eyesim_in(t.path(), &args);
        let e = fails_with(&o, "d.toml");
        let os = std::io::Error::from_raw_os_error(21).to_string();
        assert_eq!(e.matches(&os).count(), 1, "{e}");
        assert_eq!(e.matches("d.toml").count(), 1, "{e}");
    }
    // A write error names the user's path, never a temporary file.
    let o = eyesim_in(t.path(), &["estimate", "--out", "/proc/eyesim-test-out"]);
    let e = fails_with(&o, "/proc/eyesim-test-out");
    assert!(!e.contains(".tmp") && !e.contains("at path"), "{e}");
}

#[test]
fn empty_and_miscased_layer_names() {
    for arg in ["--layers=", "--layers=conv1,", "--layers=conv1,,conv2"] {
        let o = eyesim(&["simulate", arg]);
        fails_with(
            &o,
            "--layers: empty layer name (an empty list, or a trailing or doubled comma?)",
        );
    }
    let o = eyesim(&["simulate", "--layers", "CONV1"]);
    fails_with(
        &o,
        "no layer `CONV1` (did you mean `conv1`? names are case-sensitive)",
    );
    let o = eyesim(&["crosscheck", "--layers", "Fc7"]);
    fails_with(&o, "(did you mean `fc7`?");
}

#[test]
fn validate_reports_every_error_of_each_file() {
    let t = tempfile::tempdir().unwrap();
    let v1 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/hwconfigs/eyeriss-v1.toml"
    ))
    .unwrap()
    .replacen("core_mhz = 200", "core_mhz = 1e-300", 1)
    .replacen("rows = 12", "rows = 0", 1)
    .replacen("glb = 6", "glb = -6", 1);
    std::fs::write(t.path().join("hw.toml"), v1).unwrap();
    let o = eyesim_in(t.path(), &["validate", "hw.toml"]);
    let e = fails_with(&o, "1 of 1 files failed validation");
    for want in [
        "`array.rows` = 0 is out of range",
        "`clock.core_mhz` = 1e-300 is out of range: must be a number from 1 to 100000 (MHz)",
        "`energy.glb` = -6 is out of range",
    ] {
        assert!(e.contains(want), "{want}: {e}");
    }
}

#[test]
fn validate_reports_every_error_of_a_floors_file_in_file_order() {
    let t = tempfile::tempdir().unwrap();
    let floors = "conv1 = 0.5\nconv9 = 0.3\nconv2 = 2\npool1 = 0.5\nfc6 = \"x\"\n";
    std::fs::write(t.path().join("alexnet-floors.toml"), floors).unwrap();
    let o = eyesim_in(t.path(), &["validate", "alexnet-floors.toml"]);
    let e = fails_with(&o, "1 of 1 files failed validation");
    let wants = [
        "alexnet-floors.toml:2:1: key `conv9`: is not a layer of `alexnet`",
        "alexnet-floors.toml:3:1: key `conv2`: 2 is not a density in (0, 1]",
        "alexnet-floors.toml:4:1: key `pool1`: is a layer without weights",
        "alexnet-floors.toml:5:1: key `fc6`: must be a number",
    ];
    let mut at = 0;
    for want in wants {
        let i = e[at..]
            .find(want)
            .unwrap_or_else(|| panic!("{want} after byte {at}: {e}"));
        at += i + want.len();
    }
}

const TOY: &str = "[network]\nname = \"toy\"\nbatch = 1\ninput = [4, 6, 6]\n\n\
[[layer]]\nname = \"conv1\"\nkind = \"conv\"\nfilters = 4\nkernel = 3\npadding = 1\n";

#[test]
fn sweep_exit_status_and_size_guard() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("toy.toml"), TOY).unwrap();
    let sweep = |vary: &[&str], extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "--net",
            "toy.toml",
            "--hw",
            "tiny",
            "-q",
            "--no-plots",
        ];
        for v in vary {
            args.extend(["--vary", v]);
        }
        args.extend(extra);
        eyesim_in(t.path(), &args)
    };
    // Every point invalid: the files are written, the status is 3.
    let o = sweep(&["glb.filter_kib=6,7"], &["--out", "bad"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    fails_with(&o, "no point of the sweep is ok: 2 invalid, 0 failed");
    assert!(t.path().join("bad/sweep_summary.csv").is_file());
    // Some points ok: success.
    let o = sweep(&["glb.filter_kib=6,2"], &["--out", "some"]);
    assert!(o.status.success());
    // Out-of-range and fractional values are refused before the sweep.
    let o = sweep(&["clock.core_mhz=0,200"], &["--out", "x"]);
    fails_with(
        &o,
        "`clock.core_mhz` = 0 is out of range: must be a number from 1 to 100000 (MHz)",
    );
    let o = sweep(&["array.rows=2.5"], &["--out", "x"]);
    fails_with(&o, "`2.5` is not a whole number");
    assert!(!t.path().join("x").exists());
    // A million points need --yes or --max-points; the size is projected.
    let big = ["glb.size_kib=3..1002:+1", "pe.filter_spad_words=1..1000:+1"];
    let o = sweep(&big, &["--out", "big"]);
    assert_eq!(o.status.code(), Some(1));
    let e = fails_with(&o, "sweep has 1000000 points, about ");
    assert!(
        e.contains("GB of CSV output") && e.contains("pass --yes"),
        "{e}"
    );
    let o = sweep(&big, &["--out", "big", "--max-points", "999999"]);
    fails_with(&o, "more than --max-points 999999");
    let o = sweep(
        &["glb.size_kib=6,8,10"],
        &["--out", "small", "--max-points", "2"],
    );
    fails_with(&o, "sweep has 3 points");
    assert!(!t.path().join("big").exists() && !t.path().join("small").exists());
    let o = sweep(
        &["glb.size_kib=6,8,10"],
        &["--out", "small", "--max-points", "3"],
    );
    assert!(o.status.success());
}

#[test]
fn plot_accepts_run_and_crosscheck_folders() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("toy.toml"), TOY).unwrap();
    let common = ["--net", "toy.toml", "--hw", "tiny", "-q"];
    let mut run = vec!["run", "--out", "r"];
    run.extend(common);
    let mut cc = vec!["crosscheck", "--out", "c"];
    cc.extend(common);
    eyesim_in(t.path(), &run);
    eyesim_in(t.path(), &cc);
    for (dir, svgs) in [
        (
            "r",
            &[
                "r/analytic/energy_by_layer.svg",
                "r/simulated/energy_by_layer.svg",
                "r/parity.svg",
            ][..],
        ),
        ("c", &["c/parity.svg"][..]),
    ] {
        for s in svgs {
            let p = t.path().join(s);
            if p.exists() {
                std::fs::remove_file(&p).unwrap();
            }
        }
        let o = eyesim_in(t.path(), &["plot", dir]);
        assert!(
            o.status.success(),
            "{dir}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        for s in svgs {
            assert!(t.path().join(s).is_file(), "{s} redrawn");
        }
    }
    std::fs::create_dir(t.path().join("empty")).unwrap();
    fails_with(&eyesim_in(t.path(), &["plot", "empty"]), "nothing to plot");
}
