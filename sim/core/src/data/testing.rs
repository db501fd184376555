//! Test helpers: problem builders and a naive reference straight from the
//! definition (every tap, padding included, via padded coordinates).

use super::{finalize, tap, LayerData, PSUM_INIT};
use crate::workload::{ConvProblem, Op, Padding};

/// A 1-image, 1-group problem of `op` with the given sizes; call [`shaped`]
/// after changing stride/padding/dilation.
pub fn problem(op: Op, c: u32, m: u32, h: u32, w: u32, r: u32, s: u32) -> ConvProblem {
    shaped(ConvProblem {
        op,
        n: 1,
        g: 1,
        c,
        m,
        h,
        w,
        r,
        s,
        e: 0,
        f: 0,
        u_h: 1,
        u_w: 1,
        d_h: 1,
        d_w: 1,
        pad: Padding::default(),
        weight_density: 1.0,
        ifmap_zero_fraction: 0.0,
        ofmap_zero_fraction: 0.0,
        network_input: false,
        relu: false,
    })
}

/// Recomputes `e` and `f` from the other fields (floor division).
pub fn shaped(mut p: ConvProblem) -> ConvProblem {
    p.e = (p.hp() - p.d_h * (p.r - 1) - 1) / p.u_h + 1;
    p.f = (p.wp() - p.d_w * (p.s - 1) - 1) / p.u_w + 1;
    p
}

/// The ofmap by the textbook definition, one output value at a time.
pub fn naive(p: &ConvProblem, d: &LayerData, shift: u32) -> Vec<i16> {
    let mut out = Vec::new();
    for n in 0..p.n {
        for g in 0..p.g {
            for m in 0..p.m {
                for e in 0..p.e {
                    for f in 0..p.f {
                        let mut acc = PSUM_INIT;
                        for c in 0..p.c {
                            for r in 0..p.r {
                                for s in 0..p.s {
                                    let x = d.ifmap_padded(
                                        p,
                                        n,
                                        g,
                                        c,
                                        e * p.u_h + r * p.d_h,
                                        f * p.u_w + s * p.d_w,
                                    );
                                    let w = if p.op == Op::Mac {
                                        d.weight(p, g, m, c, r, s)
                                    } else {
                                        0
                                    };
                                    acc = tap(p.op, acc, x, w, shift);
                                }
                            }
                        }
                        out.push(finalize(p, acc, d.bias[(g * p.m + m) as usize]));
                    }
                }
            }
        }
    }
    out
}

/// Says on stderr that a test could not run the vector build `what`,
/// because this CPU lacks its instructions (the model crates read no
/// environment, so this cannot be made an error here; run the tests on a
/// CPU that has every build to test them all).
pub fn vector_build_not_run(what: &str) {
    eprintln!("{what}: not run, this CPU lacks its instructions");
}
