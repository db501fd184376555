use super::*;
use crate::analytic::{estimate_network, EstimateOptions};
use crate::data;
use crate::data::LayerData;
use crate::workload::{self, ConvProblem, LayerWork};

/// Three conv layers and an FC layer, small enough for `tiny`.
const SMALL: &str = include_str!("../../../../tests/data/prune-small.toml");

fn small() -> Network {
    workload::from_toml_str(SMALL, "small.toml").unwrap()
}

fn tiny() -> HwConfig {
    crate::hw::load("tiny").unwrap()
}

fn opts(target: f64, floor: f64) -> PruneOptions {
    PruneOptions {
        target_reduction: target,
        floors: Floors::uniform(floor).unwrap(),
        threads: 1,
        ..PruneOptions::default()
    }
}

#[test]
fn each_step_prunes_the_hungriest_prunable_layer_and_energy_never_rises() {
    let net = small();
    let p = plan(&net, &tiny(), &opts(100.0, 0.05)).unwrap();
    assert!(p.steps.len() > 10, "{} steps", p.steps.len());
    let mut energy: Vec<f64> = p.baseline.iter().map(|r| r.energy.total()).collect();
    let mut density: Vec<f64> = net
        .layers
        .iter()
        .map(|l| l.sparsity.weight_density)
        .collect();
    let mut network = p.baseline_energy();
    for s in &p.steps {
        let prunable = |i: usize| has_weights(&net, &net.layers[i]) && density[i] > p.floors[i];
        assert!(prunable(s.layer));
        for i in (0..energy.len()).filter(|&i| prunable(i)) {
            assert!(
                energy[i] <= energy[s.layer],
                "step {s:?}: {} is hungrier",
                i
            );
        }
        assert_eq!(s.layer_energy_before, energy[s.layer]);
        assert!(s.layer_energy_after < s.layer_energy_before, "{s:?}");
        assert!(s.network_energy < network, "{s:?}");
        assert_eq!(s.density_after, (s.density_before * 0.8).max(0.05));
        energy[s.layer] = s.layer_energy_after;
        density[s.layer] = s.density_after;
        network = s.network_energy;
    }
    assert_eq!(network, p.final_energy());
}

#[test]
fn stops_at_the_target_without_overshooting() {
    let p = plan(&small(), &tiny(), &opts(1.5, 0.05)).unwrap();
    assert_eq!(p.stop, StopReason::TargetReached);
    assert!(p.final_energy() <= p.target_energy);
    let before_last = p.steps[p.steps.len() - 2].network_energy;
    assert!(before_last > p.target_energy);
    assert!(p.reduction() >= 1.5);
    // A target of 1 needs no step at all.
    let p = plan(&small(), &tiny(), &opts(1.0, 0.05)).unwrap();
    assert!(p.steps.is_empty() && p.stop == StopReason::TargetReached);
}

#[test]
fn stops_with_every_layer_at_its_floor() {
    let mut o = opts(1000.0, 0.3);
    o.floors.per_layer.insert("c2".into(), 0.5);
    o.floors.per_layer.insert("fc".into(), 1.0);
    let p = plan(&small(), &tiny(), &o).unwrap();
    assert_eq!(p.stop, StopReason::AllAtFloor);
    let d = |n: &str| p.pruned.layer(n).unwrap().sparsity.weight_density;
    assert_eq!((d("c1"), d("c2"), d("c3"), d("fc")), (0.3, 0.5, 0.3, 1.0));
    let names: Vec<&str> = p
        .layers_at_floor()
        .into_iter()
        .map(|i| p.pruned.layers[i].name.as_str())
        .collect();
    assert_eq!(names, ["c1", "c2", "c3", "fc"]);
    assert!(!p.pruning_order().contains(&5), "fc has floor 1");
    // c1 at 0.8 steps from 1 to 0.3: 0.8, 0.64, 0.512, 0.4096, 0.32768, 0.3.
    assert_eq!(p.steps.iter().filter(|s| s.name == "c1").count(), 6);
}

#[test]
fn pinning_the_planned_mappings_reproduces_the_final_estimate() {
    let hw = tiny();
    let p = plan(&small(), &hw, &opts(2.0, 0.05)).unwrap();
    assert!(p.enabled_weight_compression);
    assert!(p.hw.sparsity.weight_compression && !hw.sparsity.weight_compression);
    let again = estimate_network(
        &p.pruned,
        &p.hw,
        &EstimateOptions {
            pinned: p.mappings(),
            ..EstimateOptions::default()
        },
    )
    .unwrap();
    assert_eq!(again, p.last);
    let (_, enabled) = with_weight_compression(&p.hw);
    assert!(!enabled);
}

#[test]
fn plans_are_deterministic_whatever_the_thread_count() {
    let hw = tiny();
    let mut o = opts(3.0, 0.05);
    let a = plan(&small(), &hw, &o).unwrap();
    o.threads = 3;
    let b = plan(&small(), &hw, &o).unwrap();
    assert_eq!(output::plan_csv(&a), output::plan_csv(&b));
    assert_eq!(a.steps, b.steps);
}

#[test]
fn bad_options_are_rejected() {
    let hw = tiny();
    let mut o = opts(2.0, 0.1);
    o.step = 1.0;
    let e = plan(&small(), &hw, &o).unwrap_err().to_string();
    assert_eq!(e, "--step: 1 is not a factor in (0, 1)");
    let e = plan(&small(), &hw, &opts(0.5, 0.1))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("--target-reduction: 0.5"), "{e}");
    assert!(Floors::uniform(1.5).is_err());
}

fn conv_problem(net: &Network, name: &str) -> ConvProblem {
    let l = net.layer(name).unwrap();
    match LayerWork::of(l, net.batch) {
        LayerWork::Array(p) => p,
        _ => unreachable!(),
    }
}

#[test]
fn pruned_weights_have_the_planned_density_and_a_growing_ofmap_error() {
    let prob = conv_problem(&small(), "c2");
    let base = data::generate(&prob, 7);
    let mut last = -1.0;
    for density in [1.0, 0.8, 0.5, 0.25, 0.1] {
        let mut d = base.clone();
        let err = prune_layer_weights(&prob, &mut d, density, 8);
        let kept = d.weights.len() - data::count_zeros(&d.weights) as usize;
        assert_eq!(kept, (density * d.weights.len() as f64).round() as usize);
        assert_eq!(d.ifmap, base.ifmap);
        if density == 1.0 {
            assert_eq!(err, 0.0);
        }
        assert!(err > last, "density {density}: error {err} after {last}");
        last = err;
    }
}

#[test]
fn the_criterion_beats_pruning_small_weights_blindly() {
    // Channel 0 of the ifmap is loud, the others quiet: a small weight on
    // channel 0 matters more than a large one elsewhere.
    let prob = conv_problem(&small(), "c3");
    let mut d = data::generate(&prob, 3);
    let plane = (prob.h * prob.w) as usize;
    for (k, x) in d.ifmap.iter_mut().enumerate() {
        if !(k / plane).is_multiple_of(prob.c as usize) {
            *x /= 16;
        }
    }
    let mut by_criterion = d.clone();
    let err = prune_layer_weights(&prob, &mut by_criterion, 0.5, 8);
    // Magnitude pruning: keep the largest |w| regardless of the ifmap.
    let mut by_magnitude = d.clone();
    let mut idx: Vec<usize> = (0..d.weights.len()).collect();
    idx.sort_by_key(|&i| (std::cmp::Reverse(d.weights[i].unsigned_abs()), i));
    for &i in &idx[d.weights.len() / 2..] {
        by_magnitude.weights[i] = 0;
    }
    let rel = |pruned: &LayerData| {
        let a = data::reference(&prob, &d, 8);
        let b = data::reference(&prob, pruned, 8);
        weights::relative_error(&a, &b)
    };
    assert_eq!(err, rel(&by_criterion));
    assert!(err < rel(&by_magnitude), "{err} vs {}", rel(&by_magnitude));
}

#[test]
fn network_weights_follow_the_plan_and_untouched_layers_lose_nothing() {
    let p = plan(&small(), &tiny(), &opts(1.3, 0.05)).unwrap();
    let changed: Vec<&str> = p
        .pruning_order()
        .iter()
        .map(|&i| p.pruned.layers[i].name.as_str())
        .collect();
    let mut seen = Vec::new();
    let rows = prune_network_weights(&p, WeightSource::Generated { seed: 5 }, |r, prob, d| {
        assert_eq!(d.weights.len() as u64, prob.weights());
        seen.push(r.layer.clone());
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, ["c1", "c2", "c3", "fc"]);
    for r in &rows {
        let count = |d: f64| (d * r.weights as f64).round() as u64;
        assert_eq!(
            count(r.density_after),
            count(r.planned_density),
            "{}",
            r.layer
        );
        assert_eq!(
            r.ofmap_error > 0.0,
            changed.contains(&r.layer.as_str()),
            "{r:?}"
        );
    }
}
