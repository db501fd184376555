//! A PE's input FIFO (ifmap words from the ifmap GIN, psums from the psum
//! GIN or the local link below): words leave in the order they arrived.
//!
//! Why not a `VecDeque`: a PE takes a column's words at once, a few to a
//! few dozen, and a ring splits them in two slices wherever it wraps. Here
//! the words waiting are always one slice, so taking them is one copy (or
//! one fused combine, for psums). The space of words taken is reclaimed
//! when the FIFO empties, which a replayed pass's FIFOs do after every
//! batch of columns, or once they are at least half the buffer.

/// Taken words below which the buffer is not compacted: moving a few words
/// down more often than that costs more than the space.
const COMPACT_AT: usize = 256;

/// Words in arrival order; the oldest is [`WordFifo::front`]'s first.
#[derive(Debug, Default)]
pub(crate) struct WordFifo {
    words: Vec<i16>,
    /// Words already taken, at the start of `words`.
    head: usize,
}

impl WordFifo {
    /// Words waiting.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.words.len() - self.head
    }

    /// Whether no word is waiting.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties it, keeping its allocation.
    pub(crate) fn clear(&mut self) {
        self.words.clear();
        self.head = 0;
    }

    /// One word arrives.
    #[inline]
    pub(crate) fn push(&mut self, word: i16) {
        self.words.push(word);
    }

    /// Words arrive, in order.
    #[inline]
    pub(crate) fn extend_from_slice(&mut self, words: &[i16]) {
        self.words.extend_from_slice(words);
    }

    /// The oldest `n` words waiting, or all of them if fewer wait.
    #[inline]
    pub(crate) fn front(&self, n: usize) -> &[i16] {
        let end = self.head.saturating_add(n).min(self.words.len());
        &self.words[self.head..end]
    }

    /// Takes the oldest word.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<i16> {
        let w = *self.words.get(self.head)?;
        self.consume(1);
        Some(w)
    }

    /// Drops the oldest `n` words (at most [`WordFifo::len`]).
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.head = (self.head + n).min(self.words.len());
        if self.head == self.words.len() {
            self.clear();
        } else if self.head >= COMPACT_AT && 2 * self.head >= self.words.len() {
            self.words.drain(..self.head);
            self.head = 0;
        }
    }
}

/// Words arrive, in order.
impl Extend<i16> for WordFifo {
    #[inline]
    fn extend<I: IntoIterator<Item = i16>>(&mut self, words: I) {
        self.words.extend(words);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Against a `VecDeque` driven by the same pushes and takes, through
    /// the compactions: the words waiting are always the same.
    #[test]
    fn words_leave_in_arrival_order_through_compaction() {
        let (mut fifo, mut model) = (WordFifo::default(), VecDeque::new());
        let mut compacted = 0;
        let mut next = 0i16;
        for round in 0..2000usize {
            let arrive = round % 7 + 1;
            let words: Vec<i16> = (0..arrive)
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect();
            // Both ways words arrive: a GIN's slice, a PE's combined psums.
            if round % 2 == 0 {
                fifo.extend_from_slice(&words);
            } else {
                fifo.extend(words.iter().copied());
            }
            model.extend(words.iter().copied());
            // Take a little less than arrives, so the FIFO grows and the
            // taken space must be reclaimed while words still wait.
            let take = (round % 8).min(fifo.len());
            let head_before = fifo.head;
            let front = fifo.front(take).to_vec();
            let want: Vec<i16> = model.drain(..take).collect();
            assert_eq!(front, want, "round {round}");
            fifo.consume(take);
            if fifo.head < head_before + take && !fifo.is_empty() {
                compacted += 1;
            }
            if round % 11 == 0 {
                assert_eq!(fifo.pop(), model.pop_front());
            }
            assert_eq!(fifo.len(), model.len());
            assert_eq!(fifo.front(usize::MAX), model.make_contiguous());
        }
        assert!(compacted > 3, "only {compacted} compactions");
        assert!(fifo.words.len() < 2 * fifo.len() + COMPACT_AT + 8);
    }

    #[test]
    fn an_empty_fifo_gives_nothing() {
        let mut fifo = WordFifo::default();
        assert_eq!(fifo.pop(), None);
        assert!(fifo.front(4).is_empty());
        fifo.push(3);
        assert_eq!(fifo.front(4), [3]);
        assert_eq!(fifo.pop(), Some(3));
        assert!(fifo.is_empty());
    }
}
