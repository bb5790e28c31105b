//! Streaming measurement: counters, latency histograms, and the time series.
//!
//! Memory is bounded by the number of time-series rows, never by the number
//! of requests: latencies go into HDR histograms (3 significant digits), one
//! for the summary and one reset at every row. The histograms have no upper
//! bound (they grow by powers of two as needed), so no latency a run can reach
//! is clamped; quantiles are reported to the 3 significant digits the
//! histogram resolves and never outside the exact minimum and maximum. [`RunSummary`] and
//! [`TimeseriesRow`] are the output contract (SPEC §3): every output file and
//! every comparison is made from them.

pub mod classes;
pub mod shards;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::time::{SimDuration, SimTime};

/// Significant decimal digits the latency histograms resolve.
const LATENCY_DIGITS: u8 = 3;

/// `x` rounded to `digits` significant decimal digits.
fn round_significant(x: f64, digits: u8) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits as i32 - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// Request and database counts, over a row or over the summary period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests that arrived.
    pub requests: u64,
    /// Requests whose first cache read found the key.
    pub hits: u64,
    /// Requests whose first cache read did not find the key.
    pub misses: u64,
    /// Requests answered with a value.
    pub served: u64,
    /// Requests that failed for the client (after any retries).
    pub errors: u64,
    /// Attempts that hit the client timeout.
    pub timeouts: u64,
    /// Attempts that gave up waiting for a database connection.
    pub pool_timeouts: u64,
    /// Retry attempts started.
    pub retries: u64,
    /// Database queries submitted.
    pub db_queries: u64,
    /// Queries submitted for a key that already had one in flight.
    pub duplicate_queries: u64,
    /// Bytes of the values of requests whose first cache read hit.
    pub hit_bytes: u64,
    /// Bytes of the values of requests whose first cache read missed.
    pub miss_bytes: u64,
    /// Requests answered from their app instance's in-process cache.
    pub local_hits: u64,
    /// Trace replay: write records (values stored without a query).
    pub trace_writes: u64,
    /// Trace replay: delete records (keys invalidated).
    pub trace_deletes: u64,
    /// What the stampede mitigation did.
    pub strategy: StrategyCounters,
}

/// What the stampede mitigation did: counts over a row or the summary period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategyCounters {
    /// Requests answered with a stale value (swr, memcache-lease).
    pub stale_served: u64,
    /// Locks won (lock strategies and background refreshes).
    pub lock_acquisitions: u64,
    /// Times a request found the value being computed by another and slept.
    pub lock_waits: u64,
    /// Lock waiters that reached `max_wait`.
    pub lock_timeouts: u64,
    /// Background refresh queries (early with background, swr).
    pub refreshes: u64,
    /// Hits recomputed before expiry by the requester (early inline, xfetch).
    pub early_recomputations: u64,
    /// Early recomputations started while another query for the key was in flight.
    pub wasted_recomputations: u64,
    /// Cached reads whose payload failed to deserialize.
    pub corrupt_reads: u64,
    /// Cache commands that failed because the cache was down.
    pub cache_errors: u64,
    /// memcache-lease tokens issued.
    pub lease_tokens: u64,
    /// Misses that joined another request's load in their app instance (coalesce).
    pub coalesced: u64,
}

/// hits / (hits + misses), 0 when there was no read.
pub fn hit_ratio(hits: u64, misses: u64) -> f64 {
    let reads = hits + misses;
    if reads == 0 {
        0.0
    } else {
        hits as f64 / reads as f64
    }
}

/// Selects one counter of [`Counters`] (to bump it in a row and in the summary).
pub type CounterField = fn(&mut Counters) -> &mut u64;

/// Latency quantiles of a summary, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Arithmetic mean (exact).
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest (exact).
    pub max: f64,
}

/// The summary of one run: `summary.json` (SPEC §3 contract).
///
/// Request counts cover requests that arrived after `warmup`; database and
/// cache counts cover events after `warmup`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Scenario name.
    pub scenario: String,
    /// Seed of the run.
    pub seed: u64,
    /// Requests that arrived after warmup.
    pub requests: u64,
    /// Of those, first cache read found the key.
    pub hits: u64,
    /// Of those, first cache read missed.
    pub misses: u64,
    /// hits / (hits + misses).
    pub hit_ratio: f64,
    /// Bytes of the values of the requests whose first cache read missed.
    pub miss_bytes: u64,
    /// The share of requested bytes whose first cache read hit:
    /// 1 − miss_bytes / (bytes of every request).
    pub byte_hit_ratio: f64,
    /// Requests answered with a value.
    pub served: u64,
    /// Requests that failed for the client after all retries.
    pub errors: u64,
    /// Attempts that hit the client timeout.
    pub timeouts: u64,
    /// Retry attempts.
    pub retries: u64,
    /// SETs rejected with Redis's OOM error.
    pub oom_rejections: u64,
    /// Attempts that gave up waiting for a database connection.
    pub pool_timeouts: u64,
    /// Database queries submitted.
    pub db_queries: u64,
    /// Queries submitted while another for the same key was in flight.
    pub duplicate_queries: u64,
    /// Highest database queries per second over one time-series row.
    pub db_queries_per_s_peak: f64,
    /// Most queries running at once.
    pub db_inflight_peak: u64,
    /// Longest connection wait queue.
    pub db_queue_peak: u64,
    /// Mean share of connections busy.
    pub db_utilization: f64,
    /// Mean wait for a connection of the queries started, ms (0 when none waited).
    pub db_wait_ms_mean: f64,
    /// Keys evicted to fit maxmemory.
    pub evicted_keys: u64,
    /// Keys deleted because their TTL passed.
    pub expired_keys: u64,
    /// Cache server model (`cache.ops_per_sec` or `cache.shards` set): the
    /// share of the time after warmup the busiest node's thread was busy
    /// (0 with unlimited `ops_per_sec`); absent without a server model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_utilization: Option<f64>,
    /// Cache server model: the most commands waiting at once for a node's
    /// thread after warmup; absent without a server model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_queue_peak: Option<u64>,
    /// What the stampede mitigation did (flattened into the summary's top level).
    #[serde(flatten)]
    pub strategy: StrategyCounters,
    /// Highest used memory, bytes (whole run, as Redis's `used_memory_peak`).
    pub used_memory_peak: u64,
    /// GET commands that found a key (Redis `keyspace_hits`, every retry included).
    pub keyspace_hits: u64,
    /// GET commands that missed (Redis `keyspace_misses`).
    pub keyspace_misses: u64,
    /// Simulated seconds until the last request ended.
    pub simulated_s: f64,
    /// Latency of requests, arrival to answer (or to failure), in ms.
    pub latency_ms: LatencySummary,
    /// Hit ratio, memory and evictions per key class.
    pub classes: Vec<classes::ClassSummary>,
    /// Requests answered from an app instance's in-process cache
    /// (`clients.local_cache`, counted among `hits`); absent when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub local_hits: u64,
    /// Cache server model: each shard (one for a single node), in slot order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<shards::ShardSummary>>,
    /// Trace replay: write records after warmup (values the application
    /// stored without a query); absent when there were none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub writes: u64,
    /// Trace replay: delete records after warmup (keys invalidated); absent when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deletes: u64,
    /// Present only when the run was stopped before every request ended
    /// (overloaded, or stalled): why and when. Its numbers then cover the run
    /// up to that moment only and are not a normal result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// Serde: leave zero counts out of `summary.json`.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One row of `timeseries.csv` (SPEC §3 contract). Counts are events within the row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeseriesRow {
    /// Start of the row, seconds.
    pub t_s: f64,
    /// The row starts after the last arrival: it holds only requests still
    /// finishing (stragglers), not load; charts leave it out.
    #[serde(default)]
    pub drain: bool,
    /// Requests that arrived.
    pub requests: u64,
    /// First cache reads that hit.
    pub hits: u64,
    /// First cache reads that missed.
    pub misses: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Database queries submitted.
    pub db_queries: u64,
    /// Duplicate queries submitted.
    pub duplicate_queries: u64,
    /// Most queries running at once.
    pub db_inflight_max: u64,
    /// Longest wait queue.
    pub db_queue_max: u64,
    /// Mean share of connections busy.
    pub db_utilization: f64,
    /// Median latency of requests that ended in the row, ms (empty if none).
    pub latency_p50_ms: Option<f64>,
    /// 99th percentile latency of requests that ended in the row, ms.
    pub latency_p99_ms: Option<f64>,
    /// Largest latency of requests that ended in the row, ms.
    pub latency_max_ms: Option<f64>,
    /// Keys evicted.
    pub evicted_keys: u64,
    /// Keys expired.
    pub expired_keys: u64,
    /// Used memory at the end of the row, bytes.
    pub used_memory: u64,
    /// SETs refused with OOM.
    pub oom_rejections: u64,
    /// Requests answered with a stale value.
    pub stale_served: u64,
    /// Lock waits (sleeps before reading again).
    pub lock_waits: u64,
    /// Background refreshes and early recomputations started.
    pub refreshes: u64,
    /// Cache commands that failed because the cache was down.
    pub cache_errors: u64,
    /// Cache server model: the busiest node's busy share of the row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_utilization: Option<f64>,
    /// Cache server model: the most commands waiting at once for a node's thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_queue_max: Option<u64>,
}

/// Gauges and cumulative counters sampled from the cache and database at a row boundary.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    /// Cumulative keys evicted.
    pub evicted_keys: u64,
    /// Cumulative keys expired.
    pub expired_keys: u64,
    /// Cumulative `keyspace_hits`.
    pub keyspace_hits: u64,
    /// Cumulative `keyspace_misses`.
    pub keyspace_misses: u64,
    /// Cumulative OOM rejections.
    pub oom_rejections: u64,
    /// Cumulative connection-busy time, ns × connections.
    pub db_busy_ns: u128,
    /// Used memory now, bytes.
    pub used_memory: u64,
}

/// A latency histogram with an exact sum, minimum and maximum.
#[derive(Clone, Debug)]
struct LatencyStats {
    histogram: Histogram<u64>,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
    /// The latency last recorded and how many times in a row, not yet in
    /// the histogram: a run of equal latencies (the hits of a fixed round
    /// trip) costs one record. [`LatencyStats::settle`] adds it.
    run: (u64, u64),
}

impl LatencyStats {
    fn new() -> Self {
        LatencyStats {
            // Auto-resizing: any u64 latency is recorded as it is.
            histogram: Histogram::new(LATENCY_DIGITS).expect("3 significant digits are valid"),
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            run: (0, 0),
        }
    }

    #[inline]
    fn record(&mut self, latency: SimDuration) {
        if self.run.0 == latency.0 {
            self.run.1 += 1;
        } else {
            self.settle();
            self.run = (latency.0, 1);
        }
    }

    /// Adds the run of equal latencies to the histogram, sum and extremes.
    fn settle(&mut self) {
        let (latency, n) = self.run;
        if n == 0 {
            return;
        }
        // `record_n`, not `saturating_record_n`: the latter clamps instead of resizing.
        self.histogram
            .record_n(latency, n)
            .expect("an auto-resizing histogram records any latency");
        self.sum_ns += latency as u128 * n as u128;
        self.min_ns = self.min_ns.min(latency);
        self.max_ns = self.max_ns.max(latency);
        self.run.1 = 0;
    }

    /// The `q` quantile in ms: the histogram's value rounded to the digits it
    /// resolves, kept within the exact minimum and maximum.
    fn quantile_ms(&self, q: f64) -> f64 {
        let bucket_ms = self.histogram.value_at_quantile(q) as f64 / 1e6;
        round_significant(bucket_ms, LATENCY_DIGITS)
            .clamp(self.min_ns as f64 / 1e6, self.max_ns as f64 / 1e6)
    }

    fn summary(&self) -> LatencySummary {
        let n = self.histogram.len();
        if n == 0 {
            return LatencySummary::default();
        }
        LatencySummary {
            mean: self.sum_ns as f64 / n as f64 / 1e6,
            p50: self.quantile_ms(0.50),
            p90: self.quantile_ms(0.90),
            p99: self.quantile_ms(0.99),
            p999: self.quantile_ms(0.999),
            max: self.max_ns as f64 / 1e6,
        }
    }

    /// Adds every latency `other` recorded (both settled).
    fn add(&mut self, other: &LatencyStats) {
        debug_assert!(self.run.1 == 0 && other.run.1 == 0, "settled first");
        self.histogram
            .add(&other.histogram)
            .expect("an auto-resizing histogram adds any histogram");
        self.sum_ns += other.sum_ns;
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    fn is_empty(&self) -> bool {
        self.histogram.is_empty() && self.run.1 == 0
    }

    fn reset(&mut self) {
        if self.is_empty() {
            return; // nothing recorded since the last reset
        }
        self.run.1 = 0;
        self.histogram.reset();
        self.sum_ns = 0;
        self.min_ns = u64::MAX;
        self.max_ns = 0;
    }
}

/// Collects everything a run measures.
#[derive(Debug)]
pub struct Metrics {
    warmup: SimTime,
    arrivals_end: SimTime,
    interval: SimDuration,
    connections: u32,
    /// Counts over the summary period.
    pub total: Counters,
    /// Counts over the current row.
    pub row: Counters,
    total_latency: LatencyStats,
    /// The row's latencies: all of them, or, while `merge_counted`, those not
    /// counted in the summary.
    row_latency: LatencyStats,
    /// While `merge_counted`: the row's counted latencies, added to the
    /// summary's and the row's when the row closes.
    row_counted: LatencyStats,
    /// Whether this row records a counted latency once, not twice: for a row
    /// of many requests, one pass over the histogram when it closes costs
    /// less than a second record each. Set from the last row's count.
    merge_counted: bool,
    row_start: SimTime,
    row_inflight_max: u32,
    row_queue_max: u32,
    inflight_peak: u32,
    queue_peak: u32,
    used_memory_peak: u64,
    db_started: u64,
    db_wait_ns: u128,
    at_row_start: Snapshot,
    at_warmup: Option<Snapshot>,
    rows: Vec<TimeseriesRow>,
}

impl Metrics {
    /// Metrics for a run with this warmup, row width and pool size.
    pub fn new(
        warmup: SimDuration,
        arrivals: SimDuration,
        interval: SimDuration,
        connections: u32,
    ) -> Self {
        Metrics {
            arrivals_end: SimTime::ZERO + arrivals,
            warmup: SimTime::ZERO + warmup,
            interval,
            connections,
            total: Counters::default(),
            row: Counters::default(),
            total_latency: LatencyStats::new(),
            row_latency: LatencyStats::new(),
            row_counted: LatencyStats::new(),
            merge_counted: false,
            row_start: SimTime::ZERO,
            row_inflight_max: 0,
            row_queue_max: 0,
            inflight_peak: 0,
            queue_peak: 0,
            used_memory_peak: 0,
            db_started: 0,
            db_wait_ns: 0,
            at_row_start: Snapshot::default(),
            at_warmup: None,
            rows: Vec::new(),
        }
    }

    /// Whether a request arriving at `t` is counted in the summary.
    #[inline]
    pub fn counts(&self, t: SimTime) -> bool {
        t >= self.warmup
    }

    /// Adds one to a counter in the row and, if `counted`, in the summary.
    #[inline]
    pub fn bump(&mut self, counted: bool, field: CounterField) {
        *field(&mut self.row) += 1;
        if counted {
            *field(&mut self.total) += 1;
        }
    }

    /// Adds the value bytes of a request's first cache read, as hit or missed.
    #[inline]
    pub fn add_bytes(&mut self, counted: bool, hit: bool, bytes: u64) {
        let field: fn(&mut Counters) -> &mut u64 = if hit {
            |c| &mut c.hit_bytes
        } else {
            |c| &mut c.miss_bytes
        };
        *field(&mut self.row) += bytes;
        if counted {
            *field(&mut self.total) += bytes;
        }
    }

    /// Adds one to a counter of an event happening at `now` (database and cache events).
    #[inline]
    pub fn bump_at(&mut self, now: SimTime, field: CounterField) {
        let counted = self.counts(now);
        self.bump(counted, field);
    }

    /// Records the latency of a request that ended.
    #[inline]
    pub fn record_latency(&mut self, counted: bool, latency: SimDuration) {
        if !counted {
            self.row_latency.record(latency);
        } else if self.merge_counted {
            self.row_counted.record(latency);
        } else {
            self.row_latency.record(latency);
            self.total_latency.record(latency);
        }
    }

    /// Settles every latency recorded, then adds the row's counted
    /// latencies, if it kept them apart, to the summary's and the row's.
    fn merge_row_counted(&mut self) {
        self.total_latency.settle();
        self.row_latency.settle();
        self.row_counted.settle();
        if self.row_counted.is_empty() {
            return;
        }
        self.total_latency.add(&self.row_counted);
        if self.row_latency.is_empty() {
            std::mem::swap(&mut self.row_latency, &mut self.row_counted);
        } else {
            self.row_latency.add(&self.row_counted);
            self.row_counted.reset();
        }
    }

    /// Observes the database after a change at `now`.
    #[inline]
    pub fn observe_db(&mut self, now: SimTime, in_flight: u32, queue: u32) {
        self.row_inflight_max = self.row_inflight_max.max(in_flight);
        self.row_queue_max = self.row_queue_max.max(queue);
        if now >= self.warmup {
            self.inflight_peak = self.inflight_peak.max(in_flight);
            self.queue_peak = self.queue_peak.max(queue);
        }
    }

    /// Records how long a query starting at `now` waited for its connection.
    #[inline]
    pub fn record_db_wait(&mut self, now: SimTime, wait: SimDuration) {
        if self.counts(now) {
            self.db_started += 1;
            self.db_wait_ns += wait.0 as u128;
        }
    }

    /// Observes used memory after a write.
    #[inline]
    pub fn observe_memory(&mut self, used: u64) {
        self.used_memory_peak = self.used_memory_peak.max(used);
    }

    /// The start of the current row.
    #[inline]
    pub fn row_start(&self) -> SimTime {
        self.row_start
    }

    /// Rows the time series holds once every row before time `t` is closed.
    #[inline]
    pub fn rows_until(&self, t: SimTime) -> u64 {
        self.rows.len() as u64 + t.since(self.row_start).0 / self.interval.0
    }

    /// The end of the current row.
    #[inline]
    pub fn row_end(&self) -> SimTime {
        self.row_start + self.interval
    }

    /// Whether the summary period has started and its baseline has been taken.
    #[inline]
    pub fn warmed_up(&self) -> bool {
        self.at_warmup.is_some()
    }

    /// Takes the baseline of cumulative counters at the end of warmup.
    pub fn mark_warmup(&mut self, at_warmup: Snapshot, in_flight: u32, queue: u32) {
        self.at_warmup = Some(at_warmup);
        self.inflight_peak = in_flight;
        self.queue_peak = queue;
    }

    /// The end of warmup.
    pub fn warmup_end(&self) -> SimTime {
        self.warmup
    }

    /// Closes the current row with the state `now` at its end; starts the next.
    ///
    /// `in_flight` and `queue` are the database gauges carried into the next
    /// row; `cache` is the cache server's utilisation and queue maximum in
    /// the row, when the scenario models one.
    pub fn close_row(
        &mut self,
        snap: Snapshot,
        in_flight: u32,
        queue: u32,
        cache: Option<(f64, u64)>,
    ) {
        self.merge_row_counted();
        let prev = self.at_row_start;
        let width_ns = self.interval.0 as f64;
        let row_latency = &self.row_latency;
        let has_latency = !row_latency.histogram.is_empty();
        let quantile = |q: f64| has_latency.then(|| row_latency.quantile_ms(q));
        self.rows.push(TimeseriesRow {
            t_s: self.row_start.as_secs_f64(),
            drain: self.row_start >= self.arrivals_end,
            requests: self.row.requests,
            hits: self.row.hits,
            misses: self.row.misses,
            errors: self.row.errors,
            timeouts: self.row.timeouts,
            db_queries: self.row.db_queries,
            duplicate_queries: self.row.duplicate_queries,
            db_inflight_max: self.row_inflight_max as u64,
            db_queue_max: self.row_queue_max as u64,
            db_utilization: (snap.db_busy_ns - prev.db_busy_ns) as f64
                / (width_ns * self.connections as f64),
            latency_p50_ms: quantile(0.50),
            latency_p99_ms: quantile(0.99),
            latency_max_ms: has_latency.then(|| row_latency.max_ns as f64 / 1e6),
            evicted_keys: snap.evicted_keys - prev.evicted_keys,
            expired_keys: snap.expired_keys - prev.expired_keys,
            used_memory: snap.used_memory,
            oom_rejections: snap.oom_rejections - prev.oom_rejections,
            stale_served: self.row.strategy.stale_served,
            lock_waits: self.row.strategy.lock_waits,
            refreshes: self.row.strategy.refreshes + self.row.strategy.early_recomputations,
            cache_errors: self.row.strategy.cache_errors,
            cache_utilization: cache.map(|c| c.0),
            cache_queue_max: cache.map(|c| c.1),
        });
        self.row = Counters::default();
        // A pass over the histogram costs about a quarter of a record per count.
        self.merge_counted = self.row_latency.histogram.len()
            >= self.row_latency.histogram.distinct_values() as u64 / 4;
        self.row_latency.reset();
        self.row_start = self.row_end();
        self.row_inflight_max = in_flight;
        self.row_queue_max = queue;
        self.at_row_start = snap;
    }

    /// Finishes the run at `end` and returns the summary and the time series.
    pub fn finish(
        mut self,
        scenario: &str,
        seed: u64,
        end: SimTime,
        snap: Snapshot,
    ) -> (RunSummary, Vec<TimeseriesRow>) {
        self.merge_row_counted();
        let base = self.at_warmup.unwrap_or(snap);
        let t = &self.total;
        let measured_ns = end.since(self.warmup).0.max(1) as f64;
        let interval_s = self.interval.as_secs_f64();
        let db_queries_per_s_peak = self
            .rows
            .iter()
            .filter(|r| r.t_s >= self.warmup.as_secs_f64())
            .map(|r| r.db_queries as f64 / interval_s)
            .fold(0.0, f64::max);
        let summary = RunSummary {
            scenario: scenario.to_string(),
            seed,
            requests: t.requests,
            hits: t.hits,
            misses: t.misses,
            hit_ratio: hit_ratio(t.hits, t.misses),
            miss_bytes: t.miss_bytes,
            byte_hit_ratio: hit_ratio(t.hit_bytes, t.miss_bytes),
            served: t.served,
            errors: t.errors,
            timeouts: t.timeouts,
            retries: t.retries,
            oom_rejections: snap.oom_rejections - base.oom_rejections,
            pool_timeouts: t.pool_timeouts,
            db_queries: t.db_queries,
            duplicate_queries: t.duplicate_queries,
            db_queries_per_s_peak,
            db_inflight_peak: self.inflight_peak as u64,
            db_queue_peak: self.queue_peak as u64,
            db_utilization: (snap.db_busy_ns - base.db_busy_ns) as f64
                / (measured_ns * self.connections as f64),
            db_wait_ms_mean: if self.db_started == 0 {
                0.0
            } else {
                self.db_wait_ns as f64 / self.db_started as f64 / 1e6
            },
            evicted_keys: snap.evicted_keys - base.evicted_keys,
            expired_keys: snap.expired_keys - base.expired_keys,
            strategy: t.strategy,
            cache_utilization: None,
            cache_queue_peak: None,
            local_hits: t.local_hits,
            shards: None,
            writes: t.trace_writes,
            deletes: t.trace_deletes,
            used_memory_peak: self.used_memory_peak,
            keyspace_hits: snap.keyspace_hits - base.keyspace_hits,
            keyspace_misses: snap.keyspace_misses - base.keyspace_misses,
            simulated_s: end.as_secs_f64(),
            latency_ms: self.total_latency.summary(),
            classes: Vec::new(),
            stopped: None,
        };
        (summary, self.rows)
    }
}

/// The numeric metrics of a summary, flattened to dotted names (`latency_ms.p99`), in field order.
pub fn flatten(summary: &RunSummary) -> Vec<(String, f64)> {
    let value = serde_json::to_value(summary).expect("a summary always serialises");
    let mut out = Vec::new();
    if let serde_json::Value::Object(map) = value {
        for (key, v) in map {
            match v {
                serde_json::Value::Number(n) if key != "seed" => {
                    out.push((key, n.as_f64().unwrap_or(f64::NAN)))
                }
                serde_json::Value::Object(inner) => {
                    for (k, v) in inner {
                        if let Some(x) = v.as_f64() {
                            out.push((format!("{key}.{k}"), x));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The metrics of several summaries: the first one's, in its order, then
/// any others in order of first appearance (summaries leave out counts that
/// are zero and the server figures of runs without a server model).
pub fn metric_union<'a>(summaries: impl IntoIterator<Item = &'a RunSummary>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for summary in summaries {
        for (name, _) in flatten(summary) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// `summary`'s value of each metric in `names` ([`metric_union`]), `None` where it has none.
pub fn metric_values(summary: &RunSummary, names: &[String]) -> Vec<Option<f64>> {
    let metrics = flatten(summary);
    names
        .iter()
        .map(|n| metrics.iter().find(|(m, _)| m == n).map(|(_, v)| *v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Component, stream, unit_f64};

    #[test]
    fn latencies_kept_apart_in_busy_rows_give_the_same_quantiles() {
        // Rows of 20,000 latencies switch the next row to merging its counted
        // latencies when it closes; the summary and every row must still
        // equal histograms recorded one latency at a time. Row 0 is warmup
        // (uncounted), row 1 mixes both, the last row is small. Runs of equal
        // latencies are each recorded once, with their count.
        let mut metrics = Metrics::new(
            SimDuration::from_secs(1),
            SimDuration::from_secs(4),
            SimDuration::from_secs(1),
            1,
        );
        let mut rng = stream(7, Component::Arrivals);
        let mut total = LatencyStats::new();
        let mut rows = Vec::new();
        let mut merged = Vec::new();
        for (row, n) in [20_000, 20_000, 20_000, 30].into_iter().enumerate() {
            merged.push(metrics.merge_counted);
            let mut expected = LatencyStats::new();
            for i in 0..n {
                // Runs of 7 equal latencies (a fixed round trip's hits)
                // between runs of drawn ones.
                let latency = if (i / 7) % 2 == 0 {
                    SimDuration(500_000)
                } else {
                    SimDuration((unit_f64(&mut rng).powi(3) * 5e8) as u64)
                };
                let counted = row > 1 || (row == 1 && i % 3 != 0);
                metrics.record_latency(counted, latency);
                // Settled at once: one latency at a time into the histogram.
                expected.record(latency);
                expected.settle();
                if counted {
                    total.record(latency);
                    total.settle();
                }
            }
            metrics.close_row(Snapshot::default(), 0, 0, None);
            rows.push(expected);
        }
        assert_eq!(
            merged,
            [false, true, true, true],
            "busy rows switch the next to merging"
        );
        let (summary, series) = metrics.finish(
            "t",
            1,
            SimTime::ZERO + SimDuration::from_secs(4),
            Snapshot::default(),
        );
        assert_eq!(summary.latency_ms, total.summary());
        for (row, expected) in series.iter().zip(&rows) {
            assert_eq!(row.latency_p50_ms, Some(expected.quantile_ms(0.5)));
            assert_eq!(row.latency_p99_ms, Some(expected.quantile_ms(0.99)));
            assert_eq!(row.latency_max_ms, Some(expected.max_ns as f64 / 1e6));
        }
    }
}
