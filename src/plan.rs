//! `stampede plan`: the smallest (or largest) value of one parameter that
//! meets every expectation, for capacity planning.
//!
//! A value passes when, over its replicates (seeds `seed + r`, common random
//! numbers across values), the mean of every expectation's metric meets its
//! threshold. The planner first scans the range at evenly spaced values
//! (geometrically spaced when the range spans a factor of 20 or more) — the
//! chart's points, and a bracket around the answer — then bisects the
//! bracket: to one unit for integer ranges, else to 1 % of the value
//! (geometric) or 1/100 of the range. This assumes passing is monotone in the
//! parameter; a tried value that breaks monotonicity is reported.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::expect::Expectation;
use crate::metrics::flatten;
use crate::report::plot::{self, Figure, Panel, Series};
use crate::report::sweep::{metric_label, param_label, param_value_in_words, significant};
use crate::report::{OutputDir, SCENARIO_FILE, html, resolved_toml};
use crate::scenario::{self, RawScenario, Scenario};
use crate::stats::Stat;

/// What to plan: the parameter, its range, the goal.
#[derive(Clone, Debug)]
pub struct Request {
    /// Dotted path of the parameter varied.
    pub vary: String,
    /// Lowest value tried.
    pub low: f64,
    /// Highest value tried.
    pub high: f64,
    /// The range is whole numbers (both ends written without a point).
    pub integer: bool,
    /// Find the largest passing value instead of the smallest.
    pub largest: bool,
    /// Runs per value.
    pub replicates: u32,
    /// Values scanned before bisecting.
    pub scan: usize,
    /// What decides whether a value passes.
    pub decide_on: DecideOn,
    /// Worker threads.
    pub jobs: usize,
}

/// What decides whether a value passes (`--decide-on`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecideOn {
    /// The mean over replicates meets every threshold.
    Mean,
    /// The bound of the 95 % interval on the failing side meets every
    /// threshold (the upper bound for `<`, the lower for `>`): a cautious answer.
    Bound,
}

impl DecideOn {
    /// The value of `stat` that is held against `e`.
    pub fn value(self, e: &Expectation, stat: &Stat) -> f64 {
        use crate::expect::Op;
        match (self, e.op) {
            (DecideOn::Mean, _) | (DecideOn::Bound, Op::Eq | Op::Ne) => stat.mean,
            (DecideOn::Bound, Op::Lt | Op::Le) => stat.high,
            (DecideOn::Bound, Op::Gt | Op::Ge) => stat.low,
        }
    }
}

impl Request {
    /// Whether the range spans a factor of 20 or more: then the scan is
    /// geometric and the chart's x axis logarithmic.
    pub fn geometric(&self) -> bool {
        self.low > 0.0 && self.high / self.low >= 20.0
    }

    /// A value of the parameter as text: whole for integer ranges.
    pub fn show(&self, v: f64) -> String {
        if self.integer {
            format!("{v:.0}")
        } else {
            significant(v)
        }
    }
}

/// Parses `LO..HI` into (low, high, integer).
pub fn parse_range(text: &str) -> Result<(f64, f64, bool)> {
    let bad = |why: &str| {
        Error::BadInput(format!(
            "--range {text}: {why}; write LO..HI with LO < HI, e.g. --range 8..256 or --range 0.5..4"
        ))
    };
    let (lo, hi) = text.split_once("..").ok_or_else(|| bad("no `..`"))?;
    let number = |s: &str| -> Result<f64> {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(&format!("`{s}` is not a number")))
    };
    let (low, high) = (number(lo)?, number(hi)?);
    if low >= high {
        return Err(bad("LO is not below HI"));
    }
    let whole = |s: &str| s.trim().parse::<i64>().is_ok();
    Ok((low, high, whole(lo) && whole(hi)))
}

/// One value tried: its statistics per expectation and whether all hold.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The parameter's value.
    pub value: f64,
    /// Mean and 95% CI of each expectation's metric, in expectation order.
    pub stats: Vec<Stat>,
    /// Every expectation holds on the means (or on the bounds, `--decide-on bound`).
    pub passed: bool,
    /// Every expectation's 95 % interval lies on one side of its threshold:
    /// more replicates would not change the verdict (in all likelihood).
    pub decided: bool,
}

/// The planner's result.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The expectations planned against.
    pub expectations: Vec<Expectation>,
    /// Every value tried, in ascending order.
    pub evaluations: Vec<Evaluation>,
    /// The answer, if a value in the range passes.
    pub answer: Option<f64>,
    /// Tried values that break monotonicity (fail beyond the answer).
    pub non_monotone: Vec<f64>,
    /// The values whose verdict decides the answer (the answer and the failing
    /// value next to it) but whose 95 % intervals straddle a threshold: the
    /// answer is statistically undecided.
    pub undecided: Vec<f64>,
}

impl Outcome {
    /// The evaluation of `value`.
    pub fn at(&self, value: f64) -> Option<&Evaluation> {
        self.evaluations.iter().find(|e| e.value == value)
    }
}

/// The scenario a plan varies, with the expectations that decide.
pub struct Subject {
    path: PathBuf,
    text: String,
    sets: Vec<String>,
    /// The resolved scenario at the file's own value.
    pub raw: RawScenario,
    /// Its name.
    pub name: String,
    seed: u64,
    expectations: Vec<Expectation>,
}

impl Subject {
    /// Loads `path` with `sets`; `expect` (`"METRIC OP VALUE"`) replaces the file's `[expect]`.
    pub fn load(path: &Path, sets: &[String], expect: &[String]) -> Result<Subject> {
        let (scenario, raw) = scenario::load(path, sets)?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::BadInput(format!("cannot read {}: {e}", path.display())))?;
        let expectations = if expect.is_empty() {
            scenario.expect.clone()
        } else {
            expect
                .iter()
                .map(|e| crate::expect::parse_flag(e))
                .collect::<Result<Vec<_>>>()?
        };
        if expectations.is_empty() {
            return Err(Error::BadInput(format!(
                "{}: no expectations to plan against; add an [expect] table or give --expect \"latency_ms.p99 < 50\"",
                path.display()
            )));
        }
        Ok(Subject {
            path: path.to_path_buf(),
            text,
            sets: sets.to_vec(),
            raw,
            name: scenario.name,
            seed: scenario.seed,
            expectations,
        })
    }

    /// The expectations that decide.
    pub fn expectations(&self) -> &[Expectation] {
        &self.expectations
    }

    /// The scenario with `vary` set to `value`, validated like the file.
    fn at(&self, vary: &str, value: f64, integer: bool) -> Result<Scenario> {
        let mut sets = self.sets.clone();
        sets.push(if integer {
            format!("{vary}={}", value as i64)
        } else {
            format!("{vary}={value:?}")
        });
        scenario::from_text(&self.text, &self.path, &sets).map(|(s, _)| s)
    }
}

/// Runs the plan; see the module doc.
///
/// `progress` learns each batch of runs, then each run's end.
pub fn plan(
    subject: &Subject,
    request: &Request,
    progress: &crate::progress::Progress,
) -> Result<Outcome> {
    let evaluate = |values: &[f64]| -> Result<Vec<Evaluation>> {
        // Every value is validated before anything runs.
        let scenarios = values
            .iter()
            .map(|&v| subject.at(&request.vary, v, request.integer))
            .collect::<Result<Vec<_>>>()?;
        let tasks: Vec<(usize, u32)> = (0..values.len())
            .flat_map(|i| (0..request.replicates).map(move |r| (i, r)))
            .collect();
        let runs: Vec<(&Scenario, u64)> = tasks
            .iter()
            .map(|&(i, r)| (&scenarios[i], subject.seed.wrapping_add(r as u64)))
            .collect();
        progress.add_total(runs.len() as u64);
        let metrics: Vec<Vec<f64>> = crate::runner::all(crate::runner::run_all(
            request.jobs,
            &runs,
            &|_, output| {
                progress.inc();
                let all = flatten(&output.summary);
                Ok(subject
                    .expectations
                    .iter()
                    .map(|e| e.measure(&all))
                    .collect())
            },
        )?)?;
        Ok(values
            .iter()
            .enumerate()
            .map(|(i, &value)| {
                let stats: Vec<Stat> = subject
                    .expectations
                    .iter()
                    .enumerate()
                    .map(|(k, _)| {
                        let xs: Vec<f64> = tasks
                            .iter()
                            .zip(&metrics)
                            .filter(|((j, _), _)| *j == i)
                            .map(|(_, m)| m[k])
                            .collect();
                        Stat::of(&xs)
                    })
                    .collect();
                let passed = subject
                    .expectations
                    .iter()
                    .zip(&stats)
                    .all(|(e, s)| e.holds(request.decide_on.value(e, s)));
                let decided = subject
                    .expectations
                    .iter()
                    .zip(&stats)
                    .all(|(e, s)| e.holds(s.low) == e.holds(s.high));
                Evaluation {
                    value,
                    stats,
                    passed,
                    decided,
                }
            })
            .collect())
    };

    let snap = |v: f64| if request.integer { v.round() } else { v };
    let steps = request.scan.max(2);
    let (low, high) = (request.low, request.high);
    let mut scan: Vec<f64> = (0..steps)
        .map(|i| {
            let t = i as f64 / (steps - 1) as f64;
            snap(if request.geometric() {
                low * (high / low).powf(t)
            } else {
                low + (high - low) * t
            })
        })
        .collect();
    scan.dedup();
    let mut evaluations = evaluate(&scan)?;

    // Orient the search so that "toward the goal" is always ascending index.
    let order = |evals: &mut Vec<Evaluation>| {
        evals.sort_by(|a, b| a.value.total_cmp(&b.value));
        if request.largest {
            evals.reverse();
        }
    };
    order(&mut evaluations);
    // The best passing value is the last one on the goal side before a failure,
    // scanning from the side where values fail: smallest = first pass ascending.
    let first_pass = evaluations.iter().position(|e| e.passed);
    let mut answer = None;
    if let Some(i) = first_pass {
        answer = Some(evaluations[i].value);
        if i > 0 {
            let (mut fail, mut pass) = (evaluations[i - 1].value, evaluations[i].value);
            let unresolved = |a: f64, b: f64| {
                if request.integer {
                    (a - b).abs() > 1.0
                } else if request.geometric() {
                    a.max(b) / a.min(b) > 1.01
                } else {
                    (a - b).abs() > (request.high - request.low) / 100.0
                }
            };
            while unresolved(pass, fail) {
                let mid = snap(if request.geometric() {
                    (pass * fail).sqrt()
                } else {
                    (pass + fail) / 2.0
                });
                if mid == pass || mid == fail {
                    break;
                }
                let e = evaluate(&[mid])?.remove(0);
                if e.passed {
                    pass = mid;
                } else {
                    fail = mid;
                }
                evaluations.push(e);
            }
            answer = Some(pass);
        }
    }
    order(&mut evaluations);
    let non_monotone = match answer {
        Some(a) => evaluations
            .iter()
            .filter(|e| {
                !e.passed
                    && (if request.largest {
                        e.value < a
                    } else {
                        e.value > a
                    })
            })
            .map(|e| e.value)
            .collect(),
        None => Vec::new(),
    };
    evaluations.sort_by(|a, b| a.value.total_cmp(&b.value));
    // The answer rests on two verdicts: it passes, the value next to it on
    // the failing side fails. On the means, either may be within the noise;
    // on the bounds, a passing answer's interval is clear of the threshold
    // (a failing neighbour may straddle it: that is the caution asked for).
    let neighbour = answer
        .filter(|_| request.decide_on == DecideOn::Mean)
        .and_then(|a| failing_neighbour(&evaluations, a, request.largest));
    let undecided = [answer, neighbour]
        .into_iter()
        .flatten()
        .filter(|v| evaluations.iter().any(|e| e.value == *v && !e.decided))
        .collect();
    Ok(Outcome {
        expectations: subject.expectations.clone(),
        evaluations,
        answer,
        non_monotone,
        undecided,
    })
}

/// The failing value tried nearest to `answer` on the failing side.
pub fn failing_neighbour(evaluations: &[Evaluation], answer: f64, largest: bool) -> Option<f64> {
    evaluations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| e.value)
        .filter(|v| if largest { *v > answer } else { *v < answer })
        .min_by(|a, b| (a - answer).abs().total_cmp(&(b - answer).abs()))
}

/// File names of a plan directory.
pub const PLAN_FILE: &str = "plan.csv";

/// Writes `plan.csv`, the chart and the resolved scenario into `dir`; returns the files.
pub fn write(
    dir: &Path,
    subject: &Subject,
    request: &Request,
    outcome: &Outcome,
) -> Result<Vec<PathBuf>> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec![request.vary.clone(), "n".to_string()];
    for e in &outcome.expectations {
        header.push(format!("{e}"));
        header.push(format!("{}.ci95_low", e.metric));
        header.push(format!("{}.ci95_high", e.metric));
    }
    header.push("passed".into());
    csv.write_record(&header).expect("writes to memory");
    for ev in &outcome.evaluations {
        let mut record = vec![ev.value.to_string(), request.replicates.to_string()];
        for s in &ev.stats {
            record.extend([s.mean.to_string(), s.low.to_string(), s.high.to_string()]);
        }
        record.push(ev.passed.to_string());
        csv.write_record(&record).expect("writes to memory");
    }
    let mut files = OutputDir::create(dir)?;
    files.put(PLAN_FILE, &crate::report::csv_bytes(csv))?;
    let resolved = resolved_toml(&subject.raw, dir);
    files.put(SCENARIO_FILE, resolved.as_bytes())?;
    let chart = dir.join("plan.png");
    plot::draw(&chart, &figure(subject, request, outcome))?;
    files.written.push(chart);
    let page = page(
        subject,
        request,
        outcome,
        &plot::svg(&figure(subject, request, outcome))?,
        &resolved,
    );
    files.put(html::HTML_FILE, page.as_bytes())?;
    Ok(files.written)
}

/// The plan's `report.html`: the question, the answer, every value tried,
/// the chart and the resolved scenario.
fn page(
    subject: &Subject,
    request: &Request,
    outcome: &Outcome,
    chart: &str,
    resolved: &str,
) -> String {
    let goal = if request.largest {
        "largest"
    } else {
        "smallest"
    };
    let mut page = html::Page::new(&format!("stampede plan: {}", subject.name));
    let conditions: Vec<String> = outcome.expectations.iter().map(|e| e.to_string()).collect();
    page.paragraph(&format!(
        "The {goal} {} in {}..{} meeting {} on the mean of {} runs per value (seeds {} + r).",
        request.vary,
        request.show(request.low),
        request.show(request.high),
        conditions.join(" and "),
        request.replicates,
        subject.seed
    ));
    page.heading("Expectations at the answer");
    match outcome.answer.and_then(|a| outcome.at(a)) {
        Some(at) => {
            page.paragraph(&format!("{} = {}", request.vary, request.show(at.value)));
            let who = format!("{} = {}", request.vary, request.show(at.value));
            let rows: Vec<(String, String, f64, bool)> = outcome
                .expectations
                .iter()
                .zip(&at.stats)
                .map(|(e, s)| (who.clone(), e.to_string(), s.mean, e.holds(s.mean)))
                .collect();
            page.expectations(&rows);
        }
        None => page.warning(&format!(
            "No value of {} in the range meets every expectation.",
            request.vary
        )),
    }
    if !outcome.non_monotone.is_empty() {
        let values: Vec<String> = outcome
            .non_monotone
            .iter()
            .map(|v| request.show(*v))
            .collect();
        page.warning(&format!(
            "Not monotone: {} also fail beyond the answer.",
            values.join(", ")
        ));
    }
    page.heading("Every value tried (mean ± 95% CI)");
    let mut header = vec![request.vary.clone()];
    header.extend(outcome.expectations.iter().map(|e| e.to_string()));
    header.push("verdict".into());
    let rows: Vec<Vec<String>> = outcome
        .evaluations
        .iter()
        .map(|ev| {
            let mut row = vec![request.show(ev.value)];
            row.extend(ev.stats.iter().map(|s| {
                let half = (s.high - s.low) / 2.0;
                if half > 0.0 {
                    format!("{} ± {}", significant(s.mean), significant(half))
                } else {
                    significant(s.mean)
                }
            }));
            row.push(if ev.passed { "pass" } else { "fail" }.into());
            row
        })
        .collect();
    page.table(&header, &rows);
    page.heading("Chart");
    page.charts(&[html::Chart {
        name: "plan".into(),
        svg: chart.to_string(),
    }]);
    page.heading("Resolved scenario");
    page.code("scenario.toml", resolved, false);
    page.finish()
}

/// The scenario's name with the `--set` overrides of the plan in words, if
/// any: `hot-key-expiry (request rate = 60,000 req/s, mitigation = lock)`.
fn variant_name(subject: &Subject) -> String {
    let sets: Vec<String> = subject
        .sets
        .iter()
        .map(|s| match s.split_once('=') {
            Some((p, v)) => {
                let (name, value) = param_value_in_words(p.trim(), v.trim());
                format!("{name} = {value}")
            }
            None => s.clone(),
        })
        .collect();
    if sets.is_empty() {
        subject.name.clone()
    } else {
        format!("{} ({})", subject.name, sets.join(", "))
    }
}

/// The varied parameter in words, without its unit: "DB connection pool size".
fn param_words_lower(path: &str) -> String {
    let label = param_label(path);
    match label.rfind(" (") {
        Some(i) if label.ends_with(')') && label != path => label[..i].to_string(),
        _ => label,
    }
}

/// An expectation in words, the threshold with the metric's unit:
/// `latency_ms.p999 < 500` → "p99.9 latency < 500 ms".
fn expectation_in_words(e: &Expectation) -> String {
    let label = metric_label(&e.metric);
    let (name, unit) = match label.rfind(" (") {
        Some(i) if label.ends_with(')') => (&label[..i], &label[i + 2..label.len() - 1]),
        _ => (label.as_str(), ""),
    };
    let threshold = if e.threshold.abs() >= 10_000.0 {
        plot::tick_label(&e.threshold)
    } else {
        e.threshold.to_string()
    };
    match unit {
        // A range, not a unit: "DB utilisation (0-1)".
        "" | "0-1" => format!("{name} {} {threshold}", e.op.symbol()),
        unit => format!("{name} {} {threshold} {unit}", e.op.symbol()),
    }
}

/// One panel per expectation: its metric across the values tried, with the threshold.
fn figure(subject: &Subject, request: &Request, outcome: &Outcome) -> Figure {
    let goal = if request.largest {
        "largest"
    } else {
        "smallest"
    };
    let answer = outcome
        .answer
        .map_or("none in range".to_string(), |a| request.show(a));
    let panels = outcome
        .expectations
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let points: Vec<(f64, f64)> = outcome
                .evaluations
                .iter()
                .map(|ev| (ev.value, ev.stats[k].mean))
                .collect();
            let (lo, hi) = points.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| {
                (a.min(p.1), b.max(p.1))
            });
            let series = vec![
                Series::new(
                    format!("mean and 95% CI over {} runs", request.replicates),
                    points,
                )
                .with_error_bars(
                    outcome
                        .evaluations
                        .iter()
                        .map(|ev| (ev.value, ev.stats[k].low, ev.stats[k].high))
                        .collect(),
                ),
            ];
            Panel {
                log_y: lo > 0.0 && hi / lo > 20.0,
                reference: Some((
                    e.threshold,
                    format!("threshold: {}", expectation_in_words(e)),
                )),
                x_reference: outcome
                    .answer
                    .map(|a| (a, format!("answer: {}", request.show(a)))),
                ..Panel::new(metric_label(&e.metric), series)
            }
        })
        .collect();
    let (low, high) = (request.low, request.high);
    let x_range = if request.geometric() {
        low / 1.1..high * 1.1
    } else {
        let pad = (high - low) * 0.03;
        low - pad..high + pad
    };
    Figure {
        title: format!(
            "{}: {goal} {} meeting every expectation = {answer}",
            variant_name(subject),
            param_words_lower(&request.vary)
        ),
        panels,
        columns: 1,
        warmup: 0.0,
        x_range,
        log_x: request.geometric(),
        x_label: param_label(&request.vary),
        x_names: Vec::new(),
        faults: Vec::new(),
        shared_legend: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_with_their_kind() {
        assert_eq!(parse_range("8..256").unwrap(), (8.0, 256.0, true));
        assert_eq!(parse_range("0.5..4").unwrap(), (0.5, 4.0, false));
        for bad in ["8-256", "256..8", "a..b", "5..5"] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expect_flags_read_metric_operator_and_value() {
        let e = crate::expect::parse_flag("latency_ms.p99 <= 50").unwrap();
        assert_eq!(e.to_string(), "latency_ms.p99 <= 50");
        assert!(crate::expect::parse_flag("latency_ms.p99 50").is_err());
        assert!(crate::expect::parse_flag("latency.p99 < 50").is_err());
    }
}
