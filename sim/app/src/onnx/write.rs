//! Writing changed weight values back into an ONNX model (`eyesim prune`'s
//! pruned and restored networks). The graph is kept node for node; only the
//! initializers that hold a layer's weights and biases are replaced, after
//! undoing the transformations of import (Gemm's `alpha`/`beta`/`transB`, a
//! folded BatchNormalization). Fields outside eyesim's reduced schema
//! (`value_info`, doc strings, metadata) are not carried over: the result is
//! a plain inference graph that ONNX tools load.

use super::error::{OnnxError, OnnxErrorKind};
use super::proto::{tensor_proto::DataType, ModelProto, TensorProto};
use super::weights::{LayerWeights, WeightLayout};
use prost::Message;
use std::collections::HashMap;
use std::path::Path;

/// The ONNX model at `path` with the weights of every `Some` layer (in
/// network order, as [`super::Model::weights`]) replaced by the given
/// values. External data is inlined. Errors name the layer and initializer
/// that could not be written.
pub fn write_weights(
    path: &Path,
    layers: &[(String, Option<LayerWeights>)],
) -> Result<Vec<u8>, OnnxError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| OnnxErrorKind::Io(e).at(&origin))?;
    let mut model =
        ModelProto::decode(bytes.as_slice()).map_err(|e| OnnxErrorKind::Decode(e).at(&origin))?;
    super::external::load_external_data(&mut model, crate::stats::parent_or_cwd(path))
        .map_err(|k| k.at(&origin))?;
    let graph = model
        .graph
        .as_mut()
        .ok_or_else(|| OnnxErrorKind::NoGraph.at(&origin))?;
    let mut values: HashMap<String, Vec<f32>> = HashMap::new();
    for (layer, lw) in layers {
        if let Some(lw) = lw {
            initializer_values(lw, &mut values).map_err(|why| unwritable(&origin, layer, why))?;
        }
    }
    for t in &mut graph.initializer {
        if let Some(v) = values.remove(&t.name) {
            let count: i64 = t.dims.iter().product();
            if count != v.len() as i64 {
                let why = format!(
                    "initializer '{}' holds {count} values, not {}",
                    t.name,
                    v.len()
                );
                return Err(unwritable(&origin, "(model)", why));
            }
            set_floats(t, &v);
        }
    }
    if let Some(name) = values.keys().min() {
        let why =
            format!("'{name}' is not an initializer (a Constant node?); it cannot be replaced");
        return Err(unwritable(&origin, "(model)", why));
    }
    Ok(model.encode_to_vec())
}

/// `values` in eyesim's `[filters][inputs]` layout rearranged into the
/// weight initializer's layout (no scaling): Conv weights are the same, a
/// K×N Gemm/MatMul matrix is the transpose.
pub fn to_initializer_layout(layout: WeightLayout, filters: usize, values: &[f32]) -> Vec<f32> {
    match layout {
        WeightLayout::Conv
        | WeightLayout::Matrix {
            transposed: true, ..
        } => values.to_vec(),
        WeightLayout::Matrix {
            transposed: false, ..
        } => {
            let (n, k) = (filters, values.len() / filters.max(1));
            let mut m = vec![0f32; n * k];
            for r in 0..n {
                for c in 0..k {
                    m[c * n + r] = values[r * k + c];
                }
            }
            m
        }
    }
}

fn unwritable(origin: &str, layer: &str, why: String) -> OnnxError {
    OnnxErrorKind::Shape {
        node: layer.to_string(),
        op: "write".into(),
        reason: why,
    }
    .at(origin)
}

fn set_floats(t: &mut TensorProto, v: &[f32]) {
    t.data_type = DataType::Float as i32;
    t.float_data.clear();
    t.int32_data.clear();
    t.int64_data.clear();
    t.double_data.clear();
    t.uint64_data.clear();
    t.raw_data = v.iter().flat_map(|x| x.to_le_bytes()).collect();
}

/// The initializer values that reproduce `lw` on import, by name.
fn initializer_values(
    lw: &LayerWeights,
    out: &mut HashMap<String, Vec<f32>>,
) -> Result<(), String> {
    let o = &lw.origin;
    let filters = lw.bias.len();
    let per = lw.weights.len() / filters.max(1);
    let mut w = lw.weights.clone();
    let mut layer_bias = lw.bias.clone();
    if let Some(bn) = &o.batch_norm {
        if bn.stacked {
            return Err("two BatchNormalizations are folded into it".into());
        }
        for f in 0..filters {
            let s = bn.scale[f];
            for x in &mut w[f * per..(f + 1) * per] {
                // A zero scale zeroes the folded filter whatever the conv holds.
                *x = if s == 0.0 { 0.0 } else { *x / s };
            }
        }
        let shift: Vec<f32> = (0..filters).map(|f| lw.bias[f] - bn.offset[f]).collect();
        out.insert(bn.shift_name.clone(), shift);
        layer_bias.clear();
    }
    if let WeightLayout::Matrix { alpha, .. } = o.layout {
        w.iter_mut().for_each(|x| *x /= alpha);
    }
    out.insert(
        o.weight.clone(),
        to_initializer_layout(o.layout, filters, &w),
    );
    // Without a per-filter bias initializer the bias is not free (see
    // `WeightOrigin::bias_is_free`) and stays as imported.
    if let (Some(name), false) = (&o.bias, layer_bias.is_empty()) {
        out.insert(
            name.clone(),
            layer_bias.iter().map(|b| b / o.bias_scale).collect(),
        );
    }
    Ok(())
}
