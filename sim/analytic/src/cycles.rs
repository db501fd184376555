//! Cycle estimate (docs/dataflow.md §6).
//!
//! * A pass takes the slowest of the busiest PE's taps, the ifmap GIN, the
//!   psum GIN and the GON, plus a ramp-up: its filters over the filter GIN
//!   (less what the previous pass's GON drain hides), the `1 + mac_stages`
//!   pipeline and the psum chain.
//! * DRAM: every ifmap tile load and ofmap write-back is one serialized
//!   burst. A pass's filter load overlaps the previous pass when it fits in
//!   half the filter part (stalling only for what the previous pass does not
//!   cover; the link idles during passes, so the first pass after a tile
//!   load overlaps the previous tile's last pass, and only the layer's first
//!   load has nothing to overlap). A load that fits the whole part overlaps
//!   the rest of the previous pass once that pass's filter GIN has read its
//!   weights out of the part; larger loads are serialized.
//! * Each burst costs its link cycles, rounded up, plus the config's
//!   `dram.crossing_cycles` (the async FIFO into the core clock).
//!
//! Passes are grouped by their distinct chunk sizes, so the cost does not
//! grow with the number of passes.

use super::banks::{block_rows, PassOffsets, PsumLayout};
use super::bursts::{ifmap_bursts, ofmap_bursts, tiles};
use super::lockstep::{lock_step, Chains};
use super::model::{chunk_sizes, LayerModel, RawCounts, StripSums};
use crate::mapping::RowStationaryMapping;
use crate::stats::{Level, Tensor};

/// Expected core cycles of one DRAM burst of `words`.
fn burst(model: &LayerModel<'_>, words: f64) -> f64 {
    model.link.burst(words)
}

/// `x.ceil()` for `0 ≤ x < 2^63`, bit for bit, without the libm call that
/// `f64::ceil` costs on the baseline x86-64 target (no SSE4.1 `roundsd`);
/// the mapper calls it for every scored candidate.
fn ceil_nonneg(x: f64) -> f64 {
    debug_assert!((0.0..9.2e18).contains(&x), "{x}");
    // Below 2^53 the cast truncates to floor(x), exactly; above, x is an integer.
    let floor = x as i64 as f64;
    floor + if floor < x { 1.0 } else { 0.0 }
}

/// `x.floor()` for `0 ≤ x < 2^63`, bit for bit, without the libm call
/// (see [`ceil_nonneg`]).
fn floor_nonneg(x: f64) -> f64 {
    debug_assert!((0.0..9.2e18).contains(&x), "{x}");
    x as i64 as f64
}

/// Cycles with DRAM serialized as on the chip, and with DRAM hidden.
#[inline]
pub(crate) fn cycles(
    model: &LayerModel<'_>,
    map: &RowStationaryMapping,
    st: &StripSums,
    counts: &RawCounts,
) -> (f64, f64) {
    let (processing, filter_stall, first_weights) = passes(model, map, st);
    let hw = model.hw;
    let prob = model.prob;
    // The layer's first ifmap burst and the filter burst issued when it is
    // in have known phases: both are exact, not expectations.
    let first_ifmap = f64::from(prob.g.min(map.g))
        * f64::from(prob.n.min(map.n))
        * f64::from(prob.c.min(map.q * map.r))
        * st.tiles.first;
    let (ifmap_in, filters_in) = model.link.layer_start(first_ifmap, first_weights);
    let filter_stall = filter_stall + filters_in - burst(model, first_weights);
    let fmap = ifmap_bursts(model, map, st) + ofmap_bursts(model, map) + ifmap_in
        - burst(model, first_ifmap);
    let total = if hw.dram.overlap {
        let filters = counts.cells[Level::Dram as usize][Tensor::Filter as usize][0];
        let tiles = tiles(prob, map);
        let all = fmap
            + if tiles == 0.0 {
                0.0
            } else {
                tiles * burst(model, filters / tiles)
            };
        (processing + filter_stall).max(all)
    } else {
        processing + filter_stall + fmap
    };
    (total, processing)
}

/// Per-pass geometry that does not change across the loop nest.
struct PassConst {
    keep: f64,
    w_ifmap: f64,
    w_filter: f64,
    w_psum: f64,
    w_gon: f64,
    w_link: f64,
    fill: f64,
}

/// One kind of accumulation step (a channel chunk, fold and segment) of
/// a strip, and how many of them the strip has.
#[derive(Clone, Copy, Default)]
struct StepKind {
    /// Channels of the chunk.
    c_s: u32,
    /// Filter rows of the fold.
    rh: u32,
    /// Taps of the segment.
    sw: u32,
    /// Columns a full ofmap row needs for the segment.
    cn: f64,
    /// Padded rows the strip needs for the fold.
    rn: u32,
    /// Steps of this kind per strip.
    count: u32,
    /// How many of them load an ifmap tile (a fold's first segment).
    tiles: u32,
    /// Whether it is the first step (psums start at zero, no psum GIN).
    first: bool,
}

/// The accumulation steps of a strip whose folds need `rn` rows
/// (`[tall, short]` fold class): channel chunks outermost, then folds,
/// then segments, as docs/dataflow.md §3 orders them.
fn step_kinds(model: &LayerModel<'_>, map: &RowStationaryMapping, rn: [u32; 2]) -> Kinds {
    let prob = model.prob;
    let qr = map.q * map.r;
    let (c_full, c_rest) = (qr.min(prob.c), prob.c % qr);
    let full_cc = prob.c / qr;
    let cc = [
        (c_full, u32::from(full_cc >= 1), true),
        (c_full, full_cc.saturating_sub(1), false),
        (c_rest, u32::from(c_rest > 0), full_cc == 0),
    ];
    let folds = crate::mapping::balanced(prob.r, map.fr);
    let segs = model.segment_columns(map.fs);
    let seg_taps = crate::mapping::balanced(prob.s, map.fs);
    let mut out = Kinds::default();
    for (c_s, c_k, first_cc) in cc {
        if c_k == 0 || c_s == 0 {
            continue;
        }
        for (fi, &(rh, f_k)) in folds.iter().enumerate() {
            for (si, (&(cn, s_k), &(sw, _))) in segs.iter().zip(&seg_taps).enumerate() {
                let count = c_k * f_k * s_k;
                if count == 0 {
                    continue;
                }
                let tiles = if si == 0 { c_k * f_k } else { 0 };
                let kind = StepKind {
                    c_s,
                    rh,
                    sw: if map.fs <= 1 { prob.s } else { sw },
                    cn: cn as f64,
                    rn: rn[fi],
                    count,
                    tiles,
                    first: false,
                };
                if first_cc && fi == 0 && si == 0 {
                    out.push(StepKind {
                        count: 1,
                        tiles: 1,
                        first: true,
                        ..kind
                    });
                    if count > 1 {
                        out.push(StepKind {
                            count: count - 1,
                            tiles: tiles - 1,
                            ..kind
                        });
                    }
                } else {
                    out.push(kind);
                }
            }
        }
    }
    out
}

/// At most 3 channel-chunk kinds × 2 fold classes × 2 segment classes,
/// plus the first step split off: a fixed array, so scoring a candidate
/// allocates nothing.
#[derive(Default)]
struct Kinds {
    items: [StepKind; 13],
    len: usize,
}

impl Kinds {
    fn push(&mut self, k: StepKind) {
        self.items[self.len] = k;
        self.len += 1;
    }

    fn iter(&self) -> impl Iterator<Item = &StepKind> {
        self.items[..self.len].iter()
    }
}

/// Σ over passes of their time (DRAM hidden), the filter-load stalls, and
/// the weights of the layer's first pass.
fn passes(model: &LayerModel<'_>, map: &RowStationaryMapping, st: &StripSums) -> (f64, f64, f64) {
    let prob = model.prob;
    let hw = model.hw;
    let wpc = |bits: u32| f64::from(hw.words_per_cycle(bits));
    let k = PassConst {
        keep: model.split.cycle_fraction(model.taps),
        w_ifmap: wpc(hw.noc.ifmap_gin_bits),
        w_filter: wpc(hw.noc.filter_gin_bits),
        w_psum: wpc(hw.noc.psum_gin_bits),
        w_gon: wpc(hw.noc.gon_bits),
        w_link: wpc(hw.noc.local_psum_bits),
        fill: f64::from(1 + hw.pe.mac_stages),
    };
    let last = prob.e % map.e;
    let strips = [
        (
            map.e.min(prob.e),
            prob.e / map.e,
            step_kinds(model, map, st.rn[0]),
        ),
        (
            last,
            1,
            if last > 0 {
                step_kinds(model, map, st.rn[1])
            } else {
                Kinds::default()
            },
        ),
    ];
    let filter_part = model.hw.filter_glb_words() as f64;
    let half_filter_part = filter_part / 2.0;
    let pt = map.p * map.t;
    let (mut total, mut stall) = (0.0, 0.0);
    let mut layer_start = true;
    let mut first_weights = 0.0;
    let m_chunks = chunk_sizes(prob.m, map.m);
    let port = hw.glb.bank_port_words.max(1);
    let rows = m_chunks.map(|(m_s, _)| block_rows(m_s, map.p, pt, port));
    for (g_s, g_k) in chunk_sizes(prob.g, map.g) {
        for (n_s, n_k) in chunk_sizes(prob.n, map.n) {
            for (e_s, e_k, kinds) in &strips {
                let (e_s, e_k) = (*e_s, *e_k);
                for (&(m_s, m_k), rows) in m_chunks.iter().zip(&rows) {
                    let tile = Tile {
                        g_s,
                        n_s,
                        e_s,
                        m_s,
                        rows,
                    };
                    for step in kinds.iter() {
                        let outer =
                            f64::from(g_k) * f64::from(n_k) * f64::from(e_k) * f64::from(m_k);
                        let count = outer * f64::from(step.count);
                        if count == 0.0 || g_s == 0 || n_s == 0 || e_s == 0 || m_s == 0 {
                            continue;
                        }
                        let run = |pt_s: u32| pass(model, map, &k, (&tile, step), pt_s);
                        // Passes of the tile: full ones, then a partial one.
                        let (full, rest) = (m_s / pt, m_s % pt);
                        let none = Pass::default();
                        let pf = if full > 0 { run(pt) } else { none };
                        let pr = if rest > 0 { run(rest) } else { none };
                        let (t_full, l_full) = (pf.time, pf.weights);
                        let (t_rest, l_rest) = (pr.time, pr.weights);
                        total += count * (f64::from(full) * t_full + t_rest);
                        if layer_start {
                            // The layer's first pass has no previous pass to
                            // load its filters behind.
                            total += if full > 0 { pf.hidden } else { pr.hidden };
                            first_weights = if full > 0 { l_full } else { l_rest };
                        }
                        let loads = [l_full, l_rest];
                        let tile_stall = if loads.iter().all(|&l| l <= half_filter_part) {
                            let (b_full, b_rest) = (burst(model, l_full), burst(model, l_rest));
                            // The link idles during passes, so the tile's first
                            // load hides behind the previous tile's last pass
                            // (taken as this tile's last); only the layer's very
                            // first load has nothing to overlap.
                            let b_first = if full > 0 { b_full } else { b_rest };
                            let t_last = if rest > 0 { t_rest } else { t_full };
                            let hidden = b_first.min(t_last);
                            let first_load = b_first - hidden;
                            if layer_start {
                                stall += hidden;
                            }
                            // A later load that outlasts its pass is issued as
                            // soon as the one before it is in: a run of bursts.
                            let later_full = if full > 1 {
                                f64::from(full - 1) * model.link.chained_stall(l_full, t_full)
                            } else {
                                0.0
                            };
                            let later_rest = if full > 0 && rest > 0 {
                                model.link.chained_stall(l_rest, t_full)
                            } else {
                                0.0
                            };
                            // A load still on the link when the previous pass
                            // ends holds up the fold's ifmap tile, which then
                            // queues behind it (`LinkClock::queue_saving`).
                            let ifmap = f64::from(g_s)
                                * f64::from(n_s)
                                * f64::from(step.c_s)
                                * f64::from(step.rn)
                                * f64::from(prob.w);
                            let queued = (first_load - model.link.queue_saving(ifmap)).max(0.0);
                            let tiles = f64::from(step.tiles);
                            let firsts =
                                tiles * queued + (f64::from(step.count) - tiles) * first_load;
                            // The layer's first load follows its first ifmap
                            // tile, so nothing queues behind it.
                            let unqueued = if layer_start && tiles > 0.0 {
                                first_load - queued
                            } else {
                                0.0
                            };
                            outer * firsts + unqueued + count * (later_full + later_rest)
                        } else if loads.iter().all(|&l| l <= filter_part) {
                            let steady = behind_gin(model, full, rest > 0, (&pf, &pr), filter_part);
                            // The layer's first pass has no previous pass to
                            // load behind: its whole burst stalls it.
                            let first_run = if layer_start {
                                let (first, last) = run_ends(full, rest > 0, (&pf, &pr));
                                burst(model, first.weights)
                                    - stall_behind(model, last, first, filter_part)
                            } else {
                                0.0
                            };
                            count * steady + first_run
                        } else {
                            count * (f64::from(full) * burst(model, l_full) + burst(model, l_rest))
                        };
                        stall += tile_stall;
                        layer_start = false;
                    }
                }
            }
        }
    }
    (total, stall, first_weights)
}

/// The filter stall of one run of a tile's passes (`full` full ones, then
/// a partial one when `rest`) whose full passes' loads fit the GLB filter
/// part but not half of it. A run's first pass follows the previous run's
/// last one, taken as this run's last.
fn behind_gin(
    model: &LayerModel<'_>,
    full: u32,
    rest: bool,
    (pf, pr): (&Pass, &Pass),
    part: f64,
) -> f64 {
    let (first, last) = run_ends(full, rest, (pf, pr));
    let mut stall = stall_behind(model, last, first, part);
    if full > 1 {
        stall += f64::from(full - 1) * stall_behind(model, pf, pf, part);
    }
    if full > 0 && rest {
        stall += stall_behind(model, pf, pr, part);
    }
    stall
}

/// The first and the last pass of a run of `full` full passes and, when
/// `rest`, a partial one.
fn run_ends<'p>(full: u32, rest: bool, (pf, pr): (&'p Pass, &'p Pass)) -> (&'p Pass, &'p Pass) {
    match (full > 0, rest) {
        (true, true) => (pf, pr),
        (true, false) => (pf, pf),
        (false, _) => (pr, pr),
    }
}

/// What the filter load of `next` stalls it after `prev` (docs/engine.md,
/// "The filter part is free once its GIN is done"): when both passes'
/// weights fit the part together, the load is issued at `prev`'s start and
/// stalls `next` by what it outlasts `prev`; otherwise it is issued once
/// `prev`'s filter GIN has read `prev`'s weights out of the part, and
/// stalls `next` by what it outlasts the rest of `prev`.
fn stall_behind(model: &LayerModel<'_>, prev: &Pass, next: &Pass, part: f64) -> f64 {
    let overlap = if prev.weights + next.weights <= part {
        prev.time
    } else {
        (prev.time - prev.filters_read).max(0.0)
    };
    (burst(model, next.weights) - overlap).max(0.0)
}

/// One pass as [`passes`] sums it.
#[derive(Clone, Copy, Default)]
struct Pass {
    /// Its time when the previous pass's GON drain hides part of its filter load.
    time: f64,
    /// The weights it loads.
    weights: f64,
    /// The part of its filter load the previous pass's drain hides.
    hidden: f64,
    /// When, from its start, its filter GIN has read the last of its
    /// weights out of the GLB filter part: its GIN starts at the previous
    /// pass's last tap, a drain before the pass.
    filters_read: f64,
}

/// The loop-nest chunk a pass belongs to: groups, images, strip rows and
/// the GLB's filters.
struct Tile<'a> {
    g_s: u32,
    n_s: u32,
    e_s: u32,
    m_s: u32,
    /// Psum rows a column of its full and its partial passes (`block_rows`).
    rows: &'a [(f64, PassOffsets); 2],
}

/// Time of one pass with `pt_s` filters, and the weights it loads. A pass
/// of a fold and segment is a pass of the filter tile it holds: `R` and
/// `S` below are the fold's rows and the segment's taps.
fn pass(
    model: &LayerModel<'_>,
    map: &RowStationaryMapping,
    k: &PassConst,
    (tile, step): (&Tile, &StepKind),
    pt_s: u32,
) -> Pass {
    let prob = model.prob;
    let f = f64::from;
    let Tile {
        g_s, n_s, e_s, m_s, ..
    } = *tile;
    let (c_s, rn, first) = (step.c_s, step.rn, step.first);
    let (ns, gs, es, pts, cs) = (f(n_s), f(g_s), f(e_s), f(pt_s), f(c_s));
    let (big_f, big_r, big_s) = (f(prob.f), f(step.rh), f(step.sw));
    let cn = step.cn;
    let t_act = f(pt_s.div_ceil(map.p));
    let r_act = f(c_s.div_ceil(map.q));
    let columns = ns * big_f;
    let column_taps = f(map.q.min(c_s)) * big_s * f(map.p.min(pt_s)) * k.keep;
    let multicast = model.hw.noc.multicast;
    // With multicast each needed word leaves the GLB once; without, once per receiving PE.
    let ifmap_words = if multicast {
        ns * gs * cs * f(rn) * cn
    } else {
        ns * gs * cs * t_act * big_r * es * cn
    };
    // The first column's window (S columns of every row) streams while the
    // filters load; the later columns only once the PEs have started.
    let first_window = ifmap_words * big_s.min(cn) / (ns * cn);
    // A psum transfer moves one chain's `p_act` psums of a column in
    // ceil(p_act / width) cycles: a partly filled last cycle is lost.
    let transfer = |width: f64| {
        let (full, rest) = (pt_s / map.p, pt_s % map.p);
        f(full) * ceil_nonneg(f(map.p) / width) + ceil_nonneg(f(rest) / width)
    };
    let gon_transfer = transfer(k.w_gon);
    let gon = columns * gs * es * gon_transfer;
    let psum_in = if first {
        0.0
    } else {
        columns * gs * es * transfer(k.w_psum)
    };
    // A psum hop up the chain: one chain's psums over the local link.
    let hop = ceil_nonneg(f(map.p.min(pt_s)) / k.w_link);
    let chains = Chains {
        per_row: gs * t_act,
        rows: es,
        gon: gon_transfer / t_act,
        latency: f(model.hw.pe.mac_stages) + (big_r * r_act - 1.0) * hop,
    };
    // With one psum buffer (`2·p > psum_spad_words`) a PE starts its next
    // column only once this column's psums have left it, `mac_stages`
    // after its last tap (docs/engine.md, "One psum buffer").
    let single_buffer = 2 * map.p.min(pt_s) > model.hw.pe.psum_spad_words;
    // A single column has no next column to wait for.
    let lock_stepped = columns >= 2.0 && lock_step(model, map, c_s, pt_s, (step.sw, cn as u64));
    let column = if lock_stepped {
        chains.lock_step_period(column_taps)
    } else {
        column_taps
    };
    // Only between columns: the last one's drain is in the ramp.
    let buffer_waits = if single_buffer && !lock_stepped {
        (columns - 1.0).max(0.0) * f(model.hw.pe.mac_stages)
    } else {
        0.0
    };
    let ifmap_stream = (ifmap_words - first_window) / k.w_ifmap;
    // The psum GIN and the GON share the psum tile's GLB banks: every
    // transfer takes one port cycle of the bank of each 64-b row it touches,
    // and the tile's rows are interleaved over its banks. A small tile (one
    // bank) can make that port the bottleneck of the pass.
    let psum_banks =
        ceil_nonneg(f(n_s) * gs * f(m_s) * es * big_f / f(model.hw.glb.bank_words)).max(1.0);
    // The full passes of the tile's filter block, or its partial one.
    let (transfer_rows, passes) = tile.rows[usize::from(pt_s != map.p * map.t)];
    let transfers = if first { 1.0 } else { 2.0 };
    let port_words = model.hw.glb.bank_port_words.max(1);
    let even = transfers * gs * es * transfer_rows / psum_banks;
    // The two streams lock only when they run back to back: when the
    // banks, spread evenly, are already busier than the PEs' columns.
    let may_lock = !(first || columns < 2.0 || psum_banks < 2.0 || even < column);
    let locked = || {
        let p_act = map.p.min(pt_s).max(1);
        let lead = (model.hw.pe.psum_spad_words.min(2 * p_act) / p_act).max(1);
        let layout = PsumLayout {
            groups: g_s,
            rows: e_s,
            width: prob.f,
            filters: m_s,
            port: port_words,
            banks: psum_banks as u32,
        };
        layout.locked_rows((map.p, pt_s, lead), 2.0 * gs * es * transfer_rows, passes)
    };
    let bank = columns * even;
    // A PE computes a column once its whole window is in; in a pass bound
    // by the ifmap stream the last PE row's last column comes after the
    // stream's end (docs/engine.md, "The last column after the ifmap
    // stream"). That column is its taps alone: the lock step's wait for
    // the GON is the GON tail below.
    let after_stream = ifmap_stream + column_taps;
    // The last column of a row's filter copies, of every group, ends
    // together when the multicast paces them: in a one-column pass, or one
    // bound by the ifmap stream. The GON then serializes their psums after
    // the PEs' last taps, unless it is the bottleneck anyway
    // (docs/engine.md, "The GON tail of the last column").
    let stream_bound = after_stream >= columns * column + buffer_waits;
    // One chain's transfer; the last row holds `g_s · t_act` chains.
    let chain_gon = gon_transfer / t_act;
    let gon_tail = if columns < 2.0 || stream_bound {
        (gs * gon_transfer - chain_gon).max(0.0)
    } else {
        0.0
    };
    // After the last tap: the MAC pipeline, the chain and the GON. A pass
    // of several columns overlaps the chain's hops with its columns (one
    // cycle each remains); the one column of a one-column pass goes up
    // the chain alone, a hop per link of `ceil(p / link width)` cycles,
    // then takes one chain's GON transfer.
    let ramp = if columns >= 2.0 {
        k.fill + big_r * r_act - 1.0
    } else {
        f(model.hw.pe.mac_stages) + (big_r * r_act - 1.0) * hop + chain_gon
    };
    let weights = if prob.op.has_weights() {
        gs * pts * cs * big_r * big_s * model.weight_factor
    } else {
        0.0
    };
    let filter_gin = if multicast { weights } else { weights * es };
    let load = ceil_nonneg(filter_gin / k.w_filter);
    // The filter GIN sends a PE row's filter words (`p·q·S` of one copy
    // and filter row) as one transfer, in whole cycles: the last copy has
    // its filters after this.
    let last_filters = if multicast && prob.op.has_weights() {
        let row = |p_s: u32, q_s: u32| {
            ceil_nonneg(f(p_s * q_s) * big_s * model.weight_factor / k.w_filter)
        };
        let mut cycles = 0.0;
        for (p_s, p_k) in chunk_sizes(pt_s, map.p) {
            for (q_s, q_k) in chunk_sizes(c_s, map.q) {
                cycles += f(p_k * q_k) * row(p_s, q_s);
            }
        }
        gs * big_r * cycles
    } else {
        load
    };
    let window = first_window / k.w_ifmap;
    // The next pass's filters load from this pass's last tap on, while the
    // GON drains (docs/engine.md, "Filters loading during a GON backlog").
    // From column 1 on, the PEs are paced by their taps or the ifmap
    // stream (and by the psum GIN only `buffers` columns behind); the GON,
    // from the first psums of column 1 (`T + δ` after the PEs start it), by
    // its own demand. The last tap comes `T` after the last column's ifmap
    // words, so the GON still has `T + δ + (gon − pe side)` cycles to go.
    // The PEs run at most `buffers` columns ahead of their GON grants: the
    // last chain's last column starts once the GON has granted its column
    // `F − 1 − buffers`, `buffers` rounds of `K·a` before the GON ends.
    let drain = if columns >= 2.0 {
        let after_first = (columns - 1.0) / columns;
        // Psum columns a PE holds, counted up to two: like the lock step,
        // the cycles see the psum spad only through `min(words, 2p)` (the
        // mapping cache relies on it), which can only shorten the drain.
        let p_act = f(map.p.min(pt_s)).max(1.0);
        let buffers =
            floor_nonneg(f(model.hw.pe.psum_spad_words).min(2.0 * p_act) / p_act).max(1.0);
        let pe_side = ((columns - 1.0) * column)
            .max(ifmap_stream)
            .max(psum_in * (columns - buffers).max(0.0) / columns);
        (column_taps + chains.latency + gon * after_first - pe_side)
            .min(buffers * gon / columns + gon_transfer - column_taps)
            .max(0.0)
    } else {
        // One column: the pipeline, the chain and the GON still run after
        // the last tap.
        ramp
    };
    let cold = load.max(window);
    let warm = (load - drain).max(window);
    // Each strip row's psums reach the GON once that row has its filters
    // and its window, so the GON (and its bank port) works through the
    // earlier rows while the later ones wait: from the first copy's
    // filters (the filter GIN delivers the copies one after the other) and
    // the first row's window (the first part of the stream) on.
    let first_copy = (load - drain).max(0.0) / (gs * t_act);
    let first_row = first_copy.max(window * (big_r / f(rn)).min(1.0)) + column;
    let gon_path = first_row + gon - chain_gon;
    let lead = if columns < 2.0 {
        // One column: the multicast of the window makes the last row's
        // copies finish together; the filter GIN, which delivers one copy
        // after the other, staggers them (the GON serves the earlier
        // copies meanwhile); the psum GIN's reads precede the taps.
        (window + after_stream + gon_tail)
            .max(last_filters - drain + column)
            .max(psum_in + column)
            .max(gon_path)
    } else {
        // The stream runs on while the later copies still wait for their
        // filters, as far as their FIFOs hold the columns' new words.
        let new_cols = if prob.f > 1 {
            ceil_nonneg((cn - big_s.min(cn)) / f(prob.f - 1))
        } else {
            big_s
        };
        let ahead =
            floor_nonneg(f(model.hw.pe.fifo_words) / (f(map.q.min(c_s)) * new_cols).max(1.0));
        let per_column = ifmap_stream / (columns - 1.0);
        let stream_start = (warm - ahead * per_column).max(window);
        let compute = (columns * column + buffer_waits).max(psum_in);
        // Each image starts with a whole window again: the last stream
        // row's PEs compute all `F` columns of the last image only once its
        // window is in, after every earlier word of the stream
        // (docs/engine.md, "Image boundaries").
        // Its last column is its taps alone, as after the stream.
        let per_image = (big_f - 1.0) * (column + buffer_waits / columns) + column_taps;
        let last_image = window + (ns - 1.0) * ifmap_words / (ns * k.w_ifmap) + per_image;
        // The filter GIN delivers the copies one after the other, a PE row
        // per transfer in whole cycles; the last copy then taps its columns
        // back to back, its window long in.
        let last_copy = (last_filters - drain).max(window) + columns * column_taps;
        (stream_start + after_stream + gon_tail)
            .max(warm + compute + if stream_bound { gon_tail } else { 0.0 })
            .max(last_copy)
            .max(last_image + gon_tail)
            .max(gon_path)
    };
    // Before its first taps a chain's bottom PE takes `fifo_words / p_act`
    // columns of psums (at least one) from the psum GIN: those reads use
    // the bank port during the window and the ramp, so a port-bound pass
    // is shorter than the port plus both (docs/engine.md, "Short pooling
    // passes").
    let depth = floor_nonneg(f(model.hw.pe.fifo_words) / f(map.p.min(pt_s)).max(1.0)).max(1.0);
    let prefetch = if first {
        0.0
    } else {
        depth.min(columns) * gs * es * transfer_rows / psum_banks
    };
    let port = if first || columns < 2.0 {
        // The GON's writes follow the rows from the first one on; the psum
        // GIN's reads (of a one-column pass) may all come first. The first
        // write waits for the first row's psums, through the pipeline and
        // the chain: that latency comes before the writes, not after them
        // (docs/engine.md, "The port of a one-column pass").
        let writes = bank / transfers;
        (bank - writes).max(first_row + ramp - chain_gon) + writes
    } else {
        let port_of = |bank: f64| bank + warm + ramp - prefetch.min(warm + ramp);
        let even_port = port_of(bank);
        // The lock can cost at most all the rows; work it out only when
        // that much would lengthen the pass.
        let most = columns * (2.0 * gs * es * transfer_rows).max(even);
        if may_lock && port_of(most) > (lead + ramp).max(even_port) {
            port_of(columns * even.max(locked()))
        } else {
            even_port
        }
    };
    let time = (lead + ramp).max(port);
    Pass {
        time,
        weights,
        hidden: cold - warm,
        filters_read: (last_filters - drain).max(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::{ceil_nonneg, floor_nonneg};

    #[test]
    fn ceil_nonneg_is_ceil() {
        let xs = [
            0.0,
            0.25,
            1.0,
            1.5,
            2.0 - 1e-15,
            4095.999,
            1e15 + 0.5,
            9.1e15,
            2e18,
        ];
        for x in xs.into_iter().chain((0..1000).map(|i| f64::from(i) * 0.37)) {
            assert_eq!(ceil_nonneg(x).to_bits(), x.ceil().to_bits(), "{x}");
            assert_eq!(floor_nonneg(x).to_bits(), x.floor().to_bits(), "{x}");
        }
    }

    use super::super::lockstep::Chains;
    use crate::estimate_layer;
    use crate::mapping::{check, RowStationaryMapping};
    use crate::workload::ConvProblem;
    use eyesim_core::fixtures::{conv, eyeriss_v1};

    fn mapping(e: u32, r: u32, t: u32, p: u32, q: u32, m: u32) -> RowStationaryMapping {
        RowStationaryMapping {
            e,
            r,
            t,
            g: 1,
            p,
            q,
            n: 1,
            m,
            fr: 1,
            fs: 1,
            fw: 1,
        }
    }

    fn processing(prob: &ConvProblem, m: &RowStationaryMapping) -> f64 {
        let hw = eyeriss_v1();
        check(m, prob, &hw).unwrap();
        estimate_layer(prob, m, &hw).processing_cycles as f64
    }

    #[test]
    fn psum_transfers_take_whole_cycles() {
        // VGG conv1_1: 13 filter copies of p = 5 (the last one 4) per ofmap
        // row; a column costs 3 rows × (12·2 + 1) GON cycles, not 3·64/4.
        let prob = conv(1, 1, 3, 64, 224, 3, 1, 1);
        let m = mapping(3, 1, 13, 5, 3, 64);
        let columns = f64::from(prob.e.div_ceil(3) * prob.f);
        assert!(processing(&prob, &m) >= columns * 3.0 * 25.0);
    }

    #[test]
    fn lock_stepped_chains_wait_for_their_gon_burst() {
        // ResNet-50 res2c_branch2c: 16 filter copies × 3 rows of chains, p = 16.
        let prob = conv(1, 1, 64, 256, 56, 1, 1, 0);
        let m = mapping(3, 3, 16, 16, 11, 256);
        let chains = Chains {
            per_row: 16.0,
            rows: 3.0,
            gon: 4.0,
            latency: 2.0 + 2.0 * 4.0,
        };
        let period = chains.lock_step_period(176.0);
        assert!(period > 192.0, "the GON's demand alone");
        // 18 strips of 3 rows (and one of 2), two channel chunks, 56 columns.
        let columns = 2.0 * 18.0 * 56.0;
        assert!(processing(&prob, &m) >= columns * period);
    }

    #[test]
    fn the_first_ifmap_window_streams_while_filters_load() {
        // ResNet-50 res5a_branch2b: ifmap-GIN-bound (9 rows × 9 columns × 12
        // channels a pass) with 432 cycles of filters a pass.
        let prob = conv(1, 1, 512, 512, 7, 3, 1, 1);
        let m = mapping(7, 3, 2, 8, 4, 512);
        let passes = f64::from(512u32.div_ceil(12) * 512u32.div_ceil(16));
        let t = processing(&prob, &m);
        assert!(t >= passes * 972.0);
        assert!(t < passes * (972.0 + 432.0));
    }
}
