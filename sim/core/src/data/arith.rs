//! The chip's 16-bit fixed-point arithmetic (docs/dataflow.md §5).
//!
//! The simulator's PEs compute with these functions; the reference
//! convolution writes the same arithmetic out again on its own
//! (`reference.rs`), so that two implementations agree. `mac_row` and
//! `mac_taps` are `mac` over a PE's filters, checked against it. All
//! additions wrap in 16 bits; wrapping addition is associative and commutative, so the order in
//! which taps are accumulated never changes the result.

use crate::workload::{ConvProblem, Op};

/// The value every psum starts from, for every op (the bottom PE of a chain
/// receives 0, docs/dataflow.md §4).
///
/// For max pooling this makes the result `max(0, taps…)`; it equals the true
/// maximum whenever the input is non-negative, which holds for every pooling
/// layer that follows a ReLU. Padding taps see `x = 0` and therefore never
/// change a psum, which is why the reference may skip them.
pub const PSUM_INIT: i16 = 0;

/// One multiply-accumulate: the 32-bit product `x·w` is shifted right
/// arithmetically by `product_shift`, truncated (wrapping) to 16 bits and
/// added to `acc` with a wrapping 16-bit add.
///
/// Shifts of 31 or more all give the same result (0 or −1), because the
/// product of two `i16` has magnitude at most 2^30; the shift is clamped so
/// that no `product_shift` can overflow the shift operator.
#[inline(always)]
pub fn mac(acc: i16, x: i16, w: i16, product_shift: u32) -> i16 {
    let product = i32::from(x) * i32::from(w);
    acc.wrapping_add((product >> product_shift.min(31)) as i16)
}

/// `acc[k] = mac(acc[k], x, w[k], shift)` for every filter `k`, written
/// with 16-bit multiplies (the low and high halves of each product), which
/// the compiler turns into vector code: the shifted product's 16 bits are
/// bits `shift..shift + 16` of the 32-bit product.
#[inline(always)]
pub fn mac_row(acc: &mut [i16], x: i16, w: &[i16], shift: u32) {
    let s = shift.min(31);
    let high = |wk: i16| ((i32::from(x) * i32::from(wk)) >> 16) as i16;
    match s {
        0 => {
            for (a, &wk) in acc.iter_mut().zip(w) {
                *a = a.wrapping_add(x.wrapping_mul(wk));
            }
        }
        1..=15 => {
            for (a, &wk) in acc.iter_mut().zip(w) {
                let lo = x.wrapping_mul(wk) as u16;
                let hi = high(wk) as u16;
                *a = a.wrapping_add(((lo >> s) | (hi << (16 - s))) as i16);
            }
        }
        _ => {
            for (a, &wk) in acc.iter_mut().zip(w) {
                *a = a.wrapping_add(high(wk) >> (s - 16));
            }
        }
    }
}

/// One column of a PE's taps: `acc[k] = mac(acc[k], x, w[k], shift)` for
/// every tap `x` of `xs` (a zero tap is computed too; it adds nothing), with `w`
/// the tap's `acc.len()` weights, consecutive in `weights`. Runs an AVX2
/// build where the CPU has it.
///
/// Weights are read [`MAC_LANES`] at a time; when `weights` ends less than
/// that past the last tap's, the last read is copied out first, so give it
/// [`MAC_LANES`] spare words at the end (their values are never used) to
/// keep every read direct.
pub fn mac_taps(acc: &mut [i16], xs: &[i16], weights: &[i16], shift: u32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { mac_taps_avx2(acc, xs, weights, shift) };
    }
    mac_taps_loops(acc, xs, weights, shift);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mac_taps_avx2(acc: &mut [i16], xs: &[i16], weights: &[i16], shift: u32) {
    mac_taps_loops(acc, xs, weights, shift);
}

/// Filters summed together in [`mac_taps`]: one 256-bit register of
/// 16-bit lanes.
pub const MAC_LANES: usize = 16;

/// [`mac_taps`] by blocks of [`MAC_LANES`] filters, each block's psums held in
/// one array across all taps (a register, once vectorised) instead of
/// being loaded and stored at every tap. A zero tap is computed like any
/// other: its product is 0, so the psums do not change, and a branch on it
/// would be mispredicted on sparse ifmaps.
#[inline(always)]
fn mac_taps_loops(acc: &mut [i16], xs: &[i16], weights: &[i16], shift: u32) {
    let p = acc.len();
    if p == 0 {
        return;
    }
    let taps = xs.len().min(weights.len() / p);
    let s = shift.min(31);
    for lo in (0..p).step_by(MAC_LANES) {
        let n = MAC_LANES.min(p - lo);
        // The block starts from zero and is added to the psums at the end
        // (wrapping sums do not depend on the order): a copy of a partial
        // block in would stall the first register load on the copy.
        let mut block = [0i16; MAC_LANES];
        let (xs, block_ref) = (&xs[..taps], &mut block);
        match s {
            0 => taps_into(block_ref, xs, weights, p, lo, |x, w| x.wrapping_mul(w)),
            1..=15 => taps_into(block_ref, xs, weights, p, lo, |x, w| {
                let low = x.wrapping_mul(w) as u16;
                let high = ((i32::from(x) * i32::from(w)) >> 16) as u16;
                ((low >> s) | (high << (16 - s))) as i16
            }),
            _ => taps_into(block_ref, xs, weights, p, lo, |x, w| {
                (((i32::from(x) * i32::from(w)) >> 16) as i16) >> (s - 16)
            }),
        }
        for (a, &b) in acc[lo..lo + n].iter_mut().zip(&block) {
            *a = a.wrapping_add(b);
        }
    }
}

/// Adds `product(x, w)` of every tap `x` of `xs` to the lanes of `block`,
/// filters `lo..lo + MAC_LANES` of the tap's `p` weights. Lanes past the
/// filters read the next tap's weights (or zeros past the end): their sums
/// are never stored.
#[inline(always)]
fn taps_into(
    block: &mut [i16; MAC_LANES],
    xs: &[i16],
    weights: &[i16],
    p: usize,
    lo: usize,
    product: impl Fn(i16, i16) -> i16,
) {
    for (t, &x) in xs.iter().enumerate() {
        let at = t * p + lo;
        let w: [i16; MAC_LANES] = match weights.get(at..at + MAC_LANES) {
            Some(row) => row.try_into().expect("a slice of MAC_LANES words"),
            None => {
                let mut row = [0; MAC_LANES];
                let n = weights.len() - at;
                row[..n].copy_from_slice(&weights[at..]);
                row
            }
        };
        for (a, &wk) in block.iter_mut().zip(&w) {
            *a = a.wrapping_add(product(x, wk));
        }
    }
}

/// One tap of the 1-D primitive for any op: a MAC for convolutions, a running
/// maximum for max pooling, a wrapping sum for average pooling (`w` is
/// ignored for pooling).
#[inline(always)]
pub fn tap(op: Op, acc: i16, x: i16, w: i16, product_shift: u32) -> i16 {
    match op {
        Op::Mac => mac(acc, x, w, product_shift),
        Op::Max => acc.max(x),
        Op::Avg => acc.wrapping_add(x),
    }
}

/// Combines two partial psums of the same ofmap value, as a PE does when it
/// adds its local psum to the incoming one: wrapping sum for MAC and average,
/// maximum for max pooling.
#[inline(always)]
pub fn merge(op: Op, a: i16, b: i16) -> i16 {
    match op {
        Op::Mac | Op::Avg => a.wrapping_add(b),
        Op::Max => a.max(b),
    }
}

/// Turns a finished psum into the ofmap value written to DRAM: average
/// pooling divides the 16-bit sum by `R·S` (integer division toward zero),
/// then the bias is added (wrapping) and ReLU applied when `prob.relu`.
#[inline]
pub fn finalize(prob: &ConvProblem, psum: i16, bias: i16) -> i16 {
    let mut v = psum;
    if prob.op == Op::Avg {
        let window = i64::from(prob.r) * i64::from(prob.s);
        // Dividing in i64 avoids the i16::MIN / -1 style overflow and handles
        // windows larger than i16::MAX (the quotient is then 0).
        v = (i64::from(v) / window.max(1)) as i16;
    }
    v = v.wrapping_add(bias);
    if prob.relu {
        v = v.max(0);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Padding;

    #[test]
    fn both_builds_of_mac_taps_are_mac_tap_by_tap() {
        let xs: Vec<i16> = (0..33)
            .map(|k| if k % 4 == 0 { 0 } else { k * 977 - 9000 })
            .collect();
        // Fewer filters than a block, one block, and blocks with a partial
        // last one (whose spare lanes read the next tap's weights).
        for p in [1, 5, 16, 22, 37] {
            let weights: Vec<i16> = (0..33 * p)
                .map(|k| (k as i16).wrapping_mul(-4093))
                .collect();
            for shift in [0, 5, 8, 16, 20, 31, 40] {
                let mut want = vec![7i16; p];
                for (t, &x) in xs.iter().enumerate() {
                    for (k, a) in want.iter_mut().enumerate() {
                        *a = mac(*a, x, weights[t * p + k], shift);
                    }
                }
                let mut got = vec![7i16; p];
                mac_taps_loops(&mut got, &xs, &weights, shift);
                assert_eq!(got, want, "p {p}, shift {shift}");
                // A PE's spad: MAC_LANES spare words (of any value) past the
                // weights, read into lanes whose sums are never stored.
                let mut spad = weights.clone();
                spad.extend((0..MAC_LANES as i16).map(|k| k * 1999 - 7777));
                let mut got = vec![7i16; p];
                mac_taps_loops(&mut got, &xs, &spad, shift);
                assert_eq!(got, want, "spare words, p {p}, shift {shift}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut got = vec![7i16; p];
                    // SAFETY: the CPU has AVX2 (checked just above).
                    unsafe { mac_taps_avx2(&mut got, &xs, &weights, shift) };
                    assert_eq!(got, want, "AVX2, p {p}, shift {shift}");
                }
            }
        }
    }

    #[test]
    fn mac_row_is_mac_for_every_shift() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as i16
        };
        let edges = [0, 1, -1, i16::MIN, i16::MAX, 256, -256];
        for shift in 0..40 {
            for round in 0..200 {
                let x = if round < edges.len() {
                    edges[round]
                } else {
                    next()
                };
                let w: Vec<i16> = (0..19)
                    .map(|k| if k < 7 { edges[k] } else { next() })
                    .collect();
                let start: Vec<i16> = (0..19).map(|_| next()).collect();
                let mut got = start.clone();
                mac_row(&mut got, x, &w, shift);
                let want: Vec<i16> = start
                    .iter()
                    .zip(&w)
                    .map(|(&a, &wk)| mac(a, x, wk, shift))
                    .collect();
                assert_eq!(got, want, "shift {shift}, x {x}");
            }
        }
    }

    fn prob(op: Op, r: u32, s: u32, relu: bool) -> ConvProblem {
        ConvProblem {
            op,
            n: 1,
            g: 1,
            c: 1,
            m: 1,
            h: r,
            w: s,
            r,
            s,
            e: 1,
            f: 1,
            u_h: 1,
            u_w: 1,
            d_h: 1,
            d_w: 1,
            pad: Padding::default(),
            weight_density: 1.0,
            ifmap_zero_fraction: 0.0,
            ofmap_zero_fraction: 0.0,
            network_input: false,
            relu,
        }
    }

    #[test]
    fn mac_shifts_then_accumulates() {
        assert_eq!(mac(0, 3, 4, 0), 12);
        assert_eq!(mac(10, 256, 3, 8), 13);
        // 100*100 = 10000; >> 8 = 39 (floor of 39.06).
        assert_eq!(mac(0, 100, 100, 8), 39);
    }

    #[test]
    fn mac_shift_rounds_toward_negative_infinity() {
        // -1 * 1 = -1; arithmetic shift keeps the sign: -1 >> 8 == -1.
        assert_eq!(mac(0, -1, 1, 8), -1);
        // -300 >> 8 = floor(-1.17) = -2.
        assert_eq!(mac(0, -300, 1, 8), -2);
        assert_eq!(mac(0, 300, 1, 8), 1);
    }

    #[test]
    fn mac_truncates_product_to_16_bits() {
        // 200*200 = 40000 = 0x9C40, which as i16 is -25536.
        assert_eq!(mac(0, 200, 200, 0), -25536);
        // i16::MIN * i16::MIN = 2^30; >> 8 = 2^22, low 16 bits are 0.
        assert_eq!(mac(5, i16::MIN, i16::MIN, 8), 5);
        // 2^30 >> 15 = 2^15 = 0x8000 = i16::MIN.
        assert_eq!(mac(0, i16::MIN, i16::MIN, 15), i16::MIN);
    }

    #[test]
    fn mac_accumulation_wraps() {
        assert_eq!(mac(i16::MAX, 1, 1, 0), i16::MIN);
        assert_eq!(mac(i16::MIN, -1, 1, 0), i16::MAX);
    }

    #[test]
    fn mac_huge_shifts_saturate_to_sign() {
        assert_eq!(mac(0, 7, 9, 31), 0);
        assert_eq!(mac(0, 7, 9, 40), 0);
        assert_eq!(mac(0, -7, 9, 40), -1);
        assert_eq!(mac(0, i16::MIN, i16::MAX, u32::MAX), -1);
    }

    #[test]
    fn taps_and_merges_per_op() {
        assert_eq!(tap(Op::Max, 3, 5, 99, 8), 5);
        assert_eq!(tap(Op::Max, 3, -5, 99, 8), 3);
        assert_eq!(tap(Op::Avg, i16::MAX, 1, 99, 8), i16::MIN);
        assert_eq!(tap(Op::Mac, 1, 16, 16, 8), 2);
        assert_eq!(merge(Op::Max, -4, -9), -4);
        assert_eq!(merge(Op::Mac, i16::MAX, 2), i16::MIN + 1);
        assert_eq!(merge(Op::Avg, 7, -2), 5);
    }

    #[test]
    fn finalize_divides_avg_toward_zero() {
        let p = prob(Op::Avg, 3, 3, false);
        assert_eq!(finalize(&p, 17, 0), 1);
        assert_eq!(finalize(&p, -17, 0), -1);
        assert_eq!(finalize(&p, -8, 0), 0);
        assert_eq!(finalize(&p, i16::MIN, 0), -3640);
    }

    #[test]
    fn finalize_adds_bias_wrapping_then_relu() {
        let p = prob(Op::Mac, 1, 1, true);
        assert_eq!(finalize(&p, 10, -4), 6);
        assert_eq!(finalize(&p, 10, -40), 0);
        // Wrapping: MAX + 1 is negative, so ReLU zeroes it.
        assert_eq!(finalize(&p, i16::MAX, 1), 0);
        let lin = prob(Op::Mac, 1, 1, false);
        assert_eq!(finalize(&lin, 10, -40), -30);
        assert_eq!(finalize(&lin, i16::MAX, 1), i16::MIN);
        let max = prob(Op::Max, 2, 2, false);
        assert_eq!(finalize(&max, 9, 0), 9);
    }
}
