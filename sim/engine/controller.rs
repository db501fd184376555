//! The top controller: executes the mapping's loop nest (docs/dataflow.md
//! §3), moving tiles between DRAM and the GLB and running the passes.
//!
//! Time is kept on two clocks from the same execution: the processing
//! timeline (where passes run back to back and DRAM time is hidden), and
//! the serialized DRAM time that the chip adds on top of it because it
//! does not process while ifmap tiles load or ofmap tiles write back.

use super::datapath::{finalize, Operands};
use super::dram::DramLink;
use super::glb::GlobalBuffer;
use super::pass::{LayerCtx, PassSim, PassSinks, PassSpec};
use super::plan::{chunks, ColumnPlan, StripRows};
use super::stats::ComponentStats;
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
    pub trace: Option<Recorder>,
}

/// The loop-nest executor for one layer.
struct Controller<'a> {
    ctx: LayerCtx<'a>,
    glb: GlobalBuffer,
    dram: DramLink,
    counts: LevelCounts,
    stats: ComponentStats,
    trace: Option<Recorder>,
    ofmap: Vec<i16>,
    /// Processing timeline (core cycles).
    t: u64,
    /// Serialized DRAM cycles so far.
    serial: u64,
    prev_pass: u64,
    /// Cycle the last pass's last tap finished (its filter spads are free).
    last_tap: u64,
}

/// Runs `prob` under `map` on `hw` with real operands.
pub(crate) fn run_layer(
    prob: &ConvProblem,
    map: &RowStationaryMapping,
    hw: &HwConfig,
    ops: Operands<'_>,
    trace: bool,
) -> Result<Outcome, String> {
    let geo = Geometry::new(map, prob, &hw.array)
        .ok_or_else(|| "the logical PE set does not fit the array".to_string())?;
    let ctx = LayerCtx {
        prob,
        hw,
        map,
        geo,
        slots: geo.slots(map),
        cols: ColumnPlan::new(prob),
        ops,
    };
    let mut c = Controller {
        ctx,
        glb: GlobalBuffer::new(hw.glb),
        dram: DramLink::new(hw),
        counts: LevelCounts::default(),
        stats: ComponentStats::default(),
        trace: trace.then(Recorder::default),
        ofmap: vec![0; prob.ofmap_values() as usize],
        t: 0,
        serial: 0,
        prev_pass: 0,
        last_tap: 0,
    };
    c.counts.macs.algorithmic = prob.macs();
    c.nest()?;
    let processing = c.t;
    let cycles = if hw.dram.overlap {
        processing.max(c.dram.stats.busy_cycles)
    } else {
        processing + c.serial
    };
    c.dram.stats.serialized_cycles = cycles - processing;
    let mut stats = c.stats;
    stats.dram = c.dram.stats;
    stats.glb = c.glb.stats;
    let active = u64::from(prob.r * map.e * map.r * map.t * map.g);
    if processing > 0 {
        stats.pe.utilization = stats.pe.busy_cycles as f64 / (active * processing) as f64;
    }
    Ok(Outcome {
        counts: c.counts,
        processing_cycles: processing,
        cycles,
        stats,
        ofmap: c.ofmap,
        trace: c.trace,
    })
}

impl Controller<'_> {
    fn nest(&mut self) -> Result<(), String> {
        let (p, m) = (self.ctx.prob, self.ctx.map);
        for (g0, gs) in chunks(p.g, m.g) {
            for (n0, ns) in chunks(p.n, m.n) {
                for (e0, es) in chunks(p.e, m.e) {
                    let rows = StripRows::new(p, e0, es);
                    for (mc0, ms) in chunks(p.m, m.m) {
                        let psum_words = (ns * gs * ms * es * p.f) as usize;
                        self.glb.psum = vec![0; psum_words];
                        for (c0, cs) in chunks(p.c, m.q * m.r) {
                            self.load_ifmap_tile(&rows, g0, gs, n0, ns, c0, cs)?;
                            self.glb.assign(self.glb.ifmap.len(), psum_words);
                            for (mf, pts) in chunks(ms, m.p * m.t) {
                                let spec = PassSpec {
                                    g0,
                                    gs,
                                    ns,
                                    es,
                                    mc0,
                                    ms,
                                    mf: mc0 + mf,
                                    pts,
                                    c0,
                                    cs,
                                    first_cc: c0 == 0,
                                };
                                self.pass(spec, &rows)?;
                            }
                        }
                        self.write_back([g0, gs, n0, ns, e0, es, mc0, ms])?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds a serialized DRAM burst to the chip timeline.
    fn serialize(&mut self, cycles: u64, what: &'static str) {
        if let Some(tr) = self.trace.as_mut() {
            tr.offset = self.serial;
            tr.span(Track::Dram, what, self.t, self.t + cycles);
        }
        // The link idles during passes, so the next pass's filters may
        // still have been preloaded during the last pass (`prev_pass`).
        self.serial += cycles;
    }

    /// DRAM → GLB: the strip's real rows of each image-channel as one stream,
    /// stored padded (`RN·Wp` words per image-channel).
    #[allow(clippy::too_many_arguments)]
    fn load_ifmap_tile(
        &mut self,
        rows: &StripRows,
        g0: u32,
        gs: u32,
        n0: u32,
        ns: u32,
        c0: u32,
        cs: u32,
    ) -> Result<(), String> {
        let p = self.ctx.prob;
        let (h, w, wp) = (p.h as usize, p.w as usize, p.wp() as usize);
        let rn = rows.needed() as usize;
        let mut tile = vec![0i16; ns as usize * gs as usize * cs as usize * rn * wp];
        let mut words = 0;
        let mut stream = Vec::with_capacity(rows.real as usize * w);
        let mut plane = 0;
        for k in 0..ns {
            for gi in 0..gs {
                for c in 0..cs {
                    let ch = ((g0 + gi) * p.c + c0 + c) as usize;
                    let src = ((n0 + k) as usize * (p.g * p.c) as usize + ch) * h * w;
                    stream.clear();
                    for &y in &rows.rows {
                        if let Some(r) = StripRows::real_row(p, rows.base + y) {
                            let at = src + r as usize * w;
                            stream.extend_from_slice(&self.ctx.ops.ifmap[at..at + w]);
                        }
                    }
                    let (vals, n) = self.dram.read_stream(&stream, !p.network_input)?;
                    words += n;
                    let mut it = vals.chunks(w);
                    for (slot, &y) in rows.rows.iter().enumerate() {
                        if StripRows::real_row(p, rows.base + y).is_some() {
                            let row = it.next().expect("decoded stream holds every real row");
                            let at = (plane * rn + slot) * wp + p.pad.left as usize;
                            tile[at..at + w].copy_from_slice(row);
                        }
                    }
                    plane += 1;
                }
            }
        }
        self.counts.add(Level::Dram, Tensor::Ifmap, words, 0);
        self.counts
            .add(Level::Glb, Tensor::Ifmap, 0, tile.len() as u64);
        self.glb.ifmap = tile;
        self.glb.stream_ifmap(self.glb.ifmap.len() as u64);
        let cycles = self.dram.burst(words);
        self.serialize(cycles, "ifmap load");
        Ok(())
    }

    /// Loads a pass's filters (DRAM → GLB filter part) and runs the pass.
    fn pass(&mut self, spec: PassSpec, rows: &StripRows) -> Result<(), String> {
        let words = self.pass_filter_words(&spec);
        self.counts.add(Level::Dram, Tensor::Filter, words, 0);
        self.counts.add(Level::Glb, Tensor::Filter, 0, words);
        let load = self.dram.burst(words);
        // With room to double-buffer, the load overlaps the previous pass.
        let stall = if words <= self.ctx.hw.filter_glb_words() / 2 {
            load.saturating_sub(self.prev_pass)
        } else {
            load
        };
        if let Some(tr) = self.trace.as_mut() {
            tr.offset = self.serial;
            let from = self.t - (load - stall);
            tr.span(Track::Dram, "filter load", from, from + load);
        }
        self.serial += stall;
        let start = self.t;
        if let Some(tr) = self.trace.as_mut() {
            tr.offset = self.serial;
        }
        let sinks = PassSinks {
            glb: &mut self.glb,
            counts: &mut self.counts,
            stats: &mut self.stats,
            trace: self.trace.as_mut(),
        };
        let sim = PassSim::new(&self.ctx, spec, rows, sinks, start, self.last_tap);
        let (end, last_tap) = sim.run()?;
        self.t = end;
        self.last_tap = last_tap;
        self.prev_pass = self.t - start;
        Ok(())
    }

    /// Weights the pass moves (non-zero ones only with weight compression).
    fn pass_filter_words(&self, s: &PassSpec) -> u64 {
        let p = self.ctx.prob;
        if !p.op.has_weights() {
            return 0;
        }
        let rs = (p.r * p.s) as usize;
        let mut n = 0u64;
        for g in s.g0..s.g0 + s.gs {
            for f in s.mf..s.mf + s.pts {
                let row = ((g * p.m + f) * p.c + s.c0) as usize * rs;
                let ws = &self.ctx.ops.weights[row..row + s.cs as usize * rs];
                n += if self.ctx.hw.sparsity.weight_compression {
                    ws.iter().filter(|&&w| w != 0).count() as u64
                } else {
                    ws.len() as u64
                };
            }
        }
        n
    }

    /// GLB → DRAM after the last channel chunk: each (image, filter) stream
    /// of `e_s·F` values is finalized (bias, ReLU) and RLC-encoded.
    fn write_back(&mut self, [g0, gs, n0, ns, e0, es, mc0, ms]: [u32; 8]) -> Result<(), String> {
        let p = self.ctx.prob;
        let run = (es * p.f) as usize;
        let mut words = 0;
        let mut stream = Vec::with_capacity(run);
        for k in 0..ns {
            for gi in 0..gs {
                // The tile is `[n][g][e][F][m]`: a filter's stream is strided.
                let plane = ((k * gs + gi) as usize) * run * ms as usize;
                for ml in 0..ms {
                    stream.clear();
                    let bias = self.ctx.ops.bias[((g0 + gi) * p.m + mc0 + ml) as usize];
                    let tile = &self.glb.psum[plane + ml as usize..];
                    stream.extend(
                        tile.iter()
                            .step_by(ms as usize)
                            .take(run)
                            .map(|&a| finalize(p, a, bias)),
                    );
                    self.counts.add(Level::Glb, Tensor::Psum, run as u64, 0);
                    let (vals, n) = self.dram.write_stream(&stream, true)?;
                    words += n;
                    let plane = ((n0 + k) * p.g + g0 + gi) * p.m + mc0 + ml;
                    let out = (plane as usize * p.e as usize + e0 as usize) * p.f as usize;
                    self.ofmap[out..out + run].copy_from_slice(&vals);
                }
            }
        }
        self.counts.add(Level::Dram, Tensor::Psum, 0, words);
        let cycles = self.dram.burst(words);
        self.serialize(cycles, "ofmap write-back");
        Ok(())
    }
}
