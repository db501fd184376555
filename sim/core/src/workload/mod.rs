//! Workloads: a CNN as a DAG of layers, with per-layer sparsity.
//!
//! A [`Network`] is the validated form of a trace (`traces/*.toml`) or an
//! imported ONNX model. Every layer carries its inferred input and output
//! feature-map shapes, so the core never re-derives shapes. The part of a
//! layer that runs on the PE array is described by a [`ConvProblem`], the
//! canonical 7-D convolution that the mapper, the analytic model and the
//! simulator all consume.

mod build;
mod columns;
mod emit;
mod load;
mod locate;
mod problem;
mod raw;
mod shapes;

pub use columns::ColumnTile;
pub use emit::to_trace_toml;
pub use load::{builtin, builtin_names, builtin_text, from_toml_str, onnx_stem};
pub use problem::{ConvProblem, LayerWork, Op, Padding, Placement};

use serde::{Deserialize, Serialize};

/// A feature-map shape for one image: channels × height × width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FmapShape {
    /// Channels.
    pub c: u32,
    /// Height (rows).
    pub h: u32,
    /// Width (columns).
    pub w: u32,
}

impl FmapShape {
    /// Number of values in one image's feature map.
    pub fn elements(&self) -> u64 {
        u64::from(self.c) * u64::from(self.h) * u64::from(self.w)
    }
}

impl std::fmt::Display for FmapShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.c, self.h, self.w)
    }
}

/// Pooling flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// Maximum over the window.
    Max,
    /// Average over the window (sum, then integer division by the window size).
    Avg,
}

/// Convolution hyper-parameters. Heights come first in every pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvParams {
    /// Number of filters (output channels), over all groups.
    pub filters: u32,
    /// Filter height R and width S.
    pub kernel: [u32; 2],
    /// Stride (vertical, horizontal).
    pub stride: [u32; 2],
    /// Padding (top, bottom, left, right).
    pub padding: [u32; 4],
    /// Dilation (vertical, horizontal).
    pub dilation: [u32; 2],
    /// Groups; `groups == channels == filters` is a depthwise convolution.
    pub groups: u32,
}

/// Pooling hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolParams {
    /// Max or average.
    pub kind: PoolKind,
    /// Window height and width.
    pub kernel: [u32; 2],
    /// Stride (vertical, horizontal).
    pub stride: [u32; 2],
    /// Padding (top, bottom, left, right).
    pub padding: [u32; 4],
}

/// What a layer computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LayerKind {
    /// 2-D convolution, including grouped, depthwise and 1×1.
    Conv(ConvParams),
    /// Fully connected; maps on the array as a convolution with R = H, S = W, E = F = 1.
    FullyConnected {
        /// Output features.
        outputs: u32,
    },
    /// Max or average pooling.
    Pool(PoolParams),
    /// Element-wise sum of two or more equally shaped inputs.
    Add,
    /// Channel concatenation of inputs with equal height and width.
    Concat,
    /// Work that does not run on the accelerator (activations such as
    /// Sigmoid, broadcasting element-wise ops, Softmax, Resize, ...): the
    /// host reads the operands and writes the result. Both models count no
    /// accelerator access for it; its own work is reported separately.
    Host(HostOp),
}

/// An operation computed off the accelerator, with its per-image work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostOp {
    /// The ONNX operator (or `ChannelShuffle` for a Reshape-Transpose-Reshape).
    pub op: String,
    /// Values the host reads per image: every feature-map operand and any
    /// constant operand (a PRelu slope, a per-channel scale).
    pub reads: u64,
    /// Arithmetic operations per image, counted as `docs/counters.md`
    /// ("Host layers") defines for each operator.
    pub ops: u64,
}

impl LayerKind {
    /// Short lowercase name used in tables and CSVs.
    pub fn name(&self) -> &'static str {
        match self {
            LayerKind::Conv(p) if p.groups > 1 && p.groups == p.filters => "dwconv",
            LayerKind::Conv(_) => "conv",
            LayerKind::FullyConnected { .. } => "fc",
            LayerKind::Pool(p) => match p.kind {
                PoolKind::Max => "maxpool",
                PoolKind::Avg => "avgpool",
            },
            LayerKind::Add => "add",
            LayerKind::Concat => "concat",
            LayerKind::Host(_) => "host",
        }
    }
}

/// Per-layer data statistics. Validated: every fraction lies in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sparsity {
    /// Fraction of weights that are non-zero (1.0 = dense).
    pub weight_density: f64,
    /// Fraction of input feature-map values that are zero.
    pub ifmap_zero_fraction: f64,
    /// Fraction of output values (after ReLU) that are zero; drives the RLC
    /// size of the ofmap written to DRAM.
    pub ofmap_zero_fraction: f64,
}

impl Sparsity {
    /// Fully dense data.
    pub const DENSE: Sparsity = Sparsity {
        weight_density: 1.0,
        ifmap_zero_fraction: 0.0,
        ofmap_zero_fraction: 0.0,
    };
}

/// One validated layer with inferred shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// Unique name within the network.
    pub name: String,
    /// The computation.
    pub kind: LayerKind,
    /// Indices (into [`Network::layers`]) of the producing layers; empty means
    /// the layer reads the network input.
    pub inputs: Vec<usize>,
    /// Input shape per image (for `Add` and `Concat`, the first input's shape).
    pub input: FmapShape,
    /// Output shape per image.
    pub output: FmapShape,
    /// Whether a ReLU follows (it is applied before RLC encoding).
    pub relu: bool,
    /// Data statistics.
    pub sparsity: Sparsity,
    /// Bits per value (16 unless the trace says otherwise).
    pub precision_bits: u32,
}

impl Layer {
    /// True when the layer reads the raw network input, which is stored
    /// uncompressed in DRAM.
    pub fn reads_network_input(&self) -> bool {
        self.inputs.is_empty()
    }
}

/// A validated network: layers in topological order plus their DAG.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Network name (`alexnet`, ...).
    pub name: String,
    /// Images per batch.
    pub batch: u32,
    /// Shape of one input image.
    pub input: FmapShape,
    /// Layers in a topological order (every input index is smaller than the layer's).
    pub layers: Vec<Layer>,
}

impl Network {
    /// The layer DAG as a petgraph graph; node weights are layer indices.
    pub fn graph(&self) -> petgraph::graph::DiGraph<usize, ()> {
        let mut g = petgraph::graph::DiGraph::new();
        let nodes: Vec<_> = (0..self.layers.len()).map(|i| g.add_node(i)).collect();
        for (i, l) in self.layers.iter().enumerate() {
            for &src in &l.inputs {
                g.add_edge(nodes[src], nodes[i], ());
            }
        }
        g
    }

    /// Looks a layer up by name.
    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.name == name)
    }

    /// Per-image work of every layer, in order.
    pub fn works(&self, batch: u32) -> Vec<LayerWork> {
        self.layers
            .iter()
            .map(|l| LayerWork::of(l, batch))
            .collect()
    }

    /// The host's work over the whole network at `batch` images: layers,
    /// values read, values written and operations (zero when every layer
    /// runs on the accelerator).
    pub fn host_work(&self, batch: u32) -> HostTotals {
        let mut t = HostTotals::default();
        for l in &self.layers {
            if let LayerWork::Host { reads, writes, ops } = LayerWork::of(l, batch) {
                t.layers += 1;
                t.reads += reads;
                t.writes += writes;
                t.ops += ops;
            }
        }
        t
    }

    /// A copy with all sparsity removed (`--dense`).
    pub fn densified(&self) -> Network {
        let mut n = self.clone();
        for l in &mut n.layers {
            l.sparsity = Sparsity::DENSE;
        }
        n
    }
}

/// The host's share of a network's work (see [`Network::host_work`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostTotals {
    /// Host layers.
    pub layers: usize,
    /// Values the host reads.
    pub reads: u64,
    /// Values the host writes.
    pub writes: u64,
    /// Host arithmetic operations.
    pub ops: u64,
}
