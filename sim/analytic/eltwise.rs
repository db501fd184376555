//! Element-wise layers (residual additions): no PE-array work; the operands
//! stream DRAM → GLB → adder → GLB → DRAM (docs/counters.md, "Add layers").

use super::sparsity::stream_words;
use super::LayerEstimate;
use crate::hw::HwConfig;
use crate::stats::{Level, LevelCounts, MacCounts, Tensor};
use crate::workload::{FmapShape, Sparsity};

/// Counts of adding `inputs` operands of `shape` per image over `batch`
/// images. Each (image, channel) plane is one RLC stream, unless the
/// operands are the raw network input.
pub fn estimate_eltwise(
    inputs: u32,
    shape: FmapShape,
    batch: u32,
    sparsity: &Sparsity,
    network_input: bool,
    hw: &HwConfig,
) -> LayerEstimate {
    let planes = f64::from(batch) * f64::from(shape.c);
    let plane = u64::from(shape.h) * u64::from(shape.w);
    let elements = planes as u64 * plane;
    let operand_words = u64::from(inputs) * elements;
    let rlc = hw.sparsity.rlc.as_ref();
    let wb = hw.pe.word_bits;
    let rlc_in = if network_input { None } else { rlc };
    let dram_in =
        f64::from(inputs) * planes * stream_words(plane, sparsity.ifmap_zero_fraction, rlc_in, wb);
    let dram_out = planes * stream_words(plane, sparsity.ofmap_zero_fraction, rlc, wb);
    let mut counts = LevelCounts::default();
    counts.add(Level::Dram, Tensor::Ifmap, dram_in.round() as u64, 0);
    counts.add(Level::Glb, Tensor::Ifmap, operand_words, operand_words);
    counts.add(Level::Glb, Tensor::Psum, elements, elements);
    counts.add(Level::Dram, Tensor::Psum, 0, dram_out.round() as u64);
    let adds = u64::from(inputs.saturating_sub(1)) * elements;
    counts.macs = MacCounts {
        algorithmic: adds,
        performed: adds,
        gated: 0,
        skipped: 0,
    };
    // The adder takes one operand word per cycle per GLB port word.
    let port = u64::from(hw.glb.bank_port_words.max(1));
    let processing = operand_words.div_ceil(port);
    let dram = (dram_in + dram_out) / hw.dram_words_per_core_cycle();
    let cycles = if hw.dram.overlap {
        (processing as f64).max(dram)
    } else {
        processing as f64 + dram
    };
    LayerEstimate {
        counts,
        cycles: cycles.round() as u64,
        processing_cycles: processing,
        active_pes: 0,
    }
}
