//! Properties that hold for every scenario, checked over random ones.

use proptest::prelude::*;

use crate::common::run;

/// Every strategy kind, with options that make it act within a 6 s run.
const STRATEGIES: [&str; 8] = [
    "kind = \"none\"",
    "kind = \"lock\"\nlease = \"50ms\"\nretry = \"5ms\"\nmax_wait = \"100ms\"\non_timeout = \"fail\"",
    "kind = \"lease-lock\"\nlease = \"20ms\"\nrenew = \"10ms\"\nretry = \"5ms\"",
    "kind = \"early\"\nwindow = \"500ms\"\nprobability = 0.3\nbackground = true",
    "kind = \"xfetch\"\nbeta = 2.0",
    "kind = \"swr\"\nstale = \"1s\"",
    "kind = \"coalesce\"",
    "kind = \"memcache-lease\"\nlease_interval = \"100ms\"\nretry = \"10ms\"\nstale = true",
];

/// No fault, or one of each kind, inside the 6 s run (two on one shard).
const FAULTS: [&str; 8] = [
    "",
    "[[events]]\nkind = \"flush\"\nat = \"3s\"",
    "[[events]]\nkind = \"cache-down\"\nat = \"2s\"\nduration = \"1500ms\"",
    "[[events]]\nkind = \"evict\"\nat = \"3s\"\nrank = 1",
    "[[events]]\nkind = \"spike\"\nat = \"2s\"\nduration = \"1s\"\nrate = 3.0",
    "[[events]]\nkind = \"db-slowdown\"\nat = \"2s\"\nduration = \"1s\"\nfactor = 5.0",
    "[[events]]\nkind = \"flush\"\nat = \"3s\"\nshard = 0",
    "[[events]]\nkind = \"cache-down\"\nat = \"2s\"\nduration = \"1500ms\"\nshard = 0",
];

/// The cache as a server (issue 14): no server model, a saturable single
/// node, a cluster with a per-KB cost, a drawn round trip, and app CPU per
/// command with or without a core limit: (`[clients]` lines, `[cache]` lines).
const SERVERS: [(&str, &str); 6] = [
    ("", "latency = \"1ms\""),
    ("", "latency = \"1ms\"\nops_per_sec = 6000"),
    (
        "",
        "latency = \"1ms\"\nops_per_sec = 50000\nservice_per_kb = \"2us\"\nshards = 3",
    ),
    (
        "",
        "latency = { dist = \"lognormal\", median = \"1ms\", p99 = \"5ms\" }\nshards = 2",
    ),
    ("cpu_per_command = \"20us\"", "latency = \"1ms\""),
    (
        "cpu_per_command = \"50us\"\ncores_per_instance = 1",
        "latency = { dist = \"exponential\", mean = \"1ms\" }\nops_per_sec = 20000",
    ),
];

/// A random but valid scenario: open or closed loop, with or without
/// timeouts, retries, pool timeouts and processor sharing, often overloaded,
/// under any strategy, fault and eviction policy.
fn scenario_text() -> impl Strategy<Value = String> {
    (
        (1u32..5_000, 0.0f64..1.5, prop::bool::ANY, 100.0f64..8_000.0),
        (prop::option::of(1u64..400), 0u32..3, prop::option::of(1u64..300)),
        (1u32..40, prop::option::of(1u32..8), 1u64..40, 0u64..5_000),
        (0.0f64..0.5, 0u64..3, 0u64..i64::MAX as u64),
        (prop::option::of(20_000u64..400_000), 0usize..10),
        (0..STRATEGIES.len(), 0..FAULTS.len(), 1u32..4, 0..SERVERS.len()),
    )
        .prop_map(
            |(
                (keys, zipf, closed, rate),
                (timeout_ms, retries, pool_timeout_ms),
                (connections, cores, query_ms, ttl_ms),
                (jitter, warmup_s, seed),
                (maxmemory, policy),
                (strategy, fault, instances, server),
            )| {
                let (app, cache) = SERVERS[server];
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
                     app_instances = {instances}\n{app}\n\
                     [cache]\n{cache}\n{ttl}\nttl_jitter = {jitter}\n{memory}\n\
                     [database]\nconnections = {connections}\n{pool}\n{cores}\n\
                     query_time = {{ dist = \"exponential\", mean = \"{query_ms}ms\" }}\n\
                     [strategy]\n{}\n{}\n",
                    STRATEGIES[strategy], FAULTS[fault]
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
        // Every failure is a timeout, a pool timeout, a lock waiter's
        // max_wait, or a coalesced follower sharing its leader's failure;
        // retries follow failures.
        let st = s.strategy;
        let causes = s.timeouts + s.pool_timeouts + st.lock_timeouts + st.coalesced;
        prop_assert!(s.errors <= causes, "{} errors, {} causes", s.errors, causes);
        prop_assert!(s.retries <= causes);
        prop_assert!(s.duplicate_queries <= s.db_queries);
        prop_assert!(s.db_utilization >= 0.0 && s.db_utilization <= 1.0 + 1e-9);
        // Quantiles are ordered and never above the exact maximum (r10).
        let l = s.latency_ms;
        prop_assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, "{:?}", l);
        prop_assert!(out.stop.is_none(), "{:?}", out.stop);
        // Every hold (request, lock, refresh flag, coalescing group) released.
        prop_assert_eq!(out.holds_left, 0);
        // The time series covers every request, warmup included.
        let rows = &out.timeseries;
        let arrived: u64 = rows.iter().map(|r| r.requests).sum();
        let first_reads: u64 = rows.iter().map(|r| r.hits + r.misses).sum();
        prop_assert_eq!(arrived, first_reads);
        prop_assert!(arrived >= s.requests);
        prop_assert!(rows.windows(2).all(|w| w[0].t_s < w[1].t_s));
        // Memory: never above maxmemory by more than the one write Redis lets
        // through before the next command evicts (86 + 42 + 100 bytes here),
        // on each shard (maxmemory is per node, as in Redis).
        let shards = s.shards.as_deref().unwrap_or_default();
        if let Some(limit) = maxmemory_of(&text) {
            let nodes = shards.len().max(1) as u64;
            prop_assert!(s.used_memory_peak <= nodes * (limit + 228), "peak {} limit {limit}", s.used_memory_peak);
            for shard in shards {
                prop_assert!(shard.used_memory_peak <= limit + 228, "shard {:?}", shard);
            }
        } else {
            // Only the `evict` fault evicts without a memory limit: one key.
            let faulted = u64::from(text.contains("kind = \"evict\""));
            prop_assert!(s.evicted_keys <= faulted && s.oom_rejections == 0);
        }
        // A server model's figures are shares and counts that add up.
        if let Some(u) = s.cache_utilization {
            prop_assert!((0.0..=1.0 + 1e-9).contains(&u), "cache utilisation {u}");
            prop_assert!(shards.iter().all(|x| x.utilization <= u + 1e-12));
            prop_assert_eq!(s.evicted_keys, shards.iter().map(|x| x.evicted_keys).sum::<u64>());
            prop_assert_eq!(s.expired_keys, shards.iter().map(|x| x.expired_keys).sum::<u64>());
            prop_assert!(rows.iter().all(|r| r.cache_utilization.is_some_and(|u| (0.0..=1.0 + 1e-9).contains(&u))));
        } else {
            prop_assert!(shards.is_empty() && rows.iter().all(|r| r.cache_queue_max.is_none()));
        }
    }

    #[test]
    fn app_instances_matter_only_to_coalescing_and_skew(text in scenario_text()) {
        // Without clock skew, only coalesce keeps per-instance state (and
        // app CPU with a core limit, which each instance has of its own).
        prop_assume!(!text.contains("kind = \"coalesce\"") && !text.contains("cores_per_instance"));
        let one = run(&text, &["clients.app_instances=1"]).summary;
        let three = run(&text, &["clients.app_instances=3"]).summary;
        prop_assert_eq!(one, three);
    }

    #[test]
    fn timeouts_bound_latency(text in scenario_text()) {
        // With a timeout and no retries, no client waits longer than the timeout.
        let out = run(&text, &["clients.timeout=120ms", "clients.retries=0"]);
        prop_assert!(out.summary.latency_ms.max <= 120.0 + 1e-9, "max {}", out.summary.latency_ms.max);
    }
}
