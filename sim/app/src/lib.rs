//! eyesim: analytic and cycle-level models of row-stationary CNN accelerators.
//!
//! Data flows one way: a workload ([`workload`]) and a hardware config
//! ([`hw`]) go to the mapper ([`mapping`]), whose mapping is evaluated by the
//! analytic model ([`analytic`]) or executed by the cycle-level simulator
//! ([`engine`]); both fill the same counters ([`stats`]), which
//! [`crosscheck`], [`sweep`] and [`report`] consume. [`cli`] is the
//! application on top: the `eyesim` command line, which the binary and the
//! Python package both run.
//!
//! This crate is the application: it reads and writes every file ([`io`]),
//! and it re-exports the crates that hold the models, so that a user of the
//! library needs only `eyesim`:
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`workload`], [`hw`], [`stats`], [`data`], [`cancel`] | `eyesim-core` | shared types, counters, the chip's arithmetic |
//! | [`mapping`] | `eyesim-core` (types, legality) and `eyesim-mapper` (search) | row-stationary mappings |
//! | [`analytic`] | `eyesim-analytic` (per layer) and `eyesim-mapper` (whole networks) | counts by formula |
//! | [`engine`] | `eyesim-engine` | counts by doing, cycle by cycle |
//!
//! See `ARCHITECTURE.md` for the layering and how it is enforced.
//!
//! ```
//! // Map and estimate AlexNet's CONV1 on Eyeriss v1 with the analytic model.
//! let net = eyesim::workload::load("alexnet")?;
//! let hw = eyesim::hw::load("eyeriss-v1")?;
//! let conv1 = net.layer("conv1").expect("AlexNet has conv1");
//! let eyesim::workload::LayerWork::Array(prob) = eyesim::workload::LayerWork::of(conv1, net.batch) else {
//!     unreachable!("conv1 runs on the PE array")
//! };
//! let mapping = eyesim::mapping::search(&prob, &hw, eyesim::mapping::Objective::Energy)?;
//! let estimate = eyesim::analytic::estimate_layer(&prob, &mapping, &hw);
//! assert_eq!(estimate.active_pes, 154); // the fabricated chip's CONV1 footprint
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod cli;
pub mod crosscheck;
#[cfg(feature = "onnx")]
pub mod infer;
pub mod io;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod prune;
pub mod report;
pub mod sweep;

pub use eyesim_core::{cancel, tomldoc, InputError, InputKind, Location};

/// Workloads (`eyesim-core`), and `load` ([`io::load_network`]) from a
/// name or a trace file.
pub mod workload {
    pub use crate::io::load_network as load;
    pub use eyesim_core::workload::*;
}

/// Hardware configs (`eyesim-core`), and `load` ([`io::load_hw`]) /
/// `open_source` ([`io::open_hw_source`]) from a name or a TOML file.
pub mod hw {
    pub use crate::io::{load_hw as load, open_hw_source as open_source};
    pub use eyesim_core::hw::*;
}

/// Counters, energy and CSV rows (`eyesim-core`), and atomic, checked
/// output files ([`crate::io`]).
pub mod stats {
    pub use crate::io::{
        check_dir_writable, check_file_writable, parent_or_cwd, write_atomic, write_atomic_with,
    };
    pub use eyesim_core::stats::*;
}

/// The chip's data and arithmetic (`eyesim-core`), and `.npy` and IDX
/// files ([`crate::io`]).
pub mod data {
    pub use crate::io::{
        load_npy, npy_u8_bytes, parse_idx, read_idx, read_npy_i16, read_npy_numbers, write_npy_i16,
        IdxArray, NpyArray, NpyDir,
    };
    pub use eyesim_core::data::*;
}

/// Row-stationary mappings: types and legality (`eyesim-core`), the search
/// and the chip policy (`eyesim-mapper`).
pub mod mapping {
    pub use eyesim_core::mapping::*;
    pub use eyesim_mapper::{chip, search, Objective, SearchCache, ENERGY_BAND};
}

/// The analytic model per layer (`eyesim-analytic`) and whole networks
/// mapped and estimated in parallel (`eyesim-mapper`).
pub mod analytic {
    pub use eyesim_analytic::*;
    pub use eyesim_mapper::{
        estimate_network, estimate_network_cached, estimate_network_layer, AnalyticError,
        EstimateOptions,
    };
}

pub use eyesim_engine as engine;
