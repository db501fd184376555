//! Integration tests: one binary, one module per capability.

mod cli_inputs;
mod hwconfig;
mod sweep;
mod workload;
mod workload_errors;
