//! Parameter sweeps: every point of a `[sweep]` grid × replicates, in parallel.
//!
//! A point is a set of `--set`-style overrides, validated like the file
//! before anything runs. Results are collected in grid order whatever the
//! thread count, and seeds come from indices, never from threads, so
//! `--jobs 1` and `--jobs 8` write the same bytes. By default replicate r of
//! every point uses seed `seed + r` (common random numbers: all points see the
//! same arrivals and keys); `independent = true` gives each point its own.

use std::path::Path;

use crate::error::{Error, Result};
use crate::metrics::RunSummary;
use crate::scenario::{self, Arrival, RawScenario, Scenario};
/// Re-exported from [`crate::stats`], where every statistic lives.
pub use crate::stats::{mean_ci95, t975};

/// One point of the grid: its overrides, in column order.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// (dotted path, value) pairs.
    pub params: Vec<(String, toml::Value)>,
}

/// The expanded sweep of a scenario file.
#[derive(Debug)]
pub struct Sweep {
    /// The scenario name.
    pub name: String,
    /// Base seed of the scenario.
    pub seed: u64,
    /// Runs per point.
    pub replicates: u32,
    /// Independent seeds per point (else common random numbers).
    pub independent: bool,
    /// Swept parameter paths, in column order.
    pub paths: Vec<String>,
    /// The points, each validated into a scenario.
    pub points: Vec<(Point, Scenario)>,
    /// Each point's [`fingerprint`]: binds a kept run to the exact scenario it simulated.
    pub fingerprints: Vec<String>,
}

/// One run of a sweep: its point, replicate, seed and summary.
///
/// Each finished run is also kept on disk (`runs/`), so an interrupted sweep
/// can resume and shards can be merged.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SweepRun {
    /// Index of the point.
    pub point: usize,
    /// Replicate number, from 0.
    pub replicate: u32,
    /// The seed it ran with.
    pub seed: u64,
    /// The [`fingerprint`] of the resolved scenario it simulated (empty in
    /// runs kept by versions before the fingerprint existed: never reused).
    #[serde(default)]
    pub fingerprint: String,
    /// What it measured.
    pub summary: RunSummary,
}

/// Reads `path`, applies `sets`, and expands its `[sweep]` into validated points.
pub fn load(path: &Path, sets: &[String]) -> Result<Sweep> {
    let (base, raw) = scenario::load(path, sets)?;
    expand(path, &raw, base.seed, sets)
}

fn expand(path: &Path, raw: &RawScenario, seed: u64, sets: &[String]) -> Result<Sweep> {
    let file = path.display();
    let sweep = raw.sweep.as_ref().ok_or_else(|| {
        Error::BadInput(format!(
            "{file}: no [sweep] table; add one, e.g. [sweep.grid] \"strategy.kind\" = [\"none\", \"lock\"]"
        ))
    })?;
    if sweep.replicates == 0 || sweep.replicates > 1000 {
        return Err(Error::BadInput(format!(
            "{file}: `sweep.replicates` is {}; it must be between 1 and 1000",
            sweep.replicates
        )));
    }
    let no_grid = std::collections::BTreeMap::new();
    let grid = sweep.grid.as_ref().unwrap_or(&no_grid);
    // An override of a swept key would be replaced at every point: refuse it.
    for set in sets {
        let key = set.split_once('=').map_or(set.as_str(), |(k, _)| k).trim();
        if let Some(values) = grid.get(key).or_else(|| sweep.paired.get(key)) {
            let values: Vec<String> = values.iter().map(value_text).collect();
            return Err(Error::BadInput(format!(
                "--set {set}: `{key}` is swept by the [sweep] table of {file} (values {}), so the override would be ignored at every point; remove --set {key}=... or change the grid",
                values.join(", ")
            )));
        }
    }
    if sweep.grid.is_some() && grid.is_empty() && sweep.paired.is_empty() {
        return Err(Error::BadInput(format!(
            "{file}: `sweep.grid` is empty; give at least one dotted path with a list of values \
             (or leave [sweep.grid] out to run the file as written `replicates` times)"
        )));
    }
    for (key, values) in grid.iter().chain(&sweep.paired) {
        if values.is_empty() {
            return Err(Error::BadInput(format!(
                "{file}: `sweep` list for \"{key}\" is empty; give at least one value"
            )));
        }
        if key.starts_with("sweep") {
            return Err(Error::BadInput(format!(
                "{file}: a sweep cannot vary `{key}`"
            )));
        }
    }
    let paired_len = sweep.paired.values().map(Vec::len).max().unwrap_or(0);
    if let Some((key, values)) = sweep.paired.iter().find(|(_, v)| v.len() != paired_len) {
        return Err(Error::BadInput(format!(
            "{file}: `sweep.paired` lists move together and must have the same length; \"{key}\" has {} values, another has {paired_len}",
            values.len()
        )));
    }
    // Dimensions: each grid path, then the paired lists as one dimension.
    let mut dims: Vec<Vec<Vec<(String, toml::Value)>>> = grid
        .iter()
        .map(|(k, vs)| vs.iter().map(|v| vec![(k.clone(), v.clone())]).collect())
        .collect();
    if paired_len > 0 {
        dims.push(
            (0..paired_len)
                .map(|i| {
                    sweep
                        .paired
                        .iter()
                        .map(|(k, vs)| (k.clone(), vs[i].clone()))
                        .collect()
                })
                .collect(),
        );
    }
    let mut combos: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for dim in &dims {
        combos = combos
            .iter()
            .flat_map(|prefix| {
                dim.iter().map(move |choice| {
                    let mut c = prefix.clone();
                    c.extend(choice.iter().cloned());
                    c
                })
            })
            .collect();
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::BadInput(format!("cannot read {file}: {e}")))?;
    let mut points = Vec::with_capacity(combos.len());
    let mut fingerprints = Vec::with_capacity(combos.len());
    for (i, params) in combos.into_iter().enumerate() {
        let mut point_sets = sets.to_vec();
        point_sets.extend(params.iter().map(|(k, v)| format!("{k}={}", value_text(v))));
        let (scenario, point_raw) = scenario::from_text(&text, path, &point_sets).map_err(|e| {
            Error::BadInput(format!("sweep point {i} ({}): {e}", describe(&params)))
        })?;
        fingerprints.push(fingerprint(&point_raw, &scenario));
        points.push((Point { params }, scenario));
    }
    let paths = points
        .first()
        .map(|(p, _)| p.params.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    Ok(Sweep {
        name: raw.name.clone(),
        seed,
        replicates: sweep.replicates,
        independent: sweep.independent,
        paths,
        points,
        fingerprints,
    })
}

/// A stable fingerprint of the scenario a run simulates: FNV-1a (64 bits,
/// hex) of its resolved TOML and a replayed trace's content digest, without
/// `[sweep]` and `[expect]` (which do not change what one run computes). Two
/// runs with equal fingerprints and seeds simulated the same thing; a kept
/// run is reused only then.
pub fn fingerprint(raw: &RawScenario, scenario: &Scenario) -> String {
    let mut raw = raw.clone();
    raw.sweep = None;
    raw.expect.clear();
    let mut text = toml::to_string(&raw).expect("a raw scenario always serialises");
    // A replayed trace counts by its content, not only by its name.
    if let Arrival::Trace(replay) = &scenario.clients.arrival {
        text += &format!("# trace {:016x}\n", replay.index.digest);
    }
    format!("{:016x}", fnv1a(text.as_bytes()))
}

/// FNV-1a, 64 bits, of `bytes` (see [`crate::trace::fnv1a`]).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    crate::trace::fnv1a(crate::trace::FNV_OFFSET, bytes)
}

/// Why a kept run cannot stand for a run of this sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mismatch {
    /// Its point or replicate index is outside this sweep's grid.
    OutsideGrid,
    /// It simulated another scenario (the file, the grid or `--set` changed).
    OtherScenario,
    /// Its seed is not the seed of its point and replicate here.
    OtherSeed,
    /// It carries no fingerprint (kept by an older stampede): its scenario is unknown.
    NoFingerprint,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mismatch::OutsideGrid => "point or replicate outside this grid",
            Mismatch::OtherScenario => {
                "made from another scenario (the file, the grid, --set or the replayed trace changed)"
            }
            Mismatch::OtherSeed => "made with another seed",
            Mismatch::NoFingerprint => "kept without a scenario fingerprint (older stampede)",
        })
    }
}

/// A value as `--set` and CSV cells write it: strings bare, everything else as TOML.
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn describe(params: &[(String, toml::Value)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", value_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Sweep {
    /// A scenario without `[sweep]` as a sweep of one point and one run.
    pub fn single(scenario: Scenario, raw: &RawScenario) -> Sweep {
        let fingerprints = vec![fingerprint(raw, &scenario)];
        Sweep {
            name: scenario.name.clone(),
            seed: scenario.seed,
            replicates: 1,
            independent: false,
            paths: Vec::new(),
            points: vec![(Point { params: Vec::new() }, scenario)],
            fingerprints,
        }
    }

    /// Why `run` does not belong to this sweep, or `None` if it does: same
    /// point and replicate in the grid, same resolved scenario, same seed.
    pub fn mismatch(&self, run: &SweepRun) -> Option<Mismatch> {
        if run.point >= self.points.len() || run.replicate >= self.replicates {
            Some(Mismatch::OutsideGrid)
        } else if run.fingerprint.is_empty() {
            Some(Mismatch::NoFingerprint)
        } else if run.fingerprint != self.fingerprints[run.point] {
            Some(Mismatch::OtherScenario)
        } else if run.seed != self.seed_of(run.point, run.replicate) {
            Some(Mismatch::OtherSeed)
        } else {
            None
        }
    }

    /// The seed of replicate `replicate` of point `point`.
    pub fn seed_of(&self, point: usize, replicate: u32) -> u64 {
        if self.independent {
            splitmix(self.seed ^ splitmix(point as u64 + 1) ^ (replicate as u64))
        } else {
            self.seed.wrapping_add(replicate as u64)
        }
    }

    /// Every (point, replicate) of the sweep, in grid order.
    pub fn tasks(&self) -> Vec<(usize, u32)> {
        (0..self.points.len())
            .flat_map(|p| (0..self.replicates).map(move |r| (p, r)))
            .collect()
    }

    /// The tasks of shard `k` of `n` (1-based): every n-th task, a deterministic share.
    pub fn shard_tasks(&self, k: usize, n: usize) -> Vec<(usize, u32)> {
        self.tasks()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, t)| t)
            .collect()
    }

    /// Runs `tasks` on a pool of `jobs` threads; results in task order.
    ///
    /// `done` is called from the worker threads with each finished run (to
    /// keep it on disk) and the number finished so far. After Ctrl-C
    /// ([`crate::interrupt::requested`]) no new run starts: the runs in
    /// progress finish and are returned, the others are left out.
    pub fn run(
        &self,
        tasks: &[(usize, u32)],
        jobs: usize,
        done: &(dyn Fn(&SweepRun, usize) -> Result<()> + Sync),
    ) -> Result<Vec<SweepRun>> {
        let finished = std::sync::atomic::AtomicUsize::new(0);
        let jobs_list: Vec<(&Scenario, u64)> = tasks
            .iter()
            .map(|&(point, replicate)| (&self.points[point].1, self.seed_of(point, replicate)))
            .collect();
        let runs = crate::runner::run_all(jobs, &jobs_list, &|i, output| {
            let (point, replicate) = tasks[i];
            let run = SweepRun {
                point,
                replicate,
                seed: jobs_list[i].1,
                fingerprint: self.fingerprints[point].clone(),
                summary: output.summary,
            };
            done(
                &run,
                finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
            )?;
            Ok(run)
        })?;
        Ok(runs.into_iter().flatten().collect())
    }

    /// Checks that `runs` are exactly this sweep's tasks, each made from its
    /// point's resolved scenario with its seed, and sorts them.
    pub fn complete(&self, mut runs: Vec<SweepRun>) -> Result<Vec<SweepRun>> {
        if let Some((r, why)) = runs
            .iter()
            .find_map(|r| self.mismatch(r).map(|why| (r, why)))
        {
            return Err(Error::BadInput(format!(
                "the run of point {} replicate {} does not belong to this sweep: {why}",
                r.point, r.replicate
            )));
        }
        runs.sort_by_key(|r| (r.point, r.replicate));
        runs.dedup_by_key(|r| (r.point, r.replicate));
        let expected = self.tasks();
        let missing: Vec<String> = expected
            .iter()
            .filter(|t| !runs.iter().any(|r| (r.point, r.replicate) == **t))
            .map(|(p, r)| format!("point {p} replicate {r}"))
            .collect();
        if !missing.is_empty() {
            return Err(Error::BadInput(format!(
                "the sweep is incomplete: {} of {} runs missing (first: {}); run the missing shards or `stampede sweep --resume`",
                missing.len(),
                expected.len(),
                missing[0]
            )));
        }
        Ok(runs)
    }
}

/// SplitMix64: a seed mixer, so neighbouring indices give unrelated seeds.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
