//! Cooperative cancellation: long runs (simulation, sweeps, pruning) check a
//! [`Cancel`] between units of work, so a caller such as a notebook's
//! interrupt can stop them cleanly without killing the process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag shared between a run and whoever may stop it. The default is
/// never cancelled; clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A fresh flag, not cancelled.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks every run holding this flag (or a clone) to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The error of a run stopped by its [`Cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled (interrupted before it finished; nothing was written)")]
pub struct Cancelled;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let a = Cancel::new();
        let b = a.clone();
        assert!(!b.is_cancelled());
        a.cancel();
        assert!(b.is_cancelled());
        assert!(!Cancel::default().is_cancelled());
    }
}
