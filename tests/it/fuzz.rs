//! Fuzzing the input readers (issue 13 §6): hwconfigs, traces, sweep specs
//! and `--vary` values, pruning floors, mappings files, ONNX models and
//! `.npy` files. (eyesim has no IDX reader.)
//!
//! Each target starts from a seed corpus of the shipped files and mutates
//! them with byte- and token-level edits (bit flips, interesting numbers
//! and TOML tokens, deletions, duplications, splices between seeds). A
//! mutant whose outcome has a new *signature* (accepted, or the error
//! message with numbers and locations stripped) joins the corpus, so the
//! search spreads over the validators' branches without instrumentation.
//! The oracle: no panic, every error has a message, and an accepted trace
//! reads back identically after `to_trace_toml`.
//!
//! A short run is part of `cargo test` (a few seconds). Longer runs, with
//! `--nocapture` for the statistics (see docs/fuzzing.md):
//!
//! ```sh
//! EYESIM_FUZZ_CASES=100000 EYESIM_FUZZ_SEED=7 cargo test --release --test it fuzz -- --nocapture
//! ```
//!
//! A failing input is written to `$TMPDIR/eyesim-fuzz-<target>-<n>.bin`;
//! after fixing the bug, add it to `tests/it/fuzz/<target>/`, where every
//! file is replayed by [`regressions_still_pass`].

mod engine;
mod targets;

use engine::{Fuzzer, Stats};
use std::path::Path;

/// Cases per target in `cargo test`, unless `EYESIM_FUZZ_CASES` says more.
const SHORT_CASES: usize = 3000;

fn cases(default: usize) -> usize {
    std::env::var("EYESIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed() -> u64 {
    std::env::var("EYESIM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn run(target: &targets::Target, n: usize) -> Stats {
    let mut f = Fuzzer::new(target, seed());
    let stats = f.run(n);
    eprintln!(
        "fuzz {:<10} {:>7} cases, {:>5} accepted, {:>4} signatures, corpus {:>4}, {:.2} s",
        target.name, stats.cases, stats.accepted, stats.signatures, stats.corpus, stats.seconds
    );
    assert!(
        stats.failures.is_empty(),
        "{}: {} failing inputs, e.g. {}",
        target.name,
        stats.failures.len(),
        stats.failures[0]
    );
    stats
}

#[test]
fn fuzz_hwconfig() {
    run(&targets::hwconfig(), cases(SHORT_CASES));
}

#[test]
fn fuzz_trace() {
    run(&targets::trace(), cases(SHORT_CASES / 2));
}

#[test]
fn fuzz_sweep_spec() {
    run(&targets::sweep_spec(), cases(SHORT_CASES));
}

#[test]
fn fuzz_floors() {
    run(&targets::floors(), cases(SHORT_CASES));
}

#[test]
fn fuzz_mappings() {
    run(&targets::mappings(), cases(SHORT_CASES));
}

#[cfg(feature = "onnx")]
#[test]
fn fuzz_onnx() {
    run(&targets::onnx(), cases(SHORT_CASES));
}

#[test]
fn fuzz_npy() {
    // Each case is a file on disk: fewer in the short run.
    run(&targets::npy(), cases(SHORT_CASES / 6));
}

/// The fuzzer finds seeded bugs: a target that panics on a byte that
/// mutations produce is caught, with the input saved.
#[test]
fn the_fuzzer_catches_a_planted_panic() {
    let planted = targets::Target {
        name: "planted",
        seeds: vec![b"rows = 12\n".to_vec()],
        dictionary: &[b"99999"],
        check: |input: &[u8]| {
            if input.windows(3).any(|w| w == b"999") {
                panic!("planted bug");
            }
            Ok(String::new())
        },
    };
    let mut f = Fuzzer::new(&planted, 3);
    let stats = f.run(2000);
    assert!(
        !stats.failures.is_empty(),
        "the planted panic was not found"
    );
    assert!(
        stats.failures[0].contains("planted bug"),
        "{}",
        stats.failures[0]
    );
}

/// Every saved crash input still passes its target.
#[test]
fn regressions_still_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fuzz");
    let mut replayed = 0;
    for t in targets::all() {
        let dir = root.join(t.name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            let input = std::fs::read(&p).unwrap();
            if let Err(why) = engine::check_one(&t, &input) {
                panic!("{}: {why}", p.display());
            }
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no regression inputs under {}",
        root.display()
    );
}
