//! Physical placement of logical PE sets on the array.

use super::RowStationaryMapping;
use crate::hw::ArrayConfig;
use crate::workload::ConvProblem;

/// Where one set copy sits and which chunk of work it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopySlot {
    /// Channel-chunk index within the pass (0..r).
    pub ri: u32,
    /// Filter-chunk index within the pass (0..t).
    pub ti: u32,
    /// Group index within the pass (0..g).
    pub gi: u32,
    /// Array row of the copy's first PE row (filter row 0 of segment 0).
    pub row0: u32,
    /// Array column of the copy's first PE.
    pub col0: u32,
}

/// The physical footprint of a mapping on an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// PE rows per segment: the filter rows of the tallest fold, `ceil(R/fr)`
    /// (`R` without folding).
    pub set_rows: u32,
    /// Vertical segments a set is split into (ceil(e / cols)).
    pub segments: u32,
    /// Columns of the widest segment (min(e, cols)).
    pub seg_cols: u32,
    /// Copies that fit vertically.
    pub copies_v: u32,
    /// Copies that fit horizontally.
    pub copies_h: u32,
}

impl Geometry {
    /// Footprint of `m` for `prob` on `array`, or `None` when a set does not fit.
    pub fn new(m: &RowStationaryMapping, prob: &ConvProblem, array: &ArrayConfig) -> Option<Self> {
        if m.e == 0 || prob.r == 0 || m.fr == 0 {
            return None;
        }
        let set_rows = m.fold_rows(prob);
        let segments = m.e.div_ceil(array.cols);
        let seg_cols = m.e.min(array.cols);
        let height = set_rows.checked_mul(segments)?;
        if height > array.rows {
            return None;
        }
        Some(Geometry {
            set_rows,
            segments,
            seg_cols,
            copies_v: array.rows / height,
            copies_h: array.cols / seg_cols,
        })
    }

    /// Copies the array can hold.
    #[inline]
    pub fn capacity(&self) -> u32 {
        self.copies_v * self.copies_h
    }

    /// PEs of one set (`ceil(R/fr)` · e).
    #[inline]
    pub fn set_pes(&self, m: &RowStationaryMapping) -> u32 {
        self.set_rows * m.e
    }

    /// Placement of every copy. Consecutive channel chunks (`ri`) are placed
    /// in vertically adjacent slots where possible, so psums chaining across
    /// them travel the local vertical links.
    pub fn slots(&self, m: &RowStationaryMapping) -> Vec<CopySlot> {
        let mut out = Vec::with_capacity((m.r * m.t * m.g) as usize);
        let height = self.set_rows * self.segments;
        for gi in 0..m.g {
            for ti in 0..m.t {
                for ri in 0..m.r {
                    let k = (gi * m.t + ti) * m.r + ri;
                    let (v, h) = (k % self.copies_v, k / self.copies_v);
                    out.push(CopySlot {
                        ri,
                        ti,
                        gi,
                        row0: v * height,
                        col0: h * self.seg_cols,
                    });
                }
            }
        }
        out
    }

    /// Array position of PE (filter row `i`, set column `j`) of the copy at `slot`.
    #[inline]
    pub fn pe_position(&self, slot: &CopySlot, i: u32, j: u32) -> (u32, u32) {
        let seg = j / self.seg_cols;
        let col = j % self.seg_cols;
        (slot.row0 + seg * self.set_rows + i, slot.col0 + col)
    }
}
