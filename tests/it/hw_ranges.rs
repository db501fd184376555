//! One range per numeric hwconfig key, documented, enforced the same way
//! by the validator and by sweeps; `validate` reports every error of a file.

use eyesim::hw::{self, format_number, RANGES};
use eyesim::InputError;

const V1: &str = include_str!("../../hwconfigs/eyeriss-v1.toml");

fn err(text: &str) -> InputError {
    hw::from_toml_str(text, "bad.toml").unwrap_err()
}

#[test]
fn docs_list_every_range_exactly() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/hwconfig.md")).unwrap();
    let rows: Vec<Vec<String>> = doc
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect())
        .collect();
    assert_eq!(rows.len(), RANGES.len(), "one doc row per key");
    for (row, r) in rows.iter().zip(RANGES) {
        let whole = if r.integer { "yes" } else { "no" };
        let want = [
            format!("`{}`", r.key),
            whole.to_string(),
            format_number(r.min),
            format_number(r.max),
            r.unit.to_string(),
        ];
        assert_eq!(&row[1..6], &want, "docs/hwconfig.md row for {}", r.key);
    }
}

#[test]
fn nan_negative_and_absurd_values_are_rejected_with_the_documented_limit() {
    for (from, to, key) in [
        ("core_mhz = 200", "core_mhz = 1e-300", "clock.core_mhz"),
        ("core_mhz = 200", "core_mhz = nan", "clock.core_mhz"),
        ("link_mhz = 60", "link_mhz = -60", "dram.link_mhz"),
        ("dram = 200 ", "dram = inf ", "energy.dram"),
        ("mac = 1 ", "mac = -0.5 ", "energy.mac"),
        ("rows = 12", "rows = 100000", "array.rows"),
        (
            "psum_spad_words = 24",
            "psum_spad_words = 4000000000",
            "pe.psum_spad_words",
        ),
    ] {
        assert!(V1.contains(from), "test bug: {from}");
        let e = err(&V1.replacen(from, to, 1)).to_string();
        let limit = hw::range_of(key).unwrap().limit();
        assert!(
            e.contains(&format!("`{key}` = ")) && e.ends_with(&limit),
            "{to}: {e}"
        );
    }
    let e = err(&V1.replacen("core_mhz = 200", "core_mhz = 1e-300", 1)).to_string();
    assert!(e.contains("= 1e-300 is out of range"), "{e}");
}

#[test]
fn sweep_overrides_get_the_validators_limit() {
    let src = eyesim::hw::open_source("eyeriss-v1").unwrap();
    for (key, v) in [
        ("clock.core_mhz", 1e-300),
        ("array.rows", 0.0),
        ("glb.banks", 2.5),
    ] {
        let e = src.with_override(key, v).unwrap().validate().unwrap_err();
        let limit = hw::range_of(key).unwrap().limit();
        assert!(e.to_string().ends_with(&limit), "{e}");
    }
}

#[test]
fn validate_reports_every_error_in_file_order() {
    let text = V1
        .replacen("rows = 12", "rows = 0", 1)
        .replacen("cols = 14", "colz = 14", 1)
        .replacen("ifmap_spad_words = 12", "ifmap_spad_words = \"12\"", 1)
        .replacen("gon_bits = 64", "gon_bits = 40", 1)
        .replacen("core_mhz = 200", "core_mhz = nan", 1)
        .replacen("glb = 6", "glb = true", 1);
    let InputError::Several(errors) = err(&text) else {
        panic!("expected several errors");
    };
    let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let expect = [
        "`array.rows` = 0 is out of range",
        "unknown key `array.colz`; did you mean `array.cols`?",
        "`pe.ifmap_spad_words` has the wrong type",
        "`noc.gon_bits` is inconsistent: 40 bits",
        "`clock.core_mhz` = NaN is out of range",
        "`energy.glb` has the wrong type",
    ];
    assert_eq!(msgs.len(), expect.len(), "{msgs:#?}");
    for (m, want) in msgs.iter().zip(expect) {
        assert!(
            m.starts_with("bad.toml:") && m.contains(want),
            "{m} / {want}"
        );
    }
    // The misspelt key is not also reported missing.
    assert!(!msgs.iter().any(|m| m.contains("missing")), "{msgs:#?}");
}

#[test]
fn hwconfig_names_must_be_safe_file_names() {
    for bad in ["\"\"", "\"../../x\"", "\"a/b\"", "\".hidden\""] {
        let text = V1.replacen("name = \"eyeriss-v1\"", &format!("name = {bad}"), 1);
        let e = err(&text).to_string();
        assert!(
            e.contains("`name` = ") && e.contains("output folders"),
            "{bad}: {e}"
        );
    }
    let ok = V1.replacen("name = \"eyeriss-v1\"", "name = \"my chip v2\"", 1);
    assert_eq!(hw::from_toml_str(&ok, "x.toml").unwrap().name, "my chip v2");
}
