//! Integration tests: one binary, one module per capability.

#[cfg(feature = "onnx")]
mod onnx;
