//! Reuse of whole-layer simulations across the points of a sweep.
//!
//! Many hardware parameters are read only by the mapper or the energy
//! model: the GLB's total size and the filter spad's capacity bound which
//! mappings are legal, and the energy costs price the counts afterwards.
//! Sweeping them with the simulator gives a layer the same mapping at
//! many points, and with generated data the same inputs: the simulation
//! would repeat itself event for event. A [`LayerMemo`] runs each distinct
//! simulation once and hands its result to every point that needs it.
//!
//! The key is everything a layer simulation reads: the problem, the data
//! seed, whether the ofmap is checked, the mapping, and the hardware as the
//! simulator sees it ([`simulator_view`]) except the bank size, which is
//! compared through the bank counts it gives the layer's GLB tiles
//! ([`LayerMemo::get_or_run`]). A field the view leaves out must not change
//! any simulation; the tests change each one and compare.
//!
//! The tiles come from the controller's own plan of the layer
//! ([`planned_tiles`]), so points whose bank counts differ run at once;
//! every run checks that it assigned banks for exactly those tiles.

use super::steps::{steps, Step};
use super::{SimError, SimResult};
use crate::data::LayerData;
use crate::hw::HwConfig;
use crate::workload::ConvProblem;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// A layer's generated data and its reference ofmap.
pub(crate) type DataAndReference = Arc<(LayerData, Vec<i16>)>;

/// A simulation's result and the GLB tiles it assigned banks for.
pub(crate) type Recorded = (SimResult, Vec<(usize, usize)>);

/// A result cell: the result once its first run finished (`None` if it
/// failed: the next asker runs it again and gets its own error), and
/// whether a worker has asked for it (then, until the result is in, a run
/// is under way).
#[derive(Default)]
struct ResultCell {
    result: OnceLock<Option<SimResult>>,
    asked: AtomicBool,
}

type Cell = Arc<ResultCell>;

/// A memo key ([`key`]) and a bank-count signature ([`signature`]).
type CellKey = (String, Vec<(u32, u32)>);

/// The GLB tiles (ifmap words, psum words) the controller assigns banks
/// for when it runs `prob` with `mapping`, distinct, in the order it first
/// assigns them: read off the same step list the controller executes.
pub(crate) fn planned_tiles(
    prob: &ConvProblem,
    mapping: &crate::mapping::RowStationaryMapping,
) -> Vec<(usize, usize)> {
    let mut tiles = Vec::new();
    // Column tiles run one after the other, each a layer of its own.
    let mut seen: Vec<ConvProblem> = Vec::new();
    for column in prob.column_tiles(mapping.fw).unwrap_or_default() {
        // Equal tiles plan the same GLB tiles.
        if seen.contains(&column.prob) {
            continue;
        }
        seen.push(column.prob);
        for tile in layer_tiles(&column.prob, &mapping.untiled()) {
            if !tiles.contains(&tile) {
                tiles.push(tile);
            }
        }
    }
    tiles
}

/// [`planned_tiles`] of a layer without column tiles.
fn layer_tiles(
    prob: &ConvProblem,
    mapping: &crate::mapping::RowStationaryMapping,
) -> Vec<(usize, usize)> {
    let (strips, plan) = steps(prob, mapping);
    let (mut psum, mut tiles) = (0, Vec::new());
    for step in &plan {
        match step {
            Step::PsumTile { words } => psum = *words,
            Step::Load(t) => {
                let tile = (t.words(prob, strips[t.strip].needed()), psum);
                if !tiles.contains(&tile) {
                    tiles.push(tile);
                }
            }
            _ => {}
        }
    }
    tiles
}

/// The ifmap and psum bank counts of each of `tiles` at `bank_words`.
fn signature(tiles: &[(usize, usize)], bank_words: u32) -> Vec<(u32, u32)> {
    tiles
        .iter()
        .map(|&(i, p)| crate::glb::banks_for(i, p, bank_words))
        .collect()
}

/// Layer simulations already run, by everything they read, and the
/// generated data they ran on.
pub struct LayerMemo {
    /// A cell per key and bank-count signature ([`signature`]): the GLB
    /// tiles a layer assigns banks for depend on its problem and mapping
    /// only, and the simulator reads the bank size only through their bank
    /// counts, so two bank sizes that give every tile the same counts give
    /// the same run.
    cells: Mutex<HashMap<CellKey, Cell>>,
    /// Per problem, seed and product shift: the data and reference that
    /// every mapping of that layer reads (up to `data_budget` bytes).
    data: Mutex<HashMap<String, DataAndReference>>,
    data_bytes: AtomicU64,
    data_budget: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for LayerMemo {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LayerMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LayerMemo({} hits, {} runs)", self.hits(), self.misses())
    }
}

impl LayerMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self::with_data_budget(DATA_BUDGET)
    }

    /// An empty memo that keeps at most `bytes` of generated data.
    pub fn with_data_budget(bytes: u64) -> Self {
        LayerMemo {
            cells: Mutex::default(),
            data: Mutex::default(),
            data_bytes: AtomicU64::new(0),
            data_budget: bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Layer simulations answered from the memo.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Layer simulations that ran.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The result of `key` (see [`key`]) at banks of `bank_words`, or
    /// `run()`'s, for a layer whose plan assigns banks for `tiles`
    /// ([`planned_tiles`]). A worker that asks for a run another worker is
    /// doing waits for it rather than repeating it, so each distinct run
    /// happens once and the counts do not depend on timing.
    pub(crate) fn get_or_run(
        &self,
        key: String,
        tiles: &[(usize, usize)],
        layer: &str,
        bank_words: u32,
        run: impl FnOnce() -> Result<Recorded, SimError>,
    ) -> Result<SimResult, SimError> {
        let cell = {
            let mut m = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            let at = (key, signature(tiles, bank_words));
            m.entry(at).or_default().clone()
        };
        self.read_or_run(&cell, layer, tiles, run)
    }

    /// Whether another worker is running the simulation that
    /// [`LayerMemo::get_or_run`] would return for these arguments (asking
    /// for it now would wait). A hint: the run may end right after.
    pub(crate) fn in_flight(&self, key: String, tiles: &[(usize, usize)], bank_words: u32) -> bool {
        let m = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        m.get(&(key, signature(tiles, bank_words)))
            .is_some_and(|c| c.asked.load(Ordering::Acquire) && c.result.get().is_none())
    }

    /// The result in `cell`, or `run()`'s stored there.
    fn read_or_run(
        &self,
        cell: &Cell,
        layer: &str,
        tiles: &[(usize, usize)],
        run: impl FnOnce() -> Result<Recorded, SimError>,
    ) -> Result<SimResult, SimError> {
        let mut run = Some(run);
        let mut outcome = None;
        cell.asked.store(true, Ordering::Release);
        let stored = cell.result.get_or_init(|| {
            let run = run.take().expect("runs once");
            match run() {
                Ok((result, got)) if got == tiles => {
                    outcome = Some(Ok(result.clone()));
                    Some(result)
                }
                // The run assigned banks for other tiles than its plan's:
                // reuse by bank counts would be unsound, so fail loudly
                // rather than hand out other points' runs.
                Ok((_, got)) => {
                    outcome = Some(Err(SimError::Internal {
                        layer: layer.into(),
                        reason: format!(
                            "the layer assigned GLB banks for tiles {got:?}, not its \
                             plan's {tiles:?}: the sweep's reuse of simulations is unsound"
                        ),
                    }));
                    None
                }
                Err(e) => {
                    outcome = Some(Err(e));
                    None
                }
            }
        });
        if let Some(result) = outcome {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return result;
        }
        match stored {
            Some(r) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Ok(r.clone())
            }
            // An earlier run of this cell failed: fail the same way.
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                run.take().expect("this caller did not run it")().map(|(r, _)| r)
            }
        }
    }

    /// The data generated for `prob` from `seed`, and its reference ofmap
    /// at `product_shift`, shared while the memo's budget for data lasts
    /// ([`DATA_BUDGET`] unless set), and made afresh after that.
    pub(crate) fn data(
        &self,
        prob: &ConvProblem,
        seed: u64,
        product_shift: u32,
    ) -> DataAndReference {
        let key = format!("{prob:?}\nseed {seed} shift {product_shift}");
        if let Some(d) = self.lock_data().get(&key) {
            return d.clone();
        }
        let made = Arc::new(crate::data::generate_with_reference(
            prob,
            seed,
            product_shift,
        ));
        let bytes = 2 * (made.0.ifmap.len() + made.0.weights.len() + made.1.len()) as u64;
        let mut cache = self.lock_data();
        if let Some(d) = cache.get(&key) {
            // Another worker made it meanwhile: the same values.
            return d.clone();
        }
        if self.data_bytes.load(Ordering::Relaxed) + bytes <= self.data_budget {
            self.data_bytes.fetch_add(bytes, Ordering::Relaxed);
            cache.insert(key, made.clone());
        }
        made
    }

    fn lock_data(&self) -> std::sync::MutexGuard<'_, HashMap<String, DataAndReference>> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Bytes of generated data and reference ofmaps a memo keeps. AlexNet's
/// PE-array layers at batch 4 take about 130 MiB, VGG-16's at batch 3
/// about 440 MiB: the layers past the budget are generated afresh at
/// every point, so a sweep's memory stays bounded.
pub(crate) const DATA_BUDGET: u64 = 256 << 20;

/// `hw` as the simulator reads it: the name, the GLB's total size, the
/// filter spad's capacity and the energy costs are cleared. The simulator
/// reads the GLB's banks and bank size (derived from the total size by the
/// validator, so they stay in the view), and a mapping's own `p·q·S` for
/// the filter spad; the capacity is the mapper's bound, which the caller
/// checks before asking the memo.
pub fn simulator_view(hw: &HwConfig) -> HwConfig {
    let mut v = hw.clone();
    v.name.clear();
    v.glb.size_kib = 0;
    v.pe.filter_spad_words = 0;
    let e = &mut v.energy;
    (e.mac, e.rf, e.noc, e.glb, e.dram) = (0.0, 0.0, 0.0, 0.0, 0.0);
    v
}

/// The memo key of a layer simulation: its problem, data seed, check flag,
/// mapping and [`simulator_view`] without the bank size, as text.
pub(crate) fn key(
    prob: &ConvProblem,
    mapping: &crate::mapping::RowStationaryMapping,
    hw: &HwConfig,
    seed: u64,
    check: bool,
) -> String {
    let mut view = simulator_view(hw);
    // The bank size is compared through the bank counts it gives
    // ([`LayerMemo::get_or_run`]).
    view.glb.bank_words = 0;
    let view = serde_json::to_string(&view).expect("HwConfig serializes");
    format!("{prob:?}\n{mapping:?}\nseed {seed} check {check}\n{view}")
}

#[cfg(test)]
#[path = "memo_tests.rs"]
mod tests;
