//! The ifmap GIN: per ofmap column, each stored row's new columns are read
//! from the GLB once and multicast to every PE reading that row. Rows are
//! sent in order; a row waits until all its destination PEs have FIFO
//! room (head-of-line blocking behind it).

use super::{ceil_div, Ev, PassSim, Work, RING};
use crate::engine::pe::Pe;
use crate::engine::trace::Track;
use crate::stats::{Level, Tensor};

/// Send state of the ifmap GIN and what each row's PEs have started.
pub(crate) struct IfmapGin {
    rows: usize,
    next: (u32, u32),
    pending: bool,
    free: u64,
    /// Batches delivered per row.
    pub delivered: Vec<u32>,
    /// Delivery cycle per (row, step slot).
    pub done_at: Vec<u64>,
    started: Vec<u32>,
    started_max: Vec<u64>,
    done_max: Vec<u64>,
    members: Vec<Vec<u32>>,
    q_max: Vec<u32>,
    /// For a send larger than the destination FIFOs: the cycle the last
    /// destination PE finishes its column (frees its last spad slot).
    hold: Option<u64>,
}

impl IfmapGin {
    pub(crate) fn new(rows: u32, start: u64) -> Self {
        let n = rows as usize;
        IfmapGin {
            rows: n,
            next: (0, 0),
            pending: false,
            free: start,
            delivered: vec![0; n],
            done_at: vec![0; n * RING],
            started: vec![0; n * RING],
            started_max: vec![0; n * RING],
            done_max: vec![0; n * RING],
            members: vec![Vec::new(); n],
            q_max: vec![0; n],
            hold: None,
        }
    }

    /// Learns which PEs read which row.
    pub(crate) fn attach(&mut self, pes: &[Pe]) {
        for (k, pe) in pes.iter().enumerate() {
            let y = pe.role.yi as usize;
            self.members[y].push(k as u32);
            self.q_max[y] = self.q_max[y].max(pe.role.q_act);
        }
    }

    /// Records that a PE of row `yi` started `step`; true when the whole row has.
    pub(crate) fn record_start(&mut self, yi: usize, step: u32, start: u64, done: u64) -> bool {
        let k = yi * RING + step as usize % RING;
        self.started[k] += 1;
        self.started_max[k] = self.started_max[k].max(start);
        self.done_max[k] = self.done_max[k].max(done);
        self.started[k] as usize == self.members[yi].len()
    }
}

impl PassSim<'_, '_> {
    /// Schedules the next row send once its destination PEs can take it.
    pub(super) fn maybe_send_ifmap(&mut self) {
        let (b, yi) = self.ifg.next;
        if b >= self.total || self.ifg.pending {
            return;
        }
        let y = yi as usize;
        let now = self.q.now();
        let mut ready = now.max(self.ifg.free);
        let newc = self.ctx.cols.new_cols[(b % self.ctx.prob.f) as usize];
        // A PE frees its ifmap spad slots channel by channel as it computes
        // a column, so the next column's words stream in during the current
        // one; the FIFO holds `k` further columns. Words that neither fit
        // the FIFO nor find a freed slot land only as the PE finishes.
        let per_pe = self.ifg.q_max[y] * newc;
        let fifo = self.ctx.hw.pe.fifo_words;
        let k_fifo = (fifo / per_pe.max(1)).min(1);
        let back = 1 + k_fifo;
        self.ifg.hold = None;
        if b >= back {
            let k = y * RING + (b - back) as usize % RING;
            if (self.ifg.started[k] as usize) < self.ifg.members[y].len() {
                return;
            }
            let cond = self.ifg.started_max[k];
            if k_fifo == 0 {
                self.ifg.hold = Some(self.ifg.done_max[k]);
            }
            self.stats.ifmap_gin.stall_cycles += cond.saturating_sub(ready);
            ready = ready.max(cond);
        }
        let k = y * RING + b as usize % RING;
        self.ifg.started[k] = 0;
        self.ifg.started_max[k] = 0;
        self.ifg.done_max[k] = 0;
        self.ifg.pending = true;
        self.q.schedule(ready, Ev::IfmapSend(b, yi));
    }

    pub(super) fn ifmap_send(&mut self, b: u32, yi: u32) {
        let hw = self.ctx.hw;
        let y = yi as usize;
        let newc = u64::from(self.ctx.cols.new_cols[(b % self.ctx.prob.f) as usize]);
        let reads = if hw.noc.multicast {
            u64::from(self.spec.gs * self.spec.cs) * newc
        } else {
            self.ifg.members[y]
                .iter()
                .map(|&k| u64::from(self.pes[k as usize].role.q_act))
                .sum::<u64>()
                * newc
        };
        let width = u64::from(hw.words_per_cycle(hw.noc.ifmap_gin_bits));
        let now = self.q.now();
        let dur = ceil_div(reads, width);
        // Words beyond the FIFO land as the PEs free spad slots; the
        // controller sends them channel by channel (the order in which PEs
        // free their slots), so later rows need not wait behind this one.
        let delivered = match self.ifg.hold.take() {
            Some(free_at) => (now + dur).max(free_at),
            None => now + dur,
        };
        self.counts.add(Level::Glb, Tensor::Ifmap, reads, 0);
        self.glb.stream_ifmap(reads);
        self.stats.ifmap_gin.sends += reads;
        self.stats.ifmap_gin.busy_cycles += dur;
        self.ifg.free = now + dur;
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.span(Track::IfmapGin, "ifmap", now, now + dur);
        }
        self.q.schedule(delivered, Ev::IfmapDone(b, yi));
        self.ifg.pending = false;
        self.ifg.next = if y + 1 == self.ifg.rows {
            (b + 1, 0)
        } else {
            (b, yi + 1)
        };
        self.maybe_send_ifmap();
    }

    pub(super) fn ifmap_done(&mut self, b: u32, yi: u32) {
        let y = yi as usize;
        self.ifg.delivered[y] = b + 1;
        self.ifg.done_at[y * RING + b as usize % RING] = self.q.now();
        let newc = u64::from(self.ctx.cols.new_cols[(b % self.ctx.prob.f) as usize]);
        let mut deliveries = 0;
        for &k in &self.ifg.members[y] {
            deliveries += u64::from(self.pes[k as usize].role.q_act) * newc;
            self.work.push(Work::TryStart(k));
        }
        self.counts.add(Level::Noc, Tensor::Ifmap, deliveries, 0);
        self.counts.add(Level::Rf, Tensor::Ifmap, 0, deliveries);
        self.stats.ifmap_gin.deliveries += deliveries;
    }
}
