//! A search cache for sweeps: the same selection as [`super::search`] for
//! the `energy` objective, at a fraction of the cost when many hwconfigs
//! differ only in their spad capacities.
//!
//! The candidates with `p` filters and `q` channels per PE (a *group*), and
//! their energy and cycles, depend on the layer, on the hwconfig without its
//! spad capacities, and on the psum spad only through whether it holds two
//! columns of psums (the GON lock step of `analytic::cycles`), i.e. on
//! `min(psum_spad_words, 2p)`. Otherwise the spads only decide which groups
//! the search visits (`q ≤ q_limit`, `p ≤ p_limit(q)`). The GLB capacity
//! stays in the key, since it decides which `(m, n)` tiles exist. So each
//! group is scored once per (layer, hwconfig without spads, p, q,
//! min(psum_spad_words, 2p)) and reduced to:
//!
//! * its least candidate under the energy order (the first pass), and
//! * the "staircase" of the EDP order over its candidates sorted by energy:
//!   for any energy cap, the group's best EDP within the cap is the last
//!   stair at or below it (the second pass).
//!
//! A point then combines the groups it may visit. Only candidates within
//! [`ENERGY_BAND`] of their group's least energy can ever be selected (the
//! least energy of all visited groups is at most that), so only those get
//! their cycles computed.
//!
//! The result equals the plain search's whenever the 1e-9 fuzzy
//! comparisons of the tie rules are transitive over the candidates (values
//! that differ only by float rounding, or by far more than 1e-9): the plain
//! search takes the first best candidate in its order, this takes the best
//! of group bests. `tests` checks the two agree on many layers and configs.

use crate::hw::HwConfig;
use crate::search::{compare, Candidate, ENERGY_BAND};
use crate::space::for_each_in_group;
use crate::workload::ConvProblem;
use crate::{search, Objective};
use eyesim_analytic::model::LayerModel;
use eyesim_core::mapping::check::check;
use eyesim_core::mapping::{groups, smallest, MapError, RowStationaryMapping};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, OnceLock};

/// Relative slack on the band bounds, so float rounding never drops a candidate.
const SLACK: f64 = 1e-6;

/// Scored candidate groups shared by the points of a sweep (and threads).
/// Its content is a pure function of its keys, so results never depend on
/// the order in which points or threads fill it.
#[derive(Default)]
pub struct SearchCache {
    layers: Mutex<HashMap<String, Arc<LayerGroups>>>,
}

impl std::fmt::Debug for SearchCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.layers.lock().map_or(0, |l| l.len());
        write!(f, "SearchCache({n} layer configs)")
    }
}

/// The groups of one layer on one hwconfig without spads.
struct LayerGroups {
    prob: ConvProblem,
    hw: HwConfig,
    groups: Mutex<HashMap<GroupKey, Arc<Slot>>>,
}

/// A group: filters per PE `p`, channels per PE `q`, the psum spad size
/// that matters to its timing (`min(psum_spad_words, 2p)`) and the
/// segments of a filter row `fs` (which the spads decide).
type GroupKey = (u32, u32, u32, u32);

/// A group, scored by the first thread that claims it.
#[derive(Default)]
struct Slot {
    claimed: AtomicBool,
    group: OnceLock<Group>,
}

/// One `(p, q)` group, reduced.
struct Group {
    /// The least candidate under the `energy` order.
    least: Option<Candidate>,
    /// Candidates by ascending energy, each better in EDP order than all before it.
    stairs: Vec<Candidate>,
}

impl SearchCache {
    /// An empty cache.
    pub fn new() -> SearchCache {
        SearchCache::default()
    }

    /// The same mapping as [`search()`]`(prob, hw, objective)`. Objectives
    /// other than `energy` are passed to the plain search.
    pub fn search(
        &self,
        prob: &ConvProblem,
        hw: &HwConfig,
        objective: Objective,
    ) -> Result<RowStationaryMapping, MapError> {
        if objective != Objective::Energy {
            return search(prob, hw, objective);
        }
        let smallest = smallest(prob, hw);
        check(&smallest, prob, hw)?;
        let layer = self.layer(prob, hw);
        // Timing depends on the psum spad only through whether it holds two
        // columns of a PE's psums (`2·p_act > psum_spad_words`, the GON lock
        // step), so every size from 2p up scores a group alike.
        let psum = hw.pe.psum_spad_words;
        let keys: Vec<GroupKey> = groups(prob, hw)
            .into_iter()
            .map(|(p, q, fs)| (p, q, psum.min(2 * p), fs))
            .collect();
        let slots = layer.groups(&keys);
        let groups: Vec<&Group> = slots
            .iter()
            .map(|s| s.group.get().expect("every slot is scored"))
            .collect();
        let found = select(prob, &groups).map_or(smallest, |c| c.mapping);
        debug_assert!(check(&found, prob, hw).is_ok());
        Ok(found)
    }

    fn layer(&self, prob: &ConvProblem, hw: &HwConfig) -> Arc<LayerGroups> {
        let hw = without_spads(hw);
        let key = serde_json::to_string(&(prob, &hw)).expect("problems and hwconfigs serialize");
        let mut layers = self.layers.lock().expect("no panic while holding the lock");
        layers
            .entry(key)
            .or_insert_with(|| {
                Arc::new(LayerGroups {
                    prob: *prob,
                    hw,
                    groups: Mutex::new(HashMap::new()),
                })
            })
            .clone()
    }
}

/// The two passes of the `energy` objective over the groups a point visits.
fn select(prob: &ConvProblem, groups: &[&Group]) -> Option<Candidate> {
    let mut least: Option<Candidate> = None;
    for c in groups.iter().filter_map(|g| g.least) {
        least = Some(match least {
            Some(top) if !energy_beats(prob, &c, &top) => top,
            _ => c,
        });
    }
    let least = least?;
    let cap = least.energy * (1.0 + ENERGY_BAND);
    let mut best: Option<Candidate> = None;
    for g in groups {
        let within = g.stairs.partition_point(|c| c.energy <= cap);
        let Some(c) = within.checked_sub(1).map(|i| g.stairs[i]) else {
            continue;
        };
        if best.is_none_or(|b| compare(Objective::Edp, prob, &c, &b) == Ordering::Less) {
            best = Some(c);
        }
    }
    best
}

/// The first pass's rule (`Best::offer` with the `energy` objective): `c`
/// replaces `top` when not clearly more energy and better in the energy order.
fn energy_beats(prob: &ConvProblem, c: &Candidate, top: &Candidate) -> bool {
    c.energy <= top.energy * (1.0 + 1e-9)
        && compare(Objective::Energy, prob, c, top) == Ordering::Less
}

/// `hw` with its spad capacities zeroed: the part that scores candidates.
fn without_spads(hw: &HwConfig) -> HwConfig {
    let mut hw = hw.clone();
    hw.name = String::new();
    hw.pe.filter_spad_words = 0;
    hw.pe.ifmap_spad_words = 0;
    hw.pe.psum_spad_words = 0;
    hw
}

impl LayerGroups {
    /// The scored groups of `keys`, in order. Groups that another thread is
    /// scoring are waited for last, after scoring the unclaimed ones, so
    /// threads that need the same groups share the work instead of
    /// repeating it.
    fn groups(&self, keys: &[GroupKey]) -> Vec<Arc<Slot>> {
        let slots: Vec<Arc<Slot>> = {
            let mut map = self.groups.lock().expect("no panic while holding the lock");
            keys.iter()
                .map(|k| map.entry(*k).or_default().clone())
                .collect()
        };
        let score = |slot: &Slot, &(p, q, psum, fs): &GroupKey| {
            slot.group.get_or_init(|| {
                let mut hw = self.hw.clone();
                hw.pe.psum_spad_words = psum;
                score_group(&self.prob, &hw, (p, q, fs))
            });
        };
        for (slot, key) in slots.iter().zip(keys) {
            if !slot.claimed.swap(true, AtomicOrdering::Relaxed) {
                score(slot, key);
            }
        }
        for (slot, key) in slots.iter().zip(keys) {
            score(slot, key);
        }
        slots
    }
}

fn score_group(prob: &ConvProblem, hw: &HwConfig, (p, q, fs): (u32, u32, u32)) -> Group {
    let model = LayerModel::new(prob, hw);
    let mut all: Vec<(RowStationaryMapping, f64)> = Vec::new();
    let mut least_energy = f64::INFINITY;
    for_each_in_group(&model, p, q, fs, |m, st| {
        let energy = model.counts(&m, st).energy(hw);
        least_energy = least_energy.min(energy);
        all.push((m, energy));
    });
    let bound = least_energy * (1.0 + ENERGY_BAND) * (1.0 + SLACK);
    let mut band: Vec<Candidate> = all
        .into_iter()
        .filter(|&(_, energy)| energy <= bound)
        .map(|(mapping, energy)| {
            let st = model.strip(mapping.e, mapping.fr);
            let raw = model.counts(&mapping, &st);
            let (cycles, _) = eyesim_analytic::cycles_of(&model, &mapping, &st, &raw);
            Candidate {
                mapping,
                energy,
                cycles,
            }
        })
        .collect();
    let mut least: Option<Candidate> = None;
    for c in &band {
        if least.is_none_or(|top| energy_beats(prob, c, &top)) {
            least = Some(*c);
        }
    }
    band.sort_by(|a, b| a.energy.total_cmp(&b.energy));
    let mut stairs: Vec<Candidate> = Vec::new();
    for c in band {
        if stairs
            .last()
            .is_none_or(|b| compare(Objective::Edp, prob, &c, b) == Ordering::Less)
        {
            stairs.push(c);
        }
    }
    Group { least, stairs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::HwSource;
    use crate::workload::{self, LayerWork};

    /// The array layers of a built-in network (every `step`-th, to keep debug runs short).
    fn layers(net: &str, step: usize) -> Vec<(String, ConvProblem)> {
        let net = workload::builtin(net).unwrap();
        net.layers
            .iter()
            .filter_map(|l| match LayerWork::of(l, net.batch) {
                LayerWork::Array(p) => Some((format!("{}/{}", net.name, l.name), p)),
                _ => None,
            })
            .step_by(step)
            .collect()
    }

    /// Configs whose spads and GLB make different groups and tiles legal.
    fn configs() -> Vec<HwConfig> {
        let mut out = Vec::new();
        let v1 = HwSource::builtin("eyeriss-v1").unwrap();
        for glb in [16.0, 108.0] {
            for filter in [48.0, 640.0] {
                for psum in [4.0, 24.0] {
                    let src = v1
                        .with_override("glb.size_kib", glb)
                        .and_then(|s| s.with_override("pe.filter_spad_words", filter))
                        .and_then(|s| s.with_override("pe.psum_spad_words", psum))
                        .unwrap();
                    out.push(src.validate().unwrap());
                }
            }
        }
        let tiny = HwSource::builtin("tiny").unwrap();
        for ifmap in [11.0, 16.0] {
            let src = tiny
                .with_override("array.rows", 12.0)
                .and_then(|s| s.with_override("pe.ifmap_spad_words", ifmap))
                .and_then(|s| s.with_override("glb.size_kib", 20.0))
                .unwrap();
            out.push(src.validate().unwrap());
        }
        out.push(crate::hw::builtin("eyeriss-isca16-256pe").unwrap());
        out
    }

    #[test]
    fn cached_search_picks_the_plain_searchs_mappings() {
        let mut probs = layers("alexnet", 1);
        probs.extend(layers("mobilenet", 6));
        probs.extend(layers("resnet50", 12));
        let configs = configs();
        // One cache for everything, as in a sweep: groups are shared across configs.
        let cache = SearchCache::new();
        let mut varied = 0;
        for (name, prob) in &probs {
            let mut chosen = std::collections::HashSet::new();
            for hw in &configs {
                let plain = search(prob, hw, Objective::Energy);
                let cached = cache.search(prob, hw, Objective::Energy);
                assert_eq!(cached, plain, "{name} on {hw:?}");
                if let Ok(m) = plain {
                    chosen.insert(m);
                }
            }
            varied += usize::from(chosen.len() > 1);
        }
        // The configs must really move the choice, or the test proves little.
        assert!(
            varied * 2 > probs.len(),
            "{varied} of {} layers",
            probs.len()
        );
    }

    #[test]
    fn other_objectives_fall_through_to_the_plain_search() {
        let hw = crate::hw::builtin("eyeriss-v1").unwrap();
        let cache = SearchCache::new();
        for (_, prob) in layers("alexnet", 2) {
            for obj in [Objective::Cycles, Objective::Edp] {
                assert_eq!(cache.search(&prob, &hw, obj), search(&prob, &hw, obj));
            }
        }
    }
}
