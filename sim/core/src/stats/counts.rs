//! The counter types and the energy they imply.

use crate::hw::EnergyCosts;
use serde::{Deserialize, Serialize};
use std::ops::AddAssign;

/// A storage or compute level of the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Off-chip memory.
    Dram,
    /// Global buffer.
    Glb,
    /// Array networks (GIN, GON, local psum links).
    Noc,
    /// PE scratchpads.
    Rf,
    /// The MAC datapath.
    Alu,
}

/// The storage levels, outermost first (no `Alu`).
pub const LEVELS: [Level; 4] = [Level::Dram, Level::Glb, Level::Noc, Level::Rf];

impl Level {
    /// Lowercase name used in CSVs.
    #[inline]
    pub fn name(self) -> &'static str {
        match self {
            Level::Dram => "dram",
            Level::Glb => "glb",
            Level::Noc => "noc",
            Level::Rf => "rf",
            Level::Alu => "alu",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// A data type moving through the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tensor {
    /// Input feature map.
    Ifmap,
    /// Weights.
    Filter,
    /// Partial sums and the final ofmap.
    Psum,
}

/// All tensors, in CSV order.
pub const TENSORS: [Tensor; 3] = [Tensor::Ifmap, Tensor::Filter, Tensor::Psum];

impl Tensor {
    /// Lowercase name used in CSVs.
    #[inline]
    pub fn name(self) -> &'static str {
        match self {
            Tensor::Ifmap => "ifmap",
            Tensor::Filter => "filter",
            Tensor::Psum => "psum",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// Reads and writes of one tensor at one level, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Access {
    /// Words read (for `noc`: words delivered into a PE).
    pub reads: u64,
    /// Words written (for `noc`: words sent from the array to the GLB).
    pub writes: u64,
}

impl Access {
    /// Reads plus writes.
    #[inline]
    pub fn total(&self) -> u64 {
        self.reads + self.writes
    }
}

impl AddAssign for Access {
    fn add_assign(&mut self, o: Access) {
        self.reads += o.reads;
        self.writes += o.writes;
    }
}

/// MAC (or pooling-op) counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MacCounts {
    /// Taps in the layer's definition, padding included (N·G·M·C·E·F·R·S).
    pub algorithmic: u64,
    /// Taps whose MAC really ran.
    pub performed: u64,
    /// Taps turned off by zero gating (cycle spent, no MAC energy).
    pub gated: u64,
    /// Taps skipped outright (no cycle): zero-skipped ifmaps and compressed-away weights.
    pub skipped: u64,
}

impl AddAssign for MacCounts {
    fn add_assign(&mut self, o: MacCounts) {
        self.algorithmic += o.algorithmic;
        self.performed += o.performed;
        self.gated += o.gated;
        self.skipped += o.skipped;
    }
}

/// Access counts at every level for every tensor, plus MAC counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LevelCounts {
    cells: [[Access; 3]; 4],
    /// MAC counts (the `alu` level).
    pub macs: MacCounts,
}

impl LevelCounts {
    /// Counts at `level` (not `Alu`) for `tensor`.
    #[inline]
    pub fn get(&self, level: Level, tensor: Tensor) -> Access {
        assert!(level != Level::Alu, "alu has no per-tensor counts");
        self.cells[level.index()][tensor.index()]
    }
    /// Mutable counts at `level` (not `Alu`) for `tensor`.
    #[inline]
    pub fn at(&mut self, level: Level, tensor: Tensor) -> &mut Access {
        assert!(level != Level::Alu, "alu has no per-tensor counts");
        &mut self.cells[level.index()][tensor.index()]
    }
    /// Adds `reads` and `writes` at one cell.
    #[inline]
    pub fn add(&mut self, level: Level, tensor: Tensor, reads: u64, writes: u64) {
        *self.at(level, tensor) += Access { reads, writes };
    }
    /// Total accesses (reads + writes) at a storage level, over all tensors.
    #[inline]
    pub fn level_total(&self, level: Level) -> u64 {
        TENSORS.iter().map(|&t| self.get(level, t).total()).sum()
    }
    /// Energy of these counts under `costs`.
    pub fn energy(&self, costs: &EnergyCosts) -> Energy {
        let cost = |l: Level| match l {
            Level::Dram => costs.dram,
            Level::Glb => costs.glb,
            Level::Noc => costs.noc,
            Level::Rf => costs.rf,
            Level::Alu => costs.mac,
        };
        let mut e = Energy::default();
        for (li, &level) in LEVELS.iter().enumerate() {
            for (ti, &t) in TENSORS.iter().enumerate() {
                e.cells[li][ti] = self.get(level, t).total() as f64 * cost(level);
            }
        }
        e.alu = self.macs.performed as f64 * costs.mac;
        e
    }
}

impl AddAssign for LevelCounts {
    fn add_assign(&mut self, o: LevelCounts) {
        for (a, b) in self.cells.iter_mut().zip(o.cells.iter()) {
            for (x, y) in a.iter_mut().zip(b.iter()) {
                *x += *y;
            }
        }
        self.macs += o.macs;
    }
}

/// Energy split by level and tensor, in the hwconfig's unit.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Energy {
    cells: [[f64; 3]; 4],
    /// MAC energy.
    pub alu: f64,
}

impl Energy {
    /// Energy of one tensor at one storage level.
    #[inline]
    pub fn get(&self, level: Level, tensor: Tensor) -> f64 {
        if level == Level::Alu {
            return 0.0;
        }
        self.cells[level.index()][tensor.index()]
    }
    /// Energy at one level (for `Alu`, the MAC energy).
    #[inline]
    pub fn level(&self, level: Level) -> f64 {
        if level == Level::Alu {
            return self.alu;
        }
        self.cells[level.index()].iter().sum()
    }
    /// Energy of one tensor over all storage levels.
    #[inline]
    pub fn tensor(&self, tensor: Tensor) -> f64 {
        self.cells.iter().map(|row| row[tensor.index()]).sum()
    }
    /// Data-movement energy (all storage levels).
    #[inline]
    pub fn movement(&self) -> f64 {
        LEVELS.iter().map(|&l| self.level(l)).sum()
    }
    /// Total energy.
    #[inline]
    pub fn total(&self) -> f64 {
        self.movement() + self.alu
    }
}

impl AddAssign for Energy {
    fn add_assign(&mut self, o: Energy) {
        for (a, b) in self.cells.iter_mut().zip(o.cells.iter()) {
            for (x, y) in a.iter_mut().zip(b.iter()) {
                *x += *y;
            }
        }
        self.alu += o.alu;
    }
}
