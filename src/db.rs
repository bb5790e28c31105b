//! The database: a connection pool, a FIFO wait queue, and processor sharing.
//!
//! At most `connections` queries run at once; more wait in FIFO order. With
//! `cores` set, n > cores running queries each progress at rate cores / n (the
//! "DB CPU at 100%, every query slower" effect). Processor sharing is tracked
//! with a virtual clock: `vclock` is the work (ns) done by each running query
//! since the clock started; a query started at vclock v with work w finishes
//! when vclock reaches v + w, so queries finish in order of that target and one
//! heap keyed by it gives the next completion in O(1) and updates in O(log c).
//! Without `cores` the rate is 1 and virtual time is real time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand_distr::{Distribution as _, StandardNormal};

use crate::rng::Stream;
use crate::scenario::{self, Distribution};
use crate::time::{EventKey, SimDuration, SimTime};
use crate::workload::exponential;

/// A running query: finishes when the virtual clock reaches `vfinish`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Job<T> {
    vfinish: u64,
    seq: u64,
    owner: T,
}

/// What happened to a submitted query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A connection was free: the query runs now.
    Started,
    /// Every connection is busy: the query waits in the FIFO queue.
    Queued,
}

/// The database pool; `T` identifies who owns each query (the engine's
/// request handle), `W` what waits for a connection (a handle, or the whole
/// request when it waits out of its slot).
#[derive(Debug)]
pub struct Database<T, W = T> {
    connections: u32,
    cores: Option<u32>,
    running: BinaryHeap<Reverse<Job<T>>>,
    /// When the next running query finishes: read at every event, so it is
    /// computed once per change of the running set or its speed.
    next: Option<EventKey>,
    vclock: u64,
    last_advance: SimTime,
    waiting: VecDeque<W>,
    waiting_live: u32,
    busy_ns: u128,
    busy_since: SimTime,
    query_times: Vec<Distribution>,
    /// Query-time multiplier in thousandths (1000 = normal; `db-slowdown`).
    slowdown_milli: u64,
    rng: Stream,
}

impl<T: Copy + Ord, W: From<T>> Database<T, W> {
    /// An idle database as the scenario describes it. A query of key class c
    /// takes a service time drawn from `query_times[c]` with `rng`.
    pub fn new(config: &scenario::Database, query_times: Vec<Distribution>, rng: Stream) -> Self {
        Database {
            connections: config.connections,
            cores: config.cores,
            running: BinaryHeap::with_capacity(config.connections as usize),
            next: None,
            vclock: 0,
            last_advance: SimTime::ZERO,
            waiting: VecDeque::new(),
            waiting_live: 0,
            busy_ns: 0,
            busy_since: SimTime::ZERO,
            query_times,
            slowdown_milli: 1000,
            rng,
        }
    }

    /// Queries running now.
    #[inline]
    pub fn in_flight(&self) -> u32 {
        self.running.len() as u32
    }

    /// Queries waiting for a connection now (abandoned ones excluded).
    #[inline]
    pub fn queue_len(&self) -> u32 {
        self.waiting_live
    }

    /// Submits a query of key class `class` at `now`: it starts if a connection
    /// is free, else waits. `seq` orders its completion among simultaneous events.
    pub fn submit(&mut self, now: SimTime, owner: T, class: u8, seq: u64) -> Admission {
        if self.in_flight() < self.connections {
            self.start(now, owner, class, seq);
            Admission::Started
        } else {
            self.enqueue(W::from(owner));
            Admission::Queued
        }
    }

    /// Whether every connection is taken (a query submitted now would wait).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.in_flight() >= self.connections
    }

    /// Queues `waiter` for the next free connection (FIFO).
    pub fn enqueue(&mut self, waiter: W) {
        debug_assert!(
            self.is_full(),
            "a query waits only when every connection is taken"
        );
        self.waiting.push_back(waiter);
        self.waiting_live += 1;
    }

    /// Starts a query on a free connection, drawing its service time.
    pub fn start(&mut self, now: SimTime, owner: T, class: u8, seq: u64) {
        debug_assert!(self.in_flight() < self.connections);
        self.advance(now);
        let work = sample(&self.query_times[class as usize], &mut self.rng)
            .0
            .max(1);
        self.running.push(Reverse(Job {
            vfinish: self.vclock + work,
            seq,
            owner,
        }));
        self.next = self.compute_next();
    }

    /// When the next running query finishes, if any.
    #[inline]
    pub fn next_completion(&self) -> Option<EventKey> {
        self.next
    }

    fn compute_next(&self) -> Option<EventKey> {
        let Reverse(job) = self.running.peek()?;
        let remaining = job.vfinish - self.vclock.min(job.vfinish);
        let n = self.running.len() as u128;
        let eff = self.effective_cores(n);
        let dt = if eff == n && self.slowdown_milli == 1000 {
            remaining // full speed: virtual time is real time
        } else {
            (remaining as u128 * n * self.slowdown_milli as u128).div_ceil(eff * 1000) as u64
        };
        Some((SimTime(self.last_advance.0 + dt), job.seq))
    }

    /// From `now` on, queries take `factor` times as long (1 = normal).
    pub fn set_slowdown(&mut self, now: SimTime, factor: f64) {
        self.advance(now);
        self.slowdown_milli = ((factor * 1000.0).round() as u64).max(1);
        self.next = self.compute_next();
    }

    /// Completes the earliest running query at `now` and returns its owner.
    pub fn finish(&mut self, now: SimTime) -> T {
        self.advance(now);
        let Reverse(job) = self
            .running
            .pop()
            .expect("finish called with a query running");
        self.vclock = self.vclock.max(job.vfinish);
        self.next = self.compute_next();
        job.owner
    }

    /// Takes the oldest waiter off the queue (it may have been abandoned: the
    /// caller checks and, if so, calls again). The waiter knows its class and
    /// when it was queued: the queue holds nothing else.
    pub fn pop_waiting(&mut self) -> Option<W> {
        self.waiting.pop_front()
    }

    /// Records that a live waiter was handed a connection (after [`Self::pop_waiting`]).
    pub fn waiter_admitted(&mut self) {
        self.waiting_live -= 1;
    }

    /// Records that a waiting query gave up (pool timeout); its queue entry is skipped later.
    pub fn abandon_waiting(&mut self) {
        self.waiting_live -= 1;
    }

    /// Total connection-busy time up to `now` (ns × connections), for utilisation.
    pub fn busy_ns_at(&self, now: SimTime) -> u128 {
        let held = self.running.len() as u128;
        self.busy_ns + held * now.since(self.busy_since).0 as u128
    }

    /// The pool size.
    pub fn connections(&self) -> u32 {
        self.connections
    }

    fn effective_cores(&self, n: u128) -> u128 {
        match self.cores {
            Some(c) => n.min(c as u128).max(1),
            None => n.max(1),
        }
    }

    /// Moves the virtual clock and the busy integral to `now`; call before `running` changes.
    fn advance(&mut self, now: SimTime) {
        self.busy_ns = self.busy_ns_at(now);
        self.busy_since = now;
        let n = self.running.len() as u128;
        let dt = now.since(self.last_advance).0;
        let eff = self.effective_cores(n);
        self.vclock += if n == 0 {
            0 // idle: nothing runs, nothing progresses
        } else if eff == n && self.slowdown_milli == 1000 {
            dt // full speed
        } else {
            (dt as u128 * eff * 1000 / (n * self.slowdown_milli as u128)) as u64
        };
        self.last_advance = now;
    }
}

/// Draws one duration from `dist`.
pub fn sample(dist: &Distribution, rng: &mut Stream) -> SimDuration {
    match *dist {
        Distribution::Constant(d) => d,
        Distribution::Exponential(mean) => exponential(rng, mean.0 as f64),
        Distribution::Lognormal { mu, sigma } => {
            let z: f64 = StandardNormal.sample(rng);
            SimDuration((mu + sigma * z).exp().round() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Component, stream};

    fn db(connections: u32, cores: Option<u32>, ms: u64) -> Database<u32> {
        let config = scenario::Database {
            connections,
            pool_timeout: None,
            cores,
        };
        let query = Distribution::Constant(SimDuration::from_millis(ms));
        Database::new(&config, vec![query], stream(1, Component::DbService))
    }

    #[test]
    fn pool_queues_beyond_connections() {
        let mut d = db(2, None, 10);
        assert_eq!(d.submit(SimTime(0), 1, 0, 1), Admission::Started);
        assert_eq!(d.submit(SimTime(0), 2, 0, 2), Admission::Started);
        assert_eq!(d.submit(SimTime(0), 3, 0, 3), Admission::Queued);
        assert_eq!(d.queue_len(), 1);
        let (t, _) = d.next_completion().unwrap();
        assert_eq!(t, SimTime(10_000_000));
        assert_eq!(d.finish(t), 1);
        assert_eq!(d.pop_waiting(), Some(3));
    }

    #[test]
    fn processor_sharing_slows_every_query() {
        // Four 10 ms queries on 2 cores all run at half speed and finish at 20 ms.
        let mut d = db(8, Some(2), 10);
        for i in 0..4 {
            d.submit(SimTime(0), i, 0, i as u64);
        }
        let (t, _) = d.next_completion().unwrap();
        assert_eq!(t, SimTime(20_000_000));
        d.finish(t);
        // The other three are done too (same virtual finish).
        assert_eq!(d.next_completion().unwrap().0, SimTime(20_000_000));
    }

    #[test]
    fn processor_sharing_speeds_up_when_load_drops() {
        // Query A (10 ms) alone on 1 core; B joins at 5 ms: both at half speed.
        // A has 5 ms of work left -> 10 ms at half speed -> finishes at 15 ms;
        // B then runs alone with 5 ms left -> finishes at 20 ms.
        let mut d = db(8, Some(1), 10);
        d.submit(SimTime(0), 0, 0, 0);
        d.submit(SimTime(5_000_000), 1, 0, 1);
        let (t, _) = d.next_completion().unwrap();
        assert_eq!(t, SimTime(15_000_000));
        assert_eq!(d.finish(t), 0);
        let (t2, _) = d.next_completion().unwrap();
        assert_eq!(t2, SimTime(20_000_000));
    }

    #[test]
    fn slowdown_stretches_running_queries() {
        // A 10 ms query; at 4 ms the database slows down 3x: the remaining
        // 6 ms of work take 18 ms, so it finishes at 22 ms.
        let mut d = db(4, None, 10);
        d.submit(SimTime(0), 0, 0, 0);
        d.set_slowdown(SimTime(4_000_000), 3.0);
        assert_eq!(d.next_completion().unwrap().0, SimTime(22_000_000));
    }

    #[test]
    fn busy_time_integrates_connections_held() {
        let mut d = db(4, None, 10);
        d.submit(SimTime(0), 0, 0, 0);
        d.submit(SimTime(0), 1, 0, 1);
        assert_eq!(d.busy_ns_at(SimTime(5_000_000)), 10_000_000);
    }
}
