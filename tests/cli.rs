//! The binary end to end: the SPEC §3 run directory, `plot`, and the README's commands.

use std::fs;

use serde_json::Value;

use crate::common::stampede;

/// Summary fields of the SPEC §3 contract.
const SUMMARY_FIELDS: [&str; 21] = [
    "scenario",
    "seed",
    "requests",
    "hits",
    "misses",
    "hit_ratio",
    "errors",
    "timeouts",
    "oom_rejections",
    "pool_timeouts",
    "db_queries",
    "duplicate_queries",
    "db_queries_per_s_peak",
    "db_inflight_peak",
    "db_queue_peak",
    "db_utilization",
    "evicted_keys",
    "expired_keys",
    "stale_served",
    "used_memory_peak",
    "latency_ms",
];
/// Time-series columns of the SPEC §3 contract.
const TIMESERIES_COLUMNS: [&str; 13] = [
    "t_s",
    "requests",
    "hits",
    "misses",
    "errors",
    "db_queries",
    "db_inflight_max",
    "db_queue_max",
    "latency_p50_ms",
    "latency_p99_ms",
    "evicted_keys",
    "expired_keys",
    "used_memory",
];

#[test]
fn run_writes_the_contract_files_and_fields() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("healthy");
    let out = stampede(&[
        "run",
        "scenarios/healthy.toml",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("hit ratio"),
        "human summary printed: {stdout}"
    );

    let summary: Value =
        serde_json::from_slice(&fs::read(dir.join("summary.json")).unwrap()).expect("valid JSON");
    for field in SUMMARY_FIELDS {
        assert!(summary.get(field).is_some(), "summary.json lacks {field}");
    }
    for q in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(summary["latency_ms"][q].is_number(), "latency_ms.{q}");
    }
    assert_eq!(summary["scenario"], "healthy");
    let requests = summary["requests"].as_u64().unwrap();
    assert!(requests > 100_000);
    let ratio = summary["hits"].as_f64().unwrap()
        / (summary["hits"].as_f64().unwrap() + summary["misses"].as_f64().unwrap());
    assert!((summary["hit_ratio"].as_f64().unwrap() - ratio).abs() < 1e-12);

    let mut csv = csv::Reader::from_path(dir.join("timeseries.csv")).expect("CSV");
    let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    for column in TIMESERIES_COLUMNS {
        assert!(
            header.iter().any(|h| h == column),
            "timeseries.csv lacks {column}"
        );
    }
    let rows = csv.records().count();
    // One row per 1 s over 120 s, plus one if the last requests end after 120 s.
    assert!((120..=121).contains(&rows), "{rows} rows");

    for png in ["latency.png", "db_load.png"] {
        let bytes = fs::read(dir.join(png)).expect("chart written");
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{png} is a real PNG"
        );
    }
    // The resolved scenario is itself a valid scenario that reproduces the run.
    let again = tmp.path().join("again");
    let out = stampede(&[
        "run",
        dir.join("scenario.toml").to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(dir.join("summary.json")).unwrap(),
        fs::read(again.join("summary.json")).unwrap()
    );
    // No temporary files are left behind.
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            !name.to_string_lossy().ends_with(".tmp"),
            "{name:?} left behind"
        );
    }
}

#[test]
fn plot_redraws_charts_from_csv() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("run");
    let dir_s = dir.to_str().unwrap();
    assert!(
        stampede(&[
            "run",
            "scenarios/healthy.toml",
            "--out",
            dir_s,
            "--set",
            "duration=20s"
        ])
        .status
        .success()
    );
    let before = fs::read(dir.join("db_load.png")).unwrap();
    fs::remove_file(dir.join("db_load.png")).unwrap();
    let out = stampede(&["plot", dir_s]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(dir.join("db_load.png")).unwrap(),
        before,
        "same chart from the CSV"
    );
}

#[test]
fn hot_key_expiry_shows_a_stampede_and_healthy_does_not() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let summary = |name: &str| -> Value {
        let dir = tmp.path().join(name);
        let out = stampede(&[
            "run",
            &format!("scenarios/{name}.toml"),
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&fs::read(dir.join("summary.json")).unwrap()).unwrap()
    };
    let hot = summary("hot-key-expiry");
    let healthy = summary("healthy");
    // The stampede: most queries are duplicates, the pool saturates and queues.
    let dup_share =
        hot["duplicate_queries"].as_f64().unwrap() / hot["db_queries"].as_f64().unwrap();
    assert!(dup_share > 0.5, "duplicate share {dup_share}");
    assert_eq!(hot["db_inflight_peak"], 64);
    assert!(hot["db_queue_peak"].as_u64().unwrap() > 1000);
    assert!(hot["latency_ms"]["max"].as_f64().unwrap() > 1000.0);
    // Healthy: no queue, few duplicates.
    assert_eq!(healthy["db_queue_peak"], 0);
    let dup_share =
        healthy["duplicate_queries"].as_f64().unwrap() / healthy["db_queries"].as_f64().unwrap();
    assert!(dup_share < 0.05, "healthy duplicate share {dup_share}");
}
