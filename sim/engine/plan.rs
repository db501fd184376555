//! Static structure of a layer's loop nest (docs/dataflow.md §3): chunking,
//! the ifmap rows a strip needs and the columns each ofmap column needs.

use crate::workload::ConvProblem;

/// `chunks(X, k)`: `(start, len)` pairs `k, k, …, X mod k`.
pub(crate) fn chunks(total: u32, k: u32) -> impl Iterator<Item = (u32, u32)> {
    let k = k.max(1);
    (0..total.div_ceil(k)).map(move |i| (i * k, k.min(total - i * k)))
}

/// The padded ifmap rows that a strip of ofmap rows needs.
#[derive(Debug, Clone)]
pub(crate) struct StripRows {
    /// First padded ifmap row of the strip (`e0·Uh`).
    pub base: u32,
    /// Needed rows relative to `base`, ascending and distinct.
    pub rows: Vec<u32>,
    /// Relative row → storage index in the GLB tile (`u32::MAX`: not stored).
    pub slot_of: Vec<u32>,
    /// Needed rows that are real ifmap rows (not padding): `RR`.
    pub real: u32,
}

impl StripRows {
    /// Rows needed by the strip of `e_s` ofmap rows starting at ofmap row `e0`.
    pub(crate) fn new(prob: &ConvProblem, e0: u32, e_s: u32) -> Self {
        let base = e0 * prob.u_h;
        let span = (e_s - 1) * prob.u_h + (prob.r - 1) * prob.d_h + 1;
        let mut needed = vec![false; span as usize];
        for j in 0..e_s {
            for i in 0..prob.r {
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
    /// Padded columns one window spans: `(S − 1)·Dw + 1`.
    pub span: u32,
}

impl ColumnPlan {
    /// The plan for `prob`'s `F` ofmap columns.
    pub(crate) fn new(prob: &ConvProblem) -> Self {
        let mut seen = vec![false; prob.wp() as usize];
        let mut new_cols = Vec::with_capacity(prob.f as usize);
        let (mut columns, mut start) = (Vec::new(), Vec::with_capacity(prob.f as usize + 1));
        for f in 0..prob.f {
            start.push(columns.len());
            let mut fresh = 0;
            for s in 0..prob.s {
                let x = (f * prob.u_w + s * prob.d_w) as usize;
                if !seen[x] {
                    seen[x] = true;
                    columns.push(x as u32);
                    fresh += 1;
                }
            }
            new_cols.push(fresh);
        }
        start.push(columns.len());
        ColumnPlan {
            new_cols,
            columns,
            start,
            span: (prob.s.max(1) - 1) * prob.d_w + 1,
        }
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

    #[test]
    fn chunks_end_with_remainder() {
        let v: Vec<_> = chunks(10, 4).collect();
        assert_eq!(v, vec![(0, 4), (4, 4), (8, 2)]);
        assert_eq!(chunks(3, 8).collect::<Vec<_>>(), vec![(0, 3)]);
    }
}
