//! The discrete-event loop: requests flow through cache, strategy and database.
//!
//! One run is single-threaded and deterministic. Pending events live in a few
//! containers, each cheap for its kind of delay (see [`queue`]): the single
//! next open-loop arrival is a scalar; client and pool timeouts are armed
//! per request slot and disarmed when no longer needed ([`queue::Deadlines`]);
//! cache replies, retries, strategy sleeps and lease renewals have constant delays
//! and sit in FIFO lanes; database completions come from the pool's own heap
//! ([`crate::db`]); think times use a heap; faults are a sorted list. Each step
//! takes the earliest (time, sequence) head among them, so simultaneous events
//! run in the order they were scheduled.
//!
//! A cache command takes effect at its execution time on its node and its
//! reply arrives a round trip later ([`crate::cluster`] gives both). Because
//! commands reach a node in the order they are sent, applying each to the
//! cache state when it is sent, with the clock set to its execution time,
//! gives the same state sequence as applying it on arrival at the server,
//! and saves an event per command.
//!
//! The per-request path reads top to bottom: [`Engine::new_request`] → GET
//! ([`Engine::send_get`]) → on the reply, the strategy decides
//! ([`Engine::on_get_reply`]): serve, refresh, or take the miss path
//! ([`Engine::on_miss`]: query, lock, coalesce or lease) → database
//! ([`Engine::submit_query`]) → SET ([`Engine::send_set`]) → answer.
//!
//! Two kinds of requests take no slot, because nothing refers to them: a
//! plain hit (a first GET that finds a value to serve as it is, in runs where
//! such a request holds nothing else) returns on its own lane of (key, user);
//! a request waiting for a database connection in a run without timeouts
//! waits parked in the pool's queue ([`requests::Parked`]). Both only skip
//! work: a test runs scenarios with and without them and compares every output.

pub mod app_cpu;
pub mod queue;
pub mod replay;
pub mod requests;

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::cache::lfu::LfuConfig;
use crate::cache::{CacheConfig, Lookup, Write};
use crate::cluster::{Cluster, ClusterConfig, Command, ShardRow};
use crate::db::{Admission, Database};
use crate::key_class::KeyClasses;
use crate::metrics::classes::{ClassField, ClassMetrics, ClassRow};
use crate::metrics::{CounterField, Metrics, RunSummary, Snapshot, TimeseriesRow};
use crate::rng::ahead::{Ahead, Maker};
use crate::rng::{Component, Stream, stream, unit_f64};
use crate::scenario::validate::MAX_ROWS;
use crate::scenario::{Arrival, Compression, FaultKind, LocalCache, Prewarm, Scenario};
use crate::slots;
use crate::strategy::{Found, Locks, Miss, Needs, OnHit, OnMiss, OnTimeout, Strategy};
use crate::time::{SimDuration, SimTime};
use crate::trace::{KeyHasher, Op, TraceError};
use crate::workload::{
    KeySampler, ValueSizes, exp1, exponential_of, mean_gap_ns, zipf_probabilities,
};
use app_cpu::AppCpu;
use queue::{Deadlines, EventKey, Lane, ReplyQueue, Sequence, TimerHeap};
use replay::{FillTtl, ReplayRecord, ReplayState};
use requests::{GetReply, LockReply, NO_USER, Phase, ReqRef, Request, Requests, SetReply, Waiter};

/// Why a run stopped before every request ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// More than `max_in_flight` requests were in flight: the system is
    /// overloaded and its queues would grow until the machine runs out of memory.
    Overloaded {
        /// When, in simulated seconds.
        at_s: f64,
        /// The bound that was exceeded.
        max_in_flight: u64,
    },
    /// Requests still in flight so long after the arrivals ended that the
    /// time series would pass [`MAX_ROWS`] rows (queries of days, say).
    TooLong {
        /// When, in simulated seconds.
        at_s: f64,
    },
    /// Simulated time stopped advancing: [`STALL_EVENTS`] events in a row at
    /// one instant (a closed loop with zero think time and zero latency).
    Stalled {
        /// The instant, in simulated seconds.
        at_s: f64,
    },
    /// The replayed trace could not be read any more (it changed after it was checked).
    TraceUnreadable {
        /// What the reader said.
        message: String,
    },
}

impl Stop {
    /// Whether the stop comes from the input, not the system simulated: the
    /// run is then an error and nothing is written.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Stop::Stalled { .. } | Stop::TraceUnreadable { .. })
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Overloaded {
                at_s,
                max_in_flight,
            } => write!(
                f,
                "stopped at {at_s:.3} s: more than {max_in_flight} requests in flight (max_in_flight); \
                 the system is overloaded and its queues grow without bound: lower the load, add \
                 capacity, or raise max_in_flight"
            ),
            Stop::TooLong { at_s } => write!(
                f,
                "stopped at {at_s:.3} s: requests are still in flight and the time series would \
                 pass {MAX_ROWS} rows; use a longer interval or shorter waits"
            ),
            Stop::Stalled { at_s } => write!(
                f,
                "stopped at {at_s:.3} s: simulated time stopped advancing ({STALL_EVENTS} events at one \
                 instant): requests complete without time passing; give `clients.think` or `cache.latency` a positive value"
            ),
            Stop::TraceUnreadable { message } => write!(f, "stopped: {message}"),
        }
    }
}

/// Events in a row at one simulated instant after which a run is declared stalled.
pub const STALL_EVENTS: u64 = 10_000_000;

/// What a run produced: the summary and the time series.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The summary (`summary.json`).
    pub summary: RunSummary,
    /// The time series (`timeseries.csv`).
    pub timeseries: Vec<TimeseriesRow>,
    /// The per-class time series (`classes.csv`).
    pub class_rows: Vec<ClassRow>,
    /// The per-shard time series (`shards.csv`), when the scenario models
    /// the cache as a server (`cache.ops_per_sec` or `cache.shards`); else empty.
    pub shard_rows: Vec<ShardRow>,
    /// Set when the run stopped before every request ended (also in the summary).
    pub stop: Option<Stop>,
    /// Holds still taken when the run ended (requests in flight, refresh
    /// flags, coalescing groups): 0 for a run that was not stopped, an
    /// invariant the tests check.
    pub holds_left: usize,
}

/// Simulates `scenario` with `seed` and returns what it measured.
pub fn run(scenario: &Scenario, seed: u64) -> RunOutput {
    run_with(scenario, seed, &|_| {})
}

/// [`run`], telling `notice` while it runs what the user should know at once
/// (the run is overloaded and heading for its `max_in_flight` stop).
pub fn run_with(scenario: &Scenario, seed: u64, notice: &dyn Fn(&str)) -> RunOutput {
    run_watched(scenario, seed, notice, &|_| {})
}

/// Events between two calls of a [`run_watched`] progress callback: the
/// hot loop pays one counter and one branch per event.
pub const PROGRESS_EVERY_EVENTS: u32 = 1 << 16;

/// How far a run has got, for its progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reached {
    /// The simulated time reached.
    pub simulated: SimTime,
    /// Requests started so far (warmup included; a trace's writes and deletes not).
    pub requests: u64,
}

/// [`run_with`], also calling `progress` with how far the run has got,
/// every [`PROGRESS_EVERY_EVENTS`] events.
pub fn run_watched(
    scenario: &Scenario,
    seed: u64,
    notice: &dyn Fn(&str),
    progress: &dyn Fn(Reached),
) -> RunOutput {
    let mut engine = Engine::new(scenario, seed);
    let stop = engine.run_to_end(notice, progress);
    engine.finish(scenario, seed, stop)
}

/// Who draws a run's key ranks and arrival gaps: a helper thread when
/// `maker` says so and the clients are synthetic (a trace draws neither).
fn draw_maker(sc: &Scenario, maker: Maker) -> Maker {
    match sc.clients.arrival {
        Arrival::Trace(_) => Maker::Here,
        Arrival::Poisson { .. } | Arrival::Closed { .. } => maker,
    }
}

/// Removes `key` from a map of the few keys with work in flight, and gives
/// back most of its room once it holds under an eighth of it: a burst (a
/// cold start's queue) would otherwise leave it large and sparse, and every
/// later lookup a cache miss. A rebuilt map has room for at most about four
/// times what it holds (twice, rounded up to a power of two), so it must
/// lose half of that before the next rebuild: amortised O(1) a removal.
fn remove_and_shrink<K: Eq + std::hash::Hash, V, S: std::hash::BuildHasher>(
    map: &mut HashMap<K, V, S>,
    key: &K,
) {
    map.remove(key);
    if map.capacity() > 8 * map.len().max(MIN_SPARSE_ROOM) {
        map.shrink_to(2 * map.len());
    }
}

/// Room a map of keys in flight keeps whatever it holds.
const MIN_SPARSE_ROOM: usize = 64;

/// Silent plain hits a run keeps before it counts those back already.
const SILENT_BACKLOG: usize = 1 << 16;

/// Bytes of a lock's value (a random token).
const LOCK_VALUE_BYTES: u64 = 16;

/// The cache's configuration for scenario `sc` with keys in classes `class_of`.
fn cluster_config(sc: &Scenario, class_of: &KeyClasses) -> ClusterConfig {
    let c = &sc.cache;
    let locks = sc.strategy.needs().locks.any();
    ClusterConfig {
        keys: sc.clients.keys,
        locks,
        shards: c.shards,
        slot_of: if c.shards > 1 {
            key_slots(sc)
        } else {
            Vec::new()
        },
        latency: c.latency,
        ops_per_sec: c.ops_per_sec,
        service_per_kb: c.service_per_kb,
        cache: cache_config(sc, class_of, locks),
    }
}

/// The hash slot of every key: `key:{k+1}` for synthetic key id k, a trace key's own name.
fn key_slots(sc: &Scenario) -> Vec<u16> {
    match &sc.clients.arrival {
        Arrival::Trace(replay) => replay.index.slots().to_vec(),
        Arrival::Poisson { .. } | Arrival::Closed { .. } => {
            let mut name = Vec::with_capacity(16);
            (0..sc.clients.keys)
                .map(|k| {
                    name.clear();
                    name.extend_from_slice(b"key:");
                    name.extend_from_slice((k as u64 + 1).to_string().as_bytes());
                    slots::slot(&name)
                })
                .collect()
        }
    }
}

/// The configuration of a cache node holding every key of `sc` (and, with
/// `locks`, every key's lock), with keys in classes `class_of`.
fn cache_config(sc: &Scenario, class_of: &KeyClasses, locks: bool) -> CacheConfig {
    let c = &sc.cache;
    CacheConfig {
        keys: sc.clients.keys * if locks { 2 } else { 1 },
        maxmemory_bytes: c.maxmemory_bytes,
        policy: c.policy,
        samples: c.samples,
        key_overhead: c.key_overhead,
        ttl_overhead: c.ttl_overhead,
        lfu: LfuConfig {
            log_factor: c.lfu_log_factor,
            decay_minutes: c.lfu_decay_minutes,
        },
        // A lock key counts in the class of the key it guards (the cluster adds them).
        class_of: class_of.clone(),
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
        // A trace's keys have no Zipf law: validation refuses a steady prewarm.
        Arrival::Trace(_) => 0.0,
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
    PlainHit,
    DbDone,
    Timeout,
    PoolTimeout,
    Retry,
    Sleep,
    Renew,
    ThinkDone,
    Cpu,
    Cron,
    Fault,
}

/// App CPU work that delays a request, and what follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CpuStep {
    /// Decompressing a hit's value, then answering.
    Answer,
    /// Compressing a computed value, then sending its SET.
    SendSet,
    /// The app's cost of a cache command, then sending it.
    Send(CacheCommand),
}

/// A cache command a request sends and waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CacheCommand {
    /// `GET key`.
    Get,
    /// `SET lock:{key} token NX PX lease`.
    LockTry,
    /// `SET key value PX ttl` of a computed value.
    Set,
}

/// How a request's work ended (see [`Engine::end`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// It has the value: the client, if it still waits, is answered.
    Answer,
    /// It failed: the client, if it still waits, gives up on this attempt.
    Fail,
}

/// How many requests ahead a new request prefetches its key's cache entry:
/// far enough for the load to finish before that request's GET.
const PREFETCH_AHEAD: usize = 4;

/// The sentinel key of an empty source.
const NO_EVENT: EventKey = (SimTime::NEVER, u64::MAX);

/// A change of the world at a fault's start or end.
#[derive(Clone, Copy, Debug, PartialEq)]
enum FaultEdge {
    Flush(Option<u16>),
    CacheDown(Option<u16>, bool),
    Evict(u32),
    Spike(f64),
    Slowdown(f64),
}

/// The faults' edges in time order.
fn fault_edges(sc: &Scenario) -> Vec<(SimTime, FaultEdge)> {
    let mut edges = Vec::new();
    for f in &sc.faults {
        let start = SimTime::ZERO + f.at;
        let end = start + f.kind.duration();
        match f.kind {
            FaultKind::Flush { shard } => edges.push((start, FaultEdge::Flush(shard))),
            FaultKind::Evict { rank } => edges.push((start, FaultEdge::Evict(rank))),
            FaultKind::CacheDown { shard, .. } => {
                edges.push((start, FaultEdge::CacheDown(shard, true)));
                edges.push((end, FaultEdge::CacheDown(shard, false)));
            }
            FaultKind::Spike { multiplier, .. } => {
                edges.push((start, FaultEdge::Spike(multiplier)));
                edges.push((end, FaultEdge::Spike(1.0)));
            }
            FaultKind::DbSlowdown { factor, .. } => {
                edges.push((start, FaultEdge::Slowdown(factor)));
                edges.push((end, FaultEdge::Slowdown(1.0)));
            }
        }
    }
    edges.sort_by_key(|e| e.0);
    edges
}

/// What the value stored under each key says about itself (its payload).
#[derive(Clone, Copy, Debug)]
struct Payload {
    /// Logical expiry, on the writer's clock.
    soft_expiry: SimTime,
    /// Recompute time of the query that produced it, µs.
    delta_us: u32,
}

/// The state of one run.
struct Engine {
    // configuration
    keys_total: u32,
    churn_per_s: f64,
    arrivals_end: SimTime,
    max_in_flight: u64,
    arrival: Arrival,
    class_ttl: Vec<Option<SimDuration>>,
    ttl_jitter: f64,
    cron_period: SimDuration,
    retries: u32,
    strategy: Strategy,
    /// The strategy's mechanisms, read once.
    needs: Needs,
    corrupt_rate: f64,
    instances: u16,
    clock_offsets_ns: Vec<i64>,
    // randomness
    /// Key ranks drawn from the keys' stream (see [`Ahead`]).
    key_draws: Ahead<u32>,
    /// Exp(1) draws of the arrivals' stream, scaled to gaps and think times.
    arrival_draws: Ahead<f64>,
    ttl_rng: Stream,
    strategy_rng: Stream,
    corruption_rng: Stream,
    // state
    now: SimTime,
    last_release: SimTime,
    seq: Sequence,
    next_arrival: EventKey,
    next_cron: EventKey,
    /// No timer, retry, sleep, renewal, think time, CPU step, cron or fault
    /// edge is due before this: most events are arrivals, cache replies and
    /// query completions, and these rare sources are scanned only when this
    /// bound could be the earliest event. Lowered to now by any push to them.
    rare_bound: EventKey,
    next_instance: u16,
    /// Poisson arrivals: the mean gap at the current rate (a spike multiplies the rate).
    mean_gap_ns: f64,
    faults: Vec<(SimTime, FaultEdge)>,
    next_fault: usize,
    cluster: Cluster,
    /// The outputs carry the cache server's metrics (see [`crate::scenario::Cache::server_metrics`]).
    server_metrics: bool,
    class_of: KeyClasses,
    value_sizes: ValueSizes,
    /// Each key's payload, when the strategy reads it (`needs.payload`).
    payload: Vec<Payload>,
    db: Database<ReqRef, Waiter>,
    /// Whether a request waiting for a connection may leave its slot (no
    /// client or pool timeout refers to slots in this run; see `can_park`).
    park_waiters: bool,
    /// Requests parked in the pool's queue, out of any slot.
    parked: usize,
    requests: Requests,
    /// Database queries in flight per key, for the keys that have any (a few
    /// per connection, not one counter per key).
    queries_in_flight: HashMap<u32, u32, BuildHasherDefault<KeyHasher>>,
    /// Lock strategies: the token of the last request that won each key's lock.
    lock_owner: Vec<u32>,
    next_token: u32,
    /// Background refreshes: whether one is under way for each key.
    refreshing: Vec<bool>,
    /// memcache-lease: when each key's last lease token was issued.
    lease_issued: Vec<SimTime>,
    /// coalesce: the request loading each (instance, key), with its followers.
    loading: HashMap<(u16, u32), ReqRef>,
    /// coalesce, per request slot: the next request waiting on the same load
    /// (a leader's slot starts its group's list). Empty for other strategies.
    followers: Vec<Option<ReqRef>>,
    /// Replies of cache commands.
    cache_replies: ReplyQueue<ReqRef>,
    /// Replies of a request's first GET when it finds a value to serve as it
    /// is, in runs where such a request holds nothing else (a fixed round
    /// trip, no client timeout as short, no app CPU, no local cache):
    /// `(key, user)`, without a request slot. Most requests of most runs end
    /// this way.
    plain_hits: Option<Lane<(u32, u32)>>,
    /// Whether plain hits' replies are silent: not events the loop picks
    /// one by one between arrivals, but counted in bulk, in order, when
    /// their row closes (or the run ends). Their order against other events
    /// changes nothing but their row, so every output is the same, at a
    /// fraction of the cost. Open-loop runs only (a closed-loop user's next
    /// request follows its answer), and only when no plain hit can pass the
    /// time series' row bound (which stops a run at an event). Not being
    /// events, they do not count towards [`STALL_EVENTS`]; Poisson arrivals
    /// never put more than a few events at one instant.
    silent_hits: bool,
    /// Client timeouts, when the clients have one: armed while the client waits.
    timeouts: Option<Deadlines<ReqRef>>,
    /// Connection-pool timeouts, when the pool has one: armed while a query waits.
    pool_timeouts: Option<Deadlines<ReqRef>>,
    /// Retries after the clients' backoff.
    retry_waits: Lane<ReqRef>,
    /// Readers sleeping before reading again (lock waiters, lease-less readers).
    sleeps: Option<Lane<ReqRef>>,
    /// lease-lock: lease renewals of lock holders.
    renewals: Option<Lane<(ReqRef, u32)>>,
    thinking: TimerHeap<u32>,
    /// App CPU work in progress (compression, command costs).
    cpu: TimerHeap<(ReqRef, CpuStep)>,
    /// The app instances' cores.
    app_cpu: AppCpu,
    /// App CPU time of each cache command a request sends.
    cpu_per_command: SimDuration,
    compression: Option<Compression>,
    /// The app instances' in-process cache, and until when each instance
    /// may serve each kept key (`instance × keys + key`).
    local_cache: Option<LocalCache>,
    local_until: Vec<SimTime>,
    /// Trace replay: the trace being read, each key's fill TTL, a read error.
    replay: Option<ReplayState>,
    fill_ttl: Vec<FillTtl>,
    trace_error: Option<TraceError>,
    metrics: Metrics,
    class_metrics: ClassMetrics,
    /// Requests started so far, for the progress display.
    requests_started: u64,
}

impl Engine {
    fn new(sc: &Scenario, seed: u64) -> Self {
        Self::drawing(sc, seed, Maker::for_this_thread())
    }

    /// [`Engine::new`], with the arrivals' and keys' draws made by `maker`
    /// (which changes no output).
    fn drawing(sc: &Scenario, seed: u64, maker: Maker) -> Self {
        let keys = sc.clients.keys;
        let shares: Vec<f64> = sc.clients.classes.iter().map(|c| c.share).collect();
        let sizes: Vec<_> = sc.clients.classes.iter().map(|c| c.value_size).collect();
        let class_of = KeyClasses::new(keys, &shares);
        let class_names = sc.clients.classes.iter().map(|c| c.name.clone()).collect();
        let class_metrics = ClassMetrics::new(class_names, &class_of, keys);
        let mut skew_rng = stream(seed, Component::ClockSkew);
        let skew = sc.clients.clock_skew.0 as f64;
        let clock_offsets_ns = (0..sc.clients.app_instances)
            .map(|_| ((unit_f64(&mut skew_rng) * 2.0 - 1.0) * skew) as i64)
            .collect();
        let per_key = |used: bool| if used { keys as usize } else { 0 };
        let mut engine = Engine {
            keys_total: keys,
            churn_per_s: sc.clients.churn_per_s,
            arrivals_end: SimTime::ZERO + sc.duration,
            max_in_flight: sc.max_in_flight,
            arrival: sc.clients.arrival.clone(),
            class_ttl: sc.clients.classes.iter().map(|c| c.ttl).collect(),
            ttl_jitter: sc.cache.ttl_jitter,
            cron_period: SimDuration(1_000_000_000 / sc.cache.hz as u64),
            retries: sc.clients.retries,
            strategy: sc.strategy.clone(),
            needs: sc.strategy.needs(),
            corrupt_rate: sc.cache.corrupt_rate,
            instances: sc.clients.app_instances as u16,
            clock_offsets_ns,
            key_draws: {
                let sampler = KeySampler::new(keys, sc.clients.zipf);
                let rng = stream(seed, Component::Keys);
                Ahead::from_stream(draw_maker(sc, maker), rng, move |rng| sampler.sample(rng))
            },
            arrival_draws: {
                let rng = stream(seed, Component::Arrivals);
                Ahead::from_stream(draw_maker(sc, maker), rng, exp1)
            },
            ttl_rng: stream(seed, Component::TtlJitter),
            strategy_rng: stream(seed, Component::Strategy),
            corruption_rng: stream(seed, Component::Corruption),
            now: SimTime::ZERO,
            last_release: SimTime::ZERO,
            seq: Sequence::default(),
            next_arrival: NO_EVENT,
            next_cron: NO_EVENT,
            rare_bound: (SimTime::ZERO, 0),
            next_instance: 0,
            mean_gap_ns: match sc.clients.arrival {
                Arrival::Poisson { rate_per_s } => mean_gap_ns(rate_per_s),
                Arrival::Closed { .. } | Arrival::Trace(_) => f64::NAN,
            },
            faults: fault_edges(sc),
            next_fault: 0,
            cluster: Cluster::new(cluster_config(sc, &class_of), seed),
            server_metrics: sc.cache.server_metrics,
            park_waiters: sc.clients.timeout.is_none() && sc.database.pool_timeout.is_none(),
            parked: 0,
            db: Database::new(
                &sc.database,
                sc.clients.classes.iter().map(|c| c.query_time).collect(),
                stream(seed, Component::DbService),
            ),
            value_sizes: ValueSizes::new(
                keys,
                &class_of,
                &sizes,
                matches!(sc.clients.arrival, Arrival::Trace(_)),
                &mut stream(seed, Component::ValueSizes),
            ),
            class_of,
            payload: vec![
                Payload {
                    soft_expiry: SimTime::NEVER,
                    delta_us: 0,
                };
                per_key(sc.strategy.needs().payload)
            ],
            requests: Requests::new(
                matches!(sc.clients.arrival, Arrival::Closed { .. }),
                sc.strategy.needs().locks.any(),
            ),
            queries_in_flight: HashMap::default(),
            lock_owner: vec![0; per_key(sc.strategy.needs().locks.any())],
            next_token: 0,
            refreshing: vec![false; per_key(sc.strategy.needs().locks.any())],
            lease_issued: vec![SimTime::NEVER; per_key(sc.strategy.needs().lease_tokens.is_some())],
            loading: HashMap::new(),
            followers: Vec::new(),
            cache_replies: ReplyQueue::Timed(TimerHeap::default()),
            plain_hits: None,
            silent_hits: false,
            timeouts: sc.clients.timeout.map(Deadlines::new),
            pool_timeouts: sc.database.pool_timeout.map(Deadlines::new),
            retry_waits: Lane::new(sc.clients.retry_backoff),
            sleeps: sc.strategy.needs().retry.map(Lane::new),
            renewals: sc.strategy.needs().locks.renew_every().map(Lane::new),
            thinking: TimerHeap::default(),
            cpu: TimerHeap::default(),
            app_cpu: AppCpu::new(
                sc.clients.app_instances as u16,
                sc.clients.cores_per_instance,
            ),
            cpu_per_command: sc.clients.cpu_per_command,
            compression: sc.cache.compression,
            local_cache: sc.clients.local_cache,
            local_until: sc.clients.local_cache.map_or(Vec::new(), |l| {
                vec![SimTime::ZERO; l.keys as usize * sc.clients.app_instances as usize]
            }),
            replay: None,
            fill_ttl: Vec::new(),
            trace_error: None,
            metrics: Metrics::new(sc.warmup, sc.duration, sc.interval, sc.database.connections),
            class_metrics,
            requests_started: 0,
        };
        if let Some(round_trip) = engine.cluster.fixed_round_trip() {
            engine.cache_replies = ReplyQueue::Fixed(Lane::new(round_trip));
            // A client timeout longer than the round trip is disarmed before
            // it can fire: a plain hit need not arm it.
            let holds_nothing_else = sc.clients.timeout.is_none_or(|t| t > round_trip)
                && engine.cpu_per_command == SimDuration::ZERO
                && engine.compression.is_none()
                && engine.local_cache.is_none();
            if holds_nothing_else {
                engine.plain_hits = Some(Lane::new(round_trip));
                let last_row = (sc.duration.0 + round_trip.0) / sc.interval.0;
                engine.silent_hits =
                    matches!(sc.clients.arrival, Arrival::Poisson { .. }) && last_row <= MAX_ROWS;
            }
        }
        if let Arrival::Trace(replay) = &sc.clients.arrival {
            engine.fill_ttl = vec![FillTtl::Unknown; keys as usize];
            match ReplayState::open(replay.clone()) {
                Ok(state) => engine.replay = Some(state),
                Err(e) => engine.trace_error = Some(e),
            }
        }
        engine.prewarm(sc.cache.prewarm, sc);
        if engine.class_ttl.iter().any(Option::is_some) {
            engine.next_cron = engine.seq.stamp(SimTime::ZERO + engine.cron_period);
        }
        match engine.arrival {
            Arrival::Poisson { .. } | Arrival::Trace(_) => engine.schedule_arrival(),
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
            let remaining = match (&key_rates, ttl) {
                (None, ttl) | (Some(_), ttl @ None) => ttl,
                // The stationary TTL cache under Poisson requests at rate r: the key
                // is stored with probability rT/(1 + rT), with a remaining TTL
                // uniform over its TTL (renewal theory, as in the analytic tests).
                (Some(rates), Some(ttl)) => {
                    let x = rates[key as usize] * ttl.as_secs_f64();
                    if unit_f64(&mut self.ttl_rng) >= x / (1.0 + x) {
                        continue;
                    }
                    Some(SimDuration(
                        (ttl.0 as f64 * unit_f64(&mut self.ttl_rng)) as u64 + 1,
                    ))
                }
            };
            // As if computed by a query of average length (xfetch's δ).
            let class = self.class_of.of(key) as usize;
            let delta = SimDuration(sc.clients.classes[class].query_time.mean_ns() as u64);
            let at_start = self.cluster.immediate(key, SimTime::ZERO);
            self.store_value(key, at_start, remaining, delta, 0);
        }
        self.metrics.observe_memory(self.cluster.used_memory());
    }

    /// The TTL of a SET of `key`: its class's ttl × U(1 − j, 1 + j), or none.
    fn draw_ttl(&mut self, key: u32) -> Option<SimDuration> {
        // A replayed key fills with the TTL of its last write in the trace.
        match self.fill_ttl.get(key as usize) {
            Some(FillTtl::Ttl(ttl)) => return Some(*ttl),
            Some(FillTtl::NoTtl) => return None,
            Some(FillTtl::Unknown) | None => {}
        }
        let ttl = self.class_ttl[self.class_of.of(key) as usize]?;
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
        self.seq.next_number()
    }

    /// The time on app instance `instance`'s clock when the true time is `t`.
    #[inline]
    fn app_clock(&self, instance: u16, t: SimTime) -> SimTime {
        SimTime(t.0.saturating_add_signed(self.clock_offsets_ns[instance as usize]))
    }

    /// Processes events until every request has ended (or the run must stop).
    ///
    /// Once arrivals are over and no request is left, the events still pending
    /// are timers of requests that have ended: they are not run, so a long
    /// client timeout does not stretch the time series.
    fn run_to_end(&mut self, notice: &dyn Fn(&str), progress: &dyn Fn(Reached)) -> Option<Stop> {
        let mut at_one_instant = 0u64;
        let mut until_progress = PROGRESS_EVERY_EVENTS;
        // A tenth of the bound: time to say the run is overloaded.
        let mut warn_above = self.max_in_flight / 10;
        // The last event run: silent plain hits up to it are back.
        let mut last = (SimTime::ZERO, 0);
        loop {
            let mut live = self.in_flight() as u64;
            if self.silent_hits && (live > warn_above || self.only_plain_hits_in_flight()) {
                live = self.in_flight_after(last) as u64;
            }
            if live == 0 && self.arrivals_over() {
                self.count_silent_hits(|_| true);
                return None;
            }
            if live > warn_above {
                if live > self.max_in_flight {
                    self.count_silent_hits(|k| k <= last);
                    return Some(Stop::Overloaded {
                        at_s: self.now.as_secs_f64(),
                        max_in_flight: self.max_in_flight,
                    });
                }
                notice(&format!(
                    "overloaded: {live} requests in flight at {:.1} s simulated and growing; \
                     the run stops at {} (max_in_flight)",
                    self.now.as_secs_f64(),
                    self.max_in_flight
                ));
                warn_above = self.max_in_flight;
            }
            let (key, source) = self.earliest();
            if self.silent_hits && (key == NO_EVENT || self.only_silent_hits_before(key)) {
                // They are the run's last events.
                self.run_silent_hits(NO_EVENT);
                return None;
            }
            if key == NO_EVENT {
                return None;
            }
            if key.0 >= self.metrics.row_end() && self.metrics.rows_until(key.0) > MAX_ROWS {
                self.run_silent_hits(key);
                return Some(Stop::TooLong {
                    at_s: self.now.as_secs_f64(),
                });
            }
            if key.0 == self.now {
                at_one_instant += 1;
                if at_one_instant > STALL_EVENTS {
                    self.run_silent_hits(key);
                    return Some(Stop::Stalled {
                        at_s: self.now.as_secs_f64(),
                    });
                }
            } else {
                at_one_instant = 0;
            }
            self.advance_to(key.0);
            last = key;
            until_progress -= 1;
            if until_progress == 0 {
                until_progress = PROGRESS_EVERY_EVENTS;
                progress(Reached {
                    simulated: self.now,
                    requests: self.requests_started,
                });
            }
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
                Source::PlainHit => {
                    let lane = self.plain_hits.as_mut().expect("peeked");
                    let arrived_at = self.now - lane.delay();
                    let (_, (key, user)) = lane.pop().expect("peeked");
                    self.on_plain_hit(arrived_at, self.now, key, user);
                }
                Source::DbDone => self.on_query_done(),
                Source::Timeout => {
                    let (_, r) = self
                        .timeouts
                        .as_mut()
                        .and_then(Deadlines::pop)
                        .expect("peeked");
                    self.on_timeout(r);
                }
                Source::PoolTimeout => {
                    let (_, r) = self
                        .pool_timeouts
                        .as_mut()
                        .and_then(Deadlines::pop)
                        .expect("peeked");
                    self.on_pool_timeout(r);
                }
                Source::Retry => {
                    let (_, r) = self.retry_waits.pop().expect("peeked");
                    self.start_attempt(r);
                }
                Source::Sleep => {
                    let (_, r) = self.sleeps.as_mut().and_then(Lane::pop).expect("peeked");
                    self.issue(r, CacheCommand::Get);
                }
                Source::Renew => {
                    let (_, (r, token)) =
                        self.renewals.as_mut().and_then(Lane::pop).expect("peeked");
                    self.on_renew(r, token);
                }
                Source::Cpu => {
                    let (_, (r, step)) = self.cpu.pop().expect("peeked");
                    match step {
                        CpuStep::Answer => self.end(r, Ending::Answer),
                        CpuStep::SendSet => self.issue(r, CacheCommand::Set),
                        CpuStep::Send(command) => self.send(r, command),
                    }
                }
                Source::Cron => self.on_cron(),
                Source::Fault => self.on_fault(),
            }
        }
    }

    /// Requests in flight: in slots, plain hits on their way back, and
    /// requests parked in the pool's queue.
    #[inline]
    fn in_flight(&self) -> usize {
        self.requests.live() + self.plain_hits.as_ref().map_or(0, Lane::len) + self.parked
    }

    /// [`Engine::in_flight`] once the events up to `last` have run: the
    /// silent plain hits back by then are not in flight, counted or not.
    fn in_flight_after(&self, last: EventKey) -> usize {
        let hits = self
            .plain_hits
            .as_ref()
            .map_or(0, |lane| lane.count_after(last));
        self.requests.live() + hits + self.parked
    }

    /// Whether no request is in flight but plain hits (none in a slot or parked).
    #[inline]
    fn only_plain_hits_in_flight(&self) -> bool {
        self.requests.live() + self.parked == 0
    }

    /// Whether the run would end with the silent plain hits before `key`:
    /// no request is left but them, none can arrive, and `key` comes after
    /// the last of them (a timer of a request that has ended, say).
    fn only_silent_hits_before(&self, key: EventKey) -> bool {
        self.only_plain_hits_in_flight()
            && self.arrivals_over()
            && self
                .plain_hits
                .as_ref()
                .and_then(Lane::last_key)
                .is_some_and(|last_hit| last_hit < key)
    }

    /// Whether no request can arrive any more: no arrival or think time is
    /// pending and no fault edge (a spike) can start arrivals again.
    fn arrivals_over(&self) -> bool {
        self.next_arrival == NO_EVENT
            && self.thinking.is_empty()
            && self.faults[self.next_fault..]
                .iter()
                .all(|&(t, _)| t >= self.arrivals_end)
    }

    /// The earliest pending event and where it is.
    #[inline]
    fn earliest(&mut self) -> (EventKey, Source) {
        let mut best = (self.next_arrival, Source::Arrival);
        if let Some(key) = self.cache_replies.peek_key()
            && key < best.0
        {
            best = (key, Source::CacheReply);
        }
        if !self.silent_hits
            && let Some(key) = self.plain_hits.as_ref().and_then(Lane::peek_key)
            && key < best.0
        {
            best = (key, Source::PlainHit);
        }
        if let Some(key) = self.db.next_completion()
            && key < best.0
        {
            best = (key, Source::DbDone);
        }
        if self.rare_bound < best.0 {
            let rare = self.earliest_rare();
            self.rare_bound = rare.0;
            if rare.0 < best.0 {
                best = rare;
            }
        }
        best
    }

    /// The earliest pending event of the rare sources (see `rare_bound`).
    fn earliest_rare(&self) -> (EventKey, Source) {
        let mut best = (NO_EVENT, Source::Cron);
        let mut consider = |key: Option<EventKey>, source: Source| {
            if let Some(key) = key
                && key < best.0
            {
                best = (key, source);
            }
        };
        consider(
            self.timeouts.as_ref().and_then(Deadlines::peek_key),
            Source::Timeout,
        );
        consider(
            self.pool_timeouts.as_ref().and_then(Deadlines::peek_key),
            Source::PoolTimeout,
        );
        consider(self.retry_waits.peek_key(), Source::Retry);
        consider(self.sleeps.as_ref().and_then(Lane::peek_key), Source::Sleep);
        consider(
            self.renewals.as_ref().and_then(Lane::peek_key),
            Source::Renew,
        );
        consider(self.thinking.peek_key(), Source::ThinkDone);
        consider(self.cpu.peek_key(), Source::Cpu);
        consider(Some(self.next_cron), Source::Cron);
        // Fault edges are ordered by time, then before anything scheduled at that instant.
        let fault = self.faults.get(self.next_fault).map(|&(t, _)| (t, 0));
        consider(fault, Source::Fault);
        best
    }

    /// A rare source got an event (due now or later): the next
    /// [`Engine::earliest`] scans them again.
    #[inline(always)]
    fn rare_pushed(&mut self) {
        self.rare_bound = self.rare_bound.min((self.now, 0));
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
            self.class_metrics.mark_warmup(&self.cluster.class_stats());
            self.cluster.mark_warmup(self.metrics.warmup_end());
        }
        self.now = t;
    }

    fn close_row(&mut self, end: SimTime) {
        if self.silent_hits {
            self.count_silent_hits(|k| k.0 < end);
        }
        let start = self.metrics.row_start();
        self.class_metrics
            .close_row(start.as_secs_f64(), &self.cluster.class_stats());
        let snap = self.snapshot(end);
        let drain = start >= self.arrivals_end;
        let cache = self.cluster.close_row(start, end, drain);
        self.metrics.close_row(
            snap,
            self.db.in_flight(),
            self.db.queue_len(),
            self.server_metrics.then_some(cache),
        );
    }

    /// Cumulative counters and gauges as they stand at `at` (no event since the last one).
    fn snapshot(&self, at: SimTime) -> Snapshot {
        let stats = self.cluster.stats();
        Snapshot {
            evicted_keys: stats.evicted_keys,
            expired_keys: stats.expired_keys,
            keyspace_hits: stats.keyspace_hits,
            keyspace_misses: stats.keyspace_misses,
            oom_rejections: stats.oom_rejections,
            db_busy_ns: self.db.busy_ns_at(at),
            used_memory: self.cluster.used_memory(),
        }
    }

    /// Redis's server cron: an active expiry cycle every 1/hz s while clients send requests.
    fn on_cron(&mut self) {
        self.cluster.active_expire_cycle(self.now);
        let at = self.now + self.cron_period;
        self.next_cron = if at < self.arrivals_end {
            self.seq.stamp(at)
        } else {
            NO_EVENT
        };
        self.rare_pushed();
    }

    /// Applies the next fault edge.
    fn on_fault(&mut self) {
        let (_, edge) = self.faults[self.next_fault];
        self.next_fault += 1;
        match edge {
            FaultEdge::Flush(shard) => self.cluster.flush(shard),
            FaultEdge::CacheDown(shard, down) => self.cluster.set_down(shard, down),
            FaultEdge::Evict(rank) => {
                let key = self.key_of_rank(rank - 1);
                self.cluster.evict(key);
            }
            FaultEdge::Spike(multiplier) => {
                if let Arrival::Poisson { rate_per_s } = self.arrival {
                    self.mean_gap_ns = mean_gap_ns(rate_per_s * multiplier);
                }
                // Poisson arrivals are memoryless: redraw the next one at the new rate.
                self.schedule_arrival();
            }
            FaultEdge::Slowdown(factor) => self.db.set_slowdown(self.now, factor),
        }
    }

    // ---- arrivals -------------------------------------------------------

    fn schedule_arrival(&mut self) {
        let at = match &self.arrival {
            Arrival::Poisson { .. } => self.now + self.next_exponential(self.mean_gap_ns),
            Arrival::Closed { .. } => return,
            Arrival::Trace(_) => {
                let replay = self.replay.as_mut().expect("a trace run has a replay");
                match replay.advance() {
                    Ok(Some(at)) => at,
                    Ok(None) => {
                        self.next_arrival = NO_EVENT;
                        return;
                    }
                    Err(e) => {
                        self.trace_error = Some(e);
                        self.next_arrival = NO_EVENT;
                        return;
                    }
                }
            }
        };
        self.next_arrival = if at < self.arrivals_end {
            self.seq.stamp(at)
        } else {
            NO_EVENT
        };
    }

    /// An exponential duration of mean `mean_ns`, from the arrivals' stream.
    #[inline(always)]
    fn next_exponential(&mut self, mean_ns: f64) -> SimDuration {
        exponential_of(self.arrival_draws.draw(), mean_ns)
    }

    fn schedule_think(&mut self, user: u32) {
        let Arrival::Closed { think, .. } = self.arrival else {
            return;
        };
        let at = self.now + self.next_exponential(think.0 as f64);
        if at < self.arrivals_end {
            self.thinking.push(at, &mut self.seq, user);
            self.rare_pushed();
        }
    }

    fn on_arrival(&mut self) {
        let Some(record) = self.replay.as_ref().map(|r| r.pending) else {
            self.schedule_arrival();
            self.new_request(NO_USER);
            return;
        };
        self.schedule_arrival();
        self.replay_record(record);
    }

    /// A trace record: a read is a request; a write stores its value as the
    /// application does after an update; a delete invalidates the key.
    fn replay_record(&mut self, record: ReplayRecord) {
        let key = record.key;
        if let Some(size) = record.size {
            self.value_sizes.set(key, size);
        }
        match record.op {
            Op::Read => self.start_request(key, NO_USER),
            Op::Write => {
                self.metrics.bump_at(self.now, |c| &mut c.trace_writes);
                let ttl = record.ttl;
                self.fill_ttl[key as usize] = FillTtl::from(ttl);
                if let Some(cmd) = self.command(key) {
                    let instance = self.next_app_instance();
                    let writer_now = self.app_clock(instance, self.now);
                    self.store_value(key, cmd, ttl, SimDuration::ZERO, writer_now.0);
                    self.metrics.observe_memory(self.cluster.used_memory());
                    let bytes = self.stored_bytes(key);
                    self.cluster.complete(cmd, bytes);
                }
            }
            Op::Delete => {
                self.metrics.bump_at(self.now, |c| &mut c.trace_deletes);
                if let Some(cmd) = self.command(key) {
                    self.cluster.delete(cmd);
                    self.cluster.complete(cmd, 0);
                }
            }
        }
    }

    /// The key at 0-based popularity rank `rank` now (popularity drifts with `churn`).
    #[inline]
    fn key_of_rank(&self, rank: u32) -> u32 {
        if self.churn_per_s > 0.0 {
            let shift = (self.now.as_secs_f64() * self.churn_per_s) as u64 % self.keys_total as u64;
            ((rank as u64 + shift) % self.keys_total as u64) as u32
        } else {
            rank
        }
    }

    // ---- the request path -----------------------------------------------

    /// A client sends a request for a Zipf-drawn key to the next app instance.
    fn new_request(&mut self, user: u32) {
        let rank = self.key_draws.draw();
        if let Some(ahead) = self.key_draws.peek(PREFETCH_AHEAD) {
            self.cluster.prefetch(self.key_of_rank(ahead));
        }
        let key = self.key_of_rank(rank);
        self.start_request(key, user);
    }

    /// The next app instance in round robin.
    fn next_app_instance(&mut self) -> u16 {
        let i = self.next_instance;
        self.next_instance = if i + 1 == self.instances { 0 } else { i + 1 };
        i
    }

    /// A client sends a request for `key`: closed-loop users to their own
    /// app instance, open-loop clients to the next one.
    fn start_request(&mut self, key: u32, user: u32) {
        self.requests_started += 1;
        let counted = self.metrics.counts(self.now);
        self.metrics.bump(counted, |c| &mut c.requests);
        let class = self.class_of.of(key);
        self.class_metrics.bump(class, counted, |c| &mut c.requests);
        let instance = if user == NO_USER {
            self.next_app_instance()
        } else {
            (user % self.instances as u32) as u16
        };
        if self.local_until(instance, key) > Some(self.now) {
            self.serve_locally(key, counted, user);
            return;
        }
        let request = Request::client(self.now, key, instance, counted);
        if self.plain_hits.is_some() {
            // Its first GET leaves at once: a plain hit needs no slot (nor
            // a timeout, which could not fire before the reply).
            let (reply, back) = self.read(key, instance);
            if reply == GetReply::Hit(OnHit::Serve) {
                let lane = self.plain_hits.as_mut().expect("checked");
                lane.push(self.now, &mut self.seq, (key, user));
                if self.silent_hits && lane.len() > SILENT_BACKLOG {
                    // Those back already, in this row: a long row need not
                    // keep all its hits.
                    let now = self.now;
                    self.count_silent_hits(|k| k.0 < now);
                }
                return;
            }
            let r = self.requests.insert(request, user);
            self.arm_timeout(r);
            return self.await_get_reply(r, reply, back);
        }
        let r = self.requests.insert(request, user);
        self.start_attempt(r);
    }

    /// Until when `instance` may serve `key` from its in-process cache
    /// (`None`: the key is not kept locally).
    #[inline(always)]
    fn local_until(&self, instance: u16, key: u32) -> Option<SimTime> {
        let local = self.local_cache?;
        (key < local.keys)
            .then(|| self.local_until[instance as usize * local.keys as usize + key as usize])
    }

    /// Answers a request from its app instance's in-process cache: a hit, at once.
    fn serve_locally(&mut self, key: u32, counted: bool, user: u32) {
        let class = self.class_of.of(key);
        self.metrics.bump(counted, |c| &mut c.local_hits);
        self.metrics.bump(counted, |c| &mut c.hits);
        self.class_metrics.bump(class, counted, |c| &mut c.hits);
        let bytes = self.value_bytes(key);
        self.metrics.add_bytes(counted, true, bytes);
        self.metrics.bump(counted, |c| &mut c.served);
        self.metrics.record_latency(counted, SimDuration::ZERO);
        self.client_done(user);
    }

    /// Starts an attempt: arms its timeout and sends the GET.
    fn start_attempt(&mut self, r: ReqRef) {
        self.arm_timeout(r);
        self.issue(r, CacheCommand::Get);
    }

    /// Arms the client's timeout of attempt `r`, if the clients have one.
    fn arm_timeout(&mut self, r: ReqRef) {
        if let Some(timers) = &mut self.timeouts {
            timers.arm(self.now, &mut self.seq, r.slot(), r);
            self.rare_pushed();
        }
    }

    /// Sends `command` for `r` after the app's CPU cost of a command, if any.
    #[inline(always)]
    fn issue(&mut self, r: ReqRef, command: CacheCommand) {
        if self.cpu_per_command == SimDuration::ZERO {
            return self.send(r, command);
        }
        let instance = self.requests.get(r).instance;
        let done = self.app_cpu.run(instance, self.now, self.cpu_per_command);
        self.requests.get_mut(r).phase = Phase::Cpu;
        self.cpu
            .push(done, &mut self.seq, (r, CpuStep::Send(command)));
        self.rare_pushed();
    }

    /// Sends `command` for `r` now.
    #[inline(always)]
    fn send(&mut self, r: ReqRef, command: CacheCommand) {
        match command {
            CacheCommand::Get => self.send_get(r),
            CacheCommand::LockTry => self.send_lock_try(r),
            CacheCommand::Set => self.send_set(r),
        }
    }

    /// A command for key id `id` leaves now: when its node executes it, or
    /// `None` when the node is down.
    #[inline(always)]
    fn command(&mut self, id: u32) -> Option<Command> {
        self.cluster.send(id, self.now)
    }

    /// The size of `key`'s value before compression.
    #[inline]
    fn value_bytes(&self, key: u32) -> u64 {
        self.value_sizes.of(key, self.class_of.of(key)) as u64
    }

    /// Bytes a SET of `key`'s value stores (and a hit returns): compressed, if it is.
    #[inline(always)]
    fn stored_bytes(&self, key: u32) -> u64 {
        let raw_bytes = self.value_bytes(key);
        self.compression
            .map_or(raw_bytes, |z| z.stored_bytes(raw_bytes))
    }

    /// GET: applied at its node's execution time; the strategy judges a found
    /// value as the reader will see it when the reply arrives, on the reader's clock.
    fn send_get(&mut self, r: ReqRef) {
        let req = *self.requests.get(r);
        let (reply, back) = self.read(req.key, req.instance);
        self.await_get_reply(r, reply, back);
    }

    /// `r`'s GET was sent: its reply `reply` comes back at `back`.
    #[inline(always)]
    fn await_get_reply(&mut self, r: ReqRef, reply: GetReply, back: SimTime) {
        self.requests.get_mut(r).phase = Phase::Get(reply);
        self.send_to_cache(r, back);
    }

    /// A GET of `key` sent now from `instance`: its reply, and when it is back.
    #[inline(always)]
    fn read(&mut self, key: u32, instance: u16) -> (GetReply, SimTime) {
        let Some(cmd) = self.command(key) else {
            return (GetReply::Failed, self.cluster.failure_at(self.now));
        };
        let at_server = cmd.at;
        let lookup = self.cluster.get(cmd);
        let bytes = match lookup {
            Lookup::Hit { .. } if self.cluster.charges_bytes() => self.stored_bytes(key),
            Lookup::Hit { .. } | Lookup::Expired | Lookup::Miss => 0,
        };
        let back = self.cluster.reply_at(cmd, bytes);
        let reply = match lookup {
            Lookup::Hit { .. }
                if self.corrupt_rate > 0.0
                    && unit_f64(&mut self.corruption_rng) < self.corrupt_rate =>
            {
                self.metrics
                    .bump_at(self.now, |c| &mut c.strategy.corrupt_reads);
                GetReply::Missing {
                    lease: self.grant_lease(key, at_server),
                    stale: false,
                }
            }
            Lookup::Hit { .. } if !self.needs.payload => GetReply::Hit(OnHit::Serve),
            Lookup::Hit { .. } => {
                let p = self.payload[key as usize];
                let found = Found {
                    soft_expiry: p.soft_expiry,
                    delta: SimDuration(p.delta_us as u64 * 1000),
                };
                let reader_now = self.app_clock(instance, back);
                match self
                    .strategy
                    .on_hit(found, reader_now, &mut self.strategy_rng)
                {
                    OnHit::Expired => GetReply::Missing {
                        lease: self.grant_lease(key, at_server),
                        stale: true,
                    },
                    decision => GetReply::Hit(decision),
                }
            }
            Lookup::Expired | Lookup::Miss => GetReply::Missing {
                lease: self.grant_lease(key, at_server),
                stale: false,
            },
        };
        (reply, back)
    }

    /// Answers a hit: at once, or after decompressing its value.
    fn serve_hit(&mut self, r: ReqRef) {
        match self.compression {
            Some(z) => self.after_cpu(r, z, CpuStep::Answer),
            None => self.end(r, Ending::Answer),
        }
    }

    /// Schedules `step` for `r` after the app's CPU time for its (de)compression.
    fn after_cpu(&mut self, r: ReqRef, z: Compression, step: CpuStep) {
        let req = *self.requests.get(r);
        let busy = z.cpu_time(self.value_bytes(req.key));
        let done = self.app_cpu.run(req.instance, self.now, busy);
        self.requests.get_mut(r).phase = Phase::Cpu;
        self.cpu.push(done, &mut self.seq, (r, step));
        self.rare_pushed();
    }

    /// memcache-lease: a miss gets a token if none was issued for the key within the interval.
    fn grant_lease(&mut self, key: u32, at_server: SimTime) -> bool {
        let Some(lease_interval) = self.needs.lease_tokens else {
            return false;
        };
        let last = self.lease_issued[key as usize];
        if last != SimTime::NEVER && at_server < last + lease_interval {
            return false;
        }
        self.lease_issued[key as usize] = at_server;
        self.metrics
            .bump_at(self.now, |c| &mut c.strategy.lease_tokens);
        true
    }

    /// Puts the reply of the command just applied for `r` on the wire, back at `back`.
    #[inline]
    fn send_to_cache(&mut self, r: ReqRef, back: SimTime) {
        self.cache_replies.push(self.now, back, &mut self.seq, r);
    }

    fn on_cache_reply(&mut self, r: ReqRef) {
        let req = *self.requests.get(r);
        match req.phase {
            Phase::Get(reply) => self.on_get_reply(r, req, reply),
            Phase::LockTry(reply) => self.on_lock_reply(r, req, reply),
            Phase::Set(reply) => self.on_set_reply(r, reply),
            Phase::Sleep
            | Phase::Cpu
            | Phase::DbQueued
            | Phase::DbRunning
            | Phase::Follow
            | Phase::RetryWait => {
                unreachable!("no cache command is outstanding in phase {:?}", req.phase)
            }
        }
    }

    /// A plain hit that arrived at `arrived_at` is back at `back` (see
    /// `plain_hits`): the request's first read, and its answer.
    #[inline(always)]
    fn on_plain_hit(&mut self, arrived_at: SimTime, back: SimTime, key: u32, user: u32) {
        let counted = self.metrics.counts(arrived_at);
        self.count_first_read(key, counted, true);
        self.answer(counted, arrived_at, back, user);
        // Silent hits are counted after later events may have run.
        self.last_release = self.last_release.max(back);
    }

    /// Counts the silent plain hits (see `silent_hits`) that `due` says are
    /// back, earliest first, in the row the clock is in.
    #[inline]
    fn count_silent_hits(&mut self, due: impl Fn(EventKey) -> bool) {
        while let Some(lane) = self.plain_hits.as_mut()
            && let Some(key) = lane.peek_key()
            && due(key)
        {
            let arrived_at = key.0 - lane.delay();
            let (_, (hit_key, user)) = lane.pop().expect("peeked");
            self.on_plain_hit(arrived_at, key.0, hit_key, user);
        }
    }

    /// Runs the silent plain hits before `before` as the events they would
    /// be: the clock moves to each one later than it (closing rows on the
    /// way), which matters when the run ends before any other event comes.
    fn run_silent_hits(&mut self, before: EventKey) {
        while let Some(key) = self.plain_hits.as_ref().and_then(Lane::peek_key)
            && key < before
        {
            // Those back before the clock's last event are only counted.
            self.advance_to(key.0.max(self.now));
            self.count_silent_hits(|k| k == key);
        }
    }

    /// Classifies a request's first cache read as a hit or a miss.
    #[inline]
    fn count_first_read(&mut self, key: u32, counted: bool, hit: bool) {
        let class = self.class_of.of(key);
        let (field, class_field): (CounterField, ClassField) = if hit {
            (|c| &mut c.hits, |c| &mut c.hits)
        } else {
            (|c| &mut c.misses, |c| &mut c.misses)
        };
        self.metrics.bump(counted, field);
        let bytes = self.value_bytes(key);
        self.metrics.add_bytes(counted, hit, bytes);
        self.class_metrics.bump(class, counted, class_field);
    }

    /// The client of a request that arrived at `arrived_at` gets its answer at `at`.
    #[inline]
    fn answer(&mut self, counted: bool, arrived_at: SimTime, at: SimTime, user: u32) {
        self.metrics.bump(counted, |c| &mut c.served);
        self.metrics.record_latency(counted, at.since(arrived_at));
        self.client_done(user);
    }

    fn on_get_reply(&mut self, r: ReqRef, req: Request, reply: GetReply) {
        let hit = matches!(reply, GetReply::Hit(_));
        if req.first_read_pending() {
            self.requests.get_mut(r).first_read_done();
            self.count_first_read(req.key, req.counted(), hit);
        }
        match reply {
            GetReply::Hit(OnHit::Serve) => self.serve_hit(r),
            GetReply::Hit(OnHit::ServeAndRefresh) => {
                self.serve_hit(r);
                self.start_refresh(req);
            }
            GetReply::Hit(OnHit::ServeStaleAndRefresh) => {
                self.metrics
                    .bump(req.counted(), |c| &mut c.strategy.stale_served);
                self.serve_hit(r);
                self.start_refresh(req);
            }
            GetReply::Hit(OnHit::Recompute) => {
                self.metrics
                    .bump_at(self.now, |c| &mut c.strategy.early_recomputations);
                if self.queries_in_flight.contains_key(&req.key) {
                    // Another request is already recomputing this key: wasted work.
                    self.metrics
                        .bump_at(self.now, |c| &mut c.strategy.wasted_recomputations);
                }
                self.submit_query(r);
            }
            GetReply::Hit(OnHit::Expired) => unreachable!("expired values are sent as misses"),
            GetReply::Missing { lease, stale } => self.on_miss(r, req, lease, stale),
            GetReply::Failed => {
                self.metrics
                    .bump_at(self.now, |c| &mut c.strategy.cache_errors);
                let decision = self.strategy.on_cache_down();
                self.act_on_miss(r, req, decision);
            }
        }
    }

    /// The miss path: the strategy decides, given the lease token and stale value.
    fn on_miss(&mut self, r: ReqRef, req: Request, lease_token: bool, stale: bool) {
        let decision = self.strategy.on_miss(Miss { lease_token, stale });
        self.act_on_miss(r, req, decision);
    }

    /// Carries out what the strategy decided for a request without a usable value.
    fn act_on_miss(&mut self, r: ReqRef, req: Request, decision: OnMiss) {
        match decision {
            OnMiss::Query => self.submit_query(r),
            OnMiss::TryLock => {
                if req.since == SimTime::NEVER {
                    self.requests.get_mut(r).since = self.now;
                }
                self.issue(r, CacheCommand::LockTry);
            }
            OnMiss::Join => match self.loading.get(&(req.instance, req.key)) {
                Some(&leader) => {
                    // Join the load already under way in this app instance.
                    self.metrics
                        .bump_at(self.now, |c| &mut c.strategy.coalesced);
                    self.requests.get_mut(r).phase = Phase::Follow;
                    let others = self.next_follower(leader);
                    self.set_next_follower(r, others);
                    self.set_next_follower(leader, Some(r));
                }
                None => {
                    self.loading.insert((req.instance, req.key), r);
                    self.set_next_follower(r, None);
                    self.submit_query(r);
                }
            },
            OnMiss::ServeStale => {
                self.metrics
                    .bump(req.counted(), |c| &mut c.strategy.stale_served);
                self.end(r, Ending::Answer);
            }
            OnMiss::Wait => {
                self.metrics
                    .bump_at(self.now, |c| &mut c.strategy.lock_waits);
                self.sleep(r);
            }
        }
    }

    /// `SET lock:key token NX PX lease`.
    fn send_lock_try(&mut self, r: ReqRef) {
        let key = self.requests.get(r).key;
        let lock_key = self.keys_total + key;
        let (reply, back) = match self.command(lock_key) {
            None => (LockReply::Failed, self.cluster.failure_at(self.now)),
            Some(cmd) => {
                let lease = Some(self.needs.locks.lease());
                let reply = match self.cluster.set_if_absent(cmd, LOCK_VALUE_BYTES, lease) {
                    Ok(true) => LockReply::Won,
                    Ok(false) => LockReply::Lost,
                    Err(_) => LockReply::OutOfMemory,
                };
                (reply, self.cluster.reply_at(cmd, LOCK_VALUE_BYTES))
            }
        };
        if reply == LockReply::Won {
            self.next_token = self.next_token.wrapping_add(1).max(1);
            self.lock_owner[key as usize] = self.next_token;
            self.requests.set_lock_token(r, self.next_token);
        }
        self.requests.get_mut(r).phase = Phase::LockTry(reply);
        self.send_to_cache(r, back);
    }

    fn on_lock_reply(&mut self, r: ReqRef, req: Request, reply: LockReply) {
        match reply {
            LockReply::Won => {
                self.metrics
                    .bump_at(self.now, |c| &mut c.strategy.lock_acquisitions);
                if let Some(lane) = &mut self.renewals {
                    lane.push(self.now, &mut self.seq, (r, self.requests.lock_token(r)));
                    self.rare_pushed();
                }
                self.submit_query(r);
            }
            LockReply::Lost if req.background() => self.end(r, Ending::Fail), // someone else refreshes
            LockReply::Lost => {
                let Locks::ForMisses(lock) = self.needs.locks else {
                    unreachable!("only requests of strategies that lock misses wait on locks")
                };
                if self.now.since(req.since) >= lock.max_wait {
                    self.metrics
                        .bump_at(self.now, |c| &mut c.strategy.lock_timeouts);
                    match lock.on_timeout {
                        OnTimeout::Compute => self.submit_query(r),
                        OnTimeout::Fail => self.end(r, Ending::Fail),
                    }
                } else {
                    self.metrics
                        .bump_at(self.now, |c| &mut c.strategy.lock_waits);
                    self.sleep(r);
                }
            }
            // No lock to be had: a refresh gives up, a request computes without one.
            LockReply::Failed | LockReply::OutOfMemory if req.background() => {
                self.end(r, Ending::Fail)
            }
            LockReply::Failed => {
                self.metrics
                    .bump_at(self.now, |c| &mut c.strategy.cache_errors);
                self.submit_query(r);
            }
            // Counted by the cache as an OOM rejection; the cache itself is up.
            LockReply::OutOfMemory => self.submit_query(r),
        }
    }

    /// lease-lock: the holder extends its lease while it computes (`PEXPIRE` if it still owns it).
    fn on_renew(&mut self, r: ReqRef, token: u32) {
        let lease = self.needs.locks.lease();
        if !self.requests.is_live(r) {
            return;
        }
        let req = *self.requests.get(r);
        if self.requests.lock_token(r) != token
            || !matches!(req.phase, Phase::DbQueued | Phase::DbRunning | Phase::Cpu)
        {
            return;
        }
        let lock_key = self.keys_total + req.key;
        if self.lock_owner[req.key as usize] == token
            && let Some(cmd) = self.command(lock_key)
        {
            self.cluster.expire(cmd, lease);
            self.cluster.complete(cmd, 0);
        }
        if let Some(lane) = &mut self.renewals {
            lane.push(self.now, &mut self.seq, (r, token));
            self.rare_pushed();
        }
    }

    /// Sleeps the strategy's retry interval, then reads again.
    fn sleep(&mut self, r: ReqRef) {
        self.requests.get_mut(r).phase = Phase::Sleep;
        self.sleeps
            .as_mut()
            .expect("only strategies that sleep before reading again send requests to sleep")
            .push(self.now, &mut self.seq, r);
        self.rare_pushed();
    }

    /// Starts one background refresh of `req`'s key unless one is under way.
    fn start_refresh(&mut self, req: Request) {
        if self.refreshing[req.key as usize] {
            return;
        }
        self.refreshing[req.key as usize] = true;
        let job = self
            .requests
            .insert(Request::refresh(self.now, req.key, req.instance), NO_USER);
        self.issue(job, CacheCommand::LockTry);
    }

    /// One query of `key` ended (done or abandoned in the pool's queue).
    fn query_ended(&mut self, key: u32) {
        match self.queries_in_flight.get_mut(&key) {
            Some(1) => remove_and_shrink(&mut self.queries_in_flight, &key),
            Some(n) => *n -= 1,
            None => debug_assert!(false, "a query of key {key} ended that was never submitted"),
        }
    }

    /// coalesce: the request after `r` in its load's group of followers.
    fn next_follower(&self, r: ReqRef) -> Option<ReqRef> {
        self.followers.get(r.slot()).copied().flatten()
    }

    fn set_next_follower(&mut self, r: ReqRef, next: Option<ReqRef>) {
        if self.followers.len() <= r.slot() {
            self.followers.resize(r.slot() + 1, None);
        }
        self.followers[r.slot()] = next;
    }

    /// Sends the query for `r`'s key to the database pool.
    fn submit_query(&mut self, r: ReqRef) {
        let req = *self.requests.get(r);
        let key = req.key;
        let in_flight = self.queries_in_flight.entry(key).or_default();
        *in_flight += 1;
        let duplicate = *in_flight > 1;
        self.metrics.bump_at(self.now, |c| &mut c.db_queries);
        if duplicate {
            self.metrics.bump_at(self.now, |c| &mut c.duplicate_queries);
        }
        if req.background() {
            self.metrics
                .bump_at(self.now, |c| &mut c.strategy.refreshes);
        }
        let seq = self.next_seq();
        if self.db.is_full() && self.can_park(r) {
            let mut req = req;
            req.since = self.now; // its wait for a connection starts now
            self.db.enqueue(Waiter::Parked(req.park()));
            self.requests.remove(r);
            self.parked += 1;
            return self.observe_db();
        }
        let class = self.class_of.of(key);
        let phase = match self.db.submit(self.now, r, class, seq) {
            Admission::Started => {
                self.metrics.record_db_wait(self.now, SimDuration::ZERO);
                Phase::DbRunning
            }
            Admission::Queued => {
                if let Some(timers) = &mut self.pool_timeouts {
                    timers.arm(self.now, &mut self.seq, r.slot(), r);
                    self.rare_pushed();
                }
                Phase::DbQueued
            }
        };
        let req = self.requests.get_mut(r);
        req.phase = phase;
        req.since = self.now; // its wait for a connection, or its query, starts now
        self.observe_db();
    }

    fn on_query_done(&mut self) {
        let r = self.db.finish(self.now);
        let key = self.requests.get(r).key;
        self.query_ended(key);
        self.admit_waiter();
        self.observe_db();
        match self.compression {
            Some(z) => self.after_cpu(r, z, CpuStep::SendSet),
            None => self.issue(r, CacheCommand::Set),
        }
    }

    /// Whether `r` may wait for a connection out of its slot: nothing refers
    /// to its slot while it waits (no timeout in the run; no closed-loop
    /// user, lock token or coalescing group of its own).
    fn can_park(&self, r: ReqRef) -> bool {
        let req = self.requests.get(r);
        self.park_waiters
            && self.requests.user(r) == NO_USER
            && self.requests.lock_token(r) == 0
            && self.loading.get(&(req.instance, req.key)) != Some(&r)
    }

    /// Hands a freed connection to the oldest live waiter.
    fn admit_waiter(&mut self) {
        while let Some(waiter) = self.db.pop_waiting() {
            let w = match waiter {
                Waiter::InSlot(w) => w,
                Waiter::Parked(parked) => {
                    self.parked -= 1;
                    self.requests.insert(parked.unpark(), NO_USER)
                }
            };
            if self.requests.is_live(w) && self.requests.get(w).phase == Phase::DbQueued {
                self.db.waiter_admitted();
                let req = *self.requests.get(w);
                self.metrics
                    .record_db_wait(self.now, self.now.since(req.since));
                let seq = self.next_seq();
                self.db.start(self.now, w, self.class_of.of(req.key), seq);
                let req = self.requests.get_mut(w);
                req.phase = Phase::DbRunning;
                req.since = self.now;
                if let Some(timers) = &mut self.pool_timeouts {
                    timers.disarm(w.slot());
                }
                return;
            }
        }
    }

    /// Caches the value the database computed (SET with TTL and jitter).
    fn send_set(&mut self, r: ReqRef) {
        let req = *self.requests.get(r);
        let (reply, back) = match self.command(req.key) {
            None => (SetReply::Failed, self.cluster.failure_at(self.now)),
            Some(cmd) => {
                let ttl = self.draw_ttl(req.key);
                let delta = self.now.since(req.since);
                let writer_now = self.app_clock(req.instance, self.now);
                self.store_value(req.key, cmd, ttl, delta, writer_now.0);
                self.metrics.observe_memory(self.cluster.used_memory());
                let bytes = self.stored_bytes(req.key);
                (SetReply::Done, self.cluster.reply_at(cmd, bytes))
            }
        };
        self.requests.get_mut(r).phase = Phase::Set(reply);
        self.send_to_cache(r, back);
    }

    /// SETs `key` with logical TTL `ttl` by command `cmd`, recording its payload.
    ///
    /// The cache keeps the value for the strategy's storage TTL (longer for
    /// `swr`); the payload records the logical expiry on the writer's clock
    /// (`writer_now_ns`) and the recompute time δ. On OOM nothing is cached.
    fn store_value(
        &mut self,
        key: u32,
        cmd: Command,
        ttl: Option<SimDuration>,
        delta: SimDuration,
        writer_now_ns: u64,
    ) {
        let bytes = self.stored_bytes(key);
        let storage = ttl.map(|t| self.strategy.storage_ttl(t));
        let at = cmd.at;
        if self.cluster.set(cmd, bytes, storage) == Write::Stored && self.needs.payload {
            self.payload[key as usize] = Payload {
                soft_expiry: match ttl {
                    Some(t) => SimTime(writer_now_ns.max(at.0)) + t,
                    None => SimTime::NEVER,
                },
                delta_us: (delta.0 / 1000).min(u32::MAX as u64) as u32,
            };
        }
    }

    fn on_set_reply(&mut self, r: ReqRef, reply: SetReply) {
        // Stored, refused for OOM or failed: the client gets the value it computed.
        match reply {
            SetReply::Done => {}
            SetReply::Failed => self
                .metrics
                .bump_at(self.now, |c| &mut c.strategy.cache_errors),
        }
        self.end(r, Ending::Answer);
    }

    /// Releases the lock on `key` if `token` still owns it (the compare-and-delete script).
    fn release_lock(&mut self, key: u32, token: u32) {
        let lock_key = self.keys_total + key;
        if self.lock_owner[key as usize] == token
            && let Some(cmd) = self.command(lock_key)
        {
            self.cluster.delete(cmd);
            self.cluster.complete(cmd, 0);
        }
    }

    #[inline]
    fn observe_db(&mut self) {
        self.metrics
            .observe_db(self.now, self.db.in_flight(), self.db.queue_len());
    }

    // ---- endings ---------------------------------------------------------

    /// Ends request `r`, whichever way its work ended: the one exit of every
    /// request slot.
    ///
    /// Releases every hold `r` took (its lock, if it still owns it; its key's
    /// refresh flag, if it is a background refresh; its coalescing group, whose
    /// followers end the same way), settles its client if it still waits
    /// (answer, or give up on this attempt), and frees the slot. (A
    /// memcache-lease token is not held by the request: the server issues at
    /// most one per key per `lease_interval`, whatever became of the last.)
    fn end(&mut self, r: ReqRef, ending: Ending) {
        let req = *self.requests.get(r);
        let token = self.requests.lock_token(r);
        if token != 0 {
            self.release_lock(req.key, token);
        }
        if req.background() {
            self.refreshing[req.key as usize] = false;
        }
        if self.loading.get(&(req.instance, req.key)) == Some(&r) {
            remove_and_shrink(&mut self.loading, &(req.instance, req.key));
            let mut next = self.next_follower(r);
            while let Some(f) = next {
                next = self.next_follower(f);
                self.end(f, ending);
            }
        }
        if ending == Ending::Answer
            && let Some(local) = self.local_cache
            && req.key < local.keys
        {
            let slot = req.instance as usize * local.keys as usize + req.key as usize;
            self.local_until[slot] = self.now + local.ttl;
        }
        if req.client_waiting() {
            match ending {
                Ending::Answer => {
                    let user = self.requests.user(r);
                    self.answer(req.counted(), req.arrived_at, self.now, user);
                }
                Ending::Fail => self.give_up(r),
            }
        }
        for timers in [&mut self.timeouts, &mut self.pool_timeouts]
            .into_iter()
            .flatten()
        {
            timers.disarm(r.slot());
        }
        self.requests.remove(r);
        self.last_release = self.now;
    }

    fn on_timeout(&mut self, r: ReqRef) {
        if !self.requests.is_live(r) || !self.requests.get(r).client_waiting() {
            return;
        }
        let counted = self.requests.get(r).counted();
        self.metrics.bump(counted, |c| &mut c.timeouts);
        self.give_up(r);
    }

    fn on_pool_timeout(&mut self, r: ReqRef) {
        if !self.requests.is_live(r) || self.requests.get(r).phase != Phase::DbQueued {
            return;
        }
        self.db.abandon_waiting();
        let req = *self.requests.get(r);
        self.query_ended(req.key);
        self.metrics.bump(req.counted(), |c| &mut c.pool_timeouts);
        self.observe_db();
        // The query never ran: the attempt fails, as the app's error path does.
        self.end(r, Ending::Fail);
    }

    /// The client gives up on attempt `r`: retry after the backoff, or fail.
    ///
    /// Work the attempt started goes on (a running query still completes and
    /// its value is still cached), as it does in a real application server.
    fn give_up(&mut self, r: ReqRef) {
        if let Some(timers) = &mut self.timeouts {
            timers.disarm(r.slot());
        }
        let req = self.requests.get_mut(r);
        req.client_gone();
        let req = *req;
        let user = self.requests.user(r);
        if u32::from(req.attempt) < self.retries {
            self.metrics.bump(req.counted(), |c| &mut c.retries);
            // The request's first cache read belongs to its first attempt,
            // whose GET is answered even after the client gave up on it.
            let retry = self.requests.insert(req.retry(), user);
            self.retry_waits.push(self.now, &mut self.seq, retry);
            self.rare_pushed();
        } else {
            self.metrics.bump(req.counted(), |c| &mut c.errors);
            self.metrics
                .record_latency(req.counted(), self.now.since(req.arrived_at));
            self.client_done(user);
        }
    }

    /// A closed-loop user got its answer (or gave up): it thinks, then asks again.
    fn client_done(&mut self, user: u32) {
        if user != NO_USER {
            self.schedule_think(user);
        }
    }

    fn finish(mut self, sc: &Scenario, seed: u64, stop: Option<Stop>) -> RunOutput {
        // The loop counted every silent plain hit back before it ended; those
        // left are in flight, as an event's would be, and closing the last
        // rows must not count them.
        self.silent_hits = false;
        // A trace that could not be read to its end makes the run an error.
        let stop = match self.trace_error.take() {
            Some(e) => Some(Stop::TraceUnreadable {
                message: e.to_string(),
            }),
            None => stop,
        };
        debug_assert!(
            stop.is_some() || self.in_flight() == 0,
            "every request ends"
        );
        // Close every row up to the one holding the last event, and at least
        // every row of the arrival period unless the run stopped early.
        let end = match stop {
            Some(_) => self.now,
            None => self.last_release,
        };
        let arrivals_end = match stop {
            Some(_) => SimTime::ZERO,
            None => self.arrivals_end,
        };
        while self.metrics.row_start() <= end || self.metrics.row_start() < arrivals_end {
            let row_end = self.metrics.row_end();
            self.close_row(row_end);
        }
        if !self.metrics.warmed_up() {
            let snap = self.snapshot(self.metrics.warmup_end());
            self.metrics.mark_warmup(snap, 0, 0);
            self.class_metrics.mark_warmup(&self.cluster.class_stats());
            self.cluster.mark_warmup(self.metrics.warmup_end());
        }
        let holds_left =
            self.in_flight() + self.refreshing.iter().filter(|&&r| r).count() + self.loading.len();
        let snap = self.snapshot(end);
        let warmup = self.metrics.warmup_end();
        let (mut summary, timeseries) = self.metrics.finish(&sc.name, seed, end, snap);
        let (classes, class_rows) = self.class_metrics.finish(&self.cluster.class_stats());
        summary.classes = classes;
        let (shards, shard_rows) = self.cluster.finish(end, warmup);
        let shard_rows = if self.server_metrics {
            summary.cache_utilization =
                Some(shards.iter().map(|s| s.utilization).fold(0.0, f64::max));
            summary.cache_queue_peak = Some(shards.iter().map(|s| s.queue_peak).max().unwrap_or(0));
            summary.shards = Some(shards);
            shard_rows.to_vec()
        } else {
            Vec::new()
        };
        summary.stopped = stop.as_ref().map(|stop| stop.to_string());
        RunOutput {
            holds_left,
            summary,
            timeseries,
            class_rows,
            shard_rows,
            stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A bundled scenario with `sets` applied.
    fn bundled(file: &str, sets: &[&str]) -> Scenario {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(file);
        crate::scenario::load(&path, &sets)
            .expect("a bundled scenario loads")
            .0
    }

    /// Every output of `sc` run by `engine`, and how many requests were
    /// parked when it ended.
    fn shown(sc: &Scenario, mut engine: Engine) -> (String, usize) {
        let stop = engine.run_to_end(&|_| {}, &|_| {});
        let parked = engine.parked;
        let out = engine.finish(sc, 1, stop);
        // Rows by digest: a run stopped at the row bound has a million.
        let mut rows = std::collections::hash_map::DefaultHasher::new();
        for row in &out.timeseries {
            std::hash::Hash::hash(&format!("{row:?}"), &mut rows);
        }
        let shown = format!(
            "{:?}\n{} rows, digest {:x}\n{:?}\n{:?}\n{}",
            out.summary,
            out.timeseries.len(),
            std::hash::Hasher::finish(&rows),
            out.class_rows,
            out.shard_rows,
            out.holds_left
        );
        (shown, parked)
    }

    /// Every output of `sc` run as usual, and with every request in a slot
    /// (no plain-hit lane, no parked waiters); and how many requests were
    /// parked when the usual run ended.
    ///
    /// (Runs with drawn round trips or a server model, like lock-flood's,
    /// have no plain-hit lane.)
    fn both_ways(sc: &Scenario) -> (String, String, usize) {
        let fast = Engine::new(sc, 1);
        let mut slots = Engine::new(sc, 1);
        slots.plain_hits = None;
        slots.silent_hits = false;
        slots.park_waiters = false;
        let ((fast, parked), (slots, _)) = (shown(sc, fast), shown(sc, slots));
        (fast, slots, parked)
    }

    /// A closed loop with timeouts and retries.
    fn closed_loop() -> Scenario {
        let text = r#"
name = "closed"
duration = "20s"
warmup = "2s"
[clients]
keys = 500
arrival = "closed"
clients = 200
think = "50ms"
timeout = "30ms"
retries = 1
[cache]
ttl = "1s"
ttl_jitter = 0.1
[database]
connections = 16
query_time = { dist = "exponential", mean = "5ms" }
"#;
        crate::scenario::from_text(text, Path::new("closed.toml"), &[])
            .expect("valid")
            .0
    }

    #[test]
    fn maps_of_keys_in_flight_shrink_seldom_and_stay_dense() {
        // Emptying a map of 100,000 keys one removal at a time rebuilds it
        // about once per halving (not once per removal), and it never has
        // room for more than 8 times what it holds beyond the minimum.
        let mut map: HashMap<u32, u32, BuildHasherDefault<KeyHasher>> = HashMap::default();
        map.extend((0..100_000).map(|k| (k, 1)));
        let mut rebuilds = 0;
        for k in 0..100_000 {
            let room = map.capacity();
            remove_and_shrink(&mut map, &k);
            // A removal alone changes the room by at most one (a tombstone).
            rebuilds += usize::from(map.capacity() + 1 < room);
            assert!(map.capacity() <= 8 * map.len().max(MIN_SPARSE_ROOM));
        }
        assert!(rebuilds <= 12, "{rebuilds} rebuilds");
    }

    #[test]
    fn draws_made_on_a_helper_thread_change_no_output() {
        // Open and closed loops (think times come from the arrivals' stream
        // too), with a spike redrawing the next arrival at its new rate.
        for sc in [
            bundled("reference.toml", &["duration=20s", "warmup=2s"]),
            bundled("hot-shard.toml", &["duration=30s"]),
            closed_loop(),
        ] {
            let (here, _) = shown(&sc, Engine::drawing(&sc, 1, Maker::Here));
            let (helper, _) = shown(&sc, Engine::drawing(&sc, 1, Maker::Helper));
            assert!(
                here == helper,
                "{}: outputs differ with a helper thread",
                sc.name
            );
        }
    }

    #[test]
    fn slotless_requests_change_no_output() {
        // Plain hits and parked waiters only skip work: every output must be
        // the same, with retries and timeouts firing (retry-storm), the cache
        // failing (cache-failover), a strategy judging hits (xfetch),
        // refreshes and lock holders queueing (early, lock-flood), closed-loop
        // users, and a pool overloaded until the in-flight bound stops it.
        let closed = closed_loop();
        let reference = bundled("reference.toml", &["duration=30s", "warmup=5s"]);
        assert!(Engine::new(&reference, 1).silent_hits);
        for sc in [
            reference,
            bundled("retry-storm.toml", &[]),
            bundled("cache-failover.toml", &[]),
            bundled("hot-key-expiry.toml", &["strategy.kind=xfetch"]),
            bundled(
                "hot-key-expiry.toml",
                &["strategy.kind=early", "strategy.background=true"],
            ),
            bundled("lock-flood.toml", &[]),
            closed,
        ] {
            let (fast, slots, _) = both_ways(&sc);
            assert!(
                fast == slots,
                "{}: outputs differ with slotless requests",
                sc.name
            );
        }
        let overloaded = bundled(
            "reference.toml",
            &[
                "clients.rate=100000",
                "duration=20s",
                "warmup=1s",
                "max_in_flight=300000",
            ],
        );
        let (fast, slots, parked) = both_ways(&overloaded);
        assert!(
            fast == slots,
            "overloaded: outputs differ with slotless requests"
        );
        // Stopped at the row bound by a query's end, with the last
        // arrivals' silent hits before it.
        let too_long = bundled(
            "reference.toml",
            &[
                "duration=2s",
                "warmup=0s",
                "interval=1ms",
                "clients.keys=1000",
                "cache.prewarm=\"fresh\"",
                "cache.ttl=\"1.9s\"",
                "database.query_time={ dist = \"constant\", value = \"1001s\" }",
            ],
        );
        assert!(Engine::new(&too_long, 1).silent_hits);
        let (fast, slots, _) = both_ways(&too_long);
        assert!(fast.contains("rows; use a longer interval"), "{fast}");
        assert!(!fast.contains(", hits: 0, misses"), "{fast}");
        assert!(
            fast == slots,
            "row bound: outputs differ with slotless requests"
        );
        assert!(
            parked > 250_000,
            "the overloaded pool parks its waiters ({parked})"
        );
    }
}
