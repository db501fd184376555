//! One processing pass on the PE array (docs/dataflow.md §3–§6): the
//! filter GIN fills the spads from the GLB filter part, the ifmap GIN
//! streams the tile's columns from the GLB ifmap banks, the PEs compute
//! on what their spads hold, psums climb their chains and leave on the GON.
//!
//! The pass runs on the event kernel. Components busy every cycle advance
//! in bulk: a PE computes a whole ofmap column in one step, and a psum
//! travels up its chain as far as the PEs above it have results. Shared
//! resources (the GINs, the GON, GLB banks) are arbitrated in event order.
//! Every value a PE uses was delivered to it by a transfer, and who takes a
//! GIN word is decided by its tag (`tags.rs`).

use super::components::ComponentStats;
use super::datapath::Operands;
use super::fault::{flip16, FaultKind, FaultSite, Injector};
use super::glb::GlobalBuffer;
use super::kernel::EventQueue;
use super::pe::{Pe, PeCounters, RING};
use super::plan::{ColumnPlan, StripRows};
use super::trace::{Recorder, Track};
use crate::hw::HwConfig;
use crate::mapping::{CopySlot, Geometry, RowStationaryMapping};
use crate::stats::{Level, LevelCounts, Tensor};
use crate::workload::ConvProblem;
use std::collections::VecDeque;

mod filter;
mod flow;
mod ifmap;
mod place;
mod reuse;

use place::Placement;
pub(crate) use place::Placements;
pub(crate) use reuse::{run_pass, PassTimings};
use std::sync::Arc;

/// The work of one pass, in indices of the layer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PassSpec {
    /// First group of the pass.
    pub first_group: u32,
    /// Groups in the pass.
    pub groups: u32,
    /// Images of the tile.
    pub images: u32,
    /// Strip rows.
    pub strip_rows: u32,
    /// First filter of the GLB filter block.
    pub block_first_filter: u32,
    /// Filters in the GLB filter block (`m_s`).
    pub block_filters: u32,
    /// First filter of the pass (within the group).
    pub pass_first_filter: u32,
    /// Filters in the pass (`pt_s`).
    pub pass_filters: u32,
    /// First channel of the channel chunk.
    pub first_channel: u32,
    /// Channels in the chunk (`c_s`).
    pub channels: u32,
    /// Whether this is the first accumulation step (first channel chunk,
    /// fold and segment: psums start from zero).
    pub first_accumulation: bool,
    /// Index of the filter tile (fold and segment) among the layer's.
    pub tile: usize,
}

/// What a pass writes into: the GLB, the layer's counters, component
/// statistics, the fault injector, the PEs that did work, and the
/// optional trace.
pub(crate) struct PassSinks<'b> {
    pub glb: &'b mut GlobalBuffer,
    pub counts: &'b mut LevelCounts,
    pub stats: &'b mut ComponentStats,
    pub inject: &'b mut Injector,
    /// Per array position (`row·cols + col`): the PE ran a tap.
    pub worked: &'b mut [bool],
    /// Per array position: the PE performed a MAC.
    pub computed: &'b mut [bool],
    pub trace: Option<&'b mut Recorder>,
    /// PEs of earlier passes, whose buffers this pass's PEs reuse.
    pub pool: &'b mut Vec<Pe>,
}

/// When a pass's work ended, on the processing timeline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PassEnd {
    /// Its last cycle (the GON's last write).
    pub end: u64,
    /// The cycle its last tap finished (its filter spads are free from then).
    pub last_tap: u64,
    /// The cycle the filter GIN finished reading the GLB filter part.
    pub filters_read: u64,
}

/// Static context shared by all passes of a layer, or of one filter tile
/// of it: then `prob` is the layer with `R` and `S` the tile's rows and
/// taps, and `cols` the tile's segment; `geo` is always the mapping's.
pub(crate) struct LayerCtx<'a> {
    pub prob: &'a ConvProblem,
    pub hw: &'a HwConfig,
    pub map: &'a RowStationaryMapping,
    pub geo: Geometry,
    pub slots: Vec<CopySlot>,
    pub cols: ColumnPlan,
    pub ops: Operands<'a>,
    /// Its passes' placements, by shape (empty for the layer's own context
    /// when its passes run on filter tiles' contexts).
    pub placements: Placements,
}

impl<'a> LayerCtx<'a> {
    /// The context of `prob` (the layer, or a filter tile of it) whose
    /// windows `cols` plans, with no placement built yet.
    pub(crate) fn new(
        prob: &'a ConvProblem,
        (hw, map, geo): (&'a HwConfig, &'a RowStationaryMapping, Geometry),
        cols: ColumnPlan,
        ops: Operands<'a>,
    ) -> Self {
        LayerCtx {
            prob,
            hw,
            map,
            geo,
            slots: geo.slots(map),
            cols,
            ops,
            placements: Placements::default(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    FilterSend(u32),
    FilterDone(u32),
    IfmapSend(u32, u32),
    IfmapDone(u32, u32),
    PsumSend(u32, u32),
    Gon(u32),
}

enum Work {
    TryStart(u32),
    Propagate(u32),
}

/// A psum column's progress up its chain (timing only: the values travel
/// in the PEs' psum FIFOs).
struct Flight {
    step: u32,
    pos: u32,
    arrive: u64,
}

struct Chain {
    /// Its sizes.
    shape: place::ChainShape,
    flights: VecDeque<Flight>,
    /// How many of `flights`, from the front, wait at the top for the GON:
    /// a flight cannot pass the one ahead of it, so they reach the top in
    /// order.
    at_gon: usize,
    /// Columns whose psums the bottom PE has taken from the psum GIN, and when.
    consumed: u32,
    consumed_at: [u64; RING],
}

/// Send state of the psum GIN.
struct PsumGin {
    /// Next (column, chain) to send.
    next: (u32, u32),
    pending: bool,
    free: u64,
}

/// Simulator state of one pass.
pub(crate) struct PassSim<'a, 'b> {
    ctx: &'b LayerCtx<'a>,
    spec: PassSpec,
    rows: &'b StripRows,
    glb: &'b mut GlobalBuffer,
    counts: &'b mut LevelCounts,
    stats: &'b mut ComponentStats,
    inject: &'b mut Injector,
    worked: &'b mut [bool],
    computed: &'b mut [bool],
    trace: Option<&'b mut Recorder>,
    pool: &'b mut Vec<Pe>,
    events: EventQueue<Ev>,
    pes: Vec<Pe>,
    chains: Vec<Chain>,
    /// Where its PEs sit, their chains, and the GINs' IDs.
    place: Arc<Placement>,
    work: Vec<Work>,
    pe_counts: PeCounters,
    total: u32,
    start: u64,
    filter_gin: filter::FilterGin,
    ifmap_gin: ifmap::IfmapGin,
    psum_gin: PsumGin,
    gon_free: u64,
    completed: u64,
    end: u64,
    scratch: Vec<i16>,
    /// The filter row the filter GIN is sending.
    row_scratch: filter::RowWords,
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

impl<'a, 'b> PassSim<'a, 'b> {
    /// Sets up the pass: takes its placement from the layer tile's
    /// [`Placements`] (PEs, chains, GIN tags), resets its PEs and schedules
    /// the filter GIN from `filters_from` (when the previous pass's taps
    /// are done).
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
            inject,
            worked,
            computed,
            trace,
            pool,
        } = sinks;
        let from = filters_from.min(start);
        let mut sim = PassSim {
            ctx,
            spec,
            rows,
            glb,
            counts,
            stats,
            inject,
            worked,
            computed,
            trace,
            pool,
            events: EventQueue::new(from),
            pes: Vec::new(),
            chains: Vec::new(),
            place: ctx.placements.get(ctx, &spec, rows),
            work: Vec::new(),
            pe_counts: PeCounters::default(),
            total: spec.images * ctx.prob.f,
            start,
            filter_gin: filter::FilterGin::new(from),
            ifmap_gin: ifmap::IfmapGin::new(rows.needed(), start),
            psum_gin: PsumGin {
                next: (0, 0),
                pending: false,
                free: start,
            },
            gon_free: start,
            completed: 0,
            end: start,
            scratch: Vec::new(),
            row_scratch: filter::RowWords::default(),
        };
        sim.glb.reset_timing(start);
        sim.place();
        sim.events.schedule(from, Ev::FilterSend(0));
        sim
    }

    /// Sets up its PEs and chains as its placement says: the PEs of
    /// earlier passes are reset in place; any left over wait in the pool.
    fn place(&mut self) {
        let prob = self.ctx.prob;
        let (span, weights) = (self.ctx.cols.span, prob.op.has_weights());
        self.pes = std::mem::take(self.pool);
        let n = self.place.roles.len();
        for (k, &role) in self.place.roles.iter().enumerate() {
            match self.pes.get_mut(k) {
                Some(pe) => pe.reset(role, prob.s, span, weights),
                None => self.pes.push(Pe::new(role, prob.s, span, weights)),
            }
        }
        self.pool.extend(self.pes.drain(n..));
        self.chains = self
            .place
            .chains
            .iter()
            .map(|&shape| Chain {
                shape,
                flights: VecDeque::new(),
                at_gon: 0,
                consumed: 0,
                consumed_at: [0; RING],
            })
            .collect();
    }

    /// Runs the pass to completion.
    pub(crate) fn run(mut self) -> Result<PassEnd, String> {
        self.maybe_send_ifmap();
        if !self.spec.first_accumulation {
            self.maybe_send_psum();
        }
        while let Some((_, ev)) = self.events.pop() {
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
        self.return_pes();
        Ok(PassEnd {
            end: self.end,
            last_tap,
            filters_read: self.filter_gin.finished,
        })
    }

    /// Gives the pass's PEs back to the pool, for the next pass to reset.
    fn return_pes(&mut self) {
        self.pes.append(self.pool);
        std::mem::swap(self.pool, &mut self.pes);
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::FilterSend(row) => self.filter_send(row),
            Ev::FilterDone(row) => self.filter_done(row),
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
        let (b, ci) = self.psum_gin.next;
        if b >= self.total || self.psum_gin.pending {
            return;
        }
        let c = &self.chains[ci as usize];
        let depth = c.shape.fifo_depth;
        let mut ready = self.events.now().max(self.psum_gin.free);
        if b >= depth {
            let need = b - depth;
            if c.consumed <= need {
                return;
            }
            let at = c.consumed_at[need as usize % RING];
            self.stats.psum_gin.stall_cycles += at.saturating_sub(ready);
            ready = ready.max(at);
        }
        self.psum_gin.pending = true;
        self.events.schedule(ready, Ev::PsumSend(b, ci));
    }

    /// Psum word address in the GLB tile `[n][g][e][F][m]` of filter `k`
    /// of chain `c` at `step`. Filters are innermost, so one psum transfer
    /// (a chain's `p` filters at one column) fills whole 64-b bank rows.
    fn psum_addr(&self, c: &place::ChainShape, step: u32, k: u32) -> usize {
        let (prob, sp) = (self.ctx.prob, &self.spec);
        let (img, f) = (step / prob.f, step % prob.f);
        let ml = sp.pass_first_filter - sp.block_first_filter + c.ti * self.ctx.map.p + k;
        ((((img * sp.groups + c.gi) * sp.strip_rows + c.j) * prob.f + f) * sp.block_filters + ml)
            as usize
    }

    /// Moves chain `ci`'s psums of column `b` from the GLB into the psum
    /// FIFO of the PE its tag selects (`fault` applied), and counts the
    /// accesses; returns the words delivered.
    pub(super) fn psum_gin_row(&mut self, b: u32, ci: u32, fault: Option<FaultKind>) -> u64 {
        let c = &self.chains[ci as usize];
        let p = c.shape.p_act;
        let base = self.psum_addr(&c.shape, b, 0);
        let mut vals = std::mem::take(&mut self.scratch);
        vals.clear();
        vals.extend_from_slice(&self.glb.psum[base..base + p as usize]);
        let mut tag = self.place.tags.psum.tag(ci);
        let mut copies = 1;
        match fault {
            Some(FaultKind::Drop) => copies = 0,
            Some(FaultKind::Duplicate) => copies = 2,
            Some(FaultKind::WrongTag) => tag = self.place.tags.psum.wrong(tag),
            Some(FaultKind::Flip(bit)) => vals[0] = flip16(vals[0], bit),
            Some(FaultKind::Delay(_)) | None => {}
        }
        let mut delivered = 0;
        for &k in self.place.tags.psum.receivers(tag).iter() {
            for _ in 0..copies {
                self.pes[k as usize].psum_fifo.extend_from_slice(&vals);
                delivered += u64::from(p);
            }
        }
        self.scratch = vals;
        self.counts.add(Level::Glb, Tensor::Psum, u64::from(p), 0);
        self.counts.add(Level::Noc, Tensor::Psum, delivered, 0);
        delivered
    }

    /// The psum GIN reads chain `ci`'s psums of column `b` from the GLB and
    /// delivers them, by tag, into the psum FIFO of the chain's bottom PE;
    /// then it moves on to the next chain (one transfer per event, so GLB
    /// banks are arbitrated in time order against the GON).
    fn psum_send(&mut self, b: u32, ci: u32) {
        let hw = self.ctx.hw;
        let width = u64::from(hw.words_per_cycle(hw.noc.psum_gin_bits));
        let now = self.events.now();
        let c = &self.chains[ci as usize];
        let p = c.shape.p_act;
        let base = self.psum_addr(&c.shape, b, 0);
        let (start, mut end) = self.glb.psum_transfer(base, p, width, now, now);
        self.stats.psum_gin.stall_cycles += start - now;
        let fault = self.inject.next(FaultSite::PsumGin);
        if let Some(FaultKind::Delay(d)) = fault {
            end += u64::from(d);
        }
        let delivered = self.psum_gin_row(b, ci, fault);
        self.stats.psum_gin.sends += u64::from(p);
        self.stats.psum_gin.deliveries += delivered;
        self.stats.psum_gin.busy_cycles += end - start;
        self.chains[ci as usize].flights.push_back(Flight {
            step: b,
            pos: 0,
            arrive: end,
        });
        self.work.push(Work::Propagate(ci));
        self.psum_gin.free = end;
        if let Some(tr) = self.trace.as_deref_mut() {
            tr.span(Track::PsumGin, "psums", start, end);
        }
        self.psum_gin.pending = false;
        self.psum_gin.next = if ci as usize + 1 < self.chains.len() {
            (b, ci + 1)
        } else {
            (b + 1, 0)
        };
        self.maybe_send_psum();
    }
}
