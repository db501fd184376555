use super::*;
use crate::data::generate::generate_with_shift;
use crate::data::reference::{reference, reference_psums_threads, uses_kernel};
use crate::data::testing::{naive, problem, shaped, vector_build_not_run};
use crate::data::LayerData;
use crate::workload::{Op, Padding};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

/// A random MAC layer with enough filters for the kernel: several chunks,
/// a partial last one, groups, strides, dilation, asymmetric padding and
/// ofmap rows that are not a multiple of the column block.
fn random_problem(rng: &mut impl Rng) -> Option<ConvProblem> {
    let (r, s) = (rng.gen_range(1..5), rng.gen_range(1..5));
    let (h, w) = (rng.gen_range(r..12), rng.gen_range(s..16));
    let mut p = problem(
        Op::Mac,
        rng.gen_range(1..5),
        rng.gen_range(8..40),
        h,
        w,
        r,
        s,
    );
    p.n = rng.gen_range(1..3);
    p.g = rng.gen_range(1..3);
    (p.u_h, p.u_w) = (rng.gen_range(1..4), rng.gen_range(1..5));
    (p.d_h, p.d_w) = (rng.gen_range(1..3), rng.gen_range(1..3));
    p.pad = Padding {
        top: rng.gen_range(0..3),
        bottom: rng.gen_range(0..3),
        left: rng.gen_range(0..3),
        right: rng.gen_range(0..3),
    };
    if p.hp() < p.d_h * (p.r - 1) + 1 || p.wp() < p.d_w * (p.s - 1) + 1 {
        return None;
    }
    let mut p = shaped(p);
    p.ifmap_zero_fraction = 0.3;
    p.weight_density = rng.gen_range(0.2..1.0);
    p.relu = rng.gen_bool(0.5);
    p.network_input = rng.gen_bool(0.5);
    Some(p)
}

/// Data for `p` whose non-zero values span the whole 16-bit range (the
/// generator's stay small, so no product would need more than 16 bits):
/// products up to 2^30 and sums that wrap tell a 32-bit kernel from a
/// 16-bit one. Zeros stay where the generator put them.
fn full_range(p: &ConvProblem, seed: u64, shift: u32, rng: &mut impl Rng) -> LayerData {
    let mut d = generate_with_shift(p, seed, shift);
    for v in d.ifmap.iter_mut().chain(d.weights.iter_mut()) {
        if *v != 0 {
            *v = rng.gen_range(i16::MIN..=i16::MAX);
        }
    }
    d
}

#[test]
fn the_kernel_matches_the_naive_definition_on_random_problems() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut checked = 0;
    for case in 0..120u64 {
        let Some(p) = random_problem(&mut rng) else {
            continue;
        };
        assert!(
            uses_kernel(&p),
            "case {case} would not test the kernel: {p:?}"
        );
        let shift = [0, 4, 8, 15, 16, 20, 31, 40][case as usize % 8];
        let d = full_range(&p, case, shift, &mut rng);
        assert_eq!(
            reference(&p, &d, shift),
            naive(&p, &d, shift),
            "case {case}: {p:?}"
        );
        checked += 1;
    }
    assert!(checked >= 80, "only {checked} random problems were valid");
}

#[test]
fn the_kernels_result_is_independent_of_thread_count() {
    let mut p = problem(Op::Mac, 3, 37, 9, 11, 3, 3);
    (p.n, p.g) = (2, 2);
    assert!(uses_kernel(&p));
    let d = generate_with_shift(&p, 3, 8);
    let one = reference_psums_threads(&p, &d, 8, 1);
    for t in [2, 3, 7, 64] {
        assert_eq!(reference_psums_threads(&p, &d, 8, t), one, "{t} threads");
    }
}

/// Every chunk of every image and group through the baseline build of the
/// loops and through the AVX2 build (on a CPU that has it): the same bits.
#[test]
fn both_builds_of_the_kernel_agree() {
    #[cfg(target_arch = "x86_64")]
    if !std::arch::is_x86_feature_detected!("avx2") {
        eprintln!("no AVX2 on this CPU: the baseline build is compared with itself");
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let (mut compared, mut partial, mut paired, mut paired_512) = (0, 0, 0, 0);
    while compared < 20 {
        let Some(p) = random_problem(&mut rng) else {
            continue;
        };
        for shift in [0, 1, 5, 8, 15, 16, 20, 40] {
            let d = full_range(&p, compared, shift, &mut rng);
            for (img, grp) in (0..p.n as usize).flat_map(|i| (0..p.g as usize).map(move |g| (i, g)))
            {
                let input = PaddedInput::new(&p, &d, img, grp);
                for first in (0..p.m as usize).step_by(FILTERS) {
                    let chunk = WeightChunk::new(&p, &d, grp, first, &input);
                    partial += usize::from(chunk.filters() < FILTERS);
                    let len = chunk.filters() * (p.e * p.f) as usize;
                    let (mut a, mut b) = (vec![0; len], vec![0; len]);
                    chunk_loops(&p, &input, &chunk, shift, &mut a);
                    #[cfg(target_arch = "x86_64")]
                    if std::arch::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU has AVX2 (checked just above).
                        unsafe { chunk_psums_avx2(&p, &input, &chunk, shift, &mut b) };
                    } else {
                        chunk_psums(&p, &input, &chunk, shift, &mut b);
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    chunk_psums(&p, &input, &chunk, shift, &mut b);
                    assert_eq!(
                        a, b,
                        "{p:?} shift {shift} image {img} group {grp} chunk {first}"
                    );
                    #[cfg(target_arch = "x86_64")]
                    if shift <= 15 && std::arch::is_x86_feature_detected!("avx2") {
                        let mut c = vec![0; len];
                        // SAFETY: the CPU has AVX2 (checked just above).
                        unsafe { chunk_pairs(Paired::Avx2, &input, &chunk, &p, shift, &mut c) };
                        assert_eq!(a, c, "paired: {p:?} shift {shift} chunk {first}");
                        paired += 1;
                    }
                    #[cfg(target_arch = "x86_64")]
                    if shift <= 15 && avx512_pairs() {
                        // A new vector: one the AVX2 build filled would hide
                        // psums this build did not write.
                        let mut c = vec![0; len];
                        // SAFETY: the CPU has the build's instructions (just checked).
                        unsafe { chunk_pairs(Paired::Avx512, &input, &chunk, &p, shift, &mut c) };
                        assert_eq!(a, c, "paired 512: {p:?} shift {shift} chunk {first}");
                        paired_512 += 1;
                    }
                }
            }
        }
        compared += 1;
    }
    assert!(partial > 0, "no partial last chunk was compared");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        assert!(paired > 0, "the paired build was not compared");
    }
    #[cfg(target_arch = "x86_64")]
    if avx512_pairs() {
        assert!(paired_512 > 0, "the AVX-512 paired build was not compared");
    } else {
        vector_build_not_run("the reference's AVX-512 paired kernel");
    }
}

/// A tap whose weights are zero in every filter of a chunk is left out,
/// and the chunk's psums are still the definition's.
#[test]
fn taps_without_a_non_zero_weight_are_left_out() {
    let mut p = problem(Op::Mac, 2, 16, 6, 6, 3, 3);
    p.network_input = true;
    let mut d = generate_with_shift(&p, 9, 4);
    // Tap (c 1, r 2, s 0) of every filter: zero.
    for k in 0..16 {
        d.weights[k * 18 + 9 + 6] = 0;
    }
    let input = PaddedInput::new(&p, &d, 0, 0);
    let chunk = WeightChunk::new(&p, &d, 0, 0, &input);
    assert_eq!(chunk.offsets.len(), 17);
    assert_eq!(reference(&p, &d, 4), naive(&p, &d, 4));
}

/// Low parts at their largest (`x = −1`, `w = 1`: each product's low `s`
/// bits are all ones) over more tap pairs than one batch of the paired
/// kernel's 16-bit low sums takes at shift 8, for every shift it takes.
#[cfg(target_arch = "x86_64")]
#[test]
fn the_paired_kernels_low_sums_never_overflow() {
    if !std::arch::is_x86_feature_detected!("avx2") {
        eprintln!("no AVX2 on this CPU: the paired kernel does not run");
        return;
    }
    let p = problem(Op::Mac, 40, 16, 5, 5, 3, 3);
    let mut d = generate_with_shift(&p, 1, 8);
    d.ifmap.fill(-1);
    d.weights.fill(1);
    let input = PaddedInput::new(&p, &d, 0, 0);
    let chunk = WeightChunk::new(&p, &d, 0, 0, &input);
    assert!(chunk.pairs.len() > 128, "{} pairs", chunk.pairs.len());
    let len = chunk.filters() * (p.e * p.f) as usize;
    for shift in 0..=15 {
        let (mut a, mut b) = (vec![0; len], vec![0; len]);
        chunk_loops(&p, &input, &chunk, shift, &mut a);
        // SAFETY: the CPU has AVX2 (checked above).
        unsafe { chunk_pairs(Paired::Avx2, &input, &chunk, &p, shift, &mut b) };
        assert_eq!(a, b, "shift {shift}");
        if avx512_pairs() {
            let mut c = vec![0; len];
            // SAFETY: the CPU has the build's instructions (just checked).
            unsafe { chunk_pairs(Paired::Avx512, &input, &chunk, &p, shift, &mut c) };
            assert_eq!(a, c, "AVX-512, shift {shift}");
        } else {
            vector_build_not_run("the reference's AVX-512 paired kernel");
        }
    }
}
