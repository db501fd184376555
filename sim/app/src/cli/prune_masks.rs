//! The pruned model as files (`<criterion>/pruned.onnx`, `masks/*.npy`) and
//! the check of a fine-tuned model against its masks (`prune --masks`).

use crate::onnx::{to_initializer_layout, LayerWeights, Model, WeightLayout};
use crate::workload::{LayerWork, Network};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// A layer's weight initializer: its name, ONNX dims and the layer.
struct Slot<'a> {
    layer: &'a str,
    lw: &'a LayerWeights,
    dims: Vec<u64>,
}

fn slots<'a>(net: &'a Network, weights: &'a [Option<LayerWeights>]) -> Vec<Slot<'a>> {
    net.layers
        .iter()
        .zip(weights)
        .filter_map(|(l, w)| {
            let lw = w.as_ref()?;
            let LayerWork::Array(p) = LayerWork::of(l, 1) else {
                return None;
            };
            let (gm, taps) = (u64::from(p.g * p.m), u64::from(p.c * p.r * p.s));
            let dims = match lw.origin.layout {
                WeightLayout::Conv => vec![gm, u64::from(p.c), u64::from(p.r), u64::from(p.s)],
                WeightLayout::Matrix {
                    transposed: true, ..
                } => vec![gm, taps],
                WeightLayout::Matrix {
                    transposed: false, ..
                } => vec![taps, gm],
            };
            Some(Slot {
                layer: &l.name,
                lw,
                dims,
            })
        })
        .collect()
}

/// The mask file of an initializer.
fn mask_file(dir: &Path, initializer: &str) -> PathBuf {
    dir.join(format!(
        "{}.npy",
        crate::stats::sanitize_file_name(initializer)
    ))
}

/// The mask of every layer with weights, in the initializer's layout (1 =
/// kept), as `(file name, dims, values)`.
pub fn masks(model: &Model) -> Vec<(String, Vec<u64>, Vec<f32>)> {
    slots(&model.network, &model.weights)
        .into_iter()
        .map(|s| {
            let keep: Vec<f32> = s.lw.weights.iter().map(|&w| f32::from(w != 0.0)).collect();
            let filters = s.lw.bias.len();
            let name = format!(
                "{}.npy",
                crate::stats::sanitize_file_name(&s.lw.origin.weight)
            );
            (
                name,
                s.dims,
                to_initializer_layout(s.lw.origin.layout, filters, &keep),
            )
        })
        .collect()
}

/// One layer's mask check.
pub struct MaskCheck {
    pub layer: String,
    pub weights: usize,
    pub masked: usize,
    pub nonzero: usize,
}

/// Checks that `model` is zero wherever a mask in `dir` is 0. Errors name
/// the layer and how many pruned weights came back, a mask whose shape is
/// not its initializer's, and a mask file that matches no weight.
pub fn check_masks(model: &Model, dir: &Path) -> anyhow::Result<Vec<MaskCheck>> {
    let slots = slots(&model.network, &model.weights);
    let mut known = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for s in &slots {
        let file = mask_file(dir, &s.lw.origin.weight);
        known.insert(file.file_name().map(|f| f.to_os_string()));
        let filters = s.lw.bias.len();
        let values = to_initializer_layout(s.lw.origin.layout, filters, &s.lw.weights);
        let mut check = MaskCheck {
            layer: s.layer.to_string(),
            weights: values.len(),
            masked: 0,
            nonzero: values.iter().filter(|&&w| w != 0.0).count(),
        };
        if !file.is_file() {
            out.push(check);
            continue;
        }
        let (shape, mask) = crate::data::read_npy_numbers(&file)
            .with_context(|| format!("reading the mask of layer `{}`", s.layer))?;
        if shape != s.dims {
            bail!(
                "{}: mask of shape {shape:?} for layer `{}`, whose weight '{}' has shape {:?}",
                file.display(),
                s.layer,
                s.lw.origin.weight,
                s.dims
            );
        }
        let back = mask
            .iter()
            .zip(&values)
            .filter(|(m, w)| **m == 0.0 && **w != 0.0)
            .count();
        check.masked = mask.iter().filter(|&&m| m == 0.0).count();
        if back > 0 {
            bail!(
                "layer `{}`: {back} of the {} pruned weights came back (non-zero where {} is 0): \
                 the masks did not hold during fine-tuning",
                s.layer,
                check.masked,
                file.display()
            );
        }
        out.push(check);
    }
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    let mut found = 0;
    for e in entries {
        let name = e?.file_name();
        if name.to_string_lossy().ends_with(".npy") {
            if !known.contains(&Some(name.clone())) {
                bail!(
                    "{}: matches no weight of the model (expected <initializer>.npy for one of: {})",
                    dir.join(&name).display(),
                    slots.iter().map(|s| s.lw.origin.weight.as_str()).collect::<Vec<_>>().join(", ")
                );
            }
            found += 1;
        }
    }
    if found == 0 {
        bail!(
            "{}: no mask files (<initializer>.npy) in the folder",
            dir.display()
        );
    }
    Ok(out)
}
