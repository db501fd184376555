//! The raw, unvalidated form of a trace file as serde reads it. Which keys
//! are required, and which apply to which layer kind, is decided in
//! `build.rs`.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// Keys of the `[network]` table.
pub(super) const NETWORK_KEYS: &[&str] = &["name", "batch", "input", "precision_bits"];

/// Keys of a `[[layer]]` table, for any kind.
pub(super) const LAYER_KEYS: &[&str] = &[
    "name",
    "kind",
    "inputs",
    "filters",
    "kernel",
    "stride",
    "padding",
    "dilation",
    "groups",
    "outputs",
    "ceil_mode",
    "global",
    "relu",
    "ifmap_zero_fraction",
    "weight_density",
    "ofmap_zero_fraction",
    "op",
    "output",
    "host_reads",
    "host_ops",
];

/// Keys that only some kinds accept (the rest apply to every kind).
pub(super) fn kind_accepts(kind: &str, key: &str) -> bool {
    match key {
        "filters" | "dilation" | "groups" => kind == "conv",
        "kernel" | "stride" | "padding" => matches!(kind, "conv" | "maxpool" | "avgpool"),
        "ceil_mode" | "global" => matches!(kind, "maxpool" | "avgpool"),
        "outputs" => kind == "fc",
        "weight_density" => matches!(kind, "conv" | "fc"),
        "op" | "output" | "host_reads" | "host_ops" => kind == "host",
        _ => true,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrace {
    pub network: Option<RawNetwork>,
    #[serde(default)]
    pub layer: Vec<RawLayer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    pub name: Option<String>,
    pub batch: Option<u32>,
    pub input: Option<Vec<u32>>,
    pub precision_bits: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLayer {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub inputs: Option<Vec<String>>,
    pub filters: Option<u32>,
    pub kernel: Option<IntOrList>,
    pub stride: Option<IntOrList>,
    pub padding: Option<IntOrList>,
    pub dilation: Option<IntOrList>,
    pub groups: Option<u32>,
    pub outputs: Option<u32>,
    pub ceil_mode: Option<bool>,
    pub global: Option<bool>,
    pub relu: Option<bool>,
    pub ifmap_zero_fraction: Option<f64>,
    pub weight_density: Option<f64>,
    pub ofmap_zero_fraction: Option<f64>,
    pub op: Option<String>,
    pub output: Option<Vec<u32>>,
    pub host_reads: Option<u64>,
    pub host_ops: Option<u64>,
}

/// `3` or `[3, 3]` (or `[t, b, l, r]` for padding): a non-negative integer
/// or a list of them. The allowed list lengths are checked per key later.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct IntOrList(pub Vec<u32>);

impl<'de> Deserialize<'de> for IntOrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IntOrList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a non-negative integer or a list of them")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrList, E> {
                u32::try_from(v)
                    .map(|x| IntOrList(vec![x]))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrList, E> {
                u32::try_from(v)
                    .map(|x| IntOrList(vec![x]))
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IntOrList, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element::<u32>()? {
                    out.push(x);
                }
                Ok(IntOrList(out))
            }
        }
        d.deserialize_any(V)
    }
}
