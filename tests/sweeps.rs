//! Sweeps: thread-count independence, common random numbers, bad grids.

use std::fs;

use crate::common::{SMALL, stampede};

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

/// Two numeric parameters and a strategy: comparison chart and heatmaps.
fn sweep_2d() -> String {
    format!(
        "{SMALL}[sweep]\nreplicates = 2\n[sweep.grid]\n\"strategy.kind\" = [\"none\", \"lock\"]\n\
         \"clients.rate\" = [1000, 2000]\n\"clients.zipf\" = [0.8, 1.2]\n"
    )
}

fn charts_in(dir: &std::path::Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    names.sort();
    names
}

#[test]
fn plot_redraws_sweep_charts_from_the_aggregate_with_chosen_metrics_axes_and_format() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sweep_to(&sweep_2d(), tmp.path(), "2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not a terminal: plain progress lines, ending at the total.
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("16/16 runs done"), "{progress}");
    let dir = tmp.path().join("out-2");
    let pngs = charts_in(&dir, ".png");
    assert_eq!(
        pngs,
        [
            "comparison.png",
            "heatmap-db_queries_per_s_peak.png",
            "heatmap-latency_ms.p99.png",
            "heatmap-latency_ms.p999.png"
        ]
    );
    let report = fs::read_to_string(dir.join("report.md")).unwrap();
    for png in &pngs {
        assert!(
            report.contains(&format!("]({png})")),
            "report.md links {png}"
        );
    }

    // Redrawn from aggregate.csv alone, the charts are the sweep's, byte for byte.
    let before: Vec<Vec<u8>> = pngs
        .iter()
        .map(|n| fs::read(dir.join(n)).unwrap())
        .collect();
    for png in &pngs {
        fs::remove_file(dir.join(png)).unwrap();
    }
    fs::remove_dir_all(dir.join("runs")).unwrap();
    let d = dir.to_str().unwrap();
    assert!(stampede(&["plot", d]).status.success());
    let after: Vec<Vec<u8>> = pngs
        .iter()
        .map(|n| fs::read(dir.join(n)).unwrap())
        .collect();
    assert!(before == after, "stampede plot must redraw the same charts");

    // SVG, another metric, other axes.
    let out = stampede(&[
        "plot",
        d,
        "--format",
        "svg",
        "--metric",
        "hit_ratio",
        "--x",
        "clients.zipf",
        "--y",
        "strategy.kind",
        "--by",
        "clients.rate",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        charts_in(&dir, ".svg"),
        ["comparison.svg", "heatmap-hit_ratio.svg"]
    );
    let svg = fs::read_to_string(dir.join("heatmap-hit_ratio.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // Axes in words (issue 11), not dotted paths.
    assert!(
        svg.contains("Zipf exponent") && svg.contains("mitigation") && svg.contains("hit ratio")
    );
    // r11: SVG text names the bundled font and embeds it, as the PNGs draw it.
    assert!(svg.contains("font-family=\"DejaVu Sans\""));
    assert!(svg.contains("@font-face{font-family:\"DejaVu Sans\";src:url(data:font/ttf;base64,"));

    // Bad choices are bad input, naming what is allowed; nothing is drawn.
    for (args, needle) in [
        (vec!["--metric", "p99"], "allowed: requests, hits"),
        (
            vec!["--x", "clients.keys"],
            "allowed: clients.rate, clients.zipf, strategy.kind",
        ),
        (
            vec!["--x", "clients.rate", "--y", "clients.rate"],
            "two different parameters",
        ),
        (vec!["--format", "jpeg"], "possible values: png, svg"),
    ] {
        let mut full = vec!["plot", d];
        full.extend(&args);
        let out = stampede(&full);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
