//! Row-stationary mappings: the shared plan that both models execute.
//!
//! A [`RowStationaryMapping`] fixes how one layer's [`ConvProblem`] is cut
//! into strips, copies, folds and passes (the loop nest is defined in
//! `docs/dataflow.md`). The mapper searches the legal space; the analytic
//! model counts it by formula; the simulator's top controller executes it.

pub mod check;
mod geometry;
pub mod limits;
mod set;

pub use check::{check, glb_allocation, MapError};
pub use geometry::{CopySlot, Geometry};
pub use limits::{folds_for, groups, segments_for, smallest, strip_limit};
pub use set::{MappingSet, MappingSetError};

use crate::workload::ConvProblem;
use serde::{Deserialize, Serialize};

/// The Eyeriss chip's own AlexNet mappings (JSSC 2017 Table III), as shipped
/// in `hwconfigs/mappings/eyeriss-v1-alexnet.toml`.
pub const EYERISS_V1_ALEXNET_TOML: &str =
    include_str!("../../../../hwconfigs/mappings/eyeriss-v1-alexnet.toml");

/// A shipped mapping set by name: `chip` is the Eyeriss chip's AlexNet
/// mappings (Table III). `None` for any other name.
pub fn builtin_mappings(name: &str) -> Option<MappingSet> {
    match name {
        "chip" => Some(
            MappingSet::from_toml_str(EYERISS_V1_ALEXNET_TOML, "eyeriss-v1-alexnet.toml")
                .expect("the shipped chip mappings parse"),
        ),
        _ => None,
    }
}

/// One layer's row-stationary mapping. Field names follow ISCA 2016 (`fr`,
/// `fs` and `fw` are eyesim's).
///
/// Mappings are ordered lexicographically in field order (`e r t g p q n m
/// fr fs fw`): the mapper's last tie-break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RowStationaryMapping {
    /// Ofmap rows computed by one logical PE set per strip (1 ≤ e ≤ E).
    /// A set wider than the array is split into vertically stacked segments.
    pub e: u32,
    /// Set copies carrying different input-channel chunks (psums chain across them).
    pub r: u32,
    /// Set copies carrying different filter chunks (they share ifmaps by multicast).
    pub t: u32,
    /// Set copies carrying different groups.
    pub g: u32,
    /// Filters folded into one PE.
    pub p: u32,
    /// Input channels folded into one PE.
    pub q: u32,
    /// Images per GLB tile (and per pass).
    pub n: u32,
    /// Filters whose psums the GLB holds at once (a multiple of p·t, or all of M).
    pub m: u32,
    /// Folds of the filter rows: the `R` rows are split into `fr` balanced
    /// parts processed one after the other, psums accumulating in the GLB
    /// (for arrays shorter than the filter; 1 = no folding).
    #[serde(default = "one")]
    pub fr: u32,
    /// Segments of a filter row: its `S` taps are split into `fs` balanced
    /// parts processed one after the other, psums accumulating in the GLB
    /// (for rows that do not fit the spads; 1 = no segmentation).
    #[serde(default = "one")]
    pub fs: u32,
    /// Column tiles: the ofmap's `F` columns are split into `fw` balanced
    /// tiles, processed one after the other, each as a layer of its own
    /// that reads only the input columns it needs
    /// ([`ConvProblem::column_tiles`]; 1 = the whole width).
    #[serde(default = "one")]
    pub fw: u32,
}

impl RowStationaryMapping {
    /// The eight letters of the mapping, each with its value, in the order
    /// of ISCA 2016 and of `mappings.toml` (`fr` and `fs` are not letters).
    pub fn letters(&self) -> [(&'static str, u32); 8] {
        [
            ("e", self.e),
            ("r", self.r),
            ("t", self.t),
            ("g", self.g),
            ("p", self.p),
            ("q", self.q),
            ("n", self.n),
            ("m", self.m),
        ]
    }
}

fn one() -> u32 {
    1
}

/// `total` split into `parts` balanced parts, as `(size, count)` pairs,
/// largest first: `total mod parts` parts of `ceil(total/parts)`, the rest
/// of `floor(total/parts)` (docs/dataflow.md §1, "Folds and segments").
/// A part count is 0 when no part has that size.
pub fn balanced(total: u32, parts: u32) -> [(u32, u32); 2] {
    let parts = parts.max(1);
    let (lo, extra) = (total / parts, total % parts);
    if extra == 0 {
        [(lo, parts), (lo, 0)]
    } else {
        [(lo + 1, extra), (lo, parts - extra)]
    }
}

impl RowStationaryMapping {
    /// A one-line, comma-free summary (safe inside a CSV field).
    /// Folds, segments and column tiles are shown only when used (`fr2`,
    /// `fs3`, `fw2`).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "e{} r{} t{} g{} p{} q{} n{} m{}",
            self.e, self.r, self.t, self.g, self.p, self.q, self.n, self.m
        );
        if self.fr > 1 {
            s.push_str(&format!(" fr{}", self.fr));
        }
        if self.fs > 1 {
            s.push_str(&format!(" fs{}", self.fs));
        }
        if self.fw > 1 {
            s.push_str(&format!(" fw{}", self.fw));
        }
        s
    }

    /// The mapping each column tile runs: this one without column tiles.
    #[inline]
    pub fn untiled(&self) -> Self {
        RowStationaryMapping { fw: 1, ..*self }
    }

    /// Why the fabricated Eyeriss chip could not run this mapping, if it
    /// could not: its controller has no filter-row folding and no
    /// segmentation of a filter row (a PE holds whole rows), and no column
    /// tiles are described for it (its ifmap tiles are whole rows). Such
    /// mappings are evaluated all the same; the layer tables flag them.
    #[inline]
    pub fn beyond_chip(&self) -> Option<&'static str> {
        if self.fw > 1 {
            return Some("column tiles");
        }
        match (self.fr > 1, self.fs > 1) {
            (true, true) => Some("folded and segmented filter rows"),
            (true, false) => Some("folded filter rows"),
            (false, true) => Some("segmented filter rows"),
            (false, false) => None,
        }
    }

    /// Filter rows of the tallest fold: `ceil(R / fr)`.
    #[inline]
    pub fn fold_rows(&self, prob: &ConvProblem) -> u32 {
        prob.r.div_ceil(self.fr.max(1))
    }

    /// Taps of the widest segment: `ceil(S / fs)`.
    #[inline]
    pub fn segment_taps(&self, prob: &ConvProblem) -> u32 {
        prob.s.div_ceil(self.fs.max(1))
    }
}

impl std::fmt::Display for RowStationaryMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}
