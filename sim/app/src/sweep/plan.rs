//! What a sweep varies: parameters, their values, and the points they span.

use super::values::{parse_values, ValueError};
use super::SweepError;
use crate::hw::{format_number, KeyRange};

/// The parameter that sets the network's batch size.
pub const BATCH_KEY: &str = "batch";

/// The parameters a sweep may vary, and which of them are integers.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpace {
    keys: Vec<(String, bool)>,
    ranges: Vec<KeyRange>,
}

impl ParamSpace {
    /// A space of `(key, is_integer)` pairs, in the order errors list them.
    pub fn new(keys: impl IntoIterator<Item = (String, bool)>) -> Self {
        ParamSpace {
            keys: keys.into_iter().collect(),
            ranges: Vec::new(),
        }
    }

    /// The space with the legal range of some keys: a value outside it is
    /// rejected when the axis is parsed, in the validator's words.
    pub fn with_ranges(mut self, ranges: impl IntoIterator<Item = KeyRange>) -> Self {
        self.ranges.extend(ranges);
        self
    }

    /// The legal range of `key`, if known.
    pub fn range(&self, key: &str) -> Option<&KeyRange> {
        self.ranges.iter().find(|r| r.key == key)
    }

    /// Whether `key` holds integers, or `None` if it is not a parameter.
    pub fn integer(&self, key: &str) -> Option<bool> {
        self.keys.iter().find(|(k, _)| k == key).map(|&(_, i)| i)
    }

    /// All keys, comma-separated.
    pub fn key_list(&self) -> String {
        let keys: Vec<&str> = self.keys.iter().map(|(k, _)| k.as_str()).collect();
        keys.join(", ")
    }

    /// The known key closest to `key`, if any is reasonably close.
    pub fn nearest(&self, key: &str) -> Option<&str> {
        self.keys
            .iter()
            .map(|(k, _)| (strsim::jaro_winkler(key, k), k.as_str()))
            .filter(|&(score, _)| score > 0.75)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k)
    }

    fn unknown(&self, key: &str) -> SweepError {
        SweepError::UnknownKey {
            key: key.to_string(),
            hint: self
                .nearest(key)
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default(),
            valid: self.key_list(),
        }
    }
}

/// One varied parameter and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Hwconfig key (`glb.size_kib`) or `batch`.
    pub key: String,
    /// Whether the values are integers (printed without a decimal point).
    pub integer: bool,
    /// Whether the values came from a geometric range.
    pub geometric: bool,
    /// Distinct values, in the order given.
    pub values: Vec<f64>,
}

impl Axis {
    /// Parses `KEY=VALUES` as given to `--vary`.
    pub fn parse_arg(arg: &str, space: &ParamSpace) -> Result<Axis, SweepError> {
        let Some(eq) = arg.find('=') else {
            return Err(caret_error(
                arg,
                ValueError {
                    offset: arg.len(),
                    len: 1,
                    message: "expected KEY=VALUES, e.g. glb.size_kib=16..512:x2".into(),
                },
            ));
        };
        let key = arg[..eq].trim();
        Axis::parse(key, &arg[eq + 1..], space).map_err(|e| match e {
            AxisError::Key(e) => e,
            AxisError::Value(mut v) => {
                v.offset += eq + 1;
                caret_error(arg, v)
            }
        })
    }

    /// Parses the values of `key`; a value error is relative to `text`.
    pub(crate) fn parse(key: &str, text: &str, space: &ParamSpace) -> Result<Axis, AxisError> {
        let integer = space
            .integer(key)
            .ok_or_else(|| AxisError::Key(space.unknown(key)))?;
        let parsed = parse_values(text, integer).map_err(AxisError::Value)?;
        if let Some(r) = space.range(key) {
            if let Some(&v) = parsed.values.iter().find(|&&v| !r.contains(v)) {
                return Err(AxisError::Value(ValueError {
                    offset: 0,
                    len: text.len(),
                    message: format!(
                        "`{key}` = {} is out of range: {}",
                        format_number(v),
                        r.limit()
                    ),
                }));
            }
        }
        Ok(Axis {
            key: key.to_string(),
            integer,
            geometric: parsed.geometric,
            values: parsed.values,
        })
    }

    /// One value as printed in CSVs and messages.
    pub fn format(&self, v: f64) -> String {
        if self.integer {
            format!("{}", v as i64)
        } else {
            format!("{v}")
        }
    }
}

/// Why parsing one axis failed.
#[derive(Debug)]
pub(crate) enum AxisError {
    Key(SweepError),
    Value(ValueError),
}

/// An error showing `text` with carets under the offending token.
pub(crate) fn caret_error(text: &str, e: ValueError) -> SweepError {
    let col = text[..e.offset.min(text.len())].chars().count();
    let width = text
        .get(e.offset..e.offset + e.len)
        .map_or(1, |t| t.chars().count().max(1));
    SweepError::BadValue {
        message: e.message,
        shown: format!("  {text}\n  {}{}", " ".repeat(col), "^".repeat(width)),
    }
}

/// A point of the sweep: its index and one value per axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Position in the full (unsharded) sweep order.
    pub index: usize,
    /// One value per axis, in axis order.
    pub values: Vec<f64>,
}

/// The full set of points: the cartesian product of the axes.
///
/// Points are ordered like nested loops with the first axis outermost, so
/// the last axis varies fastest.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPlan {
    /// The varied parameters, in the order given.
    pub axes: Vec<Axis>,
    /// What is held fixed (network, hwconfig, evaluator), as text that
    /// identifies it; part of the fingerprint.
    pub base: String,
    /// A one-line description for people (`alexnet on eyeriss-v1, ...`);
    /// recorded in the manifest, not part of the fingerprint.
    pub description: String,
}

impl SweepPlan {
    /// A plan; fails when an axis repeats or the product is too large.
    pub fn new(axes: Vec<Axis>, base: String) -> Result<SweepPlan, SweepError> {
        for (i, a) in axes.iter().enumerate() {
            if axes[..i].iter().any(|b| b.key == a.key) {
                return Err(SweepError::Plan(format!("`{}` is varied twice", a.key)));
            }
        }
        let mut n: usize = 1;
        for a in &axes {
            n = n
                .checked_mul(a.values.len())
                .filter(|&n| n <= MAX_POINTS)
                .ok_or_else(|| SweepError::Plan(format!("more than {MAX_POINTS} points")))?;
        }
        Ok(SweepPlan {
            axes,
            base,
            description: String::new(),
        })
    }

    /// The plan with a one-line description for people.
    pub fn describe_as(mut self, description: String) -> SweepPlan {
        self.description = description;
        self
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    /// Whether the plan has no point (an axis without values).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The point at `index` (< `len()`).
    pub fn point(&self, index: usize) -> Point {
        let mut rest = index;
        let mut values = vec![0.0; self.axes.len()];
        for (slot, a) in values.iter_mut().zip(&self.axes).rev() {
            *slot = a.values[rest % a.values.len()];
            rest /= a.values.len();
        }
        Point { index, values }
    }

    /// `key=value` pairs of a point, space-separated (for messages).
    pub fn describe(&self, p: &Point) -> String {
        let parts: Vec<String> = self
            .axes
            .iter()
            .zip(&p.values)
            .map(|(a, &v)| format!("{}={}", a.key, a.format(v)))
            .collect();
        parts.join(" ")
    }

    /// The point's values as CSV fields, each followed by a comma.
    pub fn csv_prefix(&self, p: &Point) -> String {
        let mut s = String::new();
        for (a, &v) in self.axes.iter().zip(&p.values) {
            s.push_str(&a.format(v));
            s.push(',');
        }
        s
    }

    /// The varied keys as CSV header fields, each followed by a comma.
    pub fn csv_header_prefix(&self) -> String {
        let mut s = String::new();
        for a in &self.axes {
            s.push_str(&super::csv_text::csv_field(&a.key));
            s.push(',');
        }
        s
    }

    /// Canonical text of the plan: the base plus every axis and its values.
    pub fn canonical(&self) -> String {
        let mut s = format!("eyesim-sweep/1\n{}\n", self.base);
        for a in &self.axes {
            let vals: Vec<String> = a.values.iter().map(|&v| a.format(v)).collect();
            s.push_str(&format!("{}={}\n", a.key, vals.join(",")));
        }
        s
    }

    /// A stable 64-bit FNV-1a hash of [`Self::canonical`], in hex.
    pub fn fingerprint(&self) -> String {
        format!("{:016x}", fnv64(self.canonical().as_bytes()))
    }
}

/// Most points a sweep may have.
pub const MAX_POINTS: usize = 10_000_000;

/// FNV-1a, 64-bit: stable across runs and platforms, unlike `DefaultHasher`.
pub fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> ParamSpace {
        ParamSpace::new([
            ("batch".to_string(), true),
            ("glb.size_kib".to_string(), true),
            ("pe.filter_spad_words".to_string(), true),
            ("clock.core_mhz".to_string(), false),
        ])
    }

    #[test]
    fn unknown_key_names_valid_keys_and_nearest() {
        let e = Axis::parse_arg("glb.sise_kib=16", &space()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("did you mean `glb.size_kib`"), "{msg}");
        assert!(msg.contains("pe.filter_spad_words"), "{msg}");
    }

    #[test]
    fn bad_value_shows_caret_under_token() {
        let e = Axis::parse_arg("glb.size_kib=16..abc:x2", &space()).unwrap_err();
        let msg = e.to_string();
        let lines: Vec<&str> = msg.lines().collect();
        let arg = lines[lines.len() - 2];
        let caret = lines[lines.len() - 1];
        assert_eq!(arg, "  glb.size_kib=16..abc:x2");
        assert_eq!(caret.find('^'), arg.find("abc"), "{msg}");
        assert_eq!(caret.trim(), "^^^");
        let e = Axis::parse_arg("glb.size_kib", &space()).unwrap_err();
        assert!(e.to_string().contains("KEY=VALUES"));
    }

    #[test]
    fn points_are_the_product_last_axis_fastest() {
        let a = Axis::parse_arg("glb.size_kib=16,32", &space()).unwrap();
        let b = Axis::parse_arg("clock.core_mhz=100..300:+100", &space()).unwrap();
        let plan = SweepPlan::new(vec![a, b], "base".into()).unwrap();
        assert_eq!(plan.len(), 6);
        assert_eq!(plan.point(0).values, vec![16.0, 100.0]);
        assert_eq!(plan.point(1).values, vec![16.0, 200.0]);
        assert_eq!(plan.point(5).values, vec![32.0, 300.0]);
        assert_eq!(plan.csv_prefix(&plan.point(4)), "32,200,");
        assert_eq!(
            plan.describe(&plan.point(4)),
            "glb.size_kib=32 clock.core_mhz=200"
        );
    }

    #[test]
    fn fingerprint_depends_on_values_and_base() {
        let mk = |v: &str, base: &str| {
            let a = Axis::parse_arg(v, &space()).unwrap();
            SweepPlan::new(vec![a], base.into()).unwrap().fingerprint()
        };
        assert_eq!(mk("batch=1,2", "x"), mk("batch=1,2", "x"));
        assert_ne!(mk("batch=1,2", "x"), mk("batch=1,3", "x"));
        assert_ne!(mk("batch=1,2", "x"), mk("batch=1,2", "y"));
    }

    #[test]
    fn repeated_axis_is_an_error() {
        let a = Axis::parse_arg("batch=1", &space()).unwrap();
        assert!(SweepPlan::new(vec![a.clone(), a], String::new()).is_err());
    }
}
