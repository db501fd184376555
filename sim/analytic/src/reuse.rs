//! The published reuse-based energy model (ISCA 2016 §V; docs/reference.md §3).
//!
//! A value's total reuse `a·b·c·d` is split across DRAM (a), GLB (b), array
//! (c) and RF (d). These functions evaluate the paper's two formulas; eyesim
//! itself counts accesses instead, but the formulas anchor its units.

use crate::hw::EnergyCosts;

/// Energy of one input value (ifmap or filter) with reuse `(a, b, c, d)`:
/// `a·DRAM + a·b·GLB + a·b·c·array + a·b·c·d·RF`.
pub fn input_energy(a: f64, b: f64, c: f64, d: f64, costs: &EnergyCosts) -> f64 {
    a * costs.dram + a * b * costs.glb + a * b * c * costs.noc + a * b * c * d * costs.rf
}

/// Energy of one psum with `(a, b, c, d)` accumulations per level:
/// `(2a−1)·DRAM + 2a(b−1)·GLB + a·b(c−1)·array + 2a·b·c(d−1)·RF`
/// (the 2 counts a read and a write).
pub fn psum_energy(a: f64, b: f64, c: f64, d: f64, costs: &EnergyCosts) -> f64 {
    (2.0 * a - 1.0) * costs.dram
        + 2.0 * a * (b - 1.0) * costs.glb
        + a * b * (c - 1.0) * costs.noc
        + 2.0 * a * b * c * (d - 1.0) * costs.rf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::EnergyUnit;

    const COSTS: EnergyCosts = EnergyCosts {
        unit: EnergyUnit::Normalized,
        mac: 1.0,
        rf: 1.0,
        noc: 2.0,
        glb: 6.0,
        dram: 200.0,
    };

    #[test]
    fn input_worked_check() {
        // docs/reference.md §3: 200 + 12 + 12 + 24.
        assert_eq!(input_energy(1.0, 2.0, 3.0, 4.0, &COSTS), 248.0);
    }

    #[test]
    fn psum_worked_check() {
        // docs/reference.md §3: 600 + 48 + 24 + 36.
        assert_eq!(psum_energy(2.0, 3.0, 3.0, 2.0, &COSTS), 708.0);
    }

    #[test]
    fn no_reuse_costs_one_access_per_level() {
        assert_eq!(input_energy(1.0, 1.0, 1.0, 1.0, &COSTS), 209.0);
        assert_eq!(psum_energy(1.0, 1.0, 1.0, 1.0, &COSTS), 200.0);
    }
}
