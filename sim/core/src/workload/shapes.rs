//! One layer's validated keys ([`Spec`]) and its shape inference.

use super::locate::Ctx;
use super::raw::{IntOrList, RawLayer};
use super::{ConvParams, FmapShape, HostOp, LayerKind, PoolKind, PoolParams};
use crate::input::InputError;

/// A layer's keys after per-layer validation, before shapes are known.
pub(super) struct Spec {
    pub name: String,
    pub kind: String,
    pub inputs: Option<Vec<String>>,
    pub relu: bool,
    pub weight_density: f64,
    pub ifmap_zero_fraction: f64,
    pub ofmap_zero_fraction: Option<f64>,
    filters: Option<u32>,
    kernel: Option<[u32; 2]>,
    stride: Option<[u32; 2]>,
    padding: Option<[u32; 4]>,
    dilation: [u32; 2],
    groups: u32,
    outputs: Option<u32>,
    ceil_mode: bool,
    global: bool,
    op: Option<String>,
    output: Option<Vec<u32>>,
    host_reads: Option<u64>,
    host_ops: Option<u64>,
}

impl Spec {
    /// Checks list lengths, zero sizes and fractions of layer `i`.
    pub fn from_raw(
        ctx: &Ctx,
        i: usize,
        name: String,
        kind: String,
        l: &RawLayer,
    ) -> Result<Spec, InputError> {
        let fraction = |key: &str, v: Option<f64>| -> Result<Option<f64>, InputError> {
            match v {
                Some(x) if !(0.0..=1.0).contains(&x) => {
                    Err(ctx.invalid(i, key, format!("= {x} is outside [0, 1]")))
                }
                other => Ok(other),
            }
        };
        let positive = |key: &str, v: Option<u32>| -> Result<Option<u32>, InputError> {
            match v {
                Some(0) => Err(ctx.invalid(i, key, "= 0: must be at least 1".into())),
                other => Ok(other),
            }
        };
        let pair = |key: &str, v: &Option<IntOrList>| pair(ctx, i, key, v);
        let is_weighted = matches!(kind.as_str(), "conv" | "fc");
        Ok(Spec {
            relu: l.relu.unwrap_or(is_weighted),
            weight_density: fraction("weight_density", l.weight_density)?.unwrap_or(1.0),
            ifmap_zero_fraction: fraction("ifmap_zero_fraction", l.ifmap_zero_fraction)?
                .unwrap_or(0.0),
            ofmap_zero_fraction: fraction("ofmap_zero_fraction", l.ofmap_zero_fraction)?,
            filters: positive("filters", l.filters)?,
            kernel: pair("kernel", &l.kernel)?,
            stride: pair("stride", &l.stride)?,
            padding: padding(ctx, i, &l.padding)?,
            dilation: pair("dilation", &l.dilation)?.unwrap_or([1, 1]),
            groups: positive("groups", l.groups)?.unwrap_or(1),
            outputs: positive("outputs", l.outputs)?,
            ceil_mode: l.ceil_mode.unwrap_or(false),
            global: l.global.unwrap_or(false),
            op: l.op.clone(),
            output: l.output.clone(),
            host_reads: l.host_reads,
            host_ops: l.host_ops,
            inputs: l.inputs.clone(),
            name,
            kind,
        })
    }
}

/// `x` or `[h, w]`, each at least 1.
fn pair(
    ctx: &Ctx,
    i: usize,
    key: &str,
    v: &Option<IntOrList>,
) -> Result<Option<[u32; 2]>, InputError> {
    let Some(IntOrList(v)) = v else {
        return Ok(None);
    };
    let p = match v[..] {
        [x] => [x, x],
        [h, w] => [h, w],
        _ => {
            return Err(ctx.invalid(
                i,
                key,
                format!("= {v:?}: give one number or [height, width]"),
            ))
        }
    };
    if p.contains(&0) {
        return Err(ctx.invalid(i, key, format!("= {v:?}: every entry must be at least 1")));
    }
    Ok(Some(p))
}

/// `p`, `[ph, pw]` or `[top, bottom, left, right]`.
fn padding(ctx: &Ctx, i: usize, v: &Option<IntOrList>) -> Result<Option<[u32; 4]>, InputError> {
    let Some(IntOrList(v)) = v else {
        return Ok(None);
    };
    match v[..] {
        [p] => Ok(Some([p; 4])),
        [ph, pw] => Ok(Some([ph, ph, pw, pw])),
        [t, b, l, r] => Ok(Some([t, b, l, r])),
        _ => Err(ctx.invalid(
            i,
            "padding",
            format!("= {v:?}: give p, [ph, pw] or [top, bottom, left, right]"),
        )),
    }
}

/// Kind, input shape and output shape of layer `i` from its inputs' shapes.
pub(super) fn infer(
    ctx: &Ctx,
    i: usize,
    s: &Spec,
    ins: &[(String, FmapShape)],
) -> Result<(LayerKind, FmapShape, FmapShape), InputError> {
    let first = ins[0].1;
    let single = || -> Result<FmapShape, InputError> {
        if ins.len() != 1 {
            return Err(ctx.invalid(
                i,
                "inputs",
                format!(
                    "has {} entries: a `{}` layer takes one input",
                    ins.len(),
                    s.kind
                ),
            ));
        }
        Ok(first)
    };
    match s.kind.as_str() {
        "conv" => {
            let input = single()?;
            let (p, out) = conv(ctx, i, s, input)?;
            Ok((LayerKind::Conv(p), input, out))
        }
        "fc" => {
            let input = single()?;
            let outputs = s.outputs.ok_or_else(|| ctx.missing(i, "outputs"))?;
            let out = FmapShape {
                c: outputs,
                h: 1,
                w: 1,
            };
            Ok((LayerKind::FullyConnected { outputs }, input, out))
        }
        "maxpool" | "avgpool" => {
            let input = single()?;
            let (p, out) = pool(ctx, i, s, input)?;
            Ok((LayerKind::Pool(p), input, out))
        }
        "add" => Ok((LayerKind::Add, first, combine(ctx, i, s, ins, false)?)),
        "host" => {
            let (op, out) = host(ctx, i, s)?;
            Ok((LayerKind::Host(op), first, out))
        }
        _ => Ok((LayerKind::Concat, first, combine(ctx, i, s, ins, true)?)),
    }
}

/// A host layer: its operator, per-image work and output shape are given,
/// because the host may compute anything.
fn host(ctx: &Ctx, i: usize, s: &Spec) -> Result<(HostOp, FmapShape), InputError> {
    let op = s.op.clone().ok_or_else(|| ctx.missing(i, "op"))?;
    if op.is_empty() {
        return Err(ctx.invalid(i, "op", "= \"\": name the operator".into()));
    }
    let out = s.output.as_ref().ok_or_else(|| ctx.missing(i, "output"))?;
    let out = match out[..] {
        [c, h, w] if c > 0 && h > 0 && w > 0 => FmapShape { c, h, w },
        _ => {
            return Err(ctx.invalid(
                i,
                "output",
                format!("= {out:?}: give [channels, height, width], each at least 1"),
            ))
        }
    };
    let reads = s.host_reads.ok_or_else(|| ctx.missing(i, "host_reads"))?;
    let ops = s.host_ops.ok_or_else(|| ctx.missing(i, "host_ops"))?;
    Ok((HostOp { op, reads, ops }, out))
}

fn conv(
    ctx: &Ctx,
    i: usize,
    s: &Spec,
    input: FmapShape,
) -> Result<(ConvParams, FmapShape), InputError> {
    let filters = s.filters.ok_or_else(|| ctx.missing(i, "filters"))?;
    let kernel = s.kernel.ok_or_else(|| ctx.missing(i, "kernel"))?;
    let g = s.groups;
    if !input.c.is_multiple_of(g) || !filters.is_multiple_of(g) {
        return Err(ctx.invalid(
            i,
            "groups",
            format!(
                "= {g} does not divide the {} input channels and the {filters} filters",
                input.c
            ),
        ));
    }
    let p = ConvParams {
        filters,
        kernel,
        stride: s.stride.unwrap_or([1, 1]),
        padding: s.padding.unwrap_or([0; 4]),
        dilation: s.dilation,
        groups: g,
    };
    let (e, f) = output_hw(ctx, i, input, p.kernel, p.stride, p.padding, p.dilation)?;
    Ok((
        p,
        FmapShape {
            c: filters,
            h: e,
            w: f,
        },
    ))
}

fn pool(
    ctx: &Ctx,
    i: usize,
    s: &Spec,
    input: FmapShape,
) -> Result<(PoolParams, FmapShape), InputError> {
    let kind = if s.kind == "maxpool" {
        PoolKind::Max
    } else {
        PoolKind::Avg
    };
    if s.global {
        for (key, given) in [
            ("kernel", s.kernel.is_some()),
            ("stride", s.stride.is_some()),
            ("padding", s.padding.is_some()),
            ("ceil_mode", s.ceil_mode),
        ] {
            if given {
                return Err(ctx.invalid(
                    i,
                    key,
                    "conflicts with `global = true` (the window is the whole input)".into(),
                ));
            }
        }
        let p = PoolParams {
            kind,
            kernel: [input.h, input.w],
            stride: [1, 1],
            padding: [0; 4],
        };
        return Ok((
            p,
            FmapShape {
                c: input.c,
                h: 1,
                w: 1,
            },
        ));
    }
    let kernel = s.kernel.ok_or_else(|| ctx.missing(i, "kernel"))?;
    let stride = s.stride.unwrap_or([1, 1]);
    let mut padding = s.padding.unwrap_or([0; 4]);
    let pads_ok = padding[0] < kernel[0]
        && padding[1] < kernel[0]
        && padding[2] < kernel[1]
        && padding[3] < kernel[1];
    if !pads_ok {
        return Err(ctx.invalid(
            i,
            "padding",
            format!(
                "= {padding:?}: each side must be smaller than the {}x{} window",
                kernel[0], kernel[1]
            ),
        ));
    }
    if s.ceil_mode {
        padding[1] = padding[1].saturating_add(ceil_extra(
            input.h, kernel[0], stride[0], padding[0], padding[1],
        ));
        padding[3] = padding[3].saturating_add(ceil_extra(
            input.w, kernel[1], stride[1], padding[2], padding[3],
        ));
    }
    let (e, f) = output_hw(ctx, i, input, kernel, stride, padding, [1, 1])?;
    Ok((
        PoolParams {
            kind,
            kernel,
            stride,
            padding,
        },
        FmapShape {
            c: input.c,
            h: e,
            w: f,
        },
    ))
}

/// Extra bottom (or right) padding that makes floor division give the
/// ceil-mode output size of Caffe and PyTorch. The last window must start
/// inside the input or the leading padding (PyTorch's rule; Caffe applies it
/// only to padded pools, which differs only when kernel < stride).
fn ceil_extra(h: u32, k: u32, u: u32, pad_lo: u32, pad_hi: u32) -> u32 {
    let (h, k, u) = (u64::from(h), u64::from(k), u64::from(u));
    let span = (h + u64::from(pad_lo) + u64::from(pad_hi)).saturating_sub(k);
    let mut out = span.div_ceil(u) + 1;
    if out > 1 && (out - 1) * u >= h + u64::from(pad_lo) {
        out -= 1;
    }
    u32::try_from(((out - 1) * u).saturating_sub(span)).unwrap_or(0)
}

fn output_hw(
    ctx: &Ctx,
    i: usize,
    input: FmapShape,
    kernel: [u32; 2],
    stride: [u32; 2],
    pad: [u32; 4],
    dil: [u32; 2],
) -> Result<(u32, u32), InputError> {
    let hp = u64::from(input.h) + u64::from(pad[0]) + u64::from(pad[1]);
    let wp = u64::from(input.w) + u64::from(pad[2]) + u64::from(pad[3]);
    let ext_h = u64::from(dil[0]) * (u64::from(kernel[0]) - 1) + 1;
    let ext_w = u64::from(dil[1]) * (u64::from(kernel[1]) - 1) + 1;
    if ext_h > hp || ext_w > wp {
        return Err(ctx.invalid(
            i,
            "kernel",
            format!(
                "= {}x{} (extent {ext_h}x{ext_w} with dilation) is larger than the padded input {hp}x{wp}",
                kernel[0], kernel[1]
            ),
        ));
    }
    let e = (hp - ext_h) / u64::from(stride[0]) + 1;
    let f = (wp - ext_w) / u64::from(stride[1]) + 1;
    match (u32::try_from(e), u32::try_from(f)) {
        (Ok(e), Ok(f)) => Ok((e, f)),
        _ => Err(ctx.invalid(
            i,
            "padding",
            format!("= {pad:?} makes the output larger than 2^32 rows"),
        )),
    }
}

/// Output of `add` (equal shapes) or `concat` (equal H and W, channels summed).
fn combine(
    ctx: &Ctx,
    i: usize,
    s: &Spec,
    ins: &[(String, FmapShape)],
    concat: bool,
) -> Result<FmapShape, InputError> {
    if ins.len() < 2 {
        return Err(ctx.invalid(
            i,
            "inputs",
            format!(
                "has {} entry: a `{}` layer needs at least two inputs",
                ins.len(),
                s.kind
            ),
        ));
    }
    let (n0, s0) = &ins[0];
    let mut out = *s0;
    for (n, sh) in &ins[1..] {
        let ok = if concat {
            (sh.h, sh.w) == (s0.h, s0.w)
        } else {
            sh == s0
        };
        if !ok {
            let what = if concat {
                "heights and widths must match to concatenate channels"
            } else {
                "shapes must be equal to add"
            };
            return Err(InputError::ShapeMismatch {
                loc: ctx.loc(i, "inputs"),
                layer: s.name.clone(),
                message: format!("input `{n0}` is {s0} but input `{n}` is {sh}: {what}"),
            });
        }
        if concat {
            out.c = out.c.checked_add(sh.c).ok_or_else(|| {
                ctx.invalid(i, "inputs", "concatenate more than 2^32 channels".into())
            })?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::ceil_extra;

    /// Ceil-mode pooled size: ceil((h + 2p - k) / u) + 1, minus one if the
    /// last window would start beyond the input (PyTorch's rule; Caffe drops
    /// it only when padded, which differs only for kernel < stride, where
    /// Caffe's extra window would be empty).
    fn caffe(h: u32, k: u32, u: u32, p: u32) -> u32 {
        let mut out = (h + 2 * p - k).div_ceil(u) + 1;
        if (out - 1) * u >= h + p {
            out -= 1;
        }
        out
    }

    #[test]
    fn ceil_padding_reproduces_caffe_sizes() {
        for h in 3..40 {
            for k in 1..=3.min(h) {
                for u in 1..=3 {
                    for p in 0..k {
                        let extra = ceil_extra(h, k, u, p, p);
                        let floor = (h + 2 * p + extra - k) / u + 1;
                        assert_eq!(floor, caffe(h, k, u, p), "h{h} k{k} u{u} p{p}");
                    }
                }
            }
        }
        // GoogLeNet pool1: 112 -> 56 with one extra row and column.
        assert_eq!(ceil_extra(112, 3, 2, 0, 0), 1);
    }
}
