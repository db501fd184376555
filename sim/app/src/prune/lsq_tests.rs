//! Tests of the least-squares core and the criteria on hand-made data.

use super::lsq::{fit_layer, LayerFit};
use super::select::{candidate, removal_order, Criterion, Fits};
use eyesim_core::fixtures::conv;
use rand::{Rng, SeedableRng};

/// An FC-like layer: `n` images of `c` inputs (1×1 conv, one output position).
fn fc(n: u32, c: u32, m: u32) -> crate::workload::ConvProblem {
    conv(n, 1, c, m, 1, 1, 1, 0)
}

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

/// Inputs where x1 ≈ x0 (correlated) and x2 is independent; the filter
/// `5·x0 − 5·x1 + 1·x2` gives nearly `x2`: two large weights that cancel.
fn cancelling(n: u32) -> (crate::workload::ConvProblem, Vec<f32>, Vec<f32>, Vec<f32>) {
    let p = fc(n, 3, 1);
    let noise = random(3 * n as usize, 7);
    let mut x = Vec::new();
    for i in 0..n as usize {
        let a = noise[3 * i];
        x.extend([a, a + 0.01 * noise[3 * i + 1], noise[3 * i + 2]]);
    }
    (p, x, vec![5.0, -5.0, 1.0], vec![0.0])
}

#[test]
fn restoration_solves_the_regularized_normal_equations() {
    let p = fc(64, 6, 2);
    let x = random(64 * 6, 1);
    let w = random(12, 2);
    let b = vec![0.3, -0.2];
    let fit = fit_layer(&p, &x, &x, &w, &b);
    let lambda = fit.lambda(1e-2);
    let keep = [0, 2, 3, 5];
    let r = fit.restore(0, 1, &keep, None, lambda);
    // Gradient of ‖Xw − y‖² + λ‖w‖² over the kept taps and the bias is 0.
    let g = &fit.groups[0];
    let mut idx = keep.to_vec();
    idx.push(fit.taps);
    for &i in &idx {
        let mut grad = -g.cross[(i, 1)];
        for &j in &idx {
            grad += g.gram[(i, j)] * r[j];
        }
        if i != fit.taps {
            grad += lambda * r[i];
        }
        assert!(grad.abs() < 1e-9, "tap {i}: gradient {grad}");
    }
    assert_eq!((r[1], r[4]), (0.0, 0.0), "pruned taps stay 0");
    // With every tap kept and no noise, the original weights come back.
    let all = fit.restore(0, 1, &[0, 1, 2, 3, 4, 5], None, 1e-12);
    for t in 0..6 {
        assert!(
            (all[t] - f64::from(w[6 + t])).abs() < 1e-6,
            "tap {t}: {}",
            all[t]
        );
    }
    assert!((all[6] - f64::from(b[1])).abs() < 1e-6);
}

#[test]
fn a_path_step_costs_what_removing_the_tap_and_refitting_costs() {
    let p = fc(80, 5, 1);
    let x = random(80 * 5, 3);
    let w: Vec<f32> = random(5, 4).iter().map(|v| v * 2.0).collect();
    let y_w: Vec<f32> = random(5, 5);
    // Targets from other weights, so that the full fit is not exact.
    let fit = fit_layer(&p, &x, &x, &y_w, &[0.1]);
    let lambda = fit.lambda(1e-3);
    let keep: Vec<usize> = (0..5).collect();
    let start = fit
        .inverse(0, &keep, true, lambda)
        .expect("positive definite");
    let path = fit.path(0, 0, &start);
    assert_eq!(path.len(), 5, "every tap is removed once");
    let objective =
        |r: &[f64]| fit.error(0, 0, r) + lambda * r[..5].iter().map(|v| v * v).sum::<f64>();
    let full = objective(&fit.restore(0, 0, &keep, None, lambda));
    let (j, cost) = path[0];
    let rest: Vec<usize> = keep.iter().copied().filter(|&t| t != j).collect();
    let without = objective(&fit.restore(0, 0, &rest, None, lambda));
    assert!(
        (without - full - cost).abs() < 1e-9 * full.max(1.0),
        "{without} - {full} vs {cost}"
    );
    // And it is the cheapest single removal.
    for t in 0..5 {
        let rest: Vec<usize> = keep.iter().copied().filter(|&k| k != t).collect();
        assert!(objective(&fit.restore(0, 0, &rest, None, lambda)) >= without - 1e-12);
    }
    let _ = w;
}

#[test]
fn the_joint_criterion_keeps_cancelling_weights_that_magnitude_splits() {
    let (p, x, w, b) = cancelling(200);
    let fit: LayerFit = fit_layer(&p, &x, &x, &w, &b);
    let lambda = fit.lambda(1e-6);
    let magnitude = removal_order(Criterion::Magnitude, &fit, &w, false, lambda, 1);
    let joint = removal_order(Criterion::EnergyAware, &fit, &w, false, lambda, 1);
    assert_eq!(
        magnitude[0],
        (0, 2),
        "magnitude removes the small, useful weight first"
    );
    assert_ne!(
        joint[0],
        (0, 2),
        "the joint criterion removes one of the cancelling pair"
    );
    let fits = Fits {
        fit: fit.clone(),
        check: fit.clone(),
    };
    let one = |c: Criterion, order: &[(usize, usize)]| {
        candidate(c, &fits, &w, &b, order, 1, false, lambda, 1)
    };
    let m = one(Criterion::Magnitude, &magnitude);
    let j = one(Criterion::EnergyAware, &joint);
    assert!(
        j.error_after < 0.1 * m.error_after,
        "joint {} vs magnitude {}",
        j.error_after,
        m.error_after
    );
    assert!(
        j.error_after < j.error_before,
        "restoration lowers the error"
    );
    assert_eq!(j.kept, 2);
}

#[test]
fn restoration_is_dropped_where_held_out_data_says_it_overfits() {
    // 4 images for 12 unknowns: the fit interpolates noise.
    let p = fc(4, 12, 3);
    let x = random(4 * 12, 11);
    let w = random(36, 12);
    let b = vec![0.0; 3];
    let noisy: Vec<f32> = random(36, 13);
    let fit = fit_layer(&p, &x, &x, &noisy, &b);
    let q = fc(40, 12, 3);
    let xc = random(40 * 12, 14);
    let check = fit_layer(&q, &xc, &xc, &noisy, &b);
    let fits = Fits { fit, check };
    let order = removal_order(
        Criterion::EnergyAware,
        &fits.fit,
        &w,
        false,
        fits.fit.lambda(1e-9),
        1,
    );
    let c = candidate(
        Criterion::EnergyAware,
        &fits,
        &w,
        &b,
        &order,
        6,
        false,
        fits.fit.lambda(1e-9),
        1,
    );
    assert!(c.error_after <= c.error_before);
    assert!(
        c.restored < 3,
        "at least one filter keeps its unrestored weights ({} restored)",
        c.restored
    );
}

#[test]
fn criteria_orders_do_not_depend_on_the_thread_count() {
    let p = conv(6, 1, 3, 8, 6, 3, 1, 1);
    let x = random((6 * 3 * 36) as usize, 21);
    let w = random(8 * 27, 22);
    let b = random(8, 23);
    let fit = fit_layer(&p, &x, &x, &w, &b);
    let lambda = fit.lambda(1e-3);
    for c in Criterion::ALL {
        let one = removal_order(c, &fit, &w, true, lambda, 1);
        let four = removal_order(c, &fit, &w, true, lambda, 4);
        assert_eq!(one, four, "{}", c.name());
        assert_eq!(one.len(), w.len());
    }
}
