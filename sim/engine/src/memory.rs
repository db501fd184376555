//! What simulating a layer will take, computed before anything is
//! allocated: a run that would not fit the machine (or `--max-memory`) is
//! refused with what it needs, instead of aborting in the allocator.

use super::plan::chunks;
use super::trace::span_bound;
use crate::data::reference;
use crate::hw::HwConfig;
use crate::mapping::RowStationaryMapping;
use crate::workload::ConvProblem;

/// Bytes one controller step takes in the step list.
const STEP_BYTES: u64 = 64;
/// Bytes one recorded trace span takes in memory.
const SPAN_BYTES: u64 = 32;

/// The memory one layer's simulation needs, by part, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryNeed {
    /// The input feature maps (the layer's DRAM contents), plus the copy the
    /// data generator or loader holds and the reference's padded copy.
    pub ifmap: u64,
    /// Weights and biases, plus the reference kernel's chunked weights.
    pub weights: u64,
    /// The ofmap, the reference ofmap and the reference's psums.
    pub ofmap: u64,
    /// GLB tiles, PE state and the controller's step list.
    pub state: u64,
    /// Recorded trace spans.
    pub trace: u64,
}

impl MemoryNeed {
    /// Everything together (saturating).
    pub fn total(&self) -> u64 {
        [self.ifmap, self.weights, self.ofmap, self.state, self.trace]
            .iter()
            .fold(0u64, |a, &b| a.saturating_add(b))
    }
}

fn prod(xs: &[u32]) -> u64 {
    xs.iter().fold(1u64, |a, &x| a.saturating_mul(u64::from(x)))
}

/// What simulating `prob` under `map` on `hw` needs (with `trace`, the
/// spans too) on one thread. 16-bit values, two copies of the operands
/// (generated or loaded, and the simulator's), three of the ofmap. See
/// [`MemoryNeed::run_ahead`] for a layer on several threads. The reference
/// convolution's padded ifmap and chunked weights count too.
pub fn memory_need(
    prob: &ConvProblem,
    map: &RowStationaryMapping,
    hw: &HwConfig,
    trace: bool,
) -> MemoryNeed {
    let p = prob;
    // The reference's own copies: the ifmap zero-padded, or, in its plane
    // loops at a stride U > 1, split into U column phases of ceil(W / U)
    // words a row (which can be the larger), and, for its blocked kernel,
    // the weights in chunks of filters, each tap a row of lanes and an
    // 8-byte offset.
    let phases = u64::from(p.h) * u64::from(p.u_w) * u64::from(p.w.div_ceil(p.u_w));
    let plane = (u64::from(p.hp()) * u64::from(p.wp())).max(phases);
    let padded = prod(&[p.n, p.g, p.c])
        .saturating_mul(plane)
        .saturating_mul(2);
    let ifmap = prod(&[p.n, p.g, p.c, p.h, p.w])
        .saturating_mul(4)
        .saturating_add(padded);
    let weights = if p.op.has_weights() {
        let taps = prod(&[p.g, p.m, p.c, p.r, p.s]).saturating_mul(4);
        if reference::uses_kernel(p) {
            let lanes = reference::KERNEL_FILTERS as u32;
            let chunks = prod(&[p.g, p.m.div_ceil(lanes), p.c, p.r, p.s]);
            taps.saturating_add(chunks.saturating_mul(u64::from(lanes) * 2 + 8))
        } else {
            taps
        }
    } else {
        0
    };
    // Column tiles: one tile's ifmap slice and its ofmap beside the layer's.
    let widest = p
        .column_tiles(map.fw)
        .filter(|t| t.len() > 1)
        .map_or(0, |tiles| {
            let words = |q: &ConvProblem| {
                prod(&[q.n, q.g, q.c, q.h, q.w]).saturating_add(prod(&[q.n, q.g, q.m, q.e, q.f]))
            };
            tiles.iter().map(|t| words(&t.prob)).max().unwrap_or(0)
        });
    let ofmap = prod(&[p.n, p.g, p.m, p.e, p.f])
        .saturating_mul(6)
        .saturating_add(widest.saturating_mul(2));
    let steps = chunks(p.g, map.g).count() as u64
        * chunks(p.n, map.n).count() as u64
        * chunks(p.e, map.e).count() as u64
        * chunks(p.m, map.m).count() as u64
        * (2 + chunks(p.c, map.q * map.r).count() as u64
            * u64::from(map.fr)
            * (1 + u64::from(map.fs) * chunks(map.m, map.p * map.t).count() as u64));
    MemoryNeed {
        ifmap,
        weights,
        ofmap,
        state: steps.saturating_mul(STEP_BYTES) + array_state(hw),
        trace: if trace {
            span_bound(p, map).saturating_mul(SPAN_BYTES)
        } else {
            0
        },
    }
}

/// A GLB's tiles and a PE array's state: what each thread simulating
/// passes holds.
fn array_state(hw: &HwConfig) -> u64 {
    let glb = u64::from(hw.glb.size_kib) * 1024 * 2;
    let pes = u64::from(hw.array.rows * hw.array.cols) * 4096;
    glb + pes
}

impl MemoryNeed {
    /// The need of the layer when its psum tiles run ahead on `threads`
    /// threads (`segments.rs`): one more copy of the ofmap (the tiles'
    /// psums waiting for the controller), and a GLB and PE array for each
    /// thread besides the controller's.
    pub fn run_ahead(self, prob: &ConvProblem, hw: &HwConfig, threads: usize) -> MemoryNeed {
        if threads < 2 {
            return self;
        }
        let psums = prod(&[prob.n, prob.g, prob.m, prob.e, prob.f]).saturating_mul(2);
        let workers = array_state(hw).saturating_mul(threads as u64 - 1);
        MemoryNeed {
            ofmap: self.ofmap.saturating_add(psums),
            state: self.state.saturating_add(workers),
            ..self
        }
    }
}

/// `bytes` as a short human figure.
pub fn human_bytes(bytes: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let b = bytes as f64;
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.1} MiB", b / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_grows_with_the_batch_and_counts_every_part() {
        let hw = crate::hw::builtin("eyeriss-v1").unwrap();
        let mut p = crate::tests::conv(crate::workload::Op::Mac, 4, 1, 96, 256, 27, 27, 5, 5, 1, 2);
        // The chip's own CONV2 mapping (JSSC 2017 Table III).
        let m = crate::mapping::RowStationaryMapping {
            e: 27,
            r: 1,
            t: 1,
            g: 1,
            p: 16,
            q: 2,
            n: 1,
            m: 64,
            fr: 1,
            fs: 1,
            fw: 1,
        };
        crate::mapping::check(&m, &p, &hw).expect("Table III's CONV2 mapping is legal");
        let a = memory_need(&p, &m, &hw, false);
        // CONV2's padding of 2 makes the reference's copy 31 x 31.
        assert_eq!(a.ifmap, 4 * 96 * 27 * 27 * 4 + 4 * 96 * 31 * 31 * 2);
        assert_eq!(a.weights, 256 * 96 * 25 * 4 + 16 * 96 * 25 * 40);
        assert_eq!(a.ofmap, 4 * 256 * 27 * 27 * 6);
        let ahead = a.run_ahead(&p, &hw, 3);
        assert_eq!(ahead.ofmap, 4 * 256 * 27 * 27 * 8);
        assert_eq!(ahead.state - a.state, 2 * super::array_state(&hw));
        assert_eq!(a.run_ahead(&p, &hw, 1), a);
        assert_eq!(a.trace, 0);
        p.n = 1_000_000;
        let b = memory_need(&p, &m, &hw, true);
        assert!(b.total() > 1 << 40, "{}", human_bytes(b.total()));
        assert!(b.trace > 0);
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
