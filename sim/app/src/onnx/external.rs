//! Tensors whose values live in external data files (ONNX models over 2 GB
//! are saved that way, and any model may be). Before conversion, each such
//! tensor's bytes are read from its file, which the `location` entry names
//! relative to the model's folder, at `offset` for `length` bytes; they
//! become the tensor's `raw_data`, so its weight density is measured like
//! any other. A missing or short file is an error naming the tensor and
//! the file: the density is never guessed.

use super::proto::tensor_proto::DataLocation;
use super::proto::{ModelProto, TensorProto};
use super::OnnxErrorKind;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

/// Reads every external tensor of `model` (initializers and Constant node
/// values) from files in `dir`, the model's folder.
pub(crate) fn load_external_data(model: &mut ModelProto, dir: &Path) -> Result<(), OnnxErrorKind> {
    let Some(graph) = model.graph.as_mut() else {
        return Ok(());
    };
    for t in &mut graph.initializer {
        resolve(t, dir)?;
    }
    for node in &mut graph.node {
        for attr in &mut node.attribute {
            if let Some(t) = attr.t.as_mut() {
                resolve(t, dir)?;
            }
        }
    }
    Ok(())
}

fn err(t: &TensorProto, reason: String) -> OnnxErrorKind {
    OnnxErrorKind::Tensor {
        name: t.name.clone(),
        reason,
    }
}

fn resolve(t: &mut TensorProto, dir: &Path) -> Result<(), OnnxErrorKind> {
    if t.data_location() != DataLocation::External {
        return Ok(());
    }
    let entry = |key: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.clone())
    };
    let location = entry("location")
        .ok_or_else(|| err(t, "stored in external data, but names no `location`".into()))?;
    let number = |key: &str| -> Result<Option<u64>, OnnxErrorKind> {
        entry(key)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| err(t, format!("external data `{key}` = `{v}` is not a number")))
            })
            .transpose()
    };
    let (offset, length) = (number("offset")?, number("length")?);
    let rel = Path::new(&location);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(err(
            t,
            format!("external data location `{location}` must be a path inside the model's folder"),
        ));
    }
    let path = dir.join(rel);
    let missing = |e: std::io::Error| {
        err(
            t,
            format!(
                "its values are in the external data file {} ({e}); keep that file next to \
                 the model, where the model says it is",
                path.display()
            ),
        )
    };
    let mut f = std::fs::File::open(&path).map_err(missing)?;
    let size = f.metadata().map_err(missing)?.len();
    let start = offset.unwrap_or(0);
    let len = length.unwrap_or(size.saturating_sub(start));
    if start.checked_add(len).is_none_or(|end| end > size) {
        return Err(err(
            t,
            format!(
                "external data file {} has {size} bytes, but the tensor is at bytes \
                 {start}..{} (truncated file?)",
                path.display(),
                start.saturating_add(len)
            ),
        ));
    }
    let mut bytes = Vec::new();
    f.seek(SeekFrom::Start(start)).map_err(missing)?;
    f.take(len).read_to_end(&mut bytes).map_err(missing)?;
    t.raw_data = bytes;
    t.external_data.clear();
    t.data_location = DataLocation::Default as i32;
    Ok(())
}
