//! `eyesim sweep` and `eyesim merge` through the binary: output bytes do
//! not depend on threads, shards or interruptions; bad input is explained.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_eyesim");

/// A small network for fast sweeps on the `tiny` config.
const TRACE: &str = r#"
[network]
name = "toy"
batch = 2
input = [4, 12, 12]

[[layer]]
name = "conv1"
kind = "conv"
filters = 8
kernel = 3
padding = 1
ifmap_zero_fraction = 0.3

[[layer]]
name = "pool1"
kind = "maxpool"
kernel = 2
stride = 2

[[layer]]
name = "conv2"
kind = "conv"
filters = 8
kernel = 3

[[layer]]
name = "pool2"
kind = "maxpool"
kernel = 2
stride = 2

[[layer]]
name = "fc3"
kind = "fc"
outputs = 10
"#;

fn setup() -> (tempfile::TempDir, String) {
    let t = tempfile::tempdir().unwrap();
    let trace = t.path().join("toy.toml");
    std::fs::write(&trace, TRACE).unwrap();
    let s = trace.display().to_string();
    (t, s)
}

fn sweep(trace: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", "--net", trace, "--hw", "tiny", "--quiet"];
    let o = out.display().to_string();
    args.extend(["--out", &o]);
    args.extend(extra);
    let out = Command::new(BIN).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "eyesim {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every file in `dir`, sorted by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Asserts that two folders hold the same files with the same bytes,
/// naming the first file that differs.
fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb));
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(
            x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

const GRID: [&str; 4] = [
    "--vary",
    "pe.filter_spad_words=16..64:x2",
    "--vary",
    "glb.size_kib=4,6,8",
];

#[test]
fn jobs_do_not_change_the_output() {
    let (t, trace) = setup();
    let (a, b) = (t.path().join("j1"), t.path().join("j2"));
    sweep(&trace, &a, &[&GRID[..], &["--jobs", "1"]].concat());
    sweep(&trace, &b, &[&GRID[..], &["--jobs", "2"]].concat());
    assert_same_files(&a, &b);
    let fa = files(&a);
    let names: Vec<&str> = fa.iter().map(|f| f.0.as_str()).collect();
    for want in [
        "manifest.json",
        "sweep.csv",
        "sweep_summary.csv",
        "pareto.svg",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    let summary = String::from_utf8(
        fa.iter()
            .find(|f| f.0 == "sweep_summary.csv")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    let mut lines = summary.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("pe.filter_spad_words,glb.size_kib,status,energy,"));
    assert_eq!(lines.count(), 9);
}

#[test]
fn merged_shards_equal_the_unsharded_sweep() {
    let (t, trace) = setup();
    let all = t.path().join("all");
    sweep(&trace, &all, &GRID);
    let mut shards = Vec::new();
    for i in 1..=3 {
        let d = t.path().join(format!("shard{i}"));
        sweep(
            &trace,
            &d,
            &[&GRID[..], &["--shard", &format!("{i}/3")]].concat(),
        );
        shards.push(d.display().to_string());
    }
    let merged = t.path().join("merged");
    let mut args = vec!["merge".to_string()];
    args.extend(shards.iter().rev().cloned());
    args.extend(["-o".into(), merged.display().to_string()]);
    let o = Command::new(BIN).args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same_files(&all, &merged);

    let o = Command::new(BIN)
        .args(["merge", &shards[0], &shards[2], "-o"])
        .arg(t.path().join("m2"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing shard(s): 2/3"));
}

/// Kills a real sweep process mid-run, resumes it, and compares the bytes
/// with an uninterrupted run.
#[test]
fn resume_after_kill_gives_identical_output() {
    let (t, trace) = setup();
    // Enough points that the sweep is still running when it is killed.
    let grid = [
        "--vary",
        "batch=1..400:+1",
        "--vary",
        "pe.filter_spad_words=16,32",
        "--no-plots",
    ];
    let full = t.path().join("full");
    let killed = t.path().join("killed");
    let mut child = Command::new(BIN)
        .args([
            "sweep", "--net", &trace, "--hw", "tiny", "--quiet", "--jobs", "2", "--out",
        ])
        .arg(&killed)
        .args(grid)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let partial = killed.join("sweep_summary.csv.partial");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&partial).map_or(0, |s| s.lines().count()) < 6 {
        assert!(Instant::now() < deadline, "the sweep wrote no rows");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep finished before it was killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join("sweep_summary.csv").exists(),
        "killed sweep left a final file"
    );
    let kept = std::fs::read_to_string(&partial).unwrap().lines().count();
    assert!(kept < 801, "the sweep was not interrupted");

    let o = Command::new(BIN)
        .args(["sweep", "--net", &trace, "--hw", "tiny", "--quiet", "--out"])
        .arg(&killed)
        .args(grid)
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "a fresh start over an interrupted sweep must be refused"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));

    let out = sweep(&trace, &killed, &[&grid[..], &["--resume"]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("(0 resumed"), "{stdout}");
    sweep(&trace, &full, &grid);
    assert_same_files(&full, &killed);
}

#[test]
fn bad_key_names_the_valid_keys() {
    let o = Command::new(BIN)
        .args(["sweep", "--hw", "tiny", "--vary", "glb.size_kb=4,8"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown parameter `glb.size_kb`"), "{err}");
    assert!(err.contains("did you mean `glb.size_kib`"), "{err}");
    assert!(
        err.contains("pe.psum_spad_words") && err.contains("batch"),
        "{err}"
    );
}

#[test]
fn bad_range_points_at_the_token() {
    let o = Command::new(BIN)
        .args(["sweep", "--hw", "tiny", "--vary", "glb.size_kib=4..16:y2"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    let arg = lines
        .iter()
        .position(|l| l.trim() == "glb.size_kib=4..16:y2")
        .expect(&err);
    let caret = lines[arg + 1];
    assert_eq!(caret.find('^'), lines[arg].find("y2"), "{err}");
    assert_eq!(caret.trim(), "^^");
}

#[test]
fn invalid_points_are_skipped_and_counted() {
    let (t, trace) = setup();
    let out = t.path().join("inv");
    // glb.size_kib = 2 leaves no room beside the 2 KiB filter part.
    let o = Command::new(BIN)
        .args([
            "sweep",
            "--net",
            &trace,
            "--hw",
            "tiny",
            "--no-plots",
            "--out",
        ])
        .arg(&out)
        .args(["--vary", "glb.size_kib=2,6", "--vary", "noc.gon_bits=24,32"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("4 points: 1 ok, 3 invalid"), "{stdout}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("skipped (invalid): glb.size_kib=2 noc.gon_bits=24:"),
        "{stderr}"
    );
    let summary = std::fs::read_to_string(out.join("sweep_summary.csv")).unwrap();
    let statuses: Vec<&str> = summary
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(statuses, ["invalid", "invalid", "invalid", "ok"]);
}

#[test]
fn shipped_sweep_files_parse() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hwconfigs/sweeps");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let spec = eyesim::sweep::SweepSpec::parse(&text, &p.display().to_string()).unwrap();
        assert!(!spec.axes(&eyesim::sweep::param_space()).unwrap().is_empty());
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn spec_file_runs_like_the_command_line() {
    let (t, trace) = setup();
    let spec = t.path().join("s.toml");
    let text = format!(
        "net = {trace:?}\nhw = \"tiny\"\n\n[[vary]]\nkey = \"glb.size_kib\"\nvalues = [8, 4]\n\n\
         [[vary]]\nkey = \"pe.filter_spad_words\"\nvalues = \"16..32:x2\"\n"
    );
    std::fs::write(&spec, text).unwrap();
    let (a, b) = (t.path().join("spec"), t.path().join("cli"));
    let o = Command::new(BIN)
        .args(["sweep", "--quiet", "--no-plots", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(&a)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cli = [
        "--no-plots",
        "--vary",
        "glb.size_kib=8,4",
        "--vary",
        "pe.filter_spad_words=16..32:x2",
    ];
    sweep(&trace, &b, &cli);
    assert_same_files(&a, &b);
    let summary = std::fs::read_to_string(a.join("sweep_summary.csv")).unwrap();
    let firsts: Vec<&str> = summary
        .lines()
        .map(|l| &l[..l.find(",ok").unwrap_or(l.len())])
        .collect();
    assert_eq!(firsts[1..], ["8,16", "8,32", "4,16", "4,32"]);

    std::fs::write(&spec, "[[vary]]\nkey = \"glb.size_kb\"\nvalues = \"4\"\n").unwrap();
    let o = Command::new(BIN)
        .args(["sweep", "--spec"])
        .arg(&spec)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("s.toml:2:7") && err.contains("glb.size_kib"),
        "{err}"
    );
}

/// `sweep.csv` holds access counts and energy only, and on dense data the
/// simulator counts exactly what the analytic model computes: a simulated
/// sweep of a dense trace must reproduce the analytic `sweep.csv` byte for
/// byte at every point, while its cycles (in the summary) are its own.
#[test]
fn simulated_sweep_of_dense_data_matches_the_analytic_counts() {
    let t = tempfile::tempdir().unwrap();
    let trace = t.path().join("dense.toml");
    std::fs::write(&trace, TRACE.replace("ifmap_zero_fraction = 0.3", "")).unwrap();
    let trace = trace.display().to_string();
    let grid = [
        "--vary",
        "glb.size_kib=4,8",
        "--vary",
        "batch=1,2",
        "--no-plots",
    ];
    let (a, s) = (t.path().join("analytic"), t.path().join("simulated"));
    sweep(&trace, &a, &grid);
    let mut sim_args = grid.to_vec();
    sim_args.extend(["--simulate", "--jobs", "2"]);
    sweep(&trace, &s, &sim_args);
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    assert_eq!(read(&a, "sweep.csv"), read(&s, "sweep.csv"));
    let (sa, ss) = (read(&a, "sweep_summary.csv"), read(&s, "sweep_summary.csv"));
    assert_eq!(sa.lines().count(), 5);
    assert_ne!(sa, ss, "the summaries carry each model's own cycles");
}

#[test]
fn projected_output_size_is_close_to_the_real_one() {
    use eyesim::sweep::{load_base, param_space, Axis, SweepPlan};
    let (t, trace) = setup();
    let out = t.path().join("p");
    let vary = ["glb.size_kib=6..14:+2", "pe.filter_spad_words=16,32,64"];
    let mut extra = vec!["--no-plots"];
    for v in &vary {
        extra.extend(["--vary", v]);
    }
    sweep(&trace, &out, &extra);
    let real: u64 = ["sweep.csv", "sweep_summary.csv"]
        .iter()
        .map(|f| std::fs::metadata(out.join(f)).unwrap().len())
        .sum();
    let base = load_base(&trace, "tiny", "analytic objective=energy").unwrap();
    let axes = vary
        .iter()
        .map(|v| Axis::parse_arg(v, &param_space()).unwrap())
        .collect();
    let plan = SweepPlan::new(axes, base.identity()).unwrap();
    let projected = base.projected_bytes(&plan) as f64;
    let ratio = projected / real as f64;
    assert!(
        (0.7..1.4).contains(&ratio),
        "projected {projected}, real {real}"
    );
}

/// A simulated sweep over the filter spad's capacity (read by the mapper,
/// not the simulator) and the GLB size (read by the simulator only through
/// the bank size it implies) reuses layer simulations between points where
/// a layer keeps its mapping and its banks, and writes the same bytes as a
/// sweep that simulates every layer of every point.
#[test]
fn reused_layer_simulations_give_the_same_bytes() {
    let (t, trace) = setup();
    let grid = [
        "--vary",
        "pe.filter_spad_words=16,24,32,48,64",
        "--vary",
        "glb.size_kib=6,8",
        "--simulate",
        "--jobs",
        "2",
    ];
    let (a, b) = (t.path().join("reuse"), t.path().join("no-reuse"));
    let run = |out: &Path, extra: &[&str]| {
        let o = out.display().to_string();
        let mut args = vec!["sweep", "--net", &trace, "--hw", "tiny", "--out", &o];
        args.extend(grid);
        args.extend(extra);
        let r = Command::new(BIN).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&r.stderr).into_owned();
        assert!(r.status.success(), "{err}");
        err
    };
    let counts = |err: &str| -> (u64, u64) {
        let line = err
            .lines()
            .find(|l| l.starts_with("layer simulations: "))
            .unwrap_or_else(|| panic!("no reuse line in {err}"));
        let n: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect();
        (n[0], n[1])
    };
    let (ran, reused) = counts(&run(&a, &[]));
    // 10 points of 5 PE-array layers each (the pools and fc3 are too).
    // At one GLB size the filter spad gives conv1 and conv2 three mappings
    // each (p4 q1, p4 q2, p8 q2), fc3 and the pools one: 9 runs. Fewer
    // than 2 x 9 means runs were also shared across the two GLB sizes
    // (their bank sizes give some tiles the same bank counts).
    assert_eq!(ran + reused, 10 * 5, "ran {ran}, reused {reused}");
    assert!(ran < 2 * 9, "ran {ran}, reused {reused}");
    let plain = run(&b, &["--no-reuse"]);
    assert!(!plain.contains("layer simulations:"), "{plain}");
    assert_same_files(&a, &b);
}
