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
use crate::hw::HwConfig;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Layer simulations already run, by everything they read.
#[derive(Default)]
pub struct LayerMemo {
    results: Mutex<HashMap<String, SimResult>>,
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

    /// The result stored under `key`, or `run()`'s, stored when it is Ok.
    /// Two workers that miss the same key at once both run it: the results
    /// are identical, so which one is kept does not matter.
    pub(crate) fn get_or_run(
        &self,
        key: String,
        run: impl FnOnce() -> Result<SimResult, SimError>,
    ) -> Result<SimResult, SimError> {
        if let Some(hit) = self.lock().get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit.clone());
        }
        let fresh = run()?;
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(key, fresh.clone());
        Ok(fresh)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SimResult>> {
        // A worker that panicked left the map consistent (inserts are whole).
        self.results.lock().unwrap_or_else(|e| e.into_inner())
    }
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
    prob: &crate::workload::ConvProblem,
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
