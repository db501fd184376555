//! One documented range per numeric hwconfig key.
//!
//! The validator checks every value of a config file against this table,
//! and a sweep checks every `--vary` value against it before it starts, so
//! both say the same thing in the same words ([`KeyRange::limit`]).
//! `docs/hwconfig.md` lists the table; a test keeps the two equal.

/// The legal values of one numeric key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyRange {
    /// Dotted key.
    pub key: &'static str,
    /// Whether the value is a whole number.
    pub integer: bool,
    /// Smallest legal value.
    pub min: f64,
    /// Largest legal value.
    pub max: f64,
    /// Unit, for people (`words`, `MHz`, ...).
    pub unit: &'static str,
}

const fn int(key: &'static str, min: u32, max: u32, unit: &'static str) -> KeyRange {
    KeyRange {
        key,
        integer: true,
        min: min as f64,
        max: max as f64,
        unit,
    }
}

const fn real(key: &'static str, min: f64, max: f64, unit: &'static str) -> KeyRange {
    KeyRange {
        key,
        integer: false,
        min,
        max,
        unit,
    }
}

/// 2^20: a million words, KiB or banks, far beyond any accelerator built.
const MEGA: u32 = 1 << 20;

/// Every numeric key, integers first, in the order of [`super::NUMERIC_KEYS`].
/// Relations between keys (a width that is a multiple of `pe.word_bits`, a
/// filter part smaller than the GLB, `pe.product_shift` below
/// 2·`pe.word_bits`) are checked on top of these ranges.
pub const RANGES: &[KeyRange] = &[
    int("array.rows", 1, 4096, "PEs"),
    int("array.cols", 1, 4096, "PEs"),
    int("pe.filter_spad_words", 1, MEGA, "words"),
    int("pe.ifmap_spad_words", 1, MEGA, "words"),
    int("pe.psum_spad_words", 1, MEGA, "words"),
    int("pe.word_bits", 1, 32, "bits"),
    int("pe.mac_stages", 1, 64, "stages"),
    int("pe.fifo_words", 1, MEGA, "words"),
    int("pe.product_shift", 0, 63, "bits"),
    int("glb.size_kib", 1, MEGA, "KiB"),
    int("glb.banks", 1, MEGA, "banks"),
    int("glb.bank_words", 1, 1 << 30, "words"),
    int("glb.filter_kib", 1, MEGA, "KiB"),
    int("glb.bank_port_words", 1, MEGA, "words"),
    int("noc.ifmap_gin_bits", 1, MEGA, "bits"),
    int("noc.filter_gin_bits", 1, MEGA, "bits"),
    int("noc.psum_gin_bits", 1, MEGA, "bits"),
    int("noc.gon_bits", 1, MEGA, "bits"),
    int("noc.local_psum_bits", 1, MEGA, "bits"),
    int("dram.bus_bits", 1, MEGA, "bits"),
    int("dram.crossing_cycles", 0, MEGA, "core cycles"),
    int("sparsity.rlc.run_bits", 1, 16, "bits"),
    int("sparsity.rlc.level_bits", 1, 64, "bits"),
    int("sparsity.rlc.word_bits", 1, 64, "bits"),
    real("dram.link_mhz", 1.0, 100_000.0, "MHz"),
    real("clock.core_mhz", 1.0, 100_000.0, "MHz"),
    real("energy.mac", 0.0, 1e9, "energy unit"),
    real("energy.rf", 0.0, 1e9, "energy unit"),
    real("energy.noc", 0.0, 1e9, "energy unit"),
    real("energy.glb", 0.0, 1e9, "energy unit"),
    real("energy.dram", 0.0, 1e9, "energy unit"),
];

/// The range of numeric `key`, if it is one.
pub fn range_of(key: &str) -> Option<&'static KeyRange> {
    RANGES.iter().find(|r| r.key == key)
}

/// A number as messages print it: plainly when of everyday size, else in
/// scientific notation (`1e-300`, not 300 zeros).
pub fn format_number(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() || (1e-4..1e7).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

impl KeyRange {
    /// The limit as both the validator and sweeps print it:
    /// `must be a whole number from 1 to 4096 (PEs)`.
    pub fn limit(&self) -> String {
        let what = if self.integer {
            "a whole number"
        } else {
            "a number"
        };
        format!(
            "must be {what} from {} to {} ({})",
            format_number(self.min),
            format_number(self.max),
            self.unit
        )
    }

    /// Whether `v` is legal: finite, in range, and whole for an integer key.
    pub fn contains(&self, v: f64) -> bool {
        v.is_finite() && v >= self.min && v <= self.max && (!self.integer || v.fract() == 0.0)
    }

    /// `Err(limit)` when `v` is not legal.
    pub fn check(&self, v: f64) -> Result<(), String> {
        if self.contains(v) {
            Ok(())
        } else {
            Err(self.limit())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_reject_nan_fractions_and_absurd_values() {
        let clock = range_of("clock.core_mhz").unwrap();
        for bad in [f64::NAN, f64::INFINITY, 1e-300, -1.0, 0.0, 1e6] {
            assert!(!clock.contains(bad), "{bad}");
        }
        assert!(clock.contains(200.0) && clock.contains(0.5e3));
        let rows = range_of("array.rows").unwrap();
        assert!(!rows.contains(12.5) && !rows.contains(0.0) && rows.contains(12.0));
        assert_eq!(rows.limit(), "must be a whole number from 1 to 4096 (PEs)");
        assert!(range_of("name").is_none());
    }

    #[test]
    fn one_range_per_numeric_key_in_order() {
        let keys: Vec<&str> = RANGES.iter().map(|r| r.key).collect();
        assert_eq!(keys, super::super::NUMERIC_KEYS);
        for r in RANGES {
            assert_eq!(r.integer, super::super::is_integer_key(r.key), "{}", r.key);
            assert!(r.min <= r.max && r.min >= 0.0, "{}", r.key);
        }
    }
}
