//! Integration tests: one binary, one module per capability.

mod cli_inputs;
mod data;
mod simulate;
mod hwconfig;
#[cfg(feature = "onnx")]
mod onnx;
mod workload;
mod workload_errors;
