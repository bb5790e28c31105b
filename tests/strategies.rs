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

/// [`HOT_KEY`] under `swr` with 1 s queries, whose refreshes run every 3 s
/// (at 2, 5, 8 s...): the cache goes down at 8.5 s for 4 s, while the
/// refresh started at 8 s runs.
const SWR_OUTAGE: [&str; 5] = [
    "duration=90s",
    "database.connections=2048",
    "database.query_time.value=1s",
    "strategy.kind=swr",
    "strategy.stale=30s",
];

#[test]
fn r10_a_refresh_that_lost_its_lock_in_an_outage_releases_the_refresh_flag() {
    // The refresh's SET fails while the cache is down, so its lock (10 s
    // lease) outlives it; after the outage, refreshes lose that lock until it
    // expires at 18 s. Each must still give the key's refresh flag back:
    // refreshes resume every 3 s and no request misses again. (Before the fix
    // the flag stayed set, no refresh ever ran again, and every 32 s the
    // stale value expired into a stampede of about 2,000 duplicate queries.)
    let text = format!(
        "{HOT_KEY}\n[[events]]\nkind = \"cache-down\"\nat = \"8500ms\"\nduration = \"4s\"\n"
    );
    let out = run(&text, &SWR_OUTAGE);
    let after = |t: f64| out.timeseries.iter().filter(move |r| r.t_s >= t);
    let duplicates: u64 = after(13.0).map(|r| r.duplicate_queries).sum();
    assert_eq!(duplicates, 0, "duplicate queries after the outage");
    let refreshes: u64 = after(18.0).map(|r| r.refreshes).sum();
    assert!(
        (22..=25).contains(&refreshes),
        "one refresh every 3 s from 18 s to 90 s: {refreshes}"
    );
    let misses: u64 = after(13.0).map(|r| r.misses).sum();
    assert_eq!(misses, 0, "misses after the outage");
}

#[test]
fn r10_a_lock_refused_for_oom_is_not_a_cache_error() {
    // noeviction, 1,000 keys without TTL and room for about a hundred: once
    // memory is full, every SET NX for a missing key is refused with OOM. The
    // cache is up: no cache error; the request computes without the lock.
    let s = run(
        HOT_KEY,
        &[
            "clients.keys=1000",
            "cache.ttl=none",
            "cache.prewarm=none",
            "cache.maxmemory=20000",
            "cache.policy=noeviction",
            "strategy.kind=lock",
        ],
    )
    .summary;
    assert!(s.oom_rejections > 1000, "{} OOM", s.oom_rejections);
    assert_eq!(s.strategy.cache_errors, 0, "the cache never was down");
    assert_eq!(s.errors, 0, "every request is still answered");
    assert_eq!(s.requests, s.served);
}

#[test]
fn r10_a_lock_waiter_that_times_out_then_reaches_max_wait_fails_once() {
    // The client gives up at 100 ms (no retries); the lock waiter it leaves
    // behind reaches max_wait at 200 ms with on_timeout = fail: one error.
    let s = hot(&[
        "strategy.kind=lock",
        "strategy.lease=10s",
        "strategy.retry=10ms",
        "strategy.max_wait=200ms",
        "strategy.on_timeout=fail",
        "clients.timeout=100ms",
        "database.query_time.value=1s",
    ]);
    assert!(s.timeouts > 0 && s.strategy.lock_timeouts > 0);
    assert_eq!(s.requests, s.served + s.errors, "each request ends once");
    assert_eq!(s.errors, s.timeouts, "every error is one timeout");
}

#[test]
fn r10_every_cache_command_that_fails_in_an_outage_is_a_cache_error() {
    // Without a mitigation each request sends a GET and, after its query, a
    // SET: while the cache is down both fail, two cache errors per request.
    let text =
        format!("{FAULTS}\n[[events]]\nkind = \"cache-down\"\nat = \"10s\"\nduration = \"5s\"\n");
    let out = run(&text, &[]);
    let inside = out
        .timeseries
        .iter()
        .filter(|r| (11.0..14.0).contains(&r.t_s));
    let (errors, requests) = inside.fold((0, 0), |(e, q), r| (e + r.cache_errors, q + r.requests));
    let per_request = errors as f64 / requests as f64;
    // A request's SET lands up to a query later than its GET: 2 within 2 %.
    assert!(
        (per_request - 2.0).abs() < 0.04,
        "{per_request} cache errors per request"
    );
}

mod plug_in {
    //! A mitigation is one file: a kind written outside the crate runs
    //! through the engine's mechanisms and behaves exactly like the built-in
    //! kind it re-implements, so the engine holds no mitigation's logic.

    use std::sync::Arc;

    use stampede::engine;
    use stampede::strategy::{Kind, Locks, Miss, Mitigation, Needs, OnMiss, Options, Strategy};
    use stampede::time::SimDuration;

    use crate::common::scenario;

    /// Single flight per app instance, written from the trait alone.
    #[derive(Debug)]
    struct OutsideCoalesce;

    impl Mitigation for OutsideCoalesce {
        fn needs(&self) -> Needs {
            Needs {
                payload: false,
                locks: Locks::Never,
                lease_tokens: None,
                retry: None,
                keep_stale: SimDuration::ZERO,
            }
        }
        fn on_miss(&self, _: Miss) -> OnMiss {
            OnMiss::Join
        }
        fn on_cache_down(&self) -> OnMiss {
            OnMiss::Join
        }
    }

    static OUTSIDE: Kind = Kind {
        name: "outside-coalesce",
        options: &[],
        parse: |_| Ok(Arc::new(OutsideCoalesce)),
    };

    #[test]
    fn r10_a_mitigation_written_outside_the_engine_runs_exactly_like_the_built_in_one() {
        let text = format!(
            "{}\n[[events]]\nkind = \"cache-down\"\nat = \"8500ms\"\nduration = \"4s\"\n",
            super::HOT_KEY
        );
        let sets = ["clients.app_instances=3"];
        let mut outside = scenario(&text, &sets);
        let given = Default::default();
        outside.strategy = Strategy::parse(&OUTSIDE, &Options::new(&given)).expect("no options");
        let outside = engine::run(&outside, outside.seed).summary;

        let builtin = scenario(
            &text,
            &["clients.app_instances=3", "strategy.kind=coalesce"],
        );
        let builtin = engine::run(&builtin, builtin.seed).summary;
        assert_eq!(outside, builtin);
        // And it is not the baseline: joining saved queries.
        let none = scenario(&text, &sets);
        let none = engine::run(&none, none.seed).summary;
        assert!(
            outside.db_queries * 2 < none.db_queries,
            "coalesced {} vs none {}",
            outside.db_queries,
            none.db_queries
        );
        assert!(outside.strategy.coalesced > 0);
    }
}
