//! GLB-side datapath layers: element-wise additions and global pooling do
//! no PE-array work; the operands stream DRAM → GLB → datapath → GLB → DRAM
//! (docs/counters.md, "Add layers" and "Global pooling").

use super::link::LinkClock;
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
    // Per plane, one burst brings every operand in and one takes the sum out.
    let link = LinkClock::new(hw);
    let dram = planes * (link.burst(dram_in / planes) + link.burst(dram_out / planes));
    datapath_estimate(counts, operand_words, dram, hw)
}

/// A GLB-side datapath layer's estimate: the datapath takes one value per
/// cycle per GLB port word (`values` in all); the DRAM bursts (`dram`
/// cycles) are serialized with it as on the chip, or overlapped.
fn datapath_estimate(counts: LevelCounts, values: u64, dram: f64, hw: &HwConfig) -> LayerEstimate {
    let processing = values.div_ceil(u64::from(hw.glb.bank_port_words.max(1)));
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

/// Counts of a global pooling layer: each of the `batch · channels` planes
/// of `plane` values streams DRAM → GLB (one RLC stream per plane, unless it
/// is the raw network input), the datapath reads every value once and
/// writes one result per plane, and each image's `channels` results leave
/// as one stream.
pub fn estimate_global_pool(
    batch: u32,
    channels: u32,
    plane: u64,
    sparsity: &Sparsity,
    network_input: bool,
    hw: &HwConfig,
) -> LayerEstimate {
    let planes = u64::from(batch) * u64::from(channels);
    let values = planes * plane;
    let rlc = hw.sparsity.rlc.as_ref();
    let wb = hw.pe.word_bits;
    let rlc_in = if network_input { None } else { rlc };
    let dram_in = planes as f64 * stream_words(plane, sparsity.ifmap_zero_fraction, rlc_in, wb);
    // A window of post-ReLU values pools to zero only if all are zero.
    let out_zero = sparsity.ifmap_zero_fraction.powf(plane as f64);
    let dram_out = f64::from(batch) * stream_words(u64::from(channels), out_zero, rlc, wb);
    let mut counts = LevelCounts::default();
    counts.add(Level::Dram, Tensor::Ifmap, dram_in.round() as u64, 0);
    counts.add(Level::Glb, Tensor::Ifmap, values, values);
    counts.add(Level::Glb, Tensor::Psum, planes, planes);
    counts.add(Level::Dram, Tensor::Psum, 0, dram_out.round() as u64);
    counts.macs = MacCounts {
        algorithmic: values,
        performed: values,
        gated: 0,
        skipped: 0,
    };
    // One burst per plane in, one per image out.
    let batch = f64::from(batch);
    let link = LinkClock::new(hw);
    let dram =
        planes as f64 * link.burst(dram_in / planes as f64) + batch * link.burst(dram_out / batch);
    datapath_estimate(counts, values, dram, hw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Sparsity;

    #[test]
    fn global_pool_counts_by_hand() {
        let mut hw = crate::hw::builtin("tiny").unwrap();
        hw.sparsity.rlc = None;
        // 2 images × 3 channels of 2×2 values.
        let e = estimate_global_pool(2, 3, 4, &Sparsity::DENSE, false, &hw);
        let c = e.counts;
        assert_eq!(c.get(Level::Dram, Tensor::Ifmap).reads, 24);
        assert_eq!(c.get(Level::Glb, Tensor::Ifmap).total(), 48);
        assert_eq!(c.get(Level::Glb, Tensor::Psum).total(), 12);
        assert_eq!(c.get(Level::Dram, Tensor::Psum).writes, 6);
        assert_eq!(c.macs.performed, 24);
        assert_eq!(c.level_total(Level::Noc) + c.level_total(Level::Rf), 0);
        // RLC (5-b runs, 16-b levels, 64-b words): a dense 4-value plane is 4
        // pairs in 2 words of 4 DRAM words each; each image's 3 results, 1 word.
        hw.sparsity.rlc = crate::hw::builtin("eyeriss-v1").unwrap().sparsity.rlc;
        let e = estimate_global_pool(2, 3, 4, &Sparsity::DENSE, false, &hw);
        assert_eq!(e.counts.get(Level::Dram, Tensor::Ifmap).reads, 6 * 8);
        assert_eq!(e.counts.get(Level::Dram, Tensor::Psum).writes, 2 * 4);
    }
}
