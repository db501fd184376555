//! Timing reuse: a pass whose timing an identical pass already gave moves
//! its data through the same components, in column order, and takes its
//! cycles from that twin (docs/engine.md, "Timing reuse").
//!
//! Why this is exact. Passes are barriers: a pass restarts the GLB bank
//! timing and its own event queue, and sees the world before it through
//! one number, how far its filter GIN may run ahead of its start. What it
//! does in time then depends on the layer, the pass's sizes, the strip's
//! rows, the placement of its psums in the banks and, only when zeros are
//! skipped or compressed away, on the data. [`TimingKey`] holds all of
//! that, so two passes with equal keys have equal timing; a layer with
//! data-dependent timing, a fault or a trace times every pass.
//!
//! A replayed pass still does all its data movement: every filter, ifmap
//! and psum word travels through the GINs, FIFOs, spads, local links and
//! the GON as in a timed pass, counted where it moves. The words it moved
//! must equal its twin's, link by link, or the run stops.

use super::{LayerCtx, PassEnd, PassSim, PassSinks, PassSpec};
use crate::components::{ComponentStats, LinkStats};
use crate::fifo::WordFifo;
use crate::plan::StripRows;
use crate::stats::{Level, Tensor};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// Columns a replayed pass moves through its FIFOs at once.
const REPLAY_COLUMNS: u32 = 32;

/// Everything a pass's timing depends on besides its layer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TimingKey {
    /// The filter tile: its context (rows, taps, column plan); with the
    /// strip's rows, it decides which rows the strip reads.
    tile: usize,
    /// Groups, images, strip rows, filter block, pass filters, channels,
    /// and the pass's first filter within its block (where its psums sit
    /// in the banks).
    sizes: [u32; 7],
    first_accumulation: bool,
    /// Ifmap and psum banks of the GLB tile.
    banks: (u32, u32),
    /// Cycles the filter GIN may start before the pass.
    lead: u64,
}

/// What a timed pass produced in time, from the cycle its filter GIN
/// could start (`start − lead`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PassTiming {
    end: u64,
    last_tap: u64,
    filters_read: u64,
    /// Its link and PE-array statistics.
    stats: ComponentStats,
    /// Its bank-conflict stalls.
    conflict_stall: u64,
}

/// A key's timing, and whether a second pass with the key confirmed it.
#[derive(Debug)]
struct Known {
    timing: Arc<PassTiming>,
    confirmed: bool,
}

/// The timed passes of one layer, shared by the threads its psum tiles
/// run ahead on. Which pass of a class is timed may depend on the threads;
/// what every pass produces does not.
#[derive(Debug, Default)]
pub(crate) struct PassTimings {
    on: bool,
    timed: Mutex<HashMap<TimingKey, Known>>,
}

impl PassTimings {
    /// Timings for one layer; `on: false` times every pass.
    pub(crate) fn new(on: bool) -> Self {
        PassTimings {
            on,
            timed: Mutex::default(),
        }
    }

    /// The key's timing, once a second pass confirmed it.
    fn confirmed(&self, key: &TimingKey) -> Option<Arc<PassTiming>> {
        let m = self.timed.lock().ok()?;
        m.get(key).filter(|k| k.confirmed).map(|k| k.timing.clone())
    }

    /// Keeps a timed pass's timing; a second pass with the key must have
    /// taken the same, or the key misses something the timing reads.
    fn settle(&self, key: TimingKey, timing: PassTiming) -> Result<(), String> {
        let Ok(mut m) = self.timed.lock() else {
            return Ok(());
        };
        match m.get_mut(&key) {
            None => {
                let timing = Arc::new(timing);
                m.insert(
                    key,
                    Known {
                        timing,
                        confirmed: false,
                    },
                );
            }
            Some(known) if *known.timing == timing => known.confirmed = true,
            Some(known) => {
                let (a, b) = (&known.timing, &timing);
                let what = if (a.end, a.last_tap) != (b.end, b.last_tap) {
                    format!(
                        "ending {} and {} cycles after their filter GIN could start",
                        a.end, b.end
                    )
                } else {
                    "the same end, other busy, stall or conflict cycles".to_string()
                };
                return Err(format!(
                    "two passes of one kind took different timing ({what}); the timing key \
                     misses an input of the pass's timing (--time-every-pass runs without \
                     it): {key:?}"
                ));
            }
        }
        Ok(())
    }
}

/// Runs one pass: replays it when an identical pass was timed, otherwise
/// times it (and keeps its timing when the layer's timing is data-free).
pub(crate) fn run_pass(
    ctx: &LayerCtx<'_>,
    spec: PassSpec,
    rows: &StripRows,
    sinks: PassSinks<'_>,
    (start, filters_from): (u64, u64),
    timings: &PassTimings,
) -> Result<PassEnd, String> {
    let Some(key) = key(ctx, &spec, &sinks, (start, filters_from), timings) else {
        return PassSim::new(ctx, spec, rows, sinks, start, filters_from).run();
    };
    let from = start - key.lead;
    if let Some(twin) = timings.confirmed(&key) {
        return PassSim::new(ctx, spec, rows, sinks, start, filters_from).replay(&twin, from);
    }
    // The pass records into its own statistics; the layer's and the GLB's
    // are kept to add them to and to read its bank conflicts from.
    let (stats, glb) = (sinks.stats, sinks.glb);
    let conflicts_before = glb.stats.conflict_stall_cycles;
    let mut own = ComponentStats::default();
    let sinks = PassSinks {
        glb: &mut *glb,
        stats: &mut own,
        ..sinks
    };
    let end = PassSim::new(ctx, spec, rows, sinks, start, filters_from).run()?;
    stats.add_passes(&own);
    // Every time of a pass is at or after its filter GIN's earliest start;
    // one that were not could not be shifted to another pass.
    let since = |t: u64| t.checked_sub(from);
    let (Some(last), Some(tap), Some(read)) =
        (since(end.end), since(end.last_tap), since(end.filters_read))
    else {
        return Ok(end);
    };
    let timing = PassTiming {
        end: last,
        last_tap: tap,
        filters_read: read,
        stats: own,
        conflict_stall: glb.stats.conflict_stall_cycles - conflicts_before,
    };
    timings.settle(key, timing)?;
    Ok(end)
}

/// The pass's timing key, if its timing may be reused: not with zero
/// skipping or weight compression (cycles and filter words then follow
/// the data), a fault (placed by its transfer's position) or a trace.
fn key(
    ctx: &LayerCtx<'_>,
    spec: &PassSpec,
    sinks: &PassSinks<'_>,
    (start, filters_from): (u64, u64),
    timings: &PassTimings,
) -> Option<TimingKey> {
    let sparsity = &ctx.hw.sparsity;
    let data_free = !sparsity.zero_skipping && !sparsity.weight_compression;
    let reusable = timings.on && data_free && sinks.trace.is_none() && !sinks.inject.has_fault();
    reusable.then(|| TimingKey {
        tile: spec.tile,
        sizes: [
            spec.groups,
            spec.images,
            spec.strip_rows,
            spec.block_filters,
            spec.pass_filters,
            spec.channels,
            spec.pass_first_filter - spec.block_first_filter,
        ],
        first_accumulation: spec.first_accumulation,
        banks: sinks.glb.banks(),
        lead: start - filters_from.min(start),
    })
}

impl PassSim<'_, '_> {
    /// Runs the pass's data path, column by column, with the timing of
    /// `twin`, an identical pass whose filter GIN could start at `from`.
    pub(crate) fn replay(mut self, twin: &PassTiming, from: u64) -> Result<PassEnd, String> {
        let mut moved = ComponentStats::default();
        self.replay_filters(&mut moved.filter_gin);
        // A batch of columns at a time: one PE's state stays in cache for
        // the batch, and FIFOs hold at most a batch of columns.
        for b in (0..self.total).step_by(REPLAY_COLUMNS as usize) {
            let cols = b..(b + REPLAY_COLUMNS).min(self.total);
            self.replay_columns(cols, &mut moved);
        }
        let (busy, starved, leftover) = self.finish_data();
        moved.pe.busy_cycles = busy;
        (moved.pe.starved_words, moved.pe.leftover_words) = (starved, leftover);
        compare(&moved, &twin.stats)?;
        let mut own = twin.stats.clone();
        own.events = 0;
        own.replayed_passes = 1;
        self.stats.add_passes(&own);
        self.glb.stats.conflict_stall_cycles += twin.conflict_stall;
        self.return_pes();
        Ok(PassEnd {
            end: from + twin.end,
            last_tap: from + twin.last_tap,
            filters_read: from + twin.filters_read,
        })
    }

    /// Every filter row into its PEs' spads.
    fn replay_filters(&mut self, link: &mut LinkStats) {
        let hw = self.ctx.hw;
        let width = u64::from(hw.words_per_cycle(hw.noc.filter_gin_bits)).max(1);
        for row in 0..self.place.filter_rows.len() {
            let (reads, delivered, _) = self.filter_row(row as u32, width);
            link.sends += reads;
            link.deliveries += delivered;
            for i in 0..self.place.filter_rows[row].len() {
                let k = self.place.filter_rows[row][i] as usize;
                self.pes[k].filters_arrived(self.total);
            }
        }
    }

    /// Columns `cols`: their ifmap rows into the FIFOs and the chains'
    /// psums from the GLB, then chain by chain, each PE bottom up runs the
    /// columns' taps and sends their psums up, the top PE into the GLB.
    /// The order in time is the twin's business; the values are the same
    /// in any order that keeps each FIFO's, and the psum tile is read for
    /// a column before the GON writes it.
    fn replay_columns(&mut self, cols: Range<u32>, moved: &mut ComponentStats) {
        for yi in 0..self.rows.needed() {
            let (reads, delivered) = self.ifmap_row(cols.clone(), yi);
            moved.ifmap_gin.sends += reads;
            moved.ifmap_gin.deliveries += delivered;
        }
        if !self.spec.first_accumulation {
            for b in cols.clone() {
                for ci in 0..self.chains.len() {
                    let p = self.chains[ci].shape.p_act;
                    moved.psum_gin.sends += u64::from(p);
                    moved.psum_gin.deliveries += self.psum_gin_row(b, ci as u32, None);
                    let base = self.psum_addr(&self.chains[ci].shape, b, 0);
                    self.glb.count_psum_transfer(base, p);
                }
            }
        }
        for c in 0..self.chains.len() {
            for pos in 0..self.place.members[c].len() as u32 {
                self.replay_member(c, pos, cols.clone(), moved);
            }
        }
    }

    /// Chain `c`'s member at `pos` runs columns `cols`: each column's taps,
    /// then its psums over the local link into the psum FIFO of the PE
    /// above, or from the top PE over the GON into the GLB.
    fn replay_member(&mut self, c: usize, pos: u32, cols: Range<u32>, moved: &mut ComponentStats) {
        let members = &self.place.members[c];
        let k = members[pos as usize] as usize;
        let p = self.chains[c].shape.p_act as usize;
        let leaving = (p, pos == 0 && self.spec.first_accumulation);
        let words = (cols.end - cols.start) as u64 * p as u64;
        let Some(&above) = members.get(pos as usize + 1) else {
            let written = self.replay_to_gon(c, k, cols, leaving);
            moved.gon.sends += words;
            moved.gon.deliveries += written;
            return;
        };
        // The FIFO above, out of its PE while this one sends into it.
        let above = above as usize;
        let mut fifo = std::mem::take(&mut self.pes[above].psum_fifo);
        let queued = fifo.len();
        self.replay_into(&mut fifo, k, cols, leaving);
        // Deliveries as the receiving end holds them.
        let delivered = (fifo.len() - queued) as u64;
        self.pes[above].psum_fifo = fifo;
        self.counts.add(Level::Noc, Tensor::Psum, delivered, 0);
        moved.local_links.sends += words;
        moved.local_links.deliveries += delivered;
    }

    /// PE `k` runs columns `cols`, its psums leaving into `fifo`.
    fn replay_into(
        &mut self,
        fifo: &mut WordFifo,
        k: usize,
        cols: Range<u32>,
        leaving: (usize, bool),
    ) {
        let (prob, hw) = (self.ctx.prob, self.ctx.hw);
        let arith = (&hw.sparsity, hw.pe.product_shift);
        // The counters in a local for the batch: the compiler keeps them
        // in registers across the columns.
        let mut counts = self.pe_counts;
        let pe = &mut self.pes[k];
        let mut f = cols.start % prob.f;
        for b in cols {
            pe.run_column(b, self.ctx.cols.slots_at(f), prob.op, arith, &mut counts);
            pe.leave(b, leaving, prob.op, fifo, &mut counts);
            f = if f + 1 == prob.f { 0 } else { f + 1 };
        }
        self.pe_counts = counts;
    }

    /// Chain `c`'s top PE `k` runs columns `cols`, the GON writing its
    /// psums into the GLB; returns the words written.
    fn replay_to_gon(
        &mut self,
        c: usize,
        k: usize,
        cols: Range<u32>,
        leaving: (usize, bool),
    ) -> u64 {
        let (prob, hw) = (self.ctx.prob, self.ctx.hw);
        let arith = (&hw.sparsity, hw.pe.product_shift);
        let mut counts = self.pe_counts;
        let mut vals = std::mem::take(&mut self.scratch);
        let (mut written, mut f) = (0, cols.start % prob.f);
        for b in cols {
            let pe = &mut self.pes[k];
            pe.run_column(b, self.ctx.cols.slots_at(f), prob.op, arith, &mut counts);
            vals.clear();
            pe.leave(b, leaving, prob.op, &mut vals, &mut counts);
            let base = self.psum_addr(&self.chains[c].shape, b, 0);
            written += self.gon_store(c, base, &vals, 1);
            self.glb.count_psum_transfer(base, leaving.0 as u32);
            f = if f + 1 == prob.f { 0 } else { f + 1 };
        }
        self.scratch = vals;
        self.pe_counts = counts;
        written
    }
}

/// A replayed pass must have moved, on every link, the words its timed twin
/// moved, its PEs must have run as many taps, and as many words must have
/// been missing from or left in their FIFOs (none, in a fault-free run).
fn compare(moved: &ComponentStats, twin: &ComponentStats) -> Result<(), String> {
    let links = [
        ("filter GIN", moved.filter_gin, twin.filter_gin),
        ("ifmap GIN", moved.ifmap_gin, twin.ifmap_gin),
        ("psum GIN", moved.psum_gin, twin.psum_gin),
        ("GON", moved.gon, twin.gon),
        ("local links", moved.local_links, twin.local_links),
    ];
    for (name, a, b) in links {
        if (a.sends, a.deliveries) != (b.sends, b.deliveries) {
            return Err(format!(
                "a replayed pass moved {} words ({} delivered) on the {name}, its timed twin {} ({})",
                a.sends, a.deliveries, b.sends, b.deliveries
            ));
        }
    }
    let pe = |s: &ComponentStats| (s.pe.busy_cycles, s.pe.starved_words, s.pe.leftover_words);
    if pe(moved) != pe(twin) {
        return Err(format!(
            "a replayed pass's PEs ran {:?} (tap cycles, words missing, words left), its timed twin's {:?}",
            pe(moved),
            pe(twin)
        ));
    }
    Ok(())
}
