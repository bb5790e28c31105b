//! Output files of a run (SPEC §3): summary, time series, charts, resolved scenario.
//!
//! Every file is written under a temporary name and renamed into place, so an
//! interrupted run never leaves a half-written file that looks complete.

pub mod plot;

use std::path::{Path, PathBuf};

use crate::engine::RunOutput;
use crate::error::{Error, Result};
use crate::metrics::RunSummary;
use crate::scenario::{RawScenario, Scenario};

/// File names of a run directory.
pub const SUMMARY_FILE: &str = "summary.json";
/// Time series file name.
pub const TIMESERIES_FILE: &str = "timeseries.csv";
/// Per-class time series file name.
pub const CLASSES_FILE: &str = "classes.csv";
/// Resolved scenario file name.
pub const SCENARIO_FILE: &str = "scenario.toml";

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .expect("output paths name a file")
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(|e| Error::output(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::output(path, e))
}

/// An output directory being written: each file atomically, the names kept.
struct OutputDir<'a> {
    dir: &'a Path,
    written: Vec<PathBuf>,
}

impl<'a> OutputDir<'a> {
    fn create(dir: &'a Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
        Ok(OutputDir {
            dir,
            written: Vec::new(),
        })
    }

    fn put(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(name);
        write_atomic(&path, bytes)?;
        self.written.push(path);
        Ok(())
    }
}

/// Writes the whole run directory `dir`; returns the files written.
pub fn write_run(
    dir: &Path,
    scenario: &Scenario,
    raw: &RawScenario,
    output: &RunOutput,
) -> Result<Vec<PathBuf>> {
    let mut files = OutputDir::create(dir)?;
    let mut put = |name: &str, bytes: Vec<u8>| files.put(name, &bytes);
    put(SUMMARY_FILE, summary_json(&output.summary).into_bytes())?;
    put(TIMESERIES_FILE, to_csv(&output.timeseries))?;
    put(CLASSES_FILE, to_csv(&output.class_rows))?;
    put(SCENARIO_FILE, resolved_toml(raw).into_bytes())?;
    let mut written = files.written;
    written.extend(plot::run_charts(
        dir,
        scenario,
        &output.timeseries,
        &output.class_rows,
    )?);
    Ok(written)
}

/// The summary as pretty JSON with a trailing newline.
pub fn summary_json(summary: &RunSummary) -> String {
    let mut text = serde_json::to_string_pretty(summary).expect("a summary always serialises");
    text.push('\n');
    text
}

/// Rows as CSV with a header row.
pub fn to_csv<T: serde::Serialize>(rows: &[T]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).expect("rows serialise to memory");
    }
    writer.into_inner().expect("flushing to memory cannot fail")
}

/// The resolved scenario (defaults and overrides applied) as TOML.
pub fn resolved_toml(raw: &RawScenario) -> String {
    format!(
        "# Resolved scenario: every default and --set override applied.\n{}",
        toml::to_string_pretty(raw).expect("a raw scenario always serialises")
    )
}

/// Reads rows of a run directory's CSV file `name` back (for `stampede plot`).
pub fn read_csv<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<Vec<T>> {
    let path = dir.join(name);
    let mut reader = csv::Reader::from_path(&path).map_err(|e| {
        Error::BadInput(format!(
            "cannot read {}: {e}; give a directory written by `stampede run`",
            path.display()
        ))
    })?;
    reader
        .deserialize()
        .collect::<std::result::Result<Vec<T>, _>>()
        .map_err(|e| Error::BadInput(format!("{}: {e}", path.display())))
}

/// Renders the one-screen human summary printed after a run.
pub fn human_summary(s: &RunSummary, connections: u64) -> String {
    let mb = |b: u64| b as f64 / 1_048_576.0;
    let t = &s.strategy;
    let strategy: Vec<String> = [
        ("stale served", t.stale_served),
        ("locks won", t.lock_acquisitions),
        ("lock waits", t.lock_waits),
        ("lock timeouts", t.lock_timeouts),
        ("background refreshes", t.refreshes),
        ("early recomputations", t.early_recomputations),
        ("wasted recomputations", t.wasted_recomputations),
        ("coalesced", t.coalesced),
        ("lease tokens", t.lease_tokens),
        ("corrupt reads", t.corrupt_reads),
        ("cache errors", t.cache_errors),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(name, n)| format!("{name} {n}"))
    .collect();
    let strategy_line = if strategy.is_empty() {
        String::new()
    } else {
        format!("\n  strategy   {}", strategy.join("   "))
    };
    let text = format!(
        "  requests   {req} ({served} served, {errors} errors, {timeouts} timeouts, {retries} retries)\n\
         \x20 cache      hit ratio {hr:.4}   expired {exp}   evicted {ev}   OOM rejections {oom}   used memory peak {mem:.1} MiB\n\
         \x20 latency    mean {mean:.2} ms   p50 {p50:.2}   p99 {p99:.2}   p99.9 {p999:.2}   max {max:.2}\n\
         \x20 database   {q} queries ({dup} duplicates)   peak {qps:.0} q/s   peak in flight {inf}/{connections}   \
         peak queue {queue}   utilisation {util:.1}%   pool timeouts {pto}",
        req = s.requests,
        served = s.served,
        errors = s.errors,
        timeouts = s.timeouts,
        retries = s.retries,
        hr = s.hit_ratio,
        exp = s.expired_keys,
        ev = s.evicted_keys,
        oom = s.oom_rejections,
        mem = mb(s.used_memory_peak),
        mean = s.latency_ms.mean,
        p50 = s.latency_ms.p50,
        p99 = s.latency_ms.p99,
        p999 = s.latency_ms.p999,
        max = s.latency_ms.max,
        q = s.db_queries,
        dup = s.duplicate_queries,
        qps = s.db_queries_per_s_peak,
        inf = s.db_inflight_peak,
        queue = s.db_queue_peak,
        util = s.db_utilization * 100.0,
        pto = s.pool_timeouts,
    );
    text + &strategy_line
}

/// Sweep file names.
pub const SWEEP_FILE: &str = "sweep.csv";
/// Aggregate (mean and 95% CI per point) file name.
pub const AGGREGATE_FILE: &str = "aggregate.csv";
/// Comparison chart file name.
pub const COMPARISON_CHART: &str = "comparison.png";

/// Folder of a sweep directory holding one JSON file per finished run.
pub const RUNS_DIR: &str = "runs";

/// Writes `bytes` as `dir/name` atomically, creating `dir`.
pub fn write_atomic_in(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    write_atomic(&dir.join(name), bytes)
}

/// Keeps one finished sweep run on disk (`runs/p<point>-r<replicate>.json`), atomically.
pub fn write_sweep_run(dir: &Path, run: &crate::sweep::SweepRun) -> Result<()> {
    let text = serde_json::to_string(run).expect("a run always serialises");
    write_atomic_in(
        &dir.join(RUNS_DIR),
        &format!("p{:05}-r{:04}.json", run.point, run.replicate),
        text.as_bytes(),
    )
}

/// Reads the runs kept in `dir/runs` (none if the folder does not exist).
pub fn read_sweep_runs(dir: &Path) -> Result<Vec<crate::sweep::SweepRun>> {
    let folder = dir.join(RUNS_DIR);
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| Error::output(p, e))?;
            serde_json::from_str(&text)
                .map_err(|e| Error::BadInput(format!("{}: not a sweep run: {e}", p.display())))
        })
        .collect()
}

/// Removes the runs of an earlier sweep in `dir` (a fresh sweep starts clean).
pub fn clear_sweep_runs(dir: &Path) -> Result<()> {
    let folder = dir.join(RUNS_DIR);
    match std::fs::remove_dir_all(&folder) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::output(folder, e)),
    }
}

/// Writes a sweep directory: `sweep.csv`, `aggregate.csv`, the comparison
/// chart and the resolved scenario; returns the files written.
pub fn write_sweep(
    dir: &Path,
    raw: &RawScenario,
    sweep: &crate::sweep::Sweep,
    runs: &[crate::sweep::SweepRun],
) -> Result<Vec<PathBuf>> {
    use crate::sweep::{flatten, mean_ci95, value_text};
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    let params = |point: usize| -> Vec<String> {
        sweep.points[point]
            .0
            .params
            .iter()
            .map(|(_, v)| value_text(v))
            .collect()
    };
    let metric_names: Vec<String> = runs
        .first()
        .map(|r| flatten(&r.summary).into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default();

    // One row per point × replicate.
    let mut rows = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string(), "replicate".into(), "seed".into()];
    header.extend(sweep.paths.iter().cloned());
    header.extend(metric_names.iter().cloned());
    rows.write_record(&header).expect("writes to memory");
    for run in runs {
        let mut record = vec![
            run.point.to_string(),
            run.replicate.to_string(),
            run.seed.to_string(),
        ];
        record.extend(params(run.point));
        record.extend(
            flatten(&run.summary)
                .into_iter()
                .map(|(_, v)| v.to_string()),
        );
        rows.write_record(&record).expect("writes to memory");
    }

    // One row per point × metric: mean and 95% confidence interval over replicates.
    let mut agg = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string()];
    header.extend(sweep.paths.iter().cloned());
    header.extend(["metric", "n", "mean", "ci95_low", "ci95_high"].map(String::from));
    agg.write_record(&header).expect("writes to memory");
    let mut stats: Vec<Vec<(f64, f64)>> = Vec::new(); // [point][metric] -> (mean, half)
    for point in 0..sweep.points.len() {
        let values: Vec<Vec<f64>> = runs
            .iter()
            .filter(|r| r.point == point)
            .map(|r| flatten(&r.summary).into_iter().map(|(_, v)| v).collect())
            .collect();
        let mut point_stats = Vec::new();
        for (m, name) in metric_names.iter().enumerate() {
            let xs: Vec<f64> = values.iter().map(|v| v[m]).collect();
            let (mean, half) = mean_ci95(&xs);
            let mut record = vec![point.to_string()];
            record.extend(params(point));
            record.extend([
                name.clone(),
                xs.len().to_string(),
                mean.to_string(),
                (mean - half).to_string(),
                (mean + half).to_string(),
            ]);
            agg.write_record(&record).expect("writes to memory");
            point_stats.push((mean, half));
        }
        stats.push(point_stats);
    }

    let mut files = OutputDir::create(dir)?;
    let mut put = |name: &str, bytes: Vec<u8>| files.put(name, &bytes);
    put(
        SWEEP_FILE,
        rows.into_inner().expect("flushing to memory cannot fail"),
    )?;
    put(
        AGGREGATE_FILE,
        agg.into_inner().expect("flushing to memory cannot fail"),
    )?;
    put(SCENARIO_FILE, resolved_toml(raw).into_bytes())?;

    // The comparison chart: each metric against the first numeric parameter,
    // one line per combination of the other parameters.
    let numeric = |i: usize| {
        sweep.points.iter().all(|(p, _)| {
            p.params[i].1.as_float().is_some() || p.params[i].1.as_integer().is_some()
        })
    };
    let x_param = (0..sweep.paths.len()).find(|&i| numeric(i));
    let x_of = |point: usize| -> f64 {
        match x_param {
            Some(i) => {
                let v = &sweep.points[point].0.params[i].1;
                v.as_float()
                    .or_else(|| v.as_integer().map(|n| n as f64))
                    .unwrap_or(0.0)
            }
            None => point as f64,
        }
    };
    let group_of = |point: usize| -> String {
        let others: Vec<String> = sweep.points[point]
            .0
            .params
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != x_param)
            .map(|(_, (k, v))| format!("{k}={}", value_text(v)))
            .collect();
        if others.is_empty() {
            sweep.name.clone()
        } else {
            others.join(", ")
        }
    };
    let mut groups: Vec<String> = Vec::new();
    for point in 0..sweep.points.len() {
        let g = group_of(point);
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let panel = |metric: &str, label: &str| -> Option<plot::Panel> {
        let m = metric_names.iter().position(|n| n == metric)?;
        let series = groups
            .iter()
            .map(|g| {
                let members: Vec<usize> = (0..sweep.points.len())
                    .filter(|&p| &group_of(p) == g)
                    .collect();
                plot::Series {
                    name: g.clone(),
                    points: members.iter().map(|&p| (x_of(p), stats[p][m].0)).collect(),
                    error_bars: members
                        .iter()
                        .map(|&p| {
                            (
                                x_of(p),
                                stats[p][m].0 - stats[p][m].1,
                                stats[p][m].0 + stats[p][m].1,
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        Some(plot::Panel {
            y_label: label.to_string(),
            series,
            log_y: false,
            reference: None,
        })
    };
    let panels: Vec<plot::Panel> = [
        panel("latency_ms.p99", "p99 latency (ms)"),
        panel("latency_ms.p999", "p99.9 latency (ms)"),
        panel("db_queries_per_s_peak", "peak DB queries per second"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let x_label = match x_param {
        Some(i) => sweep.paths[i].clone(),
        None => "point (see aggregate.csv)".to_string(),
    };
    let chart = dir.join(COMPARISON_CHART);
    plot::sweep_chart(
        &chart,
        format!(
            "{}: sweep, mean and 95% CI over {} replicates",
            sweep.name, sweep.replicates
        ),
        x_label,
        panels,
    )?;
    files.written.push(chart);
    let report = sweep_report(raw, sweep, &metric_names, &stats);
    files.put(REPORT_FILE, report.as_bytes())?;
    Ok(files.written)
}

/// The self-contained Markdown report of a sweep file name.
pub const REPORT_FILE: &str = "report.md";

/// Metrics shown in the report's table, with their headings.
const REPORT_METRICS: [(&str, &str); 7] = [
    ("hit_ratio", "hit ratio"),
    ("latency_ms.p99", "p99 (ms)"),
    ("latency_ms.p999", "p99.9 (ms)"),
    ("db_queries_per_s_peak", "peak DB q/s"),
    ("duplicate_queries", "duplicate queries"),
    ("db_queue_peak", "peak DB queue"),
    ("errors", "errors"),
];

/// The Markdown report: scenario, grid, a table of means ± 95% CI, the chart.
fn sweep_report(
    raw: &RawScenario,
    sweep: &crate::sweep::Sweep,
    metric_names: &[String],
    stats: &[Vec<(f64, f64)>],
) -> String {
    use crate::sweep::value_text;
    use std::fmt::Write as _;
    let mut md = String::new();
    let _ = writeln!(md, "# Sweep: {}\n", raw.name);
    if !raw.description.is_empty() {
        let _ = writeln!(md, "{}\n", raw.description);
    }
    let seeds = if sweep.independent {
        "independent seeds per point"
    } else {
        "common random numbers: replicate r of every point uses seed + r"
    };
    let _ = writeln!(
        md,
        "{} points × {} replicates, base seed {} ({seeds}). Simulated {} per run, warmup {}. \
         The resolved scenario is `scenario.toml`; every run is in `sweep.csv`, means and \
         95% confidence intervals (Student's t) in `aggregate.csv`.\n",
        sweep.points.len(),
        sweep.replicates,
        sweep.seed,
        raw.duration,
        raw.warmup
    );
    let _ = writeln!(md, "## Grid\n");
    for (i, path) in sweep.paths.iter().enumerate() {
        let mut values: Vec<String> = Vec::new();
        for (point, _) in &sweep.points {
            let v = value_text(&point.params[i].1);
            if !values.contains(&v) {
                values.push(v);
            }
        }
        let _ = writeln!(md, "- `{path}`: {}", values.join(", "));
    }
    let _ = writeln!(md, "\n## Results (mean ± 95% CI)\n");
    let shown: Vec<(usize, &str)> = REPORT_METRICS
        .iter()
        .filter_map(|(m, title)| {
            metric_names
                .iter()
                .position(|n| n == m)
                .map(|i| (i, *title))
        })
        .collect();
    let mut header: Vec<String> = sweep.paths.iter().map(|p| format!("`{p}`")).collect();
    header.extend(shown.iter().map(|(_, t)| t.to_string()));
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
    for (p, (point, _)) in sweep.points.iter().enumerate() {
        let mut cells: Vec<String> = point.params.iter().map(|(_, v)| value_text(v)).collect();
        cells.extend(shown.iter().map(|&(m, _)| {
            let (mean, half) = stats[p][m];
            if half > 1e-9 * mean.abs().max(1.0) {
                format!("{} ± {}", significant(mean), significant(half))
            } else {
                significant(mean)
            }
        }));
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }
    let _ = writeln!(md, "\n## Chart\n\n![comparison]({COMPARISON_CHART})");
    md
}

/// A number with about four significant digits, for tables.
fn significant(x: f64) -> String {
    let a = x.abs();
    if a >= 1000.0 || a == 0.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}
