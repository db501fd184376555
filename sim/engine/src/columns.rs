//! Layers with column tiles (`RowStationaryMapping::fw`, docs/dataflow.md
//! §3): each tile is a layer of its own, run after the one before it on
//! the input columns it reads, with the mapping without column tiles. Its
//! ofmap columns are put in place, and everything it counted adds up.

use super::components::ComponentStats;
use super::controller::{self, Outcome, RunError};
use super::datapath::Operands;
use super::fault::Injector;
use super::segments::Ahead;
use crate::hw::HwConfig;
use crate::mapping::RowStationaryMapping;
use crate::workload::{ColumnTile, ConvProblem};

/// Runs `prob` under `map`: as one layer, or tile by tile.
pub(crate) fn run(
    prob: &ConvProblem,
    map: &RowStationaryMapping,
    hw: &HwConfig,
    ops: Operands<'_>,
    trace: bool,
    inject: Injector,
    ahead: Ahead,
) -> Result<Outcome, RunError> {
    if map.fw <= 1 {
        return controller::run_layer(prob, map, hw, ops, trace, inject, ahead);
    }
    let tiles = prob
        .column_tiles(map.fw)
        .ok_or_else(|| RunError::Internal(format!("fw = {} has no column tiles", map.fw)))?;
    let base = map.untiled();
    let mut total: Option<Outcome> = None;
    let mut inject = inject;
    for tile in &tiles {
        let ifmap = tile_ifmap(prob, tile, ops.ifmap);
        let tile_ops = Operands {
            ifmap: &ifmap,
            ..ops
        };
        let mut out = controller::run_layer(&tile.prob, &base, hw, tile_ops, trace, inject, ahead)?;
        // The injector counts the site's transfers over all tiles.
        inject = std::mem::take(&mut out.inject);
        total = Some(match total {
            None => widen(prob, tile, out),
            Some(t) => append(prob, tile, t, out),
        });
    }
    let mut total = total.ok_or_else(|| RunError::Internal("no column tiles".into()))?;
    total.inject = inject;
    total.stats.pe.utilization =
        utilization(&total.stats, total.active_pes, total.processing_cycles);
    Ok(total)
}

/// The tile's ifmap `[n][g·c][h][w_t]`: its columns of the layer's.
fn tile_ifmap(prob: &ConvProblem, tile: &ColumnTile, ifmap: &[i16]) -> Vec<i16> {
    let (w, wt, c0) = (prob.w as usize, tile.prob.w as usize, tile.in_col as usize);
    ifmap
        .chunks_exact(w)
        .flat_map(|row| &row[c0..c0 + wt])
        .copied()
        .collect()
}

/// The first tile's outcome with its ofmap placed in the layer's.
fn widen(prob: &ConvProblem, tile: &ColumnTile, mut out: Outcome) -> Outcome {
    let tile_ofmap = std::mem::take(&mut out.ofmap);
    out.ofmap = vec![0; tile_ofmap.len() / tile.prob.f as usize * prob.f as usize];
    place(prob, tile, &tile_ofmap, &mut out.ofmap);
    out
}

/// Copies a tile's ofmap rows `[..][f_t]` into the layer's `[..][F]`.
fn place(prob: &ConvProblem, tile: &ColumnTile, from: &[i16], into: &mut [i16]) {
    let (f, ft, c0) = (prob.f as usize, tile.prob.f as usize, tile.out_col as usize);
    for (src, dst) in from.chunks_exact(ft).zip(into.chunks_exact_mut(f)) {
        dst[c0..c0 + ft].copy_from_slice(src);
    }
}

/// `t` followed by the next tile's outcome `o`, which ran after it: its
/// trace spans move past `t`'s cycles, or past `t`'s last span if that
/// ends later (with DRAM overlapped, the chip timeline the spans are on
/// can run past the layer's cycles).
fn append(prob: &ConvProblem, tile: &ColumnTile, mut t: Outcome, mut o: Outcome) -> Outcome {
    place(prob, tile, &o.ofmap, &mut t.ofmap);
    if let (Some(tr), Some(more)) = (t.trace.as_mut(), o.trace.as_mut()) {
        let last = tr.spans.iter().map(|s| s.end).max().unwrap_or(0);
        let shift = t.cycles.max(last);
        for mut s in more.spans.drain(..) {
            s.start += shift;
            s.end += shift;
            tr.spans.push(s);
        }
    }
    t.counts += o.counts;
    t.processing_cycles += o.processing_cycles;
    t.cycles += o.cycles;
    add_stats(&mut t.stats, &o.stats);
    t.active_pes = t.active_pes.max(o.active_pes);
    t.mac_pes = t.mac_pes.max(o.mac_pes);
    t.adopted += o.adopted;
    for tile in o.glb_tiles {
        if !t.glb_tiles.contains(&tile) {
            t.glb_tiles.push(tile);
        }
    }
    t
}

/// Adds a later tile's component statistics.
fn add_stats(s: &mut ComponentStats, o: &ComponentStats) {
    s.add_passes(o);
    let (d, od) = (&mut s.dram, &o.dram);
    d.busy_cycles += od.busy_cycles;
    d.serialized_cycles += od.serialized_cycles;
    d.read_words += od.read_words;
    d.write_words += od.write_words;
    d.transfers += od.transfers;
    let g = &mut s.glb;
    if g.bank_busy_cycles.len() < o.glb.bank_busy_cycles.len() {
        g.bank_busy_cycles.resize(o.glb.bank_busy_cycles.len(), 0);
    }
    for (b, &ob) in g.bank_busy_cycles.iter_mut().zip(&o.glb.bank_busy_cycles) {
        *b += ob;
    }
    g.conflict_stall_cycles += o.glb.conflict_stall_cycles;
    g.ifmap_banks = g.ifmap_banks.max(o.glb.ifmap_banks);
    g.psum_banks = g.psum_banks.max(o.glb.psum_banks);
}

/// `busy_cycles / (active_pes · processing_cycles)` of the whole layer
/// (the tiles use the same PEs: the mapping's footprint).
fn utilization(s: &ComponentStats, active: u32, processing: u64) -> f64 {
    if processing == 0 || active == 0 {
        return 0.0;
    }
    s.pe.busy_cycles as f64 / (u64::from(active) * processing) as f64
}
