//! The ifmap GIN: per ofmap column, each stored row's new columns are read
//! from the GLB ifmap banks once and multicast, word by word, to the PEs
//! whose tag matches (those reading that row of that channel), into their
//! ifmap FIFOs. Rows are sent in order; a row waits until all its
//! destination PEs have FIFO room (head-of-line blocking behind it).

use super::{ceil_div, Ev, PassSim, Work, RING};
use crate::fault::{flip16, FaultKind, FaultSite};
use crate::stats::{Level, Tensor};
use crate::trace::Track;
use std::ops::Range;

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
    /// For a send larger than the destination FIFOs: the cycle the last
    /// destination PE finishes its column (frees its last spad slot).
    hold: Option<u64>,
    /// Cycles a delay fault adds to the send under way.
    delay: u64,
    /// Words delivered by the send under way.
    deliveries: u64,
    /// Arrival cycle of each row's latest send.
    last_done: Vec<u64>,
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
            hold: None,
            delay: 0,
            deliveries: 0,
            last_done: vec![0; n],
        }
    }

    /// Records that a PE of row `yi`, which `readers` PEs read, started
    /// `step`; true when all of them have.
    pub(crate) fn record_start(
        &mut self,
        yi: usize,
        readers: usize,
        step: u32,
        span: (u64, u64),
    ) -> bool {
        let (start, done) = span;
        let k = yi * RING + step as usize % RING;
        self.started[k] += 1;
        self.started_max[k] = self.started_max[k].max(start);
        self.done_max[k] = self.done_max[k].max(done);
        self.started[k] as usize == readers
    }
}

impl PassSim<'_, '_> {
    /// Schedules the next row send once its destination PEs can take it.
    pub(super) fn maybe_send_ifmap(&mut self) {
        let (b, yi) = self.ifmap_gin.next;
        if b >= self.total || self.ifmap_gin.pending {
            return;
        }
        let y = yi as usize;
        let now = self.events.now();
        let mut ready = now.max(self.ifmap_gin.free);
        let newc = self.ctx.cols.new_cols[(b % self.ctx.prob.f) as usize];
        // A PE frees its ifmap spad slots channel by channel as it computes
        // a column, so the next column's words stream in during the current
        // one; the FIFO holds `k` further columns. Words that neither fit
        // the FIFO nor find a freed slot land only as the PE finishes.
        let per_pe = self.place.row_q_max[y] * newc;
        let fifo = self.ctx.hw.pe.fifo_words;
        let k_fifo = (fifo / per_pe.max(1)).min(1);
        let back = 1 + k_fifo;
        self.ifmap_gin.hold = None;
        if b >= back {
            let k = y * RING + (b - back) as usize % RING;
            if (self.ifmap_gin.started[k] as usize) < self.place.row_readers[y].len() {
                return;
            }
            let cond = self.ifmap_gin.started_max[k];
            if k_fifo == 0 {
                self.ifmap_gin.hold = Some(self.ifmap_gin.done_max[k]);
            }
            self.stats.ifmap_gin.stall_cycles += cond.saturating_sub(ready);
            ready = ready.max(cond);
        }
        let k = y * RING + b as usize % RING;
        self.ifmap_gin.started[k] = 0;
        self.ifmap_gin.started_max[k] = 0;
        self.ifmap_gin.done_max[k] = 0;
        self.ifmap_gin.pending = true;
        self.events.schedule(ready, Ev::IfmapSend(b, yi));
    }

    /// Sends row `yi`'s new columns for column `b`: every word is one GLB
    /// read with multicast (one per receiving PE without) and is delivered
    /// to the PEs its tag selects.
    pub(super) fn ifmap_send(&mut self, b: u32, yi: u32) {
        let hw = self.ctx.hw;
        let y = yi as usize;
        let (reads, deliveries) = self.ifmap_row(b..b + 1, yi);
        let width = u64::from(hw.words_per_cycle(hw.noc.ifmap_gin_bits));
        let now = self.events.now();
        let dur = ceil_div(reads, width);
        // Words beyond the FIFO land as the PEs free spad slots; the
        // controller sends them channel by channel (the order in which PEs
        // free their slots), so later rows need not wait behind this one.
        let delivered = match self.ifmap_gin.hold.take() {
            Some(free_at) => (now + dur).max(free_at),
            None => now + dur,
        } + std::mem::take(&mut self.ifmap_gin.delay);
        // A row's words arrive in order: a late send holds back the next.
        let delivered = delivered.max(self.ifmap_gin.last_done[y]);
        self.ifmap_gin.last_done[y] = delivered;
        self.stats.ifmap_gin.deliveries += deliveries;
        self.stats.ifmap_gin.sends += reads;
        self.stats.ifmap_gin.busy_cycles += dur;
        self.ifmap_gin.free = now + dur;
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.span(Track::IfmapGin, "ifmap", now, now + dur);
        }
        self.events.schedule(delivered, Ev::IfmapDone(b, yi));
        self.ifmap_gin.pending = false;
        self.ifmap_gin.next = if y + 1 == self.ifmap_gin.rows {
            (b + 1, 0)
        } else {
            (b, yi + 1)
        };
        self.maybe_send_ifmap();
    }

    /// Moves row `yi`'s new columns for column `b` from the GLB into the
    /// ifmap FIFOs of the PEs their tags select, and counts the accesses;
    /// returns GLB reads and words delivered.
    pub(super) fn ifmap_row(&mut self, cols: Range<u32>, yi: u32) -> (u64, u64) {
        let reads = if self.ctx.hw.noc.multicast {
            self.ifmap_multicast(cols, yi)
        } else {
            self.ifmap_unicast(cols, yi)
        };
        let deliveries = std::mem::take(&mut self.ifmap_gin.deliveries);
        self.counts.add(Level::Glb, Tensor::Ifmap, reads, 0);
        self.counts.add(Level::Noc, Tensor::Ifmap, deliveries, 0);
        self.counts.add(Level::Rf, Tensor::Ifmap, 0, deliveries);
        (reads, deliveries)
    }

    /// Multicast: each tile channel's new words of row `yi` go out once,
    /// tagged with the class (group, channel copy, row). A class's `q`
    /// channels are consecutive, so their words go out in channel order as
    /// one delivery (the same words to the same PEs in the same order as
    /// channel by channel). Returns GLB reads.
    fn ifmap_multicast(&mut self, cols: Range<u32>, yi: u32) -> u64 {
        let (prob, sp) = (self.ctx.prob, self.spec);
        let (rn, q) = (self.rows.needed(), self.ctx.map.q);
        let mut reads = 0;
        let mut words = std::mem::take(&mut self.scratch);
        for gi in 0..sp.groups {
            for first in (0..sp.channels).step_by(q as usize) {
                let class = self.place.ifmap_class(gi, first / q, yi);
                words.clear();
                for b in cols.clone() {
                    let (img, f) = (b / prob.f, b % prob.f);
                    for ch in first..(first + q).min(sp.channels) {
                        let plane = ((img * sp.groups + gi) * sp.channels + ch) * rn + yi;
                        self.read_ifmap_row(plane, f, &mut words);
                    }
                }
                reads += words.len() as u64;
                let tag = self.place.tags.ifmap.tag(class);
                self.deliver_ifmap(tag, &words);
            }
        }
        self.scratch = words;
        reads
    }

    /// Without multicast, every PE reading row `yi` is sent its own
    /// channels' words under its own tag. Returns GLB reads.
    fn ifmap_unicast(&mut self, cols: Range<u32>, yi: u32) -> u64 {
        let (prob, sp) = (self.ctx.prob, self.spec);
        let (rn, q) = (self.rows.needed(), self.ctx.map.q);
        let mut reads = 0;
        let mut words = std::mem::take(&mut self.scratch);
        let place = self.place.clone();
        for &k in &place.row_readers[yi as usize] {
            let r = self.pes[k as usize].role;
            words.clear();
            for b in cols.clone() {
                let (img, f) = (b / prob.f, b % prob.f);
                for cl in 0..r.q_act {
                    let ch = r.ri * q + cl;
                    let plane = ((img * sp.groups + r.gi) * sp.channels + ch) * rn + yi;
                    self.read_ifmap_row(plane, f, &mut words);
                }
            }
            reads += words.len() as u64;
            let tag = self.place.tags.ifmap.tag(k);
            self.deliver_ifmap(tag, &words);
        }
        self.scratch = words;
        reads
    }

    /// Appends the words of column `f`'s new padded columns in GLB plane
    /// `plane` to `out`.
    fn read_ifmap_row(&mut self, plane: u32, f: u32, out: &mut Vec<i16>) {
        let wp = self.ctx.prob.wp() as usize;
        let base = plane as usize * wp;
        let cols = self.ctx.cols.new_at(f);
        out.extend(cols.iter().map(|&x| self.glb.ifmap[base + x as usize]));
        if let (Some(&lo), Some(&hi)) = (cols.first(), cols.last()) {
            self.glb.read_ifmap(base + lo as usize, base + hi as usize);
        }
    }

    /// Delivers `words`, one GIN transfer each, to the PEs their tag selects.
    fn deliver_ifmap(&mut self, tag: crate::tags::Tag, words: &[i16]) {
        let n = words.len() as u64;
        if !self.inject.hits(FaultSite::IfmapGin, n) {
            self.inject.skip(FaultSite::IfmapGin, n);
            let receivers = self.place.tags.ifmap.receivers(tag);
            for &k in receivers.iter() {
                self.pes[k as usize].ifmap_fifo.extend_from_slice(words);
            }
            self.ifmap_gin.deliveries += n * receivers.len() as u64;
            return;
        }
        for &w in words {
            let (mut tag, mut w, mut copies) = (tag, w, 1);
            match self.inject.next(FaultSite::IfmapGin) {
                Some(FaultKind::Drop) => copies = 0,
                Some(FaultKind::Duplicate) => copies = 2,
                Some(FaultKind::WrongTag) => tag = self.place.tags.ifmap.wrong(tag),
                Some(FaultKind::Flip(bit)) => w = flip16(w, bit),
                Some(FaultKind::Delay(d)) => self.ifmap_gin.delay += u64::from(d),
                None => {}
            }
            let receivers = self.place.tags.ifmap.receivers(tag);
            for &k in receivers.iter() {
                for _ in 0..copies {
                    self.pes[k as usize].ifmap_fifo.push(w);
                }
            }
            self.ifmap_gin.deliveries += copies * receivers.len() as u64;
        }
    }

    /// Row `yi`'s words for column `b` have arrived: its PEs may start it.
    pub(super) fn ifmap_done(&mut self, b: u32, yi: u32) {
        let y = yi as usize;
        self.ifmap_gin.delivered[y] = b + 1;
        self.ifmap_gin.done_at[y * RING + b as usize % RING] = self.events.now();
        for &k in &self.place.row_readers[y] {
            self.work.push(Work::TryStart(k));
        }
    }
}
