//! The memory model: eviction policies against Che's approximation and each
//! other, OOM behaviour, and per-class accounting.

use stampede::metrics::RunSummary;
use stampede::workload::zipf_probabilities;

use crate::common::run;

/// Bytes per stored key in these scenarios: default key overhead 86 + 100-byte value.
pub const PER_KEY: u64 = 186;

/// The hit ratio of a cache of `capacity` keys under the independent
/// reference model by its characteristic time T: key i is cached with
/// probability `cached(pᵢ, T)`, T solves Σᵢ cached(pᵢ, T) = capacity, and
/// the hit ratio is Σᵢ pᵢ · cached(pᵢ, T).
pub fn characteristic_hit_ratio(p: &[f64], capacity: f64, cached: impl Fn(f64, f64) -> f64) -> f64 {
    let filled = |t: f64| p.iter().map(|&pi| cached(pi, t)).sum::<f64>();
    let (mut lo, mut hi) = (0.0, 1.0);
    while filled(hi) < capacity {
        hi *= 2.0;
    }
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if filled(mid) < capacity {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    p.iter().map(|&pi| pi * cached(pi, hi)).sum()
}

/// Che's approximation of an exact LRU cache: cached(pᵢ, T) = 1 − e^(−pᵢT).
fn che_hit_ratio(p: &[f64], capacity: f64) -> f64 {
    characteristic_hit_ratio(p, capacity, |pi, t| 1.0 - (-pi * t).exp())
}

/// 10,000 Zipf(0.8) keys of one size, 2,000 req/s, near-zero latencies,
/// 600,000 requests counted after a warmup that fills the cache.
pub const LRU_WORKLOAD: &str = r#"
name = "lru"
duration = "400s"
warmup = "100s"
[clients]
keys = 10000
zipf = 0.8
rate = 2000
[cache]
latency = "10us"
value_size = 100
[database]
connections = 10000
query_time = { dist = "constant", value = "10us" }
"#;

pub fn run_policy(text: &str, policy: &str, capacity_keys: u64, extra: &[&str]) -> RunSummary {
    let maxmemory = format!("cache.maxmemory={}", capacity_keys * PER_KEY);
    let policy = format!("cache.policy={policy}");
    let sets: Vec<&str> = [maxmemory.as_str(), policy.as_str()]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    run(text, &sets).summary
}

#[test]
fn exact_lru_matches_che_approximation() {
    // 600k counted requests: standard error of the hit ratio under 0.001.
    // Che's approximation is accurate to a few tenths of a percent for Zipf
    // popularity at these sizes (Fricker, Robert & Roberts, 2012); 0.006 covers both.
    let p = zipf_probabilities(10_000, 0.8);
    for capacity in [250u64, 1_000, 3_000] {
        let s = run_policy(LRU_WORKLOAD, "lru", capacity, &[]);
        let che = che_hit_ratio(&p, capacity as f64);
        assert!(
            (s.hit_ratio - che).abs() < 0.006,
            "capacity {capacity}: exact LRU {:.4} vs Che {che:.4}",
            s.hit_ratio
        );
        assert!(s.evicted_keys > 0);
    }
}

/// A slow workload, so that Redis's 1-second LRU clock can tell keys apart:
/// a key stays cached for tens of seconds.
const SLOW: &str = r#"
name = "sampled"
duration = "3000s"
warmup = "500s"
[clients]
keys = 10000
zipf = 0.9
rate = 200
[cache]
latency = "10us"
value_size = 100
[database]
connections = 10000
query_time = { dist = "constant", value = "10us" }
"#;

#[test]
fn sampled_lru_lies_between_random_and_exact_and_improves_with_samples() {
    // Same seed for every policy: common random numbers, so the differences
    // (1 to 5 points) come from the policies, not from sampling noise.
    let capacity = 1_000;
    let random = run_policy(SLOW, "allkeys-random", capacity, &[]).hit_ratio;
    let s1 = run_policy(SLOW, "allkeys-lru", capacity, &["cache.samples=1"]).hit_ratio;
    let s5 = run_policy(SLOW, "allkeys-lru", capacity, &[]).hit_ratio;
    let s32 = run_policy(SLOW, "allkeys-lru", capacity, &["cache.samples=32"]).hit_ratio;
    let exact = run_policy(SLOW, "lru", capacity, &[]).hit_ratio;
    let all =
        format!("random {random:.4}, samples 1 {s1:.4}, 5 {s5:.4}, 32 {s32:.4}, exact {exact:.4}");
    assert!(random < s5 - 0.01, "{all}");
    assert!(s1 < s5 && s5 < s32, "more samples, closer to LRU: {all}");
    assert!(s32 <= exact + 0.003, "{all}");
    assert!(exact - s32 < 0.01, "32 samples are nearly exact: {all}");
}

#[test]
fn lfu_beats_lru_on_a_stationary_zipf_workload() {
    let capacity = 1_000;
    let lru = run_policy(SLOW, "allkeys-lru", capacity, &[]).hit_ratio;
    let lfu = run_policy(SLOW, "allkeys-lfu", capacity, &[]).hit_ratio;
    let exact_lfu = run_policy(SLOW, "lfu", capacity, &[]).hit_ratio;
    assert!(
        lfu > lru + 0.01,
        "allkeys-lfu {lfu:.4} vs allkeys-lru {lru:.4}"
    );
    assert!(
        exact_lfu > lru,
        "exact lfu {exact_lfu:.4} vs allkeys-lru {lru:.4}"
    );
}

#[test]
fn noeviction_fills_then_rejects_writes() {
    // 100k keys that never expire, room for 2,000: memory fills, then every
    // SET of a new key fails with OOM while reads go on.
    let text = r#"
name = "full"
duration = "60s"
[clients]
keys = 100000
zipf = 0.5
rate = 2000
[cache]
maxmemory = 372000
policy = "noeviction"
value_size = 100
"#;
    let out = run(text, &[]);
    let s = &out.summary;
    assert!(
        s.oom_rejections > 10_000,
        "OOM rejections {}",
        s.oom_rejections
    );
    assert_eq!(s.evicted_keys, 0);
    // Redis checks memory before a write, so the last write may overshoot by one entry.
    assert!(
        s.used_memory_peak <= 372_000 + PER_KEY,
        "peak {}",
        s.used_memory_peak
    );
    assert_eq!(
        s.requests,
        s.served + s.errors,
        "the client still gets its value"
    );
    // Rejections start only once memory is full.
    let first_reject = out
        .timeseries
        .iter()
        .position(|r| r.oom_rejections > 0)
        .unwrap();
    assert!(out.timeseries[first_reject].used_memory + PER_KEY > 372_000);
    assert!(
        out.timeseries[..first_reject]
            .iter()
            .all(|r| r.used_memory <= 372_000)
    );
}

const CLASSES: &str = r#"
name = "classes"
duration = "120s"
warmup = "20s"
[clients]
keys = 20000
zipf = 0.8
rate = 3000
[[clients.classes]]
name = "session"
share = 0.5
ttl = "30s"
[[clients.classes]]
name = "static"
share = 0.5
ttl = "none"
value_size = "1kb"
[cache]
maxmemory = "2mb"
value_size = 200
"#;

#[test]
fn volatile_policies_never_evict_keys_without_ttl() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        // No warmup: the evictions happen while memory fills up.
        let s = run(CLASSES, &[&format!("cache.policy={policy}"), "warmup=0s"]).summary;
        let class = |name: &str| s.classes.iter().find(|c| c.name == name).unwrap();
        assert_eq!(
            class("static").evicted_keys,
            0,
            "{policy} evicted a key without TTL"
        );
        assert!(
            class("session").evicted_keys > 0,
            "{policy} evicted nothing"
        );
        // Static keys end up filling memory: sessions can no longer be cached.
        assert!(
            s.oom_rejections > 0,
            "{policy}: writes fail once only static keys remain"
        );
        assert!(
            class("session").hit_ratio < 0.05,
            "{policy}: sessions still cached"
        );
    }
    // allkeys-lru evicts from both classes.
    let s = run(CLASSES, &["cache.policy=allkeys-lru"]).summary;
    assert!(s.classes.iter().all(|c| c.evicted_keys > 0));
    assert_eq!(s.oom_rejections, 0);
}

#[test]
fn per_class_results_add_up() {
    let s = run(CLASSES, &["cache.policy=allkeys-lru"]).summary;
    let sum = |f: fn(&stampede::metrics::classes::ClassSummary) -> u64| {
        s.classes.iter().map(f).sum::<u64>()
    };
    assert_eq!(sum(|c| c.requests), s.requests);
    assert_eq!(sum(|c| c.hits), s.hits);
    assert_eq!(sum(|c| c.evicted_keys), s.evicted_keys);
    assert_eq!(sum(|c| c.expired_keys), s.expired_keys);
    assert_eq!(sum(|c| c.keys), 20_000);
    // Half the keys each; 1 kB static values use most of the memory.
    let static_class = s.classes.iter().find(|c| c.name == "static").unwrap();
    assert_eq!(static_class.keys, 10_000);
    assert!(static_class.used_memory > s.classes[0].used_memory);
}

#[test]
fn active_expiry_reclaims_memory_of_keys_nobody_reads() {
    // Uniform keys over a large key space: most are read once and never again,
    // so only the active expiry cycle can reclaim them.
    let text = r#"
name = "expire"
duration = "60s"
[clients]
keys = 200000
zipf = 0.0
rate = 2000
[cache]
ttl = "5s"
"#;
    let used_at_end = |hz: &str| {
        let out = run(text, &[hz]);
        let last = out
            .timeseries
            .iter()
            .rev()
            .find(|r| r.t_s < 59.0)
            .unwrap()
            .used_memory;
        (last as f64, out.summary.expired_keys)
    };
    let (used_hz10, expired) = used_at_end("cache.hz=10");
    let (used_hz1, _) = used_at_end("cache.hz=1");
    // About 10k keys are live (2000/s × 5 s, 228 bytes each). Lazy expiry alone
    // would keep ~100k stale keys (23 MB); Redis's cycle stops a loop once at
    // most 2 of 20 sampled keys had expired, which holds the stale share near
    // a third of the volatile keys here, and lower with more cycles per second.
    let live = 2000.0 * 5.0 * (86.0 + 42.0 + 100.0);
    assert!(
        used_hz10 < live * 1.6,
        "hz 10: used {used_hz10} vs live {live}"
    );
    assert!(
        used_hz1 > used_hz10,
        "hz 1 leaves more stale keys: {used_hz1} vs {used_hz10}"
    );
    assert!(expired > 80_000);
}

#[test]
fn compression_trades_memory_for_latency() {
    // 4 kB values, compressed 4x at 10 µs per KB: a key stores 1 kB instead of
    // 4 kB, and a hit costs 40 µs of decompression on top of the 500 µs GET.
    let text = r#"
name = "zlib"
duration = "30s"
warmup = "5s"
[clients]
keys = 2000
rate = 2000
[cache]
ttl = "1h"
value_size = "4kb"
"#;
    let plain = run(text, &[]).summary;
    let zlib = run(
        text,
        &["cache.compression={ ratio = 4.0, cpu_per_kb = \"10us\" }"],
    )
    .summary;
    let per_key = |s: &RunSummary| s.used_memory_peak as f64 / s.classes[0].keys as f64;
    // Nearly every key is cached by the end (same keys in both runs).
    let saved = per_key(&plain) - per_key(&zlib);
    assert!(
        (saved / 3072.0 - 1.0).abs() < 0.1,
        "saved {saved:.0} bytes per key, expected about 3072 × stored share"
    );
    assert!((plain.latency_ms.p50 - 0.5).abs() < 0.01);
    assert!(
        (zlib.latency_ms.p50 - 0.54).abs() < 0.01,
        "p50 {}",
        zlib.latency_ms.p50
    );
    // Compressing delays each SET by 40 µs: a handful more misses, no more.
    assert!(
        plain.hits.abs_diff(zlib.hits) * 1000 < plain.hits,
        "{} vs {} hits",
        plain.hits,
        zlib.hits
    );
}
