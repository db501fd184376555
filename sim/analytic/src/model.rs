//! The per-layer closed-form model: everything that does not depend on the
//! mapping is computed once, so evaluating one mapping is a few dozen
//! floating-point operations and no allocation.

use super::link::LinkClock;
use super::sparsity::{RlcStreams, TapSplit};
use crate::hw::HwConfig;
use crate::mapping::check::offsets_needed;
use crate::mapping::RowStationaryMapping;
use crate::stats::{Level, LevelCounts, MacCounts, Tensor};
use crate::workload::ConvProblem;

/// Sums over the strips of one strip height `e` and its filter-row folds
/// `fr` (docs/dataflow.md §3).
#[derive(Debug, Clone, Copy, Default)]
pub struct StripSums {
    /// The folds these sums are for.
    pub fr: u32,
    /// Padded rows needed by a full strip for the tallest fold (RN_max).
    pub rn_full: u32,
    /// Padded rows needed, `[full strip, last strip][tall fold, short fold]`
    /// (the fold classes of `mapping::balanced`; 0 where there is none).
    pub rn: [[u32; 2]; 2],
    /// Σ RN over strips and folds.
    pub srn: u64,
    /// Expected DRAM words of one image-channel's ifmap streams, Σ over strips and folds.
    pub dram_in: f64,
    /// Expected DRAM words of one image-filter's ofmap streams, Σ over strips.
    pub dram_out: f64,
    /// The distinct ifmap tile sizes among the strips and folds.
    pub tiles: TileWords,
}

/// The distinct sizes of one image-channel's ifmap streams for one (strip,
/// fold), and how many (strip, fold)s have each: a tile is one DRAM burst,
/// and bursts are summed one size at a time (docs/dataflow.md §6). Holds
/// up to [`TileWords::CAP`] sizes; beyond that it is not `complete`, and
/// [`LayerModel::visit_tiles`] walks the strips again.
#[derive(Debug, Clone, Copy, Default)]
pub struct TileWords {
    sizes: [(f64, u32); TileWords::CAP],
    len: u8,
    complete: bool,
    /// The size of the layer's first tile (the first strip's first fold).
    pub first: f64,
}

impl TileWords {
    /// Distinct sizes held inline: padding at the top and at the bottom,
    /// two fold classes and a last strip rarely give more.
    pub const CAP: usize = 8;

    fn new() -> TileWords {
        TileWords {
            complete: true,
            ..TileWords::default()
        }
    }

    fn add(&mut self, words: f64) {
        let held = &mut self.sizes[..usize::from(self.len)];
        if let Some(size) = held.iter_mut().find(|(w, _)| *w == words) {
            size.1 += 1;
        } else if usize::from(self.len) < TileWords::CAP {
            self.sizes[usize::from(self.len)] = (words, 1);
            self.len += 1;
        } else {
            self.complete = false;
        }
    }

    /// `(words, how many)`, when every size is held.
    pub fn sizes(&self) -> Option<&[(f64, u32)]> {
        self.complete.then(|| &self.sizes[..usize::from(self.len)])
    }
}

/// `(size, how many chunks)` of `chunks(total, k)`; at most two entries.
pub(crate) fn chunk_sizes(total: u32, k: u32) -> [(u32, u32); 2] {
    [(k.min(total), total / k.max(1)), (total % k.max(1), 1)]
}

/// Expected counts before rounding: `[level][tensor][read, write]`, plus MACs
/// `[algorithmic, performed, gated, skipped]`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RawCounts {
    /// Expected reads and writes, `[level][tensor][read, write]`.
    pub cells: [[[f64; 2]; 3]; 4],
    /// Expected MACs: algorithmic, performed, gated, skipped.
    pub macs: [f64; 4],
}

impl RawCounts {
    /// Sets the expected reads and writes of one cell.
    #[inline]
    pub fn set(&mut self, level: Level, tensor: Tensor, reads: f64, writes: f64) {
        self.cells[level as usize][tensor as usize] = [reads, writes];
    }

    /// Energy in the hwconfig's unit.
    #[inline]
    pub fn energy(&self, hw: &HwConfig) -> f64 {
        let c = &hw.energy;
        let costs = [c.dram, c.glb, c.noc, c.rf];
        let mut e = self.macs[1] * c.mac;
        for (row, cost) in self.cells.iter().zip(costs) {
            let words: f64 = row.iter().map(|rw| rw[0] + rw[1]).sum();
            e += words * cost;
        }
        e
    }

    /// The integer counters, rounded once, here.
    pub fn rounded(&self) -> LevelCounts {
        let mut out = LevelCounts::default();
        for (li, level) in crate::stats::LEVELS.iter().enumerate() {
            for (ti, tensor) in crate::stats::TENSORS.iter().enumerate() {
                let [r, w] = self.cells[li][ti];
                out.add(*level, *tensor, round(r), round(w));
            }
        }
        out.macs = MacCounts {
            algorithmic: round(self.macs[0]),
            performed: round(self.macs[1]),
            gated: round(self.macs[2]),
            skipped: round(self.macs[3]),
        };
        out
    }
}

fn round(x: f64) -> u64 {
    x.round().max(0.0) as u64
}

/// Mapping-independent quantities of one layer on one hwconfig.
pub struct LayerModel<'a> {
    /// The layer.
    pub prob: &'a ConvProblem,
    /// The hardware it runs on.
    pub hw: &'a HwConfig,
    /// Columns needed by a full row (CN).
    pub cn: u64,
    /// Algorithmic taps.
    pub taps: f64,
    /// Tap outcomes.
    pub(crate) split: TapSplit,
    /// Weight words moved per weight (density under weight compression, else 1).
    pub weight_factor: f64,
    /// Largest strip height any mapping can use.
    pub e_max: u32,
    /// Strip sums, indexed by `e - 1`.
    pub strips: Vec<StripSums>,
    /// Expected DRAM words of the ifmap's and the ofmap's streams.
    streams: Streams,
    /// The DRAM link's clock against the core's.
    pub(crate) link: LinkClock,
}

/// Expected DRAM words of one layer's ifmap and ofmap streams.
pub(crate) struct Streams {
    ifmap: RlcStreams,
    ofmap: RlcStreams,
}

impl Streams {
    /// Tables for every stream length the layer's strips can have: an
    /// ifmap stream is at most the whole plane, an ofmap one too.
    fn new(prob: &ConvProblem, hw: &HwConfig) -> Streams {
        let rlc = hw.sparsity.rlc.as_ref();
        let rlc_in = if prob.network_input { None } else { rlc };
        let wb = hw.pe.word_bits;
        let plane = |a: u32, b: u32| u64::from(a) * u64::from(b);
        Streams {
            ifmap: RlcStreams::new(prob.ifmap_zero_fraction, rlc_in, wb, plane(prob.h, prob.w)),
            ofmap: RlcStreams::new(prob.ofmap_zero_fraction, rlc, wb, plane(prob.e, prob.f)),
        }
    }
}

impl<'a> LayerModel<'a> {
    /// Precomputes the per-layer tables (strip heights up to the array
    /// limit, each with the folds the search gives it).
    pub fn new(prob: &'a ConvProblem, hw: &'a HwConfig) -> LayerModel<'a> {
        let e_max = crate::mapping::strip_limit(prob, hw);
        LayerModel::with_e_max(prob, hw, e_max)
    }

    /// Like [`LayerModel::new`], with strip tables for `1..=e_max` only.
    pub fn with_e_max(prob: &'a ConvProblem, hw: &'a HwConfig, e_max: u32) -> LayerModel<'a> {
        let taps = prob.macs() as f64;
        let real = real_taps(prob);
        let zero_x = (taps - real) + real * prob.ifmap_zero_fraction;
        let split = TapSplit::new(prob, hw, taps, zero_x);
        let weight_factor = if hw.sparsity.weight_compression {
            prob.weight_density
        } else {
            1.0
        };
        let cn = offsets_needed(prob.f, prob.s, prob.u_w, prob.d_w).len() as u64;
        let streams = Streams::new(prob, hw);
        let strips = (1..=e_max)
            .map(|e| {
                let fr = crate::mapping::folds_for(prob, hw, e).unwrap_or(1);
                strip_sums(prob, &streams, e, fr)
            })
            .collect();
        LayerModel {
            prob,
            hw,
            cn,
            taps,
            split,
            weight_factor,
            e_max,
            strips,
            streams,
            link: LinkClock::new(hw),
        }
    }

    /// Strip sums of strip height `e` with `fr` folds (computed on the fly
    /// beyond `e_max` or for other folds than the search's).
    #[inline]
    pub fn strip(&self, e: u32, fr: u32) -> StripSums {
        match self.strips.get(e.wrapping_sub(1) as usize) {
            Some(s) if s.fr == fr => *s,
            _ => strip_sums(self.prob, &self.streams, e, fr),
        }
    }

    /// Calls `visit(words)` with the expected DRAM words of one
    /// image-channel's ifmap streams for every (strip, fold) of `st`, one
    /// distinct size at a time with how many have it.
    pub fn visit_tiles(&self, e: u32, st: &StripSums, mut visit: impl FnMut(f64, u32)) {
        match st.tiles.sizes() {
            Some(sizes) => sizes.iter().for_each(|&(w, k)| visit(w, k)),
            None => {
                let (e, fr) = (e.max(1), st.fr.clamp(1, self.prob.r.max(1)));
                let (full, last) = fold_offsets(self.prob, e, fr);
                strip_folds(self.prob, &self.streams, (e, fr), (&full, &last), |_, w| {
                    visit(w, 1)
                })
            }
        }
    }

    /// Expected DRAM words of one image-filter's ofmap stream of `rows` rows.
    pub fn ofmap_stream_words(&self, rows: u32) -> f64 {
        self.streams
            .ofmap
            .words(u64::from(rows) * u64::from(self.prob.f))
    }

    /// Columns needed by a full ofmap row for each segment class of `fs`
    /// segments: `[(CN, segments); 2]` (`mapping::balanced` classes).
    #[inline]
    pub fn segment_columns(&self, fs: u32) -> [(u64, u32); 2] {
        let prob = self.prob;
        if fs <= 1 {
            return [(self.cn, 1), (0, 0)];
        }
        crate::mapping::balanced(prob.s, fs).map(|(taps, count)| {
            let cn = if count == 0 {
                0
            } else {
                offsets_needed(prob.f, taps, prob.u_w, prob.d_w).len() as u64
            };
            (cn, count)
        })
    }

    /// Expected counts of `m` (docs/dataflow.md §4, summed in closed form).
    #[inline]
    pub fn counts(&self, map: &RowStationaryMapping, st: &StripSums) -> RawCounts {
        let prob = self.prob;
        let f = |x: u32| f64::from(x);
        let (big_n, big_g, big_c, big_m) = (f(prob.n), f(prob.g), f(prob.c), f(prob.m));
        let (big_e, big_f, big_r) = (f(prob.e), f(prob.f), f(prob.r));
        let strips = f(prob.e.div_ceil(map.e));
        let k_n = f(prob.n.div_ceil(map.n));
        let k_m = f(prob.m.div_ceil(map.m));
        let pt = map.p * map.t;
        let passes = f(prob.m.div_ceil(pt));
        // Full filter chunks are multiples of prob, so Σ t_act = ceil(M/p) for any t.
        let t_act_sum = f(prob.m.div_ceil(map.p));
        let qr = map.q * map.r;
        let k_c = f(prob.c.div_ceil(qr));
        let r_act_sum = f(prob.c.div_ceil(map.q));
        let weights = prob.weights() as f64 * self.weight_factor;
        let ofmap = big_n * big_g * big_m * big_e * big_f;
        let ngc = big_n * big_g * big_c;
        let multicast = self.hw.noc.multicast;
        // Every (channel chunk, fold, segment) is one accumulation step.
        let (fr, fs) = (f(map.fr), f(map.fs));
        let steps = k_c * fr * fs;
        let cn: f64 = self
            .segment_columns(map.fs)
            .iter()
            .map(|&(cn, k)| cn as f64 * f(k))
            .sum();

        let mut out = RawCounts::default();
        let noc_ifmap = ngc * big_r * big_e * cn * t_act_sum;
        let glb_ifmap_reads = if multicast {
            ngc * cn * st.srn as f64 * passes
        } else {
            noc_ifmap
        };
        let filter_moves = weights * k_n * strips;
        let noc_filter = weights * k_n * big_e;
        let glb_filter_reads = if multicast { filter_moves } else { noc_filter };
        out.set(Level::Dram, Tensor::Ifmap, ngc * k_m * st.dram_in, 0.0);
        out.set(Level::Dram, Tensor::Filter, filter_moves, 0.0);
        out.set(
            Level::Dram,
            Tensor::Psum,
            0.0,
            big_n * big_g * big_m * st.dram_out,
        );
        let glb_ifmap_writes = ngc * f(prob.wp()) * st.srn as f64 * k_m;
        out.set(Level::Glb, Tensor::Ifmap, glb_ifmap_reads, glb_ifmap_writes);
        out.set(Level::Glb, Tensor::Filter, glb_filter_reads, filter_moves);
        out.set(Level::Glb, Tensor::Psum, ofmap * steps, ofmap * steps);
        out.set(Level::Noc, Tensor::Ifmap, noc_ifmap, 0.0);
        out.set(Level::Noc, Tensor::Filter, noc_filter, 0.0);
        out.set(
            Level::Noc,
            Tensor::Psum,
            ofmap * (big_r * fs * r_act_sum - 1.0),
            ofmap * steps,
        );
        let s = &self.split;
        out.set(Level::Rf, Tensor::Ifmap, s.ifmap_reads, noc_ifmap);
        out.set(Level::Rf, Tensor::Filter, s.filter_reads, noc_filter);
        out.set(Level::Rf, Tensor::Psum, s.performed, s.performed);
        out.macs = [self.taps, s.performed, s.gated, s.skipped];
        out
    }
}

/// Taps that fall on real (not padding) ifmap positions, for the whole batch.
fn real_taps(prob: &ConvProblem) -> f64 {
    let v = axis_real(prob.e, prob.r, prob.u_h, prob.d_h, prob.pad.top, prob.h);
    let h = axis_real(prob.f, prob.s, prob.u_w, prob.d_w, prob.pad.left, prob.w);
    let rest = [prob.n, prob.g, prob.m, prob.c]
        .iter()
        .map(|&x| f64::from(x))
        .product::<f64>();
    rest * v as f64 * h as f64
}

/// `|{(o, k) : o < outs, k < taps, lo ≤ o·u + k·d < lo + len}|`.
fn axis_real(outs: u32, taps: u32, u: u32, d: u32, lo: u32, len: u32) -> u64 {
    let (lo, hi) = (u64::from(lo), u64::from(lo) + u64::from(len));
    let mut count = 0;
    for k in 0..u64::from(taps) {
        let off = k * u64::from(d);
        // o·u + off ∈ [lo, hi) ⇔ o ∈ [ceil((lo-off)/u), ceil((hi-off)/u)).
        let first = lo.saturating_sub(off).div_ceil(u64::from(u));
        let end = hi
            .saturating_sub(off)
            .div_ceil(u64::from(u))
            .min(u64::from(outs));
        count += end.saturating_sub(first);
    }
    count
}

/// Sums over the strips of height `e` and the `fr` folds of each (a
/// handful of distinct sizes, but the real-row count depends on where the
/// strip and the fold sit).
fn strip_sums(prob: &ConvProblem, streams: &Streams, e: u32, fr: u32) -> StripSums {
    let e = e.max(1);
    let fr = fr.clamp(1, prob.r.max(1));
    let (full, last) = fold_offsets(prob, e, fr);
    let mut sums = StripSums {
        fr,
        rn_full: full[0].len() as u32,
        rn: [
            [full[0].len() as u32, full[1].len() as u32],
            [last[0].len() as u32, last[1].len() as u32],
        ],
        tiles: TileWords::new(),
        ..StripSums::default()
    };
    let (srn, dram_in) = (&mut sums.srn, &mut sums.dram_in);
    let tiles = &mut sums.tiles;
    let mut first = None;
    strip_folds(prob, streams, (e, fr), (&full, &last), |rows, words| {
        first.get_or_insert(words);
        *srn += rows;
        *dram_in += words;
        tiles.add(words);
    });
    sums.tiles.first = first.unwrap_or(0.0);
    for k in 0..prob.e.div_ceil(e) {
        let e_s = e.min(prob.e - k * e);
        sums.dram_out += streams.ofmap.words(u64::from(e_s) * u64::from(prob.f));
    }
    sums
}

/// Rows needed relative to a fold's first filter row, per fold class
/// (`mapping::balanced`), for a full strip and for the last one.
type FoldOffsets = [Vec<u32>; 2];

fn fold_offsets(prob: &ConvProblem, e: u32, fr: u32) -> (FoldOffsets, FoldOffsets) {
    let classes = crate::mapping::balanced(prob.r, fr);
    let offsets = |e_s: u32| {
        classes.map(|(rh, k)| {
            if k == 0 {
                Vec::new()
            } else {
                offsets_needed(e_s, rh, prob.u_h, prob.d_h)
            }
        })
    };
    (offsets(e), offsets(prob.e % e))
}

/// Calls `visit(rows, words)` for every (strip, fold) of strip height `e`
/// and `fr` folds (both already clamped, with their [`fold_offsets`]): the
/// padded rows it needs, and the expected DRAM words of one image-channel's
/// streams of its real rows.
fn strip_folds(
    prob: &ConvProblem,
    streams: &Streams,
    (e, fr): (u32, u32),
    (full, last): (&FoldOffsets, &FoldOffsets),
    mut visit: impl FnMut(u64, f64),
) {
    let classes = crate::mapping::balanced(prob.r, fr);
    let (top, bottom) = (
        u64::from(prob.pad.top),
        u64::from(prob.pad.top) + u64::from(prob.h),
    );
    let (tall, folds) = (classes[0].0, classes[0].1 + classes[1].1);
    for k in 0..prob.e.div_ceil(e) {
        let e_s = e.min(prob.e - k * e);
        let offs = if e_s == e { full } else { last };
        let y0 = u64::from(k) * u64::from(e) * u64::from(prob.u_h);
        for fold in 0..folds {
            // Folds of the tall class come first (`mapping::balanced`).
            let (class, r0) = if fold < classes[0].1 {
                (0, fold * tall)
            } else {
                (
                    1,
                    classes[0].1 * tall + (fold - classes[0].1) * classes[1].0,
                )
            };
            let y = y0 + u64::from(r0) * u64::from(prob.d_h);
            let real = offs[class]
                .iter()
                .filter(|&&o| (top..bottom).contains(&(y + u64::from(o))))
                .count() as u64;
            visit(
                offs[class].len() as u64,
                streams.ifmap.words(real * u64::from(prob.w)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyesim_core::fixtures::{alexnet_convs, eyeriss_v1};

    /// Σ count · words over what `visit_tiles` gives.
    fn visited(model: &LayerModel<'_>, e: u32, st: &StripSums) -> (f64, u32) {
        let (mut words, mut tiles) = (0.0, 0);
        model.visit_tiles(e, st, |w, k| {
            words += w * f64::from(k);
            tiles += k;
        });
        (words, tiles)
    }

    #[test]
    fn tile_sizes_held_inline_or_walked_again_agree_with_the_counts() {
        let hw = eyeriss_v1();
        // CONV1 (stride 4, no padding) and CONV2 (padding 2 at both ends,
        // so the first and last strips have fewer real rows).
        for prob in &alexnet_convs(4)[..2] {
            let model = LayerModel::new(prob, &hw);
            for e in [1, 3, 7, prob.e] {
                let st = model.strip(e, 1);
                let sizes = st.tiles.sizes().expect("a few sizes");
                assert!(!sizes.is_empty());
                let walked = StripSums {
                    tiles: TileWords::default(),
                    ..st
                };
                assert!(walked.tiles.sizes().is_none());
                let (inline, n) = visited(&model, e, &st);
                let (again, m) = visited(&model, e, &walked);
                // One tile per strip and fold; their words are the counts'.
                assert_eq!((n, m), (prob.e.div_ceil(e), prob.e.div_ceil(e)));
                assert!((inline - st.dram_in).abs() < 1e-6 * st.dram_in, "{inline}");
                assert!((again - st.dram_in).abs() < 1e-6 * st.dram_in, "{again}");
            }
        }
    }

    #[test]
    fn axis_real_counts_padding() {
        // 3 outputs, 3 taps, stride 1, pad 1 each side of 3 inputs: 9 taps, 2 on padding.
        assert_eq!(axis_real(3, 3, 1, 1, 1, 3), 7);
        // No padding: all real.
        assert_eq!(axis_real(55, 11, 4, 1, 0, 227), 55 * 11);
        // Stride 2, pad 1, 4 inputs, 2 outputs, 3 taps: padded rows 0..6, real 1..5.
        // o=0: rows 0,1,2 → 2 real; o=1: rows 2,3,4 → 3 real.
        assert_eq!(axis_real(2, 3, 2, 1, 1, 4), 5);
    }
}
