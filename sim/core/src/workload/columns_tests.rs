//! Tests of column tiles.

use super::*;
use crate::fixtures;

/// Every tile's own geometry gives its `f`, its padded columns are
/// exactly those its ofmap columns read, and the tiles cover the
/// layer's ofmap columns once each, in order.
fn check_tiles(prob: &ConvProblem, fw: u32) {
    let tiles = prob.column_tiles(fw).unwrap();
    assert_eq!(tiles.len() as u32, fw);
    let mut next = 0;
    for t in &tiles {
        let p = t.prob;
        assert_eq!(t.out_col, next);
        let span = p.w + p.pad.left + p.pad.right;
        let reach = (p.s - 1) * p.d_w + 1;
        assert_eq!((span - reach) / p.u_w + 1, p.f, "{t:?}");
        assert_eq!((span - reach) % p.u_w, 0, "{t:?}");
        // The tile's first padded column is the layer's column
        // out_col·Uw, and its first real one is in_col.
        let first_padded = t.out_col * prob.u_w;
        assert_eq!(t.in_col + prob.pad.left, first_padded + p.pad.left);
        assert!(t.in_col + p.w <= prob.w);
        assert_eq!(
            (p.e, p.h, p.pad.top, p.pad.bottom),
            (prob.e, prob.h, prob.pad.top, prob.pad.bottom)
        );
        next += p.f;
    }
    assert_eq!(next, prob.f);
    let sizes: Vec<u32> = tiles.iter().map(|t| t.prob.f).collect();
    assert!(
        sizes.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= 1),
        "{sizes:?}"
    );
}

#[test]
fn tiles_cover_the_ofmap_and_read_what_it_needs() {
    // 3x3 padding 1 (VGG-16), 11x11 stride 4 (AlexNet CONV1), 5x5
    // padding 2, and a dilated 3x3 with stride 2.
    let mut dilated = fixtures::conv(1, 1, 4, 4, 31, 3, 2, 2);
    dilated.d_w = 2;
    dilated.f = (31 + 4 - 5) / 2 + 1;
    let layers = [
        fixtures::conv(1, 1, 8, 8, 224, 3, 1, 1),
        fixtures::conv(1, 1, 3, 96, 227, 11, 4, 0),
        fixtures::conv(1, 1, 48, 128, 27, 5, 1, 2),
        dilated,
    ];
    for prob in &layers {
        for fw in 2..=prob.f.min(9) {
            check_tiles(prob, fw);
        }
    }
}

#[test]
fn a_middle_tile_reads_its_halo_and_edge_tiles_keep_the_padding() {
    let prob = fixtures::conv(1, 1, 8, 8, 224, 3, 1, 1);
    let tiles = prob.column_tiles(4).unwrap();
    let shape: Vec<_> = tiles
        .iter()
        .map(|t| {
            (
                t.in_col,
                t.prob.w,
                t.prob.pad.left,
                t.prob.pad.right,
                t.prob.f,
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (0, 57, 1, 0, 56),
            (55, 58, 0, 0, 56),
            (111, 58, 0, 0, 56),
            (167, 57, 0, 1, 56)
        ]
    );
}

#[test]
fn one_tile_is_the_layer_and_bad_counts_are_refused() {
    let prob = fixtures::conv(1, 1, 8, 8, 16, 3, 1, 1);
    assert_eq!(prob.column_tiles(1).unwrap()[0].prob, prob);
    assert!(prob.column_tiles(0).is_none());
    assert!(prob.column_tiles(prob.f + 1).is_none());
    // A 1-wide tile wholly in 3 columns of padding reads nothing.
    let mut padded = fixtures::conv(1, 1, 1, 1, 2, 3, 1, 3);
    padded.f = 2 + 6 - 3 + 1;
    assert!(padded.column_tiles(padded.f).is_none());
}
