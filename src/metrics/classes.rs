//! Per-class results: hit ratio, memory and evictions of each key class.
//!
//! The per-prefix monitoring of `caching-mistakes-qa.txt` ("hit rate per key
//! type, memory usage by key prefix"): one summary entry per class in
//! `summary.json`, one row per class and interval in `classes.csv`.

use serde::{Deserialize, Serialize};

use crate::cache::ClassStats;
use crate::key_class::KeyClasses;

/// Requests of one class, counted by their first cache read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassCounters {
    /// Requests that arrived.
    pub requests: u64,
    /// First reads that hit.
    pub hits: u64,
    /// First reads that missed.
    pub misses: u64,
}

/// Selects one counter of [`ClassCounters`].
pub type ClassField = fn(&mut ClassCounters) -> &mut u64;

/// One class in `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassSummary {
    /// Class name.
    pub name: String,
    /// Keys in the class.
    pub keys: u64,
    /// Requests after warmup.
    pub requests: u64,
    /// Of those, first cache read hit.
    pub hits: u64,
    /// Of those, first cache read missed.
    pub misses: u64,
    /// hits / (hits + misses).
    pub hit_ratio: f64,
    /// Bytes used by the class at the end of the run.
    pub used_memory: u64,
    /// Highest bytes used by the class at a time-series row boundary.
    pub used_memory_max: u64,
    /// Keys of the class evicted after warmup.
    pub evicted_keys: u64,
    /// Keys of the class expired after warmup.
    pub expired_keys: u64,
}

/// One row of `classes.csv`: a class over one interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassRow {
    /// Start of the row, seconds.
    pub t_s: f64,
    /// Class name.
    pub class: String,
    /// Requests that arrived.
    pub requests: u64,
    /// First reads that hit.
    pub hits: u64,
    /// First reads that missed.
    pub misses: u64,
    /// hits / (hits + misses), empty when no request.
    pub hit_ratio: Option<f64>,
    /// Bytes used at the end of the row.
    pub used_memory: u64,
    /// Keys evicted in the row.
    pub evicted_keys: u64,
    /// Keys expired in the row.
    pub expired_keys: u64,
}

/// Collects per-class results during a run.
#[derive(Debug)]
pub struct ClassMetrics {
    names: Vec<String>,
    keys: Vec<u64>,
    total: Vec<ClassCounters>,
    row: Vec<ClassCounters>,
    at_row_start: Vec<ClassStats>,
    at_warmup: Option<Vec<ClassStats>>,
    memory_max: Vec<u64>,
    rows: Vec<ClassRow>,
}

impl ClassMetrics {
    /// Metrics for the classes called `names`, with keys assigned by `class_of`.
    pub fn new(names: Vec<String>, class_of: &KeyClasses, keys: u32) -> Self {
        let n = names.len();
        let keys = class_of.counts(keys, n);
        ClassMetrics {
            names,
            keys,
            total: vec![ClassCounters::default(); n],
            row: vec![ClassCounters::default(); n],
            at_row_start: vec![ClassStats::default(); n],
            at_warmup: None,
            memory_max: vec![0; n],
            rows: Vec::new(),
        }
    }

    /// Adds one to a counter of `class` in the row and, if `counted`, in the summary.
    #[inline]
    pub fn bump(&mut self, class: u8, counted: bool, field: ClassField) {
        *field(&mut self.row[class as usize]) += 1;
        if counted {
            *field(&mut self.total[class as usize]) += 1;
        }
    }

    /// Takes the baseline of the cache's class counters at the end of warmup.
    pub fn mark_warmup(&mut self, stats: &[ClassStats]) {
        self.at_warmup = Some(stats.to_vec());
    }

    /// Closes the row starting at `t_s` with the cache's class counters at its end.
    pub fn close_row(&mut self, t_s: f64, stats: &[ClassStats]) {
        for (c, now) in stats.iter().enumerate() {
            let prev = self.at_row_start[c];
            let counts = self.row[c];
            let reads = counts.hits + counts.misses;
            self.rows.push(ClassRow {
                t_s,
                class: self.names[c].clone(),
                requests: counts.requests,
                hits: counts.hits,
                misses: counts.misses,
                hit_ratio: (reads > 0).then(|| counts.hits as f64 / reads as f64),
                used_memory: now.used_memory,
                evicted_keys: now.evicted_keys - prev.evicted_keys,
                expired_keys: now.expired_keys - prev.expired_keys,
            });
            self.memory_max[c] = self.memory_max[c].max(now.used_memory);
        }
        self.at_row_start = stats.to_vec();
        self.row
            .iter_mut()
            .for_each(|r| *r = ClassCounters::default());
    }

    /// The per-class summary and rows, given the cache's class counters at the end.
    pub fn finish(self, stats: &[ClassStats]) -> (Vec<ClassSummary>, Vec<ClassRow>) {
        let base = self.at_warmup.unwrap_or_else(|| stats.to_vec());
        let summary = (0..self.names.len())
            .map(|c| {
                let t = self.total[c];
                ClassSummary {
                    name: self.names[c].clone(),
                    keys: self.keys[c],
                    requests: t.requests,
                    hits: t.hits,
                    misses: t.misses,
                    hit_ratio: super::hit_ratio(t.hits, t.misses),
                    used_memory: stats[c].used_memory,
                    used_memory_max: self.memory_max[c].max(stats[c].used_memory),
                    evicted_keys: stats[c].evicted_keys - base[c].evicted_keys,
                    expired_keys: stats[c].expired_keys - base[c].expired_keys,
                }
            })
            .collect();
        (summary, self.rows)
    }
}
