//! Where a command's text, progress bars and cancellation go. The `eyesim`
//! binary prints to the terminal and draws bars on stderr. An embedding host
//! (the Python package) runs a command inside [`Host::run`] instead: the
//! text is collected, the bars are hidden but readable with
//! [`Host::progress`], and [`Host::cancel`] stops the run at its next check.
//! The command itself is the same code either way, so it writes the same
//! files.

use crate::cancel::Cancel;
use indicatif::{ProgressBar, ProgressDrawTarget};
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

thread_local! {
    static CURRENT: RefCell<Option<Host>> = const { RefCell::new(None) };
}

/// A command's surroundings when it is not run from a terminal. Clones share
/// the text, the bars and the cancel flag, so one clone can run the command
/// on a worker thread while another watches it.
#[derive(Debug, Clone, Default)]
pub struct Host {
    text: Arc<Mutex<String>>,
    bars: Arc<Mutex<Vec<ProgressBar>>>,
    cancel: Cancel,
}

/// What a progress bar shows at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// What is being done (`simulate`, `sweep`, ...).
    pub prefix: String,
    /// The item in progress, e.g. a layer name.
    pub message: String,
    /// Units done.
    pub position: u64,
    /// Units in all, when known.
    pub length: Option<u64>,
}

impl Host {
    /// A host with no text, no bars and the cancel flag down.
    pub fn new() -> Host {
        Host::default()
    }

    /// Runs `f` on the current thread with this host installed: the
    /// commands it runs print into [`Host::take_text`] and report progress
    /// to [`Host::progress`].
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Restore(Option<Host>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = previous);
            }
        }
        let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(self.clone())));
        f()
    }

    /// The text printed so far, removed from the host.
    pub fn take_text(&self) -> String {
        std::mem::take(&mut *self.text.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The latest progress bar's state, if a bar was started.
    pub fn progress(&self) -> Option<Progress> {
        let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        bars.last().map(|b| Progress {
            prefix: b.prefix(),
            message: b.message(),
            position: b.position(),
            length: b.length(),
        })
    }

    /// Asks the running command to stop at its next check.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

fn current() -> Option<Host> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Prints `s` to stdout, or into the host's text.
pub(crate) fn print(s: &str) {
    match current() {
        Some(h) => h.text.lock().unwrap_or_else(|e| e.into_inner()).push_str(s),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // A closed pipe (`eyesim show | head`) is not an error worth a panic.
            let _ = out.write_all(s.as_bytes());
        }
    }
}

/// A progress bar of `length` units: drawn on stderr when `draw` and there is
/// no host, hidden and registered with the host otherwise.
pub(crate) fn bar(length: Option<u64>, draw: bool) -> ProgressBar {
    match current() {
        Some(h) => {
            let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::hidden());
            h.bars
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(bar.clone());
            bar
        }
        None if draw => ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(length, ProgressDrawTarget::hidden()),
    }
}

/// The cancel flag of the running command (never raised without a host).
pub(crate) fn cancel() -> Cancel {
    current().map(|h| h.cancel).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_goes_to_the_installed_host_only_while_it_runs() {
        let host = Host::new();
        host.run(|| print("inside\n"));
        print("");
        assert_eq!(host.take_text(), "inside\n");
        assert_eq!(host.take_text(), "");
    }

    #[test]
    fn bars_report_to_the_host_and_cancel_reaches_the_command() {
        let host = Host::new();
        let watcher = host.clone();
        let seen = std::thread::spawn(move || {
            host.run(|| {
                let b = bar(Some(3), true);
                b.set_prefix("simulate");
                b.inc(2);
                cancel()
            })
        })
        .join()
        .unwrap();
        let p = watcher.progress().expect("a bar was started");
        assert_eq!(
            (p.prefix.as_str(), p.position, p.length),
            ("simulate", 2, Some(3))
        );
        assert!(!seen.is_cancelled());
        watcher.cancel();
        assert!(seen.is_cancelled());
        assert!(!cancel().is_cancelled(), "no host on this thread");
    }
}
