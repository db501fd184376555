//! Runs both models on the same layers under the same mappings: the
//! analytic model maps and estimates every layer, then the simulator
//! executes the very mappings the analytic model chose.

use crate::analytic::{estimate_network, estimate_network_cached, AnalyticError, EstimateOptions};
use crate::engine::{simulate_network_with, LayerMemo, LayerSim, NetworkOptions, SimError};
use crate::hw::HwConfig;
use crate::mapping::RowStationaryMapping;
use crate::mapping::SearchCache;
use crate::stats::LayerResult;
use crate::workload::{LayerWork, Network};
use std::path::PathBuf;
use std::sync::Arc;

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct BothOptions {
    /// Mapper objective, pinned mappings, batch override.
    pub estimate: EstimateOptions,
    /// Indices of the layers to simulate and compare (all when empty).
    pub layers: Vec<usize>,
    /// Data seed of the simulation.
    pub seed: u64,
    /// Real data (`DIR/<layer>.*.npy`) instead of generated data.
    pub weights: Option<PathBuf>,
    /// Worker threads (0 = all cores); results never depend on it.
    pub threads: usize,
    /// Bytes the simulation may use at once (None: no limit).
    pub max_memory: Option<u64>,
    /// Stops the simulation between layers once raised.
    pub cancel: crate::cancel::Cancel,
    /// Scored mapping candidates shared with other runs (a sweep's points).
    pub search: Option<Arc<SearchCache>>,
    /// Layer simulations shared with other runs (a sweep's points); see
    /// [`NetworkOptions::memo`]: simulated ofmaps are then empty.
    pub memo: Option<Arc<LayerMemo>>,
    /// Simulate every pass in time ([`NetworkOptions::time_every_pass`]).
    pub time_every_pass: bool,
}

/// The outputs of both models for the selected layers, in network order.
#[derive(Debug, Clone)]
pub struct BothResults {
    /// The network actually evaluated (with the batch override applied).
    pub network: Network,
    /// Analytic rows of the selected layers.
    pub analytic: Vec<LayerResult>,
    /// Simulated layers, with every component statistic.
    pub simulated: Vec<LayerSim>,
}

impl BothResults {
    /// Simulated rows, in the same order as [`BothResults::analytic`].
    pub fn simulated_rows(&self) -> Vec<LayerResult> {
        self.simulated.iter().map(|s| s.row.clone()).collect()
    }

    /// Whether a layer's data is dense, so that both models must agree exactly.
    pub fn is_dense(&self, layer: &str) -> bool {
        let Some(l) = self.network.layer(layer) else {
            return false;
        };
        match LayerWork::of(l, self.network.batch) {
            LayerWork::Array(p) => {
                p.weight_density == 1.0
                    && p.ifmap_zero_fraction == 0.0
                    && p.ofmap_zero_fraction == 0.0
            }
            _ => l.sparsity.ifmap_zero_fraction == 0.0 && l.sparsity.ofmap_zero_fraction == 0.0,
        }
    }
}

/// Why the two models could not both run.
#[derive(Debug, thiserror::Error)]
pub enum BothError {
    /// The analytic model (or the mapper) failed.
    #[error(transparent)]
    Analytic(#[from] AnalyticError),
    /// The simulator failed, e.g. an ofmap differed from the reference.
    #[error(transparent)]
    Simulation(#[from] SimError),
}

/// Estimates every layer, then simulates the selected ones with the
/// analytic model's mappings. `on_simulated(layer index)` is called as each
/// layer's simulation finishes.
pub fn run_both(
    net: &Network,
    hw: &HwConfig,
    opts: &BothOptions,
    on_simulated: &(dyn Fn(usize) + Sync),
) -> Result<BothResults, BothError> {
    let mut network = net.clone();
    if let Some(b) = opts.estimate.batch {
        network.batch = b;
    }
    let analytic = match &opts.search {
        Some(cache) => estimate_network_cached(&network, hw, &opts.estimate, cache)?,
        None => estimate_network(&network, hw, &opts.estimate)?,
    };
    let mappings: Vec<Option<RowStationaryMapping>> = analytic.iter().map(|r| r.mapping).collect();
    let layers: Vec<usize> = if opts.layers.is_empty() {
        (0..network.layers.len()).collect()
    } else {
        opts.layers.clone()
    };
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    };
    let sim_opts = NetworkOptions {
        layers: layers.clone(),
        seed: opts.seed,
        weights: opts.weights.clone().map(crate::io::npy_source),
        threads,
        trace: false,
        check: true,
        fault: None,
        max_memory: opts.max_memory,
        cancel: opts.cancel.clone(),
        memo: opts.memo.clone(),
        time_every_pass: opts.time_every_pass,
    };
    let simulated = simulate_network_with(&network, hw, &mappings, &sim_opts, on_simulated)?;
    let analytic = layers.iter().map(|&i| analytic[i].clone()).collect();
    Ok(BothResults {
        network,
        analytic,
        simulated,
    })
}
