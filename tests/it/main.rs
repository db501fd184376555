//! Integration tests: one binary, one module per capability.

mod hwconfig;
mod analytic;
mod mapping;
