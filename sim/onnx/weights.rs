//! Weight values of the array layers, for commands that execute a model
//! (`run --net model.onnx`, `prune --net model.onnx`): conv and FC weights
//! and biases as stored in the initializers, with a following
//! BatchNormalization folded in. Only decoded when asked for, so plain
//! imports of huge models stay fast.

use super::attrs::NodeCtx;
use super::error::OnnxErrorKind;
use super::tensor::Constant;

/// One layer's float weights in eyesim's layouts: `weights` `[G·M][C][R][S]`
/// (an FC layer's `[outputs][C][H][W]`, i.e. `[outputs][inputs]`), `bias`
/// `[G·M]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    /// Filter values.
    pub weights: Vec<f32>,
    /// One bias per filter (zeros when the node has none).
    pub bias: Vec<f32>,
}

impl<'a> Constant<'a> {
    /// The values as `f32`, or an error naming the node when the file does
    /// not hold them or one is not finite.
    pub(crate) fn values_for(&self, ctx: &NodeCtx) -> Result<Vec<f32>, OnnxErrorKind> {
        let Some(v) = self.values()? else {
            return Err(ctx.shape_err(format!(
                "initializer '{}' has no values in the file (external data or stripped \
                 weights); this command executes the model and needs them",
                self.name
            )));
        };
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(ctx.shape_err(format!(
                "initializer '{}' holds {} at element {i}; weights must be finite",
                self.name, v[i]
            )));
        }
        Ok(v)
    }
}

/// Conv weights (already `[M][C/g][kh][kw]`) and optional bias input 2.
pub(crate) fn conv(
    ctx: &NodeCtx,
    w: &Constant,
    bias: Option<&Constant>,
    filters: usize,
) -> Result<LayerWeights, OnnxErrorKind> {
    let weights = w.values_for(ctx)?;
    let bias = bias_values(ctx, bias, filters)?;
    Ok(LayerWeights { weights, bias })
}

/// FC weights from a K×N (or, transposed, N×K) matrix, scaled by `alpha`,
/// into `[N][K]`; bias from C (N values or one broadcast), scaled by `beta`.
pub(crate) fn fully_connected(
    ctx: &NodeCtx,
    b: &Constant,
    trans_b: bool,
    alpha: f32,
    c: Option<(&Constant, f32)>,
) -> Result<LayerWeights, OnnxErrorKind> {
    let v = b.values_for(ctx)?;
    let (rows, cols) = (b.dims[0] as usize, b.dims[1] as usize);
    let (k, n) = if trans_b { (cols, rows) } else { (rows, cols) };
    let mut weights = vec![0f32; k * n];
    for o in 0..n {
        for i in 0..k {
            let x = if trans_b { v[o * k + i] } else { v[i * n + o] };
            weights[o * k + i] = alpha * x;
        }
    }
    let mut bias = bias_values(ctx, c.map(|(c, _)| c), n)?;
    if let Some((_, beta)) = c {
        bias.iter_mut().for_each(|x| *x *= beta);
    }
    Ok(LayerWeights { weights, bias })
}

fn bias_values(ctx: &NodeCtx, c: Option<&Constant>, n: usize) -> Result<Vec<f32>, OnnxErrorKind> {
    let Some(c) = c else {
        return Ok(vec![0.0; n]);
    };
    let v = c.values_for(ctx)?;
    match v.len() {
        1 => Ok(vec![v[0]; n]),
        m if m == n => Ok(v),
        m => Err(ctx.shape_err(format!("bias '{}' has {m} values for {n} outputs", c.name))),
    }
}

/// Folds BatchNormalization(scale, B, mean, var, epsilon) into the layer
/// before it: `w' = w·s`, `b' = (b − mean)·s + B` with `s = scale/√(var+ε)`.
pub(crate) fn fold_batch_norm(
    ctx: &NodeCtx,
    layer: &mut LayerWeights,
    params: [&Constant; 4],
    epsilon: f32,
) -> Result<(), OnnxErrorKind> {
    let [scale, shift, mean, var] = params.map(|c| c.values_for(ctx));
    let (scale, shift, mean, var) = (scale?, shift?, mean?, var?);
    let filters = layer.bias.len();
    let per = layer.weights.len() / filters.max(1);
    for f in 0..filters {
        let s = scale[f] / (var[f] + epsilon).sqrt();
        if !s.is_finite() {
            return Err(ctx.shape_err(format!(
                "channel {f}: scale / sqrt(var + epsilon) is not finite"
            )));
        }
        layer.weights[f * per..(f + 1) * per]
            .iter_mut()
            .for_each(|w| *w *= s);
        layer.bias[f] = (layer.bias[f] - mean[f]) * s + shift[f];
    }
    Ok(())
}

/// An element-wise operation with a per-channel constant, folded into the
/// layer before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Affine {
    /// `y + c`.
    Add,
    /// `y - c`.
    Sub,
    /// `y · c`.
    Mul,
    /// `y / c`.
    Div,
}

/// Folds `y op c` (`c` one value per filter, or one for all) into the
/// layer's weights and bias.
pub(crate) fn fold_affine(
    ctx: &NodeCtx,
    layer: &mut LayerWeights,
    op: Affine,
    c: &[f64],
) -> Result<(), OnnxErrorKind> {
    let filters = layer.bias.len();
    if c.len() != 1 && c.len() != filters {
        return Err(ctx.shape_err(format!("{} constants for {filters} filters", c.len())));
    }
    let per = layer.weights.len() / filters.max(1);
    for f in 0..filters {
        let k = c[if c.len() == 1 { 0 } else { f }] as f32;
        let scale = match op {
            Affine::Add => {
                layer.bias[f] += k;
                continue;
            }
            Affine::Sub => {
                layer.bias[f] -= k;
                continue;
            }
            Affine::Mul => k,
            Affine::Div => 1.0 / k,
        };
        if !scale.is_finite() {
            return Err(ctx.shape_err(format!("channel {f}: the scale {scale} is not finite")));
        }
        layer.weights[f * per..(f + 1) * per]
            .iter_mut()
            .for_each(|w| *w *= scale);
        layer.bias[f] *= scale;
    }
    Ok(())
}
