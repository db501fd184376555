//! File input and output: the only place where eyesim's library reads or
//! writes files. The core crates parse text and return values; this module
//! finds traces, hwconfigs and data files by name or path, and writes
//! outputs atomically after checking, before long work, that they can be
//! written.

mod atomic;
mod idx;
mod npy;
mod paths;

pub use atomic::{write_atomic, write_atomic_with};
pub use idx::{parse_idx, read_idx, IdxArray};
pub use npy::{
    load_npy, npy_u8_bytes, read_npy_i16, read_npy_numbers, write_npy_i16, NpyArray, NpyDir,
};
pub use paths::{check_dir_writable, check_file_writable, parent_or_cwd};

use eyesim_core::hw::{builtin_names as hw_builtin_names, HwConfig, HwSource};
use eyesim_core::workload::{self, Network};
use eyesim_core::{InputError, InputKind};
use std::path::Path;

/// Loads a built-in network by name (`alexnet`, `vgg16`, `googlenet`,
/// `squeezenet`, `mobilenet`, `resnet50`) or a trace file by path.
pub fn load_network(name_or_path: &str) -> Result<Network, InputError> {
    if let Some((file, text)) = workload::builtin_text(name_or_path) {
        return workload::from_toml_str(text, file);
    }
    let text = read_input(InputKind::Trace, name_or_path)?;
    workload::from_toml_str(&text, name_or_path)
}

/// A built-in hardware config by name, or a TOML file by path, not yet
/// validated (sweeps derive many configs from one source).
pub fn open_hw_source(name_or_path: &str) -> Result<HwSource, InputError> {
    if let Some(source) = HwSource::builtin(name_or_path) {
        return Ok(source);
    }
    let text = read_input(InputKind::HwConfig, name_or_path)?;
    Ok(HwSource::from_toml_str(&text, name_or_path))
}

/// The text of the input file `path` names; an ONNX model, a missing file
/// or an unreadable one is an [`InputError`] that says which input it was
/// meant to be.
fn read_input(kind: InputKind, path: &str) -> Result<String, InputError> {
    let builtins = match kind {
        InputKind::Trace => workload::builtin_names(),
        InputKind::HwConfig => hw_builtin_names(),
    }
    .join(", ");
    if let Some(stem) = workload::onnx_stem(Path::new(path)) {
        let path = path.to_string();
        return Err(match kind {
            InputKind::Trace => InputError::OnnxModel { path, stem },
            InputKind::HwConfig => InputError::OnnxForHardware { path, builtins },
        });
    }
    if !Path::new(path).exists() {
        return Err(InputError::NotFound {
            kind,
            name: path.to_string(),
            builtins,
        });
    }
    std::fs::read_to_string(path).map_err(|source| InputError::Io {
        kind,
        path: path.to_string(),
        source,
    })
}

/// Loads a built-in config by name (`eyeriss-v1`, `eyeriss-isca16-256pe`,
/// `tiny`) or a TOML file by path, and validates it.
pub fn load_hw(name_or_path: &str) -> Result<HwConfig, InputError> {
    open_hw_source(name_or_path)?.validate()
}

/// The simulator's data source for a folder of `.npy` files.
pub fn npy_source(
    dir: std::path::PathBuf,
) -> std::sync::Arc<dyn eyesim_core::data::LayerDataSource> {
    std::sync::Arc::new(NpyDir(dir))
}
