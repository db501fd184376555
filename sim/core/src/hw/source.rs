//! Reading hardware configs: built-ins, files, sweep overrides, and the
//! errors that point at the offending key.

use super::raw::{RawHw, Slot, ALL_KEYS, NUMERIC_KEYS, TABLES};
use super::validate::Ctx;
use super::HwConfig;
use crate::input::{InputError, InputKind};
use crate::tomldoc::{blank, suggest, Location, SpannedDoc};
use std::collections::HashSet;

/// The built-in configs, by name, with the file they were embedded from.
const BUILTINS: &[(&str, &str, &str)] = &[
    (
        "eyeriss-v1",
        "hwconfigs/eyeriss-v1.toml",
        include_str!("../../../../hwconfigs/eyeriss-v1.toml"),
    ),
    (
        "eyeriss-isca16-256pe",
        "hwconfigs/eyeriss-isca16-256pe.toml",
        include_str!("../../../../hwconfigs/eyeriss-isca16-256pe.toml"),
    ),
    (
        "tiny",
        "hwconfigs/tiny.toml",
        include_str!("../../../../hwconfigs/tiny.toml"),
    ),
];

/// Names of the built-in hardware configs.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.0).collect()
}

fn hint(s: Option<&str>) -> String {
    s.map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

/// A hardware config as text, with its origin and any sweep overrides,
/// not yet validated. Sweeps derive many configs from one source.
#[derive(Debug, Clone)]
pub struct HwSource {
    origin: String,
    text: String,
    overrides: Vec<(String, f64)>,
}

impl HwSource {
    /// A source from TOML text; `origin` names it in error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> HwSource {
        HwSource {
            origin: origin.to_string(),
            text: text.to_string(),
            overrides: Vec::new(),
        }
    }

    /// A built-in config by name (`eyeriss-v1`, `eyeriss-isca16-256pe`,
    /// `tiny`), or `None`.
    pub fn builtin(name: &str) -> Option<HwSource> {
        BUILTINS
            .iter()
            .find(|b| b.0 == name)
            .map(|(_, file, text)| HwSource::from_toml_str(text, file))
    }

    /// Where the text came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The overrides applied so far, in order.
    pub fn overrides(&self) -> &[(String, f64)] {
        &self.overrides
    }

    /// A copy with numeric `key` (one of [`NUMERIC_KEYS`]) set to `value`.
    /// Range (a fractional value of an integer key is out of range) and
    /// consistency are checked by [`HwSource::validate`].
    pub fn with_override(&self, key: &str, value: f64) -> Result<HwSource, InputError> {
        if !NUMERIC_KEYS.contains(&key) {
            return Err(InputError::UnknownOverride {
                key: key.to_string(),
                hint: hint(suggest(key, NUMERIC_KEYS.iter().copied())),
                valid: NUMERIC_KEYS.join(", "),
            });
        }
        let mut s = self.clone();
        s.overrides.retain(|(k, _)| k != key);
        s.overrides.push((key.to_string(), value));
        Ok(s)
    }

    /// Parses, applies the overrides and validates. Reports every problem
    /// it can find: all unknown keys, all wrongly typed values, all values
    /// out of range and all inconsistencies (as [`InputError::Several`] when
    /// there is more than one).
    pub fn validate(&self) -> Result<HwConfig, InputError> {
        let doc = SpannedDoc::parse(&self.text, &self.origin)
            .map_err(|(loc, message)| InputError::Syntax { loc, message })?;
        let (mut errors, unknown) = check_keys(&doc);
        let (raw, mut reported) = deserialize(&doc, &blank(&self.text, &unknown), &mut errors);
        // A misspelt key is reported once, as unknown, not also as missing.
        for e in &errors {
            if let InputError::UnknownKey { hint, .. } = e {
                if let Some(k) = hint.split('`').nth(1) {
                    reported.insert(k.to_string());
                }
            }
        }
        let ctx = Ctx {
            doc: &doc,
            overrides: &self.overrides,
        };
        let Some(mut raw) = raw else {
            return Err(InputError::one_or_several(errors));
        };
        for (key, value) in &self.overrides {
            if let Err(e) = apply_override(&mut raw, &ctx, key, *value) {
                errors.push(e);
            }
        }
        match super::validate::validate(raw, &ctx, &reported) {
            Ok(hw) if errors.is_empty() => Ok(hw),
            Ok(_) => Err(InputError::one_or_several(errors)),
            Err(more) => {
                errors.extend(more);
                Err(InputError::one_or_several(errors))
            }
        }
    }
}

/// Deserializes the raw form, recording every wrongly typed value
/// ([`crate::tomldoc::deserialize_all`]). Returns the raw form (if any) and
/// the keys whose errors were recorded.
fn deserialize(
    doc: &SpannedDoc,
    text: &str,
    errors: &mut Vec<InputError>,
) -> (Option<RawHw>, HashSet<String>) {
    let (raw, blanked) = crate::tomldoc::deserialize_all::<RawHw>(doc, text, &mut |e| {
        let err = serde_error(doc, e);
        let key = match &err {
            InputError::WrongType { key, .. } => key.clone(),
            _ => String::new(),
        };
        errors.push(err);
        Some(key.split('.').map(str::to_string).collect())
    });
    (raw, blanked.iter().map(|p| p.join(".")).collect())
}

/// A built-in config by name (`eyeriss-v1`, `eyeriss-isca16-256pe`,
/// `tiny`), validated; [`InputError::NotFound`] for any other name. Reading a
/// config file is the application's (`eyesim::hw::load`).
pub fn builtin(name: &str) -> Result<HwConfig, InputError> {
    HwSource::builtin(name)
        .ok_or_else(|| InputError::NotFound {
            kind: InputKind::HwConfig,
            name: name.to_string(),
            builtins: builtin_names().join(", "),
        })?
        .validate()
}

/// Parses and validates config text; `origin` names it in error messages.
pub fn from_toml_str(text: &str, origin: &str) -> Result<HwConfig, InputError> {
    HwSource::from_toml_str(text, origin).validate()
}

/// Every unknown key (a misspelt table's keys are not listed again), and
/// the source ranges of their entries.
fn check_keys(doc: &SpannedDoc) -> (Vec<InputError>, Vec<std::ops::Range<usize>>) {
    // A known key holding the wrong kind of value is a type error, which
    // serde reports; its contents are not checked key by key.
    let mut wrong_shape: Vec<&[String]> = Vec::new();
    let mut unknown: Vec<&[String]> = Vec::new();
    let mut errors = Vec::new();
    let mut ranges = Vec::new();
    for e in doc.entries() {
        if wrong_shape
            .iter()
            .chain(&unknown)
            .any(|p| e.path.starts_with(p))
        {
            continue;
        }
        let key = e.path.join(".");
        let is_table = TABLES.contains(&key.as_str());
        let is_leaf = ALL_KEYS.contains(&key.as_str());
        if (is_table || is_leaf) && !(if e.is_table { is_table } else { is_leaf }) {
            wrong_shape.push(&e.path);
            continue;
        }
        if !(is_table || is_leaf) {
            unknown.push(&e.path);
            ranges.push(e.range.clone());
            let candidates = ALL_KEYS.iter().chain(TABLES).copied();
            errors.push(InputError::UnknownKey {
                loc: doc.at(e.range.start),
                scope: String::new(),
                hint: hint(suggest(&key, candidates)),
                key,
            });
        }
    }
    (errors, ranges)
}

fn serde_error(doc: &SpannedDoc, e: &toml::de::Error) -> InputError {
    let (loc, key) = match e.span() {
        Some(s) => (
            doc.at(s.start),
            // The schema has no arrays: an index means the enclosing key is wrong.
            doc.path_at(s.start)
                .map(|p| {
                    let keys: Vec<&str> = p
                        .iter()
                        .map(String::as_str)
                        .take_while(|k| k.parse::<usize>().is_err())
                        .collect();
                    keys.join(".")
                })
                .unwrap_or_default(),
        ),
        None => (Location::whole(doc.origin()), String::new()),
    };
    InputError::WrongType {
        loc,
        scope: String::new(),
        key,
        message: e.message().trim().to_string(),
    }
}

fn apply_override(raw: &mut RawHw, ctx: &Ctx, key: &str, value: f64) -> Result<(), InputError> {
    let out_of_range = |limit: String| InputError::OutOfRange {
        loc: ctx.loc(key),
        key: key.to_string(),
        value: super::ranges::format_number(value),
        limit,
    };
    let range = super::ranges::range_of(key);
    match raw.slot(key) {
        Some(Slot::Int(field)) => {
            // Out of range or fractional: the same limit the validator gives.
            if let Some(r) = range.filter(|r| !r.contains(value)) {
                return Err(out_of_range(r.limit()));
            }
            *field = Some(value as u32);
        }
        Some(Slot::Real(field)) => {
            if let Some(r) = range.filter(|r| !r.contains(value)) {
                return Err(out_of_range(r.limit()));
            }
            *field = Some(value);
        }
        Some(Slot::RlcOff) => {
            return Err(InputError::Inconsistent {
                loc: ctx.loc("sparsity.rlc"),
                key: key.to_string(),
                message: "RLC is off in this config (`sparsity.rlc` absent or false)".into(),
            })
        }
        None => {
            return Err(InputError::UnknownOverride {
                key: key.to_string(),
                hint: String::new(),
                valid: NUMERIC_KEYS.join(", "),
            })
        }
    }
    Ok(())
}
