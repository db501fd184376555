//! The raw, unvalidated form of a hardware config file, exactly as serde
//! reads it. Every value is optional here; `validate.rs` decides what is
//! required, what defaults, and what is consistent.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// Every leaf key a config may contain, as dotted paths.
pub(super) const ALL_KEYS: &[&str] = &[
    "name",
    "array.rows",
    "array.cols",
    "pe.filter_spad_words",
    "pe.ifmap_spad_words",
    "pe.psum_spad_words",
    "pe.word_bits",
    "pe.mac_stages",
    "pe.fifo_words",
    "pe.product_shift",
    "glb.size_kib",
    "glb.banks",
    "glb.bank_words",
    "glb.filter_kib",
    "glb.bank_port_words",
    "noc.ifmap_gin_bits",
    "noc.filter_gin_bits",
    "noc.psum_gin_bits",
    "noc.gon_bits",
    "noc.local_psum_bits",
    "noc.multicast",
    "dram.bus_bits",
    "dram.link_mhz",
    "dram.crossing_cycles",
    "dram.overlap",
    "clock.core_mhz",
    "sparsity.zero_gating",
    "sparsity.zero_skipping",
    "sparsity.weight_compression",
    "sparsity.rlc",
    "sparsity.rlc.run_bits",
    "sparsity.rlc.level_bits",
    "sparsity.rlc.word_bits",
    "energy.unit",
    "energy.mac",
    "energy.rf",
    "energy.noc",
    "energy.glb",
    "energy.dram",
];

/// Tables a config may contain.
pub(super) const TABLES: &[&str] = &[
    "array",
    "pe",
    "glb",
    "noc",
    "dram",
    "clock",
    "sparsity",
    "sparsity.rlc",
    "energy",
];

/// Keys whose value is a whole number (overrides are rounded).
const INTEGER_KEYS: &[&str] = &[
    "array.rows",
    "array.cols",
    "pe.filter_spad_words",
    "pe.ifmap_spad_words",
    "pe.psum_spad_words",
    "pe.word_bits",
    "pe.mac_stages",
    "pe.fifo_words",
    "pe.product_shift",
    "glb.size_kib",
    "glb.banks",
    "glb.bank_words",
    "glb.filter_kib",
    "glb.bank_port_words",
    "noc.ifmap_gin_bits",
    "noc.filter_gin_bits",
    "noc.psum_gin_bits",
    "noc.gon_bits",
    "noc.local_psum_bits",
    "dram.bus_bits",
    "dram.crossing_cycles",
    "sparsity.rlc.run_bits",
    "sparsity.rlc.level_bits",
    "sparsity.rlc.word_bits",
];

/// Whether `key` holds an integer (as opposed to a real number).
pub fn is_integer_key(key: &str) -> bool {
    INTEGER_KEYS.contains(&key)
}

/// Every numeric key a sweep may override, integers first, in a stable order.
pub const NUMERIC_KEYS: &[&str] = &[
    "array.rows",
    "array.cols",
    "pe.filter_spad_words",
    "pe.ifmap_spad_words",
    "pe.psum_spad_words",
    "pe.word_bits",
    "pe.mac_stages",
    "pe.fifo_words",
    "pe.product_shift",
    "glb.size_kib",
    "glb.banks",
    "glb.bank_words",
    "glb.filter_kib",
    "glb.bank_port_words",
    "noc.ifmap_gin_bits",
    "noc.filter_gin_bits",
    "noc.psum_gin_bits",
    "noc.gon_bits",
    "noc.local_psum_bits",
    "dram.bus_bits",
    "dram.crossing_cycles",
    "sparsity.rlc.run_bits",
    "sparsity.rlc.level_bits",
    "sparsity.rlc.word_bits",
    "dram.link_mhz",
    "clock.core_mhz",
    "energy.mac",
    "energy.rf",
    "energy.noc",
    "energy.glb",
    "energy.dram",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHw {
    pub name: Option<String>,
    #[serde(default)]
    pub array: RawArray,
    #[serde(default)]
    pub pe: RawPe,
    #[serde(default)]
    pub glb: RawGlb,
    #[serde(default)]
    pub noc: RawNoc,
    #[serde(default)]
    pub dram: RawDram,
    #[serde(default)]
    pub clock: RawClock,
    #[serde(default)]
    pub sparsity: RawSparsity,
    #[serde(default)]
    pub energy: RawEnergy,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArray {
    pub rows: Option<u32>,
    pub cols: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPe {
    pub filter_spad_words: Option<u32>,
    pub ifmap_spad_words: Option<u32>,
    pub psum_spad_words: Option<u32>,
    pub word_bits: Option<u32>,
    pub mac_stages: Option<u32>,
    pub fifo_words: Option<u32>,
    pub product_shift: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGlb {
    pub size_kib: Option<u32>,
    pub banks: Option<u32>,
    pub bank_words: Option<u32>,
    pub filter_kib: Option<u32>,
    pub bank_port_words: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNoc {
    pub ifmap_gin_bits: Option<u32>,
    pub filter_gin_bits: Option<u32>,
    pub psum_gin_bits: Option<u32>,
    pub gon_bits: Option<u32>,
    pub local_psum_bits: Option<u32>,
    pub multicast: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDram {
    pub bus_bits: Option<u32>,
    pub link_mhz: Option<f64>,
    pub crossing_cycles: Option<u32>,
    pub overlap: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClock {
    pub core_mhz: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSparsity {
    pub zero_gating: Option<bool>,
    pub zero_skipping: Option<bool>,
    pub weight_compression: Option<bool>,
    #[serde(default)]
    pub rlc: RlcSetting,
}

/// `rlc = false`, absent, or a table of field widths.
#[derive(Debug, Default)]
pub(super) enum RlcSetting {
    #[default]
    Off,
    On(RawRlc),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRlc {
    pub run_bits: Option<u32>,
    pub level_bits: Option<u32>,
    pub word_bits: Option<u32>,
}

impl<'de> Deserialize<'de> for RlcSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RlcSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("false or a table { run_bits, level_bits, word_bits }")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RlcSetting, E> {
                if v {
                    Err(E::custom(
                        "`true` does not say the format: give { run_bits, level_bits, word_bits }",
                    ))
                } else {
                    Ok(RlcSetting::Off)
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RlcSetting, A::Error> {
                RawRlc::deserialize(de::value::MapAccessDeserializer::new(map)).map(RlcSetting::On)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnergy {
    pub unit: Option<String>,
    pub mac: Option<f64>,
    pub rf: Option<f64>,
    pub noc: Option<f64>,
    pub glb: Option<f64>,
    pub dram: Option<f64>,
}

/// A mutable reference to one numeric field of the raw form.
pub(super) enum Slot<'a> {
    Int(&'a mut Option<u32>),
    Real(&'a mut Option<f64>),
    /// An RLC field while RLC is switched off.
    RlcOff,
}

impl RawHw {
    /// The field behind a numeric dotted key, or `None` for other keys.
    pub fn slot(&mut self, key: &str) -> Option<Slot<'_>> {
        use Slot::{Int, Real};
        Some(match key {
            "array.rows" => Int(&mut self.array.rows),
            "array.cols" => Int(&mut self.array.cols),
            "pe.filter_spad_words" => Int(&mut self.pe.filter_spad_words),
            "pe.ifmap_spad_words" => Int(&mut self.pe.ifmap_spad_words),
            "pe.psum_spad_words" => Int(&mut self.pe.psum_spad_words),
            "pe.word_bits" => Int(&mut self.pe.word_bits),
            "pe.mac_stages" => Int(&mut self.pe.mac_stages),
            "pe.fifo_words" => Int(&mut self.pe.fifo_words),
            "pe.product_shift" => Int(&mut self.pe.product_shift),
            "glb.size_kib" => Int(&mut self.glb.size_kib),
            "glb.banks" => Int(&mut self.glb.banks),
            "glb.bank_words" => Int(&mut self.glb.bank_words),
            "glb.filter_kib" => Int(&mut self.glb.filter_kib),
            "glb.bank_port_words" => Int(&mut self.glb.bank_port_words),
            "noc.ifmap_gin_bits" => Int(&mut self.noc.ifmap_gin_bits),
            "noc.filter_gin_bits" => Int(&mut self.noc.filter_gin_bits),
            "noc.psum_gin_bits" => Int(&mut self.noc.psum_gin_bits),
            "noc.gon_bits" => Int(&mut self.noc.gon_bits),
            "noc.local_psum_bits" => Int(&mut self.noc.local_psum_bits),
            "dram.bus_bits" => Int(&mut self.dram.bus_bits),
            "dram.crossing_cycles" => Int(&mut self.dram.crossing_cycles),
            "dram.link_mhz" => Real(&mut self.dram.link_mhz),
            "clock.core_mhz" => Real(&mut self.clock.core_mhz),
            "energy.mac" => Real(&mut self.energy.mac),
            "energy.rf" => Real(&mut self.energy.rf),
            "energy.noc" => Real(&mut self.energy.noc),
            "energy.glb" => Real(&mut self.energy.glb),
            "energy.dram" => Real(&mut self.energy.dram),
            k if k.starts_with("sparsity.rlc.") => match &mut self.sparsity.rlc {
                RlcSetting::Off => Slot::RlcOff,
                RlcSetting::On(r) => match k {
                    "sparsity.rlc.run_bits" => Int(&mut r.run_bits),
                    "sparsity.rlc.level_bits" => Int(&mut r.level_bits),
                    "sparsity.rlc.word_bits" => Int(&mut r.word_bits),
                    _ => return None,
                },
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_numeric_key_has_a_slot_and_is_a_known_key() {
        let mut raw = RawHw {
            sparsity: RawSparsity {
                rlc: RlcSetting::On(RawRlc::default()),
                ..Default::default()
            },
            ..Default::default()
        };
        for &k in NUMERIC_KEYS {
            assert!(ALL_KEYS.contains(&k), "{k}");
            let is_int = matches!(raw.slot(k), Some(Slot::Int(_)));
            let is_real = matches!(raw.slot(k), Some(Slot::Real(_)));
            assert!(is_int == is_integer_key(k) && is_int != is_real, "{k}");
        }
    }
}
