//! `stampede check`: regression tests on scenario outputs.
//!
//! Each scenario file runs as a sweep (its `[sweep]`, or one point and one
//! run without it). Two kinds of test follow:
//!
//! - its `[expect]` thresholds, on each point's mean over replicates;
//! - with a baseline directory, every summary metric against the committed
//!   outputs (`<baseline>/<name>/summary.json` for a run,
//!   `<baseline>/<name>-sweep/sweep.csv` for a sweep). A metric has shifted
//!   when its mean moved by more than its relative tolerance and, if both
//!   sides have two or more replicates, Welch's two-sided t-test rejects
//!   equal means at the 5 % level; a move beyond tolerance that the test
//!   cannot tell from noise passes, and is reported as such.
//!
//! `--bless` writes the current outputs as the new baselines.

use std::path::{Path, PathBuf};

use crate::engine::RunOutput;
use crate::error::{Error, Result};
use crate::expect::{metric_names, required_metrics};
use crate::metrics::metric_values;
use crate::report;
use crate::report::sweep::{SweepTable, significant};
use crate::scenario::{self, RawScenario};
use crate::stats::mean;
/// Re-exported from [`crate::stats`], where every statistic lives.
pub use crate::stats::{relative_change, welch_p};
use crate::sweep::{Sweep, SweepRun};

/// Significance level of the test that tells a shift from noise.
pub const ALPHA: f64 = 0.05;

/// What `stampede check` compares, and how strictly.
#[derive(Clone, Debug)]
pub struct Options {
    /// Directory of committed outputs to compare with.
    pub baseline: Option<PathBuf>,
    /// Relative tolerance of every metric without its own.
    pub tolerance: f64,
    /// Per-metric relative tolerances.
    pub tolerances: Vec<(String, f64)>,
    /// Write the current outputs as the baselines.
    pub bless: bool,
    /// Bless even when an expectation fails (or a run stopped).
    pub force: bool,
    /// Worker threads.
    pub jobs: usize,
    /// `--set` overrides for every file.
    pub sets: Vec<String>,
}

impl Options {
    /// Reads `--tolerance` values: `0.05` sets the default, `METRIC=0.5` one metric's.
    pub fn parse_tolerances(&mut self, flags: &[String]) -> Result<()> {
        for flag in flags {
            let (metric, number) = match flag.split_once('=') {
                Some((m, n)) => (Some(m.trim()), n),
                None => (None, flag.as_str()),
            };
            let value: f64 = number
                .trim()
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| {
                    Error::BadInput(format!(
                        "--tolerance {flag}: expected a relative tolerance >= 0 (0.05 = 5 %), alone or as METRIC=VALUE, e.g. --tolerance latency_ms.max=0.5"
                    ))
                })?;
            match metric {
                None => self.tolerance = value,
                Some(m) if metric_names().iter().any(|n| n == m) => {
                    self.tolerances.push((m.to_string(), value))
                }
                Some(m) => {
                    return Err(Error::BadInput(format!(
                        "--tolerance {flag}: `{m}` is not a summary metric; allowed: {}",
                        metric_names().join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    fn tolerance_of(&self, metric: &str) -> f64 {
        self.tolerances
            .iter()
            .rev()
            .find(|(m, _)| m == metric)
            .map_or(self.tolerance, |(_, t)| *t)
    }
}

/// Which way a metric is better, for saying whether a shift is good news.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Less is better (latency, errors, database load...).
    Lower,
    /// More is better (hit ratio, requests served).
    Higher,
}

/// Which way `metric` is better; `None` for counts that describe the run
/// rather than judge it (requests, refreshes, simulated time...).
pub fn better(metric: &str) -> Option<Better> {
    if metric.starts_with("latency_ms.") {
        return Some(Better::Lower);
    }
    match metric {
        "hit_ratio" | "byte_hit_ratio" | "hits" | "served" | "keyspace_hits" => {
            Some(Better::Higher)
        }
        "misses"
        | "errors"
        | "timeouts"
        | "retries"
        | "oom_rejections"
        | "pool_timeouts"
        | "db_queries"
        | "duplicate_queries"
        | "db_queries_per_s_peak"
        | "db_inflight_peak"
        | "db_queue_peak"
        | "db_utilization"
        | "db_wait_ms_mean"
        | "evicted_keys"
        | "used_memory_peak"
        | "keyspace_misses"
        | "lock_timeouts"
        | "corrupt_reads"
        | "cache_errors"
        | "miss_bytes"
        | "cache_queue_peak" => Some(Better::Lower),
        _ => None,
    }
}

/// "better", "worse" or "neither better nor worse" for a move of `metric` by `change`.
fn direction(metric: &str, change: f64) -> &'static str {
    match (better(metric), change > 0.0) {
        (Some(Better::Lower), true) | (Some(Better::Higher), false) => "worse",
        (Some(Better::Lower), false) | (Some(Better::Higher), true) => "better",
        (None, _) => "neither better nor worse",
    }
}

/// One test: a row of the printed table and a JUnit test case.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// Scenario name (the JUnit suite).
    pub scenario: String,
    /// What was tested: an expectation at a point, or a point's baseline.
    pub case: String,
    /// The measured value(s), as text.
    pub measured: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why, when there is more to say (shifted metrics, noise).
    pub detail: String,
}

/// How a metric compares with its baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// Within the relative tolerance.
    Within,
    /// Beyond the tolerance, but Welch's test cannot tell it from noise (p-value).
    Noise(f64),
    /// Beyond the tolerance and significant (p-value, when replicates allow a test).
    Shift(Option<f64>),
}

/// Compares current samples of a metric with baseline samples under `tolerance`.
pub fn compare(baseline: &[f64], current: &[f64], tolerance: f64) -> Verdict {
    let (b, c) = (mean(baseline), mean(current));
    if relative_change(b, c).abs() <= tolerance {
        return Verdict::Within;
    }
    if baseline.len() < 2 || current.len() < 2 {
        return Verdict::Shift(None);
    }
    let p = welch_p(baseline, current);
    if p < ALPHA {
        Verdict::Shift(Some(p))
    } else {
        Verdict::Noise(p)
    }
}

/// One scenario file to check, expanded into a sweep.
struct Unit {
    raw: RawScenario,
    sweep: Sweep,
    /// The file has a `[sweep]` (its baseline is a sweep directory).
    is_sweep: bool,
}

impl Unit {
    fn load(path: &Path, sets: &[String]) -> Result<Unit> {
        let (scenario, raw) = scenario::load(path, sets)?;
        let is_sweep = raw.sweep.is_some();
        let sweep = if is_sweep {
            crate::sweep::load(path, sets)?
        } else {
            Sweep::single(scenario, &raw)
        };
        Ok(Unit {
            raw,
            sweep,
            is_sweep,
        })
    }

    /// Where this scenario's outputs live under `base`: as `run` and `sweep` write them.
    fn baseline_dir(&self, base: &Path) -> PathBuf {
        if self.is_sweep {
            base.join(format!("{}-sweep", self.sweep.name))
        } else {
            base.join(&self.sweep.name)
        }
    }

    /// `test`, prefixed by the point's parameters when the sweep has any.
    fn case(&self, point: usize, test: String) -> String {
        let params = &self.sweep.points[point].0.params;
        if params.is_empty() {
            return test;
        }
        let label: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::sweep::value_text(v)))
            .collect();
        format!("{}: {test}", label.join(", "))
    }
}

/// Per-replicate metric values of a baseline: `points[point][replicate][metric]`.
struct Samples {
    metrics: Vec<String>,
    points: Vec<Vec<Vec<f64>>>,
}

/// Reads a baseline whole, or refuses it (bad input, naming the file and
/// what is wrong): it must hold every metric this build reports, each a
/// finite number, no metric column it does not know, and at least one
/// run of every point, whose swept values match the point's. Comparing
/// fewer metrics than the build reports would let a damaged baseline pass.
fn read_baseline(unit: &Unit, dir: &Path) -> Result<Samples> {
    let missing = |file: &Path, e: &dyn std::fmt::Display| {
        Error::BadInput(format!(
            "no baseline for {}: cannot read {} ({e}); create it with --bless",
            unit.sweep.name,
            file.display()
        ))
    };
    let names = metric_names();
    let required = required_metrics();
    let reblessed = "re-create the baseline with --bless";
    if !unit.is_sweep {
        let file = dir.join(report::SUMMARY_FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| missing(&file, &e))?;
        let bad = |why: String| {
            Error::BadInput(format!(
                "{}: {why}; not a usable baseline, {reblessed}",
                file.display()
            ))
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        if !value.is_object() {
            return Err(bad("not a run summary (a JSON object)".into()));
        }
        let mut present = Vec::with_capacity(names.len());
        let mut values = Vec::with_capacity(names.len());
        let mut absent = Vec::new();
        for name in &names {
            let field = match name.split_once('.') {
                Some((outer, inner)) => value.get(outer).and_then(|o| o.get(inner)),
                None => value.get(name),
            };
            match field {
                // Metrics only some runs have (server figures, trace counts) may be absent.
                None if !required.contains(name) => {}
                None => absent.push(name.as_str()),
                Some(v) => match v.as_f64().filter(|x| x.is_finite()) {
                    Some(x) => {
                        present.push(name.clone());
                        values.push(x);
                    }
                    None => return Err(bad(format!("`{name}` is {v}, not a finite number"))),
                },
            }
        }
        if !absent.is_empty() {
            return Err(bad(format!(
                "{} of the {} metrics are missing ({})",
                absent.len(),
                required.len(),
                absent.join(", ")
            )));
        }
        return Ok(Samples {
            metrics: present,
            points: vec![vec![values]],
        });
    }
    let file = dir.join(report::sweep::SWEEP_FILE);
    let mut reader = csv::Reader::from_path(&file).map_err(|e| missing(&file, &e))?;
    let bad = |why: String| {
        Error::BadInput(format!(
            "{}: {why}; not a usable baseline, {reblessed}",
            file.display()
        ))
    };
    let header = report::csv_header(&mut reader).map_err(|e| bad(e.to_string()))?;
    let first_metric = 3 + unit.sweep.paths.len();
    if header.len() < first_metric
        || header[..3] != ["point", "replicate", "seed"]
        || header[3..first_metric] != unit.sweep.paths[..]
    {
        return Err(bad(format!(
            "its first columns {:?} are not point, replicate, seed and the swept parameters {:?}",
            &header[..first_metric.min(header.len())],
            unit.sweep.paths
        )));
    }
    let columns = &header[first_metric..];
    if let Some(c) = columns.iter().find(|c| !names.contains(c)) {
        return Err(bad(format!("column `{c}` is not a summary metric")));
    }
    let absent: Vec<&str> = required
        .iter()
        .filter(|n| !columns.contains(n))
        .map(String::as_str)
        .collect();
    if !absent.is_empty() {
        return Err(bad(format!(
            "{} of the {} metrics have no column ({})",
            absent.len(),
            required.len(),
            absent.join(", ")
        )));
    }
    // The metrics the file has, in the order of `names`.
    let present: Vec<String> = names
        .iter()
        .filter(|n| columns.contains(n))
        .cloned()
        .collect();
    let order: Vec<usize> = present
        .iter()
        .map(|n| first_metric + columns.iter().position(|c| c == n).expect("checked"))
        .collect();
    let mut points: Vec<Vec<Vec<f64>>> = vec![Vec::new(); unit.sweep.points.len()];
    for (line, record) in reader.records().enumerate() {
        let line = line + 2;
        let record = record.map_err(|e| bad(e.to_string()))?;
        let point: usize = record[0]
            .parse()
            .ok()
            .filter(|p| *p < points.len())
            .ok_or_else(|| {
                bad(format!(
                    "line {line}: point `{}` is not a point of this sweep",
                    &record[0]
                ))
            })?;
        for (i, (path, value)) in unit.sweep.points[point].0.params.iter().enumerate() {
            let expected = crate::sweep::value_text(value);
            if record[3 + i] != expected {
                return Err(bad(format!(
                    "line {line}: point {point} has {path} = {}, but the scenario's point {point} has {expected}",
                    &record[3 + i]
                )));
            }
        }
        let values = order
            .iter()
            .map(|&i| {
                // An empty cell: a metric this run did not have (NaN: left out of the means).
                if record[i].is_empty() && !required.contains(&header[i]) {
                    return Ok(f64::NAN);
                }
                record[i]
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        bad(format!(
                            "line {line}: `{}` in column {} is not a finite number",
                            &record[i], header[i]
                        ))
                    })
            })
            .collect::<Result<Vec<f64>>>()?;
        points[point].push(values);
    }
    if let Some(p) = points.iter().position(Vec::is_empty) {
        return Err(bad(format!(
            "no run of point {p} ({} rows in all)",
            points.iter().map(Vec::len).sum::<usize>()
        )));
    }
    Ok(Samples {
        metrics: present,
        points,
    })
}

/// The result of `stampede check`: every test, and the files blessed.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    /// Every test, scenario by scenario.
    pub outcomes: Vec<Outcome>,
    /// Baseline directories written by `--bless`.
    pub blessed: Vec<PathBuf>,
    /// `--bless` wrote nothing because a test failed (and `--force` was not given).
    pub bless_refused: bool,
}

impl Report {
    /// Whether every test passed.
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.passed)
    }
}

/// Runs every scenario file in `paths` and checks it; see the module doc.
///
/// `progress` learns the number of runs, then each run's end.
pub fn check(
    paths: &[PathBuf],
    options: &Options,
    progress: &crate::progress::Progress,
) -> Result<Report> {
    if options.bless && options.baseline.is_none() {
        return Err(Error::BadInput(
            "--bless rewrites baselines: give the directory with --baseline DIR".into(),
        ));
    }
    let units = paths
        .iter()
        .map(|p| Unit::load(p, &options.sets))
        .collect::<Result<Vec<Unit>>>()?;
    // A file with no [expect] and no baseline to compare with checks nothing:
    // "0 of 0 passed" would be a green build that tested nothing.
    if options.baseline.is_none()
        && let Some((path, _)) = paths
            .iter()
            .zip(&units)
            .find(|(_, u)| u.sweep.points.iter().all(|(_, s)| s.expect.is_empty()))
    {
        return Err(Error::BadInput(format!(
            "{}: nothing to check: it has no [expect] table and no --baseline DIR was given; \
             add thresholds such as [expect] \"latency_ms.p99\" = \"< 50\", or compare with \
             committed outputs: --baseline results",
            path.display()
        )));
    }
    // Read every baseline before running anything: a missing one is bad input.
    let baselines = match (&options.baseline, options.bless) {
        (Some(base), false) => units
            .iter()
            .map(|u| read_baseline(u, &u.baseline_dir(base)).map(Some))
            .collect::<Result<Vec<_>>>()?,
        _ => units.iter().map(|_| None).collect(),
    };
    // Check every directory --bless replaces before running anything.
    let mut staged = match (&options.baseline, options.bless) {
        (Some(base), true) => units
            .iter()
            .map(|u| crate::outdir::prepare("--baseline", &u.baseline_dir(base)).map(Some))
            .collect::<Result<Vec<_>>>()?,
        _ => units.iter().map(|_| None).collect(),
    };
    let tasks: Vec<(usize, usize, u32)> = units
        .iter()
        .enumerate()
        .flat_map(|(u, unit)| unit.sweep.tasks().into_iter().map(move |(p, r)| (u, p, r)))
        .collect();
    let runs: Vec<(&crate::scenario::Scenario, u64)> = tasks
        .iter()
        .map(|&(u, p, r)| (&units[u].sweep.points[p].1, units[u].sweep.seed_of(p, r)))
        .collect();
    progress.add_total(runs.len() as u64);
    let outputs: Vec<RunOutput> = crate::runner::all(crate::runner::run_all(
        options.jobs,
        &runs,
        &|_, output| {
            progress.inc();
            Ok(output)
        },
    )?)?;
    progress.finish();

    let mut report = Report::default();
    let mut to_bless = Vec::new();
    let mut outputs = outputs.into_iter();
    for ((unit, baseline), staged) in units.iter().zip(&baselines).zip(&mut staged) {
        let tasks = unit.sweep.tasks();
        let mine: Vec<RunOutput> = outputs.by_ref().take(tasks.len()).collect();
        let runs: Vec<SweepRun> = tasks
            .iter()
            .zip(&mine)
            .map(|(&(point, replicate), out)| SweepRun {
                point,
                replicate,
                seed: unit.sweep.seed_of(point, replicate),
                fingerprint: unit.sweep.fingerprints[point].clone(),
                summary: out.summary.clone(),
            })
            .collect();
        // A run stopped before its end (overloaded) is never a pass.
        report.outcomes.extend(runs.iter().filter_map(|run| {
            let why = run.summary.stopped.as_ref()?;
            Some(Outcome {
                scenario: unit.sweep.name.clone(),
                case: unit.case(
                    run.point,
                    format!("replicate {} ran to its end", run.replicate),
                ),
                measured: "stopped".into(),
                passed: false,
                detail: why.clone(),
            })
        }));
        report.outcomes.extend(expectations(
            unit,
            &SweepTable::from_runs(&unit.sweep, &runs),
        ));
        if let Some(samples) = baseline {
            let dir = unit.baseline_dir(options.baseline.as_deref().expect("given"));
            report
                .outcomes
                .extend(against_baseline(unit, &runs, samples, &dir, options));
        }
        if let Some(staged) = staged.take() {
            to_bless.push((unit, runs, mine, staged));
        }
    }
    // Baselines whose expectations fail would make the failure the norm.
    if !to_bless.is_empty() && !report.passed() && !options.force {
        report.bless_refused = true;
        return Ok(report); // the staged directories are removed unused
    }
    for (unit, runs, mine, staged) in to_bless {
        bless(unit, &runs, &mine, staged.path())?;
        report.blessed.push(staged.commit()?);
    }
    Ok(report)
}

/// Each expectation at each point, on the mean over replicates.
fn expectations(unit: &Unit, table: &SweepTable) -> Vec<Outcome> {
    let mut out = Vec::new();
    for (p, (_, scenario)) in unit.sweep.points.iter().enumerate() {
        for e in &scenario.expect {
            let m = table
                .metrics
                .iter()
                .position(|n| *n == e.metric)
                .expect("expectations name summary metrics");
            let s = table.stats[p][m];
            let half = (s.high - s.low) / 2.0;
            let measured = if s.n > 1 && half > 0.0 {
                format!("{} ± {}", significant(s.mean), significant(half))
            } else {
                significant(s.mean)
            };
            out.push(Outcome {
                scenario: unit.sweep.name.clone(),
                case: unit.case(p, e.to_string()),
                measured,
                passed: e.holds(s.mean),
                detail: String::new(),
            });
        }
    }
    out
}

/// One outcome per point: every metric against the baseline's.
fn against_baseline(
    unit: &Unit,
    runs: &[SweepRun],
    baseline: &Samples,
    dir: &Path,
    options: &Options,
) -> Vec<Outcome> {
    let names = &baseline.metrics;
    let mut out = Vec::new();
    for p in 0..unit.sweep.points.len() {
        let current: Vec<Vec<Option<f64>>> = runs
            .iter()
            .filter(|r| r.point == p)
            .map(|r| metric_values(&r.summary, names))
            .collect();
        let mut shifted = Vec::new();
        let mut noisy = Vec::new();
        let mut compared = 0;
        for (m, name) in names.iter().enumerate() {
            let b: Vec<f64> = baseline.points[p]
                .iter()
                .map(|r| r[m])
                .filter(|x| !x.is_nan())
                .collect();
            let c: Vec<f64> = current.iter().filter_map(|r| r[m]).collect();
            if b.is_empty() {
                continue;
            }
            compared += 1;
            if c.is_empty() {
                shifted.push(format!(
                    "{name}: in the baseline ({}), absent from this run",
                    significant(mean(&b))
                ));
                continue;
            }
            let tolerance = options.tolerance_of(name);
            let change = relative_change(mean(&b), mean(&c));
            let line = |p_value: Option<f64>| {
                format!(
                    "{name} {} -> {} ({:+.1} %, {}; tolerance {:.1} %{})",
                    significant(mean(&b)),
                    significant(mean(&c)),
                    change * 100.0,
                    direction(name, change),
                    tolerance * 100.0,
                    p_value.map_or(String::new(), |p| format!(", Welch p = {p:.3}"))
                )
            };
            match compare(&b, &c, tolerance) {
                Verdict::Within => {}
                Verdict::Noise(pv) => noisy.push(line(Some(pv))),
                Verdict::Shift(pv) => shifted.push(line(pv)),
            }
        }
        // One line per metric that moved, with its direction.
        let mut detail: Vec<String> = shifted.iter().map(|l| format!("shifted: {l}")).collect();
        detail.extend(
            noisy
                .iter()
                .map(|l| format!("beyond tolerance but within noise: {l}")),
        );
        if compared == 0 {
            detail.push("no metric compared: a baseline must cover the metrics".to_string());
        }
        out.push(Outcome {
            scenario: unit.sweep.name.clone(),
            case: unit.case(p, format!("baseline {}", dir.display())),
            measured: format!("{} of {compared} metrics shifted", shifted.len()),
            passed: shifted.is_empty() && compared > 0,
            detail: detail.join("\n"),
        });
    }
    out
}

/// Writes the current outputs into `dir` (a fresh directory, swapped into
/// place by the caller), exactly as `run` or `sweep` would.
fn bless(unit: &Unit, runs: &[SweepRun], outputs: &[RunOutput], dir: &Path) -> Result<()> {
    if unit.is_sweep {
        for run in runs {
            report::write_sweep_run(dir, run)?;
        }
        report::write_sweep(dir, &unit.raw, &unit.sweep, runs)?;
    } else {
        report::write_run(dir, &unit.sweep.points[0].1, &unit.raw, &outputs[0])?;
    }
    Ok(())
}

/// The report as JUnit XML: a suite per scenario, a case per test.
pub fn junit(report: &Report, seconds: f64) -> String {
    use std::fmt::Write as _;
    let mut suites: Vec<&str> = Vec::new();
    for o in &report.outcomes {
        if !suites.contains(&o.scenario.as_str()) {
            suites.push(&o.scenario);
        }
    }
    let failures = report.outcomes.iter().filter(|o| !o.passed).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"stampede check\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">",
        report.outcomes.len()
    );
    for suite in suites {
        let cases: Vec<&Outcome> = report
            .outcomes
            .iter()
            .filter(|o| o.scenario == suite)
            .collect();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
            escape(suite),
            cases.len(),
            cases.iter().filter(|o| !o.passed).count()
        );
        for o in cases {
            let _ = write!(
                xml,
                "    <testcase classname=\"stampede.{}\" name=\"{}\"",
                escape(suite),
                escape(&o.case)
            );
            if o.passed && o.detail.is_empty() {
                let _ = writeln!(xml, "/>");
                continue;
            }
            let _ = writeln!(xml, ">");
            if !o.passed {
                let _ = writeln!(
                    xml,
                    "      <failure message=\"measured {}\" type=\"{}\">{}</failure>",
                    escape(&o.measured),
                    if o.case.contains("baseline ") {
                        "regression"
                    } else {
                        "expectation"
                    },
                    escape(&o.detail)
                );
            } else {
                let _ = writeln!(xml, "      <system-out>{}</system-out>", escape(&o.detail));
            }
            let _ = writeln!(xml, "    </testcase>");
        }
        let _ = writeln!(xml, "  </testsuite>");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Escapes text for XML attributes and content.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_inside_tolerance_passes_and_outside_fails() {
        // One replicate a side: no test, the tolerance alone decides.
        assert_eq!(compare(&[100.0], &[104.9], 0.05), Verdict::Within);
        assert_eq!(compare(&[100.0], &[95.1], 0.05), Verdict::Within);
        assert_eq!(compare(&[100.0], &[105.1], 0.05), Verdict::Shift(None));
        assert_eq!(compare(&[100.0], &[94.9], 0.05), Verdict::Shift(None));
        assert_eq!(compare(&[0.0], &[0.0], 0.0), Verdict::Within);
        assert_eq!(compare(&[0.0], &[1.0], 10.0), Verdict::Shift(None));
    }

    #[test]
    fn replicates_tell_a_real_shift_from_noise() {
        // A 10 % move in means, beyond a 5 % tolerance both times.
        let base = [98.0, 100.0, 102.0, 99.0, 101.0];
        let tight = [108.0, 110.0, 112.0, 109.0, 111.0]; // sd 1.6: certain
        let loose = [80.0, 140.0, 95.0, 130.0, 105.0]; // sd 25: could be noise
        assert!(matches!(compare(&base, &tight, 0.05), Verdict::Shift(Some(p)) if p < 1e-4));
        // scipy: p = 0.418 for these two.
        assert!(
            matches!(compare(&base, &loose, 0.05), Verdict::Noise(p) if (p - 0.4178).abs() < 1e-3)
        );
    }

    #[test]
    fn xml_escapes_markup() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
