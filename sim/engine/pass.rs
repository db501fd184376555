//! One processing pass on the PE array (docs/dataflow.md §3–§6): the
//! filter GIN fills the spads, the ifmap GIN streams the tile's columns,
//! the PEs compute, psums climb their chains and leave on the GON.
//!
//! The pass runs on the event kernel. Components busy every cycle advance
//! in bulk: a PE computes a whole ofmap column in one step, and a psum
//! travels up its chain as far as the PEs above it have results. Shared
//! resources (the GINs, the GON, GLB banks) are arbitrated in event order.

use super::datapath::{combine, identity, Operands};
use super::glb::GlobalBuffer;
use super::kernel::EventQueue;
use super::pe::{Pe, PeCounters, PeRole, RING};
use super::plan::{ColumnPlan, StripRows};
use super::stats::ComponentStats;
use super::trace::{Recorder, Track};
use crate::hw::HwConfig;
use crate::mapping::{CopySlot, Geometry, RowStationaryMapping};
use crate::stats::{Level, LevelCounts, Tensor};
use crate::workload::ConvProblem;
use std::collections::VecDeque;

mod flow;
mod ifmap;

/// The work of one pass, in indices of the layer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PassSpec {
    /// First group and group count.
    pub g0: u32,
    pub gs: u32,
    /// Images of the tile.
    pub ns: u32,
    /// Strip rows.
    pub es: u32,
    /// First filter of the GLB filter block and its size (`m_s`).
    pub mc0: u32,
    pub ms: u32,
    /// First filter of the pass (within the group) and count (`pt_s`).
    pub mf: u32,
    pub pts: u32,
    /// First channel of the chunk and count (`c_s`).
    pub c0: u32,
    pub cs: u32,
    /// Whether this is the first channel chunk (psums start from zero).
    pub first_cc: bool,
}

/// What a pass writes into: the GLB, the layer's counters, component
/// statistics and the optional trace.
pub(crate) struct PassSinks<'b> {
    pub glb: &'b mut GlobalBuffer,
    pub counts: &'b mut LevelCounts,
    pub stats: &'b mut ComponentStats,
    pub trace: Option<&'b mut Recorder>,
}

/// Static context shared by all passes of a layer.
pub(crate) struct LayerCtx<'a> {
    pub prob: &'a ConvProblem,
    pub hw: &'a HwConfig,
    pub map: &'a RowStationaryMapping,
    pub geo: Geometry,
    pub slots: Vec<CopySlot>,
    pub cols: ColumnPlan,
    pub ops: Operands<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    IfmapSend(u32, u32),
    IfmapDone(u32, u32),
    PsumSend(u32, u32),
    Gon(u32),
}

enum Work {
    TryStart(u32),
    Propagate(u32),
}

struct Flight {
    step: u32,
    pos: u32,
    arrive: u64,
    at_gon: bool,
    vals: Vec<i16>,
}

struct Chain {
    members: Vec<u32>,
    gi: u32,
    ti: u32,
    j: u32,
    p_act: u32,
    flights: VecDeque<Flight>,
    /// Columns whose psums the bottom PE has taken from the psum GIN, and when.
    consumed: u32,
    consumed_at: [u64; RING],
}

/// Simulator state of one pass.
pub(crate) struct PassSim<'a, 'b> {
    ctx: &'b LayerCtx<'a>,
    spec: PassSpec,
    rows: &'b StripRows,
    glb: &'b mut GlobalBuffer,
    counts: &'b mut LevelCounts,
    stats: &'b mut ComponentStats,
    trace: Option<&'b mut Recorder>,
    q: EventQueue<Ev>,
    pes: Vec<Pe>,
    chains: Vec<Chain>,
    work: Vec<Work>,
    pc: PeCounters,
    total: u32,
    start: u64,
    q_max: u32,
    ifg: ifmap::IfmapGin,
    // psum GIN
    ps_next: (u32, u32),
    ps_pending: bool,
    ps_free: u64,
    // GON
    gon_free: u64,
    completed: u64,
    end: u64,
    spare: Vec<Vec<i16>>,
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

impl<'a, 'b> PassSim<'a, 'b> {
    /// Sets up the pass: places the active copies and loads their filters.
    pub(crate) fn new(
        ctx: &'b LayerCtx<'a>,
        spec: PassSpec,
        rows: &'b StripRows,
        sinks: PassSinks<'b>,
        start: u64,
        filters_from: u64,
    ) -> Self {
        let PassSinks {
            glb,
            counts,
            stats,
            trace,
        } = sinks;
        let mut sim = PassSim {
            ctx,
            spec,
            rows,
            glb,
            counts,
            stats,
            trace,
            q: EventQueue::new(start),
            pes: Vec::new(),
            chains: Vec::new(),
            work: Vec::new(),
            pc: PeCounters::default(),
            total: spec.ns * ctx.prob.f,
            start,
            q_max: 0,
            ifg: ifmap::IfmapGin::new(rows.needed(), start),
            ps_next: (0, 0),
            ps_pending: false,
            ps_free: start,
            gon_free: start,
            completed: 0,
            end: start,
            spare: Vec::new(),
        };
        sim.glb.reset_timing(start);
        sim.place();
        sim.ifg.attach(&sim.pes);
        sim.load_filters(filters_from.min(start));
        sim
    }

    /// Places PEs and chains of the active copies.
    fn place(&mut self) {
        let (prob, m) = (self.ctx.prob, self.ctx.map);
        let r_act = self.spec.cs.div_ceil(m.q);
        let t_act = self.spec.pts.div_ceil(m.p);
        let es = self.spec.es;
        let active: Vec<CopySlot> = self
            .ctx
            .slots
            .iter()
            .copied()
            .filter(|s| s.ri < r_act && s.ti < t_act && s.gi < self.spec.gs)
            .collect();
        let mut index = vec![u32::MAX; (self.spec.gs * t_act * r_act) as usize];
        for (a, s) in active.iter().enumerate() {
            index[((s.gi * t_act + s.ti) * r_act + s.ri) as usize] = a as u32;
        }
        let pe_index = |a: u32, i: u32, j: u32| (a * prob.r + i) * es + j;
        for (a, slot) in active.iter().enumerate() {
            let q_act = (self.spec.cs - slot.ri * m.q).min(m.q);
            let p_act = (self.spec.pts - slot.ti * m.p).min(m.p);
            self.q_max = self.q_max.max(q_act);
            for i in 0..prob.r {
                let weights = self.spad_weights(slot, i, q_act, p_act);
                for j in 0..es {
                    let chain = (slot.gi * t_act + slot.ti) * es + j;
                    let role = PeRole {
                        pos: self.ctx.geo.pe_position(slot, i, j),
                        gi: slot.gi,
                        ri: slot.ri,
                        i,
                        j,
                        q_act,
                        p_act,
                        chain,
                        yi: self.rows.slot_of[(j * prob.u_h + i * prob.d_h) as usize],
                        chain_pos: slot.ri * prob.r + (prob.r - 1 - i),
                    };
                    debug_assert_eq!(self.pes.len() as u32, pe_index(a as u32, i, j));
                    self.pes.push(Pe::new(role, prob.s, weights.clone()));
                }
            }
        }
        for gi in 0..self.spec.gs {
            for ti in 0..t_act {
                for j in 0..es {
                    let mut members = Vec::with_capacity((r_act * prob.r) as usize);
                    for ri in 0..r_act {
                        let a = index[((gi * t_act + ti) * r_act + ri) as usize];
                        for i in (0..prob.r).rev() {
                            members.push(pe_index(a, i, j));
                        }
                    }
                    let p_act = (self.spec.pts - ti * m.p).min(m.p);
                    self.chains.push(Chain {
                        members,
                        gi,
                        ti,
                        j,
                        p_act,
                        flights: VecDeque::new(),
                        consumed: 0,
                        consumed_at: [0; RING],
                    });
                }
            }
        }
    }

    /// Filter spad contents `[channel][tap][filter]` of row `i` of a copy.
    fn spad_weights(&self, slot: &CopySlot, i: u32, q_act: u32, p_act: u32) -> Vec<i16> {
        let prob = self.ctx.prob;
        if !prob.op.has_weights() {
            return Vec::new();
        }
        let m = self.ctx.map;
        let (cc, rr, ss) = (prob.c as usize, prob.r as usize, prob.s as usize);
        let mut w = Vec::with_capacity((q_act * prob.s * p_act) as usize);
        for cl in 0..q_act {
            let c = (self.spec.c0 + slot.ri * m.q + cl) as usize;
            for s in 0..ss {
                for k in 0..p_act {
                    let f = (self.spec.g0 + slot.gi) * prob.m + self.spec.mf + slot.ti * m.p + k;
                    w.push(
                        self.ctx.ops.weights[((f as usize * cc + c) * rr + i as usize) * ss + s],
                    );
                }
            }
        }
        w
    }

    /// The filter GIN sends each PE row's weights once, multicast along the
    /// row. It may start at `from`, before the pass: a filter spad is free
    /// once the previous pass's taps are done, while its last psums are
    /// still draining up the chains.
    fn load_filters(&mut self, from: u64) {
        let hw = self.ctx.hw;
        let es = u64::from(self.spec.es);
        let width = u64::from(hw.words_per_cycle(hw.noc.filter_gin_bits));
        let wc = hw.sparsity.weight_compression;
        let mut t = from;
        let mut k = 0;
        while k < self.pes.len() {
            let pe = &self.pes[k];
            let words: u64 = if !self.ctx.prob.op.has_weights() {
                0
            } else if wc {
                pe.nonzero_weights()
            } else {
                u64::from(pe.role.p_act * pe.role.q_act * self.ctx.prob.s)
            };
            let reads = if hw.noc.multicast { words } else { words * es };
            t += ceil_div(reads, width);
            self.counts.add(Level::Glb, Tensor::Filter, reads, 0);
            self.counts.add(Level::Noc, Tensor::Filter, words * es, 0);
            self.counts.add(Level::Rf, Tensor::Filter, 0, words * es);
            self.stats.filter_gin.sends += reads;
            self.stats.filter_gin.deliveries += words * es;
            for pe in &mut self.pes[k..k + es as usize] {
                pe.filters_at = t.max(self.start);
            }
            k += es as usize;
        }
        self.stats.filter_gin.busy_cycles += t - from;
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.span(Track::FilterGin, "filters", from, t);
        }
    }

    /// Runs the pass to completion; returns its last cycle and the cycle
    /// its last tap finished.
    pub(crate) fn run(mut self) -> Result<(u64, u64), String> {
        self.maybe_send_ifmap();
        if !self.spec.first_cc {
            self.maybe_send_psum();
        }
        while let Some((_, ev)) = self.q.pop() {
            self.handle(ev);
            self.drain_work();
        }
        let expected = self.chains.len() as u64 * u64::from(self.total);
        if self.completed != expected {
            return Err(format!(
                "pass deadlocked: {} of {expected} psum columns left the array",
                self.completed
            ));
        }
        self.finish();
        let last_tap = self
            .pes
            .iter()
            .map(|p| p.done_at)
            .max()
            .unwrap_or(self.start);
        Ok((self.end, last_tap))
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::IfmapSend(b, yi) => self.ifmap_send(b, yi),
            Ev::IfmapDone(b, yi) => self.ifmap_done(b, yi),
            Ev::PsumSend(b, c) => self.psum_send(b, c),
            Ev::Gon(c) => self.gon_grant(c),
        }
    }

    fn drain_work(&mut self) {
        while let Some(w) = self.work.pop() {
            match w {
                Work::TryStart(k) => self.try_start(k),
                Work::Propagate(c) => self.propagate(c),
            }
        }
    }

    /// Schedules the psum GIN's next transfer (chains in order, column by
    /// column) once its bottom PE's FIFO has room: a chain holds at most
    /// `max(1, fifo_words / p)` columns of psums it has not yet consumed.
    pub(super) fn maybe_send_psum(&mut self) {
        let (b, ci) = self.ps_next;
        if b >= self.total || self.ps_pending {
            return;
        }
        let c = &self.chains[ci as usize];
        let depth = (self.ctx.hw.pe.fifo_words / c.p_act.max(1)).clamp(1, RING as u32 - 1);
        let mut ready = self.q.now().max(self.ps_free);
        if b >= depth {
            let need = b - depth;
            if c.consumed <= need {
                return;
            }
            let at = c.consumed_at[need as usize % RING];
            self.stats.psum_gin.stall_cycles += at.saturating_sub(ready);
            ready = ready.max(at);
        }
        self.ps_pending = true;
        self.q.schedule(ready, Ev::PsumSend(b, ci));
    }

    /// Psum word address in the GLB tile `[n][g][e][F][m]` of filter `k`
    /// of chain `c` at `step`. Filters are innermost, so one psum transfer
    /// (a chain's `p` filters at one column) fills whole 64-b bank rows.
    fn psum_addr(&self, c: &Chain, step: u32, k: u32) -> usize {
        let (prob, sp) = (self.ctx.prob, &self.spec);
        let (img, f) = (step / prob.f, step % prob.f);
        let ml = sp.mf - sp.mc0 + c.ti * self.ctx.map.p + k;
        ((((img * sp.gs + c.gi) * sp.es + c.j) * prob.f + f) * sp.ms + ml) as usize
    }

    /// The psum GIN sends chain `ci`'s psums of column `b` to its bottom PE,
    /// then moves on to the next chain (one transfer per event, so GLB
    /// banks are arbitrated in time order against the GON).
    fn psum_send(&mut self, b: u32, ci: u32) {
        let hw = self.ctx.hw;
        let width = u64::from(hw.words_per_cycle(hw.noc.psum_gin_bits));
        let now = self.q.now();
        let c = &self.chains[ci as usize];
        let p = c.p_act;
        let base = self.psum_addr(c, b, 0);
        let mut vals = self.spare.pop().unwrap_or_default();
        vals.clear();
        vals.extend_from_slice(&self.glb.psum[base..base + p as usize]);
        let start = self.glb.psum_transfer(base, p, width, now);
        self.stats.psum_gin.stall_cycles += start - now;
        let end = start + ceil_div(u64::from(p), width);
        self.counts.add(Level::Glb, Tensor::Psum, u64::from(p), 0);
        self.counts.add(Level::Noc, Tensor::Psum, u64::from(p), 0);
        self.stats.psum_gin.sends += u64::from(p);
        self.stats.psum_gin.deliveries += u64::from(p);
        self.stats.psum_gin.busy_cycles += end - start;
        self.chains[ci as usize].flights.push_back(Flight {
            step: b,
            pos: 0,
            arrive: end,
            at_gon: false,
            vals,
        });
        self.work.push(Work::Propagate(ci));
        self.ps_free = end;
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.span(Track::PsumGin, "psums", start, end);
        }
        self.ps_pending = false;
        self.ps_next = if ci as usize + 1 < self.chains.len() {
            (b, ci + 1)
        } else {
            (b + 1, 0)
        };
        self.maybe_send_psum();
    }
}
