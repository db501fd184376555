//! Images and labels for a model run: IDX (optionally gzip) or `.npy`,
//! checked against the network's input before any work starts.

use crate::data;
use crate::workload::Network;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// Images as float pixels `[N][C][H][W]` (bytes scaled to [0, 1]) with
/// their labels.
pub struct Images {
    pub values: Vec<f32>,
    pub labels: Vec<u8>,
    pub count: u32,
    pub per_image: usize,
}

fn is_npy(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "npy")
}

/// Reads an image file: dims (outermost first) and values in [0, 1] for
/// byte data, as stored for float `.npy` data.
fn read_images(p: &Path) -> anyhow::Result<(Vec<u64>, Vec<f32>)> {
    if is_npy(p) {
        let (shape, v) = data::read_npy_numbers(p)?;
        let bytes = v
            .iter()
            .all(|x| x.fract() == 0.0 && (0.0..=255.0).contains(x))
            && v.iter().any(|&x| x > 1.0);
        let scale = if bytes { 1.0 / 255.0 } else { 1.0 };
        return Ok((shape, v.into_iter().map(|x| (x * scale) as f32).collect()));
    }
    let a = data::read_idx(p)?;
    let dims = a.dims.iter().map(|&d| u64::from(d)).collect();
    Ok((
        dims,
        a.values.iter().map(|&b| f32::from(b) / 255.0).collect(),
    ))
}

fn read_labels(p: &Path) -> anyhow::Result<(Vec<u64>, Vec<u8>)> {
    if is_npy(p) {
        let (shape, v) = data::read_npy_numbers(p)?;
        if let Some(x) = v
            .iter()
            .find(|x| x.fract() != 0.0 || !(0.0..=255.0).contains(*x))
        {
            bail!(
                "{}: label {x} is not a class index from 0 to 255",
                p.display()
            );
        }
        return Ok((shape, v.into_iter().map(|x| x as u8).collect()));
    }
    let a = data::read_idx(p)?;
    Ok((a.dims.iter().map(|&d| u64::from(d)).collect(), a.values))
}

/// Loads `--images`/`--labels` (or the IDX files beside the model) and
/// checks them against the network's input shape and each other.
pub fn load_images(
    model_path: &Path,
    images: Option<&Path>,
    labels: Option<&Path>,
    net: &Network,
) -> anyhow::Result<Images> {
    let (ip, lp) = match (images, labels) {
        (Some(i), Some(l)) => (i.to_path_buf(), l.to_path_buf()),
        (None, None) => default_images(model_path)?,
        _ => bail!("--images and --labels go together"),
    };
    load_image_pair(&ip, &lp, net)
}

/// Loads one image file and its labels, checked against the network's
/// input shape and each other.
pub fn load_image_pair(ip: &Path, lp: &Path, net: &Network) -> anyhow::Result<Images> {
    let (ip, lp) = (ip.to_path_buf(), lp.to_path_buf());
    let (dims, values) =
        read_images(&ip).with_context(|| format!("reading images {}", ip.display()))?;
    let input = net.input;
    let per_image = input.elements() as usize;
    let shape_ok = match dims.as_slice() {
        [_, h, w] => input.c == 1 && (*h, *w) == (u64::from(input.h), u64::from(input.w)),
        [_, c, h, w] => {
            (*c, *h, *w) == (u64::from(input.c), u64::from(input.h), u64::from(input.w))
        }
        _ => false,
    };
    if !shape_ok || dims[0] == 0 {
        bail!(
            "{}: images have shape {dims:?}, but `{}` takes images of {}x{}x{} (C x H x W)",
            ip.display(),
            net.name,
            input.c,
            input.h,
            input.w
        );
    }
    let count = dims[0];
    let (ldims, labels) =
        read_labels(&lp).with_context(|| format!("reading labels {}", lp.display()))?;
    if ldims.len() != 1 || ldims[0] != count {
        bail!(
            "{}: {} labels (shape {ldims:?}) for {count} images in {}",
            lp.display(),
            ldims.first().copied().unwrap_or(0),
            ip.display()
        );
    }
    let count = u32::try_from(count).context("too many images")?;
    Ok(Images {
        values,
        labels,
        count,
        per_image,
    })
}

/// The t1k IDX image and label files beside `model`; an error when
/// either is missing.
pub fn default_images(model: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = model.parent().unwrap_or(Path::new("."));
    let (i, l) = (
        dir.join("t1k-images-idx3-ubyte.gz"),
        dir.join("t1k-labels-idx1-ubyte.gz"),
    );
    if !i.exists() || !l.exists() {
        bail!(
            "no images given: pass --images and --labels (IDX, .gz or .npy); {} has no t1k-images/t1k-labels IDX files",
            dir.display()
        );
    }
    Ok((i, l))
}
