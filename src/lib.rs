//! # stampede — a discrete-event cache stampede simulator
//!
//! When a hot cache key expires, every concurrent request misses at once and
//! queries the database: a stampede. stampede simulates it from first
//! principles so mitigations can be compared safely.
//!
//! ## The model in one page
//! - **Time** ([`time`]) is an integer count of nanoseconds. Every random draw
//!   comes from a seeded ChaCha8 stream per component ([`rng`]): same scenario
//!   and seed give byte-identical outputs.
//! - **Clients** ([`workload`]) ask for keys with Zipf popularity (rank 1 the
//!   hottest), in an open loop (Poisson arrivals that never wait) or a closed
//!   loop (users who wait, then think). A request not answered within
//!   `timeout` fails for the client and may be retried after `retry_backoff`;
//!   the work it started carries on.
//! - **Cache** ([`cache`]), faithful to Redis 7: each command costs a
//!   `latency` round trip; SET stores the value with `ttl` × U(1 − j, 1 + j);
//!   memory is Σ (key overhead + value) up to `maxmemory`, enforced before
//!   each command by one of the 8 Redis eviction policies (a sampled
//!   16-entry pool, 1-second LRU clock, logarithmic LFU counter) or exact
//!   `lru`/`lfu`; writes that cannot fit fail with OOM; expiry is lazy and
//!   active (`hz` cycles a second).
//! - **Database** ([`db`]): `connections` queries run at once, more wait in
//!   FIFO order (up to `pool_timeout`); with `cores`, n running queries share
//!   the CPU and each runs at cores / n. A query for a key that already has one
//!   in flight is a *duplicate query*: the direct measure of a stampede.
//! - **Strategy** ([`strategy`]): the mitigation decides on a hit near expiry
//!   and on a miss (`none`, `lock`, `lease-lock`, `early`, `xfetch`, `swr`,
//!   `coalesce`, `memcache-lease`); the engine turns each decision into cache
//!   commands, sleeps and queries. Faults (`[[events]]`) flush, take down or
//!   evict from the cache, spike traffic or slow the database.
//! - **Engine** ([`engine`]): the event loop; **metrics** ([`metrics`]):
//!   streaming histograms and a per-interval time series; **report**
//!   ([`report`]): `summary.json`, `timeseries.csv`, charts.
//!
//! ## Around one run
//! - [`runner`]: the one place simulations run, one or many on a rayon pool.
//! - [`sweep`]: a `[sweep]` grid × replicates, seeds from indices.
//! - [`expect`]: `[expect]` thresholds on summary metrics.
//! - [`check`]: expectations and baselines (relative tolerance, Welch's test).
//! - [`stats`]: mean, 95% confidence interval, Welch's t-test, for all of them.
//! - [`plan`]: the smallest or largest parameter value meeting expectations.
//! - [`compare`]: several runs of one scenario on shared axes, labelled by
//!   what differs between their resolved scenarios.
//! - [`outdir`]: output paths checked before anything runs, directories
//!   replaced whole, nothing foreign deleted; [`interrupt`]: Ctrl-C.
//!
//! ## Example
//! ```
//! use std::path::Path;
//! let text = r#"
//!     name = "doc-example"
//!     duration = "2s"
//!     [clients]
//!     keys = 1000
//!     rate = 5000
//!     [cache]
//!     ttl = "1s"
//! "#;
//! let (scenario, _raw) = stampede::scenario::from_text(text, Path::new("example.toml"), &[]).unwrap();
//! let out = stampede::engine::run(&scenario, scenario.seed);
//! let s = &out.summary;
//! assert_eq!(s.requests, s.served + s.errors);
//! assert!(s.hit_ratio > 0.5);
//! ```

#![warn(missing_docs)]

pub mod cache;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod compare;
pub mod db;
pub mod engine;
pub mod error;
pub mod expect;
pub mod fit;
pub mod hint;
pub mod interrupt;
pub mod key_class;
pub mod metrics;
pub mod outdir;
pub mod plan;
pub mod progress;
pub mod report;
pub mod rng;
pub mod runner;
pub mod scenario;
pub mod slots;
pub mod stats;
pub mod strategy;
pub mod suggest;
pub mod sweep;
pub mod time;
pub mod trace;
pub mod workload;

pub use error::{Error, Result};
