//! The psum tile's GLB banks as the psum GIN and the GON see them: the
//! rows a chain's transfer touches, and when the two streams lock step on
//! the banks (docs/engine.md, "Unaligned psum transfers" and "Psum streams
//! in lock step").

/// Mean bank rows the chains of one strip row touch per ofmap column. The
/// psum tile is `[n][g][e][F][m]`, filters innermost, so copy `ti`'s
/// chain moves `p_s` psums from `X·m_s + ti·p`; over the tile's columns
/// `X` that start runs through the multiples of `gcd(m_s, port)` modulo the
/// port, and a transfer that is not aligned touches one row more
/// (docs/engine.md, "Unaligned psum transfers").
pub(super) fn column_rows(m_s: u32, p: u32, pt_s: u32, port: u32) -> f64 {
    let step = gcd(m_s, port);
    let phases = port / step;
    let mut rows = 0u64;
    for (ti, start) in (0..pt_s).step_by(p.max(1) as usize).enumerate() {
        let p_s = p.min(pt_s - start);
        for k in 0..phases {
            let base = (k * step + ti as u32 * p) % port;
            rows += u64::from((base + p_s - 1) / port + 1);
        }
    }
    rows as f64 / f64::from(phases)
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
    /// The bank of the first row of chain `(gi, ti, j)`'s transfer of column `f`.
    fn bank(&self, (gi, ti, j): (u32, u32, u32), f: u32, p: u32) -> u64 {
        let x = (u64::from(gi) * u64::from(self.rows) + u64::from(j)) * u64::from(self.width)
            + u64::from(f);
        let base = x * u64::from(self.filters) + u64::from(ti * p);
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
    pub(super) fn locked_rows(&self, p: u32, pt_s: u32, lead: u32, rows: f64) -> f64 {
        let copies = pt_s.div_ceil(p.max(1));
        let chains = || {
            (0..self.groups).flat_map(move |gi| {
                (0..copies).flat_map(move |ti| (0..self.rows).map(move |j| (gi, ti, j)))
            })
        };
        let same = chains().all(|c| self.bank(c, 0, p) == self.bank(c, lead, p));
        if !same {
            return 0.0;
        }
        let banks: Vec<u64> = chains().map(|c| self.bank(c, 0, p)).collect();
        let changes = banks
            .iter()
            .zip(banks.iter().cycle().skip(1))
            .filter(|(a, b)| a != b)
            .count();
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
    use super::column_rows;

    #[test]
    fn unaligned_psum_transfers_touch_more_rows() {
        // p = 3 from 0, 3, 6, 9, …: rows 1, 2, 2, 1 on a 4-word port.
        assert_eq!(column_rows(3, 3, 3, 4), 1.5);
        // p = 5 always spans two rows; aligned p = 4 always one.
        assert_eq!(column_rows(5, 5, 5, 4), 2.0);
        assert_eq!(column_rows(8, 4, 8, 4), 2.0);
        // Two copies of p = 2 in an 8-filter tile: starts 0 and 2, one row each.
        assert_eq!(column_rows(8, 2, 4, 4), 2.0);
        // A copy of 2 psums spans two rows from 3 mod 4 only (1.25), and a
        // partial last copy of 1 psum is always one row.
        assert_eq!(column_rows(3, 2, 3, 4), 1.25 + 1.0);
    }
}
