//! A set of pinned or chosen mappings, one per layer, as TOML
//! (`mappings.toml`):
//!
//! ```toml
//! [conv1]
//! e = 7
//! r = 1
//! t = 2
//! g = 1
//! p = 16
//! q = 1
//! n = 4
//! m = 96
//! ```

use super::RowStationaryMapping;
use thiserror::Error;

const FIELDS: [&str; 8] = ["e", "r", "t", "g", "p", "q", "n", "m"];

/// Optional keys (1 when absent): filter-row folds and segments, and
/// column tiles.
const OPTIONAL: [&str; 3] = ["fr", "fs", "fw"];

/// Layer name → mapping, in insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingSet {
    entries: Vec<(String, RowStationaryMapping)>,
}

/// A mapping file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MappingSetError {
    /// Not valid TOML (the message carries line and column).
    #[error("{origin}: {message}")]
    Toml {
        /// File name or other origin.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A layer entry is malformed.
    #[error("{origin}: layer `{layer}`: {problem}")]
    Entry {
        /// File name or other origin.
        origin: String,
        /// Layer name.
        layer: String,
        /// What is wrong, naming the key.
        problem: String,
    },
}

impl MappingSet {
    /// An empty set.
    pub fn new() -> MappingSet {
        MappingSet::default()
    }

    /// Sets the mapping of `layer`, replacing an earlier one.
    pub fn insert(&mut self, layer: &str, mapping: RowStationaryMapping) {
        match self.entries.iter_mut().find(|(l, _)| l == layer) {
            Some(slot) => slot.1 = mapping,
            None => self.entries.push((layer.to_string(), mapping)),
        }
    }

    /// The mapping of `layer`, if pinned.
    pub fn get(&self, layer: &str) -> Option<&RowStationaryMapping> {
        self.entries
            .iter()
            .find(|(l, _)| l == layer)
            .map(|(_, m)| m)
    }

    /// Layer names, in order.
    pub fn layers(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(l, _)| l.as_str())
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The TOML text: one table per layer, fields in `e r t g p q n m` order.
    pub fn to_toml(&self) -> String {
        let mut doc = toml::Table::new();
        for (layer, m) in &self.entries {
            let mut t = toml::Table::new();
            for (k, v) in m.letters() {
                t.insert(k.to_string(), toml::Value::Integer(i64::from(v)));
            }
            // Written only when used, so unfolded mappings read as before.
            for (k, v) in OPTIONAL.iter().zip([m.fr, m.fs, m.fw]) {
                if v > 1 {
                    t.insert((*k).to_string(), toml::Value::Integer(i64::from(v)));
                }
            }
            doc.insert(layer.clone(), toml::Value::Table(t));
        }
        let body = toml::to_string(&doc).expect("a table of integer tables always serializes");
        format!("# eyesim row-stationary mappings (see docs/dataflow.md)\n\n{body}")
    }

    /// Parses the TOML text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<MappingSet, MappingSetError> {
        let doc: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| MappingSetError::Toml {
                    origin: origin.to_string(),
                    message: e.to_string().trim_end().to_string(),
                })?;
        let mut set = MappingSet::new();
        for (layer, value) in &doc {
            let bad = |problem: String| MappingSetError::Entry {
                origin: origin.to_string(),
                layer: layer.clone(),
                problem,
            };
            let table = value
                .as_table()
                .ok_or_else(|| bad("expected a table of e, r, t, g, p, q, n, m".into()))?;
            let known = |k: &str| FIELDS.contains(&k) || OPTIONAL.contains(&k);
            if let Some(k) = table.keys().find(|k| !known(k.as_str())) {
                return Err(bad(format!(
                    "unknown key `{k}` (expected e, r, t, g, p, q, n, m, and optionally fr, fs, fw)"
                )));
            }
            let mut v = [0u32; 8];
            for (slot, key) in v.iter_mut().zip(FIELDS) {
                let raw = table
                    .get(key)
                    .ok_or_else(|| bad(format!("missing key `{key}`")))?;
                *slot = raw
                    .as_integer()
                    .and_then(|i| u32::try_from(i).ok())
                    .filter(|&i| i >= 1)
                    .ok_or_else(|| {
                        bad(format!("key `{key}` must be an integer ≥ 1, found {raw}"))
                    })?;
            }
            let mut folds = [1u32; 3];
            for (slot, key) in folds.iter_mut().zip(OPTIONAL) {
                if let Some(raw) = table.get(key) {
                    *slot = raw
                        .as_integer()
                        .and_then(|i| u32::try_from(i).ok())
                        .filter(|&i| i >= 1)
                        .ok_or_else(|| {
                            bad(format!("key `{key}` must be an integer ≥ 1, found {raw}"))
                        })?;
                }
            }
            let [e, r, t, g, p, q, n, m] = v;
            let [fr, fs, fw] = folds;
            set.insert(
                layer,
                RowStationaryMapping {
                    e,
                    r,
                    t,
                    g,
                    p,
                    q,
                    n,
                    m,
                    fr,
                    fs,
                    fw,
                },
            );
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut s = MappingSet::new();
        let m = RowStationaryMapping {
            e: 7,
            r: 1,
            t: 2,
            g: 1,
            p: 16,
            q: 1,
            n: 4,
            m: 96,
            fr: 1,
            fs: 1,
            fw: 1,
        };
        s.insert("conv1", m);
        s.insert("odd name.x", RowStationaryMapping { e: 1, ..m });
        s.insert("folded", RowStationaryMapping { fr: 3, fs: 2, ..m });
        s.insert("tiled", RowStationaryMapping { fw: 4, ..m });
        let back = MappingSet::from_toml_str(&s.to_toml(), "t").unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn errors_name_layer_and_key() {
        let e = MappingSet::from_toml_str("[conv1]\ne = 0\n", "f.toml").unwrap_err();
        assert!(
            e.to_string().contains("f.toml: layer `conv1`: key `e`"),
            "{e}"
        );
        let e = MappingSet::from_toml_str(
            "[conv1]\ne = 1\nr=1\nt=1\ng=1\np=1\nq=1\nn=1\nm=1\nz=2\n",
            "f",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown key `z`"), "{e}");
        let e = MappingSet::from_toml_str("[conv1\n", "f.toml").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }
}
