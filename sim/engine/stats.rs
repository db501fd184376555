//! Per-component statistics of one simulated layer.

use serde::Serialize;
use std::ops::AddAssign;

/// Activity of one network (GIN, GON or the local psum links) or the DRAM link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    /// Cycles the link was transferring.
    pub busy_cycles: u64,
    /// Cycles a ready transfer waited: on destination FIFOs (flow control),
    /// on the link itself or on a GLB bank.
    pub stall_cycles: u64,
    /// Words sent (one per GLB read, or per PE for the local links).
    pub sends: u64,
    /// Words delivered into PEs or the GLB; `deliveries / sends` is the
    /// average multicast fan-out.
    pub deliveries: u64,
}

impl LinkStats {
    /// Average number of destinations per word sent.
    pub fn fan_out(&self) -> f64 {
        if self.sends == 0 {
            0.0
        } else {
            self.deliveries as f64 / self.sends as f64
        }
    }
}

impl AddAssign for LinkStats {
    fn add_assign(&mut self, o: Self) {
        self.busy_cycles += o.busy_cycles;
        self.stall_cycles += o.stall_cycles;
        self.sends += o.sends;
        self.deliveries += o.deliveries;
    }
}

/// Global buffer bank activity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GlbStats {
    /// Busy port cycles of each feature-map bank (by bank index).
    pub bank_busy_cycles: Vec<u64>,
    /// Cycles transfers waited for a bank that another transfer held.
    pub conflict_stall_cycles: u64,
    /// Most banks assigned to ifmaps in any tile.
    pub ifmap_banks: u32,
    /// Most banks assigned to psums in any tile.
    pub psum_banks: u32,
}

/// Off-chip link activity, in core cycles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DramStats {
    /// Core cycles the link was transferring (async crossing included).
    pub busy_cycles: u64,
    /// Of those, cycles during which no processing happened (`cycles - processing_cycles`).
    pub serialized_cycles: u64,
    /// Words (of `pe.word_bits`) read, as stored (RLC-coded where applicable).
    pub read_words: u64,
    /// Words written.
    pub write_words: u64,
    /// Bursts (tile loads, filter loads, write-backs).
    pub transfers: u64,
}

/// PE array activity summed over PEs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PeStats {
    /// PE-cycles spent on taps.
    pub busy_cycles: u64,
    /// PE-cycles an active PE of a pass spent waiting (data, psum chain, flow control).
    pub stall_cycles: u64,
    /// `busy_cycles / (active_pes · processing_cycles)`.
    pub utilization: f64,
}

/// Statistics of every component for one layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ComponentStats {
    /// Ifmap global input network.
    pub ifmap_gin: LinkStats,
    /// Filter global input network.
    pub filter_gin: LinkStats,
    /// Psum global input network.
    pub psum_gin: LinkStats,
    /// Global output network.
    pub gon: LinkStats,
    /// Vertical PE-to-PE psum links.
    pub local_links: LinkStats,
    /// Global buffer banks.
    pub glb: GlbStats,
    /// DRAM link.
    pub dram: DramStats,
    /// PE array.
    pub pe: PeStats,
    /// Processing passes executed.
    pub passes: u64,
    /// Events the kernel processed.
    pub events: u64,
}
