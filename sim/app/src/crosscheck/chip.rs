//! Fidelity against the fabricated Eyeriss chip (JSSC 2017), for AlexNet
//! CONV1–5 at batch 4 on `eyeriss-v1`. The published figures, with their
//! source, are in `docs/reference.md` §4; they are facts from the paper,
//! kept here so that `eyesim run` can print the comparison.

use crate::stats::{LayerResult, Level, TENSORS};

/// One layer's published measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChipLayer {
    /// Layer name in the shipped AlexNet trace.
    pub layer: &'static str,
    /// Processing latency in ms (DRAM traffic assumed fully overlapped).
    pub processing_ms: f64,
    /// Total latency in ms (DRAM traffic not overlapped).
    pub total_ms: f64,
    /// GLB accesses, MB (10^6 bytes).
    pub glb_mb: f64,
    /// DRAM accesses, MB (10^6 bytes).
    pub dram_mb: f64,
    /// Active PEs of the chip's mapping.
    pub active_pes: u32,
}

/// JSSC 2017 Table V, per layer.
pub const ALEXNET_LAYERS: [ChipLayer; 5] = [
    ChipLayer {
        layer: "conv1",
        processing_ms: 16.5,
        total_ms: 20.9,
        glb_mb: 18.5,
        dram_mb: 5.0,
        active_pes: 154,
    },
    ChipLayer {
        layer: "conv2",
        processing_ms: 39.2,
        total_ms: 41.9,
        glb_mb: 77.6,
        dram_mb: 4.0,
        active_pes: 135,
    },
    ChipLayer {
        layer: "conv3",
        processing_ms: 21.8,
        total_ms: 23.6,
        glb_mb: 50.2,
        dram_mb: 3.0,
        active_pes: 156,
    },
    ChipLayer {
        layer: "conv4",
        processing_ms: 16.0,
        total_ms: 18.4,
        glb_mb: 37.4,
        dram_mb: 2.1,
        active_pes: 156,
    },
    ChipLayer {
        layer: "conv5",
        processing_ms: 10.0,
        total_ms: 10.5,
        glb_mb: 24.9,
        dram_mb: 1.3,
        active_pes: 156,
    },
];
/// Total latency of CONV1–5 per batch of 4 without DRAM overlap, ms.
pub const ALEXNET_TOTAL_MS: f64 = 115.3;
/// DRAM traffic of CONV1–5 per batch of 4, MB (10^6 bytes).
pub const ALEXNET_DRAM_MB: f64 = 15.4;
/// GLB traffic of CONV1–5 per batch of 4, MB (10^6 bytes).
pub const ALEXNET_GLB_MB: f64 = 208.5;

/// One line of the chip comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ChipRow {
    /// What is compared (`conv1 processing ms`, `DRAM MB`, ...).
    pub what: String,
    /// eyesim's value.
    pub model: f64,
    /// The chip's published value.
    pub chip: f64,
    /// Allowed relative deviation (from the fidelity targets).
    pub tolerance: f64,
}

impl ChipRow {
    /// (model − chip) / chip.
    pub fn rel_diff(&self) -> f64 {
        (self.model - self.chip) / self.chip
    }
    /// Whether the model lies within the tolerance of the chip.
    pub fn passes(&self) -> bool {
        self.rel_diff().abs() <= self.tolerance
    }
}

/// Cycles to ms at `core_mhz`, and words of `word_bits` to MB (10⁶ bytes).
fn units(core_mhz: f64, word_bits: u32) -> (impl Fn(u64) -> f64, impl Fn(u64) -> f64) {
    (
        move |cycles: u64| cycles as f64 / (core_mhz * 1e3),
        move |words: u64| words as f64 * f64::from(word_bits) / 8.0 / 1e6,
    )
}

/// Compares CONV1–5 results with the chip. `None` when a layer is missing.
/// `core_mhz` converts cycles to ms; `word_bits` converts words to bytes.
pub fn compare_alexnet(
    results: &[LayerResult],
    core_mhz: f64,
    word_bits: u32,
) -> Option<Vec<ChipRow>> {
    let (ms, mb) = units(core_mhz, word_bits);
    let mut rows = Vec::new();
    let (mut total, mut dram, mut glb) = (0.0, 0u64, 0u64);
    for chip in ALEXNET_LAYERS {
        let r = results.iter().find(|r| r.layer == chip.layer)?;
        rows.push(ChipRow {
            what: format!("{} processing ms", chip.layer),
            model: ms(r.processing_cycles),
            chip: chip.processing_ms,
            tolerance: 0.10,
        });
        rows.push(ChipRow {
            what: format!("{} active PEs", chip.layer),
            model: f64::from(r.active_pes),
            chip: f64::from(chip.active_pes),
            tolerance: 0.0,
        });
        total += ms(r.cycles);
        dram += TENSORS
            .iter()
            .map(|&t| r.counts.get(Level::Dram, t).total())
            .sum::<u64>();
        glb += TENSORS
            .iter()
            .map(|&t| r.counts.get(Level::Glb, t).total())
            .sum::<u64>();
    }
    rows.push(ChipRow {
        what: "total latency ms".into(),
        model: total,
        chip: ALEXNET_TOTAL_MS,
        tolerance: 0.10,
    });
    rows.push(ChipRow {
        what: "DRAM traffic MB".into(),
        model: mb(dram),
        chip: ALEXNET_DRAM_MB,
        tolerance: 0.15,
    });
    rows.push(ChipRow {
        what: "GLB traffic MB".into(),
        model: mb(glb),
        chip: ALEXNET_GLB_MB,
        tolerance: 0.20,
    });
    Some(rows)
}

/// Per-layer tolerances of the chip comparison with the chip's own
/// mappings: latency, GLB traffic, DRAM traffic.
pub const PER_LAYER_TOLERANCE: [f64; 3] = [0.10, 0.15, 0.20];

/// CONV1–5 against Table V layer by layer: processing and total latency
/// (±10%), GLB (±15%) and DRAM traffic (±20%). Meant for results under the
/// chip's own mappings (`--mapping chip`). `None` when a layer is missing.
pub fn compare_alexnet_per_layer(
    results: &[LayerResult],
    core_mhz: f64,
    word_bits: u32,
) -> Option<Vec<ChipRow>> {
    let (ms, mb) = units(core_mhz, word_bits);
    let [latency, glb, dram] = PER_LAYER_TOLERANCE;
    let mut rows = Vec::new();
    for chip in ALEXNET_LAYERS {
        let r = results.iter().find(|r| r.layer == chip.layer)?;
        let mut row = |what: &str, model: f64, chip_value: f64, tolerance: f64| {
            rows.push(ChipRow {
                what: format!("{} {what}", chip.layer),
                model,
                chip: chip_value,
                tolerance,
            });
        };
        row(
            "processing ms",
            ms(r.processing_cycles),
            chip.processing_ms,
            latency,
        );
        row("total ms", ms(r.cycles), chip.total_ms, latency);
        let glb_words = r.counts.level_total(Level::Glb);
        row("GLB MB", mb(glb_words), chip.glb_mb, glb);
        let dram_words = r.counts.level_total(Level::Dram);
        row("DRAM MB", mb(dram_words), chip.dram_mb, dram);
    }
    Some(rows)
}

/// The per-layer table that `eyesim run` prints for a network on the chip:
/// processing and total latency (ms), GLB and DRAM traffic (MB = 10⁶
/// bytes), active PEs and utilization (active PEs over the array's PEs)
/// of every array layer whose name starts with `conv`.
pub fn per_layer_table(results: &[LayerResult], core_mhz: f64, word_bits: u32, pes: u32) -> String {
    use std::fmt::Write as _;
    let (ms, mb) = units(core_mhz, word_bits);
    let mut s = format!(
        "  {:<10} {:>14} {:>9} {:>8} {:>8} {:>4} {:>6}\n",
        "layer", "processing ms", "total ms", "GLB MB", "DRAM MB", "PEs", "util"
    );
    let mut sum = [0.0; 4];
    for r in results.iter().filter(|r| r.layer.starts_with("conv")) {
        let row = [
            ms(r.processing_cycles),
            ms(r.cycles),
            mb(r.counts.level_total(Level::Glb)),
            mb(r.counts.level_total(Level::Dram)),
        ];
        for (a, b) in sum.iter_mut().zip(row) {
            *a += b;
        }
        let _ = writeln!(
            s,
            "  {:<10} {:>14.2} {:>9.2} {:>8.2} {:>8.2} {:>4} {:>5.1}%",
            r.layer,
            row[0],
            row[1],
            row[2],
            row[3],
            r.active_pes,
            100.0 * f64::from(r.active_pes) / f64::from(pes.max(1))
        );
    }
    let _ = writeln!(
        s,
        "  {:<10} {:>14.2} {:>9.2} {:>8.2} {:>8.2}",
        "total", sum[0], sum[1], sum[2], sum[3]
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Energy, LevelCounts, Tensor};

    fn layer(name: &str, ms: f64, pes: u32, dram_words: u64) -> LayerResult {
        let mut counts = LevelCounts::default();
        counts.add(Level::Dram, Tensor::Ifmap, dram_words, 0);
        counts.add(Level::Glb, Tensor::Psum, 0, 20_850_000);
        let cycles = (ms * 200e3) as u64;
        LayerResult {
            network: "alexnet".into(),
            layer: name.into(),
            kind: "conv".into(),
            mapping: None,
            active_pes: pes,
            weights: 0,
            counts,
            energy: Energy::default(),
            cycles: cycles + 1_000_000,
            processing_cycles: cycles,
        }
    }

    #[test]
    fn the_chips_own_numbers_pass_and_a_gap_fails() {
        let mut rs: Vec<_> = ALEXNET_LAYERS
            .iter()
            .map(|c| layer(c.layer, c.processing_ms, c.active_pes, 1_540_000))
            .collect();
        let rows = compare_alexnet(&rs, 200.0, 16).unwrap();
        let bad: Vec<_> = rows
            .iter()
            .filter(|r| !r.passes())
            .map(|r| &r.what)
            .collect();
        // 5 layers × 5 ms of serialized DRAM time = +25 ms over 103.5 ms of processing.
        assert_eq!(bad, ["total latency ms"]);
        let dram = rows.iter().find(|r| r.what == "DRAM traffic MB").unwrap();
        assert!((dram.model - 15.4).abs() < 1e-9);
        rs[1].active_pes = 140;
        let rows = compare_alexnet(&rs, 200.0, 16).unwrap();
        assert!(rows
            .iter()
            .any(|r| r.what == "conv2 active PEs" && !r.passes()));
        assert!(compare_alexnet(&rs[..4], 200.0, 16).is_none());
    }
}
