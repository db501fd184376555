//! The global buffer: feature-map banks (each assigned to ifmaps or psums
//! for a tile) with a port of `bank_port_words` per cycle, and the real
//! values of the current ifmap and psum tiles.

use super::components::GlbStats;
use crate::hw::GlbConfig;
use std::collections::VecDeque;

/// Bank timing and tile storage.
pub(crate) struct GlobalBuffer {
    cfg: GlbConfig,
    /// Ifmap tile `[n][g][c][RN][Wp]`, padding materialized as zeros.
    pub ifmap: Vec<i16>,
    /// Psum tile `[n][g][e][F][m]`.
    pub psum: Vec<i16>,
    /// Filter part: the pass's weights `[g][filter][channel][R][S]`, as the
    /// DRAM link delivered them.
    pub filters: Vec<i16>,
    ifmap_banks: u32,
    psum_banks: u32,
    /// Cycles at which each bank's port is booked. A calendar rather than a
    /// "free after" time: a backlogged GON books rows ahead, and a psum GIN
    /// read may still use a bank in an idle cycle before those bookings.
    booked: Vec<Calendar>,
    /// Scratch: each row of the transfer being booked, as its bank and its
    /// port cycle from the transfer's start.
    rows: Vec<(usize, u64)>,
    /// Statistics.
    pub stats: GlbStats,
    /// Every distinct (ifmap words, psum words) banks were assigned for:
    /// all the simulation reads of the bank size is their bank counts.
    pub tiles: Vec<(usize, usize)>,
}

/// The ifmap and psum banks of a tile of `ifmap_words` and `psum_words`,
/// for banks of `bank_words` words: the simulator's only use of the bank
/// size (the mapper's GLB capacity check, which chose the mapping, is the
/// other reader).
pub(crate) fn banks_for(ifmap_words: usize, psum_words: usize, bank_words: u32) -> (u32, u32) {
    let bw = bank_words as usize;
    (
        ifmap_words.div_ceil(bw) as u32,
        (psum_words.div_ceil(bw) as u32).max(1),
    )
}

impl GlobalBuffer {
    pub(crate) fn new(cfg: GlbConfig) -> Self {
        GlobalBuffer {
            cfg,
            ifmap: Vec::new(),
            psum: Vec::new(),
            filters: Vec::new(),
            ifmap_banks: 0,
            psum_banks: 0,
            booked: vec![Calendar::default(); cfg.banks as usize],
            rows: Vec::new(),
            stats: GlbStats {
                bank_busy_cycles: vec![0; cfg.banks as usize],
                ..GlbStats::default()
            },
            tiles: Vec::new(),
        }
    }

    /// Assigns banks for a tile of `ifmap_words` and `psum_words`.
    pub(crate) fn assign(&mut self, ifmap_words: usize, psum_words: usize) {
        (self.ifmap_banks, self.psum_banks) =
            banks_for(ifmap_words, psum_words, self.cfg.bank_words);
        if !self.tiles.contains(&(ifmap_words, psum_words)) {
            self.tiles.push((ifmap_words, psum_words));
        }
        self.stats.ifmap_banks = self.stats.ifmap_banks.max(self.ifmap_banks);
        self.stats.psum_banks = self.stats.psum_banks.max(self.psum_banks);
    }

    /// Ifmap and psum banks of the current tile.
    pub(crate) fn banks(&self) -> (u32, u32) {
        (self.ifmap_banks, self.psum_banks)
    }

    fn port_cycles(&self, words: u64) -> u64 {
        words.div_ceil(u64::from(self.cfg.bank_port_words))
    }

    /// A psum transfer of `p` consecutive words from `base`, moving `width`
    /// words per cycle, no earlier than `at`: each bank row it touches is
    /// accessed once, at the cycle its first word moves, or a cycle after
    /// the transfer's previous row on the same bank (a port serves one row
    /// a cycle). Returns the start cycle (later than `at` when a row's bank
    /// is busy: a bank conflict) and the end: `ceil(p / width)` cycles
    /// later, or the cycle after its last row's access if that is later.
    pub(crate) fn psum_transfer(
        &mut self,
        base: usize,
        p: u32,
        width: u64,
        at: u64,
        now: u64,
    ) -> (u64, u64) {
        if p == 0 {
            return (at, at);
        }
        let port = self.cfg.bank_port_words as usize;
        let (first, last) = (div(base, port), div(base + p as usize - 1, port));
        // Rows on as many banks as there are rows (the usual case) never
        // share a bank within the transfer.
        let psum_banks = self.psum_banks as usize;
        let distinct = last - first < psum_banks;
        // Each row's bank, and the cycle, from the start, at which the
        // transfer reaches it. A port serves one row a cycle: a row that the
        // transfer reaches in the same cycle as an earlier row of the same
        // bank (an unaligned transfer within one bank) waits for the next
        // cycle. The delays from the start do not depend on the start.
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        for (row, bank) in (first..=last).zip(self.psum_banks_of(first, last)) {
            let mut delay = div((row * port).max(base) - base, width as usize) as u64;
            if !distinct {
                if let Some(&(_, prev)) = rows.iter().rev().find(|&&(b, _)| b == bank) {
                    delay = delay.max(prev + 1);
                }
            }
            rows.push((bank, delay));
            // Bookings before the current cycle can never matter again:
            // time only moves forward.
            self.booked[bank].forget_before(now);
        }
        // The earliest start at which every row's bank is free when the
        // transfer reaches it.
        let mut start = at;
        while rows
            .iter()
            .any(|&(bank, delay)| self.booked[bank].contains(&(start + delay)))
        {
            start += 1;
        }
        for &(bank, delay) in &rows {
            self.booked[bank].insert(start + delay);
            self.stats.bank_busy_cycles[bank] += 1;
        }
        let last_delay = rows.last().map_or(0, |&(_, d)| d);
        let end = (start + u64::from(p).div_ceil(width)).max(start + last_delay + 1);
        self.rows = rows;
        self.stats.conflict_stall_cycles += start - at;
        (start, end)
    }

    /// The banks of psum tile rows `first..=last` (64-b rows, interleaved
    /// over the tile's psum banks, which follow its ifmap banks).
    fn psum_banks_of(&self, first: usize, last: usize) -> impl Iterator<Item = usize> {
        let (psum_banks, banks) = (self.psum_banks as usize, self.cfg.banks as usize);
        let ifmap_banks = self.ifmap_banks as usize;
        let mut in_tile = first % psum_banks;
        (first..=last).map(move |_| {
            let bank = ifmap_banks + in_tile;
            in_tile = if in_tile + 1 == psum_banks {
                0
            } else {
                in_tile + 1
            };
            if bank >= banks {
                bank % banks
            } else {
                bank
            }
        })
    }

    /// The bank port accesses of a psum transfer of `p` words from `base`
    /// in a replayed pass, whose timing its twin gave (docs/engine.md,
    /// "Timing reuse"): each bank row it touches, once.
    pub(crate) fn count_psum_transfer(&mut self, base: usize, p: u32) {
        if p == 0 {
            return;
        }
        let port = self.cfg.bank_port_words as usize;
        let (first, last) = (div(base, port), div(base + p as usize - 1, port));
        for bank in self.psum_banks_of(first, last) {
            self.stats.bank_busy_cycles[bank] += 1;
        }
    }

    /// An ifmap GIN read of the tile words `first..=last`: each 64-b bank
    /// row it touches is one access of that row's bank (tile rows are
    /// interleaved over the ifmap banks). The ifmap GIN is the only reader
    /// of the ifmap banks during a pass and moves a quarter of a bank
    /// port's width, so these reads never wait for a bank.
    pub(crate) fn read_ifmap(&mut self, first: usize, last: usize) {
        let port = self.cfg.bank_port_words as usize;
        let (banks, all) = (self.ifmap_banks.max(1) as usize, self.cfg.banks as usize);
        // One division for the first row; the next rows' banks follow.
        let mut bank = div(first, port) % banks;
        for _ in div(first, port)..=div(last, port) {
            self.stats.bank_busy_cycles[if bank < all { bank } else { bank % all }] += 1;
            bank = if bank + 1 == banks { 0 } else { bank + 1 };
        }
    }

    /// Books streaming ifmap writes spread over the ifmap banks.
    pub(crate) fn stream_ifmap(&mut self, words: u64) {
        let n = self.ifmap_banks.max(1) as u64;
        let c = self.port_cycles(words.div_ceil(n));
        for b in 0..self.ifmap_banks.min(self.cfg.banks) as usize {
            self.stats.bank_busy_cycles[b] += c;
        }
    }

    /// Passes are barriers: bank timing restarts at the pass start.
    pub(crate) fn reset_timing(&mut self, _at: u64) {
        self.booked.iter_mut().for_each(Calendar::clear);
    }
}

/// `x / d` by a shift when `d` is a power of two (bank rows and bus widths
/// almost always are): a transfer's rows take several divisions each.
#[inline]
fn div(x: usize, d: usize) -> usize {
    if d.is_power_of_two() {
        x >> d.trailing_zeros()
    } else {
        x / d
    }
}

/// A bank port's booked cycles. Bookings land within a few cycles of the
/// present, so the next [`WINDOW`] cycles from `base` are a bit set (one
/// shift forgets the past, one bit test answers a lookup); bookings further
/// ahead wait, sorted, in `far` until the window reaches them.
#[derive(Clone, Default)]
struct Calendar {
    base: u64,
    near: u128,
    far: VecDeque<u64>,
}

/// Cycles the bit set of a [`Calendar`] covers.
const WINDOW: u64 = u128::BITS as u64;

impl Calendar {
    fn forget_before(&mut self, now: u64) {
        if now <= self.base {
            return;
        }
        let gone = now - self.base;
        self.near = if gone >= WINDOW { 0 } else { self.near >> gone };
        self.base = now;
        while let Some(&c) = self.far.front() {
            if c >= self.base + WINDOW {
                break;
            }
            self.far.pop_front();
            if c >= self.base {
                self.near |= 1 << (c - self.base);
            }
        }
    }

    /// Whether `cycle` is booked; cycles before the last `forget_before`
    /// are never asked about (time only moves forward).
    fn contains(&self, cycle: &u64) -> bool {
        debug_assert!(*cycle >= self.base, "a forgotten cycle was asked about");
        match cycle.checked_sub(self.base) {
            Some(d) if d < WINDOW => self.near >> d & 1 == 1,
            Some(_) => self.far.binary_search(cycle).is_ok(),
            None => false,
        }
    }

    fn insert(&mut self, cycle: u64) {
        debug_assert!(cycle >= self.base, "a booking in the forgotten past");
        // Never asked about (time only moves forward): nothing to keep.
        let Some(d) = cycle.checked_sub(self.base) else {
            return;
        };
        if d < WINDOW {
            self.near |= 1 << d;
            return;
        }
        match self.far.back() {
            Some(&last) if last >= cycle => {
                if let Err(at) = self.far.binary_search(&cycle) {
                    self.far.insert(at, cycle);
                }
            }
            _ => self.far.push_back(cycle),
        }
    }

    fn clear(&mut self) {
        *self = Calendar::default();
    }
}

#[cfg(test)]
mod tests {
    use super::{Calendar, GlobalBuffer};
    use crate::hw::builtin;

    /// A GLB whose psum tile sits in one bank, with 4-word port rows.
    fn one_psum_bank() -> GlobalBuffer {
        let cfg = builtin("tiny").unwrap().glb;
        assert_eq!(cfg.bank_port_words, 4);
        let mut glb = GlobalBuffer::new(cfg);
        glb.assign(0, 16);
        glb
    }

    #[test]
    fn a_port_serves_one_row_a_cycle() {
        let mut glb = one_psum_bank();
        // Words 2..=4 span rows 0 and 1 of the one bank, both reached in
        // the transfer's first cycle: the second row waits a cycle, and the
        // transfer ends after it, not after ceil(3 / 4) = 1 cycle.
        assert_eq!(glb.psum_transfer(2, 3, 4, 10, 10), (10, 12));
        assert_eq!(glb.stats.bank_busy_cycles[0], 2);
        // Both of its cycles are booked: a transfer of row 2 waits for 12.
        assert_eq!(glb.psum_transfer(8, 4, 4, 10, 10), (12, 13));
        assert_eq!(glb.stats.conflict_stall_cycles, 2);
    }

    /// The calendar against a plain set of cycles, with bookings near and
    /// far past its bit window, lookups, and time moving on.
    #[test]
    fn the_calendar_is_a_set_of_future_cycles() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (mut cal, mut set) = (Calendar::default(), std::collections::BTreeSet::new());
        let (mut now, mut far) = (0u64, 0);
        for _ in 0..5_000 {
            // Mostly small steps, sometimes past the window at once.
            now += if rng.gen_bool(0.02) {
                rng.gen_range(100..400)
            } else {
                rng.gen_range(0..6)
            };
            cal.forget_before(now);
            set.retain(|&c| c >= now);
            for c in now..now + 400 {
                assert_eq!(cal.contains(&c), set.contains(&c), "cycle {c} at {now}");
            }
            let c = now + rng.gen_range(0..300);
            if rng.gen_bool(0.5) {
                cal.insert(c);
                set.insert(c);
                far += usize::from(c - now >= super::WINDOW);
            }
        }
        assert!(far > 300, "only {far} bookings past the window");
        cal.clear();
        assert!(!cal.contains(&now));
    }

    #[test]
    fn an_aligned_transfer_takes_its_own_cycles() {
        let mut glb = one_psum_bank();
        assert_eq!(glb.psum_transfer(4, 4, 4, 10, 10), (10, 11));
        assert_eq!(glb.psum_transfer(8, 4, 4, 11, 11), (11, 12));
        assert_eq!(glb.stats.conflict_stall_cycles, 0);
    }
}
