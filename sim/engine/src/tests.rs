//! Unit tests of the whole engine on small layers with hand-built
//! hardware configs: functional equality with a naive convolution, and
//! dense access counts derived by hand from docs/dataflow.md §4–§5.

use super::*;
use crate::hw::*;
use crate::stats::{Level, Tensor};
use crate::workload::Op;

/// The shipped `tiny` config resized to the geometry these hand counts
/// assume: a 6×5 array, 48/12/8-word spads, an 8 KiB GLB of 8 banks of 256
/// words with a 1 KiB filter part, and a product shift of 4.
pub(crate) fn tiny_hw() -> HwConfig {
    let mut hw = crate::hw::builtin("tiny").expect("the shipped tiny config loads");
    hw.name = "unit-tiny".into();
    hw.array = ArrayConfig { rows: 6, cols: 5 };
    hw.pe.filter_spad_words = 48;
    hw.pe.ifmap_spad_words = 12;
    hw.pe.psum_spad_words = 8;
    hw.pe.fifo_words = 4;
    hw.pe.product_shift = 4;
    hw.glb = GlbConfig {
        size_kib: 8,
        banks: 8,
        bank_words: 256,
        filter_kib: 1,
        bank_port_words: 4,
    };
    hw
}

/// [`eyesim_core::fixtures::layer`] with the window's sizes spelled out.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv(
    op: Op,
    n: u32,
    g: u32,
    c: u32,
    m: u32,
    h: u32,
    w: u32,
    r: u32,
    s: u32,
    u: u32,
    pad: u32,
) -> ConvProblem {
    eyesim_core::fixtures::layer(op, n, g, c, m, (h, w), (r, s), u, pad)
}

/// Generated data with the given ifmap zero fraction and weight zero fraction.
pub(crate) fn run_with(
    p: &ConvProblem,
    m: &RowStationaryMapping,
    hw: &HwConfig,
    seed: u64,
    zi: f64,
    zw: f64,
    opts: &SimOptions,
) -> SimResult {
    let mut p = *p;
    p.ifmap_zero_fraction = zi;
    p.weight_density = 1.0 - zw;
    let (d, want) = crate::data::generate_with_reference(&p, seed, hw.pe.product_shift);
    simulate_layer_against(&p, m, hw, &d, &want, opts).unwrap_or_else(|e| panic!("{e}"))
}

fn run(
    p: &ConvProblem,
    m: &RowStationaryMapping,
    hw: &HwConfig,
    seed: u64,
    zi: f64,
    zw: f64,
) -> SimResult {
    run_with(p, m, hw, seed, zi, zw, &SimOptions::default())
}

/// A mapping with one fold, segment and column tile.
#[allow(clippy::too_many_arguments)]
pub(crate) fn map(
    e: u32,
    r: u32,
    t: u32,
    g: u32,
    p: u32,
    q: u32,
    n: u32,
    m: u32,
) -> RowStationaryMapping {
    RowStationaryMapping {
        e,
        r,
        t,
        g,
        p,
        q,
        n,
        m,
        fr: 1,
        fs: 1,
        fw: 1,
    }
}

#[test]
fn strided_padded_conv_matches_reference() {
    let hw = tiny_hw();
    let p = conv(Op::Mac, 2, 1, 5, 6, 9, 8, 3, 3, 2, 1);
    let res = run(&p, &map(3, 2, 1, 1, 2, 2, 1, 4), &hw, 1, 0.3, 0.2);
    assert!(res.processing_cycles > 0 && res.cycles > res.processing_cycles);
    assert_eq!(res.counts.macs.algorithmic, p.macs());
}

#[test]
fn grouped_and_pooling_match_reference() {
    let hw = tiny_hw();
    let p = conv(Op::Mac, 1, 2, 3, 4, 7, 7, 3, 3, 1, 0);
    run(&p, &map(5, 1, 1, 1, 4, 1, 1, 4), &hw, 2, 0.5, 0.0);
    let mut pool = conv(Op::Max, 2, 6, 1, 1, 7, 7, 3, 3, 2, 0);
    pool.relu = false;
    run(&pool, &map(3, 1, 1, 2, 1, 1, 2, 1), &hw, 3, 0.3, 0.0);
    pool.op = Op::Avg;
    run(&pool, &map(2, 1, 1, 1, 1, 1, 1, 1), &hw, 4, 0.0, 0.0);
}

/// Dense counts of docs/dataflow.md §4–§5, derived by hand for a layer
/// whose chunks all divide evenly (so every pass is full).
#[test]
fn dense_counts_follow_the_dataflow_page() {
    let mut hw = tiny_hw();
    hw.sparsity.rlc = None;
    // N=2 C=4 M=4 H=W=6 R=S=3 U=1 pad 0: E=F=4. Mapping e=2 r=2 t=1 p=2 q=2 n=1 m=4.
    let p = conv(Op::Mac, 2, 1, 4, 4, 6, 6, 3, 3, 1, 0);
    let mm = map(2, 2, 1, 1, 2, 2, 1, 4);
    let res = run(&p, &mm, &hw, 5, 0.0, 0.0);
    let c = &res.counts;
    let (n, cc, m, e, f, r, s, w) = (2u64, 4u64, 4u64, 4u64, 4u64, 3u64, 3u64, 6u64);
    let strips = e / 2;
    let rn = 4; // rows needed by a 2-row strip: 1·1 + 3
    let passes_per_tile = m / 2; // p·t = 2
                                 // ifmap: tile per (image, strip); all channels in one chunk (q·r = 4).
    assert_eq!(
        c.get(Level::Dram, Tensor::Ifmap).reads,
        n * strips * cc * rn * w
    );
    assert_eq!(
        c.get(Level::Glb, Tensor::Ifmap).writes,
        n * strips * cc * rn * w
    );
    let cn = w; // every column is needed
    assert_eq!(
        c.get(Level::Glb, Tensor::Ifmap).reads,
        n * strips * passes_per_tile * cc * rn * cn
    );
    // Each channel's column goes to R·e PEs of its copy (t_act = 1).
    let deliveries = n * strips * passes_per_tile * cc * r * 2 * cn;
    assert_eq!(c.get(Level::Noc, Tensor::Ifmap).reads, deliveries);
    assert_eq!(c.get(Level::Rf, Tensor::Ifmap).writes, deliveries);
    // filters: each pass loads p·t·c·R·S weights, multicast to e PEs.
    let pass_w = 2 * cc * r * s;
    let passes = n * strips * passes_per_tile;
    assert_eq!(c.get(Level::Dram, Tensor::Filter).reads, passes * pass_w);
    assert_eq!(
        c.get(Level::Glb, Tensor::Filter),
        crate::stats::Access {
            reads: passes * pass_w,
            writes: passes * pass_w
        }
    );
    assert_eq!(c.get(Level::Noc, Tensor::Filter).reads, passes * pass_w * 2);
    // psums: one channel chunk, so no psum GIN; chain of R·r = 6 PEs → 5 hops.
    let psums = n * m * e * f;
    assert_eq!(
        c.get(Level::Noc, Tensor::Psum),
        crate::stats::Access {
            reads: 5 * psums,
            writes: psums
        }
    );
    assert_eq!(
        c.get(Level::Glb, Tensor::Psum),
        crate::stats::Access {
            reads: psums,
            writes: psums
        }
    );
    assert_eq!(c.get(Level::Dram, Tensor::Psum).writes, psums);
    // RF: per tap and filter one ifmap read and one filter read; psum spad
    // written per MAC, read per MAC minus first, plus one read on leaving.
    let macs = p.macs();
    assert_eq!(c.macs.performed, macs);
    assert_eq!(c.get(Level::Rf, Tensor::Ifmap).reads, macs);
    assert_eq!(c.get(Level::Rf, Tensor::Filter).reads, macs);
    assert_eq!(
        c.get(Level::Rf, Tensor::Psum),
        crate::stats::Access {
            reads: macs,
            writes: macs
        }
    );
}

#[test]
fn trace_spans_stay_within_the_bound_and_cover_every_unit() {
    let hw = tiny_hw();
    let p = conv(Op::Mac, 2, 1, 5, 6, 9, 8, 3, 3, 2, 1);
    let m = map(3, 2, 1, 1, 2, 2, 1, 4);
    let opts = SimOptions {
        trace: true,
        ..SimOptions::default()
    };
    let res = run_with(&p, &m, &hw, 1, 0.3, 0.0, &opts);
    let spans = res.trace.expect("trace requested");
    assert!((spans.len() as u64) <= span_bound(&p, &m));
    // A bigger layer with several copies and channel chunks (psum GIN on).
    let big = conv(Op::Mac, 2, 1, 8, 8, 10, 10, 3, 3, 1, 1);
    let bm = map(5, 2, 1, 1, 4, 2, 2, 8);
    let r = run_with(&big, &bm, &hw, 2, 0.4, 0.0, &opts);
    assert!((r.trace.unwrap().len() as u64) <= span_bound(&big, &bm));
    for t in [
        Track::Controller,
        Track::Dram,
        Track::IfmapGin,
        Track::FilterGin,
        Track::PsumGin,
        Track::Gon,
    ] {
        assert!(spans.iter().any(|s| s.track == t), "no span on {t:?}");
    }
    assert!(spans.iter().any(|s| matches!(s.track, Track::Pe(..))));
    assert!(spans.iter().all(|s| s.end <= res.cycles));
    let json = chrome_trace(&[("conv", &spans)], hw.clock.core_mhz);
    assert!(json["traceEvents"].as_array().unwrap().len() > spans.len());
}

#[test]
fn same_seed_same_everything() {
    let hw = tiny_hw();
    let p = conv(Op::Mac, 2, 2, 3, 4, 8, 7, 3, 2, 1, 1);
    let m = map(4, 1, 1, 2, 2, 2, 2, 4);
    let a = run(&p, &m, &hw, 9, 0.4, 0.1);
    let b = run(&p, &m, &hw, 9, 0.4, 0.1);
    assert_eq!(a, b);
    let c = run(&p, &m, &hw, 10, 0.4, 0.1);
    assert_ne!(a.ofmap, c.ofmap);
}

#[test]
fn mismatch_names_layer_and_position() {
    let hw = tiny_hw();
    let p = conv(Op::Mac, 1, 1, 2, 2, 5, 5, 3, 3, 1, 0);
    let (d, mut want) = crate::data::generate_with_reference(&p, 3, hw.pe.product_shift);
    want[5] = want[5].wrapping_add(1);
    let opts = SimOptions {
        layer: "convX".into(),
        ..SimOptions::default()
    };
    let err = simulate_layer_against(&p, &map(3, 1, 1, 1, 2, 2, 1, 2), &hw, &d, &want, &opts)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("convX") && msg.contains("row 1") && msg.contains("column 2"),
        "{msg}"
    );
}

#[test]
fn illegal_mappings_are_errors_not_panics() {
    let hw = tiny_hw();
    let p = conv(Op::Mac, 1, 1, 2, 2, 5, 5, 3, 3, 1, 0);
    let d = crate::data::generate(&p, 1);
    for (m, needle) in [
        (map(3, 4, 4, 1, 2, 2, 1, 2), "set copies"),
        (map(3, 1, 1, 1, 9, 1, 1, 2), "psum spad"),
        (map(0, 1, 1, 1, 1, 1, 1, 2), "at least 1"),
        (map(3, 1, 1, 1, 1, 5, 1, 2), "ifmap spad"),
    ] {
        let err = simulate_layer(&p, &m, &hw, &d, &SimOptions::default()).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    }
}
