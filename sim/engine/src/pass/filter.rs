//! The filter GIN: at the start of a pass it reads each PE row's weights
//! from the GLB filter part and multicasts them, `filter_gin_bits` at a
//! time, to the PEs whose tag matches (the `e_s` PEs of that filter row of
//! that copy). Rows are served in order; a row's PEs may start once their
//! row has arrived.

use super::{ceil_div, Ev, PassSim, Pe, Work};
use crate::fault::{flip16, FaultKind, FaultSite};
use crate::pe::PeRole;
use crate::stats::{Level, Tensor};
use crate::trace::Track;

/// Progress of the filter GIN through the pass's rows.
pub(crate) struct FilterGin {
    /// Cycle the first row's send started.
    from: u64,
    /// Row sends done.
    done: u32,
    /// Cycle the last row's words were read and delivered: from then on the
    /// GLB filter part no longer holds anything this pass needs.
    pub(crate) finished: u64,
}

impl FilterGin {
    pub(crate) fn new(from: u64) -> Self {
        FilterGin {
            from,
            done: 0,
            finished: from,
        }
    }
}

/// The words one PE row receives, in spad order `[channel][tap][filter]`,
/// with their spad addresses (only with weight compression; empty without).
#[derive(Default)]
pub(super) struct RowWords {
    values: Vec<i16>,
    addrs: Vec<u32>,
}

impl RowWords {
    /// The spad addresses of words `lo..hi` (none without compression).
    fn addrs_of(&self, lo: usize, hi: usize) -> &[u32] {
        self.addrs.get(lo..hi).unwrap_or(&[])
    }
}

impl PassSim<'_, '_> {
    /// Reads the weights of filter row `row` (copy `row / R`, filter row
    /// `row % R`) from the GLB filter part `[g][filter][channel][R][S]`,
    /// into `words` (emptied first).
    fn row_words(&self, row: u32, words: &mut RowWords) {
        words.values.clear();
        words.addrs.clear();
        if !self.ctx.prob.op.has_weights() {
            return;
        }
        let role = self.pes[self.place.filter_rows[row as usize][0] as usize].role;
        let (q, p) = (self.ctx.map.q, self.ctx.map.p);
        let (rr, ss) = (self.ctx.prob.r as usize, self.ctx.prob.s as usize);
        let (cs, pts) = (self.spec.channels as usize, self.spec.pass_filters as usize);
        // Where filter `k`'s row of channel `cl` starts in the part.
        let row_at = |k: u32, cl: u32| {
            let (filter, ch) = ((role.ti * p + k) as usize, (role.ri * q + cl) as usize);
            ((role.gi as usize * pts + filter) * cs + ch) * rr * ss + role.i as usize * ss
        };
        if self.ctx.hw.sparsity.weight_compression {
            self.compressed_row(&role, row_at, words);
        } else {
            self.dense_row(&role, row_at, words);
        }
    }

    /// Every word of the row, in spad order `[channel][tap][filter]`: each
    /// filter's `S` taps are adjacent in the part, so they are read as one
    /// run and scattered `p` apart.
    fn dense_row(&self, role: &PeRole, row_at: impl Fn(u32, u32) -> usize, words: &mut RowWords) {
        let (ss, pa) = (self.ctx.prob.s as usize, role.p_act as usize);
        words.values.resize(role.q_act as usize * ss * pa, 0);
        for k in 0..role.p_act {
            for cl in 0..role.q_act {
                let at = row_at(k, cl);
                let taps = &self.glb.filters[at..at + ss];
                let to = cl as usize * ss * pa + k as usize;
                let spad = words.values[to..].iter_mut().step_by(pa);
                for (w, &v) in spad.zip(taps) {
                    *w = v;
                }
            }
        }
    }

    /// The row's non-zero words in spad order, each with its spad address,
    /// which a compressed word carries.
    fn compressed_row(
        &self,
        role: &PeRole,
        row_at: impl Fn(u32, u32) -> usize,
        words: &mut RowWords,
    ) {
        let s = self.ctx.prob.s;
        for cl in 0..role.q_act {
            for t in 0..s {
                for k in 0..role.p_act {
                    let w = self.glb.filters[row_at(k, cl) + t as usize];
                    if w != 0 {
                        words.values.push(w);
                        words.addrs.push((cl * s + t) * role.p_act + k);
                    }
                }
            }
        }
    }

    /// Sends filter row `row`: one GLB read per word with multicast, one per
    /// word and receiver without; each transfer of up to a GIN width of
    /// words is delivered to the PEs its tag selects.
    pub(super) fn filter_send(&mut self, row: u32) {
        if row as usize >= self.place.filter_rows.len() {
            return;
        }
        let hw = self.ctx.hw;
        let width = u64::from(hw.words_per_cycle(hw.noc.filter_gin_bits)).max(1);
        let (reads, delivered, delay) = self.filter_row(row, width);
        let now = self.events.now();
        let dur = ceil_div(reads, width) + delay;
        self.stats.filter_gin.sends += reads;
        self.stats.filter_gin.deliveries += delivered;
        self.stats.filter_gin.busy_cycles += dur;
        self.events.schedule(now + dur, Ev::FilterDone(row));
        self.events.schedule(now + dur, Ev::FilterSend(row + 1));
    }

    /// Moves filter row `row`'s words from the GLB filter part into its
    /// PEs' spads, `width` words a transfer, and counts the accesses;
    /// returns GLB reads, words delivered and the cycles a delay fault adds.
    pub(super) fn filter_row(&mut self, row: u32, width: u64) -> (u64, u64, u64) {
        let hw = self.ctx.hw;
        let mut words = std::mem::take(&mut self.row_scratch);
        self.row_words(row, &mut words);
        // With multicast the row's PEs share one class; without, each PE is
        // addressed in turn with its own copy of the words.
        let targets = if hw.noc.multicast {
            1
        } else {
            self.place.filter_rows[row as usize].len()
        };
        let mut reads = 0u64;
        let mut delivered = 0u64;
        let mut delay = 0u64;
        let chunks = words.values.len().div_ceil(width as usize);
        for t in 0..targets {
            let k = self.place.filter_rows[row as usize][t];
            let class = if hw.noc.multicast { row } else { k };
            // With no fault among this row's transfers, they deliver the
            // row's words to the same PEs in order: in one go.
            if !self.inject.hits(FaultSite::FilterGin, chunks as u64) {
                self.inject.skip(FaultSite::FilterGin, chunks as u64);
                reads += words.values.len() as u64;
                delivered += self.deliver_filters(class, &words, 0, words.values.len());
                continue;
            }
            for chunk in 0..chunks {
                let lo = chunk * width as usize;
                let hi = (lo + width as usize).min(words.values.len());
                reads += (hi - lo) as u64;
                let (n, d) = self.filter_transfer(class, &words, lo, hi);
                delivered += n;
                delay += d;
            }
        }
        self.row_scratch = words;
        self.counts.add(Level::Glb, Tensor::Filter, reads, 0);
        self.counts.add(Level::Noc, Tensor::Filter, delivered, 0);
        self.counts.add(Level::Rf, Tensor::Filter, 0, delivered);
        (reads, delivered, delay)
    }

    /// One filter GIN transfer of `words[lo..hi]` to class `class`;
    /// returns the words delivered and the cycles a delay fault adds.
    fn filter_transfer(
        &mut self,
        class: u32,
        words: &RowWords,
        lo: usize,
        hi: usize,
    ) -> (u64, u64) {
        let mut tag = self.place.tags.filter.tag(class);
        let mut copies = 1;
        let mut flip = None;
        let mut delay = 0;
        match self.inject.next(FaultSite::FilterGin) {
            Some(FaultKind::Drop) => copies = 0,
            Some(FaultKind::Duplicate) => copies = 2,
            Some(FaultKind::WrongTag) => tag = self.place.tags.filter.wrong(tag),
            Some(FaultKind::Flip(bit)) => flip = Some(bit),
            Some(FaultKind::Delay(d)) => delay = u64::from(d),
            None => {}
        }
        // A copy only when a fault flips a bit: transfers are 4 words, an
        // allocation each would cost more than the delivery.
        let flipped;
        let values: &[i16] = match flip {
            Some(bit) => {
                let mut v = words.values[lo..hi].to_vec();
                v[0] = flip16(v[0], bit);
                flipped = v;
                &flipped
            }
            None => &words.values[lo..hi],
        };
        let compress = self.ctx.hw.sparsity.weight_compression;
        let mut delivered = 0;
        for &k in self.place.tags.filter.receivers(tag).iter() {
            let pe = &mut self.pes[k as usize];
            for _ in 0..copies {
                delivered += receive(pe, compress, words.addrs_of(lo, hi), values);
            }
        }
        (delivered, delay)
    }

    /// The fault-free transfers of `words[lo..hi]` to class `class`, as one
    /// delivery; returns the words delivered.
    fn deliver_filters(&mut self, class: u32, words: &RowWords, lo: usize, hi: usize) -> u64 {
        let tag = self.place.tags.filter.tag(class);
        let compress = self.ctx.hw.sparsity.weight_compression;
        let (addrs, values) = (words.addrs_of(lo, hi), &words.values[lo..hi]);
        let mut delivered = 0;
        for &k in self.place.tags.filter.receivers(tag).iter() {
            delivered += receive(&mut self.pes[k as usize], compress, addrs, values);
        }
        delivered
    }

    /// Row `row`'s words have arrived: its PEs may start.
    pub(super) fn filter_done(&mut self, row: u32) {
        let at = self.events.now().max(self.start);
        let place = self.place.clone();
        for &k in place.filter_rows[row as usize].iter().rev() {
            let pe = &mut self.pes[k as usize];
            pe.filters_at = at;
            pe.filters_arrived(self.total);
            self.work.push(Work::TryStart(k));
        }
        self.filter_gin.done += 1;
        if self.filter_gin.done as usize == self.place.filter_rows.len() {
            self.filter_gin.finished = self.events.now();
            if let Some(tr) = self.trace.as_deref_mut() {
                tr.span(
                    Track::FilterGin,
                    "filters",
                    self.filter_gin.from,
                    self.events.now(),
                );
            }
        }
    }
}

/// `pe` takes filter words `values` (at spad addresses `addrs` with weight
/// compression, in spad order without); returns how many.
fn receive(pe: &mut Pe, compress: bool, addrs: &[u32], values: &[i16]) -> u64 {
    if compress {
        for (&a, &v) in addrs.iter().zip(values) {
            pe.receive_filter_at(a, v);
        }
    } else {
        pe.receive_filters(values);
    }
    values.len() as u64
}
