//! The loop nest of docs/dataflow.md §3 as a flat list of controller steps,
//! so the controller can look ahead (a pass's filters are fetched while
//! the previous pass runs).

use super::pass::PassSpec;
use super::plan::{chunks, parts, StripRows};
use crate::mapping::RowStationaryMapping;
use crate::workload::ConvProblem;

/// An ifmap tile: the strip's rows of `channels` channels of `groups`
/// groups of `images` images.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IfmapTile {
    /// First group and group count.
    pub first_group: u32,
    pub groups: u32,
    /// First image and image count.
    pub first_image: u32,
    pub images: u32,
    /// First channel and channel count.
    pub first_channel: u32,
    pub channels: u32,
    /// Index of the strip's [`StripRows`] (for the fold being loaded).
    pub strip: usize,
}

impl IfmapTile {
    /// Its GLB words, `[n][g][c][RN][Wp]` (padding stored as zeros), for
    /// a strip of `needed` stored rows.
    pub(crate) fn words(&self, prob: &ConvProblem, needed: u32) -> usize {
        let planes = self.images as usize * self.groups as usize * self.channels as usize;
        planes * needed as usize * prob.wp() as usize
    }
}

/// An ofmap tile written back after its last channel chunk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OfmapTile {
    /// First group and group count.
    pub first_group: u32,
    pub groups: u32,
    /// First image and image count.
    pub first_image: u32,
    pub images: u32,
    /// First ofmap row of the strip and its rows.
    pub first_row: u32,
    pub strip_rows: u32,
    /// First filter of the GLB filter block and its size.
    pub block_first_filter: u32,
    pub block_filters: u32,
}

/// One step of the top controller.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// A new psum tile of `words` is allocated (and cleared) in the GLB.
    PsumTile { words: usize },
    /// DRAM → GLB ifmap tile.
    Load(IfmapTile),
    /// One processing pass over the strip's fold `strip`.
    Pass { spec: PassSpec, strip: usize },
    /// GLB → DRAM ofmap tile.
    Store(OfmapTile),
}

/// A filter tile: its filter rows and taps, `((r0, rh), (s0, sw))`.
pub(crate) type FilterTile = ((u32, u32), (u32, u32));

/// The filter tiles of a mapping: every fold of the filter rows with
/// every segment of a filter row, `((r0, rh), (s0, sw))`, folds outermost.
pub(crate) fn filter_tiles(prob: &ConvProblem, map: &RowStationaryMapping) -> Vec<FilterTile> {
    let segs = parts(prob.s, map.fs);
    parts(prob.r, map.fr)
        .into_iter()
        .flat_map(|f| segs.iter().map(move |&s| (f, s)))
        .collect()
}

/// The strips' needed rows (one entry per strip and fold) and the
/// controller's steps, in execution order.
pub(crate) fn steps(prob: &ConvProblem, map: &RowStationaryMapping) -> (Vec<StripRows>, Vec<Step>) {
    let mut strips = Vec::new();
    let mut out = Vec::new();
    let folds = parts(prob.r, map.fr);
    let segs = parts(prob.s, map.fs).len();
    for (g0, gs) in chunks(prob.g, map.g) {
        for (n0, ns) in chunks(prob.n, map.n) {
            for (e0, es) in chunks(prob.e, map.e) {
                let first = strips.len();
                strips.extend(folds.iter().map(|&f| StripRows::new(prob, e0, es, f)));
                for (mc0, ms) in chunks(prob.m, map.m) {
                    let words = (ns * gs * ms * es * prob.f) as usize;
                    out.push(Step::PsumTile { words });
                    for (c0, cs) in chunks(prob.c, map.q * map.r) {
                        for k in 0..folds.len() {
                            let strip = first + k;
                            out.push(Step::Load(IfmapTile {
                                first_group: g0,
                                groups: gs,
                                first_image: n0,
                                images: ns,
                                first_channel: c0,
                                channels: cs,
                                strip,
                            }));
                            for l in 0..segs {
                                for (mf, pts) in chunks(ms, map.p * map.t) {
                                    let spec = PassSpec {
                                        first_group: g0,
                                        groups: gs,
                                        images: ns,
                                        strip_rows: es,
                                        block_first_filter: mc0,
                                        block_filters: ms,
                                        pass_first_filter: mc0 + mf,
                                        pass_filters: pts,
                                        first_channel: c0,
                                        channels: cs,
                                        first_accumulation: c0 == 0 && k == 0 && l == 0,
                                        tile: k * segs + l,
                                    };
                                    out.push(Step::Pass { spec, strip });
                                }
                            }
                        }
                    }
                    out.push(Step::Store(OfmapTile {
                        first_group: g0,
                        groups: gs,
                        first_image: n0,
                        images: ns,
                        first_row: e0,
                        strip_rows: es,
                        block_first_filter: mc0,
                        block_filters: ms,
                    }));
                }
            }
        }
    }
    (strips, out)
}
