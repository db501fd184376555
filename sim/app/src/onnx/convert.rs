//! The graph walk: ONNX values are tracked as feature maps (with the layer
//! that produced them) or constants, and each node either adds a layer,
//! modifies the producing layer (Relu, BatchNormalization), folds into
//! constants (shape arithmetic) or only views a feature map differently.
//!
//! Shapes are propagated from the graph input alone; `value_info` is never
//! read, because exporters often leave it stale or incomplete.

use std::collections::{HashMap, HashSet};

use super::attrs::NodeCtx;
use super::error::OnnxErrorKind;
use super::ops::{flag_host_op, SUPPORTED_OPS};
use super::proto::tensor_shape_proto::dimension::Value as Dim;
use super::proto::type_proto::Value as TypeValue;
use super::proto::{GraphProto, ModelProto, ValueInfoProto};
use super::tensor::Constant;
use super::weights::LayerWeights;
use super::ImportOptions;
use crate::workload::{FmapShape, Layer, LayerKind, Network, Sparsity};

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
    /// Zero padding (top, bottom, left, right) of a Pad node that the
    /// consuming Conv takes over; `dims` include it.
    pub pad: [u32; 4],
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
    /// Value-preserving aliases (Identity, Dropout, Flatten, Reshape, ...
    /// output → the value they view).
    roots: HashMap<&'a str, &'a str>,
    /// The op types of the nodes that read each root value or one of its
    /// aliases: Relu and BatchNormalization may only modify a layer whose
    /// raw output nobody else reads, and a Pad is folded only into Convs.
    pub consumers: HashMap<&'a str, Vec<&'a str>>,
    pub batch: u32,
    /// Decode weight values (for commands that execute the model).
    pub keep_values: bool,
    /// Import the shape-preserving element-wise ops of
    /// [`super::ops::FLAG_HOST_OPS`] as host work.
    pub allow_host_ops: bool,
    /// Per layer, its weights when `keep_values` and it has any.
    pub weights: Vec<Option<LayerWeights>>,
}

/// Ops that only view their first input under another shape or name.
const VIEW_OPS: &[&str] = &[
    "Identity",
    "Dropout",
    "Flatten",
    "Reshape",
    "Unsqueeze",
    "Squeeze",
    "Cast",
];

/// Converts a decoded model into a network called `name`, with the array
/// layers' weights when `keep_values`.
pub(crate) fn convert(
    model: &ModelProto,
    name: &str,
    keep_values: bool,
    opts: &ImportOptions,
) -> Result<(Network, Vec<Option<LayerWeights>>), OnnxErrorKind> {
    let graph = model.graph.as_ref().ok_or(OnnxErrorKind::NoGraph)?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| matches!(o.domain.as_str(), "" | "ai.onnx"))
        .map_or(1, |o| o.version);
    let mut b = Builder {
        values: HashMap::new(),
        layers: Vec::new(),
        names: HashSet::from(["input".to_string()]),
        roots: HashMap::new(),
        consumers: HashMap::new(),
        batch: 1,
        keep_values,
        allow_host_ops: opts.allow_host_ops,
        weights: Vec::new(),
    };
    for t in &graph.initializer {
        b.values.insert(
            t.name.as_str(),
            Value::Const(Constant::from_tensor(&t.name, t)?),
        );
    }
    let input = b.add_graph_input(graph, opts.batch)?;
    b.count_consumers(graph);
    for (i, node) in graph.node.iter().enumerate() {
        b.node(&NodeCtx::new(i, node, opset))?;
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
    /// its per-image shape; sets the batch from its first dimension, or
    /// from `batch` when that dimension is symbolic.
    fn add_graph_input(
        &mut self,
        graph: &'a GraphProto,
        batch: Option<u32>,
    ) -> Result<FmapShape, OnnxErrorKind> {
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
        self.batch = dims[0].or(batch).unwrap_or(1);
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
                pad: [0; 4],
            }),
        );
        Ok(fmap)
    }

    pub fn root(&self, mut name: &'a str) -> &'a str {
        while let Some(r) = self.roots.get(name) {
            name = r;
        }
        name
    }

    fn count_consumers(&mut self, graph: &'a GraphProto) {
        for node in &graph.node {
            let viewed = node.input.first().filter(|i| !i.is_empty());
            let out = node.output.first().filter(|o| !o.is_empty());
            let is_view = VIEW_OPS.contains(&node.op_type.as_str());
            if let (true, Some(i), Some(o)) = (is_view, viewed, out) {
                let r = self.root(i);
                self.roots.insert(o.as_str(), r);
                // A view's shape inputs (Reshape's, Unsqueeze's) are still read.
                for i in node.input.iter().skip(1).filter(|i| !i.is_empty()) {
                    let r = self.root(i);
                    self.consumers.entry(r).or_default().push(&node.op_type);
                }
                continue;
            }
            // Shape and Size read only dimensions, never the values.
            if matches!(node.op_type.as_str(), "Shape" | "Size") {
                continue;
            }
            for i in node.input.iter().filter(|i| !i.is_empty()) {
                let r = self.root(i);
                self.consumers.entry(r).or_default().push(&node.op_type);
            }
        }
    }

    /// How many nodes read the value `name` (through views).
    pub fn readers(&self, name: &'a str) -> usize {
        self.consumers.get(self.root(name)).map_or(0, Vec::len)
    }

    fn node(&mut self, ctx: &NodeCtx<'a>) -> Result<(), OnnxErrorKind> {
        let node = ctx.node;
        if !matches!(node.domain.as_str(), "" | "ai.onnx") {
            return Err(self.unsupported(ctx));
        }
        if let Some(v) = self.fold_constants(ctx)? {
            return self.set_outputs(ctx, vec![v]);
        }
        let out = match ctx.op() {
            "Conv" => self.conv(ctx)?,
            "Gemm" => self.gemm(ctx)?,
            "MatMul" => self.matmul(ctx)?,
            "MaxPool" | "AveragePool" => self.pool(ctx)?,
            "GlobalAveragePool" | "GlobalMaxPool" => self.global_pool(ctx)?,
            "Relu" => self.relu(ctx)?,
            "Clip" => self.clip(ctx)?,
            "BatchNormalization" => self.batch_norm(ctx)?,
            "Concat" => self.concat(ctx)?,
            "Add" | "Sum" | "Sub" | "Mul" | "Div" => self.binary(ctx)?,
            "Pad" => self.pad(ctx)?,
            "ReduceMean" | "ReduceMax" | "ReduceSum" => self.reduce(ctx)?,
            "Split" => return self.split(ctx),
            "Flatten" => self.flatten(ctx)?,
            "Reshape" => self.reshape(ctx)?,
            "Unsqueeze" | "Squeeze" => self.squeeze(ctx)?,
            "Transpose" => self.transpose(ctx)?,
            "Slice" => self.slice(ctx)?,
            "Expand" => self.expand(ctx)?,
            "Shape" | "Size" => self.shape_of(ctx)?,
            "Gather" => self.gather(ctx)?,
            "Range" => self.range(ctx)?,
            "Cast" => self.cast(ctx)?,
            "Dropout" | "Identity" => self.input(ctx, 0)?.clone(),
            "Constant" => Value::Const(self.constant_node(ctx)?),
            "ConstantOfShape" => Value::Const(self.constant_of_shape(ctx)?),
            "LeakyRelu" | "PRelu" | "Sigmoid" | "HardSigmoid" | "HardSwish" | "Softmax"
            | "LogSoftmax" | "LRN" => self.host_activation(ctx)?,
            "Resize" | "Upsample" => self.resize(ctx)?,
            op if self.allow_host_ops && flag_host_op(op) => self.host_activation(ctx)?,
            _ => return Err(self.unsupported(ctx)),
        };
        self.set_outputs(ctx, vec![out])
    }

    /// Binds the node's outputs, in order, to `values`.
    pub fn set_outputs(
        &mut self,
        ctx: &NodeCtx<'a>,
        values: Vec<Value<'a>>,
    ) -> Result<(), OnnxErrorKind> {
        let outputs = &ctx.node.output;
        if outputs.first().is_none_or(|o| o.is_empty()) {
            return Err(ctx.shape_err("the node has no output"));
        }
        for (name, v) in outputs.iter().zip(values) {
            if !name.is_empty() {
                self.values.insert(name.as_str(), v);
            }
        }
        Ok(())
    }

    fn unsupported(&self, ctx: &NodeCtx) -> OnnxErrorKind {
        let (op, host_op) = match ctx.node.domain.as_str() {
            "" | "ai.onnx" => (ctx.op().to_string(), flag_host_op(ctx.op())),
            d => (format!("{d}::{}", ctx.op()), false),
        };
        let hint = if host_op {
            "it runs off the array; --allow-host-ops imports it as host work (its reads, \
             writes and one operation per value reported, no accelerator access)"
                .to_string()
        } else {
            "--allow-host-ops would not import it either: eyesim does not know its output \
             shape or cost"
                .to_string()
        };
        OnnxErrorKind::Unsupported {
            node: ctx.label.clone(),
            op,
            opset: ctx.opset,
            host_op,
            hint,
            supported: SUPPORTED_OPS,
        }
    }

    /// Whether input `idx` is present (optional inputs may be empty names).
    pub fn has_input(&self, ctx: &NodeCtx, idx: usize) -> bool {
        ctx.node.input.get(idx).is_some_and(|n| !n.is_empty())
    }

    /// The value read by input `idx` of the node.
    pub fn input(&self, ctx: &NodeCtx, idx: usize) -> Result<&Value<'a>, OnnxErrorKind> {
        let name = ctx.node.input.get(idx).map_or("", String::as_str);
        if name.is_empty() {
            return Err(ctx.shape_err(format!("input {idx} is missing")));
        }
        self.values.get(name).ok_or_else(|| ctx.missing(name))
    }

    /// Input `idx`, which must be a feature map. Only a Conv may read one
    /// that carries a pending Pad.
    pub fn act(&self, ctx: &NodeCtx, idx: usize) -> Result<Activation, OnnxErrorKind> {
        match self.input(ctx, idx)? {
            Value::Act(a) if a.pad != [0; 4] && ctx.op() != "Conv" => {
                Err(ctx.shape_err("reads a padded feature map whose Pad was folded into a Conv"))
            }
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
        let unpadded = [
            a.dims[2].saturating_sub(u64::from(a.pad[0] + a.pad[1])),
            a.dims[3].saturating_sub(u64::from(a.pad[2] + a.pad[3])),
        ];
        if fmap(a.dims[1], unpadded[0], unpadded[1]) != Some(a.fmap) {
            return Err(ctx.shape_err(format!(
                "reads {:?}, a reshaped view of the {} map its producer writes; eyesim's layers \
                 read feature maps as they were written",
                a.dims, a.fmap
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
            pad: [0; 4],
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

/// The per-image C×H×W view of a batch-first tensor of any rank: the last
/// two axes are H and W (rank ≥ 4), the axes between them and the batch
/// are channels; a rank-2 N×K tensor is K×1×1, a rank-3 N×C×L one C×L×1.
pub(crate) fn fmap_of(dims: &[u64]) -> Option<FmapShape> {
    let prod = |d: &[u64]| d.iter().try_fold(1u64, |a, &x| a.checked_mul(x));
    match dims.len() {
        0 | 1 => fmap(1, 1, 1),
        2 => fmap(dims[1], 1, 1),
        3 => fmap(dims[1], dims[2], 1),
        r => fmap(prod(&dims[1..r - 2])?, dims[r - 2], dims[r - 1]),
    }
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

/// Values per image of a batch-first tensor.
pub(crate) fn fmap_elements(dims: &[u64]) -> u64 {
    dims.iter().skip(1).product()
}
