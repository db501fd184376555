use super::*;
use crate::data::reference::reference;
use crate::data::testing::{problem, shaped};
use crate::data::{count_zeros, zero_fraction};
use crate::workload::Padding;

/// A scaled-down AlexNet CONV3-like layer (3x3, pad 1, 13x13).
fn conv_layer() -> ConvProblem {
    let mut p = problem(Op::Mac, 64, 48, 13, 13, 3, 3);
    p.n = 2;
    p.pad = Padding {
        top: 1,
        bottom: 1,
        left: 1,
        right: 1,
    };
    let mut p = shaped(p);
    p.ifmap_zero_fraction = 0.55;
    p.weight_density = 0.8;
    p.ofmap_zero_fraction = 0.62;
    p.relu = true;
    p
}

#[test]
fn exact_zero_counts() {
    let mut p = conv_layer();
    for (z, density) in [(0.0, 1.0), (0.55, 0.8), (0.333, 0.01), (1.0, 0.0)] {
        p.ifmap_zero_fraction = z;
        p.weight_density = density;
        let d = generate(&p, 5);
        let (ni, nw) = (p.ifmap_values(), p.weights());
        assert_eq!(d.ifmap.len() as u64, ni);
        assert_eq!(d.weights.len() as u64, nw);
        assert_eq!(count_zeros(&d.ifmap), (z * ni as f64).round() as u64);
        assert_eq!(
            nw - count_zeros(&d.weights),
            (density * nw as f64).round() as u64
        );
    }
}

#[test]
fn value_ranges() {
    let mut p = conv_layer();
    let d = generate(&p, 1);
    assert!(d.ifmap.iter().all(|&x| (0..=ACTIVATION_MAX).contains(&x)));
    assert!(d
        .weights
        .iter()
        .all(|&w| (WEIGHT_MIN..=WEIGHT_MAX).contains(&w)));
    assert!(d.weights.contains(&WEIGHT_MIN) && d.weights.contains(&WEIGHT_MAX));
    assert!(d.ifmap.contains(&ACTIVATION_MAX) && d.ifmap.contains(&1));
    p.network_input = true;
    let d = generate(&p, 1);
    assert!(d
        .ifmap
        .iter()
        .all(|&x| (-INPUT_MAX..=INPUT_MAX).contains(&x)));
    assert!(d.ifmap.contains(&-INPUT_MAX) && d.ifmap.contains(&INPUT_MAX));
    assert!(d.ifmap.iter().any(|&x| x < 0));
}

#[test]
fn zero_positions_are_spread_uniformly() {
    // Each half of the tensor should hold about half the zeros.
    let p = conv_layer();
    let d = generate(&p, 9);
    let half = d.ifmap.len() / 2;
    let (a, b) = (count_zeros(&d.ifmap[..half]), count_zeros(&d.ifmap[half..]));
    let total = (a + b) as f64;
    assert!((a as f64 / total - 0.5).abs() < 0.01, "{a} vs {b}");
}

#[test]
fn deterministic_in_seed() {
    let p = conv_layer();
    let a = generate(&p, 42);
    assert_eq!(a, generate(&p, 42));
    let b = generate(&p, 43);
    assert_ne!(a.ifmap, b.ifmap);
    assert_ne!(a.weights, b.weights);
}

#[test]
fn fixed_seed_gives_fixed_bytes() {
    // Guards cross-platform and cross-version stability of the streams:
    // these values may only change with a documented format change.
    let mut p = problem(Op::Mac, 1, 1, 2, 4, 1, 1);
    p.ifmap_zero_fraction = 0.25;
    let d = generate(&p, 0);
    assert_eq!(count_zeros(&d.ifmap), 2);
    assert_eq!(d.ifmap, [119, 16, 141, 239, 40, 197, 0, 0]);
    assert_eq!(d.weights, [65]);
}

#[test]
fn weights_do_not_change_ifmap() {
    let mut p = conv_layer();
    let a = generate(&p, 3);
    p.weight_density = 0.3;
    assert_eq!(generate(&p, 3).ifmap, a.ifmap);
}

#[test]
fn bias_calibration_hits_ofmap_zero_fraction() {
    let mut p = conv_layer();
    for target in [0.0, 0.3, 0.62, 0.9] {
        p.ofmap_zero_fraction = target;
        let (d, ofmap) = generate_with_reference(&p, 17, DEFAULT_PRODUCT_SHIFT);
        assert_eq!(ofmap, reference(&p, &d, DEFAULT_PRODUCT_SHIFT));
        let got = zero_fraction(&ofmap);
        // Ties among equal psums are the only source of error; a psum value
        // is shared by few of a filter's 338 outputs.
        assert!((got - target).abs() < 0.003, "target {target}, got {got}");
    }
}

#[test]
fn bias_calibration_on_fully_connected() {
    // FC with 4 images: 4 outputs per filter, the total is still exact.
    let mut p = problem(Op::Mac, 32, 256, 4, 4, 4, 4);
    p.n = 4;
    p.relu = true;
    p.ofmap_zero_fraction = 0.35;
    let (_, ofmap) = generate_with_reference(&p, 2, DEFAULT_PRODUCT_SHIFT);
    let got = zero_fraction(&ofmap);
    assert!((got - 0.35).abs() < 0.01, "got {got}");
}

#[test]
fn no_relu_bias_only_avoids_exact_zeros() {
    let mut p = conv_layer();
    p.relu = false;
    let (d, ofmap) = generate_with_reference(&p, 4, DEFAULT_PRODUCT_SHIFT);
    assert_eq!(count_zeros(&ofmap), 0);
    assert!(d.bias.iter().all(|b| b.unsigned_abs() <= 8), "{:?}", d.bias);
    let mut pool = problem(Op::Max, 1, 1, 6, 6, 2, 2);
    pool.g = 3;
    pool.relu = true;
    let d = generate(&pool, 4);
    assert!(d.weights.is_empty());
    assert_eq!(d.bias, vec![0; 3]);
}

#[test]
fn psums_are_meaningful_at_shift_8() {
    // The value ranges must give psums well inside 16 bits yet far from 0.
    let mut p = conv_layer();
    p.relu = false;
    let (_, ofmap) = generate_with_reference(&p, 8, DEFAULT_PRODUCT_SHIFT);
    let mean_abs = ofmap.iter().map(|&v| f64::from(v).abs()).sum::<f64>() / ofmap.len() as f64;
    let saturated = ofmap.iter().filter(|&&v| v.unsigned_abs() > 30000).count();
    assert!(mean_abs > 100.0, "mean |psum| {mean_abs}");
    assert!(
        saturated * 1000 < ofmap.len(),
        "{saturated} near-overflow psums"
    );
}

#[test]
fn bias_for_handles_ties_and_extremes() {
    let sorted = [-5, 0, 0, 0, 3, 9];
    // target 2: tau = 0 gives 4 zeros, tau = -1 gives 1 zero; 1 is closer.
    assert_eq!(bias_for(&sorted, 2), 1);
    assert_eq!(bias_for(&sorted, 0), 6);
    assert_eq!(bias_for(&sorted, 6), -9);
    assert_eq!(bias_for(&[i16::MIN], 0), i16::MAX);
    assert_eq!(bias_for(&[], 0), 0);
}

#[test]
fn outputs_without_relu_are_never_exactly_zero() {
    // A layer whose small sums hit zero often: 1×1, few taps, tiny values.
    let mut p = crate::workload::ConvProblem {
        op: Op::Mac,
        n: 2,
        g: 1,
        c: 2,
        m: 8,
        h: 16,
        w: 16,
        r: 1,
        s: 1,
        e: 16,
        f: 16,
        u_h: 1,
        u_w: 1,
        d_h: 1,
        d_w: 1,
        pad: crate::workload::Padding::default(),
        weight_density: 1.0,
        ifmap_zero_fraction: 0.0,
        ofmap_zero_fraction: 0.0,
        network_input: false,
        relu: false,
    };
    let (d, ofmap) = generate_with_reference(&p, 3, 8);
    assert_eq!(crate::data::count_zeros(&ofmap), 0);
    assert!(d.bias.iter().all(|b| b.unsigned_abs() < 64), "{:?}", d.bias);
    // With bias 0 this layer does produce exact zeros, so the test can fail.
    p.relu = true;
    let zero_bias = LayerData {
        bias: vec![0; 8],
        ..d
    };
    let raw = crate::data::reference(
        &crate::workload::ConvProblem { relu: false, ..p },
        &zero_bias,
        8,
    );
    assert!(crate::data::count_zeros(&raw) > 0);
}
