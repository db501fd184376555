//! The `eyesim` command line. All logic lives in the library; this binary
//! only parses arguments, calls it, and prints errors without a backtrace.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", cli::error_text(&err));
            ExitCode::from(cli::exit_code(&err))
        }
    }
}
