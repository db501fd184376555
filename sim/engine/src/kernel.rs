//! The discrete-event kernel: integer core-cycle time, events ordered by
//! (cycle, sequence number) so that simultaneous events run in the order
//! they were scheduled and every run is deterministic.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// An event and its place in time: `(cycle, seq)` packed into one key
/// (cycle in the high half), so the heap compares one integer.
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    fn cycle(&self) -> u64 {
        (self.key >> 64) as u64
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    // BinaryHeap is a max-heap; the earliest (cycle, seq) must come out first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.key.cmp(&self.key)
    }
}

/// A time-ordered event queue. Time only moves forward: scheduling an
/// event in the past is a simulator bug and panics in debug builds.
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
    now: u64,
    processed: u64,
}

impl<E> EventQueue<E> {
    /// An empty queue at cycle `start`.
    pub(crate) fn new(start: u64) -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
            now: start,
            processed: 0,
        }
    }

    /// Current simulated cycle.
    pub(crate) fn now(&self) -> u64 {
        self.now
    }

    /// Events popped so far.
    pub(crate) fn processed(&self) -> u64 {
        self.processed
    }

    /// Schedules `event` at `cycle` (not before now).
    pub(crate) fn schedule(&mut self, cycle: u64, event: E) {
        debug_assert!(cycle >= self.now, "event scheduled in the past");
        let cycle = cycle.max(self.now);
        self.heap.push(Entry {
            key: (u128::from(cycle) << 64) | u128::from(self.seq),
            event,
        });
        self.seq += 1;
    }

    /// Advances time to the next event and returns it.
    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        let e = self.heap.pop()?;
        self.now = e.cycle();
        self.processed += 1;
        Some((self.now, e.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_cycle_then_schedule_order() {
        let mut q = EventQueue::new(0);
        q.schedule(5, 'a');
        q.schedule(3, 'b');
        q.schedule(5, 'c');
        q.schedule(3, 'd');
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(3, 'b'), (3, 'd'), (5, 'a'), (5, 'c')]);
        assert_eq!(q.now(), 5);
        assert_eq!(q.processed(), 4);
    }
}
