//! The limits of the legal space: the smallest mapping, and the folds,
//! segments, strip heights and `(p, q)` groups that the array and the
//! spads allow. The mapper enumerates within them; the analytic model uses
//! them to size its per-strip sums.

use super::RowStationaryMapping;
use crate::hw::HwConfig;
use crate::workload::ConvProblem;

/// The mapping every search starts from: one PE row of work per copy,
/// with as few folds and segments as the array and spads allow.
pub fn smallest(prob: &ConvProblem, hw: &HwConfig) -> RowStationaryMapping {
    RowStationaryMapping {
        e: 1,
        r: 1,
        t: 1,
        g: 1,
        p: 1,
        q: 1,
        n: 1,
        m: 1,
        fr: folds_for(prob, hw, 1).unwrap_or(1),
        fs: segments_for(prob, hw, 1, 1).unwrap_or(1),
        fw: 1,
    }
}

/// The filter-row folds the search uses for strip height `e`: none while
/// the whole filter fits the array's height (then a strip too tall for the
/// array is not searched, as before folding existed); otherwise the fewest
/// folds whose tallest fits the rows left per vertical segment. `None`
/// when even one-row folds do not fit (more segments than array rows).
pub fn folds_for(prob: &ConvProblem, hw: &HwConfig, e: u32) -> Option<u32> {
    let (rows, cols) = (hw.array.rows, hw.array.cols.max(1));
    let segments = e.div_ceil(cols);
    if prob.r <= rows {
        return (u64::from(prob.r) * u64::from(segments) <= u64::from(rows)).then_some(1);
    }
    let per_fold = rows / segments.max(1);
    (per_fold > 0).then(|| prob.r.div_ceil(per_fold))
}

/// The largest strip height the search visits (see [`folds_for`]).
pub fn strip_limit(prob: &ConvProblem, hw: &HwConfig) -> u32 {
    let (rows, cols) = (hw.array.rows, hw.array.cols);
    let segments = if prob.r <= rows {
        rows / prob.r.max(1)
    } else {
        rows
    };
    prob.e.min(segments.saturating_mul(cols))
}

/// The fewest segments of a filter row with `p` filters and `q` channels
/// per PE: the widest segment's `q·S` ifmap words and `p·q·S` filter words
/// must fit the spads. `None` when not even one tap fits.
pub fn segments_for(prob: &ConvProblem, hw: &HwConfig, p: u32, q: u32) -> Option<u32> {
    let mut taps = hw.pe.ifmap_spad_words / q.max(1);
    if prob.op.has_weights() {
        let pq = u64::from(p) * u64::from(q);
        taps = taps.min((u64::from(hw.pe.filter_spad_words) / pq.max(1)) as u32);
    }
    (taps > 0).then(|| prob.s.max(1).div_ceil(taps))
}

/// The `(p, q, fs)` groups the search visits, in its order. While a whole
/// filter row fits the spads (`fs = 1` at `p = q = 1`), only unsegmented
/// groups are visited: `q ≤ C` and `p ≤ M` within the spads. Otherwise
/// every `(p, q)` that fits one tap, each with its fewest segments.
pub fn groups(prob: &ConvProblem, hw: &HwConfig) -> Vec<(u32, u32, u32)> {
    let pe = &hw.pe;
    let weights = prob.op.has_weights();
    let mut out = Vec::new();
    if segments_for(prob, hw, 1, 1) == Some(1) {
        let s = prob.s.max(1);
        for q in 1..=prob.c.min(pe.ifmap_spad_words / s).max(1) {
            let mut p_max = prob.m.min(pe.psum_spad_words);
            if weights {
                // No `p` fits when `q·S` alone overfills the filter spad.
                p_max = p_max.min(pe.filter_spad_words / (q * s).max(1));
            }
            out.extend((1..=p_max).map(|p| (p, q, 1)));
        }
        return out;
    }
    for q in 1..=prob.c.min(pe.ifmap_spad_words).max(1) {
        let mut p_max = prob.m.min(pe.psum_spad_words);
        if weights {
            p_max = p_max.min(pe.filter_spad_words / q);
        }
        for p in 1..=p_max.max(1) {
            if let Some(fs) = segments_for(prob, hw, p, q) {
                out.push((p, q, fs));
            }
        }
    }
    out
}
