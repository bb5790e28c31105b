//! Pending-event containers, ordered by (time, sequence).
//!
//! Most delays in the model are constant (a cache round trip, a client
//! timeout, a retry backoff): events scheduled with a constant delay complete
//! in the order they were scheduled, so a FIFO [`Lane`] holds them with O(1)
//! push and pop. Only variable delays (think times, fault events) need the
//! O(log n) [`TimerHeap`]. The engine takes the earliest head across all
//! containers; equal times are broken by the global sequence number stamped at
//! scheduling, so simultaneous events run in the order they were scheduled.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

pub use crate::time::EventKey;

/// A FIFO of events whose times never decrease in push order.
#[derive(Debug)]
pub struct Lane<T> {
    items: VecDeque<(EventKey, T)>,
}

impl<T> Default for Lane<T> {
    fn default() -> Self {
        Lane {
            items: VecDeque::new(),
        }
    }
}

impl<T: Copy> Lane<T> {
    /// Appends an event; `key` must not precede the last one pushed.
    #[inline]
    pub fn push(&mut self, key: EventKey, item: T) {
        debug_assert!(
            self.items.back().is_none_or(|(last, _)| *last <= key),
            "lane events must be pushed in time order"
        );
        self.items.push_back((key, item));
    }

    /// The key of the earliest event.
    #[inline]
    pub fn peek_key(&self) -> Option<EventKey> {
        self.items.front().map(|(k, _)| *k)
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(EventKey, T)> {
        self.items.pop_front()
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// One heap entry, ordered by its key only.
#[derive(Debug)]
struct Timed<T> {
    key: EventKey,
    item: T,
}

impl<T> PartialEq for Timed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<T> Eq for Timed<T> {}
impl<T> PartialOrd for Timed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Timed<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// A min-heap of events with arbitrary times; ties by sequence (FIFO).
#[derive(Debug)]
pub struct TimerHeap<T> {
    heap: BinaryHeap<Reverse<Timed<T>>>,
}

impl<T> Default for TimerHeap<T> {
    fn default() -> Self {
        TimerHeap {
            heap: BinaryHeap::new(),
        }
    }
}

impl<T: Copy> TimerHeap<T> {
    /// Schedules an event. O(log n).
    pub fn push(&mut self, key: EventKey, item: T) {
        self.heap.push(Reverse(Timed { key, item }));
    }

    /// The key of the earliest event.
    #[inline]
    pub fn peek_key(&self) -> Option<EventKey> {
        self.heap.peek().map(|Reverse(t)| t.key)
    }

    /// Removes and returns the earliest event. O(log n).
    pub fn pop(&mut self) -> Option<(EventKey, T)> {
        self.heap.pop().map(|Reverse(t)| (t.key, t.item))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;

    #[test]
    fn heap_breaks_ties_by_sequence() {
        let mut h = TimerHeap::default();
        h.push((SimTime(5), 2), 'b');
        h.push((SimTime(5), 1), 'a');
        h.push((SimTime(3), 9), 'z');
        let order: Vec<char> = std::iter::from_fn(|| h.pop().map(|(_, c)| c)).collect();
        assert_eq!(order, ['z', 'a', 'b']);
    }

    #[test]
    fn lane_is_fifo() {
        let mut l = Lane::default();
        l.push((SimTime(1), 1), 1);
        l.push((SimTime(1), 2), 2);
        l.push((SimTime(4), 3), 3);
        assert_eq!(l.peek_key(), Some((SimTime(1), 1)));
        let order: Vec<i32> = std::iter::from_fn(|| l.pop().map(|(_, x)| x)).collect();
        assert_eq!(order, [1, 2, 3]);
    }
}
