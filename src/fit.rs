//! `stampede fit`: a synthetic workload fitted to a scenario's trace.
//!
//! One streaming pass over the trace ([`Profile::read`]) gathers per-key read
//! counts, sizes and TTLs, reads per second, per-quarter counts and
//! inter-arrival gaps; [`stats`] turns them into stampede's synthetic clients
//! (keys, Zipf exponent, Poisson rate, churn, lognormal sizes, TTL classes).
//! The fitted scenario is then run beside the replay under the same cache, so
//! the fit's prediction error is measured, not assumed, and what the fit could
//! not capture is said in words.

mod chart;
pub mod stats;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::scenario::raw::{RawClass, RawScenario};
use crate::scenario::{self, Arrival, Scenario};
use crate::time::{SimDuration, format_duration};
use crate::trace::{self, Op, Replay, TraceError};
use stats::{Lognormal, Quarter};

pub use chart::FitChart;

/// `last_ttl` of a key the trace never writes: it fills with `cache.ttl`.
const NOT_WRITTEN: u64 = u64::MAX;
/// `last_ttl` of a key last written without a TTL.
const NO_TTL: u64 = u64::MAX - 1;
/// Inter-arrival histogram bins per decade of nanoseconds.
const GAP_BINS_PER_DECADE: usize = 10;
/// Decades of the inter-arrival histogram: 1 ns to 10^14 ns (about a day).
const GAP_DECADES: usize = 14;
/// Most TTL classes a fit makes; rarer TTLs join the most common class.
const MAX_CLASSES: usize = 8;
/// A Zipf fit farther than this (KS distance on ranks) is "not Zipf-like".
const ZIPF_DISTANCE_LIMIT: f64 = 0.05;

/// What one pass over a trace found, per key and over time. Memory: about
/// 32 bytes per distinct key and 8 per second of trace, none per record.
pub struct Profile {
    /// Reads of each key (dense id).
    pub reads_per_key: Vec<u32>,
    /// Each key's size at its first sized read (0: the trace gives none).
    pub size_of: Vec<u32>,
    /// Each key's last written TTL (ns), [`NO_TTL`] or [`NOT_WRITTEN`].
    last_ttl: Vec<u64>,
    /// Reads in each second of simulated time.
    pub per_second: Vec<u64>,
    /// Reads per key in each quarter of the reads.
    pub quarters: [Quarter; 4],
    /// Inter-arrival gaps of reads, by tenth of a decade of nanoseconds (bin
    /// `b` holds gaps in [10^(b/10), 10^((b+1)/10)) ns); `zero_gaps` the rest.
    pub gaps: Vec<u64>,
    /// Reads that came at the same nanosecond as the one before.
    pub zero_gaps: u64,
    /// Records by op.
    pub reads: u64,
    /// Writes.
    pub writes: u64,
    /// Deletes.
    pub deletes: u64,
    /// The replay's span, simulated ns.
    pub span_ns: u64,
}

impl Profile {
    /// Reads `replay`'s trace once, as a stream.
    pub fn read(replay: &Replay) -> std::result::Result<Profile, TraceError> {
        let keys = replay.index.keys() as usize;
        let span_ns = replay.span_ns();
        let total_reads = replay.index.reads.max(1);
        let mut p = Profile {
            reads_per_key: vec![0; keys],
            size_of: vec![0; keys],
            last_ttl: vec![NOT_WRITTEN; keys],
            per_second: vec![0; span_ns.div_ceil(1_000_000_000).max(1) as usize],
            quarters: std::array::from_fn(|_| Quarter {
                counts: vec![0; keys],
                ..Quarter::default()
            }),
            gaps: vec![0; GAP_BINS_PER_DECADE * GAP_DECADES],
            zero_gaps: 0,
            reads: 0,
            writes: 0,
            deletes: 0,
            span_ns,
        };
        let mut records = trace::open(&replay.path, &replay.format, trace::WithSlots::No)?;
        let mut previous: Option<u64> = None;
        let mut started = [false; 4];
        while let Some(record) = records.next() {
            let record = record?;
            let id = replay.index.id(record.key).ok_or_else(|| TraceError {
                path: replay.path.clone(),
                record: Some(records.records),
                line: None,
                message: "has a key the first pass did not see: the trace changed".into(),
            })? as usize;
            let t = replay.sim_time_ns(record.time_ns);
            match record.op {
                Op::Read => {
                    p.reads_per_key[id] = p.reads_per_key[id].saturating_add(1);
                    if p.size_of[id] == 0
                        && let Some(size) = record.size
                    {
                        p.size_of[id] = size.max(1);
                    }
                    let second = (t / 1_000_000_000) as usize;
                    if let Some(c) = p.per_second.get_mut(second) {
                        *c += 1;
                    }
                    let quarter = (p.reads * 4 / total_reads).min(3) as usize;
                    let q = &mut p.quarters[quarter];
                    if !started[quarter] {
                        started[quarter] = true;
                        q.first_ns = t;
                    }
                    q.counts[id] = q.counts[id].saturating_add(1);
                    q.last_ns = t;
                    match previous.map(|before| t.saturating_sub(before)) {
                        Some(0) => p.zero_gaps += 1,
                        Some(gap) => {
                            let bin = ((gap as f64).log10() * GAP_BINS_PER_DECADE as f64) as usize;
                            let last = p.gaps.len() - 1;
                            p.gaps[bin.min(last)] += 1;
                        }
                        None => {}
                    }
                    previous = Some(t);
                    p.reads += 1;
                }
                Op::Write => {
                    p.last_ttl[id] = record.ttl_ns.unwrap_or(NO_TTL);
                    p.writes += 1;
                }
                Op::Delete => p.deletes += 1,
            }
        }
        Ok(p)
    }
}

/// One class of keys by the TTL they are filled with.
#[derive(Clone, Debug, PartialEq)]
pub struct TtlClass {
    /// The TTL its keys fill with.
    pub ttl: ClassTtl,
    /// Share of the read keys.
    pub share: f64,
}

/// The TTL a class of keys is filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClassTtl {
    /// Never written in the trace: the scenario's `cache.ttl`.
    Scenario,
    /// Written without a TTL.
    None,
    /// Written with this TTL.
    Ttl(SimDuration),
}

impl ClassTtl {
    fn of(last_ttl: u64) -> ClassTtl {
        match last_ttl {
            NOT_WRITTEN => ClassTtl::Scenario,
            NO_TTL => ClassTtl::None,
            ns => ClassTtl::Ttl(SimDuration(ns)),
        }
    }

    /// The class's name: `ttl-60s`, `ttl-none` or `ttl-default`.
    pub fn name(self) -> String {
        match self {
            ClassTtl::Scenario => "ttl-default".into(),
            ClassTtl::None => "ttl-none".into(),
            ClassTtl::Ttl(d) => format!("ttl-{}", format_duration(d)),
        }
    }
}

/// The fitted synthetic workload and how well each part fits.
#[derive(Clone, Debug)]
pub struct Fit {
    /// Keys the trace reads at least once.
    pub keys: u32,
    /// Zipf exponent by maximum likelihood.
    pub zipf: f64,
    /// Its KS distance on ranks (0 = perfect).
    pub zipf_distance: f64,
    /// Mean reads per second of simulated time.
    pub rate_per_s: f64,
    /// Index of dispersion of reads per second (1 = Poisson-like).
    pub dispersion: Option<f64>,
    /// Popularity churn, keys per second (0 when below one key over the trace).
    pub churn_per_s: f64,
    /// Lognormal value sizes over the read keys; `None` without sizes.
    pub sizes: Option<Lognormal>,
    /// Classes by fill TTL; empty when every key fills with `cache.ttl`.
    pub classes: Vec<TtlClass>,
    /// What the synthetic workload does not reproduce, in words.
    pub not_captured: Vec<String>,
}

impl Fit {
    /// Fits stampede's synthetic clients to `profile`.
    pub fn of(profile: &Profile) -> Fit {
        let read_keys: Vec<usize> = (0..profile.reads_per_key.len())
            .filter(|&k| profile.reads_per_key[k] > 0)
            .collect();
        let counts: Vec<u64> = read_keys
            .iter()
            .map(|&k| profile.reads_per_key[k] as u64)
            .collect();
        let zipf = stats::zipf_exponent(&counts);
        let zipf_distance = stats::zipf_distance(&counts, zipf);
        let span_s = profile.span_ns as f64 / 1e9;
        let rate_per_s = profile.reads as f64 / span_s;
        // Whole seconds only: the last, partial one would read as a lull.
        let whole = ((profile.span_ns / 1_000_000_000) as usize).min(profile.per_second.len());
        let dispersion = stats::dispersion(&profile.per_second[..whole]);
        // The top tenth of the keys (at least 100, at most 10,000) outlasts
        // any slide a trace of this length could show.
        let k = (read_keys.len() / 10).clamp(100.min(read_keys.len()), 10_000);
        let churn = stats::churn_per_s(&profile.quarters, k);
        let churn_per_s = if churn * span_s < 1.0 { 0.0 } else { churn };
        let sizes = stats::lognormal(
            read_keys
                .iter()
                .map(|&k| profile.size_of[k] as u64)
                .filter(|&s| s > 0),
        );
        let mut fit = Fit {
            keys: read_keys.len() as u32,
            zipf,
            zipf_distance,
            rate_per_s,
            dispersion,
            churn_per_s,
            sizes,
            classes: Vec::new(),
            not_captured: Vec::new(),
        };
        fit.classes = fit.ttl_classes(profile, &read_keys);
        fit.say_what_is_missing(profile, whole);
        fit
    }

    /// Classes of the read keys by the TTL they fill with (the most common
    /// [`MAX_CLASSES`]; rarer TTLs join the most common one).
    fn ttl_classes(&mut self, profile: &Profile, read_keys: &[usize]) -> Vec<TtlClass> {
        let mut by_ttl = std::collections::BTreeMap::<ClassTtl, u64>::new();
        for &k in read_keys {
            *by_ttl.entry(ClassTtl::of(profile.last_ttl[k])).or_default() += 1;
        }
        if by_ttl.len() <= 1 && by_ttl.contains_key(&ClassTtl::Scenario) || by_ttl.is_empty() {
            return Vec::new();
        }
        let mut common: Vec<(ClassTtl, u64)> = by_ttl.into_iter().collect();
        common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if common.len() > MAX_CLASSES {
            let rare: Vec<(ClassTtl, u64)> = common.split_off(MAX_CLASSES);
            let keys: u64 = rare.iter().map(|r| r.1).sum();
            common[0].1 += keys;
            self.not_captured.push(format!(
                "{} rarer TTLs ({} keys) are folded into the most common class, {}",
                rare.len(),
                thousands(keys),
                common[0].0.name()
            ));
        }
        let total = read_keys.len() as f64;
        common
            .into_iter()
            .map(|(ttl, keys)| TtlClass {
                ttl,
                share: keys as f64 / total,
            })
            .collect()
    }

    /// Fills `not_captured`: what the fitted scenario will not reproduce.
    fn say_what_is_missing(&mut self, profile: &Profile, whole_seconds: usize) {
        if self.zipf_distance > ZIPF_DISTANCE_LIMIT {
            self.not_captured.push(format!(
                "popularity is not Zipf-like: the fitted law is {:.3} away from the trace's cumulative share of requests by rank (KS distance; up to {ZIPF_DISTANCE_LIMIT} fits)",
                self.zipf_distance
            ));
        }
        if let Some(d) = self.dispersion {
            // The dispersion of a Poisson process's counts over n windows has
            // a standard deviation of about sqrt(2 / (n - 1)).
            let noise = (2.0 / (whole_seconds.max(2) - 1) as f64).sqrt();
            if d > 1.0 + 4.0 * noise && d > 1.5 {
                self.not_captured.push(format!(
                    "arrivals are bursty: reads per second vary {d:.1} times as much as Poisson arrivals' would, so the fitted scenario understates peaks"
                ));
            }
        }
        if profile.writes + profile.deletes > 0 {
            self.not_captured.push(format!(
                "the trace's {} writes and {} deletes: synthetic clients only read (a delete of a hot key is a stampede the fit does not have)",
                thousands(profile.writes),
                thousands(profile.deletes)
            ));
        }
        if self.sizes.is_none() {
            self.not_captured
                .push("value sizes: the trace gives none, so cache.value_size is kept".into());
        }
    }
}

/// `n` with thousands separators.
fn thousands(n: u64) -> String {
    crate::report::plot::thousands(n as f64)
}

/// `x` rounded to `digits` significant digits (fitted values are written so).
fn significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// The fitted scenario: `raw` (a trace scenario, resolved) with its trace
/// replaced by synthetic clients; the cache, database, strategy, events and
/// expectations are kept, so both answer the same question.
pub fn fitted_raw(raw: &RawScenario, fit: &Fit) -> RawScenario {
    let mut out = raw.clone();
    out.name = format!("{}-synthetic", raw.name);
    out.description = format!(
        "Synthetic clients fitted by `stampede fit` to the trace of scenario {:?}.",
        raw.name
    );
    let c = &mut out.clients;
    c.trace = None;
    c.keys = Some(fit.keys as u64);
    c.zipf = Some(significant(fit.zipf, 4));
    c.arrival = Some("poisson".into());
    c.rate = Some(significant(fit.rate_per_s, 6));
    c.churn = Some(significant(fit.churn_per_s, 4));
    c.classes = fit
        .classes
        .iter()
        .map(|class| RawClass {
            name: class.ttl.name(),
            share: class.share,
            ttl: match class.ttl {
                ClassTtl::Scenario => None,
                ClassTtl::None => Some("none".into()),
                ClassTtl::Ttl(d) => Some(format_duration(d)),
            },
            value_size: None,
            query_time: None,
        })
        .collect();
    if let Some(sizes) = fit.sizes {
        let median = sizes.median.round().max(1.0) as i64;
        let mut table = toml::Table::new();
        if sizes.sigma < 1e-3 {
            table.insert("dist".into(), "constant".into());
            table.insert("value".into(), median.into());
        } else {
            table.insert("dist".into(), "lognormal".into());
            table.insert("median".into(), median.into());
            table.insert("sigma".into(), significant(sizes.sigma, 4).into());
        }
        out.cache.value_size = toml::Value::Table(table);
    }
    out
}

/// A finished fit: the fitted scenario and how well it predicts the replay.
pub struct Outcome {
    /// The replayed scenario's name.
    pub name: String,
    /// The trace fitted.
    pub trace: PathBuf,
    /// What the pass over the trace found.
    pub profile: Profile,
    /// The fit.
    pub fit: Fit,
    /// The fitted scenario, resolved.
    pub fitted: RawScenario,
    /// Hit ratio (after warmup) of the replay and of the fitted scenario.
    pub hit_ratio: (f64, f64),
    /// Byte hit ratio of both.
    pub byte_hit_ratio: (f64, f64),
}

/// Loads scenario `path` (with `sets` applied) for fitting: it must replay a trace.
pub fn load(path: &Path, sets: &[String]) -> Result<(Scenario, RawScenario)> {
    let (replayed, raw) = scenario::load(path, sets)?;
    if !matches!(replayed.clients.arrival, Arrival::Trace(_)) {
        return Err(Error::BadInput(format!(
            "{}: has no clients.trace; fit turns a trace into synthetic clients, so give a scenario that replays one",
            path.display()
        )));
    }
    Ok((replayed, raw))
}

/// Fits the trace of `replayed` (loaded by [`load`], `raw` its resolved
/// form), then runs the replay and the fitted scenario, in parallel, to
/// measure the prediction.
pub fn fit(replayed: &Scenario, raw: &RawScenario) -> Result<Outcome> {
    let Arrival::Trace(replay) = &replayed.clients.arrival else {
        unreachable!("load() accepts only trace scenarios");
    };
    let profile = Profile::read(replay)
        .map_err(|e| Error::BadInput(format!("clients.trace cannot be read: {e}")))?;
    let fit = Fit::of(&profile);
    let text = toml::to_string(&fitted_raw(raw, &fit)).expect("a raw scenario always serialises");
    let origin = PathBuf::from(format!("{}-synthetic.toml", raw.name));
    let (synthetic, fitted) = scenario::from_text(&text, &origin, &[])
        .map_err(|e| Error::BadInput(format!("the fitted scenario cannot run as written: {e}")))?;
    let (a, b) = rayon::join(
        || crate::engine::run(replayed, replayed.seed),
        || crate::engine::run(&synthetic, synthetic.seed),
    );
    Ok(Outcome {
        name: raw.name.clone(),
        trace: replay.path.clone(),
        profile,
        fit,
        fitted,
        hit_ratio: (a.summary.hit_ratio, b.summary.hit_ratio),
        byte_hit_ratio: (a.summary.byte_hit_ratio, b.summary.byte_hit_ratio),
    })
}

impl Outcome {
    /// The trace as named from directory `dir` (where the outputs go).
    fn trace_from(&self, dir: &Path) -> String {
        scenario::trace::relative(dir, &self.trace)
            .display()
            .to_string()
    }

    /// The fitted scenario as `scenario.toml` in `dir` records it: the fit's
    /// verdict in comments, then the resolved scenario.
    pub fn scenario_toml(&self, dir: &Path) -> String {
        let mut text = format!(
            "# Fitted by `stampede fit` to {} (scenario {:?}).\n\
             # Under the same cache, the replay's hit ratio is {:.4} and this scenario's {:.4} ({:+.2} points).\n",
            self.trace_from(dir),
            self.name,
            self.hit_ratio.0,
            self.hit_ratio.1,
            self.error_points()
        );
        for missing in &self.fit.not_captured {
            text += &format!("# Not captured: {missing}.\n");
        }
        text + &toml::to_string_pretty(&self.fitted).expect("a raw scenario always serialises")
    }

    /// The fitted hit ratio minus the replay's, in percentage points.
    pub fn error_points(&self) -> f64 {
        (self.hit_ratio.1 - self.hit_ratio.0) * 100.0
    }

    /// `fit.json` in `dir`: the parameters, how well each fits, and the prediction.
    pub fn json(&self, dir: &Path) -> serde_json::Value {
        let f = &self.fit;
        let p = &self.profile;
        serde_json::json!({
            "scenario": self.name,
            "trace": {
                "path": self.trace_from(dir),
                "reads": p.reads,
                "writes": p.writes,
                "deletes": p.deletes,
                "keys_read": f.keys,
                "span_s": p.span_ns as f64 / 1e9,
            },
            "keys": f.keys,
            "zipf": { "exponent": f.zipf, "ks_distance": f.zipf_distance, "zipf_like": f.zipf_distance <= ZIPF_DISTANCE_LIMIT },
            "arrivals": { "rate_per_s": f.rate_per_s, "dispersion_per_s": f.dispersion },
            "churn_per_s": f.churn_per_s,
            "value_size": f.sizes.map(|s| serde_json::json!({ "dist": "lognormal", "median": s.median, "sigma": s.sigma })),
            "classes": f.classes.iter().map(|c| serde_json::json!({ "name": c.ttl.name(), "share": c.share })).collect::<Vec<_>>(),
            "prediction": {
                "replay_hit_ratio": self.hit_ratio.0,
                "fitted_hit_ratio": self.hit_ratio.1,
                "error_points": self.error_points(),
                "replay_byte_hit_ratio": self.byte_hit_ratio.0,
                "fitted_byte_hit_ratio": self.byte_hit_ratio.1,
            },
            "not_captured": f.not_captured,
        })
    }
}
