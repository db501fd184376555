//! The `eyesim._native` extension: runs eyesim's command-line flows from
//! Python. Every API call is an `eyesim` command run in-process by
//! [`eyesim::cli::run_from`] inside a [`Host`], so Python and the binary share
//! one implementation and write the same bytes. The Python package
//! (`python/eyesim/`) turns concepts into those commands and reads the files.

use crossbeam::channel::{self, RecvTimeoutError};
use eyesim::cli::host::{Host, Progress};
use pyo3::exceptions::{PyException, PyKeyboardInterrupt};
use pyo3::prelude::*;
use std::time::Duration;

pyo3::create_exception!(
    _native,
    EyesimError,
    PyException,
    "An eyesim input or run error: args are (message, exit status)."
);

/// How often the waiting thread wakes to draw progress and check Ctrl-C.
const POLL: Duration = Duration::from_millis(100);

/// What a finished command left: its printed text, and whether the
/// cross-check gate failed (the files are written either way).
#[pyclass(frozen, get_all)]
struct Outcome {
    text: String,
    gate_failed: bool,
}

/// Runs `argv` (without the program name) as an eyesim command on a worker
/// thread, with the GIL released. `progress(prefix, message, position,
/// length)` is called about ten times a second while a bar is live. Ctrl-C
/// (a pending KeyboardInterrupt) cancels the command and waits for it to
/// stop before raising.
#[pyfunction]
#[pyo3(signature = (argv, progress=None))]
fn run(py: Python<'_>, argv: Vec<String>, progress: Option<PyObject>) -> PyResult<Outcome> {
    let host = Host::new();
    let worker = host.clone();
    let (tx, rx) = channel::bounded(1);
    let args: Vec<String> = std::iter::once("eyesim".to_string()).chain(argv).collect();
    std::thread::Builder::new()
        .name("eyesim".into())
        .spawn(move || {
            let result = worker.run(|| eyesim::cli::run_from(args));
            let _ = tx.send(result);
        })
        .map_err(|e| EyesimError::new_err((format!("cannot start a thread: {e}"), 1u8)))?;
    let mut last: Option<Progress> = None;
    let result = loop {
        match py.allow_threads(|| rx.recv_timeout(POLL)) {
            Ok(r) => break r,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(EyesimError::new_err(("the eyesim worker stopped", 1u8)))
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        if let Err(interrupt) = py.check_signals() {
            host.cancel();
            // The command stops at its next check; nothing half-written stays.
            let _ = py.allow_threads(|| rx.recv());
            return Err(interrupt);
        }
        report(py, &host, progress.as_ref(), &mut last)?;
    };
    report(py, &host, progress.as_ref(), &mut last)?;
    let text = host.take_text();
    match result {
        Ok(()) => Ok(Outcome {
            text,
            gate_failed: false,
        }),
        Err(e) if e.downcast_ref::<eyesim::cli::GateFailed>().is_some() => Ok(Outcome {
            text,
            gate_failed: true,
        }),
        Err(e) if e.chain().any(|c| c.is::<eyesim::cancel::Cancelled>()) => {
            Err(PyKeyboardInterrupt::new_err("eyesim run cancelled"))
        }
        Err(e) => Err(EyesimError::new_err((
            eyesim::cli::error_text(&e),
            eyesim::cli::exit_code(&e),
        ))),
    }
}

/// Calls `progress` when the bar moved since the last call.
fn report(
    py: Python<'_>,
    host: &Host,
    progress: Option<&PyObject>,
    last: &mut Option<Progress>,
) -> PyResult<()> {
    let (Some(cb), Some(now)) = (progress, host.progress()) else {
        return Ok(());
    };
    if last.as_ref() != Some(&now) {
        cb.call1(py, (&now.prefix, &now.message, now.position, now.length))?;
        *last = Some(now);
    }
    Ok(())
}

/// Runs the `eyesim` command line `argv` (the program name first) exactly as
/// the binary does and returns its exit status; the GIL is released.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.allow_threads(|| eyesim::cli::main_from(argv))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_class::<Outcome>()?;
    m.add("EyesimError", m.py().get_type::<EyesimError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
