//! Energy-aware pruning (Yang, Chen, Sze, CVPR 2017) as a planning
//! instrument: rank layers by estimated energy, not by weights or MACs, and
//! prune the most energy-hungry layer first.
//!
//! * [`plan`]: the greedy plan. Each step lowers the weight density of the
//!   prunable layer with the highest current energy by one multiplicative
//!   step, re-maps and re-estimates that layer alone, until the network
//!   energy reaches the target or every layer sits at its floor.
//! * [`ranking`]: layers by energy, weights and MACs (the paper's point:
//!   the three orders differ).
//! * [`prune_layer_weights`]: real weights pruned to a planned density,
//!   choosing the weights that least disturb the layer's output feature map.
//! * [`output`]: the CSV and trace files of `eyesim prune`.
//!
//! The energy model credits pruning as docs/reference.md §8 says (pruned weights do
//! no MAC, weight traffic scales with density) only with weight compression,
//! so [`plan`] enables it on a copy of the config when it is off and says so
//! in [`PrunePlan::enabled_weight_compression`]. See docs/pruning.md.

mod floors;
mod lsq;
pub mod method;
pub mod method_csv;
pub mod output;
mod rank;
mod select;
mod verify;
mod weights;

pub use floors::{builtin_floors, Floors};
pub use lsq::{fit_layer, LayerFit};
pub use method::{
    measure_model, prune_model, MethodOptions, MethodRun, MethodStep, Snapshot, Split, Trial,
};
pub use rank::{ranking, LayerRank};
pub use select::{candidate, removal_order, Candidate, Criterion, Fits};
pub use verify::{verify, Stage, Verification, VerifyOptions, VerifyRow};
pub use weights::{
    layer_data, prune_layer_weights, prune_network_weights, LayerPruning, WeightSource,
};

use crate::analytic::{estimate_network, estimate_network_layer, AnalyticError, EstimateOptions};
use crate::hw::HwConfig;
use crate::mapping::{MappingSet, Objective, RowStationaryMapping};
use crate::stats::{Energy, LayerResult};
use crate::workload::Network;
use crate::Location;
use floors::has_weights;

/// Options of [`plan`].
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Multiplicative density step in (0, 1): one step takes density d to
    /// `max(d · step, floor)`.
    pub step: f64,
    /// Stop once the network energy is at most baseline / `target_reduction` (≥ 1).
    pub target_reduction: f64,
    /// Per-layer density floors.
    pub floors: Floors,
    /// What the mapper minimizes when a layer is re-mapped.
    pub objective: Objective,
    /// Worker threads for the baseline estimate (0 = all cores); results never depend on it.
    pub threads: usize,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            step: 0.8,
            target_reduction: 3.7,
            floors: Floors {
                global: 0.1,
                per_layer: Default::default(),
                origin: None,
            },
            objective: Objective::Energy,
            threads: 0,
        }
    }
}

/// Why pruning could not be planned or carried out.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// The run was cancelled before it finished.
    #[error(transparent)]
    Cancelled(#[from] crate::cancel::Cancelled),
    /// An option out of range.
    #[error("--{option}: {why}")]
    BadOption {
        /// The option's command-line name.
        option: &'static str,
        /// What is wrong with its value.
        why: String,
    },
    /// A bad floors file.
    #[error("{loc}: {}{why}", key_prefix(.key))]
    Floors {
        /// File, line and column.
        loc: Location,
        /// The offending key (empty for syntax errors).
        key: String,
        /// What is wrong.
        why: String,
    },
    /// Several problems in one floors file, in file order.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    SeveralFloors(Vec<PruneError>),
    /// The analytic model could not estimate a layer.
    #[error(transparent)]
    Analytic(#[from] AnalyticError),
    /// The simulator failed on a layer (its message names the layer).
    #[error(transparent)]
    Sim(#[from] crate::engine::SimError),
    /// Layer data could not be read or written.
    #[error("layer `{layer}`: {cause}")]
    Data {
        /// The layer.
        layer: String,
        /// The cause (in the message, not chained: it names the file itself).
        cause: crate::data::DataError,
    },
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("key `{key}`: ")
    }
}

/// Why the planner stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The network energy reached baseline / target.
    TargetReached,
    /// Every prunable layer is at its floor; the target was not reached.
    AllAtFloor,
}

/// Which mapping a step kept for the pruned layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingChoice {
    /// The mapper's choice at the new density.
    Searched,
    /// The layer's previous mapping: the mapper's choice would have cost more
    /// energy (the `energy` objective trades up to
    /// [`crate::mapping::ENERGY_BAND`] of energy for cycles), and the planner
    /// never accepts an energy increase.
    Kept,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneStep {
    /// Index of the pruned layer in the network.
    pub layer: usize,
    /// Its name.
    pub name: String,
    /// Weight density before the step.
    pub density_before: f64,
    /// Weight density after the step.
    pub density_after: f64,
    /// The layer's energy before the step.
    pub layer_energy_before: f64,
    /// The layer's energy after the step.
    pub layer_energy_after: f64,
    /// Network energy after the step.
    pub network_energy: f64,
    /// The layer's mapping after the step.
    pub mapping: RowStationaryMapping,
    /// Where that mapping came from.
    pub choice: MappingChoice,
    /// Whether the step brought the layer to its floor.
    pub at_floor: bool,
}

/// The outcome of [`plan`].
#[derive(Debug, Clone)]
pub struct PrunePlan {
    /// The hardware config the plan was made on (weight compression on).
    pub hw: HwConfig,
    /// True when the given config lacked weight compression and the planner
    /// enabled it on its copy.
    pub enabled_weight_compression: bool,
    /// The network as given.
    pub original: Network,
    /// The network with the planned weight densities.
    pub pruned: Network,
    /// Every layer estimated before pruning.
    pub baseline: Vec<LayerResult>,
    /// Every layer estimated after the last step.
    pub last: Vec<LayerResult>,
    /// The floor of every layer (1 for layers without weights).
    pub floors: Vec<f64>,
    /// The steps in order.
    pub steps: Vec<PruneStep>,
    /// Network energy the plan aimed at.
    pub target_energy: f64,
    /// Why it stopped.
    pub stop: StopReason,
}

impl PrunePlan {
    /// Network energy before pruning.
    pub fn baseline_energy(&self) -> f64 {
        total(&self.baseline)
    }
    /// Network energy after the plan.
    pub fn final_energy(&self) -> f64 {
        total(&self.last)
    }
    /// Baseline energy over final energy.
    pub fn reduction(&self) -> f64 {
        self.baseline_energy() / self.final_energy()
    }
    /// Energy by level summed over the baseline layers.
    pub fn baseline_breakdown(&self) -> Energy {
        breakdown(&self.baseline)
    }
    /// Energy by level summed over the pruned layers.
    pub fn final_breakdown(&self) -> Energy {
        breakdown(&self.last)
    }
    /// Layer indices in the order the plan first pruned them.
    pub fn pruning_order(&self) -> Vec<usize> {
        let mut order = Vec::new();
        for s in &self.steps {
            if !order.contains(&s.layer) {
                order.push(s.layer);
            }
        }
        order
    }
    /// Indices of the layers with weights whose final density is at their floor.
    pub fn layers_at_floor(&self) -> Vec<usize> {
        (0..self.pruned.layers.len())
            .filter(|&i| self.is_weighted(i) && !self.prunable(i))
            .collect()
    }
    /// The planned mappings of the layers that use the PE array: estimating
    /// [`PrunePlan::pruned`] with these pinned reproduces [`PrunePlan::last`].
    pub fn mappings(&self) -> MappingSet {
        let mut set = MappingSet::new();
        for r in &self.last {
            if let Some(m) = r.mapping {
                set.insert(&r.layer, m);
            }
        }
        set
    }
    fn is_weighted(&self, i: usize) -> bool {
        has_weights(&self.pruned, &self.pruned.layers[i])
    }
    /// Whether layer `i` can take another step.
    fn prunable(&self, i: usize) -> bool {
        self.is_weighted(i) && self.pruned.layers[i].sparsity.weight_density > self.floors[i]
    }
}

fn total(results: &[LayerResult]) -> f64 {
    results.iter().map(|r| r.energy.total()).sum()
}

fn breakdown(results: &[LayerResult]) -> Energy {
    let mut e = Energy::default();
    for r in results {
        e += r.energy;
    }
    e
}

/// `hw` with weight compression on, and whether it had to be switched on.
pub fn with_weight_compression(hw: &HwConfig) -> (HwConfig, bool) {
    let mut hw = hw.clone();
    let enabled = !hw.sparsity.weight_compression;
    hw.sparsity.weight_compression = true;
    (hw, enabled)
}

/// Plans energy-aware pruning of `net` on `hw` (see the module docs).
///
/// Deterministic: among layers of equal energy the earlier one is pruned.
pub fn plan(net: &Network, hw: &HwConfig, opts: &PruneOptions) -> Result<PrunePlan, PruneError> {
    check_options(opts)?;
    let (hw, enabled_weight_compression) = with_weight_compression(hw);
    let est = EstimateOptions {
        objective: opts.objective,
        threads: opts.threads,
        ..EstimateOptions::default()
    };
    let baseline = estimate_network(net, &hw, &est)?;
    let floors = net
        .layers
        .iter()
        .map(|l| {
            if has_weights(net, l) {
                opts.floors.of(&l.name)
            } else {
                1.0
            }
        })
        .collect();
    let mut p = PrunePlan {
        target_energy: total(&baseline) / opts.target_reduction,
        hw,
        enabled_weight_compression,
        original: net.clone(),
        pruned: net.clone(),
        last: baseline.clone(),
        baseline,
        floors,
        steps: Vec::new(),
        stop: StopReason::AllAtFloor,
    };
    loop {
        if p.final_energy() <= p.target_energy {
            p.stop = StopReason::TargetReached;
            break;
        }
        let Some(i) = hungriest(&p) else {
            p.stop = StopReason::AllAtFloor;
            break;
        };
        let step = take_step(&mut p, i, opts, &est)?;
        p.steps.push(step);
    }
    Ok(p)
}

fn check_options(opts: &PruneOptions) -> Result<(), PruneError> {
    let bad = |option, why: String| Err(PruneError::BadOption { option, why });
    if !(opts.step > 0.0 && opts.step < 1.0) {
        return bad("step", format!("{} is not a factor in (0, 1)", opts.step));
    }
    if !(opts.target_reduction >= 1.0 && opts.target_reduction.is_finite()) {
        return bad(
            "target-reduction",
            format!("{} is not a finite factor ≥ 1", opts.target_reduction),
        );
    }
    Floors::uniform(opts.floors.global)?;
    Ok(())
}

/// The prunable layer with the highest current energy (the first on ties).
fn hungriest(p: &PrunePlan) -> Option<usize> {
    let mut best: Option<usize> = None;
    for i in (0..p.last.len()).filter(|&i| p.prunable(i)) {
        let e = p.last[i].energy.total();
        if best.is_none_or(|b| e > p.last[b].energy.total()) {
            best = Some(i);
        }
    }
    best
}

/// Lowers layer `i` by one step and re-estimates it alone.
fn take_step(
    p: &mut PrunePlan,
    i: usize,
    opts: &PruneOptions,
    est: &EstimateOptions,
) -> Result<PruneStep, PruneError> {
    let before = p.last[i].clone();
    let density_before = p.pruned.layers[i].sparsity.weight_density;
    let density_after = (density_before * opts.step).max(p.floors[i]);
    p.pruned.layers[i].sparsity.weight_density = density_after;
    let searched = estimate_network_layer(&p.pruned, i, &p.hw, est)?;
    let (after, choice) = match before.mapping {
        Some(old) if old != searched.mapping.unwrap_or(old) => {
            let mut pinned = MappingSet::new();
            pinned.insert(&before.layer, old);
            let pinned = EstimateOptions {
                pinned,
                ..est.clone()
            };
            // An old mapping that no longer fits is simply not a candidate.
            match estimate_network_layer(&p.pruned, i, &p.hw, &pinned) {
                Ok(kept) if kept.energy.total() < searched.energy.total() => {
                    (kept, MappingChoice::Kept)
                }
                _ => (searched, MappingChoice::Searched),
            }
        }
        _ => (searched, MappingChoice::Searched),
    };
    let mapping = after
        .mapping
        .expect("a layer with weights uses the PE array");
    p.last[i] = after;
    Ok(PruneStep {
        layer: i,
        name: before.layer.clone(),
        density_before,
        density_after,
        layer_energy_before: before.energy.total(),
        layer_energy_after: p.last[i].energy.total(),
        network_energy: p.final_energy(),
        mapping,
        choice,
        at_floor: density_after <= p.floors[i],
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod lsq_tests;
