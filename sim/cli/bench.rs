//! `eyesim bench`: eyesim's own speed. One subcommand per benchmark.

/// Arguments of `eyesim bench`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    bench: Bench,
}

/// The benchmarks.
#[derive(clap::Subcommand)]
enum Bench {
    /// A 1,000-point analytic sweep of AlexNet (GLB x filter spad x psum spad).
    #[command(after_help = "Example:\n  cargo run --release -- bench sweep")]
    Sweep(super::bench_sweep::SweepBench),
}

/// Runs `eyesim bench`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.bench {
        Bench::Sweep(b) => super::bench_sweep::run(b),
    }
}
