//! A PE's column of MACs two taps at a time, for product shifts up to 15:
//! the same bits as [`super::mac`] tap by tap, with half the multiplies
//! where a PE holds few filters.
//!
//! Why it is exact. A MAC adds `(x·w) >> s` truncated to 16 bits. With
//! `L = x·w mod 2^s` (the product's low `s` bits), `(x·w) >> s` is
//! `(x·w − L) / 2^s` exactly, so a column's sum of shifted products is
//! `(Σ x·w − Σ L) / 2^s`, and its low 16 bits are bits `s..s + 16` of
//! `Σ x·w − Σ L`. Those bits survive wrapping 32-bit sums (`s + 16 ≤ 31`),
//! so two products can be summed in one 32-bit lane before any shift, and
//! wrapping 16-bit sums do not depend on the order of the taps.
//!
//! Weights are read in pairs: for each pair of taps `(2u, 2u + 1)` and each
//! block of 8 filters, the 16 words `w[2u][k], w[2u + 1][k]` of filters
//! `k` of the block, interleaved ([`pair_weights`]); a last odd tap and the
//! filters past `p` in the last block are zeros.

/// Filters a block of [`mac_tap_pairs`] sums: the 32-bit lanes of a
/// 256-bit register.
const BLOCK: usize = 8;

/// The largest product shift [`mac_tap_pairs`] computes (above it, a
/// product's low bits reach its high half).
pub const PAIRS_MAX_SHIFT: u32 = 15;

/// Whether [`mac_tap_pairs`] runs its vector build on this CPU (without
/// it, [`super::mac_taps`] is the faster).
pub fn tap_pairs_vectorized() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("avx2");
    #[allow(unreachable_code)]
    false
}

/// Lays out `taps` rows of `p` weights (`weights[t·p + k]`) in the pair
/// order [`mac_tap_pairs`] reads, into `out`.
pub fn pair_weights(weights: &[i16], p: usize, taps: usize, out: &mut Vec<i16>) {
    let blocks = p.div_ceil(BLOCK);
    out.clear();
    out.resize(taps.div_ceil(2) * blocks * 2 * BLOCK, 0);
    // Filter `k`'s weight of tap `t` goes to lane `2·(k mod 8) + t mod 2`
    // of block `k / 8` of pair `t / 2`.
    for (t, row) in weights.chunks(p.max(1)).take(taps).enumerate() {
        let pair = &mut out[t / 2 * blocks * 2 * BLOCK..];
        for (k, &w) in row.iter().enumerate() {
            pair[k / BLOCK * 2 * BLOCK + 2 * (k % BLOCK) + t % 2] = w;
        }
    }
}

/// `acc[k] = mac(acc[k], x, w[k], shift)` for every tap `x` of `xs`, with
/// the taps' weights laid out by [`pair_weights`] for `acc.len()` filters.
/// `shift` must be at most [`PAIRS_MAX_SHIFT`]. Runs an AVX2 build where
/// the CPU has it.
pub fn mac_tap_pairs(acc: &mut [i16], xs: &[i16], pairs: &[i16], shift: u32) {
    assert!(
        shift <= PAIRS_MAX_SHIFT,
        "shift {shift} is beyond the pairs"
    );
    let blocks = acc.len().div_ceil(BLOCK);
    assert!(pairs.len() >= xs.len().div_ceil(2) * blocks * 2 * BLOCK);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, and `pairs` holds every pair the
        // kernel reads (asserted above).
        return unsafe { pairs_avx2(acc, xs, pairs, shift) };
    }
    pairs_loops(acc, xs, pairs, shift);
}

/// The two taps of pair `u` as one 32-bit word (the first in the low half).
#[inline(always)]
fn tap_pair(xs: &[i16], u: usize) -> i32 {
    let lo = xs[2 * u] as u16 as u32;
    let hi = xs.get(2 * u + 1).map_or(0, |&x| x as u16 as u32);
    (lo | hi << 16) as i32
}

/// The low 16 bits of `sum >> shift`, added to `a` (wrapping).
#[inline(always)]
fn settle(a: &mut i16, sum: i32, shift: u32) {
    *a = a.wrapping_add((sum >> shift) as i16);
}

/// [`mac_tap_pairs`] in plain arithmetic, lane by lane.
fn pairs_loops(acc: &mut [i16], xs: &[i16], pairs: &[i16], shift: u32) {
    let p = acc.len();
    let blocks = p.div_ceil(BLOCK);
    let mask = ((1u32 << shift) - 1) as i32;
    for (k, a) in acc.iter_mut().enumerate() {
        let (block, lane) = (k / BLOCK, k % BLOCK);
        let mut sum = 0i32;
        for u in 0..xs.len().div_ceil(2) {
            let at = (u * blocks + block) * 2 * BLOCK + 2 * lane;
            let xp = tap_pair(xs, u);
            for h in 0..2 {
                let x = (xp >> (16 * h)) as i16;
                let product = i32::from(x) * i32::from(pairs[at + h]);
                sum = sum.wrapping_add(product.wrapping_sub(product & mask));
            }
        }
        settle(a, sum, shift);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pairs_avx2(acc: &mut [i16], xs: &[i16], pairs: &[i16], shift: u32) {
    use std::arch::x86_64::*;
    let p = acc.len();
    let blocks = p.div_ceil(BLOCK);
    let mask = _mm256_set1_epi16(((1u32 << shift) - 1) as i16);
    let ones = _mm256_set1_epi16(1);
    let count = _mm_cvtsi32_si128(shift as i32);
    for block in 0..blocks {
        let mut sum = _mm256_setzero_si256();
        for u in 0..xs.len().div_ceil(2) {
            let xp = _mm256_set1_epi32(tap_pair(xs, u));
            let at = (u * blocks + block) * 2 * BLOCK;
            let w = _mm256_loadu_si256(pairs.as_ptr().add(at).cast());
            // Both products' sum, less both products' low bits.
            let products = _mm256_madd_epi16(xp, w);
            let low = _mm256_and_si256(_mm256_mullo_epi16(xp, w), mask);
            let lows = _mm256_madd_epi16(low, ones);
            sum = _mm256_add_epi32(sum, _mm256_sub_epi32(products, lows));
        }
        let mut lanes = [0i32; BLOCK];
        _mm256_storeu_si256(lanes.as_mut_ptr().cast(), _mm256_sra_epi32(sum, count));
        let first = block * BLOCK;
        for (a, &v) in acc[first..(first + BLOCK).min(p)].iter_mut().zip(&lanes) {
            *a = a.wrapping_add(v as i16);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mac;

    /// Taps with the extreme words, zeros and odd counts.
    fn column(taps: usize, seed: i32) -> Vec<i16> {
        (0..taps as i32)
            .map(|t| match (t + seed) % 7 {
                0 => i16::MIN,
                1 => i16::MAX,
                2 => 0,
                _ => (t * 7919 + seed * 104_729) as i16,
            })
            .collect()
    }

    fn by_taps(acc: &[i16], xs: &[i16], weights: &[i16], shift: u32) -> Vec<i16> {
        let p = acc.len();
        let mut want = acc.to_vec();
        for (t, &x) in xs.iter().enumerate() {
            for (k, a) in want.iter_mut().enumerate() {
                *a = mac(*a, x, weights[t * p + k], shift);
            }
        }
        want
    }

    #[test]
    fn both_builds_are_mac_tap_by_tap() {
        let mut pairs = Vec::new();
        for p in [1, 3, 8, 9, 16, 21] {
            for taps in [1, 2, 9, 12, 25] {
                let xs = column(taps, p as i32);
                let weights = column(taps * p, 3 + taps as i32);
                pair_weights(&weights, p, taps, &mut pairs);
                for shift in 0..=PAIRS_MAX_SHIFT {
                    let acc: Vec<i16> = (0..p as i16).map(|k| k * 1001 - 300).collect();
                    let want = by_taps(&acc, &xs, &weights, shift);
                    let mut got = acc.clone();
                    mac_tap_pairs(&mut got, &xs, &pairs, shift);
                    assert_eq!(got, want, "p {p}, {taps} taps, shift {shift}");
                    let mut plain = acc.clone();
                    pairs_loops(&mut plain, &xs, &pairs, shift);
                    assert_eq!(plain, want, "loops: p {p}, {taps} taps, shift {shift}");
                }
            }
        }
    }

    #[test]
    fn the_most_negative_products_wrap_as_the_taps_do() {
        // Two products of 2^30 sum to 2^31, which a 32-bit lane wraps.
        let (xs, weights) = ([i16::MIN; 4], [i16::MIN; 4]);
        let mut pairs = Vec::new();
        pair_weights(&weights, 1, 4, &mut pairs);
        for shift in [0, 1, 14, 15] {
            let mut got = [5i16];
            mac_tap_pairs(&mut got, &xs, &pairs, shift);
            assert_eq!(
                got.to_vec(),
                by_taps(&[5], &xs, &weights, shift),
                "shift {shift}"
            );
        }
    }
}
