//! One evaluated layer: the row both models emit and every CSV is made of.

use super::{Energy, LevelCounts};
use crate::mapping::RowStationaryMapping;
use serde::{Deserialize, Serialize};

/// The outcome of evaluating one layer, analytically or by simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerResult {
    /// Network name.
    pub network: String,
    /// Layer name.
    pub layer: String,
    /// Layer kind (`conv`, `fc`, `maxpool`, ...).
    pub kind: String,
    /// The mapping used; `None` for layers that do not use the PE array.
    pub mapping: Option<RowStationaryMapping>,
    /// PEs in the mapping's footprint.
    pub active_pes: u32,
    /// Weights of the layer (all groups).
    pub weights: u64,
    /// Accesses and MACs for the whole batch.
    pub counts: LevelCounts,
    /// Energy of `counts`, in the hwconfig's unit.
    pub energy: Energy,
    /// Core cycles with DRAM transfers serialized as on the chip.
    pub cycles: u64,
    /// Core cycles with all DRAM time hidden ("processing latency").
    pub processing_cycles: u64,
}
