//! [`Network`] -> trace text, such that parsing it gives the same network.

use super::build::{default_ofmap_zero_fraction, NETWORK_INPUT};
use super::{LayerKind, Network, PoolKind};
use std::fmt::Write;

/// Writes `net` in the trace format. Every layer names its inputs and its
/// padding as `[top, bottom, left, right]` (ceil-mode pooling appears as its
/// normalized padding); defaults are left out, so
/// `from_toml_str(&to_trace_toml(n), ..) == n`.
pub fn to_trace_toml(net: &Network) -> String {
    let mut s = String::new();
    let i = net.input;
    let _ = writeln!(
        s,
        "[network]\nname = {}\nbatch = {}",
        quote(&net.name),
        net.batch
    );
    let _ = writeln!(s, "input = [{}, {}, {}]", i.c, i.h, i.w);
    let bits = net.layers.first().map_or(16, |l| l.precision_bits);
    if bits != 16 {
        let _ = writeln!(s, "precision_bits = {bits}");
    }
    for (pos, l) in net.layers.iter().enumerate() {
        let _ = writeln!(s, "\n[[layer]]\nname = {}", quote(&l.name));
        let inputs: Vec<String> = if l.inputs.is_empty() {
            vec![quote(NETWORK_INPUT)]
        } else {
            l.inputs
                .iter()
                .map(|&j| quote(&net.layers[j].name))
                .collect()
        };
        let _ = writeln!(
            s,
            "kind = \"{}\"\ninputs = [{}]",
            kind_name(&l.kind),
            inputs.join(", ")
        );
        write_params(&mut s, &l.kind);
        if let LayerKind::Host(_) = l.kind {
            let o = l.output;
            let _ = writeln!(s, "output = [{}, {}, {}]", o.c, o.h, o.w);
        }
        let weighted = matches!(
            l.kind,
            LayerKind::Conv(_) | LayerKind::FullyConnected { .. }
        );
        if l.relu != weighted {
            let _ = writeln!(s, "relu = {}", l.relu);
        }
        let sp = l.sparsity;
        if sp.ifmap_zero_fraction != 0.0 {
            let _ = writeln!(s, "ifmap_zero_fraction = {:?}", sp.ifmap_zero_fraction);
        }
        if sp.weight_density != 1.0 {
            let _ = writeln!(s, "weight_density = {:?}", sp.weight_density);
        }
        if sp.ofmap_zero_fraction != default_ofmap_zero_fraction(&net.layers, pos) {
            let _ = writeln!(s, "ofmap_zero_fraction = {:?}", sp.ofmap_zero_fraction);
        }
    }
    s
}

fn kind_name(k: &LayerKind) -> &'static str {
    match k {
        LayerKind::Conv(_) => "conv",
        LayerKind::FullyConnected { .. } => "fc",
        LayerKind::Pool(p) if p.kind == PoolKind::Max => "maxpool",
        LayerKind::Pool(_) => "avgpool",
        LayerKind::Add => "add",
        LayerKind::Concat => "concat",
        LayerKind::Host(_) => "host",
    }
}

fn write_params(s: &mut String, k: &LayerKind) {
    let pair = |p: [u32; 2]| format!("[{}, {}]", p[0], p[1]);
    let quad = |p: [u32; 4]| format!("[{}, {}, {}, {}]", p[0], p[1], p[2], p[3]);
    match k {
        LayerKind::Conv(p) => {
            let _ = writeln!(s, "filters = {}\nkernel = {}", p.filters, pair(p.kernel));
            let _ = writeln!(
                s,
                "stride = {}\npadding = {}",
                pair(p.stride),
                quad(p.padding)
            );
            if p.dilation != [1, 1] {
                let _ = writeln!(s, "dilation = {}", pair(p.dilation));
            }
            if p.groups != 1 {
                let _ = writeln!(s, "groups = {}", p.groups);
            }
        }
        LayerKind::FullyConnected { outputs } => {
            let _ = writeln!(s, "outputs = {outputs}");
        }
        LayerKind::Pool(p) => {
            let _ = writeln!(
                s,
                "kernel = {}\nstride = {}",
                pair(p.kernel),
                pair(p.stride)
            );
            let _ = writeln!(s, "padding = {}", quad(p.padding));
        }
        LayerKind::Host(h) => {
            let _ = writeln!(s, "op = {}", quote(&h.op));
            let _ = writeln!(s, "host_reads = {}\nhost_ops = {}", h.reads, h.ops);
        }
        LayerKind::Add | LayerKind::Concat => {}
    }
}

/// A TOML basic string.
fn quote(x: &str) -> String {
    let mut q = String::from("\"");
    for c in x.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(q, "\\u{:04X}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_are_valid_toml_strings() {
        for s in ["plain", "a\"b", "back\\slash", "tab\there", "ü"] {
            let doc = format!("x = {}", quote(s));
            let t: toml::Table = toml::from_str(&doc).unwrap();
            assert_eq!(t["x"].as_str(), Some(s), "{doc}");
        }
    }
}
