//! Static structure of a layer's loop nest (docs/dataflow.md §3): chunking,
//! the ifmap rows a strip needs and the columns each ofmap column needs.

use crate::workload::ConvProblem;

/// `chunks(X, k)`: `(start, len)` pairs `k, k, …, X mod k`.
pub(crate) fn chunks(total: u32, k: u32) -> impl Iterator<Item = (u32, u32)> {
    let k = k.max(1);
    (0..total.div_ceil(k)).map(move |i| (i * k, k.min(total - i * k)))
}

/// `total` cut into `parts` balanced parts as `(start, len)`: the first
/// `total mod parts` parts are one longer (docs/dataflow.md §1, the folds
/// of the filter rows and the segments of a filter row).
pub(crate) fn parts(total: u32, parts: u32) -> Vec<(u32, u32)> {
    let parts = parts.clamp(1, total.max(1));
    let (len, longer) = (total / parts, total % parts);
    let mut start = 0;
    (0..parts)
        .map(|k| {
            let l = len + u32::from(k < longer);
            start += l;
            (start - l, l)
        })
        .collect()
}

/// The padded ifmap rows that a strip of ofmap rows needs (for one fold of
/// the filter rows).
#[derive(Debug, Clone)]
pub(crate) struct StripRows {
    /// First padded ifmap row of the strip's fold (`e0·Uh + r0·Dh`).
    pub base: u32,
    /// Needed rows relative to `base`, ascending and distinct.
    pub rows: Vec<u32>,
    /// Relative row → storage index in the GLB tile (`u32::MAX`: not stored).
    pub slot_of: Vec<u32>,
    /// Needed rows that are real ifmap rows (not padding): `RR`.
    pub real: u32,
}

impl StripRows {
    /// Rows needed by the strip of `e_s` ofmap rows starting at ofmap row
    /// `e0`, for the fold of filter rows `[r0, r0 + rh)`.
    pub(crate) fn new(prob: &ConvProblem, e0: u32, e_s: u32, (r0, rh): (u32, u32)) -> Self {
        let base = e0 * prob.u_h + r0 * prob.d_h;
        let span = (e_s - 1) * prob.u_h + (rh - 1) * prob.d_h + 1;
        let mut needed = vec![false; span as usize];
        for j in 0..e_s {
            for i in 0..rh {
                needed[(j * prob.u_h + i * prob.d_h) as usize] = true;
            }
        }
        let mut rows = Vec::new();
        let mut slot_of = vec![u32::MAX; span as usize];
        for (y, _) in needed.iter().enumerate().filter(|(_, &n)| n) {
            slot_of[y] = rows.len() as u32;
            rows.push(y as u32);
        }
        let real = rows
            .iter()
            .filter(|&&y| Self::real_row(prob, base + y).is_some())
            .count() as u32;
        StripRows {
            base,
            rows,
            slot_of,
            real,
        }
    }

    /// The unpadded ifmap row of padded row `y`, if it is not padding.
    pub(crate) fn real_row(prob: &ConvProblem, y: u32) -> Option<u32> {
        (y >= prob.pad.top && y < prob.pad.top + prob.h).then(|| y - prob.pad.top)
    }

    /// `RN`: rows stored per image-channel.
    pub(crate) fn needed(&self) -> u32 {
        self.rows.len() as u32
    }
}

/// Which padded ifmap columns each ofmap column's window touches, and which
/// of them the ifmap GIN delivers for the first time at that column.
#[derive(Debug, Clone)]
pub(crate) struct ColumnPlan {
    /// How many columns are first needed at ofmap column `f` (they sum to `CN`).
    pub new_cols: Vec<u32>,
    /// Those columns, ascending, for every `f` in turn.
    columns: Vec<u32>,
    /// Where ofmap column `f`'s entries of `columns` start.
    start: Vec<usize>,
    /// `columns`, each as its slot in a PE's ifmap spad row (`x mod span`).
    slots: Vec<u32>,
    /// For every `f` in turn, the spad slots of its window's `sw` taps.
    window: Vec<u32>,
    /// Taps of a window (`sw`).
    taps: usize,
    /// Padded columns one window spans: `(S − 1)·Dw + 1` (`S` the segment's taps).
    pub span: u32,
}

impl ColumnPlan {
    /// The plan for `prob`'s `F` ofmap columns, for the segment of filter
    /// taps `[s0, s0 + sw)`.
    pub(crate) fn new(prob: &ConvProblem, (s0, sw): (u32, u32)) -> Self {
        let offset = s0 * prob.d_w;
        let mut seen = vec![false; prob.wp() as usize];
        let mut new_cols = Vec::with_capacity(prob.f as usize);
        let (mut columns, mut start) = (Vec::new(), Vec::with_capacity(prob.f as usize + 1));
        for f in 0..prob.f {
            start.push(columns.len());
            let mut fresh = 0;
            for s in 0..sw {
                let x = (f * prob.u_w + offset + s * prob.d_w) as usize;
                if !seen[x] {
                    seen[x] = true;
                    columns.push(x as u32);
                    fresh += 1;
                }
            }
            new_cols.push(fresh);
        }
        start.push(columns.len());
        let span = (sw.max(1) - 1) * prob.d_w + 1;
        // The spad is a ring of `span` slots per channel: the modulo is
        // worked out once per layer, not on every word a PE places.
        let slots = columns.iter().map(|&x| x % span).collect();
        let window = (0..prob.f)
            .flat_map(|f| (0..sw).map(move |s| (f * prob.u_w + offset + s * prob.d_w) % span))
            .collect();
        ColumnPlan {
            new_cols,
            columns,
            start,
            slots,
            window,
            taps: sw as usize,
            span,
        }
    }

    /// The spad slots of the columns first needed at ofmap column `f`
    /// (those of [`ColumnPlan::new_at`]), and of its window's taps.
    #[inline]
    pub(crate) fn slots_at(&self, f: u32) -> (&[u32], &[u32]) {
        let f = f as usize;
        (
            &self.slots[self.start[f]..self.start[f + 1]],
            &self.window[f * self.taps..(f + 1) * self.taps],
        )
    }

    /// The padded columns first needed at ofmap column `f`.
    #[inline]
    pub(crate) fn new_at(&self, f: u32) -> &[u32] {
        let f = f as usize;
        &self.columns[self.start[f]..self.start[f + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Op;

    #[test]
    fn chunks_end_with_remainder() {
        let v: Vec<_> = chunks(10, 4).collect();
        assert_eq!(v, vec![(0, 4), (4, 4), (8, 2)]);
        assert_eq!(chunks(3, 8).collect::<Vec<_>>(), vec![(0, 3)]);
    }

    #[test]
    fn slots_are_the_columns_modulo_the_span() {
        // A 5-tap row, dilation 2, stride 2, its segment of taps 1 and 2.
        let mut prob = eyesim_core::fixtures::layer(Op::Mac, 1, 1, 1, 1, (9, 12), (1, 5), 1, 1);
        (prob.d_w, prob.u_w) = (2, 2);
        prob.f = (prob.wp() - (prob.s - 1) * prob.d_w - 1) / prob.u_w + 1;
        let plan = ColumnPlan::new(&prob, (1, 2));
        assert_eq!(plan.span, 3);
        for f in 0..prob.f {
            let (new, window) = plan.slots_at(f);
            let want: Vec<u32> = plan.new_at(f).iter().map(|x| x % 3).collect();
            assert_eq!(new, want.as_slice());
            // Column 0's window starts at the segment's first tap, `1·Dw`.
            let x0 = f * 2 + 2;
            assert_eq!(window, [x0 % 3, (x0 + 2) % 3]);
        }
    }

    /// The PEs read a window without dilation as one slice of their
    /// mirrored spad ring, from its first slot on (`Pe::load_window`).
    #[test]
    fn windows_without_dilation_run_round_the_ring_from_their_first_slot() {
        let mut checked = 0;
        for (s, u, segment) in [
            (3, 1, (0, 3)),
            (5, 2, (1, 3)),
            (3, 4, (0, 3)),
            (1, 1, (0, 1)),
        ] {
            let mut prob = eyesim_core::fixtures::layer(Op::Mac, 1, 1, 1, 1, (9, 20), (1, s), u, 1);
            prob.f = (prob.wp() - (prob.s - 1) * prob.d_w - 1) / prob.u_w + 1;
            let plan = ColumnPlan::new(&prob, segment);
            assert_eq!(plan.span, segment.1);
            for f in 0..prob.f {
                let (_, window) = plan.slots_at(f);
                let first = window[0];
                for (t, &x) in window.iter().enumerate() {
                    assert_eq!(
                        x,
                        (first + t as u32) % plan.span,
                        "s {s}, u {u}, column {f}"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 20);
    }

    #[test]
    fn parts_are_balanced_longest_first() {
        assert_eq!(parts(11, 2), vec![(0, 6), (6, 5)]);
        assert_eq!(parts(5, 4), vec![(0, 2), (2, 1), (3, 1), (4, 1)]);
        assert_eq!(parts(7, 1), vec![(0, 7)]);
    }
}
