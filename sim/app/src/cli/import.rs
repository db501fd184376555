//! `eyesim import`: converts an ONNX model into a trace file.

use crate::{onnx, stats, workload};
use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `eyesim import`.
#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model (.onnx).
    pub model: PathBuf,
    /// Output trace; default `traces/<model file stem>.toml`.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Network name in the trace; default the model's file stem.
    #[arg(long)]
    pub name: Option<String>,
    /// Batch size; default the input's first dimension (1 if symbolic).
    #[arg(long)]
    pub batch: Option<u32>,
    /// Overwrite the output trace if it exists.
    #[arg(long)]
    pub force: bool,
    /// Also import the shape-preserving element-wise operators eyesim does
    /// not list (Tanh, Erf, Exp, Gelu, ...) as host layers: off the
    /// accelerator, their reads, writes and operations reported.
    #[arg(long)]
    pub allow_host_ops: bool,
}

/// Runs `eyesim import`. Nothing is written unless the whole model converts,
/// and an existing file is only replaced with `--force`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(name) = &args.name {
        stats::check_file_name(name).map_err(|why| anyhow::anyhow!("--name {name:?} {why}"))?;
    }
    if let Some(batch) = args.batch {
        anyhow::ensure!(batch > 0, "--batch must be at least 1");
    }
    if let Some(out) = &args.output {
        super::args::refuse_overwrite(out, args.force)?;
        super::args::check_out_file(out)?;
    }
    let opts = onnx::ImportOptions {
        allow_host_ops: args.allow_host_ops,
        batch: args.batch,
    };
    let mut net = onnx::import_file_with(&args.model, &opts)?;
    let out = args.output.unwrap_or_else(|| {
        // import_file names the network after the file stem, made safe.
        PathBuf::from("traces").join(format!("{}.toml", net.name))
    });
    super::args::refuse_overwrite(&out, args.force)?;
    if let Some(name) = args.name {
        net.name = name;
    }
    if let Some(batch) = args.batch {
        net.batch = batch;
    }
    let text = workload::to_trace_toml(&net);
    // Only write what the trace reader accepts and reads back identically.
    let origin = out.display().to_string();
    let reread = workload::from_toml_str(&text, &origin)
        .context("the converted trace does not validate (please report this)")?;
    anyhow::ensure!(
        reread == net,
        "the converted trace does not read back as the imported network (please report this)"
    );
    stats::write_atomic(&out, text.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "wrote {}: {} layers ({}), batch {}, input {}",
        out.display(),
        net.layers.len(),
        placements(&net),
        net.batch,
        net.input
    );
    Ok(())
}

/// `12 array, 3 GLB-side, 2 host (Sigmoid ×1, Mul ×1), 1 addressing`.
fn placements(net: &workload::Network) -> String {
    use workload::{LayerKind, LayerWork, Placement};
    let mut count = [0usize; 4];
    let mut host: Vec<(String, usize)> = Vec::new();
    for l in &net.layers {
        let k = match LayerWork::of(l, 1).placement() {
            Placement::Array => 0,
            Placement::GlbSide => 1,
            Placement::Host => 2,
            Placement::None => 3,
        };
        count[k] += 1;
        if let LayerKind::Host(h) = &l.kind {
            match host.iter_mut().find(|(op, _)| *op == h.op) {
                Some((_, n)) => *n += 1,
                None => host.push((h.op.clone(), 1)),
            }
        }
    }
    let mut s = format!(
        "{} array, {} GLB-side, {} host",
        count[0], count[1], count[2]
    );
    if !host.is_empty() {
        let ops: Vec<String> = host.iter().map(|(op, n)| format!("{op} ×{n}")).collect();
        s.push_str(&format!(" ({})", ops.join(", ")));
    }
    if count[3] > 0 {
        s.push_str(&format!(", {} addressing only", count[3]));
    }
    s
}
