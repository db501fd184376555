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
//! simulator sees it ([`simulator_view`]). A field the view leaves out must
//! not change any simulation; the tests change each one and compare.

use super::{SimError, SimResult};
use crate::data::LayerData;
use crate::hw::HwConfig;
use crate::workload::ConvProblem;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// A layer's generated data and its reference ofmap.
pub(crate) type DataAndReference = Arc<(LayerData, Vec<i16>)>;

/// Layer simulations already run, by everything they read, and the
/// generated data they ran on.
#[derive(Default)]
pub struct LayerMemo {
    /// Per key, the result once its first run finished (`None` if it
    /// failed: the next asker runs it again and gets its own error).
    results: Mutex<HashMap<String, Arc<OnceLock<Option<SimResult>>>>>,
    /// Per problem, seed and product shift: the data and reference that
    /// every mapping of that layer reads.
    data: Mutex<HashMap<String, Arc<OnceLock<DataAndReference>>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for LayerMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LayerMemo({} hits, {} runs)", self.hits(), self.misses())
    }
}

impl LayerMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// Layer simulations answered from the memo.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Layer simulations that ran.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The result stored under `key`, or `run()`'s. A worker that asks for
    /// a key another worker is running waits for that run rather than
    /// repeating it, so each key runs once and the counts do not depend on
    /// timing.
    pub(crate) fn get_or_run(
        &self,
        key: String,
        run: impl FnOnce() -> Result<SimResult, SimError>,
    ) -> Result<SimResult, SimError> {
        let cell = slot(&self.results, key);
        let mut run = Some(run);
        let mut error = None;
        let mut ran = false;
        let stored = cell.get_or_init(|| {
            ran = true;
            let run = run.take().expect("the cell runs its initializer once");
            run().map_err(|e| error = Some(e)).ok()
        });
        if let Some(e) = error {
            return Err(e);
        }
        match stored {
            Some(r) if ran => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Ok(r.clone())
            }
            Some(r) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Ok(r.clone())
            }
            // An earlier run of this key failed: fail the same way.
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                run.take().expect("this caller did not run it")()
            }
        }
    }

    /// The data generated for `prob` from `seed`, and its reference ofmap
    /// at `product_shift`, made once and shared.
    pub(crate) fn data(
        &self,
        prob: &ConvProblem,
        seed: u64,
        product_shift: u32,
    ) -> DataAndReference {
        let key = format!("{prob:?}\nseed {seed} shift {product_shift}");
        let cell = slot(&self.data, key);
        cell.get_or_init(|| {
            Arc::new(crate::data::generate_with_reference(
                prob,
                seed,
                product_shift,
            ))
        })
        .clone()
    }
}

/// The cell of `key` in `map`, made empty if it is new.
fn slot<T>(map: &Mutex<HashMap<String, Arc<OnceLock<T>>>>, key: String) -> Arc<OnceLock<T>> {
    // A worker that panicked left the map consistent (inserts are whole).
    let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
    m.entry(key).or_default().clone()
}

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
/// mapping and [`simulator_view`], as text.
pub(crate) fn key(
    prob: &ConvProblem,
    mapping: &crate::mapping::RowStationaryMapping,
    hw: &HwConfig,
    seed: u64,
    check: bool,
) -> String {
    let view = serde_json::to_string(&simulator_view(hw)).expect("HwConfig serializes");
    format!("{prob:?}\n{mapping:?}\nseed {seed} check {check}\n{view}")
}

#[cfg(test)]
#[path = "memo_tests.rs"]
mod tests;
