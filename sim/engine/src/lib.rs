//! The cycle-level discrete-event simulator.
//!
//! [`simulate_layer`] executes one layer's [`RowStationaryMapping`] on a
//! modelled chip with real data: the top controller walks the loop nest of
//! `docs/dataflow.md`, the DRAM link RLC-codes feature maps, the GLB holds
//! real tiles, the GINs multicast words under FIFO flow control, PEs run
//! the MACs, psums climb the chains and leave on the GON. Every access is
//! counted where it happens, and the ofmap is checked bit for bit against
//! the reference convolution. The simulator does no I/O.
//!
//! It depends on the core crate only: it never calls the analytic model,
//! and the analytic model never calls it (ARCHITECTURE.md).
#![warn(missing_docs)]

use eyesim_core::{cancel, data, hw, mapping, stats, workload};

mod columns;
mod components;
mod controller;
mod datapath;
mod dram;
mod eltwise;
pub mod fault;
mod fifo;
mod fill;
mod glb;
mod kernel;
mod memo;
mod memory;
mod network;
mod pass;
mod pe;
mod plan;
mod reduce;
mod segments;
mod steps;
mod tags;
mod trace;

pub use components::{components_csv, ComponentStats, DramStats, GlbStats, LinkStats, PeStats};
pub use eltwise::{simulate_eltwise, EltwiseLayer};
pub use fault::{Fault, FaultKind, FaultReport, FaultSite};
pub use memo::{simulator_view, LayerMemo};
pub use memory::{human_bytes, memory_need, MemoryNeed};
pub use network::{layer_seed, simulate_network, simulate_network_with, LayerSim, NetworkOptions};
pub use reduce::{simulate_global_pool, GlobalPoolLayer};
pub use trace::{chrome_trace, span_bound, write_chrome_trace, TraceSpan, Track, BYTES_PER_SPAN};

use crate::data::LayerData;
use crate::hw::HwConfig;
use crate::mapping::{Geometry, RowStationaryMapping};
use crate::stats::LevelCounts;
use crate::workload::ConvProblem;

/// Options of one simulation.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Layer name used in error messages.
    pub layer: String,
    /// Record busy spans for an event trace.
    pub trace: bool,
    /// Compare the ofmap with the reference convolution (on by default).
    pub check: bool,
    /// A fault to inject into one transfer.
    pub fault: Option<Fault>,
    /// Threads the layer's psum tiles may run ahead on (1: in order).
    /// Results do not depend on it, except the simulator's own work
    /// (`ComponentStats::events` and `replayed_passes`).
    pub threads: usize,
    /// Simulate every pass in time, even one whose timing an identical
    /// pass of the layer already gave (docs/engine.md, "Timing reuse").
    /// Results do not depend on it, except the simulator's own work.
    pub time_every_pass: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            layer: "layer".into(),
            trace: false,
            check: true,
            fault: None,
            threads: 1,
            time_every_pass: false,
        }
    }
}

/// What the simulation of one layer measured.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResult {
    /// Every access and MAC, counted event by event.
    pub counts: LevelCounts,
    /// Core cycles with DRAM transfers serialized as on the chip.
    pub cycles: u64,
    /// Core cycles of the same run with DRAM time hidden.
    pub processing_cycles: u64,
    /// PEs that ran at least one tap, performed or gated: the PEs the
    /// chip clocks (its "active PEs"), measured.
    pub active_pes: u32,
    /// PEs that performed at least one MAC (or pooling tap). Fewer than
    /// `active_pes` when some PEs only ever see padding or zeros (AlexNet
    /// CONV3: the 2 PEs per set whose filter row reads a padding row).
    pub mac_pes: u32,
    /// Per-component activity.
    pub stats: ComponentStats,
    /// Busy spans, when [`SimOptions::trace`] was set.
    pub trace: Option<Vec<TraceSpan>>,
    /// The ofmap as written to DRAM, `[N][G·M][E][F]`, after the RLC round trip.
    pub ofmap: Vec<i16>,
    /// What became of [`SimOptions::fault`].
    pub fault: FaultReport,
}

impl SimResult {
    /// The result of a layer that does no work and only passes `ofmap` on
    /// (a Concat, which is DRAM addressing).
    pub fn passthrough(ofmap: Vec<i16>) -> SimResult {
        SimResult {
            counts: LevelCounts::default(),
            cycles: 0,
            processing_cycles: 0,
            active_pes: 0,
            mac_pes: 0,
            stats: ComponentStats::default(),
            trace: None,
            ofmap,
            fault: FaultReport::default(),
        }
    }
}

/// Why a simulation failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The run was cancelled before this layer started.
    #[error(transparent)]
    Cancelled(#[from] crate::cancel::Cancelled),
    /// The mapping does not fit the problem or the hardware.
    #[error("layer {layer}: mapping {mapping} cannot run: {reason}")]
    IllegalMapping {
        /// Layer name.
        layer: String,
        /// The mapping.
        mapping: String,
        /// The violated limit.
        reason: String,
    },
    /// The operand tensors do not have the problem's shapes.
    #[error("layer {layer}: {reason}")]
    BadData {
        /// Layer name.
        layer: String,
        /// What does not match.
        reason: String,
    },
    /// The simulated ofmap differs from the reference convolution.
    #[error(
        "layer {layer}: simulated ofmap differs from the reference at image {image}, \
         channel {channel}, row {row}, column {col}: simulated {got}, reference {want}"
    )]
    Mismatch {
        /// Layer name.
        layer: String,
        /// Image.
        image: u32,
        /// Output channel (over all groups).
        channel: u32,
        /// Ofmap row.
        row: u32,
        /// Ofmap column.
        col: u32,
        /// Simulated value.
        got: i16,
        /// Reference value.
        want: i16,
    },
    /// Data that cannot be right reached a component (for example an RLC
    /// stream that does not decode, after an injected fault).
    #[error("layer {layer}: corrupted data: {reason}")]
    Corrupted {
        /// Layer name.
        layer: String,
        /// What was found.
        reason: String,
    },
    /// The simulation would need more memory than it may use.
    #[error(
        "layer {layer}: simulating it needs about {need} ({detail}), over the {limit} limit \
         (--max-memory, or the memory this machine has free); use a smaller --batch, or \
         simulate fewer layers at once (--layers, --threads 1)"
    )]
    TooLarge {
        /// Layer name.
        layer: String,
        /// What it needs, e.g. `31.2 GiB`.
        need: String,
        /// The parts, e.g. `ifmap 12.0 GiB, weights …`.
        detail: String,
        /// The limit, e.g. `22.9 GiB`.
        limit: String,
    },
    /// An internal inconsistency (a simulator bug).
    #[error("layer {layer}: simulator failure: {reason}")]
    Internal {
        /// Layer name.
        layer: String,
        /// What went wrong.
        reason: String,
    },
}

/// Simulates one layer on real data and checks its ofmap against
/// `data::reference` (unless `opts.check` is off).
///
/// ```
/// use eyesim_core::{data, fixtures, mapping};
/// let hw = fixtures::eyeriss_v1();
/// // A small 3x3 convolution: 8 channels, 16 filters, 8x8 ifmap, padding 1.
/// let prob = fixtures::conv(1, 1, 8, 16, 8, 3, 1, 1);
/// let map = mapping::smallest(&prob, &hw);
/// let layer_data = data::generate(&prob, 1);
/// let sim = eyesim_engine::simulate_layer(&prob, &map, &hw, &layer_data, &Default::default())?;
/// assert_eq!(sim.counts.macs.algorithmic, prob.macs()); // every ofmap value checked bit for bit
/// # Ok::<(), eyesim_engine::SimError>(())
/// ```
pub fn simulate_layer(
    prob: &ConvProblem,
    mapping: &RowStationaryMapping,
    hw: &HwConfig,
    data: &LayerData,
    opts: &SimOptions,
) -> Result<SimResult, SimError> {
    // The reference needs data of the layer's shape: check it first (the
    // run checks it again, a few length comparisons).
    check_data(prob, data, &opts.layer)?;
    let reference = opts
        .check
        .then(|| crate::data::reference(prob, data, hw.pe.product_shift));
    simulate_recorded(prob, mapping, hw, data, reference.as_deref(), opts).map(|(r, _)| r)
}

/// [`simulate_layer`] with the reference ofmap supplied by the caller (for
/// example from `data::generate_with_reference`, which computes it anyway).
pub fn simulate_layer_against(
    prob: &ConvProblem,
    mapping: &RowStationaryMapping,
    hw: &HwConfig,
    data: &LayerData,
    reference: &[i16],
    opts: &SimOptions,
) -> Result<SimResult, SimError> {
    simulate_recorded(prob, mapping, hw, data, Some(reference), opts).map(|(r, _)| r)
}

pub(crate) fn check_data(
    prob: &ConvProblem,
    data: &LayerData,
    layer: &str,
) -> Result<(), SimError> {
    data.check(prob).map_err(|e| SimError::BadData {
        layer: layer.into(),
        reason: e.to_string(),
    })
}

/// [`simulate_layer_against`] (or, without a reference, unchecked), with
/// the GLB tiles the layer assigned banks for (the memo's use).
pub(crate) fn simulate_recorded(
    prob: &ConvProblem,
    mapping: &RowStationaryMapping,
    hw: &HwConfig,
    data: &LayerData,
    reference: Option<&[i16]>,
    opts: &SimOptions,
) -> Result<memo::Recorded, SimError> {
    check_data(prob, data, &opts.layer)?;
    let layer = || opts.layer.clone();
    check_executable(prob, mapping, hw, &opts.layer)?;
    let ops = datapath::Operands {
        ifmap: &data.ifmap,
        weights: &data.weights,
        bias: &data.bias,
    };
    let inject = fault::Injector::new(opts.fault);
    let out = columns::run(
        prob,
        mapping,
        hw,
        ops,
        opts.trace,
        inject,
        segments::Ahead {
            reuse: !opts.time_every_pass,
            ..segments::Ahead::on(opts.threads)
        },
    )
    .map_err(|e| match e {
        controller::RunError::Corrupted(reason) => SimError::Corrupted {
            layer: layer(),
            reason,
        },
        controller::RunError::Internal(reason) => SimError::Internal {
            layer: layer(),
            reason,
        },
    })?;
    if let Some(want) = reference {
        check_ofmap(prob, &out.ofmap, want, &opts.layer)?;
    }
    let trace = out.trace.map(|mut r| {
        trace::merge_spans(&mut r.spans);
        r.spans
    });
    let result = SimResult {
        counts: out.counts,
        cycles: out.cycles,
        processing_cycles: out.processing_cycles,
        active_pes: out.active_pes,
        mac_pes: out.mac_pes,
        stats: out.stats,
        trace,
        ofmap: out.ofmap,
        fault: out.inject.report(),
    };
    Ok((result, out.glb_tiles))
}

/// [`executable`] as a [`SimError`] of layer `layer`.
pub(crate) fn check_executable(
    prob: &ConvProblem,
    mapping: &RowStationaryMapping,
    hw: &HwConfig,
    layer: &str,
) -> Result<(), SimError> {
    executable(prob, mapping, hw).map_err(|reason| SimError::IllegalMapping {
        layer: layer.into(),
        mapping: mapping.summary(),
        reason,
    })
}

/// The limits the simulator itself relies on (the mapper's legality check
/// adds the GLB capacity, which the simulator does not need).
fn executable(prob: &ConvProblem, m: &RowStationaryMapping, hw: &HwConfig) -> Result<(), String> {
    let fields = [m.e, m.r, m.t, m.g, m.p, m.q, m.n, m.m, m.fr, m.fs, m.fw];
    if fields.contains(&0) {
        return Err("every mapping field must be at least 1".into());
    }
    if m.fw > 1 {
        // Each column tile runs as a layer of its own.
        let Some(tiles) = prob.column_tiles(m.fw) else {
            return Err(format!(
                "fw = {} column tiles of F = {} columns leave a tile with no input column",
                m.fw, prob.f
            ));
        };
        let base = m.untiled();
        return tiles
            .iter()
            .try_for_each(|t| executable(&t.prob, &base, hw));
    }
    if m.fr > prob.r || m.fs > prob.s {
        return Err(format!(
            "fr = {} folds of R = {} rows or fs = {} segments of S = {} taps is too many",
            m.fr, prob.r, m.fs, prob.s
        ));
    }
    let Some(geo) = Geometry::new(m, prob, &hw.array) else {
        return Err(format!(
            "a set of {} filter rows x {} columns does not fit the {}x{} array",
            prob.r.div_ceil(m.fr),
            m.e,
            hw.array.rows,
            hw.array.cols
        ));
    };
    // The widest segment of a filter row is what a PE's spads hold.
    let s = prob.s.div_ceil(m.fs);
    let checks = [
        (m.e <= prob.e, format!("e = {} > E = {}", m.e, prob.e)),
        (m.n <= prob.n, format!("n = {} > N = {}", m.n, prob.n)),
        (m.m <= prob.m, format!("m = {} > M = {}", m.m, prob.m)),
        (m.g <= prob.g, format!("g = {} > G = {}", m.g, prob.g)),
        (
            m.r * m.t * m.g <= geo.capacity(),
            format!(
                "r·t·g = {} > {} set copies",
                m.r * m.t * m.g,
                geo.capacity()
            ),
        ),
        (
            m.q * s <= hw.pe.ifmap_spad_words,
            format!("q·S = {} > ifmap spad {}", m.q * s, hw.pe.ifmap_spad_words),
        ),
        (
            m.p <= hw.pe.psum_spad_words,
            format!("p = {} > psum spad {}", m.p, hw.pe.psum_spad_words),
        ),
        (
            !prob.op.has_weights() || m.p * m.q * s <= hw.pe.filter_spad_words,
            format!(
                "p·q·S = {} > filter spad {}",
                m.p * m.q * s,
                hw.pe.filter_spad_words
            ),
        ),
    ];
    match checks.into_iter().find(|(ok, _)| !ok) {
        Some((_, why)) => Err(why),
        None => Ok(()),
    }
}

/// First position where `got` and `want` differ, as a [`SimError::Mismatch`].
fn check_ofmap(prob: &ConvProblem, got: &[i16], want: &[i16], layer: &str) -> Result<(), SimError> {
    let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) else {
        if got.len() == want.len() {
            return Ok(());
        }
        return Err(SimError::Internal {
            layer: layer.into(),
            reason: format!("ofmap has {} values, reference {}", got.len(), want.len()),
        });
    };
    let (e, f) = (prob.e as usize, prob.f as usize);
    let plane = i / (e * f);
    let channels = (prob.g * prob.m) as usize;
    Err(SimError::Mismatch {
        layer: layer.into(),
        image: (plane / channels) as u32,
        channel: (plane % channels) as u32,
        row: ((i / f) % e) as u32,
        col: (i % f) as u32,
        got: got[i],
        want: want[i],
    })
}

#[cfg(test)]
pub(crate) mod tests;
