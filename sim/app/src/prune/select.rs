//! The three pruning criteria of `eyesim prune --net`, and the candidate
//! weights each gives for a layer at a density.
//!
//! * `magnitude`: remove the smallest `|w|` across the layer (Deep
//!   Compression's criterion); no restoration.
//! * `output-error`: remove the smallest `w² · Σx²`, the output-map error
//!   each weight causes alone (the per-weight criterion of eyesim's
//!   density planner), with `Σx²` over the calibration inputs of the pruned
//!   network; no restoration.
//! * `energy-aware`: the paper's joint output-map criterion: per filter, the
//!   greedy least-squares elimination path of [`LayerFit::path`], merged
//!   across the layer's filters by the error each next removal adds; then
//!   the kept weights (and the bias, where the model lets it change) are
//!   restored by least squares.

use super::lsq::LayerFit;
use std::collections::BinaryHeap;

/// A pruning criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Criterion {
    /// The paper's: joint output-map error, with least-squares restoration.
    EnergyAware,
    /// Per-weight output-map error, no restoration.
    OutputError,
    /// Weight magnitude, no restoration.
    Magnitude,
}

impl Criterion {
    /// Every criterion, the paper's first.
    pub const ALL: [Criterion; 3] = [
        Criterion::EnergyAware,
        Criterion::OutputError,
        Criterion::Magnitude,
    ];
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Criterion::EnergyAware => "energy-aware",
            Criterion::OutputError => "output-error",
            Criterion::Magnitude => "magnitude",
        }
    }
    /// Whether the kept weights are restored by least squares.
    pub fn restores(self) -> bool {
        self == Criterion::EnergyAware
    }
}

impl std::str::FromStr for Criterion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Criterion::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown criterion `{s}` (expected energy-aware, output-error or magnitude)"
                )
            })
    }
}

/// A weight of a layer: filter (over all groups) and tap.
pub type WeightId = (usize, usize);

/// The order in which `criterion` removes the non-zero weights of a layer
/// (`weights` `[G·M][taps]`), first removed first.
pub fn removal_order(
    criterion: Criterion,
    fit: &LayerFit,
    weights: &[f32],
    bias_free: bool,
    lambda: f64,
    threads: usize,
) -> Vec<WeightId> {
    let taps = fit.taps;
    let live: Vec<WeightId> = (0..weights.len())
        .filter(|&i| weights[i] != 0.0)
        .map(|i| (i / taps, i % taps))
        .collect();
    let score = |&(k, t): &WeightId| -> f64 {
        let w = f64::from(weights[k * taps + t]);
        match criterion {
            Criterion::Magnitude => w.abs(),
            _ => w * w * fit.groups[k / fit.filters].gram[(t, t)],
        }
    };
    match criterion {
        Criterion::Magnitude | Criterion::OutputError => {
            let mut scored: Vec<(f64, WeightId)> = live.iter().map(|id| (score(id), *id)).collect();
            scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            scored.into_iter().map(|(_, id)| id).collect()
        }
        Criterion::EnergyAware => {
            let filters = weights.len() / taps;
            let keep = |k: usize| -> Vec<usize> {
                (0..taps)
                    .filter(|&t| weights[k * taps + t] != 0.0)
                    .collect()
            };
            // Filters of a group with the same taps share one inverse (all
            // of them, in a layer not pruned before).
            let mut starts: Vec<(usize, Vec<usize>)> = Vec::new();
            let mut start_of = Vec::with_capacity(filters);
            for k in 0..filters {
                let key = (k / fit.filters, keep(k));
                let at = match starts.iter().position(|s| *s == key) {
                    Some(at) => at,
                    None => {
                        starts.push(key);
                        starts.len() - 1
                    }
                };
                start_of.push(at);
            }
            let inverses = par_map(starts.len(), threads, |i| {
                let (g, keep) = &starts[i];
                fit.inverse(*g, keep, bias_free, lambda)
            });
            let paths = par_map(filters, threads, |k| match &inverses[start_of[k]] {
                Some(start) => fit.path(k / fit.filters, k % fit.filters, start),
                // Not positive definite (cannot happen with λ > 0): no
                // information to order by; keep the tap order.
                None => keep(k).into_iter().map(|t| (t, f64::INFINITY)).collect(),
            });
            merge_paths(&paths)
        }
    }
}

/// Merges per-filter elimination paths into one layer order: always take
/// the next removal, over all filters, that adds the least error (the
/// lower filter on ties).
fn merge_paths(paths: &[Vec<(usize, f64)>]) -> Vec<WeightId> {
    #[derive(PartialEq)]
    struct Next(f64, usize, usize);
    impl Eq for Next {}
    impl PartialOrd for Next {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Next {
        // A max-heap: reverse so the least cost (then lowest filter) pops first.
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
        }
    }
    let mut heap: BinaryHeap<Next> = paths
        .iter()
        .enumerate()
        .filter_map(|(k, p)| p.first().map(|&(_, c)| Next(c, k, 0)))
        .collect();
    let mut order = Vec::with_capacity(paths.iter().map(Vec::len).sum());
    while let Some(Next(_, k, at)) = heap.pop() {
        order.push((k, paths[k][at].0));
        if let Some(&(_, c)) = paths[k].get(at + 1) {
            heap.push(Next(c, k, at + 1));
        }
    }
    order
}

/// A layer's statistics on the calibration images it is fitted to, and on
/// held-out ones that judge the fit.
#[derive(Debug, Clone)]
pub struct Fits {
    /// Fitted to (criteria, restoration).
    pub fit: LayerFit,
    /// Held out (reported errors; whether restoration stays).
    pub check: LayerFit,
}

/// One candidate: the layer's weights and biases at a density, and its
/// output-map error before and after restoration.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Weights `[G·M][taps]`.
    pub weights: Vec<f32>,
    /// Biases `[G·M]`.
    pub bias: Vec<f32>,
    /// Non-zero weights.
    pub kept: usize,
    /// `‖Xw − y‖ / ‖y‖` of the pruned weights as they are, on the held-out
    /// calibration images.
    pub error_before: f64,
    /// The same after restoration (equal to `error_before` without it).
    pub error_after: f64,
    /// Filters whose restoration was kept (it lowered their held-out error).
    pub restored: usize,
}

/// The candidate that removes the first `remove` weights of `order` from
/// `weights`/`bias`, restored when the criterion says: each filter's kept
/// weights are re-fitted on `fits.fit`, and the re-fit is kept only where it
/// lowers that filter's error on the held-out `fits.check` (with few
/// calibration rows per unknown, as in an FC layer fed one row per image, a
/// least-squares fit can do worse than no fit).
#[allow(clippy::too_many_arguments)]
pub fn candidate(
    criterion: Criterion,
    fits: &Fits,
    weights: &[f32],
    bias: &[f32],
    order: &[WeightId],
    remove: usize,
    bias_free: bool,
    lambda: f64,
    threads: usize,
) -> Candidate {
    let (fit, check) = (&fits.fit, &fits.check);
    let taps = fit.taps;
    let mut w = weights.to_vec();
    for &(k, t) in &order[..remove.min(order.len())] {
        w[k * taps + t] = 0.0;
    }
    let filters = bias.len();
    let augmented = |k: usize, w: &[f32], b: f32| -> Vec<f64> {
        let mut v: Vec<f64> = w[k * taps..(k + 1) * taps]
            .iter()
            .map(|&x| f64::from(x))
            .collect();
        v.push(f64::from(b));
        v
    };
    let (g_of, k_of) = (|k: usize| k / fit.filters, |k: usize| k % fit.filters);
    let before: Vec<f64> = par_map(filters, threads, |k| {
        check.error(g_of(k), k_of(k), &augmented(k, &w, bias[k]))
    });
    let target: f64 = check.groups.iter().flat_map(|g| g.target.iter()).sum();
    let rel = |e: f64| (e / target.max(f64::MIN_POSITIVE)).sqrt();
    let error_before = rel(before.iter().sum());
    let mut b = bias.to_vec();
    let mut error_after = error_before;
    let mut restored_filters = 0;
    if criterion.restores() {
        let restored = par_map(filters, threads, |k| {
            let keep: Vec<usize> = (0..taps).filter(|&t| w[k * taps + t] != 0.0).collect();
            let fixed_bias = (!bias_free).then_some(f64::from(bias[k]));
            let r = fit.restore(g_of(k), k_of(k), &keep, fixed_bias, lambda);
            let e = check.error(g_of(k), k_of(k), &r);
            (r, e)
        });
        let mut total = 0.0;
        for (k, (r, e)) in restored.iter().enumerate() {
            if *e < before[k] {
                for t in 0..taps {
                    w[k * taps + t] = r[t] as f32;
                }
                b[k] = r[taps] as f32;
                restored_filters += 1;
                total += e;
            } else {
                total += before[k];
            }
        }
        error_after = rel(total);
    }
    let kept = w.iter().filter(|&&x| x != 0.0).count();
    Candidate {
        weights: w,
        bias: b,
        kept,
        error_before,
        error_after,
        restored: restored_filters,
    }
}

/// `f(i)` for `i` in `0..n` on up to `threads` threads, in order.
pub fn par_map<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, n.max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let results = std::sync::Mutex::new(&mut slots);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let v = f(i);
                results.lock().expect("no worker panicked")[i] = Some(v);
            });
        }
    });
    slots
        .into_iter()
        .map(|v| v.expect("every index ran"))
        .collect()
}
