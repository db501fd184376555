//! Least-squares statistics of one array layer on calibration images, and
//! what the paper's method does with them: the joint output-map pruning
//! criterion and the closed-form restoration of the kept weights.
//!
//! For a filter `k` of a group, let `X` be the layer's input patches (one
//! row per image and output position, one column per tap `(c, r, s)`, plus
//! a column of ones for the bias) as the *pruned* upstream network produces
//! them, and `y` the filter's pre-ReLU output in the *unpruned* network on
//! the same images. The output-map error of weights `w` is `‖Xw − y‖²`; all
//! the method needs is `G = XᵀX`, `c_k = Xᵀy_k` and `‖y_k‖²`, accumulated
//! here in `f64` with nalgebra's GEMM. Restoration minimizes
//! `‖Xw − y‖² + λ‖w‖²` over the kept taps (the bias is not regularized),
//! solved by nalgebra's Cholesky factorization.

use crate::infer::kernels::im2col;
use crate::workload::ConvProblem;
use nalgebra::{Cholesky, DMatrix, DVector};

/// Calibration statistics of one layer, per group.
#[derive(Debug, Clone)]
pub struct LayerFit {
    /// Taps per filter (`C·R·S`); index `taps` is the bias column.
    pub taps: usize,
    /// Filters per group.
    pub filters: usize,
    /// Per group: `G` `(taps+1)²`, `C` `(taps+1) × filters`, `‖y_k‖²`.
    pub groups: Vec<GroupFit>,
    /// Rows of `X` (images × output positions).
    pub rows: u64,
}

/// One group's statistics (see [`LayerFit`]).
#[derive(Debug, Clone)]
pub struct GroupFit {
    /// `XᵀX`, bias column last.
    pub gram: DMatrix<f64>,
    /// `Xᵀ Y`, one column per filter.
    pub cross: DMatrix<f64>,
    /// `‖y_k‖²` per filter.
    pub target: Vec<f64>,
}

/// Images per GEMM block (bounds the patch matrices' memory).
const BLOCK_ROWS: usize = 8192;

/// Accumulates [`LayerFit`] for the array layer `p` (batch `p.n` images)
/// from its input in the pruned network `x_pruned`, and the unpruned
/// network's input `x_orig` with the unpruned weights `w` `[G·M][C·R·S]`
/// and bias `b` (which give the targets).
pub fn fit_layer(
    p: &ConvProblem,
    x_pruned: &[f32],
    x_orig: &[f32],
    w: &[f32],
    b: &[f32],
) -> LayerFit {
    let taps = (p.c * p.r * p.s) as usize;
    let (m, ef) = (p.m as usize, (p.e * p.f) as usize);
    let in_img = (p.g * p.c * p.h * p.w) as usize;
    let in_grp = (p.c * p.h * p.w) as usize;
    let per_block = (BLOCK_ROWS / ef.max(1)).max(1);
    let mut groups = Vec::with_capacity(p.g as usize);
    for g in 0..p.g as usize {
        let wg = DMatrix::from_fn(m, taps, |k, t| f64::from(w[(g * m + k) * taps + t]));
        let bg = DVector::from_fn(m, |k, _| f64::from(b[g * m + k]));
        let mut fit = GroupFit {
            gram: DMatrix::zeros(taps + 1, taps + 1),
            cross: DMatrix::zeros(taps + 1, m),
            target: vec![0.0; m],
        };
        let mut col = Vec::new();
        for first in (0..p.n as usize).step_by(per_block) {
            let imgs = per_block.min(p.n as usize - first);
            // Patches as columns: (taps+1) × (imgs·ef), ones in the last row.
            let mut xp = DMatrix::from_element(taps + 1, imgs * ef, 1.0);
            let mut xo = DMatrix::zeros(taps, imgs * ef);
            for i in 0..imgs {
                let at = (first + i) * in_img + g * in_grp;
                im2col(p, &x_pruned[at..at + in_grp], 0.0, &mut col);
                fill(&mut xp, &col, i * ef, ef, taps);
                im2col(p, &x_orig[at..at + in_grp], 0.0, &mut col);
                fill(&mut xo, &col, i * ef, ef, taps);
            }
            let mut y = &wg * &xo;
            for mut c in y.column_iter_mut() {
                c += &bg;
            }
            fit.gram += &xp * xp.transpose();
            fit.cross += &xp * y.transpose();
            for (k, t) in fit.target.iter_mut().enumerate() {
                *t += y.row(k).norm_squared();
            }
        }
        groups.push(fit);
    }
    LayerFit {
        taps,
        filters: m,
        groups,
        rows: u64::from(p.n) * ef as u64,
    }
}

/// Copies im2col rows (tap-major, `ef` positions each) into columns
/// `at..at+ef` of `dst`'s first `taps` rows.
fn fill(dst: &mut DMatrix<f64>, col: &[f32], at: usize, ef: usize, taps: usize) {
    for t in 0..taps {
        for (e, &v) in col[t * ef..(t + 1) * ef].iter().enumerate() {
            dst[(t, at + e)] = f64::from(v);
        }
    }
}

/// A filter's weights over the augmented taps (bias last).
pub type FilterWeights = Vec<f64>;

impl LayerFit {
    /// The ridge `λ`: `ridge` times the mean diagonal of the groups' `G`
    /// over the taps (so that it is relative to the input's scale).
    pub fn lambda(&self, ridge: f64) -> f64 {
        let (mut s, mut n) = (0.0, 0usize);
        for g in &self.groups {
            for t in 0..self.taps {
                s += g.gram[(t, t)];
                n += 1;
            }
        }
        ridge * s / n.max(1) as f64
    }

    /// `‖Xw − y_k‖²` of filter `k` of group `g` (no ridge).
    pub fn error(&self, g: usize, k: usize, w: &[f64]) -> f64 {
        let fit = &self.groups[g];
        let w = DVector::from_column_slice(w);
        let gw = &fit.gram * &w;
        (w.dot(&gw) - 2.0 * w.dot(&fit.cross.column(k)) + fit.target[k]).max(0.0)
    }

    /// The restored weights of filter `k` of group `g` over the kept taps
    /// `keep` (the bias too when `bias_free`; otherwise it stays `bias`):
    /// the minimizer of `‖Xw − y‖² + λ‖w‖²`. Pruned taps are 0.
    pub fn restore(
        &self,
        g: usize,
        k: usize,
        keep: &[usize],
        bias: Option<f64>,
        lambda: f64,
    ) -> FilterWeights {
        let fit = &self.groups[g];
        let mut idx: Vec<usize> = keep.to_vec();
        if bias.is_none() {
            idx.push(self.taps);
        }
        let n = idx.len();
        let mut h = DMatrix::from_fn(n, n, |i, j| fit.gram[(idx[i], idx[j])]);
        let mut rhs = DVector::from_fn(n, |i, _| fit.cross[(idx[i], k)]);
        if let Some(b) = bias {
            // A fixed bias moves to the right-hand side: c − G[:, bias]·b.
            for (i, &t) in idx.iter().enumerate() {
                rhs[i] -= fit.gram[(t, self.taps)] * b;
            }
        }
        for (i, &t) in idx.iter().enumerate() {
            if t != self.taps {
                h[(i, i)] += lambda;
            }
        }
        let mut w = vec![0.0; self.taps + 1];
        if n == 0 {
        } else if let Some(ch) = Cholesky::new(h) {
            let sol = ch.solve(&rhs);
            for (i, &t) in idx.iter().enumerate() {
                w[t] = sol[i];
            }
        }
        if let Some(b) = bias {
            w[self.taps] = b;
        }
        w
    }

    /// The regularized inverse `(G_SS + λI)⁻¹` over the taps `keep` of
    /// group `g` (and the bias when `bias_free`), which every filter of the
    /// group with these taps shares; `None` when not positive definite.
    pub fn inverse(
        &self,
        g: usize,
        keep: &[usize],
        bias_free: bool,
        lambda: f64,
    ) -> Option<Inverse> {
        let fit = &self.groups[g];
        let mut idx: Vec<usize> = keep.to_vec();
        if bias_free {
            idx.push(self.taps);
        }
        let n = idx.len();
        let mut h = DMatrix::from_fn(n, n, |i, j| fit.gram[(idx[i], idx[j])]);
        for (i, &t) in idx.iter().enumerate() {
            if t != self.taps {
                h[(i, i)] += lambda;
            }
        }
        let hinv = Cholesky::new(h)?.inverse();
        Some(Inverse { idx, hinv })
    }

    /// The joint output-map pruning path of filter `k` of group `g` from
    /// the taps of `start` (see [`LayerFit::inverse`]): greedy backward
    /// elimination on the regularized least-squares objective. Each step
    /// removes the tap whose removal, with the others re-fitted, raises the
    /// error least (`w_j² / [H⁻¹]_jj`, exact for a quadratic), then updates
    /// `w` and `H⁻¹` by the rank-one formula. Returns the taps in removal
    /// order with the error increase of each step. Weights that cancel on
    /// correlated inputs stay together: removing one alone would cost much
    /// more than its magnitude says.
    pub fn path(&self, g: usize, k: usize, start: &Inverse) -> Vec<(usize, f64)> {
        let fit = &self.groups[g];
        let mut idx = start.idx.clone();
        let n = idx.len();
        let rhs = DVector::from_fn(n, |i, _| fit.cross[(idx[i], k)]);
        let mut w = &start.hinv * rhs;
        let mut hinv = start.hinv.clone();
        let mut out = Vec::with_capacity(n);
        while idx.iter().any(|&t| t != self.taps) {
            let alive = eliminate(&idx, self.taps, &mut w, &mut hinv, &mut out);
            // The downdated inverse restricted to the live taps is the
            // inverse of their sub-matrix: compact to it.
            let live: Vec<usize> = (0..idx.len()).filter(|&i| alive[i]).collect();
            hinv = DMatrix::from_fn(live.len(), live.len(), |i, j| hinv[(live[i], live[j])]);
            w = DVector::from_fn(live.len(), |i, _| w[live[i]]);
            idx = live.iter().map(|&i| idx[i]).collect();
        }
        out
    }
}

/// A regularized inverse over a set of taps ([`LayerFit::inverse`]).
#[derive(Debug, Clone)]
pub struct Inverse {
    /// The taps (bias last when free).
    pub idx: Vec<usize>,
    /// `(G_SS + λI)⁻¹`.
    pub hinv: DMatrix<f64>,
}

/// [`eliminate_scalar`], compiled for AVX2 as well and dispatched at run
/// time: the same loop without FMA contraction, so the same results.
fn eliminate(
    idx: &[usize],
    bias_tap: usize,
    w: &mut DVector<f64>,
    hinv: &mut DMatrix<f64>,
    out: &mut Vec<(usize, f64)>,
) -> Vec<bool> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { eliminate_avx2(idx, bias_tap, w, hinv, out) };
    }
    eliminate_scalar(idx, bias_tap, w, hinv, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn eliminate_avx2(
    idx: &[usize],
    bias_tap: usize,
    w: &mut DVector<f64>,
    hinv: &mut DMatrix<f64>,
    out: &mut Vec<(usize, f64)>,
) -> Vec<bool> {
    eliminate_scalar(idx, bias_tap, w, hinv, out)
}

/// Removes a quarter of the taps in `idx` (at least one; never the bias)
/// by the rank-one updates of [`LayerFit::path`], appending each with its
/// cost to `out`; returns which entries are still live.
#[inline(always)]
fn eliminate_scalar(
    idx: &[usize],
    bias_tap: usize,
    w: &mut DVector<f64>,
    hinv: &mut DMatrix<f64>,
    out: &mut Vec<(usize, f64)>,
) -> Vec<bool> {
    let n = idx.len();
    let mut alive = vec![true; n];
    let mut removable: Vec<bool> = idx.iter().map(|&t| t != bias_tap).collect();
    let budget = (n / 4).max(1);
    let mut colj = vec![0.0; n];
    let h = hinv.as_mut_slice();
    let w = w.as_mut_slice();
    for _ in 0..budget {
        let mut best: Option<(usize, f64)> = None;
        for j in (0..n).filter(|&j| removable[j]) {
            let cost = w[j] * w[j] / h[j * n + j];
            if best.is_none_or(|(_, c)| cost < c) {
                best = Some((j, cost));
            }
        }
        let Some((j, cost)) = best else { break };
        let d = h[j * n + j];
        // Column-major and symmetric: column j is also row j.
        colj.copy_from_slice(&h[j * n..(j + 1) * n]);
        let scale = w[j] / d;
        for (wi, c) in w.iter_mut().zip(&colj) {
            *wi -= scale * c;
        }
        for (col, &cb) in h.chunks_exact_mut(n).zip(&colj) {
            let f = cb / d;
            if f != 0.0 {
                for (x, c) in col.iter_mut().zip(&colj) {
                    *x -= c * f;
                }
            }
        }
        alive[j] = false;
        removable[j] = false;
        out.push((idx[j], cost.max(0.0)));
    }
    alive
}
