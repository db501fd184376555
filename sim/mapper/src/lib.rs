//! eyesim's mapper: the search of the legal row-stationary mappings of a
//! layer, each candidate scored by the analytic model in closed form
//! ([`search()`]); the Eyeriss chip's own mapping policy ([`chip`]); the
//! search cache that sweeps share ([`SearchCache`]); and whole networks,
//! mapped and estimated in parallel ([`estimate_network`]).
//!
//! It depends on the core and on the analytic model, never on the
//! simulator: the simulator executes the mappings this crate chooses.
#![warn(missing_docs)]

mod cache;
pub mod chip;
mod network;
pub mod search;
mod space;
#[cfg(test)]
mod tests;
mod tie;

pub use cache::SearchCache;
pub use network::{
    estimate_network, estimate_network_cached, estimate_network_layer, AnalyticError,
    EstimateOptions,
};
pub use search::{search, Objective, ENERGY_BAND};

use eyesim_core::{hw, stats, workload};
