//! Raw config -> [`HwConfig`]: required keys, defaults, ranges, consistency.

use super::raw::{RawHw, RawRlc, RlcSetting};
use super::source::{Ctx, HwError};
use super::*;

/// Defaults a chip designer expects to be implied (Eyeriss values).
const DEFAULT_WORD_BITS: u32 = 16;
/// Multiplier and adder form a 2-stage pipeline (JSSC 2017).
const DEFAULT_MAC_STAGES: u32 = 2;
/// PE input FIFO depth; the paper gives no depth, 4 words covers one GIN send.
const DEFAULT_FIFO_WORDS: u32 = 4;

struct V<'a, 'b> {
    ctx: &'a Ctx<'b>,
}

impl V<'_, '_> {
    fn required<T>(&self, key: &str, v: Option<T>) -> Result<T, HwError> {
        v.ok_or_else(|| HwError::Missing {
            loc: self.ctx.loc(key),
            key: key.to_string(),
        })
    }

    fn range(&self, key: &str, value: impl ToString, limit: &str) -> HwError {
        HwError::OutOfRange {
            loc: self.ctx.loc(key),
            key: key.to_string(),
            value: value.to_string(),
            limit: limit.to_string(),
        }
    }

    fn inconsistent(&self, key: &str, message: String) -> HwError {
        HwError::Inconsistent {
            loc: self.ctx.loc(key),
            key: key.to_string(),
            message,
        }
    }

    /// A required integer in `min..=max`.
    fn int(&self, key: &str, v: Option<u32>, min: u32, max: u32) -> Result<u32, HwError> {
        let x = self.required(key, v)?;
        self.int_in(key, x, min, max)
    }

    fn int_in(&self, key: &str, x: u32, min: u32, max: u32) -> Result<u32, HwError> {
        if x < min || x > max {
            let limit = if max == u32::MAX {
                format!("must be at least {min}")
            } else {
                format!("must be from {min} to {max}")
            };
            return Err(self.range(key, x, &limit));
        }
        Ok(x)
    }

    /// A required real number, finite and positive (or non-negative).
    fn real(&self, key: &str, v: Option<f64>, allow_zero: bool) -> Result<f64, HwError> {
        let x = self.required(key, v)?;
        let ok = x.is_finite() && (x > 0.0 || (allow_zero && x == 0.0));
        if !ok {
            let limit = if allow_zero {
                "must be finite and not negative"
            } else {
                "must be finite and positive"
            };
            return Err(self.range(key, x, limit));
        }
        Ok(x)
    }

    /// `bits` must be a positive multiple of the word width.
    fn width(&self, key: &str, v: Option<u32>, word_bits: u32) -> Result<u32, HwError> {
        let bits = self.int(key, v, 1, u32::MAX)?;
        if !bits.is_multiple_of(word_bits) {
            return Err(self.inconsistent(
                key,
                format!(
                    "{bits} bits is not a whole number of {word_bits}-bit words (pe.word_bits)"
                ),
            ));
        }
        Ok(bits)
    }
}

/// Validates the raw form into a [`HwConfig`].
pub(super) fn validate(raw: RawHw, ctx: &Ctx) -> Result<HwConfig, HwError> {
    let v = V { ctx };
    let array = ArrayConfig {
        rows: v.int("array.rows", raw.array.rows, 1, 4096)?,
        cols: v.int("array.cols", raw.array.cols, 1, 4096)?,
    };
    let pe = pe(&v, &raw)?;
    let glb = glb(&v, &raw, pe.word_bits)?;
    let w = pe.word_bits;
    let noc = NocConfig {
        ifmap_gin_bits: v.width("noc.ifmap_gin_bits", raw.noc.ifmap_gin_bits, w)?,
        filter_gin_bits: v.width("noc.filter_gin_bits", raw.noc.filter_gin_bits, w)?,
        psum_gin_bits: v.width("noc.psum_gin_bits", raw.noc.psum_gin_bits, w)?,
        gon_bits: v.width("noc.gon_bits", raw.noc.gon_bits, w)?,
        local_psum_bits: v.width("noc.local_psum_bits", raw.noc.local_psum_bits, w)?,
        multicast: raw.noc.multicast.unwrap_or(true),
    };
    let dram = DramConfig {
        bus_bits: v.width("dram.bus_bits", raw.dram.bus_bits, w)?,
        link_mhz: v.real("dram.link_mhz", raw.dram.link_mhz, false)?,
        crossing_cycles: match raw.dram.crossing_cycles {
            None => DEFAULT_CROSSING_CYCLES,
            Some(c) => v.int("dram.crossing_cycles", Some(c), 0, 1_000_000)?,
        },
        overlap: raw.dram.overlap.unwrap_or(false),
    };
    let clock = ClockConfig {
        core_mhz: v.real("clock.core_mhz", raw.clock.core_mhz, false)?,
    };
    let rlc = match &raw.sparsity.rlc {
        RlcSetting::Off => None,
        RlcSetting::On(r) => Some(rlc(&v, r, w)?),
    };
    let sparsity = SparsityFeatures {
        zero_gating: raw.sparsity.zero_gating.unwrap_or(false),
        zero_skipping: raw.sparsity.zero_skipping.unwrap_or(false),
        weight_compression: raw.sparsity.weight_compression.unwrap_or(false),
        rlc,
    };
    let energy = energy(&v, &raw)?;
    Ok(HwConfig {
        name: raw.name.clone().unwrap_or_else(|| ctx.default_name()),
        array,
        pe,
        glb,
        noc,
        dram,
        clock,
        sparsity,
        energy,
    })
}

fn pe(v: &V, raw: &RawHw) -> Result<PeConfig, HwError> {
    let p = &raw.pe;
    let word_bits = v.int_in(
        "pe.word_bits",
        p.word_bits.unwrap_or(DEFAULT_WORD_BITS),
        1,
        32,
    )?;
    let product_shift = p.product_shift.unwrap_or(0);
    let max_shift = 2 * word_bits - 1;
    Ok(PeConfig {
        filter_spad_words: v.int("pe.filter_spad_words", p.filter_spad_words, 1, u32::MAX)?,
        ifmap_spad_words: v.int("pe.ifmap_spad_words", p.ifmap_spad_words, 1, u32::MAX)?,
        psum_spad_words: v.int("pe.psum_spad_words", p.psum_spad_words, 1, u32::MAX)?,
        word_bits,
        mac_stages: v.int_in(
            "pe.mac_stages",
            p.mac_stages.unwrap_or(DEFAULT_MAC_STAGES),
            1,
            64,
        )?,
        fifo_words: v.int_in(
            "pe.fifo_words",
            p.fifo_words.unwrap_or(DEFAULT_FIFO_WORDS),
            1,
            u32::MAX,
        )?,
        product_shift: v.int_in("pe.product_shift", product_shift, 0, max_shift)?,
    })
}

fn glb(v: &V, raw: &RawHw, word_bits: u32) -> Result<GlbConfig, HwError> {
    let g = &raw.glb;
    let size_kib = v.int("glb.size_kib", g.size_kib, 1, 1 << 20)?;
    let banks = v.int("glb.banks", g.banks, 1, u32::MAX)?;
    let filter_kib = v.int("glb.filter_kib", g.filter_kib, 1, u32::MAX)?;
    let bank_port_words = v.int("glb.bank_port_words", g.bank_port_words, 1, u32::MAX)?;
    if filter_kib >= size_kib {
        return Err(v.inconsistent(
            "glb.filter_kib",
            format!(
                "the filter part ({filter_kib} KiB) must be smaller than the whole GLB \
                 (glb.size_kib = {size_kib}), leaving room for feature maps"
            ),
        ));
    }
    let fmap_bits = u64::from(size_kib - filter_kib) * 1024 * 8;
    let bank_words = match g.bank_words {
        // Floor so that sweeps over glb.size_kib stay legal; the rest is unused.
        None => {
            let words = fmap_bits / u64::from(word_bits) / u64::from(banks);
            if words == 0 {
                return Err(v.inconsistent(
                    "glb.banks",
                    format!(
                        "{banks} banks leave less than one word per bank in {} KiB",
                        size_kib - filter_kib
                    ),
                ));
            }
            u32::try_from(words).unwrap_or(u32::MAX)
        }
        Some(words) => {
            let words = v.int_in("glb.bank_words", words, 1, u32::MAX)?;
            let total = u64::from(banks) * u64::from(words) * u64::from(word_bits);
            if total != fmap_bits {
                return Err(v.inconsistent(
                    "glb.bank_words",
                    format!(
                        "{banks} banks x {words} words x {word_bits} bits = {} KiB, but \
                         glb.size_kib - glb.filter_kib = {size_kib} - {filter_kib} = {} KiB",
                        total as f64 / 8192.0,
                        size_kib - filter_kib
                    ),
                ));
            }
            words
        }
    };
    Ok(GlbConfig {
        size_kib,
        banks,
        bank_words,
        filter_kib,
        bank_port_words,
    })
}

fn rlc(v: &V, r: &RawRlc, word_bits: u32) -> Result<RlcFormat, HwError> {
    let run_bits = v.int("sparsity.rlc.run_bits", r.run_bits, 1, 16)?;
    let level_bits = v.int("sparsity.rlc.level_bits", r.level_bits, 1, 64)?;
    // The codec packs pairs into u64 words.
    let rlc_word = v.int("sparsity.rlc.word_bits", r.word_bits, 1, 64)?;
    if level_bits < word_bits {
        return Err(v.inconsistent(
            "sparsity.rlc.level_bits",
            format!("a {level_bits}-bit level cannot hold a {word_bits}-bit value (pe.word_bits)"),
        ));
    }
    if run_bits + level_bits + 1 > rlc_word {
        return Err(v.inconsistent(
            "sparsity.rlc.word_bits",
            format!(
                "one pair ({run_bits} run + {level_bits} level bits) plus the 1-bit last-word \
                 flag does not fit a {rlc_word}-bit word"
            ),
        ));
    }
    if rlc_word % word_bits != 0 {
        return Err(v.inconsistent(
            "sparsity.rlc.word_bits",
            format!("a {rlc_word}-bit RLC word is not a whole number of {word_bits}-bit DRAM words (pe.word_bits)"),
        ));
    }
    Ok(RlcFormat {
        run_bits,
        level_bits,
        word_bits: rlc_word,
    })
}

fn energy(v: &V, raw: &RawHw) -> Result<EnergyCosts, HwError> {
    let e = &raw.energy;
    let unit = match v.required("energy.unit", e.unit.as_deref())? {
        "normalized" => EnergyUnit::Normalized,
        "pJ" => EnergyUnit::Picojoule,
        other => {
            return Err(v.range(
                "energy.unit",
                format!("\"{other}\""),
                "must be \"normalized\" (multiples of one MAC) or \"pJ\"",
            ))
        }
    };
    Ok(EnergyCosts {
        unit,
        mac: v.real("energy.mac", e.mac, true)?,
        rf: v.real("energy.rf", e.rf, true)?,
        noc: v.real("energy.noc", e.noc, true)?,
        glb: v.real("energy.glb", e.glb, true)?,
        dram: v.real("energy.dram", e.dram, true)?,
    })
}
