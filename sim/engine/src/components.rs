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
    /// Words delivered into PE FIFOs (ifmap and psum) that no PE used by
    /// the end of their pass. Zero unless a transfer was faulty.
    pub leftover_words: u64,
    /// Words a PE needed from a FIFO that was empty (it used a stale spad
    /// value or zero instead). Zero unless a transfer was faulty.
    pub starved_words: u64,
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
    /// Events the kernel processed: the simulator's own work, which
    /// depends on timing reuse and on the threads (no output file holds it).
    pub events: u64,
    /// Passes whose timing came from an identical pass timed before
    /// (docs/engine.md, "Timing reuse"); their data moved all the same.
    /// The simulator's own work, like `events`.
    pub replayed_passes: u64,
}

impl ComponentStats {
    /// Adds what passes accumulate: the links, the PE array's cycles and
    /// words, passes and events. The GLB's and DRAM's statistics and the
    /// utilization are the controller's, set once per layer.
    pub(crate) fn add_passes(&mut self, o: &ComponentStats) {
        self.ifmap_gin += o.ifmap_gin;
        self.filter_gin += o.filter_gin;
        self.psum_gin += o.psum_gin;
        self.gon += o.gon;
        self.local_links += o.local_links;
        self.pe.busy_cycles += o.pe.busy_cycles;
        self.pe.stall_cycles += o.pe.stall_cycles;
        self.pe.leftover_words += o.pe.leftover_words;
        self.pe.starved_words += o.pe.starved_words;
        self.passes += o.passes;
        self.events += o.events;
        self.replayed_passes += o.replayed_passes;
    }
}

/// Bytes of `components.csv`: one row per (layer, unit) with busy and stall
/// cycles, words sent and delivered and the multicast fan-out. Unit
/// `dram`: stall = serialized cycles, sends = words read, deliveries =
/// words written. `glb_banks`: busy port cycles over all banks, stall =
/// bank-conflict cycles. `pe_array`: PE-cycles, and the utilization as
/// `fan_out`.
pub fn components_csv(layers: &[(&str, &ComponentStats)]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "layer",
        "unit",
        "busy_cycles",
        "stall_cycles",
        "sends",
        "deliveries",
        "fan_out",
    ];
    // Writing to a Vec cannot fail.
    w.write_record(header).expect("in-memory CSV");
    for (layer, s) in layers {
        let links = [
            ("ifmap_gin", s.ifmap_gin),
            ("filter_gin", s.filter_gin),
            ("psum_gin", s.psum_gin),
            ("gon", s.gon),
            ("local_links", s.local_links),
        ];
        for (unit, l) in links {
            w.write_record([
                layer.to_string(),
                unit.into(),
                l.busy_cycles.to_string(),
                l.stall_cycles.to_string(),
                l.sends.to_string(),
                l.deliveries.to_string(),
                format!("{:.4}", l.fan_out()),
            ])
            .expect("in-memory CSV");
        }
        let d = s.dram;
        w.write_record([
            layer.to_string(),
            "dram".into(),
            d.busy_cycles.to_string(),
            d.serialized_cycles.to_string(),
            d.read_words.to_string(),
            d.write_words.to_string(),
            String::new(),
        ])
        .expect("in-memory CSV");
        let busy: u64 = s.glb.bank_busy_cycles.iter().sum();
        w.write_record([
            layer.to_string(),
            "glb_banks".into(),
            busy.to_string(),
            s.glb.conflict_stall_cycles.to_string(),
            String::new(),
            String::new(),
            String::new(),
        ])
        .expect("in-memory CSV");
        w.write_record([
            layer.to_string(),
            "pe_array".into(),
            s.pe.busy_cycles.to_string(),
            s.pe.stall_cycles.to_string(),
            String::new(),
            String::new(),
            format!("{:.4}", s.pe.utilization),
        ])
        .expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}
