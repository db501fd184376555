//! A small mutation fuzzer: seeded, deterministic, novelty-guided by the
//! outcome's signature.

use super::targets::Target;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// Largest input the mutators grow to.
const MAX_LEN: usize = 64 * 1024;
/// Largest corpus kept (seeds plus novel mutants).
const MAX_CORPUS: usize = 2000;

/// Numbers that sit on edges of the validators' ranges and of the types.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "3",
    "7",
    "16",
    "255",
    "256",
    "65535",
    "65536",
    "4096",
    "4097",
    "1048576",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "18446744073709551616",
    "1.5",
    "0.5",
    "1e-300",
    "1e308",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "+1",
    "1_000",
    "0x10",
];

/// What a run found.
#[derive(Debug, Default)]
pub struct Stats {
    /// Inputs tried.
    pub cases: usize,
    /// Inputs the target accepted.
    pub accepted: usize,
    /// Distinct outcome signatures seen.
    pub signatures: usize,
    /// Final corpus size.
    pub corpus: usize,
    /// Wall time.
    pub seconds: f64,
    /// Panics and oracle violations, with the saved input's path.
    pub failures: Vec<String>,
}

/// Runs `target` on one input: `Ok(signature)`, or why it failed (a panic,
/// or a violated property).
pub fn check_one(target: &Target, input: &[u8]) -> Result<String, String> {
    match catch_unwind(AssertUnwindSafe(|| (target.check)(input))) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("panic: {msg}"))
        }
    }
}

/// An error message as a signature: its first line up to the first quote
/// (the message's template, not the quoted input), digits blanked, so that
/// messages differing only in values or places count as one.
pub fn signature(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or("");
    let head = first.split(['`', '"', '\'']).next().unwrap_or("");
    let mut out = String::new();
    for c in head.chars().take(100) {
        if c.is_ascii_digit() {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The fuzzer's state for one target.
pub struct Fuzzer<'a> {
    target: &'a Target,
    rng: ChaCha8Rng,
    corpus: Vec<Vec<u8>>,
    seen: HashSet<String>,
}

impl<'a> Fuzzer<'a> {
    /// A fuzzer over `target`'s seeds, with a deterministic `seed`.
    pub fn new(target: &'a Target, seed: u64) -> Self {
        Fuzzer {
            target,
            rng: ChaCha8Rng::seed_from_u64(seed),
            corpus: target.seeds.clone(),
            seen: HashSet::new(),
        }
    }

    /// Runs the seeds, then `n` mutants.
    pub fn run(&mut self, n: usize) -> Stats {
        let start = Instant::now();
        let mut stats = Stats::default();
        let seeds = self.corpus.clone();
        for s in &seeds {
            self.try_input(s, &mut stats, false);
        }
        for _ in 0..n {
            if !stats.failures.is_empty() {
                break; // one saved input is enough to debug
            }
            let input = self.mutant();
            self.try_input(&input, &mut stats, true);
        }
        stats.signatures = self.seen.len();
        if std::env::var_os("EYESIM_FUZZ_DUMP").is_some() {
            let mut sigs: Vec<&String> = self.seen.iter().collect();
            sigs.sort();
            for s in sigs.iter().step_by((sigs.len() / 15).max(1)) {
                eprintln!("  {}: {s}", self.target.name);
            }
        }
        stats.corpus = self.corpus.len();
        stats.seconds = start.elapsed().as_secs_f64();
        stats
    }

    fn try_input(&mut self, input: &[u8], stats: &mut Stats, keep: bool) {
        stats.cases += 1;
        match check_one(self.target, input) {
            Ok(sig) => {
                if sig == "ok" {
                    stats.accepted += 1;
                }
                if self.seen.insert(sig) && keep && self.corpus.len() < MAX_CORPUS {
                    self.corpus.push(input.to_vec());
                }
            }
            Err(why) => {
                let path = std::env::temp_dir().join(format!(
                    "eyesim-fuzz-{}-{}.bin",
                    self.target.name,
                    stats.failures.len()
                ));
                let _ = std::fs::write(&path, input);
                stats
                    .failures
                    .push(format!("{why} (input saved to {})", path.display()));
            }
        }
    }

    fn mutant(&mut self) -> Vec<u8> {
        let k = self.rng.gen_range(0..self.corpus.len());
        let mut v = self.corpus[k].clone();
        for _ in 0..self.rng.gen_range(1..=4) {
            self.mutate(&mut v);
        }
        v.truncate(MAX_LEN);
        v
    }

    fn mutate(&mut self, v: &mut Vec<u8>) {
        let r = &mut self.rng;
        let pos = |r: &mut ChaCha8Rng, v: &[u8]| r.gen_range(0..=v.len());
        match r.gen_range(0..9) {
            0 if !v.is_empty() => {
                let i = r.gen_range(0..v.len());
                v[i] ^= 1 << r.gen_range(0..8);
            }
            1 if !v.is_empty() => {
                let i = r.gen_range(0..v.len());
                const BYTES: &[u8] = b"\0\xff\n\"'=[]{},.-+:x0123456789 #\\";
                v[i] = BYTES[r.gen_range(0..BYTES.len())];
            }
            2 => {
                let d = self.target.dictionary;
                if !d.is_empty() {
                    let tok = d[r.gen_range(0..d.len())];
                    let i = pos(r, v);
                    v.splice(i..i, tok.iter().copied());
                }
            }
            3 if !v.is_empty() => {
                let i = r.gen_range(0..v.len());
                let j = (i + r.gen_range(1..=16)).min(v.len());
                v.drain(i..j);
            }
            4 if !v.is_empty() => {
                let i = r.gen_range(0..v.len());
                let j = (i + r.gen_range(1..=64)).min(v.len());
                let part: Vec<u8> = v[i..j].to_vec();
                let at = pos(r, v);
                v.splice(at..at, part);
            }
            5 => {
                let other = &self.corpus[r.gen_range(0..self.corpus.len())];
                let cut = pos(r, v);
                let from = r.gen_range(0..=other.len());
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            6 => {
                // Replace a run of digits with an interesting number.
                let starts: Vec<usize> = (0..v.len())
                    .filter(|&i| v[i].is_ascii_digit() && (i == 0 || !v[i - 1].is_ascii_digit()))
                    .collect();
                if !starts.is_empty() {
                    let i = starts[r.gen_range(0..starts.len())];
                    let j = (i..v.len())
                        .find(|&j| !v[j].is_ascii_digit())
                        .unwrap_or(v.len());
                    let n = NUMBERS[r.gen_range(0..NUMBERS.len())];
                    v.splice(i..j, n.bytes());
                }
            }
            7 if !v.is_empty() => {
                let i = r.gen_range(0..v.len());
                v.truncate(i);
            }
            _ => {
                // A little-endian integer overwrite (binary formats).
                if v.len() >= 4 {
                    let i = r.gen_range(0..v.len() - 3);
                    let x: u32 = match r.gen_range(0..4) {
                        0 => 0,
                        1 => u32::MAX,
                        2 => r.gen(),
                        _ => 1 << r.gen_range(0..32),
                    };
                    v[i..i + 4].copy_from_slice(&x.to_le_bytes());
                }
            }
        }
    }
}
