//! Parallel evaluation with in-order output.
//!
//! `jobs` workers take points in order from a shared counter, evaluate and
//! format them, and send the rows to the writer (the calling thread), which
//! keeps a reorder buffer and appends each point as soon as all earlier
//! ones are written. Workers stay at most [`WINDOW_PER_JOB`]·jobs points
//! ahead of the writer, so a slow point cannot make the buffer grow without
//! bound. The bytes written never depend on `jobs`.

use super::manifest::{Manifest, RunState, Shard, DETAIL, SUMMARY};
use super::output::SweepOutput;
use super::plan::{Point, SweepPlan};
use super::rows::{format_point, PointOutcome, PointRows, Status};
use super::SweepError;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// How far (in points per worker) workers may run ahead of the writer.
pub const WINDOW_PER_JOB: usize = 8;

/// Evaluates one point of a sweep. Implementations must be deterministic:
/// the same point always gives the same outcome.
pub trait PointEvaluator: Sync {
    /// Evaluates `point` (its values are in the plan's axis order).
    fn evaluate(&self, point: &Point) -> PointOutcome;
}

impl<F: Fn(&Point) -> PointOutcome + Sync> PointEvaluator for F {
    fn evaluate(&self, point: &Point) -> PointOutcome {
        self(point)
    }
}

/// Watches a run, e.g. to draw a progress bar. Both methods default to
/// doing nothing; `()` is the observer that ignores everything.
pub trait RunObserver {
    /// Called once before evaluation: `done` of this run's `total` points
    /// were found already complete (by `--resume`).
    fn started(&self, done: usize, total: usize) {
        let _ = (done, total);
    }
    /// Called by the writer after each point is on disk.
    fn point_done(&self, rows: &PointRows) {
        let _ = rows;
    }
}

impl RunObserver for () {}

/// How to run a sweep.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads (at least 1).
    pub jobs: usize,
    /// Only this slice of the points, when set.
    pub shard: Option<Shard>,
    /// Continue an interrupted output instead of starting over.
    pub resume: bool,
    /// Start over even if the folder holds an interrupted sweep.
    pub force: bool,
    /// Checked as each point's rows arrive; once raised, the run stops with
    /// [`SweepError::Cancelled`], leaving an output that `--resume` continues.
    pub cancel: crate::cancel::Cancel,
}

/// A skipped point, for the end-of-run report.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// `key=value` description of the point.
    pub point: String,
    /// Invalid or failed.
    pub status: Status,
    /// Why.
    pub reason: String,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The final manifest (counts per status, rows per point).
    pub manifest: Manifest,
    /// Points found already done by `--resume`.
    pub resumed: usize,
    /// Points evaluated by this run.
    pub evaluated: usize,
    /// Points skipped by this run, with reasons.
    pub skipped: Vec<Skipped>,
}

/// Runs `plan` (or its shard) with `eval`, writing into `dir`; `observer`
/// hears about progress.
pub fn run_sweep(
    plan: &SweepPlan,
    eval: &dyn PointEvaluator,
    dir: &Path,
    opts: RunOptions,
    observer: &dyn RunObserver,
) -> Result<RunReport, SweepError> {
    // Held until this function returns: no other process writes `dir`.
    let _lock = super::lock::DirLock::acquire(dir)?;
    let (mut out, done) = if opts.resume && dir.join(super::manifest::MANIFEST).exists() {
        if let Some(m) = already_complete(plan, dir, opts.shard)? {
            return Ok(RunReport {
                resumed: m.statuses.len(),
                manifest: m,
                evaluated: 0,
                skipped: Vec::new(),
            });
        }
        SweepOutput::resume(dir, plan, opts.shard)?
    } else {
        (SweepOutput::create(dir, plan, opts.shard, opts.force)?, 0)
    };
    let positions = Shard::positions(opts.shard, plan.len());
    let todo = &positions[done..];
    observer.started(done, positions.len());
    let mut skipped = Vec::new();
    evaluate_in_order(plan, eval, todo, opts.jobs.max(1), &mut |rows| {
        if opts.cancel.is_cancelled() {
            return Err(SweepError::Cancelled(crate::cancel::Cancelled));
        }
        out.append(rows)?;
        if let Some(reason) = &rows.reason {
            skipped.push(Skipped {
                point: plan.describe(&plan.point(rows.index)),
                status: rows.status,
                reason: reason.clone(),
            });
        }
        observer.point_done(rows);
        Ok(())
    })?;
    Ok(RunReport {
        manifest: out.finish()?,
        resumed: done,
        evaluated: todo.len(),
        skipped,
    })
}

/// The manifest of `dir` if it already holds this sweep, complete.
fn already_complete(
    plan: &SweepPlan,
    dir: &Path,
    shard: Option<Shard>,
) -> Result<Option<Manifest>, SweepError> {
    let m = Manifest::read(dir)?;
    if m.state != RunState::Complete {
        return Ok(None);
    }
    if m.fingerprint != plan.fingerprint() || m.shard != shard {
        return Err(SweepError::Mismatch {
            dir: dir.display().to_string(),
            found: format!("fingerprint {}", m.fingerprint),
            expected: format!("fingerprint {}", plan.fingerprint()),
        });
    }
    for name in [DETAIL, SUMMARY] {
        let p = dir.join(name);
        if !p.exists() {
            return Err(SweepError::io(&p, std::io::ErrorKind::NotFound.into()));
        }
    }
    Ok(Some(m))
}

/// Evaluates the points at `todo` on `jobs` workers and hands their rows to
/// `write` in `todo` order. Stops at the first write error.
fn evaluate_in_order(
    plan: &SweepPlan,
    eval: &dyn PointEvaluator,
    todo: &[usize],
    jobs: usize,
    write: &mut dyn FnMut(&PointRows) -> Result<(), SweepError>,
) -> Result<(), SweepError> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let written = (Mutex::new(0usize), Condvar::new());
    let window = WINDOW_PER_JOB * jobs;
    let (tx, rx) = crossbeam::channel::unbounded::<(usize, PointRows)>();
    crossbeam::scope(|s| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, stop, written) = (&next, &stop, &written);
            s.spawn(move |_| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= todo.len() || !wait_for_window(written, stop, k, window) {
                    break;
                }
                let point = plan.point(todo[k]);
                let outcome = catch_unwind(AssertUnwindSafe(|| eval.evaluate(&point)))
                    .unwrap_or_else(|p| PointOutcome::Failed(panic_reason(&p)));
                if tx.send((k, format_point(plan, &point, &outcome))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let result = write_in_order(rx, todo.len(), &written, write);
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
            written.1.notify_all();
        }
        result
    })
    .unwrap_or_else(|_| Err(SweepError::Plan("a sweep worker panicked".into())))
}

/// Blocks until point `k` is within `window` of the writer; false on stop.
fn wait_for_window(
    written: &(Mutex<usize>, Condvar),
    stop: &AtomicBool,
    k: usize,
    window: usize,
) -> bool {
    let mut w = written.0.lock().unwrap_or_else(|e| e.into_inner());
    while k >= *w + window && !stop.load(Ordering::Relaxed) {
        w = written.1.wait(w).unwrap_or_else(|e| e.into_inner());
    }
    !stop.load(Ordering::Relaxed)
}

/// The writer loop: a reorder buffer keyed by position in `todo`.
fn write_in_order(
    rx: crossbeam::channel::Receiver<(usize, PointRows)>,
    total: usize,
    written: &(Mutex<usize>, Condvar),
    write: &mut dyn FnMut(&PointRows) -> Result<(), SweepError>,
) -> Result<(), SweepError> {
    let mut pending = BTreeMap::new();
    let mut expected = 0;
    while expected < total {
        let Ok((k, rows)) = rx.recv() else {
            return Err(SweepError::Plan(format!(
                "workers stopped before point {expected} of {total} was evaluated"
            )));
        };
        pending.insert(k, rows);
        while let Some(rows) = pending.remove(&expected) {
            write(&rows)?;
            expected += 1;
            *written.0.lock().unwrap_or_else(|e| e.into_inner()) = expected;
            written.1.notify_all();
        }
    }
    Ok(())
}

fn panic_reason(p: &Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into());
    format!("internal error (please report): evaluator panicked: {msg}")
}
