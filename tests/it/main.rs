//! Integration tests: one binary, one module per capability.

mod cli_inputs;
mod data;
mod hwconfig;
#[cfg(feature = "onnx")]
mod onnx;
mod simulate;
mod workload;
mod workload_errors;
