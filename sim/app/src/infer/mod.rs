//! A trained network on the chip: fixed-point formats chosen from the
//! weights and calibration images (`quant`), the whole network executed in
//! float and in the chip's arithmetic over many images (`kernels`, the fast
//! functional path), and on the cycle-level simulator over a sample, each
//! layer's simulated ofmap (ReLU'd, RLC-coded to DRAM and decoded again)
//! feeding the next (`chain`).

mod chain;
pub mod kernels;
pub mod quant;

pub use chain::{simulate_chain, ChainLayer};
pub use quant::{Formats, FormatsError, LayerFormat};

use crate::onnx::Model;
use crate::workload::{LayerKind, LayerWork, Network};

/// A network with 16-bit weights and biases in the chosen formats.
#[derive(Debug, Clone)]
pub struct QuantModel {
    /// The network (batch 1; runs set their own).
    pub net: Network,
    /// Formats of every tensor.
    pub formats: Formats,
    /// Per layer: weights `[G·M][C][R][S]` and bias `[G·M]` in 16 bits
    /// (empty for layers without weights).
    pub weights: Vec<(Vec<i16>, Vec<i16>)>,
    /// Per layer: weights and biases that had to saturate to fit 16 bits.
    pub saturated: Vec<u64>,
}

impl QuantModel {
    /// Quantizes `model`'s weights into `formats` (biases into each layer's
    /// output format, where the chip adds them).
    pub fn new(model: &Model, formats: Formats) -> QuantModel {
        let mut weights = Vec::new();
        let mut saturated = Vec::new();
        for (i, w) in model.weights.iter().enumerate() {
            let f = formats.layer(i);
            let mut sat = 0;
            let mut q = |v: &[f32], frac: i32| -> Vec<i16> {
                v.iter()
                    .map(|&x| {
                        let (y, s) = quant::quantize(x, frac);
                        sat += u64::from(s);
                        y
                    })
                    .collect()
            };
            let pair = match w {
                Some(lw) => (q(&lw.weights, f.weight_frac), q(&lw.bias, f.output_frac)),
                None => (Vec::new(), Vec::new()),
            };
            weights.push(pair);
            saturated.push(sat);
        }
        QuantModel {
            net: model.network.clone(),
            formats,
            weights,
            saturated,
        }
    }
}

/// Measured statistics of one layer over a set of images.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LayerMeasure {
    /// Zero values among the layer's input values.
    pub ifmap_zeros: u64,
    /// Input values.
    pub ifmap_values: u64,
    /// Zero values among its outputs (after ReLU).
    pub ofmap_zeros: u64,
    /// Output values.
    pub ofmap_values: u64,
    /// Outputs whose accumulator wrapped around 16 bits.
    pub wraps: u64,
}

impl LayerMeasure {
    /// Fraction of zero input values.
    pub fn ifmap_zero_fraction(&self) -> f64 {
        self.ifmap_zeros as f64 / self.ifmap_values.max(1) as f64
    }
    /// Fraction of zero output values.
    pub fn ofmap_zero_fraction(&self) -> f64 {
        self.ofmap_zeros as f64 / self.ofmap_values.max(1) as f64
    }
}

/// The fixed-point network over a set of images: the last layer's outputs
/// per image and per-layer measurements.
#[derive(Debug, Clone)]
pub struct FixedRun {
    /// The last layer's outputs, `[N][outputs]`.
    pub outputs: Vec<i16>,
    /// Per layer.
    pub layers: Vec<LayerMeasure>,
}

fn zeros<T: PartialEq + Default>(v: &[T]) -> u64 {
    let z = T::default();
    v.iter().filter(|x| **x == z).count() as u64
}

/// Executes `net` on `n` images `x` (`[N][C][H][W]`) with `layer(i,
/// problem, inputs)` producing layer `i`'s output from its inputs' tensors;
/// returns every layer's output. Add sums, Concat stacks, in the caller's
/// arithmetic (`add`).
fn execute<T: Clone>(
    net: &Network,
    n: u32,
    x: &[T],
    layer: impl FnMut(usize, &crate::workload::ConvProblem, &[T]) -> Vec<T>,
    add: impl Fn(&[&[T]], bool) -> Vec<T>,
) -> Vec<Vec<T>> {
    execute_from(net, n, x, Vec::new(), layer, add)
}

/// [`execute`] with the outputs of the first `prefix.len()` layers given
/// (a cache of an earlier run whose first layers are unchanged).
fn execute_from<T: Clone>(
    net: &Network,
    n: u32,
    x: &[T],
    prefix: Vec<Vec<T>>,
    mut layer: impl FnMut(usize, &crate::workload::ConvProblem, &[T]) -> Vec<T>,
    add: impl Fn(&[&[T]], bool) -> Vec<T>,
) -> Vec<Vec<T>> {
    let start = prefix.len();
    let mut outs: Vec<Vec<T>> = prefix;
    outs.reserve(net.layers.len() - start);
    for (i, l) in net.layers.iter().enumerate().skip(start) {
        let input = |k: usize| -> &[T] {
            match l.inputs.get(k) {
                None => x,
                Some(&p) => &outs[p],
            }
        };
        let y = match LayerWork::of(l, n) {
            LayerWork::Array(p) => layer(i, &p, input(0)),
            LayerWork::GlobalPool { .. } => {
                let g = crate::engine::GlobalPoolLayer::of(l, n).expect("a global pooling layer");
                layer(i, &g.window(), input(0))
            }
            LayerWork::Eltwise { .. } => {
                let ops: Vec<&[T]> = (0..l.inputs.len()).map(input).collect();
                add(&ops, l.relu)
            }
            // `onnx::import_model`, the only source of a `Model`'s network,
            // refuses host layers, because nothing here computes them.
            LayerWork::Host { .. } => unreachable!("host layer `{}` in an executed model", l.name),
            LayerWork::Free => {
                if matches!(l.kind, LayerKind::Concat) {
                    concat(net, i, n, &outs, x)
                } else {
                    input(0).to_vec()
                }
            }
        };
        outs.push(y);
    }
    outs
}

/// Channel concatenation of layer `i`'s inputs, image by image.
fn concat<T: Clone>(net: &Network, i: usize, n: u32, outs: &[Vec<T>], x: &[T]) -> Vec<T> {
    let l = &net.layers[i];
    let mut y = Vec::with_capacity(outs.iter().map(Vec::len).sum());
    for img in 0..n as usize {
        for &p in &l.inputs {
            let t: &[T] = &outs[p];
            let per = t.len() / n as usize;
            y.extend_from_slice(&t[img * per..(img + 1) * per]);
        }
        if l.inputs.is_empty() {
            let per = x.len() / n as usize;
            y.extend_from_slice(&x[img * per..(img + 1) * per]);
        }
    }
    y
}

/// An Add in float: the sum of the operands, ReLU'd if the layer says.
fn float_add(ops: &[&[f32]], relu: bool) -> Vec<f32> {
    let mut y = ops[0].to_vec();
    for o in &ops[1..] {
        y.iter_mut().zip(*o).for_each(|(a, b)| *a += b);
    }
    if relu {
        y.iter_mut().for_each(|v| *v = v.max(0.0));
    }
    y
}

/// The float network on `n` images: the last layer's outputs.
pub fn run_float(model: &Model, x: &[f32], n: u32, threads: usize) -> Vec<f32> {
    run_float_layers(model, x, n, threads)
        .pop()
        .unwrap_or_default()
}

/// The float network on `n` images: every layer's output.
pub fn run_float_layers(model: &Model, x: &[f32], n: u32, threads: usize) -> Vec<Vec<f32>> {
    execute(
        &model.network,
        n,
        x,
        |i, p, input| {
            let (w, b) = model.weights[i]
                .as_ref()
                .map_or((&[][..], &[][..]), |lw| (&lw.weights[..], &lw.bias[..]));
            let bias = if b.is_empty() {
                vec![0.0; (p.g * p.m) as usize]
            } else {
                b.to_vec()
            };
            kernels::float_layer(p, input, w, &bias, threads)
        },
        float_add,
    )
}

/// Calibration maxima of the float network on `n` images: the input's
/// largest magnitude, and per layer the largest weight and the largest
/// accumulated output (before bias and ReLU, or after for an Add).
pub fn calibrate(model: &Model, x: &[f32], n: u32) -> Formats {
    calibration_maxima(model, x, n).formats(&model.network)
}

/// What calibration measures: the largest magnitudes of the network input,
/// of each layer's weights and of each layer's accumulated output.
#[derive(Debug, Clone, PartialEq)]
pub struct Maxima {
    /// The network input's largest magnitude.
    pub input: f32,
    /// Per layer: the largest weight magnitude (0 without weights).
    pub weights: Vec<f32>,
    /// Per layer: the largest accumulated output, before and after the bias.
    pub preact: Vec<f32>,
}

impl Maxima {
    /// The formats these maxima call for ([`Formats::calibrate`]).
    pub fn formats(&self, net: &Network) -> Formats {
        Formats::calibrate(net, self.input, &self.weights, &self.preact)
    }
}

/// The calibration maxima of the float network on `n` images `x`.
pub fn calibration_maxima(model: &Model, x: &[f32], n: u32) -> Maxima {
    let net = &model.network;
    let mut preact = vec![0f32; net.layers.len()];
    let mut wmax = vec![0f32; net.layers.len()];
    execute(
        net,
        n,
        x,
        |i, p, input| {
            let (w, b) = model.weights[i]
                .as_ref()
                .map_or((&[][..], &[][..]), |lw| (&lw.weights[..], &lw.bias[..]));
            wmax[i] = w.iter().fold(0f32, |m, v| m.max(v.abs()));
            let bias = if b.is_empty() {
                vec![0.0; (p.g * p.m) as usize]
            } else {
                b.to_vec()
            };
            preact[i] = kernels::float_preact_max(p, input, w, &bias);
            kernels::float_layer(p, input, w, &bias, 2)
        },
        float_add,
    );
    // An Add's range is its output's (computed above as the sum).
    Maxima {
        input: x.iter().fold(0f32, |m, v| m.max(v.abs())),
        weights: wmax,
        preact,
    }
}

/// The fixed-point network on `n` images `x` (already in the input
/// format): the last layer's outputs and per-layer measurements.
pub fn run_fixed(q: &QuantModel, x: &[i16], n: u32, threads: usize) -> FixedRun {
    let (mut outs, layers) = run_fixed_layers(q, x, n, threads, Vec::new());
    FixedRun {
        outputs: outs.pop().unwrap_or_default(),
        layers,
    }
}

/// The fixed-point network on `n` images: every layer's output and
/// measurements. The outputs of the first `prefix.len()` layers are taken
/// from `prefix` (an earlier run of a network that differs only from there
/// on); their wraps are then not counted again.
pub fn run_fixed_layers(
    q: &QuantModel,
    x: &[i16],
    n: u32,
    threads: usize,
    prefix: Vec<Vec<i16>>,
) -> (Vec<Vec<i16>>, Vec<LayerMeasure>) {
    let net = &q.net;
    let mut measures = vec![LayerMeasure::default(); net.layers.len()];
    let outs = execute_from(
        net,
        n,
        x,
        prefix,
        |i, p, input| {
            let (w, b) = &q.weights[i];
            let bias = if b.is_empty() {
                vec![0; (p.g * p.m) as usize]
            } else {
                b.clone()
            };
            let shift = q.formats.layer(i).product_shift();
            let (y, st) = kernels::fixed_layer(p, input, w, &bias, shift, threads);
            measures[i].wraps += st.wraps;
            y
        },
        fixed_add,
    );
    for (i, l) in net.layers.iter().enumerate() {
        let inputs: Vec<&[i16]> = if l.inputs.is_empty() {
            vec![x]
        } else {
            l.inputs.iter().map(|&p| &outs[p][..]).collect()
        };
        let m = &mut measures[i];
        for t in inputs {
            m.ifmap_zeros += zeros(t);
            m.ifmap_values += t.len() as u64;
        }
        m.ofmap_zeros = zeros(&outs[i]);
        m.ofmap_values = outs[i].len() as u64;
    }
    (outs, measures)
}

/// An Add in the chip's 16-bit arithmetic (wrapping), ReLU'd if asked.
fn fixed_add(ops: &[&[i16]], relu: bool) -> Vec<i16> {
    let mut y = vec![0i16; ops[0].len()];
    for (k, v) in y.iter_mut().enumerate() {
        let s: i32 = ops.iter().map(|o| i32::from(o[k])).sum();
        *v = s as i16;
        if relu && *v < 0 {
            *v = 0;
        }
    }
    y
}

/// Top-k hits of `scores` (`[N][classes]`) against `labels`.
pub fn top_k<T: PartialOrd + Copy>(scores: &[T], labels: &[u8], k: usize) -> usize {
    let classes = scores.len() / labels.len().max(1);
    labels
        .iter()
        .enumerate()
        .filter(|(i, &y)| {
            let row = &scores[i * classes..(i + 1) * classes];
            // A label outside the classes is never a hit.
            let Some(&target) = row.get(y as usize) else {
                return false;
            };
            // Ties go to the lower class index, as argmax does.
            let better = row
                .iter()
                .enumerate()
                .filter(|&(c, &v)| v > target || (v == target && c < y as usize))
                .count();
            better < k
        })
        .count()
}

/// The class each image is given (argmax, first on ties).
pub fn predictions<T: PartialOrd + Copy>(scores: &[T], classes: usize) -> Vec<usize> {
    scores
        .chunks(classes.max(1))
        .map(|row| {
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn top_k_counts_ties_toward_the_lower_class() {
        // Two images, 12 classes; image 0's label 3 is 2nd best, image 1's
        // label 11 ties with class 0 for the best score.
        let mut scores = vec![0i16; 24];
        scores[5] = 9;
        scores[3] = 8;
        scores[12] = 7;
        scores[12 + 11] = 7;
        let labels = [3u8, 11];
        assert_eq!(super::top_k(&scores, &labels, 1), 0);
        assert_eq!(super::top_k(&scores, &labels, 2), 2);
        assert_eq!(super::predictions(&scores, 12), vec![5, 0]);
        // A label the model has no class for is a miss, not a panic.
        assert_eq!(super::top_k(&scores, &[3, 12], 12), 1);
    }
}
