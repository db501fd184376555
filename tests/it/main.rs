//! Integration tests: one binary, one module per capability.

mod data;
mod hwconfig;
