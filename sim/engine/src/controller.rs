//! The top controller: executes the mapping's loop nest (docs/dataflow.md
//! §3), moving tiles between DRAM and the GLB and running the passes.
//!
//! Time is kept on two clocks from the same execution. The processing
//! timeline runs the passes back to back, with DRAM time hidden (the chip's
//! "processing latency"). The chip timeline is the chip as measured: it
//! does not process while an ifmap tile loads or an ofmap tile writes
//! back, and a pass waits for its filters; every burst queues on the DRAM
//! link in issue order, so how much a filter load overlaps the previous
//! pass, and what contends with it, comes out of the link's queue.

use super::components::ComponentStats;
use super::datapath::{finalize, Operands};
use super::dram::DramLink;
use super::fault::{FaultKind, FaultSite, Injector};
use super::fill::{fetch_ifmap_tile, filter_values, filter_words};
use super::glb::GlobalBuffer;
use super::pass::{run_pass, LayerCtx, PassEnd, PassSinks, PassSpec, PassTimings};
use super::pe::Pe;
use super::plan::{ColumnPlan, StripRows};
use super::segments;
use super::steps::{filter_tiles, steps, FilterTile, IfmapTile, OfmapTile, Step};
use super::trace::{Recorder, Track};
use crate::hw::HwConfig;
use crate::mapping::{Geometry, RowStationaryMapping};
use crate::stats::{Level, LevelCounts, Tensor};
use crate::workload::ConvProblem;

/// Everything one layer's execution produced.
pub(crate) struct Outcome {
    pub counts: LevelCounts,
    pub processing_cycles: u64,
    pub cycles: u64,
    pub stats: ComponentStats,
    pub ofmap: Vec<i16>,
    pub active_pes: u32,
    pub mac_pes: u32,
    pub trace: Option<Recorder>,
    pub inject: Injector,
    /// Psum tiles whose run ahead the controller adopted.
    #[cfg_attr(not(test), allow(dead_code))]
    pub adopted: usize,
    /// The GLB tiles banks were assigned for ([`crate::glb::GlobalBuffer::tiles`]).
    pub glb_tiles: Vec<(usize, usize)>,
}

/// Why a layer's execution stopped.
pub(crate) enum RunError {
    /// A component received data that cannot be right (a stream that does
    /// not decode).
    Corrupted(String),
    /// The simulator itself is inconsistent.
    Internal(String),
}

/// A pass's filters on their way from DRAM into the GLB filter part.
struct FilterLoad {
    /// Step index of the pass.
    pass: usize,
    /// Chip cycle the burst is in the GLB.
    done: u64,
    values: Vec<i16>,
}

/// The loop-nest executor for one layer.
struct Controller<'a> {
    ctx: LayerCtx<'a>,
    /// Per filter tile (fold × segment): the context its passes run in.
    tiles: Vec<LayerCtx<'a>>,
    /// Per filter tile: its filter rows and taps, `((r0, rh), (s0, sw))`.
    tile_at: Vec<FilterTile>,
    glb: GlobalBuffer,
    dram: DramLink,
    counts: LevelCounts,
    stats: ComponentStats,
    trace: Option<Recorder>,
    inject: Injector,
    ofmap: Vec<i16>,
    /// Per array position: the PE ran at least one tap (it was clocked).
    worked: Vec<bool>,
    /// Per array position: the PE performed at least one MAC.
    computed: Vec<bool>,
    /// Processing timeline (core cycles).
    proc_t: u64,
    /// Chip timeline (core cycles).
    chip_t: u64,
    /// Processing-timeline cycle the last pass's last tap finished (its
    /// filter spads are free from then on).
    last_tap: u64,
    filters: Option<FilterLoad>,
    /// Psum tiles whose run ahead was adopted.
    adopted: usize,
    /// PEs of earlier passes, lending their buffers to the next pass's.
    pe_pool: Vec<Pe>,
    /// The layer's timed passes, for passes identical to one of them.
    timings: PassTimings,
}

/// Runs `prob` under `map` on `hw` with real operands.
pub(crate) fn run_layer(
    prob: &ConvProblem,
    map: &RowStationaryMapping,
    hw: &HwConfig,
    ops: Operands<'_>,
    trace: bool,
    inject: Injector,
    ahead: segments::Ahead,
) -> Result<Outcome, RunError> {
    let geo = Geometry::new(map, prob, &hw.array).ok_or_else(|| {
        RunError::Internal("the logical PE set does not fit the array".to_string())
    })?;
    let tile_at = filter_tiles(prob, map);
    // A pass of a filter tile is a pass of the layer whose filter is the
    // tile: `R` and `S` are its rows and taps, its rows and columns offset.
    let subs: Vec<ConvProblem> = tile_at
        .iter()
        .map(|&((_, rh), (_, sw))| ConvProblem {
            r: rh,
            s: sw,
            ..*prob
        })
        .collect();
    let tiles = subs
        .iter()
        .zip(&tile_at)
        .map(|(sub, &(_, seg))| LayerCtx::new(sub, (hw, map, geo), ColumnPlan::new(prob, seg), ops))
        .collect();
    let cols = ColumnPlan::new(prob, (0, prob.s));
    let ctx = LayerCtx::new(prob, (hw, map, geo), cols, ops);
    let mut c = Controller {
        ctx,
        tiles,
        tile_at,
        glb: GlobalBuffer::new(hw.glb),
        dram: DramLink::new(hw),
        counts: LevelCounts::default(),
        stats: ComponentStats::default(),
        trace: trace.then(Recorder::default),
        inject,
        ofmap: vec![0; prob.ofmap_values() as usize],
        worked: vec![false; (hw.array.rows * hw.array.cols) as usize],
        computed: vec![false; (hw.array.rows * hw.array.cols) as usize],
        proc_t: 0,
        chip_t: 0,
        last_tap: 0,
        filters: None,
        adopted: 0,
        pe_pool: Vec::new(),
        timings: PassTimings::new(ahead.reuse),
    };
    // A fault is placed by its transfer's position in the layer, a trace
    // records spans in order: both run in order (docs/engine.md, "One
    // layer on several cores").
    let ahead = if trace || c.inject.has_fault() {
        segments::Ahead {
            threads: 1,
            ..ahead
        }
    } else {
        ahead
    };
    c.execute(ahead)?;
    let macs = &mut c.counts.macs;
    macs.algorithmic = macs.performed + macs.gated + macs.skipped;
    let processing = c.proc_t;
    let cycles = if hw.dram.overlap {
        processing.max(c.dram.stats.busy_cycles)
    } else {
        c.chip_t
    };
    c.dram.stats.serialized_cycles = cycles.saturating_sub(processing);
    let active = c.worked.iter().filter(|&&w| w).count() as u32;
    let computing = c.computed.iter().filter(|&&w| w).count() as u32;
    let mut stats = c.stats;
    stats.dram = c.dram.stats;
    stats.glb = std::mem::take(&mut c.glb.stats);
    if processing > 0 && active > 0 {
        stats.pe.utilization =
            stats.pe.busy_cycles as f64 / (u64::from(active) * processing) as f64;
    }
    Ok(Outcome {
        counts: c.counts,
        processing_cycles: processing,
        cycles,
        stats,
        ofmap: c.ofmap,
        active_pes: active,
        mac_pes: computing,
        trace: c.trace,
        inject: c.inject,
        adopted: c.adopted,
        glb_tiles: std::mem::take(&mut c.glb.tiles),
    })
}

impl Controller<'_> {
    fn execute(&mut self, ahead: segments::Ahead) -> Result<(), RunError> {
        let (strips, plan) = steps(self.ctx.prob, self.ctx.map);
        let layer = segments::Layer {
            ctx: &self.ctx,
            tiles: &self.tiles,
            tile_at: &self.tile_at,
            dram: &self.dram,
            strips: &strips,
            plan: &plan,
            timings: &self.timings,
        };
        let mut ahead = segments::run_ahead(&layer, ahead).into_iter();
        // The current psum tile's run ahead, if adopted (it assumed the
        // drain the controller reached), and the index of its next load
        // and pass.
        let mut tile: Option<segments::AheadTile> = None;
        let (mut load, mut pass) = (0, 0);
        for (i, step) in plan.iter().enumerate() {
            match step {
                Step::PsumTile { words } => {
                    self.glb.psum = vec![0; *words];
                    let drain = self.drain();
                    tile = ahead.next().flatten().filter(|a| a.drain == drain);
                    (load, pass) = (0, 0);
                }
                Step::Load(t) => match &tile {
                    // The run ahead moved the values through the DRAM codec
                    // into its GLB; the controller books the transfer.
                    Some(a) => {
                        let (words, len) = a.loads[load];
                        let (late, _) = self.dram_fault();
                        self.ifmap_tile_in(words, len, late);
                        load += 1;
                    }
                    None => self.load_ifmap_tile(&strips[t.strip], t)?,
                },
                Step::Pass { spec, strip } => {
                    let pre = tile.as_ref().map(|a| a.passes[pass]);
                    pass += 1;
                    self.pass(&plan, i, *spec, &strips[*strip], pre)?;
                }
                Step::Store(t) => {
                    if let Some(a) = tile.take() {
                        self.adopted += 1;
                        a.merge_into(
                            &mut self.counts,
                            &mut self.stats,
                            &mut self.glb.stats,
                            (&mut self.worked, &mut self.computed),
                        );
                        self.glb.psum = a.psum;
                    }
                    self.write_back(t)?;
                }
            }
        }
        Ok(())
    }

    /// Cycles from the last tap of the last pass to now, on the processing
    /// timeline: how far the next pass's filter GIN may run ahead of it.
    fn drain(&self) -> u64 {
        self.proc_t - self.last_tap
    }

    fn dram_span(&mut self, what: &'static str, from: u64, to: u64) {
        if let Some(tr) = self.trace.as_mut() {
            tr.offset = 0;
            tr.span(Track::Dram, what, from, to);
        }
    }

    /// The fault (if any) on the next DRAM burst: its delay in link cycles
    /// and whether the data is lost or corrupted.
    fn dram_fault(&mut self) -> (u64, Option<FaultKind>) {
        match self.inject.next(FaultSite::Dram) {
            Some(FaultKind::Delay(d)) => (u64::from(d), None),
            other => (0, other),
        }
    }

    /// DRAM → GLB: the strip's real rows of each image-channel as one stream,
    /// stored padded (`RN·Wp` words per image-channel). The GLB tile keeps
    /// what it held where no value arrives.
    fn load_ifmap_tile(&mut self, rows: &StripRows, t: &IfmapTile) -> Result<(), RunError> {
        let (late, fault) = self.dram_fault();
        let previous = std::mem::take(&mut self.glb.ifmap);
        let (tile, words) = fetch_ifmap_tile(
            &self.ctx,
            &self.dram,
            &mut self.inject,
            (rows, t),
            fault,
            previous,
        )
        .map_err(RunError::Corrupted)?;
        let len = tile.len();
        self.glb.ifmap = tile;
        self.ifmap_tile_in(words, len, late);
        Ok(())
    }

    /// Books an ifmap tile of `len` GLB words that moved `words` over the
    /// DRAM link (`late` cycles late): counts, banks, link time.
    fn ifmap_tile_in(&mut self, words: u64, len: usize, late: u64) {
        self.dram.count_read(words);
        self.counts.add(Level::Dram, Tensor::Ifmap, words, 0);
        self.counts.add(Level::Glb, Tensor::Ifmap, 0, len as u64);
        self.glb.assign(len, self.glb.psum.len());
        self.glb.stream_ifmap(len as u64);
        let from = self.chip_t;
        self.chip_t = self.dram.transfer(words, from, late);
        self.dram_span("ifmap load", from, self.chip_t);
    }

    /// Runs the pass at `plan[i]` once its filters are in the GLB, and
    /// issues the next pass's filter load as soon as the filter part has
    /// room for it: at this pass's start when both passes' weights fit the
    /// part together (double buffering); once this pass's filter GIN has
    /// read its weights out of the part when the next pass's fit the part
    /// alone; otherwise at the next pass (docs/engine.md, "The filter part
    /// is free once its GIN is done").
    fn pass(
        &mut self,
        plan: &[Step],
        i: usize,
        spec: PassSpec,
        rows: &StripRows,
        ahead: Option<segments::AheadPass>,
    ) -> Result<(), RunError> {
        if self.filters.as_ref().is_none_or(|f| f.pass != i) {
            self.issue_filters(i, &spec, self.chip_t);
        }
        let load = self.filters.take().expect("the pass's filters were issued");
        let chip_start = self.chip_t.max(load.done);
        self.glb.filters = load.values;
        let part = self.ctx.hw.filter_glb_words();
        let mut after_gin = None;
        if let Some((next, next_spec)) = next_pass(plan, i) {
            let words = self.filter_words_moved(&next_spec);
            let holding = self.moved_words(&self.glb.filters);
            if holding + words <= part {
                self.issue_filters(next, &next_spec, chip_start);
            } else if words <= part {
                after_gin = Some((next, next_spec));
            }
        }
        let start = self.proc_t;
        if let Some(tr) = self.trace.as_mut() {
            tr.offset = chip_start - start;
        }
        let done = match ahead {
            Some(a) => a.at(start),
            None => self.simulate_pass(spec, rows, start)?,
        };
        self.proc_t = done.end;
        self.last_tap = done.last_tap;
        self.chip_t = chip_start + (done.end - start);
        if let Some((next, next_spec)) = after_gin {
            // A filter GIN that finished before the pass began (during the
            // previous pass's drain) frees the part at the start, no earlier:
            // this pass's own weights were in the part until then.
            let freed = chip_start + done.filters_read.saturating_sub(start);
            self.issue_filters(next, &next_spec, freed);
        }
        Ok(())
    }

    /// Runs a pass on the PE array from `start`.
    fn simulate_pass(
        &mut self,
        spec: PassSpec,
        rows: &StripRows,
        start: u64,
    ) -> Result<PassEnd, RunError> {
        let sinks = PassSinks {
            glb: &mut self.glb,
            counts: &mut self.counts,
            stats: &mut self.stats,
            inject: &mut self.inject,
            worked: &mut self.worked,
            computed: &mut self.computed,
            trace: self.trace.as_mut(),
            pool: &mut self.pe_pool,
        };
        let ctx = &self.tiles[spec.tile];
        run_pass(
            ctx,
            spec,
            rows,
            sinks,
            (start, self.last_tap),
            &self.timings,
        )
        .map_err(RunError::Internal)
    }

    /// Queues the DRAM burst of pass `i`'s filters, ready at chip cycle `at`.
    fn issue_filters(&mut self, i: usize, spec: &PassSpec, at: u64) {
        let (late, fault) = self.dram_fault();
        let mut values = self.filter_values(spec);
        let words = self.moved_words(&values);
        if let Some(FaultKind::Flip(bit)) = fault {
            if let Some(v) = values
                .iter_mut()
                .find(|v| **v != 0 || !self.ctx.hw.sparsity.weight_compression)
            {
                *v = super::fault::flip16(*v, bit);
            }
        }
        if fault == Some(FaultKind::Drop) {
            values = self.glb.filters.clone();
            values.resize(self.filter_values_len(spec), 0);
        }
        self.dram.count_read(words);
        self.counts.add(Level::Dram, Tensor::Filter, words, 0);
        self.counts.add(Level::Glb, Tensor::Filter, 0, words);
        let done = self.dram.transfer(words, at, late);
        self.dram_span("filter load", at, done);
        self.filters = Some(FilterLoad {
            pass: i,
            done,
            values,
        });
    }

    fn filter_values_len(&self, s: &PassSpec) -> usize {
        filter_words(self.ctx.prob, &self.tile_at, s)
    }

    /// The pass's weights as DRAM holds them ([`filter_values`]).
    fn filter_values(&self, s: &PassSpec) -> Vec<i16> {
        filter_values(&self.ctx, &self.tile_at, s)
    }

    /// Weights pass `s` moves; only with weight compression does that
    /// take reading them.
    fn filter_words_moved(&self, s: &PassSpec) -> u64 {
        if self.ctx.hw.sparsity.weight_compression {
            self.moved_words(&self.filter_values(s))
        } else {
            self.filter_values_len(s) as u64
        }
    }

    /// Weights a pass moves (non-zero ones only with weight compression).
    fn moved_words(&self, values: &[i16]) -> u64 {
        if self.ctx.hw.sparsity.weight_compression {
            values.iter().filter(|&&w| w != 0).count() as u64
        } else {
            values.len() as u64
        }
    }

    /// GLB → DRAM after the last channel chunk: each (image, filter) stream
    /// of `e_s·F` values is finalized (bias, ReLU) and RLC-encoded; the
    /// ofmap is what DRAM then holds.
    fn write_back(&mut self, t: &OfmapTile) -> Result<(), RunError> {
        let p = self.ctx.prob;
        let run = (t.strip_rows * p.f) as usize;
        let (late, fault) = self.dram_fault();
        let mut words = 0;
        let mut stream = Vec::with_capacity(run);
        let mut first = true;
        for k in 0..t.images {
            for gi in 0..t.groups {
                // The tile is `[n][g][e][F][m]`: a filter's stream is strided.
                let plane = ((k * t.groups + gi) as usize) * run * t.block_filters as usize;
                for ml in 0..t.block_filters {
                    stream.clear();
                    let bias = self.ctx.ops.bias
                        [((t.first_group + gi) * p.m + t.block_first_filter + ml) as usize];
                    let tile = &self.glb.psum[plane + ml as usize..];
                    stream.extend(
                        tile.iter()
                            .step_by(t.block_filters as usize)
                            .take(run)
                            .map(|&a| finalize(p, a, bias)),
                    );
                    self.counts.add(Level::Glb, Tensor::Psum, run as u64, 0);
                    let mut stored = self.dram.store(&stream, true);
                    if std::mem::take(&mut first) {
                        if let Some(FaultKind::Flip(bit)) = fault {
                            stored.flip(bit);
                        }
                    }
                    words += self.dram.words(&stored);
                    if fault == Some(FaultKind::Drop) {
                        continue;
                    }
                    let vals = self.dram.load(&stored).map_err(RunError::Corrupted)?;
                    let plane = ((t.first_image + k) * p.g + t.first_group + gi) * p.m
                        + t.block_first_filter
                        + ml;
                    let out = (plane as usize * p.e as usize + t.first_row as usize) * p.f as usize;
                    let n = vals.len().min(run);
                    self.ofmap[out..out + n].copy_from_slice(&vals[..n]);
                }
            }
        }
        self.dram.count_write(words);
        self.counts.add(Level::Dram, Tensor::Psum, 0, words);
        let from = self.chip_t;
        self.chip_t = self.dram.transfer(words, from, late);
        self.dram_span("ofmap write-back", from, self.chip_t);
        Ok(())
    }
}

/// The next pass after step `i`, if any.
fn next_pass(plan: &[Step], i: usize) -> Option<(usize, PassSpec)> {
    plan.iter()
        .enumerate()
        .skip(i + 1)
        .find_map(|(k, s)| match s {
            Step::Pass { spec, .. } => Some((k, *spec)),
            _ => None,
        })
}
