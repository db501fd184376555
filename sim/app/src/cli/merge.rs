//! `eyesim merge`: combine the shards of a sweep into its full output.

use crate::sweep::Status;
use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `eyesim merge`.
#[derive(clap::Args)]
pub struct Args {
    /// The shard output folders (all shards of one sweep, any order).
    #[arg(required = true, value_name = "DIR")]
    shards: Vec<PathBuf>,
    /// Folder for the merged output.
    #[arg(short, long, value_name = "OUT")]
    out: PathBuf,
    /// Replace a sweep that --out already holds (never one of the shards).
    #[arg(long)]
    force: bool,
    /// Do not draw the sweep plots.
    #[arg(long)]
    no_plots: bool,
}

/// Runs `eyesim merge`.
pub fn run(args: Args) -> anyhow::Result<()> {
    super::args::check_out_dir(&args.out)?;
    let m = crate::sweep::merge(&args.shards, &args.out, args.force)?;
    sayln!(
        "merged {} shards: {} points ({} ok, {} invalid, {} failed) -> {}",
        args.shards.len(),
        m.points_total,
        m.count(Status::Ok),
        m.count(Status::Invalid),
        m.count(Status::Failed),
        args.out.display()
    );
    if !args.no_plots && m.count(Status::Ok) > 0 {
        crate::report::plot_sweep(&args.out)
            .with_context(|| format!("plotting {}", args.out.display()))?;
    }
    super::sweep::no_point_ok(&m, &args.out)
}
