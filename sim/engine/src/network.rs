//! Whole-network simulation: layers are independent (each gets its own
//! seeded data), so workers take layers from a shared counter and results
//! are put back in layer order, identical for any thread count.

use super::eltwise::{simulate_eltwise, EltwiseLayer};
use super::memo::LayerMemo;
use super::reduce::{simulate_global_pool, GlobalPoolLayer};
use super::{simulate_recorded, SimError, SimOptions, SimResult};
use crate::data;
use crate::hw::HwConfig;
use crate::mapping::RowStationaryMapping;
use crate::stats::LayerResult;
use crate::workload::{LayerWork, Network};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

/// What to simulate and how.
#[derive(Debug, Clone, Default)]
pub struct NetworkOptions {
    /// Indices of the layers to simulate (in network order).
    pub layers: Vec<usize>,
    /// Data seed; layer `i` uses a seed derived from it and `i`.
    pub seed: u64,
    /// Take real data from this source (e.g. `.npy` files) instead of
    /// generating it.
    pub weights: Option<Arc<dyn data::LayerDataSource>>,
    /// Worker threads (at least one).
    pub threads: usize,
    /// Record event traces.
    pub trace: bool,
    /// Check every ofmap against the reference.
    pub check: bool,
    /// A fault to inject into every simulated layer.
    pub fault: Option<super::Fault>,
    /// Bytes the simulation may use at once (all worker threads together);
    /// a layer that would need more is refused before anything is allocated.
    pub max_memory: Option<u64>,
    /// Checked before each layer starts; once raised, the run ends with
    /// [`SimError::Cancelled`].
    pub cancel: crate::cancel::Cancel,
    /// Reuse layer simulations of earlier runs that read exactly the same
    /// inputs ([`LayerMemo`]): a sweep shares one across its points. It
    /// applies to PE-array layers on generated data without a trace or a
    /// fault (real data, traces and faults bypass it), and their results
    /// then have an empty `ofmap` (a sweep keeps counts and cycles).
    pub memo: Option<Arc<LayerMemo>>,
    /// Simulate every pass in time ([`SimOptions::time_every_pass`]).
    pub time_every_pass: bool,
}

/// One simulated layer: its CSV row and everything the simulator measured.
#[derive(Debug, Clone)]
pub struct LayerSim {
    /// Index in the network.
    pub index: usize,
    /// The row for layers.csv / accesses.csv.
    pub row: LayerResult,
    /// The full simulation result.
    pub sim: SimResult,
}

/// Whether a memo may answer: the data is generated from the seed (real
/// data is not part of the key), and nothing is traced or injected.
fn memo_applies(opts: &NetworkOptions) -> bool {
    opts.weights.is_none() && !opts.trace && opts.fault.is_none()
}

/// Simulates one PE-array layer on its data: real data from
/// `opts.weights`, or data generated from `seed` with its reference.
fn simulate_array(
    name: &str,
    prob: &crate::workload::ConvProblem,
    mapping: &RowStationaryMapping,
    hw: &HwConfig,
    seed: u64,
    sim_opts: &SimOptions,
    opts: &NetworkOptions,
) -> Result<super::memo::Recorded, SimError> {
    if let Some(source) = &opts.weights {
        let d = source
            .layer_data(name, prob)
            .map_err(|e| SimError::BadData {
                layer: name.to_string(),
                reason: e.to_string(),
            })?;
        // The reference needs data of the layer's shape: check it first.
        super::check_data(prob, &d, name)?;
        let reference = opts
            .check
            .then(|| data::reference(prob, &d, hw.pe.product_shift));
        return simulate_recorded(prob, mapping, hw, &d, reference.as_deref(), sim_opts);
    }
    let shared;
    let fresh;
    let (d, want) = match &opts.memo {
        // Every mapping of the layer reads the same data: make it once.
        Some(memo) => {
            shared = memo.data(prob, seed, hw.pe.product_shift);
            (&shared.0, &shared.1)
        }
        None => {
            fresh = data::generate_with_reference(prob, seed, hw.pe.product_shift);
            (&fresh.0, &fresh.1)
        }
    };
    let reference = opts.check.then_some(want.as_slice());
    simulate_recorded(prob, mapping, hw, d, reference, sim_opts)
}

/// The data seed of layer `index`.
pub fn layer_seed(seed: u64, index: usize) -> u64 {
    seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Simulates the selected layers of `net` at its batch size; `mappings[i]`
/// is layer `i`'s mapping (required for layers that use the PE array).
pub fn simulate_network(
    net: &Network,
    hw: &HwConfig,
    mappings: &[Option<RowStationaryMapping>],
    opts: &NetworkOptions,
) -> Result<Vec<LayerSim>, SimError> {
    simulate_network_with(net, hw, mappings, opts, &|_| {})
}

/// [`simulate_network`], calling `on_done(layer index)` as each layer
/// finishes (from a worker thread, in completion order), e.g. to drive a
/// progress bar.
pub fn simulate_network_with(
    net: &Network,
    hw: &HwConfig,
    mappings: &[Option<RowStationaryMapping>],
    opts: &NetworkOptions,
    on_done: &(dyn Fn(usize) + Sync),
) -> Result<Vec<LayerSim>, SimError> {
    check_memory(net, hw, mappings, opts)?;
    let order = largest_first(net, &opts.layers);
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<LayerSim, SimError>>>> =
        Mutex::new((0..opts.layers.len()).map(|_| None).collect());
    let threads = opts.threads.clamp(1, opts.layers.len().max(1));
    let run = |k: usize| {
        let i = opts.layers[k];
        let r = if opts.cancel.is_cancelled() {
            Err(SimError::Cancelled(crate::cancel::Cancelled))
        } else {
            simulate_one(net, hw, mappings.get(i).copied().flatten(), i, opts)
        };
        on_done(i);
        // Every layer runs; the first error in layer order is reported.
        slots.lock().expect("no worker panicked")[k] = Some(r);
    };
    crossbeam::scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| {
                // Layers whose simulation another worker is running (a
                // memo's): this worker takes the others first, and their
                // results are read when it comes back to them.
                let mut later = Vec::new();
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&k) = order.get(at) else {
                        break;
                    };
                    // The last layer has nothing to take first.
                    let last = at + 1 == order.len();
                    if !last && running_elsewhere(net, hw, mappings, opts.layers[k], opts) {
                        later.push(k);
                    } else {
                        run(k);
                    }
                }
                later.into_iter().for_each(run);
            });
        }
    })
    .expect("simulation workers do not panic");
    slots
        .into_inner()
        .expect("no worker panicked")
        .into_iter()
        .map(|r| r.expect("every selected layer was simulated"))
        .collect()
}

/// Positions of `layers` in the order workers take them: most MACs first,
/// so that the run ends on small layers rather than one core waiting on a
/// large one (results stay in `layers`' order).
fn largest_first(net: &Network, layers: &[usize]) -> Vec<usize> {
    let work = |i: usize| match LayerWork::of(&net.layers[i], net.batch) {
        LayerWork::Array(prob) => prob.macs(),
        _ => 0,
    };
    let mut order: Vec<usize> = (0..layers.len()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(work(layers[k])));
    order
}

/// Whether layer `i`'s simulation is one a memo is running for another
/// worker right now (so asking for it would wait).
fn running_elsewhere(
    net: &Network,
    hw: &HwConfig,
    mappings: &[Option<RowStationaryMapping>],
    i: usize,
    opts: &NetworkOptions,
) -> bool {
    let Some(memo) = opts.memo.as_ref().filter(|_| memo_applies(opts)) else {
        return false;
    };
    let (LayerWork::Array(prob), Some(mapping)) = (
        LayerWork::of(&net.layers[i], net.batch),
        mappings.get(i).copied().flatten(),
    ) else {
        return false;
    };
    let seed = layer_seed(opts.seed, i);
    let key = super::memo::key(&prob, &mapping, hw, seed, opts.check);
    let tiles = super::memo::planned_tiles(&prob, &mapping);
    memo.in_flight(key, &tiles, hw.glb.bank_words)
}

/// Threads a layer's psum tiles run ahead on: all of `--threads` (layers
/// finish at different times; the last ones then have the cores to
/// themselves). A trace or a fault runs in order.
fn ahead_threads(opts: &NetworkOptions) -> usize {
    if opts.trace || opts.fault.is_some() {
        1
    } else {
        opts.threads
    }
}

/// Refuses a run whose largest layer, times the layers simulated at once,
/// exceeds `opts.max_memory`.
fn check_memory(
    net: &Network,
    hw: &HwConfig,
    mappings: &[Option<RowStationaryMapping>],
    opts: &NetworkOptions,
) -> Result<(), SimError> {
    let Some(limit) = opts.max_memory else {
        return Ok(());
    };
    let at_once = opts.threads.clamp(1, opts.layers.len().max(1)) as u64;
    for &i in &opts.layers {
        let layer = &net.layers[i];
        let (LayerWork::Array(prob), Some(m)) = (
            LayerWork::of(layer, net.batch),
            mappings.get(i).copied().flatten(),
        ) else {
            continue;
        };
        let need =
            super::memory_need(&prob, &m, hw, opts.trace).run_ahead(&prob, hw, ahead_threads(opts));
        if need.total().saturating_mul(at_once) > limit {
            let h = super::human_bytes;
            return Err(SimError::TooLarge {
                layer: layer.name.clone(),
                need: h(need.total()),
                detail: format!(
                    "ifmap {}, weights {}, ofmap {}, simulator state {}, trace {}{}",
                    h(need.ifmap),
                    h(need.weights),
                    h(need.ofmap),
                    h(need.state),
                    h(need.trace),
                    if at_once > 1 {
                        format!("; {at_once} layers at once")
                    } else {
                        String::new()
                    }
                ),
                limit: h(limit),
            });
        }
    }
    Ok(())
}

fn simulate_one(
    net: &Network,
    hw: &HwConfig,
    mapping: Option<RowStationaryMapping>,
    i: usize,
    opts: &NetworkOptions,
) -> Result<LayerSim, SimError> {
    let layer = &net.layers[i];
    let seed = layer_seed(opts.seed, i);
    let sim_opts = SimOptions {
        layer: layer.name.clone(),
        trace: opts.trace,
        check: opts.check,
        fault: opts.fault,
        threads: ahead_threads(opts),
        time_every_pass: opts.time_every_pass,
    };
    let (sim, weights) = match LayerWork::of(layer, net.batch) {
        LayerWork::Array(prob) => {
            let mapping = mapping.ok_or_else(|| SimError::IllegalMapping {
                layer: layer.name.clone(),
                mapping: "(none)".into(),
                reason: "no mapping was given for this layer".into(),
            })?;
            let run = || simulate_array(&layer.name, &prob, &mapping, hw, seed, &sim_opts, opts);
            let sim = match &opts.memo {
                Some(memo) if memo_applies(opts) => {
                    // The key leaves out the spad capacity: check it here.
                    super::check_executable(&prob, &mapping, hw, &layer.name)?;
                    let key = super::memo::key(&prob, &mapping, hw, seed, opts.check);
                    let tiles = super::memo::planned_tiles(&prob, &mapping);
                    memo.get_or_run(key, &tiles, &layer.name, hw.glb.bank_words, || {
                        run().map(|(mut s, tiles)| {
                            s.ofmap = Vec::new();
                            (s, tiles)
                        })
                    })?
                }
                _ => run()?.0,
            };
            (sim, prob.weights())
        }
        LayerWork::Eltwise { .. } => {
            let e = EltwiseLayer::of(layer, net.batch).expect("an Add layer");
            (simulate_eltwise(&e, hw, &e.generate(seed), &sim_opts)?, 0)
        }
        LayerWork::GlobalPool { .. } => {
            let g = GlobalPoolLayer::of(layer, net.batch).expect("a global pooling layer");
            (
                simulate_global_pool(&g, hw, &g.generate(seed), &sim_opts)?,
                0,
            )
        }
        // Nothing reaches the accelerator: concatenation is addressing, a
        // host layer is computed off the chip.
        LayerWork::Free | LayerWork::Host { .. } => (SimResult::passthrough(Vec::new()), 0),
    };
    let row = LayerResult {
        network: net.name.clone(),
        layer: layer.name.clone(),
        kind: layer.kind.name().to_string(),
        mapping: matches!(LayerWork::of(layer, net.batch), LayerWork::Array(_))
            .then_some(mapping)
            .flatten(),
        active_pes: sim.active_pes,
        weights,
        counts: sim.counts,
        energy: sim.counts.energy(&hw.energy),
        cycles: sim.cycles,
        processing_cycles: sim.processing_cycles,
    };
    Ok(LayerSim { index: i, row, sim })
}
