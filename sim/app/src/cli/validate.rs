//! `eyesim validate`: checks hwconfig and trace files, reporting every failure.

use crate::{hw, prune, workload};
use std::path::{Path, PathBuf};

/// Arguments of `eyesim validate`.
#[derive(clap::Args)]
pub struct Args {
    /// Files to check. `<net>-floors.toml` is a pruning floors file for the
    /// built-in network `<net>`; a file with a `[network]` or `[[layer]]`
    /// table, or one under a `traces/` directory, is a trace; anything else a
    /// hwconfig.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// What a file is, judged by its content first, then its location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    /// Pruning floors for the network named by the file (`<net>-floors.toml`).
    Floors,
    Trace,
    HwConfig,
}

fn detect(path: &Path, text: &str) -> FileKind {
    if floors_network(path).is_some() {
        return FileKind::Floors;
    }
    if let Ok(table) = text.parse::<toml::Table>() {
        if table.contains_key("network") || table.contains_key("layer") {
            return FileKind::Trace;
        }
        if table.contains_key("array") || table.contains_key("pe") || table.contains_key("glb") {
            return FileKind::HwConfig;
        }
    }
    let in_traces = path.components().any(|c| c.as_os_str() == "traces");
    if in_traces {
        FileKind::Trace
    } else {
        FileKind::HwConfig
    }
}

/// `alexnet` for `.../alexnet-floors.toml`.
fn floors_network(path: &Path) -> Option<&str> {
    path.file_name()?.to_str()?.strip_suffix("-floors.toml")
}

/// Checks one file; `Ok` carries a one-line description.
fn check(path: &Path) -> Result<String, String> {
    let origin = path.display().to_string();
    if let Some(stem) = workload::onnx_stem(path) {
        return Err(format!(
            "{origin}: an ONNX model is not a trace or hwconfig; convert it with \
             `eyesim import {origin} -o traces/{stem}.toml`, then validate the trace"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{origin}: cannot read: {e}"))?;
    match detect(path, &text) {
        FileKind::Floors => {
            let name = floors_network(path).unwrap_or_default();
            let net = workload::load(name).map_err(|e| format!("{origin}: {e}"))?;
            let f = prune::Floors::uniform(1.0)
                .and_then(|f| f.with_file(&text, &origin, &net))
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "pruning floors for `{}`: {} layers",
                net.name,
                f.per_layer.len()
            ))
        }
        FileKind::Trace => {
            let n = workload::from_toml_str(&text, &origin).map_err(|e| e.to_string())?;
            Ok(format!(
                "trace `{}`: {} layers, batch {}",
                n.name,
                n.layers.len(),
                n.batch
            ))
        }
        FileKind::HwConfig => {
            let c = hw::from_toml_str(&text, &origin).map_err(|e| e.to_string())?;
            Ok(format!(
                "hwconfig `{}`: {}x{} PEs, {} KiB GLB",
                c.name, c.array.rows, c.array.cols, c.glb.size_kib
            ))
        }
    }
}

/// Runs `eyesim validate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut failed = 0usize;
    for path in &args.files {
        match check(path) {
            Ok(what) => sayln!("ok    {}: {what}", path.display()),
            Err(e) => {
                failed += 1;
                sayln!("FAIL  {}", path.display());
                eprintln!("{e}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} files failed validation", args.files.len());
    }
    Ok(())
}
