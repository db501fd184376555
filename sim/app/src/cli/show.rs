//! `eyesim show`: a network's layers, shapes, MACs, weights and sparsity.

use super::common::NetArg;
use crate::workload::{Layer, LayerKind, LayerWork, Network, Op};

/// Arguments of `eyesim show`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    net: NetArg,
    /// Print CSV on stdout instead of a table (one row per layer, no totals
    /// row): layer,kind,runs_on,inputs,input_shape,output_shape,macs,weights,
    /// weight_density,ifmap_zero_fraction,ofmap_zero_fraction,host_reads,
    /// host_ops. MACs, host reads and host operations are per image;
    /// runs_on is array, GLB-side, host or - (addressing only).
    #[arg(long)]
    csv: bool,
}

/// One printed row.
struct Row {
    layer: String,
    kind: String,
    runs_on: &'static str,
    host_reads: u64,
    host_ops: u64,
    inputs: String,
    input: String,
    output: String,
    macs: u64,
    weights: u64,
    weight_density: f64,
    ifmap_zero: f64,
    ofmap_zero: f64,
}

/// MACs per image and weights of a layer; pooling, add and concat do no MACs.
pub fn macs_and_weights(layer: &Layer) -> (u64, u64) {
    match LayerWork::of(layer, 1) {
        LayerWork::Array(p) if p.op == Op::Mac => (p.macs(), p.weights()),
        _ => (0, 0),
    }
}

fn rows(net: &Network) -> Vec<Row> {
    net.layers
        .iter()
        .map(|l| {
            let (macs, weights) = macs_and_weights(l);
            let inputs = if l.inputs.is_empty() {
                "input".to_string()
            } else {
                let names: Vec<&str> = l
                    .inputs
                    .iter()
                    .map(|&j| net.layers[j].name.as_str())
                    .collect();
                names.join("+")
            };
            let (kind, host_reads, host_ops) = match &l.kind {
                LayerKind::Host(h) => (h.op.clone(), h.reads, h.ops),
                k => (k.name().to_string(), 0, 0),
            };
            Row {
                layer: l.name.clone(),
                kind,
                runs_on: LayerWork::of(l, 1).placement().label(),
                host_reads,
                host_ops,
                inputs,
                input: l.input.to_string(),
                output: l.output.to_string(),
                macs,
                weights,
                weight_density: l.sparsity.weight_density,
                ifmap_zero: l.sparsity.ifmap_zero_fraction,
                ofmap_zero: l.sparsity.ofmap_zero_fraction,
            }
        })
        .collect()
}

/// Runs `eyesim show`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let net = args.net.load()?;
    let rows = rows(&net);
    let text = if args.csv {
        csv(&rows)?
    } else {
        table(&net, &rows)
    };
    super::host::print(&text);
    Ok(())
}

fn csv(rows: &[Row]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "layer",
        "kind",
        "runs_on",
        "inputs",
        "input_shape",
        "output_shape",
        "macs",
        "weights",
        "weight_density",
        "ifmap_zero_fraction",
        "ofmap_zero_fraction",
        "host_reads",
        "host_ops",
    ])?;
    for r in rows {
        w.write_record([
            r.layer.clone(),
            r.kind.clone(),
            r.runs_on.to_string(),
            r.inputs.clone(),
            r.input.clone(),
            r.output.clone(),
            r.macs.to_string(),
            r.weights.to_string(),
            r.weight_density.to_string(),
            r.ifmap_zero.to_string(),
            r.ofmap_zero.to_string(),
            r.host_reads.to_string(),
            r.host_ops.to_string(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

fn table(net: &Network, rows: &[Row]) -> String {
    let head = [
        "layer",
        "kind",
        "runs on",
        "input -> output",
        "MACs/image",
        "weights",
        "w.density",
        "ifmap zeros",
    ];
    let mut cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.layer.clone(),
                r.kind.clone(),
                r.runs_on.to_string(),
                format!("{} -> {}", r.input, r.output),
                r.macs.to_string(),
                r.weights.to_string(),
                format!("{:.3}", r.weight_density),
                format!("{:.4}", r.ifmap_zero),
            ]
        })
        .collect();
    let macs: u64 = rows.iter().map(|r| r.macs).sum();
    let weights: u64 = rows.iter().map(|r| r.weights).sum();
    let total = |s: &str| s.to_string();
    cells.push([
        total("total"),
        total(""),
        total(""),
        total(""),
        macs.to_string(),
        weights.to_string(),
        total(""),
        total(""),
    ]);
    let mut width = head.map(str::len);
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: &[String]| -> String {
        let mut s = String::new();
        for (k, (w, v)) in width.iter().zip(c).enumerate() {
            // Names and shapes align left, numbers right.
            if k < 4 {
                s.push_str(&format!("{v:<w$}  "));
            } else {
                s.push_str(&format!("{v:>w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = format!(
        "network {}: batch {}, input {}, {} layers\n\n",
        net.name,
        net.batch,
        net.input,
        net.layers.len()
    );
    out.push_str(&line(&head.map(String::from)));
    let rule: Vec<String> = width.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(&line(&rule));
    let n = cells.len();
    for (k, c) in cells.iter().enumerate() {
        if k + 1 == n {
            out.push_str(&line(&rule));
        }
        out.push_str(&line(c));
    }
    let host = net.host_work(1);
    if host.layers > 0 {
        out.push_str(&format!(
            "host (per image, off the accelerator): {} layers, {} values read, {} written, {} \
             operations\n",
            host.layers, host.reads, host.writes, host.ops
        ));
    }
    out
}
