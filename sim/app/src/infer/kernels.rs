//! Convolution, FC and pooling kernels over whole feature maps, in float
//! (the model's own arithmetic) and in the chip's fixed point with an
//! exact 32-bit accumulator (so that 16-bit wrap-around can be counted):
//! the fast functional path, with no timing and no memory hierarchy. Each
//! layer is computed as im2col rows, one contiguous row of output
//! positions per tap, which the compiler vectorizes.

use crate::data::reference::reach;
use crate::workload::{ConvProblem, Op};

/// The input windows of one image's group as rows: row `(c, r, s)` holds,
/// for every output position `(e, f)`, the input value that tap reads
/// there (`pad` on padding).
pub(crate) fn im2col<X: Copy>(p: &ConvProblem, x: &[X], pad: X, col: &mut Vec<X>) {
    let (h, w) = (p.h as usize, p.w as usize);
    let ef = (p.e * p.f) as usize;
    let f = p.f as usize;
    col.clear();
    col.resize((p.c * p.r * p.s) as usize * ef, pad);
    let mut row_index = 0;
    for c in 0..p.c as usize {
        let xc = &x[c * h * w..(c + 1) * h * w];
        for r in 0..p.r {
            let dy = i64::from(r * p.d_h) - i64::from(p.pad.top);
            let (e_lo, e_hi) = reach(dy, p.u_h, p.h, p.e);
            for s in 0..p.s {
                let dx = i64::from(s * p.d_w) - i64::from(p.pad.left);
                let (f_lo, f_hi) = reach(dx, p.u_w, p.w, p.f);
                let row = &mut col[row_index * ef..(row_index + 1) * ef];
                row_index += 1;
                for eo in e_lo..e_hi {
                    let y = (eo as i64 * i64::from(p.u_h) + dy) as usize;
                    for fo in f_lo..f_hi {
                        let xx = (fo as i64 * i64::from(p.u_w) + dx) as usize;
                        row[eo * f + fo] = xc[y * w + xx];
                    }
                }
            }
        }
    }
}

/// Runs `per_image(n, out_image)` for every image on up to `threads`
/// threads, in contiguous chunks (the result does not depend on the count).
fn per_image<A: Send>(
    images: usize,
    out_len: usize,
    out: &mut [A],
    threads: usize,
    per_image: impl Fn(usize, &mut [A]) + Sync,
) {
    let chunk = images.div_ceil(threads.clamp(1, images.max(1))).max(1);
    std::thread::scope(|s| {
        for (k, block) in out.chunks_mut(chunk * out_len.max(1)).enumerate() {
            let f = &per_image;
            s.spawn(move || {
                for (i, o) in block.chunks_mut(out_len.max(1)).enumerate() {
                    f(k * chunk + i, o);
                }
            });
        }
    });
}

/// Calls `group(g, columns, out_planes)` for every image and group, with
/// the group's im2col rows and its `M` output planes.
fn layer<X: Copy + Send + Sync, A: Copy + Send + Default>(
    p: &ConvProblem,
    x: &[X],
    pad: X,
    threads: usize,
    group: impl Fn(usize, &[X], &mut [A]) + Sync,
) -> Vec<A> {
    let (ef, gm) = ((p.e * p.f) as usize, (p.g * p.m) as usize);
    let in_img = (p.g * p.c * p.h * p.w) as usize;
    let in_grp = (p.c * p.h * p.w) as usize;
    let per_group = p.m as usize * ef;
    let mut out = vec![A::default(); p.n as usize * gm * ef];
    per_image(p.n as usize, gm * ef, &mut out, threads, |n, o| {
        let mut col = Vec::new();
        for g in 0..p.g as usize {
            let xg = &x[n * in_img + g * in_grp..n * in_img + (g + 1) * in_grp];
            im2col(p, xg, pad, &mut col);
            group(g, &col, &mut o[g * per_group..(g + 1) * per_group]);
        }
    });
    out
}

/// `acc[k] += f(row, w[k][tap])` for every tap row and filter of a group:
/// taps outermost, so each im2col row is read once for all filters while
/// it is in cache.
#[inline(always)]
fn accumulate<X: Copy, W: Copy + PartialEq + Default, A: Copy>(
    col: &[X],
    ef: usize,
    w: &[W],
    kernel: usize,
    acc: &mut [A],
    tap: impl Fn(A, X, W) -> A,
) {
    for (t, xs) in col.chunks_exact(ef).enumerate() {
        for (k, a) in acc.chunks_exact_mut(ef).enumerate() {
            let wv = w[k * kernel + t];
            if wv != W::default() {
                a.iter_mut()
                    .zip(xs)
                    .for_each(|(a, &xv)| *a = tap(*a, xv, wv));
            }
        }
    }
}

/// Float MACs of a group ([`accumulate`]), compiled for AVX2 as well and
/// dispatched at run time: the same loop, so the same results.
fn mac_float(col: &[f32], ef: usize, w: &[f32], kernel: usize, acc: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { mac_float_avx2(col, ef, w, kernel, acc) };
    }
    accumulate(col, ef, w, kernel, acc, |a, xv, wv| a + xv * wv);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mac_float_avx2(col: &[f32], ef: usize, w: &[f32], kernel: usize, acc: &mut [f32]) {
    accumulate(col, ef, w, kernel, acc, |a, xv, wv| a + xv * wv);
}

/// Fixed-point MACs of a group, each product shifted before it is summed;
/// dispatched to an AVX2 build of the same loop when the CPU has it.
fn mac_fixed(col: &[i16], ef: usize, w: &[i16], kernel: usize, acc: &mut [i32], shift: u32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { mac_fixed_avx2(col, ef, w, kernel, acc, shift) };
    }
    accumulate(col, ef, w, kernel, acc, |a, xv: i16, wv: i16| {
        a + ((i32::from(xv) * i32::from(wv)) >> shift)
    });
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mac_fixed_avx2(
    col: &[i16],
    ef: usize,
    w: &[i16],
    kernel: usize,
    acc: &mut [i32],
    shift: u32,
) {
    accumulate(col, ef, w, kernel, acc, |a, xv: i16, wv: i16| {
        a + ((i32::from(xv) * i32::from(wv)) >> shift)
    });
}

/// Float layer: `[N][G·M][E][F]` from `x` `[N][G·C][H][W]`; conv/FC add the
/// bias; average pooling divides by the window; ReLU when the layer says.
pub fn float_layer(
    p: &ConvProblem,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    threads: usize,
) -> Vec<f32> {
    let ef = (p.e * p.f) as usize;
    let kernel = (p.c * p.r * p.s) as usize;
    let pad = if p.op == Op::Max {
        f32::NEG_INFINITY
    } else {
        0.0
    };
    let m = p.m as usize;
    layer(p, x, pad, threads, |g, col, planes: &mut [f32]| {
        match p.op {
            Op::Mac => {
                for (k, op) in planes.chunks_exact_mut(ef).enumerate() {
                    op.fill(bias[g * m + k]);
                }
                let wg = &w[g * m * kernel..(g + 1) * m * kernel];
                mac_float(col, ef, wg, kernel, planes);
            }
            Op::Max => {
                planes.fill(f32::NEG_INFINITY);
                col.chunks_exact(ef).for_each(|xs| {
                    planes
                        .iter_mut()
                        .zip(xs)
                        .for_each(|(a, &xv)| *a = a.max(xv))
                });
            }
            Op::Avg => {
                col.chunks_exact(ef)
                    .for_each(|xs| planes.iter_mut().zip(xs).for_each(|(a, &xv)| *a += xv));
                let win = (p.r * p.s) as f32;
                planes.iter_mut().for_each(|v| *v /= win);
            }
        }
        if p.relu {
            planes.iter_mut().for_each(|v| *v = v.max(0.0));
        }
    })
}

/// Largest magnitude of a float layer's accumulated outputs, before and
/// after the bias (before ReLU), for calibration.
pub fn float_preact_max(p: &ConvProblem, x: &[f32], w: &[f32], bias: &[f32]) -> f32 {
    let mut q = *p;
    q.relu = false;
    let zero = vec![0f32; bias.len()];
    let acc = float_layer(&q, x, w, &zero, 1);
    let gm = (p.g * p.m) as usize;
    let ef = (p.e * p.f) as usize;
    acc.iter()
        .enumerate()
        .map(|(i, &a)| {
            a.abs()
                .max((a + bias.get((i / ef) % gm).copied().unwrap_or(0.0)).abs())
        })
        .fold(0.0, f32::max)
}

/// What the fixed-point kernel produced besides the values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FixedStats {
    /// Outputs whose exact accumulated value left the 16-bit range, so the
    /// chip's accumulator wrapped around.
    pub wraps: u64,
}

/// Fixed-point layer as the chip computes it: each product shifted right
/// by `shift` and accumulated (exactly, in 32 bits here; the chip's 16-bit
/// accumulator holds the same value modulo 2^16), then average division,
/// bias and ReLU in 16 bits. Max pooling starts from 0, as a psum does.
pub fn fixed_layer(
    p: &ConvProblem,
    x: &[i16],
    w: &[i16],
    bias: &[i16],
    shift: u32,
    threads: usize,
) -> (Vec<i16>, FixedStats) {
    let ef = (p.e * p.f) as usize;
    let kernel = (p.c * p.r * p.s) as usize;
    let shift = shift.min(31);
    let window = i32::try_from(p.r * p.s).unwrap_or(i32::MAX).max(1);
    let wraps = std::sync::atomic::AtomicU64::new(0);
    let m = p.m as usize;
    let out = layer(p, x, 0, threads, |g, col, planes: &mut [i16]| {
        let mut acc = vec![0i32; m * ef];
        match p.op {
            Op::Mac => {
                let wg = &w[g * m * kernel..(g + 1) * m * kernel];
                mac_fixed(col, ef, wg, kernel, &mut acc, shift);
            }
            // Pooling has one filter per group (M = 1).
            Op::Max => col.chunks_exact(ef).for_each(|xs| {
                acc.iter_mut()
                    .zip(xs)
                    .for_each(|(a, &xv)| *a = (*a).max(i32::from(xv)))
            }),
            Op::Avg => col.chunks_exact(ef).for_each(|xs| {
                acc.iter_mut()
                    .zip(xs)
                    .for_each(|(a, &xv)| *a += i32::from(xv))
            }),
        }
        let mut wrapped = 0;
        for (i, (slot, &a)) in planes.iter_mut().zip(&acc).enumerate() {
            wrapped += u64::from(i16::try_from(a).is_err());
            let mut v = a as i16;
            if p.op == Op::Avg {
                v = (i32::from(v) / window) as i16;
            }
            let b = if p.op == Op::Mac {
                bias[g * m + i / ef]
            } else {
                0
            };
            let mut y = v.wrapping_add(b);
            if p.relu && y < 0 {
                y = 0;
            }
            *slot = y;
        }
        wraps.fetch_add(wrapped, std::sync::atomic::Ordering::Relaxed);
    });
    let stats = FixedStats {
        wraps: wraps.into_inner(),
    };
    (out, stats)
}
