//! The arithmetic and coding the datapath applies to real values.
//!
//! This is the engine's single point of contact with `crate::data`: the
//! PEs, the GLB and the DRAM link call these wrappers, so the engine's
//! arithmetic is by construction the reference's arithmetic.

use crate::hw::RlcFormat;
use crate::workload::{ConvProblem, Op};

/// Borrowed operands of one layer, in the layouts of `data::LayerData`:
/// ifmap `[N][G·C][H][W]`, weights `[G·M][C][R][S]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operands<'a> {
    pub ifmap: &'a [i16],
    pub weights: &'a [i16],
}

/// One multiply-accumulate: product shifted right by `shift`, truncated to
/// 16 bits, added with wrap-around.
#[inline(always)]
pub(crate) fn mac(acc: i16, x: i16, w: i16, shift: u32) -> i16 {
    acc.wrapping_add(((i32::from(x) * i32::from(w)) >> shift) as i16)
}

/// Identity of a psum accumulation for `op`.
pub(crate) fn identity(op: Op) -> i16 {
    match op {
        Op::Max => i16::MIN,
        Op::Mac | Op::Avg => 0,
    }
}

/// Combines two partial results of `op` (psum chain addition).
#[inline(always)]
pub(crate) fn combine(op: Op, a: i16, b: i16) -> i16 {
    match op {
        Op::Max => a.max(b),
        Op::Mac | Op::Avg => a.wrapping_add(b),
    }
}

/// Turns an accumulated psum into the ofmap value (average division, ReLU).
pub(crate) fn finalize(prob: &ConvProblem, acc: i16) -> i16 {
    let v = match prob.op {
        Op::Avg => (i32::from(acc) / (prob.r * prob.s) as i32) as i16,
        _ => acc,
    };
    if prob.relu {
        v.max(0)
    } else {
        v
    }
}

/// RLC-encodes `values` into DRAM words of `fmt.word_bits`.
pub(crate) fn rlc_encode(values: &[i16], fmt: &RlcFormat) -> Vec<u64> {
    let pair_bits = fmt.run_bits + fmt.level_bits;
    let per_word = fmt.pairs_per_word() as usize;
    let level_mask = (1u64 << fmt.level_bits) - 1;
    let mut pairs: Vec<(u32, u16)> = Vec::new();
    let mut run = 0u32;
    for (i, &v) in values.iter().enumerate() {
        let last = i + 1 == values.len();
        if v == 0 && run < fmt.max_run() && !last {
            run += 1;
            continue;
        }
        pairs.push((run, v as u16));
        run = 0;
    }
    let mut words = Vec::with_capacity(pairs.len().div_ceil(per_word.max(1)));
    for (wi, chunk) in pairs.chunks(per_word.max(1)).enumerate() {
        let mut w = 0u64;
        for (k, &(r, l)) in chunk.iter().enumerate() {
            let shift = k as u32 * pair_bits;
            w |= ((u64::from(r) << fmt.level_bits) | (u64::from(l) & level_mask)) << shift;
        }
        let count = chunk.len() as u64;
        // Slot count in the spare bits ahead of the flag; flag marks the last word.
        let _ = count;
        if (wi + 1) * per_word >= pairs.len() {
            w |= 1u64 << (fmt.word_bits - 1);
        }
        words.push(w);
    }
    words
}

/// Decodes `len` values from RLC words.
pub(crate) fn rlc_decode(words: &[u64], len: usize, fmt: &RlcFormat) -> Vec<i16> {
    let pair_bits = fmt.run_bits + fmt.level_bits;
    let per_word = fmt.pairs_per_word();
    let level_mask = (1u64 << fmt.level_bits) - 1;
    let run_mask = (1u64 << fmt.run_bits) - 1;
    let mut out = Vec::with_capacity(len);
    'words: for &w in words {
        for k in 0..per_word {
            if out.len() >= len {
                break 'words;
            }
            let pair = w >> (k * pair_bits);
            let run = (pair >> fmt.level_bits) & run_mask;
            out.extend(std::iter::repeat(0).take(run as usize));
            out.push((pair & level_mask) as u16 as i16);
        }
    }
    out.truncate(len);
    out
}
