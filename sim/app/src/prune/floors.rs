//! Density floors: how far each layer may be pruned. A floors file is a flat
//! TOML table `layer = density`; layers it does not name get the global
//! floor.

use super::PruneError;
use crate::tomldoc::{line_col, suggest, Location};
use crate::workload::{LayerWork, Network};
use std::collections::BTreeMap;
use toml_edit::ImDocument;

/// The built-in floors files, by network name: (network, origin, text).
const BUILTIN: &[(&str, &str, &str)] = &[(
    "alexnet",
    "traces/alexnet-floors.toml",
    include_str!("../../../../traces/alexnet-floors.toml"),
)];

/// The smallest weight density each layer may be pruned to.
#[derive(Debug, Clone, PartialEq)]
pub struct Floors {
    /// Floor of every layer not in `per_layer`, in (0, 1].
    pub global: f64,
    /// Per-layer floors, in (0, 1], by layer name.
    pub per_layer: BTreeMap<String, f64>,
    /// Where `per_layer` came from (a file path or built-in name), if anywhere.
    pub origin: Option<String>,
}

impl Floors {
    /// The same floor for every layer. Fails unless `floor` is in (0, 1].
    pub fn uniform(floor: f64) -> Result<Floors, PruneError> {
        check_density(floor).map_err(|why| PruneError::BadOption {
            option: "floor",
            why: format!("{floor} {why}"),
        })?;
        Ok(Floors {
            global: floor,
            per_layer: BTreeMap::new(),
            origin: None,
        })
    }

    /// The floor of layer `name`.
    pub fn of(&self, name: &str) -> f64 {
        self.per_layer.get(name).copied().unwrap_or(self.global)
    }

    /// Per-layer floors from the text of a floors file (`origin` names it in
    /// errors), on top of `self`. Every key must be a layer of `net` that has
    /// weights, every value a number in (0, 1]; errors name the file, line,
    /// column and key, and every bad key is reported (as
    /// [`PruneError::SeveralFloors`] when there is more than one).
    pub fn with_file(
        mut self,
        text: &str,
        origin: &str,
        net: &Network,
    ) -> Result<Floors, PruneError> {
        let doc = ImDocument::parse(text.to_string()).map_err(|e| PruneError::Floors {
            loc: Location {
                origin: origin.to_string(),
                line_col: e.span().map(|s| line_col(text, s.start)),
            },
            key: String::new(),
            why: format!("TOML syntax error: {}", e.message().trim()),
        })?;
        let weighted: Vec<&str> = net
            .layers
            .iter()
            .filter(|l| has_weights(net, l))
            .map(|l| l.name.as_str())
            .collect();
        let mut errors = Vec::new();
        for (key, item) in doc.as_table().iter() {
            let at = doc
                .as_table()
                .key(key)
                .and_then(|k| k.span())
                .map(|s| line_col(text, s.start));
            let err = |why: String| PruneError::Floors {
                loc: Location {
                    origin: origin.to_string(),
                    line_col: at,
                },
                key: key.to_string(),
                why,
            };
            if !weighted.contains(&key) {
                let why = match net.layer(key) {
                    Some(_) => "is a layer without weights (nothing to prune)".to_string(),
                    None => match suggest(key, weighted.iter().copied()) {
                        Some(s) => format!("is not a layer of `{}`; did you mean `{s}`?", net.name),
                        None => format!("is not a layer of `{}`", net.name),
                    },
                };
                errors.push(err(why));
                continue;
            }
            let value = match item.as_value() {
                Some(v) => v.as_float().or_else(|| v.as_integer().map(|i| i as f64)),
                None => None,
            };
            let Some(value) = value else {
                errors.push(err("must be a number (a weight density)".to_string()));
                continue;
            };
            match check_density(value) {
                Ok(()) => {
                    self.per_layer.insert(key.to_string(), value);
                }
                Err(why) => errors.push(err(format!("{value} {why}"))),
            }
        }
        match errors.len() {
            0 => {
                self.origin = Some(origin.to_string());
                Ok(self)
            }
            1 => Err(errors.remove(0)),
            _ => Err(PruneError::SeveralFloors(errors)),
        }
    }
}

/// The built-in floors file for network `name`, as (origin, text).
pub fn builtin_floors(name: &str) -> Option<(&'static str, &'static str)> {
    BUILTIN.iter().find(|b| b.0 == name).map(|b| (b.1, b.2))
}

/// Whether layer `l` of `net` has weights that can be pruned.
pub(crate) fn has_weights(net: &Network, l: &crate::workload::Layer) -> bool {
    matches!(LayerWork::of(l, net.batch), LayerWork::Array(p) if p.op.has_weights())
}

fn check_density(x: f64) -> Result<(), &'static str> {
    if x > 0.0 && x <= 1.0 {
        Ok(())
    } else {
        Err("is not a density in (0, 1]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alexnet() -> Network {
        crate::workload::load("alexnet").unwrap()
    }

    #[test]
    fn shipped_alexnet_floors_are_deep_compressions_densities() {
        let (origin, text) = builtin_floors("alexnet").unwrap();
        let f = Floors::uniform(0.1)
            .unwrap()
            .with_file(text, origin, &alexnet())
            .unwrap();
        let want = [
            ("conv1", 0.84),
            ("conv2", 0.38),
            ("conv3", 0.35),
            ("conv4", 0.37),
            ("conv5", 0.37),
            ("fc6", 0.09),
            ("fc7", 0.09),
            ("fc8", 0.25),
        ];
        for (l, d) in want {
            assert_eq!(f.of(l), d, "{l}");
        }
        assert_eq!(f.per_layer.len(), want.len());
    }

    fn error(text: &str) -> String {
        Floors::uniform(0.1)
            .unwrap()
            .with_file(text, "f.toml", &alexnet())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_files_name_file_line_and_key() {
        assert_eq!(
            error("conv1 = 0.5\nconv9 = 0.3\n"),
            "f.toml:2:1: key `conv9`: is not a layer of `alexnet`; did you mean `conv5`?"
        );
        assert_eq!(
            error("conv1 = 0.5\n\nfc6 = 1.5\n"),
            "f.toml:3:1: key `fc6`: 1.5 is not a density in (0, 1]"
        );
        assert_eq!(
            error("pool1 = 0.5"),
            "f.toml:1:1: key `pool1`: is a layer without weights (nothing to prune)"
        );
        assert_eq!(
            error("conv2 = \"half\""),
            "f.toml:1:1: key `conv2`: must be a number (a weight density)"
        );
        assert_eq!(
            error("fc7 = 0"),
            "f.toml:1:1: key `fc7`: 0 is not a density in (0, 1]"
        );
        assert!(error("fc7 = ").starts_with("f.toml:1:7: TOML syntax error"));
    }

    #[test]
    fn integers_and_defaults() {
        let f = Floors::uniform(0.2)
            .unwrap()
            .with_file("fc8 = 1", "x", &alexnet())
            .unwrap();
        assert_eq!((f.of("fc8"), f.of("conv1")), (1.0, 0.2));
        assert!(Floors::uniform(0.0).is_err());
        assert!(Floors::uniform(f64::NAN).is_err());
    }
}
