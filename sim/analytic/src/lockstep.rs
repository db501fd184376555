//! Column period of PEs that the ifmap multicast keeps in lock step and
//! that wait for the GON after every column (docs/engine.md, "Where the
//! simulator and the analytic model differ in time").
//!
//! Two conditions couple the PEs of a pass:
//!
//! * The psum spad holds one column (`2·p > psum_spad_words`): the top PE of
//!   a chain starts column `x+1` only once the GON has taken column `x`.
//! * A column's ifmap words do not fit the PE's FIFO
//!   (`q·new_cols > fifo_words`): the multicast of a row's next column lands
//!   only when the slowest PE reading the row has finished the current one.
//!   The top PEs of all chains of an ofmap row `j` (one per filter copy and
//!   group) read the same ifmap row, so they share that slowest PE.
//!
//! Then the chains of a row alternate between two phases. Starting
//! together (`A`), they finish together and their psum columns reach the
//! GON together, after the pipeline and the chain hops (`δ`); the GON
//! grants them one after the other over a span `σ`, and each top PE starts
//! its next column at its grant (`B`, staggered: the ifmap words were
//! already there). The column after waits for the ifmap words, i.e. for the
//! last-granted PE to finish, which brings the row back to `A`. Two columns
//! take `2·T + δ + σ` (`T` the column's taps), so the period is
//! `T + (δ + σ)/2`.
//!
//! `σ` is `(K_r − 1)·a` (`K_r` chains of the row, `a` GON cycles per psum
//! column) if the GON serves the row alone. The rows take turns at the GON
//! when they can: a row's burst returns as an echo `T + δ` later (its
//! staggered requests one column on), so all `K·a` cycles of bursts fit
//! between one row's burst and its echo when `K·a ≤ T + δ`; then
//! `P = T + (δ + (K_r − 1)·a)/2`, and at least `(T + δ + K·a)/2` so the
//! echoes clear before the next bursts. Otherwise the rows meet at the GON,
//! which serves the other rows' chains, `B = (K − K_r)·a` cycles per period
//! `P`, interleaved in time order with the row's burst, stretching it to
//! `(K_r − 1)·a / (1 − B/P)`: the period solves
//! `P = T + δ/2 + (K_r − 1)·a / (2·(1 − B/P))`, a quadratic in `P`.
//! Either way it is at least the GON's demand `K·a`.

use super::model::LayerModel;
use crate::mapping::RowStationaryMapping;

/// The psum chains of a pass, as the GON sees them.
pub(super) struct Chains {
    /// Chains per ofmap row of the strip (`g_s · t_act`).
    pub per_row: f64,
    /// Ofmap rows of the strip (`e_s`).
    pub rows: f64,
    /// GON cycles per psum column of one chain (`ceil(p/gon_words)`).
    pub gon: f64,
    /// Cycles from a column's last tap to its psums reaching the GON when
    /// the whole chain starts together: the MAC pipeline and the hops.
    pub latency: f64,
}

impl Chains {
    /// Cycles per ofmap column of lock-stepped chains computing `taps` per column.
    pub fn lock_step_period(&self, taps: f64) -> f64 {
        let demand = self.per_row * self.rows * self.gon;
        let own = (self.per_row - 1.0).max(0.0) * self.gon;
        let echo = taps + self.latency;
        if demand <= echo {
            let turns = taps + (self.latency + own) / 2.0;
            return turns.max((echo + demand) / 2.0).max(demand);
        }
        let other = demand - self.per_row * self.gon;
        let c = taps + self.latency / 2.0;
        // 2P² − (2c + 2B + A)P + 2cB = 0, larger root (≥ B).
        let b = 2.0 * c + 2.0 * other + own;
        let root = (b + (b * b - 16.0 * c * other).max(0.0).sqrt()) / 4.0;
        root.max(demand).max(taps)
    }
}

/// Whether the PEs of a pass with `c_s` channels, `pt_s` filters and a
/// segment of `taps` taps needing `cn` columns run in
/// lock step with the GON (both conditions of the module comment).
pub(super) fn lock_step(
    model: &LayerModel<'_>,
    map: &RowStationaryMapping,
    c_s: u32,
    pt_s: u32,
    (taps, cn): (u32, u64),
) -> bool {
    let (prob, hw) = (model.prob, model.hw);
    if !prob.op.has_weights() {
        return false;
    }
    let p_act = u64::from(map.p.min(pt_s));
    let q_act = u64::from(map.q.min(c_s));
    // New ifmap columns per ofmap column after the first (`taps` of the
    // segment, `cn` the columns its ofmap row needs).
    let new_cols = if prob.f > 1 {
        (cn - u64::from(taps).min(cn)).div_ceil(u64::from(prob.f - 1))
    } else {
        u64::from(taps)
    };
    2 * p_act > u64::from(hw.pe.psum_spad_words) && q_act * new_cols > u64::from(hw.pe.fifo_words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_alternates_between_a_burst_and_a_stagger() {
        // One row: no other traffic, P = T + (δ + (K−1)·a)/2.
        let c = Chains {
            per_row: 16.0,
            rows: 1.0,
            gon: 4.0,
            latency: 10.0,
        };
        assert_eq!(c.lock_step_period(176.0), 176.0 + (10.0 + 60.0) / 2.0);
    }

    #[test]
    fn rows_take_turns_when_all_bursts_fit_before_the_echo() {
        // SqueezeNet fire4_expand1x1: 5 rows of 8 chains, 160 GON cycles ≤ 176 + 10.
        let five = Chains {
            per_row: 8.0,
            rows: 5.0,
            gon: 4.0,
            latency: 10.0,
        };
        assert_eq!(five.lock_step_period(176.0), 176.0 + (10.0 + 28.0) / 2.0);
        // With one more row the bursts no longer fit: they meet at the GON.
        let six = Chains { rows: 6.0, ..five };
        assert!(six.lock_step_period(176.0) > 176.0 + (10.0 + 28.0) / 2.0);
    }

    #[test]
    fn other_rows_stretch_the_burst_and_the_gon_bounds_it() {
        let three = Chains {
            per_row: 16.0,
            rows: 3.0,
            gon: 4.0,
            latency: 10.0,
        };
        let p = three.lock_step_period(176.0);
        // The fixed point of P = T + δ/2 + A / (2(1 − B/P)).
        let rhs = 176.0 + 5.0 + 60.0 / (2.0 * (1.0 - 128.0 / p));
        assert!((p - rhs).abs() < 1e-6, "{p} vs {rhs}");
        assert!(p > 176.0 + 35.0);
        // Few taps: the GON's demand dominates.
        assert!(three.lock_step_period(1.0) >= 192.0);
    }
}
