//! Hardware configurations: the validated [`HwConfig`] of an Eyeriss-like chip.
//!
//! Configs are TOML files (`hwconfigs/*.toml`). They are parsed into a raw
//! form, validated once at the edge, and from then on the rest of eyesim
//! only sees [`HwConfig`], whose invariants (non-zero sizes, consistent
//! banks, known units) always hold.

mod ranges;
mod raw;
mod source;
mod validate;

pub use ranges::{format_number, range_of, KeyRange, RANGES};
pub use raw::{is_integer_key, NUMERIC_KEYS};
pub use source::{builtin, builtin_names, from_toml_str, HwSource};

use serde::{Deserialize, Serialize};

/// The PE array geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayConfig {
    /// PE rows (the vertical psum-accumulation direction).
    pub rows: u32,
    /// PE columns.
    pub cols: u32,
}

/// Per-PE scratchpads and datapath.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeConfig {
    /// Filter scratchpad capacity in words.
    pub filter_spad_words: u32,
    /// Ifmap scratchpad capacity in words.
    pub ifmap_spad_words: u32,
    /// Psum scratchpad capacity in words.
    pub psum_spad_words: u32,
    /// Bits per data word (16 on Eyeriss).
    pub word_bits: u32,
    /// Depth of the MAC pipeline in stages after the spad-access stage.
    pub mac_stages: u32,
    /// Depth of each PE input FIFO in words.
    pub fifo_words: u32,
    /// Right shift applied to the 32-bit product before accumulation in 16 bits.
    pub product_shift: u32,
}

/// The global buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlbConfig {
    /// Total size in KiB (feature-map banks plus the filter part).
    pub size_kib: u32,
    /// Number of feature-map banks; each serves either ifmaps or psums in a layer.
    pub banks: u32,
    /// Words per feature-map bank.
    pub bank_words: u32,
    /// KiB reserved for filters (double-buffered: the next pass preloads).
    pub filter_kib: u32,
    /// Words one bank reads or writes per cycle.
    pub bank_port_words: u32,
}

impl GlbConfig {
    /// Feature-map (ifmap + psum) capacity in words.
    #[inline]
    pub fn fmap_words(&self) -> u64 {
        u64::from(self.banks) * u64::from(self.bank_words)
    }
}

/// The on-chip networks. Widths are in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NocConfig {
    /// Ifmap global input network width.
    pub ifmap_gin_bits: u32,
    /// Filter global input network width.
    pub filter_gin_bits: u32,
    /// Psum global input network width.
    pub psum_gin_bits: u32,
    /// Global output network width.
    pub gon_bits: u32,
    /// Vertical PE-to-PE psum link width.
    pub local_psum_bits: u32,
    /// Whether GINs deliver one read to many PEs in one cycle (row/col tags).
    pub multicast: bool,
}

/// `dram.crossing_cycles` when a config leaves it out: a two-flop
/// synchronizer on the FIFO pointer plus the read (an assumption; JSSC
/// names the async FIFO but not its latency).
pub const DEFAULT_CROSSING_CYCLES: u32 = 3;

/// The off-chip link.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DramConfig {
    /// Bus width in bits.
    pub bus_bits: u32,
    /// Link clock in MHz.
    pub link_mhz: f64,
    /// Core cycles a burst's last word spends crossing the async FIFO from
    /// the link clock into the core clock.
    pub crossing_cycles: u32,
    /// Whether ifmap/ofmap transfers overlap processing (the chip: no).
    pub overlap: bool,
}

/// Core clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClockConfig {
    /// Core clock in MHz.
    pub core_mhz: f64,
}

/// Run-length coding of feature maps in DRAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RlcFormat {
    /// Bits of a zero-run field (5 → runs up to 31).
    pub run_bits: u32,
    /// Bits of a level (non-zero value) field.
    pub level_bits: u32,
    /// Bits of one DRAM word holding packed pairs.
    pub word_bits: u32,
}

impl RlcFormat {
    /// Longest zero run one pair can encode.
    #[inline]
    pub fn max_run(&self) -> u32 {
        (1u32 << self.run_bits) - 1
    }
    /// (run, level) pairs per DRAM word; the rest of the word holds the last-word flag.
    #[inline]
    pub fn pairs_per_word(&self) -> u32 {
        (self.word_bits - 1) / (self.run_bits + self.level_bits)
    }
}

/// Sparsity features of the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SparsityFeatures {
    /// A zero ifmap value gates the filter spad read and the MAC (saves energy only).
    pub zero_gating: bool,
    /// A zero ifmap value is skipped outright (saves the cycle too).
    pub zero_skipping: bool,
    /// Zero weights are neither stored, moved nor read; they take no cycle.
    pub weight_compression: bool,
    /// Feature maps in DRAM are run-length coded, when `Some`.
    pub rlc: Option<RlcFormat>,
}

/// Unit of the energy costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnergyUnit {
    /// Multiples of one 16-bit MAC's energy.
    #[serde(rename = "normalized")]
    Normalized,
    /// Picojoules.
    #[serde(rename = "pJ")]
    Picojoule,
}

impl EnergyUnit {
    /// The label printed next to every energy figure and in the `energy_unit` column.
    #[inline]
    pub fn label(self) -> &'static str {
        match self {
            EnergyUnit::Normalized => "MAC-normalized",
            EnergyUnit::Picojoule => "pJ",
        }
    }
}

/// Energy per access (one word) at each level, and per MAC.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EnergyCosts {
    /// Unit of every cost.
    pub unit: EnergyUnit,
    /// One MAC (or pooling op).
    pub mac: f64,
    /// One scratchpad read or write.
    pub rf: f64,
    /// One NoC/array word delivery or send.
    pub noc: f64,
    /// One GLB read or write.
    pub glb: f64,
    /// One DRAM word read or written.
    pub dram: f64,
}

/// A validated hardware configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HwConfig {
    /// Config name (`eyeriss-v1`, ...).
    pub name: String,
    /// PE array.
    pub array: ArrayConfig,
    /// Processing element.
    pub pe: PeConfig,
    /// Global buffer.
    pub glb: GlbConfig,
    /// Networks on chip.
    pub noc: NocConfig,
    /// Off-chip link.
    pub dram: DramConfig,
    /// Clocks.
    pub clock: ClockConfig,
    /// Sparsity features.
    pub sparsity: SparsityFeatures,
    /// Energy per access.
    pub energy: EnergyCosts,
}

impl HwConfig {
    /// Words that a network of `bits` width carries per core cycle (at least 1).
    #[inline]
    pub fn words_per_cycle(&self, bits: u32) -> u32 {
        (bits / self.pe.word_bits).max(1)
    }
    /// GLB filter-part capacity in words.
    #[inline]
    pub fn filter_glb_words(&self) -> u64 {
        u64::from(self.glb.filter_kib) * 1024 * 8 / u64::from(self.pe.word_bits)
    }
    /// DRAM words (of `pe.word_bits`) moved per core cycle.
    #[inline]
    pub fn dram_words_per_core_cycle(&self) -> f64 {
        f64::from(self.dram.bus_bits) / f64::from(self.pe.word_bits) * self.dram.link_mhz
            / self.clock.core_mhz
    }
}
