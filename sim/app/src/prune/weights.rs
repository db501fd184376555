//! Pruning real weights to a planned density, choosing the weights whose
//! removal disturbs the layer's output feature map least.
//!
//! Criterion (first order, after CVPR 2017's "minimize the output error"):
//! removing weight `w` of filter `k`, channel `c`, tap `(r, s)` changes
//! filter `k`'s psums by `w · x` at every output position, where `x` runs
//! over the ifmap values that tap reads (padding included, as zeros). The
//! L2 norm of that change is `|w| · ‖x‖₂`, so weights are kept in order of
//! `w² · Σx²` (an exact integer: no float decides), largest first, ties to
//! the lower weight index. Interactions between removed weights, the
//! closed-form least-squares restoration of the kept weights and the
//! fine-tuning of the paper are not modelled.

use super::floors::has_weights;
use super::{PruneError, PrunePlan};
use crate::data::{self, LayerData};
use crate::engine::layer_seed;
use crate::workload::{ConvProblem, LayerWork};
use std::path::Path;

/// Where the unpruned layer data comes from.
#[derive(Debug, Clone, Copy)]
pub enum WeightSource<'a> {
    /// `DIR/<layer>.{ifmap,weights,bias}.npy` (see [`data::load_npy`]).
    Npy(&'a Path),
    /// Seeded synthetic data at the layer's original density; layer `i`
    /// uses [`crate::engine::layer_seed`]`(seed, i)`, as `eyesim simulate` does.
    Generated {
        /// The run's seed.
        seed: u64,
    },
}

/// One layer's weights pruned to its planned density.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPruning {
    /// Index in the network.
    pub index: usize,
    /// Layer name.
    pub layer: String,
    /// Weights (all groups).
    pub weights: u64,
    /// Density of the weights before pruning (measured).
    pub density_before: f64,
    /// The plan's density.
    pub planned_density: f64,
    /// Density of the pruned weights (measured): the planned one, unless the
    /// weights had fewer non-zeros to begin with.
    pub density_after: f64,
    /// ‖ofmap(pruned) − ofmap(unpruned)‖₂ / ‖ofmap(unpruned)‖₂, both by the
    /// reference convolution on the same ifmap (after bias and ReLU). 0 when
    /// nothing was removed; infinite when only the unpruned ofmap is all zero.
    pub ofmap_error: f64,
}

/// Prunes `data.weights` in place to `density` (rounded to a whole number
/// of weights) by the module's criterion and returns the relative L2 ofmap
/// error (see [`LayerPruning::ofmap_error`]) under `product_shift`.
pub fn prune_layer_weights(
    prob: &ConvProblem,
    data: &mut LayerData,
    density: f64,
    product_shift: u32,
) -> f64 {
    data.assert_matches(prob);
    let count = data.weights.len();
    let keep = ((density.clamp(0.0, 1.0) * count as f64).round() as usize).min(count);
    let nonzero = count - data::count_zeros(&data.weights) as usize;
    if keep >= nonzero {
        return 0.0;
    }
    let energy = tap_energy(prob, data);
    let key = |i: usize| {
        let w = i128::from(data.weights[i]);
        let (c, r, s) = (prob.c as usize, prob.r as usize, prob.s as usize);
        let k = i / (c * r * s);
        let group = k / prob.m as usize;
        let tap = i % (c * r * s);
        (w * w) as u128 * u128::from(energy[group * c * r * s + tap])
    };
    let mut order: Vec<usize> = (0..count).filter(|&i| data.weights[i] != 0).collect();
    order.sort_by(|&a, &b| key(b).cmp(&key(a)).then(a.cmp(&b)));
    let unpruned = data::reference(prob, data, product_shift);
    for &i in &order[keep..] {
        data.weights[i] = 0;
    }
    let pruned = data::reference(prob, data, product_shift);
    relative_error(&unpruned, &pruned)
}

/// Σx² over the ifmap values each tap `(group, c, r, s)` reads, over all
/// images and output positions; laid out `[g][c][r][s]`.
fn tap_energy(prob: &ConvProblem, data: &LayerData) -> Vec<u64> {
    let (r_n, s_n) = (prob.r as usize, prob.s as usize);
    let mut out = vec![0u64; (prob.g * prob.c) as usize * r_n * s_n];
    for n in 0..prob.n {
        for g in 0..prob.g {
            for c in 0..prob.c {
                let base = ((g * prob.c + c) as usize) * r_n * s_n;
                for r in 0..prob.r {
                    for s in 0..prob.s {
                        let mut sum = 0u64;
                        for e in 0..prob.e {
                            for f in 0..prob.f {
                                let x = data.ifmap_padded(
                                    prob,
                                    n,
                                    g,
                                    c,
                                    e * prob.u_h + r * prob.d_h,
                                    f * prob.u_w + s * prob.d_w,
                                );
                                sum += (i64::from(x) * i64::from(x)) as u64;
                            }
                        }
                        out[base + r as usize * s_n + s as usize] += sum;
                    }
                }
            }
        }
    }
    out
}

pub(crate) fn relative_error(reference: &[i16], other: &[i16]) -> f64 {
    let sq = |x: i64| (x * x) as f64;
    let norm: f64 = reference.iter().map(|&a| sq(i64::from(a))).sum();
    let diff: f64 = reference
        .iter()
        .zip(other)
        .map(|(&a, &b)| sq(i64::from(a) - i64::from(b)))
        .sum();
    if diff == 0.0 {
        0.0
    } else {
        (diff / norm).sqrt()
    }
}

/// The layer's unpruned data from `source`.
pub fn layer_data(
    plan: &PrunePlan,
    index: usize,
    source: WeightSource<'_>,
) -> Result<(ConvProblem, LayerData), PruneError> {
    let net = &plan.original;
    let layer = &net.layers[index];
    let LayerWork::Array(prob) = LayerWork::of(layer, net.batch) else {
        unreachable!("only layers with weights are pruned")
    };
    let data = match source {
        WeightSource::Npy(dir) => {
            data::load_npy(dir, &layer.name, &prob).map_err(|cause| PruneError::Data {
                layer: layer.name.clone(),
                cause,
            })?
        }
        WeightSource::Generated { seed } => {
            data::generate_with_shift(&prob, layer_seed(seed, index), plan.hw.pe.product_shift)
        }
    };
    Ok((prob, data))
}

/// Prunes every layer with weights of `plan` to its planned density, in
/// network order, and hands each result with the pruned data to `each`
/// (which may write it out). Layers the plan left alone lose no weights.
pub fn prune_network_weights(
    plan: &PrunePlan,
    source: WeightSource<'_>,
    mut each: impl FnMut(&LayerPruning, &ConvProblem, &LayerData) -> Result<(), PruneError>,
) -> Result<Vec<LayerPruning>, PruneError> {
    let mut rows = Vec::new();
    for (i, layer) in plan.pruned.layers.iter().enumerate() {
        if !has_weights(&plan.pruned, layer) {
            continue;
        }
        let (prob, mut data) = layer_data(plan, i, source)?;
        let density_before = data::density(&data.weights);
        let planned = layer.sparsity.weight_density;
        let changed = planned != plan.original.layers[i].sparsity.weight_density;
        let ofmap_error = if changed {
            prune_layer_weights(&prob, &mut data, planned, plan.hw.pe.product_shift)
        } else {
            0.0
        };
        let row = LayerPruning {
            index: i,
            layer: layer.name.clone(),
            weights: prob.weights(),
            density_before,
            planned_density: planned,
            density_after: data::density(&data.weights),
            ofmap_error,
        };
        each(&row, &prob, &data)?;
        rows.push(row);
    }
    Ok(rows)
}
