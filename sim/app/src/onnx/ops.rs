//! Which operators eyesim imports, and where each one's work is counted
//! (README "Supported ONNX operators" lists the same).

/// Operators `eyesim import` understands without `--allow-host-ops`.
pub const SUPPORTED_OPS: &str = "array: Conv, Gemm, MatMul, MaxPool, AveragePool, Pad (folded \
into the next Conv); GLB-side: Add, Sum, GlobalAveragePool, GlobalMaxPool, ReduceMean/ReduceMax \
over H and W; fused: Relu, Clip(min 0) as ReLU6, BatchNormalization, Add/Sub/Mul/Div by a \
per-channel constant after a Conv or Gemm; host: LeakyRelu, PRelu, Clip, Sigmoid, HardSigmoid, \
HardSwish, Add/Sub/Mul/Div with broadcasting, ReduceMean/ReduceSum/ReduceMax, Softmax, \
LogSoftmax, LRN, Resize, Upsample, Split, Slice, Transpose (channel shuffle), Expand, Pad, \
BatchNormalization and Relu that cannot be folded; folded: Shape, Size, Gather, Unsqueeze, \
Squeeze, Concat, Slice, Reshape, Flatten, Transpose, Expand, Cast, Identity, Dropout, Range, \
Constant, ConstantOfShape and integer arithmetic on constants";

/// Shape-preserving element-wise operators that `--allow-host-ops` imports
/// as host work (one operation per value).
pub const FLAG_HOST_OPS: &[&str] = &[
    "Abs",
    "Acos",
    "Acosh",
    "Asin",
    "Asinh",
    "Atan",
    "Atanh",
    "Ceil",
    "Celu",
    "Cos",
    "Cosh",
    "Elu",
    "Erf",
    "Exp",
    "Floor",
    "Gelu",
    "IsInf",
    "IsNaN",
    "Log",
    "Mish",
    "Neg",
    "Not",
    "Reciprocal",
    "Round",
    "Selu",
    "Shrink",
    "Sign",
    "Sin",
    "Sinh",
    "Softplus",
    "Softsign",
    "Sqrt",
    "Tan",
    "Tanh",
    "ThresholdedRelu",
];

/// Whether `op` is one that `--allow-host-ops` would import.
pub fn flag_host_op(op: &str) -> bool {
    FLAG_HOST_OPS.contains(&op)
}
