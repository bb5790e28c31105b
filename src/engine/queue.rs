//! Pending-event containers, ordered by (time, sequence).
//!
//! **Tie-breaking.** Every event is stamped, when it is scheduled, with the
//! next number of the run's one [`Sequence`]: events at the same instant run
//! in the order they were scheduled (FIFO), whichever container holds them.
//! The containers take the sequence and stamp events themselves, so no caller
//! can pass a wrong number.
//!
//! **Fixed-delay lanes.** Most delays in the model are constant for a run (a
//! cache round trip, a client timeout, a retry backoff). A [`Lane`] is built
//! with its delay and schedules every event at `now + delay`: as the clock
//! never goes back, events leave a lane in the order they entered it, so a
//! FIFO holds them with O(1) push and pop, FIFO order holding by
//! construction. Variable delays (think times, CPU work) use the O(log n)
//! [`TimerHeap`]. The engine takes the earliest head across all containers.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

pub use crate::time::EventKey;
use crate::time::{SimDuration, SimTime};

/// The tie-breaker of simultaneous events: a counter stamped on each event
/// as it is scheduled.
#[derive(Debug, Default)]
pub struct Sequence(u64);

impl Sequence {
    /// The next number: larger than every number handed out before.
    #[inline]
    pub fn next_number(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }

    /// The order key of an event scheduled now for time `at`.
    #[inline]
    pub fn stamp(&mut self, at: SimTime) -> EventKey {
        (at, self.next_number())
    }
}

/// A FIFO of events that all happen one fixed delay after they are scheduled.
#[derive(Debug)]
pub struct Lane<T> {
    delay: SimDuration,
    items: VecDeque<(EventKey, T)>,
}

impl<T: Copy> Lane<T> {
    /// An empty lane whose events happen `delay` after they are scheduled.
    pub fn new(delay: SimDuration) -> Self {
        Lane {
            delay,
            items: VecDeque::new(),
        }
    }

    /// Schedules `item` at `now` + the lane's delay, stamped from `seq`.
    ///
    /// `now` never decreases from one call to the next (the simulation clock),
    /// so the lane stays in time order.
    #[inline]
    pub fn push(&mut self, now: SimTime, seq: &mut Sequence, item: T) {
        let key = seq.stamp(now + self.delay);
        debug_assert!(
            self.items.back().is_none_or(|(last, _)| *last <= key),
            "the clock went back"
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

/// The replies of cache commands: a [`Lane`] when every round trip is the
/// same and no node queues (replies then return in the order commands were
/// sent), a [`TimerHeap`] otherwise.
#[derive(Debug)]
pub enum ReplyQueue<T> {
    /// Every reply one fixed round trip after its command was sent.
    Fixed(Lane<T>),
    /// Replies at times of their own (drawn round trips, queueing nodes).
    Timed(TimerHeap<T>),
}

impl<T: Copy> ReplyQueue<T> {
    /// Schedules the reply `item` of a command sent at `now`, back at `at`.
    #[inline(always)]
    pub fn push(&mut self, now: SimTime, at: SimTime, seq: &mut Sequence, item: T) {
        match self {
            ReplyQueue::Fixed(lane) => {
                debug_assert_eq!(at, now + lane.delay, "a fixed lane's reply time");
                lane.push(now, seq, item)
            }
            ReplyQueue::Timed(heap) => heap.push(at, seq, item),
        }
    }

    /// The key of the earliest reply.
    #[inline(always)]
    pub fn peek_key(&self) -> Option<EventKey> {
        match self {
            ReplyQueue::Fixed(lane) => lane.peek_key(),
            ReplyQueue::Timed(heap) => heap.peek_key(),
        }
    }

    /// Removes and returns the earliest reply.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(EventKey, T)> {
        match self {
            ReplyQueue::Fixed(lane) => lane.pop(),
            ReplyQueue::Timed(heap) => heap.pop(),
        }
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
    /// Schedules `item` at time `at`, stamped from `seq`. O(log n).
    pub fn push(&mut self, at: SimTime, seq: &mut Sequence, item: T) {
        let key = seq.stamp(at);
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

    #[test]
    fn heap_breaks_ties_by_scheduling_order() {
        let mut seq = Sequence::default();
        let mut h = TimerHeap::default();
        h.push(SimTime(5), &mut seq, 'a');
        h.push(SimTime(5), &mut seq, 'b');
        h.push(SimTime(3), &mut seq, 'z');
        let order: Vec<char> = std::iter::from_fn(|| h.pop().map(|(_, c)| c)).collect();
        assert_eq!(order, ['z', 'a', 'b']);
    }

    #[test]
    fn lane_schedules_after_its_delay_in_fifo_order() {
        let mut seq = Sequence::default();
        let mut l = Lane::new(SimDuration(3));
        l.push(SimTime(1), &mut seq, 1);
        l.push(SimTime(1), &mut seq, 2);
        l.push(SimTime(4), &mut seq, 3);
        assert_eq!(l.peek_key(), Some((SimTime(4), 1)));
        let order: Vec<(EventKey, i32)> = std::iter::from_fn(|| l.pop()).collect();
        assert_eq!(
            order,
            [
                ((SimTime(4), 1), 1),
                ((SimTime(4), 2), 2),
                ((SimTime(7), 3), 3)
            ]
        );
    }
}
