//! The command line (SPEC §2 contract): `stampede run`, `stampede sweep`, `stampede plot`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};
use crate::report;
use crate::report::plot::Format;
use crate::report::sweep::{ChartOptions, SweepTable};
use crate::scenario;

/// Discrete-event cache stampede simulator.
#[derive(Debug, Parser)]
#[command(name = "stampede", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command that runs many simulations.
#[derive(Debug, clap::Args)]
pub struct Parallel {
    /// Worker threads [default: all cores]; results are identical for any value.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Override a scenario value (in every point and file), e.g. --set clients.rate=40000.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one scenario and write its summary, time series and charts.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Output directory [default: results/<scenario name>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed of every random stream (overrides the file's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Override a scenario value: dotted path = value, e.g. --set clients.rate=40000.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
    /// Run the scenario's [sweep] grid × replicates in parallel.
    Sweep {
        /// The scenario file (TOML) with a [sweep] table.
        scenario: PathBuf,
        /// Output directory [default: results/<scenario name>-sweep/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Threads and overrides.
        #[command(flatten)]
        parallel: Parallel,
        /// Keep the runs already in DIR/runs and run only the missing ones.
        #[arg(long)]
        resume: bool,
        /// Run only shard K of N (e.g. 2/8): a deterministic 1/N of the runs; combine with `stampede merge`.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
    },
    /// Combine the run directories of sweep shards into one sweep's outputs.
    Merge {
        /// Directories written by `stampede sweep --shard K/N`.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory [default: results/<scenario name>-sweep/].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check scenario outputs: [expect] thresholds and, with --baseline, committed results.
    Check {
        /// Scenario files (TOML); each runs its [sweep] points × replicates, or once.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Compare every summary metric with the outputs under DIR
        /// (DIR/<name>/summary.json, or DIR/<name>-sweep/sweep.csv for a sweep).
        #[arg(long, value_name = "DIR")]
        baseline: Option<PathBuf>,
        /// Relative tolerance: 0.05 for every metric [default 0.05], or METRIC=VALUE for one (repeatable).
        #[arg(long = "tolerance", value_name = "[METRIC=]VALUE")]
        tolerances: Vec<String>,
        /// Write the current outputs as the new baselines under --baseline DIR.
        #[arg(long)]
        bless: bool,
        /// Also write the results as JUnit XML to FILE, for CI systems.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Threads and overrides.
        #[command(flatten)]
        parallel: Parallel,
    },
    /// Find the smallest (or largest) value of one parameter that meets every expectation.
    Plan {
        /// The scenario file (TOML); its [expect] thresholds decide unless --expect is given.
        scenario: PathBuf,
        /// Dotted path of the numeric parameter to vary, e.g. database.connections.
        #[arg(long, value_name = "PATH")]
        vary: String,
        /// The range searched, LO..HI: whole numbers search integers, e.g. 8..256 or 0.5..4.
        #[arg(long, value_name = "LO..HI")]
        range: String,
        /// Find the largest passing value (e.g. the most traffic survived) instead of the smallest.
        #[arg(long)]
        largest: bool,
        /// Threshold replacing the file's [expect], e.g. "latency_ms.p999 < 500" (repeatable).
        #[arg(long = "expect", value_name = "METRIC OP VALUE")]
        expects: Vec<String>,
        /// Runs per value tried [default: the file's sweep.replicates, or 3].
        #[arg(long)]
        replicates: Option<u32>,
        /// Values scanned across the range before bisecting (the chart's points).
        #[arg(long, default_value_t = 9)]
        scan: usize,
        /// Output directory [default: results/<scenario name>-plan/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Threads and overrides.
        #[command(flatten)]
        parallel: Parallel,
    },
    /// Redraw the charts of a run or sweep directory from its CSV files.
    Plot {
        /// A directory written by `stampede run` or `stampede sweep`.
        dir: PathBuf,
        /// Image format of the charts.
        #[arg(long, value_enum, default_value_t = Format::Png)]
        format: Format,
        /// Sweeps: a metric to chart, e.g. hit_ratio or latency_ms.p50 (repeat for several)
        /// [default: latency_ms.p99, latency_ms.p999, db_queries_per_s_peak].
        #[arg(long = "metric", value_name = "METRIC")]
        metrics: Vec<String>,
        /// Sweeps: the swept parameter on the x axis [default: the first numeric one].
        #[arg(long, value_name = "PATH")]
        x: Option<String>,
        /// Sweeps: the parameter on the heatmap's y axis [default: the second numeric one].
        #[arg(long, value_name = "PATH")]
        y: Option<String>,
        /// Sweeps: one line per value of this parameter [default: strategy.kind if swept].
        #[arg(long, value_name = "PATH")]
        by: Option<String>,
    },
}

/// Prints a line to stdout; a closed pipe (`| head`) is not an error.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Runs the parsed command line; returns the process exit code.
pub fn execute(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run {
            scenario,
            out,
            seed,
            sets,
        } => run(&scenario, out, seed, &sets),
        Command::Sweep {
            scenario,
            out,
            parallel: Parallel { jobs, sets },
            resume,
            shard,
        } => sweep(&scenario, out, jobs, &sets, resume, shard.as_deref()),
        Command::Merge { dirs, out } => merge(&dirs, out),
        Command::Plan {
            scenario,
            vary,
            range,
            largest,
            expects,
            replicates,
            scan,
            out,
            parallel: Parallel { jobs, sets },
        } => {
            let subject = crate::plan::Subject::load(&scenario, &sets, &expects)?;
            let (low, high, integer) = crate::plan::parse_range(&range)?;
            let replicates = replicates
                .or(subject.raw.sweep.as_ref().map(|s| s.replicates))
                .unwrap_or(3);
            if replicates == 0 || scan < 2 {
                return Err(Error::BadInput(
                    "--replicates must be at least 1 and --scan at least 2".into(),
                ));
            }
            let request = crate::plan::Request {
                vary,
                low,
                high,
                integer,
                largest,
                replicates,
                scan,
                jobs: threads(jobs)?,
            };
            plan(&subject, &request, out)
        }
        Command::Check {
            scenarios,
            baseline,
            tolerances,
            bless,
            junit,
            parallel: Parallel { jobs, sets },
        } => {
            let mut options = crate::check::Options {
                baseline,
                tolerance: 0.05,
                tolerances: Vec::new(),
                bless,
                jobs: threads(jobs)?,
                sets,
            };
            options.parse_tolerances(&tolerances)?;
            check(&scenarios, &options, junit.as_deref())
        }
        Command::Plot {
            dir,
            format,
            metrics,
            x,
            y,
            by,
        } => plot(
            &dir,
            ChartOptions {
                metrics,
                x,
                y,
                by,
                format,
            },
        ),
    }
}

fn run(path: &Path, out: Option<PathBuf>, seed: Option<u64>, sets: &[String]) -> Result<i32> {
    let mut sets = sets.to_vec();
    if let Some(seed) = seed {
        sets.push(format!("seed={seed}"));
    }
    let (scenario, raw) = scenario::load(path, &sets)?;
    let dir = out.unwrap_or_else(|| Path::new("results").join(&scenario.name));
    let started = Instant::now();
    let output = crate::engine::run_with(&scenario, scenario.seed, &|notice| {
        eprintln!("warning: {notice}")
    });
    let wall_s = started.elapsed().as_secs_f64();
    if let Some(stop @ crate::engine::Stop::Stalled { .. }) = output.stop {
        return Err(Error::BadInput(format!("{}: {stop}", path.display())));
    }
    let written = report::write_run(&dir, &scenario, &raw, &output)?;
    let s = &output.summary;
    let simulated: u64 = output.timeseries.iter().map(|r| r.requests).sum();
    let names: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    // The file's expectations, for information: `stampede check` is the test.
    let metrics = crate::sweep::flatten(s);
    let expectations: String = scenario
        .expect
        .iter()
        .map(|e| {
            let v = e.measure(&metrics);
            let verdict = if e.holds(v) { "met" } else { "NOT met" };
            format!(
                "\n  expect     {e}: {verdict} ({})",
                report::sweep::significant(v)
            )
        })
        .collect();
    say(&format!(
        "stampede run {} (seed {}): {simulated} requests simulated ({} after warmup) over {:.1} s \
         in {wall_s:.2} s wall, {:.2} M requests/s\n{}{expectations}\n  wrote {}/ ({})",
        s.scenario,
        s.seed,
        s.requests,
        s.simulated_s,
        simulated as f64 / wall_s.max(1e-9) / 1e6,
        report::human_summary(s, scenario.database.connections as u64),
        dir.display(),
        names.join(", ")
    ));
    if let Some(stop) = output.stop {
        say(&format!(
            "  NOT A NORMAL RESULT: {stop}; the outputs cover the run up to then and say so \
             (summary.json `stopped`). Lower the load, add capacity, or raise max_in_flight."
        ));
        return Ok(1);
    }
    Ok(0)
}

fn sweep(
    path: &Path,
    out: Option<PathBuf>,
    jobs: Option<usize>,
    sets: &[String],
    resume: bool,
    shard: Option<&str>,
) -> Result<i32> {
    let (_, raw) = scenario::load(path, sets)?;
    let sweep = crate::sweep::load(path, sets)?;
    let shard = shard.map(parse_shard).transpose()?;
    let dir = out.unwrap_or_else(|| Path::new("results").join(format!("{}-sweep", sweep.name)));
    let jobs = threads(jobs)?;
    let mut tasks = match shard {
        Some((k, n)) => sweep.shard_tasks(k, n),
        None => sweep.tasks(),
    };
    let kept = if resume {
        report::read_sweep_runs(&dir)?
    } else {
        report::clear_sweep_runs(&dir)?;
        Vec::new()
    };
    tasks.retain(|&(p, r)| {
        !kept
            .iter()
            .any(|k| (k.point, k.replicate, k.seed) == (p, r, sweep.seed_of(p, r)))
    });
    report::write_atomic_in(
        &dir,
        report::SCENARIO_FILE,
        report::resolved_toml(&raw).as_bytes(),
    )?;
    let total = tasks.len();
    say(&format!(
        "stampede sweep {}: {} points × {} replicates{}; {total} runs to do on {jobs} threads",
        sweep.name,
        sweep.points.len(),
        sweep.replicates,
        shard.map_or(String::new(), |(k, n)| format!(", shard {k}/{n}"))
    ));
    let started = Instant::now();
    let progress = Progress::new(total);
    let keep = |run: &crate::sweep::SweepRun, done: usize| -> Result<()> {
        report::write_sweep_run(&dir, run)?;
        progress.update(done);
        Ok(())
    };
    sweep.run(&tasks, jobs, &keep)?;
    progress.finish();
    if let Some((k, n)) = shard {
        say(&format!(
            "  shard {k}/{n} done in {:.2} s: its runs are in {}/runs; combine all shards with `stampede merge`",
            started.elapsed().as_secs_f64(),
            dir.display()
        ));
        return Ok(0);
    }
    let runs = sweep.complete(report::read_sweep_runs(&dir)?)?;
    finish_sweep(&dir, &raw, &sweep, &runs, started)
}

/// Sweep progress on stderr: a bar with ETA on a terminal, else about
/// twenty plain lines (for CI logs and batch jobs).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    started: Instant,
}

impl Progress {
    fn new(total: usize) -> Progress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "  [{elapsed_precise}] {wide_bar} {pos}/{len} runs, ETA {eta}",
                )
                .expect("a valid template"),
            );
            bar
        });
        Progress {
            bar,
            total,
            started: Instant::now(),
        }
    }

    /// `done` runs have finished (called from worker threads).
    fn update(&self, done: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            return;
        }
        // A line each time another 5% is done, and at the end.
        let step = self.total.div_ceil(20).max(1);
        if done.is_multiple_of(step) || done == self.total {
            let elapsed = self.started.elapsed().as_secs_f64();
            let eta = elapsed / done as f64 * (self.total - done) as f64;
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "  {done}/{} runs done, {elapsed:.1} s elapsed, about {eta:.0} s left",
                self.total
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `--jobs`, or every core when not given; zero is bad input.
fn threads(jobs: Option<usize>) -> Result<usize> {
    match jobs {
        Some(0) => Err(Error::BadInput(
            "--jobs 0: give at least one worker thread".into(),
        )),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

fn check(paths: &[PathBuf], options: &crate::check::Options, junit: Option<&Path>) -> Result<i32> {
    let started = Instant::now();
    let report = crate::check::check(paths, options)?;
    let seconds = started.elapsed().as_secs_f64();
    let width = |f: &dyn Fn(&crate::check::Outcome) -> usize| {
        report.outcomes.iter().map(f).max().unwrap_or(0)
    };
    let (scenario_width, case_width) = (width(&|o| o.scenario.len()), width(&|o| o.case.len()));
    for o in &report.outcomes {
        let line = format!(
            "{} {:<scenario_width$}  {:<case_width$}  {:<14}  {}",
            if o.passed { "pass" } else { "FAIL" },
            o.scenario,
            o.case,
            o.measured,
            o.detail.replace('\n', "\n      "),
        );
        say(line.trim_end());
    }
    for dir in &report.blessed {
        say(&format!("blessed {}", dir.display()));
    }
    let failed = report.outcomes.iter().filter(|o| !o.passed).count();
    say(&format!(
        "stampede check: {} of {} passed, {failed} failed, {} scenario files in {seconds:.1} s",
        report.outcomes.len() - failed,
        report.outcomes.len(),
        paths.len()
    ));
    if let Some(file) = junit {
        report::write_atomic(file, crate::check::junit(&report, seconds).as_bytes())?;
    }
    Ok(if report.passed() { 0 } else { 1 })
}

fn plan(
    subject: &crate::plan::Subject,
    request: &crate::plan::Request,
    out: Option<PathBuf>,
) -> Result<i32> {
    use crate::report::sweep::significant;
    let value = |v: f64| request.show(v);
    let goal = if request.largest {
        "largest"
    } else {
        "smallest"
    };
    let conditions: Vec<String> = subject
        .expectations()
        .iter()
        .map(|e| e.to_string())
        .collect();
    say(&format!(
        "stampede plan {}: {goal} {} in {}..{} meeting {} ({} runs per value)",
        subject.name,
        request.vary,
        value(request.low),
        value(request.high),
        conditions.join(" and "),
        request.replicates
    ));
    let started = Instant::now();
    let outcome = crate::plan::plan(subject, request)?;
    let stat = |s: &crate::report::sweep::Stat| {
        let half = (s.high - s.low) / 2.0;
        if half > 0.0 {
            format!("{} ± {}", significant(s.mean), significant(half))
        } else {
            significant(s.mean)
        }
    };
    for ev in &outcome.evaluations {
        let cells: Vec<String> = outcome
            .expectations
            .iter()
            .zip(&ev.stats)
            .map(|(e, s)| format!("{} = {}", e.metric, stat(s)))
            .collect();
        say(&format!(
            "  {:>12}  {}  {}",
            value(ev.value),
            if ev.passed { "pass" } else { "fail" },
            cells.join("   ")
        ));
    }
    let dir = out.unwrap_or_else(|| Path::new("results").join(format!("{}-plan", subject.name)));
    let written = crate::plan::write(&dir, subject, request, &outcome)?;
    let code = match outcome.answer {
        Some(answer) => {
            let at = outcome.at(answer).expect("the answer was evaluated");
            let mut text = format!("answer: {} = {}", request.vary, value(answer));
            for (e, s) in outcome.expectations.iter().zip(&at.stats) {
                text += &format!(
                    "\n  {} = {}: expect {e}, {:.0} % to spare",
                    e.metric,
                    stat(s),
                    e.margin(s.mean) * 100.0
                );
            }
            let neighbour = outcome
                .evaluations
                .iter()
                .filter(|e| !e.passed)
                .map(|e| e.value)
                .filter(|v| {
                    if request.largest {
                        *v > answer
                    } else {
                        *v < answer
                    }
                })
                .min_by(|a, b| (a - answer).abs().total_cmp(&(b - answer).abs()));
            if let Some(v) = neighbour {
                text += &format!("\n  {} = {} fails", request.vary, value(v));
            }
            if !outcome.non_monotone.is_empty() {
                let values: Vec<String> = outcome
                    .non_monotone
                    .iter()
                    .map(|v| significant(*v))
                    .collect();
                text += &format!(
                    "\n  warning: not monotone: {} also fail beyond the answer; widen --scan or check the model",
                    values.join(", ")
                );
            }
            say(&text);
            0
        }
        None => {
            say(&format!(
                "answer: no value of {} in {}..{} meets every expectation",
                request.vary,
                value(request.low),
                value(request.high)
            ));
            1
        }
    };
    let names: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    say(&format!(
        "  {:.1} s; wrote {}/ ({})",
        started.elapsed().as_secs_f64(),
        dir.display(),
        names.join(", ")
    ));
    Ok(code)
}

/// Parses `K/N` with 1 <= K <= N.
fn parse_shard(text: &str) -> Result<(usize, usize)> {
    let bad = || {
        Error::BadInput(format!(
            "--shard {text}: expected K/N with 1 <= K <= N, e.g. --shard 3/8 (K from $JOB_COMPLETION_INDEX + 1 or $SLURM_ARRAY_TASK_ID)"
        ))
    };
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

fn merge(dirs: &[PathBuf], out: Option<PathBuf>) -> Result<i32> {
    let first = dirs[0].join(report::SCENARIO_FILE);
    let text = std::fs::read_to_string(&first).map_err(|e| {
        Error::BadInput(format!(
            "cannot read {}: {e}; give directories written by `stampede sweep --shard K/N`",
            first.display()
        ))
    })?;
    let mut runs = Vec::new();
    for dir in dirs {
        let other = std::fs::read_to_string(dir.join(report::SCENARIO_FILE)).unwrap_or_default();
        if other != text {
            return Err(Error::BadInput(format!(
                "{} holds a different scenario than {}: shards of one sweep must come from the same file and --set flags",
                dir.display(),
                dirs[0].display()
            )));
        }
        runs.extend(report::read_sweep_runs(dir)?);
    }
    let (_, raw) = scenario::load(&first, &[])?;
    let sweep = crate::sweep::load(&first, &[])?;
    let runs = sweep.complete(runs)?;
    let dir = out.unwrap_or_else(|| Path::new("results").join(format!("{}-sweep", sweep.name)));
    for run in &runs {
        report::write_sweep_run(&dir, run)?;
    }
    finish_sweep(&dir, &raw, &sweep, &runs, Instant::now())
}

fn finish_sweep(
    dir: &Path,
    raw: &scenario::RawScenario,
    sweep: &crate::sweep::Sweep,
    runs: &[crate::sweep::SweepRun],
    started: Instant,
) -> Result<i32> {
    let written = report::write_sweep(dir, raw, sweep, runs)?;
    let names: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    say(&format!(
        "  {} runs, {:.2} s wall\n  wrote {}/ ({})",
        runs.len(),
        started.elapsed().as_secs_f64(),
        dir.display(),
        names.join(", ")
    ));
    Ok(0)
}

fn plot(dir: &Path, options: ChartOptions) -> Result<i32> {
    let scenario_path = dir.join(report::SCENARIO_FILE);
    if !scenario_path.is_file() {
        return Err(Error::BadInput(format!(
            "{} is not a run or sweep directory: it has no {}; give a directory written by `stampede run` or `stampede sweep`",
            dir.display(),
            report::SCENARIO_FILE
        )));
    }
    let (scenario, _) = scenario::load(&scenario_path, &[])?;
    let written = if dir.join(report::sweep::AGGREGATE_FILE).is_file() {
        let table = SweepTable::read(dir)?;
        report::sweep::sweep_charts(dir, &scenario.name, &table, &options)?
    } else {
        if !options.metrics.is_empty()
            || options.x.is_some()
            || options.y.is_some()
            || options.by.is_some()
        {
            return Err(Error::BadInput(format!(
                "{} is a run directory: --metric, --x, --y and --by apply to sweep directories; a run takes only --format",
                dir.display()
            )));
        }
        let rows = report::read_csv(dir, report::TIMESERIES_FILE)?;
        let class_rows = report::read_csv(dir, report::CLASSES_FILE)?;
        report::plot::run_charts(dir, &scenario, &rows, &class_rows, options.format)?
    };
    for path in written {
        say(&format!("wrote {}", path.display()));
    }
    Ok(0)
}
