//! The legal space of one layer, enumerated in the search's order: strip
//! heights and folds, set copies (`g`, `r`, `t`, the smallest for each chunk
//! count), and the Pareto-optimal GLB tiles (`m`, `n`). The search and the
//! chip policy both walk it.

use eyesim_analytic::model::{LayerModel, StripSums};
use eyesim_core::mapping::check::check_glb;
use eyesim_core::mapping::{folds_for, RowStationaryMapping};

/// Calls `f`, in the search's order, with every candidate that has `p`
/// filters and `q` channels per PE. The candidates depend on the array and
/// the GLB but not on the spad capacities (those only decide which `(p, q)`
/// the search visits).
pub(crate) fn for_each_in_group(
    model: &LayerModel<'_>,
    p: u32,
    q: u32,
    fs: u32,
    mut f: impl FnMut(RowStationaryMapping, &StripSums),
) {
    for e in 1..=model.e_max {
        if let Some(fr) = folds_for(model.prob, model.hw, e) {
            search_strip(model, (p, q, fs), e, fr, &mut f);
        }
    }
}

fn search_strip(
    model: &LayerModel<'_>,
    (p, q, fs): (u32, u32, u32),
    e: u32,
    fr: u32,
    f: &mut impl FnMut(RowStationaryMapping, &StripSums),
) {
    let (prob, hw) = (model.prob, model.hw);
    let segments = e.div_ceil(hw.array.cols);
    let copies_v = hw.array.rows / (prob.r.div_ceil(fr) * segments);
    let cap = copies_v * (hw.array.cols / e.min(hw.array.cols));
    let st = model.strip(e, fr);
    let rs = smallest_per_chunk_count(prob.c.div_ceil(q));
    let ts = smallest_per_chunk_count(prob.m.div_ceil(p));
    for g in 1..=prob.g.min(cap) {
        for &r in rs.iter().take_while(|&&r| r * g <= cap) {
            for &t in ts.iter().take_while(|&&t| t * r * g <= cap) {
                let base = RowStationaryMapping {
                    e,
                    r,
                    t,
                    g,
                    p,
                    q,
                    n: 1,
                    m: 1,
                    fr,
                    fs,
                    fw: 1,
                };
                for_pareto_tiles(model, base, st.rn_full, |m| f(m, &st));
            }
        }
    }
}

/// For `x` units cut into chunks of `k` units, the smallest `k` for every
/// distinct chunk count `ceil(x/k)`, ascending.
fn smallest_per_chunk_count(x: u32) -> Vec<u32> {
    let mut out: Vec<u32> = ChunkCounts::new(x).collect();
    out.reverse();
    out
}

/// Calls `f` with every Pareto-optimal `(m, n)` completion of `base` that fits the GLB.
fn for_pareto_tiles(
    model: &LayerModel<'_>,
    base: RowStationaryMapping,
    rn_full: u32,
    mut f: impl FnMut(RowStationaryMapping),
) {
    let (prob, hw) = (model.prob, model.hw);
    let pt = base.p * base.t;
    let units = prob.m.div_ceil(pt);
    let mut best_n = 0;
    // m = k·p·t (or M), largest first, one per distinct ceil(M/m).
    for k in ChunkCounts::new(units) {
        let m = (k * pt).min(prob.m);
        let fit = largest_fitting_chunk(prob.n, |n| {
            check_glb(&RowStationaryMapping { n, m, ..base }, prob, hw, rn_full).is_ok()
        });
        let Some(n) = fit else { continue };
        if n > best_n {
            best_n = n;
            f(RowStationaryMapping { n, m, ..base });
        }
        if n == prob.n {
            break;
        }
    }
}

/// The largest of the distinct chunk sizes `ceil(total/j)` for which
/// `fits` holds, when `fits` is monotone (it holds for every size below one
/// that fits, as the GLB tile's words grow with the images it holds).
/// `O(log total)` calls, so the search costs the same at any batch size.
fn largest_fitting_chunk(total: u32, fits: impl Fn(u32) -> bool) -> Option<u32> {
    if total == 0 || !fits(1) {
        return None;
    }
    // The largest size that fits, by bisection: fits(lo) holds throughout.
    let (mut lo, mut hi) = (1, total);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    // The largest distinct chunk size not above it: the smallest chunk
    // count j with ceil(total/j) <= lo is ceil(total/lo).
    Some(total.div_ceil(total.div_ceil(lo)))
}

/// The distinct values of `ceil(x/j)` for `j = 1..=x`, largest first:
/// for chunks of `k` units, the smallest `k` giving each chunk count.
struct ChunkCounts {
    x: u32,
    next: u32,
}

impl ChunkCounts {
    fn new(x: u32) -> ChunkCounts {
        ChunkCounts { x, next: x }
    }
}

impl Iterator for ChunkCounts {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.next == 0 {
            return None;
        }
        let v = self.next;
        self.next = if v == 1 {
            0
        } else {
            self.x.div_ceil(self.x.div_ceil(v - 1))
        };
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_fitting_chunk_is_the_first_that_fits_in_chunk_order() {
        for total in [1, 2, 3, 7, 10, 96, 1000, 4097] {
            for bound in 0..=total + 1 {
                let fits = |n: u32| n <= bound;
                let linear = ChunkCounts::new(total).find(|&n| fits(n));
                assert_eq!(
                    largest_fitting_chunk(total, fits),
                    linear,
                    "{total} {bound}"
                );
            }
        }
    }
}
