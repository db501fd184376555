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
//! block of filters (8 for the AVX2 build, 16 for the AVX-512 one: the
//! 32-bit lanes of a register), the words `w[2u][k], w[2u + 1][k]` of the
//! block's filters `k`, interleaved ([`pair_weights`]); a last odd tap and
//! the filters past `p` in the last block are zeros.

/// The largest product shift [`mac_tap_pairs`] computes (above it, a
/// product's low bits reach its high half).
pub const PAIRS_MAX_SHIFT: u32 = 15;

/// A vector build of [`mac_tap_pairs`] that this CPU runs, which decides
/// the layout of the weights it reads ([`pair_weights`]). Only a CPU with
/// the build's instructions gives out a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairKernel(Build);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Build {
    /// AVX2: blocks of 8 filters, one 256-bit register each.
    Avx2,
    /// AVX-512 (F, BW, VL and VNNI): blocks of 16 filters, one 512-bit
    /// register each, products and low bits summed by `vpdpwssd`.
    Avx512,
}

impl Build {
    fn block(self) -> usize {
        match self {
            Build::Avx2 => 8,
            Build::Avx512 => 16,
        }
    }

    fn available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        return match self {
            Build::Avx2 => std::is_x86_feature_detected!("avx2"),
            Build::Avx512 => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx512vnni")
            }
        };
        #[allow(unreachable_code)]
        false
    }
}

impl PairKernel {
    /// The build this CPU runs fastest for `p` filters, if pairs beat
    /// [`super::mac_taps`] there: AVX2 pairs for at most 8 filters (with
    /// more, a block of 16 16-bit lanes does as many multiplies), AVX-512
    /// pairs for more.
    pub fn for_filters(p: usize) -> Option<PairKernel> {
        let build = if p <= 8 && Build::Avx2.available() {
            Build::Avx2
        } else {
            Build::Avx512
        };
        build.available().then_some(PairKernel(build))
    }

    /// Filters of a block: the 32-bit lanes of the build's registers.
    pub fn block(self) -> usize {
        self.0.block()
    }
}

/// Lays out `taps` rows of `p` weights (`weights[t·p + k]`) in the pair
/// order `kernel`'s [`mac_tap_pairs`] reads, into `out`.
pub fn pair_weights(
    kernel: PairKernel,
    weights: &[i16],
    p: usize,
    taps: usize,
    out: &mut Vec<i16>,
) {
    match kernel.0 {
        Build::Avx2 => layout::<8>(weights, p, taps, out),
        Build::Avx512 => layout::<16>(weights, p, taps, out),
    }
}

/// [`pair_weights`] for blocks of `BLOCK` filters.
fn layout<const BLOCK: usize>(weights: &[i16], p: usize, taps: usize, out: &mut Vec<i16>) {
    let blocks = p.div_ceil(BLOCK);
    out.clear();
    out.resize(taps.div_ceil(2) * blocks * 2 * BLOCK, 0);
    // Filter `k`'s weight of tap `t` goes to lane `2·(k mod BLOCK) + t mod 2`
    // of block `k / BLOCK` of pair `t / 2`.
    for (t, row) in weights.chunks(p.max(1)).take(taps).enumerate() {
        let pair = &mut out[t / 2 * blocks * 2 * BLOCK + t % 2..];
        for (k, &w) in row.iter().enumerate() {
            pair[k / BLOCK * 2 * BLOCK + 2 * (k % BLOCK)] = w;
        }
    }
}

/// `acc[k] = mac(acc[k], x, w[k], shift)` for every tap `x` of `xs`, with
/// the taps' weights laid out by [`pair_weights`] for `kernel` and
/// `acc.len()` filters. `shift` must be at most [`PAIRS_MAX_SHIFT`].
pub fn mac_tap_pairs(kernel: PairKernel, acc: &mut [i16], xs: &[i16], pairs: &[i16], shift: u32) {
    assert!(
        shift <= PAIRS_MAX_SHIFT,
        "shift {shift} is beyond the pairs"
    );
    let blocks = acc.len().div_ceil(kernel.block());
    assert!(pairs.len() >= xs.len().div_ceil(2) * blocks * 2 * kernel.block());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a `PairKernel` exists only where the CPU has its build's
    // instructions; `pairs` holds every pair the kernel reads (asserted
    // above); the kernels read two taps at once only where both are in
    // `xs`, and touch `acc` only within `acc.len()` (the AVX-512 build
    // loads and stores it under a mask of the block's filters).
    unsafe {
        match kernel.0 {
            Build::Avx2 => pairs_avx2(acc, xs, pairs, shift),
            Build::Avx512 => pairs_avx512(acc, xs, pairs, shift),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    pairs_loops(kernel.block(), acc, xs, pairs, shift);
}

/// The two taps of pair `u` as one 32-bit word (the first in the low half).
#[inline(always)]
fn tap_pair(xs: &[i16], u: usize) -> i32 {
    let lo = xs[2 * u] as u16 as u32;
    let hi = xs.get(2 * u + 1).map_or(0, |&x| x as u16 as u32);
    (lo | hi << 16) as i32
}

/// [`mac_tap_pairs`] in plain arithmetic, lane by lane, for blocks of
/// `block` filters.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
fn pairs_loops(block: usize, acc: &mut [i16], xs: &[i16], pairs: &[i16], shift: u32) {
    let p = acc.len();
    let blocks = p.div_ceil(block);
    let mask = ((1u32 << shift) - 1) as i32;
    for (k, a) in acc.iter_mut().enumerate() {
        let (b, lane) = (k / block, k % block);
        let mut sum = 0i32;
        for u in 0..xs.len().div_ceil(2) {
            let at = (u * blocks + b) * 2 * block + 2 * lane;
            let xp = tap_pair(xs, u);
            for h in 0..2 {
                let x = (xp >> (16 * h)) as i16;
                let product = i32::from(x) * i32::from(pairs[at + h]);
                sum = sum.wrapping_add(product.wrapping_sub(product & mask));
            }
        }
        *a = a.wrapping_add((sum >> shift) as i16);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pairs_avx2(acc: &mut [i16], xs: &[i16], pairs: &[i16], shift: u32) {
    use std::arch::x86_64::*;
    const BLOCK: usize = 8;
    // Per 128-bit half: bytes 0–1, 4–5, 8–9, 12–13 (each lane's low half)
    // to the front.
    const LOW_HALF_BYTES: [i8; 32] = [
        0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1, //
        0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1,
    ];
    let low_halves = _mm256_loadu_si256(LOW_HALF_BYTES.as_ptr().cast());
    let p = acc.len();
    let blocks = p.div_ceil(BLOCK);
    let mask = _mm256_set1_epi16(((1u32 << shift) - 1) as i16);
    let ones = _mm256_set1_epi16(1);
    let count = _mm_cvtsi32_si128(shift as i32);
    let whole = xs.len() / 2;
    for block in 0..blocks {
        let w_at = |u: usize| pairs.as_ptr().add((u * blocks + block) * 2 * BLOCK).cast();
        let mut sum = _mm256_setzero_si256();
        let mut add = |xp: __m256i, w: __m256i| {
            // Both products' sum, less both products' low bits.
            let products = _mm256_madd_epi16(xp, w);
            let low = _mm256_and_si256(_mm256_mullo_epi16(xp, w), mask);
            let lows = _mm256_madd_epi16(low, ones);
            sum = _mm256_add_epi32(sum, _mm256_sub_epi32(products, lows));
        };
        for u in 0..whole {
            // Both taps in one read: `2u + 1` is within `xs`.
            let xp = _mm256_set1_epi32(xs.as_ptr().add(2 * u).cast::<i32>().read_unaligned());
            add(xp, _mm256_loadu_si256(w_at(u)));
        }
        if whole * 2 < xs.len() {
            add(
                _mm256_set1_epi32(tap_pair(xs, whole)),
                _mm256_loadu_si256(w_at(whole)),
            );
        }
        let shifted = _mm256_sra_epi32(sum, count);
        let first = block * BLOCK;
        if p - first >= BLOCK {
            // The low halves of the 32-bit lanes, in order, in the low 128 bits.
            let halves = _mm256_shuffle_epi8(shifted, low_halves);
            let low = _mm256_castsi256_si128(_mm256_permute4x64_epi64(halves, 0b1000));
            let at = acc.as_mut_ptr().add(first).cast::<__m128i>();
            _mm_storeu_si128(at, _mm_add_epi16(_mm_loadu_si128(at), low));
        } else {
            let mut lanes = [0i32; BLOCK];
            _mm256_storeu_si256(lanes.as_mut_ptr().cast(), shifted);
            for (a, &v) in acc[first..].iter_mut().zip(&lanes) {
                *a = a.wrapping_add(v as i16);
            }
        }
    }
}

/// The AVX-512 build: 16 filters a block, and `vpdpwssd` sums a pair's two
/// products (and, separately, their low bits) into the lanes in one
/// instruction each.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn pairs_avx512(acc: &mut [i16], xs: &[i16], pairs: &[i16], shift: u32) {
    use std::arch::x86_64::*;
    const BLOCK: usize = 16;
    let p = acc.len();
    let blocks = p.div_ceil(BLOCK);
    let mask = _mm512_set1_epi16(((1u32 << shift) - 1) as i16);
    let ones = _mm512_set1_epi16(1);
    let count = _mm_cvtsi32_si128(shift as i32);
    let whole = xs.len() / 2;
    for block in 0..blocks {
        let w_at = |u: usize| pairs.as_ptr().add((u * blocks + block) * 2 * BLOCK).cast();
        let (mut sum, mut lows) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        let mut add = |xp: __m512i, w: __m512i| {
            sum = _mm512_dpwssd_epi32(sum, xp, w);
            let low = _mm512_and_si512(_mm512_mullo_epi16(xp, w), mask);
            lows = _mm512_dpwssd_epi32(lows, low, ones);
        };
        for u in 0..whole {
            // Both taps in one read: `2u + 1` is within `xs`.
            let xp = _mm512_set1_epi32(xs.as_ptr().add(2 * u).cast::<i32>().read_unaligned());
            add(xp, _mm512_loadu_si512(w_at(u)));
        }
        if whole * 2 < xs.len() {
            add(
                _mm512_set1_epi32(tap_pair(xs, whole)),
                _mm512_loadu_si512(w_at(whole)),
            );
        }
        // The shifted sums' low 16 bits (`vpmovdw` truncates), added to
        // the block's psums under a mask of its filters.
        let shifted = _mm512_sra_epi32(_mm512_sub_epi32(sum, lows), count);
        let first = block * BLOCK;
        let lanes: __mmask16 = (((1u32 << (p - first).min(BLOCK)) - 1) & 0xffff) as u16;
        let at = acc.as_mut_ptr().add(first);
        let old = _mm256_maskz_loadu_epi16(lanes, at);
        let new = _mm256_add_epi16(old, _mm512_cvtepi32_epi16(shifted));
        _mm256_mask_storeu_epi16(at, lanes, new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mac;
    use crate::data::testing::vector_build_not_run;

    const BUILDS: [Build; 2] = [Build::Avx2, Build::Avx512];

    fn weights_for(build: Build, weights: &[i16], p: usize, taps: usize, out: &mut Vec<i16>) {
        match build {
            Build::Avx2 => layout::<8>(weights, p, taps, out),
            Build::Avx512 => layout::<16>(weights, p, taps, out),
        }
    }

    /// Says which vector builds this CPU cannot test.
    fn report_builds_not_run() {
        for build in BUILDS.iter().filter(|b| !b.available()) {
            vector_build_not_run(&format!("{build:?} pairs"));
        }
    }

    /// The build's vector kernel, where this CPU has it, and its plain
    /// arithmetic; both must give `want`.
    fn check(
        build: Build,
        acc: &[i16],
        xs: &[i16],
        pairs: &[i16],
        shift: u32,
        want: &[i16],
        at: &str,
    ) {
        let mut plain = acc.to_vec();
        pairs_loops(build.block(), &mut plain, xs, pairs, shift);
        assert_eq!(plain, want, "loops, {at}");
        if build.available() {
            let mut got = acc.to_vec();
            mac_tap_pairs(PairKernel(build), &mut got, xs, pairs, shift);
            assert_eq!(got, want, "{at}");
        }
    }

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
        report_builds_not_run();
        let mut pairs = Vec::new();
        for build in BUILDS {
            for p in [1, 3, 8, 9, 16, 17, 21, 33] {
                for taps in [1, 2, 9, 12, 25] {
                    let xs = column(taps, p as i32);
                    let weights = column(taps * p, 3 + taps as i32);
                    weights_for(build, &weights, p, taps, &mut pairs);
                    for shift in 0..=PAIRS_MAX_SHIFT {
                        let acc: Vec<i16> = (0..p as i16).map(|k| k * 1001 - 300).collect();
                        let want = by_taps(&acc, &xs, &weights, shift);
                        let at = format!("{build:?}: p {p}, {taps} taps, shift {shift}");
                        check(build, &acc, &xs, &pairs, shift, &want, &at);
                    }
                }
            }
        }
    }

    #[test]
    fn the_most_negative_products_wrap_as_the_taps_do() {
        // Two products of 2^30 sum to 2^31, which a 32-bit lane wraps.
        report_builds_not_run();
        let (xs, weights) = ([i16::MIN; 4], [i16::MIN; 4]);
        let mut pairs = Vec::new();
        for build in BUILDS {
            weights_for(build, &weights, 1, 4, &mut pairs);
            for shift in [0, 1, 14, 15] {
                let want = by_taps(&[5], &xs, &weights, shift);
                check(
                    build,
                    &[5],
                    &xs,
                    &pairs,
                    shift,
                    &want,
                    &format!("{build:?}, shift {shift}"),
                );
            }
        }
    }
}
