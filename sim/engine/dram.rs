//! The off-chip link: a `bus_bits` bus at `link_mhz`, crossing into the
//! core clock through an async FIFO. Feature maps cross it RLC-coded.

use super::datapath::{rlc_decode, rlc_encode};
use super::stats::DramStats;
use crate::hw::HwConfig;

/// Core cycles an async FIFO adds to a burst (two-flop synchronizer on
/// the pointer crossing, plus the read).
const ASYNC_CROSSING_CYCLES: u64 = 3;

/// The DRAM link with its word counters.
pub(crate) struct DramLink {
    bus_words: u64,
    core_per_link: f64,
    rlc: Option<crate::hw::RlcFormat>,
    word_bits: u32,
    /// Statistics.
    pub stats: DramStats,
}

impl DramLink {
    pub(crate) fn new(hw: &HwConfig) -> Self {
        DramLink {
            bus_words: u64::from((hw.dram.bus_bits / hw.pe.word_bits).max(1)),
            core_per_link: hw.clock.core_mhz / hw.dram.link_mhz,
            rlc: hw.sparsity.rlc,
            word_bits: hw.pe.word_bits,
            stats: DramStats::default(),
        }
    }

    /// Core cycles to move `words` across the link as one burst.
    pub(crate) fn burst_cycles(&self, words: u64) -> u64 {
        if words == 0 {
            return 0;
        }
        let link = words.div_ceil(self.bus_words);
        (link as f64 * self.core_per_link).ceil() as u64 + ASYNC_CROSSING_CYCLES
    }

    /// Words of one stream as stored in DRAM, and its values after the
    /// round trip through the coder.
    fn code(&self, values: &[i16], compressed: bool) -> Result<(u64, Vec<i16>), String> {
        match (compressed, self.rlc) {
            (true, Some(fmt)) => {
                let enc = rlc_encode(values, &fmt);
                let per = u64::from(fmt.word_bits.div_ceil(self.word_bits));
                let dec = rlc_decode(&enc, &fmt)?;
                if dec.len() != values.len() {
                    return Err(format!(
                        "RLC round trip returned {} of {} values",
                        dec.len(),
                        values.len()
                    ));
                }
                Ok((enc.len() as u64 * per, dec))
            }
            _ => Ok((values.len() as u64, values.to_vec())),
        }
    }

    /// Reads one stream (decoded on its way into the GLB); returns the
    /// values and the DRAM words read.
    pub(crate) fn read_stream(
        &mut self,
        values: &[i16],
        compressed: bool,
    ) -> Result<(Vec<i16>, u64), String> {
        let (words, dec) = self.code(values, compressed)?;
        self.stats.read_words += words;
        Ok((dec, words))
    }

    /// Writes one stream (encoded on its way out); returns the values as
    /// DRAM now holds them and the words written.
    pub(crate) fn write_stream(
        &mut self,
        values: &[i16],
        compressed: bool,
    ) -> Result<(Vec<i16>, u64), String> {
        let (words, dec) = self.code(values, compressed)?;
        self.stats.write_words += words;
        Ok((dec, words))
    }

    /// Books a burst of `words`; returns its core cycles.
    pub(crate) fn burst(&mut self, words: u64) -> u64 {
        let c = self.burst_cycles(words);
        if words > 0 {
            self.stats.busy_cycles += c;
            self.stats.transfers += 1;
        }
        c
    }
}
