use super::*;
use crate::data::generate::generate_with_shift;
use crate::data::testing::{naive, problem, shaped};
use crate::workload::Padding;

fn data(p: &ConvProblem, ifmap: Vec<i16>, weights: Vec<i16>) -> LayerData {
    LayerData {
        ifmap,
        weights,
        bias: vec![0; (p.g * p.m) as usize],
    }
}

fn seq(n: i16) -> Vec<i16> {
    (1..=n).collect()
}

#[test]
fn one_by_one_conv_mixes_channels() {
    let p = problem(Op::Mac, 2, 1, 2, 2, 1, 1);
    let d = data(&p, seq(8), vec![2, -1]);
    assert_eq!(reference(&p, &d, 0), vec![-3, -2, -1, 0]);
}

#[test]
fn plain_conv_2x2() {
    let p = problem(Op::Mac, 1, 1, 3, 3, 2, 2);
    let d = data(&p, seq(9), vec![1; 4]);
    assert_eq!(reference(&p, &d, 0), vec![12, 16, 24, 28]);
}

#[test]
fn padding_and_stride() {
    let mut p = problem(Op::Mac, 1, 1, 3, 3, 3, 3);
    p.pad = Padding {
        top: 1,
        bottom: 1,
        left: 1,
        right: 1,
    };
    p.u_h = 2;
    p.u_w = 2;
    let p = shaped(p);
    assert_eq!((p.e, p.f), (2, 2));
    let d = data(&p, seq(9), vec![1; 9]);
    assert_eq!(reference(&p, &d, 0), vec![12, 16, 24, 28]);
}

#[test]
fn asymmetric_padding_odd_sizes() {
    // 1x3 input [1,2,3], kernel 1x2 weights [1,10], padding left 2, right 0.
    let mut p = problem(Op::Mac, 1, 1, 1, 3, 1, 2);
    p.pad = Padding {
        top: 0,
        bottom: 0,
        left: 2,
        right: 0,
    };
    let p = shaped(p);
    assert_eq!(p.f, 4);
    let d = data(&p, vec![1, 2, 3], vec![1, 10]);
    // Padded row: 0 0 1 2 3 -> [0+0, 0+10, 1+20, 2+30].
    assert_eq!(reference(&p, &d, 0), vec![0, 10, 21, 32]);
}

#[test]
fn dilation() {
    let mut p = problem(Op::Mac, 1, 1, 5, 5, 2, 2);
    p.d_h = 2;
    p.d_w = 2;
    let p = shaped(p);
    assert_eq!((p.e, p.f), (3, 3));
    let d = data(&p, seq(25), vec![1; 4]);
    let want: Vec<i16> = (0..3)
        .flat_map(|e| (0..3).map(move |f| 28 + 20 * e + 4 * f))
        .collect();
    assert_eq!(reference(&p, &d, 0), want);
}

#[test]
fn depthwise_groups_do_not_mix() {
    let mut p = problem(Op::Mac, 1, 1, 1, 2, 1, 1);
    p.g = 2;
    let d = data(&p, vec![1, 2, 3, 4], vec![10, 100]);
    assert_eq!(reference(&p, &d, 0), vec![10, 20, 300, 400]);
}

#[test]
fn grouped_conv_uses_its_groups_channels() {
    // g = 2, c = 2 per group, m = 1 per group, 1x1 input.
    let mut p = problem(Op::Mac, 2, 1, 1, 1, 1, 1);
    p.g = 2;
    let d = data(&p, vec![1, 2, 3, 4], vec![1, 10, 100, 1000]);
    assert_eq!(reference(&p, &d, 0), vec![21, 300 + 4000]);
}

#[test]
fn fully_connected_is_a_dot_product() {
    let p = problem(Op::Mac, 2, 2, 2, 2, 2, 2);
    assert_eq!((p.e, p.f), (1, 1));
    let mut w = vec![1; 8];
    w.extend([1, -1, 1, -1, 1, -1, 1, -1]);
    let d = data(&p, seq(8), w);
    assert_eq!(reference(&p, &d, 0), vec![36, -4]);
}

#[test]
fn product_shift_applies_per_product() {
    let p = problem(Op::Mac, 1, 1, 1, 2, 1, 2);
    // 256*3 >> 8 = 3; -1*1 >> 8 = -1 (floor).
    let d = data(&p, vec![256, -1], vec![3, 1]);
    assert_eq!(reference(&p, &d, 8), vec![2]);
}

#[test]
fn max_pool_odd_size_floors() {
    let mut p = problem(Op::Max, 1, 1, 5, 5, 2, 2);
    p.u_h = 2;
    p.u_w = 2;
    let p = shaped(p);
    assert_eq!((p.e, p.f), (2, 2));
    let d = data(&p, seq(25), vec![]);
    assert_eq!(reference(&p, &d, 8), vec![7, 9, 17, 19]);
}

#[test]
fn max_pool_starts_from_zero() {
    let p = problem(Op::Max, 1, 1, 1, 2, 1, 2);
    let d = data(&p, vec![-5, -3], vec![]);
    assert_eq!(reference(&p, &d, 8), vec![0]);
}

#[test]
fn avg_pool_divides_by_window_including_padding() {
    let p = problem(Op::Avg, 1, 1, 3, 3, 3, 3);
    let d = data(&p, seq(9), vec![]);
    assert_eq!(reference(&p, &d, 8), vec![5]);
    let mut p = problem(Op::Avg, 1, 1, 2, 2, 2, 2);
    p.pad = Padding {
        top: 0,
        bottom: 1,
        left: 0,
        right: 1,
    };
    let p = shaped(p);
    let d = data(&p, vec![4, 8, 12, 16], vec![]);
    // Windows: 40/4, (8+16)/4, (12+16)/4, 16/4.
    assert_eq!(reference(&p, &d, 8), vec![10, 6, 7, 4]);
}

#[test]
fn bias_and_relu_per_filter_and_image() {
    let mut p = problem(Op::Mac, 1, 2, 1, 1, 1, 1);
    p.n = 2;
    p.relu = true;
    let d = LayerData {
        ifmap: vec![3, -3],
        weights: vec![1, 2],
        bias: vec![1, -7],
    };
    // image 0: [3+1, 6-7 -> 0]; image 1: [-3+1 -> 0, -6-7 -> 0].
    assert_eq!(reference(&p, &d, 0), vec![4, 0, 0, 0]);
    assert_eq!(reference_psums(&p, &d, 0), vec![3, 6, -3, -6]);
}

/// Random problems of every kind against the textbook definition.
#[test]
fn matches_naive_definition_on_random_problems() {
    use rand::Rng;
    use rand_chacha::rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut checked = 0;
    for case in 0..150 {
        let op = [Op::Mac, Op::Mac, Op::Max, Op::Avg][case % 4];
        let (r, s) = (rng.gen_range(1..4), rng.gen_range(1..4));
        let (h, w) = (rng.gen_range(r..9), rng.gen_range(s..9));
        let mut p = problem(op, rng.gen_range(1..4), rng.gen_range(1..4), h, w, r, s);
        if op != Op::Mac {
            p.c = 1;
            p.m = 1;
        }
        p.n = rng.gen_range(1..3);
        p.g = rng.gen_range(1..4);
        p.u_h = rng.gen_range(1..4);
        p.u_w = rng.gen_range(1..4);
        p.pad = Padding {
            top: rng.gen_range(0..3),
            bottom: rng.gen_range(0..3),
            left: rng.gen_range(0..3),
            right: rng.gen_range(0..3),
        };
        p.d_h = rng.gen_range(1..3);
        p.d_w = rng.gen_range(1..3);
        if p.hp() < p.d_h * (p.r - 1) + 1 || p.wp() < p.d_w * (p.s - 1) + 1 {
            continue;
        }
        let mut p = shaped(p);
        p.ifmap_zero_fraction = 0.3;
        p.weight_density = 0.7;
        p.network_input = case % 3 == 0;
        p.relu = case % 2 == 0;
        let d = generate_with_shift(&p, case as u64, 4);
        assert_eq!(reference(&p, &d, 4), naive(&p, &d, 4), "case {case}: {p:?}");
        checked += 1;
    }
    assert!(checked >= 100, "only {checked} random problems were valid");
}

#[test]
fn fc_fast_path_matches_naive() {
    let mut p = problem(Op::Mac, 5, 7, 3, 4, 3, 4);
    p.n = 3;
    p.network_input = true;
    let d = generate_with_shift(&p, 1, 2);
    assert_eq!(reference(&p, &d, 2), naive(&p, &d, 2));
}

/// The dot product of a fully connected layer, on values across the whole
/// 16-bit range (products up to 2^30, sums that wrap) and every kind of
/// shift, against the definition.
#[test]
fn fc_dot_product_matches_naive_on_full_range_values() {
    let mut p = problem(Op::Mac, 6, 9, 5, 7, 5, 7);
    p.n = 2;
    p.network_input = true;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for shift in [0, 8, 15, 16, 20, 31, 40] {
        let mut d = generate_with_shift(&p, 3, shift);
        for v in d.ifmap.iter_mut().chain(d.weights.iter_mut()) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *v = state as i16;
        }
        assert_eq!(
            reference(&p, &d, shift),
            naive(&p, &d, shift),
            "shift {shift}"
        );
    }
}

#[test]
fn result_is_independent_of_thread_count() {
    let mut p = problem(Op::Mac, 3, 5, 9, 7, 3, 3);
    p.n = 2;
    p.g = 2;
    let d = generate_with_shift(&p, 3, 8);
    let one = reference_psums_threads(&p, &d, 8, 1);
    for t in [2, 3, 7, 64] {
        assert_eq!(reference_psums_threads(&p, &d, 8, t), one, "{t} threads");
    }
}

/// Every plane through the baseline build of the loops and through the
/// dispatched one (the AVX2 build on a CPU that has it): the same bits.
#[test]
fn both_builds_of_the_loops_agree() {
    let mut shapes = Vec::new();
    for op in [Op::Mac, Op::Max, Op::Avg] {
        let mut p = problem(op, 3, 5, 13, 17, 3, 5);
        (p.u_h, p.u_w, p.d_w) = (2, 3, 2);
        p.pad = Padding {
            top: 1,
            bottom: 2,
            left: 2,
            right: 1,
        };
        shapes.push(shaped(p));
        shapes.push(problem(op, 4, 6, 3, 3, 3, 3));
        let mut batched = problem(op, 2, 3, 31, 9, 1, 1);
        (batched.n, batched.g) = (2, 2);
        shapes.push(batched);
    }
    // The dispatch must really reach the AVX2 build where the CPU has it,
    // or this compares one build with itself.
    #[cfg(target_arch = "x86_64")]
    if !std::arch::is_x86_feature_detected!("avx2") {
        eprintln!("no AVX2 on this CPU: only the baseline build is compared");
    }
    for p in &shapes {
        for shift in [0, 5, 8, 16, 20, 40] {
            let d = generate_with_shift(p, 7, shift);
            let input = Input {
                values: &d.ifmap,
                row_len: p.w.div_ceil(p.u_w) as usize,
            };
            let phased = column_phases(p, &d.ifmap);
            let input = Input {
                values: phased.as_deref().unwrap_or(input.values),
                ..input
            };
            let plane = (p.e * p.f) as usize;
            for idx in 0..(p.n * p.g * p.m) as usize {
                let (mut a, mut b) = (vec![PSUM_INIT; plane], vec![PSUM_INIT; plane]);
                plane_loops(p, &d, &input, shift, idx, &mut a);
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked just above).
                    unsafe { compute_plane_avx2(p, &d, &input, shift, idx, &mut b) };
                } else {
                    compute_plane(p, &d, &input, shift, idx, &mut b);
                }
                #[cfg(not(target_arch = "x86_64"))]
                compute_plane(p, &d, &input, shift, idx, &mut b);
                assert_eq!(a, b, "{p:?} shift {shift} plane {idx}");
            }
        }
    }
}
