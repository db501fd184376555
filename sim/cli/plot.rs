//! `eyesim plot`: redraw the plots of an output folder from its CSVs.

use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `eyesim plot`.
#[derive(clap::Args)]
pub struct Args {
    /// Output folders of `sweep`, `merge`, `estimate` or `run`.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
}

/// Runs `eyesim plot`.
pub fn run(args: Args) -> anyhow::Result<()> {
    for dir in &args.dirs {
        let files =
            eyesim::report::plot_dir(dir).with_context(|| format!("plotting {}", dir.display()))?;
        for f in files {
            println!("{}", f.display());
        }
    }
    Ok(())
}
