//! A Redis node's single thread: commands executed one at a time, in arrival order.
//!
//! Every command arrives one fixed network leg after it is sent, so commands
//! reach a node in the order they were sent, and a FIFO server with known
//! service times gives each its start and end the moment it is sent: start =
//! max(arrival, end of the previous command). Nothing is scheduled; the queue
//! keeps the service intervals not yet over, to count the commands waiting
//! when one arrives and to measure busy time at any instant.

use std::collections::VecDeque;

use crate::time::{SimDuration, SimTime};

/// The command queue of one node.
#[derive(Debug)]
pub struct CommandQueue {
    /// Service time of a command carrying no value, ns.
    base_ns: u64,
    /// Extra service time per KB (1024 bytes) of value carried, ns.
    per_kb_ns: u64,
    /// When the node finishes the last command given to it.
    free_at: SimTime,
    /// (start, end) of the commands not over by the last call's send time.
    pending: VecDeque<(SimTime, SimTime)>,
    /// Busy time of the commands dropped from `pending`.
    done_busy_ns: u128,
}

impl CommandQueue {
    /// A node executing `ops_per_sec` commands a second, plus `per_kb` per KB of value.
    pub fn new(ops_per_sec: f64, per_kb: SimDuration) -> Self {
        CommandQueue {
            base_ns: (1e9 / ops_per_sec).round().max(1.0) as u64,
            per_kb_ns: per_kb.0,
            free_at: SimTime::ZERO,
            pending: VecDeque::new(),
            done_busy_ns: 0,
        }
    }

    /// A command sent at `now` reaches the node at `arrival`: returns when
    /// the node starts it and how many commands arrived before it and are not
    /// over yet (the one in service included).
    ///
    /// `now` and `arrival` never decrease from one call to the next.
    #[inline]
    pub fn arrive(&mut self, now: SimTime, arrival: SimTime) -> (SimTime, usize) {
        // Intervals over by `now` no longer matter: every later busy-time
        // reading is at `now` or after.
        while let Some(&(start, end)) = self.pending.front() {
            if end > now {
                break;
            }
            self.done_busy_ns += end.since(start).0 as u128;
            self.pending.pop_front();
        }
        let over = self.pending.partition_point(|&(_, end)| end <= arrival);
        (arrival.max(self.free_at), self.pending.len() - over)
    }

    /// The command started at `start` carries `value_bytes`: returns when it ends.
    #[inline]
    pub fn serve(&mut self, start: SimTime, value_bytes: u64) -> SimTime {
        let service = self.base_ns + (self.per_kb_ns as u128 * value_bytes as u128 / 1024) as u64;
        let end = start + SimDuration(service);
        self.free_at = end;
        self.pending.push_back((start, end));
        end
    }

    /// The node's busy time from the start of the run to `t`, ns.
    pub fn busy_ns_at(&self, t: SimTime) -> u128 {
        let mut busy = self.done_busy_ns;
        for &(start, end) in &self.pending {
            if start >= t {
                break;
            }
            busy += end.min(t).since(start).0 as u128;
        }
        busy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_wait_in_arrival_order_and_busy_time_integrates() {
        // 1,000 ops/s: 1 ms per command.
        let mut q = CommandQueue::new(1000.0, SimDuration::ZERO);
        let ms = |x: u64| SimTime(x * 1_000_000);
        let (s1, ahead1) = q.arrive(ms(0), ms(0));
        assert_eq!((s1, ahead1), (ms(0), 0));
        assert_eq!(q.serve(s1, 0), ms(1));
        let (s2, ahead2) = q.arrive(ms(0), ms(0));
        assert_eq!((s2, ahead2), (ms(1), 1), "waits for the first");
        assert_eq!(q.serve(s2, 0), ms(2));
        let (s3, ahead3) = q.arrive(ms(5), ms(5));
        assert_eq!((s3, ahead3), (ms(5), 0), "an idle node starts at once");
        q.serve(s3, 0);
        assert_eq!(q.busy_ns_at(ms(5)), 2_000_000);
        assert_eq!(q.busy_ns_at(SimTime(5_500_000)), 2_500_000);
        assert_eq!(q.busy_ns_at(ms(9)), 3_000_000);
    }

    #[test]
    fn value_bytes_add_their_per_kb_cost() {
        let mut q = CommandQueue::new(1e6, SimDuration(300));
        let (start, _) = q.arrive(SimTime::ZERO, SimTime::ZERO);
        // 1 µs + 4 KB × 300 ns.
        assert_eq!(q.serve(start, 4096), SimTime(1_000 + 1_200));
    }
}
