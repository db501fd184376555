//! The `chip` objective: how the Eyeriss chip's offline mapper chose its
//! AlexNet mappings (JSSC 2017 Table III), as far as Table III determines
//! it. The derivation is in `docs/silicon.md` ("The chip policy"):
//!
//! 1. **Uniform passes.** The chip is configured once per layer through a
//!    scan chain, and every Table III mapping cuts the layer into equal
//!    pieces: `p·t` divides `M`, `q·r` divides `C`, `m` divides `M` and `n`
//!    divides `N` (no partial pass, channel chunk, filter tile or image
//!    tile), and column tiles, if any, are equal (`fw` divides `F`; the
//!    policy searches none). Strips may be partial (CONV1: `e = 7` of
//!    `E = 55`).
//! 2. **Least DRAM traffic**, the dominant energy term, as the analytic
//!    model counts it.
//! 3. **Most active PEs** among those: fill the array. Table III does not
//!    tell rules 3 and 4 apart; VGG-16's active-PE row (JSSC 2017 Table VI)
//!    does, weakly: on CONV1-x least energy first gives 36 PEs, filling the
//!    array first 144 (Table VI: 156).
//! 4. **Least energy**, then the smallest `(e, r, t, g, p, q, n, m)`.
//!
//! Rules 2–4 are judged on the layer **without its zeros**
//! ([`ConvProblem::dense`], as the caller passes it): the chip's mapper
//! chose offline, per layer shape, before any data ran. With the sparse
//! layer, RLC makes re-reading the ifmap cheaper, and AlexNet CONV2 would
//! take `n2 m32` instead of Table III's `n1 m64`.

use crate::space::for_each_in_group;
use crate::stats::Level;
use crate::tie::fuzzy;
use crate::workload::ConvProblem;
use eyesim_analytic::model::LayerModel;
use eyesim_core::mapping::{groups, RowStationaryMapping};

/// Whether `m` cuts `prob` into equal pieces (rule 1).
pub fn uniform(m: &RowStationaryMapping, prob: &ConvProblem) -> bool {
    prob.m.is_multiple_of(m.p * m.t)
        && prob.c.is_multiple_of(m.q * m.r)
        && prob.m.is_multiple_of(m.m)
        && prob.n.is_multiple_of(m.n)
        && prob.g.is_multiple_of(m.g)
        && prob.f.is_multiple_of(m.fw)
}

/// The chip policy's mapping among those `keep` accepts, if any is uniform.
pub(crate) fn search_chip(
    model: &LayerModel<'_>,
    keep: &impl Fn(&RowStationaryMapping) -> bool,
) -> Option<RowStationaryMapping> {
    let (prob, hw) = (model.prob, model.hw);
    // (dram, active PEs, energy, mapping) of the best so far.
    let mut best: Option<(f64, u32, f64, RowStationaryMapping)> = None;
    for (p, q, fs) in groups(prob, hw) {
        {
            for_each_in_group(model, p, q, fs, |m, st| {
                if !keep(&m) || !uniform(&m, prob) {
                    return;
                }
                let raw = model.counts(&m, st);
                let dram: f64 = raw.cells[Level::Dram as usize]
                    .iter()
                    .map(|rw| rw[0] + rw[1])
                    .sum();
                let energy = raw.energy(hw);
                let pes = eyesim_analytic::active_pes(prob, &m);
                let better = best.is_none_or(|(d, bp, e, bm)| {
                    fuzzy(dram, d)
                        .then(bp.cmp(&pes))
                        .then(fuzzy(energy, e))
                        .then_with(|| m.cmp(&bm))
                        .is_lt()
                });
                if better {
                    best = Some((dram, pes, energy, m));
                }
            });
        }
    }
    best.map(|b| b.3)
}
