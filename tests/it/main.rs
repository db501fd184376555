//! Integration tests: one binary, one module per capability.

mod analytic;
mod cli_inputs;
mod hwconfig;
mod mapping;
mod sweep;
mod workload;
mod workload_errors;
