//! PE steps, psum chains and the GON within a pass.

use super::{Ev, Flight, PassSim, Work, RING};
use crate::fault::{flip16, FaultKind, FaultSite};
use crate::stats::{Level, Tensor};
use crate::trace::Track;

impl PassSim<'_, '_> {
    /// Starts every step PE `k` can start now (data, filters, psum spad).
    pub(super) fn try_start(&mut self, k: u32) {
        let ki = k as usize;
        loop {
            let (s, chain) = (self.pes[ki].next_step, self.pes[ki].role.chain);
            let yi = self.pes[ki].role.yi as usize;
            if s >= self.total || self.ifmap_gin.delivered[yi] <= s || !self.pes[ki].filters_ready {
                return;
            }
            let bufs = self.chains[chain as usize].shape.buffers;
            let pe = &self.pes[ki];
            if s >= bufs && pe.passed < s + 1 - bufs {
                return;
            }
            let spad_free = if s >= bufs {
                pe.passed_at[((s - bufs) as usize) % RING]
            } else {
                0
            };
            let start = self
                .events
                .now()
                .max(pe.done_at)
                .max(self.ifmap_gin.done_at[yi * RING + s as usize % RING])
                .max(pe.filters_at)
                .max(spad_free);
            let dur = self.compute(ki, s);
            let pe = &mut self.pes[ki];
            pe.done_at = start + dur;
            pe.ready_at[s as usize % RING] = start + dur + u64::from(self.ctx.hw.pe.mac_stages);
            let (pos, chain) = (pe.role.pos, pe.role.chain);
            let bottom = pe.role.chain_pos == 0;
            let readers = self.place.row_readers[yi].len();
            let full_row = self
                .ifmap_gin
                .record_start(yi, readers, s, (start, start + dur));
            if let Some(tr) = self.trace.as_deref_mut() {
                tr.span(Track::Pe(pos.0, pos.1), "taps", start, start + dur);
            }
            if bottom && self.spec.first_accumulation {
                self.chains[chain as usize].flights.push_back(Flight {
                    step: s,
                    pos: 0,
                    arrive: self.start,
                });
            }
            self.work.push(Work::Propagate(chain));
            if full_row {
                self.maybe_send_ifmap();
            }
        }
    }

    /// PE `ki` places column `s`'s ifmap words from its FIFO into its
    /// spad and runs the column's taps; returns the cycles they take.
    #[inline]
    pub(super) fn compute(&mut self, ki: usize, s: u32) -> u64 {
        let (prob, hw) = (self.ctx.prob, self.ctx.hw);
        let slots = self.ctx.cols.slots_at(s % prob.f);
        let arith = (&hw.sparsity, hw.pe.product_shift);
        self.pes[ki].run_column(s, slots, prob.op, arith, &mut self.pe_counts)
    }

    /// Moves chain `ci`'s psums up as far as the PEs' results allow.
    pub(super) fn propagate(&mut self, ci: u32) {
        let c = ci as usize;
        let len = self.place.members[c].len() as u32;
        let now = self.events.now();
        for fi in self.chains[c].at_gon..self.chains[c].flights.len() {
            loop {
                let fl = &self.chains[c].flights[fi];
                let (step, pos) = (fl.step, fl.pos);
                let k = self.place.members[c][pos as usize] as usize;
                let pe = &self.pes[k];
                if pe.next_step <= step || pe.passed != step {
                    break;
                }
                let last_pass = if step == 0 {
                    0
                } else {
                    pe.passed_at[(step as usize - 1) % RING]
                };
                let t = fl
                    .arrive
                    .max(pe.ready_at[step as usize % RING])
                    .max(last_pass)
                    .max(now);
                if pos + 1 == len {
                    debug_assert_eq!(self.chains[c].at_gon, fi, "flights reach the top in order");
                    self.chains[c].at_gon += 1;
                    self.chains[c].flights[fi].arrive = t;
                    self.events.schedule(t, Ev::Gon(ci));
                    break;
                }
                let vals = self.leave_pe(c, fi, k, t);
                let p = u64::from(self.chains[c].shape.p_act);
                let mut hop = self.chains[c].shape.hop;
                let fault = self.inject.next(FaultSite::LocalLink);
                if let Some(FaultKind::Delay(d)) = fault {
                    hop += u64::from(d);
                }
                let copies = self.link_up(c, pos, vals, fault);
                self.stats.local_links.busy_cycles += hop;
                self.stats.local_links.sends += p;
                self.stats.local_links.deliveries += p * copies;
                let fl = &mut self.chains[c].flights[fi];
                fl.arrive = t + hop;
                fl.pos += 1;
            }
        }
    }

    /// The psums `vals` of chain `c` leave its member at `pos` over the
    /// local link into the psum FIFO of the PE above (`fault` applied);
    /// returns the copies delivered.
    pub(super) fn link_up(
        &mut self,
        c: usize,
        pos: u32,
        mut vals: Vec<i16>,
        fault: Option<FaultKind>,
    ) -> u64 {
        let mut copies = 1;
        match fault {
            Some(FaultKind::Drop) => copies = 0,
            Some(FaultKind::Duplicate) => copies = 2,
            Some(FaultKind::Flip(bit)) => vals[0] = flip16(vals[0], bit),
            Some(FaultKind::Delay(_) | FaultKind::WrongTag) | None => {}
        }
        let above = self.place.members[c][pos as usize + 1] as usize;
        for _ in 0..copies {
            self.pes[above].psum_fifo.extend_from_slice(&vals);
        }
        self.scratch = vals;
        let p = u64::from(self.chains[c].shape.p_act);
        self.counts.add(Level::Noc, Tensor::Psum, p * copies, 0);
        copies
    }

    /// The psums of column `step` leave chain `c`'s member at `pos`, PE `k`:
    /// it takes the incoming psums from its psum FIFO (the bottom PE of a
    /// first channel chunk starts from zero), adds its local psums and
    /// returns the sums.
    pub(super) fn sums_leaving(&mut self, c: usize, step: u32, pos: u32, k: usize) -> Vec<i16> {
        let p = self.chains[c].shape.p_act as usize;
        let fresh = pos == 0 && self.spec.first_accumulation;
        let mut vals = std::mem::take(&mut self.scratch);
        vals.clear();
        let op = self.ctx.prob.op;
        self.pes[k].leave(step, (p, fresh), op, &mut vals, &mut self.pe_counts);
        vals
    }

    /// The psums of flight `fi` leave PE `k` at cycle `t`
    /// ([`PassSim::sums_leaving`]); the PE may then reuse the psum buffer.
    fn leave_pe(&mut self, c: usize, fi: usize, k: usize, t: u64) -> Vec<i16> {
        let step = self.chains[c].flights[fi].step;
        let pos = self.chains[c].flights[fi].pos;
        let vals = self.sums_leaving(c, step, pos, k);
        let pe = &mut self.pes[k];
        pe.passed_at[step as usize % RING] = t;
        self.work.push(Work::TryStart(k as u32));
        if pos == 0 && !self.spec.first_accumulation {
            let ch = &mut self.chains[c];
            ch.consumed_at[step as usize % RING] = t;
            ch.consumed += 1;
            self.maybe_send_psum();
        }
        vals
    }

    /// The GON takes chain `ci`'s oldest flight from its top PE into the GLB.
    pub(super) fn gon_grant(&mut self, ci: u32) {
        let c = ci as usize;
        let hw = self.ctx.hw;
        let width = u64::from(hw.words_per_cycle(hw.noc.gon_bits));
        let now = self.events.now();
        let p = self.chains[c].shape.p_act;
        let step = self.chains[c].flights[0].step;
        let mut base = self.psum_addr(&self.chains[c].shape, step, 0);
        let mut at = now.max(self.gon_free);
        let mut writes = 1;
        let fault = self.inject.next(FaultSite::Gon);
        match fault {
            Some(FaultKind::Drop) => writes = 0,
            Some(FaultKind::Duplicate) => writes = 2,
            Some(FaultKind::Delay(d)) => at += u64::from(d),
            Some(FaultKind::WrongTag) => {
                let other = &self.chains[(c + 1) % self.chains.len()];
                base = self.psum_addr(&other.shape, step, 0);
            }
            Some(FaultKind::Flip(_)) | None => {}
        }
        let (start, end) = self.glb.psum_transfer(base, p, width, at, now);
        self.stats.gon.stall_cycles += start - now;
        let dur = end - start;
        self.gon_free = start + dur;
        let top = *self.place.members[c].last().expect("chains are non-empty") as usize;
        let vals = self.leave_pe(c, 0, top, start);
        self.chains[c].flights.pop_front().expect("flight at GON");
        self.chains[c].at_gon -= 1;
        self.gon_write(c, base, vals, writes, fault);
        self.stats.gon.sends += u64::from(p);
        self.stats.gon.deliveries += u64::from(p) * writes;
        self.stats.gon.busy_cycles += dur;
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.span(Track::Gon, "psums", start, start + dur);
        }
        self.completed += 1;
        self.end = self.end.max(start + dur);
        self.work.push(Work::Propagate(ci));
    }

    /// The GON writes chain `c`'s psums `vals` into the GLB psum tile at
    /// `base`, `writes` times (`fault` applied), and counts the accesses;
    /// returns the words written.
    pub(super) fn gon_write(
        &mut self,
        c: usize,
        base: usize,
        mut vals: Vec<i16>,
        writes: u64,
        fault: Option<FaultKind>,
    ) -> u64 {
        if let Some(FaultKind::Flip(bit)) = fault {
            vals[0] = flip16(vals[0], bit);
        }
        let written = self.gon_store(c, base, &vals, writes);
        self.scratch = vals;
        written
    }

    /// The GON's write of chain `c`'s psums `vals` at `base`, `writes`
    /// times, counted; returns the words written.
    pub(super) fn gon_store(&mut self, c: usize, base: usize, vals: &[i16], writes: u64) -> u64 {
        let p = self.chains[c].shape.p_act;
        let room = self.glb.psum.len().saturating_sub(base).min(p as usize);
        for _ in 0..writes {
            self.glb.psum[base..base + room].copy_from_slice(&vals[..room]);
        }
        self.counts.add(Level::Noc, Tensor::Psum, 0, u64::from(p));
        self.counts.add(Level::Glb, Tensor::Psum, 0, u64::from(p));
        room as u64 * writes
    }

    /// Folds PE counters and busy time into the layer's totals.
    pub(super) fn finish(&mut self) {
        let (busy, starved, leftover) = self.finish_data();
        let span = self.end - self.start;
        for pe in &self.pes {
            self.stats.pe.stall_cycles += span - pe.busy.min(span);
        }
        self.stats.pe.busy_cycles += busy;
        self.stats.pe.starved_words += starved;
        self.stats.pe.leftover_words += leftover;
        self.stats.passes += 1;
        self.stats.events += self.events.processed();
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.span(Track::Controller, "pass", self.start, self.end);
        }
    }

    /// Folds the PE counters into the layer's counts and marks the PEs
    /// that worked; returns the PEs' tap cycles, the words they found
    /// missing and the words left in their FIFOs.
    pub(super) fn finish_data(&mut self) -> (u64, u64, u64) {
        let c = self.pe_counts;
        self.counts
            .add(Level::Rf, Tensor::Ifmap, c.rf_ifmap_reads, 0);
        self.counts
            .add(Level::Rf, Tensor::Filter, c.rf_filter_reads, 0);
        self.counts
            .add(Level::Rf, Tensor::Psum, c.rf_psum_reads, c.rf_psum_writes);
        self.counts.macs.performed += c.performed;
        self.counts.macs.gated += c.gated;
        self.counts.macs.skipped += c.skipped;
        let cols = self.ctx.hw.array.cols as usize;
        let (mut busy, mut starved, mut leftover) = (0, 0, 0);
        for pe in &self.pes {
            busy += pe.busy;
            starved += pe.starved;
            leftover += (pe.ifmap_fifo.len() + pe.psum_fifo.len()) as u64;
            let (row, col) = pe.role.pos;
            let at = row as usize * cols + col as usize;
            // Clocked: it ran taps (performed or gated); computing: it
            // performed a MAC.
            self.worked[at] |= pe.busy > 0;
            self.computed[at] |= pe.performed > 0;
        }
        (busy, starved, leftover)
    }
}
