//! The golden model: a plain convolution / FC / pooling with the chip's
//! arithmetic ([`super::mac`], [`super::tap`], [`super::merge`],
//! [`super::finalize`]).
//!
//! A MAC layer with eight or more filters per group goes through a blocked
//! kernel (`reference_kernel`): sixteen filters by four ofmap columns at a
//! time, summed in 32 bits over every tap, the way a GEMM kernel blocks its
//! output (on AVX2, two taps per multiply: `reference_kernel::pairs`). A fully connected layer (each output's window is the whole
//! input) is one dot product per output, summed in 32 bits. Other layers
//! (pooling, depthwise and other few-filter groups) are computed one
//! output plane `(image, filter)` at a time with plain
//! loops over `(c, r, s)` then over the output rows and columns that the
//! tap reaches; taps on padding are skipped because they see `x = 0`,
//! which never changes a psum (see [`PSUM_INIT`]). Zero weights are skipped
//! for the same reason. The loop order is free because wrapping 16-bit
//! addition is associative and commutative; the innermost loop runs along
//! an ofmap row so the compiler can vectorise it. With a horizontal stride
//! `U > 1` the input planes are first split into `U` column phases (phase
//! `p` holds columns `p, p+U, p+2U, …`), so that an ofmap row reads a
//! contiguous run of one phase instead of a strided gather. Work is split
//! among threads in contiguous runs of planes, so the result is identical
//! for any thread count.
//!
//! The arithmetic is written here again, on purpose, rather than borrowed
//! from `arith` (which the simulator's PEs use): the product and the sum
//! are formed in 32 bits and the result folded to 16 bits (after every tap
//! in the plane loops, once per sum in the kernel and the dot product: the
//! same bits, as folding is reduction modulo 2^16), where `arith` truncates
//! the product first and adds with
//! 16-bit wrapping. Two implementations that agree are evidence; one shared
//! one is not.

/// One tap of the reference: `acc + (x·w >> shift)`, formed in 32 bits
/// (|x·w| ≤ 2^30, so neither the product nor the sum overflows) and folded
/// to 16-bit two's complement.
#[inline(always)]
fn ref_mac(acc: i16, x: i16, w: i16, shift: u32) -> i16 {
    let product = i32::from(x) * i32::from(w);
    (i32::from(acc) + (product >> shift.min(31))) as i16
}

/// The value leaving the GLB: average pooling divides by the window
/// (toward zero), then bias, then ReLU.
fn ref_finalize(prob: &ConvProblem, psum: i16, bias: i16) -> i16 {
    let mut v = i32::from(psum);
    if prob.op == Op::Avg {
        let window = (i64::from(prob.r) * i64::from(prob.s)).max(1);
        v = (i64::from(v) / window) as i32;
    }
    let mut out = (v + i32::from(bias)) as i16;
    if prob.relu && out < 0 {
        out = 0;
    }
    out
}

use super::arith::PSUM_INIT;
/// Filters the blocked kernel computes together (one chunk of lanes).
pub use super::reference_kernel::FILTERS as KERNEL_FILTERS;
use super::reference_kernel::{chunk_psums, PaddedInput, WeightChunk};
use super::LayerData;
use crate::workload::{ConvProblem, Op};

/// The reference ofmap `[n][g·m][e][f]` after its finalization (avg division,
/// bias, ReLU).
///
/// # Panics
/// When `data` does not have the sizes `prob` implies (a programming error:
/// [`super::generate()`] and every [`super::LayerDataSource`] produce
/// matching data).
pub fn reference(prob: &ConvProblem, data: &LayerData, product_shift: u32) -> Vec<i16> {
    let mut out = reference_psums(prob, data, product_shift);
    apply_finalize(prob, &data.bias, &mut out);
    out
}

/// Applies the reference's finalization in place to psums laid out `[n][g·m][e][f]`, with the
/// per-filter `bias` (`[g·m]`).
pub fn apply_finalize(prob: &ConvProblem, bias: &[i16], psums: &mut [i16]) {
    let plane = (prob.e * prob.f) as usize;
    let filters = (prob.g * prob.m) as usize;
    for (idx, chunk) in psums.chunks_mut(plane).enumerate() {
        let b = bias[idx % filters];
        for v in chunk {
            *v = ref_finalize(prob, *v, b);
        }
    }
}

/// The reference psums `[n][g·m][e][f]` before finalization: the accumulated
/// sums (MAC, avg) or maxima (max pooling), starting from [`PSUM_INIT`].
///
/// # Panics
/// As [`reference()`].
pub fn reference_psums(prob: &ConvProblem, data: &LayerData, product_shift: u32) -> Vec<i16> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    reference_psums_threads(prob, data, product_shift, threads)
}

/// [`reference_psums`] on exactly `threads` worker threads (at least one).
pub fn reference_psums_threads(
    prob: &ConvProblem,
    data: &LayerData,
    product_shift: u32,
    threads: usize,
) -> Vec<i16> {
    data.assert_matches(prob);
    let plane = (prob.e * prob.f) as usize;
    let planes = (prob.n * prob.g * prob.m) as usize;
    let mut out = vec![PSUM_INIT; planes * plane];
    if plane == 0 || planes == 0 {
        return out;
    }
    if uses_kernel(prob) {
        kernel_psums(prob, data, product_shift, threads, &mut out);
    } else {
        plane_psums(prob, data, product_shift, threads, &mut out);
    }
    out
}

/// Whether a layer goes through the blocked kernel (`reference_kernel`):
/// a MAC layer that is not one dot product per output, with enough
/// filters per group to fill most of a chunk's lanes (a depthwise layer's
/// one filter per group would waste fifteen of sixteen).
pub fn uses_kernel(prob: &ConvProblem) -> bool {
    prob.op == Op::Mac && !is_dense_window(prob) && prob.m as usize >= KERNEL_FILTERS / 2
}

/// The psums by chunks of [`KERNEL_FILTERS`] filters of one image and group, each
/// a contiguous run of ofmap planes; chunks are split among threads in
/// contiguous runs, so the result does not depend on the thread count.
fn kernel_psums(prob: &ConvProblem, data: &LayerData, shift: u32, threads: usize, out: &mut [i16]) {
    let (images, groups) = (prob.n as usize, prob.g as usize);
    let inputs: Vec<PaddedInput> = (0..images * groups)
        .map(|ig| PaddedInput::new(prob, data, ig / groups, ig % groups))
        .collect();
    let per_group = (prob.m as usize).div_ceil(KERNEL_FILTERS);
    let chunks: Vec<WeightChunk> = (0..groups * per_group)
        .map(|gc| {
            WeightChunk::new(
                prob,
                data,
                gc / per_group,
                gc % per_group * KERNEL_FILTERS,
                &inputs[0],
            )
        })
        .collect();
    let plane = (prob.e * prob.f) as usize;
    let mut jobs = Vec::with_capacity(images * chunks.len());
    let mut rest = out;
    for img in 0..images {
        for (gc, chunk) in chunks.iter().enumerate() {
            let (planes, tail) = rest.split_at_mut(chunk.filters() * plane);
            rest = tail;
            jobs.push((&inputs[img * groups + gc / per_group], chunk, planes));
        }
    }
    let per_thread = jobs.len().div_ceil(threads.clamp(1, jobs.len()));
    std::thread::scope(|scope| {
        for part in jobs.chunks_mut(per_thread) {
            scope.spawn(move || {
                for (input, chunk, planes) in part {
                    chunk_psums(prob, input, chunk, shift, planes);
                }
            });
        }
    });
}

/// The psums one output plane `(image, filter)` at a time, planes split
/// among threads in contiguous runs.
fn plane_psums(prob: &ConvProblem, data: &LayerData, shift: u32, threads: usize, out: &mut [i16]) {
    let plane = (prob.e * prob.f) as usize;
    let planes = (prob.n * prob.g * prob.m) as usize;
    let per_thread = planes.div_ceil(threads.clamp(1, planes));
    let phased = column_phases(prob, &data.ifmap);
    let input = Input {
        values: phased.as_deref().unwrap_or(&data.ifmap),
        row_len: prob.w.div_ceil(prob.u_w) as usize,
    };
    let input = &input;
    std::thread::scope(|scope| {
        for (chunk_idx, chunk) in out.chunks_mut(per_thread * plane).enumerate() {
            scope.spawn(move || {
                for (i, out_plane) in chunk.chunks_mut(plane).enumerate() {
                    let idx = chunk_idx * per_thread + i;
                    compute_plane(prob, data, input, shift, idx, out_plane);
                }
            });
        }
    });
}

/// The ifmap in phase layout `[n][g·c][phase][h][row_len]`: element `j` of
/// row `y` of phase `p` is column `j·U + p`. With `U = 1` this is the plain
/// ifmap layout.
struct Input<'a> {
    values: &'a [i16],
    row_len: usize,
}

/// The ifmap rearranged into column phases, or `None` when `U = 1` (the
/// plain layout already is the phase layout). Entries past the last column
/// of a phase are 0 and never read.
fn column_phases(prob: &ConvProblem, ifmap: &[i16]) -> Option<Vec<i16>> {
    let u = prob.u_w as usize;
    if u == 1 || ifmap.is_empty() {
        return None;
    }
    let (h, w) = (prob.h as usize, prob.w as usize);
    let row_len = w.div_ceil(u);
    let mut out = vec![0; ifmap.len() / (h * w) * u * h * row_len];
    for (plane, dst) in ifmap.chunks(h * w).zip(out.chunks_mut(u * h * row_len)) {
        for (y, row) in plane.chunks(w).enumerate() {
            for (x, &v) in row.iter().enumerate() {
                dst[((x % u) * h + y) * row_len + x / u] = v;
            }
        }
    }
    Some(out)
}

/// Index ranges of the output axis that a tap at offset `offset` (in padded
/// minus padding coordinates, i.e. `tap·dilation − pad_before`) reaches
/// inside an unpadded input of `len` values, with stride `stride` and `outs`
/// outputs: all `o` with `0 ≤ o·stride + offset < len`.
pub fn reach(offset: i64, stride: u32, len: u32, outs: u32) -> (usize, usize) {
    let stride = i64::from(stride);
    let lo = if offset >= 0 {
        0
    } else {
        (-offset + stride - 1) / stride
    };
    let last = i64::from(len) - 1 - offset;
    let hi = if last < 0 {
        0
    } else {
        (last / stride + 1).min(i64::from(outs))
    };
    (lo as usize, hi.max(lo) as usize)
}

/// Computes one output plane (`plane_idx` = image·g·m + filter), with an
/// AVX2 build of the same loops when the CPU has it (32-bit products eight
/// to an instruction, where SSE2 has no 32-bit multiply and emulates one
/// with shuffles): the same integer operations, so the same bits.
fn compute_plane(
    prob: &ConvProblem,
    data: &LayerData,
    input: &Input,
    shift: u32,
    plane_idx: usize,
    out: &mut [i16],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { compute_plane_avx2(prob, data, input, shift, plane_idx, out) };
    }
    plane_loops(prob, data, input, shift, plane_idx, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn compute_plane_avx2(
    prob: &ConvProblem,
    data: &LayerData,
    input: &Input,
    shift: u32,
    plane_idx: usize,
    out: &mut [i16],
) {
    plane_loops(prob, data, input, shift, plane_idx, out);
}

/// The loops of [`compute_plane`], inlined into each build of it.
#[inline(always)]
fn plane_loops(
    prob: &ConvProblem,
    data: &LayerData,
    input: &Input,
    shift: u32,
    plane_idx: usize,
    out: &mut [i16],
) {
    let filters = (prob.g * prob.m) as usize;
    let (img, k) = (plane_idx / filters, plane_idx % filters);
    let grp = k / prob.m as usize;
    let c_count = prob.c as usize;
    let in_plane = (prob.h * prob.w) as usize;
    let kernel = (prob.r * prob.s) as usize;
    if prob.op == Op::Mac && is_dense_window(prob) {
        let len = c_count * in_plane;
        let start = (img * prob.g as usize + grp) * len;
        let x = &data.ifmap[start..start + len];
        let w = &data.weights[k * len..(k + 1) * len];
        out[0] = dot(x, w, shift);
        return;
    }
    let phased_plane = prob.u_w as usize * prob.h as usize * input.row_len;
    for c in 0..c_count {
        let start = ((img * prob.g as usize + grp) * c_count + c) * phased_plane;
        let plane = Input {
            values: &input.values[start..start + phased_plane],
            row_len: input.row_len,
        };
        let input = &plane;
        for r in 0..prob.r {
            for s in 0..prob.s {
                let tap_idx = (r * prob.s + s) as usize;
                match prob.op {
                    Op::Mac => {
                        let w = data.weights[(k * c_count + c) * kernel + tap_idx];
                        if w != 0 {
                            accumulate_tap(prob, input, out, r, s, |a, x| ref_mac(a, x, w, shift));
                        }
                    }
                    Op::Max => accumulate_tap(prob, input, out, r, s, |a, x| a.max(x)),
                    Op::Avg => accumulate_tap(prob, input, out, r, s, |a, x| a.wrapping_add(x)),
                }
            }
        }
    }
}

/// Whether each output's window is exactly the whole contiguous input of its
/// group (a fully connected layer): then the psum is one dot product.
fn is_dense_window(p: &ConvProblem) -> bool {
    p.e == 1
        && p.f == 1
        && p.r == p.h
        && p.s == p.w
        && p.pad == crate::workload::Padding::default()
        && (p.d_h == 1 || p.r == 1)
        && (p.d_w == 1 || p.s == 1)
}

#[inline]
fn dot(x: &[i16], w: &[i16], shift: u32) -> i16 {
    // Summed in 32 bits and folded once, as in the blocked kernel: the
    // same bits as folding after every product, and independent sums the
    // compiler can spread over vector lanes (a 16-bit fold per product
    // would chain every MAC on the previous one).
    let shift = shift.min(31);
    let sum = x.iter().zip(w).fold(i32::from(PSUM_INIT), |acc, (&x, &w)| {
        acc.wrapping_add((i32::from(x) * i32::from(w)) >> shift)
    });
    sum as i16
}

/// Applies tap `(r, s)` of one input channel plane (phase layout) to every
/// output it reaches.
#[inline(always)]
fn accumulate_tap(
    p: &ConvProblem,
    input: &Input,
    out: &mut [i16],
    r: u32,
    s: u32,
    op: impl Fn(i16, i16) -> i16,
) {
    let dy = i64::from(r * p.d_h) - i64::from(p.pad.top);
    let dx = i64::from(s * p.d_w) - i64::from(p.pad.left);
    let (e_lo, e_hi) = reach(dy, p.u_h, p.h, p.e);
    let (f_lo, f_hi) = reach(dx, p.u_w, p.w, p.f);
    if f_lo >= f_hi {
        return;
    }
    let (h, f, u_w) = (p.h as usize, p.f as usize, p.u_w as usize);
    // Input columns x0, x0+U, … all lie in phase x0 mod U, from index x0 / U.
    let x0 = (f_lo as i64 * u_w as i64 + dx) as usize;
    let (phase, j0) = (x0 % u_w, x0 / u_w);
    let len = f_hi - f_lo;
    for e in e_lo..e_hi {
        let y = (e as i64 * i64::from(p.u_h) + dy) as usize;
        let row_start = (phase * h + y) * input.row_len + j0;
        let in_row = &input.values[row_start..row_start + len];
        let out_row = &mut out[e * f + f_lo..e * f + f_hi];
        for (o, &x) in out_row.iter_mut().zip(in_row) {
            *o = op(*o, x);
        }
    }
}

#[cfg(test)]
#[path = "reference_tests.rs"]
mod tests;
