//! Integration tests: one binary, one module per capability.

mod analytic;
mod cli_inputs;
mod cli_messages;
mod cli_safety;
mod columns;
mod crosscheck;
mod data;
mod faults;
mod fold;
mod fuzz;
mod hw_ranges;
mod hwconfig;
mod mapping;
#[cfg(feature = "onnx")]
mod model;
#[cfg(feature = "onnx")]
mod onnx;
mod prune;
mod prune_net;
mod python;
mod reuse;
mod silicon;
mod simulate;
mod simulate_cli;
mod structure;
mod sweep;
mod workload;
mod workload_errors;
