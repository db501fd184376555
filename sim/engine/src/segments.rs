//! One layer on several cores, with the timing exact: psum tiles run ahead
//! on worker threads, and the controller adopts a tile's passes only when
//! the run ahead started from the state the controller really reached.
//!
//! Why this is exact. A psum tile (`PsumTile` … `Store` in the step list)
//! shares no values with any other: it clears its own psums, loads its own
//! ifmap tiles and reads its own filters. Its passes do not see DRAM time
//! (the processing timeline hides it) and restart the GLB bank timing, so
//! what they do depends on the data and on one number only: the drain
//! before the tile's first pass, `start − last tap` of the pass before it,
//! which decides how far the first filter GIN may run ahead
//! (`PassSim::new`). A tile run ahead with the right drain therefore
//! produces, shifted in time, exactly what the controller would. Counts and
//! statistics are integer sums (and maxima), so adding a tile's in any order
//! gives the same bits (all but the simulator's own work, events processed
//! and passes replayed, which depend on which thread timed a pass). A tile whose guessed drain turns out wrong, or whose
//! run ahead failed, is simply run again in order by the controller.
//!
//! Only fault-free, untraced layers run ahead: a fault is chosen by its
//! place in the layer's sequence of transfers, and a trace records spans
//! in time order.

use super::components::{ComponentStats, GlbStats};
use super::dram::DramLink;
use super::fault::Injector;
use super::fill::{fetch_ifmap_tile, filter_values};
use super::glb::GlobalBuffer;
use super::pass::{run_pass, LayerCtx, PassEnd, PassSinks, PassTimings};
use super::plan::StripRows;
use super::steps::{FilterTile, Step};
use crate::stats::LevelCounts;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A pass run ahead, on its tile's own timeline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AheadPass {
    pub start: u64,
    pub end: PassEnd,
}

impl AheadPass {
    /// The pass's end moved to a pass that starts at `start`.
    pub(crate) fn at(&self, start: u64) -> PassEnd {
        let shift = |t: u64| t + start - self.start;
        PassEnd {
            end: shift(self.end.end),
            last_tap: shift(self.end.last_tap),
            filters_read: shift(self.end.filters_read),
        }
    }
}

/// What a psum tile run ahead produced.
pub(crate) struct AheadTile {
    /// The drain it assumed before its first pass.
    pub drain: u64,
    /// Its ifmap loads, in order: words over the DRAM link, words in the GLB.
    pub loads: Vec<(u64, usize)>,
    /// Its passes, in order.
    pub passes: Vec<AheadPass>,
    /// The psum tile after its last pass.
    pub psum: Vec<i16>,
    /// The passes' counts and statistics (loads and stores excluded: the
    /// controller does those itself).
    pub counts: LevelCounts,
    pub stats: ComponentStats,
    pub glb: GlbStats,
    pub worked: Vec<bool>,
    pub computed: Vec<bool>,
}

impl AheadTile {
    /// The drain after its last pass: what the next tile's first pass sees.
    fn last_drain(&self) -> Option<u64> {
        self.passes.last().map(|p| p.end.end - p.end.last_tap)
    }

    /// Adds the tile's pass counts and statistics to the layer's.
    pub(crate) fn merge_into(
        &self,
        counts: &mut LevelCounts,
        stats: &mut ComponentStats,
        glb: &mut GlbStats,
        (worked, computed): (&mut [bool], &mut [bool]),
    ) {
        *counts += self.counts;
        stats.add_passes(&self.stats);
        for (a, b) in glb
            .bank_busy_cycles
            .iter_mut()
            .zip(&self.glb.bank_busy_cycles)
        {
            *a += b;
        }
        glb.conflict_stall_cycles += self.glb.conflict_stall_cycles;
        glb.ifmap_banks = glb.ifmap_banks.max(self.glb.ifmap_banks);
        glb.psum_banks = glb.psum_banks.max(self.glb.psum_banks);
        for (a, &b) in worked.iter_mut().zip(&self.worked) {
            *a |= b;
        }
        for (a, &b) in computed.iter_mut().zip(&self.computed) {
            *a |= b;
        }
    }
}

/// The layer's psum tiles as step ranges (`PsumTile` to `Store`).
pub(crate) fn psum_tiles(plan: &[Step]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    for (i, s) in plan.iter().enumerate() {
        match s {
            Step::PsumTile { .. } => from = i,
            Step::Store(_) => out.push(from..i + 1),
            _ => {}
        }
    }
    out
}

/// The shared, read-only inputs of a run ahead.
pub(crate) struct Layer<'c, 'a> {
    pub ctx: &'c LayerCtx<'a>,
    pub tiles: &'c [LayerCtx<'a>],
    pub tile_at: &'c [FilterTile],
    pub dram: &'c DramLink,
    pub strips: &'c [StripRows],
    pub plan: &'c [Step],
    pub timings: &'c PassTimings,
}

/// How a layer's psum tiles run ahead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ahead {
    /// Threads (1: no run ahead).
    pub threads: usize,
    /// Rounds of guessing drains: 1 assumes the first tile's last drain for
    /// every tile; 2 also runs again each tile its predecessor contradicts.
    pub rounds: usize,
    /// Whether a pass may take its timing from an identical pass timed
    /// before (`pass::run_pass`); false times every pass.
    pub reuse: bool,
}

impl Ahead {
    /// Both rounds on `threads` threads, with timing reuse.
    pub(crate) fn on(threads: usize) -> Self {
        Ahead {
            threads,
            rounds: 2,
            reuse: true,
        }
    }
}

/// Runs every psum tile ahead. Index `k` of the result is psum tile `k`
/// (`None`: run it in order).
///
/// The first tile starts from rest, so its run is exact. A tile's drain in
/// is its predecessor's last drain, which depends mostly on the shape of
/// that last pass (partial strips and filter blocks drain differently).
/// With one round, every tile assumes the first tile's last drain. With
/// two: first the first tile and the first tile of every other last-pass
/// shape run (to learn how each shape drains), then every other tile from
/// its predecessor's shape's drain, and last, once more, each tile whose
/// assumption its predecessor's run contradicts.
pub(crate) fn run_ahead(layer: &Layer<'_, '_>, how: Ahead) -> Vec<Option<AheadTile>> {
    let tiles = psum_tiles(layer.plan);
    let mut out: Vec<Option<AheadTile>> = (0..tiles.len()).map(|_| None).collect();
    let threads = how.threads;
    if tiles.len() < 2 || threads < 2 {
        return out;
    }
    let shapes: Vec<_> = tiles.iter().map(|r| last_shape(layer, r.clone())).collect();
    let mut learn = vec![(0, 0)];
    if how.rounds >= 2 {
        for k in 1..tiles.len() - 1 {
            if !shapes[..k].contains(&shapes[k]) {
                learn.push((k, 0));
            }
        }
    }
    run_all(layer, &tiles, &learn, threads, &mut out);
    let Some(first) = out[0].as_ref().and_then(AheadTile::last_drain) else {
        return out;
    };
    let drains: Vec<_> = learn
        .iter()
        .filter_map(|&(k, _)| Some((shapes[k], out[k].as_ref()?.last_drain()?)))
        .collect();
    let guess = |k: usize| {
        let shape = shapes[k - 1];
        let learned = drains.iter().find(|(s, _)| how.rounds >= 2 && *s == shape);
        learned.map_or(first, |&(_, d)| d)
    };
    let rest: Vec<_> = (1..tiles.len())
        .filter(|&k| out[k].is_none())
        .map(|k| (k, guess(k)))
        .collect();
    run_all(layer, &tiles, &rest, threads, &mut out);
    if how.rounds < 2 {
        return out;
    }
    let again: Vec<(usize, u64)> = (1..tiles.len())
        .filter_map(|k| {
            let implied = out[k - 1].as_ref()?.last_drain()?;
            let assumed = out[k].as_ref().map(|t| t.drain);
            (assumed != Some(implied)).then_some((k, implied))
        })
        .collect();
    // The runs about to be replaced are dropped first: one copy of the
    // psums at a time.
    for &(k, _) in &again {
        out[k] = None;
    }
    run_all(layer, &tiles, &again, threads, &mut out);
    out
}

/// The shape of the last pass of the steps `range`: its sizes and filter
/// tile, and its strip's rows, without the offsets that place it.
fn last_shape(layer: &Layer<'_, '_>, range: Range<usize>) -> Option<[u64; 9]> {
    layer.plan[range].iter().rev().find_map(|s| match s {
        Step::Pass { spec, strip } => Some([
            u64::from(spec.groups),
            u64::from(spec.images),
            u64::from(spec.strip_rows),
            u64::from(spec.block_filters),
            u64::from(spec.pass_filters),
            u64::from(spec.channels),
            u64::from(spec.first_accumulation),
            spec.tile as u64,
            u64::from(layer.strips[*strip].needed()),
        ]),
        _ => None,
    })
}

/// Runs tile `k` with drain `d` for each `(k, d)` of `work`, on up to
/// `threads` threads, into `out[k]`.
fn run_all(
    layer: &Layer<'_, '_>,
    tiles: &[Range<usize>],
    work: &[(usize, u64)],
    threads: usize,
    out: &mut [Option<AheadTile>],
) {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(work.len()));
    std::thread::scope(|s| {
        for _ in 0..threads.min(work.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(k, d)) = work.get(i) else { break };
                let run = run_tile(layer, tiles[k].clone(), d);
                done.lock().expect("no run ahead panicked").push((k, run));
            });
        }
    });
    for (k, run) in done.into_inner().expect("no run ahead panicked") {
        out[k] = run;
    }
}

/// Runs the steps `range` (one psum tile) on private state, the tile's
/// first pass starting `drain` cycles after the last tap before it.
fn run_tile(layer: &Layer<'_, '_>, range: Range<usize>, drain: u64) -> Option<AheadTile> {
    let hw = layer.ctx.hw;
    let mut glb = GlobalBuffer::new(hw.glb);
    let mut counts = LevelCounts::default();
    let mut stats = ComponentStats::default();
    // No fault is injected here; the injector only counts transfers.
    let mut inject = Injector::new(None);
    let cells = (hw.array.rows * hw.array.cols) as usize;
    let (mut worked, mut computed) = (vec![false; cells], vec![false; cells]);
    let (mut proc_t, mut last_tap) = (drain, 0);
    let (mut loads, mut passes, mut pool) = (Vec::new(), Vec::new(), Vec::new());
    for step in &layer.plan[range] {
        match step {
            Step::PsumTile { words } => glb.psum = vec![0; *words],
            Step::Load(t) => {
                let previous = std::mem::take(&mut glb.ifmap);
                let rows = (&layer.strips[t.strip], t);
                let (tile, words) =
                    fetch_ifmap_tile(layer.ctx, layer.dram, &mut inject, rows, None, previous)
                        .ok()?;
                loads.push((words, tile.len()));
                glb.ifmap = tile;
                glb.assign(glb.ifmap.len(), glb.psum.len());
            }
            Step::Pass { spec, strip } => {
                glb.filters = filter_values(layer.ctx, layer.tile_at, spec);
                let sinks = PassSinks {
                    glb: &mut glb,
                    counts: &mut counts,
                    stats: &mut stats,
                    inject: &mut inject,
                    worked: &mut worked,
                    computed: &mut computed,
                    trace: None,
                    pool: &mut pool,
                };
                let ctx = &layer.tiles[spec.tile];
                let rows = &layer.strips[*strip];
                let end =
                    run_pass(ctx, *spec, rows, sinks, (proc_t, last_tap), layer.timings).ok()?;
                passes.push(AheadPass { start: proc_t, end });
                proc_t = end.end;
                last_tap = end.last_tap;
            }
            Step::Store(_) => {}
        }
    }
    // The loads' own bank statistics (`stream_ifmap`) are not in here:
    // the controller counts its loads itself.
    let glb_stats = std::mem::take(&mut glb.stats);
    Some(AheadTile {
        drain,
        loads,
        passes,
        psum: std::mem::take(&mut glb.psum),
        counts,
        stats,
        glb: glb_stats,
        worked,
        computed,
    })
}

#[cfg(test)]
#[path = "segments_tests.rs"]
mod tests;
