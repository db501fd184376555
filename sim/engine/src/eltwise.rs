//! GLB-side datapath layers (docs/counters.md, "Add" and "Global
//! pooling"): no PE-array work. Operand planes stream DRAM → GLB
//! (RLC-decoded) as one burst per plane, the datapath next to the GLB
//! reads them a bank row at a time and writes its results into the GLB,
//! and the results are read back, finalized and RLC-encoded to DRAM. Every
//! access is counted as the datapath performs it, and every output value
//! is checked against a direct computation from the operands.

use super::dram::{decoder_faults, DramLink, Stored};
use super::fault::{FaultKind, FaultSite, Injector};
use super::{ComponentStats, SimError, SimOptions, SimResult};
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

impl EltwiseLayer {
    /// The Add `layer` of a network at `batch` images, when its work is one.
    pub fn of(layer: &crate::workload::Layer, batch: u32) -> Option<EltwiseLayer> {
        match crate::workload::LayerWork::of(layer, batch) {
            crate::workload::LayerWork::Eltwise { inputs, .. } => Some(EltwiseLayer {
                inputs,
                shape: layer.output,
                batch,
                sparsity: layer.sparsity,
                network_input: layer.reads_network_input(),
                relu: layer.relu,
            }),
            _ => None,
        }
    }

    /// Seeded operands `[inputs][N][C][H][W]` with the layer's zero fraction.
    pub fn generate(&self, seed: u64) -> Vec<Vec<i16>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let len = (self.batch * self.shape.c * self.shape.h * self.shape.w) as usize;
        (0..self.inputs)
            .map(|_| {
                (0..len)
                    .map(|_| {
                        if rng.gen::<f64>() < self.sparsity.ifmap_zero_fraction {
                            0
                        } else {
                            rng.gen_range(1..=255)
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

/// The DRAM link, the datapath's counters and the two timelines of a
/// GLB-side layer.
pub(super) struct SideDatapath {
    pub dram: DramLink,
    pub counts: LevelCounts,
    pub inject: Injector,
    port: u64,
    /// GLB word address of the next operand word the datapath reads: the
    /// layer's operand planes lie back to back.
    next_addr: u64,
    /// Bank row the datapath read last (a row shared by two planes is
    /// read once).
    last_row: Option<u64>,
    /// Datapath cycles (DRAM hidden).
    pub processing: u64,
    /// Chip timeline.
    pub chip: u64,
}

impl SideDatapath {
    pub(super) fn new(hw: &HwConfig, opts: &SimOptions) -> Self {
        SideDatapath {
            dram: DramLink::new(hw),
            counts: LevelCounts::default(),
            inject: Injector::new(opts.fault),
            port: u64::from(hw.glb.bank_port_words.max(1)),
            next_addr: 0,
            last_row: None,
            processing: 0,
            chip: 0,
        }
    }

    /// One DRAM → GLB burst of `streams`; returns their values as the GLB
    /// holds them (a lost burst leaves `stale`).
    pub(super) fn load(
        &mut self,
        streams: &[&[i16]],
        compressed: bool,
        stale: &[Vec<i16>],
    ) -> Result<Vec<Vec<i16>>, String> {
        let (late, fault) = self.burst_fault();
        let mut words = 0;
        let mut out = Vec::with_capacity(streams.len());
        for (i, s) in streams.iter().enumerate() {
            let mut stored = self.dram.store(s, compressed);
            if let (0, Some(FaultKind::Flip(bit))) = (i, fault) {
                stored.flip(bit);
            }
            words += self.dram.words(&stored);
            let mut vals = self.dram.load(&stored)?;
            if matches!(stored, Stored::Rlc(_)) {
                decoder_faults(&mut vals, &mut self.inject);
            }
            vals.resize(s.len(), 0);
            if fault == Some(FaultKind::Drop) {
                vals = stale.get(i).cloned().unwrap_or_else(|| vec![0; s.len()]);
            }
            self.counts
                .add(Level::Glb, Tensor::Ifmap, 0, vals.len() as u64);
            out.push(vals);
        }
        self.dram.count_read(words);
        self.counts.add(Level::Dram, Tensor::Ifmap, words, 0);
        self.chip = self.dram.transfer(words, self.chip, late);
        Ok(out)
    }

    /// One GLB → DRAM burst of results; returns what DRAM then holds
    /// (a lost burst leaves zeros).
    pub(super) fn store(&mut self, values: &[i16]) -> Result<Vec<i16>, String> {
        let (late, fault) = self.burst_fault();
        self.counts
            .add(Level::Glb, Tensor::Psum, values.len() as u64, 0);
        let mut stored = self.dram.store(values, true);
        if let Some(FaultKind::Flip(bit)) = fault {
            stored.flip(bit);
        }
        let words = self.dram.words(&stored);
        self.dram.count_write(words);
        self.counts.add(Level::Dram, Tensor::Psum, 0, words);
        self.chip = self.dram.transfer(words, self.chip, late);
        if fault == Some(FaultKind::Drop) {
            return Ok(vec![0; values.len()]);
        }
        let mut vals = self.dram.load(&stored)?;
        vals.resize(values.len(), 0);
        Ok(vals)
    }

    /// The datapath reads the next `values` operand words from the GLB, a
    /// bank row per cycle.
    pub(super) fn read_plane(&mut self, values: u64) {
        self.counts.add(Level::Glb, Tensor::Ifmap, values, 0);
        if values == 0 {
            return;
        }
        let first = self.next_addr / self.port;
        let last = (self.next_addr + values - 1) / self.port;
        self.next_addr += values;
        let fresh = if self.last_row == Some(first) {
            first + 1
        } else {
            first
        };
        let rows = (last + 1).saturating_sub(fresh);
        self.last_row = Some(last);
        self.processing += rows;
        self.chip += rows;
    }

    fn burst_fault(&mut self) -> (u64, Option<FaultKind>) {
        match self.inject.next(FaultSite::Dram) {
            Some(FaultKind::Delay(d)) => (u64::from(d), None),
            other => (0, other),
        }
    }

    /// The layer's result: cycles with DRAM as on the chip, or overlapped.
    pub(super) fn finish(mut self, hw: &HwConfig, ofmap: Vec<i16>) -> SimResult {
        let cycles = if hw.dram.overlap {
            self.processing.max(self.dram.stats.busy_cycles)
        } else {
            self.chip
        };
        self.dram.stats.serialized_cycles = cycles.saturating_sub(self.processing);
        let macs = &mut self.counts.macs;
        macs.algorithmic = macs.performed + macs.gated + macs.skipped;
        SimResult {
            counts: self.counts,
            cycles,
            processing_cycles: self.processing,
            active_pes: 0,
            mac_pes: 0,
            stats: ComponentStats {
                dram: self.dram.stats,
                ..Default::default()
            },
            trace: None,
            ofmap,
            fault: self.inject.report(),
        }
    }
}

/// Executes an Add layer on `operands` (`[inputs][N][C][H][W]`) and checks
/// every sum against the operands added directly.
pub fn simulate_eltwise(
    layer: &EltwiseLayer,
    hw: &HwConfig,
    operands: &[Vec<i16>],
    opts: &SimOptions,
) -> Result<SimResult, SimError> {
    let name = &opts.layer;
    let corrupted = |reason: String| SimError::Corrupted {
        layer: name.clone(),
        reason,
    };
    let plane = (layer.shape.h * layer.shape.w) as usize;
    let planes = (layer.batch * layer.shape.c) as usize;
    if operands.len() != layer.inputs as usize || operands.iter().any(|o| o.len() != plane * planes)
    {
        return Err(SimError::BadData {
            layer: name.clone(),
            reason: format!(
                "an Add of {} operands of {} values each was given {} operands",
                layer.inputs,
                plane * planes,
                operands.len()
            ),
        });
    }
    let mut dp = SideDatapath::new(hw, opts);
    let mut out = Vec::with_capacity(plane * planes);
    let mut held: Vec<Vec<i16>> = Vec::new();
    let mut sum = vec![0i16; plane];
    for k in 0..planes {
        let streams: Vec<&[i16]> = operands
            .iter()
            .map(|o| &o[k * plane..(k + 1) * plane])
            .collect();
        held = dp
            .load(&streams, !layer.network_input, &held)
            .map_err(corrupted)?;
        sum.fill(0);
        for op in &held {
            dp.read_plane(op.len() as u64);
            for (s, &v) in sum.iter_mut().zip(op) {
                *s = s.wrapping_add(v);
            }
        }
        dp.counts.add(Level::Glb, Tensor::Psum, 0, plane as u64);
        dp.counts.macs.performed += (held.len().saturating_sub(1) * plane) as u64;
        if layer.relu {
            sum.iter_mut().for_each(|v| *v = (*v).max(0));
        }
        out.extend(dp.store(&sum).map_err(corrupted)?);
    }
    if opts.check {
        check_sums(layer, operands, &out, name)?;
    }
    Ok(dp.finish(hw, out))
}

/// Compares `got` with the operands summed in 32-bit arithmetic and
/// folded to 16 bits (then ReLU'd), value by value.
fn check_sums(
    layer: &EltwiseLayer,
    operands: &[Vec<i16>],
    got: &[i16],
    name: &str,
) -> Result<(), SimError> {
    let values = operands.first().map_or(0, Vec::len);
    if got.len() != values {
        return Err(SimError::Internal {
            layer: name.into(),
            reason: format!("the Add wrote {} values, it has {values}", got.len()),
        });
    }
    for (i, &g) in got.iter().enumerate() {
        let total: i32 = operands.iter().map(|o| i32::from(o[i])).sum();
        let mut want = total as i16;
        if layer.relu && want < 0 {
            want = 0;
        }
        if g != want {
            let (h, w) = (layer.shape.h as usize, layer.shape.w as usize);
            let plane = i / (h * w);
            return Err(SimError::Mismatch {
                layer: name.into(),
                image: (plane / layer.shape.c as usize) as u32,
                channel: (plane % layer.shape.c as usize) as u32,
                row: ((i / w) % h) as u32,
                col: (i % w) as u32,
                got: g,
                want,
            });
        }
    }
    Ok(())
}
