//! `eyesim simulate` end to end: outputs, determinism, the trace and its
//! size limit, real data from .npy files, error messages.

use super::simulate::SMALL_NET;
use eyesim::data;

fn eyesim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_eyesim"))
        .args(args)
        .output()
        .expect("eyesim runs")
}

#[test]
fn cli_simulate_writes_the_estimate_columns_and_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let trace = dir.path().join("t.json");
    let net = dir.path().join("small.toml");
    std::fs::write(&net, SMALL_NET).unwrap();
    let net = net.to_str().unwrap();
    let o = eyesim(&[
        "simulate",
        "--net",
        net,
        "--hw",
        "tiny",
        "--layers",
        "pool1,conv2",
        "--out",
        out.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let layers = std::fs::read_to_string(out.join("layers.csv")).unwrap();
    let header = layers.lines().next().unwrap();
    assert!(
        header.contains("processing_cycles") && header.contains("latency_ms"),
        "{header}"
    );
    assert_eq!(layers.lines().count(), 3);
    assert!(std::fs::read_to_string(out.join("accesses.csv"))
        .unwrap()
        .contains("conv2,dram,ifmap"));
    assert!(std::fs::read_to_string(out.join("components.csv"))
        .unwrap()
        .contains("conv2,gon,"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
    assert!(json["traceEvents"].as_array().unwrap().len() > 100);
    // Same inputs, same bytes.
    let out2 = dir.path().join("out2");
    let o = eyesim(&[
        "simulate",
        "--net",
        net,
        "--hw",
        "tiny",
        "--layers",
        "pool1,conv2",
        "--out",
        out2.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    assert!(o.status.success());
    for f in ["layers.csv", "accesses.csv", "components.csv"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(out2.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// A trace is streamed to its file; only its spans are held in memory,
/// and a trace whose spans would not fit the memory limit is refused
/// before simulating, naming the trace's share.
#[test]
fn cli_simulate_refuses_a_trace_too_large_for_memory_before_simulating() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.json");
    let o = eyesim(&[
        "simulate",
        "--layers",
        "conv1,conv3",
        "--trace",
        trace.to_str().unwrap(),
        "--max-memory",
        "100M",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("layer conv") && err.contains("trace") && err.contains("100.0 MiB limit"),
        "{err}"
    );
    assert!(!trace.exists());
    assert!(!dir.path().join("layers.csv").exists());
}

#[test]
fn cli_simulate_names_unknown_layers() {
    let o = eyesim(&["simulate", "--layers", "conv9"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("conv9") && err.contains("conv"), "{err}");
}

#[test]
fn cli_simulate_reads_real_data_from_npy() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("small.toml");
    std::fs::write(&net, SMALL_NET).unwrap();
    // conv2 of the small net: ifmap [2, 4, 6, 6], weights [4, 4, 3, 3].
    let ifmap: Vec<i16> = (0..2 * 4 * 36).map(|i| (i % 7) as i16 * 3).collect();
    let weights: Vec<i16> = (0..4 * 4 * 9).map(|i| (i % 5) as i16 - 2).collect();
    data::write_npy_i16(&dir.path().join("conv2.ifmap.npy"), &[2, 4, 6, 6], &ifmap).unwrap();
    data::write_npy_i16(
        &dir.path().join("conv2.weights.npy"),
        &[4, 4, 3, 3],
        &weights,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = eyesim(&[
        "simulate",
        "--net",
        net.to_str().unwrap(),
        "--hw",
        "tiny",
        "--layers",
        "conv2",
        "--weights",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The simulator ran on these values, not on generated ones: its
    // performed MACs are exactly the taps where both the file's ifmap value
    // (zero where i % 7 == 0) and weight (zero where i % 5 == 2) are
    // non-zero, counted here directly over the 3×3 padded convolution.
    let mut want = 0u64;
    for n in 0..2usize {
        for m in 0..4usize {
            for c in 0..4usize {
                for y in 0..6i64 {
                    for x in 0..6i64 {
                        for r in 0..3i64 {
                            for s in 0..3i64 {
                                let (iy, ix) = (y + r - 1, x + s - 1);
                                if !(0..6).contains(&iy) || !(0..6).contains(&ix) {
                                    continue;
                                }
                                let xi = ((n * 4 + c) * 36) as i64 + iy * 6 + ix;
                                let wi = ((m * 4 + c) * 9) as i64 + r * 3 + s;
                                want +=
                                    u64::from(ifmap[xi as usize] != 0 && weights[wi as usize] != 0);
                            }
                        }
                    }
                }
            }
        }
    }
    let layers = std::fs::read_to_string(out.join("layers.csv")).unwrap();
    let row: Vec<&str> = layers.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row[1], "conv2");
    assert_eq!(row[5].parse::<u64>().unwrap(), want, "{layers}");
    // Missing files are named.
    let o = eyesim(&[
        "simulate",
        "--net",
        net.to_str().unwrap(),
        "--hw",
        "tiny",
        "--layers",
        "conv1",
        "--weights",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("conv1.ifmap.npy"));
}

/// `--inject-fault`: a data fault exits 1 naming the first wrong ofmap
/// value; a delay exits 0 and reports the cycles it cost; `--help` lists
/// the kinds and components; a fault no layer reaches is an error.
#[test]
fn cli_injected_faults_are_caught_and_delays_only_cost_time() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("small.toml");
    std::fs::write(&net, SMALL_NET).unwrap();
    let run = |fault: &str| {
        eyesim(&[
            "simulate",
            "--net",
            net.to_str().unwrap(),
            "--hw",
            "tiny",
            "--layers",
            "conv1",
            "--out",
            dir.path().join("out").to_str().unwrap(),
            "--inject-fault",
            fault,
        ])
    };
    for fault in [
        "flip:gon:5",
        "drop:psum-gin:1",
        "tag:filter-gin:2",
        "flip:dram:1",
    ] {
        let o = run(fault);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{fault}: {err}");
        assert!(
            err.contains("layer conv1") && err.contains("image") && err.contains("column"),
            "{fault}: {err}"
        );
    }
    let o = run("delay=500:ifmap-gin:3");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = text
        .lines()
        .find(|l| l.starts_with("fault "))
        .expect("a fault line");
    // "... cycles W with the fault, O without (+D), processing cycles P and Q"
    let after = |key: &str| -> i64 {
        let at = line.find(key).unwrap_or_else(|| panic!("{key}: {line}")) + key.len();
        line[at..]
            .trim_start_matches([' ', '(', '+'])
            .split(|c: char| !c.is_ascii_digit() && c != '-')
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("{key}: {line}"))
    };
    let (with, without, delta) = (after("; cycles"), after("fault,"), after("without"));
    assert_eq!(with - without, delta, "{line}");
    assert!(
        delta > 0,
        "a 500-cycle delay on the ifmap GIN cost nothing: {line}"
    );
    assert!(after("processing cycles") >= after(" and"), "{line}");
    let o = run("drop:ifmap-gin:999999999");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no layer has that many"));
    let o = eyesim(&["simulate", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    for word in [
        "drop",
        "dup",
        "delay",
        "tag",
        "flip",
        "filter-gin",
        "ifmap-gin",
        "psum-gin",
        "gon",
        "local-link",
        "dram",
        "rlc-decode",
    ] {
        assert!(help.contains(word), "--help does not list {word}");
    }
}

/// Runs that cannot fit are refused before anything is allocated, saying
/// what they need and what to change (issue 13 §3).
#[test]
fn cli_simulations_too_large_for_memory_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let fc = dir.path().join("hugefc.toml");
    std::fs::write(
        &fc,
        "[network]\nname = \"hugefc\"\nbatch = 1\ninput = [1000000, 1, 1]\n\n\
         [[layer]]\nname = \"fc\"\nkind = \"fc\"\noutputs = 16384\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let conv1_on = |threads: &[&'static str]| {
        let mut a = vec!["simulate", "--layers", "conv1", "--max-memory", "5M"];
        a.extend_from_slice(threads);
        a
    };
    for (args, needles) in [
        (
            vec![
                "simulate",
                "--batch",
                "1000000",
                "--layers",
                "conv1",
                "--max-memory",
                "16G",
            ],
            ["layer conv1", "ifmap 865.1 GiB", "16.0 GiB limit"],
        ),
        (
            vec![
                "simulate",
                "--net",
                fc.to_str().unwrap(),
                "--max-memory",
                "4G",
            ],
            ["layer fc", "weights 61.0 GiB", "4.0 GiB limit"],
        ),
        // Two threads: the psum tiles run ahead hold the ofmap once more
        // (2.2 MiB), and a second GLB and PE array (0.9 MiB).
        (
            conv1_on(&["--threads", "1"]),
            ["layer conv1", "about 11.3 MiB", "5.0 MiB limit"],
        ),
        (
            conv1_on(&["--threads", "2"]),
            ["layer conv1", "about 14.4 MiB", "5.0 MiB limit"],
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--out", out.to_str().unwrap()]);
        let o = eyesim(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{n} not in {err}");
        }
        assert!(!out.exists());
    }
    // A run that would take long says so first (here AlexNet at batch 10^6,
    // refused anyway for its memory).
    let o = eyesim(&[
        "simulate",
        "--batch",
        "1000000",
        "--layers",
        "conv1",
        "--max-memory",
        "16G",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning:") && err.contains("minutes"), "{err}");
    // The same layer within the limit runs, without the warning.
    let o = eyesim(&[
        "simulate",
        "--layers",
        "conv1",
        "--batch",
        "1",
        "--max-memory",
        "1G",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning:"));
}
