//! Issue 14: the cache as a server and as a cluster, against queueing
//! theory, Redis Cluster's key placement and the cluster's own accounting.

use stampede::slots::{self, slot};

use crate::common::run;

/// Every request a hit on one GET: 1,000 keys stored at time 0 without TTL,
/// uniform popularity, Poisson arrivals at 80,000 req/s.
const HITS: &str = r#"
name = "hits"
duration = "20s"
warmup = "2s"
[clients]
keys = 1000
zipf = 0.0
rate = 80000
[cache]
latency = "200us"
prewarm = "fresh"
[database]
connections = 100
query_time = { dist = "constant", value = "1ms" }
"#;

/// M/D/1: the mean wait in queue for arrival rate λ and service rate μ, s.
fn md1_wait_s(lambda: f64, mu: f64) -> f64 {
    let rho = lambda / mu;
    rho / (2.0 * mu * (1.0 - rho))
}

#[test]
fn r14_poisson_gets_into_one_node_are_an_md1_queue() {
    // Each request is one GET: latency = round trip + wait + 1/μ, with the
    // wait of an M/D/1 queue. About 1.44 M counted commands per case: the
    // utilisation is within 0.3 % of ρ (Poisson count noise is 0.1 %), and
    // the mean wait, whose estimate is autocorrelated over the queue's
    // relaxation time (≈ 4 ms at ρ = 0.9), within 6 % of the formula.
    for (mu, rho) in [(160_000.0, 0.5), (100_000.0, 0.8), (88_888.89, 0.9)] {
        let lambda = 80_000.0;
        let ops = format!("cache.ops_per_sec={mu}");
        let out = run(HITS, &[&ops]);
        let s = &out.summary;
        assert_eq!(s.hits, s.requests, "every request hits");
        let service_s = (1e9_f64 / mu).round() / 1e9;
        let rho_exact = lambda * service_s;
        let utilization = s.cache_utilization.expect("a server model");
        assert!(
            (utilization - rho_exact).abs() < 0.003 * rho_exact.max(0.5),
            "ρ {rho}: utilisation {utilization:.4}, expected {rho_exact:.4}"
        );
        let wait_ms = s.latency_ms.mean - 0.2 - service_s * 1e3;
        let expected_ms = md1_wait_s(lambda, 1.0 / service_s) * 1e3;
        assert!(
            (wait_ms / expected_ms - 1.0).abs() < 0.06,
            "ρ {rho}: mean wait {:.2} µs, M/D/1 {:.2} µs",
            wait_ms * 1e3,
            expected_ms * 1e3
        );
        assert!(s.cache_queue_peak.expect("a server model") > 0);
    }
}

#[test]
fn r14_a_lognormal_round_trip_shows_its_median_and_p99_in_hit_latency() {
    // No queue: a hit's latency is one drawn round trip. The quantiles are
    // read from a 3-significant-digit histogram (±0.1 %) over 1.44 M draws
    // (sampling error of p99 ≈ 0.3 %); 2 % covers both.
    let out = run(
        HITS,
        &["cache.latency={ dist = \"lognormal\", median = \"500us\", p99 = \"4ms\" }"],
    );
    let l = out.summary.latency_ms;
    assert!((l.p50 / 0.5 - 1.0).abs() < 0.02, "p50 {} ms", l.p50);
    assert!((l.p99 / 4.0 - 1.0).abs() < 0.02, "p99 {} ms", l.p99);
    // The lognormal's mean: exp(μ + σ²/2) with σ = ln(8)/2.326.
    let sigma = 8f64.ln() / 2.326_347_874;
    let mean = 0.5 * (sigma * sigma / 2.0).exp();
    assert!(
        (l.mean / mean - 1.0).abs() < 0.01,
        "mean {} ms, expected {mean}",
        l.mean
    );
}

#[test]
fn r14_app_cpu_per_command_queues_on_the_instances_cores() {
    // One app instance with one core, 10 µs per command, 80,000 GETs/s: the
    // core is an M/D/1 queue at ρ = 0.8 in front of an unlimited cache.
    let out = run(
        HITS,
        &[
            "clients.cpu_per_command=10us",
            "clients.cores_per_instance=1",
        ],
    );
    let wait_ms = out.summary.latency_ms.mean - 0.2 - 0.01;
    let expected_ms = md1_wait_s(80_000.0, 100_000.0) * 1e3;
    assert!(
        (wait_ms / expected_ms - 1.0).abs() < 0.06,
        "mean wait {:.2} µs, M/D/1 {:.2} µs",
        wait_ms * 1e3,
        expected_ms * 1e3
    );
    // Unlimited cores: the cost is a plain delay.
    let free = run(HITS, &["clients.cpu_per_command=10us"]).summary;
    assert!(
        (free.latency_ms.mean - 0.21).abs() < 1e-6,
        "{}",
        free.latency_ms.mean
    );
}

/// Uniform keys, no TTL and no memory limit on a 3-shard cluster: by the
/// end every key has been read (each about 20 times) and stored.
const CLUSTER: &str = r#"
name = "cluster"
duration = "10s"
[clients]
keys = 30000
zipf = 0.0
rate = 60000
[cache]
latency = "200us"
shards = 3
[database]
connections = 1000
query_time = { dist = "constant", value = "1ms" }
"#;

/// How many of keys `key:1` ... `key:n` each of `shards` shards owns.
fn keys_per_shard(n: u32, shards: u16) -> Vec<u64> {
    let owner = slots::shard_table(shards);
    let mut count = vec![0; shards as usize];
    for k in 1..=n {
        count[owner[slot(format!("key:{k}").as_bytes()) as usize] as usize] += 1;
    }
    count
}

/// The shard owning `key:1`, the hottest key.
fn hottest_shard(shards: u16) -> usize {
    slots::shard_table(shards)[slot(b"key:1") as usize] as usize
}

#[test]
fn r14_every_shard_ends_with_the_keys_its_slots_hold() {
    for shards in [3u16, 5] {
        let set = format!("cache.shards={shards}");
        let s = run(CLUSTER, &[&set]).summary;
        let got: Vec<u64> = s
            .shards
            .as_ref()
            .expect("shards")
            .iter()
            .map(|x| x.keys)
            .collect();
        assert_eq!(got, keys_per_shard(30_000, shards), "{shards} shards");
        let ranges: Vec<String> = s.shards.iter().flatten().map(|x| x.slots.clone()).collect();
        let expected: Vec<String> = slots::slot_ranges(shards)
            .iter()
            .map(slots::range_text)
            .collect();
        assert_eq!(ranges, expected);
    }
    let three = run(CLUSTER, &[]).summary;
    let ranges: Vec<&str> = three
        .shards
        .iter()
        .flatten()
        .map(|x| x.slots.as_str())
        .collect();
    assert_eq!(
        ranges,
        ["0-5460", "5461-10922", "10923-16383"],
        "redis-cli's allocation"
    );
}

#[test]
fn r14_under_skew_the_hottest_keys_shard_is_the_busiest() {
    // Zipf 1.2 over 30,000 keys: key:1 alone draws 18 % of requests.
    let s = run(
        CLUSTER,
        &[
            "clients.zipf=1.2",
            "cache.ttl=1s",
            "cache.ops_per_sec=100000",
        ],
    )
    .summary;
    let shards = s.shards.expect("shards");
    let hot = hottest_shard(3);
    for (i, shard) in shards.iter().enumerate() {
        if i != hot {
            assert!(shard.commands < shards[hot].commands, "{shards:?}");
            assert!(shard.utilization < shards[hot].utilization, "{shards:?}");
        }
    }
    assert_eq!(s.cache_utilization, Some(shards[hot].utilization));
}

#[test]
fn r14_cache_down_and_flush_hit_only_their_shard() {
    // Shard 1 down for 2 s: the GETs that fail are those of its keys,
    // about its share of the uniform keys (0.7 % standard error at 120,000 GETs).
    let down = run(
        &format!(
            "{CLUSTER}[[events]]\nkind = \"cache-down\"\nat = \"4s\"\nduration = \"2s\"\nshard = 1\n"
        ),
        &["cache.prewarm=fresh"],
    )
    .summary;
    let share = keys_per_shard(30_000, 3)[1] as f64 / 30_000.0;
    let failed = down.strategy.cache_errors as f64 / (2.0 * 60_000.0);
    // Each failed GET is followed by a failed SET of the computed value.
    assert!(
        (failed / 2.0 - share).abs() < 0.01,
        "failed {failed:.4} (GET and SET) of commands, shard share {share:.4}"
    );
    // Shard 0 flushed at 5 s, with few requests after it: shards 1 and 2
    // still hold every key, shard 0 only those read since.
    let flushed = run(
        &format!("{CLUSTER}[[events]]\nkind = \"flush\"\nat = \"5s\"\nshard = 0\n"),
        &["cache.prewarm=fresh", "clients.rate=1000"],
    )
    .summary;
    let keys: Vec<u64> = flushed.shards.iter().flatten().map(|x| x.keys).collect();
    let all = keys_per_shard(30_000, 3);
    assert_eq!(keys[1..], all[1..], "untouched shards keep every key");
    assert!(
        keys[0] < all[0] / 2,
        "flushed shard {} of {}",
        keys[0],
        all[0]
    );
}

#[test]
fn r14_a_local_cache_takes_the_hot_keys_reads_off_its_shard() {
    let base = [
        "clients.zipf=1.2",
        "cache.ttl=1s",
        "cache.ops_per_sec=100000",
    ];
    let plain = run(CLUSTER, &base).summary;
    let mut with = base.to_vec();
    with.push("clients.local_cache={ keys = 1, ttl = \"1s\" }");
    let local = run(CLUSTER, &with).summary;
    // key:1's share of requests under Zipf 1.2 over 30,000 keys.
    let p1 = stampede::workload::zipf_probabilities(30_000, 1.2)[0];
    let share = local.local_hits as f64 / local.requests as f64;
    assert!(
        (share - p1).abs() < 0.005,
        "local hits {share:.4}, key:1 share {p1:.4}"
    );
    let hot = hottest_shard(3);
    let (before, after) = (&plain.shards.unwrap()[hot], &local.shards.unwrap()[hot]);
    // Each local hit is a GET its shard no longer executes.
    let saved = before.commands as f64 - after.commands as f64;
    assert!(
        (saved / local.local_hits as f64 - 1.0).abs() < 0.02,
        "hot shard commands {} -> {}, local hits {}",
        before.commands,
        after.commands,
        local.local_hits
    );
    assert_eq!(local.requests, local.hits + local.misses);
}

#[test]
fn r14_without_a_server_model_the_outputs_have_no_server_fields() {
    let out = run(HITS, &[]);
    let json = stampede::report::summary_json(&out.summary);
    for field in [
        "cache_utilization",
        "cache_queue_peak",
        "shards",
        "local_hits",
    ] {
        assert!(!json.contains(field), "{field} in {json}");
    }
    assert!(out.shard_rows.is_empty());
    let csv = String::from_utf8(stampede::report::to_csv(&out.timeseries)).expect("utf-8");
    assert!(!csv.contains("cache_utilization"));
}

#[test]
fn r14_a_replayed_trace_places_its_keys_by_their_own_names_and_hash_tags() {
    // Keys with hash tags land with their tag's slot: the two {user:1} keys
    // share a shard whatever the rest of their names.
    let keys = [
        "{user:1}.profile",
        "{user:1}.feed",
        "{user:2}.feed",
        "foo",
        "bar",
        "hello",
        "somekey",
    ];
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut csv = String::from("time,key\n");
    for (i, k) in keys.iter().enumerate() {
        csv += &format!("{i},{k}\n");
    }
    std::fs::write(dir.path().join("t.csv"), csv).expect("writable");
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        "name = \"sharded-trace\"\n[clients]\ntrace = { path = \"t.csv\", format = \"csv\", columns = { time = \"time\", key = \"key\" } }\n\
         [cache]\nshards = 3\n",
    )
    .expect("writable");
    let out = crate::common::stampede(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
        "--json",
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let owner = slots::shard_table(3);
    let mut expected = [0u64; 3];
    for k in keys {
        expected[owner[slot(k.as_bytes()) as usize] as usize] += 1;
    }
    let got: Vec<u64> = summary["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|s| s["keys"].as_u64().expect("keys"))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(slot(b"{user:1}.profile"), slot(b"{user:1}.feed"));
}
