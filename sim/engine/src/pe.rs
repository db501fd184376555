//! A processing element: filter, ifmap and psum scratchpads, the zero
//! buffer, and the MAC pipeline. One call of [`Pe::compute_step`] runs a
//! whole ofmap column's `p·q·S` taps (docs/dataflow.md §5) in bulk; the
//! cycle and access counts are those of doing it tap by tap.

use super::datapath::{
    identity, mac_row, mac_tap_pairs, mac_taps, pair_weights, PairKernel, MAC_LANES,
    PAIRS_MAX_SHIFT,
};
use super::fifo::WordFifo;
use crate::hw::SparsityFeatures;
use crate::workload::Op;

/// Ring depth for per-step PE state (psum buffers in flight).
pub(crate) const RING: usize = 4;

/// Columns a pass must run for its PEs to lay their weights out in pairs
/// ([`mac_tap_pairs`]): the layout reads and writes every weight once, and
/// a fully-connected layer's pass, one column per image, uses each weight
/// too few times to win that back.
const PAIRS_MIN_COLUMNS: u32 = 8;

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
#[cfg_attr(test, derive(PartialEq))]
pub(crate) struct PeRole {
    /// Array position (row, column).
    pub pos: (u32, u32),
    /// Group copy index within the pass.
    pub gi: u32,
    /// Channel copy index.
    pub ri: u32,
    /// Filter copy index.
    pub ti: u32,
    /// Filter row held (0..R).
    pub i: u32,
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

/// A PE's buffers, kept from one pass to the next.
#[derive(Default)]
struct PeBuffers {
    fspad: Vec<i16>,
    weights: Vec<i16>,
    fpairs: Vec<i16>,
    ifmap_spad: Vec<i16>,
    slot_zeros: Vec<u32>,
    win: Vec<i16>,
    acc: Vec<i16>,
    any_flag: Vec<bool>,
    nz: Vec<u32>,
    ifmap_fifo: WordFifo,
    psum_fifo: WordFifo,
}

/// One PE's state during a pass.
///
/// Its data comes only from deliveries: the filter GIN writes its filter
/// spad, the ifmap GIN pushes words into its ifmap FIFO (placed into the
/// ifmap spad when a column starts), and psums arrive in its psum FIFO
/// from the psum GIN (bottom PE of a chain) or the local link below.
pub(crate) struct Pe {
    pub role: PeRole,
    taps: usize,
    s_taps: usize,
    /// The filter spad's `fspad_words` words, `[channel][tap][filter]`.
    fspad: Vec<i16>,
    fspad_words: usize,
    /// Next filter spad word an arriving filter word is written to.
    fspad_write: usize,
    /// The filter spad's words in window order (`[tap][channel][filter]`,
    /// the order the MACs read the window in), once the filters have
    /// arrived, then [`MAC_LANES`] zeros that are not part of it: a block
    /// of the MAC reads one tap's weights a whole register wide, and at the
    /// last tap that runs past the spad.
    weights: Vec<i16>,
    /// The same words in the order [`mac_tap_pairs`] reads them, when
    /// `pairs`.
    fpairs: Vec<i16>,
    /// The build the MACs run two taps at a time with ([`mac_tap_pairs`]),
    /// if any: every weight non-zero, and a vector build that pays for
    /// the PE's filters.
    pairs: Option<PairKernel>,
    /// Whether this pass's filters have arrived (then `nz` is valid).
    pub filters_ready: bool,
    nz: Vec<u32>,
    weights_all_nonzero: bool,
    /// Ifmap words delivered by the ifmap GIN, not yet placed in the spad.
    pub ifmap_fifo: WordFifo,
    /// Ifmap spad: a ring of `span` slots (padded column mod `span`) of
    /// one word per channel, `[slot][channel]`, with its first `span − 1`
    /// slots repeated after the last, so a window of adjacent columns is
    /// one slice even where it wraps around the ring.
    ifmap_spad: Vec<i16>,
    /// Zero words in each slot of `ifmap_spad` (mirrored as it is).
    slot_zeros: Vec<u32>,
    span: usize,
    /// Ifmap window of the current column, `[tap][channel]`: a slice of
    /// the spad from `win_at` when its taps are adjacent columns (no
    /// dilation), else read into `win`.
    win: Vec<i16>,
    win_at: Option<usize>,
    /// Zero taps in the window.
    win_zeros: u32,
    /// Psums delivered from below (psum GIN or local link), oldest first.
    pub psum_fifo: WordFifo,
    acc: Vec<i16>,
    any: [u32; RING],
    any_flag: Vec<bool>,
    /// MACs (pooling taps) this PE performed in the pass.
    pub performed: u64,
    /// Words it needed from an empty FIFO.
    pub starved: u64,
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
    /// A PE for `s_taps` taps per channel row whose ifmap window spans
    /// `span` padded columns; `weights` says whether the op has a filter.
    pub(crate) fn new(role: PeRole, s_taps: u32, span: u32, weights: bool) -> Self {
        Pe::build(PeBuffers::default(), role, s_taps, span, weights)
    }

    /// Makes this PE, of an earlier pass, the PE [`Pe::new`] would give,
    /// in place: it keeps its buffers (cleared), so a pass allocates
    /// nothing for its PEs once the array has run one, and moves none.
    pub(crate) fn reset(&mut self, role: PeRole, s_taps: u32, span: u32, weights: bool) {
        let buffers = self.take_buffers();
        *self = Pe::build(buffers, role, s_taps, span, weights);
    }

    /// Every field in one struct literal, so a reset PE keeps nothing of
    /// its earlier pass but its buffers' allocations.
    fn build(mut b: PeBuffers, role: PeRole, s_taps: u32, span: u32, weights: bool) -> Self {
        let p = role.p_act as usize;
        let taps = (role.q_act * s_taps) as usize;
        let span = span.max(1) as usize;
        let fresh = |v: &mut Vec<i16>, len: usize| {
            v.clear();
            v.resize(len, 0);
            std::mem::take(v)
        };
        let fspad_words = if weights { taps * p } else { 0 };
        let fspad = fresh(&mut b.fspad, fspad_words);
        let ifmap_spad = fresh(&mut b.ifmap_spad, role.q_act as usize * (2 * span - 1));
        let win = fresh(&mut b.win, taps);
        b.slot_zeros.clear();
        b.slot_zeros.resize(2 * span - 1, role.q_act);
        let acc = fresh(&mut b.acc, RING * p);
        b.any_flag.clear();
        b.any_flag.resize(p, false);
        b.nz.clear();
        b.ifmap_fifo.clear();
        b.psum_fifo.clear();
        Pe {
            role,
            taps,
            s_taps: s_taps as usize,
            fspad,
            fspad_words,
            fspad_write: 0,
            weights: b.weights,
            fpairs: b.fpairs,
            pairs: None,
            filters_ready: false,
            nz: b.nz,
            weights_all_nonzero: true,
            ifmap_fifo: b.ifmap_fifo,
            ifmap_spad,
            slot_zeros: b.slot_zeros,
            span,
            win,
            win_at: None,
            win_zeros: 0,
            psum_fifo: b.psum_fifo,
            acc,
            any: [0; RING],
            any_flag: b.any_flag,
            performed: 0,
            starved: 0,
            next_step: 0,
            done_at: 0,
            ready_at: [0; RING],
            passed: 0,
            passed_at: [0; RING],
            filters_at: 0,
            busy: 0,
        }
    }

    fn take_buffers(&mut self) -> PeBuffers {
        use std::mem::take;
        PeBuffers {
            fspad: take(&mut self.fspad),
            weights: take(&mut self.weights),
            fpairs: take(&mut self.fpairs),
            ifmap_spad: take(&mut self.ifmap_spad),
            slot_zeros: take(&mut self.slot_zeros),
            win: take(&mut self.win),
            acc: take(&mut self.acc),
            any_flag: take(&mut self.any_flag),
            nz: take(&mut self.nz),
            ifmap_fifo: take(&mut self.ifmap_fifo),
            psum_fifo: take(&mut self.psum_fifo),
        }
    }

    /// Filter words arriving in spad order (`[channel][tap][filter]`):
    /// each goes to the next spad word. Words beyond the spad are lost.
    pub(crate) fn receive_filters(&mut self, words: &[i16]) {
        let at = self.fspad_write.min(self.fspad_words);
        let n = words.len().min(self.fspad_words - at);
        self.fspad[at..at + n].copy_from_slice(&words[..n]);
        self.fspad_write += words.len();
    }

    /// A filter word arriving with its spad address (weight compression
    /// sends only non-zero words, so they carry where they go).
    pub(crate) fn receive_filter_at(&mut self, addr: u32, value: i16) {
        if (addr as usize) < self.fspad_words {
            self.fspad[addr as usize] = value;
        }
    }

    /// The pass's filters are in, for `columns` columns: counts the
    /// non-zero weights per tap row, and lays them out in pairs when that
    /// pays.
    pub(crate) fn filters_arrived(&mut self, columns: u32) {
        let p = self.role.p_act as usize;
        self.window_order_weights();
        self.nz.clear();
        // One pass over the spad decides it in the common case: with no
        // zero weight, every row counts `p`.
        self.weights_all_nonzero = !self.fspad.contains(&0);
        if self.weights_all_nonzero {
            self.nz.resize(self.taps, p as u32);
        } else {
            let rows = self.weights[..self.fspad_words].chunks(p.max(1));
            let counts = rows.map(|row| row.iter().filter(|&&w| w != 0).count() as u32);
            self.nz.extend(counts);
        }
        let dense = self.weights_all_nonzero && self.fspad_words > 0;
        let pays = columns >= PAIRS_MIN_COLUMNS;
        self.pairs = PairKernel::for_filters(p).filter(|_| dense && pays);
        if let Some(kernel) = self.pairs {
            pair_weights(
                kernel,
                &self.weights[..self.fspad_words],
                p,
                self.taps,
                &mut self.fpairs,
            );
        }
        self.filters_ready = true;
    }

    /// The spad's filter words in window order (`[tap][channel][filter]`),
    /// into `weights`: the spad holds them `[channel][tap][filter]`.
    fn window_order_weights(&mut self) {
        let (p, q, s) = (
            self.role.p_act as usize,
            self.role.q_act as usize,
            self.s_taps,
        );
        self.weights.clear();
        self.weights.resize(self.fspad_words + MAC_LANES, 0);
        if self.fspad_words == 0 {
            return;
        }
        for t in 0..s {
            for cl in 0..q {
                let from = (cl * s + t) * p;
                let to = (t * q + cl) * p;
                self.weights[to..to + p].copy_from_slice(&self.fspad[from..from + p]);
            }
        }
    }

    /// Runs column `step`: places its new ifmap words from the FIFO in the
    /// spad (`slots`: where they go, and where the window's taps are read;
    /// `ColumnPlan::slots_at`) and runs its taps; returns their cycles.
    #[inline(always)]
    pub(crate) fn run_column(
        &mut self,
        step: u32,
        (new_slots, window): (&[u32], &[u32]),
        op: Op,
        (sparsity, shift): (&SparsityFeatures, u32),
        c: &mut PeCounters,
    ) -> u64 {
        self.load_window(new_slots, window);
        let dur = self.compute_step(step, op, sparsity, shift, c);
        self.next_step = step + 1;
        self.busy += dur;
        dur
    }

    /// The psums of `step` leave the PE, appended to `out`: the incoming
    /// ones from its psum FIFO (`fresh`: a chain's first PE of a first
    /// channel chunk, which starts from the identity) plus its own.
    #[inline(always)]
    pub(crate) fn leave(
        &mut self,
        step: u32,
        (p, fresh): (usize, bool),
        op: Op,
        out: &mut impl Extend<i16>,
        c: &mut PeCounters,
    ) {
        let fill = identity(op);
        debug_assert_eq!(p, self.role.p_act as usize);
        let slot = step as usize % RING;
        let local = &self.acc[slot * p..(slot + 1) * p];
        // A fresh psum starts from the identity; a missing one (a dropped
        // delivery) reads as it.
        let incoming = if fresh {
            &[][..]
        } else {
            self.psum_fifo.front(p)
        };
        let here = incoming.len();
        let merge = |(&a, &l): (&i16, &i16)| super::datapath::combine(op, a, l);
        out.extend(incoming.iter().zip(local).map(merge));
        out.extend(
            local[here..]
                .iter()
                .map(|&l| super::datapath::combine(op, fill, l)),
        );
        if !fresh {
            self.psum_fifo.consume(here);
            self.starved += (p - here) as u64;
        }
        c.rf_psum_reads += u64::from(self.any[slot]);
        self.passed += 1;
    }

    /// Runs all taps of `step` on the window in `self.win`; returns the
    /// cycles taken (one per non-skipped tap).
    #[inline(always)]
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
        let win = match self.win_at {
            Some(at) => &self.ifmap_spad[at..at + self.taps],
            None => &self.win[..self.taps],
        };
        if !op.has_weights() {
            let cycles = Self::pool_step(acc, win, op, &mut self.any[slot], c);
            count_psum_spad(c, c.performed - before, self.any[slot]);
            self.performed += c.performed - before;
            return cycles;
        }
        if self.weights_all_nonzero {
            return self.dense_weights_step(slot, sparsity, shift, c);
        }
        let wc = sparsity.weight_compression;
        let mut cycles = 0u64;
        self.any_flag.fill(false);
        for (cs, &x) in win.iter().enumerate() {
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
            let w = &self.weights[cs * p..(cs + 1) * p];
            if x != 0 {
                mac_row(acc, x, w, shift);
            }
            for (f, &wk) in self.any_flag.iter_mut().zip(w) {
                *f |= wk != 0;
            }
        }
        let any = self.any_flag.iter().filter(|&&f| f).count() as u32;
        self.any[slot] = any;
        count_psum_spad(c, c.performed - before, any);
        self.performed += c.performed - before;
        cycles
    }

    /// [`Pe::compute_step`] when every weight in the spad is non-zero (no
    /// weight is gated or compressed away): the counts follow from the
    /// window's zeros alone, and only its non-zero taps need a MAC.
    #[inline(always)]
    fn dense_weights_step(
        &mut self,
        slot: usize,
        sparsity: &SparsityFeatures,
        shift: u32,
        c: &mut PeCounters,
    ) -> u64 {
        let p = self.role.p_act as usize;
        let acc = &mut self.acc[slot * p..(slot + 1) * p];
        let win = match self.win_at {
            Some(at) => &self.ifmap_spad[at..at + self.taps],
            None => &self.win[..self.taps],
        };
        let (taps, pw) = (self.taps as u64, p as u64);
        let zeros = u64::from(self.win_zeros);
        // A zero tap is skipped (no cycle), gated (a cycle, no reads), or,
        // with neither, a MAC like any other (that adds nothing).
        let processed = if sparsity.zero_skipping {
            c.skipped += zeros * pw;
            taps - zeros
        } else if sparsity.zero_gating {
            c.gated += zeros * pw;
            taps - zeros
        } else {
            taps
        };
        c.rf_ifmap_reads += taps * pw;
        c.rf_filter_reads += processed * pw;
        c.performed += processed * pw;
        if let Some(kernel) = self.pairs.filter(|_| shift <= PAIRS_MAX_SHIFT) {
            mac_tap_pairs(kernel, acc, win, &self.fpairs, shift);
        } else {
            mac_taps(acc, win, &self.weights, shift);
        }
        let any = if processed > 0 { p as u32 } else { 0 };
        self.any[slot] = any;
        count_psum_spad(c, processed * pw, any);
        self.performed += processed * pw;
        if sparsity.zero_skipping {
            processed * pw
        } else {
            taps * pw
        }
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

mod window;

#[cfg(test)]
#[path = "pe_tests.rs"]
mod tests;
