//! The validated scenario: every value typed, in range and in simulator units.
//!
//! A scenario is loaded in three steps: the TOML text is parsed into
//! [`raw::RawScenario`] (unknown keys rejected, line numbers in errors),
//! `--set` overrides are applied ([`overrides`]), then [`validate`] checks
//! every value and builds a [`Scenario`] that cannot hold an invalid one.

pub mod overrides;
pub mod raw;
pub mod trace;
pub mod validate;

use std::path::Path;

pub use crate::cache::policy::EvictionPolicy;
use crate::error::{Error, Result};
pub use crate::strategy::Strategy;
use crate::time::SimDuration;

pub use raw::RawScenario;

/// A fully validated scenario, ready to simulate.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name; also the default output directory.
    pub name: String,
    /// What the scenario shows.
    pub description: String,
    /// Simulated time during which requests arrive.
    pub duration: SimDuration,
    /// Requests arriving before this are left out of the summary.
    pub warmup: SimDuration,
    /// Seed of every random stream.
    pub seed: u64,
    /// Width of one time-series row.
    pub interval: SimDuration,
    /// Most requests in flight at once; beyond it the run stops as overloaded.
    pub max_in_flight: u64,
    /// The clients.
    pub clients: Clients,
    /// The cache.
    pub cache: Cache,
    /// The database.
    pub database: Database,
    /// The stampede mitigation.
    pub strategy: Strategy,
    /// Faults on the timeline, in time order.
    pub faults: Vec<Fault>,
    /// Thresholds `stampede check` and `stampede plan` test the summary against.
    pub expect: Vec<crate::expect::Expectation>,
    /// The `--set` overrides (`path=value`, in order) that made this variant
    /// of its file; `scenario.toml` keeps them as `# --set` comment lines, so
    /// that redrawn charts are titled like the run's.
    pub overrides: Vec<String>,
}

/// The comment line `scenario.toml` keeps an override in.
pub const OVERRIDE_COMMENT: &str = "# --set ";

/// How requests arrive.
#[derive(Clone, Debug)]
pub enum Arrival {
    /// Open loop: Poisson arrivals that never wait for answers.
    Poisson {
        /// Mean requests per second.
        rate_per_s: f64,
    },
    /// Closed loop: each user sends a request, waits for it, thinks, repeats.
    Closed {
        /// Number of users.
        users: u32,
        /// Mean of the exponential think time.
        think: SimDuration,
    },
    /// Replay: each record of a trace at its own time, with its key, size and op.
    Trace(std::sync::Arc<crate::trace::Replay>),
}

/// The clients: keys, popularity, arrivals, timeouts and retries.
#[derive(Clone, Debug)]
pub struct Clients {
    /// Number of distinct keys (ranks 1..=keys, rank 1 hottest).
    pub keys: u32,
    /// Zipf exponent (0 = uniform).
    pub zipf: f64,
    /// Arrival process.
    pub arrival: Arrival,
    /// Per-attempt client timeout; `None` waits forever.
    pub timeout: Option<SimDuration>,
    /// Retries after a failed attempt.
    pub retries: u32,
    /// Wait before each retry.
    pub retry_backoff: SimDuration,
    /// Application servers, requests spread round robin.
    pub app_instances: u32,
    /// Each app instance's clock offset is uniform in ± this.
    pub clock_skew: SimDuration,
    /// Popularity drift in keys per second: rank r at time t is key (r + churn·t) mod keys.
    pub churn_per_s: f64,
    /// App CPU time of each cache command a request sends; zero for none.
    pub cpu_per_command: SimDuration,
    /// Cores of each app instance running its CPU work; `None` = unlimited.
    pub cores_per_instance: Option<u32>,
    /// The in-process cache of each app instance, if any.
    pub local_cache: Option<LocalCache>,
    /// Key classes, at least one; their shares add up to 1.
    pub classes: Vec<KeyClass>,
}

/// An in-process cache on each app instance for keys `key:1` ... `key:keys`
/// (key ids `0..keys`): a value read or computed there is served from
/// process memory for `ttl`, without a cache command.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalCache {
    /// Keys kept locally: ids below this.
    pub keys: u32,
    /// How long a kept value is served.
    pub ttl: SimDuration,
}

/// A class of keys with its own TTL, value size and query time.
#[derive(Clone, Debug)]
pub struct KeyClass {
    /// Name, as in the per-class outputs.
    pub name: String,
    /// Share of the keys.
    pub share: f64,
    /// TTL of a SET; `None` = no expiry.
    pub ttl: Option<SimDuration>,
    /// Value size of each key, drawn once per key.
    pub value_size: SizeDistribution,
    /// Query service time.
    pub query_time: Distribution,
}

/// A distribution of value sizes in bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SizeDistribution {
    /// Always this many bytes.
    Constant(u64),
    /// Lognormal: ln(bytes) ~ Normal(mu, sigma).
    Lognormal {
        /// Mean of ln(bytes).
        mu: f64,
        /// Standard deviation of ln(bytes).
        sigma: f64,
    },
}

impl SizeDistribution {
    /// The mean size in bytes.
    pub fn mean(&self) -> f64 {
        match *self {
            SizeDistribution::Constant(b) => b as f64,
            SizeDistribution::Lognormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
        }
    }
}

/// The cache.
#[derive(Clone, Debug)]
pub struct Cache {
    /// Network round trip of one command, drawn per command.
    pub latency: Distribution,
    /// Commands per second each node executes, one at a time; `None` = unlimited.
    pub ops_per_sec: Option<f64>,
    /// Extra server time per KB (1024 bytes) of value a command carries.
    pub service_per_kb: SimDuration,
    /// Redis Cluster primaries; 1 = a single node.
    pub shards: u16,
    /// The scenario models the cache as a server (it sets `ops_per_sec` or
    /// `shards`): the outputs then carry the server's metrics (utilisation,
    /// command queue, per-shard figures); without them, the outputs are
    /// exactly those of a cache with no server model.
    pub server_metrics: bool,
    /// Relative TTL jitter j in [0, 1): TTL × U(1 − j, 1 + j).
    pub ttl_jitter: f64,
    /// What the cache holds at time 0.
    pub prewarm: Prewarm,
    /// Memory limit in bytes; 0 = unlimited.
    pub maxmemory_bytes: u64,
    /// Eviction policy.
    pub policy: EvictionPolicy,
    /// Keys sampled per eviction (`maxmemory-samples`).
    pub samples: u32,
    /// Bytes per stored key beyond its value.
    pub key_overhead: u64,
    /// Extra bytes per stored key with a TTL.
    pub ttl_overhead: u64,
    /// Redis `lfu-log-factor`.
    pub lfu_log_factor: u32,
    /// Redis `lfu-decay-time`, in minutes (0 = no decay).
    pub lfu_decay_minutes: u32,
    /// Active expiry cycles per second.
    pub hz: u32,
    /// Share of cached reads whose payload fails to deserialize.
    pub corrupt_rate: f64,
    /// Value compression, if any.
    pub compression: Option<Compression>,
}

/// Value compression: stored values shrink by `ratio`; the app spends
/// `cpu_per_kb` per KB of value compressing before a SET and decompressing after a hit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Compression {
    /// Uncompressed / stored size, >= 1.
    pub ratio: f64,
    /// CPU time per KB (1024 bytes) of uncompressed value.
    pub cpu_per_kb: SimDuration,
}

impl Compression {
    /// Bytes stored for a value of `bytes`.
    pub fn stored_bytes(&self, bytes: u64) -> u64 {
        ((bytes as f64 / self.ratio).ceil() as u64).max(1)
    }

    /// CPU time to compress or decompress a value of `bytes`.
    pub fn cpu_time(&self, bytes: u64) -> SimDuration {
        SimDuration((self.cpu_per_kb.0 as f64 * bytes as f64 / 1024.0).round() as u64)
    }
}

/// The cache's contents at time 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prewarm {
    /// Empty: the run starts with a cold-start stampede.
    None,
    /// Every key was just SET (a warm-up job at deploy): their TTLs run out together.
    Fresh,
    /// Every key is stored with a remaining TTL uniform over its TTL, as in a
    /// cache that has run for a long time: no cold start, no synchronised expiry.
    Steady,
}

/// A distribution of durations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Always the same.
    Constant(SimDuration),
    /// Exponential with this mean.
    Exponential(SimDuration),
    /// Lognormal: ln X ~ Normal(mu, sigma), with mu and sigma in ln-nanoseconds.
    Lognormal {
        /// Mean of ln X (X in nanoseconds).
        mu: f64,
        /// Standard deviation of ln X.
        sigma: f64,
    },
}

impl Distribution {
    /// The smallest value the distribution takes (0 for exponential and lognormal).
    pub fn min(&self) -> SimDuration {
        match *self {
            Distribution::Constant(d) => d,
            Distribution::Exponential(_) | Distribution::Lognormal { .. } => SimDuration::ZERO,
        }
    }

    /// The mean of the distribution, in nanoseconds.
    pub fn mean_ns(&self) -> f64 {
        match *self {
            Distribution::Constant(d) | Distribution::Exponential(d) => d.0 as f64,
            Distribution::Lognormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
        }
    }
}

/// The database.
#[derive(Clone, Debug)]
pub struct Database {
    /// Pool size: queries in flight at once.
    pub connections: u32,
    /// Longest wait for a connection; `None` waits forever.
    pub pool_timeout: Option<SimDuration>,
    /// Processor sharing: with n > cores queries running, each progresses at cores / n.
    pub cores: Option<u32>,
}

/// A fault on the timeline (`[[events]]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fault {
    /// When it starts.
    pub at: SimDuration,
    /// What happens.
    pub kind: FaultKind,
}

/// The kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// FLUSHALL: every key (and lock) is deleted, on one shard or all.
    Flush {
        /// Only this shard; `None` = every shard.
        shard: Option<u16>,
    },
    /// Failover: every cache command fails for `duration`; traffic goes to the database.
    CacheDown {
        /// How long the cache is unreachable.
        duration: SimDuration,
        /// Only this shard; `None` = every shard.
        shard: Option<u16>,
    },
    /// The key at popularity `rank` (1 = hottest) is evicted.
    Evict {
        /// Popularity rank.
        rank: u32,
    },
    /// The arrival rate is multiplied by `multiplier` for `duration`.
    Spike {
        /// Rate multiplier.
        multiplier: f64,
        /// How long it lasts.
        duration: SimDuration,
    },
    /// Queries take `factor` times longer for `duration`.
    DbSlowdown {
        /// Query-time multiplier.
        factor: f64,
        /// How long it lasts.
        duration: SimDuration,
    },
}

impl FaultKind {
    /// The contract name.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Flush { .. } => "flush",
            FaultKind::CacheDown { .. } => "cache-down",
            FaultKind::Evict { .. } => "evict",
            FaultKind::Spike { .. } => "spike",
            FaultKind::DbSlowdown { .. } => "db-slowdown",
        }
    }

    /// How long the fault lasts (zero for instant ones).
    pub fn duration(&self) -> SimDuration {
        match *self {
            FaultKind::Flush { .. } | FaultKind::Evict { .. } => SimDuration::ZERO,
            FaultKind::CacheDown { duration, .. }
            | FaultKind::Spike { duration, .. }
            | FaultKind::DbSlowdown { duration, .. } => duration,
        }
    }
}

/// Reads, overrides and validates a scenario file.
///
/// `sets` are `PATH=VALUE` overrides (dotted paths into the file). Returns the
/// validated scenario and its resolved raw form (defaults filled in, overrides
/// applied), which is what `scenario.toml` records.
pub fn load(path: &Path, sets: &[String]) -> Result<(Scenario, RawScenario)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::BadInput(format!(
            "cannot read scenario file {}: {e}; give the path of a TOML scenario such as scenarios/healthy.toml",
            path.display()
        ))
    })?;
    from_text(&text, path, sets)
}

/// Parses, overrides and validates scenario `text`; `origin` names it in errors.
///
/// Every problem found is reported at once, in file order (those of `--set`
/// values last), as one bad-input error.
pub fn from_text(text: &str, origin: &Path, sets: &[String]) -> Result<(Scenario, RawScenario)> {
    let file = origin.display().to_string();
    let (parsed, overridden) = if sets.is_empty() {
        (std::borrow::Cow::Borrowed(text), Vec::new())
    } else {
        let (merged, paths) = overrides::apply(text, &file, sets)?;
        (std::borrow::Cow::Owned(merged), paths)
    };
    let source = validate::Source {
        file: &file,
        text,
        overridden: &overridden,
    };
    let read = validate::deserialize(&parsed, &source);
    let mut problems = read.problems;
    let Some(raw) = read.raw else {
        return Err(source.combine(problems));
    };
    match validate::validate_all(&raw, &source) {
        Ok(mut scenario) if problems.is_empty() => {
            let mut raw = raw;
            // A trace's default duration is its span: recorded as resolved.
            raw.duration
                .get_or_insert_with(|| crate::time::format_duration(scenario.duration));
            // The trace by its absolute path: wherever the resolved scenario
            // is written, `report::resolved_toml` names it from there.
            if let (Some(trace), Arrival::Trace(replay)) =
                (&mut raw.clients.trace, &scenario.clients.arrival)
            {
                trace.path = replay.path.display().to_string();
            }
            scenario.overrides = text
                .lines()
                .filter_map(|l| l.strip_prefix(OVERRIDE_COMMENT))
                .map(String::from)
                .chain(sets.iter().cloned())
                .collect();
            Ok((scenario, raw))
        }
        Ok(_) => Err(source.combine(problems)),
        Err(more) => {
            // Keys the reader had to patch to go on give no further problems
            // of their own (a misspelt `rat` is not also a missing `rate`).
            problems.extend(more.into_iter().filter(|e| !read.patched.tainted(e)));
            Err(source.combine(problems))
        }
    }
}
