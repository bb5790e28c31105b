//! Output files of a run (SPEC §3): summary, time series, charts, resolved scenario.
//!
//! Every file is written under a temporary name and renamed into place, so an
//! interrupted run never leaves a half-written file that looks complete.

pub mod html;
pub mod plot;
pub mod sweep;

pub use sweep::{read_kept_runs, write_sweep, write_sweep_run};

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
/// Per-shard time series file name (runs with a cache server model).
pub const SHARDS_FILE: &str = "shards.csv";
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
pub(crate) struct OutputDir<'a> {
    dir: &'a Path,
    pub(crate) written: Vec<PathBuf>,
}

impl<'a> OutputDir<'a> {
    pub(crate) fn create(dir: &'a Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
        Ok(OutputDir {
            dir,
            written: Vec::new(),
        })
    }

    pub(crate) fn put(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
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
    if !output.shard_rows.is_empty() {
        put(SHARDS_FILE, to_csv(&output.shard_rows))?;
    }
    let mut resolved = resolved_toml(raw, dir);
    for o in &scenario.overrides {
        resolved.insert_str(
            resolved.find('\n').map_or(0, |i| i + 1),
            &format!("{}{o}\n", crate::scenario::OVERRIDE_COMMENT),
        );
    }
    put(SCENARIO_FILE, resolved.into_bytes())?;
    let mut written = files.written;
    written.extend(plot::run_charts(
        dir,
        scenario,
        &output.timeseries,
        &output.class_rows,
        &output.shard_rows,
        plot::Format::Png,
    )?);
    let charts = html::svg_charts(|scratch| {
        let (rows, classes, shards) = (&output.timeseries, &output.class_rows, &output.shard_rows);
        plot::run_charts(scratch, scenario, rows, classes, shards, plot::Format::Svg)
    })?;
    let page = html::run_page(scenario, &resolved_toml(raw, dir), &output.summary, &charts);
    let path = dir.join(html::HTML_FILE);
    write_atomic(&path, page.as_bytes())?;
    written.push(path);
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
    csv_bytes(writer)
}

/// The bytes of a CSV writer that wrote to memory.
pub fn csv_bytes(writer: csv::Writer<Vec<u8>>) -> Vec<u8> {
    writer.into_inner().expect("flushing to memory cannot fail")
}

/// The header row of a CSV file being read, as owned strings.
pub fn csv_header<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
) -> std::result::Result<Vec<String>, csv::Error> {
    Ok(reader.headers()?.iter().map(String::from).collect())
}

/// The resolved scenario (defaults and overrides applied) as TOML, to be
/// written into directory `dir`: a trace is named relative to `dir`, so the
/// file replays the same trace from there (and reads the same on every
/// machine with the same layout).
pub fn resolved_toml(raw: &RawScenario, dir: &Path) -> String {
    let mut raw = std::borrow::Cow::Borrowed(raw);
    if let Some(trace) = &raw.clients.trace {
        let path = crate::scenario::trace::relative(dir, Path::new(&trace.path));
        if let Some(trace) = &mut raw.to_mut().clients.trace {
            trace.path = path.display().to_string();
        }
    }
    format!(
        "# Resolved scenario: every default and --set override applied.\n{}",
        toml::to_string_pretty(&*raw).expect("a raw scenario always serialises")
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

/// `x` with the 3 significant digits a latency quantile has (`0.500`, `12.3`, `3020`).
fn three_digits(x: f64) -> String {
    let decimals = if x == 0.0 {
        0
    } else {
        (2 - x.abs().log10().floor() as i32).max(0) as usize
    };
    format!("{x:.decimals$}")
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
         \x20 latency    mean {mean:.2} ms   p50 {p50}   p99 {p99}   p99.9 {p999}   max {max:.2}\n\
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
        p50 = three_digits(s.latency_ms.p50),
        p99 = three_digits(s.latency_ms.p99),
        p999 = three_digits(s.latency_ms.p999),
        max = s.latency_ms.max,
        q = s.db_queries,
        dup = s.duplicate_queries,
        qps = s.db_queries_per_s_peak,
        inf = s.db_inflight_peak,
        queue = s.db_queue_peak,
        util = s.db_utilization * 100.0,
        pto = s.pool_timeouts,
    );
    let server_line = match (s.cache_utilization, s.cache_queue_peak, &s.shards) {
        (Some(util), Some(queue), Some(shards)) => {
            let busiest = shards
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.utilization.total_cmp(&b.1.utilization))
                .map_or(String::new(), |(i, x)| {
                    if shards.len() > 1 {
                        format!(" (shard {i}, slots {})", x.slots)
                    } else {
                        String::new()
                    }
                });
            format!(
                "\n  server     busiest node {:.1}% busy{busiest}   peak command queue {queue}   {} shard{}{}",
                util * 100.0,
                shards.len(),
                if shards.len() == 1 { "" } else { "s" },
                if s.local_hits > 0 {
                    format!("   local hits {}", s.local_hits)
                } else {
                    String::new()
                }
            )
        }
        _ if s.local_hits > 0 => format!("\n  app        local hits {}", s.local_hits),
        _ => String::new(),
    };
    let trace_line = if s.writes + s.deletes > 0 {
        format!(
            "\n  trace      {} writes   {} deletes   (stored or removed without a query)",
            s.writes, s.deletes
        )
    } else {
        String::new()
    };
    text + &strategy_line + &server_line + &trace_line
}

/// Writes `bytes` as `dir/name` atomically, creating `dir`.
pub fn write_atomic_in(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    write_atomic(&dir.join(name), bytes)
}
