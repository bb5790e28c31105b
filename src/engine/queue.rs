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
use std::collections::BinaryHeap;

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
    /// Pending events from `head` on. The consumed ones before it are
    /// dropped in one move once they are at least half of the vector, so a
    /// push is a plain `Vec::push` (inlined into the hot loop) and memory
    /// stays within twice the pending events.
    items: Vec<(EventKey, T)>,
    head: usize,
}

/// Consumed events a lane keeps before it may drop them.
const LANE_COMPACT_FROM: usize = 1024;

impl<T: Copy> Lane<T> {
    /// An empty lane whose events happen `delay` after they are scheduled.
    pub fn new(delay: SimDuration) -> Self {
        Lane {
            delay,
            items: Vec::new(),
            head: 0,
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
            self.items.last().is_none_or(|(last, _)| *last <= key),
            "the clock went back"
        );
        self.items.push((key, item));
    }

    /// The key of the earliest event.
    #[inline]
    pub fn peek_key(&self) -> Option<EventKey> {
        self.items.get(self.head).map(|(k, _)| *k)
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(EventKey, T)> {
        let event = *self.items.get(self.head)?;
        self.head += 1;
        if self.head == self.items.len() {
            self.items.clear();
            self.head = 0;
        } else if self.head >= LANE_COMPACT_FROM && 2 * self.head >= self.items.len() {
            self.items.drain(..self.head);
            self.head = 0;
        }
        Some(event)
    }

    /// The key of the latest event.
    #[inline]
    pub fn last_key(&self) -> Option<EventKey> {
        self.items[self.head..].last().map(|(k, _)| *k)
    }

    /// Number of pending events later than `key` (O(log n)).
    pub fn count_after(&self, key: EventKey) -> usize {
        let pending = &self.items[self.head..];
        pending.len() - pending.partition_point(|(k, _)| *k <= key)
    }

    /// The delay of every event.
    #[inline]
    pub fn delay(&self) -> SimDuration {
        self.delay
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.items.len() - self.head
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Timers of one fixed delay that are rarely due (client and pool timeouts),
/// one per slot of the table they guard, removable in O(1).
///
/// A [`Lane`] keeps every timer until it is due, whether or not the request
/// it guards is still waiting: with a 600 s client timeout it holds every
/// request of the last 600 s. Here a timer lives in its slot (a request
/// slot), the armed ones linked in arming order, which is also their order
/// in time (one fixed delay, a clock that never goes back); disarming it
/// when its request no longer needs it unlinks it. Memory follows the slots
/// in use, not the requests guarded, and each timer is stamped from the
/// run's [`Sequence`] when armed, exactly as a lane's would be.
#[derive(Debug)]
pub struct Deadlines<T> {
    delay: SimDuration,
    slots: Vec<Deadline<T>>,
    head: u32,
    tail: u32,
}

/// One slot's timer: its key (`SimTime::NEVER` when disarmed), item and links.
#[derive(Clone, Copy, Debug)]
struct Deadline<T> {
    key: EventKey,
    item: Option<T>,
    prev: u32,
    next: u32,
}

/// No slot: the end of the list.
const NO_SLOT: u32 = u32::MAX;

impl<T: Copy> Deadlines<T> {
    /// No timer armed; each will be due `delay` after it is armed.
    pub fn new(delay: SimDuration) -> Self {
        Deadlines {
            delay,
            slots: Vec::new(),
            head: NO_SLOT,
            tail: NO_SLOT,
        }
    }

    /// Arms slot `slot`'s timer at `now` + the delay, for `item`, stamped from `seq`.
    ///
    /// `now` never decreases from one call to the next, so the list stays in time order.
    #[inline]
    pub fn arm(&mut self, now: SimTime, seq: &mut Sequence, slot: usize, item: T) {
        if slot >= self.slots.len() {
            self.slots.resize(
                slot + 1,
                Deadline {
                    key: (SimTime::NEVER, 0),
                    item: None,
                    prev: NO_SLOT,
                    next: NO_SLOT,
                },
            );
        }
        self.disarm(slot);
        let key = seq.stamp(now + self.delay);
        let at = slot as u32;
        self.slots[slot] = Deadline {
            key,
            item: Some(item),
            prev: self.tail,
            next: NO_SLOT,
        };
        match self.tail {
            NO_SLOT => self.head = at,
            tail => self.slots[tail as usize].next = at,
        }
        self.tail = at;
    }

    /// Disarms slot `slot`'s timer, if it is armed. O(1).
    #[inline]
    pub fn disarm(&mut self, slot: usize) {
        let Some(d) = self.slots.get(slot).copied() else {
            return;
        };
        if d.item.is_none() {
            return;
        }
        match d.prev {
            NO_SLOT => self.head = d.next,
            prev => self.slots[prev as usize].next = d.next,
        }
        match d.next {
            NO_SLOT => self.tail = d.prev,
            next => self.slots[next as usize].prev = d.prev,
        }
        self.slots[slot].item = None;
    }

    /// The key of the earliest armed timer.
    #[inline]
    pub fn peek_key(&self) -> Option<EventKey> {
        (self.head != NO_SLOT).then(|| self.slots[self.head as usize].key)
    }

    /// Removes and returns the earliest armed timer.
    #[inline]
    pub fn pop(&mut self) -> Option<(EventKey, T)> {
        let head = self.head;
        if head == NO_SLOT {
            return None;
        }
        let d = self.slots[head as usize];
        self.disarm(head as usize);
        d.item.map(|item| (d.key, item))
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.head == NO_SLOT
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
    fn deadlines_fire_in_arming_order_and_disarmed_ones_never() {
        let mut seq = Sequence::default();
        let mut d = Deadlines::new(SimDuration(10));
        d.arm(SimTime(1), &mut seq, 4, 'a');
        d.arm(SimTime(2), &mut seq, 0, 'b');
        d.arm(SimTime(2), &mut seq, 7, 'c');
        d.arm(SimTime(3), &mut seq, 2, 'd');
        d.disarm(0); // the middle
        d.disarm(2); // the tail
        d.disarm(9); // never armed
        assert_eq!(d.peek_key(), Some((SimTime(11), 1)));
        d.arm(SimTime(5), &mut seq, 0, 'e'); // a slot reused
        let order: Vec<(EventKey, char)> = std::iter::from_fn(|| d.pop()).collect();
        assert_eq!(
            order,
            [
                ((SimTime(11), 1), 'a'),
                ((SimTime(12), 3), 'c'),
                ((SimTime(15), 5), 'e')
            ]
        );
        assert!(d.is_empty());
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

    #[test]
    fn a_lane_never_empty_stays_fifo_and_small() {
        // Two pushes per pop from 3 pending on, then drained: every event
        // comes out once, in order, and the vector holds at most twice the
        // pending events beyond the compaction threshold.
        let mut seq = Sequence::default();
        let mut l = Lane::new(SimDuration(5));
        let (mut pushed, mut popped) = (0u32, 0u32);
        for t in 0..10_000u64 {
            l.push(SimTime(t), &mut seq, pushed);
            pushed += 1;
            if t % 3 != 0 || l.len() > 3 {
                let (key, item) = l.pop().expect("pending");
                assert_eq!(item, popped);
                assert_eq!(key.0, SimTime(item as u64 + 5));
                popped += 1;
            }
            assert_eq!(l.len() as u32, pushed - popped);
            assert!(l.items.len() <= 2 * l.len() + LANE_COMPACT_FROM + 1);
        }
        while let Some((_, item)) = l.pop() {
            assert_eq!(item, popped);
            popped += 1;
        }
        assert_eq!(popped, pushed);
        assert!(l.is_empty() && l.items.is_empty());
    }
}
