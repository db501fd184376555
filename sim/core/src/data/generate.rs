//! Seeded synthetic layer data with exact sparsity.
//!
//! Each tensor draws from its own ChaCha8 stream of the seed (ifmap stream 0,
//! weights stream 1), so changing the weight density never changes the
//! ifmap. Bounded integers are drawn from raw `next_u64` words with our own
//! rejection sampler, so the bytes do not depend on the platform or on the
//! sampling algorithms of the `rand` crate version.
//!
//! Value ranges are chosen for `product_shift = 8` (eyeriss-v1): activations
//! up to 255 times weights up to ±128 give shifted products up to ±128, and
//! sums over thousands of taps stay mostly inside 16 bits.
//!
//! **Bias calibration.** A trained network's bias and weights put a
//! characteristic fraction of each ReLU layer's outputs below zero. We model
//! that by computing the pre-activation psums once ([`reference_psums`]) and
//! choosing, per filter, the bias that puts the filter's target share of its
//! `n·e·f` outputs at or below zero. Per-filter targets add up to exactly
//! `round(ofmap_zero_fraction · ofmap values)`, so the achieved fraction
//! differs from the target only through ties among equal psums (and, in
//! extreme cases, through 16-bit wrapping of `psum + bias`). Pooling layers
//! get bias 0: their ofmap zero fraction follows from the data (a max-pool
//! output is zero only when its whole window is). A layer without ReLU gets,
//! per filter, the smallest-magnitude bias that leaves no output exactly
//! zero: a trained layer's signed outputs are essentially never exactly
//! zero, while small synthetic 16-bit sums hit zero by chance, and those
//! chance zeros would shrink the RLC-coded ofmap below the dense size that
//! `ofmap_zero_fraction = 0` (the only value a non-ReLU layer has) promises.

use super::reference::{apply_finalize, reference_psums};
use super::LayerData;
use crate::workload::{ConvProblem, Op};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The product shift [`generate`] calibrates the bias for (eyeriss-v1's).
pub const DEFAULT_PRODUCT_SHIFT: u32 = 8;
/// Post-ReLU activations are drawn from `1..=ACTIVATION_MAX`.
pub const ACTIVATION_MAX: i16 = 255;
/// The (signed) network input is drawn from `-INPUT_MAX..=INPUT_MAX` without 0.
pub const INPUT_MAX: i16 = 255;
/// Smallest non-zero weight.
pub const WEIGHT_MIN: i16 = -128;
/// Largest non-zero weight.
pub const WEIGHT_MAX: i16 = 127;

const IFMAP_STREAM: u64 = 0;
const WEIGHT_STREAM: u64 = 1;

/// Synthetic data for `prob`, with the bias calibrated for
/// [`DEFAULT_PRODUCT_SHIFT`]. See [`generate_with_shift`].
pub fn generate(prob: &ConvProblem, seed: u64) -> LayerData {
    generate_with_shift(prob, seed, DEFAULT_PRODUCT_SHIFT)
}

/// Synthetic data for `prob`, deterministic in `seed`:
///
/// * exactly `round(ifmap_zero_fraction · count)` zero ifmap values at
///   uniformly random positions; the others are uniform in
///   `1..=ACTIVATION_MAX`, or in `±1..=INPUT_MAX` for the network input;
/// * exactly `round(weight_density · count)` non-zero weights, uniform in
///   `WEIGHT_MIN..=WEIGHT_MAX` without 0;
/// * bias calibrated (with `product_shift`) to the ofmap zero fraction when
///   the layer is a convolution/FC followed by ReLU, else 0.
pub fn generate_with_shift(prob: &ConvProblem, seed: u64, product_shift: u32) -> LayerData {
    generate_with_reference(prob, seed, product_shift).0
}

/// [`generate_with_shift`] plus the reference ofmap of the generated data
/// (what [`super::reference()`] returns), computed from the psums that the
/// calibration needs anyway.
pub fn generate_with_reference(
    prob: &ConvProblem,
    seed: u64,
    product_shift: u32,
) -> (LayerData, Vec<i16>) {
    let mut data = LayerData {
        ifmap: ifmap_values(prob, seed),
        weights: weight_values(prob, seed),
        bias: vec![0; (prob.g * prob.m) as usize],
    };
    let mut ofmap = reference_psums(prob, &data, product_shift);
    if prob.op == Op::Mac {
        data.bias = if prob.relu {
            calibrate_bias(prob, &ofmap)
        } else {
            zero_free_bias(prob, &ofmap)
        };
    }
    apply_finalize(prob, &data.bias, &mut ofmap);
    (data, ofmap)
}

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Uniform integer in `0..n` (`n > 0`), by Lemire's widening multiply with
/// rejection: unbiased and defined only by the generator's `u64` stream.
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// Uniform non-zero value in `lo..=hi` (`lo ≤ 0 ≤ hi`, not both 0).
fn nonzero_in(rng: &mut ChaCha8Rng, lo: i16, hi: i16) -> i16 {
    let span = (i64::from(hi) - i64::from(lo)) as u64; // values minus the zero
    let v = i64::from(lo) + below(rng, span) as i64;
    (if v >= 0 { v + 1 } else { v }) as i16
}

/// `count` values of which exactly `zeros` are zero, at a uniformly random
/// subset of positions (selection sampling), the rest from `value`.
fn sparse_values(
    rng: &mut ChaCha8Rng,
    count: u64,
    zeros: u64,
    mut value: impl FnMut(&mut ChaCha8Rng) -> i16,
) -> Vec<i16> {
    let mut zeros_left = zeros.min(count);
    (0..count)
        .map(|i| {
            if zeros_left > 0 && below(rng, count - i) < zeros_left {
                zeros_left -= 1;
                0
            } else {
                value(rng)
            }
        })
        .collect()
}

fn exact_count(fraction: f64, count: u64) -> u64 {
    ((fraction.clamp(0.0, 1.0) * count as f64).round() as u64).min(count)
}

fn ifmap_values(prob: &ConvProblem, seed: u64) -> Vec<i16> {
    let count = prob.ifmap_values();
    let zeros = exact_count(prob.ifmap_zero_fraction, count);
    let mut rng = rng(seed, IFMAP_STREAM);
    if prob.network_input {
        sparse_values(&mut rng, count, zeros, |r| {
            nonzero_in(r, -INPUT_MAX, INPUT_MAX)
        })
    } else {
        sparse_values(&mut rng, count, zeros, |r| nonzero_in(r, 0, ACTIVATION_MAX))
    }
}

fn weight_values(prob: &ConvProblem, seed: u64) -> Vec<i16> {
    let count = prob.weights();
    let zeros = count - exact_count(prob.weight_density, count);
    let mut rng = rng(seed, WEIGHT_STREAM);
    sparse_values(&mut rng, count, zeros, |r| {
        nonzero_in(r, WEIGHT_MIN, WEIGHT_MAX)
    })
}

/// Per-filter biases that zero (after ReLU) about `ofmap_zero_fraction` of
/// each filter's outputs, given the pre-activation `psums` `[n][g·m][e][f]`.
fn calibrate_bias(prob: &ConvProblem, psums: &[i16]) -> Vec<i16> {
    let filters = (prob.g * prob.m) as usize;
    let plane = (prob.e * prob.f) as usize;
    let per_filter = prob.n as usize * plane;
    let total = exact_count(prob.ofmap_zero_fraction, psums.len() as u64) as usize;
    let mut values = Vec::with_capacity(per_filter);
    (0..filters)
        .map(|k| {
            // Spread the total over the filters: the first `total % filters`
            // filters take one extra zero.
            let target = total / filters + usize::from(k < total % filters);
            values.clear();
            for img in 0..prob.n as usize {
                let start = (img * filters + k) * plane;
                values.extend_from_slice(&psums[start..start + plane]);
            }
            values.sort_unstable();
            bias_for(&values, target)
        })
        .collect()
}

/// Per-filter biases of smallest magnitude (0, 1, −1, 2, −2, …) such that
/// no output `psum + bias` (wrapping) of the filter is exactly zero.
fn zero_free_bias(prob: &ConvProblem, psums: &[i16]) -> Vec<i16> {
    let filters = (prob.g * prob.m) as usize;
    let plane = (prob.e * prob.f) as usize;
    let mut hit = vec![false; 1 << 16];
    (0..filters)
        .map(|k| {
            hit.iter_mut().for_each(|h| *h = false);
            for img in 0..prob.n as usize {
                let start = (img * filters + k) * plane;
                for &v in &psums[start..start + plane] {
                    hit[usize::from(v as u16)] = true;
                }
            }
            // A bias b zeroes the outputs whose psum is −b.
            (0..=i16::MAX)
                .flat_map(|b| [b, -b])
                .find(|&b| !hit[usize::from(b.wrapping_neg() as u16)])
                .unwrap_or(0)
        })
        .collect()
}

/// The bias that makes about `target` of the sorted pre-activations
/// `sorted` non-positive, i.e. zero after ReLU.
fn bias_for(sorted: &[i16], target: usize) -> i16 {
    let clamp = |b: i32| b.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    let (Some(&lowest), Some(&highest)) = (sorted.first(), sorted.last()) else {
        return 0;
    };
    if target == 0 {
        return clamp(1 - i32::from(lowest));
    }
    if target >= sorted.len() {
        return clamp(-i32::from(highest));
    }
    // Values ≤ τ become zero with bias −τ. Two candidates bracket the target
    // when there are ties: τ = sorted[target−1] (≥ target zeros) and
    // τ = sorted[target]−1 (≤ target zeros).
    let zeros_at = |tau: i32| sorted.partition_point(|&v| i32::from(v) <= tau);
    let above = i32::from(sorted[target - 1]);
    let below = i32::from(sorted[target]) - 1;
    let tau = if zeros_at(above) - target <= target - zeros_at(below) {
        above
    } else {
        below
    };
    clamp(-tau)
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
