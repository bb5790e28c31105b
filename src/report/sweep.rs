//! Output files of a sweep (SPEC §3): every run, the aggregate with 95%
//! confidence intervals, comparison charts, heatmaps and a Markdown report.
//!
//! The charts are drawn from a [`SweepTable`], which is exactly what
//! `aggregate.csv` holds, so `stampede plot DIR` redraws them from the file
//! with other metrics or axes and gets the same pictures a sweep writes.

use std::path::{Path, PathBuf};

use super::plot::heatmap::{HeatPanel, Heatmap};
use super::plot::{self, Figure, Format, Panel, Series};
use super::{OutputDir, SCENARIO_FILE, resolved_toml, write_atomic_in};
use crate::error::{Error, Result};
use crate::metrics::{metric_union, metric_values};
use crate::scenario::RawScenario;
use crate::sweep::{Sweep, SweepRun, value_text};

/// One row per point × replicate.
pub const SWEEP_FILE: &str = "sweep.csv";
/// One row per point × metric: mean and 95% confidence interval.
pub const AGGREGATE_FILE: &str = "aggregate.csv";
/// The comparison chart's name (extension from the format).
pub const COMPARISON_CHART: &str = "comparison";
/// The Markdown report.
pub const REPORT_FILE: &str = "report.md";
/// Folder of a sweep directory holding one JSON file per finished run.
pub const RUNS_DIR: &str = "runs";

/// Metrics charted when none are chosen: tail latency and peak database load.
pub const DEFAULT_METRICS: [&str; 3] =
    ["latency_ms.p99", "latency_ms.p999", "db_queries_per_s_peak"];

/// The file name of a kept run: `p<point>-r<replicate>.json`.
pub fn run_file_name(point: usize, replicate: u32) -> String {
    format!("p{point:05}-r{replicate:04}.json")
}

/// Keeps one finished sweep run on disk (`dir/runs/p<point>-r<replicate>.json`), atomically.
pub fn write_sweep_run(dir: &Path, run: &SweepRun) -> Result<()> {
    let text = serde_json::to_string(run).expect("a run always serialises");
    write_atomic_in(
        &dir.join(RUNS_DIR),
        &run_file_name(run.point, run.replicate),
        text.as_bytes(),
    )
}

/// The runs kept in `dir/runs` (none if the folder does not exist), each
/// with its file, or why it cannot be read: not JSON of a run, or a file
/// name that does not match its point and replicate.
pub fn read_kept_runs(dir: &Path) -> Result<Vec<(PathBuf, std::result::Result<SweepRun, String>)>> {
    let folder = dir.join(RUNS_DIR);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::output(&folder, e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|p| {
            let run = std::fs::read_to_string(&p)
                .map_err(|e| format!("cannot read it: {e}"))
                .and_then(|text| {
                    serde_json::from_str::<SweepRun>(&text)
                        .map_err(|e| format!("not a sweep run: {e}"))
                })
                .and_then(|run| {
                    let expected = run_file_name(run.point, run.replicate);
                    if p.file_name()
                        .is_some_and(|n| n.to_string_lossy() == expected)
                    {
                        Ok(run)
                    } else {
                        Err(format!(
                            "it holds point {} replicate {}, which belong in {expected}",
                            run.point, run.replicate
                        ))
                    }
                });
            (p, run)
        })
        .collect())
}

/// Re-exported from [`crate::stats`], where every statistic lives.
pub use crate::stats::Stat;

/// The aggregate of a sweep: what `aggregate.csv` holds.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepTable {
    /// Swept parameter paths, in column order.
    pub params: Vec<String>,
    /// Each point's parameter values, as text.
    pub points: Vec<Vec<String>>,
    /// Metric names (`latency_ms.p99`...), in summary order.
    pub metrics: Vec<String>,
    /// `stats[point][metric]`.
    pub stats: Vec<Vec<Stat>>,
}

impl SweepTable {
    /// The column index of each `(metric, title)` the table has, with its title.
    pub fn columns<'a>(&self, wanted: &[(&str, &'a str)]) -> Vec<(usize, &'a str)> {
        wanted
            .iter()
            .filter_map(|(m, title)| {
                self.metrics
                    .iter()
                    .position(|n| n == m)
                    .map(|i| (i, *title))
            })
            .collect()
    }

    /// Aggregates `runs` (complete and in grid order) over replicates.
    ///
    /// Metrics are matched by name: a metric some runs leave out (a count
    /// that was zero, a server figure of a point without a server model) is
    /// aggregated over the runs that have it.
    pub fn from_runs(sweep: &Sweep, runs: &[SweepRun]) -> SweepTable {
        let metrics = metric_union(runs.iter().map(|r| &r.summary));
        let stats = (0..sweep.points.len())
            .map(|point| {
                let values: Vec<Vec<Option<f64>>> = runs
                    .iter()
                    .filter(|r| r.point == point)
                    .map(|r| metric_values(&r.summary, &metrics))
                    .collect();
                (0..metrics.len())
                    .map(|m| Stat::of(&values.iter().filter_map(|v| v[m]).collect::<Vec<_>>()))
                    .collect()
            })
            .collect();
        SweepTable {
            params: sweep.paths.clone(),
            points: sweep
                .points
                .iter()
                .map(|(p, _)| p.params.iter().map(|(_, v)| value_text(v)).collect())
                .collect(),
            metrics,
            stats,
        }
    }

    /// The table as `aggregate.csv`: `point`, the parameters, `metric`, `n`,
    /// `mean`, `ci95_low`, `ci95_high`.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["point".to_string()];
        header.extend(self.params.iter().cloned());
        header.extend(["metric", "n", "mean", "ci95_low", "ci95_high"].map(String::from));
        out.write_record(&header).expect("writes to memory");
        for (point, values) in self.points.iter().enumerate() {
            for (metric, s) in self.metrics.iter().zip(&self.stats[point]) {
                let mut record = vec![point.to_string()];
                record.extend(values.iter().cloned());
                record.extend([
                    metric.clone(),
                    s.n.to_string(),
                    s.mean.to_string(),
                    s.low.to_string(),
                    s.high.to_string(),
                ]);
                out.write_record(&record).expect("writes to memory");
            }
        }
        super::csv_bytes(out)
    }

    /// Reads `dir/aggregate.csv` back.
    pub fn read(dir: &Path) -> Result<SweepTable> {
        let path = dir.join(AGGREGATE_FILE);
        let bad = |why: String| Error::BadInput(format!("{}: {why}", path.display()));
        let mut reader = csv::Reader::from_path(&path).map_err(|e| {
            bad(format!(
                "cannot read it ({e}); give a directory written by `stampede sweep`"
            ))
        })?;
        let header = super::csv_header(&mut reader).map_err(|e| bad(e.to_string()))?;
        let metric_col = header
            .iter()
            .position(|h| h == "metric")
            .filter(|&i| i >= 1 && header.len() == i + 5)
            .ok_or_else(|| bad("not an aggregate: expected columns point, parameters..., metric, n, mean, ci95_low, ci95_high".into()))?;
        let mut table = SweepTable {
            params: header[1..metric_col].to_vec(),
            points: Vec::new(),
            metrics: Vec::new(),
            stats: Vec::new(),
        };
        for (line, record) in reader.records().enumerate() {
            let record = record.map_err(|e| bad(e.to_string()))?;
            let number = |i: usize| -> Result<f64> {
                record[i].parse().map_err(|_| {
                    bad(format!(
                        "line {}: `{}` is not a number in column {}",
                        line + 2,
                        &record[i],
                        header[i]
                    ))
                })
            };
            let point: usize = number(0)? as usize;
            if point == table.points.len() {
                table.points.push(
                    record
                        .iter()
                        .skip(1)
                        .take(metric_col - 1)
                        .map(String::from)
                        .collect(),
                );
                table.stats.push(Vec::new());
            } else if point + 1 != table.points.len() {
                return Err(bad(format!("line {}: points must come in order", line + 2)));
            }
            let metric = &record[metric_col];
            if point == 0 {
                table.metrics.push(metric.to_string());
            } else if table
                .metrics
                .get(table.stats[point].len())
                .map(String::as_str)
                != Some(metric)
            {
                return Err(bad(format!(
                    "line {}: metric `{metric}` out of order",
                    line + 2
                )));
            }
            table.stats[point].push(Stat {
                n: number(metric_col + 1)? as usize,
                mean: number(metric_col + 2)?,
                low: number(metric_col + 3)?,
                high: number(metric_col + 4)?,
            });
        }
        if table.stats.iter().any(|s| s.len() != table.metrics.len()) {
            return Err(bad("every point must have every metric".into()));
        }
        Ok(table)
    }

    /// Whether every value of parameter `i` is a number.
    fn numeric(&self, i: usize) -> bool {
        self.points.iter().all(|p| p[i].parse::<f64>().is_ok())
    }

    /// The distinct values of parameter `i`: ascending if numeric, else in grid order.
    fn levels(&self, i: usize) -> Vec<String> {
        let mut levels: Vec<String> = Vec::new();
        for p in &self.points {
            if !levels.contains(&p[i]) {
                levels.push(p[i].clone());
            }
        }
        if self.numeric(i) {
            levels.sort_by(|a, b| a.parse::<f64>().unwrap().total_cmp(&b.parse().unwrap()));
        }
        levels
    }

    /// "path=value, path=value" for the parameters `which` of `point`, or `fallback`.
    fn label(&self, point: usize, which: &[usize], fallback: &str) -> String {
        if which.is_empty() {
            return fallback.to_string();
        }
        which
            .iter()
            .map(|&i| format!("{}={}", self.params[i], self.points[point][i]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What `stampede plot` draws from a sweep: metrics, axes and format.
#[derive(Clone, Debug, Default)]
pub struct ChartOptions {
    /// Metrics to chart [default: [`DEFAULT_METRICS`]].
    pub metrics: Vec<String>,
    /// Parameter on the x axis [default: the first numeric one].
    pub x: Option<String>,
    /// Parameter on the heatmap's y axis [default: the second numeric one].
    pub y: Option<String>,
    /// Parameter that makes one line per value [default: `strategy.kind` if swept].
    pub by: Option<String>,
    /// Image format.
    pub format: Format,
}

/// The axes a chart uses, as parameter indices, after defaults and checks.
struct Axes {
    x: usize,
    by: Option<usize>,
    y: Option<usize>,
}

impl ChartOptions {
    fn metrics<'a>(&'a self, table: &SweepTable) -> Result<Vec<&'a str>> {
        let chosen: Vec<&str> = if self.metrics.is_empty() {
            DEFAULT_METRICS.to_vec()
        } else {
            self.metrics.iter().map(String::as_str).collect()
        };
        for m in &chosen {
            if !table.metrics.iter().any(|n| n == m) {
                return Err(Error::BadInput(format!(
                    "--metric {m}: not a metric of this sweep; allowed: {}",
                    table.metrics.join(", ")
                )));
            }
        }
        Ok(chosen)
    }

    fn axes(&self, table: &SweepTable) -> Result<Axes> {
        let find = |flag: &str, path: &Option<String>| -> Result<Option<usize>> {
            path.as_ref()
                .map(|p| {
                    table.params.iter().position(|q| q == p).ok_or_else(|| {
                        Error::BadInput(format!(
                            "--{flag} {p}: not a swept parameter; allowed: {}",
                            table.params.join(", ")
                        ))
                    })
                })
                .transpose()
        };
        let n = table.params.len();
        let x = match find("x", &self.x)? {
            Some(x) => x,
            None => (0..n).find(|&i| table.numeric(i)).unwrap_or(0),
        };
        let y = match find("y", &self.y)? {
            Some(y) if y == x => {
                return Err(Error::BadInput(format!(
                    "--y {}: the heatmap needs two different parameters on x and y",
                    table.params[y]
                )));
            }
            Some(y) => Some(y),
            None => (0..n).find(|&i| i != x && table.numeric(i) && table.numeric(x)),
        };
        let by = match find("by", &self.by)? {
            Some(b) if b == x => {
                return Err(Error::BadInput(format!(
                    "--by {}: already on the x axis",
                    table.params[b]
                )));
            }
            Some(b) => Some(b),
            None => table
                .params
                .iter()
                .position(|p| p == "strategy.kind")
                .filter(|&i| i != x)
                .or_else(|| (0..n).find(|&i| i != x)),
        };
        Ok(Axes { x, by, y })
    }
}

/// A metric's axis label, with its unit.
pub fn metric_label(metric: &str) -> String {
    match metric {
        "latency_ms.p999" => "p99.9 latency (ms)".into(),
        "db_queries_per_s_peak" => "peak DB queries per second (q/s)".into(),
        "hit_ratio" => "hit ratio".into(),
        "db_utilization" => "DB utilisation (0-1)".into(),
        "used_memory_peak" => "peak used memory (bytes)".into(),
        m => match m.strip_prefix("latency_ms.") {
            Some(q) => format!("{q} latency (ms)"),
            None => m.replace('_', " "),
        },
    }
}

/// A swept parameter in words, with its unit where it has one:
/// `clients.rate` → "request rate (req/s)"; unknown paths stay as they are.
pub fn param_label(path: &str) -> String {
    let (name, unit) = param_words(path);
    match unit {
        Some(unit) => format!("{name} ({unit})"),
        None => name,
    }
}

/// A parameter's name in words and its unit, if any.
fn param_words(path: &str) -> (String, Option<&'static str>) {
    let (name, unit) = match path {
        "clients.rate" => ("request rate", Some("req/s")),
        "clients.zipf" => ("Zipf exponent", None),
        "clients.keys" => ("distinct keys", None),
        "clients.clients" => ("closed-loop users", None),
        "clients.timeout" => ("client timeout", None),
        "clients.retries" => ("retries per request", None),
        "clients.retry_backoff" => ("retry backoff", None),
        "clients.app_instances" => ("application instances", None),
        "cache.maxmemory" => ("cache maxmemory", None),
        "cache.policy" => ("eviction policy", None),
        "cache.ttl" => ("TTL", None),
        "cache.ttl_jitter" => ("TTL jitter", Some("fraction")),
        "cache.samples" => ("eviction samples", None),
        "cache.shards" => ("cache shards", None),
        "cache.ops_per_sec" => ("cache capacity", Some("commands/s")),
        "database.connections" => ("DB connection pool size", Some("connections")),
        "database.cores" => ("DB cores", None),
        "database.pool_timeout" => ("DB pool timeout", None),
        "strategy.kind" => ("mitigation", None),
        "strategy.lease" => ("lock lease", None),
        "strategy.renew" => ("lease renewal period", None),
        "strategy.retry" => ("lock retry interval", None),
        "strategy.window" => ("early refresh window", None),
        "strategy.probability" => ("early refresh probability", None),
        "strategy.beta" => ("XFetch beta", None),
        "strategy.stale" => ("stale-while-revalidate period", None),
        other => return (other.to_string(), None),
    };
    (name.to_string(), unit)
}

/// A parameter and its value in words, the value with its unit:
/// `clients.rate`, `60000` → ("request rate", "60,000 req/s").
pub fn param_value_in_words(path: &str, value: &str) -> (String, String) {
    let (name, unit) = param_words(path);
    let value = match value.parse::<f64>() {
        Ok(v) if v.abs() >= 10_000.0 => plot::tick_label(&v),
        _ => value.to_string(),
    };
    match unit {
        Some(u) if u != "fraction" => (name, format!("{value} {u}")),
        _ => (name, value),
    }
}

/// "clients.zipf=0.8, strategy.kind=lock" in words: "Zipf exponent: 0.8, mitigation: lock".
pub fn params_in_words(label: &str) -> String {
    label
        .split(", ")
        .map(|part| match part.split_once('=') {
            Some((path, value)) => {
                let (name, value) = param_value_in_words(path, value);
                format!("{name}: {value}")
            }
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Draws the sweep's charts into `dir`: the comparison chart and, with two
/// parameters on x and y, one heatmap per metric; returns the files (none
/// for a sweep without parameters, which only replicates one point).
pub fn sweep_charts(
    dir: &Path,
    name: &str,
    table: &SweepTable,
    options: &ChartOptions,
) -> Result<Vec<PathBuf>> {
    let metrics = options.metrics(table)?;
    if table.params.is_empty() {
        // Replicates of one point: nothing to compare across.
        return Ok(Vec::new());
    }
    let axes = options.axes(table)?;
    let replicates = table
        .stats
        .first()
        .and_then(|s| s.first())
        .map_or(0, |s| s.n);
    let mut written = Vec::new();
    let path = dir.join(options.format.file(COMPARISON_CHART));
    plot::draw(&path, &comparison(name, table, &metrics, &axes, replicates))?;
    written.push(path);
    if let Some(y) = axes.y {
        for metric in &metrics {
            let path = dir.join(options.format.file(&format!("heatmap-{metric}")));
            plot::draw(&path, &heatmap(name, table, metric, axes.x, y, replicates))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// A metric against x, one line per `by` value, one column per combination
/// of the other parameters, one row per metric.
fn comparison(
    name: &str,
    table: &SweepTable,
    metrics: &[&str],
    axes: &Axes,
    replicates: usize,
) -> Figure {
    let x = axes.x;
    let numeric_x = table.numeric(x);
    let x_levels = table.levels(x);
    let x_of = |point: usize| -> f64 {
        let v = &table.points[point][x];
        if numeric_x {
            v.parse().expect("checked numeric")
        } else {
            x_levels.iter().position(|l| l == v).unwrap_or(0) as f64
        }
    };
    let by: Vec<usize> = axes.by.into_iter().collect();
    let facet_params: Vec<usize> = (0..table.params.len())
        .filter(|&i| i != x && Some(i) != axes.by)
        .collect();
    let distinct = |which: &[usize]| -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for p in 0..table.points.len() {
            let l = table.label(p, which, "");
            if !seen.contains(&l) {
                seen.push(l);
            }
        }
        seen
    };
    let facets = distinct(&facet_params);
    let lines = distinct(&by);
    // With one `by` parameter, lines are named by its value and the title names it.
    let line_name = |line: &str| -> String {
        match axes.by {
            None => name.to_string(),
            Some(b) => line
                .strip_prefix(&format!("{}=", table.params[b]))
                .unwrap_or(line)
                .to_string(),
        }
    };
    // Lines at the same x are pulled a little apart (dodged), so that
    // coinciding means and intervals of several lines stay visible.
    let gap = if numeric_x {
        let v: Vec<f64> = x_levels
            .iter()
            .map(|v| v.parse().expect("numeric"))
            .collect();
        v.windows(2)
            .map(|w| w[1] - w[0])
            .fold(f64::INFINITY, f64::min)
    } else {
        1.0
    };
    let dodge = |line: usize| -> f64 {
        let n = lines.len() as f64;
        if n < 2.0 || !gap.is_finite() {
            0.0
        } else {
            (line as f64 - (n - 1.0) / 2.0) * gap * 0.2 / (n - 1.0)
        }
    };
    let mut panels = Vec::new();
    for metric in metrics {
        let m = table
            .metrics
            .iter()
            .position(|n| n == metric)
            .expect("checked");
        let mut row = Vec::new();
        for facet in &facets {
            let series: Vec<Series> = lines
                .iter()
                .enumerate()
                .map(|(k, line)| {
                    let mut members: Vec<usize> = (0..table.points.len())
                        .filter(|&p| {
                            &table.label(p, &facet_params, "") == facet
                                && &table.label(p, &by, "") == line
                        })
                        .collect();
                    members.sort_by(|&a, &b| x_of(a).total_cmp(&x_of(b)));
                    let stat = |p: usize| table.stats[p][m];
                    let at = |p: usize| x_of(p) + dodge(k);
                    Series::new(
                        if line.is_empty() {
                            name.to_string()
                        } else {
                            line.clone()
                        },
                        members.iter().map(|&p| (at(p), stat(p).mean)).collect(),
                    )
                    .with_error_bars(
                        members
                            .iter()
                            .map(|&p| (at(p), stat(p).low, stat(p).high))
                            .collect(),
                    )
                })
                .collect();
            row.push(Panel {
                caption: params_in_words(facet),
                legend: false,
                ..Panel::new(metric_label(metric), series)
            });
        }
        // One scale per metric: the panels of a row are compared side by side.
        let means = row
            .iter()
            .flat_map(|p| p.series.iter().flat_map(|s| s.points.iter().map(|q| q.1)));
        let (lo, hi) = means.fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let log_y = metric.starts_with("latency_ms.") && lo > 0.0 && hi / lo > 20.0;
        for p in &mut row {
            p.log_y = log_y;
        }
        plot::share_y(&mut row, 0.0);
        panels.extend(row);
    }
    let x_range = if numeric_x {
        let values: Vec<f64> = x_levels
            .iter()
            .map(|v| v.parse().expect("numeric"))
            .collect();
        let (lo, hi) = (values[0], values[values.len() - 1]);
        let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.05).max(1e-9);
        (lo - pad)..(hi + pad)
    } else {
        -0.5..x_levels.len() as f64 - 0.5
    };
    let shared_legend = lines.iter().map(|l| line_name(l)).collect();
    let lines_by = axes.by.map_or(String::new(), |b| {
        format!(", one line per {}", param_words(&table.params[b]).0)
    });
    Figure {
        title: if replicates == 1 {
            format!("{name}: one run per point{lines_by}")
        } else {
            format!("{name}: mean and 95% CI over {replicates} replicates{lines_by}")
        },
        shared_legend,
        panels,
        columns: facets.len(),
        warmup: 0.0,
        x_range,
        x_label: param_label(&table.params[x]),
        x_names: if numeric_x { Vec::new() } else { x_levels },
        log_x: false,
        faults: Vec::new(),
    }
}

/// `metric` over x × y, one panel per combination of the other parameters.
fn heatmap(
    name: &str,
    table: &SweepTable,
    metric: &str,
    x: usize,
    y: usize,
    replicates: usize,
) -> Heatmap {
    let m = table
        .metrics
        .iter()
        .position(|n| n == metric)
        .expect("checked");
    let (x_names, y_names) = (table.levels(x), table.levels(y));
    let others: Vec<usize> = (0..table.params.len())
        .filter(|&i| i != x && i != y)
        .collect();
    let mut panels: Vec<HeatPanel> = Vec::new();
    let mut captions: Vec<String> = Vec::new();
    for p in 0..table.points.len() {
        let caption = table.label(p, &others, "");
        let k = match captions.iter().position(|c| *c == caption) {
            Some(k) => k,
            None => {
                captions.push(caption.clone());
                panels.push(HeatPanel {
                    caption: params_in_words(&caption),
                    cells: vec![vec![None; x_names.len()]; y_names.len()],
                });
                panels.len() - 1
            }
        };
        let col = x_names
            .iter()
            .position(|v| *v == table.points[p][x])
            .expect("a level");
        let row = y_names
            .iter()
            .position(|v| *v == table.points[p][y])
            .expect("a level");
        panels[k].cells[row][col] = Some(table.stats[p][m].mean);
    }
    Heatmap {
        title: format!(
            "{name}: {}, {}",
            metric_label(metric),
            if replicates == 1 {
                "one run per point".to_string()
            } else {
                format!("mean over {replicates} replicates")
            }
        ),
        x_label: param_label(&table.params[x]),
        y_label: param_label(&table.params[y]),
        x_names,
        y_names,
        value_label: metric_label(metric),
        panels,
    }
}

/// Writes a sweep directory: `sweep.csv`, `aggregate.csv`, the charts, the
/// resolved scenario and `report.md`; returns the files written.
pub fn write_sweep(
    dir: &Path,
    raw: &RawScenario,
    sweep: &Sweep,
    runs: &[SweepRun],
) -> Result<Vec<PathBuf>> {
    let table = SweepTable::from_runs(sweep, runs);
    let mut rows = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string(), "replicate".into(), "seed".into()];
    header.extend(table.params.iter().cloned());
    header.extend(table.metrics.iter().cloned());
    rows.write_record(&header).expect("writes to memory");
    for run in runs {
        let mut record = vec![
            run.point.to_string(),
            run.replicate.to_string(),
            run.seed.to_string(),
        ];
        record.extend(table.points[run.point].iter().cloned());
        record.extend(
            metric_values(&run.summary, &table.metrics)
                .into_iter()
                .map(|v| v.map_or(String::new(), |v| v.to_string())),
        );
        rows.write_record(&record).expect("writes to memory");
    }

    let mut files = OutputDir::create(dir)?;
    files.put(SWEEP_FILE, &super::csv_bytes(rows))?;
    files.put(AGGREGATE_FILE, &table.to_csv())?;
    let toml = resolved_toml(raw, dir);
    files.put(SCENARIO_FILE, toml.as_bytes())?;
    let charts = sweep_charts(dir, &sweep.name, &table, &ChartOptions::default())?;
    let report = sweep_report(raw, sweep, &table, &charts);
    files.written.extend(charts);
    files.put(REPORT_FILE, report.as_bytes())?;
    let svgs = super::html::svg_charts(|scratch| {
        let options = ChartOptions {
            format: Format::Svg,
            ..ChartOptions::default()
        };
        sweep_charts(scratch, &sweep.name, &table, &options)
    })?;
    let page = super::html::sweep_page(
        sweep,
        &toml,
        &raw.description,
        &table,
        &REPORT_METRICS,
        &svgs,
    );
    files.put(super::html::HTML_FILE, page.as_bytes())?;
    Ok(files.written)
}

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

/// The Markdown report: scenario, grid, a table of means ± 95% CI, the charts.
fn sweep_report(
    raw: &RawScenario,
    sweep: &Sweep,
    table: &SweepTable,
    charts: &[PathBuf],
) -> String {
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
        raw.duration.as_deref().unwrap_or_default(),
        raw.warmup
    );
    let _ = writeln!(md, "## Grid\n");
    for (i, path) in table.params.iter().enumerate() {
        let _ = writeln!(md, "- `{path}`: {}", table.levels(i).join(", "));
    }
    let _ = writeln!(md, "\n## Results (mean ± 95% CI)\n");
    let shown = table.columns(&REPORT_METRICS);
    let mut header: Vec<String> = table.params.iter().map(|p| format!("`{p}`")).collect();
    header.extend(shown.iter().map(|(_, t)| t.to_string()));
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
    for (p, values) in table.points.iter().enumerate() {
        let mut cells = values.clone();
        cells.extend(shown.iter().map(|&(m, _)| {
            let s = table.stats[p][m];
            let half = (s.high - s.low) / 2.0;
            if half > 1e-9 * s.mean.abs().max(1.0) {
                format!("{} ± {}", significant(s.mean), significant(half))
            } else {
                significant(s.mean)
            }
        }));
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }
    if !charts.is_empty() {
        let _ = writeln!(md, "\n## Charts\n");
    }
    for chart in charts {
        let file = chart.file_name().unwrap_or_default().to_string_lossy();
        let stem = chart.file_stem().unwrap_or_default().to_string_lossy();
        let _ = writeln!(md, "![{stem}]({file})\n");
    }
    md
}

/// A number with about four significant digits, for tables.
pub fn significant(x: f64) -> String {
    let a = x.abs();
    if x.is_nan() {
        // A metric this run's summary does not have (a server figure without a server model).
        "absent from this run".into()
    } else if a >= 1000.0 || a == 0.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parameters a ∈ {1, 2} and b ∈ {10, 20, 30}, b varying fastest;
    /// metric m = 100a + b with a half-width of 1.
    fn table() -> SweepTable {
        let mut points = Vec::new();
        let mut stats = Vec::new();
        for a in [1, 2] {
            for b in [30, 10, 20] {
                points.push(vec![a.to_string(), b.to_string()]);
                let mean = (100 * a + b) as f64;
                stats.push(vec![Stat {
                    n: 3,
                    mean,
                    low: mean - 1.0,
                    high: mean + 1.0,
                }]);
            }
        }
        SweepTable {
            params: vec!["a".into(), "b".into()],
            points,
            metrics: vec!["m".into()],
            stats,
        }
    }

    #[test]
    fn the_aggregate_file_reads_back_to_the_same_table() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = table();
        t.stats[4][0].mean = 0.1 + 0.2; // a float that prints with many digits
        std::fs::write(dir.path().join(AGGREGATE_FILE), t.to_csv()).unwrap();
        assert_eq!(SweepTable::read(dir.path()).unwrap(), t);
    }

    #[test]
    fn heatmap_cells_hold_each_points_mean_with_numeric_levels_ascending() {
        let h = heatmap("t", &table(), "m", 1, 0, 3);
        assert_eq!(h.x_names, ["10", "20", "30"], "numeric levels sorted");
        assert_eq!(h.y_names, ["1", "2"]);
        assert_eq!(h.panels.len(), 1);
        for (row, a) in [1.0, 2.0].iter().enumerate() {
            for (col, b) in [10.0, 20.0, 30.0].iter().enumerate() {
                assert_eq!(h.panels[0].cells[row][col], Some(100.0 * a + b));
            }
        }
    }

    #[test]
    fn comparison_draws_one_line_per_value_sorted_along_x_with_its_interval() {
        let t = table();
        let options = ChartOptions {
            x: Some("b".into()),
            ..ChartOptions::default()
        };
        let axes = options.axes(&t).unwrap();
        assert_eq!((axes.x, axes.by, axes.y), (1, Some(0), Some(0)));
        let f = comparison("t", &t, &["m"], &axes, 3);
        assert_eq!(f.shared_legend, ["1", "2"]);
        // Lines are dodged apart along x by a tenth of the gap between levels at most.
        let line = &f.panels[0].series[1];
        let ys: Vec<f64> = line.points.iter().map(|p| p.1).collect();
        assert_eq!(ys, [210.0, 220.0, 230.0]);
        for (p, x) in line.points.iter().zip([10.0, 20.0, 30.0]) {
            assert!(p.0 > x && p.0 - x <= 1.0, "{p:?}");
        }
        assert_eq!(line.error_bars[0].1..line.error_bars[0].2, 209.0..211.0);
        // Panels of one metric share their scale.
        assert!(f.panels.iter().all(|p| p.y_range == f.panels[0].y_range));
    }
}
