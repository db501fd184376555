//! Writes a validated network as an ONNX graph, so that importing it can be
//! compared with the trace it came from.

use super::build::{int, ints, Graph};
use eyesim::workload::{LayerKind, Network, PoolKind};

/// The network as ONNX: Conv/Gemm/MaxPool/AveragePool/Add/Concat nodes,
/// a Relu after every rectified layer and a Flatten before every Gemm.
/// Weights carry dimensions only.
pub fn to_onnx(net: &Network) -> Graph {
    let i = net.input;
    let dims = [net.batch, i.c, i.h, i.w].map(i64::from);
    let mut g = Graph::new(&dims);
    // The ONNX value holding each layer's (rectified) output.
    let mut outs: Vec<String> = Vec::new();
    for l in &net.layers {
        let ins: Vec<String> = if l.inputs.is_empty() {
            vec!["x".into()]
        } else {
            l.inputs.iter().map(|&p| outs[p].clone()).collect()
        };
        let raw = format!("{}.out", l.name);
        let w = format!("{}.w", l.name);
        match &l.kind {
            LayerKind::Conv(p) => {
                let cg = l.input.c / p.groups;
                let wd = [p.filters, cg, p.kernel[0], p.kernel[1]].map(i64::from);
                g.weight(&w, &wd, None);
                let attrs = vec![
                    ints("kernel_shape", &p.kernel.map(i64::from)),
                    ints("strides", &p.stride.map(i64::from)),
                    ints("dilations", &p.dilation.map(i64::from)),
                    ints("pads", &onnx_pads(p.padding)),
                    int("group", i64::from(p.groups)),
                ];
                g.node("Conv", &l.name, &[&ins[0], &w], &[&raw], attrs);
            }
            LayerKind::FullyConnected { outputs } => {
                let flat = format!("{}.flat", l.name);
                g.node("Flatten", "", &[&ins[0]], &[&flat], vec![]);
                let k = i64::try_from(l.input.elements()).unwrap();
                g.weight(&w, &[i64::from(*outputs), k], None);
                g.node(
                    "Gemm",
                    &l.name,
                    &[&flat, &w],
                    &[&raw],
                    vec![int("transB", 1)],
                );
            }
            LayerKind::Pool(p) => {
                let op = if p.kind == PoolKind::Max {
                    "MaxPool"
                } else {
                    "AveragePool"
                };
                let attrs = vec![
                    ints("kernel_shape", &p.kernel.map(i64::from)),
                    ints("strides", &p.stride.map(i64::from)),
                    ints("pads", &onnx_pads(p.padding)),
                ];
                g.node(op, &l.name, &[&ins[0]], &[&raw], attrs);
            }
            LayerKind::Add => {
                let refs: Vec<&str> = ins.iter().map(String::as_str).collect();
                g.node("Add", &l.name, &refs, &[&raw], vec![]);
            }
            LayerKind::Concat => {
                let refs: Vec<&str> = ins.iter().map(String::as_str).collect();
                g.node("Concat", &l.name, &refs, &[&raw], vec![int("axis", 1)]);
            }
            LayerKind::Host(h) => panic!("no ONNX form for host layer {} ({})", l.name, h.op),
        }
        if l.relu {
            let r = format!("{}.relu", l.name);
            g.node("Relu", "", &[&raw], &[&r], vec![]);
            outs.push(r);
        } else {
            outs.push(raw);
        }
    }
    g
}

/// (top, bottom, left, right) → ONNX's (top, left, bottom, right).
fn onnx_pads(p: [u32; 4]) -> [i64; 4] {
    [p[0], p[2], p[1], p[3]].map(i64::from)
}
