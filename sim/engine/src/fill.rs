//! What the controller fills the GLB with: an ifmap tile, its values
//! through the DRAM link's codec, and a pass's weights. Shared by the
//! controller and the psum tiles run ahead (`segments.rs`).

use super::dram::{decoder_faults, DramLink};
use super::fault::{FaultKind, Injector};
use super::pass::{LayerCtx, PassSpec};
use super::plan::StripRows;
use super::steps::{FilterTile, IfmapTile};
use crate::workload::ConvProblem;

/// The pass's weights as DRAM holds them, `[g][filter][channel][R][S]`,
/// cut to the pass's filter tile: `[g][filter][channel][rh][sw]`.
pub(crate) fn filter_values(ctx: &LayerCtx<'_>, tile_at: &[FilterTile], s: &PassSpec) -> Vec<i16> {
    let p = ctx.prob;
    let mut out = Vec::with_capacity(filter_words(ctx.prob, tile_at, s));
    if !p.op.has_weights() {
        return out;
    }
    let rs = (p.r * p.s) as usize;
    let ((r0, rh), (s0, sw)) = tile_at[s.tile];
    let whole = rh == p.r && sw == p.s;
    for g in s.first_group..s.first_group + s.groups {
        for f in s.pass_first_filter..s.pass_first_filter + s.pass_filters {
            let row = ((g * p.m + f) * p.c + s.first_channel) as usize * rs;
            let block = &ctx.ops.weights[row..row + s.channels as usize * rs];
            if whole {
                out.extend_from_slice(block);
                continue;
            }
            for ch in block.chunks(rs) {
                for i in r0..r0 + rh {
                    let at = (i * p.s + s0) as usize;
                    out.extend_from_slice(&ch[at..at + sw as usize]);
                }
            }
        }
    }
    out
}

/// Weights of a pass: `[g][filter][channel][rh][sw]` of its filter tile.
pub(crate) fn filter_words(p: &ConvProblem, tile_at: &[FilterTile], s: &PassSpec) -> usize {
    if !p.op.has_weights() {
        return 0;
    }
    let ((_, rh), (_, sw)) = tile_at[s.tile];
    (s.groups * s.pass_filters * s.channels * rh * sw) as usize
}

/// DRAM → GLB data of an ifmap tile: the strip's real rows of each
/// image-channel as one stream through the DRAM link's codec, stored
/// padded (`RN·Wp` words per image-channel) over `previous` (the GLB tile
/// keeps what it held where no value arrives). Returns the tile and the
/// words the link moved.
pub(crate) fn fetch_ifmap_tile(
    ctx: &LayerCtx<'_>,
    dram: &DramLink,
    inject: &mut Injector,
    (rows, t): (&StripRows, &IfmapTile),
    fault: Option<FaultKind>,
    mut tile: Vec<i16>,
) -> Result<(Vec<i16>, u64), String> {
    let p = ctx.prob;
    let (h, w, wp) = (p.h as usize, p.w as usize, p.wp() as usize);
    let rn = rows.needed() as usize;
    let len = t.words(p, rows.needed());
    // A fresh tile is cleared (padding is stored as zeros); a lost burst
    // leaves the previous tile's values in place.
    tile.resize(len, 0);
    if fault != Some(FaultKind::Drop) {
        tile.fill(0);
    }
    let mut words = 0;
    let mut stream = Vec::with_capacity(rows.real as usize * w);
    let mut plane = 0;
    for k in 0..t.images {
        for gi in 0..t.groups {
            for c in 0..t.channels {
                let ch = ((t.first_group + gi) * p.c + t.first_channel + c) as usize;
                let src = ((t.first_image + k) as usize * (p.g * p.c) as usize + ch) * h * w;
                stream.clear();
                for &y in &rows.rows {
                    if let Some(r) = StripRows::real_row(p, rows.base + y) {
                        let at = src + r as usize * w;
                        stream.extend_from_slice(&ctx.ops.ifmap[at..at + w]);
                    }
                }
                let mut stored = dram.store(&stream, !p.network_input);
                if plane == 0 {
                    if let Some(FaultKind::Flip(bit)) = fault {
                        stored.flip(bit);
                    }
                }
                words += dram.words(&stored);
                let mut vals = dram.load(&stored)?;
                if matches!(stored, super::dram::Stored::Rlc(_)) {
                    decoder_faults(&mut vals, inject);
                }
                if fault != Some(FaultKind::Drop) {
                    place_rows(
                        p,
                        rows,
                        &vals,
                        &mut tile[plane * rn * wp..(plane + 1) * rn * wp],
                    );
                }
                plane += 1;
            }
        }
    }
    Ok((tile, words))
}

/// Writes one decoded image-channel stream (the real rows, `W` values each)
/// into its padded tile plane `[RN][Wp]`; a short stream leaves the rest
/// as it was.
fn place_rows(p: &ConvProblem, rows: &StripRows, vals: &[i16], plane: &mut [i16]) {
    let (w, wp) = (p.w as usize, p.wp() as usize);
    let mut it = vals.chunks(w);
    for (slot, &y) in rows.rows.iter().enumerate() {
        if StripRows::real_row(p, rows.base + y).is_some() {
            let Some(row) = it.next() else { return };
            let at = slot * wp + p.pad.left as usize;
            plane[at..at + row.len()].copy_from_slice(row);
        }
    }
}
