//! Cycle estimate (docs/dataflow.md §6): per pass, the slowest of the busiest
//! PE's taps and the GIN/GON transfers, plus a ramp-up (filter load over the
//! filter GIN, pipeline fill, psum chain); DRAM transfers of ifmap and ofmap
//! tiles, and filter loads that do not fit half the filter part, are
//! serialized. Passes are grouped by their distinct chunk sizes, so the cost
//! does not grow with the number of passes.

use super::model::{LayerModel, RawCounts, StripSums};
use crate::mapping::RowStationaryMapping;
use crate::stats::{Level, Tensor};

/// `(size, how many chunks)` of `chunks(total, k)`; at most two entries.
fn chunk_sizes(total: u32, k: u32) -> [(u32, u32); 2] {
    [(k.min(total), total / k.max(1)), (total % k.max(1), 1)]
}

/// Cycles with DRAM serialized as on the chip, and with DRAM hidden.
pub(crate) fn cycles(
    model: &LayerModel<'_>,
    m: &RowStationaryMapping,
    st: &StripSums,
    counts: &RawCounts,
) -> (f64, f64) {
    let processing = processing_cycles(model, m, st);
    let hw = model.hw;
    let rate = hw.dram_words_per_core_cycle();
    let fmap_words = counts.cells[Level::Dram as usize][Tensor::Ifmap as usize][0]
        + counts.cells[Level::Dram as usize][Tensor::Psum as usize][1];
    let filter_words = counts.cells[Level::Dram as usize][Tensor::Filter as usize][0];
    let p = model.prob;
    let pass_filters = f64::from(m.g)
        * f64::from((m.p * m.t).min(p.m))
        * f64::from((m.q * m.r).min(p.c))
        * f64::from(p.r * p.s)
        * model.weight_factor;
    let filters_hidden =
        p.weights() == 0 || pass_filters <= model.hw.filter_glb_words() as f64 / 2.0;
    let filter_serial = if filters_hidden {
        0.0
    } else {
        filter_words / rate
    };
    let total = if hw.dram.overlap {
        (processing + filter_serial).max((fmap_words + filter_words) / rate)
    } else {
        processing + filter_serial + fmap_words / rate
    };
    (total, processing)
}

/// Σ over passes of (slowest transfer or compute) + ramp-up, DRAM hidden.
fn processing_cycles(model: &LayerModel<'_>, m: &RowStationaryMapping, st: &StripSums) -> f64 {
    let p = model.prob;
    let hw = model.hw;
    let keep = model.split.cycle_fraction(model.taps);
    let wpc = |bits: u32| f64::from(hw.words_per_cycle(bits));
    let (w_ifmap, w_filter) = (wpc(hw.noc.ifmap_gin_bits), wpc(hw.noc.filter_gin_bits));
    let (w_psum, w_gon) = (wpc(hw.noc.psum_gin_bits), wpc(hw.noc.gon_bits));
    let fill = f64::from(1 + hw.pe.mac_stages);
    let cn = model.cn as f64;
    let (big_f, big_r, big_s) = (f64::from(p.f), f64::from(p.r), f64::from(p.s));
    let qr = m.q * m.r;
    // Channel chunks: the first one starts its psums at zero (no psum GIN).
    let (c_full, c_rest) = (qr.min(p.c), p.c % qr);
    let full_cc = p.c / qr;
    let cc = [
        (c_full, u32::from(full_cc >= 1), true),
        (c_full, full_cc.saturating_sub(1), false),
        (c_rest, u32::from(c_rest > 0), full_cc == 0),
    ];
    let strips = [
        (m.e.min(p.e), p.e / m.e, st.rn_full),
        (p.e % m.e, 1, st.rn_last),
    ];
    let mut total = 0.0;
    for (g_s, g_k) in chunk_sizes(p.g, m.g) {
        for (n_s, n_k) in chunk_sizes(p.n, m.n) {
            for &(e_s, e_k, rn) in &strips {
                for (pt_s, pt_k) in chunk_sizes(p.m, m.p * m.t) {
                    for &(c_s, c_k, first) in &cc {
                        let count = f64::from(g_k)
                            * f64::from(n_k)
                            * f64::from(e_k)
                            * f64::from(pt_k)
                            * f64::from(c_k);
                        if count == 0.0 || g_s == 0 || n_s == 0 || e_s == 0 || pt_s == 0 || c_s == 0
                        {
                            continue;
                        }
                        let (ns, gs, es, pts, cs) = (
                            f64::from(n_s),
                            f64::from(g_s),
                            f64::from(e_s),
                            f64::from(pt_s),
                            f64::from(c_s),
                        );
                        let t_act = f64::from(pt_s.div_ceil(m.p));
                        let r_act = f64::from(c_s.div_ceil(m.q));
                        let compute = ns
                            * big_f
                            * f64::from(m.q.min(c_s))
                            * big_s
                            * f64::from(m.p.min(pt_s))
                            * keep;
                        let ifmap_words = if hw.noc.multicast {
                            ns * gs * cs * f64::from(rn) * cn
                        } else {
                            ns * gs * cs * t_act * big_r * es * cn
                        };
                        let psums = ns * gs * pts * es * big_f;
                        let psum_in = if first { 0.0 } else { psums / w_psum };
                        let busy = compute
                            .max(ifmap_words / w_ifmap)
                            .max(psum_in)
                            .max(psums / w_gon);
                        let mut filters = gs * pts * cs * big_r * big_s * model.weight_factor;
                        if !p.op.has_weights() {
                            filters = 0.0;
                        } else if !hw.noc.multicast {
                            filters *= es;
                        }
                        let ramp = (filters / w_filter).ceil() + fill + big_r * r_act - 1.0;
                        total += count * (busy + ramp);
                    }
                }
            }
        }
    }
    total
}
