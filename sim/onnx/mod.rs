//! (onnx: to be written)
