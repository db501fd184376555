//! Fault injection proves the bit-exact check: random faults in random
//! layers of every kind, on every component. A fault that changes the
//! ofmap (seen with the check off, against the fault-free run) must be
//! caught by the check; a fault that leaves it unchanged must not raise a
//! false alarm; a delay must change nothing but time.

use crate::simulate::{problem, random_conv, random_hw, random_mapping};
use eyesim::data;
use eyesim::engine::{
    simulate_eltwise, simulate_global_pool, simulate_layer, EltwiseLayer, Fault, FaultKind,
    FaultSite, GlobalPoolLayer, SimError, SimOptions, SimResult,
};
use eyesim::hw::HwConfig;
use eyesim::workload::{ConvProblem, FmapShape, Op, Padding, Sparsity};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// One layer under test, runnable with any options.
enum Case {
    Array(
        ConvProblem,
        eyesim::mapping::RowStationaryMapping,
        data::LayerData,
    ),
    Add(EltwiseLayer, Vec<Vec<i16>>),
    Pool(GlobalPoolLayer, Vec<i16>),
}

impl Case {
    fn run(&self, hw: &HwConfig, opts: &SimOptions) -> Result<SimResult, SimError> {
        match self {
            Case::Array(p, m, d) => simulate_layer(p, m, hw, d, opts),
            Case::Add(l, ops) => simulate_eltwise(l, hw, ops, opts),
            Case::Pool(l, x) => simulate_global_pool(l, hw, x, opts),
        }
    }
}

#[derive(Default, Debug)]
struct Tally {
    injected: u32,
    /// The ofmap differed from the fault-free run (check off), or a
    /// component rejected the data.
    changed: u32,
    caught: u32,
    masked: u32,
    timing_changed: u32,
    /// Runs that left words unused in a PE FIFO or had a PE find one empty.
    fifo_imbalance: u32,
}

fn random_case(rng: &mut ChaCha8Rng, hw: &HwConfig) -> Option<Case> {
    let kind = rng.gen_range(0..10);
    if kind == 8 || kind == 9 {
        let shape = FmapShape {
            c: rng.gen_range(1..=4),
            h: rng.gen_range(1..=6),
            w: rng.gen_range(1..=6),
        };
        let sparsity = Sparsity::DENSE;
        let batch = rng.gen_range(1..=2);
        let network_input = rng.gen_bool(0.2);
        if kind == 8 {
            let l = EltwiseLayer {
                inputs: rng.gen_range(2..=3),
                shape,
                batch,
                sparsity,
                network_input,
                relu: false,
            };
            return Some(Case::Add(l, l.generate(rng.gen())));
        }
        let l = GlobalPoolLayer {
            op: Op::Avg,
            batch,
            channels: shape.c,
            plane: u64::from(shape.h * shape.w),
            sparsity,
            network_input,
            relu: false,
        };
        return Some(Case::Pool(l, l.generate(rng.gen())));
    }
    let mut prob = match kind {
        0..=4 => random_conv(rng, 5, 8).0,
        5 => {
            // A fully connected layer: the window is the whole input.
            let (h, w) = (rng.gen_range(1..=4), rng.gen_range(1..=4));
            problem(
                Op::Mac,
                [
                    rng.gen_range(1..=2),
                    1,
                    rng.gen_range(1..=4),
                    rng.gen_range(1..=6),
                ],
                [h, w],
                [h, w],
                [1, 1],
                Padding::default(),
            )
        }
        _ => {
            let op = if kind == 6 { Op::Max } else { Op::Avg };
            let k = rng.gen_range(2..=3);
            let c = rng.gen_range(1..=4);
            let mut p = problem(
                op,
                [rng.gen_range(1..=2), c, 1, 1],
                [rng.gen_range(k..=8), rng.gen_range(k..=8)],
                [k, k],
                [rng.gen_range(1..=2), rng.gen_range(1..=2)],
                Padding::default(),
            );
            p.relu = false;
            p
        }
    };
    // Dense data without a ReLU, so few faults are masked by the data.
    prob.relu = false;
    prob.ifmap_zero_fraction = 0.0;
    prob.weight_density = 1.0;
    prob.network_input = rng.gen_bool(0.2);
    let m = random_mapping(&prob, hw, rng)?;
    let d = data::generate_with_shift(&prob, rng.gen(), hw.pe.product_shift);
    Some(Case::Array(prob, m, d))
}

fn kinds(rng: &mut ChaCha8Rng) -> [FaultKind; 5] {
    [
        FaultKind::Drop,
        FaultKind::Duplicate,
        FaultKind::WrongTag,
        FaultKind::Flip(rng.gen_range(0..16)),
        FaultKind::Delay(rng.gen_range(1..=300)),
    ]
}

fn kind_name(k: FaultKind) -> &'static str {
    match k {
        FaultKind::Drop => "drop",
        FaultKind::Duplicate => "dup",
        FaultKind::WrongTag => "tag",
        FaultKind::Flip(_) => "flip",
        FaultKind::Delay(_) => "delay",
    }
}

/// Transfers `site` performs in the case (a fault that never fires counts them).
fn transfers(case: &Case, hw: &HwConfig, site: FaultSite) -> u64 {
    let opts = SimOptions {
        fault: Some(Fault {
            kind: FaultKind::Drop,
            site,
            nth: u64::MAX,
        }),
        ..SimOptions::default()
    };
    case.run(hw, &opts)
        .expect("a fault that never fires changes nothing")
        .fault
        .transfers
}

#[test]
fn every_data_fault_is_caught_and_delays_change_only_time() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut table: BTreeMap<(FaultSite, &'static str), Tally> = BTreeMap::new();
    let mut cases = 0;
    while cases < 70 {
        let mut hw = random_hw(&mut rng);
        hw.pe.product_shift = rng.gen_range(0..=4);
        let Some(case) = random_case(&mut rng, &hw) else {
            continue;
        };
        cases += 1;
        let clean = case
            .run(&hw, &SimOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        for site in FaultSite::ALL {
            let n = transfers(&case, &hw, site);
            if n == 0 {
                continue;
            }
            for kind in kinds(&mut rng) {
                if !site.supports(kind) {
                    continue;
                }
                let fault = Fault {
                    kind,
                    site,
                    nth: rng.gen_range(1..=n),
                };
                let t = table.entry((site, kind_name(kind))).or_default();
                t.injected += 1;
                let off = SimOptions {
                    check: false,
                    fault: Some(fault),
                    ..SimOptions::default()
                };
                let on = SimOptions {
                    fault: Some(fault),
                    ..SimOptions::default()
                };
                let seen = case.run(&hw, &off);
                if let Ok(r) = &seen {
                    t.fifo_imbalance +=
                        u32::from(r.stats.pe.leftover_words + r.stats.pe.starved_words > 0);
                }
                let changed = match &seen {
                    Ok(r) => r.ofmap != clean.ofmap,
                    Err(SimError::Corrupted { .. }) => true,
                    Err(e) => panic!("{fault:?}: {e}"),
                };
                let checked = case.run(&hw, &on);
                if let FaultKind::Delay(_) = kind {
                    let r = checked.unwrap_or_else(|e| panic!("{fault:?} changed data: {e}"));
                    assert_eq!(r.ofmap, clean.ofmap, "{fault:?}");
                    assert_eq!(r.counts, clean.counts, "{fault:?} changed a count");
                    t.timing_changed += u32::from(r.cycles != clean.cycles);
                    continue;
                }
                if changed {
                    t.changed += 1;
                    match checked {
                        Err(SimError::Mismatch { .. } | SimError::Corrupted { .. }) => {
                            t.caught += 1
                        }
                        other => panic!("{fault:?} changed the ofmap but the check said {other:?}"),
                    }
                } else {
                    t.masked += 1;
                    assert!(checked.is_ok(), "{fault:?}: false alarm");
                }
            }
        }
    }
    eprintln!("component     kind   injected changed caught masked timing-changed");
    for ((site, kind), t) in &table {
        eprintln!(
            "{:<13} {:<6} {:>8} {:>7} {:>6} {:>6} {:>14}",
            site.name(),
            kind,
            t.injected,
            t.changed,
            t.caught,
            t.masked,
            t.timing_changed
        );
    }
    // Every component's data faults do reach the ofmap (the data really
    // travels through it), and every one that does is caught.
    for site in FaultSite::ALL {
        let changed: u32 = table
            .iter()
            .filter(|((s, _), _)| *s == site)
            .map(|(_, t)| t.changed)
            .sum();
        assert!(changed > 0, "no fault on {site} ever changed the ofmap");
    }
    // A lost or doubled word in a FIFO-fed stream shows in the FIFO
    // balance that fault-free runs keep at zero (tests/it/simulate.rs).
    for site in [
        FaultSite::IfmapGin,
        FaultSite::PsumGin,
        FaultSite::LocalLink,
    ] {
        for kind in ["drop", "dup"] {
            assert!(table[&(site, kind)].fifo_imbalance > 0, "{site} {kind}");
        }
    }
    // Each data fault kind changes data on each component, except the
    // duplicates of a write by address, which are idempotent by design
    // (docs/engine.md, "Fault injection").
    for ((site, kind), t) in &table {
        let idempotent = *kind == "dup" && matches!(site, FaultSite::Gon | FaultSite::Dram);
        if *kind != "delay" && !idempotent {
            assert!(
                t.changed > 0,
                "{site} {kind} never changed the ofmap ({t:?})"
            );
        }
        if idempotent {
            assert_eq!(t.changed, 0, "{site} {kind} is a rewrite of the same words");
        }
    }
    for ((site, kind), t) in &table {
        assert_eq!(t.caught, t.changed, "{site} {kind}");
        if *kind == "delay" {
            assert!(
                t.timing_changed > 0,
                "no delay on {site} changed the timing"
            );
        }
    }
}
