//! The global buffer: feature-map banks (each assigned to ifmaps or psums
//! for a tile) with a port of `bank_port_words` per cycle, and the real
//! values of the current ifmap and psum tiles.

use super::stats::GlbStats;
use crate::hw::GlbConfig;

/// Bank timing and tile storage.
pub(crate) struct GlobalBuffer {
    cfg: GlbConfig,
    /// Ifmap tile `[n][g][c][RN][Wp]`, padding materialized as zeros.
    pub ifmap: Vec<i16>,
    /// Psum tile `[n][g][m][e][F]`.
    pub psum: Vec<i16>,
    ifmap_banks: u32,
    psum_banks: u32,
    bank_free: Vec<u64>,
    /// Statistics.
    pub stats: GlbStats,
}

impl GlobalBuffer {
    pub(crate) fn new(cfg: GlbConfig) -> Self {
        GlobalBuffer {
            cfg,
            ifmap: Vec::new(),
            psum: Vec::new(),
            ifmap_banks: 0,
            psum_banks: 0,
            bank_free: vec![0; cfg.banks as usize],
            stats: GlbStats {
                bank_busy_cycles: vec![0; cfg.banks as usize],
                ..GlbStats::default()
            },
        }
    }

    /// Assigns banks for a tile of `ifmap_words` and `psum_words`.
    pub(crate) fn assign(&mut self, ifmap_words: usize, psum_words: usize) {
        let bw = self.cfg.bank_words as usize;
        self.ifmap_banks = ifmap_words.div_ceil(bw) as u32;
        self.psum_banks = (psum_words.div_ceil(bw) as u32).max(1);
        self.stats.ifmap_banks = self.stats.ifmap_banks.max(self.ifmap_banks);
        self.stats.psum_banks = self.stats.psum_banks.max(self.psum_banks);
    }

    fn port_cycles(&self, words: u64) -> u64 {
        words.div_ceil(u64::from(self.cfg.bank_port_words))
    }

    /// Bank holding psum word `addr` of a tile `f` columns wide. Psum
    /// rows are interleaved over the psum banks with consecutive ofmap
    /// columns in different banks, so the psum GIN (reading column `x+1`)
    /// and the GON (writing column `x`) do not collide on the same row.
    pub(crate) fn psum_bank(&self, addr: usize, f: u32) -> usize {
        let (row, col) = (addr / f as usize, addr % f as usize);
        let b = ((2 * row + (col & 1)) % self.psum_banks as usize) as u32;
        ((self.ifmap_banks + b) % self.cfg.banks) as usize
    }

    /// Reserves `bank` for `words` no earlier than `at`; returns the start cycle.
    pub(crate) fn reserve(&mut self, bank: usize, words: u64, at: u64) -> u64 {
        let start = at.max(self.bank_free[bank]);
        self.stats.conflict_stall_cycles += start - at;
        let c = self.port_cycles(words);
        self.bank_free[bank] = start + c;
        self.stats.bank_busy_cycles[bank] += c;
        start
    }

    /// Books streaming ifmap reads or writes spread over the ifmap banks.
    pub(crate) fn stream_ifmap(&mut self, words: u64) {
        let n = self.ifmap_banks.max(1) as u64;
        let c = self.port_cycles(words.div_ceil(n));
        for b in 0..self.ifmap_banks.min(self.cfg.banks) as usize {
            self.stats.bank_busy_cycles[b] += c;
        }
    }

    /// Passes are barriers: bank timing restarts at the pass start.
    pub(crate) fn reset_timing(&mut self, at: u64) {
        self.bank_free.iter_mut().for_each(|b| *b = at);
    }
}
