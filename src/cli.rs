//! The command line (SPEC §2 and §6 contract): `run`, `sweep`, `merge`, `plot`,
//! `compare`, `check`, `plan`, `init` and `completions`, with clap; it maps
//! each command to the library and errors to exit codes 0, 1, 2 and 130.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};
use crate::interrupt;
use crate::outdir;
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

/// How a command reports: `--json` and `--quiet` (on `run`, `check`, `plan`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Report {
    /// Print the result as JSON on stdout (for `run`, what summary.json holds); the
    /// human text goes to stderr.
    #[arg(long)]
    pub json: bool,
    /// No progress bar or progress lines.
    #[arg(long, short)]
    pub quiet: bool,
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
        /// Override a scenario value: dotted path = value, e.g. --set clients.rate=40000
        /// or --set events.0.factor=8 (array items by index, from 0).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// What this run must achieve, replacing the file's [expect], e.g.
        /// "duplicate_queries < 50" (repeatable); exit 1 if one is not met.
        #[arg(long = "expect", value_name = "METRIC OP VALUE")]
        expects: Vec<String>,
        /// JSON and progress.
        #[command(flatten)]
        report: Report,
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
        /// No progress bar or progress lines.
        #[arg(long, short)]
        quiet: bool,
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
        /// Write the current outputs as the new baselines under --baseline DIR
        /// (refused when an expectation fails, unless --force).
        #[arg(long)]
        bless: bool,
        /// With --bless: write the baselines even though expectations fail.
        #[arg(long, requires = "bless")]
        force: bool,
        /// Also write the results as JUnit XML to FILE, for CI systems.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Threads and overrides.
        #[command(flatten)]
        parallel: Parallel,
        /// JSON and progress.
        #[command(flatten)]
        report: Report,
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
        /// What decides whether a value passes: the mean over replicates, or
        /// the bound of its 95 % interval on the failing side (the cautious answer).
        #[arg(long, value_enum, default_value_t = crate::plan::DecideOn::Mean)]
        decide_on: crate::plan::DecideOn,
        /// Output directory [default: results/<scenario name>-plan/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Threads and overrides.
        #[command(flatten)]
        parallel: Parallel,
        /// JSON and progress.
        #[command(flatten)]
        report: Report,
    },
    /// Print a shell completion script: stampede completions bash > /etc/bash_completion.d/stampede.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write a commented starter scenario to FILE (never over an existing file).
    Init {
        /// Where to write it.
        #[arg(default_value = "scenario.toml")]
        file: PathBuf,
    },
    /// Fit synthetic clients to a trace scenario's trace, and measure how well they predict it.
    ///
    /// Reads the trace of SCENARIO's clients.trace once and writes DIR: scenario.toml (the
    /// same scenario with synthetic clients instead of the trace: keys, Zipf exponent by
    /// maximum likelihood, Poisson rate, churn, lognormal value sizes, TTL classes),
    /// fit.json (the parameters, how well each fits, the replay's and the fitted
    /// scenario's hit ratios under the same cache) and fit.png (the trace against each
    /// fitted law). Prints what the fit could not capture.
    Fit {
        /// The scenario file (TOML) with a clients.trace.
        scenario: PathBuf,
        /// Output directory [default: results/<scenario name>-fit/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a scenario value, e.g. --set cache.maxmemory=256mb.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Print fit.json on stdout (the human text goes to stderr).
        #[arg(long)]
        json: bool,
    },
    /// Draw several runs of one scenario on shared axes, labelled by what differs between them.
    ///
    /// Each DIR is a run directory (`stampede run` writes them); the runs must be of one
    /// scenario (the same `name`: the same file with other --set or --seed values). Writes
    /// latency, database load, memory, errors and hit-ratio charts with one colour per run,
    /// compare.csv and report.html.
    Compare {
        /// Run directories, e.g. results/hot-key-expiry results/hot-key-expiry-lock.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory [default: results/<scenario name>-compare/].
        #[arg(long)]
        out: Option<PathBuf>,
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

/// Shells `stampede completions` writes scripts for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// Set by `--json`: stdout carries only the JSON result, human text goes to stderr.
static JSON_ON_STDOUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints a line of human text to stdout (to stderr under `--json`); a closed
/// pipe (`| head`) is not an error.
fn say(text: &str) {
    use std::io::Write;
    if JSON_ON_STDOUT.load(std::sync::atomic::Ordering::Relaxed) {
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    } else {
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }
}

/// Prints the `--json` result on stdout.
fn say_json(value: &serde_json::Value) {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Runs the parsed command line; returns the process exit code.
pub fn execute(cli: Cli) -> Result<i32> {
    interrupt::install();
    if let Command::Run { report, .. }
    | Command::Check { report, .. }
    | Command::Plan { report, .. } = &cli.command
    {
        JSON_ON_STDOUT.store(report.json, std::sync::atomic::Ordering::Relaxed);
    }
    if let Command::Fit { json: true, .. } = &cli.command {
        JSON_ON_STDOUT.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    match cli.command {
        Command::Run {
            scenario,
            out,
            seed,
            sets,
            expects,
            report,
        } => run(&scenario, out, seed, &sets, &expects, report),
        Command::Sweep {
            scenario,
            out,
            parallel: Parallel { jobs, sets },
            resume,
            shard,
            quiet,
        } => sweep(&scenario, out, jobs, &sets, resume, shard.as_deref(), quiet),
        Command::Completions { shell } => {
            completions(shell);
            Ok(0)
        }
        Command::Init { file } => init(&file),
        Command::Merge { dirs, out } => merge(&dirs, out),
        Command::Compare { dirs, out } => compare(&dirs, out),
        Command::Fit {
            scenario,
            out,
            sets,
            json,
        } => fit(&scenario, out, &sets, json),
        Command::Plan {
            scenario,
            vary,
            range,
            largest,
            expects,
            replicates,
            scan,
            decide_on,
            out,
            parallel: Parallel { jobs, sets },
            report,
        } => {
            let subject = crate::plan::Subject::load(&scenario, &sets, &expects)?;
            let (low, high, integer) = crate::plan::parse_range(&range)?;
            let replicates = replicates
                .or(subject.raw.sweep.as_ref().map(|s| s.replicates))
                .unwrap_or(3);
            if !(1..=1000).contains(&replicates) || !(2..=1000).contains(&scan) {
                return Err(Error::BadInput(format!(
                    "--replicates {replicates} --scan {scan}: --replicates must be between 1 and 1000 and --scan between 2 and 1000"
                )));
            }
            let request = crate::plan::Request {
                vary,
                low,
                high,
                integer,
                largest,
                replicates,
                scan,
                decide_on,
                jobs: threads(jobs)?,
            };
            plan(&subject, &request, out, &scenario, &sets, report)
        }
        Command::Check {
            scenarios,
            baseline,
            tolerances,
            bless,
            force,
            junit,
            parallel: Parallel { jobs, sets },
            report,
        } => {
            let mut options = crate::check::Options {
                baseline,
                tolerance: 0.05,
                tolerances: Vec::new(),
                bless,
                force,
                jobs: threads(jobs)?,
                sets,
            };
            options.parse_tolerances(&tolerances)?;
            check(&scenarios, &options, junit.as_deref(), report)
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

fn run(
    path: &Path,
    out: Option<PathBuf>,
    seed: Option<u64>,
    sets: &[String],
    expects: &[String],
    how: Report,
) -> Result<i32> {
    let mut sets = sets.to_vec();
    if let Some(seed) = seed {
        if i64::try_from(seed).is_err() {
            return Err(Error::BadInput(format!(
                "--seed {seed}: seeds are TOML integers, at most {}",
                i64::MAX
            )));
        }
        sets.push(format!("seed={seed}"));
    }
    let (scenario, raw) = scenario::load(path, &sets)?;
    // `--expect` states what this run must achieve (a fix of an incident),
    // in place of the file's [expect] (what the incident shows).
    let given = expects
        .iter()
        .map(|e| crate::expect::parse_flag(e))
        .collect::<Result<Vec<_>>>()?;
    let (dir, note) = output_dir(out, path, &scenario.name, &sets, &raw);
    let staged = stage_out(&dir)?;
    let started = Instant::now();
    let total_ms = scenario.duration.0 / 1_000_000;
    let progress =
        crate::progress::Progress::new(total_ms, crate::progress::Unit::SimulatedMs, how.quiet);
    let output = crate::runner::run_one_watched(&scenario, scenario.seed, &|reached| {
        progress.set_simulated(reached.simulated.0 / 1_000_000, reached.requests)
    });
    let simulated: u64 = output
        .as_ref()
        .map_or(0, |o| o.timeseries.iter().map(|r| r.requests).sum());
    progress.set_simulated(total_ms, simulated);
    progress.finish();
    let output = output?;
    let wall_s = started.elapsed().as_secs_f64();
    let written = report::write_run(staged.path(), &scenario, &raw, &output)?;
    staged.commit()?;
    let s = &output.summary;
    let names: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    // The expectations: the file's for information (`stampede check` is their
    // test), or the --expect flags, which this run must meet.
    let metrics = crate::metrics::flatten(s);
    let expectations = if given.is_empty() {
        &scenario.expect
    } else {
        &given
    };
    let mut unmet = 0;
    let verdicts: String = expectations
        .iter()
        .map(|e| {
            let v = e.measure(&metrics);
            let verdict = if e.holds(v) {
                "met"
            } else {
                unmet += 1;
                "NOT met"
            };
            format!(
                "\n  expect     {e}: {verdict} ({})",
                report::sweep::significant(v)
            )
        })
        .collect();
    say(&format!(
        "stampede run {} (seed {}): {simulated} requests simulated ({} after warmup) over {:.1} s \
         in {wall_s:.2} s wall, {:.2} M requests/s\n{}{verdicts}\n  wrote {}/ ({}){note}",
        s.scenario,
        s.seed,
        s.requests,
        s.simulated_s,
        simulated as f64 / wall_s.max(1e-9) / 1e6,
        report::human_summary(s, scenario.database.connections as u64),
        dir.display(),
        names.join(", ")
    ));
    if how.json {
        let summary: serde_json::Value =
            serde_json::from_str(&report::summary_json(s)).expect("summary.json is JSON");
        say_json(&summary);
    }
    if let Some(stop) = output.stop {
        say(&format!(
            "  NOT A NORMAL RESULT: {stop}. The outputs cover the run up to then and say so \
             (summary.json `stopped`)."
        ));
        return Ok(1);
    }
    if unmet > 0 && !given.is_empty() {
        say(&format!(
            "  {unmet} of {} --expect conditions NOT met",
            given.len()
        ));
        return Ok(1);
    }
    Ok(0)
}

/// `stampede completions SHELL`: the completion script on stdout.
fn completions(shell: Shell) {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut stdout = std::io::stdout();
    match shell {
        Shell::Bash => clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut command,
            "stampede",
            &mut stdout,
        ),
        Shell::Zsh => clap_complete::generate(
            clap_complete::Shell::Zsh,
            &mut command,
            "stampede",
            &mut stdout,
        ),
        Shell::Fish => clap_complete::generate(
            clap_complete::Shell::Fish,
            &mut command,
            "stampede",
            &mut stdout,
        ),
    }
}

/// The commented starter scenario `stampede init` writes.
pub const STARTER: &str = include_str!("starter.toml");

/// `stampede init FILE`: writes [`STARTER`], never over an existing file.
fn init(file: &Path) -> Result<i32> {
    use std::io::Write;
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Suggest a name that is free: `mine-2.toml`, `mine-3.toml`...
            let stem = file.file_stem().unwrap_or_default().to_string_lossy();
            let free = (2..)
                .map(|n| file.with_file_name(format!("{stem}-{n}.toml")))
                .find(|candidate| !candidate.exists())
                .expect("some numbered name is free");
            return Err(Error::BadInput(format!(
                "{} already exists; stampede init never overwrites a file: give another name, e.g. stampede init {}",
                file.display(),
                free.display()
            )));
        }
        Err(e) => return Err(Error::output(file, e)),
    };
    f.write_all(STARTER.as_bytes())
        .map_err(|e| Error::output(file, e))?;
    say(&format!(
        "wrote {0}: a commented starter scenario; edit it, then\n  stampede run {0}\n  stampede check {0}",
        file.display()
    ));
    Ok(0)
}

fn sweep(
    path: &Path,
    out: Option<PathBuf>,
    jobs: Option<usize>,
    sets: &[String],
    resume: bool,
    shard: Option<&str>,
    quiet: bool,
) -> Result<i32> {
    use crate::sweep::SweepRun;
    let (_, raw) = scenario::load(path, sets)?;
    let sweep = crate::sweep::load(path, sets)?;
    let shard = shard.map(parse_shard).transpose()?;
    let (dir, note) = output_dir(out, path, &format!("{}-sweep", sweep.name), sets, &raw);
    let jobs = threads(jobs)?;
    let staged = outdir::prepare("--out", &dir)?;
    // Runs finished so far live beside DIR until the sweep is complete.
    let partial = outdir::partial_dir(&dir);
    outdir::check_ours("--out", &partial)?;
    let mut tasks = match shard {
        Some((k, n)) => sweep.shard_tasks(k, n),
        None => sweep.tasks(),
    };
    let total = tasks.len();

    // Kept runs: of an interrupted sweep (the partial directory), then of a
    // finished one (DIR/runs). Each is reused only if it is bound to this
    // sweep's point, replicate, seed and resolved scenario.
    let mut kept: Vec<SweepRun> = Vec::new();
    let mut discarded: std::collections::BTreeMap<String, usize> = Default::default();
    let interrupted_runs = report::read_kept_runs(&partial)?.len();
    if resume {
        let mut candidates = report::read_kept_runs(&partial)?;
        candidates.extend(report::read_kept_runs(&dir)?);
        for (_, run) in candidates {
            let why = match run {
                Err(_) => Some("unreadable".to_string()),
                Ok(run) => match sweep.mismatch(&run) {
                    Some(why) => Some(why.to_string()),
                    None if !tasks.contains(&(run.point, run.replicate)) => {
                        Some("not a run of this shard".to_string())
                    }
                    None if kept
                        .iter()
                        .any(|k| (k.point, k.replicate) == (run.point, run.replicate)) =>
                    {
                        None // the same run, kept twice
                    }
                    None => {
                        kept.push(run);
                        None
                    }
                },
            };
            if let Some(why) = why {
                *discarded.entry(why).or_default() += 1;
            }
        }
    }
    // A fresh partial directory holding exactly the runs kept.
    remove_dir_if_exists(&partial)?;
    for run in &kept {
        report::write_sweep_run(&partial, run)?;
    }
    report::write_atomic_in(
        &partial,
        report::SCENARIO_FILE,
        report::resolved_toml(&raw, &partial).as_bytes(),
    )
    .map_err(|e| Error::BadInput(format!("--out {}: {e}", dir.display())))?;
    tasks.retain(|t| !kept.iter().any(|k| (k.point, k.replicate) == *t));
    say(&format!(
        "stampede sweep {}: {} points × {} replicates{}; {} runs to do on {jobs} threads",
        sweep.name,
        sweep.points.len(),
        sweep.replicates,
        shard.map_or(String::new(), |(k, n)| format!(", shard {k}/{n}")),
        tasks.len()
    ));
    if resume {
        let mut text = format!("  resume: reusing {} kept runs", kept.len());
        if !discarded.is_empty() {
            let reasons: Vec<String> = discarded
                .iter()
                .map(|(why, n)| format!("{n} {why}"))
                .collect();
            text += &format!(
                "; discarded {} kept runs that do not match this sweep, to be run again: {}",
                discarded.values().sum::<usize>(),
                reasons.join("; ")
            );
        }
        say(&text);
    } else if interrupted_runs > 0 {
        say(&format!(
            "  discarded {interrupted_runs} runs of an interrupted sweep in {} (--resume reuses them)",
            partial.display()
        ));
    }
    if !note.is_empty() {
        say(note.trim_start_matches('\n'));
    }
    let command = resume_command(path, &dir, sets, shard);
    let message = {
        let (partial, dir) = (partial.clone(), dir.clone());
        move || {
            let done = report::read_kept_runs(&partial).map_or(0, |r| r.len());
            format!(
                "interrupted: {done} of {total} runs kept in {}/, {}; continue with: {command}",
                partial.display(),
                outdir::untouched(&dir)
            )
        }
    };
    interrupt::set_message(message.clone());
    interrupt::set_graceful(true);
    let started = Instant::now();
    let progress =
        crate::progress::Progress::new(tasks.len() as u64, crate::progress::Unit::Runs, quiet);
    let keep = |run: &SweepRun, done: usize| -> Result<()> {
        report::write_sweep_run(&partial, run)?;
        progress.set(done as u64);
        Ok(())
    };
    let new = sweep.run(&tasks, jobs, &keep)?;
    progress.finish();
    interrupt::set_graceful(false);
    if interrupt::requested() {
        return Err(Error::Interrupted(message()));
    }
    let mut runs = kept;
    runs.extend(new);
    let runs = match shard {
        Some(_) => {
            runs.sort_by_key(|r| (r.point, r.replicate));
            runs
        }
        None => sweep.complete(runs)?,
    };
    for run in &runs {
        report::write_sweep_run(staged.path(), run)?;
    }
    if let Some((k, n)) = shard {
        report::write_atomic_in(
            staged.path(),
            report::SCENARIO_FILE,
            report::resolved_toml(&raw, staged.path()).as_bytes(),
        )?;
        staged.commit()?;
        remove_dir_if_exists(&partial)?;
        say(&format!(
            "  shard {k}/{n} done in {:.2} s: its runs are in {}/runs; combine all shards with `stampede merge`",
            started.elapsed().as_secs_f64(),
            dir.display()
        ));
        return Ok(0);
    }
    let code = finish_sweep(staged, &raw, &sweep, &runs, started)?;
    remove_dir_if_exists(&partial)?;
    Ok(code)
}

/// Removes `dir` and everything in it, if it exists (only for directories
/// stampede wrote: temporaries and partial sweeps checked by the caller).
fn remove_dir_if_exists(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::output(dir, e)),
    }
}

/// The default output directory `results/<base>/`, unless overrides change
/// the scenario: then `results/<base>--<hash of the overrides>/`, so that
/// the results of the file as written (the README's charts, baselines) are
/// never replaced by those of another scenario. Returns the directory and a
/// note saying so (empty when there is nothing to say).
fn output_dir(
    out: Option<PathBuf>,
    path: &Path,
    base: &str,
    sets: &[String],
    raw: &scenario::RawScenario,
) -> (PathBuf, String) {
    if let Some(dir) = out {
        return (dir, String::new());
    }
    let plain = Path::new("results").join(base);
    let same = sets.is_empty()
        || scenario::load(path, &[]).is_ok_and(|(_, file)| {
            report::resolved_toml(&file, &plain) == report::resolved_toml(raw, &plain)
        });
    if same {
        return (plain, String::new());
    }
    let dir = Path::new("results").join(format!(
        "{base}--{:08x}",
        crate::sweep::fnv1a(sets.join("\n").as_bytes()) as u32
    ));
    let note = format!(
        "\n  note: --set/--seed change the scenario, so its results went to {}/, not {}/ \
         (the file as written); give --out DIR to choose",
        dir.display(),
        plain.display()
    );
    (dir, note)
}

/// The command that continues an interrupted sweep, quoted for a POSIX shell.
fn resume_command(
    path: &Path,
    dir: &Path,
    sets: &[String],
    shard: Option<(usize, usize)>,
) -> String {
    let mut args: Vec<String> = vec![
        "stampede".into(),
        "sweep".into(),
        path.display().to_string(),
        "--out".into(),
        dir.display().to_string(),
    ];
    for set in sets {
        args.push("--set".into());
        args.push(set.clone());
    }
    if let Some((k, n)) = shard {
        args.push("--shard".into());
        args.push(format!("{k}/{n}"));
    }
    args.push("--resume".into());
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` as one POSIX shell word.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The most worker threads `--jobs` may ask for: more would only exhaust the
/// system's thread limit.
const MAX_JOBS: usize = 1024;

/// `--jobs`, or every core when not given; zero or more than [`MAX_JOBS`] is bad input.
fn threads(jobs: Option<usize>) -> Result<usize> {
    match jobs {
        Some(0) => Err(Error::BadInput(
            "--jobs 0: give at least one worker thread".into(),
        )),
        Some(n) if n > MAX_JOBS => Err(Error::BadInput(format!(
            "--jobs {n}: at most {MAX_JOBS} worker threads (this machine has {})",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ))),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

fn check(
    paths: &[PathBuf],
    options: &crate::check::Options,
    junit: Option<&Path>,
    how: Report,
) -> Result<i32> {
    if let Some(file) = junit {
        outdir::check_file("--junit", file)?;
    }
    interrupt::set_message(|| "interrupted: no baseline or report written".to_string());
    let started = Instant::now();
    let progress = crate::progress::Progress::new(0, crate::progress::Unit::Runs, how.quiet);
    let report = crate::check::check(paths, options, &progress)?;
    let seconds = started.elapsed().as_secs_f64();
    let width = |f: &dyn Fn(&crate::check::Outcome) -> usize| {
        report.outcomes.iter().map(f).max().unwrap_or(0)
    };
    let (scenario_width, case_width) = (width(&|o| o.scenario.len()), width(&|o| o.case.len()));
    for o in &report.outcomes {
        let line = format!(
            "{} {:<scenario_width$}  {:<case_width$}  {}",
            if o.passed { "pass" } else { "FAIL" },
            o.scenario,
            o.case,
            o.measured,
        );
        say(line.trim_end());
        // One line per metric that moved, below its test.
        for detail in o.detail.lines() {
            say(&format!("      {detail}"));
        }
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
    if report.bless_refused {
        say(
            "stampede check: --bless refused: no baseline written, because the tests above fail; \
             fix the scenario or its [expect], or pass --force to bless failing outputs",
        );
    }
    if let Some(file) = junit {
        report::write_atomic(file, crate::check::junit(&report, seconds).as_bytes())?;
    }
    if how.json {
        let mut json = serde_json::to_value(&report).expect("a report serialises");
        json["passed"] = serde_json::Value::Bool(report.passed() && !report.bless_refused);
        say_json(&json);
    }
    Ok(if report.passed() && !report.bless_refused {
        0
    } else {
        1
    })
}

fn plan(
    subject: &crate::plan::Subject,
    request: &crate::plan::Request,
    out: Option<PathBuf>,
    path: &Path,
    sets: &[String],
    how: Report,
) -> Result<i32> {
    use crate::report::sweep::significant;
    let (dir, note) = output_dir(
        out,
        path,
        &format!("{}-plan", subject.name),
        sets,
        &subject.raw,
    );
    let staged = stage_out(&dir)?;
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
        "stampede plan {}: {goal} {} in {}..{} meeting {} ({} runs per value, decided on the {})",
        subject.name,
        request.vary,
        value(request.low),
        value(request.high),
        conditions.join(" and "),
        request.replicates,
        match request.decide_on {
            crate::plan::DecideOn::Mean => "mean",
            crate::plan::DecideOn::Bound => "95 % interval's bound",
        }
    ));
    let started = Instant::now();
    let progress = crate::progress::Progress::new(0, crate::progress::Unit::Runs, how.quiet);
    let outcome = crate::plan::plan(subject, request, &progress);
    progress.finish();
    let outcome = outcome?;
    let stat = |s: &crate::stats::Stat| {
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
    let written = crate::plan::write(staged.path(), subject, request, &outcome)?;
    staged.commit()?;
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
            let neighbour =
                crate::plan::failing_neighbour(&outcome.evaluations, answer, request.largest);
            if let Some(v) = neighbour {
                text += &format!("\n  {} = {} fails", request.vary, value(v));
            }
            if !outcome.undecided.is_empty() {
                let values: Vec<String> = outcome.undecided.iter().map(|v| value(*v)).collect();
                text += &format!(
                    "\n  undecided: the 95 % intervals at {} = {} straddle the threshold, so the \
                     answer may move with other seeds; more --replicates narrow the intervals, \
                     --decide-on bound gives the cautious answer",
                    request.vary,
                    values.join(" and ")
                );
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
        "  {:.1} s; wrote {}/ ({}){note}",
        started.elapsed().as_secs_f64(),
        dir.display(),
        names.join(", ")
    ));
    if how.json {
        say_json(&plan_json(request, &outcome));
    }
    Ok(code)
}

/// The `--json` result of `plan`.
fn plan_json(request: &crate::plan::Request, outcome: &crate::plan::Outcome) -> serde_json::Value {
    let evaluations: Vec<serde_json::Value> = outcome
        .evaluations
        .iter()
        .map(|ev| {
            let metrics: Vec<serde_json::Value> = outcome
                .expectations
                .iter()
                .zip(&ev.stats)
                .map(|(e, s)| {
                    serde_json::json!({
                        "expectation": e.to_string(),
                        "metric": e.metric,
                        "mean": s.mean,
                        "ci95_low": s.low,
                        "ci95_high": s.high,
                    })
                })
                .collect();
            serde_json::json!({
                "value": ev.value,
                "passed": ev.passed,
                "decided": ev.decided,
                "metrics": metrics,
            })
        })
        .collect();
    serde_json::json!({
        "vary": request.vary,
        "goal": if request.largest { "largest" } else { "smallest" },
        "range": [request.low, request.high],
        "replicates": request.replicates,
        "decide_on": request.decide_on,
        "expectations": outcome.expectations.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        "answer": outcome.answer,
        "undecided": !outcome.undecided.is_empty(),
        "undecided_values": outcome.undecided,
        "non_monotone": outcome.non_monotone,
        "evaluations": evaluations,
    })
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
    let (_, raw) = scenario::load(&first, &[])?;
    let sweep = crate::sweep::load(&first, &[])?;
    let dir = out.unwrap_or_else(|| Path::new("results").join(format!("{}-sweep", sweep.name)));
    let staged = stage_out(&dir)?;
    let mut runs = Vec::new();
    for shard in dirs {
        let other = std::fs::read_to_string(shard.join(report::SCENARIO_FILE)).unwrap_or_default();
        if other != text {
            return Err(Error::BadInput(format!(
                "{} holds a different scenario than {}: shards of one sweep must come from the same file and --set flags",
                shard.display(),
                dirs[0].display()
            )));
        }
        // Every run must be bound to its point's resolved scenario and seed.
        for (file, run) in report::read_kept_runs(shard)? {
            let run = run.map_err(|why| {
                Error::BadInput(format!("{}: {why}; run that shard again", file.display()))
            })?;
            if let Some(why) = sweep.mismatch(&run) {
                return Err(Error::BadInput(format!(
                    "{}: the run of point {} replicate {} does not belong to the sweep of {}: {why}; \
                     run that shard again with the same file and --set flags",
                    file.display(),
                    run.point,
                    run.replicate,
                    first.display()
                )));
            }
            runs.push(run);
        }
    }
    let runs = sweep.complete(runs)?;
    for run in &runs {
        report::write_sweep_run(staged.path(), run)?;
    }
    finish_sweep(staged, &raw, &sweep, &runs, Instant::now())
}

/// Writes the final files of a complete sweep into `staged` and swaps it into place.
fn finish_sweep(
    staged: outdir::Staged,
    raw: &scenario::RawScenario,
    sweep: &crate::sweep::Sweep,
    runs: &[crate::sweep::SweepRun],
    started: Instant,
) -> Result<i32> {
    let written = report::write_sweep(staged.path(), raw, sweep, runs)?;
    let dir = staged.commit()?;
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
    let stopped: Vec<String> = runs
        .iter()
        .filter(|r| r.summary.stopped.is_some())
        .map(|r| format!("point {} replicate {}", r.point, r.replicate))
        .collect();
    if !stopped.is_empty() {
        say(&format!(
            "  NOT NORMAL RESULTS: {} runs were stopped as overloaded ({}); their rows cover \
             each run only until it stopped (runs/*.json say `stopped`)",
            stopped.len(),
            stopped.join(", ")
        ));
        return Ok(1);
    }
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
        let shard_rows = if dir.join(report::SHARDS_FILE).exists() {
            report::read_csv(dir, report::SHARDS_FILE)?
        } else {
            Vec::new()
        };
        report::plot::run_charts(
            dir,
            &scenario,
            &rows,
            &class_rows,
            &shard_rows,
            options.format,
        )?
    };
    outdir::record(dir, &written)?;
    for path in written {
        say(&format!("wrote {}", path.display()));
    }
    Ok(0)
}

fn fit(scenario: &Path, out: Option<PathBuf>, sets: &[String], json: bool) -> Result<i32> {
    let (replayed, raw) = crate::fit::load(scenario, sets)?;
    let dir = out.unwrap_or_else(|| Path::new("results").join(format!("{}-fit", raw.name)));
    let staged = stage_out(&dir)?;
    say(&format!(
        "stampede fit {}: reading the trace, then replaying it beside the fitted scenario",
        raw.name
    ));
    let outcome = crate::fit::fit(&replayed, &raw)?;
    let files = [
        (report::SCENARIO_FILE, outcome.scenario_toml(&dir)),
        (
            "fit.json",
            serde_json::to_string_pretty(&outcome.json(&dir)).expect("JSON values serialise")
                + "\n",
        ),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = staged.path().join(name);
        std::fs::write(&path, text).map_err(|e| Error::output(&path, e))?;
        written.push(path);
    }
    let chart = staged.path().join("fit.png");
    report::plot::draw(&chart, &crate::fit::FitChart::of(&outcome))?;
    written.push(chart);
    outdir::record(staged.path(), &written)?;
    staged.commit()?;
    say(&fit_text(&outcome, &dir));
    if json {
        say_json(&outcome.json(&dir));
    }
    Ok(0)
}

/// What `stampede fit` prints: each fitted law, the prediction, what is missing.
fn fit_text(o: &crate::fit::Outcome, dir: &Path) -> String {
    use crate::report::plot::thousands;
    let f = &o.fit;
    let p = &o.profile;
    let mut text = format!(
        "  trace       {} reads of {} keys over {:.1} s ({} writes, {} deletes)\n",
        thousands(p.reads as f64),
        thousands(f.keys as f64),
        p.span_ns as f64 / 1e9,
        thousands(p.writes as f64),
        thousands(p.deletes as f64)
    );
    text += &format!(
        "  popularity  Zipf exponent {:.4} (KS distance {:.3})\n",
        f.zipf, f.zipf_distance
    );
    text += &format!("  arrivals    Poisson at {:.4} reads/s", f.rate_per_s);
    if let Some(d) = f.dispersion {
        text += &format!(" (dispersion over 1 s windows {d:.2}; Poisson gives 1)");
    }
    text += &format!("\n  churn       {:.4} keys/s\n", f.churn_per_s);
    if let Some(s) = f.sizes {
        text += &format!(
            "  sizes       lognormal, median {} bytes, sigma {:.3}\n",
            thousands(s.median),
            s.sigma
        );
    }
    for c in &f.classes {
        text += &format!(
            "  class       {} ({:.1} % of keys)\n",
            c.ttl.name(),
            c.share * 100.0
        );
    }
    text += &format!(
        "  prediction  hit ratio {:.4} replayed, {:.4} fitted ({:+.2} points); byte hit ratio {:.4} and {:.4}\n",
        o.hit_ratio.0,
        o.hit_ratio.1,
        o.error_points(),
        o.byte_hit_ratio.0,
        o.byte_hit_ratio.1
    );
    if !f.not_captured.is_empty() {
        text += "  not captured:\n";
        for m in &f.not_captured {
            text += &format!("    - {m}\n");
        }
    }
    text + &format!(
        "  wrote {}/ (scenario.toml, fit.json, fit.png)",
        dir.display()
    )
}

fn compare(dirs: &[PathBuf], out: Option<PathBuf>) -> Result<i32> {
    let comparison = crate::compare::load(dirs)?;
    let dir =
        out.unwrap_or_else(|| Path::new("results").join(format!("{}-compare", comparison.name)));
    // The output replaces DIR whole: it must not be one of the runs read.
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if let Some(run) = dirs.iter().find(|d| same(d, &dir)) {
        return Err(Error::BadInput(format!(
            "--out {}: is one of the runs compared ({}); give another directory",
            dir.display(),
            run.display()
        )));
    }
    let staged = stage_out(&dir)?;
    let written = crate::compare::write(staged.path(), &comparison)?;
    staged.commit()?;
    let mut text = format!(
        "stampede compare {}: {} runs",
        comparison.name,
        comparison.runs.len()
    );
    for run in &comparison.runs {
        text += &format!(
            "
  {}: {}",
            run.dir.display(),
            run.label
        );
    }
    let names: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    text += &format!(
        "
  wrote {}/ ({})",
        dir.display(),
        names.join(", ")
    );
    say(&text);
    Ok(0)
}

/// Prepares `--out` DIR to be replaced whole, and tells Ctrl-C that nothing
/// has been written and DIR is as it was.
fn stage_out(dir: &Path) -> Result<outdir::Staged> {
    let staged = outdir::prepare("--out", dir)?;
    let unchanged = dir.to_path_buf();
    interrupt::set_message(move || {
        format!(
            "interrupted: nothing written, {}",
            outdir::untouched(&unchanged)
        )
    });
    Ok(staged)
}
