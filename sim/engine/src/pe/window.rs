//! A PE's ifmap spad: a column's new words from the ifmap FIFO into their
//! slots of the mirrored ring, and the window its taps read.

use super::Pe;

impl Pe {
    /// Places the ifmap words of a column into the spad and finds the
    /// window: the FIFO holds, channel by channel, the words of the columns
    /// first needed by this column, which go to spad slots `new_slots`; the
    /// window's taps are the words of slots `window` (`ColumnPlan::slots_at`).
    /// Missing words leave the spad stale.
    #[inline(always)]
    pub(crate) fn load_window(&mut self, new_slots: &[u32], window: &[u32]) {
        let (q, span) = (self.role.q_act as usize, self.span);
        if self.ifmap_fifo.len() >= q * new_slots.len() {
            self.place_words(new_slots);
        } else {
            self.place_words_starved(new_slots);
            for &x in new_slots {
                let x = x as usize;
                let slot = &self.ifmap_spad[x * q..(x + 1) * q];
                let zeros = slot.iter().map(|&v| u32::from(v == 0)).sum();
                self.slot_zeros[x] = zeros;
                if x + 1 < span {
                    self.slot_zeros[x + span] = zeros;
                }
            }
        }
        if span == self.s_taps {
            // Without dilation a window is `span` adjacent columns: the
            // ring from its first slot on, mirrored past the end.
            let first = window.first().map_or(0, |&x| x as usize);
            debug_assert!(window
                .iter()
                .enumerate()
                .all(|(t, &x)| x as usize == (first + t) % span));
            self.win_at = Some(first * q);
            self.win_zeros = self.slot_zeros[first..first + span].iter().sum();
        } else {
            let mut zeros = 0;
            for (t, &x) in window.iter().enumerate() {
                let x = x as usize;
                self.win[t * q..(t + 1) * q].copy_from_slice(&self.ifmap_spad[x * q..(x + 1) * q]);
                zeros += self.slot_zeros[x];
            }
            self.win_at = None;
            self.win_zeros = zeros;
        }
    }

    /// Moves the column's `q · new_slots` words, all in the FIFO, into
    /// their slots (and the mirror of each slot that has one). The FIFO
    /// holds them channel by channel: word `cl · n + xi` is channel `cl`
    /// of slot `new_slots[xi]`.
    #[inline(always)]
    fn place_words(&mut self, new_slots: &[u32]) {
        let (q, span, n) = (self.role.q_act as usize, self.span, new_slots.len());
        let words = self.ifmap_fifo.front(q * n);
        // A slot's few words are written (twice, where it has a mirror) and
        // their zeros counted in one loop: a copy call per slot costs more.
        for (xi, &x) in new_slots.iter().enumerate() {
            let x = x as usize;
            let (slot, rest) = self.ifmap_spad[x * q..].split_at_mut(q);
            let mut zeros = 0;
            if x + 1 < span {
                let mirror = &mut rest[(span - 1) * q..span * q];
                for (cl, (d, m)) in slot.iter_mut().zip(mirror).enumerate() {
                    let v = words[cl * n + xi];
                    (*d, *m) = (v, v);
                    zeros += u32::from(v == 0);
                }
            } else {
                for (cl, d) in slot.iter_mut().enumerate() {
                    let v = words[cl * n + xi];
                    *d = v;
                    zeros += u32::from(v == 0);
                }
            }
            self.slot_zeros[x] = zeros;
            if x + 1 < span {
                self.slot_zeros[x + span] = zeros;
            }
        }
        self.ifmap_fifo.consume(q * n);
    }

    /// [`Pe::place_words`] when the FIFO runs dry: each missing word leaves
    /// its spad word stale and counts as starved.
    fn place_words_starved(&mut self, new_slots: &[u32]) {
        let (q, span) = (self.role.q_act as usize, self.span);
        for cl in 0..q {
            for &x in new_slots {
                let x = x as usize;
                match self.ifmap_fifo.pop() {
                    Some(v) => {
                        self.ifmap_spad[x * q + cl] = v;
                        if x + 1 < span {
                            self.ifmap_spad[(x + span) * q + cl] = v;
                        }
                    }
                    None => self.starved += 1,
                }
            }
        }
    }
}
