//! The reference kernel's AVX2 build for product shifts of 0 to 15: two
//! taps per multiply instruction.
//!
//! `vpmaddwd` multiplies 16-bit words into 32-bit products and adds them in
//! pairs, but the definition shifts each product on its own (`x·w >> s`,
//! rounding down) before adding. The shift is taken out of the sum instead:
//! for any integer `P`, `P >> s = (P − (P mod 2^s)) / 2^s`, so
//!
//! `Σ (Pᵢ >> s) = (Σ Pᵢ − Σ (Pᵢ mod 2^s)) >> s`,
//!
//! where the right shift is exact (the difference is a multiple of `2^s`).
//! Both sums are kept modulo 2^32, which the 32-bit lanes do by wrapping
//! (even `vpmaddwd`'s one overflow, `2·(−2^15)²`, is right modulo 2^32),
//! and modulo 2^32 is enough: the result is wanted modulo 2^16 and the
//! shift drops at most 15 bits. `Pᵢ mod 2^s` is the low `s` bits of the
//! product's low 16 bits (`vpmullw`), so for `s ≤ 15` it is one mask away.
//! The low parts are non-negative and below `2^s`; they are summed in
//! 16-bit lanes for as many pairs as cannot overflow a signed word, then
//! widened.
//!
//! This is a third way to form the same numbers: the PEs truncate each
//! product to 16 bits and add with 16-bit wrapping (`data::arith`), the
//! baseline kernel shifts each 32-bit product. Tests compare all three
//! with the naive definition.

use super::FILTERS;
#[cfg(target_arch = "x86_64")]
use super::PSUM_INIT;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Two taps of a chunk that read adjacent input words, at `offset` and
/// `offset + 1` from a window's corner. Word `2k` of `weights` is filter
/// `k`'s weight at the first tap, word `2k + 1` at the second (zero when
/// the first tap had no adjacent partner: the second then reads a word it
/// multiplies by zero).
#[derive(Debug, Clone)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct TapPair {
    pub offset: usize,
    pub weights: [i16; 2 * FILTERS],
}

/// The chunk's taps (in order, with their offsets) as pairs: a tap is
/// paired with the next one when that reads the word after it, as the
/// columns of a filter row do without dilation.
pub(crate) fn pair_taps(offsets: &[usize], weights: &[[i16; FILTERS]]) -> Vec<TapPair> {
    let mut pairs = Vec::with_capacity(offsets.len());
    let mut t = 0;
    while t < offsets.len() {
        let mut pair = TapPair {
            offset: offsets[t],
            weights: [0; 2 * FILTERS],
        };
        let partner = offsets.get(t + 1) == Some(&(offsets[t] + 1));
        for (k, lane) in pair.weights.chunks_exact_mut(2).enumerate() {
            lane[0] = weights[t][k];
            if partner {
                lane[1] = weights[t + 1][k];
            }
        }
        pairs.push(pair);
        t += if partner { 2 } else { 1 };
    }
    pairs
}

/// Ofmap columns summed together: two columns keep the eight accumulators,
/// the two weight registers, the mask and the input in registers.
#[cfg(target_arch = "x86_64")]
const COLS: usize = 2;

/// Ofmap columns the AVX-512 build sums together (32 registers hold their
/// accumulators with room to spare).
#[cfg(target_arch = "x86_64")]
const COLS_512: usize = 4;

/// The psums of one chunk (`out` is `[filter of the chunk][e][f]`) from the
/// padded input `values` of row length `wp`, for `shift ≤ 15`.
///
/// # Safety
/// The CPU must have AVX2.
///
/// # Panics
/// If `shift > 15`, or if `values` does not hold every word a window reads
/// plus one (a lone tap's partner reads the word after it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn pair_psums_avx2(
    prob: &crate::workload::ConvProblem,
    values: &[i16],
    wp: usize,
    pairs: &[TapPair],
    filters: usize,
    shift: u32,
    out: &mut [i16],
) {
    let plane = (prob.e * prob.f) as usize;
    for_each_block(
        prob,
        values,
        wp,
        pairs,
        filters,
        shift,
        out,
        COLS,
        |corner, cols, at, out| {
            if cols == COLS {
                let sums = block::<COLS>(pairs, values, corner, prob.u_w as usize, shift);
                store(&sums, filters, plane, at, out);
            } else {
                let sums = block::<1>(pairs, values, corner, prob.u_w as usize, shift);
                store(&sums, filters, plane, at, out);
            }
        },
    );
}

/// [`pair_psums_avx2`] with one 512-bit register per column's 16 filters,
/// and `vpdpwssd` summing a pair's products.
///
/// # Safety
/// The CPU must have AVX-512 F, BW and VNNI.
///
/// # Panics
/// As [`pair_psums_avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(crate) unsafe fn pair_psums_avx512(
    prob: &crate::workload::ConvProblem,
    values: &[i16],
    wp: usize,
    pairs: &[TapPair],
    filters: usize,
    shift: u32,
    out: &mut [i16],
) {
    let plane = (prob.e * prob.f) as usize;
    let step = prob.u_w as usize;
    for_each_block(
        prob,
        values,
        wp,
        pairs,
        filters,
        shift,
        out,
        COLS_512,
        |corner, cols, at, out| {
            if cols == COLS_512 {
                let sums = block_512::<COLS_512>(pairs, values, corner, step, shift);
                store_512(&sums, filters, plane, at, out);
            } else {
                let sums = block_512::<1>(pairs, values, corner, step, shift);
                store_512(&sums, filters, plane, at, out);
            }
        },
    );
}

/// Checks the chunk's reads against `values` once, then calls `block`
/// for every run of `cols` ofmap columns of a row (fewer at its end) with
/// the window corner of the first, how many, and its ofmap index `e·F + f`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn for_each_block(
    prob: &crate::workload::ConvProblem,
    values: &[i16],
    wp: usize,
    pairs: &[TapPair],
    filters: usize,
    shift: u32,
    out: &mut [i16],
    cols: usize,
    mut block: impl FnMut(usize, usize, usize, &mut [i16]),
) {
    assert!(shift <= 15, "the paired kernel takes shifts up to 15");
    let (e_count, f_count) = (prob.e as usize, prob.f as usize);
    let (u_h, u_w) = (prob.u_h as usize, prob.u_w as usize);
    let plane = e_count * f_count;
    if plane == 0 {
        return;
    }
    if pairs.is_empty() {
        // No tap has a non-zero weight: every psum stays at its start.
        out[..filters * plane].fill(PSUM_INIT);
        return;
    }
    // Every read below is at most this far into `values`: check it once
    // here, so that the loads need no check of their own.
    let reach = pairs.iter().map(|p| p.offset).max().unwrap_or(0);
    let last_read = ((e_count - 1) * u_h)
        .checked_mul(wp)
        .and_then(|row| row.checked_add((f_count - 1) * u_w))
        .and_then(|corner| corner.checked_add(reach + 1));
    assert!(
        last_read.is_some_and(|at| at < values.len()),
        "input too short"
    );
    for e in 0..e_count {
        let row = e * u_h * wp;
        let mut f = 0;
        while f < f_count {
            let n = if f + cols <= f_count { cols } else { 1 };
            block(row + f * u_w, n, e * f_count + f, out);
            f += n;
        }
    }
}

/// The shifted sums of `N` adjacent ofmap columns (windows `step` apart
/// from `corner`), as 32-bit lanes: filters 0–7 and 8–15 of each column.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block<const N: usize>(
    pairs: &[TapPair],
    values: &[i16],
    corner: usize,
    step: usize,
    shift: u32,
) -> [[__m256i; 2]; N] {
    let below = (1i32 << shift) - 1;
    let mask = _mm256_set1_epi16(below as i16);
    let ones = _mm256_set1_epi16(1);
    // Pairs whose low parts (each < 2^shift) a signed word can sum.
    let run = if below == 0 {
        pairs.len().max(1)
    } else {
        (i16::MAX as usize / below as usize).max(1)
    };
    let zero = _mm256_setzero_si256();
    let mut sums = [[zero; 2]; N];
    let mut lows = [[zero; 2]; N];
    let base = values.as_ptr();
    for batch in pairs.chunks(run) {
        let mut low16 = [[zero; 2]; N];
        for pair in batch {
            let w = pair.weights.as_ptr().cast::<__m256i>();
            let halves = [_mm256_loadu_si256(w), _mm256_loadu_si256(w.add(1))];
            for col in 0..N {
                // In bounds: checked against the last corner by the caller.
                let at = base.add(corner + pair.offset + col * step);
                let x = _mm256_set1_epi32(at.cast::<i32>().read_unaligned());
                for (h, &wh) in halves.iter().enumerate() {
                    sums[col][h] = _mm256_add_epi32(sums[col][h], _mm256_madd_epi16(x, wh));
                    let low = _mm256_and_si256(_mm256_mullo_epi16(x, wh), mask);
                    low16[col][h] = _mm256_add_epi16(low16[col][h], low);
                }
            }
        }
        for col in 0..N {
            for h in 0..2 {
                let widened = _mm256_madd_epi16(low16[col][h], ones);
                lows[col][h] = _mm256_add_epi32(lows[col][h], widened);
            }
        }
    }
    let count = _mm_cvtsi32_si128(shift as i32);
    let init = _mm256_set1_epi32(i32::from(PSUM_INIT));
    for col in 0..N {
        for h in 0..2 {
            let exact = _mm256_sub_epi32(sums[col][h], lows[col][h]);
            sums[col][h] = _mm256_add_epi32(init, _mm256_sra_epi32(exact, count));
        }
    }
    sums
}

/// Folds a block's sums to 16 bits into the chunk's planes, at ofmap index
/// `at` (`e·F + f`) of each.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store<const N: usize>(
    sums: &[[__m256i; 2]; N],
    filters: usize,
    plane: usize,
    at: usize,
    out: &mut [i16],
) {
    for (col, halves) in sums.iter().enumerate() {
        let mut lanes = [0i32; FILTERS];
        _mm256_storeu_si256(lanes.as_mut_ptr().cast(), halves[0]);
        _mm256_storeu_si256(lanes.as_mut_ptr().add(8).cast(), halves[1]);
        for (lane, &sum) in lanes.iter().enumerate().take(filters) {
            out[lane * plane + at + col] = sum as i16;
        }
    }
}

/// [`block`] for the AVX-512 build: one register of 16 filters a column.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn block_512<const N: usize>(
    pairs: &[TapPair],
    values: &[i16],
    corner: usize,
    step: usize,
    shift: u32,
) -> [__m512i; N] {
    let below = (1i32 << shift) - 1;
    let mask = _mm512_set1_epi16(below as i16);
    let ones = _mm512_set1_epi16(1);
    // Pairs whose low parts (each < 2^shift) a signed word can sum.
    let run = if below == 0 {
        pairs.len().max(1)
    } else {
        (i16::MAX as usize / below as usize).max(1)
    };
    let zero = _mm512_setzero_si512();
    let mut sums = [zero; N];
    let mut lows = [zero; N];
    let base = values.as_ptr();
    for batch in pairs.chunks(run) {
        let mut low16 = [zero; N];
        for pair in batch {
            let w = _mm512_loadu_si512(pair.weights.as_ptr().cast());
            for col in 0..N {
                // In bounds: checked against the last corner by the caller.
                let at = base.add(corner + pair.offset + col * step);
                let x = _mm512_set1_epi32(at.cast::<i32>().read_unaligned());
                sums[col] = _mm512_dpwssd_epi32(sums[col], x, w);
                let low = _mm512_and_si512(_mm512_mullo_epi16(x, w), mask);
                low16[col] = _mm512_add_epi16(low16[col], low);
            }
        }
        for col in 0..N {
            lows[col] = _mm512_dpwssd_epi32(lows[col], low16[col], ones);
        }
    }
    let count = _mm_cvtsi32_si128(shift as i32);
    let init = _mm512_set1_epi32(i32::from(PSUM_INIT));
    for col in 0..N {
        let exact = _mm512_sub_epi32(sums[col], lows[col]);
        sums[col] = _mm512_add_epi32(init, _mm512_sra_epi32(exact, count));
    }
    sums
}

/// [`store`] for the AVX-512 build.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn store_512<const N: usize>(
    sums: &[__m512i; N],
    filters: usize,
    plane: usize,
    at: usize,
    out: &mut [i16],
) {
    for (col, &sum) in sums.iter().enumerate() {
        let mut lanes = [0i16; FILTERS];
        _mm256_storeu_si256(lanes.as_mut_ptr().cast(), _mm512_cvtepi32_epi16(sum));
        for (lane, &v) in lanes.iter().enumerate().take(filters) {
            out[lane * plane + at + col] = v;
        }
    }
}
