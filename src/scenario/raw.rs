//! The scenario file as written: serde structs that mirror the TOML.
//!
//! Every table denies unknown keys, so a typo is an error instead of a silent
//! default. Defaults live here, so serialising a parsed [`RawScenario`] gives
//! the fully resolved scenario that `scenario.toml` records. Values are checked
//! in [`super::validate`], which turns this into a [`super::Scenario`].

use serde::{Deserialize, Serialize};

/// The whole scenario file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Name of the scenario; also the default output directory `results/<name>/`.
    pub name: String,
    /// What the scenario shows, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Simulated time during which clients send requests.
    pub duration: String,
    /// Initial period excluded from the summary (the cache fills up).
    #[serde(default = "default_warmup")]
    pub warmup: String,
    /// Seed of every random stream.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Width of one time-series row.
    #[serde(default = "default_interval")]
    pub interval: String,
    /// The clients and the keys they ask for.
    pub clients: RawClients,
    /// The Redis-like cache.
    #[serde(default)]
    pub cache: RawCache,
    /// The database behind the cache.
    #[serde(default)]
    pub database: RawDatabase,
    /// The stampede mitigation.
    #[serde(default)]
    pub strategy: RawStrategy,
}

/// `[clients]`: who sends requests, how often, for which keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClients {
    /// Number of distinct keys.
    pub keys: u64,
    /// Zipf exponent of key popularity (0 = uniform).
    #[serde(default = "default_zipf")]
    pub zipf: f64,
    /// `"poisson"` (open loop) or `"closed"` (each user waits for its answer).
    #[serde(default = "default_arrival")]
    pub arrival: String,
    /// Open loop: mean requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Closed loop: number of users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<u64>,
    /// Closed loop: mean of the exponential think time between a user's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<String>,
    /// A request not answered within this time fails for the client (absent: no timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// How many times a failed request is retried.
    #[serde(default)]
    pub retries: u32,
    /// Wait before each retry.
    #[serde(default = "default_retry_backoff")]
    pub retry_backoff: String,
    /// Application servers the requests are spread over, round robin.
    #[serde(default = "default_app_instances")]
    pub app_instances: u32,
}

/// `[cache]`: the Redis-like cache.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    /// Round trip of one cache command.
    #[serde(default = "default_cache_latency")]
    pub latency: String,
    /// Time to live of every SET (absent: keys never expire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Each SET draws its TTL from ttl × U(1 − j, 1 + j).
    #[serde(default)]
    pub ttl_jitter: f64,
    /// Cache contents at time 0: `"none"` (cold), `"fresh"` (every key just SET),
    /// `"steady"` (every key stored with a uniformly random remaining TTL).
    #[serde(default = "default_prewarm")]
    pub prewarm: String,
}

impl Default for RawCache {
    fn default() -> Self {
        RawCache {
            latency: default_cache_latency(),
            ttl: None,
            ttl_jitter: 0.0,
            prewarm: default_prewarm(),
        }
    }
}

/// `[database]`: the capacity-limited store behind the cache.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// Connection pool size: queries running at once.
    #[serde(default = "default_connections")]
    pub connections: u64,
    /// A query waiting longer than this for a connection fails (absent: waits forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_timeout: Option<String>,
    /// Service time of one query.
    #[serde(default = "default_query_time")]
    pub query_time: RawDistribution,
    /// Processor sharing: above this many running queries, each runs slower.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u64>,
}

impl Default for RawDatabase {
    fn default() -> Self {
        RawDatabase {
            connections: default_connections(),
            pool_timeout: None,
            query_time: default_query_time(),
            cores: None,
        }
    }
}

/// A distribution of durations, tagged by `dist`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum RawDistribution {
    /// Always `value`.
    Constant {
        /// The one value.
        value: String,
    },
    /// Exponential with the given mean.
    Exponential {
        /// The mean.
        mean: String,
    },
    /// Lognormal given its median and 99th percentile.
    Lognormal {
        /// The median (50th percentile).
        median: String,
        /// The 99th percentile; must exceed the median.
        p99: String,
    },
}

/// `[strategy]`: the stampede mitigation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStrategy {
    /// Which mitigation (`"none"`: plain cache-aside).
    #[serde(default = "default_strategy_kind")]
    pub kind: String,
}

impl Default for RawStrategy {
    fn default() -> Self {
        RawStrategy {
            kind: default_strategy_kind(),
        }
    }
}

fn default_warmup() -> String {
    "0s".into()
}
fn default_seed() -> u64 {
    1
}
fn default_interval() -> String {
    "1s".into()
}
fn default_zipf() -> f64 {
    1.0
}
fn default_arrival() -> String {
    "poisson".into()
}
fn default_retry_backoff() -> String {
    "100ms".into()
}
fn default_app_instances() -> u32 {
    1
}
fn default_cache_latency() -> String {
    "500us".into()
}
fn default_prewarm() -> String {
    "none".into()
}
fn default_connections() -> u64 {
    64
}
fn default_query_time() -> RawDistribution {
    RawDistribution::Exponential {
        mean: "20ms".into(),
    }
}
fn default_strategy_kind() -> String {
    "none".into()
}
