//! Nodes that compute on the PE array (Conv, Gemm, MatMul, pooling) and the
//! shape-only ones (Flatten, Reshape), with ONNX's padding rules normalized
//! to the trace's explicit (top, bottom, left, right) padding.

use super::attrs::NodeCtx;
use super::convert::{fmap, Activation, Builder, Value};
use super::error::OnnxErrorKind;
use crate::workload::{ConvParams, LayerKind, PoolKind, PoolParams};

/// A 2-D sliding window; pairs are (vertical, horizontal).
struct Window {
    kernel: [u32; 2],
    stride: [u32; 2],
    dilation: [u32; 2],
}

impl Window {
    fn extent(&self, axis: usize) -> u64 {
        u64::from(self.dilation[axis]) * (u64::from(self.kernel[axis]) - 1) + 1
    }
}

/// Output extent with floor division, or None when the window does not fit.
fn out_extent(input: u64, pad: (u32, u32), extent: u64, stride: u32) -> Option<u64> {
    let padded = input + u64::from(pad.0) + u64::from(pad.1);
    padded
        .checked_sub(extent)
        .map(|span| span / u64::from(stride) + 1)
}

/// Resolves `auto_pad` and `pads` into (top, bottom, left, right).
fn padding(ctx: &NodeCtx, win: &Window, hw: [u64; 2]) -> Result<[u32; 4], OnnxErrorKind> {
    let auto = ctx.string("auto_pad")?.unwrap_or_else(|| "NOTSET".into());
    let pads = match ctx.ints("pads")? {
        None => [0; 4],
        Some(p) => {
            let p = ctx.small_values("pads", p, 4, false)?;
            // ONNX order: begin of each axis, then end of each axis.
            [p[0], p[2], p[1], p[3]]
        }
    };
    let upper = match auto.as_str() {
        "NOTSET" => return Ok(pads),
        "VALID" => None,
        "SAME_UPPER" => Some(true),
        "SAME_LOWER" => Some(false),
        other => {
            return Err(ctx.bad_attr(
                "auto_pad",
                format!("expected NOTSET, SAME_UPPER, SAME_LOWER or VALID, found '{other}'"),
            ))
        }
    };
    if pads != [0; 4] {
        return Err(ctx.bad_attr("pads", format!("cannot be combined with auto_pad = {auto}")));
    }
    let Some(upper) = upper else {
        return Ok([0; 4]);
    };
    let mut out = [0u32; 4];
    for axis in 0..2 {
        let stride = u64::from(win.stride[axis]);
        let e = hw[axis].div_ceil(stride);
        let total = ((e - 1) * stride + win.extent(axis)).saturating_sub(hw[axis]);
        let total =
            u32::try_from(total).map_err(|_| ctx.bad_attr("auto_pad", "padding overflows"))?;
        let (small, large) = (total / 2, total - total / 2);
        let (begin, end) = if upper {
            (small, large)
        } else {
            (large, small)
        };
        out[2 * axis] = begin;
        out[2 * axis + 1] = end;
    }
    Ok(out)
}

/// Output H and W for `win` over `hw` with `pad`, checked to be at least 1.
fn out_hw(
    ctx: &NodeCtx,
    win: &Window,
    hw: [u64; 2],
    pad: [u32; 4],
) -> Result<[u64; 2], OnnxErrorKind> {
    let mut out = [0; 2];
    for axis in 0..2 {
        out[axis] = out_extent(
            hw[axis],
            (pad[2 * axis], pad[2 * axis + 1]),
            win.extent(axis),
            win.stride[axis],
        )
        .ok_or_else(|| {
            ctx.shape_err(format!(
                "the {}×{} window (dilation {:?}) does not fit the {}×{} input padded by {:?}",
                win.kernel[0], win.kernel[1], win.dilation, hw[0], hw[1], pad
            ))
        })?;
    }
    Ok(out)
}

/// Adds bottom/right padding so that floor division yields the ceil-mode
/// extent. As in ONNX Runtime and PyTorch, a last window that would start
/// in the bottom/right padding is dropped.
fn ceil_mode_padding(win: &Window, hw: [u64; 2], pad: &mut [u32; 4]) {
    for axis in 0..2 {
        let (begin, end) = (u64::from(pad[2 * axis]), u64::from(pad[2 * axis + 1]));
        let stride = u64::from(win.stride[axis]);
        let Some(span) = (hw[axis] + begin + end).checked_sub(win.extent(axis)) else {
            continue;
        };
        let mut out = span.div_ceil(stride) + 1;
        if (out - 1) * stride >= hw[axis] + begin {
            out -= 1;
        }
        let needed = (out - 1) * stride + win.extent(axis);
        let extra = needed.saturating_sub(hw[axis] + begin + end);
        pad[2 * axis + 1] += extra as u32;
    }
}

impl<'a> Builder<'a> {
    pub(crate) fn conv(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let x = self.act4(ctx, 0)?;
        let w = self.constant(ctx, 1)?;
        let [m, cg, kh, kw] = w.dims[..] else {
            return Err(ctx.shape_err(format!(
                "weight '{}' must be M×C/group×kH×kW (2-D convolution), found {:?}",
                w.name, w.dims
            )));
        };
        let kernel = match (u32::try_from(kh), u32::try_from(kw)) {
            (Ok(h), Ok(w)) if h > 0 && w > 0 => [h, w],
            _ => {
                return Err(ctx.shape_err(format!(
                    "weight '{}' has an invalid kernel {:?}",
                    w.name, w.dims
                )))
            }
        };
        if let Some(k) = ctx.ints("kernel_shape")? {
            if k != [kh, kw] {
                return Err(ctx.bad_attr(
                    "kernel_shape",
                    format!("{k:?} disagrees with weight dims {:?}", w.dims),
                ));
            }
        }
        let group = ctx.int("group", 1)?;
        let c = x.dims[1];
        if group < 1 || c % group as u64 != 0 || m % group != 0 {
            return Err(ctx.bad_attr(
                "group",
                format!("{group} must divide {c} input channels and {m} filters"),
            ));
        }
        if c / group as u64 != cg as u64 {
            return Err(ctx.shape_err(format!(
                "weight '{}' expects {cg} channels per group, but the input has {c} channels in {group} group(s)",
                w.name
            )));
        }
        let win = Window {
            kernel,
            stride: ctx.pair("strides", [1, 1], true)?,
            dilation: ctx.pair("dilations", [1, 1], true)?,
        };
        let hw = [x.dims[2], x.dims[3]];
        let mut pad = padding(ctx, &win, hw)?;
        let [e, f] = out_hw(ctx, &win, hw, pad)?;
        let out = fmap(m as u64, e, f).ok_or_else(|| ctx.shape_err("output shape overflows"))?;
        // A Pad before the conv: the array pads the unpadded map by both.
        for (p, extra) in pad.iter_mut().zip(x.pad) {
            *p = p.saturating_add(extra);
        }
        let kind = LayerKind::Conv(ConvParams {
            filters: out.c,
            kernel,
            stride: win.stride,
            padding: pad,
            dilation: win.dilation,
            groups: group as u32,
        });
        let density = w.density()?;
        let y = self.push_layer(ctx, "conv", kind, &[&x], out, density)?;
        if self.keep_values {
            let has_bias = ctx.node.input.len() > 2 && !ctx.node.input[2].is_empty();
            let bias = if has_bias {
                Some(self.constant(ctx, 2)?)
            } else {
                None
            };
            let lw = super::weights::conv(ctx, &w, bias.as_ref(), m as usize)?;
            *self.weights.last_mut().expect("a layer was pushed") = Some(lw);
        }
        Ok(y)
    }

    pub(crate) fn pool(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let x = self.act4(ctx, 0)?;
        let k = ctx
            .ints("kernel_shape")?
            .ok_or_else(|| ctx.bad_attr("kernel_shape", "required but missing"))?;
        let k = ctx.small_values("kernel_shape", k, 2, true)?;
        let win = Window {
            kernel: [k[0], k[1]],
            stride: ctx.pair("strides", [1, 1], true)?,
            dilation: ctx.pair("dilations", [1, 1], true)?,
        };
        if win.dilation != [1, 1] {
            return Err(ctx.bad_attr("dilations", "dilated pooling is not supported"));
        }
        let hw = [x.dims[2], x.dims[3]];
        let mut pad = padding(ctx, &win, hw)?;
        match ctx.int("ceil_mode", 0)? {
            0 => {}
            1 => ceil_mode_padding(&win, hw, &mut pad),
            v => return Err(ctx.bad_attr("ceil_mode", format!("must be 0 or 1, found {v}"))),
        }
        // The trace format, like Caffe and PyTorch, keeps every window
        // partly inside the input.
        for axis in 0..2 {
            if pad[2 * axis].max(pad[2 * axis + 1]) >= win.kernel[axis] {
                return Err(ctx.shape_err(format!(
                    "padding {pad:?} (top, bottom, left, right, after auto_pad/ceil_mode) must be smaller than the {}x{} window",
                    win.kernel[0], win.kernel[1]
                )));
            }
        }
        // count_include_pad is ignored: eyesim's average pooling always
        // divides by the full window, and the divisor changes no access count.
        let [e, f] = out_hw(ctx, &win, hw, pad)?;
        let out = fmap(x.dims[1], e, f).ok_or_else(|| ctx.shape_err("output shape overflows"))?;
        let kind = if ctx.op() == "MaxPool" {
            PoolKind::Max
        } else {
            PoolKind::Avg
        };
        let params = PoolParams {
            kind,
            kernel: win.kernel,
            stride: win.stride,
            padding: pad,
        };
        self.push_layer(ctx, "pool", LayerKind::Pool(params), &[&x], out, 1.0)
    }

    /// Gemm as a fully connected layer: Y = A·B (+ C), A being the
    /// flattened feature map (N×K) and B the weights.
    pub(crate) fn gemm(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        if ctx.int("transA", 0)? != 0 {
            return Err(ctx.bad_attr(
                "transA",
                "a transposed feature-map operand is not supported",
            ));
        }
        let b = self.constant(ctx, 1)?;
        let [b0, b1] = b.dims[..] else {
            return Err(ctx.shape_err(format!(
                "weight '{}' must be 2-D, found {:?}",
                b.name, b.dims
            )));
        };
        let (k, n) = if ctx.int("transB", 0)? != 0 {
            (b1, b0)
        } else {
            (b0, b1)
        };
        let has_c = ctx.node.input.len() > 2 && !ctx.node.input[2].is_empty();
        if has_c {
            self.input(ctx, 2)?;
        }
        let y = self.fully_connected(ctx, k as u64, n as u64, b.density()?)?;
        if self.keep_values {
            let c = if has_c {
                Some(self.constant(ctx, 2)?)
            } else {
                None
            };
            let alpha = ctx.float("alpha")?.unwrap_or(1.0);
            let beta = ctx.float("beta")?.unwrap_or(1.0);
            let trans = ctx.int("transB", 0)? != 0;
            let lw = super::weights::fully_connected(
                ctx,
                &b,
                trans,
                alpha,
                c.as_ref().map(|c| (c, beta)),
            )?;
            *self.weights.last_mut().expect("a layer was pushed") = Some(lw);
        }
        Ok(y)
    }

    /// MatMul with a constant right operand (K×N) as a fully connected layer.
    pub(crate) fn matmul(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let b = self.constant(ctx, 1)?;
        let [k, n] = b.dims[..] else {
            return Err(ctx.shape_err(format!(
                "weight '{}' must be 2-D (K×N), found {:?}",
                b.name, b.dims
            )));
        };
        let y = self.fully_connected(ctx, k as u64, n as u64, b.density()?)?;
        if self.keep_values {
            let lw = super::weights::fully_connected(ctx, &b, false, 1.0, None)?;
            *self.weights.last_mut().expect("a layer was pushed") = Some(lw);
        }
        Ok(y)
    }

    fn fully_connected(
        &mut self,
        ctx: &NodeCtx,
        k: u64,
        n: u64,
        density: f64,
    ) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        if a.dims.len() != 2 {
            return Err(ctx.shape_err(format!(
                "expects a flattened N×K input, found dimensions {:?} (add a Flatten)",
                a.dims
            )));
        }
        if a.dims[1] != k || a.fmap.elements() != k {
            return Err(ctx.shape_err(format!(
                "input has {} features ({}) but the weights expect {k}",
                a.dims[1], a.fmap
            )));
        }
        let out = fmap(n, 1, 1)
            .ok_or_else(|| ctx.shape_err(format!("{n} outputs is not a valid size")))?;
        let kind = LayerKind::FullyConnected { outputs: out.c };
        let Value::Act(mut y) = self.push_layer(ctx, "fc", kind, &[&a], out, density)? else {
            unreachable!("push_layer returns a feature map")
        };
        y.dims.truncate(2);
        Ok(Value::Act(y))
    }

    pub(crate) fn flatten(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let axis = ctx.int("axis", 1)?;
        if let Value::Const(mut c) = self.input(ctx, 0)?.clone() {
            let ax = super::fold::axis(ctx, axis, c.dims.len() + 1)?;
            let outer: i64 = c.dims[..ax.min(c.dims.len())].iter().product();
            let inner: i64 = c.dims[ax.min(c.dims.len())..].iter().product();
            c.dims = vec![outer, inner];
            return Ok(Value::Const(c));
        }
        let a = self.act(ctx, 0)?;
        let rank = a.dims.len() as i64;
        if axis != 1 && axis != 1 - rank {
            return Err(ctx.bad_attr(
                "axis",
                format!("only 1 (keep the batch dimension) is supported, found {axis}"),
            ));
        }
        let rest = product(&a.dims[1..]).ok_or_else(|| ctx.shape_err("element count overflows"))?;
        Ok(Value::Act(Activation {
            dims: vec![a.dims[0], rest],
            ..a
        }))
    }

    pub(crate) fn reshape(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let spec = self.constant(ctx, 1)?.ints()?;
        let allow_zero = ctx.int("allowzero", 0)? != 0;
        let v = self.input(ctx, 0)?.clone();
        let old: Vec<u64> = match &v {
            Value::Const(c) => c.dims.iter().map(|&d| d.max(0) as u64).collect(),
            Value::Act(a) => a.dims.clone(),
        };
        let dims = reshaped(ctx, &old, &spec, allow_zero)?;
        if let Value::Act(a) = &v {
            if dims.first() != a.dims.first() {
                return Err(ctx.shape_err(format!(
                    "reshaping {:?} to {dims:?} changes the batch dimension",
                    a.dims
                )));
            }
        }
        self.reshaped_value(ctx, v, dims)
    }
}

/// ONNX Reshape semantics: 0 copies the input extent (unless `allow_zero`),
/// -1 is inferred from the element count.
fn reshaped(
    ctx: &NodeCtx,
    old: &[u64],
    spec: &[i64],
    allow_zero: bool,
) -> Result<Vec<u64>, OnnxErrorKind> {
    let total = product(old).ok_or_else(|| ctx.shape_err(format!("{old:?} overflows")))?;
    let mut dims = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &s) in spec.iter().enumerate() {
        dims.push(match s {
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            0 if !allow_zero => *old.get(i).ok_or_else(|| {
                ctx.shape_err(format!(
                    "shape {spec:?} copies dimension {i}, which {old:?} lacks"
                ))
            })?,
            s if s >= 0 => s as u64,
            _ => return Err(ctx.shape_err(format!("invalid target shape {spec:?}"))),
        });
    }
    let known = product(&dims).ok_or_else(|| ctx.shape_err(format!("{spec:?} overflows")))?;
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return Err(ctx.shape_err(format!("cannot reshape {old:?} to {spec:?}")));
        }
        dims[i] = total / known;
    }
    if product(&dims) != Some(total) {
        return Err(ctx.shape_err(format!(
            "cannot reshape {old:?} ({total} elements) to {spec:?}"
        )));
    }
    Ok(dims)
}

fn product(dims: &[u64]) -> Option<u64> {
    dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(k: u32, s: u32) -> Window {
        Window {
            kernel: [k, k],
            stride: [s, s],
            dilation: [1, 1],
        }
    }

    #[test]
    fn ceil_mode_adds_bottom_right_padding() {
        // 14 → floor (14-3)/2+1 = 6, ceil = 7: one extra row/column.
        let mut pad = [0; 4];
        ceil_mode_padding(&win(3, 2), [14, 13], &mut pad);
        assert_eq!(pad, [0, 1, 0, 0]);
        assert_eq!(out_extent(14, (0, 1), 3, 2), Some(7));
        assert_eq!(out_extent(13, (0, 0), 3, 2), Some(6));
    }

    #[test]
    fn ceil_mode_drops_window_starting_in_padding() {
        // 5 with k=2, s=2, pad 1+1: ceil((7-2)/2)+1 = 4, but window 4 would
        // start at 6 ≥ 5 + 1, so 3 outputs, same as floor.
        let mut pad = [1, 1, 1, 1];
        ceil_mode_padding(&win(2, 2), [5, 5], &mut pad);
        assert_eq!(pad, [1, 1, 1, 1]);
    }
}
