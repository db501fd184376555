//! A PE against a plain model of it: its ifmap spad as a ring of `span`
//! words per channel fed from a FIFO, and its MACs as `data::mac` tap by
//! tap, on every MAC path a PE picks (two taps a multiply in each build
//! this CPU has, 16-lane blocks, the tap-by-tap loop for zero weights), with
//! windows that wrap around the ring, dilation, stride and a starved FIFO.

use super::*;
use crate::data::mac;
use crate::datapath::combine;
use crate::plan::ColumnPlan;
use eyesim_core::fixtures::layer;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

/// One PE's case: `p` filters, `q` channels, 3 taps a row.
struct Case {
    p: u32,
    q: u32,
    stride: u32,
    dilation: u32,
    dense: bool,
    shift: u32,
    /// A column whose first word never arrives.
    starve_at: Option<u32>,
}

/// What a PE's spad holds, modelled plainly: `[channel][slot]`.
struct Ring {
    slots: Vec<Vec<i16>>,
    starved: u64,
}

impl Ring {
    /// Places the column's words as the PE pops them from its FIFO: in
    /// order, channel by channel; a word that is not there leaves its slot
    /// stale.
    fn place(&mut self, sent: &[i16], new: &[u32], span: u32) {
        let mut words = sent.iter();
        for channel in self.slots.iter_mut() {
            for &x in new {
                match words.next() {
                    Some(&v) => channel[(x % span) as usize] = v,
                    None => self.starved += 1,
                }
            }
        }
    }
}

/// The role of a PE at the array's corner with `p` filters and `q`
/// channels.
fn role(p: u32, q: u32) -> PeRole {
    PeRole {
        pos: (0, 0),
        gi: 0,
        ri: 0,
        ti: 0,
        i: 0,
        q_act: q,
        p_act: p,
        chain: 0,
        chain_pos: 0,
        yi: 0,
    }
}

fn run(case: &Case, rng: &mut impl Rng) -> (u32, usize) {
    let (p, q, s) = (case.p as usize, case.q as usize, 3u32);
    let mut prob = layer(
        Op::Mac,
        1,
        1,
        case.q,
        case.p,
        (5, 17),
        (3, s),
        case.stride,
        0,
    );
    prob.d_w = case.dilation;
    prob.f = (prob.wp() - (s - 1) * prob.d_w - 1) / prob.u_w + 1;
    let plan = ColumnPlan::new(&prob, (0, s));
    let span = plan.span;
    // The spad's order: `[channel][tap][filter]`.
    let weights: Vec<i16> = (0..q * s as usize * p)
        .map(|i| match rng.gen_range(-400..400) {
            0 if case.dense => 1,
            _ if !case.dense && i % 7 == 3 => 0,
            w => w,
        })
        .collect();
    let ifmap: Vec<Vec<i16>> = (0..q)
        .map(|_| {
            (0..prob.wp())
                .map(|_| if rng.gen_bool(0.3) { 0 } else { rng.gen() })
                .collect()
        })
        .collect();
    let mut pe = Pe::new(role(case.p, case.q), s, span, true);
    pe.receive_filters(&weights);
    pe.filters_arrived(prob.f);
    assert_eq!(pe.pairs, PairKernel::for_filters(p).filter(|_| case.dense));
    let pairs = pe.pairs.filter(|_| case.shift <= PAIRS_MAX_SHIFT);
    let sparsity = SparsityFeatures {
        zero_gating: true,
        zero_skipping: false,
        weight_compression: false,
        rlc: None,
    };
    let mut ring = Ring {
        slots: vec![vec![0; span as usize]; q],
        starved: 0,
    };
    let (mut counts, mut out) = (PeCounters::default(), Vec::new());
    let mut wrapped = 0;
    for f in 0..prob.f {
        let new = plan.new_at(f);
        let mut sent: Vec<i16> = (0..q)
            .flat_map(|c| {
                new.iter()
                    .map(|&x| ifmap[c][x as usize])
                    .collect::<Vec<_>>()
            })
            .collect();
        if case.starve_at == Some(f) {
            sent.remove(0);
        }
        pe.ifmap_fifo.extend_from_slice(&sent);
        ring.place(&sent, new, span);
        let first = f * prob.u_w;
        wrapped += u32::from(first % span + (s - 1) * prob.d_w >= span);
        let mut want = vec![identity(Op::Mac); p];
        let mut zeros = 0;
        for c in 0..q {
            for t in 0..s as usize {
                let x = ring.slots[c][((first + t as u32 * prob.d_w) % span) as usize];
                zeros += u64::from(x == 0);
                for (k, a) in want.iter_mut().enumerate() {
                    let w = weights[(c * s as usize + t) * p + k];
                    *a = mac(*a, x, w, case.shift);
                }
            }
        }
        let want: Vec<i16> = want
            .iter()
            .map(|&a| combine(Op::Mac, identity(Op::Mac), a))
            .collect();
        let gated = counts.gated;
        pe.run_column(
            f,
            plan.slots_at(f),
            Op::Mac,
            (&sparsity, case.shift),
            &mut counts,
        );
        out.clear();
        pe.leave(f, (p, true), Op::Mac, &mut out, &mut counts);
        let at = format!(
            "column {f} of p {p}, q {q}, stride {}, dilation {}, dense {}, shift {}",
            case.stride, case.dilation, case.dense, case.shift
        );
        assert_eq!(out, want, "{at}");
        if case.dense {
            assert_eq!(counts.gated - gated, zeros * p as u64, "zero taps, {at}");
        }
    }
    assert_eq!(pe.starved, ring.starved);
    (wrapped, pairs.map_or(0, |k| k.block()))
}

#[test]
fn a_pe_computes_what_its_ring_and_mac_tap_by_tap_give() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    let (mut cases, mut wrapped, mut starved) = (0, 0, 0);
    let mut blocks = std::collections::BTreeSet::new();
    for p in [8, 9, 16, 17] {
        for q in [1, 3] {
            for (stride, dilation) in [(1, 1), (2, 1), (1, 2)] {
                for dense in [true, false] {
                    for shift in [8, 20] {
                        for starve_at in [None, Some(2)] {
                            let case = Case {
                                p,
                                q,
                                stride,
                                dilation,
                                dense,
                                shift,
                                starve_at,
                            };
                            let (w, block) = run(&case, &mut rng);
                            wrapped += w;
                            blocks.insert(block);
                            starved += usize::from(starve_at.is_some());
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 192);
    assert!(starved > 0 && wrapped > 100, "{wrapped} windows wrapped");
    // Every pair build this CPU has ran (block 0: no pairs).
    let builds: Vec<usize> = [8, 9]
        .iter()
        .filter_map(|&p| PairKernel::for_filters(p).map(|k| k.block()))
        .collect();
    for block in builds {
        assert!(
            blocks.contains(&block),
            "no PE ran the pairs of block {block}"
        );
    }
    assert!(blocks.contains(&0));
}

/// A PE with `p` filters, one channel and one tap, whose psums of step 0
/// are `local`.
fn pe_with_psums(local: &[i16]) -> Pe {
    let mut pe = Pe::new(role(local.len() as u32, 1), 1, 1, true);
    pe.acc[..local.len()].copy_from_slice(local);
    pe.any[0] = local.len() as u32;
    pe
}

/// The psums leaving a PE are the FIFO's oldest `p` plus its own, appended
/// to what the output held; a psum missing from the FIFO reads as the
/// identity and counts as starved; a fresh chain start reads no FIFO.
#[test]
fn a_psum_leaves_as_the_one_from_below_plus_its_own() {
    let local = [1, 2, 3, 4, 5];
    let id = identity(Op::Mac);
    let mut c = PeCounters::default();
    // Fewer psums than filters arrived: two are missing.
    let mut pe = pe_with_psums(&local);
    pe.psum_fifo.extend_from_slice(&[10, 20, 30]);
    let mut out = vec![99];
    pe.leave(0, (5, false), Op::Mac, &mut out, &mut c);
    assert_eq!(
        out,
        [
            99,
            11,
            22,
            33,
            combine(Op::Mac, id, 4),
            combine(Op::Mac, id, 5)
        ]
    );
    assert_eq!((pe.starved, pe.psum_fifo.len()), (2, 0));
    // More than `p` arrived: the rest wait for the next column.
    let mut pe = pe_with_psums(&local);
    pe.psum_fifo
        .extend_from_slice(&[10, 20, 30, 40, 50, 60, 70]);
    let mut fifo = crate::fifo::WordFifo::default();
    pe.leave(0, (5, false), Op::Mac, &mut fifo, &mut c);
    assert_eq!(fifo.front(9), [11, 22, 33, 44, 55]);
    assert_eq!((pe.starved, pe.psum_fifo.front(9)), (0, &[60, 70][..]));
    // A fresh start takes nothing from the FIFO.
    let mut pe = pe_with_psums(&local);
    pe.psum_fifo.extend_from_slice(&[10, 20]);
    let mut out = Vec::new();
    pe.leave(0, (5, true), Op::Mac, &mut out, &mut c);
    let fresh: Vec<i16> = local.iter().map(|&l| combine(Op::Mac, id, l)).collect();
    assert_eq!(out, fresh);
    assert_eq!((pe.starved, pe.psum_fifo.len()), (0, 2));
    assert_eq!(c.rf_psum_reads, 15);
}

/// Weights are laid out in pairs only for a pass long enough to win the
/// layout back; the MACs are the same either way (the shift-20 cases of the
/// test above run the dense weights without pairs).
#[test]
fn pairs_only_for_passes_of_enough_columns() {
    for p in [8, 9] {
        let Some(kernel) = PairKernel::for_filters(p) else {
            crate::data::testing::vector_build_not_run(&format!("pairs for {p} filters"));
            continue;
        };
        let mut pe = pe_with_psums(&vec![0; p]);
        pe.receive_filters(&vec![3; p]);
        pe.filters_arrived(PAIRS_MIN_COLUMNS - 1);
        assert_eq!(pe.pairs, None, "p {p}");
        pe.filters_arrived(PAIRS_MIN_COLUMNS);
        assert_eq!(pe.pairs, Some(kernel), "p {p}");
    }
}
