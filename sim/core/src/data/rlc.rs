//! Run-length coding of feature maps in DRAM (docs/reference.md §1).
//!
//! # Pairs
//! A stream of 16-bit values becomes a sequence of `(run, level)` pairs; a
//! pair stands for `run` zeros followed by the value `level` (which may be
//! 0), i.e. `run + 1` values. With `max_run = 2^run_bits − 1`:
//!
//! * a non-zero value `v` after `z ≤ max_run` zeros is `(z, v)`;
//! * a zero after `max_run` zeros is `(max_run, 0)`: every complete group of
//!   `max_run + 1` zeros costs one pair;
//! * `z ≥ 1` trailing zeros left at the end are `(z − 1, 0)`, so the decoder
//!   restores the exact length;
//! * the stream never ends with `(max_run, 0)`: if it would, that last pair
//!   is written as `(max_run − 1, 0), (0, 0)` instead (same values, one more
//!   pair). This frees `(max_run, 0)` to mark unused slots (below).
//!
//! # Words
//! Pairs are packed `pairs_per_word = (word_bits − 1) / (run_bits +
//! level_bits)` to a DRAM word, first pair in the lowest bits. With `P =
//! run_bits + level_bits`, pair `k` of a word occupies bits `k·P ..
//! (k+1)·P`: the run in its low `run_bits` bits, the level (two's
//! complement, `level_bits` wide) in the `level_bits` above. Bit
//! `word_bits − 1` is the last-word flag, set only in the stream's last word.
//! Bits between the last pair and the flag are 0. Unused pair slots of the
//! last word hold `(max_run, 0)`; the decoder drops trailing `(max_run, 0)`
//! pairs of the last word, which is unambiguous because the stream never
//! ends with that pair. An empty stream has no words.
//!
//! For eyeriss-v1 (5-bit runs, 16-bit levels, 64-bit words): three 21-bit
//! pairs at bits 0, 21 and 42, the flag at bit 63.
//!
//! The format must satisfy `run_bits ≥ 1`, `level_bits ≥ 16`,
//! `word_bits ≤ 64` and `pairs_per_word ≥ 1` ([`check_format`]); a
//! validated [`crate::hw::HwConfig`] guarantees it.

use crate::hw::RlcFormat;

/// Most pairs a word can hold under [`check_format`]: 63 bits / 17.
const MAX_PAIRS_PER_WORD: usize = 3;

/// Errors of decoding an RLC stream (or of an unusable format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RlcError {
    /// The format cannot hold 16-bit values in one DRAM word.
    #[error("unusable RLC format (run_bits {run_bits}, level_bits {level_bits}, word_bits {word_bits}): {reason}")]
    Format {
        /// Run field width.
        run_bits: u32,
        /// Level field width.
        level_bits: u32,
        /// DRAM word width.
        word_bits: u32,
        /// Which limit is violated.
        reason: &'static str,
    },
    /// A word before the end carries the last-word flag.
    #[error("RLC word {index} of {words} has the last-word flag set")]
    EarlyLastFlag {
        /// Word index.
        index: usize,
        /// Total words.
        words: usize,
    },
    /// The final word lacks the last-word flag (truncated stream).
    #[error("RLC stream of {words} words: the last word lacks the last-word flag")]
    MissingLastFlag {
        /// Total words.
        words: usize,
    },
    /// Bits outside the pair slots and the flag are not 0.
    #[error("RLC word {index} has non-zero padding bits")]
    PaddingBits {
        /// Word index.
        index: usize,
    },
    /// The last word holds no pair.
    #[error("RLC stream: the last word holds no pair")]
    EmptyLastWord,
    /// A level does not fit in 16 bits.
    #[error("RLC word {index}: level {level} does not fit in 16 bits")]
    LevelRange {
        /// Word index.
        index: usize,
        /// The decoded level.
        level: i64,
    },
}

/// Checks that `fmt` can encode 16-bit values into `u64` words.
pub fn check_format(fmt: &RlcFormat) -> Result<(), RlcError> {
    let err = |reason| RlcError::Format {
        run_bits: fmt.run_bits,
        level_bits: fmt.level_bits,
        word_bits: fmt.word_bits,
        reason,
    };
    if fmt.run_bits == 0 || fmt.run_bits > 31 {
        return Err(err("run_bits must be in 1..=31"));
    }
    if fmt.level_bits < 16 || fmt.level_bits > 63 {
        return Err(err("level_bits must be in 16..=63"));
    }
    if fmt.word_bits > 64 || fmt.word_bits < 2 {
        return Err(err("word_bits must be in 2..=64"));
    }
    if fmt.pairs_per_word() == 0 {
        return Err(err("a word must hold at least one pair plus the flag"));
    }
    Ok(())
}

/// Calls `emit(run, level)` for every pair of the encoding of `values`.
fn for_each_pair(values: &[i16], max_run: u32, mut emit: impl FnMut(u32, i16)) {
    // The last pair is held back one step so that a final (max_run, 0) can be
    // rewritten (see the module doc).
    let mut held: Option<(u32, i16)> = None;
    let mut push = |pair: (u32, i16)| {
        if let Some((r, l)) = held.replace(pair) {
            emit(r, l);
        }
    };
    let mut zeros = 0u32;
    for &v in values {
        if v != 0 {
            push((zeros, v));
            zeros = 0;
        } else if zeros == max_run {
            push((max_run, 0));
            zeros = 0;
        } else {
            zeros += 1;
        }
    }
    if zeros > 0 {
        push((zeros - 1, 0));
    }
    match held {
        Some((r, 0)) if r == max_run => {
            emit(max_run - 1, 0);
            emit(0, 0);
        }
        Some((r, l)) => emit(r, l),
        None => {}
    }
}

/// Number of `(run, level)` pairs in the encoding of `values`.
pub fn pair_count(values: &[i16], fmt: &RlcFormat) -> u64 {
    let mut n = 0u64;
    for_each_pair(values, fmt.max_run(), |_, _| n += 1);
    n
}

/// Number of DRAM words (of `fmt.word_bits`) in the encoding of `values`.
pub fn encoded_words(values: &[i16], fmt: &RlcFormat) -> u64 {
    pair_count(values, fmt).div_ceil(u64::from(fmt.pairs_per_word()))
}

/// Size of the encoding of `values` in 16-bit DRAM words, without
/// allocating: the DRAM traffic the counters charge. Each RLC word occupies
/// `ceil(word_bits / 16)` whole 16-bit words. Works for every format a
/// validated config allows, including words wider than 64 bits.
pub fn encoded_words16(values: &[i16], fmt: &RlcFormat) -> u64 {
    encoded_words(values, fmt) * u64::from(fmt.word_bits.div_ceil(16))
}

/// Encodes `values` (see the module doc for the layout).
///
/// # Panics
/// When `fmt` fails [`check_format`]; use [`try_encode`] for formats that
/// come from outside (a validated config may have words wider than 64 bits).
pub fn encode(values: &[i16], fmt: &RlcFormat) -> Vec<u64> {
    try_encode(values, fmt).unwrap_or_else(|e| panic!("{e}"))
}

/// Encodes `values`, or reports why `fmt` cannot be packed into `u64` words.
pub fn try_encode(values: &[i16], fmt: &RlcFormat) -> Result<Vec<u64>, RlcError> {
    check_format(fmt)?;
    let ppw = fmt.pairs_per_word();
    let pair_bits = fmt.run_bits + fmt.level_bits;
    let level_mask = low_mask(fmt.level_bits);
    let pad = u64::from(fmt.max_run());
    let mut words = Vec::new();
    let (mut word, mut slot) = (0u64, 0u32);
    for_each_pair(values, fmt.max_run(), |run, level| {
        let pair = u64::from(run) | (((level as i64 as u64) & level_mask) << fmt.run_bits);
        word |= pair << (slot * pair_bits);
        slot += 1;
        if slot == ppw {
            words.push(word);
            (word, slot) = (0, 0);
        }
    });
    if slot > 0 {
        for k in slot..ppw {
            word |= pad << (k * pair_bits);
        }
        words.push(word);
    }
    if let Some(last) = words.last_mut() {
        *last |= 1 << (fmt.word_bits - 1);
    }
    Ok(words)
}

fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Decodes a stream written by [`encode`], restoring the exact values.
pub fn decode(words: &[u64], fmt: &RlcFormat) -> Result<Vec<i16>, RlcError> {
    check_format(fmt)?;
    let ppw = fmt.pairs_per_word();
    let pair_bits = fmt.run_bits + fmt.level_bits;
    let flag = 1u64 << (fmt.word_bits - 1);
    let used = low_mask(ppw * pair_bits);
    let max_run = fmt.max_run();
    let mut out = Vec::with_capacity(words.len() * ppw as usize * 2);
    for (index, &word) in words.iter().enumerate() {
        let is_last = index + 1 == words.len();
        match (word & flag != 0, is_last) {
            (true, false) => {
                return Err(RlcError::EarlyLastFlag {
                    index,
                    words: words.len(),
                })
            }
            (false, true) => return Err(RlcError::MissingLastFlag { words: words.len() }),
            _ => {}
        }
        if word & !(used | flag) != 0 {
            return Err(RlcError::PaddingBits { index });
        }
        // check_format bounds a word to 64 bits and a pair to 17, so at most
        // three pairs fit; the buffer avoids an allocation per word.
        let mut pairs = [(0u32, 0i16); MAX_PAIRS_PER_WORD];
        let mut count = 0;
        for k in 0..ppw {
            let pair = word >> (k * pair_bits);
            let run = (pair & low_mask(fmt.run_bits)) as u32;
            let raw = (pair >> fmt.run_bits) & low_mask(fmt.level_bits);
            // Sign-extend the level from level_bits.
            let shift = 64 - fmt.level_bits;
            let level = ((raw << shift) as i64) >> shift;
            let level = i16::try_from(level).map_err(|_| RlcError::LevelRange { index, level })?;
            pairs[count] = (run, level);
            count += 1;
        }
        if is_last {
            while count > 0 && pairs[count - 1] == (max_run, 0) {
                count -= 1;
            }
            if count == 0 {
                return Err(RlcError::EmptyLastWord);
            }
        }
        for &(run, level) in &pairs[..count] {
            out.extend(std::iter::repeat_n(0, run as usize));
            out.push(level);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "rlc_tests.rs"]
mod tests;
