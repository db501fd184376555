//! Column tiles (`fw`, docs/dataflow.md §3): a pinned mapping may cut the
//! ofmap's columns into tiles, each run as a layer of its own; both models
//! follow it, the simulator's ofmap stays bit-exact, and the input columns
//! a tile shares with its neighbour are read once per tile.

use super::fold::{agree, random_hw, random_layer};
use eyesim::analytic::estimate_layer;
use eyesim::data::{self, LayerData};
use eyesim::engine::{simulate_layer, SimOptions};
use eyesim::hw::{self, HwConfig};
use eyesim::mapping::{self, check, MapError, Objective, RowStationaryMapping};
use eyesim::stats::{Level, Tensor};
use eyesim::workload::{ColumnTile, ConvProblem};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The cycle gap between the models: the larger of total and processing.
fn cycle_gap(prob: &ConvProblem, m: &RowStationaryMapping, hw: &HwConfig, d: &LayerData) -> f64 {
    let sim = simulate_layer(prob, m, hw, d, &SimOptions::default())
        .unwrap_or_else(|e| panic!("{m} of {prob:?}: {e}"));
    let est = estimate_layer(prob, m, hw);
    let gap = |a: u64, s: u64| (a as f64 - s as f64).abs() / (s as f64).max(1.0);
    gap(est.processing_cycles, sim.processing_cycles).max(gap(est.cycles, sim.cycles))
}

/// The tile's data: its input columns of the layer's ifmap `[n][g·c][h][w]`.
fn tile_data(prob: &ConvProblem, tile: &ColumnTile, d: &LayerData) -> LayerData {
    let (w, c0, wt) = (prob.w as usize, tile.in_col as usize, tile.prob.w as usize);
    let mut ifmap = Vec::new();
    for row in d.ifmap.chunks(w) {
        ifmap.extend_from_slice(&row[c0..c0 + wt]);
    }
    LayerData {
        ifmap,
        weights: d.weights.clone(),
        bias: d.bias.clone(),
    }
}

/// Both models run a tiled layer as its tiles one after the other, so its
/// dense counts must agree exactly (and the ofmap bit for bit), and its
/// cycle gap can be no larger than the largest gap of a tile run alone on
/// the same data. (Small layers run alone can miss the cross-check's
/// cycle tolerance: about 1.5% of these random ones do, tiled or not;
/// docs/engine.md.)
#[test]
fn random_layers_cut_into_column_tiles_agree_in_both_models() {
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    let mut ran = 0;
    for case in 0..200 {
        let hw = random_hw(&mut rng);
        let prob = random_layer(&mut rng);
        let base = mapping::search(&prob, &hw, Objective::Energy).unwrap();
        let fw = rng.gen_range(2..=prob.f.clamp(2, 5));
        let m = RowStationaryMapping { fw, ..base };
        if check(&m, &prob, &hw).is_err() {
            continue;
        }
        let seed = rng.gen();
        agree(&prob, &m, &hw, seed);
        let d = data::generate_with_shift(&prob, seed, hw.pe.product_shift);
        let gap = cycle_gap(&prob, &m, &hw, &d);
        let alone = prob
            .column_tiles(fw)
            .unwrap()
            .iter()
            .map(|t| cycle_gap(&t.prob, &base, &hw, &tile_data(&prob, t, &d)))
            .fold(0.0, f64::max);
        assert!(gap <= alone + 1e-12, "case {case}: {m}: {gap} > {alone}");
        ran += 1;
    }
    assert!(ran >= 100, "only {ran} tiled cases ran");
}

/// A VGG-16-like layer read straight from DRAM (no RLC): two column tiles
/// of 56 ofmap columns read 57 input columns each, where the whole layer
/// reads 112, and everything else about the ifmap is the same.
#[test]
fn each_tile_reads_the_columns_it_shares_with_its_neighbour() {
    let hw = hw::load("eyeriss-v1").unwrap();
    let mut prob = eyesim_core::fixtures::conv(1, 1, 16, 32, 112, 3, 1, 1);
    prob.network_input = true;
    let base = mapping::search(&prob, &hw, Objective::Energy).unwrap();
    let tiled = RowStationaryMapping { fw: 2, ..base };
    check(&tiled, &prob, &hw).unwrap();
    let reads = |m: &RowStationaryMapping| {
        let est = estimate_layer(&prob, m, &hw);
        est.counts.get(Level::Dram, Tensor::Ifmap).reads
    };
    assert_eq!(reads(&tiled) * 112, reads(&base) * 114);
    agree(&prob, &tiled, &hw, 5);
}

#[test]
fn column_tiles_the_layer_cannot_take_are_refused_with_the_limit() {
    let hw = hw::load("eyeriss-v1").unwrap();
    let prob = eyesim_core::fixtures::conv(1, 1, 4, 4, 8, 3, 1, 1);
    let base = mapping::smallest(&prob, &hw);
    let err = |fw| check(&RowStationaryMapping { fw, ..base }, &prob, &hw).unwrap_err();
    assert_eq!(err(0), MapError::ZeroField { field: "fw" });
    assert!(matches!(
        err(9),
        MapError::Bound {
            field: "fw",
            value: 9,
            bound: 8,
            ..
        }
    ));
    // One-column tiles of a layer padded by 3: the first lies in padding.
    let mut padded: ConvProblem = eyesim_core::fixtures::conv(1, 1, 1, 1, 2, 3, 1, 3);
    padded.f = 6;
    let m = RowStationaryMapping {
        fw: 6,
        ..mapping::smallest(&padded, &hw)
    };
    assert_eq!(
        check(&m, &padded, &hw),
        Err(MapError::EmptyColumnTile { fw: 6 })
    );
}
