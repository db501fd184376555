//! Integration tests: one binary, one module per capability.

mod hwconfig;
#[cfg(feature = "onnx")]
mod onnx;
