//! Expected effects of zeros: which taps read what (docs/dataflow.md §5),
//! and the expected size of run-length-coded streams in DRAM.

use crate::hw::{HwConfig, RlcFormat};
use crate::workload::ConvProblem;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Expected per-layer tap outcomes for the whole batch. They do not depend
/// on the mapping: every tap runs exactly once in some PE.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TapSplit {
    /// RF ifmap reads (taps not removed by weight compression).
    pub ifmap_reads: f64,
    /// RF filter reads.
    pub filter_reads: f64,
    /// MACs performed.
    pub performed: f64,
    /// Taps gated (zero ifmap or zero weight).
    pub gated: f64,
    /// Taps skipped (zero-skipped ifmaps, compressed-away weights).
    pub skipped: f64,
}

impl TapSplit {
    /// Splits `taps` taps, of which `zero_x` see a zero ifmap value.
    pub fn new(prob: &ConvProblem, hw: &HwConfig, taps: f64, zero_x: f64) -> TapSplit {
        if !prob.op.has_weights() {
            return TapSplit {
                ifmap_reads: taps,
                filter_reads: 0.0,
                performed: taps,
                gated: 0.0,
                skipped: 0.0,
            };
        }
        let sp = &hw.sparsity;
        let d = prob.weight_density;
        // Weight compression removes zero-weight taps before anything is read.
        let (kept, zero_x, mut skipped) = if sp.weight_compression {
            (taps * d, zero_x * d, taps * (1.0 - d))
        } else {
            (taps, zero_x, 0.0)
        };
        let mut gated = 0.0;
        let filter_reads = if sp.zero_skipping {
            skipped += zero_x;
            kept - zero_x
        } else if sp.zero_gating {
            gated += zero_x;
            kept - zero_x
        } else {
            kept
        };
        let performed = if sp.weight_compression {
            filter_reads
        } else {
            gated += filter_reads * (1.0 - d);
            filter_reads * d
        };
        TapSplit {
            ifmap_reads: kept,
            filter_reads,
            performed,
            gated,
            skipped,
        }
    }

    /// Fraction of taps that take a PE cycle.
    pub fn cycle_fraction(&self, taps: f64) -> f64 {
        if taps == 0.0 {
            1.0
        } else {
            1.0 - self.skipped / taps
        }
    }
}

/// Expected DRAM words (of `word_bits`) of one stream of `len` values of
/// which a fraction `zero` is zero, coded with `rlc` (or plain when `None`).
/// See [`RlcStreams`]; for many streams of one layer, build that once.
pub(crate) fn stream_words(len: u64, zero: f64, rlc: Option<&RlcFormat>, word_bits: u32) -> f64 {
    RlcStreams::new(zero, rlc, word_bits, len).words(len)
}

/// Expected DRAM words of run-length-coded streams whose values are zero
/// independently with probability `zero`, for every stream length up to a
/// bound (docs/dataflow.md §7, "Expected RLC words").
///
/// A pair ends at every non-zero value and at the `(max_run+1)`-th zero of
/// a run; a stream ending in zeros adds one more pair (a trailing run, or
/// the split of a final `(max_run, 0)`, `data::rlc`). Each stream is then
/// rounded up to whole words *separately*, so what counts is the mean of
/// `ceil(pairs / pairs_per_word)`, not the rounded mean: on short streams
/// (a 2-row strip of a 13-wide ofmap is 26 values) the two differ by up to
/// a word in three. The table holds that mean, from the exact distribution
/// of the pair count modulo `pairs_per_word` (a Markov chain over the open
/// run length), up to the length where the chain has forgotten its start;
/// from there every further value adds the stationary pair rate.
pub(crate) struct RlcStreams {
    /// How words follow from the length.
    kind: StreamKind,
    /// Sub-words (of `word_bits`) per DRAM word.
    sub_words: f64,
}

enum StreamKind {
    /// No coding: one word per value.
    Plain,
    /// No zeros: one pair per value, exactly.
    Dense { per_word: u64 },
    /// Every value zero: the pair count is a function of the length.
    AllZero { per_word: u64, group: u64 },
    /// `table[L]` = expected DRAM words of a stream of `L` values, for
    /// `L < table.len()`; beyond, `step` more per value.
    Random { table: Arc<[f64]>, step: f64 },
}

/// A chain's table and its stationary step, shared by every stream model
/// with the same inputs.
type Chain = (Arc<[f64]>, f64);

thread_local! {
    /// Chain tables this thread has built, by their inputs (zero fraction
    /// bits, longest run, pairs a word, longest stream). A sweep models the
    /// same layers at every point, and a table takes about as long as the
    /// rest of a layer's model; the table is a pure function of the key,
    /// so sharing it changes no number.
    static CHAINS: RefCell<HashMap<(u64, u64, u64, u64), Chain>> = RefCell::new(HashMap::new());
}

/// Tables kept per thread before the cache starts over.
const CHAINS_KEPT: usize = 1024;

/// [`chain_table`], built once per thread for each set of inputs.
fn shared_chain_table(zero: f64, max_run: u64, per_word: u64, max_len: u64) -> Chain {
    let key = (zero.to_bits(), max_run, per_word, max_len);
    if let Some(hit) = CHAINS.with(|c| c.borrow().get(&key).cloned()) {
        return hit;
    }
    let (table, step) = chain_table(zero, max_run, per_word, max_len);
    let chain: Chain = (table.into(), step);
    CHAINS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CHAINS_KEPT {
            c.clear();
        }
        c.insert(key, chain.clone());
    });
    chain
}

/// Probability mass below which a run-length state is dropped: far below
/// what an `f64` sum of words can resolve.
const NEGLIGIBLE: f64 = 1e-18;
/// Distance from the stationary regime at which the table stops.
const CONVERGED: f64 = 1e-13;
/// Stream length up to which the table runs when the chain has not
/// converged: beyond it a value adds the last step's words.
const EXTRAPOLATE_FROM: u64 = 4096;

impl RlcStreams {
    /// Tables stream lengths up to `max_len` (longer ones still work, by
    /// extrapolation once the chain has converged, or by a longer table).
    pub(crate) fn new(zero: f64, rlc: Option<&RlcFormat>, word_bits: u32, max_len: u64) -> Self {
        let Some(rlc) = rlc else {
            return RlcStreams {
                kind: StreamKind::Plain,
                sub_words: 1.0,
            };
        };
        let per_word = u64::from(rlc.pairs_per_word().max(1));
        let kind = if zero <= 0.0 {
            StreamKind::Dense { per_word }
        } else if zero >= 1.0 {
            StreamKind::AllZero {
                per_word,
                group: u64::from(rlc.max_run()) + 1,
            }
        } else {
            let (table, step) =
                shared_chain_table(zero, u64::from(rlc.max_run()), per_word, max_len);
            StreamKind::Random { table, step }
        };
        RlcStreams {
            kind,
            sub_words: f64::from(rlc.word_bits.div_ceil(word_bits)),
        }
    }

    /// Expected words (of `word_bits`) of one stream of `len` values.
    pub(crate) fn words(&self, len: u64) -> f64 {
        if len == 0 {
            return 0.0;
        }
        let dram_words = match &self.kind {
            StreamKind::Plain => return len as f64,
            StreamKind::Dense { per_word } => len.div_ceil(*per_word) as f64,
            // `L` zeros: a pair per complete group, one for the rest or
            // for the split of a final full group.
            StreamKind::AllZero { per_word, group } => (len / group + 1).div_ceil(*per_word) as f64,
            StreamKind::Random { table, step } => match table.get(len as usize) {
                Some(&w) => w,
                None => {
                    let last = table.len() - 1;
                    table[last] + (len - last as u64) as f64 * step
                }
            },
        };
        dram_words * self.sub_words
    }
}

/// The exact mean of `ceil(pairs / per_word)` for stream lengths from 0
/// up to where the chain is stationary (at most `max(max_len, 4096)`), and
/// the mean words a value adds from there on.
///
/// State: the open run of zeros `r` (index `r`, 0 after a non-zero value)
/// or "a full group just closed" (index `max_run + 1`: no open run, but the
/// stream's last value was a zero), each split by pairs mod `per_word`.
fn chain_table(zero: f64, max_run: u64, per_word: u64, max_len: u64) -> (Vec<f64>, f64) {
    let k = per_word as usize;
    // Runs longer than the stream, or of negligible probability, are dropped.
    let deep = (NEGLIGIBLE.ln() / zero.ln()).ceil().max(1.0) as u64;
    // Past `max_len` the chain runs on until it converges (up to
    // `EXTRAPOLATE_FROM` values), so that longer streams extrapolate
    // from a stationary chain.
    let steps = max_len.max(EXTRAPOLATE_FROM);
    let runs = max_run.min(steps).min(deep) as usize;
    let closed = runs + 1;
    let states = runs + 2;
    let mut p = vec![0.0; states * k];
    let mut next = vec![0.0; states * k];
    p[0] = 1.0;
    let mut table = vec![0.0];
    let mut step = 0.0;
    let mut settled = 0;
    // Mean pairs closed so far (before the end-of-stream pair).
    let mut pairs = 0.0;
    for _ in 0..steps {
        next.fill(0.0);
        let mut at_max_run = 0.0;
        for s in 0..states {
            let r = if s == closed { 0 } else { s };
            for j in 0..k {
                let mass = p[s * k + j];
                if mass == 0.0 {
                    continue;
                }
                let j1 = (j + 1) % k;
                next[j1] += mass * (1.0 - zero);
                if r as u64 == max_run {
                    at_max_run += mass;
                    next[closed * k + j1] += mass * zero;
                } else if r < runs {
                    next[(r + 1) * k + j] += mass * zero;
                }
            }
        }
        // Every non-zero value closes a pair; so does a zero after a full run.
        pairs += (1.0 - zero) + at_max_run * zero;
        std::mem::swap(&mut p, &mut next);
        let words = mean_words(&p, k, pairs);
        let before = *table.last().unwrap_or(&0.0);
        let delta = words - before;
        table.push(words);
        if (delta - step).abs() < CONVERGED && off_uniform(&p, k) < CONVERGED {
            settled += 1;
            // A few steady steps in a row: the chain is stationary.
            if settled >= 4 {
                return (table, delta);
            }
        } else {
            settled = 0;
        }
        step = delta;
    }
    (table, step)
}

/// Mean of `ceil(pairs_at_end / k)` given the state distribution `p` and
/// the mean pairs closed before the end: a stream whose last value is zero
/// (every state but 0) ends with one more pair, and only the pair count
/// mod `k` decides the rounding, so the mean is
/// `(E[pairs_at_end] + E[(−pairs_at_end) mod k]) / k`.
fn mean_words(p: &[f64], k: usize, pairs: f64) -> f64 {
    let (mut end_pairs, mut pad) = (0.0, 0.0);
    for (s, row) in p.chunks(k).enumerate() {
        let extra = usize::from(s != 0);
        for (j, &mass) in row.iter().enumerate() {
            end_pairs += mass * extra as f64;
            pad += mass * ((k - (j + extra) % k) % k) as f64;
        }
    }
    (pairs + end_pairs + pad) / k as f64
}

/// Σ over states of how far the pair count mod `k` is from uniform.
fn off_uniform(p: &[f64], k: usize) -> f64 {
    p.chunks(k)
        .map(|row| {
            let mean = row.iter().sum::<f64>() / k as f64;
            row.iter().map(|&m| (m - mean).abs()).sum::<f64>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-thread table cache gives what building the table gives, for
    /// inputs that differ in one part of the key at a time.
    #[test]
    fn shared_chain_tables_are_the_chains_of_their_own_inputs() {
        // A chain near all zeros converges slowly, so its table's length
        // depends on the longest stream asked for.
        let cases = [
            (0.4, 31, 3, 40),
            (0.999_99, 31, 3, 5000),
            (0.999_99, 31, 3, 9000),
            (0.41, 31, 3, 40),
            (0.4, 7, 3, 40),
            (0.4, 31, 2, 40),
        ];
        let (long, short) = (
            chain_table(0.999_99, 31, 3, 9000),
            chain_table(0.999_99, 31, 3, 5000),
        );
        assert_ne!(
            long.0.len(),
            short.0.len(),
            "the longest stream must matter here"
        );
        for _ in 0..2 {
            for &(zero, run, per_word, len) in &cases {
                let (table, step) = shared_chain_table(zero, run, per_word, len);
                let (want, want_step) = chain_table(zero, run, per_word, len);
                assert_eq!(&table[..], &want[..], "{zero} {run} {per_word} {len}");
                assert_eq!(step.to_bits(), want_step.to_bits());
            }
        }
    }

    const FMT: RlcFormat = RlcFormat {
        run_bits: 5,
        level_bits: 16,
        word_bits: 64,
    };

    /// The exact mean words of a stream of `len` values, each zero with
    /// probability `zero`: every zero pattern coded by the real encoder.
    fn enumerated(len: u32, zero: f64, fmt: &RlcFormat) -> f64 {
        let mut mean = 0.0;
        for mask in 0u32..1 << len {
            let zeros = mask.count_ones() as i32;
            let p = zero.powi(zeros) * (1.0 - zero).powi(len as i32 - zeros);
            let values: Vec<i16> = (0..len)
                .map(|i| if mask >> i & 1 == 1 { 0 } else { 7 })
                .collect();
            mean += p * eyesim_core::data::rlc::encode(&values, fmt).len() as f64;
        }
        mean * f64::from(fmt.word_bits.div_ceil(16))
    }

    #[test]
    fn mean_words_match_every_zero_pattern_through_the_encoder() {
        // 1-bit runs: groups of two zeros close pairs, and a stream can end
        // in a full group (the split pair).
        let short = RlcFormat {
            run_bits: 1,
            level_bits: 16,
            word_bits: 64,
        };
        for fmt in [FMT, short] {
            for zero in [0.0, 0.2, 0.5, 0.793, 0.97, 1.0] {
                let streams = RlcStreams::new(zero, Some(&fmt), 16, 14);
                for len in 0..=14 {
                    let want = enumerated(len, zero, &fmt);
                    let got = streams.words(u64::from(len));
                    assert!(
                        (got - want).abs() < 1e-9,
                        "{fmt:?} z {zero} L {len}: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// The mean words of `samples` random streams of `len` values (each zero
    /// with probability `zero`) through the real encoder, and the standard
    /// error of that mean.
    fn sampled(len: usize, zero: f64, samples: u32) -> (f64, f64) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(26);
        let (mut sum, mut sq) = (0.0, 0.0);
        for _ in 0..samples {
            let values: Vec<i16> = (0..len)
                .map(|_| if rng.gen_bool(zero) { 0 } else { 9 })
                .collect();
            let w = 4.0 * eyesim_core::data::rlc::encode(&values, &FMT).len() as f64;
            sum += w;
            sq += w * w;
        }
        let n = f64::from(samples);
        let mean = sum / n;
        (mean, ((sq / n - mean * mean) / n).sqrt())
    }

    #[test]
    fn rounding_each_short_stream_is_not_rounding_the_mean() {
        // AlexNet CONV3 on tiny: 26-value ofmap streams at 79.3% zeros. The
        // mean pair count is 6.2 (3 words of 64 b when rounded up); the
        // encoder on random streams averages 2.39 words.
        let words = RlcStreams::new(0.793, Some(&FMT), 16, 26).words(26);
        let (mean, se) = sampled(26, 0.793, 40_000);
        assert!((words - mean).abs() < 4.0 * se, "{words} vs {mean} ± {se}");
        assert!(words < 4.0 * 2.5, "{words}: not the rounded mean (3 words)");
    }

    #[test]
    fn long_streams_follow_the_encoder_and_the_stationary_rate() {
        for zero in [0.1, 0.5, 0.9] {
            let streams = RlcStreams::new(zero, Some(&FMT), 16, 40);
            // Past the table, a value adds the stationary pair rate
            // `1 / Σ_{j ≤ max_run} z^j`, a third of a 4-sub-word word each.
            let rate = 1.0
                / (0..=FMT.max_run())
                    .map(|j| zero.powi(j as i32))
                    .sum::<f64>();
            let (a, b) = (streams.words(20_000), streams.words(50_000));
            let want = 30_000.0 * rate / 3.0 * 4.0;
            assert!(
                (b - a - want).abs() < 1e-6 * want,
                "z {zero}: {} vs {want}",
                b - a
            );
            // And the encoder agrees at a length past convergence.
            let (mean, se) = sampled(600, zero, 4_000);
            let words = streams.words(600);
            assert!(
                (words - mean).abs() < 4.0 * se,
                "z {zero}: {words} vs {mean} ± {se}"
            );
        }
    }

    #[test]
    fn dense_stream_is_exact() {
        // 10 values → 10 pairs → 4 words of 64 b → 16 sixteen-bit words.
        assert_eq!(stream_words(10, 0.0, Some(&FMT), 16), 16.0);
        assert_eq!(stream_words(9, 0.0, Some(&FMT), 16), 12.0);
        assert_eq!(stream_words(9, 0.5, None, 16), 9.0);
    }

    #[test]
    fn zeros_shrink_streams_monotonically() {
        let mut last = f64::INFINITY;
        for k in 0..=20 {
            let w = stream_words(3000, f64::from(k) / 20.0, Some(&FMT), 16);
            assert!(w <= last, "words grew at zero fraction {}", k);
            last = w;
        }
        // All zeros: a pair per 32 zeros plus the end → ceil((3000/32 + 1)/3) words.
        let all = stream_words(3000, 1.0, Some(&FMT), 16);
        assert_eq!(all, ((3000.0 / 32.0 + 1.0) / 3.0f64).ceil() * 4.0);
    }
}
