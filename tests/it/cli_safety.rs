//! Outputs are safe (issue 13 §4): nothing is overwritten without --force,
//! names cannot steer outputs elsewhere, a live sweep folder is locked, and
//! the output location is checked before the work.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_eyesim");

const TOY: &str = r#"
[network]
name = "toy"
batch = 1
input = [4, 6, 6]

[[layer]]
name = "conv1"
kind = "conv"
filters = 4
kernel = 3
padding = 1

[[layer]]
name = "pool1"
kind = "maxpool"
kernel = 2
stride = 2

[[layer]]
name = "fc2"
kind = "fc"
outputs = 4
"#;

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn toy_with_name(dir: &Path, name: &str) -> String {
    let p = dir.join("toy.toml");
    std::fs::write(
        &p,
        TOY.replace("name = \"toy\"", &format!("name = {name:?}")),
    )
    .unwrap();
    p.display().to_string()
}

/// Every file under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

#[test]
fn a_trace_name_cannot_write_outside_results() {
    let t = tempfile::tempdir().unwrap();
    let work = t.path().join("a/b");
    std::fs::create_dir_all(&work).unwrap();
    for name in ["../../x", "sub/dir", ""] {
        let trace = toy_with_name(&work, name);
        let o = run_in(&work, &["estimate", "--net", &trace, "--hw", "tiny"]);
        let e = stderr(&o);
        assert!(
            !o.status.success() && e.contains("`name` = "),
            "{name}: {e}"
        );
    }
    assert_eq!(
        tree(t.path()),
        ["a", "a/b", "a/b/toy.toml"],
        "nothing written"
    );
}

#[test]
fn an_empty_hwconfig_name_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let hw = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/hwconfigs/tiny.toml"))
        .unwrap()
        .replacen("name = \"tiny\"", "name = \"\"", 1);
    std::fs::write(t.path().join("hw.toml"), hw).unwrap();
    let trace = toy_with_name(t.path(), "toy");
    let o = run_in(t.path(), &["estimate", "--net", &trace, "--hw", "hw.toml"]);
    let e = stderr(&o);
    assert!(!o.status.success() && e.contains("hw.toml:"), "{e}");
    assert!(
        e.contains("`name` = \"\" is out of range: must not be empty"),
        "{e}"
    );
    assert!(!t.path().join("results").exists());
}

fn sweep(dir: &Path, trace: &str, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", "--net", trace, "--hw", "tiny", "--no-plots", "-q"];
    args.extend(["--vary", "glb.size_kib=6,8,10", "--out", out]);
    args.extend(extra);
    run_in(dir, &args)
}

#[test]
fn merge_never_writes_into_an_input_shard_and_needs_force_to_replace() {
    let t = tempfile::tempdir().unwrap();
    let trace = toy_with_name(t.path(), "toy");
    for i in 1..=2 {
        let o = sweep(
            t.path(),
            &trace,
            &format!("s{i}"),
            &["--shard", &format!("{i}/2")],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let shard1 = std::fs::read(t.path().join("s1/sweep.csv")).unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let mut args = vec!["merge", "s1", "s2", "-o", "s1", "--no-plots"];
        args.extend(extra);
        let o = run_in(t.path(), &args);
        let e = stderr(&o);
        assert!(
            !o.status.success() && e.contains("is the input shard s1"),
            "{e}"
        );
    }
    // Also through another spelling of the same folder.
    let o = run_in(
        t.path(),
        &["merge", "s1", "s2", "-o", "./s2/../s1", "--no-plots"],
    );
    assert!(!o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(t.path().join("s1/sweep.csv")).unwrap(),
        shard1
    );

    let merge = |extra: &[&str]| {
        let mut args = vec!["merge", "s1", "s2", "-o", "all", "--no-plots"];
        args.extend(extra);
        run_in(t.path(), &args)
    };
    assert!(merge(&[]).status.success());
    let o = merge(&[]);
    assert!(
        !o.status.success() && stderr(&o).contains("already holds a sweep; pass --force"),
        "{}",
        stderr(&o)
    );
    assert!(merge(&["--force"]).status.success());
}

#[test]
fn a_second_sweep_on_a_live_folder_gets_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let trace = toy_with_name(t.path(), "toy");
    let out = t.path().join("live");
    // This process holds the lock, as a running sweep does.
    let lock = eyesim::sweep::lock::DirLock::acquire(&out).unwrap();
    for extra in [&[][..], &["--force"][..], &["--resume"][..]] {
        let o = sweep(t.path(), &trace, "live", extra);
        let e = stderr(&o);
        assert!(
            !o.status.success()
                && e.contains("is being written by another eyesim process")
                && e.contains(&format!("pid {}", std::process::id())),
            "{extra:?}: {e}"
        );
    }
    assert_eq!(tree(&out), [".eyesim.lock"], "the live folder is untouched");
    drop(lock);
    let o = sweep(t.path(), &trace, "live", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join(".eyesim.lock").exists(), "released when done");
}

#[test]
fn unwritable_outputs_are_found_before_the_work() {
    let t = tempfile::tempdir().unwrap();
    let trace = toy_with_name(t.path(), "toy");
    std::fs::write(t.path().join("file"), "x").unwrap();
    let blocked = "file/out";
    let common = ["--net", trace.as_str(), "--hw", "tiny"];
    let cases: Vec<Vec<&str>> = vec![
        vec!["estimate", "--out", blocked],
        vec!["simulate", "--out", blocked],
        vec!["crosscheck", "--out", blocked, "-q"],
        vec!["run", "--out", blocked, "-q", "--no-plots"],
        vec!["prune", "--out", blocked, "--floor", "0.5"],
        vec!["sweep", "--vary", "glb.size_kib=6", "--out", blocked],
    ];
    for mut args in cases {
        args.extend(common);
        let o = run_in(t.path(), &args);
        let e = stderr(&o);
        assert!(
            !o.status.success()
                && e.contains("cannot write the output folder file/out (checked before starting)"),
            "{args:?}: {e}"
        );
        assert!(o.stdout.is_empty(), "{args:?}: work was done first");
    }
    // simulate --trace: refused before simulating, so not even the result
    // CSVs are written.
    let o = run_in(
        t.path(),
        &[
            "simulate",
            "--net",
            &trace,
            "--hw",
            "tiny",
            "--out",
            "res",
            "--trace",
            "file/t.json",
        ],
    );
    assert!(
        !o.status.success() && stderr(&o).contains("cannot write file/t.json"),
        "{}",
        stderr(&o)
    );
    assert!(!t.path().join("res/layers.csv").exists());
}

#[test]
fn simulate_trace_does_not_overwrite_without_force() {
    let t = tempfile::tempdir().unwrap();
    let trace = toy_with_name(t.path(), "toy");
    std::fs::write(t.path().join("mine.json"), "precious").unwrap();
    let args = [
        "simulate",
        "--net",
        &trace,
        "--hw",
        "tiny",
        "--out",
        "r",
        "--trace",
        "mine.json",
    ];
    let o = run_in(t.path(), &args);
    assert!(!o.status.success() && stderr(&o).contains("already exists; pass --force"));
    assert_eq!(
        std::fs::read_to_string(t.path().join("mine.json")).unwrap(),
        "precious"
    );
    let mut forced = args.to_vec();
    forced.push("--force");
    let o = run_in(t.path(), &forced);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(t.path().join("mine.json"))
        .unwrap()
        .contains("traceEvents"));
}
