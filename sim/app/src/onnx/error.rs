//! Import errors. Each names the file and, where one is at fault, the node.

use thiserror::Error;

/// Why an ONNX model could not be imported. Nothing is written on error.
#[derive(Debug, Error)]
#[error("{origin}: {kind}")]
pub struct OnnxError {
    /// The file (or other origin) the model came from.
    pub origin: String,
    /// What went wrong (boxed: the kinds carry several names, and a
    /// `Result` should stay small on the success path).
    pub kind: Box<OnnxErrorKind>,
}

/// The specific import failure.
#[derive(Debug, Error)]
pub enum OnnxErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not a valid ONNX protobuf (malformed or truncated).
    #[error("not a valid ONNX model (malformed or truncated protobuf): {0}")]
    Decode(#[from] prost::DecodeError),
    /// The model has no graph or no nodes.
    #[error("the model has no graph")]
    NoGraph,
    /// The graph inputs do not describe exactly one image tensor.
    #[error("graph input: {0}")]
    Input(String),
    /// A node uses an operator eyesim cannot model.
    #[error(
        "node {node}: unsupported operator '{op}' (opset {opset}); {hint} (supported: {supported})"
    )]
    Unsupported {
        /// The node's name (or its index when unnamed).
        node: String,
        /// The node's op_type (with its domain when not the default one).
        op: String,
        /// The model's version of the operator's set.
        opset: i64,
        /// Whether `--allow-host-ops` would import it as host work.
        host_op: bool,
        /// What to do about it, `--allow-host-ops` included.
        hint: String,
        /// The supported operators.
        supported: &'static str,
    },
    /// A node reads a value that no initializer, Constant or earlier node provides.
    #[error("node {node} ({op}): input '{value}' is not an initializer, a constant or an earlier node's output")]
    MissingValue {
        /// The node.
        node: String,
        /// Its op_type.
        op: String,
        /// The missing value's name.
        value: String,
    },
    /// An attribute is missing, of the wrong type or out of range.
    #[error("node {node} ({op}): attribute '{attr}': {reason}")]
    BadAttribute {
        /// The node.
        node: String,
        /// Its op_type.
        op: String,
        /// The attribute's name.
        attr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Input shapes do not fit the operator (e.g. Concat or Add mismatch).
    #[error("node {node} ({op}): {reason}")]
    Shape {
        /// The node.
        node: String,
        /// Its op_type.
        op: String,
        /// The mismatch, with the shapes involved.
        reason: String,
    },
    /// A tensor's data does not match its declared type or dimensions.
    #[error("tensor '{name}': {reason}")]
    Tensor {
        /// The tensor's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl OnnxErrorKind {
    /// Attaches the origin (usually the file path).
    pub fn at(self, origin: &str) -> OnnxError {
        OnnxError {
            origin: origin.to_string(),
            kind: Box::new(self),
        }
    }
}
