//! The expected time of one DRAM burst (docs/dataflow.md §6, "A burst
//! waits for the link's edge").
//!
//! A burst starts at the first link-clock edge at or after the core cycle
//! it is ready, and the core sees it at the first core edge after its last
//! link cycle, `crossing_cycles` later. Nothing in the analytic model tracks
//! where a ready cycle falls against the link clock, so it takes that phase
//! as uniform and counts the expected wait. With the clock ratio
//! `core / link = a / b` in lowest terms, a ready cycle `c` waits
//! `((−c·b) mod a) / b` core cycles for its edge, and as `c` runs over `a`
//! cycles that wait takes each value `j / b`, `j < a`, once. A burst of `L`
//! link cycles then costs `ceil(j/b + L·a/b)` core cycles:
//!
//! `E = L·a/b + (a − 1)/(2b) + (1/(a·b)) · Σ_{j<a} ((−(j + L·a)) mod b)`,
//!
//! the last sum in closed form ([`residue_sum`]), so a burst costs a few
//! integer operations whatever its length.

use crate::hw::HwConfig;

/// Largest denominator tried for the clock ratio: the ratio of two clocks
/// of at most 100 GHz given in MHz to a few decimals is well within it.
const MAX_DENOMINATOR: u64 = 1_000_000;

/// Largest `b` for which [`LinkClock::chained`] follows a run's phases.
const MAX_CHAIN_DENOMINATOR: u64 = 16;

/// The core-to-link clock ratio as a fraction, and the link's geometry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkClock {
    /// `a` of `core / link = a / b`.
    a: u64,
    /// `b` of `core / link = a / b`.
    b: u64,
    /// Words a link cycle moves.
    bus_words: f64,
    /// Core cycles from the link's last cycle into the core clock.
    crossing: f64,
    /// For `b` up to [`MAX_CHAIN_DENOMINATOR`]: the mean step of a run of
    /// bursts of `r` link cycles, `r < b` ([`LinkClock::chained`]), worked
    /// out once, since the mapper asks for it on every candidate.
    chain_steps: [f64; MAX_CHAIN_DENOMINATOR as usize],
    /// Likewise, `E − L·a/b` of a lone burst of `L ≡ r (mod b)` link
    /// cycles ([`LinkClock::burst`]).
    burst_extra: [f64; MAX_CHAIN_DENOMINATOR as usize],
}

impl LinkClock {
    /// The link of `hw`.
    pub fn new(hw: &HwConfig) -> LinkClock {
        let (a, b) = ratio(hw.clock.core_mhz / hw.dram.link_mhz);
        LinkClock::with_ratio(
            (a, b),
            f64::from((hw.dram.bus_bits / hw.pe.word_bits).max(1)),
            f64::from(hw.dram.crossing_cycles),
        )
    }

    fn with_ratio((a, b): (u64, u64), bus_words: f64, crossing: f64) -> LinkClock {
        let mut link = LinkClock {
            a,
            b,
            bus_words,
            crossing,
            chain_steps: [0.0; MAX_CHAIN_DENOMINATOR as usize],
            burst_extra: [0.0; MAX_CHAIN_DENOMINATOR as usize],
        };
        if b <= MAX_CHAIN_DENOMINATOR {
            for r in 0..b {
                link.burst_extra[r as usize] = link.phase_extra(r);
                let settled: f64 = (0..b).map(|first| link.settled_step(first, r)).sum();
                link.chain_steps[r as usize] = settled / b as f64;
            }
        }
        link
    }

    /// Expected core cycles of one burst of `words` (none for no words: the
    /// simulator issues no burst then).
    pub fn burst(&self, words: f64) -> f64 {
        if words <= 0.0 {
            return 0.0;
        }
        let link = (words / self.bus_words).ceil();
        // Below 2^64 link cycles; a validated config and layer stay far below.
        self.expected_core_cycles(link as u64) + self.crossing
    }

    /// Core cycles of a layer's first burst of `first` words, issued at
    /// cycle 0 (on a link edge), and of a burst of `then` words issued when
    /// it is in: both phases are known, so both are exact.
    pub fn layer_start(&self, first: f64, then: f64) -> (f64, f64) {
        let link = |words: f64| (words / self.bus_words).ceil().max(0.0) as u128;
        let (a, b, crossing) = (
            u128::from(self.a),
            u128::from(self.b),
            self.crossing as u128,
        );
        let core = |edge: u128| (edge * a).div_ceil(b) + crossing;
        let first_in = if first > 0.0 { core(link(first)) } else { 0 };
        if then <= 0.0 {
            return (first_in as f64, 0.0);
        }
        let edge = (first_in * b).div_ceil(a);
        let then_in = core(edge + link(then));
        (first_in as f64, (then_in - first_in) as f64)
    }

    /// What a burst of `words` saves when it is issued while the link is
    /// still busy with another: it starts at that burst's last link edge,
    /// with no wait for an edge, and crosses into the core clock with it,
    /// so it ends, on average over that edge's phase, `L·a/b` core cycles
    /// after the other ends.
    pub fn queue_saving(&self, words: f64) -> f64 {
        if words <= 0.0 {
            return 0.0;
        }
        let link = (words / self.bus_words).ceil();
        self.burst(words) - link * self.a as f64 / self.b as f64
    }

    /// How long a burst of `words` in a run (see [`LinkClock::chained`])
    /// outlasts a pass of `pass` cycles. A step of the run takes at most
    /// `L·a/b + crossing + a/b + 2` cycles (its wait for the edge is under a
    /// link cycle, and two roundings), so most passes need no run at all.
    pub fn chained_stall(&self, words: f64, pass: f64) -> f64 {
        let link = (words / self.bus_words).ceil().max(0.0);
        let ratio = self.a as f64 / self.b as f64;
        if words <= 0.0 || (link + 1.0) * ratio + self.crossing + 2.0 <= pass {
            return 0.0;
        }
        (self.chained(words) - pass).max(0.0)
    }

    /// Expected core cycles of one burst of `words` in a run of such bursts,
    /// each issued when the one before it is in: its ready cycle is then
    /// not random but the previous burst's last link edge, rounded up to
    /// the core clock, plus the crossing. From any first edge the run
    /// settles into a cycle of edge phases; this is the mean burst over
    /// that cycle, averaged over the first edge's phase. Ratios of large
    /// terms (`b` above [`MAX_CHAIN_DENOMINATOR`]) wander over many phases,
    /// and take the uniform phase of [`LinkClock::burst`].
    pub fn chained(&self, words: f64) -> f64 {
        if words <= 0.0 {
            return 0.0;
        }
        if self.b > MAX_CHAIN_DENOMINATOR {
            return self.burst(words);
        }
        let link = (words / self.bus_words).ceil() as u64;
        let whole = link / self.b * self.b;
        (whole * self.a / self.b) as f64 + self.chain_steps[(link - whole) as usize]
    }

    /// The mean core cycles of a step of `link` link cycles over the cycle
    /// of phases a run reaches from the phase `first` (`link < b`, so a
    /// whole number of periods is left out; it only adds `a` per `b`).
    fn settled_step(&self, first: u64, link: u64) -> f64 {
        let (a, b) = (self.a, self.b);
        let crossing = self.crossing as u64;
        let step = |edge: u64| {
            let ready = (edge * a).div_ceil(b) + crossing;
            let start = (ready * b).div_ceil(a);
            let end = start + link;
            ((end * a).div_ceil(b) - (edge * a).div_ceil(b), end % b)
        };
        // Within b steps the run is on its cycle.
        let mut edge = first;
        for _ in 0..b {
            edge = step(edge).1;
        }
        let (start, mut total, mut len) = (edge, 0, 0);
        loop {
            let (cost, next) = step(edge);
            (total, len, edge) = (total + cost, len + 1, next);
            if edge == start {
                break;
            }
        }
        total as f64 / f64::from(len)
    }

    /// `E[ceil(wait + L·a/b)]` over the uniform phase of the ready cycle.
    fn expected_core_cycles(&self, link: u64) -> f64 {
        let whole = link as f64 * self.a as f64 / self.b as f64;
        if self.b <= MAX_CHAIN_DENOMINATOR {
            return whole + self.burst_extra[(link % self.b) as usize];
        }
        whole + self.phase_extra(link % self.b)
    }

    /// `E[ceil(wait + L·a/b)] − L·a/b`, which depends on `L` only modulo `b`.
    fn phase_extra(&self, link_mod_b: u64) -> f64 {
        let (a, b) = (self.a, self.b);
        let start = link_mod_b * (a % b) % b;
        // Whole periods of `b` terms sum to `b(b−1)/2` each; the `a mod b`
        // terms left start at `start` (all below `2b`: no overflow).
        let whole = (a / b) as f64 * (b * (b - 1) / 2) as f64;
        let residues = whole + (residue_sum(start + a % b, b) - residue_sum(start, b)) as f64;
        let (af, bf) = (a as f64, b as f64);
        (af - 1.0) / (2.0 * bf) + residues / (af * bf)
    }
}

/// `Σ_{k<n} ((−k) mod b)`: each whole block of `b` sums to `b(b−1)/2`,
/// and a partial block of `r` to `Σ_{i=1}^{r−1} (b − i)`.
fn residue_sum(n: u64, b: u64) -> u64 {
    let (blocks, r) = (n / b, n % b);
    let partial = if r == 0 {
        0
    } else {
        (r - 1) * b - r * (r - 1) / 2
    };
    blocks * (b * (b - 1) / 2) + partial
}

/// The best fraction `a / b` for `x > 0` with `b` at most
/// [`MAX_DENOMINATOR`], from the continued fraction of `x`; it stops at the
/// first convergent within the simulator's clock tolerance (1e-9).
fn ratio(x: f64) -> (u64, u64) {
    let (mut h0, mut h1) = (0u64, 1u64);
    let (mut k0, mut k1) = (1u64, 0u64);
    let mut rest = x;
    loop {
        let digit = rest.floor();
        let (h2, k2) = (
            (digit as u64).saturating_mul(h1).saturating_add(h0),
            (digit as u64).saturating_mul(k1).saturating_add(k0),
        );
        if k2 > MAX_DENOMINATOR || h2 == u64::MAX {
            break;
        }
        (h0, h1, k0, k1) = (h1, h2, k1, k2);
        let close = ((h1 as f64 / k1 as f64) - x).abs() <= 1e-9 * x;
        let frac = rest - digit;
        if close || frac <= 0.0 {
            break;
        }
        rest = 1.0 / frac;
    }
    if h1 == 0 {
        // Below 1 / MAX_DENOMINATOR: the nearest fraction with a numerator.
        return (1, MAX_DENOMINATOR);
    }
    (h1, k1.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expectation by brute force: every ready cycle of a period of the
    /// two clocks, its edge and its end, as the simulator's link takes them.
    fn by_enumeration(a: u64, b: u64, link: u64) -> f64 {
        let total: u64 = (0..a)
            .map(|c| {
                let edge = (c * b).div_ceil(a);
                ((edge + link) * a).div_ceil(b) - c
            })
            .sum();
        total as f64 / a as f64
    }

    fn clock(a: u64, b: u64) -> LinkClock {
        LinkClock::with_ratio((a, b), 4.0, 0.0)
    }

    #[test]
    fn the_closed_form_is_the_mean_over_every_phase() {
        for (a, b) in [
            (10, 3),
            (3, 10),
            (1, 1),
            (7, 1),
            (1, 7),
            (25, 12),
            (200, 60 + 1),
        ] {
            for link in [1, 2, 3, 4, 5, 17, 1000] {
                let closed = clock(a, b).expected_core_cycles(link);
                let brute = by_enumeration(a, b, link);
                assert!(
                    (closed - brute).abs() < 1e-9,
                    "{a}/{b}, {link}: {closed} {brute}"
                );
            }
        }
    }

    #[test]
    fn a_burst_on_eyeriss_v1_waits_for_the_60_mhz_edge() {
        // 200/60 = 10/3: ten ready cycles cover every phase of three link cycles.
        assert_eq!(ratio(200.0 / 60.0), (10, 3));
        // 10 words, 3 link cycles: 10 core cycles on an edge, 11.8 on average.
        assert!((clock(10, 3).expected_core_cycles(3) - 11.8).abs() < 1e-12);
        assert_eq!(clock(10, 3).burst(0.0), 0.0);
    }

    /// eyeriss-v1's link: 200 and 60 MHz, 4 words a link cycle, a
    /// 3-cycle crossing.
    fn eyeriss_link() -> LinkClock {
        LinkClock::with_ratio((10, 3), 4.0, 3.0)
    }

    #[test]
    fn the_first_bursts_of_a_layer_have_known_phases() {
        // A simulator trace: 12 words at cycle 0 are in at 13, and 6 words
        // issued then are in at 23 (they wait for the link edge at 13.33).
        assert_eq!(eyeriss_link().layer_start(12.0, 6.0), (13.0, 10.0));
        assert_eq!(eyeriss_link().layer_start(0.0, 6.0), (0.0, 10.0));
        assert_eq!(eyeriss_link().layer_start(12.0, 0.0), (13.0, 0.0));
    }

    /// The simulator's link, transcribed: a burst ready at core cycle
    /// `ready` starts at the first link edge at or after it once the link
    /// is free, and is in `crossing` core cycles after its last edge.
    struct Link {
        a: u64,
        b: u64,
        free: u64,
    }

    impl Link {
        fn transfer(&mut self, link: u64, ready: u64) -> u64 {
            let edge = (ready * self.b).div_ceil(self.a);
            let start = edge.max(self.free);
            self.free = start + link;
            (self.free * self.a).div_ceil(self.b) + 3
        }
    }

    /// Ratios with small and large terms, both ways round.
    const RATIOS: [(u64, u64); 6] = [(10, 3), (3, 10), (7, 4), (16, 15), (5, 1), (20, 17)];

    #[test]
    fn a_run_of_bursts_settles_into_its_cycle_of_phases() {
        // Each 6-word burst issued when the previous one is in: the trace
        // shows 10 cycles each (ready 13, 23, 33, … in at 23, 33, 43, …).
        assert_eq!(eyeriss_link().chained(6.0), 10.0);
        for (a, b) in RATIOS {
            let link = LinkClock::with_ratio((a, b), 4.0, 3.0);
            for words in [1.0, 4.0, 9.0, 50.0, 1000.0] {
                let l = (words / 4.0_f64).ceil() as u64;
                // From every phase of a first burst's end, a run of 3,000.
                let mut total = 0.0;
                for first in 0..b {
                    let mut sim = Link { a, b, free: first };
                    let mut done = (first * a).div_ceil(b) + 3;
                    let mut costs = Vec::new();
                    for _ in 0..3000 {
                        let next = sim.transfer(l, done);
                        costs.push(next - done);
                        done = next;
                    }
                    total += costs[600..].iter().sum::<u64>() as f64 / 2400.0;
                }
                let brute = total / b as f64;
                if b > MAX_CHAIN_DENOMINATOR {
                    // Many phases: the uniform phase of a lone burst.
                    assert_eq!(link.chained(words), link.burst(words));
                    assert!((link.chained(words) - brute).abs() < 1.0, "{a}/{b} {words}");
                } else {
                    // The window of 2,400 need not hold whole cycles.
                    let got = link.chained(words);
                    assert!((got - brute).abs() < 1e-2, "{a}/{b} {words}: {got} {brute}");
                }
            }
        }
    }

    #[test]
    fn a_run_step_never_exceeds_its_bound() {
        for (a, b) in RATIOS {
            let link = LinkClock::with_ratio((a, b), 4.0, 3.0);
            for words in [1.0, 6.0, 9.0, 50.0, 1000.0] {
                let bound = ((words / 4.0_f64).ceil() + 1.0) * a as f64 / b as f64 + 5.0;
                assert!(link.chained(words) <= bound, "{a}/{b} {words}");
                assert_eq!(link.chained_stall(words, bound), 0.0);
                let short = link.chained(words) - 1.0;
                assert!((link.chained_stall(words, short) - 1.0).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn a_queued_burst_saves_the_wait_and_the_crossing() {
        // 10 words: 11.8 + 3 on its own, 10 on average behind another.
        assert!((eyeriss_link().queue_saving(10.0) - 4.8).abs() < 1e-12);
        assert_eq!(eyeriss_link().queue_saving(0.0), 0.0);
        // By brute force: a burst queued behind one that ends at every
        // phase of the link clock ends, on average, `burst − saving` later.
        for (a, b) in RATIOS {
            let link = LinkClock::with_ratio((a, b), 4.0, 3.0);
            for words in [3.0, 10.0, 77.0] {
                let l = (words / 4.0_f64).ceil() as u64;
                let mut total = 0;
                for end in 0..b {
                    let mut sim = Link { a, b, free: end };
                    let first_in = (end * a).div_ceil(b) + 3;
                    // Ready before the first is in: the link is still busy.
                    total += sim.transfer(l, 0) - first_in;
                }
                let brute = total as f64 / b as f64;
                let model = link.burst(words) - link.queue_saving(words);
                assert!(
                    (model - brute).abs() < 1e-9,
                    "{a}/{b} {words}: {model} {brute}"
                );
            }
        }
    }

    #[test]
    fn ratios_are_found_within_the_clock_tolerance() {
        assert_eq!(ratio(1.0), (1, 1));
        assert_eq!(ratio(0.25), (1, 4));
        assert_eq!(ratio(100_000.0), (100_000, 1));
        let (a, b) = ratio(200.0 / 66.666);
        assert!((a as f64 / b as f64 - 200.0 / 66.666).abs() < 1e-9 * 3.0);
    }
}
