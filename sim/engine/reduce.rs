//! Global pooling on the GLB-side datapath: each (image, channel) plane
//! streams DRAM → GLB (RLC-decoded), the datapath reads every value once and
//! reduces it (max or sum), the result is written to the GLB, read back,
//! finalized (average division, ReLU) and each image's results leave as one
//! RLC stream (docs/counters.md, "Global pooling").

use super::dram::DramLink;
use super::eltwise::datapath_result;
use super::{SimError, SimResult};
use crate::data;
use crate::hw::HwConfig;
use crate::stats::{Level, LevelCounts, Tensor};
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
    /// The equivalent one-window problem, for the chip's finalization rule.
    fn window(&self) -> ConvProblem {
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

/// Executes a global pooling layer on seeded data and checks every result
/// against a direct reduction of the same values.
pub fn simulate_global_pool(
    layer: &GlobalPoolLayer,
    hw: &HwConfig,
    seed: u64,
    name: &str,
) -> Result<SimResult, SimError> {
    let internal = |reason: String| SimError::Internal {
        layer: name.into(),
        reason,
    };
    let window = layer.window();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let plane = layer.plane as usize;
    let mut dram = DramLink::new(hw);
    let mut counts = LevelCounts::default();
    let (mut serial, mut out) = (0u64, Vec::new());
    let mut values = vec![0i16; plane];
    let mut results = Vec::with_capacity(layer.channels as usize);
    let mut expect = Vec::with_capacity(layer.channels as usize);
    for _ in 0..layer.batch {
        results.clear();
        expect.clear();
        for _ in 0..layer.channels {
            fill(&mut values, layer, &mut rng);
            let (vals, words) = dram
                .read_stream(&values, !layer.network_input)
                .map_err(internal)?;
            counts.add(Level::Dram, Tensor::Ifmap, words, 0);
            serial += dram.burst(words);
            counts.add(Level::Glb, Tensor::Ifmap, layer.plane, layer.plane);
            let acc = vals
                .iter()
                .fold(data::PSUM_INIT, |acc, &x| data::tap(layer.op, acc, x, 0, 0));
            counts.add(Level::Glb, Tensor::Psum, 1, 1);
            results.push(data::finalize(&window, acc, 0));
            expect.push(direct(layer, &values));
        }
        let (stored, words) = dram.write_stream(&results, true).map_err(internal)?;
        if let Some(c) = stored.iter().zip(&expect).position(|(a, b)| a != b) {
            return Err(internal(format!(
                "channel {c} pooled to {}, expected {}",
                stored[c], expect[c]
            )));
        }
        counts.add(Level::Dram, Tensor::Psum, 0, words);
        serial += dram.burst(words);
        out.extend_from_slice(&stored);
    }
    let taps = u64::from(layer.batch) * u64::from(layer.channels) * layer.plane;
    counts.macs.algorithmic = taps;
    counts.macs.performed = taps;
    let processing = taps.div_ceil(u64::from(hw.glb.bank_port_words.max(1)));
    Ok(datapath_result(counts, processing, serial, dram, out, hw))
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
