//! `eyesim bench sweep`: throughput of a 1,000-point analytic sweep, or
//! with `--simulate` of a 100-point cycle-level one.

use super::sweep::{estimator, model_name};
use crate::engine::LayerMemo;
use crate::mapping::Objective;
use crate::sweep::{self, Axis, NetworkEvaluator, RunOptions, Status, SweepPlan};
use std::sync::Arc;
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
    /// The varied parameters [default: 10 x 10 x 10 points, glb.size_kib=16..160:+16
    /// pe.filter_spad_words=64..640:+64 pe.psum_spad_words=8..80:+8; with --simulate
    /// 10 x 10 points, glb.size_kib=48..336:+32 pe.filter_spad_words=64..352:+32]
    #[arg(long = "vary", value_name = "KEY=VALUES")]
    vary: Vec<String>,
    /// Evaluate every point with the cycle-level simulator (every ofmap
    /// checked against the reference), as `sweep --simulate` does.
    #[arg(long)]
    simulate: bool,
    /// With --simulate, run every layer simulation of every point (no reuse
    /// of an earlier point's identical simulation), as `sweep --no-reuse`.
    #[arg(long, requires = "simulate")]
    no_reuse: bool,
}

/// The default axes of the analytic sweep: 1,000 points.
const ANALYTIC_AXES: [&str; 3] = [
    "glb.size_kib=16..160:+16",
    "pe.filter_spad_words=64..640:+64",
    "pe.psum_spad_words=8..80:+8",
];
/// The default axes of the simulated sweep: 100 points.
const SIMULATE_AXES: [&str; 2] = [
    "glb.size_kib=48..336:+32",
    "pe.filter_spad_words=64..352:+32",
];

/// The time budget of a default sweep on a 2-core machine: its point count
/// and seconds.
fn target(simulate: bool) -> (usize, f64) {
    if simulate {
        (100, 60.0)
    } else {
        (1000, 10.0)
    }
}

/// Runs the sweep into a temporary folder and reports points per second.
pub fn run(b: SweepBench) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; measure with `cargo run --release -- bench sweep`");
    }
    let space = sweep::param_space();
    let defaults: &[&str] = if b.simulate {
        &SIMULATE_AXES
    } else {
        &ANALYTIC_AXES
    };
    let vary: Vec<String> = if b.vary.is_empty() {
        defaults.iter().map(|v| v.to_string()).collect()
    } else {
        b.vary.clone()
    };
    let axes = vary
        .iter()
        .map(|v| Axis::parse_arg(v, &space))
        .collect::<Result<Vec<_>, _>>()?;
    let seed = 1;
    let model = model_name(b.simulate, Objective::Energy, seed);
    let base = sweep::load_base(&b.net, &b.hw, &model)?;
    let plan = SweepPlan::new(axes, base.identity())?.describe_as(base.description());
    let jobs = b
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let memo = (b.simulate && !b.no_reuse).then(|| Arc::new(LayerMemo::new()));
    let evaluator = NetworkEvaluator {
        plan: &plan,
        base: &base,
        estimate: estimator(b.simulate, Objective::Energy, seed, memo.clone()),
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
        "{} sweep {} on {}: {} points ({} ok, {} invalid, {} failed), {} layers each, {jobs} jobs",
        if b.simulate { "simulated" } else { "analytic" },
        base.network.name,
        base.hw.name,
        plan.len(),
        m.count(Status::Ok),
        m.count(Status::Invalid),
        m.count(Status::Failed),
        base.network.layers.len(),
    );
    sayln!("{secs:.2} s, {:.1} points/s", plan.len() as f64 / secs);
    if let Some(m) = &memo {
        sayln!("{}", super::sweep::reuse_line(m));
    }
    let (points, budget) = target(b.simulate);
    if plan.len() == points {
        let verdict = if secs <= budget { "met" } else { "MISSED" };
        sayln!("target: {points} points in at most {budget} s: {verdict}");
    }
    Ok(())
}
