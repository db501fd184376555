//! The graph walk: ONNX values are tracked as feature maps (with the layer
//! that produced them) or constants, and each node either adds a layer,
//! modifies the producing layer (Relu, BatchNormalization) or only reshapes.
//!
//! Shapes are propagated from the graph input alone; `value_info` is never
//! read, because exporters often leave it stale or incomplete.

use std::collections::{HashMap, HashSet};

use super::attrs::NodeCtx;
use super::error::OnnxErrorKind;
use super::proto::tensor_shape_proto::dimension::Value as Dim;
use super::proto::type_proto::Value as TypeValue;
use super::proto::{GraphProto, ModelProto, ValueInfoProto};
use super::tensor::{ConstData, Constant};
use super::weights::{fold_batch_norm, LayerWeights};
use crate::workload::{FmapShape, Layer, LayerKind, Network, Sparsity};

/// Operators `eyesim import` understands.
pub const SUPPORTED_OPS: &str = "Conv, Gemm, MatMul, MaxPool, AveragePool, \
GlobalAveragePool, Relu, BatchNormalization, Concat, Add, Sum, Flatten, Reshape, Dropout, \
LRN, Softmax, Identity, Constant, ConstantOfShape";

/// A feature map flowing between layers.
#[derive(Debug, Clone)]
pub(crate) struct Activation {
    /// ONNX dimensions, batch first.
    pub dims: Vec<u64>,
    /// The per-image feature map the producing layer writes. Flatten and
    /// Reshape change `dims` but not the data, so a following FC layer still
    /// sees the C×H×W map it reads from memory.
    pub fmap: FmapShape,
    /// Index of the producing layer; None for the network input.
    pub producer: Option<usize>,
}

/// What an ONNX value name stands for.
#[derive(Debug, Clone)]
pub(crate) enum Value<'a> {
    Act(Activation),
    Const(Constant<'a>),
}

/// Conversion state.
pub(crate) struct Builder<'a> {
    pub values: HashMap<&'a str, Value<'a>>,
    pub layers: Vec<Layer>,
    names: HashSet<String>,
    /// Value-preserving aliases (Identity, Dropout, Flatten, Reshape output
    /// → the value they view).
    roots: HashMap<&'a str, &'a str>,
    /// How many other nodes read each root value or one of its aliases:
    /// Relu and BatchNormalization may only modify a layer whose raw output
    /// nobody else reads.
    consumers: HashMap<&'a str, usize>,
    pub batch: u32,
    /// Decode weight values (for commands that execute the model).
    pub keep_values: bool,
    /// Per layer, its weights when `keep_values` and it has any.
    pub weights: Vec<Option<LayerWeights>>,
}

/// Converts a decoded model into a network called `name`, with the array
/// layers' weights when `keep_values`.
pub(crate) fn convert(
    model: &ModelProto,
    name: &str,
    keep_values: bool,
) -> Result<(Network, Vec<Option<LayerWeights>>), OnnxErrorKind> {
    let graph = model.graph.as_ref().ok_or(OnnxErrorKind::NoGraph)?;
    let mut b = Builder {
        values: HashMap::new(),
        layers: Vec::new(),
        names: HashSet::from(["input".to_string()]),
        roots: HashMap::new(),
        consumers: HashMap::new(),
        batch: 1,
        keep_values,
        weights: Vec::new(),
    };
    for t in &graph.initializer {
        b.values.insert(
            t.name.as_str(),
            Value::Const(Constant::from_tensor(&t.name, t)?),
        );
    }
    let input = b.add_graph_input(graph)?;
    b.count_consumers(graph);
    for (i, node) in graph.node.iter().enumerate() {
        b.node(&NodeCtx::new(i, node))?;
    }
    if b.layers.is_empty() {
        return Err(OnnxErrorKind::Input(
            "the graph has no Conv, Gemm, MatMul, pooling, Add or Concat node".into(),
        ));
    }
    let net = Network {
        name: name.to_string(),
        batch: b.batch,
        input,
        layers: b.layers,
    };
    Ok((net, b.weights))
}

impl<'a> Builder<'a> {
    /// Registers the one graph input that is not an initializer and returns
    /// its per-image shape; sets the batch from its first dimension.
    fn add_graph_input(&mut self, graph: &'a GraphProto) -> Result<FmapShape, OnnxErrorKind> {
        let inputs: Vec<&ValueInfoProto> = graph
            .input
            .iter()
            .filter(|i| !self.values.contains_key(i.name.as_str()))
            .collect();
        let [input] = inputs.as_slice() else {
            let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
            return Err(OnnxErrorKind::Input(format!(
                "expected exactly one non-initializer input (the image batch), found {names:?}"
            )));
        };
        let dims = input_dims(input)?;
        self.batch = dims[0].unwrap_or(1);
        let mut concrete = vec![u64::from(self.batch)];
        for (i, d) in dims.iter().enumerate().skip(1) {
            let d = d.ok_or_else(|| {
                OnnxErrorKind::Input(format!(
                    "dimension {i} of '{}' is not a positive number; eyesim needs concrete C, H, W",
                    input.name
                ))
            })?;
            concrete.push(u64::from(d));
        }
        let fmap = match concrete[1..] {
            [c, h, w] => fmap(c, h, w),
            [k] => fmap(k, 1, 1),
            _ => None,
        }
        .ok_or_else(|| {
            OnnxErrorKind::Input(format!(
                "'{}' must be N×C×H×W or N×K, found {} dimensions",
                input.name,
                dims.len()
            ))
        })?;
        self.values.insert(
            input.name.as_str(),
            Value::Act(Activation {
                dims: concrete,
                fmap,
                producer: None,
            }),
        );
        Ok(fmap)
    }

    fn root(&self, mut name: &'a str) -> &'a str {
        while let Some(r) = self.roots.get(name) {
            name = r;
        }
        name
    }

    fn count_consumers(&mut self, graph: &'a GraphProto) {
        for node in &graph.node {
            let viewed = node.input.first().filter(|i| !i.is_empty());
            let out = node.output.first().filter(|o| !o.is_empty());
            let is_view = matches!(
                node.op_type.as_str(),
                "Identity" | "Dropout" | "Flatten" | "Reshape"
            );
            if let (true, Some(i), Some(o)) = (is_view, viewed, out) {
                let r = self.root(i);
                self.roots.insert(o.as_str(), r);
                continue;
            }
            for i in node.input.iter().filter(|i| !i.is_empty()) {
                *self.consumers.entry(self.root(i)).or_default() += 1;
            }
        }
    }

    fn node(&mut self, ctx: &NodeCtx<'a>) -> Result<(), OnnxErrorKind> {
        let node = ctx.node;
        if !matches!(node.domain.as_str(), "" | "ai.onnx") {
            return Err(self.unsupported(ctx));
        }
        let out = match ctx.op() {
            "Conv" => self.conv(ctx)?,
            "Gemm" => self.gemm(ctx)?,
            "MatMul" => self.matmul(ctx)?,
            "MaxPool" | "AveragePool" => self.pool(ctx)?,
            "GlobalAveragePool" => self.global_avg_pool(ctx)?,
            "Relu" => self.relu(ctx)?,
            "BatchNormalization" => self.batch_norm(ctx)?,
            "Concat" => self.concat(ctx)?,
            "Add" | "Sum" => self.add(ctx)?,
            "Flatten" => self.flatten(ctx)?,
            "Reshape" => self.reshape(ctx)?,
            "Dropout" | "LRN" | "Softmax" | "Identity" => self.input(ctx, 0)?.clone(),
            "Constant" => Value::Const(self.constant_node(ctx)?),
            "ConstantOfShape" => Value::Const(self.constant_of_shape(ctx)?),
            _ => return Err(self.unsupported(ctx)),
        };
        let name = node
            .output
            .first()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| ctx.shape_err("the node has no output"))?;
        self.values.insert(name.as_str(), out);
        Ok(())
    }

    fn unsupported(&self, ctx: &NodeCtx) -> OnnxErrorKind {
        let op = match ctx.node.domain.as_str() {
            "" | "ai.onnx" => ctx.op().to_string(),
            d => format!("{d}::{}", ctx.op()),
        };
        OnnxErrorKind::Unsupported {
            node: ctx.label.clone(),
            op,
            supported: SUPPORTED_OPS,
        }
    }

    /// The value read by input `idx` of the node.
    pub fn input(&self, ctx: &NodeCtx, idx: usize) -> Result<&Value<'a>, OnnxErrorKind> {
        let name = ctx.node.input.get(idx).map_or("", String::as_str);
        if name.is_empty() {
            return Err(ctx.shape_err(format!("input {idx} is missing")));
        }
        self.values.get(name).ok_or_else(|| ctx.missing(name))
    }

    /// Input `idx`, which must be a feature map.
    pub fn act(&self, ctx: &NodeCtx, idx: usize) -> Result<Activation, OnnxErrorKind> {
        match self.input(ctx, idx)? {
            Value::Act(a) => Ok(a.clone()),
            Value::Const(c) => Err(ctx.shape_err(format!(
                "input '{}' must be a feature map, but it is a constant",
                c.name
            ))),
        }
    }

    /// Input `idx`, which must be a constant (initializer or Constant output).
    pub fn constant(&self, ctx: &NodeCtx, idx: usize) -> Result<Constant<'a>, OnnxErrorKind> {
        match self.input(ctx, idx)? {
            Value::Const(c) => Ok(c.clone()),
            Value::Act(_) => Err(ctx.shape_err(format!(
                "input '{}' must be an initializer or constant (weights, shapes), but it is computed",
                ctx.node.input[idx]
            ))),
        }
    }

    /// Input `idx` as an N×C×H×W feature map.
    pub fn act4(&self, ctx: &NodeCtx, idx: usize) -> Result<Activation, OnnxErrorKind> {
        let a = self.act(ctx, idx)?;
        if a.dims.len() != 4 {
            return Err(ctx.shape_err(format!(
                "expects an N×C×H×W input, found dimensions {:?}",
                a.dims
            )));
        }
        Ok(a)
    }

    /// Appends a layer named after the node (or `<prefix><n>`) and returns
    /// the feature map it outputs.
    pub fn push_layer(
        &mut self,
        ctx: &NodeCtx,
        prefix: &str,
        kind: LayerKind,
        inputs: &[&Activation],
        output: FmapShape,
        weight_density: f64,
    ) -> Result<Value<'a>, OnnxErrorKind> {
        let producers = layer_inputs(ctx, inputs)?;
        let name = self.layer_name(&ctx.node.name, prefix);
        self.weights.push(None);
        self.layers.push(Layer {
            name,
            kind,
            inputs: producers,
            input: inputs[0].fmap,
            output,
            relu: false,
            sparsity: Sparsity {
                weight_density,
                ..Sparsity::DENSE
            },
            precision_bits: 16,
        });
        Ok(Value::Act(Activation {
            dims: vec![
                u64::from(self.batch),
                u64::from(output.c),
                u64::from(output.h),
                u64::from(output.w),
            ],
            fmap: output,
            producer: Some(self.layers.len() - 1),
        }))
    }

    fn layer_name(&mut self, node_name: &str, prefix: &str) -> String {
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        let cleaned: String = node_name
            .chars()
            .map(|c| if ok(c) { c } else { '_' })
            .collect();
        let node_name = cleaned.trim_matches('_');
        let base = if node_name.is_empty() {
            let n = self
                .layers
                .iter()
                .filter(|l| l.name.starts_with(prefix))
                .count();
            format!("{prefix}{}", n + 1)
        } else {
            node_name.to_string()
        };
        let mut name = base.clone();
        let mut k = 2;
        while self.names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// The layer whose output `Relu`/`BatchNormalization` modifies in place.
    fn sole_producer(&self, ctx: &NodeCtx<'a>, a: &Activation) -> Result<usize, OnnxErrorKind> {
        let Some(p) = a.producer else {
            return Err(ctx.shape_err("cannot be applied to the network input"));
        };
        let input = self.root(&ctx.node.input[0]);
        if self.consumers.get(input).copied().unwrap_or(0) > 1 {
            return Err(ctx.shape_err(format!(
                "'{input}' is also read by another node before this {}; eyesim cannot keep both versions",
                ctx.op()
            )));
        }
        Ok(p)
    }

    fn relu(&mut self, ctx: &NodeCtx<'a>) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        let p = self.sole_producer(ctx, &a)?;
        self.layers[p].relu = true;
        Ok(Value::Act(a))
    }

    /// Folds inference-mode batch normalization into the preceding conv or
    /// FC layer: it only rescales weights and adds a bias, which changes no
    /// access count. A per-channel scale of zero would zero whole filters;
    /// that effect on weight density is not modelled.
    fn batch_norm(&mut self, ctx: &NodeCtx<'a>) -> Result<Value<'a>, OnnxErrorKind> {
        let a = self.act(ctx, 0)?;
        let p = self.sole_producer(ctx, &a)?;
        let layer = &self.layers[p];
        if !matches!(
            layer.kind,
            LayerKind::Conv(_) | LayerKind::FullyConnected { .. }
        ) || layer.relu
        {
            return Err(ctx.shape_err(format!(
                "can only be folded into a Conv or Gemm/MatMul directly before it, but follows layer '{}' ({}{})",
                layer.name,
                layer.kind.name(),
                if layer.relu { " with ReLU" } else { "" }
            )));
        }
        let mut params = Vec::with_capacity(4);
        for idx in 1..5 {
            let c = self.constant(ctx, idx)?;
            if c.elements() != u64::from(a.fmap.c) {
                return Err(ctx.shape_err(format!(
                    "parameter '{}' has {} elements, but the input has {} channels",
                    c.name,
                    c.elements(),
                    a.fmap.c
                )));
            }
            params.push(c);
        }
        if self.keep_values {
            let epsilon = ctx.float("epsilon")?.unwrap_or(1e-5);
            if let Some(w) = self.weights[p].as_mut() {
                let [s, b, m, v] = [&params[0], &params[1], &params[2], &params[3]];
                fold_batch_norm(ctx, w, [s, b, m, v], epsilon)?;
            }
        }
        Ok(Value::Act(a))
    }

    fn concat(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let axis = ctx.required_int("axis")?;
        if axis != 1 && axis != -3 {
            return Err(ctx.bad_attr(
                "axis",
                format!("only the channel axis (1) is supported, found {axis}"),
            ));
        }
        let acts = (0..ctx.node.input.len())
            .map(|i| self.act4(ctx, i))
            .collect::<Result<Vec<_>, _>>()?;
        if acts.is_empty() {
            return Err(ctx.shape_err("has no inputs"));
        }
        let first = &acts[0];
        for (i, a) in acts.iter().enumerate().skip(1) {
            if a.dims[2..] != first.dims[2..] {
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
        let out = fmap(c, first.dims[2], first.dims[3])
            .ok_or_else(|| ctx.shape_err(format!("{c} output channels overflow")))?;
        let refs: Vec<&Activation> = acts.iter().collect();
        self.push_layer(ctx, "concat", LayerKind::Concat, &refs, out, 1.0)
    }

    /// Element-wise addition of feature maps. A constant operand is a bias
    /// (as in MatMul + Add), which costs nothing here, so the node passes
    /// its single feature-map input through.
    fn add(&mut self, ctx: &NodeCtx) -> Result<Value<'a>, OnnxErrorKind> {
        let mut acts = Vec::new();
        let mut has_const = false;
        for i in 0..ctx.node.input.len() {
            match self.input(ctx, i)? {
                Value::Act(a) => acts.push(a.clone()),
                Value::Const(_) => has_const = true,
            }
        }
        match acts.len() {
            0 => return Err(ctx.shape_err("all inputs are constants; nothing to compute")),
            1 => return Ok(Value::Act(acts.remove(0))),
            _ if has_const => {
                return Err(ctx.shape_err("mixes a constant with several feature maps"));
            }
            _ => {}
        }
        let first = &acts[0];
        for (i, a) in acts.iter().enumerate().skip(1) {
            if a.dims != first.dims {
                return Err(ctx.shape_err(format!(
                    "inputs must have equal shapes: '{}' is {:?} but '{}' is {:?}",
                    ctx.node.input[0], first.dims, ctx.node.input[i], a.dims
                )));
            }
        }
        let refs: Vec<&Activation> = acts.iter().collect();
        let out = first.fmap;
        self.push_layer(ctx, "add", LayerKind::Add, &refs, out, 1.0)
    }

    fn constant_node(&self, ctx: &NodeCtx<'a>) -> Result<Constant<'a>, OnnxErrorKind> {
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
            (vec![], ConstData::Splat(f64::from(v)))
        } else {
            return Err(ctx.bad_attr(
                "value",
                "Constant needs value, value_int(s) or value_float(s)",
            ));
        };
        Ok(Constant { name, dims, data })
    }

    fn constant_of_shape(&self, ctx: &NodeCtx<'a>) -> Result<Constant<'a>, OnnxErrorKind> {
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
                // Integer fills may become shapes; for floats only zero-ness matters.
                match c.ints() {
                    Ok(v) => v[0] as f64,
                    Err(_) => c.density()?,
                }
            }
        };
        Ok(Constant {
            name,
            dims: shape,
            data: ConstData::Splat(value),
        })
    }
}

/// Producer indices for a new layer; empty when it reads the network input.
fn layer_inputs(ctx: &NodeCtx, inputs: &[&Activation]) -> Result<Vec<usize>, OnnxErrorKind> {
    match inputs {
        [single] => Ok(single.producer.into_iter().collect()),
        many => many
            .iter()
            .map(|a| {
                a.producer.ok_or_else(|| {
                    ctx.shape_err("cannot combine the network input with other feature maps")
                })
            })
            .collect(),
    }
}

/// A per-image shape, if every extent fits in u32 and is positive.
pub(crate) fn fmap(c: u64, h: u64, w: u64) -> Option<FmapShape> {
    let f = |x: u64| u32::try_from(x).ok().filter(|&x| x > 0);
    Some(FmapShape {
        c: f(c)?,
        h: f(h)?,
        w: f(w)?,
    })
}

/// The declared dimensions of a graph input; `None` for symbolic or
/// non-positive ones.
fn input_dims(input: &ValueInfoProto) -> Result<Vec<Option<u32>>, OnnxErrorKind> {
    let shape = input.r#type.as_ref().and_then(|t| match &t.value {
        Some(TypeValue::TensorType(tt)) => tt.shape.as_ref(),
        None => None,
    });
    let shape = shape
        .ok_or_else(|| OnnxErrorKind::Input(format!("'{}' has no tensor shape", input.name)))?;
    if shape.dim.is_empty() {
        return Err(OnnxErrorKind::Input(format!(
            "'{}' is a scalar",
            input.name
        )));
    }
    Ok(shape
        .dim
        .iter()
        .map(|d| match d.value {
            Some(Dim::DimValue(v)) if v > 0 => u32::try_from(v).ok(),
            _ => None,
        })
        .collect())
}
