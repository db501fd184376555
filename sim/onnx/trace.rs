//! Temporary trace writer, used until `workload::to_trace_toml` lands.
//! Follows the agreed trace format (BRIEF.md): every layer lists its kind,
//! geometry and ReLU explicitly, and `inputs` whenever it is not simply the
//! previous layer.

use crate::workload::{LayerKind, Network};
use std::fmt::Write;

/// The network as a `traces/*.toml` document.
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
    for (idx, l) in net.layers.iter().enumerate() {
        let _ = writeln!(
            s,
            "\n[[layer]]\nname = {}\nkind = \"{}\"",
            quote(&l.name),
            kind(&l.kind)
        );
        let default_input: Vec<usize> = idx.checked_sub(1).into_iter().collect();
        if l.inputs != default_input {
            let names: Vec<String> = if l.inputs.is_empty() {
                vec![quote("input")]
            } else {
                l.inputs
                    .iter()
                    .map(|&p| quote(&net.layers[p].name))
                    .collect()
            };
            let _ = writeln!(s, "inputs = [{}]", names.join(", "));
        }
        match &l.kind {
            LayerKind::Conv(p) => {
                let _ = writeln!(s, "filters = {}", p.filters);
                let _ = writeln!(s, "kernel = {}", pair(p.kernel));
                let _ = writeln!(s, "stride = {}", pair(p.stride));
                let _ = writeln!(s, "padding = {}", quad(p.padding));
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
                let _ = writeln!(s, "kernel = {}", pair(p.kernel));
                let _ = writeln!(s, "stride = {}", pair(p.stride));
                let _ = writeln!(s, "padding = {}", quad(p.padding));
            }
            LayerKind::Add | LayerKind::Concat => {}
        }
        let _ = writeln!(s, "relu = {}", l.relu);
        if l.sparsity.weight_density != 1.0 {
            let _ = writeln!(s, "weight_density = {}", l.sparsity.weight_density);
        }
    }
    s
}

fn kind(k: &LayerKind) -> &'static str {
    match k {
        LayerKind::Conv(_) => "conv",
        LayerKind::FullyConnected { .. } => "fc",
        LayerKind::Pool(p) => match p.kind {
            crate::workload::PoolKind::Max => "maxpool",
            crate::workload::PoolKind::Avg => "avgpool",
        },
        LayerKind::Add => "add",
        LayerKind::Concat => "concat",
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn pair(p: [u32; 2]) -> String {
    if p[0] == p[1] {
        p[0].to_string()
    } else {
        format!("[{}, {}]", p[0], p[1])
    }
}

fn quad(p: [u32; 4]) -> String {
    if p.iter().all(|&x| x == p[0]) {
        p[0].to_string()
    } else {
        format!("[{}, {}, {}, {}]", p[0], p[1], p[2], p[3])
    }
}
