//! The loop nest of docs/dataflow.md §3 as a flat list of controller steps,
//! so the controller can look ahead (a pass's filters are fetched while
//! the previous pass runs).

use super::pass::PassSpec;
use super::plan::{chunks, StripRows};
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
    /// Index of the strip's [`StripRows`].
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
    /// One processing pass over the strip `strip`.
    Pass { spec: PassSpec, strip: usize },
    /// GLB → DRAM ofmap tile.
    Store(OfmapTile),
}

/// The strips' needed rows and the controller's steps, in execution order.
pub(crate) fn steps(p: &ConvProblem, m: &RowStationaryMapping) -> (Vec<StripRows>, Vec<Step>) {
    let mut strips = Vec::new();
    let mut out = Vec::new();
    for (g0, gs) in chunks(p.g, m.g) {
        for (n0, ns) in chunks(p.n, m.n) {
            for (e0, es) in chunks(p.e, m.e) {
                let strip = strips.len();
                strips.push(StripRows::new(p, e0, es));
                for (mc0, ms) in chunks(p.m, m.m) {
                    let words = (ns * gs * ms * es * p.f) as usize;
                    out.push(Step::PsumTile { words });
                    for (c0, cs) in chunks(p.c, m.q * m.r) {
                        out.push(Step::Load(IfmapTile {
                            g0,
                            gs,
                            n0,
                            ns,
                            c0,
                            cs,
                            strip,
                        }));
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
                            out.push(Step::Pass { spec, strip });
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
