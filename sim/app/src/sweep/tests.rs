//! Engine tests with a fake evaluator: ordering, shards, resume.

use super::*;
use crate::hw::{EnergyCosts, EnergyUnit};
use crate::mapping::RowStationaryMapping;
use crate::stats::{LayerResult, LevelCounts, Tensor, LEVELS, TENSORS};
use std::path::Path;

fn space() -> ParamSpace {
    ParamSpace::new([("a".to_string(), true), ("b".to_string(), false)])
}

fn plan(a: &str, b: &str) -> SweepPlan {
    let axes = vec![
        Axis::parse_arg(&format!("a={a}"), &space()).unwrap(),
        Axis::parse_arg(&format!("b={b}"), &space()).unwrap(),
    ];
    SweepPlan::new(axes, "fake".into()).unwrap()
}

/// Deterministic results that depend on the point; `a == 0` is invalid and
/// `b > 100` fails; the sleep makes later-started points finish first.
fn fake(point: &Point) -> PointOutcome {
    let (a, b) = (point.values[0], point.values[1]);
    if a == 0.0 {
        return PointOutcome::Invalid("glb: size 0, must be > 0".into());
    }
    if b > 100.0 {
        return PointOutcome::Failed("conv2: no legal mapping".into());
    }
    std::thread::sleep(std::time::Duration::from_micros(
        (point.index % 3) as u64 * 300,
    ));
    let costs = EnergyCosts {
        unit: EnergyUnit::Normalized,
        mac: 1.0,
        rf: 1.0,
        noc: 2.0,
        glb: 6.0,
        dram: 200.0,
    };
    let layers = (0..2)
        .map(|li| {
            let mut counts = LevelCounts::default();
            for (i, &l) in LEVELS.iter().enumerate() {
                for (j, &t) in TENSORS.iter().enumerate() {
                    let r = (a * 10.0 + b) as u64 * (i as u64 + 1) + j as u64 + li;
                    counts.add(l, t, r, if t == Tensor::Psum { r / 2 } else { 0 });
                }
            }
            counts.macs.performed = 1000 + a as u64;
            LayerResult {
                network: "toy".into(),
                layer: format!("conv{}", li + 1),
                kind: "conv".into(),
                mapping: Some(RowStationaryMapping {
                    e: 7,
                    r: 1,
                    t: 2,
                    g: 1,
                    p: 4,
                    q: 1,
                    n: 1,
                    m: 8,
                    fr: 1,
                    fs: 1,
                    fw: 1,
                }),
                active_pes: 100,
                weights: 10,
                energy: counts.energy(&costs),
                counts,
                cycles: 1000 * a as u64 + li,
                processing_cycles: 500,
            }
        })
        .collect();
    PointOutcome::Done(PointResult {
        layers,
        energy_unit: EnergyUnit::Normalized,
        core_mhz: 200.0,
    })
}

fn opts(jobs: usize, shard: Option<&str>) -> RunOptions {
    RunOptions {
        jobs,
        shard: shard.map(|s| s.parse().unwrap()),
        resume: false,
        force: false,
        cancel: Default::default(),
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Asserts equal folders, naming the first differing file.
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

#[test]
fn output_does_not_depend_on_jobs() {
    let p = plan("0,1..4:+1", "10..40:+10,150");
    let t = tempfile::tempdir().unwrap();
    let r1 = run_sweep(&p, &fake, &t.path().join("j1"), opts(1, None), &()).unwrap();
    let r4 = run_sweep(&p, &fake, &t.path().join("j4"), opts(4, None), &()).unwrap();
    assert_same_files(&t.path().join("j1"), &t.path().join("j4"));
    let names: Vec<String> = files(&t.path().join("j1"))
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(names, ["manifest.json", "sweep.csv", "sweep_summary.csv"]);
    // 5 × 5 points: a = 0 is invalid (5), b = 150 fails for the other 4.
    assert_eq!(r1.manifest.count(Status::Invalid), 5);
    assert_eq!(r1.manifest.count(Status::Failed), 4);
    assert_eq!(r4.manifest.count(Status::Ok), 16);
    assert_eq!(r4.skipped.len(), 9);
    let summary = std::fs::read_to_string(t.path().join("j1/sweep_summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 26);
    assert!(summary.lines().nth(1).unwrap().starts_with("0,10,invalid,"));
    let detail = std::fs::read_to_string(t.path().join("j1/sweep.csv")).unwrap();
    assert_eq!(detail.lines().count(), 1 + 16 * 2 * 13);
}

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let p = plan("0,1..4:+1", "10..40:+10,150");
    let t = tempfile::tempdir().unwrap();
    run_sweep(&p, &fake, &t.path().join("all"), opts(2, None), &()).unwrap();
    let dirs: Vec<_> = (1..=3).map(|i| t.path().join(format!("s{i}"))).collect();
    for (i, d) in dirs.iter().enumerate() {
        let shard = format!("{}/3", i + 1);
        run_sweep(&p, &fake, d, opts(2, Some(&shard)), &()).unwrap();
    }
    let rev: Vec<_> = dirs.iter().rev().cloned().collect();
    merge(&rev, &t.path().join("merged"), false).unwrap();
    assert_eq!(
        files(&t.path().join("all")),
        files(&t.path().join("merged"))
    );

    let e = merge(&dirs[..2], &t.path().join("m2"), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing shard(s): 3/3"), "{e}");
    let e = merge(
        &[dirs[0].clone(), dirs[0].clone()],
        &t.path().join("m3"),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("given twice"), "{e}");
    let other = plan("1,2", "10");
    run_sweep(
        &other,
        &fake,
        &t.path().join("o"),
        opts(1, Some("2/3")),
        &(),
    )
    .unwrap();
    let e = merge(
        &[dirs[0].clone(), t.path().join("o")],
        &t.path().join("m4"),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("different sweep"), "{e}");
    let d = dirs[1].join("sweep.csv");
    let mut bytes = std::fs::read(&d).unwrap();
    bytes.truncate(bytes.len() - 5);
    std::fs::write(&d, bytes).unwrap();
    let e = merge(&dirs, &t.path().join("m5"), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not match its manifest"), "{e}");
}

/// Simulates a kill at every byte-level state: partial rows after the last
/// journalled point, and a torn journal line.
#[test]
fn resume_after_interruption_is_byte_identical() {
    let p = plan("1..4:+1", "10..30:+10");
    let t = tempfile::tempdir().unwrap();
    let full = t.path().join("full");
    run_sweep(&p, &fake, &full, opts(2, None), &()).unwrap();
    for cut in [0usize, 1, 5, 11] {
        let dir = t.path().join(format!("cut{cut}"));
        // An evaluator that dies (like kill -9) after `cut` points.
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let dying = move |pt: &Point| {
            if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= cut {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
            fake(pt)
        };
        let dir2 = dir.clone();
        let p2 = p.clone();
        std::thread::spawn(move || {
            let _ = run_sweep(&p2, &dying, &dir2, opts(1, None), &());
        });
        // Wait until `cut` points are journalled, then tear the files.
        let journal = dir.join("progress.journal");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::fs::read_to_string(&journal).map_or(0, |s| s.lines().count()) < cut + 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "sweep did not progress"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let copy = t.path().join(format!("copy{cut}"));
        std::fs::create_dir_all(&copy).unwrap();
        for (name, bytes) in files(&dir) {
            std::fs::write(copy.join(&name), bytes).unwrap();
        }
        append(&copy.join("sweep.csv.partial"), b"3,20,toy,conv1,dram,if");
        append(&copy.join("sweep_summary.csv.partial"), b"3,20,ok,12");
        append(&copy.join("progress.journal"), b"99 12");
        assert!(run_sweep(&p, &fake, &copy, opts(2, None), &()).is_err());
        let mut o = opts(2, None);
        o.resume = true;
        let r = run_sweep(&p, &fake, &copy, o.clone(), &()).unwrap();
        assert_eq!(r.resumed, cut);
        assert_same_files(&copy, &full);
        // Resuming a complete folder does nothing.
        let r = run_sweep(&p, &fake, &copy, o, &()).unwrap();
        assert_eq!(r.evaluated, 0);
    }
}

fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn resume_refuses_another_sweep() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("x");
    run_sweep(&plan("1,2", "10"), &fake, &dir, opts(1, None), &()).unwrap();
    let mut o = opts(1, None);
    o.resume = true;
    let e = run_sweep(&plan("1,3", "10"), &fake, &dir, o, &()).unwrap_err();
    assert!(e.to_string().contains("different sweep"), "{e}");
}

#[test]
fn panicking_evaluator_is_a_failed_point() {
    let t = tempfile::tempdir().unwrap();
    let boom = |pt: &Point| {
        if pt.index == 1 {
            panic!("boom");
        }
        fake(pt)
    };
    let r = run_sweep(
        &plan("1,2", "10"),
        &boom,
        &t.path().join("x"),
        opts(2, None),
        &(),
    )
    .unwrap();
    assert_eq!(r.manifest.count(Status::Failed), 1);
    assert!(r.skipped[0].reason.contains("boom"));
}

/// Plots of a sweep folder carry units and a log axis for geometric
/// values. Set EYESIM_PLOT_DIR to keep the SVGs for looking at them.
#[test]
fn sweep_plots_have_units_and_log_axis() {
    let t = tempfile::tempdir().unwrap();
    let dir = std::env::var("EYESIM_PLOT_DIR").map_or(t.path().join("p"), std::path::PathBuf::from);
    let p = plan("0,1..8:x2", "10..40:+10,150");
    let mut o = opts(2, None);
    o.force = true;
    run_sweep(&p, &fake, &dir, o, &()).unwrap();
    let files = crate::report::plot_dir(&dir).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "energy_vs_a.svg",
            "latency_vs_a.svg",
            "energy_vs_b.svg",
            "latency_vs_b.svg",
            "pareto.svg"
        ]
    );
    let svg = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    assert!(svg("energy_vs_a.svg").contains("Energy (×10³ MAC-normalized)"));
    assert!(svg("energy_vs_a.svg").contains("a (log scale)"));
    assert!(!svg("energy_vs_b.svg").contains("log scale"));
    assert!(svg("energy_vs_b.svg").contains("min-EDP point: a=1"));
    assert!(svg("latency_vs_b.svg").contains("Latency (ms)"));
    assert!(svg("pareto.svg").contains("P1"));
}
