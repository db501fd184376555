//! `eyesim bench`: eyesim's own speed. One subcommand per benchmark; each
//! prints a table of wall times. Measure with a release build
//! (`cargo run --release -- bench estimate`).

use super::common::HwArg;
use crate::analytic::{estimate_network, EstimateOptions};
use crate::workload;
use anyhow::Context;
use std::time::{Duration, Instant};

/// Arguments of `eyesim bench`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    bench: Bench,
}

/// The benchmarks. Add a variant (and a `run_*` function) per benchmark.
#[derive(clap::Subcommand)]
enum Bench {
    /// Full mapping search + analytic estimate of whole networks.
    #[command(
        after_help = "Example:\n  eyesim bench estimate --net alexnet,vgg16,resnet50 --repeat 5"
    )]
    Estimate(EstimateBench),
    /// A 1,000-point analytic sweep of AlexNet (GLB x filter spad x psum spad), or with
    /// --simulate a 100-point cycle-level one (GLB x filter spad)
    #[command(
        after_help = "Example:\n  cargo run --release -- bench sweep\n  cargo run --release -- bench sweep --simulate"
    )]
    Sweep(super::bench_sweep::SweepBench),
    /// Cycle-level simulation with functional outputs (default: AlexNet CONV1-5).
    #[command(
        after_help = "Example:\n  cargo run --release -- bench simulate --layers conv1,conv2 --threads 2"
    )]
    Simulate(super::bench_simulate::SimulateBench),
    /// The paper's pruning method on the shipped trained network, per criterion.
    #[command(
        after_help = "Example:\n  cargo run --release -- bench prune --criteria energy-aware,magnitude"
    )]
    Prune(super::bench_prune::PruneBench),
    /// ONNX import of a 1,003-node model with 25.4 M weights (budget 2 s).
    #[command(after_help = "Example:\n  cargo run --release -- bench import")]
    Import(super::bench_import::ImportBench),
}

/// Arguments of `eyesim bench estimate`.
#[derive(clap::Args)]
struct EstimateBench {
    /// Networks to time, comma-separated (built-in names or trace files).
    #[arg(long, value_delimiter = ',', default_value = "alexnet,vgg16,resnet50")]
    net: Vec<String>,
    #[command(flatten)]
    hw: HwArg,
    /// Timed runs per network; the table shows the fastest and the median.
    #[arg(long, default_value_t = 3)]
    repeat: u32,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

/// Runs `eyesim bench`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.bench {
        Bench::Estimate(b) => run_estimate(b),
        Bench::Sweep(b) => super::bench_sweep::run(b),
        Bench::Simulate(b) => super::bench_simulate::run(b),
        Bench::Prune(b) => super::bench_prune::run(b),
        Bench::Import(b) => super::bench_import::run(b),
    }
}

fn run_estimate(b: EstimateBench) -> anyhow::Result<()> {
    let hw = b.hw.load()?;
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; measure with `cargo run --release -- bench estimate`");
    }
    sayln!(
        "{:<12} {:>6} {:>10} {:>10} {:>10}   hw = {}",
        "network",
        "layers",
        "min ms",
        "median ms",
        "runs",
        hw.name
    );
    for name in &b.net {
        let net = workload::load(name).with_context(|| format!("loading network `{name}`"))?;
        let opts = EstimateOptions {
            threads: b.threads,
            ..EstimateOptions::default()
        };
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..b.repeat.max(1) {
            let start = Instant::now();
            let results = estimate_network(&net, &hw, &opts)
                .with_context(|| format!("estimating `{name}`"))?;
            times.push(start.elapsed());
            std::hint::black_box(results);
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        sayln!(
            "{:<12} {:>6} {:>10.1} {:>10.1} {:>10}",
            net.name,
            net.layers.len(),
            ms(times[0]),
            ms(times[times.len() / 2]),
            times.len()
        );
    }
    Ok(())
}
