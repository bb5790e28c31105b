//! `stampede compare DIR...`: several runs of one scenario on shared axes.
//!
//! The runs are variants of one scenario (the same `name`: one file run with
//! different `--set` or `--seed`), such as an incident and its fix. Each run
//! directory holds its resolved `scenario.toml`; the resolved scenarios are
//! diffed key by key, and each run is labelled by the keys that set it apart
//! (`strategy.kind = lock`). Options that follow from a differing key (a
//! lock's `strategy.lease` where `strategy.kind` differs) are left out of the
//! labels, and listed in `report.html`'s table of differences.
//!
//! Runs are aligned on simulated time: every series is placed at the middle
//! of its row in seconds, counts are drawn as rates per second, and the time
//! axis spans the longest run, so runs with different `duration` or
//! `interval` share one axis. Rows after the last arrival (drain) are left
//! out, as in a run's own charts. Runs of different scenarios are refused:
//! their differences would be everything.
//!
//! A compare directory holds `latency.png`, `db_load.png`, `memory.png`,
//! `errors.png`, `hit_ratio.png` (one colour per run, the same in every
//! chart), `compare.csv` (one row per run: its directory, label and every
//! summary metric) and `report.html`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::metrics::{RunSummary, TimeseriesRow, flatten, metric_union, metric_values};
use crate::report::html::{self, Page};
use crate::report::plot::{self, Figure, PALETTE, Panel, Series};
use crate::report::{self, OutputDir, SCENARIO_FILE, SUMMARY_FILE, TIMESERIES_FILE};
use crate::scenario::{self, Scenario};

/// One row per run: `run` (its directory), `label`, every summary metric.
pub const COMPARE_FILE: &str = "compare.csv";

/// Chart names of a compare directory, in the order drawn.
pub const CHARTS: [&str; 5] = ["latency", "db_load", "memory", "errors", "hit_ratio"];

/// Keys of the resolved scenario that do not change a run: never labels.
const NOT_COMPARED: [&str; 2] = ["name", "description"];
/// Tables of the resolved scenario that do not change a run.
const NOT_COMPARED_TABLES: [&str; 2] = ["expect", "sweep"];

/// One run being compared.
#[derive(Clone, Debug)]
pub struct Run {
    /// Its directory, as given.
    pub dir: PathBuf,
    /// The resolved scenario it ran.
    pub scenario: Scenario,
    /// Its `scenario.toml`, as written.
    pub resolved: String,
    /// Every key of the resolved scenario as (dotted path, value), in file order.
    pub keys: Vec<(String, String)>,
    /// Its `summary.json`.
    pub summary: RunSummary,
    /// Its `timeseries.csv`.
    pub rows: Vec<TimeseriesRow>,
    /// What sets it apart from the others, e.g. `strategy.kind = lock`.
    pub label: String,
}

impl Run {
    /// The value of `key` in this run's resolved scenario.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Several runs of one scenario, labelled by their differences.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The scenario's name, common to every run.
    pub name: String,
    /// The runs, in the order given.
    pub runs: Vec<Run>,
    /// Every key whose value differs between runs (or is set in some only), in file order.
    pub differing: Vec<String>,
}

/// Reads the run directories `dirs` and labels each by what differs.
///
/// Bad input (exit 2): fewer than two directories, a directory that is not a
/// run (a sweep, plan or compare directory, or one missing a run's files),
/// or runs of different scenarios.
pub fn load(dirs: &[PathBuf]) -> Result<Comparison> {
    if dirs.len() < 2 {
        return Err(Error::BadInput(format!(
            "compare needs at least two run directories, got {}; e.g. stampede compare \
             results/hot-key-expiry results/hot-key-expiry-lock",
            dirs.len()
        )));
    }
    let mut runs = dirs
        .iter()
        .map(|d| read_run(d))
        .collect::<Result<Vec<_>>>()?;
    let name = runs[0].scenario.name.clone();
    if let Some(other) = runs.iter().find(|r| r.scenario.name != name) {
        return Err(Error::BadInput(format!(
            "cannot compare runs of different scenarios: {} ran `{name}` and {} ran `{}`; \
             compare runs of one scenario (the same file with other --set or --seed values)",
            runs[0].dir.display(),
            other.dir.display(),
            other.scenario.name
        )));
    }
    let differing = differing_keys(&runs);
    let labels = labels(&runs, &differing);
    for (run, label) in runs.iter_mut().zip(labels) {
        run.label = label;
    }
    Ok(Comparison {
        name,
        runs,
        differing,
    })
}

/// Reads one run directory, or says why `dir` is not one.
fn read_run(dir: &Path) -> Result<Run> {
    let not_a_run = |why: String| {
        Error::BadInput(format!(
            "{}: {why}; compare takes directories written by `stampede run`",
            dir.display()
        ))
    };
    if !dir.is_dir() {
        return Err(not_a_run(if dir.exists() {
            "is a file, not a directory".into()
        } else {
            "no such directory".into()
        }));
    }
    for (file, kind) in [
        (crate::report::sweep::AGGREGATE_FILE, "a sweep"),
        ("plan.csv", "a plan"),
        (COMPARE_FILE, "a compare"),
    ] {
        if dir.join(file).is_file() {
            return Err(not_a_run(format!(
                "is {kind} directory (it has {file}), not a run directory"
            )));
        }
    }
    for file in [SCENARIO_FILE, SUMMARY_FILE, TIMESERIES_FILE] {
        if !dir.join(file).is_file() {
            return Err(not_a_run(format!("not a run directory: it has no {file}")));
        }
    }
    let path = dir.join(SCENARIO_FILE);
    let (scenario, _) = scenario::load(&path, &[])?;
    let resolved = std::fs::read_to_string(&path)
        .map_err(|e| not_a_run(format!("cannot read {SCENARIO_FILE}: {e}")))?;
    let table: toml::Table = toml::from_str(&resolved)
        .map_err(|e| not_a_run(format!("{SCENARIO_FILE} is not TOML: {e}")))?;
    let mut keys = Vec::new();
    for (key, value) in &table {
        flatten_toml(key, value, &mut keys);
    }
    let summary_path = dir.join(SUMMARY_FILE);
    let summary: RunSummary = std::fs::read_to_string(&summary_path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        .map_err(|e| {
            not_a_run(format!(
                "{SUMMARY_FILE} cannot be read as a run's summary: {e}"
            ))
        })?;
    let rows = report::read_csv(dir, TIMESERIES_FILE)?;
    Ok(Run {
        dir: dir.to_path_buf(),
        scenario,
        resolved,
        keys,
        summary,
        rows,
        label: String::new(),
    })
}

/// Appends every scalar of `value` as (dotted path, text): tables by `.`,
/// arrays of tables by `[i]` (`events[0].at`); strings without quotes.
fn flatten_toml(path: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(table) => {
            for (key, inner) in table {
                flatten_toml(&format!("{path}.{key}"), inner, out);
            }
        }
        toml::Value::Array(items) if !items.is_empty() && items.iter().all(|i| i.is_table()) => {
            for (i, item) in items.iter().enumerate() {
                flatten_toml(&format!("{path}[{i}]"), item, out);
            }
        }
        toml::Value::String(text) => out.push((path.to_string(), text.clone())),
        other => out.push((path.to_string(), other.to_string())),
    }
}

/// Whether `key` can change a run (not a name, description, `[expect]` or `[sweep]`).
fn compared(key: &str) -> bool {
    let table = key.split(['.', '[']).next().unwrap_or(key);
    !NOT_COMPARED.contains(&key) && !NOT_COMPARED_TABLES.contains(&table)
}

/// Keys whose value is not the same in every run, in the order they first appear.
fn differing_keys(runs: &[Run]) -> Vec<String> {
    let mut all: Vec<&str> = Vec::new();
    for run in runs {
        for (key, _) in &run.keys {
            if compared(key) && !all.contains(&key.as_str()) {
                all.push(key);
            }
        }
    }
    all.into_iter()
        .filter(|key| {
            let first = runs[0].value(key);
            runs.iter().any(|r| r.value(key) != first)
        })
        .map(String::from)
        .collect()
}

/// The table holding `key`: `strategy` for `strategy.lease`, `events[0]` for `events[0].at`.
fn parent(key: &str) -> &str {
    key.rfind('.').map_or("", |i| &key[..i])
}

/// Each run's label: the differing keys set in every run, and those set in
/// some runs only unless a key of their table set in every run differs too
/// (then they follow from it: a lock's options where `strategy.kind`
/// differs). Runs that differ in nothing are labelled by their directory,
/// and so are runs whose labels would coincide.
fn labels(runs: &[Run], differing: &[String]) -> Vec<String> {
    let everywhere: Vec<&String> = differing
        .iter()
        .filter(|k| runs.iter().all(|r| r.value(k).is_some()))
        .collect();
    let shown: Vec<&String> = differing
        .iter()
        .filter(|k| everywhere.contains(k) || !everywhere.iter().any(|e| parent(e) == parent(k)))
        .collect();
    let mut labels: Vec<String> = runs
        .iter()
        .map(|run| {
            shown
                .iter()
                .map(|k| format!("{k} = {}", run.value(k).unwrap_or("unset")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    let unique = labels
        .iter()
        .enumerate()
        .all(|(i, l)| !labels[..i].contains(l));
    for (label, run) in labels.iter_mut().zip(runs) {
        if label.is_empty() {
            *label = run.dir.display().to_string();
        } else if !unique {
            *label = format!("{label} ({})", run.dir.display());
        }
    }
    labels
}

/// The time axis unit for runs of `end_s` seconds (as a run's own charts choose it).
fn time_unit(end_s: f64) -> (&'static str, f64) {
    if end_s <= 1200.0 {
        ("s", 1.0)
    } else if end_s <= 5.0 * 3600.0 {
        ("min", 60.0)
    } else {
        ("h", 3600.0)
    }
}

/// A row width for titles: "1 s", "500 ms", "5 min".
fn width_text(seconds: f64) -> String {
    if seconds >= 60.0 && seconds % 60.0 == 0.0 {
        format!("{} min", seconds / 60.0)
    } else if seconds >= 1.0 {
        format!("{seconds} s")
    } else {
        format!("{} ms", seconds * 1e3)
    }
}

impl Comparison {
    /// The rows of `run` that hold load (those starting before its last arrival).
    fn load_rows(run: &Run) -> impl Iterator<Item = &TimeseriesRow> {
        let end_s = run.scenario.duration.as_secs_f64();
        run.rows.iter().filter(move |r| r.t_s < end_s)
    }

    /// The end of the common time axis, seconds: the end of the longest run's load.
    pub fn end_s(&self) -> f64 {
        self.runs
            .iter()
            .map(|run| {
                let interval_s = run.scenario.interval.as_secs_f64();
                Self::load_rows(run)
                    .last()
                    .map_or(interval_s, |r| r.t_s + interval_s)
            })
            .fold(0.0, f64::max)
    }

    /// The value `same` takes in every run, if it is the same in all.
    fn common<T: PartialEq>(&self, same: impl Fn(&Scenario) -> T) -> Option<T> {
        let first = same(&self.runs[0].scenario);
        self.runs
            .iter()
            .all(|r| same(&r.scenario) == first)
            .then_some(first)
    }

    /// The charts, by name ([`CHARTS`]): one series per run, in run order,
    /// on one time axis in the unit that suits the longest run.
    pub fn figures(&self) -> Vec<(&'static str, Figure)> {
        let (unit, seconds_per_unit) = time_unit(self.end_s());
        // One series per run: `value` of each row, at the middle of the row.
        let series = |value: &dyn Fn(&TimeseriesRow, f64) -> Option<f64>| -> Vec<Series> {
            self.runs
                .iter()
                .map(|run| {
                    let interval_s = run.scenario.interval.as_secs_f64();
                    Series {
                        name: run.label.clone(),
                        points: Self::load_rows(run)
                            .filter_map(|r| {
                                value(r, interval_s)
                                    .map(|v| ((r.t_s + interval_s / 2.0) / seconds_per_unit, v))
                            })
                            .collect(),
                        error_bars: Vec::new(),
                    }
                })
                .collect()
        };
        let rate = |n: u64, interval_s: f64| Some(n as f64 / interval_s);
        let mib = |b: u64| b as f64 / 1_048_576.0;
        // Each panel says what it shows in its caption; the y axis gives the unit.
        let panel = |caption: &str, y_label: &str, series: Vec<Series>| Panel {
            caption: caption.to_string(),
            legend: false,
            ..Panel::new(y_label, series)
        };
        let log_panel = |caption: &str, y_label: &str, series: Vec<Series>| Panel {
            log_y: true,
            ..panel(caption, y_label, series)
        };

        let rows_of = match self.common(|s| s.interval) {
            Some(interval) => format!("rows of {}", width_text(interval.as_secs_f64())),
            None => "rows of different widths, rates per second".to_string(),
        };
        let warmup = self
            .runs
            .iter()
            .map(|r| r.scenario.warmup.as_secs_f64())
            .fold(f64::INFINITY, f64::min);
        let mut faults: Vec<(f64, f64, &'static str)> = Vec::new();
        for run in &self.runs {
            for f in &run.scenario.faults {
                let start = f.at.as_secs_f64() / seconds_per_unit;
                let end = start + f.kind.duration().as_secs_f64() / seconds_per_unit;
                if !faults.contains(&(start, end, f.kind.name())) {
                    faults.push((start, end, f.kind.name()));
                }
            }
        }
        let mut shading = Vec::new();
        if warmup > 0.0 {
            shading.push("warmup shaded grey");
        }
        if !faults.is_empty() {
            shading.push("faults shaded red");
        }
        let x_label = if shading.is_empty() {
            format!("simulated time ({unit})")
        } else {
            format!("simulated time ({unit}); {}", shading.join(", "))
        };
        let figure = |what: &str, columns: usize, panels: Vec<Panel>| Figure {
            title: format!(
                "{}: {what}, {} runs compared ({rows_of})",
                self.name,
                self.runs.len()
            ),
            panels,
            columns,
            warmup: warmup / seconds_per_unit,
            x_range: 0.0..self.end_s() / seconds_per_unit,
            log_x: false,
            x_label: x_label.clone(),
            x_names: Vec::new(),
            faults: faults.clone(),
            shared_legend: self.runs.iter().map(|r| r.label.clone()).collect(),
        };

        let latency = figure(
            "request latency",
            1,
            vec![
                log_panel(
                    "p99 latency per row",
                    "ms (log scale)",
                    series(&|r, _| r.latency_p99_ms),
                ),
                log_panel(
                    "maximum latency per row",
                    "ms (log scale)",
                    series(&|r, _| r.latency_max_ms),
                ),
            ],
        );
        let pool = self.common(|s| s.database.connections);
        let running = Panel {
            reference: pool.map(|c| (f64::from(c), format!("pool size ({c})"))),
            ..panel(
                &match pool {
                    Some(c) => format!("queries running (dashed: the pool, {c} connections)"),
                    None => "queries running".to_string(),
                },
                "queries",
                series(&|r, _| Some(r.db_inflight_max as f64)),
            )
        };
        let db_load = figure(
            "database load",
            2,
            vec![
                panel(
                    "database queries",
                    "queries/s",
                    series(&|r, i| rate(r.db_queries, i)),
                ),
                panel(
                    "duplicate queries (same key already in flight)",
                    "queries/s",
                    series(&|r, i| rate(r.duplicate_queries, i)),
                ),
                running,
                panel(
                    "queries waiting for a connection",
                    "queries",
                    series(&|r, _| Some(r.db_queue_max as f64)),
                ),
            ],
        );
        let maxmemory = self.common(|s| s.cache.maxmemory_bytes).filter(|&m| m > 0);
        let memory = figure(
            "cache memory",
            1,
            vec![
                Panel {
                    reference: maxmemory.map(|m| (mib(m), "maxmemory".to_string())),
                    ..panel(
                        &match maxmemory {
                            Some(m) => {
                                format!("used memory (dashed: maxmemory, {:.1} MiB)", mib(m))
                            }
                            None => "used memory".to_string(),
                        },
                        "MiB",
                        series(&|r, _| Some(mib(r.used_memory))),
                    )
                },
                panel(
                    "evicted keys",
                    "keys/s",
                    series(&|r, i| rate(r.evicted_keys, i)),
                ),
                panel(
                    "SETs rejected with OOM",
                    "SETs/s",
                    series(&|r, i| rate(r.oom_rejections, i)),
                ),
            ],
        );
        let errors = figure(
            "errors and timeouts",
            1,
            vec![
                panel(
                    "failed requests",
                    "requests/s",
                    series(&|r, i| rate(r.errors, i)),
                ),
                panel(
                    "timed-out attempts",
                    "attempts/s",
                    series(&|r, i| rate(r.timeouts, i)),
                ),
            ],
        );
        let hit_ratio = figure(
            "cache hit ratio",
            1,
            vec![panel(
                "hit ratio of first cache reads, per row",
                "hit ratio",
                series(&|r, _| {
                    let reads = r.hits + r.misses;
                    (reads > 0).then(|| r.hits as f64 / reads as f64)
                }),
            )],
        );
        let figures = vec![latency, db_load, memory, errors, hit_ratio];
        CHARTS.into_iter().zip(figures).collect()
    }

    /// `compare.csv`: one row per run, its directory, its label and every summary metric.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let names = metric_union(self.runs.iter().map(|r| &r.summary));
        let mut header = vec!["run".to_string(), "label".to_string()];
        header.extend(names.iter().cloned());
        out.write_record(&header).expect("writes to memory");
        for run in &self.runs {
            let mut record = vec![run.dir.display().to_string(), run.label.clone()];
            record.extend(
                metric_values(&run.summary, &names)
                    .into_iter()
                    .map(|v| v.map_or(String::new(), |v| v.to_string())),
            );
            out.write_record(&record).expect("writes to memory");
        }
        report::csv_bytes(out)
    }

    /// The comparison's `report.html`.
    fn page(&self, charts: &[html::Chart]) -> String {
        let mut page = Page::new(&format!("stampede compare: {}", self.name));
        page.paragraph(&format!(
            "{} runs of the scenario `{}`, labelled by what differs between their resolved \
             scenarios, on one time axis (rates per second, each point at the middle of its \
             row). Every summary metric is in compare.csv.",
            self.runs.len(),
            self.name
        ));
        page.heading("Runs");
        let mut rows = String::from(
            "<table>\n<tr><th>colour</th><th>label</th><th>directory</th><th>seed</th></tr>\n",
        );
        for (i, run) in self.runs.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            rows += &format!(
                "<tr><td><span class=\"swatch\" style=\"background: rgb({}, {}, {})\"></span></td>\
                 <td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td></tr>\n",
                c.0,
                c.1,
                c.2,
                html::escape(&run.label),
                html::escape(&run.dir.display().to_string()),
                run.summary.seed
            );
        }
        rows += "</table>\n";
        page.raw(&rows);
        page.heading("What differs");
        if self.differing.is_empty() {
            page.paragraph("Nothing: the resolved scenarios are identical.");
        } else {
            let mut header = vec!["key".to_string()];
            header.extend(self.runs.iter().map(|r| r.label.clone()));
            let body: Vec<Vec<String>> = self
                .differing
                .iter()
                .map(|k| {
                    let mut row = vec![k.clone()];
                    row.extend(
                        self.runs
                            .iter()
                            .map(|r| r.value(k).unwrap_or("unset").to_string()),
                    );
                    row
                })
                .collect();
            page.table(&header, &body);
        }
        page.heading("Expectations");
        let mut verdicts = Vec::new();
        for run in &self.runs {
            let metrics = flatten(&run.summary);
            verdicts.extend(html::measured(&run.label, &run.scenario.expect, &metrics));
        }
        page.expectations(&verdicts);
        page.heading("Summary");
        let metrics: Vec<Vec<(String, f64)>> =
            self.runs.iter().map(|r| flatten(&r.summary)).collect();
        let mut header = vec!["metric".to_string()];
        header.extend(self.runs.iter().map(|r| r.label.clone()));
        let body: Vec<Vec<String>> = html::HEADLINE_METRICS
            .iter()
            .filter(|m| metrics[0].iter().any(|(k, _)| k == *m))
            .map(|m| {
                let mut row = vec![html::metric_name(m)];
                row.extend(metrics.iter().map(|values| {
                    values
                        .iter()
                        .find(|(k, _)| k == m)
                        .map_or(String::new(), |(_, v)| html::number(*v))
                }));
                row
            })
            .collect();
        page.table(&header, &body);
        for run in self.runs.iter().filter(|r| r.summary.stopped.is_some()) {
            page.warning(&format!(
                "NOT A NORMAL RESULT: {} was stopped; its numbers cover it only up to then.",
                run.label
            ));
        }
        page.heading("Charts");
        page.charts(charts);
        page.heading("Resolved scenarios");
        for run in &self.runs {
            page.code(
                &format!("{} ({}/scenario.toml)", run.label, run.dir.display()),
                &run.resolved,
                false,
            );
        }
        page.finish()
    }
}

/// Writes the compare directory `dir`: the charts, `compare.csv` and
/// `report.html`; returns the files written.
pub fn write(dir: &Path, comparison: &Comparison) -> Result<Vec<PathBuf>> {
    let mut files = OutputDir::create(dir)?;
    files.put(COMPARE_FILE, &comparison.to_csv())?;
    let figures = comparison.figures();
    let mut charts = Vec::new();
    for (name, figure) in &figures {
        let path = dir.join(format!("{name}.png"));
        plot::draw(&path, figure)?;
        files.written.push(path);
        charts.push(html::Chart {
            name: name.to_string(),
            svg: plot::svg(figure)?,
        });
    }
    files.put(html::HTML_FILE, comparison.page(&charts).as_bytes())?;
    Ok(files.written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_flattens_to_dotted_keys_with_indexed_arrays_of_tables() {
        let table: toml::Table = toml::from_str(
            "name = \"x\"\n[strategy]\nkind = \"lock\"\n[[events]]\nat = \"5s\"\nfactor = 4.0\n",
        )
        .unwrap();
        let mut keys = Vec::new();
        for (k, v) in &table {
            flatten_toml(k, v, &mut keys);
        }
        let keys: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            keys,
            [
                "events[0].at=5s",
                "events[0].factor=4.0",
                "name=x",
                "strategy.kind=lock"
            ]
        );
        assert!(!compared("name") && !compared("expect.hit_ratio") && !compared("sweep.grid"));
        assert!(compared("events[0].at") && compared("seed"));
        assert_eq!(parent("events[0].at"), "events[0]");
        assert_eq!(parent("seed"), "");
    }
}
