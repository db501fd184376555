//! Energy-aware pruning of a trained network as Yang, Chen and Sze (CVPR
//! 2017) describe it (see docs/pruning.md):
//!
//! 1. take the not-yet-pruned layer with weights whose energy, estimated by
//!    the analytic model at the network's *measured* sparsity, is highest;
//! 2. prune it by a [`Criterion`]: a binary search over a density grid
//!    finds the densities whose validation top-1 accuracy, in the chip's
//!    fixed-point arithmetic, stays within the budget of the unpruned
//!    network's, and of those tried the one of least network energy is
//!    kept (never one that raises the energy: pruning can cost energy
//!    downstream when it leaves fewer zeros after a ReLU);
//!    the paper's criterion restores the kept weights by least squares
//!    against the unpruned network's pre-ReLU output map, with the pruned
//!    upstream network's inputs;
//! 3. re-quantize that layer, re-measure every layer's activation
//!    sparsity, re-estimate the energy, and repeat until every layer with
//!    weights has had its turn.
//!
//! Global fine-tuning with the masks held fixed happens outside (the
//! `tools/fmnist` trainer); `eyesim prune --masks` checks and measures its
//! result. This module does no I/O.

use super::lsq::fit_layer;
use super::select::Fits;
use super::select::{candidate, removal_order, Candidate, Criterion};
use super::PruneError;
use crate::analytic::{estimate_network, EstimateOptions};
use crate::hw::HwConfig;
use crate::infer::{self, quant, LayerMeasure, Maxima, QuantModel};
use crate::mapping::Objective;
use crate::onnx::Model;
use crate::stats::LayerResult;
use crate::workload::{LayerWork, Network};

/// Relative densities tried for a layer (fractions of its non-zero weights).
pub const DENSITY_GRID: [f64; 16] = [
    1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.07, 0.05, 0.03, 0.02,
];

/// Options of [`prune_model`].
#[derive(Debug, Clone)]
pub struct MethodOptions {
    /// How weights are chosen.
    pub criterion: Criterion,
    /// Largest accepted loss of validation top-1 accuracy, in points.
    pub budget: f64,
    /// Ridge of the restoration, relative to the mean diagonal of `XᵀX`.
    pub ridge: f64,
    /// The hardware the energy is estimated on (weight compression on).
    pub hw: HwConfig,
    /// What the mapper minimizes.
    pub objective: Objective,
    /// Images per chip batch for the energy estimate.
    pub batch: u32,
    /// Worker threads (≥ 1); results never depend on it.
    pub threads: usize,
    /// Checked before each layer is pruned; once raised, the run ends with
    /// [`PruneError::Cancelled`].
    pub cancel: crate::cancel::Cancel,
}

/// Images for the method: float pixels `[N][C][H][W]`.
#[derive(Debug, Clone, Copy)]
pub struct Split<'a> {
    /// Pixel values.
    pub images: &'a [f32],
    /// Labels (empty for calibration images).
    pub labels: &'a [u8],
    /// Images.
    pub count: u32,
}

/// A network state: its accuracy, energy and per-layer estimates.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Validation top-1 hits in the chip's arithmetic.
    pub val_hits: usize,
    /// Validation images.
    pub val_images: usize,
    /// Network energy per image (analytic, measured sparsity).
    pub energy: f64,
    /// Per layer, the analytic estimate for one chip batch.
    pub layers: Vec<LayerResult>,
    /// Per layer, measured on the validation images.
    pub measures: Vec<LayerMeasure>,
    /// The network with the measured densities.
    pub network: Network,
}

impl Snapshot {
    /// Validation top-1 accuracy in percent.
    pub fn val_top1(&self) -> f64 {
        100.0 * self.val_hits as f64 / self.val_images.max(1) as f64
    }
}

/// One density tried for a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Relative density (of the weights non-zero before the step).
    pub density: f64,
    /// Validation top-1 accuracy in percent.
    pub val_top1: f64,
    /// Whether it is within the budget.
    pub accepted: bool,
}

/// One layer's turn.
#[derive(Debug, Clone)]
pub struct MethodStep {
    /// Layer index.
    pub layer: usize,
    /// Layer name.
    pub name: String,
    /// Weights of the layer.
    pub weights: usize,
    /// Density before the step.
    pub density_before: f64,
    /// Density after it.
    pub density_after: f64,
    /// Output-map error of the chosen weights before restoration (relative L2).
    pub error_before: f64,
    /// The same after restoration.
    pub error_after: f64,
    /// The network after the step.
    pub after: Snapshot,
    /// The densities tried, in order.
    pub trials: Vec<Trial>,
}

/// The result of [`prune_model`].
#[derive(Debug, Clone)]
pub struct MethodRun {
    /// The criterion used.
    pub criterion: Criterion,
    /// The unpruned network.
    pub baseline: Snapshot,
    /// The steps in order.
    pub steps: Vec<MethodStep>,
    /// The pruned float model (weights zero where pruned).
    pub model: Model,
    /// It in the chip's formats.
    pub quant: QuantModel,
}

impl MethodRun {
    /// The final network state.
    pub fn last(&self) -> &Snapshot {
        self.steps.last().map_or(&self.baseline, |s| &s.after)
    }
    /// Baseline energy over final energy.
    pub fn reduction(&self) -> f64 {
        self.baseline.energy / self.last().energy
    }
}

/// The working state of a run.
struct State<'a> {
    opts: &'a MethodOptions,
    original: &'a Model,
    model: Model,
    maxima: Maxima,
    quant: QuantModel,
    val_q: Vec<i16>,
    val: Split<'a>,
    /// The current network's fixed-point outputs of every layer on `val`.
    cache: Vec<Vec<i16>>,
}

/// Runs the method (see the module docs) on `model` with calibration and
/// validation images.
pub fn prune_model(
    original: &Model,
    calib: Split,
    val: Split,
    opts: &MethodOptions,
) -> Result<MethodRun, PruneError> {
    check(opts)?;
    let maxima = infer::calibration_maxima(original, calib.images, calib.count);
    let quant = QuantModel::new(original, maxima.formats(&original.network));
    let val_q: Vec<i16> = val
        .images
        .iter()
        .map(|&x| quant::quantize(x, quant.formats.input_frac).0)
        .collect();
    let mut st = State {
        opts,
        original,
        model: original.clone(),
        maxima,
        quant,
        val_q,
        val,
        cache: Vec::new(),
    };
    let (cache, measures) =
        infer::run_fixed_layers(&st.quant, &st.val_q, val.count, opts.threads, Vec::new());
    let baseline = st.snapshot(&cache, measures)?;
    st.cache = cache;
    let orig_float = infer::run_float_layers(original, calib.images, calib.count, opts.threads);
    let mut steps: Vec<MethodStep> = Vec::new();
    let mut done = vec![false; original.network.layers.len()];
    loop {
        let current = steps.last().map_or(&baseline, |s| &s.after);
        let Some(i) = hungriest(current, &st.model, &done) else {
            break;
        };
        done[i] = true;
        if opts.cancel.is_cancelled() {
            return Err(PruneError::Cancelled(crate::cancel::Cancelled));
        }
        let step = st.prune_layer(i, calib, &orig_float, current, &baseline)?;
        steps.push(step);
    }
    Ok(MethodRun {
        criterion: opts.criterion,
        baseline,
        steps,
        model: st.model,
        quant: st.quant,
    })
}

/// The accuracy, measured sparsity and energy of `model` as it is (for a
/// fine-tuned model), with formats calibrated on `calib`; and the model in
/// those formats.
pub fn measure_model(
    model: &Model,
    calib: Split,
    val: Split,
    opts: &MethodOptions,
) -> Result<(Snapshot, QuantModel), PruneError> {
    let maxima = infer::calibration_maxima(model, calib.images, calib.count);
    let quant = QuantModel::new(model, maxima.formats(&model.network));
    let val_q: Vec<i16> = val
        .images
        .iter()
        .map(|&x| quant::quantize(x, quant.formats.input_frac).0)
        .collect();
    let (outs, measures) =
        infer::run_fixed_layers(&quant, &val_q, val.count, opts.threads, Vec::new());
    let st = State {
        opts,
        original: model,
        model: model.clone(),
        maxima,
        quant,
        val_q,
        val,
        cache: Vec::new(),
    };
    let snap = st.snapshot(&outs, measures)?;
    Ok((snap, st.quant))
}

fn check(opts: &MethodOptions) -> Result<(), PruneError> {
    let bad = |option, why: String| Err(PruneError::BadOption { option, why });
    if !(opts.budget > 0.0 && opts.budget < 100.0) {
        return bad(
            "budget",
            format!("{} is not a number of points in (0, 100)", opts.budget),
        );
    }
    if !(opts.ridge > 0.0 && opts.ridge.is_finite()) {
        return bad("ridge", format!("{} is not a positive number", opts.ridge));
    }
    Ok(())
}

/// The layer with weights, not yet pruned, of highest energy (first on ties).
fn hungriest(s: &Snapshot, model: &Model, done: &[bool]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, r) in s.layers.iter().enumerate() {
        if done[i] || model.weights[i].is_none() {
            continue;
        }
        if best.is_none_or(|b| r.energy.total() > s.layers[b].energy.total()) {
            best = Some(i);
        }
    }
    best
}

impl State<'_> {
    /// Accuracy, measured sparsity and energy of the current network.
    fn snapshot(
        &self,
        outs: &[Vec<i16>],
        measures: Vec<LayerMeasure>,
    ) -> Result<Snapshot, PruneError> {
        self.snapshot_of(&self.quant, outs, measures)
    }

    /// [`State::snapshot`] of the network `quant`.
    fn snapshot_of(
        &self,
        quant: &QuantModel,
        outs: &[Vec<i16>],
        measures: Vec<LayerMeasure>,
    ) -> Result<Snapshot, PruneError> {
        let last = outs.last().map_or(&[][..], |v| &v[..]);
        let hits = infer::top_k(last, self.val.labels, 1);
        let mut net = quant.net.clone();
        net.batch = self.opts.batch;
        for (i, l) in net.layers.iter_mut().enumerate() {
            l.sparsity.ifmap_zero_fraction = measures[i].ifmap_zero_fraction();
            l.sparsity.ofmap_zero_fraction = measures[i].ofmap_zero_fraction();
            let w = &quant.weights[i].0;
            if !w.is_empty() {
                let nz = w.iter().filter(|&&v| v != 0).count().max(1);
                l.sparsity.weight_density = nz as f64 / w.len() as f64;
            }
        }
        let est = EstimateOptions {
            objective: self.opts.objective,
            batch: Some(self.opts.batch),
            threads: self.opts.threads,
            ..EstimateOptions::default()
        };
        let layers = estimate_network(&net, &self.opts.hw, &est)?;
        let energy =
            layers.iter().map(|r| r.energy.total()).sum::<f64>() / f64::from(self.opts.batch);
        Ok(Snapshot {
            val_hits: hits,
            val_images: self.val.count as usize,
            energy,
            layers,
            measures,
            network: net,
        })
    }

    /// Layer `i`'s turn: fit, search the density grid, keep the best.
    fn prune_layer(
        &mut self,
        i: usize,
        calib: Split,
        orig_float: &[Vec<f32>],
        current: &Snapshot,
        baseline: &Snapshot,
    ) -> Result<MethodStep, PruneError> {
        let opts = self.opts;
        let net = &self.original.network;
        let l = &net.layers[i];
        let LayerWork::Array(mut p) = LayerWork::of(l, calib.count) else {
            unreachable!("only layers with weights are pruned");
        };
        let input_of = |outs: &[Vec<f32>]| -> Vec<f32> {
            match l.inputs.first() {
                None => calib.images.to_vec(),
                Some(&k) => outs[k].clone(),
            }
        };
        let pruned_float =
            infer::run_float_layers(&self.model, calib.images, calib.count, opts.threads);
        let x_pruned = input_of(&pruned_float);
        let x_orig = input_of(orig_float);
        let ow = self.original.weights[i]
            .as_ref()
            .expect("a layer with weights");
        // The last fifth of the calibration images is held out: errors are
        // reported on it, and restoration stays only where it lowers it.
        let held = (calib.count / 5).max(1).min(calib.count - 1);
        let fitted = calib.count - held;
        let per_in = x_pruned.len() / calib.count as usize;
        let at = fitted as usize * per_in;
        let (mut pf, mut ph) = (p, p);
        (pf.n, ph.n) = (fitted, held);
        let fits = Fits {
            fit: fit_layer(&pf, &x_pruned[..at], &x_orig[..at], &ow.weights, &ow.bias),
            check: fit_layer(&ph, &x_pruned[at..], &x_orig[at..], &ow.weights, &ow.bias),
        };
        let fit = &fits.fit;
        let lambda = fit.lambda(opts.ridge);
        let cur = self.model.weights[i].clone().expect("a layer with weights");
        let bias_free = cur.origin.bias_is_free();
        let order = removal_order(
            opts.criterion,
            fit,
            &cur.weights,
            bias_free,
            lambda,
            opts.threads,
        );
        let live = order.len();
        let floor = baseline.val_hits as f64 - opts.budget / 100.0 * baseline.val_images as f64;
        let make = |k: usize| -> Candidate {
            let keep = ((DENSITY_GRID[k] * live as f64).round() as usize).clamp(1, live);
            candidate(
                opts.criterion,
                &fits,
                &cur.weights,
                &cur.bias,
                &order,
                live - keep,
                bias_free,
                lambda,
                opts.threads,
            )
        };
        // Binary search for the last grid point within the budget; index
        // -1 (the layer unchanged) always is.
        let (mut lo, mut hi) = (-1i64, DENSITY_GRID.len() as i64);
        let mut trials = Vec::new();
        let mut best: Option<Evaluated> = None;
        p.n = calib.count;
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let c = make(mid as usize);
            let (q, maxima) = self.quantized_with(i, &p, &x_pruned, &c);
            let start = first_changed(&self.quant, &q);
            let prefix = self.cache[..start].to_vec();
            let (outs, measures) =
                infer::run_fixed_layers(&q, &self.val_q, self.val.count, opts.threads, prefix);
            let hits = infer::top_k(outs.last().map_or(&[][..], |v| &v[..]), self.val.labels, 1);
            let ok = hits as f64 >= floor;
            trials.push(Trial {
                density: DENSITY_GRID[mid as usize],
                val_top1: 100.0 * hits as f64 / self.val.count.max(1) as f64,
                accepted: ok,
            });
            if ok {
                lo = mid;
                // Among the densities within the budget, the least network
                // energy wins (a sparser layer can cost more downstream when
                // its outputs hold fewer zeros), then the lower density.
                let snap = self.snapshot_of(&q, &outs, measures)?;
                if best
                    .as_ref()
                    .is_none_or(|b| (snap.energy, c.kept) < (b.snap.energy, b.c.kept))
                {
                    best = Some(Evaluated {
                        c,
                        outs,
                        snap,
                        q,
                        maxima,
                    });
                }
            } else {
                hi = mid;
            }
        }
        let weights = cur.weights.len();
        let density_before = live as f64 / weights as f64;
        // Never accept an energy increase: the layer then stays as it was.
        let best = best.filter(|b| b.snap.energy <= current.energy);
        let (density_after, error_before, error_after, after) = match best {
            Some(Evaluated {
                c,
                outs,
                snap,
                q,
                maxima,
            }) => {
                let lw = self.model.weights[i]
                    .as_mut()
                    .expect("a layer with weights");
                lw.weights = c.weights;
                lw.bias = c.bias;
                self.quant = q;
                self.maxima = maxima;
                self.cache = outs;
                (
                    c.kept as f64 / weights as f64,
                    c.error_before,
                    c.error_after,
                    snap,
                )
            }
            None => {
                let c = candidate(
                    opts.criterion,
                    &fits,
                    &cur.weights,
                    &cur.bias,
                    &order,
                    0,
                    bias_free,
                    lambda,
                    opts.threads,
                );
                (
                    density_before,
                    c.error_before,
                    c.error_before,
                    current.clone(),
                )
            }
        };
        Ok(MethodStep {
            layer: i,
            name: l.name.clone(),
            weights,
            density_before,
            density_after,
            error_before,
            error_after,
            after,
            trials,
        })
    }

    /// The quantized network with layer `i` holding candidate `c`, its
    /// weight and output formats re-derived from `c` (the other layers keep
    /// theirs), and the maxima that gave them.
    fn quantized_with(
        &self,
        i: usize,
        p: &crate::workload::ConvProblem,
        x: &[f32],
        c: &Candidate,
    ) -> (QuantModel, Maxima) {
        let mut maxima = self.maxima.clone();
        maxima.weights[i] = c.weights.iter().fold(0f32, |m, v| m.max(v.abs()));
        maxima.preact[i] = infer::kernels::float_preact_max(p, x, &c.weights, &c.bias);
        let mut model = self.model.clone();
        let lw = model.weights[i].as_mut().expect("a layer with weights");
        lw.weights = c.weights.clone();
        lw.bias = c.bias.clone();
        (
            QuantModel::new(&model, maxima.formats(&model.network)),
            maxima,
        )
    }
}

/// A candidate within the budget, with what accepting it needs.
struct Evaluated {
    c: Candidate,
    outs: Vec<Vec<i16>>,
    snap: Snapshot,
    q: QuantModel,
    maxima: Maxima,
}

/// The first layer whose weights or format differ between `a` and `b`.
fn first_changed(a: &QuantModel, b: &QuantModel) -> usize {
    (0..a.weights.len())
        .find(|&i| a.weights[i] != b.weights[i] || a.formats.layer(i) != b.formats.layer(i))
        .unwrap_or(a.weights.len())
}
