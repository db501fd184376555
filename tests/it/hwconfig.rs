//! Hardware configs: the shipped files carry the published numbers, and
//! every kind of bad input is rejected with file, line, column and key.

use eyesim::hw::{self, EnergyUnit, NUMERIC_KEYS};
use eyesim::InputError;

const V1: &str = include_str!("../../hwconfigs/eyeriss-v1.toml");

/// eyeriss-v1 text with the first occurrence of `from` replaced by `to`.
fn v1_with(from: &str, to: &str) -> String {
    assert!(
        V1.contains(from),
        "test bug: `{from}` not in eyeriss-v1.toml"
    );
    V1.replacen(from, to, 1)
}

fn err(text: &str) -> String {
    hw::from_toml_str(text, "bad.toml").unwrap_err().to_string()
}

/// 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines().position(|l| l.starts_with(prefix)).unwrap() + 1
}

#[test]
fn eyeriss_v1_has_the_chip_numbers() {
    let c = hw::load("eyeriss-v1").unwrap();
    assert_eq!((c.array.rows, c.array.cols), (12, 14));
    assert_eq!(
        (
            c.pe.filter_spad_words,
            c.pe.ifmap_spad_words,
            c.pe.psum_spad_words
        ),
        (224, 12, 24)
    );
    assert_eq!(c.pe.word_bits, 16);
    assert_eq!(
        (c.glb.size_kib, c.glb.banks, c.glb.filter_kib),
        (108, 25, 8)
    );
    // 512 x 64 b per bank (JSSC 2017).
    assert_eq!(c.glb.bank_words, 512 * 64 / 16);
    assert_eq!(c.glb.fmap_words() * 2, 100 * 1024);
    assert_eq!(c.filter_glb_words() * 2, 8 * 1024);
    assert_eq!(
        (c.noc.ifmap_gin_bits, c.noc.filter_gin_bits, c.noc.gon_bits),
        (16, 64, 64)
    );
    assert!(c.noc.multicast);
    assert_eq!(
        (c.dram.bus_bits, c.dram.link_mhz, c.clock.core_mhz),
        (64, 60.0, 200.0)
    );
    let rlc = c.sparsity.rlc.unwrap();
    assert_eq!((rlc.max_run(), rlc.pairs_per_word()), (31, 3));
    assert!(c.sparsity.zero_gating && !c.sparsity.zero_skipping);
    let e = c.energy;
    assert_eq!(e.unit, EnergyUnit::Normalized);
    assert_eq!(
        (e.dram, e.glb, e.noc, e.rf, e.mac),
        (200.0, 6.0, 2.0, 1.0, 1.0)
    );
    // 168 PEs at 200 MHz: 33.6 GMAC/s peak (docs/reference.md §1).
    let peak = f64::from(c.array.rows * c.array.cols) * c.clock.core_mhz * 1e6;
    assert_eq!(peak, 33.6e9);
}

#[test]
fn isca16_config_has_256_pes_512_byte_rf_128_kib_glb() {
    let c = hw::load("eyeriss-isca16-256pe").unwrap();
    assert_eq!(c.array.rows * c.array.cols, 256);
    let rf_words = c.pe.filter_spad_words + c.pe.ifmap_spad_words + c.pe.psum_spad_words;
    assert_eq!(rf_words * c.pe.word_bits / 8, 512);
    assert_eq!(c.glb.size_kib, 128);
    let bytes = c.glb.fmap_words() * 2 + c.filter_glb_words() * 2;
    assert_eq!(bytes, 128 * 1024);
    assert_eq!(c.sparsity.rlc, None);
}

#[test]
fn tiny_loads_and_names_come_from_the_file() {
    let c = hw::load("tiny").unwrap();
    assert_eq!((c.array.rows, c.array.cols), (3, 4));
    assert_eq!(c.name, "tiny");
    for name in hw::builtin_names() {
        assert_eq!(hw::load(name).unwrap().name, name);
    }
}

#[test]
fn shipped_files_load_by_path_and_equal_the_builtins() {
    for name in hw::builtin_names() {
        let path = format!("{}/hwconfigs/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        assert_eq!(hw::load(&path).unwrap(), hw::load(name).unwrap());
    }
}

#[test]
fn every_shipped_key_is_commented() {
    for name in hw::builtin_names() {
        let path = format!("{}/hwconfigs/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            let l = line.trim();
            if l.contains('=') && !l.starts_with('#') {
                assert!(l.contains('#'), "{name}: uncommented key: {l}");
            }
        }
    }
}

#[test]
fn unknown_name_lists_builtins() {
    let e = hw::load("eyeriss-v3").unwrap_err().to_string();
    assert!(
        e.contains("eyeriss-v3") && e.contains("eyeriss-v1, eyeriss-isca16-256pe, tiny"),
        "{e}"
    );
}

#[test]
fn unknown_key_suggests_nearest() {
    let t = v1_with("rows = 12", "rowz = 12");
    let e = err(&t);
    let line = line_of(&t, "rowz");
    assert_eq!(
        e,
        format!("bad.toml:{line}:1: unknown key `array.rowz`; did you mean `array.rows`?")
    );
}

#[test]
fn unknown_table_is_reported() {
    let e = err(&format!("{V1}\n[cache]\nsize = 1\n"));
    assert!(e.contains("unknown key `cache`"), "{e}");
}

#[test]
fn wrong_type_names_key_and_position() {
    let t = v1_with("cols = 14", "cols = \"14\"");
    let e = err(&t);
    let line = line_of(&t, "cols");
    assert!(
        e.starts_with(&format!(
            "bad.toml:{line}:8: `array.cols` has the wrong type"
        )),
        "{e}"
    );
    assert!(e.contains("string"), "{e}");
}

#[test]
fn syntax_error_has_position() {
    let e = err("[array]\nrows = \n");
    assert!(
        e.starts_with("bad.toml:2:") && e.contains("TOML syntax error"),
        "{e}"
    );
}

#[test]
fn missing_core_size_is_reported() {
    let t = v1_with("psum_spad_words = 24", "");
    assert!(
        err(&t).ends_with("missing required key `pe.psum_spad_words`"),
        "{}",
        err(&t)
    );
}

#[test]
fn zero_sized_spad_is_out_of_range() {
    let t = v1_with("ifmap_spad_words = 12", "ifmap_spad_words = 0");
    let line = line_of(&t, "ifmap_spad_words");
    assert_eq!(
        err(&t),
        format!(
            "bad.toml:{line}:1: `pe.ifmap_spad_words` = 0 is out of range: must be a whole \
             number from 1 to 1048576 (words)"
        )
    );
}

#[test]
fn zero_rows_is_out_of_range() {
    let t = v1_with("rows = 12", "rows = 0");
    assert!(
        err(&t).contains("`array.rows` = 0 is out of range"),
        "{}",
        err(&t)
    );
}

#[test]
fn negative_value_is_rejected_not_wrapped() {
    let t = v1_with("rows = 12", "rows = -3");
    assert!(
        err(&t).contains("`array.rows` has the wrong type"),
        "{}",
        err(&t)
    );
}

#[test]
fn banks_that_do_not_add_up_are_inconsistent() {
    let t = v1_with("banks = 25", "banks = 25\nbank_words = 2000");
    let e = err(&t);
    assert!(e.contains("`glb.bank_words` is inconsistent"), "{e}");
    assert!(
        e.contains("25 banks x 2000 words x 16 bits") && e.contains("108 - 8 = 100 KiB"),
        "{e}"
    );
    // The consistent explicit value is accepted.
    let ok = v1_with("banks = 25", "banks = 25\nbank_words = 2048");
    assert_eq!(
        hw::from_toml_str(&ok, "ok.toml").unwrap(),
        hw::load("eyeriss-v1").unwrap()
    );
}

#[test]
fn filter_part_as_large_as_the_glb_is_inconsistent() {
    let t = v1_with("filter_kib = 8", "filter_kib = 108");
    let e = err(&t);
    assert!(e.contains("`glb.filter_kib` is inconsistent"), "{e}");
    assert!(
        e.contains("108 KiB") && e.contains("glb.size_kib = 108"),
        "{e}"
    );
}

#[test]
fn noc_width_not_a_word_multiple_is_inconsistent() {
    let t = v1_with("gon_bits = 64", "gon_bits = 40");
    let e = err(&t);
    let line = line_of(&t, "gon_bits");
    assert!(
        e.starts_with(&format!(
            "bad.toml:{line}:1: `noc.gon_bits` is inconsistent"
        )),
        "{e}"
    );
    assert!(
        e.contains("40 bits is not a whole number of 16-bit words"),
        "{e}"
    );
}

#[test]
fn rlc_pair_not_fitting_a_word_is_inconsistent() {
    let t = v1_with(
        "run_bits = 5, level_bits = 16, word_bits = 64",
        "run_bits = 5, level_bits = 16, word_bits = 21",
    );
    let e = err(&t);
    assert!(
        e.contains("`sparsity.rlc.word_bits` is inconsistent"),
        "{e}"
    );
    assert!(e.contains("does not fit a 21-bit word"), "{e}");
}

#[test]
fn rlc_word_must_be_whole_dram_words() {
    let t = v1_with(
        "run_bits = 5, level_bits = 16, word_bits = 64",
        "run_bits = 5, level_bits = 16, word_bits = 40",
    );
    let e = err(&t);
    assert!(
        e.contains("`sparsity.rlc.word_bits` is inconsistent"),
        "{e}"
    );
    assert!(e.contains("not a whole number of 16-bit DRAM words"), "{e}");
}

#[test]
fn rlc_true_is_rejected_with_help() {
    let t = v1_with(
        "rlc = { run_bits = 5, level_bits = 16, word_bits = 64 }",
        "rlc = true",
    );
    let e = err(&t);
    assert!(
        e.contains("`sparsity.rlc` has the wrong type") && e.contains("run_bits"),
        "{e}"
    );
}

#[test]
fn bad_energy_unit_is_rejected() {
    let t = v1_with("unit = \"normalized\"", "unit = \"nJ\"");
    assert!(
        err(&t).contains("`energy.unit` = \"nJ\" is out of range"),
        "{}",
        err(&t)
    );
}

#[test]
fn numeric_keys_cover_the_sweep_names() {
    for k in [
        "array.rows",
        "pe.filter_spad_words",
        "glb.size_kib",
        "glb.banks",
        "glb.filter_kib",
        "dram.bus_bits",
        "dram.link_mhz",
        "clock.core_mhz",
    ] {
        assert!(NUMERIC_KEYS.contains(&k), "{k}");
    }
}

#[test]
fn overrides_of_integer_keys_must_be_whole_and_revalidate() {
    let src = eyesim::hw::open_source("eyeriss-v1").unwrap();
    let e = src
        .with_override("pe.filter_spad_words", 127.6)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("= 127.6 is out of range: must be a whole number"),
        "{e}"
    );
    let c = src
        .with_override("pe.filter_spad_words", 128.0)
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(c.pe.filter_spad_words, 128);
    let c = src
        .with_override("clock.core_mhz", 250.5)
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(c.clock.core_mhz, 250.5);
    // Sweeping the GLB size keeps the bank count and derives the bank size.
    let c = src
        .with_override("glb.size_kib", 512.0)
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(c.glb.bank_words, ((512 - 8) * 1024 / 2 / 25) as u32);
    // The last override of a key wins; the source itself is unchanged.
    let twice = src
        .with_override("array.rows", 4.0)
        .unwrap()
        .with_override("array.rows", 6.0)
        .unwrap();
    assert_eq!(twice.validate().unwrap().array.rows, 6);
    assert_eq!(src.validate().unwrap().array.rows, 12);
}

#[test]
fn override_out_of_range_names_the_override() {
    let src = eyesim::hw::open_source("eyeriss-v1").unwrap();
    let e = src
        .with_override("array.cols", 0.0)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "hwconfigs/eyeriss-v1.toml (override array.cols = 0): `array.cols` = 0 is out of range: \
         must be a whole number from 1 to 4096 (PEs)"
    );
    let e = src
        .with_override("glb.banks", -2.0)
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(matches!(e, InputError::OutOfRange { .. }), "{e}");
    let e = src
        .with_override("glb.filter_kib", 200.0)
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(
        e.to_string().contains("(override glb.filter_kib = 200)"),
        "{e}"
    );
}

#[test]
fn override_of_unknown_key_lists_valid_keys() {
    let src = eyesim::hw::open_source("tiny").unwrap();
    let e = src
        .with_override("glb.size_kb", 64.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot override `glb.size_kb`"), "{e}");
    assert!(e.contains("did you mean `glb.size_kib`?"), "{e}");
    assert!(e.contains(&NUMERIC_KEYS.join(", ")), "{e}");
    assert!(src.with_override("noc.multicast", 1.0).is_err());
}

#[test]
fn override_of_rlc_field_when_rlc_is_off_is_inconsistent() {
    let src = eyesim::hw::open_source("eyeriss-isca16-256pe").unwrap();
    let e = src
        .with_override("sparsity.rlc.run_bits", 4.0)
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(e.to_string().contains("RLC is off"), "{e}");
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "",
        "x",
        "[[array]]\nrows=1",
        "array = 3",
        "[pe]\nword_bits = 99999999999",
        "[sparsity]\nrlc = [1,2]",
        "[energy]\nmac = nan",
        "name = 3",
        "\u{0}\u{ffff}",
    ];
    for s in samples {
        assert!(hw::from_toml_str(s, "g.toml").is_err(), "{s:?}");
    }
}

#[test]
fn table_where_a_value_belongs_is_a_type_error() {
    let e = err("[[array]]\nrows = 1\n");
    assert!(e.contains("`array` has the wrong type"), "{e}");
    let e = err(&v1_with("word_bits = 16", "word_bits = { x = 1 }"));
    assert!(e.contains("`pe.word_bits` has the wrong type"), "{e}");
}
