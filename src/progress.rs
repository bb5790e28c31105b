//! Progress of long commands on stderr, one facility for all of them.
//!
//! On a terminal: an indicatif bar with elapsed time and ETA. Elsewhere (a CI
//! log, a batch job's output file): a plain line each time another 5 % is
//! done, and at the end. `--quiet` silences both. Progress counts runs
//! (`sweep`, `check`, `plan`) or simulated time (`run`, which also shows
//! how many requests a second of wall time it simulates).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// What a progress counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Whole simulation runs.
    Runs,
    /// Simulated time, counted in milliseconds and shown in seconds.
    SimulatedMs,
}

impl Unit {
    /// The progress in words; `requests_per_s`: the simulation's speed, if known.
    fn show(self, done: u64, total: u64, requests_per_s: Option<f64>) -> String {
        match self {
            Unit::Runs => format!("{done}/{total} runs done"),
            Unit::SimulatedMs => format!(
                "{:.1} of {:.1} s simulated{}",
                done as f64 / 1e3,
                total as f64 / 1e3,
                requests_per_s.map_or(String::new(), |r| format!(", {:.2} M requests/s", r / 1e6))
            ),
        }
    }
}

/// A progress report on stderr; `Sync`, so worker threads may advance it.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    unit: Unit,
    quiet: bool,
    total: AtomicU64,
    done: AtomicU64,
    /// Requests simulated so far (`run`), for its speed.
    requests: AtomicU64,
    /// The last 5 % step printed as a plain line.
    printed: Mutex<u64>,
    started: Instant,
}

impl Progress {
    /// A progress of `total` units; silent when `quiet`.
    pub fn new(total: u64, unit: Unit, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let template = match unit {
                Unit::Runs => "  [{elapsed_precise}] {wide_bar} {pos}/{len} runs, ETA {eta}",
                Unit::SimulatedMs => "  [{elapsed_precise}] {wide_bar} {msg}, ETA {eta}",
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(template).expect("a valid template"),
            );
            bar
        });
        Progress {
            bar,
            unit,
            quiet,
            total: AtomicU64::new(total),
            done: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            printed: Mutex::new(0),
            started: Instant::now(),
        }
    }

    /// More work than first thought (a plan's bisection): `more` units added to the total.
    pub fn add_total(&self, more: u64) {
        let total = self.total.fetch_add(more, Ordering::Relaxed) + more;
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// One more unit done (from any thread).
    pub fn inc(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.show(done);
    }

    /// `done` units done in all (never moves backwards).
    pub fn set(&self, done: u64) {
        let done = self.done.fetch_max(done, Ordering::Relaxed).max(done);
        self.show(done);
    }

    /// A run reached `done_ms` simulated milliseconds after simulating `requests` requests.
    pub fn set_simulated(&self, done_ms: u64, requests: u64) {
        self.requests.fetch_max(requests, Ordering::Relaxed);
        self.set(done_ms);
    }

    /// Requests simulated per second of wall time so far, once any were.
    fn requests_per_s(&self) -> Option<f64> {
        let requests = self.requests.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed().as_secs_f64();
        (requests > 0 && elapsed > 0.0).then(|| requests as f64 / elapsed)
    }

    fn show(&self, done: u64) {
        if self.quiet {
            return;
        }
        let total = self.total.load(Ordering::Relaxed).max(1);
        let done = done.min(total);
        if let Some(bar) = &self.bar {
            if self.unit == Unit::SimulatedMs {
                bar.set_message(self.unit.show(done, total, self.requests_per_s()));
            }
            bar.set_position(done);
            return;
        }
        // A line each time another 5 % is done, and at the end.
        let step = done * 20 / total;
        let mut printed = self.printed.lock().expect("no thread panics holding it");
        if step <= *printed {
            return;
        }
        *printed = step;
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = elapsed / done.max(1) as f64 * (total - done) as f64;
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "  {}, {elapsed:.1} s elapsed, about {eta:.0} s left",
            self.unit.show(done, total, self.requests_per_s())
        );
    }

    /// Clears the bar (plain lines stay in the log).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
