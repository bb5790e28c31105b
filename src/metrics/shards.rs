//! Per-shard outputs of a cache modelled as servers: `summary.json`'s
//! `shards` and `shards.csv` (SPEC §6 contract), filled by the cluster model.

use serde::{Deserialize, Serialize};

/// One shard in `summary.json` (SPEC §6 contract: `shards`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardSummary {
    /// Its hash slots, as redis-cli prints them (`"0-5460"`).
    pub slots: String,
    /// Keys stored at the end (`DBSIZE`, locks included).
    pub keys: u64,
    /// Commands it executed after warmup.
    pub commands: u64,
    /// Share of the time after warmup its thread was busy (0 with unlimited `ops_per_sec`).
    pub utilization: f64,
    /// Most commands waiting for its thread at once after warmup.
    pub queue_peak: u64,
    /// Highest used memory, bytes (whole run).
    pub used_memory_peak: u64,
    /// Keys evicted after warmup.
    pub evicted_keys: u64,
    /// Keys expired after warmup.
    pub expired_keys: u64,
    /// keyspace_hits / (keyspace_hits + keyspace_misses) of its GETs after warmup.
    pub hit_ratio: f64,
}

/// One row of `shards.csv`: a shard over one time-series interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRow {
    /// Start of the row, seconds.
    pub t_s: f64,
    /// The row starts after the last arrival (charts leave it out).
    pub drain: bool,
    /// The shard (0-based, in slot order).
    pub shard: u16,
    /// Commands it received in the row.
    pub commands: u64,
    /// Share of the row its thread was busy.
    pub utilization: f64,
    /// Most commands waiting at once.
    pub queue_max: u64,
    /// Used memory at the end of the row, bytes.
    pub used_memory: u64,
    /// Keys evicted in the row.
    pub evicted_keys: u64,
    /// Keys expired in the row.
    pub expired_keys: u64,
}
