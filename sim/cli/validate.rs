//! `eyesim validate`: checks hwconfig and trace files, reporting every failure.

use eyesim::{hw, workload};
use std::path::{Path, PathBuf};

/// Arguments of `eyesim validate`.
#[derive(clap::Args)]
pub struct Args {
    /// Files to check. A file with a `[network]` or `[[layer]]` table, or one
    /// under a `traces/` directory, is a trace; anything else a hwconfig.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// What a file is, judged by its content first, then its location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Trace,
    HwConfig,
}

fn detect(path: &Path, text: &str) -> FileKind {
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

/// Checks one file; `Ok` carries a one-line description.
fn check(path: &Path) -> Result<String, String> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{origin}: cannot read: {e}"))?;
    match detect(path, &text) {
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
            Ok(what) => println!("ok    {}: {what}", path.display()),
            Err(e) => {
                failed += 1;
                println!("FAIL  {}", path.display());
                eprintln!("{e}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} files failed validation", args.files.len());
    }
    Ok(())
}
