//! Properties that hold for every scenario, checked over random ones.

use proptest::prelude::*;

use crate::common::run;

/// A random but valid scenario: open or closed loop, with or without
/// timeouts, retries, pool timeouts and processor sharing, often overloaded.
fn scenario_text() -> impl Strategy<Value = String> {
    (
        (1u32..5_000, 0.0f64..1.5, prop::bool::ANY, 100.0f64..8_000.0),
        (prop::option::of(1u64..400), 0u32..3, prop::option::of(1u64..300)),
        (1u32..40, prop::option::of(1u32..8), 1u64..40, 0u64..5_000),
        (0.0f64..0.5, 0u64..3, 0u64..i64::MAX as u64),
        (prop::option::of(20_000u64..400_000), 0usize..10),
    )
        .prop_map(
            |(
                (keys, zipf, closed, rate),
                (timeout_ms, retries, pool_timeout_ms),
                (connections, cores, query_ms, ttl_ms),
                (jitter, warmup_s, seed),
                (maxmemory, policy),
            )| {
                let memory = maxmemory.map_or(String::new(), |m| {
                    let policy = stampede::cache::policy::EvictionPolicy::NAMES[policy];
                    format!("maxmemory = {m}\npolicy = \"{policy}\"")
                });
                let arrival = if closed {
                    format!("arrival = \"closed\"\nclients = {}\nthink = \"20ms\"", rate as u64 / 20 + 1)
                } else {
                    format!("rate = {rate}")
                };
                let timeout = timeout_ms.map_or(String::new(), |t| format!("timeout = \"{t}ms\""));
                let pool = pool_timeout_ms.map_or(String::new(), |t| format!("pool_timeout = \"{t}ms\""));
                let cores = cores.map_or(String::new(), |c| format!("cores = {c}"));
                let ttl = if ttl_ms == 0 { String::new() } else { format!("ttl = \"{ttl_ms}ms\"") };
                format!(
                    "name = \"prop\"\nduration = \"6s\"\nwarmup = \"{warmup_s}s\"\nseed = {seed}\ninterval = \"250ms\"\n\
                     [clients]\nkeys = {keys}\nzipf = {zipf}\n{arrival}\n{timeout}\nretries = {retries}\nretry_backoff = \"30ms\"\n\
                     [cache]\nlatency = \"1ms\"\n{ttl}\nttl_jitter = {jitter}\n{memory}\n\
                     [database]\nconnections = {connections}\n{pool}\n{cores}\n\
                     query_time = {{ dist = \"exponential\", mean = \"{query_ms}ms\" }}\n"
                )
            },
        )
}

/// The `maxmemory` of a generated scenario, if it has one.
fn maxmemory_of(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("maxmemory = "))
        .map(|v| v.parse().expect("generated as an integer"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn every_request_ends_exactly_once(text in scenario_text()) {
        let out = run(&text, &[]);
        let s = &out.summary;
        // Conservation: each counted request is answered or fails, once.
        prop_assert_eq!(s.requests, s.served + s.errors, "served + errors");
        // Each request's first cache read is a hit or a miss.
        prop_assert_eq!(s.requests, s.hits + s.misses, "hits + misses");
        // Every failure is a timeout or a pool timeout; retries follow failures.
        prop_assert!(s.errors <= s.timeouts + s.pool_timeouts);
        prop_assert!(s.retries <= s.timeouts + s.pool_timeouts);
        prop_assert!(s.duplicate_queries <= s.db_queries);
        prop_assert!(s.db_utilization >= 0.0 && s.db_utilization <= 1.0 + 1e-9);
        prop_assert!(s.latency_ms.p50 <= s.latency_ms.p99 && s.latency_ms.p99 <= s.latency_ms.max * 1.001);
        // The time series covers every request, warmup included.
        let rows = &out.timeseries;
        let arrived: u64 = rows.iter().map(|r| r.requests).sum();
        let first_reads: u64 = rows.iter().map(|r| r.hits + r.misses).sum();
        prop_assert_eq!(arrived, first_reads);
        prop_assert!(arrived >= s.requests);
        prop_assert!(rows.windows(2).all(|w| w[0].t_s < w[1].t_s));
        // Memory: never above maxmemory by more than the one write Redis lets
        // through before the next command evicts (86 + 42 + 100 bytes here).
        if let Some(limit) = maxmemory_of(&text) {
            prop_assert!(s.used_memory_peak <= limit + 228, "peak {} limit {limit}", s.used_memory_peak);
        } else {
            prop_assert_eq!(s.evicted_keys + s.oom_rejections, 0);
        }
    }

    #[test]
    fn timeouts_bound_latency(text in scenario_text()) {
        // With a timeout and no retries, no client waits longer than the timeout.
        let out = run(&text, &["clients.timeout=120ms", "clients.retries=0"]);
        prop_assert!(out.summary.latency_ms.max <= 120.0 + 1e-9, "max {}", out.summary.latency_ms.max);
    }
}
