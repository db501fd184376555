//! Element-wise Add layers: no PE-array work. Each (image, channel) plane
//! of every operand streams DRAM → GLB (RLC-decoded), the GLB-side adder
//! reads the operands and writes the sum, which is read back, ReLU'd if
//! the layer says so, and RLC-encoded to DRAM (docs/counters.md, "Add").

use super::dram::DramLink;
use super::{ComponentStats, SimError, SimResult};
use crate::hw::HwConfig;
use crate::stats::{Level, LevelCounts, Tensor};
use crate::workload::{FmapShape, Sparsity};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Shape and data statistics of one Add layer.
#[derive(Debug, Clone, Copy)]
pub struct EltwiseLayer {
    /// Operands.
    pub inputs: u32,
    /// Shape of one operand per image.
    pub shape: FmapShape,
    /// Images.
    pub batch: u32,
    /// Zero fractions of the operands.
    pub sparsity: Sparsity,
    /// Whether the operands are the raw network input (stored uncompressed).
    pub network_input: bool,
    /// ReLU after the sum.
    pub relu: bool,
}

/// Executes an Add layer on seeded operands and checks every sum.
pub fn simulate_eltwise(
    layer: &EltwiseLayer,
    hw: &HwConfig,
    seed: u64,
    name: &str,
) -> Result<SimResult, SimError> {
    let internal = |reason: String| SimError::Internal {
        layer: name.into(),
        reason,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let plane = (layer.shape.h * layer.shape.w) as usize;
    let planes = (layer.batch * layer.shape.c) as usize;
    let mut dram = DramLink::new(hw);
    let mut counts = LevelCounts::default();
    let mut out = Vec::with_capacity(plane * planes);
    let port = u64::from(hw.glb.bank_port_words.max(1));
    let (mut processing, mut serial) = (0u64, 0u64);
    let mut operand = vec![0i16; plane];
    let mut sum = vec![0i16; plane];
    let mut expect = vec![0i16; plane];
    for _ in 0..planes {
        sum.iter_mut().for_each(|v| *v = 0);
        expect.iter_mut().for_each(|v| *v = 0);
        let mut words = 0;
        for _ in 0..layer.inputs {
            for v in operand.iter_mut() {
                *v = if rng.gen::<f64>() < layer.sparsity.ifmap_zero_fraction {
                    0
                } else {
                    rng.gen_range(1..=255)
                };
            }
            let (vals, n) = dram
                .read_stream(&operand, !layer.network_input)
                .map_err(internal)?;
            words += n;
            counts.add(Level::Glb, Tensor::Ifmap, plane as u64, plane as u64);
            for ((s, e), (&v, &o)) in sum
                .iter_mut()
                .zip(expect.iter_mut())
                .zip(vals.iter().zip(&operand))
            {
                *s = s.wrapping_add(v);
                *e = e.wrapping_add(o);
            }
        }
        counts.add(Level::Dram, Tensor::Ifmap, words, 0);
        serial += dram.burst(words);
        counts.add(Level::Glb, Tensor::Psum, plane as u64, plane as u64);
        if layer.relu {
            sum.iter_mut().for_each(|v| *v = (*v).max(0));
            expect.iter_mut().for_each(|v| *v = (*v).max(0));
        }
        let (vals, n) = dram.write_stream(&sum, true).map_err(internal)?;
        if let Some(i) = vals.iter().zip(&expect).position(|(a, b)| a != b) {
            return Err(internal(format!(
                "sum at plane offset {i} is {}, expected {}",
                vals[i], expect[i]
            )));
        }
        counts.add(Level::Dram, Tensor::Psum, 0, n);
        serial += dram.burst(n);
        processing += (u64::from(layer.inputs) * plane as u64).div_ceil(port);
        out.extend_from_slice(&vals);
    }
    let adds = u64::from(layer.inputs.saturating_sub(1)) * (plane * planes) as u64;
    counts.macs.algorithmic = adds;
    counts.macs.performed = adds;
    Ok(datapath_result(counts, processing, serial, dram, out, hw))
}

/// The result of a GLB-side datapath layer: `processing` datapath cycles,
/// with the DRAM bursts (`serial` cycles in all) serialized as on the chip
/// or overlapped.
pub(super) fn datapath_result(
    counts: LevelCounts,
    processing: u64,
    serial: u64,
    mut dram: DramLink,
    ofmap: Vec<i16>,
    hw: &HwConfig,
) -> SimResult {
    let cycles = if hw.dram.overlap {
        processing.max(dram.stats.busy_cycles)
    } else {
        processing + serial
    };
    dram.stats.serialized_cycles = cycles - processing;
    SimResult {
        counts,
        cycles,
        processing_cycles: processing,
        active_pes: 0,
        stats: ComponentStats {
            dram: dram.stats,
            ..Default::default()
        },
        trace: None,
        ofmap,
    }
}
