//! The scenario file as written: serde structs that mirror the TOML.
//!
//! Every table denies unknown keys, so a typo is an error instead of a silent
//! default. Defaults live here, so serialising a parsed [`RawScenario`] gives
//! the fully resolved scenario that `scenario.toml` records. Values are checked
//! in [`super::validate`], which turns this into a [`super::Scenario`].

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor, value::MapAccessDeserializer};
use serde::{Deserialize, Deserializer, Serialize};

/// The whole scenario file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Name of the scenario; also the default output directory `results/<name>/`.
    pub name: String,
    /// What the scenario shows, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Simulated time during which clients send requests; with a trace,
    /// absent means the trace's span divided by its speed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Initial period excluded from the summary (the cache fills up).
    #[serde(default = "default_warmup")]
    pub warmup: String,
    /// Seed of every random stream.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Width of one time-series row.
    #[serde(default = "default_interval")]
    pub interval: String,
    /// Most requests in flight at once before the run is stopped as overloaded
    /// (a guard on memory, not a model parameter).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u64,
    /// The clients and the keys they ask for.
    #[serde(deserialize_with = "table")]
    pub clients: RawClients,
    /// The Redis-like cache.
    #[serde(default, deserialize_with = "table")]
    pub cache: RawCache,
    /// The database behind the cache.
    #[serde(default, deserialize_with = "table")]
    pub database: RawDatabase,
    /// The stampede mitigation.
    #[serde(default, deserialize_with = "table")]
    pub strategy: RawStrategy,
    /// Faults on a timeline.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "tables"
    )]
    pub events: Vec<RawEvent>,
    /// A parameter grid for `stampede sweep` (ignored by `stampede run`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_table"
    )]
    pub sweep: Option<RawSweep>,
    /// Thresholds on summary metrics, k6-style: `"latency_ms.p99" = "< 50"`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub expect: std::collections::BTreeMap<String, RawConditions>,
}

impl RawScenario {
    /// Fills the defaults that depend on whether a trace is replayed: synthetic
    /// clients default to Zipf 1.0, Poisson arrivals and no churn; with a
    /// trace these keys stay absent (the trace decides them, and giving one
    /// is an error).
    pub fn fill_defaults(&mut self) {
        let c = &mut self.clients;
        if c.trace.is_none() {
            c.zipf.get_or_insert(1.0);
            c.arrival.get_or_insert_with(|| "poisson".into());
            c.churn.get_or_insert(0.0);
        }
    }
}

/// The condition(s) of one `[expect]` entry: `"< 50"` or `["> 0.9", "< 1"]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged, try_from = "toml::Value")]
pub enum RawConditions {
    /// One condition.
    One(String),
    /// Several, all of which must hold.
    Many(Vec<String>),
}

impl TryFrom<toml::Value> for RawConditions {
    type Error = String;

    fn try_from(value: toml::Value) -> Result<Self, String> {
        let bad = || {
            format!(
                "an expectation is a condition in quotes, such as \"< 50\", or a list of them, not {value}"
            )
        };
        match &value {
            toml::Value::String(s) => Ok(RawConditions::One(s.clone())),
            toml::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(String::from).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()
                .map(RawConditions::Many),
            _ => Err(bad()),
        }
    }
}

impl RawConditions {
    /// The conditions as a list.
    pub fn list(&self) -> Vec<&str> {
        match self {
            RawConditions::One(c) => vec![c.as_str()],
            RawConditions::Many(cs) => cs.iter().map(String::as_str).collect(),
        }
    }
}

/// `[sweep]`: the variants `stampede sweep` runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    /// Runs per point, each with its own seed.
    #[serde(default = "default_replicates")]
    pub replicates: u32,
    /// Independent seeds per point instead of common random numbers.
    #[serde(default)]
    pub independent: bool,
    /// Dotted paths to lists of values: every combination is a point. Absent:
    /// one point, the file as written, run `replicates` times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<std::collections::BTreeMap<String, Vec<toml::Value>>>,
    /// Dotted paths to equally long lists that move together (zipped), crossed with the grid.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub paired: std::collections::BTreeMap<String, Vec<toml::Value>>,
}

/// `[clients]`: who sends requests, how often, for which keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClients {
    /// Number of distinct keys (synthetic clients; a trace decides its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u64>,
    /// Zipf exponent of key popularity (0 = uniform); see [`RawScenario::fill_defaults`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipf: Option<f64>,
    /// `"poisson"` (open loop) or `"closed"` (each user waits for its answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival: Option<String>,
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
    /// Each app instance's clock is off by up to ± this (uniform per instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew: Option<String>,
    /// App CPU time each cache command costs on its app instance (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_per_command: Option<String>,
    /// CPU cores of each app instance that run its CPU work (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores_per_instance: Option<u64>,
    /// An in-process cache on each app instance for the hottest keys.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_table"
    )]
    pub local_cache: Option<RawLocalCache>,
    /// Popularity drift, keys per second: the ranking shifts so new keys become
    /// hot as old ones cool (sessions, trending content); 0 = stationary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn: Option<f64>,
    /// A request trace to replay instead of synthetic clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<RawTrace>,
    /// Key classes (`[[clients.classes]]`); absent: one class holding every key.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "tables"
    )]
    pub classes: Vec<RawClass>,
}

/// `clients.local_cache`: each app instance keeps the values of keys
/// `key:1` ... `key:N` in process for `ttl` after it read or computed them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocalCache {
    /// How many keys, from `key:1` (the hottest when churn is 0).
    pub keys: u64,
    /// How long a locally kept value is served without asking the cache.
    pub ttl: String,
}

/// `clients.trace`: which trace to replay, in which format, how fast.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrace {
    /// The trace file, relative to the scenario file's folder.
    pub path: String,
    /// `oracle-general`, `twitter`, `cachelib` or `csv`.
    pub format: String,
    /// csv: whether the first line names the columns (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// csv: the field separator, one character (default `,`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// csv: the unit of the time column (default `"1s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_unit: Option<String>,
    /// csv: which column holds what, by header name or 1-based number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<RawColumns>,
    /// Timestamps are divided by it (default 1.0; 3.0 replays three times faster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
}

/// `clients.trace.columns`: a header name (string) or a 1-based column number.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumns {
    /// The request's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<toml::Value>,
    /// The key (required).
    pub key: toml::Value,
    /// The value's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<toml::Value>,
    /// The operation (absent: every record is a read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<toml::Value>,
    /// The TTL a write sets, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<toml::Value>,
}

/// `[[clients.classes]]`: a share of the keys with its own TTL, value size and query time.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    /// Class name (a key prefix such as `user_profile`).
    pub name: String,
    /// Share of the keys in this class; the shares add up to 1.
    pub share: f64,
    /// TTL of this class's keys (`"none"`: no TTL); absent: `cache.ttl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Value size of this class's keys; absent: `cache.value_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_size: Option<toml::Value>,
    /// Query time of this class's keys; absent: `database.query_time`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_table"
    )]
    pub query_time: Option<RawDistribution>,
}

/// `[cache]`: the Redis-like cache.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    /// Network round trip of one cache command: a duration, or a
    /// distribution table drawn per command (`{ dist = "lognormal", ... }`).
    #[serde(default = "default_cache_latency")]
    pub latency: toml::Value,
    /// Commands each Redis node executes per second, one at a time (absent:
    /// unlimited, every command is served at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_per_sec: Option<f64>,
    /// With `ops_per_sec`: extra server time per KB of value a command carries
    /// (a SET's value, a GET hit's reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_per_kb: Option<String>,
    /// Redis Cluster primaries (absent: one node); keys go to shards by hash slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u64>,
    /// Time to live of every SET (absent or `"none"`: keys never expire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Each SET draws its TTL from ttl × U(1 − j, 1 + j).
    #[serde(default)]
    pub ttl_jitter: f64,
    /// Cache contents at time 0: `"none"` (cold), `"fresh"` (every key just SET),
    /// `"steady"` (every key stored with a uniformly random remaining TTL).
    #[serde(default = "default_prewarm")]
    pub prewarm: String,
    /// Memory limit: bytes or a size such as `"64mb"`; 0 = unlimited.
    #[serde(default = "default_maxmemory")]
    pub maxmemory: toml::Value,
    /// Eviction policy (Redis `maxmemory-policy`, plus exact `lru` and `lfu`).
    #[serde(default = "default_policy")]
    pub policy: String,
    /// Keys sampled per eviction (Redis `maxmemory-samples`).
    #[serde(default = "default_samples")]
    pub samples: u32,
    /// Bytes Redis uses per key beyond the value (dict entry, key string, object header).
    #[serde(default = "default_key_overhead")]
    pub key_overhead: u64,
    /// Extra bytes per key with a TTL (its entry in Redis's expires dict).
    #[serde(default = "default_ttl_overhead")]
    pub ttl_overhead: u64,
    /// Value size: bytes, a size such as `"2kb"`, or a distribution table.
    #[serde(default = "default_value_size")]
    pub value_size: toml::Value,
    /// Redis `lfu-log-factor`.
    #[serde(default = "default_lfu_log_factor")]
    pub lfu_log_factor: u32,
    /// Redis `lfu-decay-time`.
    #[serde(default = "default_lfu_decay_time")]
    pub lfu_decay_time: String,
    /// Active expiry cycles per second (Redis `hz`).
    #[serde(default = "default_hz")]
    pub hz: u32,
    /// Share of cached reads whose payload fails to deserialize (treated as a miss).
    #[serde(default)]
    pub corrupt_rate: f64,
    /// Value compression (absent: values are stored as they are).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_table"
    )]
    pub compression: Option<RawCompression>,
}

/// `cache.compression`: smaller values for CPU time in the app.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCompression {
    /// Uncompressed size / stored size (e.g. 3.0 for zlib on JSON).
    pub ratio: f64,
    /// App CPU time per KB of uncompressed value, to compress before a SET
    /// and to decompress after a GET hit.
    pub cpu_per_kb: String,
}

impl Default for RawCache {
    fn default() -> Self {
        RawCache {
            latency: default_cache_latency(),
            ops_per_sec: None,
            service_per_kb: None,
            shards: None,
            ttl: None,
            ttl_jitter: 0.0,
            prewarm: default_prewarm(),
            maxmemory: default_maxmemory(),
            policy: default_policy(),
            samples: default_samples(),
            key_overhead: default_key_overhead(),
            ttl_overhead: default_ttl_overhead(),
            value_size: default_value_size(),
            lfu_log_factor: default_lfu_log_factor(),
            lfu_decay_time: default_lfu_decay_time(),
            hz: default_hz(),
            corrupt_rate: 0.0,
            compression: None,
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
    #[serde(default = "default_query_time", deserialize_with = "table")]
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

/// A distribution of durations: `dist` names it, the other keys are its parameters.
///
/// A plain struct rather than a serde-tagged enum, so that every field keeps its
/// own line in errors; which fields `dist` takes is checked in
/// [`super::validate::distribution`]. Serialised, it reads as written:
/// `{ dist = "lognormal", median = "20ms", p99 = "120ms" }`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDistribution {
    /// `"constant"`, `"exponential"` or `"lognormal"`.
    pub dist: String,
    /// constant: the one value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// exponential: the mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<String>,
    /// lognormal: the median (50th percentile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<String>,
    /// lognormal: the 99th percentile; must exceed the median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<String>,
}

/// `[strategy]`: the stampede mitigation and its options.
///
/// Each kind reads its own options (`src/strategy/<kind>.rs`): options that
/// do not apply to `kind` are errors; absent ones take the kind's defaults
/// (see `scenarios/reference.toml`).
#[derive(Clone, Debug, Deserialize)]
pub struct RawStrategy {
    /// Which mitigation (`"none"`: plain cache-aside).
    #[serde(default = "default_strategy_kind")]
    pub kind: String,
    /// The kind's options as given, checked when the scenario is validated.
    #[serde(flatten)]
    pub options: BTreeMap<String, toml::Value>,
}

impl Default for RawStrategy {
    fn default() -> Self {
        RawStrategy {
            kind: default_strategy_kind(),
            options: BTreeMap::new(),
        }
    }
}

/// `kind` first, then the options in the order the kind lists them (so a
/// resolved `scenario.toml` and its fingerprint do not depend on the order
/// they were written in), then any others by name.
impl Serialize for RawStrategy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let listed: &[&str] = crate::strategy::kind(&self.kind).map_or(&[], |k| k.options);
        let mut map = serializer.serialize_map(Some(1 + self.options.len()))?;
        map.serialize_entry("kind", &self.kind)?;
        for name in listed {
            if let Some(value) = self.options.get(*name) {
                map.serialize_entry(name, value)?;
            }
        }
        for (name, value) in &self.options {
            if !listed.contains(&name.as_str()) {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// `[[events]]`: a fault at a simulated time.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    /// `flush`, `cache-down`, `evict`, `spike` or `db-slowdown`.
    pub kind: String,
    /// When it happens.
    pub at: String,
    /// cache-down, spike, db-slowdown: how long it lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// evict: popularity rank of the key (1 = hottest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u64>,
    /// spike: arrival-rate multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// db-slowdown: query-time multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// flush, cache-down: only this shard (0-based, in slot order); absent: every shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u64>,
}

fn default_replicates() -> u32 {
    1
}
fn default_warmup() -> String {
    "0s".into()
}
fn default_seed() -> u64 {
    1
}
fn default_max_in_flight() -> u64 {
    1_000_000
}
fn default_interval() -> String {
    "1s".into()
}
fn default_retry_backoff() -> String {
    "100ms".into()
}
fn default_app_instances() -> u32 {
    1
}
fn default_cache_latency() -> toml::Value {
    toml::Value::String("500us".into())
}
fn default_prewarm() -> String {
    "none".into()
}
fn default_maxmemory() -> toml::Value {
    toml::Value::Integer(0)
}
fn default_policy() -> String {
    "noeviction".into()
}
fn default_samples() -> u32 {
    5
}
/// Calibrated against Redis 7 (see README, "Calibration").
pub const DEFAULT_KEY_OVERHEAD: u64 = 86;
/// Calibrated against Redis 7 (see README, "Calibration").
pub const DEFAULT_TTL_OVERHEAD: u64 = 42;
fn default_key_overhead() -> u64 {
    DEFAULT_KEY_OVERHEAD
}
fn default_ttl_overhead() -> u64 {
    DEFAULT_TTL_OVERHEAD
}
fn default_value_size() -> toml::Value {
    toml::Value::Integer(100)
}
fn default_lfu_log_factor() -> u32 {
    10
}
fn default_lfu_decay_time() -> String {
    "1m".into()
}
fn default_hz() -> u32 {
    10
}
fn default_connections() -> u64 {
    64
}
fn default_query_time() -> RawDistribution {
    RawDistribution {
        dist: "exponential".into(),
        value: None,
        mean: Some("20ms".into()),
        median: None,
        p99: None,
    }
}
fn default_strategy_kind() -> String {
    "none".into()
}

/// A `T` that may only be written as a table (`[name]`, `[[name]]` or `{ key = value }`).
///
/// serde's derived `Deserialize` also fills a struct from an array, by position, so
/// `clients = [20000, 1.0]` would silently read as `keys = 20000, zipf = 1.0`. Asking
/// the deserializer for a map makes an array the error it should be.
struct TableOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for TableOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OnlyMaps<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OnlyMaps<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table, written [name] or { key = value, ... }")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(OnlyMaps(PhantomData)).map(TableOnly)
    }
}

/// `deserialize_with` for a table-valued field.
fn table<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    TableOnly::deserialize(d).map(|t| t.0)
}

/// `deserialize_with` for an optional table-valued field.
fn optional_table<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<TableOnly<T>>::deserialize(d).map(|t| t.map(|t| t.0))
}

/// `deserialize_with` for an array of tables (`[[name]]`).
fn tables<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<TableOnly<T>>::deserialize(d).map(|v| v.into_iter().map(|t| t.0).collect())
}
