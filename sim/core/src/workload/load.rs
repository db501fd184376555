//! Reading traces: built-ins, files, and the errors that point at the
//! offending layer and key.

use super::Network;
use crate::tomldoc::Location;
use std::path::Path;

/// Built-in traces: name, the file they were embedded from, its text.
const BUILTINS: &[(&str, &str, &str)] = &[
    (
        "alexnet",
        "traces/alexnet.toml",
        include_str!("../../../../traces/alexnet.toml"),
    ),
    (
        "vgg16",
        "traces/vgg16.toml",
        include_str!("../../../../traces/vgg16.toml"),
    ),
    (
        "googlenet",
        "traces/googlenet.toml",
        include_str!("../../../../traces/googlenet.toml"),
    ),
    (
        "squeezenet",
        "traces/squeezenet.toml",
        include_str!("../../../../traces/squeezenet.toml"),
    ),
    (
        "mobilenet",
        "traces/mobilenet.toml",
        include_str!("../../../../traces/mobilenet.toml"),
    ),
    (
        "resnet50",
        "traces/resnet50.toml",
        include_str!("../../../../traces/resnet50.toml"),
    ),
];

/// Names of the built-in networks.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.0).collect()
}

/// Why a trace was rejected. Variants about a value name the file, line and
/// column, the layer (or `[network]`) and the key.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The file could not be read.
    #[error("cannot read trace `{path}`: {source}")]
    Io {
        /// The path given.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Neither a built-in name nor an existing file.
    #[error("no network `{name}`: not a file, and not a built-in ({builtins})")]
    NotFound {
        /// The name given.
        name: String,
        /// Built-in names, comma-separated.
        builtins: String,
    },
    /// An ONNX model given where a trace belongs.
    #[error("`{path}` is an ONNX model, not a trace: convert it first with `eyesim import {path} -o traces/{stem}.toml`, then pass the trace (--net traces/{stem}.toml)")]
    OnnxModel {
        /// The path given.
        path: String,
        /// Its file stem.
        stem: String,
    },
    /// The text is not valid TOML.
    #[error("{loc}: TOML syntax error: {message}")]
    Syntax {
        /// Where.
        loc: Location,
        /// What the parser says.
        message: String,
    },
    /// A key the format does not know.
    #[error("{loc}: {scope}: unknown key `{key}`{hint}")]
    UnknownKey {
        /// Where.
        loc: Location,
        /// `[network]`, `layer `name``, or the top level.
        scope: String,
        /// The key.
        key: String,
        /// `; did you mean ...?`, or empty.
        hint: String,
    },
    /// A value of the wrong TOML type.
    #[error("{loc}: {scope}: `{key}` has the wrong type: {message}")]
    WrongType {
        /// Where.
        loc: Location,
        /// `[network]` or the layer.
        scope: String,
        /// The key.
        key: String,
        /// Found vs expected.
        message: String,
    },
    /// A required key is absent.
    #[error("{loc}: {scope}: missing required key `{key}`")]
    Missing {
        /// The enclosing table.
        loc: Location,
        /// `[network]` or the layer.
        scope: String,
        /// The key.
        key: String,
    },
    /// A value outside its range, or one that contradicts another.
    #[error("{loc}: {scope}: `{key}` {message}")]
    Invalid {
        /// Where.
        loc: Location,
        /// `[network]` or the layer.
        scope: String,
        /// The key.
        key: String,
        /// The value and the violated limit.
        message: String,
    },
    /// An `inputs` entry that names no layer.
    #[error("{loc}: layer `{layer}`: unknown input layer `{input}`{hint}")]
    UnknownInput {
        /// Where.
        loc: Location,
        /// The consuming layer.
        layer: String,
        /// The name that was not found.
        input: String,
        /// `; did you mean ...?`, or empty.
        hint: String,
    },
    /// The layers do not form a DAG.
    #[error("{loc}: the layer graph has a cycle through {layers}")]
    Cycle {
        /// The first layer of the cycle in the file.
        loc: Location,
        /// The layers on the cycle, in file order.
        layers: String,
    },
    /// Input shapes that cannot be combined.
    #[error("{loc}: layer `{layer}`: {message}")]
    ShapeMismatch {
        /// Where.
        loc: Location,
        /// The combining layer.
        layer: String,
        /// The inputs and their shapes.
        message: String,
    },
    /// More than one problem in one trace, in file order.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<WorkloadError>),
    /// Two layers with one name.
    #[error("{loc}: layer name `{layer}` is already used by an earlier layer")]
    Duplicate {
        /// The second use.
        loc: Location,
        /// The name.
        layer: String,
    },
}

impl WorkloadError {
    /// Where the problem is, when it concerns one place of a trace.
    pub fn location(&self) -> Option<&Location> {
        match self {
            WorkloadError::Syntax { loc, .. }
            | WorkloadError::UnknownKey { loc, .. }
            | WorkloadError::WrongType { loc, .. }
            | WorkloadError::Missing { loc, .. }
            | WorkloadError::Invalid { loc, .. }
            | WorkloadError::UnknownInput { loc, .. }
            | WorkloadError::Cycle { loc, .. }
            | WorkloadError::ShapeMismatch { loc, .. }
            | WorkloadError::Duplicate { loc, .. } => Some(loc),
            _ => None,
        }
    }

    /// One error as itself, several (sorted into file order) as `Several`.
    pub(super) fn one_or_several(mut errors: Vec<WorkloadError>) -> WorkloadError {
        errors.sort_by_key(|e| {
            e.location()
                .and_then(|l| l.line_col)
                .unwrap_or((usize::MAX, 0))
        });
        if errors.len() == 1 {
            errors.pop().expect("one error")
        } else {
            WorkloadError::Several(errors)
        }
    }
}

/// The text of a built-in network (`alexnet`, `vgg16`, `googlenet`,
/// `squeezenet`, `mobilenet`, `resnet50`) and the file it was embedded from.
pub fn builtin_text(name: &str) -> Option<(&'static str, &'static str)> {
    BUILTINS.iter().find(|b| b.0 == name).map(|b| (b.1, b.2))
}

/// A built-in network by name, parsed and validated;
/// [`WorkloadError::NotFound`] for any other name. Reading a trace file is
/// the application's (`eyesim::workload::load`).
pub fn builtin(name: &str) -> Result<Network, WorkloadError> {
    let (file, text) = builtin_text(name).ok_or_else(|| WorkloadError::NotFound {
        name: name.to_string(),
        builtins: builtin_names().join(", "),
    })?;
    from_toml_str(text, file)
}

/// The file stem of `path` when it names an ONNX model (`*.onnx`).
pub fn onnx_stem(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    ext.eq_ignore_ascii_case("onnx").then(|| {
        path.file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned())
    })
}

/// Parses and validates trace text; `origin` names it in error messages.
pub fn from_toml_str(text: &str, origin: &str) -> Result<Network, WorkloadError> {
    super::build::build(text, origin)
}
