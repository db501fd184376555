//! Row-stationary mappings: the shared plan that both models execute.
//!
//! A [`RowStationaryMapping`] fixes how one layer's [`ConvProblem`] is cut
//! into strips, copies, folds and passes (the loop nest is defined in
//! `docs/dataflow.md`). The mapper searches the legal space; the analytic
//! model counts it by formula; the simulator's top controller executes it.

mod cache;
pub(crate) mod check;
pub mod chip;
mod geometry;
pub(crate) mod search;
mod set;

pub use cache::SearchCache;
pub use check::{check, glb_allocation, MapError};
pub use geometry::{CopySlot, Geometry};
pub use search::{search, Objective, ENERGY_BAND};
pub use set::{MappingSet, MappingSetError};

use serde::{Deserialize, Serialize};

/// The Eyeriss chip's own AlexNet mappings (JSSC 2017 Table III), as shipped
/// in `hwconfigs/mappings/eyeriss-v1-alexnet.toml`.
pub const EYERISS_V1_ALEXNET_TOML: &str =
    include_str!("../../hwconfigs/mappings/eyeriss-v1-alexnet.toml");

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

/// One layer's row-stationary mapping. Field names follow ISCA 2016.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}

impl RowStationaryMapping {
    /// A one-line, comma-free summary (safe inside a CSV field).
    pub fn summary(&self) -> String {
        format!(
            "e{} r{} t{} g{} p{} q{} n{} m{}",
            self.e, self.r, self.t, self.g, self.p, self.q, self.n, self.m
        )
    }
}

impl std::fmt::Display for RowStationaryMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}
