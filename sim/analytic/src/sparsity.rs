//! Expected effects of zeros: which taps read what (docs/dataflow.md §5),
//! and the expected size of run-length-coded streams in DRAM.

use crate::hw::{HwConfig, RlcFormat};
use crate::workload::ConvProblem;

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
///
/// A pair ends at every non-zero value, at the (max_run+1)-th zero of a run
/// (its level is then a zero) and at the end of the stream. In a long stream
/// pairs end at the rate `1 / Σ_{k=0}^{max_run} zero^k`; the stream end adds
/// one more pair when the stream ends in zeros (probability `zero`). Pairs
/// are packed `pairs_per_word` to a word; each stream is rounded up to whole
/// words separately. Exact for dense streams.
pub(crate) fn stream_words(len: u64, zero: f64, rlc: Option<&RlcFormat>, word_bits: u32) -> f64 {
    let Some(rlc) = rlc else {
        return len as f64;
    };
    if len == 0 {
        return 0.0;
    }
    let pairs = if zero <= 0.0 {
        len as f64
    } else {
        let mut sum = 0.0;
        let mut pow = 1.0;
        for _ in 0..=rlc.max_run() {
            sum += pow;
            pow *= zero;
        }
        len as f64 / sum + zero
    };
    let per_word = f64::from(rlc.pairs_per_word().max(1));
    let sub_words = f64::from(rlc.word_bits.div_ceil(word_bits));
    // The tolerance keeps float noise from adding a word to an exact fit.
    (pairs / per_word - 1e-9).ceil().max(1.0) * sub_words
}

#[cfg(test)]
mod tests {
    use super::*;

    const FMT: RlcFormat = RlcFormat {
        run_bits: 5,
        level_bits: 16,
        word_bits: 64,
    };

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
