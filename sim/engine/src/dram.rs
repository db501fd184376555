//! The off-chip link: a `bus_bits` bus clocked at `link_mhz`, and an async
//! FIFO into the core clock. Bursts queue on the link in the order they are
//! issued; each occupies whole link cycles, starting at the first link edge
//! after it is ready and the link is free, and is in the GLB (or in DRAM)
//! `crossing_cycles` core cycles after its last link cycle. Feature maps
//! cross it RLC-coded; filters and the network's input cross it raw.

use super::components::DramStats;
use super::datapath::{rlc_decode, rlc_encode};
use super::fault::{flip16, FaultKind, FaultSite, Injector};
use crate::hw::{HwConfig, RlcFormat};

/// One stream as DRAM stores it.
pub(crate) enum Stored {
    /// RLC words.
    Rlc(Vec<u64>),
    /// Raw 16-bit values.
    Raw(Vec<i16>),
}

/// The DRAM link with its queue and word counters.
pub(crate) struct DramLink {
    bus_words: u64,
    core_mhz: f64,
    link_mhz: f64,
    crossing: u64,
    rlc: Option<RlcFormat>,
    word_bits: u32,
    /// First link cycle at which the link is free.
    link_free: u64,
    /// Statistics.
    pub stats: DramStats,
}

/// `x.ceil()` that forgives the last bits of a product of decimal clocks
/// (10 · 0.3 must be 3, not 4).
fn ceil_clock(x: f64) -> u64 {
    (x - 1e-9 * x.abs().max(1.0)).ceil().max(0.0) as u64
}

impl DramLink {
    pub(crate) fn new(hw: &HwConfig) -> Self {
        DramLink {
            bus_words: u64::from((hw.dram.bus_bits / hw.pe.word_bits).max(1)),
            core_mhz: hw.clock.core_mhz,
            link_mhz: hw.dram.link_mhz,
            crossing: u64::from(hw.dram.crossing_cycles),
            rlc: hw.sparsity.rlc,
            word_bits: hw.pe.word_bits,
            link_free: 0,
            stats: DramStats::default(),
        }
    }

    /// Queues a burst of `words` that may start at core cycle `ready`;
    /// returns the core cycle at which it is complete at the far end.
    /// `late` link cycles are added by a delay fault.
    pub(crate) fn transfer(&mut self, words: u64, ready: u64, late: u64) -> u64 {
        if words == 0 {
            return ready;
        }
        let edge = ceil_clock(ready as f64 * self.link_mhz / self.core_mhz);
        let start = edge.max(self.link_free);
        let end = start + words.div_ceil(self.bus_words) + late;
        self.link_free = end;
        let done = ceil_clock(end as f64 * self.core_mhz / self.link_mhz) + self.crossing;
        let began = ceil_clock(start as f64 * self.core_mhz / self.link_mhz);
        self.stats.busy_cycles += done - began.min(done);
        self.stats.transfers += 1;
        done
    }

    /// Encodes one stream the way DRAM stores it.
    pub(crate) fn store(&self, values: &[i16], compressed: bool) -> Stored {
        match (compressed, self.rlc) {
            (true, Some(fmt)) => Stored::Rlc(rlc_encode(values, &fmt)),
            _ => Stored::Raw(values.to_vec()),
        }
    }

    /// DRAM words (of `word_bits`) a stored stream occupies.
    pub(crate) fn words(&self, s: &Stored) -> u64 {
        match (s, self.rlc) {
            (Stored::Rlc(w), Some(fmt)) => {
                w.len() as u64 * u64::from(fmt.word_bits.div_ceil(self.word_bits))
            }
            (Stored::Rlc(w), None) => w.len() as u64,
            (Stored::Raw(v), _) => v.len() as u64,
        }
    }

    /// Decodes a stored stream. An RLC stream that does not decode (a
    /// corrupted word) is an error.
    pub(crate) fn load(&self, s: &Stored) -> Result<Vec<i16>, String> {
        match (s, self.rlc) {
            (Stored::Rlc(w), Some(fmt)) => rlc_decode(w, &fmt),
            (Stored::Rlc(_), None) => Err("RLC stream without an RLC format".into()),
            (Stored::Raw(v), _) => Ok(v.clone()),
        }
    }

    /// Counts words read from DRAM.
    pub(crate) fn count_read(&mut self, words: u64) {
        self.stats.read_words += words;
    }

    /// Counts words written to DRAM.
    pub(crate) fn count_write(&mut self, words: u64) {
        self.stats.write_words += words;
    }
}

impl Stored {
    /// Inverts bit `bit` of the stream's first word (a DRAM bit error).
    pub(crate) fn flip(&mut self, bit: u32) {
        match self {
            Stored::Rlc(w) => {
                if let Some(x) = w.first_mut() {
                    *x ^= 1u64 << (bit % 64);
                }
            }
            Stored::Raw(v) => {
                if let Some(x) = v.first_mut() {
                    *x = flip16(*x, bit);
                }
            }
        }
    }
}

/// Applies a fault at the RLC decoder's output, value by value, to a
/// stream just decoded on its way into the GLB.
pub(crate) fn decoder_faults(values: &mut Vec<i16>, inject: &mut Injector) {
    let n = values.len() as u64;
    if !inject.hits(FaultSite::RlcDecode, n) {
        inject.skip(FaultSite::RlcDecode, n);
        return;
    }
    for i in 0..values.len() {
        match inject.next(FaultSite::RlcDecode) {
            Some(FaultKind::Drop) => {
                values.remove(i);
                inject.skip(FaultSite::RlcDecode, (values.len() - i) as u64);
                return;
            }
            Some(FaultKind::Duplicate) => {
                values.insert(i, values[i]);
                values.pop();
                inject.skip(FaultSite::RlcDecode, (values.len() - i - 1) as u64);
                return;
            }
            Some(FaultKind::Flip(bit)) => values[i] = flip16(values[i], bit),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_queue_in_the_link_clock() {
        let mut hw = crate::hw::builtin("eyeriss-v1").unwrap();
        hw.dram.crossing_cycles = 3;
        let mut link = DramLink::new(&hw);
        // 8 words = 2 link cycles of 64 b at 60 MHz = 6.67 core cycles at 200 MHz.
        assert_eq!(link.transfer(8, 0, 0), 7 + 3);
        // Ready at core cycle 1: the next link edge is link cycle 1 (3.33),
        // but the link is busy until link cycle 2; it ends at link cycle 4.
        assert_eq!(link.transfer(8, 1, 0), 14 + 3);
        // Idle link, ready at 100: edge 30 (exactly core cycle 100).
        assert_eq!(link.transfer(4, 100, 0), 104 + 3);
        assert_eq!(link.transfer(0, 500, 0), 500);
        assert_eq!(link.stats.transfers, 3);
    }
}
