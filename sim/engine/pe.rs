//! A processing element: filter, ifmap and psum scratchpads, the zero
//! buffer, and the MAC pipeline. One call of [`Pe::compute_step`] runs a
//! whole ofmap column's `p·q·S` taps (docs/dataflow.md §5) in bulk; the
//! cycle and access counts are those of doing it tap by tap.

use super::datapath::{identity, mac};
use crate::hw::SparsityFeatures;
use crate::workload::Op;

/// Ring depth for per-step PE state (psum buffers in flight).
pub(crate) const RING: usize = 4;

/// Scratchpad and MAC counts a PE accumulates (summed into `LevelCounts`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PeCounters {
    pub rf_ifmap_reads: u64,
    pub rf_filter_reads: u64,
    pub rf_psum_reads: u64,
    pub rf_psum_writes: u64,
    pub performed: u64,
    pub gated: u64,
    pub skipped: u64,
}

/// Where a PE sits and what it computes in the current pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeRole {
    /// Array position (row, column).
    pub pos: (u32, u32),
    /// Group copy index within the pass.
    pub gi: u32,
    /// Channel copy index.
    pub ri: u32,
    /// Filter row held (0..R).
    pub i: u32,
    /// Set column: ofmap row within the strip.
    pub j: u32,
    /// Channels folded into this PE in this pass.
    pub q_act: u32,
    /// Filters folded into this PE in this pass.
    pub p_act: u32,
    /// Psum chain this PE belongs to, and its position (0 = bottom).
    pub chain: u32,
    /// Position in the chain.
    pub chain_pos: u32,
    /// Index of the ifmap row it reads among the strip's stored rows.
    pub yi: u32,
}

/// One PE's state during a pass.
pub(crate) struct Pe {
    pub role: PeRole,
    taps: usize,
    fspad: Vec<i16>,
    nz: Vec<u32>,
    weights_all_nonzero: bool,
    /// Ifmap spad window of the current column, `[channel][tap]`.
    pub win: Vec<i16>,
    acc: Vec<i16>,
    any: [u32; RING],
    any_flag: Vec<bool>,
    /// Next step to start.
    pub next_step: u32,
    /// Cycle the last started step finishes its last tap.
    pub done_at: u64,
    /// Cycle each in-flight step's psums leave the MAC pipeline.
    pub ready_at: [u64; RING],
    /// Steps whose psums the chain has taken.
    pub passed: u32,
    /// Cycle each step's psums were taken.
    pub passed_at: [u64; RING],
    /// Cycle the pass's filters are in the filter spad.
    pub filters_at: u64,
    /// Cycles spent on taps.
    pub busy: u64,
}

impl Pe {
    /// A PE holding `weights` (`[channel][tap][filter]`, `q_act·S·p_act`
    /// words) for `s_taps` taps per channel row.
    pub(crate) fn new(role: PeRole, s_taps: u32, weights: Vec<i16>) -> Self {
        let p = role.p_act as usize;
        let taps = (role.q_act * s_taps) as usize;
        let nz: Vec<u32> = if weights.is_empty() {
            vec![p as u32; taps]
        } else {
            weights
                .chunks(p)
                .map(|row| row.iter().filter(|&&w| w != 0).count() as u32)
                .collect()
        };
        let weights_all_nonzero = nz.iter().all(|&n| n as usize == p);
        Pe {
            role,
            taps,
            fspad: weights,
            nz,
            weights_all_nonzero,
            win: vec![0; taps],
            acc: vec![0; RING * p],
            any: [0; RING],
            any_flag: vec![false; p],
            next_step: 0,
            done_at: 0,
            ready_at: [0; RING],
            passed: 0,
            passed_at: [0; RING],
            filters_at: 0,
            busy: 0,
        }
    }

    /// Psums of `step` (one per filter) and how many had a MAC performed.
    pub(crate) fn psums(&self, step: u32) -> (&[i16], u32) {
        let p = self.role.p_act as usize;
        let slot = step as usize % RING;
        (&self.acc[slot * p..(slot + 1) * p], self.any[slot])
    }

    /// Runs all taps of `step` on the window in `self.win`; returns the
    /// cycles taken (one per non-skipped tap).
    pub(crate) fn compute_step(
        &mut self,
        step: u32,
        op: Op,
        sparsity: &SparsityFeatures,
        shift: u32,
        c: &mut PeCounters,
    ) -> u64 {
        let p = self.role.p_act as usize;
        let slot = step as usize % RING;
        let acc = &mut self.acc[slot * p..(slot + 1) * p];
        acc.fill(identity(op));
        let before = c.performed;
        if !op.has_weights() {
            let cycles = Self::pool_step(acc, &self.win, op, &mut self.any[slot], c);
            count_psum_spad(c, c.performed - before, self.any[slot]);
            return cycles;
        }
        let wc = sparsity.weight_compression;
        let mut cycles = 0u64;
        let mut any_tap = false;
        self.any_flag.fill(false);
        for cs in 0..self.taps {
            let x = self.win[cs];
            let nzw = u64::from(self.nz[cs]);
            let considered = if wc { nzw } else { p as u64 };
            c.skipped += p as u64 - considered;
            c.rf_ifmap_reads += considered;
            if x == 0 {
                if sparsity.zero_skipping {
                    c.skipped += considered;
                    continue;
                }
                if sparsity.zero_gating {
                    c.gated += considered;
                    cycles += considered;
                    continue;
                }
            }
            c.rf_filter_reads += considered;
            c.gated += considered - nzw;
            c.performed += nzw;
            cycles += considered;
            let w = &self.fspad[cs * p..(cs + 1) * p];
            if x != 0 {
                for (a, &wk) in acc.iter_mut().zip(w) {
                    *a = mac(*a, x, wk, shift);
                }
            }
            if self.weights_all_nonzero {
                any_tap = true;
            } else {
                for (f, &wk) in self.any_flag.iter_mut().zip(w) {
                    *f |= wk != 0;
                }
            }
        }
        let any = if self.weights_all_nonzero {
            if any_tap {
                p as u32
            } else {
                0
            }
        } else {
            self.any_flag.iter().filter(|&&f| f).count() as u32
        };
        self.any[slot] = any;
        count_psum_spad(c, c.performed - before, any);
        cycles
    }

    fn pool_step(acc: &mut [i16], win: &[i16], op: Op, any: &mut u32, c: &mut PeCounters) -> u64 {
        let a = &mut acc[0];
        for &x in win {
            *a = super::datapath::combine(op, *a, x);
        }
        let taps = win.len() as u64;
        c.rf_ifmap_reads += taps;
        c.performed += taps;
        *any = u32::from(taps > 0);
        taps
    }
}

/// Psum scratchpad accesses of a step: the first performed MAC of a psum
/// writes it, each later one reads and writes it.
fn count_psum_spad(c: &mut PeCounters, performed: u64, psums_touched: u32) {
    c.rf_psum_writes += performed;
    c.rf_psum_reads += performed - u64::from(psums_touched);
}

impl Pe {
    /// Non-zero words in the filter spad.
    pub(crate) fn nonzero_weights(&self) -> u64 {
        self.nz.iter().map(|&n| u64::from(n)).sum()
    }
}
