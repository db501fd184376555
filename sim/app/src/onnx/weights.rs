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
    /// The initializers the values came from, so that changed values can be
    /// written back into the model ([`super::write_weights`]).
    pub origin: WeightOrigin,
}

/// Where a layer's weight values live in the ONNX file and how they were
/// transformed into eyesim's layout.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightOrigin {
    /// The weight initializer.
    pub weight: String,
    /// Its layout.
    pub layout: WeightLayout,
    /// The bias initializer, when the node has one with a value per filter;
    /// `None` when the bias is absent or one broadcast value (then it cannot
    /// change per filter without changing the graph).
    pub bias: Option<String>,
    /// The factor the bias was scaled by (Gemm's `beta`, else 1).
    pub bias_scale: f32,
    /// A BatchNormalization folded into the layer, if any.
    pub batch_norm: Option<BatchNormFold>,
}

impl WeightOrigin {
    /// Whether each filter's bias can take any value in the written model:
    /// the node has a per-filter bias initializer or a folded
    /// BatchNormalization's shift.
    pub fn bias_is_free(&self) -> bool {
        self.bias.is_some() || self.batch_norm.is_some()
    }
}

/// How a weight initializer maps onto eyesim's `[filters][inputs]` layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightLayout {
    /// A Conv weight `[M][C/g][kh][kw]`, stored as is.
    Conv,
    /// A Gemm/MatMul matrix scaled by `alpha`: `transposed` when it is N×K
    /// (Gemm's transB = 1), else K×N.
    Matrix {
        /// Whether the initializer is N×K.
        transposed: bool,
        /// Gemm's `alpha` (1 for MatMul).
        alpha: f32,
    },
}

/// A BatchNormalization folded into the layer before it: the folded weights
/// are the layer's times `scale[f]`, the folded bias is `offset[f] + shift[f]`
/// with `shift` the BN's B initializer (named `shift_name`).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormFold {
    /// The BN's B (shift) initializer.
    pub shift_name: String,
    /// Per filter: `scale / sqrt(var + epsilon)`.
    pub scale: Vec<f32>,
    /// Per filter: `(layer bias − mean) · scale`.
    pub offset: Vec<f32>,
    /// A second BN folded into the same layer: the values cannot be written back.
    pub stacked: bool,
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
    let origin = WeightOrigin {
        weight: w.name.to_string(),
        layout: WeightLayout::Conv,
        bias: per_filter_bias(bias, filters),
        bias_scale: 1.0,
        batch_norm: None,
    };
    let bias = bias_values(ctx, bias, filters)?;
    Ok(LayerWeights {
        weights,
        bias,
        origin,
    })
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
    let origin = WeightOrigin {
        weight: b.name.to_string(),
        layout: WeightLayout::Matrix {
            transposed: trans_b,
            alpha,
        },
        bias: per_filter_bias(c.map(|(c, _)| c), n),
        bias_scale: c.map_or(1.0, |(_, beta)| beta),
        batch_norm: None,
    };
    Ok(LayerWeights {
        weights,
        bias,
        origin,
    })
}

/// The bias initializer's name when it holds one value per filter.
fn per_filter_bias(c: Option<&Constant>, n: usize) -> Option<String> {
    c.filter(|c| c.dims.iter().product::<i64>() as usize == n && n != 1)
        .map(|c| c.name.to_string())
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
    let mut fold = BatchNormFold {
        shift_name: params[1].name.to_string(),
        scale: Vec::with_capacity(filters),
        offset: Vec::with_capacity(filters),
        stacked: layer.origin.batch_norm.is_some(),
    };
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
        let offset = (layer.bias[f] - mean[f]) * s;
        layer.bias[f] = offset + shift[f];
        fold.scale.push(s);
        fold.offset.push(offset);
    }
    layer.origin.batch_norm = Some(fold);
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
