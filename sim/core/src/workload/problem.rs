//! The canonical convolution problem that runs on the PE array.

use super::{FmapShape, Layer, LayerKind, PoolKind, PoolParams, Sparsity};
use serde::{Deserialize, Serialize};

/// What each tap of the 1-D primitive does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Multiply-accumulate with a weight (convolution, fully connected).
    Mac,
    /// Running maximum (max pooling); no weights.
    Max,
    /// Running sum, divided by the window size at the end (average pooling); no weights.
    Avg,
}

impl Op {
    /// Whether the operation reads weights.
    #[inline]
    pub fn has_weights(self) -> bool {
        self == Op::Mac
    }
}

/// Zero padding around the ifmap (top, bottom, left, right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Padding {
    /// Rows added above.
    pub top: u32,
    /// Rows added below.
    pub bottom: u32,
    /// Columns added on the left.
    pub left: u32,
    /// Columns added on the right.
    pub right: u32,
}

/// One layer's array work as a grouped 2-D convolution, in Eyeriss notation.
///
/// Pooling is a depthwise problem (`c = m = 1`, `g` = channels) whose op is
/// max or average. Fully connected layers are convolutions with `r = h`,
/// `s = w`, `e = f = 1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConvProblem {
    /// Tap operation.
    pub op: Op,
    /// Images (batch).
    pub n: u32,
    /// Groups.
    pub g: u32,
    /// Input channels per group.
    pub c: u32,
    /// Filters (output channels) per group.
    pub m: u32,
    /// Unpadded ifmap height.
    pub h: u32,
    /// Unpadded ifmap width.
    pub w: u32,
    /// Filter height (rows).
    pub r: u32,
    /// Filter width.
    pub s: u32,
    /// Ofmap height.
    pub e: u32,
    /// Ofmap width.
    pub f: u32,
    /// Vertical stride.
    pub u_h: u32,
    /// Horizontal stride.
    pub u_w: u32,
    /// Vertical dilation.
    pub d_h: u32,
    /// Horizontal dilation.
    pub d_w: u32,
    /// Zero padding.
    pub pad: Padding,
    /// Fraction of non-zero weights.
    pub weight_density: f64,
    /// Fraction of zero ifmap values (padding not included).
    pub ifmap_zero_fraction: f64,
    /// Fraction of zero ofmap values after the optional ReLU.
    pub ofmap_zero_fraction: f64,
    /// Whether the ifmap is the raw network input (stored uncompressed in DRAM).
    pub network_input: bool,
    /// Whether a ReLU is applied to the ofmap before it leaves the GLB.
    pub relu: bool,
}

impl ConvProblem {
    /// Padded ifmap height.
    #[inline]
    pub fn hp(&self) -> u32 {
        self.h + self.pad.top + self.pad.bottom
    }
    /// Padded ifmap width.
    #[inline]
    pub fn wp(&self) -> u32 {
        self.w + self.pad.left + self.pad.right
    }
    /// Algorithmic MACs (or pooling taps) for the whole batch, counting taps
    /// that fall on padding, as papers do.
    #[inline]
    pub fn macs(&self) -> u64 {
        [
            self.n, self.g, self.m, self.c, self.e, self.f, self.r, self.s,
        ]
        .iter()
        .map(|&x| u64::from(x))
        .product()
    }
    /// Weights over all groups (0 for pooling).
    #[inline]
    pub fn weights(&self) -> u64 {
        if !self.op.has_weights() {
            return 0;
        }
        [self.g, self.m, self.c, self.r, self.s]
            .iter()
            .map(|&x| u64::from(x))
            .product()
    }
    /// Ifmap values for the whole batch (unpadded).
    #[inline]
    pub fn ifmap_values(&self) -> u64 {
        [self.n, self.g, self.c, self.h, self.w]
            .iter()
            .map(|&x| u64::from(x))
            .product()
    }
    /// Ofmap values for the whole batch.
    #[inline]
    pub fn ofmap_values(&self) -> u64 {
        [self.n, self.g, self.m, self.e, self.f]
            .iter()
            .map(|&x| u64::from(x))
            .product()
    }
    /// The same problem with all sparsity removed.
    #[inline]
    pub fn dense(mut self) -> Self {
        self.weight_density = 1.0;
        self.ifmap_zero_fraction = 0.0;
        self.ofmap_zero_fraction = 0.0;
        self
    }
}

/// How a layer uses the accelerator.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerWork {
    /// Runs on the PE array as a row-stationary convolution.
    Array(ConvProblem),
    /// Element-wise addition: `inputs` operand tensors of `elements` values
    /// each (whole batch) are read from DRAM, added in the GLB datapath and
    /// the sum written back. No PE array work.
    Eltwise {
        /// Number of operands.
        inputs: u32,
        /// Values per operand for the whole batch.
        elements: u64,
    },
    /// Global pooling (the window is the whole input plane, the output 1×1):
    /// every value is used exactly once, so the row-stationary array offers
    /// no reuse; the GLB-side datapath reduces each (image, channel) plane
    /// as it streams through, like element-wise additions. This also maps
    /// windows taller than the array (SqueezeNet's 13×13 `pool10`).
    GlobalPool {
        /// Max or average.
        op: Op,
        /// Images.
        batch: u32,
        /// Channels (planes per image).
        channels: u32,
        /// Values per plane (H·W).
        plane: u64,
    },
    /// Concatenation: pure addressing in DRAM, no data movement.
    Free,
    /// Off-accelerator work (`LayerKind::Host`), whole batch: no
    /// accelerator access in either model; the host's own work.
    Host {
        /// Values the host reads.
        reads: u64,
        /// Values the host writes (the output).
        writes: u64,
        /// Host arithmetic operations.
        ops: u64,
    },
}

/// Where a layer's work happens, as the layer tables show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On the PE array (convolution, FC, windowed pooling).
    Array,
    /// On the GLB-side datapath (element-wise add, global pooling).
    GlbSide,
    /// Off the accelerator, on the host.
    Host,
    /// Nowhere: addressing only (concatenation).
    None,
}

impl Placement {
    /// `array`, `GLB-side`, `host` or `-`.
    #[inline]
    pub fn label(self) -> &'static str {
        match self {
            Placement::Array => "array",
            Placement::GlbSide => "GLB-side",
            Placement::Host => "host",
            Placement::None => "-",
        }
    }
}

impl LayerWork {
    /// Where this work runs.
    #[inline]
    pub fn placement(&self) -> Placement {
        match self {
            LayerWork::Array(_) => Placement::Array,
            LayerWork::Eltwise { .. } | LayerWork::GlobalPool { .. } => Placement::GlbSide,
            LayerWork::Host { .. } => Placement::Host,
            LayerWork::Free => Placement::None,
        }
    }

    /// The work of `layer` at `batch` images.
    pub fn of(layer: &Layer, batch: u32) -> LayerWork {
        let i = layer.input;
        let o = layer.output;
        let sp = layer.sparsity;
        let base = ConvProblem {
            op: Op::Mac,
            n: batch,
            g: 1,
            c: i.c,
            m: o.c,
            h: i.h,
            w: i.w,
            r: 1,
            s: 1,
            e: o.h,
            f: o.w,
            u_h: 1,
            u_w: 1,
            d_h: 1,
            d_w: 1,
            pad: Padding::default(),
            weight_density: sp.weight_density,
            ifmap_zero_fraction: sp.ifmap_zero_fraction,
            // Only a ReLU makes exact zeros common; see `output_zeros`.
            ofmap_zero_fraction: if layer.relu {
                sp.ofmap_zero_fraction
            } else {
                0.0
            },
            network_input: layer.reads_network_input(),
            relu: layer.relu,
        };
        match &layer.kind {
            LayerKind::Conv(p) => LayerWork::Array(ConvProblem {
                g: p.groups,
                c: i.c / p.groups,
                m: p.filters / p.groups,
                r: p.kernel[0],
                s: p.kernel[1],
                u_h: p.stride[0],
                u_w: p.stride[1],
                d_h: p.dilation[0],
                d_w: p.dilation[1],
                pad: pad4(p.padding),
                ..base
            }),
            LayerKind::FullyConnected { .. } => LayerWork::Array(ConvProblem {
                r: i.h,
                s: i.w,
                ..base
            }),
            LayerKind::Pool(p) if is_global(p, i, o) => LayerWork::GlobalPool {
                op: match p.kind {
                    PoolKind::Max => Op::Max,
                    PoolKind::Avg => Op::Avg,
                },
                batch,
                channels: i.c,
                plane: u64::from(i.h) * u64::from(i.w),
            },
            LayerKind::Pool(p) => LayerWork::Array(ConvProblem {
                op: match p.kind {
                    PoolKind::Max => Op::Max,
                    PoolKind::Avg => Op::Avg,
                },
                g: i.c,
                c: 1,
                m: 1,
                r: p.kernel[0],
                s: p.kernel[1],
                u_h: p.stride[0],
                u_w: p.stride[1],
                pad: pad4(p.padding),
                weight_density: 1.0,
                ofmap_zero_fraction: pooled_zeros(sp, p.kernel),
                ..base
            }),
            LayerKind::Add => LayerWork::Eltwise {
                inputs: layer.inputs.len().max(1) as u32,
                elements: o.elements() * u64::from(batch),
            },
            LayerKind::Concat => LayerWork::Free,
            LayerKind::Host(h) => LayerWork::Host {
                reads: h.reads.saturating_mul(u64::from(batch)),
                writes: o.elements().saturating_mul(u64::from(batch)),
                ops: h.ops.saturating_mul(u64::from(batch)),
            },
        }
    }
}

/// Whether a pooling window covers the whole (unpadded) input plane.
fn is_global(p: &PoolParams, i: FmapShape, o: FmapShape) -> bool {
    p.kernel == [i.h, i.w] && p.padding == [0; 4] && o.h == 1 && o.w == 1
}

/// The zero fraction of a pooling layer's output. Pooling has no bias to
/// calibrate, so its output sparsity follows from its input: on
/// non-negative (post-ReLU) data a window pools to zero only when all its
/// values are zero, which for independently placed zeros happens with
/// probability z^(R·S). A following ReLU changes nothing on such data.
fn pooled_zeros(sp: Sparsity, kernel: [u32; 2]) -> f64 {
    sp.ifmap_zero_fraction
        .powf(f64::from(kernel[0] * kernel[1]))
}

fn pad4(p: [u32; 4]) -> Padding {
    Padding {
        top: p[0],
        bottom: p[1],
        left: p[2],
        right: p[3],
    }
}
