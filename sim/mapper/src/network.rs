//! Whole networks: map and estimate every layer, in parallel, in order.

use crate::hw::HwConfig;
use crate::stats::LayerResult;
use crate::workload::{Layer, LayerWork, Network};
use crate::{Objective, SearchCache};
use eyesim_analytic::{
    estimate_eltwise, estimate_global_pool, evaluate, model::LayerModel, LayerEstimate,
};
use eyesim_core::mapping::{MapError, MappingSet, RowStationaryMapping};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use thiserror::Error;

/// Options of [`estimate_network`].
#[derive(Debug, Clone, Default)]
pub struct EstimateOptions {
    /// What the mapper minimizes.
    pub objective: Objective,
    /// Mappings pinned by the user; other layers are searched.
    pub pinned: MappingSet,
    /// Images per batch, overriding the network's.
    pub batch: Option<u32>,
    /// Worker threads (0 = all available cores). Results never depend on it.
    pub threads: usize,
}

/// Why a network could not be estimated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AnalyticError {
    /// No legal mapping exists for a layer.
    #[error("layer `{layer}`: no legal mapping: {limit}")]
    NoMapping {
        /// Layer name.
        layer: String,
        /// The limit that even the smallest mapping violates.
        limit: MapError,
    },
    /// A pinned mapping is illegal.
    #[error("layer `{layer}`: pinned mapping {mapping} is illegal: {limit}")]
    BadPinned {
        /// Layer name.
        layer: String,
        /// The pinned mapping (boxed: it would make every result of
        /// this error type large).
        mapping: Box<RowStationaryMapping>,
        /// The violated limit.
        limit: MapError,
    },
    /// The mapping set names a layer the network does not have, or one that does not use the PE array.
    #[error("mapping set names layer `{layer}`, which {why}")]
    UnknownPinned {
        /// Layer name in the mapping set.
        layer: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A batch of zero images.
    #[error("batch must be at least 1")]
    ZeroBatch,
}

/// Maps (or takes the pinned mapping of) and estimates every layer of `net`
/// on `hw`. Layers are independent and run on worker threads; the result
/// order is the network's layer order whatever the thread count.
///
/// ```
/// let net = eyesim_core::workload::builtin("alexnet").unwrap();
/// let hw = eyesim_core::fixtures::eyeriss_v1();
/// let rows = eyesim_mapper::estimate_network(&net, &hw, &Default::default())?;
/// let pes: Vec<u32> = rows.iter().filter(|r| r.layer.starts_with("conv")).map(|r| r.active_pes).collect();
/// assert_eq!(pes, [154, 135, 156, 156, 156]); // as the fabricated chip (JSSC 2017)
/// # Ok::<(), eyesim_mapper::AnalyticError>(())
/// ```
pub fn estimate_network(
    net: &Network,
    hw: &HwConfig,
    opts: &EstimateOptions,
) -> Result<Vec<LayerResult>, AnalyticError> {
    estimate_network_with(net, hw, opts, None)
}

/// [`estimate_network`], searching through `cache` (for sweeps: the
/// results are the same, the search is shared across hwconfigs).
pub fn estimate_network_cached(
    net: &Network,
    hw: &HwConfig,
    opts: &EstimateOptions,
    cache: &SearchCache,
) -> Result<Vec<LayerResult>, AnalyticError> {
    estimate_network_with(net, hw, opts, Some(cache))
}

fn estimate_network_with(
    net: &Network,
    hw: &HwConfig,
    opts: &EstimateOptions,
    cache: Option<&SearchCache>,
) -> Result<Vec<LayerResult>, AnalyticError> {
    let batch = opts.batch.unwrap_or(net.batch);
    if batch == 0 {
        return Err(AnalyticError::ZeroBatch);
    }
    check_pinned_names(net, &opts.pinned)?;
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    }
    .clamp(1, net.layers.len().max(1));
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<LayerResult, AnalyticError>>>> =
        Mutex::new(vec![None; net.layers.len()]);
    crossbeam::scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(layer) = net.layers.get(i) else {
                    break;
                };
                let r = estimate_one(net, layer, batch, hw, opts, cache);
                slots
                    .lock()
                    .expect("no worker panics while holding the lock")[i] = Some(r);
            });
        }
    })
    .expect("estimate workers do not panic");
    let slots = slots.into_inner().expect("no worker panicked");
    slots
        .into_iter()
        .map(|r| r.expect("every layer was evaluated"))
        .collect()
}

/// Maps (or takes the pinned mapping of) and estimates only layer `index`
/// of `net`, exactly as [`estimate_network`] would: for planners that change
/// one layer at a time and must not re-estimate the rest.
///
/// # Panics
/// When `index` is not a layer of `net`.
pub fn estimate_network_layer(
    net: &Network,
    index: usize,
    hw: &HwConfig,
    opts: &EstimateOptions,
) -> Result<LayerResult, AnalyticError> {
    let batch = opts.batch.unwrap_or(net.batch);
    if batch == 0 {
        return Err(AnalyticError::ZeroBatch);
    }
    estimate_one(net, &net.layers[index], batch, hw, opts, None)
}

fn check_pinned_names(net: &Network, pinned: &MappingSet) -> Result<(), AnalyticError> {
    for name in pinned.layers() {
        match net.layer(name) {
            None => {
                return Err(AnalyticError::UnknownPinned {
                    layer: name.to_string(),
                    why: "is not in the network",
                })
            }
            Some(l) if !matches!(LayerWork::of(l, 1), LayerWork::Array(_)) => {
                return Err(AnalyticError::UnknownPinned {
                    layer: name.to_string(),
                    why: "does not run on the PE array",
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn estimate_one(
    net: &Network,
    layer: &Layer,
    batch: u32,
    hw: &HwConfig,
    opts: &EstimateOptions,
    cache: Option<&SearchCache>,
) -> Result<LayerResult, AnalyticError> {
    let (mapping, est, weights) = match LayerWork::of(layer, batch) {
        LayerWork::Array(prob) => {
            let mapping = match opts.pinned.get(&layer.name) {
                Some(m) => {
                    eyesim_core::mapping::check(m, &prob, hw).map_err(|limit| {
                        AnalyticError::BadPinned {
                            layer: layer.name.clone(),
                            mapping: Box::new(*m),
                            limit,
                        }
                    })?;
                    *m
                }
                None => match cache {
                    Some(c) => c.search(&prob, hw, opts.objective),
                    None => crate::search(&prob, hw, opts.objective),
                }
                .map_err(|limit| AnalyticError::NoMapping {
                    layer: layer.name.clone(),
                    limit,
                })?,
            };
            let model = LayerModel::with_e_max(&prob, hw, 0);
            (Some(mapping), evaluate(&model, &mapping), prob.weights())
        }
        LayerWork::Eltwise { inputs, .. } => {
            let est = estimate_eltwise(
                inputs,
                layer.output,
                batch,
                &layer.sparsity,
                layer.reads_network_input(),
                hw,
            );
            (None, est, 0)
        }
        LayerWork::GlobalPool {
            batch,
            channels,
            plane,
            ..
        } => {
            let est = estimate_global_pool(
                batch,
                channels,
                plane,
                &layer.sparsity,
                layer.reads_network_input(),
                hw,
            );
            (None, est, 0)
        }
        // Concatenation is addressing; a host layer runs off the accelerator
        // (its own work is reported by `Network::host_work`).
        LayerWork::Free | LayerWork::Host { .. } => (None, LayerEstimate::zero(), 0),
    };
    Ok(LayerResult {
        network: net.name.clone(),
        layer: layer.name.clone(),
        kind: layer.kind.name().to_string(),
        mapping,
        active_pes: est.active_pes,
        weights,
        energy: est.counts.energy(&hw.energy),
        counts: est.counts,
        cycles: est.cycles,
        processing_cycles: est.processing_cycles,
    })
}
