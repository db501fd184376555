//! Reading traces: built-ins, files, and the errors that point at the
//! offending layer and key.

use super::Network;
use crate::input::{InputError, InputKind};
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

/// The text of a built-in network (`alexnet`, `vgg16`, `googlenet`,
/// `squeezenet`, `mobilenet`, `resnet50`) and the file it was embedded from.
pub fn builtin_text(name: &str) -> Option<(&'static str, &'static str)> {
    BUILTINS.iter().find(|b| b.0 == name).map(|b| (b.1, b.2))
}

/// A built-in network by name, parsed and validated;
/// [`InputError::NotFound`] for any other name. Reading a trace file is
/// the application's (`eyesim::workload::load`).
pub fn builtin(name: &str) -> Result<Network, InputError> {
    let (file, text) = builtin_text(name).ok_or_else(|| InputError::NotFound {
        kind: InputKind::Trace,
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
pub fn from_toml_str(text: &str, origin: &str) -> Result<Network, InputError> {
    super::build::build(text, origin)
}
