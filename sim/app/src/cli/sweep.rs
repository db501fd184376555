//! `eyesim sweep`: evaluate a network over a grid of hwconfig variants.

use crate::analytic::{estimate_network_cached, EstimateOptions};
use crate::crosscheck::{run_both, BothOptions};
use crate::engine::LayerMemo;
use crate::hw::HwConfig;
use crate::mapping::{Objective, SearchCache};
use crate::stats::LayerResult;
use crate::sweep::{
    self, rows::PointRows, Axis, NetworkEvaluator, RunObserver, RunOptions, RunReport, Shard,
    Status, SweepPlan, SweepSpec,
};
use crate::workload::Network;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `eyesim sweep`.
#[derive(clap::Args)]
pub struct Args {
    /// Network: a built-in name or a trace file [default: alexnet].
    #[arg(long, value_name = "NAME|FILE")]
    net: Option<String>,
    /// Base hardware config: a built-in name or a file [default: eyeriss-v1].
    #[arg(long, value_name = "NAME|FILE")]
    hw: Option<String>,
    /// A parameter and its values: `KEY=16,32,64`, `KEY=A..B:+S` (linear)
    /// or `KEY=A..B:xF` (geometric). KEY is a numeric hwconfig key
    /// (glb.size_kib, pe.filter_spad_words, ...) or `batch`. Repeat to
    /// sweep the cartesian product.
    #[arg(
        long = "vary",
        value_name = "KEY=VALUES",
        required_unless_present = "spec"
    )]
    vary: Vec<String>,
    /// A sweep file (see hwconfigs/sweeps/) instead of --vary.
    #[arg(long, value_name = "FILE", conflicts_with = "vary")]
    spec: Option<PathBuf>,
    /// Output folder [default: results/sweep-<net>-<hw>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads [default: available cores].
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
    /// Run only shard I of N (points I-1, I-1+N, ...); merge with `eyesim merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Continue an interrupted sweep in --out, keeping its finished points.
    #[arg(long)]
    resume: bool,
    /// Start over even if --out holds an interrupted sweep.
    #[arg(long, conflicts_with = "resume")]
    force: bool,
    /// What the mapper minimizes for each layer of each point: energy, cycles or edp.
    #[arg(long, default_value = "energy")]
    objective: Objective,
    /// Evaluate with the cycle-level simulator (on the mapper's mappings,
    /// every ofmap checked against the reference) instead of the analytic model.
    #[arg(long)]
    simulate: bool,
    /// Seed of the data `--simulate` generates.
    #[arg(long, default_value_t = 1, requires = "simulate")]
    seed: u64,
    /// With --simulate, simulate every layer of every point, even when an
    /// earlier point ran the same simulation (same layer, mapping and every
    /// parameter the simulator reads). The outputs are the same bytes.
    #[arg(long, requires = "simulate")]
    no_reuse: bool,
    /// Do not draw plots.
    #[arg(long)]
    no_plots: bool,
    /// No progress bar and no per-point messages.
    #[arg(long, short)]
    quiet: bool,
    /// Run a sweep of a million points or more (it is refused otherwise).
    #[arg(long)]
    yes: bool,
    /// Run the sweep only if it has at most N points (allows a large sweep
    /// whose size you have checked).
    #[arg(long, value_name = "N")]
    max_points: Option<usize>,
}

/// From this many points on, a sweep needs `--yes` or `--max-points`.
pub const LARGE_SWEEP: usize = 1_000_000;

/// Exit status of a sweep or merge whose files are complete but in which
/// no point is `ok` (every point invalid or failed). See docs/sweeps.md.
pub const EXIT_NO_POINT_OK: u8 = 3;

/// Runs `eyesim sweep`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let spec = match &args.spec {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(SweepSpec::parse(&text, &p.display().to_string())?)
        }
        None => None,
    };
    let pick = |cli: &Option<String>, file: Option<&String>, default: &str| {
        cli.clone()
            .or(file.cloned())
            .unwrap_or_else(|| default.to_string())
    };
    let net = pick(
        &args.net,
        spec.as_ref().and_then(|s| s.net.as_ref()),
        "alexnet",
    );
    let hw = pick(
        &args.hw,
        spec.as_ref().and_then(|s| s.hw.as_ref()),
        "eyeriss-v1",
    );
    let space = sweep::param_space();
    let axes = match &spec {
        Some(s) => s.axes(&space)?,
        None => args
            .vary
            .iter()
            .map(|v| Axis::parse_arg(v, &space))
            .collect::<Result<Vec<_>, _>>()
            .context("bad --vary")?,
    };
    let base = sweep::load_base(
        &net,
        &hw,
        &model_name(args.simulate, args.objective, args.seed),
    )?;
    let plan = SweepPlan::new(axes, base.identity())?.describe_as(base.description());
    check_size(&plan, &base, &args)?;
    let out = args.out.clone().unwrap_or_else(|| {
        super::common::default_out_dir("sweep-", &base.network.name, &base.hw.name, "")
    });
    super::args::check_out_dir(&out)?;
    let opts = RunOptions {
        jobs: args.jobs.unwrap_or_else(default_jobs).max(1),
        shard: args.shard,
        resume: args.resume,
        force: args.force,
        cancel: super::host::cancel(),
    };
    let memo = (args.simulate && !args.no_reuse).then(|| Arc::new(LayerMemo::new()));
    let evaluator = NetworkEvaluator {
        plan: &plan,
        base: &base,
        estimate: estimator(args.simulate, args.objective, args.seed, memo.clone()),
    };
    let bar = Progress(progress_bar(args.quiet));
    let report = sweep::run_sweep(&plan, &evaluator, &out, opts, &bar)?;
    bar.0.finish_and_clear();
    print_report(&report, &out, args.quiet);
    if let (Some(m), false) = (&memo, args.quiet) {
        eprintln!("{}", reuse_line(m));
    }
    if !args.no_plots && args.shard.is_none() && report.manifest.count(Status::Ok) > 0 {
        crate::report::plot_sweep(&out).with_context(|| format!("plotting {}", out.display()))?;
    }
    no_point_ok(&report.manifest, &out)
}

/// The exit status when every point is invalid or failed: the files are
/// complete, but there is no result.
pub(super) fn no_point_ok(m: &crate::sweep::Manifest, out: &std::path::Path) -> anyhow::Result<()> {
    if m.count(Status::Ok) == 0 && !m.statuses.is_empty() {
        return Err(super::args::Exit {
            code: EXIT_NO_POINT_OK,
            message: format!(
                "no point of {} is ok: {} invalid, {} failed (reasons in {}/sweep_summary.csv)",
                if m.shard.is_some() {
                    "this shard"
                } else {
                    "the sweep"
                },
                m.count(Status::Invalid),
                m.count(Status::Failed),
                out.display()
            ),
        }
        .into());
    }
    Ok(())
}

/// Refuses a sweep of [`LARGE_SWEEP`] points or more without `--yes` or a
/// `--max-points` that covers it, and one over `--max-points`; a large
/// sweep that goes ahead is announced with its projected output size.
fn check_size(plan: &SweepPlan, base: &crate::sweep::SweepBase, args: &Args) -> anyhow::Result<()> {
    // A shard is judged by its own points.
    let n = crate::sweep::Shard::positions(args.shard, plan.len()).len();
    let bytes = base.projected_bytes(plan) / plan.len().max(1) as u64 * n as u64;
    let what = if args.shard.is_some() {
        "shard"
    } else {
        "sweep"
    };
    let size = format!(
        "{what} has {n} points, about {} of CSV output in sweep.csv and sweep_summary.csv",
        human_bytes(bytes)
    );
    if let Some(max) = args.max_points {
        anyhow::ensure!(n <= max, "the {size}, more than --max-points {max}");
    } else if n >= LARGE_SWEEP && !args.yes {
        anyhow::bail!(
            "the {size}; pass --yes to run it, or --max-points N to allow up to N \
             points (or fewer --vary values, or --shard to split it)"
        );
    }
    if n >= LARGE_SWEEP {
        eprintln!("warning: large sweep: {size}");
    }
    Ok(())
}

fn human_bytes(b: u64) -> String {
    let b = b as f64;
    match b {
        b if b >= 1e12 => format!("{:.1} TB", b / 1e12),
        b if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        b if b >= 1e6 => format!("{:.1} MB", b / 1e6),
        b => format!("{:.0} kB", b / 1e3),
    }
}

/// A model that evaluates every layer of a network on one config.
pub(super) type Evaluator =
    Box<dyn Fn(&Network, &HwConfig) -> Result<Vec<LayerResult>, String> + Sync>;

/// The model that evaluates a whole network on one config, single-threaded
/// (points are the parallel unit): the mapper and the analytic model, or
/// with `simulate` the cycle-level simulator on the mappings the mapper
/// chose, with data seeded by `seed`; a `memo` shares layer simulations
/// between points.
pub(super) fn estimator(
    simulate: bool,
    objective: Objective,
    seed: u64,
    memo: Option<Arc<LayerMemo>>,
) -> Evaluator {
    let opts = EstimateOptions {
        objective,
        threads: 1,
        ..EstimateOptions::default()
    };
    // One cache for all points and workers: points that differ only in
    // spad sizes share their scored candidates.
    let cache = Arc::new(SearchCache::new());
    if simulate {
        return Box::new(move |net: &Network, hw: &HwConfig| {
            let both = BothOptions {
                estimate: opts.clone(),
                seed,
                threads: 1,
                max_memory: None,
                search: Some(cache.clone()),
                memo: memo.clone(),
                ..BothOptions::default()
            };
            run_both(net, hw, &both, &|_| {})
                .map(|b| b.simulated_rows())
                .map_err(|e| e.to_string())
        });
    }
    Box::new(move |net: &Network, hw: &HwConfig| {
        estimate_network_cached(net, hw, &opts, &cache).map_err(|e| e.to_string())
    })
}

/// How many layer simulations a sweep ran and how many it reused.
pub(super) fn reuse_line(memo: &LayerMemo) -> String {
    format!(
        "layer simulations: {} run, {} reused from earlier points with the same \
         layer, mapping and simulated hardware (--no-reuse runs them all)",
        memo.misses(),
        memo.hits()
    )
}

/// The model's name and options, as recorded in the sweep fingerprint.
pub(super) fn model_name(simulate: bool, objective: Objective, seed: u64) -> String {
    if simulate {
        format!("simulate objective={objective} seed={seed}")
    } else {
        format!("analytic objective={objective}")
    }
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The progress bar as a run observer.
struct Progress(ProgressBar);

impl RunObserver for Progress {
    fn started(&self, done: usize, total: usize) {
        self.0.set_length(total as u64);
        self.0.set_position(done as u64);
        self.0.reset_eta();
    }
    fn point_done(&self, _: &PointRows) {
        self.0.inc(1);
    }
}

fn progress_bar(quiet: bool) -> ProgressBar {
    let bar = super::host::bar(Some(0), !quiet && std::io::stderr().is_terminal());
    bar.set_prefix("sweep");
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} points  {rate}  ETA {eta}")
            .expect("valid template")
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} points/s", s.per_sec());
            }),
    );
    bar
}

/// Most skipped points listed individually; the rest are counted.
const MAX_LISTED: usize = 20;

fn print_report(r: &RunReport, out: &std::path::Path, quiet: bool) {
    let m = &r.manifest;
    let shard = m.shard.map(|s| format!(" (shard {s})")).unwrap_or_default();
    let n = m.statuses.len();
    sayln!(
        "sweep{shard}: {n} point{}: {} ok, {} invalid, {} failed ({} resumed, {} evaluated now) -> {}",
        if n == 1 { "" } else { "s" },
        m.count(Status::Ok),
        m.count(Status::Invalid),
        m.count(Status::Failed),
        r.resumed,
        r.evaluated,
        out.display()
    );
    if quiet {
        return;
    }
    for s in r.skipped.iter().take(MAX_LISTED) {
        eprintln!("skipped ({}): {}: {}", s.status.name(), s.point, s.reason);
    }
    if r.skipped.len() > MAX_LISTED {
        eprintln!(
            "... and {} more skipped points (status column of sweep_summary.csv)",
            r.skipped.len() - MAX_LISTED
        );
    }
}
