use super::*;
use crate::stats::{Energy, LevelCounts, Tensor};

fn result(layer: &str, dram_ifmap_reads: u64, cycles: u64) -> LayerResult {
    let mut counts = LevelCounts::default();
    counts.add(Level::Dram, Tensor::Ifmap, dram_ifmap_reads, 0);
    counts.macs.performed = 100;
    LayerResult {
        network: "net".into(),
        layer: layer.into(),
        kind: "conv".into(),
        mapping: None,
        active_pes: 1,
        weights: 0,
        counts,
        energy: Energy::default(),
        cycles,
        processing_cycles: cycles,
    }
}

#[test]
fn identical_results_pass() {
    let a = vec![result("c1", 10, 100)];
    let rows = compare(&a, &a, |_| true, &Tolerances::default()).unwrap();
    assert!(rows.iter().all(Comparison::passes));
    assert_eq!(rows.len(), 4 * 3 * 2 + 4);
}

#[test]
fn dense_layers_must_match_exactly() {
    let a = vec![result("c1", 1000, 100)];
    let s = vec![result("c1", 1001, 100)];
    let rows = compare(&a, &s, |_| true, &Tolerances::default()).unwrap();
    let bad: Vec<_> = rows.iter().filter(|r| !r.passes()).collect();
    assert_eq!(bad.len(), 1);
    assert_eq!((bad[0].level, bad[0].tensor), ("dram", "ifmap"));
    assert!((bad[0].rel_diff() - 0.001).abs() < 1e-12);
    // The same difference is fine on a sparse layer.
    let rows = compare(&a, &s, |_| false, &Tolerances::default()).unwrap();
    assert!(rows.iter().all(Comparison::passes));
}

#[test]
fn cycles_use_their_own_tolerance() {
    let a = vec![result("c1", 10, 100)];
    let s = vec![result("c1", 10, 111)];
    let rows = compare(&a, &s, |_| true, &Tolerances::default()).unwrap();
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| !r.passes())
        .map(|r| r.quantity)
        .collect();
    assert_eq!(failed, vec![Quantity::Cycles, Quantity::ProcessingCycles]);
}

#[test]
fn zero_against_nonzero_is_infinite() {
    let a = vec![result("c1", 0, 100)];
    let s = vec![result("c1", 5, 100)];
    let rows = compare(&a, &s, |_| false, &Tolerances::default()).unwrap();
    let w = worst(&rows).unwrap();
    assert!(w.rel_diff().is_infinite() && !w.passes());
    let csv = String::from_utf8(crosscheck_csv("net", &rows)).unwrap();
    assert!(csv.contains("c1,dram,ifmap,reads,sparse,0,5,inf,0.0500,FAIL"));
}

#[test]
fn unpaired_layers_are_an_error() {
    let a = vec![result("c1", 1, 1)];
    let s = vec![result("c2", 1, 1)];
    let err = compare(&a, &s, |_| true, &Tolerances::default()).unwrap_err();
    assert_eq!(err, CrossCheckError::UnpairedLayer("c1".into()));
}
