//! Where a pass's PEs sit, which psum chains they form, and the IDs the
//! controller programs into the three GINs (docs/dataflow.md §3–§4).
//!
//! All of it follows from the layer (tile) and four sizes of the pass, so a
//! layer's passes of one shape share one [`Placement`], built at the first
//! of them: a layer runs hundreds to tens of thousands of passes of a
//! handful of shapes.

use super::{LayerCtx, PassSpec};
use crate::mapping::CopySlot;
use crate::pe::{PeRole, RING};
use crate::plan::StripRows;
use crate::tags::TagConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The sizes a placement depends on besides its layer tile: groups, pass
/// filters, channels and strip rows. The strip's rows follow from the tile
/// and its strip rows; [`Placement::fits`] checks it.
type ShapeKey = [u32; 4];

/// A layer tile's placements, by shape, shared by the threads its psum
/// tiles run ahead on.
#[derive(Default)]
pub(crate) struct Placements(Mutex<HashMap<ShapeKey, Arc<Placement>>>);

impl Placements {
    /// The placement of pass `spec` on strip `rows`, built on first use.
    pub(crate) fn get(
        &self,
        ctx: &LayerCtx<'_>,
        spec: &PassSpec,
        rows: &StripRows,
    ) -> Arc<Placement> {
        let key = [
            spec.groups,
            spec.pass_filters,
            spec.channels,
            spec.strip_rows,
        ];
        let found = self.0.lock().ok().and_then(|m| m.get(&key).cloned());
        if let Some(place) = found.filter(|p| p.fits(rows)) {
            return place;
        }
        let place = Arc::new(Placement::new(ctx, spec, rows));
        if let Ok(mut m) = self.0.lock() {
            m.insert(key, place.clone());
        }
        place
    }
}

/// Sizes of a psum chain that the pass's timing reads.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(test, derive(PartialEq))]
pub(crate) struct ChainShape {
    /// Its group copy.
    pub gi: u32,
    /// Its filter copy.
    pub ti: u32,
    /// Its strip row.
    pub j: u32,
    /// The filters its PEs hold.
    pub p_act: u32,
    /// Psum buffers each member has: it may run ahead of the chain by that
    /// many columns (`psum_spad_words / p`, at least 1).
    pub buffers: u32,
    /// Cycles a column's `p` psums take on a local link.
    pub hop: u64,
    /// Columns of psums the bottom PE's FIFO holds (`fifo_words / p`, at
    /// least 1).
    pub fifo_depth: u32,
}

/// The tag configurations of the three GINs for the pass.
#[derive(Debug)]
#[cfg_attr(test, derive(PartialEq))]
pub(crate) struct PassTags {
    /// A class per filter row (copy, filter row).
    pub filter: TagConfig,
    /// A class per (group, channel copy, stored ifmap row).
    pub ifmap: TagConfig,
    /// A class per psum chain: its bottom PE.
    pub psum: TagConfig,
}

/// The PEs of a pass shape and how the networks reach them.
#[derive(Debug)]
#[cfg_attr(test, derive(PartialEq))]
pub(crate) struct Placement {
    /// Each PE's role, by PE index.
    pub roles: Vec<PeRole>,
    /// PEs of each filter row `(copy, filter row)`, in send order.
    pub filter_rows: Vec<Vec<u32>>,
    /// Each psum chain's sizes.
    pub chains: Vec<ChainShape>,
    /// Each chain's PEs, bottom first.
    pub members: Vec<Vec<u32>>,
    /// PEs that read each of the strip's stored rows.
    pub row_readers: Vec<Vec<u32>>,
    /// The most channels a reader of each stored row holds.
    pub row_q_max: Vec<u32>,
    /// The IDs the controller programs into the three GINs.
    pub tags: PassTags,
    /// Channel copies active in the pass.
    channel_copies: u32,
    /// The strip rows' storage slots it was placed for.
    slot_of: Vec<u32>,
}

impl Placement {
    /// Places the active copies of pass `spec` on strip `rows`.
    fn new(ctx: &LayerCtx<'_>, spec: &PassSpec, rows: &StripRows) -> Self {
        let mut place = Placement {
            roles: Vec::new(),
            filter_rows: Vec::new(),
            chains: Vec::new(),
            members: Vec::new(),
            row_readers: vec![Vec::new(); rows.needed() as usize],
            row_q_max: vec![0; rows.needed() as usize],
            tags: PassTags {
                filter: TagConfig::default(),
                ifmap: TagConfig::default(),
                psum: TagConfig::default(),
            },
            channel_copies: spec.channels.div_ceil(ctx.map.q),
            slot_of: rows.slot_of.clone(),
        };
        let active = place.place_pes(ctx, spec, rows);
        place.form_chains(ctx, spec, &active);
        for (k, role) in place.roles.iter().enumerate() {
            let y = role.yi as usize;
            place.row_readers[y].push(k as u32);
            place.row_q_max[y] = place.row_q_max[y].max(role.q_act);
        }
        place.tags = place.program_tags(ctx, spec, rows);
        place
    }

    /// The ifmap multicast class of the PEs of group copy `gi` and channel
    /// copy `ri` that read stored row `yi`: they all take the same words.
    pub(crate) fn ifmap_class(&self, gi: u32, ri: u32, yi: u32) -> u32 {
        let rn = self.row_readers.len() as u32;
        (gi * self.channel_copies + ri) * rn + yi
    }

    /// Whether it was placed for the strip rows `rows`.
    fn fits(&self, rows: &StripRows) -> bool {
        self.slot_of == rows.slot_of
    }

    /// The PEs of every active copy, row by row; returns the copies.
    fn place_pes(
        &mut self,
        ctx: &LayerCtx<'_>,
        spec: &PassSpec,
        rows: &StripRows,
    ) -> Vec<CopySlot> {
        let (prob, m) = (ctx.prob, ctx.map);
        let r_act = spec.channels.div_ceil(m.q);
        let t_act = spec.pass_filters.div_ceil(m.p);
        let es = spec.strip_rows;
        let active: Vec<CopySlot> = ctx
            .slots
            .iter()
            .copied()
            .filter(|s| s.ri < r_act && s.ti < t_act && s.gi < spec.groups)
            .collect();
        for slot in &active {
            let q_act = (spec.channels - slot.ri * m.q).min(m.q);
            let p_act = (spec.pass_filters - slot.ti * m.p).min(m.p);
            for i in 0..prob.r {
                let mut row = Vec::with_capacity(es as usize);
                for j in 0..es {
                    row.push(self.roles.len() as u32);
                    self.roles.push(PeRole {
                        pos: ctx.geo.pe_position(slot, i, j),
                        gi: slot.gi,
                        ri: slot.ri,
                        ti: slot.ti,
                        i,
                        q_act,
                        p_act,
                        chain: (slot.gi * t_act + slot.ti) * es + j,
                        yi: rows.slot_of[(j * prob.u_h + i * prob.d_h) as usize],
                        chain_pos: slot.ri * prob.r + (prob.r - 1 - i),
                    });
                }
                self.filter_rows.push(row);
            }
        }
        active
    }

    /// The psum chains: one per (group, filter copy, strip row), through
    /// every channel copy's filter rows, bottom up.
    fn form_chains(&mut self, ctx: &LayerCtx<'_>, spec: &PassSpec, active: &[CopySlot]) {
        let (prob, m, hw) = (ctx.prob, ctx.map, ctx.hw);
        let r_act = spec.channels.div_ceil(m.q);
        let t_act = spec.pass_filters.div_ceil(m.p);
        let es = spec.strip_rows;
        let mut index = vec![u32::MAX; (spec.groups * t_act * r_act) as usize];
        for (a, s) in active.iter().enumerate() {
            index[((s.gi * t_act + s.ti) * r_act + s.ri) as usize] = a as u32;
        }
        let pe_index = |a: u32, i: u32, j: u32| (a * prob.r + i) * es + j;
        let link = u64::from(hw.words_per_cycle(hw.noc.local_psum_bits));
        for gi in 0..spec.groups {
            for ti in 0..t_act {
                let p_act = (spec.pass_filters - ti * m.p).min(m.p);
                let per_p = |words: u32| (words / p_act.max(1)).clamp(1, RING as u32 - 1);
                for j in 0..es {
                    let mut members = Vec::with_capacity((r_act * prob.r) as usize);
                    for ri in 0..r_act {
                        let a = index[((gi * t_act + ti) * r_act + ri) as usize];
                        for i in (0..prob.r).rev() {
                            members.push(pe_index(a, i, j));
                        }
                    }
                    self.members.push(members);
                    self.chains.push(ChainShape {
                        gi,
                        ti,
                        j,
                        p_act,
                        buffers: per_p(hw.pe.psum_spad_words),
                        hop: u64::from(p_act).div_ceil(link.max(1)),
                        fifo_depth: per_p(hw.pe.fifo_words),
                    });
                }
            }
        }
    }

    /// Programs the multicast IDs of the three GINs: PEs that need the same
    /// words share a class (with multicast off, every PE is its own class).
    fn program_tags(&self, ctx: &LayerCtx<'_>, spec: &PassSpec, rows: &StripRows) -> PassTags {
        let buses = ctx.hw.array.rows;
        let multicast = ctx.hw.noc.multicast;
        let bus: Vec<u32> = self.roles.iter().map(|r| r.pos.0).collect();
        let n = self.roles.len() as u32;
        let mut filter_class = vec![0; n as usize];
        for (row, members) in self.filter_rows.iter().enumerate() {
            for &k in members {
                filter_class[k as usize] = if multicast { row as u32 } else { k };
            }
        }
        let ifmap_class: Vec<u32> = self
            .roles
            .iter()
            .enumerate()
            .map(|(k, r)| {
                if multicast {
                    self.ifmap_class(r.gi, r.ri, r.yi)
                } else {
                    k as u32
                }
            })
            .collect();
        let ifmap_classes = if multicast {
            spec.groups * self.channel_copies * rows.needed()
        } else {
            n
        };
        let mut psum_class = vec![u32::MAX; n as usize];
        for (ci, members) in self.members.iter().enumerate() {
            psum_class[members[0] as usize] = ci as u32;
        }
        let filter_classes = if multicast {
            self.filter_rows.len() as u32
        } else {
            n
        };
        PassTags {
            filter: TagConfig::new(buses, bus.clone(), filter_class, filter_classes),
            ifmap: TagConfig::new(buses, bus.clone(), ifmap_class, ifmap_classes),
            psum: TagConfig::new(buses, bus, psum_class, self.chains.len() as u32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datapath::Operands;
    use crate::hw::HwConfig;
    use crate::mapping::{Geometry, RowStationaryMapping};
    use crate::plan::ColumnPlan;
    use crate::steps::{steps, Step};
    use crate::tests::{conv, map, tiny_hw};
    use crate::workload::{ConvProblem, Op};

    /// A layer tile's context, without operands (placing reads none).
    fn context<'a>(
        prob: &'a ConvProblem,
        map: &'a RowStationaryMapping,
        hw: &'a HwConfig,
    ) -> LayerCtx<'a> {
        let geo = Geometry::new(map, prob, &hw.array).expect("fits");
        let ops = Operands {
            ifmap: &[],
            weights: &[],
            bias: &[],
        };
        LayerCtx::new(
            prob,
            (hw, map, geo),
            ColumnPlan::new(prob, (0, prob.s)),
            ops,
        )
    }

    /// Strip rows other than those a placement was built for (here, those
    /// of the layer with its filter rows dilated) get a placement of their
    /// own, not the cached one of the same shape.
    #[test]
    fn other_strip_rows_are_placed_anew() {
        let hw = tiny_hw();
        let prob = conv(Op::Mac, 1, 1, 4, 4, 9, 9, 3, 3, 1, 0);
        let map = map(3, 1, 1, 1, 2, 2, 1, 4);
        let ctx = context(&prob, &map, &hw);
        let (strips, plan) = steps(&prob, &map);
        let Some(Step::Pass { spec, strip }) = plan.iter().find(|s| matches!(s, Step::Pass { .. }))
        else {
            panic!("the layer has no pass");
        };
        let rows = &strips[*strip];
        let dilated = ConvProblem { d_h: 2, ..prob };
        let other = StripRows::new(&dilated, 0, spec.strip_rows, (0, prob.r));
        assert_ne!(rows.slot_of, other.slot_of);
        let first = ctx.placements.get(&ctx, spec, rows);
        let second = ctx.placements.get(&ctx, spec, &other);
        assert_eq!(*second, Placement::new(&ctx, spec, &other));
        assert_ne!(*first, *second);
    }

    /// Every pass of layers whose passes come in several shapes (a last
    /// channel chunk, filter pass and strip smaller than the others, with
    /// multicast on and off) gets from the cache exactly the placement
    /// built for it alone, and passes of one shape share one.
    #[test]
    fn a_cached_placement_is_the_one_built_for_the_pass() {
        let mut hw = tiny_hw();
        // 3 groups in twos, 5 channels in chunks of 2, 7 filters in passes
        // of 2, 7 ofmap rows in strips of 3: every size has a smaller last
        // part.
        let prob = conv(Op::Mac, 2, 3, 5, 7, 9, 9, 3, 3, 1, 0);
        let map = map(3, 1, 1, 2, 2, 2, 1, 7);
        let mut shapes = std::collections::BTreeSet::new();
        for multicast in [true, false] {
            hw.noc.multicast = multicast;
            let ctx = context(&prob, &map, &hw);
            let (strips, plan) = steps(&prob, &map);
            let mut shared = Vec::new();
            for step in &plan {
                let Step::Pass { spec, strip } = step else {
                    continue;
                };
                let rows = &strips[*strip];
                let cached = ctx.placements.get(&ctx, spec, rows);
                assert_eq!(*cached, Placement::new(&ctx, spec, rows), "{spec:?}");
                shapes.insert((
                    spec.groups,
                    spec.channels,
                    spec.pass_filters,
                    spec.strip_rows,
                ));
                if !shared.iter().any(|p| Arc::ptr_eq(p, &cached)) {
                    shared.push(cached);
                }
            }
            let passes = plan
                .iter()
                .filter(|s| matches!(s, Step::Pass { .. }))
                .count();
            assert!(
                shared.len() < passes / 4,
                "{} placements for {passes} passes",
                shared.len()
            );
        }
        assert_eq!(shapes.len(), 16, "{shapes:?}");
    }
}
