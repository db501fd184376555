//! The tidy CSV outputs (`accesses.csv`, `layers.csv`). Floats use fixed
//! formats, so identical inputs give identical bytes.

use super::{LayerResult, Level, LEVELS, TENSORS};
use crate::hw::EnergyUnit;

/// Header of `accesses.csv`.
pub const ACCESSES_HEADER: [&str; 8] = [
    "network",
    "layer",
    "level",
    "tensor",
    "reads",
    "writes",
    "energy",
    "energy_unit",
];

/// Header of `layers.csv`.
pub const LAYERS_HEADER: [&str; 20] = [
    "network",
    "layer",
    "kind",
    "mapping",
    "macs",
    "performed_macs",
    "gated_macs",
    "skipped_macs",
    "active_pes",
    "cycles",
    "processing_cycles",
    "latency_ms",
    "energy",
    "energy_unit",
    "energy_dram",
    "energy_glb",
    "energy_noc",
    "energy_rf",
    "energy_alu",
    "energy_per_mac",
];

/// Energies: three decimals (exact for integer-valued normalized energies).
fn energy(x: f64) -> String {
    format!("{x:.3}")
}

/// One row per (layer, level, tensor) for dram, glb, noc, rf × ifmap,
/// filter, psum, then an `alu` row (tensor `-`, performed MACs in `reads`).
pub fn accesses_csv(results: &[LayerResult], unit: EnergyUnit) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(ACCESSES_HEADER).expect("writing to memory");
    for r in results {
        for level in LEVELS {
            for tensor in TENSORS {
                let a = r.counts.get(level, tensor);
                w.write_record([
                    r.network.as_str(),
                    r.layer.as_str(),
                    level.name(),
                    tensor.name(),
                    &a.reads.to_string(),
                    &a.writes.to_string(),
                    &energy(r.energy.get(level, tensor)),
                    unit.label(),
                ])
                .expect("writing to memory");
            }
        }
        w.write_record([
            r.network.as_str(),
            r.layer.as_str(),
            Level::Alu.name(),
            "-",
            &r.counts.macs.performed.to_string(),
            "0",
            &energy(r.energy.alu),
            unit.label(),
        ])
        .expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}

/// One row per layer; `macs` are algorithmic MACs for the batch, latency
/// is `cycles` at `core_mhz`.
pub fn layers_csv(results: &[LayerResult], unit: EnergyUnit, core_mhz: f64) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(LAYERS_HEADER).expect("writing to memory");
    for r in results {
        let m = &r.counts.macs;
        let total = r.energy.total();
        let per_mac = if m.algorithmic == 0 {
            0.0
        } else {
            total / m.algorithmic as f64
        };
        let mapping = r.mapping.map_or_else(|| "-".to_string(), |m| m.summary());
        let row = [
            r.network.clone(),
            r.layer.clone(),
            r.kind.clone(),
            mapping,
            m.algorithmic.to_string(),
            m.performed.to_string(),
            m.gated.to_string(),
            m.skipped.to_string(),
            r.active_pes.to_string(),
            r.cycles.to_string(),
            r.processing_cycles.to_string(),
            format!("{:.6}", r.cycles as f64 / core_mhz / 1000.0),
            energy(total),
            unit.label().to_string(),
            energy(r.energy.level(Level::Dram)),
            energy(r.energy.level(Level::Glb)),
            energy(r.energy.level(Level::Noc)),
            energy(r.energy.level(Level::Rf)),
            energy(r.energy.alu),
            format!("{per_mac:.6}"),
        ];
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}
