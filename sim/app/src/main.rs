//! The `eyesim` command line. All logic lives in the library ([`eyesim::cli`]);
//! this binary only calls it and prints errors without a backtrace.

use eyesim::cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(cli::main_from(std::env::args_os()))
}
