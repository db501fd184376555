//! The memo's key leaves out exactly what the simulator does not read, and
//! a network run through a memo equals one without it.

use super::*;
use crate::network::{simulate_network, NetworkOptions};
use crate::tests::{conv, run_with, tiny_hw};
use crate::workload::Op;
use crate::SimOptions;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// The leaves of a JSON value, as (path, value).
fn leaves(v: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}/{k}")
                };
                leaves(x, &p, out);
            }
        }
        _ => out.push((path.to_string(), v.clone())),
    }
}

/// `hw` with the leaf at `path` changed: numbers doubled (plus one, so
/// that a zero changes too), strings extended, booleans flipped.
fn perturbed(hw: &HwConfig, path: &str) -> HwConfig {
    let mut v = serde_json::to_value(hw).unwrap();
    let leaf = v.pointer_mut(&format!("/{path}")).unwrap();
    *leaf = match leaf.clone() {
        Value::Number(n) if n.is_u64() => Value::from(n.as_u64().unwrap() * 2 + 1),
        Value::Number(n) => Value::from(n.as_f64().unwrap() * 2.0 + 1.0),
        // The energy unit is the one enumerated string.
        Value::String(s) if s == "normalized" => Value::from("pJ"),
        Value::String(s) if s == "pJ" => Value::from("normalized"),
        Value::String(s) => Value::from(format!("{s}-other")),
        Value::Bool(b) => Value::from(!b),
        other => panic!("no way to change {path} = {other}"),
    };
    serde_json::from_value(v).unwrap()
}

/// Paths whose value differs between `hw` and its simulator view.
fn left_out(hw: &HwConfig) -> Vec<String> {
    let (mut full, mut view) = (Vec::new(), Vec::new());
    leaves(&serde_json::to_value(hw).unwrap(), "", &mut full);
    leaves(
        &serde_json::to_value(simulator_view(hw)).unwrap(),
        "",
        &mut view,
    );
    full.into_iter()
        .zip(view)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0)
        .collect()
}

fn layer() -> (
    crate::workload::ConvProblem,
    crate::mapping::RowStationaryMapping,
) {
    let prob = conv(Op::Mac, 2, 1, 5, 6, 9, 8, 3, 3, 2, 1);
    let map = crate::mapping::RowStationaryMapping {
        e: 3,
        r: 2,
        t: 1,
        g: 1,
        p: 2,
        q: 2,
        n: 1,
        m: 4,
        fr: 1,
        fs: 1,
        fw: 1,
    };
    (prob, map)
}

#[test]
fn every_field_the_view_leaves_out_leaves_the_simulation_unchanged() {
    let hw = tiny_hw();
    let (prob, map) = layer();
    let opts = SimOptions::default();
    let base = run_with(&prob, &map, &hw, 7, 0.3, 0.2, &opts);
    let paths = left_out(&hw);
    // Exactly these: clearing more would pass the comparison below only
    // for the fields this one layer happens not to exercise.
    let want = [
        "name",
        "pe/filter_spad_words",
        "glb/size_kib",
        "energy/mac",
        "energy/rf",
        "energy/noc",
        "energy/glb",
        "energy/dram",
    ];
    let mut sorted = paths.clone();
    sorted.sort();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(sorted, want);
    for path in &paths {
        let other = perturbed(&hw, path);
        assert_ne!(other, hw, "{path} was changed");
        let got = run_with(&prob, &map, &other, 7, 0.3, 0.2, &opts);
        assert_eq!(got, base, "changing {path} changed the simulation");
        assert_eq!(
            key(&prob, &map, &other, 7, true),
            key(&prob, &map, &hw, 7, true)
        );
    }
}

#[test]
fn every_field_the_view_keeps_is_part_of_the_key() {
    let hw = tiny_hw();
    let (prob, map) = layer();
    let mut all = Vec::new();
    leaves(&serde_json::to_value(&hw).unwrap(), "", &mut all);
    let out = left_out(&hw);
    // The bank size is compared through its bank counts instead
    // (`the_bank_size_counts_only_through_the_bank_counts_it_gives`).
    let kept: Vec<_> = all
        .iter()
        .filter(|(p, _)| !out.contains(p) && p != "glb/bank_words")
        .collect();
    assert!(kept.len() > 20, "{} kept fields", kept.len());
    for (path, _) in kept {
        let other = perturbed(&hw, path);
        assert_ne!(
            key(&prob, &map, &other, 7, true),
            key(&prob, &map, &hw, 7, true),
            "{path} is not in the key"
        );
    }
    let other_prob = conv(Op::Mac, 2, 1, 5, 6, 9, 8, 3, 3, 1, 1);
    let base = key(&prob, &map, &hw, 7, true);
    assert_ne!(key(&other_prob, &map, &hw, 7, true), base);
    assert_ne!(
        key(
            &prob,
            &crate::mapping::RowStationaryMapping { e: 2, ..map },
            &hw,
            7,
            true
        ),
        base
    );
    assert_ne!(key(&prob, &map, &hw, 8, true), base);
    assert_ne!(key(&prob, &map, &hw, 7, false), base);
}

const NET: &str = r#"
[network]
name = "memo"
batch = 2
input = [4, 10, 10]

[[layer]]
name = "conv1"
kind = "conv"
filters = 6
kernel = 3
padding = 1
ifmap_zero_fraction = 0.3

[[layer]]
name = "pool1"
kind = "maxpool"
kernel = 2
stride = 2
"#;

/// [`NET`] on the tiny hardware, and its conv1.
fn memo_net() -> (
    crate::workload::Network,
    HwConfig,
    crate::workload::ConvProblem,
) {
    let net = crate::workload::from_toml_str(NET, "memo.toml").unwrap();
    let crate::workload::LayerWork::Array(prob) =
        crate::workload::LayerWork::of(&net.layers[0], net.batch)
    else {
        panic!("conv1 runs on the array")
    };
    (net, tiny_hw(), prob)
}

#[test]
fn a_network_through_a_memo_is_the_network_without_it() {
    let (net, hw, prob) = memo_net();
    let mappings = vec![Some(crate::mapping::smallest(&prob, &hw)), None];
    let memo = Arc::new(LayerMemo::new());
    let opts = |memo: Option<Arc<LayerMemo>>| NetworkOptions {
        layers: vec![0],
        seed: 3,
        threads: 1,
        check: true,
        memo,
        ..Default::default()
    };
    let first = simulate_network(&net, &hw, &mappings, &opts(Some(memo.clone()))).unwrap();
    assert_eq!((memo.misses(), memo.hits()), (1, 0));
    // A point with a larger filter spad and GLB and other energy costs.
    let mut other = hw.clone();
    other.pe.filter_spad_words *= 2;
    other.glb.size_kib *= 2;
    other.energy.glb *= 3.0;
    let reused = simulate_network(&net, &other, &mappings, &opts(Some(memo.clone()))).unwrap();
    assert_eq!((memo.misses(), memo.hits()), (1, 1));
    let fresh = simulate_network(&net, &other, &mappings, &opts(None)).unwrap();
    assert!(reused[0].sim.ofmap.is_empty() && !fresh[0].sim.ofmap.is_empty());
    let without_ofmap = |s: &SimResult| SimResult {
        ofmap: Vec::new(),
        ..s.clone()
    };
    assert_eq!(without_ofmap(&reused[0].sim), without_ofmap(&fresh[0].sim));
    assert_eq!(reused[0].row, fresh[0].row);
    // Energy is priced per point, not recalled from the first.
    assert_ne!(reused[0].row.energy, first[0].row.energy);
    // Banks of another size that change the layer's bank counts: a run of
    // its own (the memo is asked with this point's bank size).
    let mut banks = other.clone();
    banks.glb.bank_words = 16;
    let fresh = simulate_network(&net, &banks, &mappings, &opts(None)).unwrap();
    let got = simulate_network(&net, &banks, &mappings, &opts(Some(memo.clone()))).unwrap();
    assert_eq!((memo.misses(), memo.hits()), (2, 1));
    assert_eq!(got[0].row, fresh[0].row);
    assert!(got[0].sim == without_ofmap(&fresh[0].sim));
    assert_ne!(got[0].sim.stats.glb, reused[0].sim.stats.glb);
    // Traces, faults and real data bypass the memo.
    let traced = NetworkOptions {
        trace: true,
        ..opts(Some(memo.clone()))
    };
    let t = simulate_network(&net, &hw, &mappings, &traced).unwrap();
    assert!(t[0].sim.trace.is_some() && !t[0].sim.ofmap.is_empty());
    assert_eq!((memo.misses(), memo.hits()), (2, 1));
    // A filter spad too small for the mapping is refused, memo or not.
    let mut small = hw.clone();
    small.pe.filter_spad_words = 1;
    let refused = simulate_network(&net, &small, &mappings, &opts(Some(memo.clone())));
    assert!(
        matches!(refused, Err(SimError::IllegalMapping { .. })),
        "{refused:?}"
    );
}

#[test]
fn shared_data_is_made_once_per_problem_seed_and_shift() {
    let memo = LayerMemo::new();
    let (prob, _) = layer();
    let first = memo.data(&prob, 1, 4);
    assert!(Arc::ptr_eq(&first, &memo.data(&prob, 1, 4)));
    assert!(*first == crate::data::generate_with_reference(&prob, 1, 4));
    // The seed picks the data; the shift scales the bias and the reference.
    assert!(memo.data(&prob, 2, 4).0.ifmap != first.0.ifmap);
    let other_shift = memo.data(&prob, 1, 6);
    assert!(other_shift.0.ifmap == first.0.ifmap && other_shift.1 != first.1);
    let other_prob = conv(Op::Mac, 2, 1, 5, 6, 9, 8, 3, 3, 1, 1);
    assert_ne!(memo.data(&other_prob, 1, 4).1.len(), first.1.len());
}

#[test]
fn workers_asking_for_the_same_key_at_once_run_it_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let memo = LayerMemo::new();
    let runs = AtomicUsize::new(0);
    let (prob, map) = layer();
    let hw = tiny_hw();
    let barrier = std::sync::Barrier::new(2);
    let results: Vec<SimResult> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    memo.get_or_run("same".into(), &[(9, 9)], "conv", 256, || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        // Long enough for the other worker to ask meanwhile.
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        let opts = SimOptions::default();
                        Ok((run_with(&prob, &map, &hw, 7, 0.3, 0.2, &opts), vec![(9, 9)]))
                    })
                    .unwrap()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!((memo.misses(), memo.hits()), (1, 1));
    let fresh = run_with(&prob, &map, &hw, 7, 0.3, 0.2, &SimOptions::default());
    assert!(results.iter().all(|r| *r == fresh));
}

#[test]
fn the_bank_size_counts_only_through_the_bank_counts_it_gives() {
    let (_, hw, prob) = memo_net();
    let map = crate::mapping::smallest(&prob, &hw);
    let (d, want) = crate::data::generate_with_reference(&prob, 1, hw.pe.product_shift);
    let opts = SimOptions::default();
    let recorded =
        |hw: &HwConfig| crate::simulate_recorded(&prob, &map, hw, &d, Some(&want), &opts).unwrap();
    let (base, tiles) = recorded(&hw);
    assert!(!tiles.is_empty());
    assert_eq!(planned_tiles(&prob, &map), tiles);
    let counts = |bw: u32| signature(&tiles, bw);
    let with_bank = |bw: u32| {
        let mut h = hw.clone();
        h.glb.bank_words = bw;
        h
    };
    let bw = hw.glb.bank_words;
    let same = (1..4 * bw)
        .find(|&w| w != bw && counts(w) == counts(bw))
        .unwrap();
    let other = (1..bw).rev().find(|&w| counts(w) != counts(bw)).unwrap();
    // Equal bank counts: the very same run. Other counts: another run.
    let (same_run, same_tiles) = recorded(&with_bank(same));
    assert!(same_run == base && same_tiles == tiles);
    let (other_run, _) = recorded(&with_bank(other));
    assert!(
        other_run != base,
        "bank counts {:?} vs {:?}",
        counts(other),
        counts(bw)
    );
    // Through the memo: a hit for `same`, a run for `other`, both right.
    let memo = LayerMemo::new();
    let key = key(&prob, &map, &hw, 1, true);
    let ask = |h: HwConfig| {
        let bw = h.glb.bank_words;
        memo.get_or_run(key.clone(), &tiles, "conv1", bw, || Ok(recorded(&h)))
    };
    assert!(ask(hw.clone()).unwrap() == base);
    assert!(ask(with_bank(same)).unwrap() == base);
    assert_eq!((memo.misses(), memo.hits()), (1, 1));
    assert!(ask(with_bank(other)).unwrap() == other_run);
    assert_eq!((memo.misses(), memo.hits()), (2, 1));
    assert_eq!(key, super::key(&prob, &map, &with_bank(other), 1, true));
}

#[test]
fn data_past_the_budget_is_made_afresh() {
    let (prob, _) = layer();
    let none = LayerMemo::with_data_budget(0);
    let (a, b) = (none.data(&prob, 1, 4), none.data(&prob, 1, 4));
    assert!(!Arc::ptr_eq(&a, &b) && a == b);
    let some = LayerMemo::new();
    assert!(Arc::ptr_eq(
        &some.data(&prob, 1, 4),
        &some.data(&prob, 1, 4)
    ));
}

/// The tiles the memo plans from the step list are the tiles a run
/// assigns banks for, over legal mappings with one and with several tiles.
#[test]
fn planned_tiles_are_the_tiles_a_run_assigns() {
    let hw = tiny_hw();
    let (prob, _) = layer();
    let (d, want) = crate::data::generate_with_reference(&prob, 1, hw.pe.product_shift);
    let (mut checked, mut several, mut folded, mut tiled) = (0, 0, 0, 0);
    let folds = [(1, 1), (2, 1), (3, 2), (1, 2), (2, 3)].into_iter().cycle();
    // Column tiles: a period prime to the folds' so every pair occurs.
    let columns = [1, 2, 3].into_iter().cycle();
    for (((e, n, m, q, p), (fr, fs)), fw) in small_mappings().zip(folds).zip(columns) {
        let map = crate::mapping::RowStationaryMapping {
            e,
            r: 1,
            t: 1,
            g: 1,
            p,
            q,
            n,
            m,
            fr,
            fs,
            fw,
        };
        if crate::mapping::check(&map, &prob, &hw).is_err() {
            continue;
        }
        // Two threads: psum tiles run ahead, and the controller adopts them.
        let opts = SimOptions {
            threads: 2,
            ..SimOptions::default()
        };
        let (_, got) = crate::simulate_recorded(&prob, &map, &hw, &d, Some(&want), &opts).unwrap();
        assert_eq!(planned_tiles(&prob, &map), got, "{map:?}");
        checked += 1;
        several += usize::from(got.len() > 1);
        folded += usize::from(fr > 1 || fs > 1);
        tiled += usize::from(fw > 1);
    }
    assert!(
        checked >= 10 && several >= 3 && folded >= 3 && tiled >= 3,
        "{checked} mappings, {several} with several tiles, {folded} folded, {tiled} in column tiles"
    );
}

/// `(e, n, m, q, p)` over small ranges.
fn small_mappings() -> impl Iterator<Item = (u32, u32, u32, u32, u32)> {
    (1..=3).flat_map(|e| {
        (1..=2).flat_map(move |n| {
            [1, 2, 4]
                .into_iter()
                .flat_map(move |m| (1..=2).flat_map(move |q| (1..=2).map(move |p| (e, n, m, q, p))))
        })
    })
}

/// While another worker runs a layer's simulation, a network takes its
/// other layers first and reads that one when it comes back to it: the
/// same results, in the other order, and one run of the busy key.
#[test]
fn a_worker_takes_other_layers_while_one_runs_elsewhere() {
    use crate::network::{layer_seed, simulate_network_with};
    use crate::workload::LayerWork;
    let (net, hw, prob) = memo_net();
    let LayerWork::Array(pool) = LayerWork::of(&net.layers[1], net.batch) else {
        panic!("pool1 runs on the array")
    };
    let map = crate::mapping::smallest(&prob, &hw);
    let mappings = vec![Some(map), Some(crate::mapping::smallest(&pool, &hw))];
    let memo = Arc::new(LayerMemo::new());
    let opts = NetworkOptions {
        layers: vec![0, 1],
        seed: 3,
        threads: 1,
        check: true,
        memo: Some(memo.clone()),
        ..Default::default()
    };
    let fresh = simulate_network(
        &net,
        &hw,
        &mappings,
        &NetworkOptions {
            memo: None,
            ..opts.clone()
        },
    )
    .unwrap();
    let key0 = key(&prob, &map, &hw, layer_seed(3, 0), true);
    let tiles0 = planned_tiles(&prob, &map);
    let asked = std::sync::Barrier::new(2);
    let order = Mutex::new(Vec::new());
    // The busy run ends once the network has finished pool1, or after a
    // while if it never does (a network that waits for conv1 first).
    let (pool_done, pool_done_rx) = std::sync::mpsc::channel();
    let got = std::thread::scope(|s| {
        let (memo, key0, tiles0, asked, fresh, hw) = (&memo, &key0, &tiles0, &asked, &fresh, &hw);
        // Moved in: the receiver (the rest by reference).
        let busy = s.spawn(move || {
            memo.get_or_run(key0.clone(), tiles0, "conv1", hw.glb.bank_words, || {
                asked.wait();
                let _ = pool_done_rx.recv_timeout(std::time::Duration::from_secs(10));
                // The result this run stands for; the test is about order.
                let mut r = fresh[0].sim.clone();
                r.ofmap = Vec::new();
                Ok((r, tiles0.clone()))
            })
        });
        asked.wait();
        assert!(memo.in_flight(key0.clone(), tiles0, hw.glb.bank_words));
        let pool_done = Mutex::new(pool_done);
        let got = simulate_network_with(&net, hw, &mappings, &opts, &|i| {
            order.lock().unwrap().push(i);
            let _ = pool_done.lock().unwrap().send(i);
        });
        busy.join().unwrap().unwrap();
        got.unwrap()
    });
    assert_eq!(*order.lock().unwrap(), vec![1, 0]);
    assert_eq!((memo.misses(), memo.hits()), (2, 1));
    assert!(!memo.in_flight(key0, &tiles0, hw.glb.bank_words));
    for (g, f) in got.iter().zip(&fresh) {
        assert_eq!(g.row, f.row);
    }
}
