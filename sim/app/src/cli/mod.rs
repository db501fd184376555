//! The `eyesim` command line: the application on top of the models. Each
//! subcommand lives in its own file with its `Args` and `run`. The binary
//! calls [`main_from`]; the Python package calls [`run_from`] inside a
//! [`host::Host`], so both run the same code and write the same files.

/// `say!` through [`host::print`]: stdout, or the embedding host's text.
macro_rules! say {
    ($($arg:tt)*) => { $crate::cli::host::print(&format!($($arg)*)) };
}

/// `sayln!` through [`host::print`].
macro_rules! sayln {
    () => { $crate::cli::host::print("\n") };
    ($($arg:tt)*) => { $crate::cli::host::print(&format!("{}\n", format_args!($($arg)*))) };
}

mod args;
mod bench;
mod bench_gemm;
mod bench_import;
mod bench_prune;
mod bench_simulate;
mod bench_sweep;
mod common;
mod crosscheck;
mod estimate;
pub mod host;
#[cfg(feature = "onnx")]
mod import;
mod merge;
mod model_data;
mod plot;
mod prune;
mod prune_masks;
mod prune_net;
mod run;
mod run_model;
mod show;
mod simulate;
mod sweep;
mod validate;

use clap::{Parser, Subcommand};

/// Energy and latency of CNNs on row-stationary (Eyeriss) accelerators:
/// an analytic model and a cycle-level simulator that check each other.
#[derive(Parser)]
#[command(name = "eyesim", version, about, long_about = None, after_help = "Example:\n  eyesim run                     # AlexNet on Eyeriss v1: estimate, simulate, cross-check\n  eyesim show --net vgg16\n  eyesim estimate --net resnet50 --hw eyeriss-isca16-256pe --rank")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a network's layers, shapes, MACs, weights and densities.
    #[command(after_help = "Example:\n  eyesim show --net alexnet --csv > alexnet.csv")]
    Show(show::Args),
    /// Check hwconfig and trace files and report every problem.
    #[command(after_help = "Example:\n  eyesim validate hwconfigs/*.toml traces/*.toml")]
    Validate(validate::Args),
    /// Convert an ONNX model into a trace.
    #[cfg(feature = "onnx")]
    #[command(after_help = "Example:\n  eyesim import model.onnx -o traces/model.toml")]
    Import(import::Args),
    /// Map every layer and evaluate it with the analytic model.
    #[command(
        after_help = "Example:\n  eyesim estimate --net alexnet --hw eyeriss-v1 --out results/alexnet\n  eyesim estimate --rank"
    )]
    Estimate(estimate::Args),
    /// Run layers through the cycle-level simulator on real sparse data.
    #[command(
        after_help = "Example:\n  eyesim simulate --layers conv1,conv3 --seed 7 --trace conv1.json"
    )]
    Simulate(simulate::Args),
    /// Compare the analytic model with the simulator, level by level.
    #[command(after_help = "Example:\n  eyesim crosscheck --net alexnet --tolerance 0.05")]
    Crosscheck(crosscheck::Args),
    /// The main job: estimate, simulate and cross-check, with a summary.
    #[command(
        after_help = "Example:\n  eyesim run                      # AlexNet on eyeriss-v1\n  eyesim run --net vgg16 --batch 1"
    )]
    Run(run::Args),
    /// Sweep hardware parameters and the batch size.
    #[command(
        after_help = "Example:\n  eyesim sweep --vary glb.size_kib=16..512:x2 --vary pe.filter_spad_words=64,128,224"
    )]
    Sweep(sweep::Args),
    /// Merge sweep shards into one output, byte-identical to an unsharded run.
    #[command(
        after_help = "Example:\n  eyesim merge out/shard-1 out/shard-2 out/shard-3 -o out/all"
    )]
    Merge(merge::Args),
    /// Plan energy-aware pruning: prune the most energy-hungry layers first.
    #[command(
        after_help = "Example:\n  eyesim prune                                   # AlexNet, Deep Compression floors, 3.7x target\n  eyesim prune --net vgg16 --floor 0.2 --target-reduction 2 --step 0.9"
    )]
    Prune(prune::Args),
    /// Draw SVG plots from estimate, run or sweep outputs.
    #[command(after_help = "Example:\n  eyesim plot results/alexnet-eyeriss-v1")]
    Plot(plot::Args),
    /// Measure eyesim's own speed.
    #[command(after_help = "Example:\n  eyesim bench estimate\n  eyesim bench simulate")]
    Bench(bench::Args),
}

pub use args::{error_text, exit_code};
pub use crosscheck::GateFailed;

/// Runs the command line `args` (the program name first) as the `eyesim`
/// binary does: help, usage and errors go to the terminal, and the result is
/// the process exit status.
pub fn main_from<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    match dispatch(cli.command) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: {}", error_text(&err));
            exit_code(&err)
        }
    }
}

/// Runs the command line `args` (the program name first) for an embedding
/// host: a usage error is returned as an error with clap's message, never
/// printed, and the process is never exited.
pub fn run_from<I, T>(args: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(|e| args::Exit {
        code: u8::try_from(e.exit_code()).unwrap_or(2),
        message: e.render().to_string().trim_end().to_string(),
    })?;
    dispatch(cli.command)
}

fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Show(a) => show::run(a),
        Command::Validate(a) => validate::run(a),
        #[cfg(feature = "onnx")]
        Command::Import(a) => import::run(a),
        Command::Estimate(a) => estimate::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Crosscheck(a) => crosscheck::run(a),
        Command::Run(a) => run::run(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Prune(a) => prune::run(a),
        Command::Plot(a) => plot::run(a),
        Command::Bench(a) => bench::run(a),
    }
}
