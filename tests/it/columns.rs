//! Column tiles (`fw`, docs/dataflow.md §3): a pinned mapping may cut the
//! ofmap's columns into tiles, each run as a layer of its own; both models
//! follow it, the simulator's ofmap stays bit-exact, and the input columns
//! a tile shares with its neighbour are read once per tile.

use super::fold::{agree, random_hw, random_layer, CYCLES};
use eyesim::analytic::{estimate_layer, LayerEstimate};
use eyesim::data::{self, LayerData};
use eyesim::engine::{
    simulate_layer, Fault, FaultKind, FaultSite, SimError, SimOptions, SimResult,
};
use eyesim::hw::{self, HwConfig};
use eyesim::mapping::{self, check, MapError, Objective, RowStationaryMapping};
use eyesim::stats::{Level, LevelCounts, Tensor};
use eyesim::workload::{ColumnTile, ConvProblem};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The cycle gap between the models: the larger of total and processing.
fn cycle_gap(est: &LayerEstimate, sim: &SimResult) -> f64 {
    let gap = |a: u64, s: u64| (a as f64 - s as f64).abs() / (s as f64).max(1.0);
    gap(est.processing_cycles, sim.processing_cycles).max(gap(est.cycles, sim.cycles))
}

fn simulate(
    prob: &ConvProblem,
    m: &RowStationaryMapping,
    hw: &HwConfig,
    d: &LayerData,
) -> SimResult {
    simulate_layer(prob, m, hw, d, &SimOptions::default())
        .unwrap_or_else(|e| panic!("{m} of {prob:?}: {e}"))
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

/// Tiled random cases beyond the cycle tolerance: small layers can miss
/// it, tiled or not (docs/engine.md, "Small layers"). A ratchet, checked
/// exactly, so that a model change that moves it must update it.
const KNOWN_MISSES: usize = 2;

/// A tiled layer is its tiles run one after the other: in the simulator
/// its cycles, processing cycles and counts are exactly those of its
/// tiles run alone on their columns, and its ofmap is bit-exact; both
/// models' dense counts agree exactly.
#[test]
fn random_layers_cut_into_column_tiles_agree_in_both_models() {
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    let (mut ran, mut misses) = (0, Vec::new());
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
        let sim = simulate(&prob, &m, &hw, &d);
        let (mut cycles, mut processing, mut counts) = (0, 0, LevelCounts::default());
        for t in prob.column_tiles(fw).unwrap() {
            let alone = simulate(&t.prob, &base, &hw, &tile_data(&prob, &t, &d));
            cycles += alone.cycles;
            processing += alone.processing_cycles;
            counts += alone.counts;
        }
        assert_eq!(
            (sim.cycles, sim.processing_cycles),
            (cycles, processing),
            "case {case}: {m}"
        );
        assert_eq!(sim.counts, counts, "case {case}: {m}");
        if cycle_gap(&estimate_layer(&prob, &m, &hw), &sim) > CYCLES {
            misses.push(format!("case {case}: {m} of {prob:?}"));
        }
        ran += 1;
    }
    assert!(ran >= 100, "only {ran} tiled cases ran");
    assert_eq!(misses.len(), KNOWN_MISSES, "{misses:#?}");
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

/// A later tile's trace spans come after the earlier tile's, with DRAM
/// serialized or overlapped.
#[test]
fn a_tiled_layers_trace_puts_each_tile_after_the_one_before() {
    for overlap in [false, true] {
        let mut hw = hw::load("eyeriss-v1").unwrap();
        hw.dram.overlap = overlap;
        let prob = eyesim_core::fixtures::conv(1, 1, 8, 16, 24, 3, 1, 1);
        let base = mapping::search(&prob, &hw, Objective::Energy).unwrap();
        let m = RowStationaryMapping { fw: 2, ..base };
        let d = data::generate_with_shift(&prob, 3, hw.pe.product_shift);
        let opts = SimOptions {
            trace: true,
            ..Default::default()
        };
        let spans = |p: &ConvProblem, m: &RowStationaryMapping, d: &LayerData| {
            simulate_layer(p, m, &hw, d, &opts).unwrap().trace.unwrap()
        };
        let tiles = prob.column_tiles(2).unwrap();
        let first_data = tile_data(&prob, &tiles[0], &d);
        let first = spans(&tiles[0].prob, &base, &first_data);
        let first_end = first.iter().map(|s| s.end).max().unwrap();
        // With DRAM overlapped the spans run past the tile's cycles: the
        // next tile must start after them, not after the cycles.
        let cycles = simulate_layer(&tiles[0].prob, &base, &hw, &first_data, &opts)
            .unwrap()
            .cycles;
        assert_eq!(
            first_end > cycles,
            overlap,
            "first tile: spans end {first_end}, cycles {cycles}"
        );
        let all = spans(&prob, &m, &d);
        // The first tile's spans lead the layer's; every later one starts
        // once the first tile is over.
        let later: Vec<_> = all.iter().filter(|s| !first.contains(s)).collect();
        assert!(!later.is_empty());
        assert!(
            later.iter().all(|s| s.start >= first_end),
            "overlap {overlap}"
        );
        assert_eq!(all.len(), first.len() + later.len());
    }
}

/// A fault's transfer is counted over all tiles, and one in the last tile
/// is caught by the bit-exact check.
#[test]
fn a_fault_in_the_last_tile_is_counted_across_tiles_and_caught() {
    let hw = hw::load("eyeriss-v1").unwrap();
    let prob = eyesim_core::fixtures::conv(1, 1, 8, 16, 24, 3, 1, 1);
    let base = mapping::search(&prob, &hw, Objective::Energy).unwrap();
    let m = RowStationaryMapping { fw: 3, ..base };
    let d = data::generate_with_shift(&prob, 4, hw.pe.product_shift);
    let fault = |nth| SimOptions {
        fault: Some(Fault {
            kind: FaultKind::Drop,
            site: FaultSite::Gon,
            nth,
        }),
        ..Default::default()
    };
    let transfers = |p: &ConvProblem, m: &RowStationaryMapping, d: &LayerData| {
        let r = simulate_layer(p, m, &hw, d, &fault(u64::MAX)).unwrap();
        assert!(!r.fault.applied);
        r.fault.transfers
    };
    let total = transfers(&prob, &m, &d);
    let tiles = prob.column_tiles(3).unwrap();
    let per_tile: Vec<u64> = tiles
        .iter()
        .map(|t| transfers(&t.prob, &base, &tile_data(&prob, t, &d)))
        .collect();
    assert_eq!(total, per_tile.iter().sum::<u64>());
    let err = simulate_layer(&prob, &m, &hw, &d, &fault(total)).unwrap_err();
    assert!(matches!(err, SimError::Mismatch { .. }), "{err}");
}
