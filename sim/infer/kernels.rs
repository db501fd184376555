//! Direct convolution, FC and pooling kernels over whole feature maps, in
//! float (the model's own arithmetic) and in the chip's fixed point with an
//! exact 32-bit accumulator (so that 16-bit wrap-around can be counted).
//! These are the fast functional path: no timing, no memory hierarchy.

use crate::workload::{ConvProblem, Op};

/// Output positions `o` with `0 ≤ o·stride + offset < len`, `o < outs`.
fn reach(offset: i64, stride: u32, len: u32, outs: u32) -> (usize, usize) {
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

/// Accumulates every tap of one (image, filter) output plane `out`
/// (`E·F`) from the image's input planes `x` (`C·H·W` of its group):
/// `tap(acc, x, weight index)`; taps on padding are skipped (they see 0).
#[inline(always)]
fn plane<X: Copy, A: Copy, W: Copy>(
    p: &ConvProblem,
    x: &[X],
    out: &mut [A],
    weight: impl Fn(usize) -> W,
    tap: impl Fn(A, X, W) -> A,
) {
    let (h, w, f) = (p.h as usize, p.w as usize, p.f as usize);
    for c in 0..p.c as usize {
        let xc = &x[c * h * w..(c + 1) * h * w];
        for r in 0..p.r {
            let dy = i64::from(r * p.d_h) - i64::from(p.pad.top);
            let (e_lo, e_hi) = reach(dy, p.u_h, p.h, p.e);
            for s in 0..p.s {
                let dx = i64::from(s * p.d_w) - i64::from(p.pad.left);
                let (f_lo, f_hi) = reach(dx, p.u_w, p.w, p.f);
                let wv = weight((c * p.r as usize + r as usize) * p.s as usize + s as usize);
                if f_lo >= f_hi {
                    continue;
                }
                let x0 = (f_lo as i64 * i64::from(p.u_w) + dx) as usize;
                for e in e_lo..e_hi {
                    let y = (e as i64 * i64::from(p.u_h) + dy) as usize;
                    let row = &xc[y * w..(y + 1) * w];
                    let o = &mut out[e * f + f_lo..e * f + f_hi];
                    if p.u_w == 1 {
                        // Contiguous: lets the compiler vectorize the row.
                        for (slot, &xv) in o.iter_mut().zip(&row[x0..]) {
                            *slot = tap(*slot, xv, wv);
                        }
                    } else {
                        let xs = row[x0..].iter().step_by(p.u_w as usize);
                        for (slot, &xv) in o.iter_mut().zip(xs) {
                            *slot = tap(*slot, xv, wv);
                        }
                    }
                }
            }
        }
    }
}

/// The input windows of one image's group as columns: row `kk` (a tap
/// `(c, r, s)`) holds, for every output position `(e, f)`, the input value
/// that tap reads there (`zero` on padding). Turns a convolution into long
/// contiguous rows for the filter loop.
fn im2col<X: Copy>(p: &ConvProblem, x: &[X], zero: X, col: &mut Vec<X>) {
    let (h, w) = (p.h as usize, p.w as usize);
    let (e, f) = (p.e as usize, p.f as usize);
    col.clear();
    col.resize((p.c * p.r * p.s) as usize * e * f, zero);
    let mut kk = 0;
    for c in 0..p.c as usize {
        let xc = &x[c * h * w..(c + 1) * h * w];
        for r in 0..p.r {
            let dy = i64::from(r * p.d_h) - i64::from(p.pad.top);
            let (e_lo, e_hi) = reach(dy, p.u_h, p.h, p.e);
            for s in 0..p.s {
                let dx = i64::from(s * p.d_w) - i64::from(p.pad.left);
                let (f_lo, f_hi) = reach(dx, p.u_w, p.w, p.f);
                let row = &mut col[kk * e * f..(kk + 1) * e * f];
                kk += 1;
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

/// Float layer: `[N][G·M][E][F]` from `x` `[N][G·C][H][W]`; conv/FC add the
/// bias; average pooling divides by the window; ReLU when the layer says.
pub fn float_layer(
    p: &ConvProblem,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    threads: usize,
) -> Vec<f32> {
    let (ef, gm) = ((p.e * p.f) as usize, (p.g * p.m) as usize);
    let in_img = (p.g * p.c * p.h * p.w) as usize;
    let in_grp = (p.c * p.h * p.w) as usize;
    let kernel = (p.c * p.r * p.s) as usize;
    let mut out = vec![0f32; p.n as usize * gm * ef];
    per_image(p.n as usize, gm * ef, &mut out, threads, |n, o| {
        let mut col = Vec::new();
        for k in 0..gm {
            let g = k / p.m as usize;
            let x = &x[n * in_img + g * in_grp..n * in_img + (g + 1) * in_grp];
            if p.op == Op::Mac && k % p.m as usize == 0 {
                im2col(p, x, 0.0, &mut col);
            }
            let op = &mut o[k * ef..(k + 1) * ef];
            match p.op {
                Op::Mac => {
                    let wk = &w[k * kernel..(k + 1) * kernel];
                    op.fill(bias[k]);
                    for (&wv, xs) in wk.iter().zip(col.chunks_exact(ef)) {
                        if wv != 0.0 {
                            op.iter_mut().zip(xs).for_each(|(a, &xv)| *a += xv * wv);
                        }
                    }
                }
                Op::Max => {
                    op.fill(f32::NEG_INFINITY);
                    plane(p, x, op, |_| (), |a, xv, _| a.max(xv));
                }
                Op::Avg => {
                    plane(p, x, op, |_| (), |a, xv, _| a + xv);
                    let win = (p.r * p.s) as f32;
                    op.iter_mut().for_each(|v| *v /= win);
                }
            }
            if p.relu {
                op.iter_mut().for_each(|v| *v = v.max(0.0));
            }
        }
    });
    out
}

/// Largest magnitude of a float layer's accumulated outputs (before bias
/// and ReLU), for calibration.
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
    let (ef, gm) = ((p.e * p.f) as usize, (p.g * p.m) as usize);
    let in_img = (p.g * p.c * p.h * p.w) as usize;
    let in_grp = (p.c * p.h * p.w) as usize;
    let kernel = (p.c * p.r * p.s) as usize;
    let mut out = vec![0i16; p.n as usize * gm * ef];
    let wraps = std::sync::atomic::AtomicU64::new(0);
    let shift = shift.min(31);
    per_image(p.n as usize, gm * ef, &mut out, threads, |n, o| {
        let mut acc = vec![0i32; ef];
        let mut wrapped = 0;
        for k in 0..gm {
            let g = k / p.m as usize;
            let x = &x[n * in_img + g * in_grp..n * in_img + (g + 1) * in_grp];
            acc.fill(0);
            match p.op {
                Op::Mac => {
                    let wk = &w[k * kernel..(k + 1) * kernel];
                    plane(
                        p,
                        x,
                        &mut acc,
                        |wi| i32::from(wk[wi]),
                        |a, xv, wv| a + ((i32::from(xv) * wv) >> shift),
                    );
                }
                Op::Max => plane(p, x, &mut acc, |_| (), |a, xv, _| a.max(i32::from(xv))),
                Op::Avg => plane(p, x, &mut acc, |_| (), |a, xv, _| a + i32::from(xv)),
            }
            let window = i32::try_from(p.r * p.s).unwrap_or(i32::MAX).max(1);
            for (slot, &a) in o[k * ef..(k + 1) * ef].iter_mut().zip(&acc) {
                wrapped += u64::from(i16::try_from(a).is_err());
                let mut v = a as i16;
                if p.op == Op::Avg {
                    v = (i32::from(v) / window) as i16;
                }
                let b = if p.op == Op::Mac { bias[k] } else { 0 };
                let mut out = v.wrapping_add(b);
                if p.relu && out < 0 {
                    out = 0;
                }
                *slot = out;
            }
        }
        wraps.fetch_add(wrapped, std::sync::atomic::Ordering::Relaxed);
    });
    let stats = FixedStats {
        wraps: wraps.into_inner(),
    };
    (out, stats)
}
