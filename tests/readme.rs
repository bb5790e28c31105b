//! Every figure the README quotes comes from a committed result (issue 11).
//!
//! Each claim is a phrase of the README with `{}` where a figure goes, the
//! committed result it quotes and how the README rounds it. The test renders
//! the committed value into the phrase and looks for it in the README: a
//! re-blessed result that moves a quoted figure, or an edit of the phrase,
//! fails here until the README and this list agree again.

use std::fs;

use serde_json::Value;

use crate::common::repo;

/// How the README writes a number.
#[derive(Clone, Copy)]
enum Shown {
    /// Whole, with thousands separators: 9,114.
    Commas,
    /// Rounded to a multiple of `step`, with separators: "about 9,100".
    RoundedTo(f64),
    /// Fixed decimals: 0.27.
    Decimals(usize),
    /// Millions with two decimals: 1.66 M.
    Millions,
    /// Decimal gigabytes with two decimals: 8.39 GB.
    Gigabytes,
    /// Milliseconds shown as whole seconds: 3 s.
    MsAsSeconds,
    /// A ratio as a whole percentage: 29 %.
    Percent,
}

impl Shown {
    fn render(self, x: f64) -> String {
        match self {
            Shown::Commas => commas(x.round()),
            Shown::RoundedTo(step) => commas((x / step).round() * step),
            Shown::Decimals(d) => format!("{x:.d$}"),
            Shown::Millions => format!("{:.2} M", x / 1e6),
            Shown::Gigabytes => format!("{:.2} GB", x / 1e9),
            Shown::MsAsSeconds => format!("{:.0} s", x / 1000.0),
            Shown::Percent => format!("{:.0} %", x * 100.0),
        }
    }
}

/// `x` (a whole number) with thousands separators.
fn commas(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}

/// A metric of a committed run: `results/<dir>/summary.json`, or the
/// summary of a sweep's kept run when `dir` names its `.json` file; dotted path.
fn metric(dir: &str, path: &str) -> f64 {
    let kept_run = dir.ends_with(".json");
    let file = if kept_run {
        repo().join("results").join(dir)
    } else {
        repo().join("results").join(dir).join("summary.json")
    };
    let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let json: Value = serde_json::from_str(&text).expect("summary.json is JSON");
    let mut at = if kept_run { &json["summary"] } else { &json };
    for part in path.split('.') {
        at = match part.parse::<usize>() {
            Ok(i) => &at[i],
            Err(_) => &at[part],
        };
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{dir}/summary.json has no number at {path}"))
}

/// The claims: (README phrase with `{}`, run directory, metric, rounding).
const CLAIMS: &[(&str, &str, &str, Shown)] = &[
    // Redis as a server and a cluster (issue 14).
    (
        "fill Redis's command queue ({} commands waiting at the peak)",
        "lock-flood",
        "cache_queue_peak",
        Shown::Commas,
    ),
    (
        "5 s and p99.9 reaches {} ms.",
        "lock-flood",
        "latency_ms.p999",
        Shown::Commas,
    ),
    (
        "nobody polls, at most {} commands wait",
        "lock-flood-swr",
        "cache_queue_peak",
        Shown::Commas,
    ),
    (
        "and p99.9 is {} ms.",
        "lock-flood-swr",
        "latency_ms.p999",
        Shown::Decimals(3),
    ),
    (
        "its queue grows to {} commands",
        "hot-shard",
        "cache_queue_peak",
        Shown::Commas,
    ),
    (
        "time out ({} timeouts)",
        "hot-shard",
        "timeouts",
        Shown::Millions,
    ),
    (
        "busy share falls from {} to",
        "hot-shard",
        "cache_utilization",
        Shown::Decimals(2),
    ),
    (
        "to {} and no request times out",
        "hot-shard-local",
        "cache_utilization",
        Shown::Decimals(2),
    ),
    // The eviction-policy sweep (issue 13): points 1, 2, 10, 12, 13 are
    // allkeys-lru, allkeys-lfu, fifo, sieve and s3-fifo at 1 MB; 29 is s3-fifo
    // at 4 MB, 17 allkeys-lru at 4 MB, 0 noeviction at 1 MB (16 policies a size).
    (
        "`allkeys-lru` lets {} duplicate queries",
        "policies-sweep/runs/p00001-r0000.json",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "plain `fifo` {}.",
        "policies-sweep/runs/p00010-r0000.json",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "`allkeys-lfu` {}, `sieve`",
        "policies-sweep/runs/p00002-r0000.json",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "`w-tinylfu` {}, `s3-fifo`",
        "policies-sweep/runs/p00015-r0000.json",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "`sieve` {}, `w-tinylfu`",
        "policies-sweep/runs/p00012-r0000.json",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "`s3-fifo` {}, with hit ratios",
        "policies-sweep/runs/p00013-r0000.json",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "`s3-fifo` does at 1 MB ({} duplicates)",
        "policies-sweep/runs/p00017-r0000.json",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "`s3-fifo` at 4 MB is down to {}.",
        "policies-sweep/runs/p00029-r0000.json",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "(a hit ratio of {}):",
        "policies-sweep/runs/p00000-r0000.json",
        "hit_ratio",
        Shown::Decimals(2),
    ),
    (
        "refusing {} writes",
        "policies-sweep/runs/p00000-r0000.json",
        "oom_rejections",
        Shown::Commas,
    ),
    // Replaying a trace (issue 12).
    (
        "database: {} duplicate queries and a p99.9",
        "trace-invalidation",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "p99.9 of {} ms, where",
        "trace-invalidation",
        "latency_ms.p999",
        Shown::Decimals(0),
    ),
    (
        "makes it {} queries with no duplicates",
        "trace-invalidation-coalesce",
        "db_queries",
        Shown::Commas,
    ),
    (
        "no duplicates and {} ms",
        "trace-invalidation-coalesce",
        "latency_ms.p999",
        Shown::Decimals(0),
    ),
    (
        "Redis hits {} of them",
        "cloudphysics-replay",
        "hit_ratio",
        Shown::Percent,
    ),
    (
        "4-connection store ({} queries waiting",
        "cloudphysics-replay",
        "db_queue_peak",
        Shown::Commas,
    ),
    // The opening caption and the incident's paragraph.
    (
        "About {} duplicate",
        "hot-key-expiry",
        "duplicate_queries",
        Shown::RoundedTo(100.0),
    ),
    (
        "{} queries wait in the queue",
        "hot-key-expiry",
        "db_queue_peak",
        Shown::RoundedTo(100.0),
    ),
    (
        "p99.9 reaches {}",
        "hot-key-expiry",
        "latency_ms.p999",
        Shown::MsAsSeconds,
    ),
    (
        "Under `none`, {} duplicate queries",
        "hot-key-expiry",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "{} queries wait, and p99.9",
        "hot-key-expiry",
        "db_queue_peak",
        Shown::Commas,
    ),
    (
        "p99.9 falls to {} ms",
        "hot-key-expiry-lock",
        "latency_ms.p999",
        Shown::Commas,
    ),
    (
        "then a third: {} duplicate queries",
        "session-lock",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "falls from {} to",
        "session-lock",
        "db_queries_per_s_peak",
        Shown::RoundedTo(50.0),
    ),
    (
        "to {} queries/s",
        "session-lock-early",
        "db_queries_per_s_peak",
        Shown::RoundedTo(50.0),
    ),
    (
        "p99.9 from {} ms",
        "session-lock",
        "latency_ms.p999",
        Shown::Commas,
    ),
    (
        "ms to {} ms",
        "session-lock-early",
        "latency_ms.p999",
        Shown::Commas,
    ),
    (
        "hot keys, and each eviction is a burst of misses:\n{} duplicate",
        "hot-key-eviction",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "`allkeys-lfu` keeps the frequent keys: {}.",
        "hot-key-eviction-lfu",
        "duplicate_queries",
        Shown::Commas,
    ),
    (
        "The pool saturates, and {} requests fail",
        "cache-failover",
        "pool_timeouts",
        Shown::Commas,
    ),
    (
        "each key's query within a server: {} failures",
        "cache-failover-coalesce",
        "errors",
        Shown::Commas,
    ),
    (
        "a metastable failure, with {} errors",
        "retry-storm",
        "errors",
        Shown::Commas,
    ),
    (
        "the system recover as soon as the database does: {} errors",
        "retry-storm-backoff",
        "errors",
        Shown::Commas,
    ),
    (
        "After that, {} SETs fail with OOM",
        "noeviction-full",
        "oom_rejections",
        Shown::Millions,
    ),
    (
        "the hit ratio falls to {}.",
        "noeviction-full",
        "hit_ratio",
        Shown::Decimals(2),
    ),
    (
        "giving {} duplicate queries",
        "hot-key-eviction",
        "duplicate_queries",
        Shown::RoundedTo(1000.0),
    ),
    (
        "the count falls to {}.",
        "hot-key-eviction-lfu",
        "duplicate_queries",
        Shown::RoundedTo(100.0),
    ),
    (
        "OOM ({} rejections)",
        "noeviction-full",
        "oom_rejections",
        Shown::Millions,
    ),
    (
        "With `allkeys-lru` it is {}.",
        "noeviction-full-lru",
        "hit_ratio",
        Shown::Decimals(2),
    ),
    (
        "the missing-TTL cache holds {} and",
        "missing-ttl",
        "used_memory_peak",
        Shown::Gigabytes,
    ),
    (
        "The TTL table holds {} and",
        "ttl-by-class",
        "used_memory_peak",
        Shown::Gigabytes,
    ),
    (
        "hit ratio, {} against",
        "ttl-by-class",
        "hit_ratio",
        Shown::Decimals(2),
    ),
    (
        "against {}: the no-TTL",
        "missing-ttl",
        "hit_ratio",
        Shown::Decimals(2),
    ),
];

/// The README with line breaks folded to spaces, so a phrase may wrap anywhere.
fn readme() -> String {
    let text = fs::read_to_string(repo().join("README.md")).expect("README.md is readable");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn r11_every_figure_the_readme_quotes_matches_its_committed_result() {
    let readme = readme();
    let mut wrong = Vec::new();
    for (phrase, dir, path, shown) in CLAIMS {
        let value = metric(dir, path);
        let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
        let (before, after) = phrase.split_once("{}").expect("a claim has one {}");
        let expected = format!("{before}{}{after}", shown.render(value));
        if !readme.contains(&expected) {
            wrong.push(format!("  \"{expected}\" ({dir} {path} = {value})"));
        }
    }
    assert!(
        wrong.is_empty(),
        "the README does not say, as its committed results do:\n{}",
        wrong.join("\n")
    );
}

/// The README's row for a committed capacity plan: the smallest passing
/// value, its mean and 95 % half-interval, and the failing value below it.
fn plan_row(label: &str, dir: &str) -> String {
    let file = repo().join("results").join(dir).join("plan.csv");
    let mut rows: Vec<(f64, f64, f64, f64, bool)> = csv::Reader::from_path(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .records()
        .map(|r| {
            let r = r.expect("a plan.csv row");
            let x = |i: usize| r[i].parse::<f64>().expect("a number");
            (x(0), x(2), x(3), x(4), &r[5] == "true")
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = rows
        .iter()
        .position(|r| r.4)
        .expect("the plan has an answer");
    let (value, mean, low, high, _) = rows[at];
    let below = rows[..at]
        .last()
        .expect("a failing value below the answer")
        .0;
    format!(
        "| `{label}` | {value} | {mean:.0} ± {:.0} ms | fails ({below}) |",
        (high - low) / 2.0
    )
}

#[test]
fn r11_the_capacity_plan_table_is_the_committed_plans() {
    let readme = fs::read_to_string(repo().join("README.md")).expect("README.md is readable");
    for (label, dir) in [
        ("none", "hot-key-expiry-plan"),
        ("lock", "hot-key-expiry-lock-plan"),
    ] {
        let row = plan_row(label, dir);
        assert!(readme.contains(&row), "README lacks the row:\n{row}");
    }
}

#[test]
fn r11_the_quick_start_output_is_the_committed_run() {
    // The summary block in the README is what `run` prints for the committed result.
    let file = repo().join("results/hot-key-expiry/summary.json");
    let summary: stampede::metrics::RunSummary =
        serde_json::from_str(&fs::read_to_string(file).expect("committed")).expect("a summary");
    let scenario = crate::common::scenario(
        &fs::read_to_string(repo().join("scenarios/hot-key-expiry.toml")).expect("bundled"),
        &[],
    );
    let shown = stampede::report::human_summary(&summary, scenario.database.connections as u64);
    let readme = fs::read_to_string(repo().join("README.md")).expect("README.md is readable");
    for line in shown.lines() {
        assert!(readme.contains(line), "README lacks the line:\n{line}");
    }
}

#[test]
fn r11_commas_and_rounding_render_as_the_readme_writes() {
    assert_eq!(commas(9114.0), "9,114");
    assert_eq!(commas(172_783.0), "172,783");
    assert_eq!(commas(999.0), "999");
    assert_eq!(Shown::RoundedTo(100.0).render(9114.0), "9,100");
    assert_eq!(Shown::Millions.render(1_660_123.0), "1.66 M");
    assert_eq!(Shown::Gigabytes.render(8_394_882_136.0), "8.39 GB");
    assert_eq!(Shown::MsAsSeconds.render(3020.0), "3 s");
}
