//! Mitigations and faults: emergent behaviour, not scripted outcomes.
//!
//! One hot key at 2,000 requests/s, a 2 s TTL without jitter and 50 ms
//! queries: each expiry lets about 100 requests miss at once under `none`.

use stampede::metrics::RunSummary;

use crate::common::run;

const HOT_KEY: &str = r#"
name = "hot"
duration = "20s"
warmup = "1s"
[clients]
keys = 1
rate = 2000
[cache]
latency = "500us"
ttl = "2s"
prewarm = "fresh"
[database]
connections = 256
query_time = { dist = "constant", value = "50ms" }
"#;

/// Expiries of the hot key after warmup (one every TTL + refill time).
const EXPIRIES: u64 = 9;

fn hot(sets: &[&str]) -> RunSummary {
    run(HOT_KEY, sets).summary
}

#[test]
fn none_stampedes_and_a_lock_longer_than_the_query_does_not() {
    let none = hot(&[]);
    // About 2000/s × 50 ms = 100 concurrent misses per expiry.
    assert!(
        none.duplicate_queries > 60 * EXPIRIES,
        "none: {} duplicates",
        none.duplicate_queries
    );
    let lock = hot(&[
        "strategy.kind=lock",
        "strategy.lease=1s",
        "strategy.retry=20ms",
    ]);
    assert_eq!(lock.duplicate_queries, 0);
    assert!(
        lock.db_queries <= EXPIRIES + 1,
        "one query per expiry: {}",
        lock.db_queries
    );
    assert!(lock.strategy.lock_waits > 0, "losers sleep and read again");
    assert_eq!(lock.errors, 0);
}

#[test]
fn a_lease_shorter_than_the_query_lets_a_second_winner_in_and_renewal_fixes_it() {
    // A 20 ms lease expires while the 50 ms query runs: a waiter takes the lock.
    let short = hot(&[
        "strategy.kind=lock",
        "strategy.lease=20ms",
        "strategy.retry=5ms",
    ]);
    assert!(
        short.duplicate_queries >= EXPIRIES,
        "short lease: {} duplicates",
        short.duplicate_queries
    );
    assert!(short.strategy.lock_acquisitions > short.db_queries / 2);
    let renewed = hot(&[
        "strategy.kind=lease-lock",
        "strategy.lease=20ms",
        "strategy.renew=10ms",
        "strategy.retry=5ms",
    ]);
    assert_eq!(
        renewed.duplicate_queries, 0,
        "renewing the lease keeps one winner"
    );
}

#[test]
fn xfetch_refreshes_before_expiry_with_few_extra_recomputations() {
    let none = hot(&[]);
    let xfetch = hot(&["strategy.kind=xfetch", "strategy.beta=1.0"]);
    // Nearly every expiry miss becomes an early refresh...
    assert!(
        xfetch.misses * 20 < none.misses,
        "xfetch misses {} vs none {}",
        xfetch.misses,
        none.misses
    );
    assert!(xfetch.strategy.early_recomputations >= EXPIRIES);
    // ...and the few requests that also draw a refresh while one runs are
    // the only extra work (Vattani et al.: a small expected number).
    assert!(
        xfetch.strategy.early_recomputations < 4 * EXPIRIES,
        "{} recomputations for about {EXPIRIES} expiries",
        xfetch.strategy.early_recomputations
    );
}

#[test]
fn coalescing_sends_at_most_one_query_per_app_instance_per_expiry() {
    for instances in [1u64, 8] {
        let s = hot(&[
            "strategy.kind=coalesce",
            &format!("clients.app_instances={instances}"),
        ]);
        let expiries = EXPIRIES + 1;
        assert!(
            s.db_queries <= instances * expiries,
            "{instances} instances: {} queries over {expiries} expiries",
            s.db_queries
        );
        assert!(s.db_queries >= EXPIRIES, "{} queries", s.db_queries);
    }
    // With 8 app servers, coalescing still lets 8 queries in per expiry.
    let eight = hot(&["strategy.kind=coalesce", "clients.app_instances=8"]);
    assert!(
        eight.duplicate_queries >= 5 * EXPIRIES,
        "{} duplicates",
        eight.duplicate_queries
    );
}

#[test]
fn swr_serves_stale_and_keeps_p99_at_cache_latency() {
    let s = hot(&["strategy.kind=swr", "strategy.stale=1s"]);
    assert!(s.strategy.stale_served > 0);
    assert!(s.misses <= 1, "no request misses: {}", s.misses);
    assert!(
        s.latency_ms.p99 <= 0.6,
        "p99 {} ms at 0.5 ms cache latency",
        s.latency_ms.p99
    );
    assert!(
        s.strategy.refreshes >= EXPIRIES && s.strategy.refreshes <= EXPIRIES + 2,
        "one refresh per expiry: {}",
        s.strategy.refreshes
    );
    assert_eq!(s.duplicate_queries, 0);
}

#[test]
fn memcache_lease_issues_at_most_one_token_per_key_per_interval() {
    let s = hot(&["strategy.kind=memcache-lease", "strategy.lease_interval=1s"]);
    // 20 s of run: at most 21 tokens for the one key.
    assert!(
        s.strategy.lease_tokens <= 21,
        "tokens {}",
        s.strategy.lease_tokens
    );
    assert!(s.strategy.lease_tokens >= EXPIRIES);
    assert_eq!(s.duplicate_queries, 0);
    assert!(
        s.strategy.lock_waits > 0,
        "token-less readers wait and retry"
    );
    // With stale values allowed, waiters take the old value instead of waiting.
    let stale = hot(&[
        "strategy.kind=memcache-lease",
        "strategy.lease_interval=1s",
        "strategy.stale=true",
    ]);
    assert!(stale.strategy.stale_served > 0);
    assert!(stale.latency_ms.p99 < s.latency_ms.p99);
}

const FAULTS: &str = r#"
name = "faults"
duration = "30s"
warmup = "2s"
interval = "1s"
[clients]
keys = 5000
rate = 4000
timeout = "1s"
[cache]
ttl = "60s"
prewarm = "steady"
[database]
connections = 200
query_time = { dist = "exponential", mean = "10ms" }
"#;

#[test]
fn cache_down_sends_the_full_load_to_the_database_and_the_system_recovers() {
    let text =
        format!("{FAULTS}\n[[events]]\nkind = \"cache-down\"\nat = \"10s\"\nduration = \"5s\"\n");
    let out = run(&text, &[]);
    let rows = &out.timeseries;
    let queries = |t: f64| rows.iter().find(|r| r.t_s == t).unwrap().db_queries;
    // Down: every request goes to the database (4000/s).
    assert!(
        queries(12.0) > 3_600,
        "during the failover: {}",
        queries(12.0)
    );
    // Before and well after: the warm cache absorbs almost everything.
    assert!(queries(5.0) < 400, "before: {}", queries(5.0));
    assert!(queries(25.0) < 400, "after recovery: {}", queries(25.0));
    assert!(out.summary.strategy.cache_errors > 15_000);
}

#[test]
fn retries_raise_database_load_during_overload() {
    // A database slowdown makes queries 20x slower for 5 s: requests time out,
    // and with retries each timed-out request comes back as more queries.
    let text = format!(
        "{FAULTS}\n[[events]]\nkind = \"db-slowdown\"\nat = \"10s\"\nduration = \"5s\"\nfactor = 20.0\n\
         [[events]]\nkind = \"flush\"\nat = \"10s\"\n"
    );
    let without = run(&text, &["clients.retries=0"]).summary;
    let with = run(&text, &["clients.retries=3", "clients.retry_backoff=50ms"]).summary;
    assert!(without.timeouts > 0);
    assert!(with.retries > 0);
    assert!(
        with.db_queries > without.db_queries,
        "retries {} vs none {} queries",
        with.db_queries,
        without.db_queries
    );
}

#[test]
fn evicting_the_hottest_key_causes_a_burst_of_duplicates() {
    let text = format!("{HOT_KEY}\n[[events]]\nkind = \"evict\"\nat = \"3s\"\nrank = 1\n");
    let base = run(HOT_KEY, &["cache.ttl=1h"]).summary;
    let evicted = run(&text, &["cache.ttl=1h"]).summary;
    assert_eq!(
        base.db_queries, 0,
        "a warm cache with a long TTL never queries"
    );
    assert!(
        evicted.duplicate_queries > 60,
        "{} duplicates after the eviction",
        evicted.duplicate_queries
    );
    assert_eq!(evicted.evicted_keys, 1);
}

#[test]
fn corrupt_payloads_cause_a_silent_stampede() {
    // adaptive-locking-apee-lrm.txt: a failed deserialization is a miss.
    let s = hot(&["cache.ttl=1h", "cache.corrupt_rate=0.01"]);
    assert!(
        s.strategy.corrupt_reads > 300,
        "{} corrupt reads",
        s.strategy.corrupt_reads
    );
    assert!(s.db_queries >= s.strategy.corrupt_reads);
    assert!(s.hits > 0);
}
