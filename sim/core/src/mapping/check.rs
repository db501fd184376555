//! Legality of a mapping (docs/dataflow.md §2).

use super::{Geometry, RowStationaryMapping};
use crate::hw::HwConfig;
use crate::workload::ConvProblem;
use thiserror::Error;

/// Why a mapping is illegal, or why a layer has no legal mapping at all.
/// Every variant names the violated limit and the values involved.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MapError {
    /// A mapping field that must be at least 1 is 0.
    #[error("mapping field `{field}` is 0; every field must be at least 1")]
    ZeroField {
        /// The field name.
        field: &'static str,
    },
    /// `p·q·S` filter words do not fit the filter spad (`S` the taps of
    /// the widest segment).
    #[error(
        "filter spad too small: p·q·S = {p}·{q}·{s} = {need} words > filter_spad_words = {have}"
    )]
    FilterSpad {
        /// Filters per PE.
        p: u32,
        /// Channels per PE.
        q: u32,
        /// Filter width.
        s: u32,
        /// Words needed.
        need: u64,
        /// Words available.
        have: u32,
    },
    /// `q·S` ifmap words do not fit the ifmap spad.
    #[error("ifmap spad too small: q·S = {q}·{s} = {need} words > ifmap_spad_words = {have}")]
    IfmapSpad {
        /// Channels per PE.
        q: u32,
        /// Filter width.
        s: u32,
        /// Words needed.
        need: u64,
        /// Words available.
        have: u32,
    },
    /// `p` psums do not fit the psum spad.
    #[error("psum spad too small: p = {p} > psum_spad_words = {have}")]
    PsumSpad {
        /// Filters per PE.
        p: u32,
        /// Words available.
        have: u32,
    },
    /// The strip is taller than the ofmap.
    #[error("strip rows e = {e} exceed ofmap height E = {big_e}")]
    StripRows {
        /// Strip rows.
        e: u32,
        /// Ofmap height.
        big_e: u32,
    },
    /// The logical set (the tallest fold's rows per segment) is taller than the array.
    #[error("set too tall: filter rows per fold ceil(R/fr) = {r} × {segments} segment(s) = {need} > array rows = {rows}")]
    SetTooTall {
        /// Filter rows of the tallest fold.
        r: u32,
        /// Segments of the set (ceil(e / cols)).
        segments: u32,
        /// Rows needed.
        need: u64,
        /// Array rows.
        rows: u32,
    },
    /// More set copies than the array holds.
    #[error("too many set copies: r·t·g = {used} > {capacity} copies that fit the array")]
    Copies {
        /// Copies used.
        used: u64,
        /// Copies that fit.
        capacity: u32,
    },
    /// A replication field exceeds what the layer can use.
    #[error("{field} = {value} exceeds its bound {bound} ({why})")]
    Bound {
        /// The field name.
        field: &'static str,
        /// Its value.
        value: u32,
        /// The largest legal value.
        bound: u32,
        /// What the bound is.
        why: &'static str,
    },
    /// `m` is neither a multiple of `p·t` (≤ M) nor equal to M.
    #[error("m = {m} must be a multiple of p·t = {pt} not above M = {big_m}, or equal M")]
    FilterTile {
        /// Filters held in the GLB.
        m: u32,
        /// Filters per pass.
        pt: u64,
        /// Filters per group.
        big_m: u32,
    },
    /// A column tile would lie wholly in the padding.
    #[error("fw = {fw} column tiles leave a tile with no real input column (only padding)")]
    EmptyColumnTile {
        /// Column tiles.
        fw: u32,
    },
    /// The ifmap and psum tiles do not fit the GLB banks.
    #[error("GLB too small: ifmap tile {ifmap_words} words ({ifmap_banks} banks) + psum tile {psum_words} words ({psum_banks} banks) > {banks} banks of {bank_words} words")]
    Glb {
        /// Ifmap tile words.
        ifmap_words: u64,
        /// Banks the ifmap tile occupies.
        ifmap_banks: u64,
        /// Psum tile words.
        psum_words: u64,
        /// Banks the psum tile occupies.
        psum_banks: u64,
        /// Banks available.
        banks: u32,
        /// Words per bank.
        bank_words: u32,
    },
}

/// Checks `m` against `prob` and `hw` as docs/dataflow.md §2 defines.
/// Reports the first violated limit, in the order of that page.
#[inline]
pub fn check(m: &RowStationaryMapping, prob: &ConvProblem, hw: &HwConfig) -> Result<(), MapError> {
    for (field, v) in [
        ("e", m.e),
        ("r", m.r),
        ("t", m.t),
        ("g", m.g),
        ("p", m.p),
        ("q", m.q),
        ("n", m.n),
        ("m", m.m),
        ("fr", m.fr),
        ("fs", m.fs),
        ("fw", m.fw),
    ] {
        if v == 0 {
            return Err(MapError::ZeroField { field });
        }
    }
    if m.fw > 1 {
        return check_column_tiles(m, prob, hw);
    }
    bound("fr", m.fr, prob.r, "filter height R")?;
    bound("fs", m.fs, prob.s.max(1), "filter width S")?;
    check_spads(m.p, m.q, m.segment_taps(prob), prob, hw)?;
    if m.e > prob.e {
        return Err(MapError::StripRows {
            e: m.e,
            big_e: prob.e,
        });
    }
    let geo = geometry(m.e, m.fr, prob, hw)?;
    let used = u64::from(m.r) * u64::from(m.t) * u64::from(m.g);
    if used > u64::from(geo.capacity()) {
        return Err(MapError::Copies {
            used,
            capacity: geo.capacity(),
        });
    }
    bound("r", m.r, prob.c.div_ceil(m.q), "ceil(C/q) channel chunks")?;
    bound("t", m.t, prob.m.div_ceil(m.p), "ceil(M/p) filter chunks")?;
    bound("g", m.g, prob.g, "groups G")?;
    bound("n", m.n, prob.n, "images N")?;
    let pt = u64::from(m.p) * u64::from(m.t);
    let m_ok = m.m == prob.m || (u64::from(m.m).is_multiple_of(pt) && m.m <= prob.m);
    if !m_ok {
        return Err(MapError::FilterTile {
            m: m.m,
            pt,
            big_m: prob.m,
        });
    }
    check_glb(m, prob, hw, rows_needed(prob, m.e, m.fold_rows(prob)))
}

/// A mapping with column tiles: each tile, a layer of its own, must take
/// the mapping without them.
fn check_column_tiles(
    m: &RowStationaryMapping,
    prob: &ConvProblem,
    hw: &HwConfig,
) -> Result<(), MapError> {
    bound("fw", m.fw, prob.f, "ofmap width F")?;
    let tiles = prob
        .column_tiles(m.fw)
        .ok_or(MapError::EmptyColumnTile { fw: m.fw })?;
    let base = m.untiled();
    tiles.iter().try_for_each(|t| check(&base, &t.prob, hw))
}

/// The spad limits alone (they do not depend on the strip); `s` is the
/// taps of the widest segment of a filter row.
#[inline]
pub fn check_spads(
    p: u32,
    q: u32,
    s: u32,
    prob: &ConvProblem,
    hw: &HwConfig,
) -> Result<(), MapError> {
    let pe = &hw.pe;
    let filter_need = if prob.op.has_weights() {
        u64::from(p) * u64::from(q) * u64::from(s)
    } else {
        0
    };
    if filter_need > u64::from(pe.filter_spad_words) {
        return Err(MapError::FilterSpad {
            p,
            q,
            s,
            need: filter_need,
            have: pe.filter_spad_words,
        });
    }
    let ifmap_need = u64::from(q) * u64::from(s);
    if ifmap_need > u64::from(pe.ifmap_spad_words) {
        return Err(MapError::IfmapSpad {
            q,
            s,
            need: ifmap_need,
            have: pe.ifmap_spad_words,
        });
    }
    if p > pe.psum_spad_words {
        return Err(MapError::PsumSpad {
            p,
            have: pe.psum_spad_words,
        });
    }
    Ok(())
}

/// The set footprint of strip height `e` with `fr` folds, or why the set does not fit.
#[inline]
pub fn geometry(e: u32, fr: u32, prob: &ConvProblem, hw: &HwConfig) -> Result<Geometry, MapError> {
    let probe = RowStationaryMapping {
        e,
        fr,
        r: 1,
        t: 1,
        g: 1,
        p: 1,
        q: 1,
        n: 1,
        m: 1,
        fs: 1,
        fw: 1,
    };
    Geometry::new(&probe, prob, &hw.array).ok_or_else(|| {
        let segments = e.div_ceil(hw.array.cols.max(1));
        let r = probe.fold_rows(prob);
        MapError::SetTooTall {
            r,
            segments,
            need: u64::from(r) * u64::from(segments),
            rows: hw.array.rows,
        }
    })
}

fn bound(field: &'static str, value: u32, bound: u32, why: &'static str) -> Result<(), MapError> {
    if value > bound {
        return Err(MapError::Bound {
            field,
            value,
            bound,
            why,
        });
    }
    Ok(())
}

/// The GLB bank limit, given `rn_max` rows needed by a full strip.
#[inline]
pub fn check_glb(
    m: &RowStationaryMapping,
    prob: &ConvProblem,
    hw: &HwConfig,
    rn_max: u32,
) -> Result<(), MapError> {
    let (ifmap_words, psum_words) = glb_tile_words(m, prob, rn_max);
    let bank_words = hw.glb.bank_words;
    let ifmap_banks = ifmap_words.div_ceil(u64::from(bank_words));
    let psum_banks = psum_words.div_ceil(u64::from(bank_words));
    if ifmap_banks + psum_banks > u64::from(hw.glb.banks) {
        return Err(MapError::Glb {
            ifmap_words,
            ifmap_banks,
            psum_words,
            psum_banks,
            banks: hw.glb.banks,
            bank_words,
        });
    }
    Ok(())
}

/// Ifmap and psum tile words of a mapping in the GLB: what the chip's
/// Table III calls the GLB allocation (docs/reference.md shows the
/// arithmetic for AlexNet). The ifmap tile holds `n·g·q·r` channels of the
/// rows a full strip needs (for the tallest fold), padded width; the psum
/// tile `n·g·m` ofmap planes of `e` rows. With column tiles, the largest
/// tile's (the first: its padded width is the widest).
pub fn glb_allocation(m: &RowStationaryMapping, prob: &ConvProblem) -> (u64, u64) {
    let tiles = prob.column_tiles(m.fw);
    let prob = tiles
        .as_ref()
        .and_then(|t| t.iter().map(|t| &t.prob).max_by_key(|p| p.wp()))
        .unwrap_or(prob);
    glb_tile_words(
        m,
        prob,
        rows_needed(prob, m.e.min(prob.e), m.fold_rows(prob)),
    )
}

/// Ifmap and psum tile words of a mapping in the GLB.
#[inline]
pub fn glb_tile_words(m: &RowStationaryMapping, prob: &ConvProblem, rn_max: u32) -> (u64, u64) {
    let ng = u64::from(m.n) * u64::from(m.g);
    let ifmap = ng * u64::from(m.q) * u64::from(m.r) * u64::from(rn_max) * u64::from(prob.wp());
    let psum = ng * u64::from(m.m) * u64::from(m.e) * u64::from(prob.f);
    (ifmap, psum)
}

/// Padded rows needed by a strip of `e_s` ofmap rows for a fold of `rows`
/// filter rows: `|{ j·Uh + i·Dh : j < e_s, i < rows }|` (the fold's first
/// row only shifts the set).
pub fn rows_needed(prob: &ConvProblem, e_s: u32, rows: u32) -> u32 {
    offsets_needed(e_s, rows, prob.u_h, prob.d_h).len() as u32
}

/// Sorted distinct offsets `{ j·u + i·d : j < count, i < taps }`.
pub fn offsets_needed(count: u32, taps: u32, u: u32, d: u32) -> Vec<u32> {
    if count == 0 || taps == 0 {
        return Vec::new();
    }
    let span = (count - 1) as usize * u as usize + (taps - 1) as usize * d as usize + 1;
    let mut hit = vec![false; span];
    for j in 0..count as usize {
        for i in 0..taps as usize {
            hit[j * u as usize + i * d as usize] = true;
        }
    }
    hit.iter()
        .enumerate()
        .filter_map(|(k, &h)| h.then_some(k as u32))
        .collect()
}
