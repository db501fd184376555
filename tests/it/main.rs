//! Integration tests: one binary, one module per capability.

mod analytic;
mod hwconfig;
mod mapping;
