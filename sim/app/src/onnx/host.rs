//! Host layers: operators the accelerator does not compute (activations
//! other than ReLU, Softmax, LRN, Resize, Split, broadcasting arithmetic,
//! reductions other than global pooling, a Pad no Conv can absorb). Each
//! becomes a `LayerKind::Host` layer that records the values the host reads
//! per image and its operations by the rule of docs/counters.md ("Host
//! layers"); both models count no accelerator access for it.
//! Also Pad folding and the reductions that are global pooling.

use super::attrs::NodeCtx;
use super::convert::{fmap, fmap_elements, fmap_of, Activation, Builder, Value};
use super::error::OnnxErrorKind;
use super::fold;
use crate::workload::{HostOp, LayerKind, PoolKind, PoolParams};

/// Values per image of the feature-map operands.
pub(crate) fn reads_of(acts: &[Activation]) -> u64 {
    acts.iter().map(|a| a.fmap.elements()).sum()
}

impl<'a> Builder<'a> {
    /// Appends a host layer computing `op` from `acts` into a tensor of
    /// `out_dims` (batch first), reading `reads` values and doing `ops`
    /// operations per image.
    pub(crate) fn host_layer(
        &mut self,
        ctx: &NodeCtx,
        op: &str,
        acts: &[Activation],
        reads: u64,
        out_dims: Vec<u64>,
        ops: u64,
    ) -> Result<Value<'a>, OnnxErrorKind> {
        if acts.is_empty() {
            return Err(ctx.shape_err("has no feature-map input"));
        }
        let out = fmap_of(&out_dims).ok_or_else(|| {
            ctx.shape_err(format!(
                "output dimensions {out_dims:?} are empty or overflow"
            ))
        })?;
        let kind = LayerKind::Host(HostOp {
            op: op.to_string(),
            reads,
            ops,
        });
        let refs: Vec<&Activation> = acts.iter().collect();
        let prefix = op.to_ascii_lowercase();
        let Value::Act(mut y) = self.push_layer(ctx, &prefix, kind, &refs, out, 1.0)? else {
            unreachable!("push_layer returns a feature map")
        };
        y.dims = out_dims;
        Ok(Value::Act(y))
    }

    /// A shape-preserving host op on `a`: `ops_per_value` operations per
    /// value, reading `const_reads` constant values besides `a`.
    pub(crate) fn host_unary(
        &mut self,
        ctx: &NodeCtx,
        a: &Activation,
        const_reads: u64,
        ops_per_value: u64,
    ) -> Result<Value<'a>, OnnxErrorKind> {
        let n = a.fmap.elements();
        let reads = n + const_reads;
        self.host_layer(
            ctx,
            ctx.op(),
            std::slice::from_ref(a),
            reads,
            a.dims.clone(),
            n * ops_per_value,
        )
    }

    /// Activations and normalizations computed by the host, one output per
    /// input value. Operations per value: Softmax and LogSoftmax 3 (an
    /// exponential, a sum, a division), LRN `size` + 2 (the squares over
    /// `size` channels, a power, a division), all others 1.
    pub(crate) fn host_activation(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        let (const_reads, per_value) = match ctx.op() {
            "Softmax" | "LogSoftmax" => (0, 3),
            "LRN" => {
                let size = ctx.required_int("size")?;
                let size = u64::try_from(size).ok().filter(|&s| s > 0).ok_or_else(|| {
                    ctx.bad_attr("size", format!("must be positive, found {size}"))
                })?;
                (0, size + 2)
            }
            "PRelu" => (self.constant(ctx, 1)?.elements(), 1),
            _ => (0, 1),
        };
        self.host_unary(ctx, &a, const_reads, per_value)
    }

    /// Resize and Upsample by integer factors along H and W. Operations
    /// per output value: the taps it blends (nearest 0: a copy; linear 2
    /// per resized axis, cubic 4 per resized axis, multiplied together).
    pub(crate) fn resize(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        let rank = a.dims.len();
        let nonempty = |idx: usize| -> Result<Option<fold::Num>, OnnxErrorKind> {
            if !self.has_input(ctx, idx) {
                return Ok(None);
            }
            let c = self.constant(ctx, idx)?;
            (c.elements() > 0).then(|| c.num(ctx)).transpose()
        };
        // Upsample-7 has a `scales` attribute; Resize-10 and Upsample-9 read
        // scales from input 1; Resize-11 on has roi, scales, sizes.
        let (scales, sizes) = if let Some(s) = ctx.floats("scales")? {
            (
                Some(s.iter().map(|&x| f64::from(x)).collect::<Vec<_>>()),
                None,
            )
        } else if ctx.node.input.len() >= 3 {
            (
                nonempty(2)?.map(|n| n.vals),
                nonempty(3)?.map(|n| n.as_ints()),
            )
        } else {
            (nonempty(1)?.map(|n| n.vals), None)
        };
        let out: Vec<u64> = match (sizes, scales) {
            (Some(s), _) if s.len() == rank => s.iter().map(|&x| x.max(0) as u64).collect(),
            (None, Some(s)) if s.len() == rank => a
                .dims
                .iter()
                .zip(&s)
                .map(|(&d, &f)| (d as f64 * f).floor() as u64)
                .collect(),
            _ => {
                return Err(ctx.shape_err(format!(
                    "needs {rank} scales or sizes (one per dimension of {:?})",
                    a.dims
                )))
            }
        };
        let mut resized = 0;
        for (k, (&d, &o)) in a.dims.iter().zip(&out).enumerate() {
            let integer = o >= d && d > 0 && o % d == 0;
            if (k < 2 && o != d) || !integer {
                return Err(ctx.shape_err(format!(
                    "resizes {:?} to {out:?}; eyesim models upsampling of H and W by integer factors",
                    a.dims
                )));
            }
            resized += u32::from(o != d);
        }
        let mode = ctx.string("mode")?.unwrap_or_else(|| "nearest".into());
        let taps = match mode.as_str() {
            "nearest" => 0,
            "linear" | "bilinear" => 2u64.pow(resized),
            "cubic" | "bicubic" => 4u64.pow(resized),
            m => return Err(ctx.bad_attr("mode", format!("unknown mode '{m}'"))),
        };
        let reads = a.fmap.elements();
        let ops = fmap_elements(&out) * taps;
        self.host_layer(ctx, ctx.op(), std::slice::from_ref(&a), reads, out, ops)
    }

    /// Split along a non-batch axis: one host layer per output, each
    /// copying its part (no operations).
    pub(crate) fn split(&mut self, ctx: &NodeCtx<'a>) -> Result<(), OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        let ax = fold::axis(ctx, ctx.int("axis", 0)?, a.dims.len())?;
        if ax == 0 {
            return Err(ctx.bad_attr("axis", "splitting the batch dimension is not supported"));
        }
        let n = ctx.node.output.len() as u64;
        let parts: Vec<u64> = if let Some(s) = ctx.ints("split")? {
            s.iter().map(|&x| x.max(0) as u64).collect()
        } else if self.has_input(ctx, 1) {
            self.constant(ctx, 1)?
                .ints()?
                .iter()
                .map(|&x| x.max(0) as u64)
                .collect()
        } else {
            let d = a.dims[ax];
            let each = d.div_ceil(n.max(1));
            (0..n)
                .map(|k| each.min(d.saturating_sub(k * each)))
                .collect()
        };
        if parts.len() as u64 != n || parts.iter().sum::<u64>() != a.dims[ax] || parts.contains(&0)
        {
            return Err(ctx.shape_err(format!(
                "cannot split dimension {ax} of {:?} into {parts:?} for {n} outputs",
                a.dims
            )));
        }
        let mut outs = Vec::with_capacity(parts.len());
        for &p in &parts {
            let mut dims = a.dims.clone();
            dims[ax] = p;
            let values = fmap_elements(&dims);
            outs.push(self.host_layer(ctx, "Split", std::slice::from_ref(&a), values, dims, 0)?);
        }
        self.set_outputs(ctx, outs)
    }

    /// ReduceMean and ReduceMax over H and W of an N×C×H×W map are global
    /// pooling (GLB-side); other reductions run on the host, one operation
    /// per value read.
    pub(crate) fn reduce(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        let rank = a.dims.len();
        let axes: Vec<i64> = match ctx.ints("axes")? {
            Some(v) => v.to_vec(),
            None if self.has_input(ctx, 1) => self.constant(ctx, 1)?.ints()?,
            None => (0..rank as i64).collect(),
        };
        let mut axes = axes
            .iter()
            .map(|&x| fold::axis(ctx, x, rank))
            .collect::<Result<Vec<_>, _>>()?;
        axes.sort_unstable();
        axes.dedup();
        if axes.contains(&0) {
            return Err(ctx.shape_err(format!(
                "reduces over the batch dimension (axes {axes:?} of {:?})",
                a.dims
            )));
        }
        let keep = ctx.int("keepdims", 1)? != 0;
        let spatial = rank == 4 && axes == [2, 3];
        let pool = match ctx.op() {
            "ReduceMean" => Some(PoolKind::Avg),
            "ReduceMax" => Some(PoolKind::Max),
            _ => None,
        };
        if let (true, Some(kind)) = (spatial, pool) {
            let y = self.global_pool_layer(ctx, &a, kind)?;
            return Ok(match y {
                Value::Act(mut y) if !keep => {
                    y.dims.truncate(2);
                    Value::Act(y)
                }
                y => y,
            });
        }
        let out: Vec<u64> = a
            .dims
            .iter()
            .enumerate()
            .filter_map(|(k, &d)| match (axes.contains(&k), keep) {
                (false, _) => Some(d),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect();
        let n = a.fmap.elements();
        self.host_layer(ctx, ctx.op(), std::slice::from_ref(&a), n, out, n)
    }

    /// Global pooling of an N×C×H×W map: the GLB-side datapath reduces each
    /// plane as it streams.
    pub(crate) fn global_pool_layer(
        &mut self,
        ctx: &NodeCtx,
        a: &Activation,
        kind: PoolKind,
    ) -> Result<Value<'a>, OnnxErrorKind> {
        let params = PoolParams {
            kind,
            kernel: [a.fmap.h, a.fmap.w],
            stride: [1, 1],
            padding: [0; 4],
        };
        let out = fmap(a.dims[1], 1, 1).ok_or_else(|| ctx.shape_err("output shape overflows"))?;
        self.push_layer(ctx, "pool", LayerKind::Pool(params), &[a], out, 1.0)
    }

    /// GlobalAveragePool and GlobalMaxPool.
    pub(crate) fn global_pool(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act4(ctx, 0)?;
        let kind = if ctx.op() == "GlobalMaxPool" {
            PoolKind::Max
        } else {
            PoolKind::Avg
        };
        self.global_pool_layer(ctx, &a, kind)
    }

    /// Pad. Zero padding of H and W whose every reader is a Conv is folded
    /// into those convs' padding (the array pads for free); any other Pad
    /// is a host copy.
    pub(crate) fn pad(&mut self, ctx: &NodeCtx<'a>) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        let rank = a.dims.len();
        let mode = ctx.string("mode")?.unwrap_or_else(|| "constant".into());
        let mut pads: Vec<i64> = match (ctx.ints("pads")?, ctx.ints("paddings")?) {
            (Some(p), _) | (None, Some(p)) => p.to_vec(),
            _ => self.constant(ctx, 1)?.ints()?,
        };
        if self.has_input(ctx, 3) {
            // Pad-18: pads for the listed axes only.
            let axes = self.constant(ctx, 3)?.ints()?;
            if pads.len() != 2 * axes.len() {
                return Err(ctx.shape_err(format!("{} pads for {} axes", pads.len(), axes.len())));
            }
            let mut full = vec![0; 2 * rank];
            for (k, &ax) in axes.iter().enumerate() {
                let ax = fold::axis(ctx, ax, rank)?;
                full[ax] = pads[k];
                full[rank + ax] = pads[axes.len() + k];
            }
            pads = full;
        }
        if pads.len() != 2 * rank {
            return Err(ctx.shape_err(format!("{} pads for a rank-{rank} input", pads.len())));
        }
        let value = match ctx.float("value")? {
            Some(v) => f64::from(v),
            None if self.has_input(ctx, 2) => self
                .constant(ctx, 2)?
                .num(ctx)?
                .vals
                .first()
                .copied()
                .unwrap_or(0.0),
            None => 0.0,
        };
        let mut out = Vec::with_capacity(rank);
        for k in 0..rank {
            let d = a.dims[k] as i64 + pads[k] + pads[rank + k];
            if d < 1 {
                return Err(
                    ctx.shape_err(format!("pads {pads:?} empty dimension {k} of {:?}", a.dims))
                );
            }
            out.push(d as u64);
        }
        let out_name = ctx.node.output.first().map_or("", String::as_str);
        let readers = self.consumers.get(self.root(out_name));
        let only_convs = readers.is_some_and(|r| !r.is_empty() && r.iter().all(|&op| op == "Conv"));
        let zero_hw = mode == "constant"
            && value == 0.0
            && rank == 4
            && pads.iter().all(|&p| p >= 0)
            && [0, 1, 4, 5].iter().all(|&k| pads[k] == 0);
        if zero_hw && only_convs {
            let add = [pads[2], pads[6], pads[3], pads[7]].map(|p| p as u32);
            let mut pad = a.pad;
            for k in 0..4 {
                pad[k] = pad[k].saturating_add(add[k]);
            }
            return Ok(Value::Act(Activation {
                dims: out,
                pad,
                ..a
            }));
        }
        let reads = a.fmap.elements();
        self.host_layer(ctx, "Pad", std::slice::from_ref(&a), reads, out, 0)
    }
}
