//! The discrete-event loop: requests flow through cache and database.
//!
//! One run is single-threaded and deterministic. Pending events live in a few
//! containers, each cheap for its kind of delay (see [`queue`]): the single
//! next open-loop arrival is a scalar; cache replies, client timeouts, pool
//! timeouts and retries have constant delays and sit in FIFO lanes; database
//! completions come from the pool's own heap ([`crate::db`]); think times use a
//! heap. Each step takes the earliest (time, sequence) head among them, so
//! simultaneous events run in the order they were scheduled.
//!
//! A cache command takes effect at its server time (send + latency/2) and its
//! reply arrives at send + latency. Because every command travels the same
//! FIFO path, applying it to the cache state when it is sent, with the clock
//! set to its server time, gives the same state sequence as applying it on
//! arrival at the server, and saves an event per command.
//!
//! The per-request path (plain cache-aside, strategy `none`) reads top to
//! bottom: [`Engine::new_request`] → GET → on a miss [`Engine::submit_query`]
//! → database → [`Engine::send_set`] → SET reply → answer.

pub mod queue;
pub mod requests;

use crate::cache::lfu::LfuConfig;
use crate::cache::{Cache, CacheConfig};
use crate::db::{Admission, Database};
use crate::metrics::classes::{ClassCounters, ClassMetrics, ClassRow};
use crate::metrics::{Counters, Metrics, RunSummary, Snapshot, TimeseriesRow};
use crate::rng::{Component, Stream, stream, unit_f64};
use crate::scenario::{Arrival, Prewarm, Scenario};
use crate::time::{SimDuration, SimTime};
use crate::workload::{
    KeyBatch, KeySampler, assign_classes, exponential, mean_gap_ns, value_sizes, zipf_probabilities,
};
use queue::{EventKey, Lane, TimerHeap};
use requests::{NO_USER, Phase, ReqRef, Request, Requests};

/// What a run produced: the summary and the time series.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The summary (`summary.json`).
    pub summary: RunSummary,
    /// The time series (`timeseries.csv`).
    pub timeseries: Vec<TimeseriesRow>,
    /// The per-class time series (`classes.csv`).
    pub class_rows: Vec<ClassRow>,
}

/// Simulates `scenario` with `seed` and returns what it measured.
pub fn run(scenario: &Scenario, seed: u64) -> RunOutput {
    let mut engine = Engine::new(scenario, seed);
    engine.run_to_end();
    engine.finish(scenario, seed)
}

/// The cache's configuration for scenario `sc` with keys in classes `class_of`.
fn cache_config(sc: &Scenario, class_of: &[u8]) -> CacheConfig {
    let c = &sc.cache;
    CacheConfig {
        keys: sc.clients.keys,
        maxmemory_bytes: c.maxmemory_bytes,
        policy: c.policy,
        samples: c.samples,
        key_overhead: c.key_overhead,
        ttl_overhead: c.ttl_overhead,
        lfu: LfuConfig {
            log_factor: c.lfu_log_factor,
            decay_minutes: c.lfu_decay_minutes,
        },
        class_of: class_of.to_vec(),
        classes: sc.clients.classes.len(),
        hz: c.hz,
    }
}

/// Requests per second for each key: the arrival rate times its Zipf share
/// (closed loop: users / mean think time, an upper bound on their rate).
fn key_request_rates(sc: &Scenario) -> Vec<f64> {
    let rate = match sc.clients.arrival {
        Arrival::Poisson { rate_per_s } => rate_per_s,
        Arrival::Closed { users, think } => users as f64 / think.as_secs_f64().max(1e-9),
    };
    zipf_probabilities(sc.clients.keys, sc.clients.zipf)
        .into_iter()
        .map(|p| p * rate)
        .collect()
}

/// The source of the next event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Arrival,
    CacheReply,
    DbDone,
    Timeout,
    PoolTimeout,
    Retry,
    ThinkDone,
    Cron,
}

/// The sentinel key of an empty source.
const NO_EVENT: EventKey = (SimTime::NEVER, u64::MAX);

/// The state of one run.
struct Engine {
    // configuration
    keys_total: u32,
    churn_per_s: f64,
    arrivals_end: SimTime,
    arrival: Arrival,
    cache_latency: SimDuration,
    half_latency: SimDuration,
    class_ttl: Vec<Option<SimDuration>>,
    ttl_jitter: f64,
    cron_period: SimDuration,
    timeout: Option<SimDuration>,
    pool_timeout: Option<SimDuration>,
    retries: u32,
    retry_backoff: SimDuration,
    // randomness
    keys: KeySampler,
    key_batch: KeyBatch,
    arrivals_rng: Stream,
    keys_rng: Stream,
    ttl_rng: Stream,
    // state
    now: SimTime,
    last_release: SimTime,
    seq: u64,
    next_arrival: EventKey,
    next_cron: EventKey,
    cache: Cache,
    class_of: Vec<u8>,
    value_bytes: Vec<u32>,
    db: Database<ReqRef>,
    requests: Requests,
    queries_in_flight: Vec<u32>,
    cache_replies: Lane<ReqRef>,
    timeouts: Lane<ReqRef>,
    pool_timeouts: Lane<ReqRef>,
    retry_waits: Lane<ReqRef>,
    thinking: TimerHeap<u32>,
    metrics: Metrics,
    class_metrics: ClassMetrics,
}

impl Engine {
    fn new(sc: &Scenario, seed: u64) -> Self {
        let keys = sc.clients.keys;
        let shares: Vec<f64> = sc.clients.classes.iter().map(|c| c.share).collect();
        let sizes: Vec<_> = sc.clients.classes.iter().map(|c| c.value_size).collect();
        let class_of = assign_classes(keys, &shares);
        let class_metrics = ClassMetrics::new(&sc.clients.classes, &class_of);
        let mut engine = Engine {
            keys_total: keys,
            churn_per_s: sc.clients.churn_per_s,
            arrivals_end: SimTime::ZERO + sc.duration,
            arrival: sc.clients.arrival,
            cache_latency: sc.cache.latency,
            half_latency: SimDuration(sc.cache.latency.0 / 2),
            class_ttl: sc.clients.classes.iter().map(|c| c.ttl).collect(),
            ttl_jitter: sc.cache.ttl_jitter,
            cron_period: SimDuration(1_000_000_000 / sc.cache.hz as u64),
            timeout: sc.clients.timeout,
            pool_timeout: sc.database.pool_timeout,
            retries: sc.clients.retries,
            retry_backoff: sc.clients.retry_backoff,
            keys: KeySampler::new(keys, sc.clients.zipf),
            key_batch: KeyBatch::default(),
            arrivals_rng: stream(seed, Component::Arrivals),
            keys_rng: stream(seed, Component::Keys),
            ttl_rng: stream(seed, Component::TtlJitter),
            now: SimTime::ZERO,
            last_release: SimTime::ZERO,
            seq: 0,
            next_arrival: NO_EVENT,
            cache: Cache::new(
                cache_config(sc, &class_of),
                stream(seed, Component::Eviction),
            ),
            db: Database::new(
                &sc.database,
                sc.clients.classes.iter().map(|c| c.query_time).collect(),
                stream(seed, Component::DbService),
            ),
            value_bytes: value_sizes(&class_of, &sizes, &mut stream(seed, Component::ValueSizes)),
            class_of,
            next_cron: NO_EVENT,
            requests: Requests::default(),
            queries_in_flight: vec![0; keys as usize],
            cache_replies: Lane::default(),
            timeouts: Lane::default(),
            pool_timeouts: Lane::default(),
            retry_waits: Lane::default(),
            thinking: TimerHeap::default(),
            metrics: Metrics::new(sc.warmup, sc.interval, sc.database.connections),
            class_metrics,
        };
        engine.prewarm(sc.cache.prewarm, sc);
        if engine.class_ttl.iter().any(Option::is_some) {
            engine.next_cron = (SimTime::ZERO + engine.cron_period, engine.next_seq());
        }
        match engine.arrival {
            Arrival::Poisson { .. } => engine.schedule_arrival(),
            Arrival::Closed { users, .. } => {
                for user in 0..users {
                    engine.schedule_think(user);
                }
            }
        }
        engine
    }

    /// Fills the cache at time 0 as the scenario asks.
    fn prewarm(&mut self, prewarm: Prewarm, sc: &Scenario) {
        let key_rates = match prewarm {
            Prewarm::None => return,
            Prewarm::Fresh => None,
            Prewarm::Steady => Some(key_request_rates(sc)),
        };
        for key in 0..self.keys_total {
            let ttl = self.draw_ttl(key);
            let bytes = self.value_bytes[key as usize] as u64;
            let Some(rates) = &key_rates else {
                self.cache.set(key, SimTime::ZERO, bytes, ttl);
                continue;
            };
            // The stationary TTL cache under Poisson requests at rate r: the key
            // is stored with probability rT/(1 + rT), with a remaining TTL
            // uniform over its TTL (renewal theory, as in the analytic tests).
            let Some(ttl) = ttl else {
                self.cache.set(key, SimTime::ZERO, bytes, None);
                continue;
            };
            let x = rates[key as usize] * ttl.as_secs_f64();
            if unit_f64(&mut self.ttl_rng) < x / (1.0 + x) {
                let remaining = (ttl.0 as f64 * unit_f64(&mut self.ttl_rng)) as u64 + 1;
                self.cache
                    .set(key, SimTime::ZERO, bytes, Some(SimDuration(remaining)));
            }
        }
        self.metrics.observe_memory(self.cache.used_memory());
    }

    /// The TTL of a SET of `key`: its class's ttl × U(1 − j, 1 + j), or none.
    fn draw_ttl(&mut self, key: u32) -> Option<SimDuration> {
        let ttl = self.class_ttl[self.class_of[key as usize] as usize]?;
        if self.ttl_jitter == 0.0 {
            return Some(ttl);
        }
        let u = unit_f64(&mut self.ttl_rng);
        let factor = 1.0 - self.ttl_jitter + 2.0 * self.ttl_jitter * u;
        Some(SimDuration((ttl.0 as f64 * factor).round() as u64))
    }

    /// A fresh sequence number: the tie-breaker of events scheduled at one instant.
    #[inline]
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Processes events until none is left.
    fn run_to_end(&mut self) {
        loop {
            let (key, source) = self.earliest();
            if key == NO_EVENT {
                break;
            }
            self.advance_to(key.0);
            match source {
                Source::Arrival => self.on_arrival(),
                Source::ThinkDone => {
                    let (_, user) = self.thinking.pop().expect("peeked");
                    if self.now < self.arrivals_end {
                        self.new_request(user);
                    }
                }
                Source::CacheReply => {
                    let (_, r) = self.cache_replies.pop().expect("peeked");
                    self.on_cache_reply(r);
                }
                Source::DbDone => self.on_query_done(),
                Source::Timeout => {
                    let (_, r) = self.timeouts.pop().expect("peeked");
                    self.on_timeout(r);
                }
                Source::PoolTimeout => {
                    let (_, r) = self.pool_timeouts.pop().expect("peeked");
                    self.on_pool_timeout(r);
                }
                Source::Retry => {
                    let (_, r) = self.retry_waits.pop().expect("peeked");
                    self.start_attempt(r);
                }
                Source::Cron => self.on_cron(),
            }
        }
    }

    /// The earliest pending event and where it is.
    #[inline]
    fn earliest(&self) -> (EventKey, Source) {
        let mut best = (self.next_arrival, Source::Arrival);
        let mut consider = |key: Option<EventKey>, source: Source| {
            if let Some(key) = key
                && key < best.0
            {
                best = (key, source);
            }
        };
        consider(self.cache_replies.peek_key(), Source::CacheReply);
        consider(self.db.next_completion(), Source::DbDone);
        consider(self.timeouts.peek_key(), Source::Timeout);
        consider(self.pool_timeouts.peek_key(), Source::PoolTimeout);
        consider(self.retry_waits.peek_key(), Source::Retry);
        consider(self.thinking.peek_key(), Source::ThinkDone);
        consider(Some(self.next_cron), Source::Cron);
        best
    }

    /// Moves the clock to `t`, closing time-series rows and warmup on the way.
    #[inline]
    fn advance_to(&mut self, t: SimTime) {
        while t >= self.metrics.row_end() {
            let end = self.metrics.row_end();
            self.close_row(end);
        }
        if !self.metrics.warmed_up() && t >= self.metrics.warmup_end() {
            let snap = self.snapshot(self.metrics.warmup_end());
            self.metrics
                .mark_warmup(snap, self.db.in_flight(), self.db.queue_len());
            self.class_metrics.mark_warmup(self.cache.class_stats());
        }
        self.now = t;
    }

    fn close_row(&mut self, end: SimTime) {
        let start_s = self.metrics.row_start().as_secs_f64();
        self.class_metrics
            .close_row(start_s, self.cache.class_stats());
        let snap = self.snapshot(end);
        self.metrics
            .close_row(snap, self.db.in_flight(), self.db.queue_len());
    }

    /// Cumulative counters and gauges as they stand at `at` (no event since the last one).
    fn snapshot(&self, at: SimTime) -> Snapshot {
        let stats = self.cache.stats();
        Snapshot {
            evicted_keys: stats.evicted_keys,
            expired_keys: stats.expired_keys,
            keyspace_hits: stats.keyspace_hits,
            keyspace_misses: stats.keyspace_misses,
            oom_rejections: stats.oom_rejections,
            db_busy_ns: self.db.busy_ns_at(at),
            used_memory: self.cache.used_memory(),
        }
    }

    /// Redis's server cron: an active expiry cycle every 1/hz s while clients send requests.
    fn on_cron(&mut self) {
        self.cache.active_expire_cycle(self.now);
        let at = self.now + self.cron_period;
        self.next_cron = if at < self.arrivals_end {
            (at, self.next_seq())
        } else {
            NO_EVENT
        };
    }

    // ---- arrivals -------------------------------------------------------

    fn schedule_arrival(&mut self) {
        let Arrival::Poisson { rate_per_s } = self.arrival else {
            return;
        };
        let gap = exponential(&mut self.arrivals_rng, mean_gap_ns(rate_per_s));
        let at = self.now + gap;
        self.next_arrival = if at < self.arrivals_end {
            (at, self.next_seq())
        } else {
            NO_EVENT
        };
    }

    fn schedule_think(&mut self, user: u32) {
        let Arrival::Closed { think, .. } = self.arrival else {
            return;
        };
        let at = self.now + exponential(&mut self.arrivals_rng, think.0 as f64);
        if at < self.arrivals_end {
            let seq = self.next_seq();
            self.thinking.push((at, seq), user);
        }
    }

    fn on_arrival(&mut self) {
        self.schedule_arrival();
        self.new_request(NO_USER);
    }

    // ---- the cache-aside path ------------------------------------------

    /// A client sends a request for a Zipf-drawn key.
    fn new_request(&mut self, user: u32) {
        let rank = self.key_batch.next(&self.keys, &mut self.keys_rng);
        let key = if self.churn_per_s > 0.0 {
            let shift = (self.now.as_secs_f64() * self.churn_per_s) as u64 % self.keys_total as u64;
            ((rank as u64 + shift) % self.keys_total as u64) as u32
        } else {
            rank
        };
        let counted = self.metrics.counts(self.now);
        self.metrics.bump(counted, |c| &mut c.requests);
        let class = self.class_of[key as usize];
        self.class_metrics.bump(class, counted, |c| &mut c.requests);
        let r = self.requests.insert(Request {
            arrived_at: self.now,
            key,
            user,
            attempt: 0,
            phase: Phase::GetHit,
            counted,
            first_read_pending: true,
            client_waiting: true,
        });
        self.start_attempt(r);
    }

    /// Starts an attempt: arms its timeout and sends the GET.
    fn start_attempt(&mut self, r: ReqRef) {
        if let Some(timeout) = self.timeout {
            let seq = self.next_seq();
            self.timeouts.push((self.now + timeout, seq), r);
        }
        let key = self.requests.get(r).key;
        let found = self.cache.get(key, self.now + self.half_latency);
        self.requests.get_mut(r).phase = if matches!(found, crate::cache::Lookup::Hit { .. }) {
            Phase::GetHit
        } else {
            Phase::GetMiss
        };
        self.send_to_cache(r);
    }

    /// Puts the reply of the command just applied for `r` on the wire.
    #[inline]
    fn send_to_cache(&mut self, r: ReqRef) {
        let seq = self.next_seq();
        self.cache_replies
            .push((self.now + self.cache_latency, seq), r);
    }

    fn on_cache_reply(&mut self, r: ReqRef) {
        let req = *self.requests.get(r);
        match req.phase {
            Phase::GetHit | Phase::GetMiss => {
                let hit = req.phase == Phase::GetHit;
                if req.first_read_pending {
                    let field: fn(&mut Counters) -> &mut u64 = if hit {
                        |c| &mut c.hits
                    } else {
                        |c| &mut c.misses
                    };
                    self.metrics.bump(req.counted, field);
                    let class = self.class_of[req.key as usize];
                    let class_field: fn(&mut ClassCounters) -> &mut u64 = if hit {
                        |c| &mut c.hits
                    } else {
                        |c| &mut c.misses
                    };
                    self.class_metrics.bump(class, req.counted, class_field);
                    self.requests.get_mut(r).first_read_pending = false;
                }
                if hit {
                    self.answer(r);
                    self.release(r);
                } else {
                    self.submit_query(r);
                }
            }
            Phase::Set => {
                self.answer(r);
                self.release(r);
            }
            Phase::DbQueued | Phase::DbRunning | Phase::RetryWait => {
                unreachable!("no cache command is outstanding in phase {:?}", req.phase)
            }
        }
    }

    /// Sends the query for `r`'s key to the database pool.
    fn submit_query(&mut self, r: ReqRef) {
        let key = self.requests.get(r).key;
        let in_flight = &mut self.queries_in_flight[key as usize];
        *in_flight += 1;
        let duplicate = *in_flight > 1;
        self.metrics.bump_at(self.now, |c| &mut c.db_queries);
        if duplicate {
            self.metrics.bump_at(self.now, |c| &mut c.duplicate_queries);
        }
        let seq = self.next_seq();
        let class = self.class_of[key as usize];
        let phase = match self.db.submit(self.now, r, class, seq) {
            Admission::Started => {
                self.metrics.record_db_wait(self.now, SimDuration::ZERO);
                Phase::DbRunning
            }
            Admission::Queued => {
                if let Some(wait) = self.pool_timeout {
                    let seq = self.next_seq();
                    self.pool_timeouts.push((self.now + wait, seq), r);
                }
                Phase::DbQueued
            }
        };
        self.requests.get_mut(r).phase = phase;
        self.observe_db();
    }

    fn on_query_done(&mut self) {
        let r = self.db.finish(self.now);
        let key = self.requests.get(r).key;
        self.queries_in_flight[key as usize] -= 1;
        self.admit_waiter();
        self.observe_db();
        self.send_set(r);
    }

    /// Hands a freed connection to the oldest live waiter.
    fn admit_waiter(&mut self) {
        while let Some((w, class, queued_at)) = self.db.pop_waiting() {
            if self.requests.is_live(w) && self.requests.get(w).phase == Phase::DbQueued {
                self.db.waiter_admitted();
                self.metrics
                    .record_db_wait(self.now, self.now.since(queued_at));
                let seq = self.next_seq();
                self.db.start(self.now, w, class, seq);
                self.requests.get_mut(w).phase = Phase::DbRunning;
                return;
            }
        }
    }

    /// Caches the value the database computed (SET with TTL and jitter).
    fn send_set(&mut self, r: ReqRef) {
        let key = self.requests.get(r).key;
        let ttl = self.draw_ttl(key);
        let bytes = self.value_bytes[key as usize] as u64;
        // On OOM the client still gets the value it computed; nothing is cached.
        self.cache
            .set(key, self.now + self.half_latency, bytes, ttl);
        self.metrics.observe_memory(self.cache.used_memory());
        self.requests.get_mut(r).phase = Phase::Set;
        self.send_to_cache(r);
    }

    #[inline]
    fn observe_db(&mut self) {
        self.metrics
            .observe_db(self.now, self.db.in_flight(), self.db.queue_len());
    }

    // ---- endings ---------------------------------------------------------

    /// The client gets its value (if it still waits).
    fn answer(&mut self, r: ReqRef) {
        let req = self.requests.get_mut(r);
        if !req.client_waiting {
            return;
        }
        req.client_waiting = false;
        let (counted, arrived_at, user) = (req.counted, req.arrived_at, req.user);
        self.metrics.bump(counted, |c| &mut c.served);
        self.metrics
            .record_latency(counted, self.now.since(arrived_at));
        self.client_done(user);
    }

    fn on_timeout(&mut self, r: ReqRef) {
        if !self.requests.is_live(r) || !self.requests.get(r).client_waiting {
            return;
        }
        let counted = self.requests.get(r).counted;
        self.metrics.bump(counted, |c| &mut c.timeouts);
        self.fail_attempt(r);
    }

    fn on_pool_timeout(&mut self, r: ReqRef) {
        if !self.requests.is_live(r) || self.requests.get(r).phase != Phase::DbQueued {
            return;
        }
        self.db.abandon_waiting();
        let req = *self.requests.get(r);
        self.queries_in_flight[req.key as usize] -= 1;
        self.metrics.bump(req.counted, |c| &mut c.pool_timeouts);
        self.observe_db();
        if req.client_waiting {
            self.fail_attempt(r);
        }
        self.release(r);
    }

    /// The client gives up on attempt `r`: retry after the backoff, or fail.
    ///
    /// Work the attempt started goes on (a running query still completes and
    /// its value is still cached), as it does in a real application server.
    fn fail_attempt(&mut self, r: ReqRef) {
        let req = self.requests.get_mut(r);
        req.client_waiting = false;
        let req = *req;
        if req.attempt < self.retries {
            self.metrics.bump(req.counted, |c| &mut c.retries);
            // The request's first cache read belongs to its first attempt,
            // whose GET is answered even after the client gave up on it.
            let retry = self.requests.insert(Request {
                attempt: req.attempt + 1,
                phase: Phase::RetryWait,
                client_waiting: true,
                first_read_pending: false,
                ..req
            });
            let seq = self.next_seq();
            self.retry_waits
                .push((self.now + self.retry_backoff, seq), retry);
        } else {
            self.metrics.bump(req.counted, |c| &mut c.errors);
            self.metrics
                .record_latency(req.counted, self.now.since(req.arrived_at));
            self.client_done(req.user);
        }
    }

    /// Frees a request slot whose work has ended.
    #[inline]
    fn release(&mut self, r: ReqRef) {
        self.requests.remove(r);
        self.last_release = self.now;
    }

    /// A closed-loop user got its answer (or gave up): it thinks, then asks again.
    fn client_done(&mut self, user: u32) {
        if user != NO_USER {
            self.schedule_think(user);
        }
    }

    fn finish(mut self, sc: &Scenario, seed: u64) -> RunOutput {
        debug_assert_eq!(self.requests.live(), 0, "every request ends");
        // Close every row up to the one holding the last event, and at least
        // every row of the arrival period.
        let end = self.last_release;
        while self.metrics.row_start() <= end || self.metrics.row_start() < self.arrivals_end {
            let row_end = self.metrics.row_end();
            self.close_row(row_end);
        }
        if !self.metrics.warmed_up() {
            let snap = self.snapshot(self.metrics.warmup_end());
            self.metrics.mark_warmup(snap, 0, 0);
            self.class_metrics.mark_warmup(self.cache.class_stats());
        }
        let snap = self.snapshot(end);
        let (mut summary, timeseries) = self.metrics.finish(&sc.name, seed, end, snap);
        let (classes, class_rows) = self.class_metrics.finish(self.cache.class_stats());
        summary.classes = classes;
        RunOutput {
            summary,
            timeseries,
            class_rows,
        }
    }
}
