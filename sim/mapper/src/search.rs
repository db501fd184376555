//! The mapper: exhaustive search of the legal space with dominance pruning,
//! each candidate scored by the analytic model in closed form.
//!
//! Pruning (each rule keeps a mapping at least as good in every count):
//! * `r` and `t` take only the smallest value for each number of channel
//!   chunks `ceil(C/(q·r))` and passes `ceil(M/(p·t))`: access counts depend
//!   on `r` and `t` only through those, and the smaller value needs fewer
//!   GLB words and copies.
//! * `(m, n)` keep only the Pareto front of "fewer ifmap reloads
//!   `ceil(M/m)`" against "fewer filter reloads `ceil(N/n)`": for each
//!   distinct `ceil(M/m)` the largest `n` that still fits the GLB.
//! * `q ≤ C` and `p ≤ M`: larger values only waste spad and GLB space.
//!
//! Selection: `cycles` and `edp` minimize their metric; `energy` first finds
//! the least energy, then takes the best energy-delay product among the
//! mappings within [`ENERGY_BAND`] of it (see there why).
//!
//! Ties are broken deterministically: the objective, then the other metric (energy for cycles and EDP), both compared with a
//! relative tolerance of 1e-9 so float rounding cannot decide; then the
//! larger footprint (more active PEs); finally the lexicographically
//! smallest `(e, r, t, g, p, q, n, m)`.

use crate::hw::HwConfig;
use crate::space::for_each_in_group;
use crate::tie::fuzzy;
use crate::workload::ConvProblem;
use eyesim_analytic::model::LayerModel;
use eyesim_core::mapping::check::check;
use eyesim_core::mapping::{groups, smallest, MapError, RowStationaryMapping};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Relative energy band within which the `energy` objective weighs delay.
///
/// Near its optimum the row-stationary energy is flat: on AlexNet/Eyeriss v1
/// many mappings lie within 1–3% of the least energy, yet differ by 25–50%
/// in cycles (mappings that spend set copies on channels, `r`, instead of
/// filters, `t`, become ifmap-GIN bound). Differences below the model's
/// validated accuracy (it reproduces the published ISCA 2016 energies to
/// 10%) do not justify a much slower mapping, so the `energy` objective
/// guarantees energy within this band of the least and, inside it, takes
/// the best energy-delay product. With it, the mapper reproduces the
/// published chip mappings (docs/reference.md §2: 154/135/156/156/156 active PEs,
/// dense and at the measured sparsity) and every ISCA 2016 Fig. 10 cell
/// within 10%; bands from 8% to 15% give the same choices. Pure least
/// energy (band 0) picks 154/90/117/156/117-PE mappings that are 1–2.5%
/// cheaper and up to 50% slower, and has 13–14% less DRAM energy than
/// Fig. 10 on CONV3–5.
pub const ENERGY_BAND: f64 = 0.10;

/// What the mapper minimizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Total energy (the default): among the mappings whose energy is within
    /// [`ENERGY_BAND`] of the least, the one with the best energy × cycles.
    #[default]
    Energy,
    /// Cycles with DRAM serialized.
    Cycles,
    /// Energy × cycles.
    Edp,
    /// The Eyeriss chip's own policy (JSSC 2017 Table III): uniform passes,
    /// then least DRAM traffic, then most active PEs, then least energy
    /// (`mapping::chip`).
    Chip,
}

impl Objective {
    /// Lowercase name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Energy => "energy",
            Objective::Cycles => "cycles",
            Objective::Edp => "edp",
            Objective::Chip => "chip",
        }
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Objective {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "energy" => Ok(Objective::Energy),
            "cycles" => Ok(Objective::Cycles),
            "edp" => Ok(Objective::Edp),
            "chip" => Ok(Objective::Chip),
            _ => Err(format!(
                "unknown objective `{s}` (expected energy, cycles, edp or chip)"
            )),
        }
    }
}

/// The best legal mapping of `prob` on `hw` for `objective`. When none
/// exists, the error names the limit that even the smallest mapping
/// (e = r = t = g = p = q = n = m = 1) violates.
///
/// ```
/// use eyesim_core::fixtures::{alexnet_convs, eyeriss_v1};
/// let (hw, conv3) = (eyeriss_v1(), alexnet_convs(4)[2]);
/// let m = eyesim_mapper::search(&conv3, &hw, eyesim_mapper::Objective::Energy)?;
/// assert!(eyesim_core::mapping::check(&m, &conv3, &hw).is_ok());
/// assert_eq!(eyesim_analytic::active_pes(&conv3, &m), 156); // as on the chip
/// # Ok::<(), eyesim_core::mapping::MapError>(())
/// ```
pub fn search(
    prob: &ConvProblem,
    hw: &HwConfig,
    objective: Objective,
) -> Result<RowStationaryMapping, MapError> {
    search_where(prob, hw, objective, |_| true)
}

/// [`search`] restricted to mappings that `keep` accepts (for studies and tests).
pub(crate) fn search_where(
    prob: &ConvProblem,
    hw: &HwConfig,
    objective: Objective,
    keep: impl Fn(&RowStationaryMapping) -> bool,
) -> Result<RowStationaryMapping, MapError> {
    let smallest = smallest(prob, hw);
    check(&smallest, prob, hw)?;
    if objective == Objective::Chip {
        // The chip's mapper chose offline, from the layer's shape: it
        // cannot see the zeros of data it has not yet run on.
        let dense = prob.dense();
        // Layers with no uniform mapping fall back to the energy objective.
        if let Some(m) = super::chip::search_chip(&LayerModel::new(&dense, hw), &keep) {
            return Ok(m);
        }
        return search_where(prob, hw, Objective::Energy, keep);
    }
    let model = LayerModel::new(prob, hw);
    let found = if objective == Objective::Energy {
        let mut least = Best::new(Objective::Energy, f64::INFINITY);
        least.near = Some(Vec::new());
        let least = enumerate(&model, least, &keep);
        let cap = least
            .top
            .map_or(f64::INFINITY, |c| c.energy * (1.0 + ENERGY_BAND));
        let mut best = Best::new(Objective::Edp, cap);
        for (m, _) in least.near.unwrap_or_default() {
            let st = model.strip(m.e, m.fr);
            let raw = model.counts(&m, &st);
            best.offer(&model, m, &st, raw.energy(hw), &raw);
        }
        best
    } else {
        enumerate(&model, Best::new(objective, f64::INFINITY), &keep)
    };
    let found = found.top.map_or(smallest, |c| c.mapping);
    debug_assert!(check(&found, prob, hw).is_ok());
    Ok(found)
}

fn enumerate(
    model: &LayerModel<'_>,
    mut best: Best,
    keep: &impl Fn(&RowStationaryMapping) -> bool,
) -> Best {
    let hw = model.hw;
    for (p, q, fs) in groups(model.prob, hw) {
        for_each_in_group(model, p, q, fs, |m, st| {
            if !keep(&m) {
                return;
            }
            let raw = model.counts(&m, st);
            best.offer(model, m, st, raw.energy(hw), &raw);
        });
    }
    best
}

/// A scored mapping.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub mapping: RowStationaryMapping,
    pub energy: f64,
    pub cycles: f64,
}

struct Best {
    objective: Objective,
    /// Candidates above this energy are not considered.
    energy_cap: f64,
    top: Option<Candidate>,
    /// When collecting: every candidate within [`ENERGY_BAND`] of the least
    /// energy seen so far (a superset of those within the final band).
    near: Option<Vec<(RowStationaryMapping, f64)>>,
}

impl Best {
    fn new(objective: Objective, energy_cap: f64) -> Best {
        Best {
            objective,
            energy_cap,
            top: None,
            near: None,
        }
    }

    fn offer(
        &mut self,
        model: &LayerModel<'_>,
        mapping: RowStationaryMapping,
        st: &eyesim_analytic::model::StripSums,
        energy: f64,
        raw: &eyesim_analytic::model::RawCounts,
    ) {
        if energy > self.energy_cap {
            return;
        }
        if let Some(near) = &mut self.near {
            let least = self.top.map_or(f64::INFINITY, |c| c.energy.min(energy));
            if energy <= least * (1.0 + ENERGY_BAND) {
                // Prune when full; doubling the capacity keeps pushes amortized O(1).
                if near.len() == near.capacity() && near.len() >= 1 << 12 {
                    near.retain(|&(_, e)| e <= least * (1.0 + ENERGY_BAND));
                    near.reserve(near.len().max(1 << 12));
                }
                near.push((mapping, energy));
            }
        }
        // Energy is cheap; cycles are computed only when they can matter.
        if let (Objective::Energy, Some(top)) = (self.objective, &self.top) {
            if energy > top.energy * (1.0 + 1e-9) {
                return;
            }
        }
        let (cycles, _) = eyesim_analytic::cycles_of(model, &mapping, st, raw);
        let cand = Candidate {
            mapping,
            energy,
            cycles,
        };
        let better = match &self.top {
            None => true,
            Some(top) => compare(self.objective, model.prob, &cand, top) == Ordering::Less,
        };
        if better {
            self.top = Some(cand);
        }
    }
}

/// Orders candidates: smaller is better (see the module doc for the rule).
pub(crate) fn compare(
    obj: Objective,
    prob: &ConvProblem,
    a: &Candidate,
    b: &Candidate,
) -> Ordering {
    let (pa, sa, pb, sb) = match obj {
        Objective::Energy => (a.energy, a.cycles, b.energy, b.cycles),
        Objective::Cycles => (a.cycles, a.energy, b.cycles, b.energy),
        Objective::Edp | Objective::Chip => {
            (a.energy * a.cycles, a.energy, b.energy * b.cycles, b.energy)
        }
    };
    fuzzy(pa, pb)
        .then(fuzzy(sa, sb))
        .then_with(|| {
            let pes = |c: &Candidate| eyesim_analytic::active_pes(prob, &c.mapping);
            pes(b).cmp(&pes(a))
        })
        .then_with(|| a.mapping.cmp(&b.mapping))
}
