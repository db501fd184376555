//! Nodes that fuse into the layer before them (Relu, Clip as ReLU6,
//! BatchNormalization, a per-channel constant added or multiplied after a
//! Conv or Gemm), that combine feature maps (Concat, Add and the other
//! element-wise ops) and that make constants (Constant, ConstantOfShape,
//! arithmetic on constants). What cannot be fused becomes a host layer.

use super::attrs::NodeCtx;
use super::convert::{fmap, fmap_elements, Activation, Builder, Value};
use super::error::OnnxErrorKind;
use super::fold::{self, eval_op};
use super::host::reads_of;
use super::tensor::{ConstData, Constant};
use super::weights::{fold_affine, fold_batch_norm, Affine};
use crate::workload::LayerKind;

impl<'a> Builder<'a> {
    /// Evaluates a node whose inputs are all constants, when its operator
    /// is arithmetic eyesim folds (shape computations, scalars).
    pub(crate) fn fold_constants(
        &mut self,
        ctx: &NodeCtx<'a>,
    ) -> Result<Option<Value<'a>>, OnnxErrorKind> {
        let names: Vec<&String> = ctx.node.input.iter().filter(|i| !i.is_empty()).collect();
        if names.is_empty() || ctx.op() == "Constant" {
            return Ok(None);
        }
        let mut consts = Vec::with_capacity(names.len());
        for name in names {
            match self.values.get(name.as_str()) {
                Some(Value::Const(c)) => consts.push(c),
                _ => return Ok(None),
            }
        }
        if !fold::evaluable(ctx.op()) {
            return Ok(None);
        }
        let nums = consts
            .iter()
            .map(|c| c.num(ctx))
            .collect::<Result<Vec<_>, _>>()?;
        let out = eval_op(ctx, ctx.op(), &nums).unwrap_or_else(|| {
            Err(ctx.shape_err("has the wrong number of inputs for its operator"))
        })?;
        let name = ctx.node.output.first().map_or("", String::as_str);
        Ok(Some(Value::Const(out.into_constant(name))))
    }

    /// The layer whose output a following Relu, Clip, BatchNormalization
    /// or per-channel constant may modify in place: the producer of `a`,
    /// when nobody else reads its raw output.
    fn sole_producer(&self, ctx: &NodeCtx<'a>, a: &Activation) -> Option<usize> {
        let p = a.producer?;
        (self.readers(&ctx.node.input[0]) <= 1).then_some(p)
    }

    /// Relu: applied by the producing layer as its ofmap leaves (no access
    /// of its own, as on the chip), or by the host when it cannot be.
    pub(crate) fn relu(&mut self, ctx: &NodeCtx<'a>) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        match self.fusable_relu(ctx, &a) {
            Some(p) => {
                self.fuse_relu(p);
                Ok(Value::Act(a))
            }
            None => self.host_unary(ctx, &a, 0, 1),
        }
    }

    /// The producer a ReLU can be fused into: any layer that writes its
    /// ofmap through the output path (array, GLB-side or host), not a
    /// concatenation, which has none.
    fn fusable_relu(&self, ctx: &NodeCtx<'a>, a: &Activation) -> Option<usize> {
        let p = self.sole_producer(ctx, a)?;
        (!matches!(self.layers[p].kind, LayerKind::Concat)).then_some(p)
    }

    fn fuse_relu(&mut self, p: usize) {
        let l = &mut self.layers[p];
        if let LayerKind::Host(h) = &mut l.kind {
            // The host computes the ReLU: one operation per value.
            h.ops += l.output.elements();
        }
        l.relu = true;
    }

    /// Clip. With a lower bound of 0 it is ReLU6 (or another capped ReLU):
    /// fused like Relu, the cap being a clamp on the same output path; its
    /// access counts are those of a ReLU. Other bounds run on the host.
    pub(crate) fn clip(&mut self, ctx: &NodeCtx<'a>) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        let bound = |attr: &str, idx: usize, default: f64| -> Result<f64, OnnxErrorKind> {
            if let Some(v) = ctx.float(attr)? {
                return Ok(f64::from(v));
            }
            if !self.has_input(ctx, idx) {
                return Ok(default);
            }
            let c = self.constant(ctx, idx)?.num(ctx)?;
            match c.vals[..] {
                [v] => Ok(v),
                _ => Err(ctx.shape_err(format!("'{attr}' must be a scalar, found {:?}", c.dims))),
            }
        };
        let (lo, hi) = (bound("min", 1, f64::MIN)?, bound("max", 2, f64::MAX)?);
        match self.fusable_relu(ctx, &a) {
            Some(p) if lo == 0.0 => {
                if self.keep_values && hi < f64::MAX {
                    return Err(ctx.shape_err(format!(
                        "Clip(0, {hi}) would be fused as a ReLU, but the chip's datapath does not \
                         apply the upper bound; this command executes the model"
                    )));
                }
                self.fuse_relu(p);
                Ok(Value::Act(a))
            }
            _ => self.host_unary(ctx, &a, 0, 1),
        }
    }

    /// Folds inference-mode batch normalization into the preceding conv or
    /// FC layer: it only rescales weights and adds a bias, which changes no
    /// access count. A per-channel scale of zero would zero whole filters;
    /// that effect on weight density is not modelled. Anywhere else (after
    /// a concatenation, as in DenseNet) it runs on the host: one
    /// multiply-add per value, reading a scale and a shift per channel.
    pub(crate) fn batch_norm(&mut self, ctx: &NodeCtx<'a>) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        let mut params = Vec::with_capacity(4);
        for idx in 1..5 {
            let c = self.constant(ctx, idx)?;
            if c.elements() != a.dims.get(1).copied().unwrap_or(0) {
                return Err(ctx.shape_err(format!(
                    "parameter '{}' has {} elements, but the input has {:?} dimensions",
                    c.name,
                    c.elements(),
                    a.dims
                )));
            }
            params.push(c);
        }
        let Some(p) = self.sole_producer(ctx, &a).filter(|&p| self.foldable(p)) else {
            let channels = a.dims[1];
            return self.host_unary(ctx, &a, 2 * channels, 1);
        };
        if self.keep_values {
            let epsilon = ctx.float("epsilon")?.unwrap_or(1e-5);
            if let Some(w) = self.weights[p].as_mut() {
                let [s, b, m, v] = [&params[0], &params[1], &params[2], &params[3]];
                fold_batch_norm(ctx, w, [s, b, m, v], epsilon)?;
            }
        }
        Ok(Value::Act(a))
    }

    /// Whether layer `p` is a conv or FC layer without a ReLU yet, whose
    /// weights and bias can absorb an affine map of its output.
    fn foldable(&self, p: usize) -> bool {
        let l = &self.layers[p];
        matches!(
            l.kind,
            LayerKind::Conv(_) | LayerKind::FullyConnected { .. }
        ) && !l.relu
    }

    pub(crate) fn concat(&mut self, ctx: &NodeCtx<'a>) -> Result<Value<'a>, OnnxErrorKind> {
        let axis = ctx.required_int("axis")?;
        let all_const =
            (0..ctx.node.input.len()).all(|i| matches!(self.input(ctx, i), Ok(Value::Const(_))));
        if all_const {
            let nums = (0..ctx.node.input.len())
                .map(|i| self.constant(ctx, i)?.num(ctx))
                .collect::<Result<Vec<_>, _>>()?;
            let name = ctx.node.output.first().map_or("", String::as_str);
            return Ok(Value::Const(
                fold::concat(ctx, &nums, axis)?.into_constant(name),
            ));
        }
        let acts = (0..ctx.node.input.len())
            .map(|i| self.act(ctx, i))
            .collect::<Result<Vec<_>, _>>()?;
        let Some(first) = acts.first() else {
            return Err(ctx.shape_err("has no inputs"));
        };
        let rank = first.dims.len();
        if !(rank == 4 || rank == 2) || fold::axis(ctx, axis, rank)? != 1 {
            return Err(ctx.bad_attr(
                "axis",
                format!(
                    "only the channel axis (1) of N×C×H×W or N×K maps is supported, found {axis} \
                     on {:?}",
                    first.dims
                ),
            ));
        }
        for (i, a) in acts.iter().enumerate().skip(1) {
            if a.dims.len() != rank || a.dims[2..] != first.dims[2..] {
                return Err(ctx.shape_err(format!(
                    "inputs must agree in height and width: '{}' is {} but '{}' is {}",
                    ctx.node.input[0], first.fmap, ctx.node.input[i], a.fmap
                )));
            }
        }
        if acts.len() == 1 {
            return Ok(Value::Act(acts[0].clone()));
        }
        let c: u64 = acts.iter().map(|a| a.dims[1]).sum();
        let (h, w) = if rank == 4 {
            (first.dims[2], first.dims[3])
        } else {
            (1, 1)
        };
        let out =
            fmap(c, h, w).ok_or_else(|| ctx.shape_err(format!("{c} output channels overflow")))?;
        let refs: Vec<&Activation> = acts.iter().collect();
        let mut y = self.push_layer(ctx, "concat", LayerKind::Concat, &refs, out, 1.0)?;
        if let Value::Act(y) = &mut y {
            y.dims.truncate(rank);
            y.dims[1] = c;
        }
        Ok(y)
    }

    /// Add, Sum, Sub, Mul and Div. Equally shaped feature maps added
    /// together are an Add layer (GLB-side); a per-channel constant after a
    /// Conv or Gemm folds into its weights and bias; everything else
    /// (broadcasting, products of feature maps, input normalization) runs
    /// on the host.
    pub(crate) fn binary(&mut self, ctx: &NodeCtx<'a>) -> Result<Value<'a>, OnnxErrorKind> {
        let mut acts = Vec::new();
        let mut consts = Vec::new();
        for i in 0..ctx.node.input.len() {
            match self.input(ctx, i)? {
                Value::Act(_) => acts.push(self.act(ctx, i)?),
                Value::Const(c) => consts.push((i, c.clone())),
            }
        }
        let is_add = matches!(ctx.op(), "Add" | "Sum");
        if consts.is_empty() && is_add && acts.len() > 1 {
            if acts.iter().all(|a| a.dims == acts[0].dims) {
                let refs: Vec<&Activation> = acts.iter().collect();
                let out = acts[0].fmap;
                return self.push_layer(ctx, "add", LayerKind::Add, &refs, out, 1.0);
            }
        } else if let ([a], [(k, c)]) = (acts.as_slice(), consts.as_slice()) {
            // x - c and x / c fold; c - x and c / x do not.
            let commutes = *k == 1 || matches!(ctx.op(), "Add" | "Sum" | "Mul");
            if commutes {
                if let Some(v) = self.affine_fold(ctx, a, c)? {
                    return Ok(v);
                }
            }
        }
        let mut dims: Vec<u64> = Vec::new();
        for a in &acts {
            dims = fold::broadcast(ctx, &dims, &a.dims)?;
        }
        let mut const_reads = 0;
        for (_, c) in &consts {
            let cd: Vec<u64> = c.dims.iter().map(|&d| d as u64).collect();
            dims = fold::broadcast(ctx, &dims, &cd)?;
            const_reads += c.elements();
        }
        if dims.first() != acts.first().and_then(|a| a.dims.first()) {
            return Err(ctx.shape_err(format!(
                "broadcasting to {dims:?} changes the batch dimension"
            )));
        }
        let reads = reads_of(&acts) + const_reads;
        let ops = fmap_elements(&dims);
        self.host_layer(ctx, ctx.op(), &acts, reads, dims, ops)
    }

    /// Folds `a op c` into the producing conv/FC layer when `c` is one value
    /// per output channel (or a scalar): the layer computes it for free.
    fn affine_fold(
        &mut self,
        ctx: &NodeCtx<'a>,
        a: &Activation,
        c: &Constant<'a>,
    ) -> Result<Option<Value<'a>>, OnnxErrorKind> {
        let Some(p) = self.sole_producer(ctx, a).filter(|&p| self.foldable(p)) else {
            return Ok(None);
        };
        let rank = a.dims.len();
        let cd: Vec<u64> = c.dims.iter().map(|&d| d.max(0) as u64).collect();
        if cd.len() > rank || rank < 2 {
            return Ok(None);
        }
        let off = rank - cd.len();
        let per_channel = cd
            .iter()
            .enumerate()
            .all(|(i, &d)| d == 1 || (i + off == 1 && d == a.dims[1]));
        if !per_channel {
            return Ok(None);
        }
        let op = match ctx.op() {
            "Add" | "Sum" => Affine::Add,
            "Sub" => Affine::Sub,
            "Mul" => Affine::Mul,
            _ => Affine::Div,
        };
        if self.keep_values {
            let v = c.num(ctx)?.vals;
            if let Some(w) = self.weights[p].as_mut() {
                fold_affine(ctx, w, op, &v)?;
            }
        }
        Ok(Some(Value::Act(a.clone())))
    }

    pub(crate) fn constant_node(&self, ctx: &NodeCtx<'a>) -> Result<Constant<'a>, OnnxErrorKind> {
        let name = ctx.node.output.first().cloned().unwrap_or_default();
        if let Some(t) = ctx.tensor("value")? {
            return Constant::from_tensor(&name, t);
        }
        let (dims, data) = if let Some(v) = ctx.ints("value_ints")? {
            (vec![v.len() as i64], ConstData::Ints(v.to_vec()))
        } else if let Some(v) = ctx.floats("value_floats")? {
            (vec![v.len() as i64], ConstData::Floats(v.to_vec()))
        } else if ctx.node.attribute.iter().any(|a| a.name == "value_int") {
            (vec![], ConstData::Ints(vec![ctx.int("value_int", 0)?]))
        } else if let Some(v) = ctx.float("value_float")? {
            (vec![], ConstData::Floats(vec![v]))
        } else {
            return Err(ctx.bad_attr(
                "value",
                "Constant needs value, value_int(s) or value_float(s)",
            ));
        };
        Ok(Constant { name, dims, data })
    }

    pub(crate) fn constant_of_shape(
        &self,
        ctx: &NodeCtx<'a>,
    ) -> Result<Constant<'a>, OnnxErrorKind> {
        let shape = self.constant(ctx, 0)?.ints()?;
        if shape.iter().any(|&d| d < 0) {
            return Err(ctx.shape_err(format!("negative dimension in shape {shape:?}")));
        }
        let name = ctx.node.output.first().cloned().unwrap_or_default();
        let value = match ctx.tensor("value")? {
            None => 0.0,
            Some(t) => {
                let c = Constant::from_tensor(&name, t)?;
                if c.elements() != 1 {
                    return Err(ctx.bad_attr("value", "must hold exactly one element"));
                }
                c.num(ctx)?.vals[0]
            }
        };
        Ok(Constant {
            name,
            dims: shape,
            data: ConstData::Splat(value),
        })
    }
}
