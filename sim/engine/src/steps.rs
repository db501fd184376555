//! The loop nest of docs/dataflow.md §3 as a flat list of controller steps,
//! so the controller can look ahead (a pass's filters are fetched while
//! the previous pass runs).

use super::pass::PassSpec;
use super::plan::{chunks, parts, StripRows};
use crate::mapping::RowStationaryMapping;
use crate::workload::ConvProblem;

/// An ifmap tile: the strip's rows of `cs` channels of `gs` groups of `ns` images.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IfmapTile {
    pub g0: u32,
    pub gs: u32,
    pub n0: u32,
    pub ns: u32,
    pub c0: u32,
    pub cs: u32,
    /// Index of the strip's [`StripRows`] (for the fold being loaded).
    pub strip: usize,
}

/// An ofmap tile written back after its last channel chunk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OfmapTile {
    pub g0: u32,
    pub gs: u32,
    pub n0: u32,
    pub ns: u32,
    /// First ofmap row of the strip and its rows.
    pub e0: u32,
    pub es: u32,
    /// First filter of the GLB filter block and its size.
    pub mc0: u32,
    pub ms: u32,
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

/// The filter tiles of a mapping: every fold of the filter rows with
/// every segment of a filter row, `((r0, rh), (s0, sw))`, folds outermost.
pub(crate) fn filter_tiles(
    p: &ConvProblem,
    m: &RowStationaryMapping,
) -> Vec<((u32, u32), (u32, u32))> {
    let segs = parts(p.s, m.fs);
    parts(p.r, m.fr)
        .into_iter()
        .flat_map(|f| segs.iter().map(move |&s| (f, s)))
        .collect()
}

/// The strips' needed rows (one entry per strip and fold) and the
/// controller's steps, in execution order.
pub(crate) fn steps(p: &ConvProblem, m: &RowStationaryMapping) -> (Vec<StripRows>, Vec<Step>) {
    let mut strips = Vec::new();
    let mut out = Vec::new();
    let folds = parts(p.r, m.fr);
    let segs = parts(p.s, m.fs).len();
    for (g0, gs) in chunks(p.g, m.g) {
        for (n0, ns) in chunks(p.n, m.n) {
            for (e0, es) in chunks(p.e, m.e) {
                let first = strips.len();
                strips.extend(folds.iter().map(|&f| StripRows::new(p, e0, es, f)));
                for (mc0, ms) in chunks(p.m, m.m) {
                    let words = (ns * gs * ms * es * p.f) as usize;
                    out.push(Step::PsumTile { words });
                    for (c0, cs) in chunks(p.c, m.q * m.r) {
                        for k in 0..folds.len() {
                            let strip = first + k;
                            out.push(Step::Load(IfmapTile {
                                g0,
                                gs,
                                n0,
                                ns,
                                c0,
                                cs,
                                strip,
                            }));
                            for l in 0..segs {
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
                                        first_cc: c0 == 0 && k == 0 && l == 0,
                                        tile: k * segs + l,
                                    };
                                    out.push(Step::Pass { spec, strip });
                                }
                            }
                        }
                    }
                    out.push(Step::Store(OfmapTile {
                        g0,
                        gs,
                        n0,
                        ns,
                        e0,
                        es,
                        mc0,
                        ms,
                    }));
                }
            }
        }
    }
    (strips, out)
}
