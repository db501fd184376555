//! `eyesim bench sweep`: throughput of a 1,000-point analytic sweep.

use super::sweep::{estimator, model_name};
use crate::mapping::Objective;
use crate::sweep::{self, Axis, NetworkEvaluator, RunOptions, Status, SweepPlan};
use std::time::Instant;

/// Arguments of `eyesim bench sweep`.
#[derive(clap::Args)]
pub struct SweepBench {
    /// Network (built-in name or trace file).
    #[arg(long, default_value = "alexnet")]
    net: String,
    /// Base hardware config.
    #[arg(long, default_value = "eyeriss-v1")]
    hw: String,
    /// Worker threads [default: available cores].
    #[arg(long, short)]
    jobs: Option<usize>,
    /// The varied parameters (10 x 10 x 10 points by default).
    #[arg(
        long = "vary",
        value_name = "KEY=VALUES",
        default_values = ["glb.size_kib=16..160:+16", "pe.filter_spad_words=64..640:+64", "pe.psum_spad_words=8..80:+8"]
    )]
    vary: Vec<String>,
}

/// The time budget of the default 1,000-point sweep on a 2-core machine.
const TARGET_SECONDS: f64 = 10.0;

/// Runs the sweep into a temporary folder and reports points per second.
pub fn run(b: SweepBench) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; measure with `cargo run --release -- bench sweep`");
    }
    let space = sweep::param_space();
    let axes = b
        .vary
        .iter()
        .map(|v| Axis::parse_arg(v, &space))
        .collect::<Result<Vec<_>, _>>()?;
    let base = sweep::load_base(&b.net, &b.hw, &model_name(false, Objective::Energy, 0))?;
    let plan = SweepPlan::new(axes, base.identity())?.describe_as(base.description());
    let jobs = b
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let evaluator = NetworkEvaluator {
        plan: &plan,
        base: &base,
        estimate: estimator(false, Objective::Energy, 0),
    };
    let dir = tempfile::tempdir()?;
    let opts = RunOptions {
        jobs,
        shard: None,
        resume: false,
        force: false,
        cancel: Default::default(),
    };
    let start = Instant::now();
    let report = sweep::run_sweep(&plan, &evaluator, dir.path(), opts, &())?;
    let secs = start.elapsed().as_secs_f64();
    let m = &report.manifest;
    sayln!(
        "sweep {} on {}: {} points ({} ok, {} invalid, {} failed), {} layers each, {jobs} jobs",
        base.network.name,
        base.hw.name,
        plan.len(),
        m.count(Status::Ok),
        m.count(Status::Invalid),
        m.count(Status::Failed),
        base.network.layers.len(),
    );
    sayln!("{secs:.2} s, {:.1} points/s", plan.len() as f64 / secs);
    if plan.len() == 1000 {
        let verdict = if secs < TARGET_SECONDS {
            "met"
        } else {
            "MISSED"
        };
        sayln!("target: 1000 points in < {TARGET_SECONDS} s: {verdict}");
    }
    Ok(())
}
