//! Raw config -> [`HwConfig`]: required keys, defaults, ranges, consistency.
//!
//! Every problem is collected, not only the first: each check that fails
//! records its error and yields `None`, and checks that need a value that
//! failed are skipped (so one bad value does not cause follow-on errors).

use super::ranges::{format_number, range_of};
use super::raw::{RawHw, RawRlc, RlcSetting};
use super::*;
use crate::input::InputError;
use crate::tomldoc::{Location, SpannedDoc};
use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;

/// Defaults a chip designer expects to be implied (Eyeriss values).
const DEFAULT_WORD_BITS: u32 = 16;
/// Multiplier and adder form a 2-stage pipeline (JSSC 2017).
const DEFAULT_MAC_STAGES: u32 = 2;
/// PE input FIFO depth; the paper gives no depth, 4 words covers one GIN send.
const DEFAULT_FIFO_WORDS: u32 = 4;

struct V<'a, 'b> {
    ctx: &'a Ctx<'b>,
    /// Keys (or tables) already reported with a type error: not "missing".
    reported: &'a HashSet<String>,
    errors: RefCell<Vec<InputError>>,
}

impl V<'_, '_> {
    fn push(&self, e: InputError) {
        self.errors.borrow_mut().push(e);
    }

    fn already_reported(&self, key: &str) -> bool {
        self.reported
            .iter()
            .any(|r| key == r || key.starts_with(&format!("{r}.")))
    }

    fn required<T>(&self, key: &str, v: Option<T>) -> Option<T> {
        if v.is_none() && !self.already_reported(key) {
            self.push(InputError::Missing {
                loc: self.ctx.loc(key),
                scope: String::new(),
                key: key.to_string(),
            });
        }
        v
    }

    fn range(&self, key: &str, value: impl ToString, limit: &str) {
        self.push(InputError::OutOfRange {
            loc: self.ctx.loc(key),
            key: key.to_string(),
            value: value.to_string(),
            limit: limit.to_string(),
        });
    }

    fn inconsistent(&self, key: &str, message: String) {
        self.push(InputError::Inconsistent {
            loc: self.ctx.loc(key),
            key: key.to_string(),
            message,
        });
    }

    /// `x` checked against the documented range of `key`.
    fn in_range<T: Copy + Into<f64>>(&self, key: &str, x: T) -> Option<T> {
        let r = range_of(key).expect("every numeric key has a range");
        match r.check(x.into()) {
            Ok(()) => Some(x),
            Err(limit) => {
                self.range(key, format_number(x.into()), &limit);
                None
            }
        }
    }

    /// A required integer in its documented range.
    fn int(&self, key: &str, v: Option<u32>) -> Option<u32> {
        self.in_range(key, self.required(key, v)?)
    }

    /// An integer with a default, in its documented range.
    fn int_or(&self, key: &str, v: Option<u32>, default: u32) -> Option<u32> {
        self.in_range(key, v.unwrap_or(default))
    }

    /// A required real number in its documented range.
    fn real(&self, key: &str, v: Option<f64>) -> Option<f64> {
        self.in_range(key, self.required(key, v)?)
    }

    /// `bits` must be a whole number of words.
    fn width(&self, key: &str, v: Option<u32>, word_bits: Option<u32>) -> Option<u32> {
        let bits = self.int(key, v)?;
        let w = word_bits?;
        if !bits.is_multiple_of(w) {
            self.inconsistent(
                key,
                format!("{bits} bits is not a whole number of {w}-bit words (pe.word_bits)"),
            );
            return None;
        }
        Some(bits)
    }
}

/// Validates the raw form into a [`HwConfig`]; on failure, every error
/// found (never empty). `reported` holds keys whose type error was already
/// reported, so they are not also reported missing.
pub(super) fn validate(
    raw: RawHw,
    ctx: &Ctx,
    reported: &HashSet<String>,
) -> Result<HwConfig, Vec<InputError>> {
    let v = V {
        ctx,
        reported,
        errors: RefCell::new(Vec::new()),
    };
    let rows = v.int("array.rows", raw.array.rows);
    let cols = v.int("array.cols", raw.array.cols);
    let w = v.int_or("pe.word_bits", raw.pe.word_bits, DEFAULT_WORD_BITS);
    let pe = pe(&v, &raw, w);
    let glb = w.and_then(|w| glb(&v, &raw, w));
    let n = &raw.noc;
    let ifmap_gin = v.width("noc.ifmap_gin_bits", n.ifmap_gin_bits, w);
    let filter_gin = v.width("noc.filter_gin_bits", n.filter_gin_bits, w);
    let psum_gin = v.width("noc.psum_gin_bits", n.psum_gin_bits, w);
    let gon = v.width("noc.gon_bits", n.gon_bits, w);
    let local_psum = v.width("noc.local_psum_bits", n.local_psum_bits, w);
    let bus_bits = v.width("dram.bus_bits", raw.dram.bus_bits, w);
    let link_mhz = v.real("dram.link_mhz", raw.dram.link_mhz);
    let crossing = v.int_or(
        "dram.crossing_cycles",
        raw.dram.crossing_cycles,
        DEFAULT_CROSSING_CYCLES,
    );
    let core_mhz = v.real("clock.core_mhz", raw.clock.core_mhz);
    let rlc = match &raw.sparsity.rlc {
        RlcSetting::Off => Some(None),
        RlcSetting::On(r) => rlc(&v, r, w).map(Some),
    };
    let energy = energy(&v, &raw);
    let name = match raw.name.clone() {
        Some(n) => match crate::stats::check_file_name(&n) {
            Ok(()) => Some(n),
            Err(why) => {
                v.push(InputError::OutOfRange {
                    loc: ctx.loc("name"),
                    key: "name".into(),
                    value: format!("{n:?}"),
                    limit: why,
                });
                None
            }
        },
        None => Some(ctx.default_name()),
    };
    let errors = v.errors.into_inner();
    let built = (|| {
        Some(HwConfig {
            name: name?,
            array: ArrayConfig {
                rows: rows?,
                cols: cols?,
            },
            pe: pe?,
            glb: glb?,
            noc: NocConfig {
                ifmap_gin_bits: ifmap_gin?,
                filter_gin_bits: filter_gin?,
                psum_gin_bits: psum_gin?,
                gon_bits: gon?,
                local_psum_bits: local_psum?,
                multicast: n.multicast.unwrap_or(true),
            },
            dram: DramConfig {
                bus_bits: bus_bits?,
                link_mhz: link_mhz?,
                crossing_cycles: crossing?,
                overlap: raw.dram.overlap.unwrap_or(false),
            },
            clock: ClockConfig {
                core_mhz: core_mhz?,
            },
            sparsity: SparsityFeatures {
                zero_gating: raw.sparsity.zero_gating.unwrap_or(false),
                zero_skipping: raw.sparsity.zero_skipping.unwrap_or(false),
                weight_compression: raw.sparsity.weight_compression.unwrap_or(false),
                rlc: rlc?,
            },
            energy: energy?,
        })
    })();
    match built {
        Some(hw) if errors.is_empty() => Ok(hw),
        _ => Err(errors),
    }
}

fn pe(v: &V, raw: &RawHw, word_bits: Option<u32>) -> Option<PeConfig> {
    let p = &raw.pe;
    let filter = v.int("pe.filter_spad_words", p.filter_spad_words);
    let ifmap = v.int("pe.ifmap_spad_words", p.ifmap_spad_words);
    let psum = v.int("pe.psum_spad_words", p.psum_spad_words);
    let mac_stages = v.int_or("pe.mac_stages", p.mac_stages, DEFAULT_MAC_STAGES);
    let fifo_words = v.int_or("pe.fifo_words", p.fifo_words, DEFAULT_FIFO_WORDS);
    let mut product_shift = v.int_or("pe.product_shift", p.product_shift, 0);
    if let (Some(s), Some(w)) = (product_shift, word_bits) {
        if s > 2 * w - 1 {
            v.inconsistent(
                "pe.product_shift",
                format!(
                    "a {s}-bit shift discards the whole {}-bit product of two {w}-bit words \
                     (pe.word_bits); must be at most {}",
                    2 * w,
                    2 * w - 1
                ),
            );
            product_shift = None;
        }
    }
    Some(PeConfig {
        filter_spad_words: filter?,
        ifmap_spad_words: ifmap?,
        psum_spad_words: psum?,
        word_bits: word_bits?,
        mac_stages: mac_stages?,
        fifo_words: fifo_words?,
        product_shift: product_shift?,
    })
}

fn glb(v: &V, raw: &RawHw, word_bits: u32) -> Option<GlbConfig> {
    let g = &raw.glb;
    let size_kib = v.int("glb.size_kib", g.size_kib);
    let banks = v.int("glb.banks", g.banks);
    let filter_kib = v.int("glb.filter_kib", g.filter_kib);
    let bank_port_words = v.int("glb.bank_port_words", g.bank_port_words);
    let given_words = g.bank_words.and_then(|w| v.in_range("glb.bank_words", w));
    let (size_kib, banks, filter_kib) = (size_kib?, banks?, filter_kib?);
    if filter_kib >= size_kib {
        v.inconsistent(
            "glb.filter_kib",
            format!(
                "the filter part ({filter_kib} KiB) must be smaller than the whole GLB \
                 (glb.size_kib = {size_kib}), leaving room for feature maps"
            ),
        );
        return None;
    }
    let fmap_bits = u64::from(size_kib - filter_kib) * 1024 * 8;
    let bank_words = match g.bank_words {
        // Floor so that sweeps over glb.size_kib stay legal; the rest is unused.
        None => {
            let words = fmap_bits / u64::from(word_bits) / u64::from(banks);
            if words == 0 {
                v.inconsistent(
                    "glb.banks",
                    format!(
                        "{banks} banks leave less than one word per bank in {} KiB",
                        size_kib - filter_kib
                    ),
                );
                return None;
            }
            u32::try_from(words).unwrap_or(u32::MAX)
        }
        Some(_) => {
            let words = given_words?;
            let total = u64::from(banks) * u64::from(words) * u64::from(word_bits);
            if total != fmap_bits {
                v.inconsistent(
                    "glb.bank_words",
                    format!(
                        "{banks} banks x {words} words x {word_bits} bits = {} KiB, but \
                         glb.size_kib - glb.filter_kib = {size_kib} - {filter_kib} = {} KiB",
                        total as f64 / 8192.0,
                        size_kib - filter_kib
                    ),
                );
                return None;
            }
            words
        }
    };
    Some(GlbConfig {
        size_kib,
        banks,
        bank_words,
        filter_kib,
        bank_port_words: bank_port_words?,
    })
}

fn rlc(v: &V, r: &RawRlc, word_bits: Option<u32>) -> Option<RlcFormat> {
    let run_bits = v.int("sparsity.rlc.run_bits", r.run_bits);
    let level_bits = v.int("sparsity.rlc.level_bits", r.level_bits);
    // The codec packs pairs into u64 words.
    let rlc_word = v.int("sparsity.rlc.word_bits", r.word_bits);
    let (run_bits, level_bits, rlc_word, word_bits) =
        (run_bits?, level_bits?, rlc_word?, word_bits?);
    if level_bits < word_bits {
        v.inconsistent(
            "sparsity.rlc.level_bits",
            format!("a {level_bits}-bit level cannot hold a {word_bits}-bit value (pe.word_bits)"),
        );
        return None;
    }
    if run_bits + level_bits + 1 > rlc_word {
        v.inconsistent(
            "sparsity.rlc.word_bits",
            format!(
                "one pair ({run_bits} run + {level_bits} level bits) plus the 1-bit last-word \
                 flag does not fit a {rlc_word}-bit word"
            ),
        );
        return None;
    }
    if rlc_word % word_bits != 0 {
        v.inconsistent(
            "sparsity.rlc.word_bits",
            format!("a {rlc_word}-bit RLC word is not a whole number of {word_bits}-bit DRAM words (pe.word_bits)"),
        );
        return None;
    }
    Some(RlcFormat {
        run_bits,
        level_bits,
        word_bits: rlc_word,
    })
}

fn energy(v: &V, raw: &RawHw) -> Option<EnergyCosts> {
    let e = &raw.energy;
    let unit = match v.required("energy.unit", e.unit.as_deref()) {
        Some("normalized") => Some(EnergyUnit::Normalized),
        Some("pJ") => Some(EnergyUnit::Picojoule),
        Some(other) => {
            v.range(
                "energy.unit",
                format!("\"{other}\""),
                "must be \"normalized\" (multiples of one MAC) or \"pJ\"",
            );
            None
        }
        None => None,
    };
    let mac = v.real("energy.mac", e.mac);
    let rf = v.real("energy.rf", e.rf);
    let noc = v.real("energy.noc", e.noc);
    let glb = v.real("energy.glb", e.glb);
    let dram = v.real("energy.dram", e.dram);
    Some(EnergyCosts {
        unit: unit?,
        mac: mac?,
        rf: rf?,
        noc: noc?,
        glb: glb?,
        dram: dram?,
    })
}

/// Validation context: where each key is, and which keys were overridden.
pub(super) struct Ctx<'a> {
    pub doc: &'a SpannedDoc,
    pub overrides: &'a [(String, f64)],
}

impl Ctx<'_> {
    /// Where `key` was set: the override, the key in the file, or its table.
    pub fn loc(&self, key: &str) -> Location {
        if let Some((_, v)) = self.overrides.iter().rev().find(|(k, _)| k == key) {
            return Location::whole(&format!("{} (override {key} = {v})", self.doc.origin()));
        }
        let path: Vec<&str> = key.split('.').collect();
        self.doc.loc_of(&path)
    }

    /// The file stem of the origin, the default config name.
    pub fn default_name(&self) -> String {
        Path::new(self.doc.origin()).file_stem().map_or_else(
            || "hw".to_string(),
            |s| crate::stats::sanitize_file_name(&s.to_string_lossy()),
        )
    }
}
