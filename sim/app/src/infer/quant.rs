//! 16-bit fixed-point formats per layer, as the chip runs a network: each
//! tensor is stored with `frac` fractional bits (value = integer / 2^frac),
//! and each array layer's configurable bit selection shifts the 32-bit
//! product `x·w` right by `input_frac + weight_frac − output_frac` before
//! accumulating in 16 bits.

use crate::workload::{LayerKind, Network};
use serde::{Deserialize, Serialize};

/// The format of one layer: fractional bits of what it reads, of its
/// weights and of what it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerFormat {
    /// Fractional bits of the input feature map.
    pub input_frac: i32,
    /// Fractional bits of the weights (0 for layers without weights).
    pub weight_frac: i32,
    /// Fractional bits of the output feature map.
    pub output_frac: i32,
}

impl LayerFormat {
    /// The bit selection: how far the 32-bit product is shifted right.
    pub fn product_shift(&self) -> u32 {
        (self.input_frac + self.weight_frac - self.output_frac).clamp(0, 31) as u32
    }
}

/// Every layer's format plus the network input's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Formats {
    /// Fractional bits of the network input.
    pub input_frac: i32,
    /// Per layer, in network order.
    pub layers: Vec<NamedFormat>,
}

/// A layer's format with its name (the file is keyed by name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedFormat {
    /// Layer name.
    pub name: String,
    /// Its format.
    #[serde(flatten)]
    pub format: LayerFormat,
}

/// Why a formats file does not fit a network.
#[derive(Debug, thiserror::Error)]
pub enum FormatsError {
    /// The TOML does not parse.
    #[error("{origin}: {source}")]
    Parse {
        /// The file.
        origin: String,
        /// The parser's error, with line and column.
        source: toml::de::Error,
    },
    /// The file's layers are not the network's.
    #[error("{origin}: {reason}")]
    Mismatch {
        /// The file.
        origin: String,
        /// What differs.
        reason: String,
    },
}

/// Largest number of fractional bits that keeps `max_abs · 2^frac` within
/// a 16-bit word (15 for zero).
pub fn frac_bits_for(max_abs: f32) -> i32 {
    if max_abs.is_nan() || max_abs <= 0.0 {
        return 15;
    }
    let mut frac = 15;
    while frac > -16 && f64::from(max_abs) * 2f64.powi(frac) > 32767.0 {
        frac -= 1;
    }
    frac
}

impl Formats {
    /// Formats from calibration: `weight_max[i]` the largest weight
    /// magnitude of layer `i`, `preact_max[i]` the largest magnitude of its
    /// accumulated output before bias and ReLU, over calibration images,
    /// and `input_max` the network input's. One guard bit is left for
    /// activations calibration did not see. Pooling keeps its input's
    /// format; the inputs of an Add or Concat share the smallest of their
    /// producers' formats (which the producers then write).
    pub fn calibrate(
        net: &Network,
        input_max: f32,
        weight_max: &[f32],
        preact_max: &[f32],
    ) -> Formats {
        let guard = |m: f32| frac_bits_for(m * 2.0);
        let input_frac = frac_bits_for(input_max);
        let mut out: Vec<LayerFormat> = Vec::with_capacity(net.layers.len());
        for (i, l) in net.layers.iter().enumerate() {
            let input = match l.inputs.first() {
                None => input_frac,
                Some(_) => l
                    .inputs
                    .iter()
                    .map(|&p| out[p].output_frac)
                    .min()
                    .unwrap_or(input_frac),
            };
            let f = match l.kind {
                LayerKind::Conv(_) | LayerKind::FullyConnected { .. } => {
                    let w = frac_bits_for(weight_max[i]).min(15);
                    let o = guard(preact_max[i]).min(input + w);
                    LayerFormat {
                        input_frac: input,
                        weight_frac: w,
                        output_frac: o,
                    }
                }
                LayerKind::Add => LayerFormat {
                    input_frac: input,
                    weight_frac: 0,
                    output_frac: guard(preact_max[i]).min(input),
                },
                _ => LayerFormat {
                    input_frac: input,
                    weight_frac: 0,
                    output_frac: input,
                },
            };
            out.push(f);
        }
        // An Add or Concat reads all its inputs in one format: lower the
        // producers of the later inputs to the format chosen.
        for i in 0..net.layers.len() {
            if matches!(net.layers[i].kind, LayerKind::Add | LayerKind::Concat) {
                let f = out[i].input_frac;
                for &p in &net.layers[i].inputs {
                    out[p].output_frac = out[p].output_frac.min(f);
                }
            }
        }
        Formats {
            input_frac,
            layers: net
                .layers
                .iter()
                .zip(out)
                .map(|(l, format)| NamedFormat {
                    name: l.name.clone(),
                    format,
                })
                .collect(),
        }
    }

    /// The TOML text of `formats.toml`.
    pub fn to_toml(&self) -> String {
        let mut s = String::from(
            "# Fixed-point formats: fractional bits of each layer's input, weights and\n\
             # output; product_shift = input_frac + weight_frac - output_frac.\n",
        );
        s.push_str(&format!("input_frac = {}\n", self.input_frac));
        for l in &self.layers {
            s.push_str(&format!(
                "\n[[layers]]\nname = \"{}\"\ninput_frac = {}\nweight_frac = {}\noutput_frac = {}\n# product_shift = {}\n",
                l.name,
                l.format.input_frac,
                l.format.weight_frac,
                l.format.output_frac,
                l.format.product_shift()
            ));
        }
        s
    }

    /// Reads a formats file for `net` (pinned formats).
    pub fn from_toml(text: &str, origin: &str, net: &Network) -> Result<Formats, FormatsError> {
        let f: Formats = toml::from_str(text).map_err(|source| FormatsError::Parse {
            origin: origin.into(),
            source,
        })?;
        let names: Vec<&str> = f.layers.iter().map(|l| l.name.as_str()).collect();
        let want: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
        if names != want {
            return Err(FormatsError::Mismatch {
                origin: origin.into(),
                reason: format!("lists layers {names:?}, the network has {want:?}"),
            });
        }
        Ok(f)
    }

    /// Layer `i`'s format.
    pub fn layer(&self, i: usize) -> LayerFormat {
        self.layers[i].format
    }
}

/// Rounds `x · 2^frac` to the nearest 16-bit integer; the bool says it had
/// to saturate.
pub fn quantize(x: f32, frac: i32) -> (i16, bool) {
    let v = (f64::from(x) * 2f64.powi(frac)).round();
    if v > 32767.0 {
        (i16::MAX, true)
    } else if v < -32768.0 {
        (i16::MIN, true)
    } else {
        (v as i16, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frac_bits_keep_the_maximum_in_16_bits() {
        assert_eq!(frac_bits_for(1.0), 14);
        assert_eq!(frac_bits_for(0.5), 15);
        assert_eq!(frac_bits_for(3.9), 13);
        assert_eq!(frac_bits_for(100.0), 8);
        assert_eq!(frac_bits_for(0.0), 15);
        assert_eq!(quantize(1.0, 14), (16384, false));
        assert_eq!(quantize(3.0, 14), (i16::MAX, true));
        assert_eq!(quantize(-0.5, 2), (-2, false));
    }
}
