
/// Dense layers: every counter equals the analytic model's exactly; sparse
/// ones stay within 5% (the analytic model uses expected zero counts).
#[test]
fn counts_agree_with_the_analytic_model() {
    use eyesim::analytic::estimate_layer;
    use eyesim::stats::{LEVELS, TENSORS};
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let (mut dense, mut sparse) = (0, 0);
    while dense + sparse < 120 {
        let hw = random_hw(&mut rng);
        let r = rng.gen_range(1..=3);
        let s = rng.gen_range(1..=3);
        let pad = Padding {
            top: rng.gen_range(0..r),
            bottom: rng.gen_range(0..r),
            left: rng.gen_range(0..s),
            right: rng.gen_range(0..s),
        };
        let mut prob = problem(
            Op::Mac,
            [rng.gen_range(1..=3), rng.gen_range(1..=2), rng.gen_range(1..=8), rng.gen_range(1..=8)],
            [rng.gen_range(r..=10), rng.gen_range(s..=10)],
            [r, s],
            [rng.gen_range(1..=2), rng.gen_range(1..=2)],
            pad,
        );
        let is_dense = rng.gen_bool(0.5);
        if !is_dense {
            // RLC streams must be long enough for expected pair counts to
            // mean something: with a handful of values per stream, whole-word
            // rounding of each stream (E[ceil(x)] > ceil(E[x])) dominates.
            prob.h += 20;
            prob.w += 20;
            prob.e = (prob.hp() - r) / prob.u_h + 1;
            prob.f = (prob.wp() - s) / prob.u_w + 1;
            prob.ifmap_zero_fraction = rng.gen_range(0.2..0.7);
        }
        let Some(m) = random_mapping(&prob, &hw, &mut rng) else { continue };
        if eyesim::mapping::check(&m, &prob, &hw).is_err() {
            continue;
        }
        // Every RLC stream (ifmap strip rows, ofmap strip) long enough; see above.
        let last = if prob.e % m.e == 0 { m.e } else { prob.e % m.e };
        let rows = ((last - 1) * prob.u_h + prob.r).min(prob.h);
        if !is_dense && (rows * prob.w < 150 || last * prob.f < 150) {
            continue;
        }
        let res = sim(&prob, &m, &hw, rng.gen());
        let est = estimate_layer(&prob, &m, &hw);
        for l in LEVELS {
            for t in TENSORS {
                let (a, b) = (res.counts.get(l, t), est.counts.get(l, t));
                if is_dense {
                    assert_eq!(a, b, "{l:?} {t:?}: {prob:?} {m}");
                } else {
                    for (x, y) in [(a.reads, b.reads), (a.writes, b.writes)] {
                        // Tiny cells are dominated by rounding of expectations.
                        if y >= 500 {
                            let d = (x as f64 - y as f64).abs() / y as f64;
                            assert!(d <= 0.05, "{l:?} {t:?} {x} vs {y}: {prob:?} {m}");
                        }
                    }
                }
            }
        }
        if is_dense {
            assert_eq!(res.counts.macs, est.counts.macs);
            dense += 1;
        } else {
            sparse += 1;
        }
    }
}
