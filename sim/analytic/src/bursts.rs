//! DRAM bursts of ifmap tiles and ofmap write-backs, summed one distinct
//! size at a time (docs/dataflow.md §6, "Bursts on the link").

use super::model::{chunk_sizes, LayerModel, StripSums};
use crate::mapping::RowStationaryMapping;

/// Ifmap tiles of `map`: one per outer chunk, channel chunk and fold.
pub(super) fn tiles(prob: &crate::workload::ConvProblem, map: &RowStationaryMapping) -> f64 {
    let f = f64::from;
    f(prob.g.div_ceil(map.g))
        * f(prob.n.div_ceil(map.n))
        * f(prob.e.div_ceil(map.e))
        * f(prob.m.div_ceil(map.m))
        * f(prob.c.div_ceil(map.q * map.r))
        * f(map.fr)
}

/// Every ifmap tile load is one burst: the streams of its groups, images
/// and channels for one strip and fold, reloaded for each filter chunk.
/// Summed one distinct tile size at a time, since a burst's time is not
/// linear in its words (rounding to link cycles; none for an empty tile).
pub(super) fn ifmap_bursts(
    model: &LayerModel<'_>,
    map: &RowStationaryMapping,
    st: &StripSums,
) -> f64 {
    let prob = model.prob;
    let per_filter_chunk = f64::from(prob.m.div_ceil(map.m));
    let mut sum = 0.0;
    for (g_s, g_k) in chunk_sizes(prob.g, map.g) {
        for (n_s, n_k) in chunk_sizes(prob.n, map.n) {
            for (c_s, c_k) in chunk_sizes(prob.c, map.q * map.r) {
                let streams = f64::from(g_s) * f64::from(n_s) * f64::from(c_s);
                let k = f64::from(g_k) * f64::from(n_k) * f64::from(c_k);
                if streams == 0.0 || k == 0.0 {
                    continue;
                }
                model.visit_tiles(map.e, st, |words, count| {
                    let n = k * f64::from(count) * per_filter_chunk;
                    sum += n * model.link.burst(streams * words);
                });
            }
        }
    }
    sum
}

/// Every ofmap tile is written back as one burst: the streams of its
/// groups, images and filters for one strip.
pub(super) fn ofmap_bursts(model: &LayerModel<'_>, map: &RowStationaryMapping) -> f64 {
    let prob = model.prob;
    let strips = [(map.e.min(prob.e), prob.e / map.e), (prob.e % map.e, 1)];
    let mut sum = 0.0;
    for (g_s, g_k) in chunk_sizes(prob.g, map.g) {
        for (n_s, n_k) in chunk_sizes(prob.n, map.n) {
            for (m_s, m_k) in chunk_sizes(prob.m, map.m) {
                for (e_s, e_k) in strips {
                    let f = f64::from;
                    let k = f(g_k) * f(n_k) * f(m_k) * f(e_k);
                    if k == 0.0 || e_s == 0 {
                        continue;
                    }
                    let words = f(g_s) * f(n_s) * f(m_s) * model.ofmap_stream_words(e_s);
                    sum += k * model.link.burst(words);
                }
            }
        }
    }
    sum
}
