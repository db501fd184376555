//! The psum tile's GLB banks as the psum GIN and the GON see them: the
//! rows a chain's transfer touches, and when the two streams lock step on
//! the banks (docs/engine.md, "Unaligned psum transfers" and "Psum streams
//! in lock step").

/// Where a kind of pass starts within the psum tile's filter block: the
/// passes it stands for hold filters from `first + i·step`, `i < count`
/// (a block of `m_s` filters takes `m_s / (p·t)` full passes, then one
/// partial pass).
#[derive(Debug, Clone, Copy)]
pub(super) struct PassOffsets {
    pub(super) first: u32,
    pub(super) step: u32,
    pub(super) count: u32,
}

impl PassOffsets {
    /// The distinct offsets modulo `port`, each with how many passes have it.
    fn residues(self, port: u32) -> impl Iterator<Item = (u32, u32)> {
        let period = port / gcd(self.step % port, port);
        let n = self.count.min(period);
        (0..n).map(move |i| {
            let offset = (self.first + i * self.step) % port;
            (offset, (self.count - i).div_ceil(period))
        })
    }
}

/// Mean bank rows the chains of one strip row touch per ofmap column. The
/// psum tile is `[n][g][e][F][m]`, filters innermost, so copy `ti`'s chain
/// moves `p_s` psums from `X·m_s + o + ti·p` (`o` the pass's first filter
/// in the block); over the tile's columns `X` that start runs through the
/// multiples of `gcd(m_s, port)` modulo the port, and a transfer that is
/// not aligned touches one row more (docs/engine.md, "Unaligned psum
/// transfers").
fn column_rows(m_s: u32, p: u32, pt_s: u32, port: u32, passes: PassOffsets) -> f64 {
    let aligned = |x: u32| x.is_multiple_of(port);
    if aligned(m_s) && aligned(p) && aligned(passes.first) && aligned(passes.step) {
        // Every transfer starts on a row: `ceil(p_s / port)` rows each.
        return f64::from(pt_s / p * (p / port) + (pt_s % p).div_ceil(port));
    }
    let step = gcd(m_s, port);
    let phases = port / step;
    let mut rows = 0u64;
    for (offset, weight) in passes.residues(port) {
        for (ti, start) in (0..pt_s).step_by(p.max(1) as usize).enumerate() {
            let p_s = p.min(pt_s - start);
            // The starts `r + j·step`, `j < phases`, `r` the start modulo
            // `step`, touch `Σ_j floor((r + p_s − 1 + j·step) / port) + 1`
            // rows, and (Hermite's identity) that sum of floors is
            // `floor((r + p_s − 1) / step)`.
            let r = (offset + ti as u32 * p) % step;
            rows += u64::from(weight) * u64::from((r + p_s - 1) / step + phases);
        }
    }
    rows as f64 / (f64::from(phases) * f64::from(passes.count.max(1)))
}

/// `(rows a column, passes)` of a filter block of `m_s` filters for its
/// full passes of `pt = p·t` filters and for its partial pass, as
/// [`column_rows`] gives them: computed once per block size, since every
/// tile and step of a mapping shares them.
pub(super) fn block_rows(m_s: u32, p: u32, pt: u32, port: u32) -> [(f64, PassOffsets); 2] {
    let full = PassOffsets {
        first: 0,
        step: pt,
        count: m_s / pt.max(1),
    };
    let rest = PassOffsets {
        first: m_s / pt.max(1) * pt,
        step: 0,
        count: 1,
    };
    let rows = |pt_s: u32, passes: PassOffsets| {
        if pt_s == 0 || passes.count == 0 {
            0.0
        } else {
            column_rows(m_s, p, pt_s, port, passes)
        }
    };
    [
        (rows(pt.min(m_s), full), full),
        (rows(m_s % pt.max(1), rest), rest),
    ]
}

/// Where the chains' psums of one column sit in the GLB: the psum tile is
/// `[n][g][e][F][m]`, its 64-b rows interleaved over its banks.
pub(super) struct PsumLayout {
    pub(super) groups: u32,
    pub(super) rows: u32,
    pub(super) width: u32,
    pub(super) filters: u32,
    pub(super) port: u32,
    pub(super) banks: u32,
}

impl PsumLayout {
    /// The bank of the first row of chain `(gi, ti, j)`'s transfer of
    /// column `f`, in a pass whose first filter is `offset` in the block.
    fn bank(&self, (gi, ti, j): (u32, u32, u32), f: u32, p: u32, offset: u32) -> u64 {
        let x = (u64::from(gi) * u64::from(self.rows) + u64::from(j)) * u64::from(self.width)
            + u64::from(f);
        let base = x * u64::from(self.filters) + u64::from(offset + ti * p);
        base / u64::from(self.port) % u64::from(self.banks)
    }

    /// Port cycles a column takes when the psum GIN and the GON lock step on
    /// the banks (docs/engine.md, "Psum streams in lock step"): both walk
    /// the chains in the same order (groups, copies, strip rows), the GIN
    /// `lead` columns ahead. When a chain's read and write fall on the same
    /// bank, the two alternate on it, and only where the next chain's bank
    /// differs can one get a cycle ahead; so a column costs all its
    /// `rows` (reads and writes) less one per change of bank. 0 when the
    /// read and the write of a chain are on different banks.
    ///
    /// The mean over the passes `passes` stands for.
    pub(super) fn locked_rows(
        &self,
        (p, pt_s, lead): (u32, u32, u32),
        rows: f64,
        passes: PassOffsets,
    ) -> f64 {
        let mut total = 0.0;
        for (offset, weight) in passes.residues(self.port) {
            total += f64::from(weight) * self.locked_pass(p, pt_s, lead, rows, offset);
        }
        total / f64::from(passes.count.max(1))
    }

    fn locked_pass(&self, p: u32, pt_s: u32, lead: u32, rows: f64, offset: u32) -> f64 {
        let copies = pt_s.div_ceil(p.max(1));
        let (mut first, mut last, mut changes) = (None, None, 0);
        for gi in 0..self.groups {
            for ti in 0..copies {
                for j in 0..self.rows {
                    let bank = self.bank((gi, ti, j), 0, p, offset);
                    if bank != self.bank((gi, ti, j), lead, p, offset) {
                        return 0.0;
                    }
                    changes += usize::from(last.is_some_and(|l| l != bank));
                    first.get_or_insert(bank);
                    last = Some(bank);
                }
            }
        }
        // The order is cyclic: the next column starts again at the first chain.
        changes += usize::from(last != first);
        rows - changes as f64
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::{column_rows, PassOffsets, PsumLayout};

    /// One pass from the block's first filter.
    const ONE: PassOffsets = PassOffsets {
        first: 0,
        step: 0,
        count: 1,
    };

    #[test]
    fn unaligned_psum_transfers_touch_more_rows() {
        // p = 3 from 0, 3, 6, 9, …: rows 1, 2, 2, 1 on a 4-word port.
        assert_eq!(column_rows(3, 3, 3, 4, ONE), 1.5);
        // p = 5 always spans two rows; aligned p = 4 always one.
        assert_eq!(column_rows(5, 5, 5, 4, ONE), 2.0);
        assert_eq!(column_rows(8, 4, 8, 4, ONE), 2.0);
        // Two copies of p = 2 in an 8-filter tile: starts 0 and 2, one row each.
        assert_eq!(column_rows(8, 2, 4, 4, ONE), 2.0);
        // A copy of 2 psums spans two rows from 3 mod 4 only (1.25), and a
        // partial last copy of 1 psum is always one row.
        assert_eq!(column_rows(3, 2, 3, 4, ONE), 1.25 + 1.0);
    }

    #[test]
    fn the_closed_form_counts_the_rows_of_every_start() {
        // Every transfer of every column of a tile, one by one.
        for (m_s, p, t, port) in [
            (3, 3, 1, 4),
            (7, 2, 3, 4),
            (10, 4, 2, 4),
            (12, 5, 2, 8),
            (6, 1, 6, 4),
        ] {
            let pt = p * t;
            for (pt_s, passes) in [
                (
                    pt.min(m_s),
                    PassOffsets {
                        first: 0,
                        step: pt,
                        count: m_s / pt,
                    },
                ),
                (
                    m_s % pt,
                    PassOffsets {
                        first: m_s / pt * pt,
                        step: 0,
                        count: 1,
                    },
                ),
            ] {
                if pt_s == 0 || passes.count == 0 {
                    continue;
                }
                let (mut rows, mut columns) = (0, 0);
                for pass in 0..passes.count {
                    for x in 0..port * 3 {
                        columns += 1;
                        for ti in 0..pt_s.div_ceil(p) {
                            let p_s = p.min(pt_s - ti * p);
                            let base = x * m_s + passes.first + pass * passes.step + ti * p;
                            rows += (base + p_s - 1) / port - base / port + 1;
                        }
                    }
                }
                let brute = f64::from(rows) / f64::from(columns);
                let got = column_rows(m_s, p, pt_s, port, passes);
                assert!(
                    (got - brute).abs() < 1e-12,
                    "{m_s} {p} {t} {port}: {got} {brute}"
                );
            }
        }
    }

    #[test]
    fn later_passes_of_a_block_start_at_other_phases() {
        // m_s = 8, one copy of p = 3: passes from filters 0 and 3 (and a
        // partial pass of 2 from 6). From 0 a transfer is one row (0..2),
        // from 3 two (3..5).
        let full = PassOffsets {
            first: 0,
            step: 3,
            count: 2,
        };
        assert_eq!(column_rows(8, 3, 3, 4, full), 1.5);
        // The partial pass from 6: 6..7, one row (8 ≡ 0 mod 4 keeps the phase).
        let rest = PassOffsets {
            first: 6,
            step: 0,
            count: 1,
        };
        assert_eq!(column_rows(8, 3, 2, 4, rest), 1.0);
        // Without the offset, the full passes would be charged one row.
        assert_eq!(column_rows(8, 3, 3, 4, ONE), 1.0);
    }

    /// The newcomer's 32×32 conv pinned to `e11 r1 t2 p4 q2` on eyeriss-v1:
    /// 11 strip rows, 28 columns, 8 filters, 2 psum banks.
    fn newcomer(filters: u32) -> PsumLayout {
        PsumLayout {
            groups: 1,
            rows: 11,
            width: 28,
            filters,
            port: 4,
            banks: 2,
        }
    }

    #[test]
    fn streams_lock_when_a_chains_read_and_write_share_a_bank() {
        // Copy 0's 11 chains on bank 0, copy 1's on bank 1: 44 port rows a
        // column, less the 2 changes of bank in the (cyclic) chain order.
        assert_eq!(newcomer(8).locked_rows((4, 8, 1), 44.0, ONE), 42.0);
        assert_eq!(newcomer(8).locked_rows((4, 8, 2), 44.0, ONE), 42.0);
        // With 4 filters a column is one row, so a read one column ahead is
        // on the other bank than the write: no lock.
        assert_eq!(newcomer(4).locked_rows((4, 4, 1), 22.0, ONE), 0.0);
        // Two columns ahead it is on the same bank again; a column's 11
        // chains are 28 rows apart, all on one bank: no change, the two
        // streams alternate on it throughout.
        assert_eq!(newcomer(4).locked_rows((4, 4, 2), 22.0, ONE), 22.0);
    }
}
