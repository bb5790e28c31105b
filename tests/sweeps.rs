//! Sweeps: thread-count independence, common random numbers, bad grids.

use std::fs;

use crate::common::stampede;

const SWEEP: &str = r#"name = "small"
duration = "8s"
warmup = "1s"
[clients]
keys = 500
rate = 3000
[cache]
ttl = "2s"
prewarm = "fresh"
[database]
connections = 16
query_time = { dist = "constant", value = "20ms" }
[sweep]
replicates = 3
[sweep.grid]
"strategy.kind" = ["none", "lock"]
"clients.zipf" = [0.8, 1.2]
"#;

fn sweep_to(text: &str, dir: &std::path::Path, jobs: &str) -> std::process::Output {
    let file = dir.join("sweep.toml");
    fs::write(&file, text).unwrap();
    let out = dir.join(format!("out-{jobs}"));
    stampede(&[
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--jobs",
        jobs,
    ])
}

#[test]
fn jobs_1_and_2_write_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    for jobs in ["1", "2"] {
        let out = sweep_to(SWEEP, tmp.path(), jobs);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for name in ["sweep.csv", "aggregate.csv", "comparison.png"] {
        let one = fs::read(tmp.path().join("out-1").join(name)).unwrap();
        let two = fs::read(tmp.path().join("out-2").join(name)).unwrap();
        assert!(one == two, "{name} differs between --jobs 1 and --jobs 2");
    }
    let csv = fs::read_to_string(tmp.path().join("out-1/sweep.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("point,replicate,seed,clients.zipf,strategy.kind,"),
        "{header}"
    );
    assert!(header.contains("latency_ms.p99") && header.contains("duplicate_queries"));
    assert_eq!(
        csv.lines().count(),
        1 + 4 * 3,
        "a row per point × replicate"
    );
    // Common random numbers: replicate r has the same seed at every point.
    let seeds: Vec<(String, String)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[2].to_string())
        })
        .collect();
    assert!(seeds.iter().all(|(r, s)| {
        seeds
            .iter()
            .filter(|(r2, _)| r2 == r)
            .all(|(_, s2)| s2 == s)
    }));
    // The lock removes duplicates at every zipf: visible in the aggregate.
    let agg = fs::read_to_string(tmp.path().join("out-1/aggregate.csv")).unwrap();
    let dup = |kind: &str| -> Vec<f64> {
        agg.lines()
            .filter(|l| l.contains(&format!(",{kind},duplicate_queries,")))
            .map(|l| l.split(',').nth(5).unwrap().parse().unwrap())
            .collect()
    };
    assert!(dup("lock").iter().all(|&d| d == 0.0), "{:?}", dup("lock"));
    assert!(dup("none").iter().all(|&d| d > 50.0), "{:?}", dup("none"));
}

#[test]
fn bad_grids_are_rejected_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            SWEEP.replace("\"clients.zipf\" = [0.8, 1.2]", "\"clients.zipf\" = []"),
            "empty",
        ),
        (
            SWEEP.replace(
                "\"clients.zipf\" = [0.8, 1.2]",
                "\"clients.zipf\" = [0.8, -1.0]",
            ),
            "clients.zipf",
        ),
        (
            SWEEP.replace("\"clients.zipf\"", "\"clients.zipff\""),
            "zipff",
        ),
        (
            SWEEP.replace("replicates = 3", "replicates = 0"),
            "replicates",
        ),
        (
            format!(
                "{SWEEP}[sweep.paired]\n\"clients.rate\" = [1000, 2000]\n\"cache.ttl\" = [\"1s\"]\n"
            ),
            "same length",
        ),
        (
            SWEEP[..SWEEP.find("[sweep]").unwrap()].to_string(),
            "no [sweep]",
        ),
    ];
    for (text, word) in cases {
        let out = sweep_to(&text, tmp.path(), "1");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{word}: {stderr}");
        assert!(
            stderr.contains(word),
            "message should mention {word:?}: {stderr}"
        );
        assert!(!tmp.path().join("out-1").exists());
    }
}

fn outputs(dir: &std::path::Path) -> Vec<Vec<u8>> {
    ["sweep.csv", "aggregate.csv", "comparison.png"]
        .iter()
        .map(|n| fs::read(dir.join(n)).unwrap_or_else(|_| panic!("{n} in {}", dir.display())))
        .collect()
}

#[test]
fn interrupted_then_resumed_and_sharded_then_merged_equal_one_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("sweep.toml");
    fs::write(&file, SWEEP).unwrap();
    let f = file.to_str().unwrap();
    let dir = |name: &str| tmp.path().join(name);
    let ok = |args: &[&str]| {
        let out = stampede(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&[
        "sweep",
        f,
        "--out",
        dir("whole").to_str().unwrap(),
        "--jobs",
        "2",
    ]);
    let whole = outputs(&dir("whole"));

    // An interruption: half the runs lost, no final files. --resume finishes it.
    ok(&[
        "sweep",
        f,
        "--out",
        dir("resumed").to_str().unwrap(),
        "--jobs",
        "2",
    ]);
    for name in ["sweep.csv", "aggregate.csv", "comparison.png"] {
        fs::remove_file(dir("resumed").join(name)).unwrap();
    }
    let runs: Vec<_> = fs::read_dir(dir("resumed").join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for run in runs.iter().step_by(2) {
        fs::remove_file(run).unwrap();
    }
    ok(&[
        "sweep",
        f,
        "--out",
        dir("resumed").to_str().unwrap(),
        "--resume",
        "--jobs",
        "1",
    ]);
    assert!(outputs(&dir("resumed")) == whole, "resumed sweep differs");

    // Three shards on three "machines", then merged.
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let out = dir(&format!("shard{k}"));
        ok(&[
            "sweep",
            f,
            "--out",
            out.to_str().unwrap(),
            "--shard",
            &shard,
            "--jobs",
            "1",
        ]);
        assert!(
            !out.join("sweep.csv").exists(),
            "a shard alone writes no final files"
        );
    }
    let merged = dir("merged");
    ok(&[
        "merge",
        dir("shard1").to_str().unwrap(),
        dir("shard2").to_str().unwrap(),
        dir("shard3").to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(
        outputs(&merged) == whole,
        "merged shards differ from the whole sweep"
    );

    // Merging an incomplete set of shards is an error, not a partial result.
    let out = stampede(&[
        "merge",
        dir("shard1").to_str().unwrap(),
        "--out",
        dir("partial").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("incomplete"));
}
