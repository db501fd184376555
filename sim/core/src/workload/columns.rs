//! Column tiles of a layer (`RowStationaryMapping::fw`, docs/dataflow.md
//! §3): the ofmap's columns cut into tiles processed one after the other,
//! each a layer of its own that reads only the input columns it needs.

use super::ConvProblem;

/// One column tile of a layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnTile {
    /// The tile as a layer: `w` the real input columns it reads, `pad` the
    /// padding columns among those it reads (left and right; only edge
    /// tiles have any, unless tiles are narrower than the padding), `f` its
    /// ofmap columns; everything else as the layer.
    pub prob: ConvProblem,
    /// Its first real input column in the layer's ifmap.
    pub in_col: u32,
    /// Its first ofmap column in the layer's ofmap.
    pub out_col: u32,
}

impl ConvProblem {
    /// The layer cut into `fw` balanced column tiles, left to right: the
    /// first `F mod fw` tiles have `ceil(F/fw)` ofmap columns, the rest
    /// `floor(F/fw)`. `fw = 1` gives the layer itself. `None` when `fw` is 0
    /// or above `F`, or when a tile would read no real input column (it
    /// would lie wholly in the padding).
    pub fn column_tiles(&self, fw: u32) -> Option<Vec<ColumnTile>> {
        if fw == 0 || fw > self.f {
            return None;
        }
        if fw == 1 {
            let whole = ColumnTile {
                prob: *self,
                in_col: 0,
                out_col: 0,
            };
            return Some(vec![whole]);
        }
        let (small, extra) = (self.f / fw, self.f % fw);
        let (left, w) = (i64::from(self.pad.left), i64::from(self.w));
        let reach = i64::from(self.s.saturating_sub(1)) * i64::from(self.d_w) + 1;
        let mut tiles = Vec::with_capacity(fw as usize);
        let mut out_col = 0;
        for i in 0..fw {
            let f = small + u32::from(i < extra);
            // Padded input columns [a, b) of ofmap columns [out_col, out_col + f).
            let a = i64::from(out_col) * i64::from(self.u_w);
            let b = a + i64::from(f - 1) * i64::from(self.u_w) + reach;
            let (lo, hi) = ((a - left).max(0), (b - left).min(w));
            if hi <= lo {
                return None;
            }
            let mut prob = *self;
            prob.w = (hi - lo) as u32;
            prob.pad.left = (left - a).max(0) as u32;
            prob.pad.right = (b - left - w).max(0) as u32;
            prob.f = f;
            tiles.push(ColumnTile {
                prob,
                in_col: lo as u32,
                out_col,
            });
            out_col += f;
        }
        Some(tiles)
    }
}

#[cfg(test)]
#[path = "columns_tests.rs"]
mod tests;
