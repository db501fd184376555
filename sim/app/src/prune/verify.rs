//! Verification of a plan with the cycle-level simulator: every pruned
//! layer is simulated before and after pruning on real data, and its
//! simulated energy is compared with the analytic estimate the plan used.

use super::weights::{layer_data, prune_layer_weights, WeightSource};
use super::{PruneError, PrunePlan};
use crate::data::{self, LayerData};
use crate::engine::layer_seed;
use crate::engine::{self, SimOptions};
use crate::workload::{ConvProblem, LayerWork, Network};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Options of [`verify`].
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Largest accepted |simulated − analytic| / analytic layer energy.
    pub tolerance: f64,
    /// Worker threads (0 = all cores); results never depend on it.
    pub threads: usize,
}

/// Before or after pruning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The layer at its original density.
    Baseline,
    /// The layer at its planned density.
    Pruned,
}

impl Stage {
    /// Lowercase name, as in `verify.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Baseline => "baseline",
            Stage::Pruned => "pruned",
        }
    }
}

/// One simulated layer.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyRow {
    /// Index in the network.
    pub index: usize,
    /// Layer name.
    pub layer: String,
    /// Before or after pruning.
    pub stage: Stage,
    /// Weight density of the simulated weights (measured).
    pub density: f64,
    /// The plan's analytic energy of the layer at this stage.
    pub analytic: f64,
    /// The simulated energy (same unit).
    pub simulated: f64,
}

impl VerifyRow {
    /// (simulated − analytic) / analytic.
    pub fn rel_diff(&self) -> f64 {
        (self.simulated - self.analytic) / self.analytic
    }
    /// Whether |[`VerifyRow::rel_diff`]| ≤ `tolerance` (false when it is undefined).
    pub fn within(&self, tolerance: f64) -> bool {
        self.rel_diff().abs() <= tolerance
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone)]
pub struct Verification {
    /// Baseline and pruned rows of every pruned layer, in network order.
    pub rows: Vec<VerifyRow>,
    /// Analytic energy of the layers the plan left alone: the same before
    /// and after pruning, so it enters both simulated totals unchanged.
    pub untouched: f64,
    /// The tolerance checked.
    pub tolerance: f64,
}

impl Verification {
    fn total(&self, stage: Stage) -> f64 {
        self.untouched
            + self
                .rows
                .iter()
                .filter(|r| r.stage == stage)
                .map(|r| r.simulated)
                .sum::<f64>()
    }
    /// Network energy before pruning, pruned layers simulated.
    pub fn simulated_baseline(&self) -> f64 {
        self.total(Stage::Baseline)
    }
    /// Network energy after pruning, pruned layers simulated.
    pub fn simulated_final(&self) -> f64 {
        self.total(Stage::Pruned)
    }
    /// Simulated baseline over simulated final energy.
    pub fn simulated_reduction(&self) -> f64 {
        self.simulated_baseline() / self.simulated_final()
    }
    /// Rows whose simulated energy is off by more than the tolerance.
    pub fn failures(&self) -> Vec<&VerifyRow> {
        self.rows
            .iter()
            .filter(|r| !r.within(self.tolerance))
            .collect()
    }
}

/// Simulates every layer the plan pruned, at its original and at its
/// planned density, with the plan's hardware and mappings. Data: with
/// [`WeightSource::Npy`] the real data, unpruned and pruned as
/// [`super::prune_layer_weights`] prunes it; with
/// [`WeightSource::Generated`] synthetic data generated at each density
/// (bias calibrated to the trace's ofmap sparsity, as the analytic model
/// assumes). Every simulated ofmap is checked against the reference.
pub fn verify(
    plan: &PrunePlan,
    source: WeightSource<'_>,
    opts: &VerifyOptions,
) -> Result<Verification, PruneError> {
    let pruned: Vec<usize> = plan.pruning_order().into_iter().collect::<Vec<_>>();
    let mut jobs: Vec<(usize, Stage)> = Vec::new();
    for i in 0..plan.pruned.layers.len() {
        if pruned.contains(&i) {
            jobs.push((i, Stage::Baseline));
            jobs.push((i, Stage::Pruned));
        }
    }
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    }
    .clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<VerifyRow, PruneError>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(i, stage)) = jobs.get(k) else {
                    break;
                };
                let row = simulate(plan, i, stage, source);
                slots.lock().expect("no worker panicked")[k] = Some(row);
            });
        }
    });
    let rows = slots
        .into_inner()
        .expect("no worker panicked")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect::<Result<Vec<_>, _>>()?;
    let untouched = (0..plan.last.len())
        .filter(|i| !pruned.contains(i))
        .map(|i| plan.last[i].energy.total())
        .sum();
    Ok(Verification {
        rows,
        untouched,
        tolerance: opts.tolerance,
    })
}

fn problem(net: &Network, i: usize) -> ConvProblem {
    match LayerWork::of(&net.layers[i], net.batch) {
        LayerWork::Array(p) => p,
        _ => unreachable!("pruned layers run on the PE array"),
    }
}

fn simulate(
    plan: &PrunePlan,
    i: usize,
    stage: Stage,
    source: WeightSource<'_>,
) -> Result<VerifyRow, PruneError> {
    let (net, result) = match stage {
        Stage::Baseline => (&plan.original, &plan.baseline[i]),
        Stage::Pruned => (&plan.pruned, &plan.last[i]),
    };
    let prob = problem(net, i);
    let shift = plan.hw.pe.product_shift;
    let (data, reference): (LayerData, Vec<i16>) = match source {
        WeightSource::Npy(_) => {
            let (_, mut d) = layer_data(plan, i, source)?;
            if stage == Stage::Pruned {
                prune_layer_weights(&prob, &mut d, prob.weight_density, shift);
            }
            let want = data::reference(&prob, &d, shift);
            (d, want)
        }
        WeightSource::Generated { seed } => {
            data::generate_with_reference(&prob, layer_seed(seed, i), shift)
        }
    };
    let mapping = result.mapping.expect("a layer with weights has a mapping");
    let sim_opts = SimOptions {
        layer: net.layers[i].name.clone(),
        trace: false,
        check: true,
        fault: None,
        threads: 1,
        time_every_pass: false,
    };
    let sim =
        engine::simulate_layer_against(&prob, &mapping, &plan.hw, &data, &reference, &sim_opts)?;
    Ok(VerifyRow {
        index: i,
        layer: net.layers[i].name.clone(),
        stage,
        density: data::density(&data.weights),
        analytic: result.energy.total(),
        simulated: sim.counts.energy(&plan.hw.energy).total(),
    })
}
