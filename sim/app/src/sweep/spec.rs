//! Sweep files (`--spec FILE`): a sweep written down instead of typed.
//!
//! ```toml
//! net = "alexnet"              # optional; default alexnet
//! hw = "eyeriss-v1"            # optional; default eyeriss-v1
//!
//! [[vary]]
//! key = "glb.size_kib"
//! values = "16..512:x2"        # the --vary syntax ...
//!
//! [[vary]]
//! key = "pe.filter_spad_words"
//! values = [64, 128, 224]      # ... or a TOML array of numbers
//! ```
//!
//! Axes keep the file's order. Errors name the file, line and column.

use super::plan::{caret_error, Axis, AxisError, ParamSpace};
use super::SweepError;
use serde::Deserialize;
use toml::Spanned;

/// A parsed sweep file whose axes still need the parameter space.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    /// Network name or trace path, if given.
    pub net: Option<String>,
    /// Hwconfig name or path, if given.
    pub hw: Option<String>,
    origin: String,
    text: String,
    vary: Vec<RawAxis>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    net: Option<String>,
    hw: Option<String>,
    #[serde(default)]
    vary: Vec<RawAxis>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAxis {
    key: Spanned<String>,
    values: Spanned<toml::Value>,
}

impl SweepSpec {
    /// Parses a sweep file's `text`; `origin` (its path) prefixes errors.
    pub fn parse(text: &str, origin: &str) -> Result<SweepSpec, SweepError> {
        let raw: RawSpec = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| line_col(text, s.start))
                .unwrap_or_default();
            SweepError::Spec {
                origin: format!("{origin}{at}"),
                message: e.message().to_string(),
            }
        })?;
        if raw.vary.is_empty() {
            return Err(SweepError::Spec {
                origin: origin.to_string(),
                message: "no [[vary]] table: nothing to sweep".into(),
            });
        }
        Ok(SweepSpec {
            net: raw.net,
            hw: raw.hw,
            origin: origin.to_string(),
            text: text.to_string(),
            vary: raw.vary,
        })
    }

    /// The axes, checked against `space`.
    pub fn axes(&self, space: &ParamSpace) -> Result<Vec<Axis>, SweepError> {
        self.vary.iter().map(|v| self.axis(v, space)).collect()
    }

    fn axis(&self, v: &RawAxis, space: &ParamSpace) -> Result<Axis, SweepError> {
        let values_at = line_col(&self.text, v.values.span().start);
        let text = match v.values.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Array(items) => {
                let mut parts = Vec::new();
                for item in items {
                    match item {
                        toml::Value::Integer(i) => parts.push(i.to_string()),
                        toml::Value::Float(f) => parts.push(f.to_string()),
                        other => {
                            return Err(SweepError::Spec {
                                origin: format!("{}{values_at}", self.origin),
                                message: format!("`{other}` is not a number"),
                            })
                        }
                    }
                }
                parts.join(",")
            }
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => {
                return Err(SweepError::Spec {
                    origin: format!("{}{values_at}", self.origin),
                    message: "`values` must be a string like \"16..512:x2\" or an array of numbers"
                        .into(),
                })
            }
        };
        Axis::parse(v.key.get_ref(), &text, space).map_err(|e| match e {
            AxisError::Key(e) => SweepError::Spec {
                origin: format!(
                    "{}{}",
                    self.origin,
                    line_col(&self.text, v.key.span().start)
                ),
                message: e.to_string(),
            },
            AxisError::Value(ve) => SweepError::Spec {
                origin: format!("{}{values_at}", self.origin),
                message: caret_error(&text, ve).to_string(),
            },
        })
    }
}

/// `:line:col` (1-based) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(":{line}:{col}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> ParamSpace {
        ParamSpace::new([
            ("glb.size_kib".to_string(), true),
            ("energy.dram".to_string(), false),
        ])
    }

    #[test]
    fn parses_strings_and_arrays_in_order() {
        let text = "net = \"alexnet\"\n[[vary]]\nkey = \"glb.size_kib\"\nvalues = \"16..64:x2\"\n\
                    [[vary]]\nkey = \"energy.dram\"\nvalues = [100, 150.5]\n";
        let spec = SweepSpec::parse(text, "s.toml").unwrap();
        assert_eq!(spec.net.as_deref(), Some("alexnet"));
        let axes = spec.axes(&space()).unwrap();
        assert_eq!(axes[0].values, vec![16.0, 32.0, 64.0]);
        assert!(axes[0].geometric);
        assert_eq!(axes[1].values, vec![100.0, 150.5]);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let text = "[[vary]]\nkey = \"glb.size\"\nvalues = \"1\"\n";
        let e = SweepSpec::parse(text, "s.toml")
            .unwrap()
            .axes(&space())
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("s.toml:2:7"), "{msg}");
        assert!(msg.contains("glb.size_kib"), "{msg}");
        let text = "[[vary]]\nkey = \"glb.size_kib\"\nvalues = \"1..x:+1\"\n";
        let msg = SweepSpec::parse(text, "s.toml")
            .unwrap()
            .axes(&space())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("s.toml:3:10"), "{msg}");
        assert!(msg.contains("   ^"), "{msg}");
        let e = SweepSpec::parse("nett = 1\n", "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.toml:1:1"), "{e}");
    }
}
