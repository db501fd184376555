//! Global pooling on the GLB-side datapath: each (image, channel) plane
//! streams DRAM → GLB (RLC-decoded), the datapath reads every value once and
//! reduces it (max or sum), the result is written to the GLB, read back,
//! finalized (average division, ReLU) and each image's results leave as one
//! RLC stream (docs/counters.md, "Global pooling").

use super::eltwise::SideDatapath;
use super::{SimError, SimOptions, SimResult};
use crate::data;
use crate::hw::HwConfig;
use crate::stats::{Level, Tensor};
use crate::workload::{ConvProblem, Op, Padding, Sparsity};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Shape and data statistics of one global pooling layer.
#[derive(Debug, Clone, Copy)]
pub struct GlobalPoolLayer {
    /// Max or average.
    pub op: Op,
    /// Images.
    pub batch: u32,
    /// Planes per image.
    pub channels: u32,
    /// Values per plane.
    pub plane: u64,
    /// Zero fraction of the input.
    pub sparsity: Sparsity,
    /// Whether the input is the raw network input (stored uncompressed, signed).
    pub network_input: bool,
    /// ReLU after pooling.
    pub relu: bool,
}

impl GlobalPoolLayer {
    /// The global pooling `layer` of a network at `batch` images, when its
    /// work is one.
    pub fn of(layer: &crate::workload::Layer, batch: u32) -> Option<GlobalPoolLayer> {
        match crate::workload::LayerWork::of(layer, batch) {
            crate::workload::LayerWork::GlobalPool {
                op,
                batch,
                channels,
                plane,
            } => Some(GlobalPoolLayer {
                op,
                batch,
                channels,
                plane,
                sparsity: layer.sparsity,
                network_input: layer.reads_network_input(),
                relu: layer.relu,
            }),
            _ => None,
        }
    }

    /// The equivalent one-window problem (one channel per group, the whole
    /// plane as one column of taps), for the chip's finalization rule and
    /// for functional models of the layer.
    pub fn window(&self) -> ConvProblem {
        let plane = u32::try_from(self.plane).unwrap_or(u32::MAX);
        ConvProblem {
            op: self.op,
            n: self.batch,
            g: self.channels,
            c: 1,
            m: 1,
            h: plane,
            w: 1,
            r: plane,
            s: 1,
            e: 1,
            f: 1,
            u_h: 1,
            u_w: 1,
            d_h: 1,
            d_w: 1,
            pad: Padding::default(),
            weight_density: 1.0,
            ifmap_zero_fraction: self.sparsity.ifmap_zero_fraction,
            ofmap_zero_fraction: 0.0,
            network_input: self.network_input,
            relu: self.relu,
        }
    }
}

impl GlobalPoolLayer {
    /// Seeded input `[N][C][plane]` with the layer's zero fraction (signed
    /// values when it is the raw network input).
    pub fn generate(&self, seed: u64) -> Vec<i16> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut values =
            vec![0i16; (u64::from(self.batch) * u64::from(self.channels) * self.plane) as usize];
        fill(&mut values, self, &mut rng);
        values
    }
}

/// Executes a global pooling layer on `input` (`[N][C][plane]`) and checks
/// every result against a direct reduction of the same values.
pub fn simulate_global_pool(
    layer: &GlobalPoolLayer,
    hw: &HwConfig,
    input: &[i16],
    opts: &SimOptions,
) -> Result<SimResult, SimError> {
    let name = &opts.layer;
    let corrupted = |reason: String| SimError::Corrupted {
        layer: name.clone(),
        reason,
    };
    let plane = layer.plane as usize;
    let channels = layer.channels as usize;
    if input.len() != layer.batch as usize * channels * plane {
        return Err(SimError::BadData {
            layer: name.clone(),
            reason: format!(
                "global pooling of {} planes of {plane} values was given {} values",
                layer.batch as usize * channels,
                input.len()
            ),
        });
    }
    let window = layer.window();
    let mut dp = SideDatapath::new(hw, opts);
    let mut out = Vec::with_capacity(layer.batch as usize * channels);
    let mut held: Vec<Vec<i16>> = Vec::new();
    let mut results = Vec::with_capacity(channels);
    for n in 0..layer.batch as usize {
        results.clear();
        for c in 0..channels {
            let at = (n * channels + c) * plane;
            held = dp
                .load(&[&input[at..at + plane]], !layer.network_input, &held)
                .map_err(corrupted)?;
            dp.read_plane(layer.plane);
            let acc = held[0]
                .iter()
                .fold(data::PSUM_INIT, |acc, &x| data::tap(layer.op, acc, x, 0, 0));
            dp.counts.macs.performed += layer.plane;
            dp.counts.add(Level::Glb, Tensor::Psum, 0, 1);
            results.push(data::finalize(&window, acc, 0));
        }
        out.extend(dp.store(&results).map_err(corrupted)?);
    }
    if opts.check {
        for (i, (&got, values)) in out.iter().zip(input.chunks(plane.max(1))).enumerate() {
            let want = direct(layer, values);
            if got != want {
                return Err(SimError::Mismatch {
                    layer: name.clone(),
                    image: (i / channels) as u32,
                    channel: (i % channels) as u32,
                    row: 0,
                    col: 0,
                    got,
                    want,
                });
            }
        }
    }
    Ok(dp.finish(hw, out))
}

fn fill(values: &mut [i16], layer: &GlobalPoolLayer, rng: &mut ChaCha8Rng) {
    for v in values.iter_mut() {
        *v = if rng.gen::<f64>() < layer.sparsity.ifmap_zero_fraction {
            0
        } else if layer.network_input && rng.gen::<bool>() {
            -rng.gen_range(1..=255)
        } else {
            rng.gen_range(1..=255)
        };
    }
}

/// The pooled value computed straight from the plane, in 64-bit arithmetic
/// folded to the chip's 16 bits: the functional reference of this path.
fn direct(layer: &GlobalPoolLayer, values: &[i16]) -> i16 {
    let pooled = match layer.op {
        Op::Max => values.iter().copied().fold(0, i16::max),
        _ => {
            let sum = values.iter().map(|&v| i64::from(v)).sum::<i64>() as i16;
            if layer.op == Op::Avg {
                (i64::from(sum) / values.len().max(1) as i64) as i16
            } else {
                sum
            }
        }
    };
    if layer.relu {
        pooled.max(0)
    } else {
        pooled
    }
}
