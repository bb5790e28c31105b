//! Every class of bad input (SPEC §4): exit 2, a message naming the key, no panic, no output.

use std::fs;

use crate::common::stampede;

const GOOD: &str = r#"name = "ok"
duration = "5s"

[clients]
keys = 100
rate = 1000

[cache]
ttl = "1s"

[database]
connections = 8
"#;

/// Runs `stampede run` on `text` with `extra` arguments and checks the failure.
fn rejects(text: &str, extra: &[&str], must_mention: &[&str]) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("bad.toml");
    fs::write(&file, text).unwrap();
    let out_dir = tmp.path().join("out");
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = stampede(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit code for {extra:?}; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    for word in must_mention {
        assert!(
            stderr.contains(word),
            "message should mention {word:?}: {stderr}"
        );
    }
    assert!(!out_dir.exists(), "no output directory on bad input");
}

fn replace(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from));
    GOOD.replacen(from, to, 1)
}

#[test]
fn impossible_values_are_rejected_with_the_key_and_line() {
    rejects(
        &replace("rate = 1000", "rate = -5"),
        &[],
        &["clients.rate", "bad.toml:6"],
    );
    rejects(
        &replace("rate = 1000", "rate = 0"),
        &[],
        &["clients.rate", "> 0"],
    );
    rejects(
        &replace("rate = 1000", "rate = 1000\nzipf = -0.5"),
        &[],
        &["clients.zipf", ">= 0"],
    );
    rejects(
        &replace("ttl = \"1s\"", "ttl = \"1s\"\nttl_jitter = 1.0"),
        &[],
        &["cache.ttl_jitter", "[0, 1)"],
    );
    rejects(
        &replace("ttl = \"1s\"", "ttl = \"1s\"\nttl_jitter = -0.1"),
        &[],
        &["cache.ttl_jitter"],
    );
    rejects(
        &replace("connections = 8", "connections = 0"),
        &[],
        &["database.connections"],
    );
    rejects(
        &replace("duration = \"5s\"", "duration = \"0s\""),
        &[],
        &["duration", "longer than zero"],
    );
    rejects(
        &replace("duration = \"5s\"", "duration = \"5 parsecs\""),
        &[],
        &["duration", "unit"],
    );
    rejects(&replace("keys = 100", "keys = 0"), &[], &["clients.keys"]);
    rejects(
        &replace("duration = \"5s\"", "duration = \"5s\"\nwarmup = \"9s\""),
        &[],
        &["warmup"],
    );
}

#[test]
fn unknown_keys_and_names_are_rejected() {
    rejects(
        &replace("rate = 1000", "rate = 1000\nrat = 5"),
        &[],
        &["`clients.rat`", "bad.toml:7:1"],
    );
    rejects(
        &replace("name = \"ok\"", "name = \"ok\"\ncolour = \"blue\""),
        &[],
        &["colour"],
    );
    rejects(
        &format!("{GOOD}\n[strategy]\nkind = \"lok\"\n"),
        &[],
        &["strategy.kind", "\"none\""],
    );
    rejects(
        &replace("[cache]", "[cache]\nprewarm = \"hot\""),
        &[],
        &["cache.prewarm", "steady"],
    );
    rejects(
        &replace("rate = 1000", "rate = 1000\narrival = \"burst\""),
        &[],
        &["clients.arrival", "closed"],
    );
    rejects(
        &replace(
            "connections = 8",
            "connections = 8\nquery_time = { dist = \"pareto\", mean = \"1ms\" }",
        ),
        &[],
        &["pareto", "constant"],
    );
    rejects("name = \"x\"\nduration = [", &[], &["bad.toml:2:"]);
    rejects(
        &replace("keys = 100\n", ""),
        &[],
        &["`clients.keys`", "bad.toml:4"],
    );
}

#[test]
fn bad_strategies_and_events_are_rejected() {
    let with = |extra: &str| format!("{GOOD}\n{extra}\n");
    rejects(
        &with("[strategy]\nkind = \"xfetch\"\nlease = \"1s\""),
        &[],
        &["strategy.lease", "beta"],
    );
    rejects(
        &with("[strategy]\nkind = \"lock\"\non_timeout = \"panic\""),
        &[],
        &["strategy.on_timeout", "compute"],
    );
    rejects(
        &with("[strategy]\nkind = \"lease-lock\"\nlease = \"100ms\"\nrenew = \"200ms\""),
        &[],
        &["strategy.renew", "shorter"],
    );
    rejects(
        &with("[strategy]\nkind = \"early\"\nprobability = 1.5"),
        &[],
        &["strategy.probability"],
    );
    rejects(
        &with("[[events]]\nkind = \"meteor\"\nat = \"1s\""),
        &[],
        &["events[0].kind", "cache-down"],
    );
    rejects(
        &with("[[events]]\nkind = \"cache-down\"\nat = \"1s\""),
        &[],
        &["events[0].duration", "missing"],
    );
    rejects(
        &with("[[events]]\nkind = \"flush\"\nat = \"9s\""),
        &[],
        &["events[0].at", "end of the run"],
    );
    rejects(
        &with("[[events]]\nkind = \"evict\"\nat = \"1s\"\nrank = 101"),
        &[],
        &["events[0].rank"],
    );
    rejects(
        &with("[[events]]\nkind = \"spike\"\nat = \"1s\"\nduration = \"1s\"\nrate = -2.0"),
        &[],
        &["events[0].rate"],
    );
    rejects(
        &replace("[cache]", "[cache]\ncorrupt_rate = 1.5"),
        &[],
        &["cache.corrupt_rate"],
    );
}

#[test]
fn bad_flags_are_rejected() {
    rejects(GOOD, &["--set", "clients.rat=5"], &["rat", "--set"]);
    rejects(
        GOOD,
        &["--set", "clients.rate=-1"],
        &["clients.rate", "--set"],
    );
    rejects(GOOD, &["--set", "clients.rate=fast"], &["rate"]);
    rejects(GOOD, &["--set", "clients.rate"], &["PATH=VALUE"]);
    rejects(GOOD, &["--set", "cache.ttl.x=1"], &["cache.ttl"]);
    rejects(GOOD, &["--seed", "minus-one"], &["--seed"]);
    rejects(GOOD, &["--bogus"], &["--bogus"]);
    rejects(
        GOOD,
        &["--set", "strategy.kind=lock", "--set", "strategy.beta=2"],
        &["strategy.beta"],
    );
}

#[test]
fn missing_files_and_directories_are_bad_input() {
    let out = stampede(&["run", "scenarios/no-such-file.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-file.toml"));
    let out = stampede(&["plot", "/nonexistent/run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a run or sweep directory"));
}

#[test]
fn malformed_expectations_are_rejected_with_the_line_and_what_is_allowed() {
    let with = |expect: &str| format!("{GOOD}\n[expect]\n{expect}\n");
    rejects(
        &with("\"latency_ms.p98\" = \"< 50\""),
        &[],
        &[
            "expect.\"latency_ms.p98\"",
            "bad.toml:15",
            "allowed:",
            "latency_ms.p99",
        ],
    );
    rejects(
        &with("\"hit_ratio\" = \"about 0.9\""),
        &[],
        &["expect.\"hit_ratio\"", "operator"],
    );
    rejects(
        &with("\"latency_ms.p99\" = \"< 50ms\""),
        &[],
        &["not a number", "in ms"],
    );
    rejects(&with("\"hit_ratio\" = []"), &[], &["no condition"]);
    rejects(
        &with("\"hit_ratio\" = 0.9"),
        &[],
        &["bad.toml:15", "`expect.hit_ratio`", "in quotes, such as"],
    );
}

#[test]
fn check_and_plan_reject_bad_flags_before_running() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("ok.toml");
    fs::write(&file, GOOD).unwrap();
    let f = file.to_str().unwrap();
    let out_dir = tmp.path().join("out");
    let o = out_dir.to_str().unwrap();
    for (args, needle) in [
        (vec!["check", f, "--bless"], "--baseline DIR"),
        (vec!["check", f, "--tolerance=-1"], "--tolerance -1"),
        (vec!["check", f, "--baseline", o], "--bless"),
        (
            vec![
                "plan",
                f,
                "--vary",
                "database.connections",
                "--range",
                "1..4",
                "--out",
                o,
            ],
            "no expectations",
        ),
        (
            vec![
                "plan",
                f,
                "--vary",
                "database.connections",
                "--range",
                "8-16",
                "--expect",
                "errors == 0",
                "--out",
                o,
            ],
            "LO..HI",
        ),
        (
            vec![
                "plan",
                f,
                "--vary",
                "database.connection",
                "--range",
                "1..4",
                "--expect",
                "errors == 0",
                "--out",
                o,
            ],
            "database.connection",
        ),
        (
            vec![
                "plan",
                f,
                "--vary",
                "database.connections",
                "--range",
                "0..4",
                "--expect",
                "errors == 0",
                "--out",
                o,
            ],
            "connections",
        ),
        (
            vec![
                "plan",
                f,
                "--vary",
                "database.connections",
                "--range",
                "1..4",
                "--expect",
                "p99 < 5",
                "--out",
                o,
            ],
            "not a summary metric",
        ),
    ] {
        let out = stampede(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?} should mention {needle:?}: {stderr}"
        );
        assert!(!out_dir.exists(), "{args:?} wrote output");
    }
}

#[test]
fn r10_huge_duration_is_refused_not_wrapped() {
    // A number of hundreds of digits used to parse as infinity, saturate and
    // wrap the sum to 1 s: a 1-second run instead of an error.
    let huge = format!("duration = \"1{}s1s\"", "0".repeat(100));
    rejects(
        &replace("duration = \"5s\"", &huge),
        &[],
        &["bad.toml:2:1", "`duration`", "36500d (100 years)"],
    );
    rejects(
        &replace("duration = \"5s\"", "duration = \"300000000000d\""),
        &[],
        &["bad.toml:2:1", "`duration`", "36500d"],
    );
    rejects(
        GOOD,
        &["--set", "cache.ttl=36501d"],
        &["--set cache.ttl", "`cache.ttl`", "36500d"],
    );
}

#[test]
fn r10_table_given_as_array_is_refused() {
    // serde fills a struct from an array by position: `clients = [20000, 1.0]`
    // was read as keys = 20000, zipf = 1.0.
    rejects(
        "name = \"x\"\nduration = \"5s\"\nclients = [20000, 1.0]\n",
        &[],
        &["bad.toml:3:", "`clients`", "takes a table"],
    );
    rejects(
        &replace(
            "connections = 8",
            "connections = 8\nquery_time = [\"constant\", \"20ms\"]",
        ),
        &[],
        &["bad.toml:13:", "`database.query_time`", "takes a table"],
    );
    rejects(
        &replace("ttl = \"1s\"", "ttl = \"1s\"\ncompression = [3.0, \"1ms\"]"),
        &[],
        &["bad.toml:10:", "`cache.compression`", "takes a table"],
    );
    rejects(
        &replace(
            "name = \"ok\"",
            "name = \"ok\"\nevents = [[\"flush\", \"1s\"]]",
        ),
        &[],
        &["bad.toml:2:", "`events[0]`", "takes a table"],
    );
    rejects(
        &format!(
            "{GOOD}\n[[clients.classes]]\nname = \"a\"\nshare = 1.0\nquery_time = [\"constant\", \"1ms\"]\n"
        ),
        &[],
        &[
            "bad.toml:17:",
            "`clients.classes[0].query_time`",
            "takes a table",
        ],
    );
    rejects(
        GOOD,
        &["--set", "strategy=[\"lock\"]"],
        &["--set strategy", "`strategy`", "takes a table"],
    );
}

#[test]
fn r10_bad_p99_names_query_time_p99() {
    let with_query = |q: &str| {
        replace(
            "connections = 8",
            &format!("connections = 8\nquery_time = {q}"),
        )
    };
    rejects(
        &with_query("{ dist = \"lognormal\", median = \"20ms\", p99 = 5 }"),
        &[],
        &[
            "bad.toml:13:",
            "`database.query_time.p99`",
            "takes a duration with a unit, such as \"5s\"",
        ],
    );
    rejects(
        &with_query("{ dist = \"lognormal\", median = \"20ms\", p99 = \"1ms\" }"),
        &[],
        &["bad.toml:13:", "`database.query_time.p99`", "median"],
    );
    rejects(
        &with_query("{ dist = \"lognormal\", median = \"20ms\" }"),
        &[],
        &["bad.toml:13:", "`database.query_time.p99`", "missing"],
    );
    rejects(
        &with_query("{ dist = \"constant\", value = \"1ms\", mean = \"2ms\" }"),
        &[],
        &["`database.query_time.mean`", "does not apply"],
    );
    rejects(
        &with_query("{ dist = \"pareto\", mean = \"1ms\" }"),
        &[],
        &["`database.query_time.dist`", "\"lognormal\""],
    );
    rejects(
        &format!(
            "{GOOD}\n[[clients.classes]]\nname = \"a\"\nshare = 0.5\n[[clients.classes]]\nname = \"b\"\nshare = 0.5\nquery_time = {{ dist = \"lognormal\", median = \"20ms\", p99 = \"1ms\" }}\n"
        ),
        &[],
        &["bad.toml:20:", "`clients.classes[1].query_time.p99`"],
    );
}

#[test]
fn r10_parser_errors_name_the_key_and_line() {
    rejects(
        &replace("keys = 100", "keys = \"many\""),
        &[],
        &["bad.toml:5:8", "`clients.keys`", "whole number"],
    );
    rejects(
        &replace("rate = 1000", "rate = \"fast\""),
        &[],
        &[
            "bad.toml:6:8",
            "`clients.rate`",
            "is \"fast\"; it takes a number of requests per second",
        ],
    );
    rejects(
        &format!("{GOOD}\n[[clients.classes]]\nname = \"a\"\nshare = \"half\"\n"),
        &[],
        &["bad.toml:16:", "`clients.classes[0].share`"],
    );
    rejects(
        &format!("{GOOD}\n[[clients.classes]]\nshare = 1.0\n"),
        &[],
        &["bad.toml:14:", "`clients.classes[0].name`", "missing"],
    );
    rejects(
        &format!("{GOOD}\n[clients]\nkeys = 5\n"),
        &[],
        &["bad.toml:14:", "`clients`", "duplicate"],
    );
    rejects(
        GOOD,
        &["--set", "clients.keys=\"x\""],
        &["--set clients.keys", "`clients.keys`"],
    );
    rejects(
        &format!("{GOOD}\n[[clients.classes]]\nname = \"a\"\nshare = 1.0\nttl = \"-1s\"\n"),
        &[],
        &["bad.toml:17:", "`clients.classes[0].ttl`"],
    );
}

#[test]
fn r10_rate_beyond_simulatable_is_refused() {
    // rate = 1e300 used to allocate until the machine died.
    rejects(
        &replace("rate = 1000", "rate = 1e300"),
        &[],
        &["bad.toml:6:1", "`clients.rate`", "1e300", "1e10"],
    );
    rejects(
        &replace(
            "duration = \"5s\"",
            "duration = \"36500d\"\ninterval = \"36500s\"",
        ),
        &[],
        &["`clients.rate`", "1e10"],
    );
    rejects(
        &format!(
            "{GOOD}\n[[events]]\nkind = \"spike\"\nat = \"1s\"\nduration = \"1s\"\nrate = 1e300\n"
        ),
        &[],
        &["bad.toml:18:1", "`events[0].rate`", "1e10"],
    );
    rejects(
        &replace(
            "rate = 1000",
            "arrival = \"closed\"\nclients = 5000000\nthink = \"1ns\"",
        ),
        &[],
        &["`clients.clients`", "1e10"],
    );
    rejects(
        &replace(
            "rate = 1000",
            "arrival = \"closed\"\nclients = 5\nthink = \"0s\"",
        )
        .replace("[cache]", "[cache]\nlatency = \"0s\""),
        &[],
        &["`clients.think`", "above zero"],
    );
    for float in ["nan", "inf", "-inf"] {
        rejects(
            &replace("rate = 1000", &format!("rate = {float}")),
            &[],
            &["bad.toml:6:1", "`clients.rate`"],
        );
    }
}

#[test]
fn r10_heavy_but_simulatable_values_are_accepted() {
    // An overloaded open system is legitimate: the engine's max_in_flight stops it.
    let text = GOOD
        .replace("rate = 1000", "rate = 100000")
        .replace("duration = \"5s\"", "duration = \"3600s\"");
    let (s, _) = stampede::scenario::from_text(&text, std::path::Path::new("t.toml"), &[])
        .expect("100,000 req/s for an hour is 3.6e8 requests, within the ceiling");
    assert_eq!(s.duration.as_secs_f64(), 3600.0);
    let at_ceiling = GOOD.replace("rate = 1000", "rate = 2e9");
    assert!(
        stampede::scenario::from_text(&at_ceiling, std::path::Path::new("t.toml"), &[]).is_ok(),
        "2e9 req/s × 5 s = 1e10 requests is at the ceiling, not over it"
    );
}

#[test]
fn r10_huge_key_overhead_is_refused_not_wrapped() {
    rejects(
        &replace(
            "ttl = \"1s\"",
            "ttl = \"1s\"\nkey_overhead = 9223372036854775807",
        ),
        &[],
        &["bad.toml:10:1", "`cache.key_overhead`", "1048576"],
    );
    rejects(
        GOOD,
        &["--set", "cache.ttl_overhead=5000000000"],
        &[
            "--set cache.ttl_overhead",
            "`cache.ttl_overhead`",
            "1048576",
        ],
    );
}

#[test]
fn r10_huge_size_is_refused_not_saturated() {
    // A 400-digit size parsed as infinity and saturated to u64::MAX.
    let huge = format!("maxmemory = \"1{}kb\"", "0".repeat(400));
    rejects(
        &replace("ttl = \"1s\"", &format!("ttl = \"1s\"\n{huge}")),
        &[],
        &["bad.toml:10:1", "`cache.maxmemory`", "1048576gb"],
    );
    rejects(
        &replace(
            "ttl = \"1s\"",
            "ttl = \"1s\"\nmaxmemory = 9223372036854775807",
        ),
        &[],
        &["`cache.maxmemory`", "1 PiB"],
    );
    rejects(
        &replace(
            "ttl = \"1s\"",
            "ttl = \"1s\"\nvalue_size = { dist = \"lognormal\", median = \"1kb\", sigma = 1e300 }",
        ),
        &[],
        &["`cache.value_size.sigma`", "(0, 10]"],
    );
    rejects(
        &replace("ttl = \"1s\"", "ttl = \"1s\"\nvalue_size = \"513mb\""),
        &[],
        &["`cache.value_size`", "512 MB"],
    );
}

#[test]
fn r10_unsimulatable_factors_are_refused() {
    let with = |extra: &str| format!("{GOOD}\n{extra}\n");
    rejects(
        &with("[[events]]\nkind = \"db-slowdown\"\nat = \"1s\"\nduration = \"1s\"\nfactor = 1e300"),
        &[],
        &["bad.toml:18:1", "`events[0].factor`", "1000"],
    );
    rejects(
        &replace(
            "ttl = \"1s\"",
            "ttl = \"1s\"\ncompression = { ratio = 2.0, cpu_per_kb = \"1h\" }",
        ),
        &[],
        &["`cache.compression.cpu_per_kb`", "1s"],
    );
    rejects(
        &replace(
            "connections = 8",
            "connections = 8\nquery_time = { dist = \"lognormal\", median = \"1ns\", p99 = \"36500d\" }",
        ),
        &[],
        &["`database.query_time.p99`", "mean"],
    );
}

#[test]
fn r10_value_size_errors_name_the_inner_key() {
    let with_size = |v: &str| replace("ttl = \"1s\"", &format!("ttl = \"1s\"\nvalue_size = {v}"));
    rejects(
        &with_size("{ dist = \"constant\" }"),
        &[],
        &["bad.toml:10:", "`cache.value_size.value`", "missing"],
    );
    rejects(
        &with_size("{ dist = \"lognormal\", sigma = 1.0 }"),
        &[],
        &["bad.toml:10:", "`cache.value_size.median`", "missing"],
    );
    rejects(
        &with_size("{ dist = \"zipf\", value = 5 }"),
        &[],
        &["bad.toml:10:", "`cache.value_size.dist`", "\"constant\""],
    );
}

#[test]
fn r10_lease_renewal_beyond_simulatable_is_refused() {
    // renew = "1ns" made every query renew its lease millions of times: the run never ended.
    rejects(
        &format!("{GOOD}\n[strategy]\nkind = \"lease-lock\"\nlease = \"1ms\"\nrenew = \"1ns\"\n"),
        &[],
        &["bad.toml:17:1", "`strategy.renew`", "1e10"],
    );
    let fine =
        format!("{GOOD}\n[strategy]\nkind = \"lease-lock\"\nlease = \"10ms\"\nrenew = \"5ms\"\n");
    assert!(stampede::scenario::from_text(&fine, std::path::Path::new("t.toml"), &[]).is_ok());
}

#[test]
fn r14_bad_server_and_cluster_values_are_refused_naming_their_key() {
    let cache = |extra: &str| replace("ttl = \"1s\"", &format!("ttl = \"1s\"\n{extra}"));
    let clients = |extra: &str| replace("rate = 1000", &format!("rate = 1000\n{extra}"));
    rejects(
        &cache("ops_per_sec = 0"),
        &[],
        &["bad.toml:10:", "`cache.ops_per_sec`", "between 1"],
    );
    rejects(&cache("ops_per_sec = nan"), &[], &["`cache.ops_per_sec`"]);
    rejects(
        &cache("shards = 0"),
        &[],
        &["`cache.shards`", "between 1 and 1000"],
    );
    rejects(
        &cache("shards = 5000"),
        &[],
        &["`cache.shards`", "between 1 and 1000"],
    );
    rejects(
        &cache("service_per_kb = \"1us\""),
        &[],
        &["`cache.service_per_kb`", "only with cache.ops_per_sec"],
    );
    rejects(
        &cache("latency = 5"),
        &[],
        &["`cache.latency`", "duration", "distribution"],
    );
    rejects(
        &cache("latency = { dist = \"lognormal\", median = \"1ms\" }"),
        &[],
        &["`cache.latency.p99`", "is missing"],
    );
    rejects(
        &cache("latency = { dist = \"gamma\", mean = \"1ms\" }"),
        &[],
        &["`cache.latency.dist`", "\"lognormal\""],
    );
    rejects(
        &clients("cpu_per_command = \"2s\""),
        &[],
        &["`clients.cpu_per_command`", "at most"],
    );
    rejects(
        &clients("cores_per_instance = 0"),
        &[],
        &["`clients.cores_per_instance`", "between 1"],
    );
    rejects(
        &clients("cores_per_instance = 4"),
        &[],
        &["`clients.cores_per_instance`", "cpu_per_command"],
    );
    rejects(
        &clients("local_cache = { keys = 1000, ttl = \"1s\" }"),
        &[],
        &["`clients.local_cache.keys`", "clients.keys"],
    );
    rejects(
        &clients("local_cache = { keys = 1, ttl = \"0s\" }"),
        &[],
        &["`clients.local_cache.ttl`"],
    );
    rejects(
        &clients("local_cache = { keys = 1 }"),
        &[],
        &["clients.local_cache", "ttl"],
    );
    // A shard that does not exist, and a shard on a fault that has none.
    let event = |fields: &str| format!("{}\n[[events]]\n{fields}\n", cache("shards = 3"));
    rejects(
        &event("kind = \"cache-down\"\nat = \"1s\"\nduration = \"1s\"\nshard = 3"),
        &[],
        &["`events[0].shard`", "0 to cache.shards - 1 = 2"],
    );
    rejects(
        &event("kind = \"spike\"\nat = \"1s\"\nduration = \"1s\"\nrate = 2.0\nshard = 1"),
        &[],
        &["`events[0].shard`", "only flush and cache-down"],
    );
    rejects(GOOD, &["--set", "cache.shards=-1"], &["cache.shards"]);
}
