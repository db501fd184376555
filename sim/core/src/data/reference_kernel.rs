//! The reference's convolution kernel for MAC layers: a block of
//! [`FILTERS`] filters × [`COLS`] ofmap columns is summed in 32-bit
//! registers over every tap, the way a GEMM kernel blocks its output, and
//! folded to 16 bits when it is stored.
//!
//! Why it is still the reference's arithmetic (`x·w >> shift`, summed from
//! [`PSUM_INIT`], wrapping to 16 bits): each product is formed in 32 bits
//! and shifted on its own, and the 32-bit sum is folded once at the end.
//! Folding once or after every tap gives the same 16 bits, because the fold
//! is reduction modulo 2^16, which commutes with addition. Padding is a
//! zero-filled copy of the input, so every tap reads a value, and a zero
//! contributes nothing; taps whose [`FILTERS`] weights are all zero are
//! left out of a chunk for the same reason.
//!
//! On a CPU with AVX2 and for product shifts up to 15 (eyeriss-v1's is 8),
//! `pairs` forms the same sums two taps per multiply instruction, taking
//! the shift out of the sum exactly; it is about 2.7× faster. Where the CPU
//! has AVX-512 (F, BW, VNNI), a build of it with 512-bit registers runs.
//!
//! The engine's PEs form the product the other way (truncated to 16 bits,
//! added with 16-bit wrapping, one tap at a time, `data::arith`), so the
//! two still agree only if both are right.

use super::arith::PSUM_INIT;
use super::LayerData;
use crate::workload::ConvProblem;

mod pairs;

/// Filters of one chunk: the lanes of the 32-bit accumulators.
pub const FILTERS: usize = 16;
/// Ofmap columns summed together (each reuses the chunk's weights).
const COLS: usize = 4;

/// One image's group of input channels, zero-padded: `[c][hp][wp]`.
pub(super) struct PaddedInput {
    values: Vec<i16>,
    hp: usize,
    wp: usize,
}

impl PaddedInput {
    /// The channels of group `grp` of image `img`, with the problem's
    /// padding (and any rows or columns past the last window) as zeros.
    pub(super) fn new(prob: &ConvProblem, data: &LayerData, img: usize, grp: usize) -> Self {
        let (h, w, c) = (prob.h as usize, prob.w as usize, prob.c as usize);
        let (top, left) = (prob.pad.top as usize, prob.pad.left as usize);
        let reach = |outs: u32, stride: u32, taps: u32, dil: u32| {
            (outs.max(1) as usize - 1) * stride as usize
                + (taps.max(1) as usize - 1) * dil as usize
                + 1
        };
        let hp = reach(prob.e, prob.u_h, prob.r, prob.d_h).max(top + h);
        let wp = reach(prob.f, prob.u_w, prob.s, prob.d_w).max(left + w);
        // One word more than the windows read: a lone tap's partner in a
        // tap pair (`pairs`) reads the word after it, times zero.
        let mut values = vec![0; c * hp * wp + 1];
        let first = (img * prob.g as usize + grp) * c * h * w;
        let planes = data.ifmap[first..first + c * h * w].chunks(h * w);
        for (src, dst) in planes.zip(values.chunks_mut(hp * wp)) {
            for (row, out) in src.chunks(w).zip(dst[top * wp..].chunks_mut(wp)) {
                out[left..left + w].copy_from_slice(row);
            }
        }
        PaddedInput { values, hp, wp }
    }
}

/// One chunk's weights, tap-major: for every tap `(c, r, s)` at which some
/// filter of the chunk has a non-zero weight, its offset in the padded
/// input from a window's corner, and the chunk's weights at that tap
/// (zeros for lanes past the group's last filter).
pub(super) struct WeightChunk {
    offsets: Vec<usize>,
    weights: Vec<[i16; FILTERS]>,
    /// The same taps, two at a time where they read adjacent words.
    pairs: Vec<pairs::TapPair>,
    filters: usize,
}

impl WeightChunk {
    /// Filters `first..first + FILTERS` (at most the group's last) of group
    /// `grp`, for the padded input geometry of `input`.
    pub(super) fn new(
        prob: &ConvProblem,
        data: &LayerData,
        grp: usize,
        first: usize,
        input: &PaddedInput,
    ) -> Self {
        let (c, r, s) = (prob.c as usize, prob.r as usize, prob.s as usize);
        let kernel = c * r * s;
        let filters = FILTERS.min(prob.m as usize - first);
        let filter_at = |lane: usize| (grp * prob.m as usize + first + lane) * kernel;
        let mut chunk = WeightChunk {
            offsets: Vec::new(),
            weights: Vec::new(),
            pairs: Vec::new(),
            filters,
        };
        for (tap, (ci, ri, si)) in taps(c, r, s).enumerate() {
            let mut lanes = [0i16; FILTERS];
            for (lane, w) in lanes.iter_mut().enumerate().take(filters) {
                *w = data.weights[filter_at(lane) + tap];
            }
            if lanes.iter().any(|&w| w != 0) {
                let dy = ri * prob.d_h as usize;
                let dx = si * prob.d_w as usize;
                chunk.offsets.push((ci * input.hp + dy) * input.wp + dx);
                chunk.weights.push(lanes);
            }
        }
        chunk.pairs = pairs::pair_taps(&chunk.offsets, &chunk.weights);
        chunk
    }

    /// Filters of the chunk that exist (the others are zero lanes).
    pub(super) fn filters(&self) -> usize {
        self.filters
    }
}

/// The taps `(c, r, s)` of a filter in its storage order.
fn taps(c: usize, r: usize, s: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..c).flat_map(move |ci| (0..r).flat_map(move |ri| (0..s).map(move |si| (ci, ri, si))))
}

/// The psums of one chunk: `out` is `[filter of the chunk][e][f]`, the
/// chunk's planes of the ofmap, contiguous.
pub(super) fn chunk_psums(
    prob: &ConvProblem,
    input: &PaddedInput,
    chunk: &WeightChunk,
    shift: u32,
    out: &mut [i16],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe {
            if shift <= 15 && avx512_pairs() {
                // SAFETY: the CPU has the AVX-512 build's instructions.
                chunk_pairs(Paired::Avx512, input, chunk, prob, shift, out)
            } else if shift <= 15 {
                chunk_pairs(Paired::Avx2, input, chunk, prob, shift, out)
            } else {
                chunk_psums_avx2(prob, input, chunk, shift, out)
            }
        };
    }
    chunk_loops(prob, input, chunk, shift, out);
}

/// Whether the CPU has the instructions of the AVX-512 build of `pairs`.
#[cfg(target_arch = "x86_64")]
pub(super) fn avx512_pairs() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vnni")
}

/// A vector build of the paired kernel (`pairs`).
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(super) enum Paired {
    /// 256-bit registers, two per column.
    Avx2,
    /// 512-bit registers, one per column.
    Avx512,
}

/// [`chunk_psums`] by tap pairs (`pairs`) in `build`, for shifts up to 15.
///
/// # Safety
/// The CPU must have the build's instructions: AVX2, or AVX-512 F, BW and
/// VNNI ([`avx512_pairs`]).
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn chunk_pairs(
    build: Paired,
    input: &PaddedInput,
    chunk: &WeightChunk,
    prob: &ConvProblem,
    shift: u32,
    out: &mut [i16],
) {
    let (values, wp, taps, filters) = (&input.values, input.wp, &chunk.pairs, chunk.filters);
    match build {
        Paired::Avx2 => pairs::pair_psums_avx2(prob, values, wp, taps, filters, shift, out),
        Paired::Avx512 => pairs::pair_psums_avx512(prob, values, wp, taps, filters, shift, out),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn chunk_psums_avx2(
    prob: &ConvProblem,
    input: &PaddedInput,
    chunk: &WeightChunk,
    shift: u32,
    out: &mut [i16],
) {
    chunk_loops(prob, input, chunk, shift, out);
}

/// The loops of [`chunk_psums`], inlined into each build of it.
#[inline(always)]
pub(super) fn chunk_loops(
    prob: &ConvProblem,
    input: &PaddedInput,
    chunk: &WeightChunk,
    shift: u32,
    out: &mut [i16],
) {
    let (e_count, f_count) = (prob.e as usize, prob.f as usize);
    let plane = e_count * f_count;
    let (u_h, u_w) = (prob.u_h as usize, prob.u_w as usize);
    // A shift of 31 already leaves only the sign of any product (|x·w| ≤ 2^30).
    let shift = shift.min(31);
    for e in 0..e_count {
        let row = e * u_h * input.wp;
        let mut f = 0;
        while f < f_count {
            let corner = row + f * u_w;
            if f + COLS <= f_count {
                let acc = block::<COLS>(chunk, &input.values, corner, u_w, shift);
                store(&acc, chunk.filters, plane, e * f_count + f, out);
                f += COLS;
            } else {
                let acc = block::<1>(chunk, &input.values, corner, u_w, shift);
                store(&acc, chunk.filters, plane, e * f_count + f, out);
                f += 1;
            }
        }
    }
}

/// The 32-bit sums of `N` adjacent ofmap columns (windows `step` apart from
/// `corner`) for every filter lane of the chunk.
#[inline(always)]
fn block<const N: usize>(
    chunk: &WeightChunk,
    x: &[i16],
    corner: usize,
    step: usize,
    shift: u32,
) -> [[i32; FILTERS]; N] {
    let mut acc = [[i32::from(PSUM_INIT); FILTERS]; N];
    for (w, &offset) in chunk.weights.iter().zip(&chunk.offsets) {
        let at = corner + offset;
        for (col, sums) in acc.iter_mut().enumerate() {
            let xv = i32::from(x[at + col * step]);
            for (sum, &wk) in sums.iter_mut().zip(w) {
                *sum = sum.wrapping_add((xv * i32::from(wk)) >> shift);
            }
        }
    }
    acc
}

/// Folds a block's sums to 16 bits into the chunk's planes, at ofmap index
/// `at` (`e·F + f`) of each.
#[inline(always)]
fn store<const N: usize>(
    acc: &[[i32; FILTERS]; N],
    filters: usize,
    plane: usize,
    at: usize,
    out: &mut [i16],
) {
    for (col, sums) in acc.iter().enumerate() {
        for (lane, &sum) in sums.iter().enumerate().take(filters) {
            out[lane * plane + at + col] = sum as i16;
        }
    }
}

#[cfg(test)]
#[path = "reference_kernel_tests.rs"]
mod tests;
