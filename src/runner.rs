//! The one place simulations run: one run, or many on a pool of threads.
//!
//! `run`, `sweep`, `check` and `plan` all go through here, so the engine's
//! entry point is called in one place, results come back in task order
//! whatever the thread count (seeds come from the tasks, never from
//! threads), and Ctrl-C is honoured between runs the same way everywhere.

use rayon::prelude::*;

use crate::engine::{self, RunOutput};
use crate::error::{Error, Result};
use crate::scenario::Scenario;

/// Runs `scenario` with every random stream seeded from `seed`.
///
/// Says on stderr, while it runs, that a run is overloaded; a run whose
/// simulated time stopped advancing is bad input. A run stopped as overloaded
/// comes back with its outputs marked (`summary.stopped`).
pub fn run_one(scenario: &Scenario, seed: u64) -> Result<RunOutput> {
    run_one_watched(scenario, seed, &|_| {})
}

/// [`run_one`], calling `progress` now and then with how far the run has got.
pub fn run_one_watched(
    scenario: &Scenario,
    seed: u64,
    progress: &dyn Fn(engine::Reached),
) -> Result<RunOutput> {
    let output = engine::run_watched(
        scenario,
        seed,
        &|notice| eprintln!("warning: {} (seed {seed}): {notice}", scenario.name),
        progress,
    );
    match &output.stop {
        Some(stop) if stop.is_bad_input() => Err(Error::BadInput(format!(
            "scenario {} (seed {seed}): {stop}",
            scenario.name
        ))),
        _ => Ok(output),
    }
}

/// Runs every `(scenario, seed)` of `tasks` on a pool of `jobs` threads.
///
/// Each output goes to `keep` on the worker thread that made it, with the
/// task's index (to keep it on disk, or reduce it to what the caller
/// needs); what `keep` returns comes back in task order. After Ctrl-C
/// ([`crate::interrupt::requested`]) no new run starts: the tasks not
/// started are `None`. The first error stops the pool and is returned.
pub fn run_all<T: Send>(
    jobs: usize,
    tasks: &[(&Scenario, u64)],
    keep: &(dyn Fn(usize, RunOutput) -> Result<T> + Sync),
) -> Result<Vec<Option<T>>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| Error::BadInput(format!("--jobs {jobs}: cannot start threads: {e}")))?;
    pool.install(|| {
        tasks
            .par_iter()
            .enumerate()
            .map(|(i, &(scenario, seed))| {
                if crate::interrupt::requested() {
                    return Ok(None);
                }
                keep(i, run_one(scenario, seed)?).map(Some)
            })
            .collect()
    })
}

/// The outputs of [`run_all`], all present, or the interruption that left some out.
pub fn all<T>(outputs: Vec<Option<T>>) -> Result<Vec<T>> {
    outputs
        .into_iter()
        .map(|o| o.ok_or_else(|| Error::Interrupted("interrupted".into())))
        .collect()
}
