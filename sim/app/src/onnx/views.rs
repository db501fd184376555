//! Shape operators. On constants they are evaluated (the importer's own
//! constant folding); on feature maps they change only how the map is
//! viewed, except where data really moves (a Transpose that reorders
//! values, such as ShuffleNet's channel shuffle, a Slice, an Expand), which
//! becomes a host copy.

use super::attrs::NodeCtx;
use super::convert::{fmap_elements, Activation, Builder, Value};
use super::error::OnnxErrorKind;
use super::fold::{self, Num, FOLD_LIMIT};
use super::tensor::{ConstData, Constant};

impl<'a> Builder<'a> {
    fn out_name(ctx: &NodeCtx) -> String {
        ctx.node.output.first().cloned().unwrap_or_default()
    }

    /// Axes from the `axes` attribute (before opset 13) or input 1.
    fn axes_arg(&self, ctx: &NodeCtx) -> Result<Option<Vec<i64>>, OnnxErrorKind> {
        if let Some(a) = ctx.ints("axes")? {
            return Ok(Some(a.to_vec()));
        }
        if self.has_input(ctx, 1) {
            return Ok(Some(self.constant(ctx, 1)?.ints()?));
        }
        Ok(None)
    }

    /// Unsqueeze and Squeeze. A feature map keeps its batch on axis 0.
    pub(crate) fn squeeze(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let v = self.input(ctx, 0)?.clone();
        let dims: Vec<u64> = match &v {
            Value::Act(a) => a.dims.clone(),
            Value::Const(c) => c.dims.iter().map(|&d| d.max(0) as u64).collect(),
        };
        let axes = self.axes_arg(ctx)?;
        let out = if ctx.op() == "Unsqueeze" {
            let axes = axes.ok_or_else(|| ctx.bad_attr("axes", "required but missing"))?;
            let rank = dims.len() + axes.len();
            let mut at = axes
                .iter()
                .map(|&x| fold::axis(ctx, x, rank))
                .collect::<Result<Vec<_>, _>>()?;
            at.sort_unstable();
            let mut out = dims.clone();
            for &k in &at {
                out.insert(k.min(out.len()), 1);
            }
            out
        } else {
            let rank = dims.len();
            let drop: Vec<usize> = match axes {
                Some(ax) => ax
                    .iter()
                    .map(|&x| fold::axis(ctx, x, rank))
                    .collect::<Result<Vec<_>, _>>()?,
                None => (0..rank).filter(|&k| dims[k] == 1).collect(),
            };
            if let Some(&k) = drop.iter().find(|&&k| dims[k] != 1) {
                return Err(ctx.shape_err(format!("axis {k} of {dims:?} is not 1")));
            }
            let keep_batch = matches!(v, Value::Act(_));
            (0..rank)
                .filter(|k| !drop.contains(k) || (keep_batch && *k == 0))
                .map(|k| dims[k])
                .collect()
        };
        self.reshaped_value(ctx, v, out)
    }

    /// `v` viewed with dimensions `dims` (same element count); a feature
    /// map must keep its batch dimension first.
    pub(crate) fn reshaped_value(
        &self,
        ctx: &NodeCtx,
        v: Value<'a>,
        dims: Vec<u64>,
    ) -> Result<Value<'a>, OnnxErrorKind> {
        match v {
            Value::Const(mut c) => {
                c.dims = dims.iter().map(|&d| d as i64).collect();
                Ok(Value::Const(c))
            }
            Value::Act(a) => {
                if dims.first() != a.dims.first() {
                    return Err(ctx.shape_err(format!(
                        "viewing {:?} as {dims:?} moves the batch dimension",
                        a.dims
                    )));
                }
                if a.pad != [0; 4] {
                    return Err(ctx.shape_err("reshapes the output of a Pad folded into a Conv"));
                }
                Ok(Value::Act(Activation { dims, ..a }))
            }
        }
    }

    /// Transpose: evaluated on constants; on a feature map a view when only
    /// axes of extent 1 move, else a host copy (`ChannelShuffle` for the
    /// N×g×(C/g)×H×W → N×(C/g)×g×H×W swap of ShuffleNet).
    pub(crate) fn transpose(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let v = self.input(ctx, 0)?.clone();
        let rank = match &v {
            Value::Act(a) => a.dims.len(),
            Value::Const(c) => c.dims.len(),
        };
        let perm: Vec<usize> = match ctx.ints("perm")? {
            Some(p) => p
                .iter()
                .map(|&x| fold::axis(ctx, x, rank))
                .collect::<Result<_, _>>()?,
            None => (0..rank).rev().collect(),
        };
        let mut seen = perm.clone();
        seen.sort_unstable();
        if seen != (0..rank).collect::<Vec<_>>() {
            return Err(ctx.bad_attr(
                "perm",
                format!("{perm:?} is not a permutation of {rank} axes"),
            ));
        }
        match v {
            Value::Const(c) => Ok(Value::Const(transpose_constant(ctx, &c, &perm)?)),
            Value::Act(a) => {
                if perm[0] != 0 {
                    return Err(ctx.bad_attr("perm", format!("{perm:?} moves the batch dimension")));
                }
                let out: Vec<u64> = perm.iter().map(|&p| a.dims[p]).collect();
                let order: Vec<usize> = perm.iter().copied().filter(|&p| a.dims[p] != 1).collect();
                if order.windows(2).all(|w| w[0] < w[1]) {
                    return self.reshaped_value(ctx, Value::Act(a), out);
                }
                let op = if rank == 5 && perm == [0, 2, 1, 3, 4] {
                    "ChannelShuffle"
                } else {
                    "Transpose"
                };
                let n = a.fmap.elements();
                self.host_layer(ctx, op, std::slice::from_ref(&a), n, out, 0)
            }
        }
    }

    /// Slice, with starts/ends/axes/steps as attributes (before opset 10)
    /// or inputs. On a feature map, a slice that keeps everything is a
    /// view; any other is a host copy of the part it keeps.
    pub(crate) fn slice(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let v = self.input(ctx, 0)?.clone();
        let arg = |attr: &str, idx: usize| -> Result<Option<Vec<i64>>, OnnxErrorKind> {
            if let Some(a) = ctx.ints(attr)? {
                return Ok(Some(a.to_vec()));
            }
            if self.has_input(ctx, idx) {
                return Ok(Some(self.constant(ctx, idx)?.ints()?));
            }
            Ok(None)
        };
        let starts =
            arg("starts", 1)?.ok_or_else(|| ctx.bad_attr("starts", "required but missing"))?;
        let ends = arg("ends", 2)?.ok_or_else(|| ctx.bad_attr("ends", "required but missing"))?;
        let (axes, steps) = (arg("axes", 3)?, arg("steps", 4)?);
        let dims: Vec<u64> = match &v {
            Value::Act(a) => a.dims.clone(),
            Value::Const(c) => c.dims.iter().map(|&d| d.max(0) as u64).collect(),
        };
        let ranges = fold::slice_ranges(
            ctx,
            &dims,
            &starts,
            &ends,
            axes.as_deref(),
            steps.as_deref(),
        )?;
        let out: Vec<u64> = ranges.iter().map(|&r| fold::range_len(r)).collect();
        match v {
            Value::Const(c) => {
                let n = c.num(ctx)?;
                Ok(Value::Const(
                    fold::slice(&n, &ranges).into_constant(&Self::out_name(ctx)),
                ))
            }
            Value::Act(a) => {
                let whole = ranges
                    .iter()
                    .zip(&a.dims)
                    .all(|(&(s, e, st), &d)| s == 0 && e == d as i64 && st == 1);
                if whole {
                    return Ok(Value::Act(a));
                }
                if out[0] != a.dims[0] || out.contains(&0) {
                    return Err(ctx.shape_err(format!(
                        "slices {:?} to {out:?}; the batch must stay whole and nothing be empty",
                        a.dims
                    )));
                }
                let n = fmap_elements(&out);
                self.host_layer(ctx, ctx.op(), std::slice::from_ref(&a), n, out, 0)
            }
        }
    }

    /// Expand: evaluated on constants; on a feature map a view when the
    /// shape does not grow, else a host copy.
    pub(crate) fn expand(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let shape: Vec<u64> = self
            .constant(ctx, 1)?
            .ints()?
            .iter()
            .map(|&d| d.max(0) as u64)
            .collect();
        match self.input(ctx, 0)?.clone() {
            Value::Const(c) => {
                let x = c.num(ctx)?;
                let target = Num {
                    dims: shape,
                    vals: vec![],
                    int: x.int,
                };
                let dims = fold::broadcast(ctx, &x.dims, &target.dims)?;
                let ones = Num {
                    vals: vec![0.0; dims.iter().product::<u64>().min(FOLD_LIMIT + 1) as usize],
                    dims,
                    int: true,
                };
                let r = fold::elementwise(ctx, &[x, ones], None, |v| v[0])?;
                Ok(Value::Const(r.into_constant(&Self::out_name(ctx))))
            }
            Value::Act(a) => {
                let out = fold::broadcast(ctx, &a.dims, &shape)?;
                if out == a.dims {
                    return Ok(Value::Act(a));
                }
                let n = a.fmap.elements();
                self.host_layer(ctx, ctx.op(), std::slice::from_ref(&a), n, out, 0)
            }
        }
    }

    /// Shape (with opset 15's start and end) and Size, of a feature map or
    /// a constant: a constant. The batch is the imported one.
    pub(crate) fn shape_of(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let dims: Vec<i64> = match self.input(ctx, 0)? {
            Value::Act(a) => a.dims.iter().map(|&d| d as i64).collect(),
            Value::Const(c) => c.dims.clone(),
        };
        let name = Self::out_name(ctx);
        if ctx.op() == "Size" {
            let n = dims.iter().product::<i64>();
            return Ok(Value::Const(Constant {
                name,
                dims: vec![],
                data: ConstData::Ints(vec![n]),
            }));
        }
        let r = dims.len() as i64;
        let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
        let start = clamp(ctx.int("start", 0)?);
        let end = clamp(ctx.int("end", r)?).max(start);
        Ok(Value::Const(
            Num::ints(&dims[start..end]).into_constant(&name),
        ))
    }

    /// Gather on constants (picking dimensions out of a shape).
    pub(crate) fn gather(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let Value::Const(data) = self.input(ctx, 0)?.clone() else {
            return Err(ctx.shape_err(
                "gathers from a feature map (an embedding lookup); eyesim folds Gather only on \
                 constants such as shapes",
            ));
        };
        let idx = self.constant(ctx, 1)?.num(ctx)?;
        let r = fold::gather(ctx, &data.num(ctx)?, &idx, ctx.int("axis", 0)?)?;
        Ok(Value::Const(r.into_constant(&Self::out_name(ctx))))
    }

    /// Range of constant scalars.
    pub(crate) fn range(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let mut s = Vec::with_capacity(3);
        for k in 0..3 {
            let n = self.constant(ctx, k)?.num(ctx)?;
            let [v] = n.vals[..] else {
                return Err(
                    ctx.shape_err(format!("input {k} must be a scalar, found {:?}", n.dims))
                );
            };
            s.push((v, n.int));
        }
        let (start, limit, delta) = (s[0].0, s[1].0, s[2].0);
        if delta == 0.0 {
            return Err(ctx.shape_err("delta is 0"));
        }
        let n = ((limit - start) / delta).ceil().max(0.0);
        if n > FOLD_LIMIT as f64 {
            return Err(ctx.shape_err(format!("{n} elements exceed {FOLD_LIMIT}")));
        }
        let vals: Vec<f64> = (0..n as u64).map(|i| start + i as f64 * delta).collect();
        let r = Num {
            dims: vec![vals.len() as u64],
            vals,
            int: s.iter().all(|x| x.1),
        };
        Ok(Value::Const(r.into_constant(&Self::out_name(ctx))))
    }

    /// Cast: a view of a feature map (eyesim's data are 16-bit whatever the
    /// model's type); constants are converted to integers or floats.
    pub(crate) fn cast(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let v = self.input(ctx, 0)?.clone();
        let Value::Const(c) = v else {
            return Ok(v);
        };
        // TensorProto types FLOAT, FLOAT16, DOUBLE, BFLOAT16.
        let to_float = matches!(ctx.required_int("to")?, 1 | 10 | 11 | 16);
        let is_float = match &c.data {
            ConstData::Floats(_) => true,
            ConstData::Ints(_) => false,
            ConstData::Splat(x) => x.fract() != 0.0,
            ConstData::Tensor(t) => matches!(t.data_type, 1 | 10 | 11 | 16),
        };
        if to_float == is_float {
            return Ok(Value::Const(c));
        }
        let mut n = c.num(ctx)?;
        if !to_float {
            n.vals.iter_mut().for_each(|x| *x = x.trunc());
        }
        n.int = !to_float;
        Ok(Value::Const(n.into_constant(&Self::out_name(ctx))))
    }
}

/// A constant with its axes permuted. Weight values are moved (they may be
/// large, so as `f32`); a tensor without values only changes dimensions.
fn transpose_constant<'a>(
    ctx: &NodeCtx,
    c: &Constant<'a>,
    perm: &[usize],
) -> Result<Constant<'a>, OnnxErrorKind> {
    let dims: Vec<u64> = c.dims.iter().map(|&d| d.max(0) as u64).collect();
    let out_dims: Vec<i64> = perm.iter().map(|&p| c.dims[p]).collect();
    let name = Builder::out_name(ctx);
    let data = match &c.data {
        ConstData::Splat(v) => ConstData::Splat(*v),
        ConstData::Ints(_) => ConstData::Ints(fold::transpose(&c.ints()?, &dims, perm)),
        ConstData::Tensor(t) if matches!(t.data_type, 6 | 7) => {
            ConstData::Ints(fold::transpose(&c.ints()?, &dims, perm))
        }
        _ => match c.values()? {
            None => c.data.clone(),
            Some(v) => ConstData::Floats(fold::transpose(&v, &dims, perm)),
        },
    };
    Ok(Constant {
        name,
        dims: out_dims,
        data,
    })
}
