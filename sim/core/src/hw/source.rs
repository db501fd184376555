//! Reading hardware configs: built-ins, files, sweep overrides, and the
//! errors that point at the offending key.

use super::raw::{RawHw, Slot, ALL_KEYS, NUMERIC_KEYS, TABLES};
use super::HwConfig;
use crate::tomldoc::{blank, suggest, Location, SpannedDoc};
use std::collections::HashSet;
use std::path::Path;

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

/// Why a hardware config was rejected. Every variant that concerns a value
/// names the file, line and column (or the override) and the dotted key.
#[derive(Debug, thiserror::Error)]
pub enum HwError {
    /// The file could not be read.
    #[error("cannot read hardware config `{path}`: {source}")]
    Io {
        /// The path given.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Neither a built-in name nor an existing file.
    #[error("no hardware config `{name}`: not a file, and not a built-in ({builtins})")]
    NotFound {
        /// The name given.
        name: String,
        /// Built-in names, comma-separated.
        builtins: String,
    },
    /// An ONNX model given where a hardware config belongs.
    #[error("`{path}` is an ONNX model, not a hardware config: --hw takes a built-in name ({builtins}) or a hwconfig TOML file; to use the model as a network, convert it with `eyesim import {path}` and pass the trace to --net")]
    OnnxModel {
        /// The path given.
        path: String,
        /// Built-in names, comma-separated.
        builtins: String,
    },
    /// The text is not valid TOML.
    #[error("{loc}: TOML syntax error: {message}")]
    Syntax {
        /// Where.
        loc: Location,
        /// What the parser says.
        message: String,
    },
    /// A key that the schema does not know.
    #[error("{loc}: unknown key `{key}`{hint}")]
    UnknownKey {
        /// Where.
        loc: Location,
        /// The dotted key.
        key: String,
        /// `; did you mean ...?`, or empty.
        hint: String,
    },
    /// A value of the wrong TOML type.
    #[error("{loc}: `{key}` has the wrong type: {message}")]
    WrongType {
        /// Where.
        loc: Location,
        /// The dotted key.
        key: String,
        /// Found vs expected.
        message: String,
    },
    /// A required key is absent.
    #[error("{loc}: missing required key `{key}`")]
    Missing {
        /// The enclosing table, or the file.
        loc: Location,
        /// The dotted key.
        key: String,
    },
    /// A value outside its legal range.
    #[error("{loc}: `{key}` = {value} is out of range: {limit}")]
    OutOfRange {
        /// Where.
        loc: Location,
        /// The dotted key.
        key: String,
        /// The value as given.
        value: String,
        /// The violated limit.
        limit: String,
    },
    /// Values that contradict each other.
    #[error("{loc}: `{key}` is inconsistent: {message}")]
    Inconsistent {
        /// Where.
        loc: Location,
        /// The dotted key.
        key: String,
        /// The violated relation, with the numbers.
        message: String,
    },
    /// More than one problem in one config, in file order.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<HwError>),
    /// A sweep override of a key that is not numeric or does not exist.
    #[error("cannot override `{key}`: not a numeric hardware key{hint}; valid keys: {valid}")]
    UnknownOverride {
        /// The key given.
        key: String,
        /// `; did you mean ...?`, or empty.
        hint: String,
        /// Every numeric key, comma-separated.
        valid: String,
    },
}

impl HwError {
    /// Where the problem is, when it concerns one place of a config.
    pub fn location(&self) -> Option<&Location> {
        match self {
            HwError::Syntax { loc, .. }
            | HwError::UnknownKey { loc, .. }
            | HwError::WrongType { loc, .. }
            | HwError::Missing { loc, .. }
            | HwError::OutOfRange { loc, .. }
            | HwError::Inconsistent { loc, .. } => Some(loc),
            _ => None,
        }
    }
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
    pub fn with_override(&self, key: &str, value: f64) -> Result<HwSource, HwError> {
        if !NUMERIC_KEYS.contains(&key) {
            return Err(HwError::UnknownOverride {
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
    /// out of range and all inconsistencies (as [`HwError::Several`] when
    /// there is more than one).
    pub fn validate(&self) -> Result<HwConfig, HwError> {
        let doc = SpannedDoc::parse(&self.text, &self.origin)
            .map_err(|(loc, message)| HwError::Syntax { loc, message })?;
        let (mut errors, unknown) = check_keys(&doc);
        let (raw, mut reported) = deserialize(&doc, &blank(&self.text, &unknown), &mut errors);
        // A misspelt key is reported once, as unknown, not also as missing.
        for e in &errors {
            if let HwError::UnknownKey { hint, .. } = e {
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
            return Err(one_or_several(errors));
        };
        for (key, value) in &self.overrides {
            if let Err(e) = apply_override(&mut raw, &ctx, key, *value) {
                errors.push(e);
            }
        }
        match super::validate::validate(raw, &ctx, &reported) {
            Ok(hw) if errors.is_empty() => Ok(hw),
            Ok(_) => Err(one_or_several(errors)),
            Err(more) => {
                errors.extend(more);
                Err(one_or_several(errors))
            }
        }
    }
}

fn one_or_several(mut errors: Vec<HwError>) -> HwError {
    // File order; errors without a position (overrides) last.
    errors.sort_by_key(|e| {
        e.location()
            .and_then(|l| l.line_col)
            .unwrap_or((usize::MAX, 0))
    });
    if errors.len() == 1 {
        errors.pop().expect("one error")
    } else {
        HwError::Several(errors)
    }
}

/// Deserializes the raw form, recording every wrongly typed value
/// ([`crate::tomldoc::deserialize_all`]). Returns the raw form (if any) and
/// the keys whose errors were recorded.
fn deserialize(
    doc: &SpannedDoc,
    text: &str,
    errors: &mut Vec<HwError>,
) -> (Option<RawHw>, HashSet<String>) {
    let (raw, blanked) = crate::tomldoc::deserialize_all::<RawHw>(doc, text, &mut |e| {
        let err = serde_error(doc, e);
        let key = match &err {
            HwError::WrongType { key, .. } => key.clone(),
            _ => String::new(),
        };
        errors.push(err);
        Some(key.split('.').map(str::to_string).collect())
    });
    (raw, blanked.iter().map(|p| p.join(".")).collect())
}

/// A built-in config by name (`eyeriss-v1`, `eyeriss-isca16-256pe`,
/// `tiny`), validated; [`HwError::NotFound`] for any other name. Reading a
/// config file is the application's (`eyesim::hw::load`).
pub fn builtin(name: &str) -> Result<HwConfig, HwError> {
    HwSource::builtin(name)
        .ok_or_else(|| HwError::NotFound {
            name: name.to_string(),
            builtins: builtin_names().join(", "),
        })?
        .validate()
}

/// Parses and validates config text; `origin` names it in error messages.
pub fn from_toml_str(text: &str, origin: &str) -> Result<HwConfig, HwError> {
    HwSource::from_toml_str(text, origin).validate()
}

/// Validation context: where each key is, and which keys were overridden.
pub(super) struct Ctx<'a> {
    doc: &'a SpannedDoc,
    overrides: &'a [(String, f64)],
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

/// Every unknown key (a misspelt table's keys are not listed again), and
/// the source ranges of their entries.
fn check_keys(doc: &SpannedDoc) -> (Vec<HwError>, Vec<std::ops::Range<usize>>) {
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
            errors.push(HwError::UnknownKey {
                loc: doc.at(e.range.start),
                hint: hint(suggest(&key, candidates)),
                key,
            });
        }
    }
    (errors, ranges)
}

fn serde_error(doc: &SpannedDoc, e: &toml::de::Error) -> HwError {
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
    HwError::WrongType {
        loc,
        key,
        message: e.message().trim().to_string(),
    }
}

fn apply_override(raw: &mut RawHw, ctx: &Ctx, key: &str, value: f64) -> Result<(), HwError> {
    let out_of_range = |limit: String| HwError::OutOfRange {
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
            return Err(HwError::Inconsistent {
                loc: ctx.loc("sparsity.rlc"),
                key: key.to_string(),
                message: "RLC is off in this config (`sparsity.rlc` absent or false)".into(),
            })
        }
        None => {
            return Err(HwError::UnknownOverride {
                key: key.to_string(),
                hint: String::new(),
                valid: NUMERIC_KEYS.join(", "),
            })
        }
    }
    Ok(())
}
