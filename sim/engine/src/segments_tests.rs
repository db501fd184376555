//! Psum tiles run ahead against the controller's in-order run.

use super::super::controller::{run_layer, Outcome};
use super::super::datapath::Operands;
use super::super::fault::{Fault, Injector};
use super::super::steps::steps;
use super::super::tests::{conv, tiny_hw};
use super::Ahead;
use crate::components::ComponentStats;
use crate::hw::HwConfig;
use crate::mapping::RowStationaryMapping;
use crate::workload::{ConvProblem, Op};

fn layer(
    p: &ConvProblem,
    m: RowStationaryMapping,
    hw: &HwConfig,
    ahead: Ahead,
    fault: Option<Fault>,
) -> Outcome {
    let mut p = *p;
    p.ifmap_zero_fraction = 0.4;
    p.weight_density = 0.8;
    let d = crate::data::generate(&p, 5);
    let ops = Operands {
        ifmap: &d.ifmap,
        weights: &d.weights,
        bias: &d.bias,
    };
    let inject = Injector::new(fault);
    run_layer(&p, &m, hw, ops, false, inject, ahead).unwrap_or_else(|_| panic!("runs"))
}

fn mapping(e: u32, r: u32, t: u32, p: u32, q: u32, n: u32, m: u32) -> RowStationaryMapping {
    RowStationaryMapping {
        e,
        r,
        t,
        g: 1,
        p,
        q,
        n,
        m,
        fr: 1,
        fs: 1,
        fw: 1,
    }
}

/// Strips, image tiles and filter blocks (some partial, so tiles drain
/// differently), channel chunks, pooling, and an array-filling set.
fn cases() -> Vec<(ConvProblem, RowStationaryMapping)> {
    vec![
        (
            conv(Op::Mac, 3, 1, 8, 8, 10, 10, 3, 3, 1, 1),
            mapping(3, 2, 1, 4, 2, 2, 6),
        ),
        (
            conv(Op::Mac, 2, 1, 5, 6, 9, 8, 3, 3, 2, 1),
            mapping(3, 2, 1, 2, 2, 1, 4),
        ),
        (
            conv(Op::Mac, 4, 1, 6, 10, 7, 7, 3, 3, 1, 1),
            mapping(5, 1, 2, 2, 3, 1, 4),
        ),
        (
            conv(Op::Max, 3, 1, 4, 4, 8, 8, 2, 2, 2, 0),
            mapping(2, 1, 1, 1, 1, 1, 4),
        ),
        (
            conv(Op::Mac, 4, 1, 6, 10, 7, 7, 3, 3, 1, 1),
            mapping(1, 1, 2, 3, 2, 1, 6),
        ),
        // A 7×7 filter on 6 PE rows: its rows folded in two, its taps in
        // two segments (filter tiles other than the first, cut weights,
        // several loads per channel chunk).
        (
            conv(Op::Mac, 2, 1, 3, 4, 12, 12, 7, 7, 1, 3),
            RowStationaryMapping {
                fr: 2,
                fs: 2,
                ..mapping(2, 1, 1, 2, 1, 1, 2)
            },
        ),
    ]
}

#[test]
fn psum_tiles_run_ahead_give_the_in_order_run_exactly() {
    let hw = tiny_hw();
    for (p, m) in cases() {
        let one = layer(&p, m, &hw, Ahead::on(1), None);
        let two = layer(&p, m, &hw, Ahead::on(2), None);
        let what = m.summary();
        let tiles = super::psum_tiles(&steps(&p, &m).1).len();
        assert!(tiles > 4, "{what}");
        // Two rounds guess every tile's drain right on these layers.
        assert_eq!(two.adopted, tiles, "{what}");
        assert_eq!(one.ofmap, two.ofmap, "{what}");
        assert_eq!(one.counts, two.counts, "{what}");
        assert_eq!(
            (one.processing_cycles, one.cycles),
            (two.processing_cycles, two.cycles),
            "{what}"
        );
        // Events processed and passes replayed are the simulator's own
        // work, which the threads share out differently.
        let work = |s: &ComponentStats| ComponentStats {
            events: 0,
            replayed_passes: 0,
            ..s.clone()
        };
        assert_eq!(work(&one.stats), work(&two.stats), "{what}");
        assert_eq!((one.active_pes, one.mac_pes), (two.active_pes, two.mac_pes));
    }
}

#[test]
fn a_tile_run_ahead_from_the_wrong_drain_runs_again_in_order() {
    let hw = tiny_hw();
    // Filter blocks of 6 and 4 (passes of 6 and 4 filters): the partial
    // block's passes drain differently, so the first round's single
    // guess is wrong for the tiles after it, and the wrong drain changes
    // their timing.
    let (p, m) = cases().swap_remove(4);
    let first_round = Ahead {
        rounds: 1,
        ..Ahead::on(2)
    };
    let guessed = layer(&p, m, &hw, first_round, None);
    let both = layer(&p, m, &hw, Ahead::on(2), None);
    let in_order = layer(&p, m, &hw, Ahead::on(1), None);
    assert_eq!(guessed.ofmap, in_order.ofmap);
    assert_eq!(guessed.counts, in_order.counts);
    assert_eq!(
        (guessed.processing_cycles, guessed.cycles, &guessed.stats),
        (in_order.processing_cycles, in_order.cycles, &in_order.stats)
    );
    assert!(0 < guessed.adopted && guessed.adopted < both.adopted);
}

#[test]
fn a_layer_with_a_fault_runs_in_order() {
    let hw = tiny_hw();
    let (p, m) = cases().swap_remove(0);
    let fault: Fault = "drop:gon:3".parse().unwrap();
    assert_eq!(layer(&p, m, &hw, Ahead::on(2), Some(fault)).adopted, 0);
}
