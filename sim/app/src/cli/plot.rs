//! `eyesim plot`: redraw the plots of an output folder from its CSVs.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// Arguments of `eyesim plot`.
#[derive(clap::Args)]
pub struct Args {
    /// Output folders of `sweep`, `merge`, `estimate`, `simulate`,
    /// `crosscheck`, `run` or `prune --net`.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
}

/// Runs `eyesim plot`.
pub fn run(args: Args) -> anyhow::Result<()> {
    for dir in &args.dirs {
        let files = plot_one(dir).with_context(|| format!("plotting {}", dir.display()))?;
        for f in files {
            sayln!("{}", f.display());
        }
    }
    Ok(())
}

/// The plots of one folder: a sweep or layer folder (`report::plot_dir`),
/// or a `run` folder (its `analytic/` and `simulated/` layer folders) and
/// any `crosscheck.csv` (its parity plot).
fn plot_one(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if crate::report::detect(dir).is_some() {
        return Ok(crate::report::plot_dir(dir)?);
    }
    let mut out = Vec::new();
    if dir.join("steps.csv").is_file() && dir.join("plan.csv").is_file() {
        out.extend(crate::report::plot_prune(dir)?);
    }
    for sub in ["analytic", "simulated"] {
        let d = dir.join(sub);
        if crate::report::detect(&d).is_some() {
            out.extend(crate::report::plot_layers(&d)?);
        }
    }
    let csv = dir.join("crosscheck.csv");
    if csv.is_file() {
        let bytes = std::fs::read(&csv).with_context(|| format!("reading {}", csv.display()))?;
        let (network, rows) =
            crate::crosscheck::read_crosscheck_csv(&bytes, &csv.display().to_string())
                .map_err(anyhow::Error::msg)?;
        let title = format!("{network}: analytic vs simulated counts");
        let svg = dir.join("parity.svg");
        crate::stats::write_atomic(
            &svg,
            crate::crosscheck::parity_svg(&title, &rows).as_bytes(),
        )
        .with_context(|| format!("writing {}", svg.display()))?;
        out.push(svg);
    }
    anyhow::ensure!(
        !out.is_empty(),
        "nothing to plot: not an output folder of sweep or merge (sweep_summary.csv), estimate \
         or simulate (layers.csv, accesses.csv), run (analytic/, simulated/), crosscheck \
         (crosscheck.csv) or prune --net (steps.csv, plan.csv)"
    );
    Ok(out)
}
