//! Checks every value of a raw scenario and builds the typed [`Scenario`].
//!
//! Errors name the file, the line where the key is written (or the `--set`
//! that gave it), the key's dotted path, what was found and what is allowed.

use serde::Deserialize;
use toml::de::DeTable;

use super::raw::{RawClients, RawDistribution, RawScenario, RawTrace};
use super::{
    Arrival, Cache, Clients, Compression, Database, Distribution, EvictionPolicy, Fault, FaultKind,
    KeyClass, LocalCache, Prewarm, Scenario, SizeDistribution, Strategy,
};
use crate::error::{Error, Result};
use crate::expect::Expectation;
use crate::strategy;
use crate::time::{MAX_DURATION, SimDuration, format_duration, parse_duration};

/// Most keys a scenario may have: per-key state is kept for every key.
pub const MAX_KEYS: u64 = 100_000_000;
/// Most time-series rows a run may produce (duration / interval).
pub const MAX_ROWS: u64 = 1_000_000;
/// Largest `max_in_flight`: about 100 bytes of state per request in flight.
pub const MAX_IN_FLIGHT: u64 = 100_000_000;
/// Most requests a run may be expected to simulate: rate × duration, plus what
/// spikes add (closed loop: users × duration / (think + cache latency)). At a few
/// million requests per second this is about an hour of computing; beyond it a
/// typo such as `rate = 1e300` would run (and allocate) until the machine gives up.
pub const MAX_EXPECTED_REQUESTS: f64 = 1e10;
/// Most closed-loop users: each holds a request's state, as a request in flight does.
pub const MAX_USERS: u64 = MAX_IN_FLIGHT;
/// Largest `key_overhead` and `ttl_overhead` (1 MiB): a key costs Redis tens of
/// bytes; more is a typo, and the engine keeps a key's bytes in 32 bits.
pub const MAX_OVERHEAD_BYTES: u64 = 1 << 20;
/// Largest size (`maxmemory`, sizes in general): 1 PiB (`"1048576gb"`).
pub const MAX_SIZE_BYTES: u64 = 1 << 50;
/// Largest `sigma` of a lognormal value size (ln-bytes); with the 512 MB cap on
/// each value, wider only piles draws on the cap.
pub const MAX_SIZE_SIGMA: f64 = 10.0;
/// Largest `db-slowdown` factor: a thousand times slower is already an outage.
pub const MAX_SLOWDOWN: f64 = 1000.0;
/// Longest `cache.compression.cpu_per_kb`: one second per KB already makes a
/// 512 MB value cost six days of CPU.
pub const MAX_CPU_PER_KB: SimDuration = SimDuration::from_secs(1);
/// z-score of the 99th percentile of a standard normal.
const Z99: f64 = 2.326_347_874_040_841;

/// Where the scenario came from, to point errors at the right place.
pub struct Source<'a> {
    /// The file name as the user gave it.
    pub file: &'a str,
    /// The file's text, to find line numbers.
    pub text: &'a str,
    /// Dotted paths given by `--set`.
    pub overridden: &'a [String],
}

impl Source<'_> {
    /// A bad-input error about `key`, located in the file or on the command line.
    pub fn error(&self, key: &str, problem: impl std::fmt::Display) -> Error {
        Error::BadInput(format!("{}: `{key}` {problem}", self.place(key)))
    }

    /// Where `key` comes from: `file (from --set PATH)` when a `--set` gave it (or
    /// a table holding it), else `file:line:column` of the key, or of the nearest
    /// enclosing table written in the file when the key itself is absent.
    fn place(&self, key: &str) -> String {
        if let Some(path) = self
            .overridden
            .iter()
            .find(|p| key == p.as_str() || key.starts_with(&format!("{p}.")))
        {
            return format!("{} (from --set {path})", self.file);
        }
        let mut prefix = key;
        loop {
            if let Some((line, column)) = locate(self.text, prefix) {
                return format!("{}:{line}:{column}", self.file);
            }
            match prefix.rfind(['.', '[']) {
                Some(i) => prefix = &prefix[..i],
                None => return self.file.to_string(),
            }
        }
    }

    /// A bad-input error about entry `key` of `[table]`, where `key` may hold dots
    /// (`[expect] "latency_ms.p99"`).
    pub fn error_in(&self, table: &str, key: &str, problem: impl std::fmt::Display) -> Error {
        let place = match locate_parts(self.text, &[table, key]) {
            Some((line, column)) => format!("{}:{line}:{column}", self.file),
            None => self.file.to_string(),
        };
        Error::BadInput(format!("{place}: `{table}.\"{key}\"` {problem}"))
    }

    /// A bad-input error from the TOML parser or serde, on `parsed` (the file's
    /// text, or the text of the scenario with its `--set` overrides applied).
    ///
    /// The parser knows the byte span; this names the key it falls in
    /// (`database.query_time.p99`), the file's line (or the `--set`), and says
    /// what is allowed in words rather than Rust types.
    pub fn parse_error(&self, e: &toml::de::Error, parsed: &str) -> Error {
        self.parse_problem(e, parsed).1
    }

    /// [`Source::parse_error`], with the path of the key it is about (when known).
    pub fn parse_problem(&self, e: &toml::de::Error, parsed: &str) -> (Option<Vec<Part>>, Error) {
        let raw_message = e.message().trim();
        let span = e.span().unwrap_or_default();
        let missing = raw_message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next());
        let mut parts =
            if missing.is_some() && (span.is_empty() || span.len() >= parsed.trim_end().len()) {
                Some(Vec::new()) // a key missing at the top level: the span is empty or the whole file
            } else if raw_message.starts_with("duplicate key") {
                parsed
                    .get(span.clone())
                    .map(|k| vec![Part::Key(k.trim_matches(['"', '\'']).to_string())])
            } else {
                e.span().and_then(|span| path_parts_at(parsed, span.start))
            };
        if let (Some(missing), Some(p)) = (missing, parts.as_mut()) {
            p.push(Part::Key(missing.to_string()));
        }
        let key = parts.as_deref().filter(|p| !p.is_empty()).map(dotted);
        let message = match &key {
            Some(key) => explain(raw_message, key),
            None => plain_types(raw_message),
        };
        let place = match (&key, e.span()) {
            // Parsing the file itself: the parser's position is exact.
            (_, Some(span)) if self.overridden.is_empty() && parsed == self.text => {
                let (line, column) = line_column(self.text, span.start);
                format!("{}:{line}:{column}", self.file)
            }
            (Some(key), _) => self.place(key),
            (None, _) => self.file.to_string(),
        };
        let error = match &key {
            Some(key) => Error::BadInput(format!("{place}: `{key}`: {message}")),
            None => Error::BadInput(format!("{place}: invalid TOML: {message}")),
        };
        (parts.filter(|p| !p.is_empty()), error)
    }

    fn duration(&self, key: &str, text: &str) -> Result<SimDuration> {
        parse_duration(text).map_err(|why| self.error(key, why))
    }

    fn positive_duration(&self, key: &str, text: &str) -> Result<SimDuration> {
        let d = self.duration(key, text)?;
        if d.0 == 0 {
            return Err(self.error(key, format!("is `{text}`; it must be longer than zero")));
        }
        Ok(d)
    }

    /// A duration of at most `max`; `why` ends the message of one too long
    /// (" per KB (...)": what the bound is per, and why it is there).
    fn duration_at_most(
        &self,
        key: &str,
        text: &str,
        max: SimDuration,
        why: &str,
    ) -> Result<SimDuration> {
        let d = self.duration(key, text)?;
        if d > max {
            return Err(self.error(
                key,
                format!(
                    "is {text}; it must be at most {}{why}",
                    format_duration(max)
                ),
            ));
        }
        Ok(d)
    }
}

/// Finds the 1-based line and column of dotted `key` in the TOML `text`.
///
/// Array elements are indexed as in error messages: `clients.classes[1].ttl`,
/// `events[0].at`.
pub fn locate(text: &str, key: &str) -> Option<(usize, usize)> {
    locate_parts(text, &key.split('.').collect::<Vec<_>>())
}

/// Splits `name[3]` into `("name", Some(3))`.
fn indexed(part: &str) -> (&str, Option<usize>) {
    match part.strip_suffix(']').and_then(|p| p.rsplit_once('[')) {
        Some((name, index)) => match index.parse() {
            Ok(i) => (name, Some(i)),
            Err(_) => (part, None),
        },
        None => (part, None),
    }
}

/// Finds the 1-based line and column of the key at `parts` (table, sub-table..., key).
fn locate_parts(text: &str, parts: &[&str]) -> Option<(usize, usize)> {
    let root = DeTable::parse(text).ok()?;
    let mut span = None;
    let mut table = Some(root.get_ref());
    for part in parts {
        let (name, index) = indexed(part);
        let (k, v) = table?.iter().find(|(k, _)| k.get_ref() == name)?;
        span = Some(k.span());
        table = match index {
            None => v.get_ref().as_table(),
            Some(i) => {
                let element = v.get_ref().as_array()?.get(i)?;
                span = Some(element.span());
                element.get_ref().as_table()
            }
        };
    }
    Some(line_column(text, span?.start))
}

/// The 1-based line and column of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    (line, column)
}

/// One step of a key's path: a table key, or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// A key of a table.
    Key(String),
    /// An item of an array, from 0.
    Index(usize),
}

/// A path as error messages write it: `clients.classes[1].ttl`, `expect."latency_ms.p99"`.
pub fn dotted(parts: &[Part]) -> String {
    let mut path = String::new();
    for part in parts {
        match part {
            Part::Key(k) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key_name(k));
            }
            Part::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    path
}

/// The dotted path of the innermost key whose key or value holds byte `offset`
/// of `text` (`database.query_time.p99`, `clients.classes[1].ttl`), to name the key a
/// parser error is about.
pub fn path_at(text: &str, offset: usize) -> Option<String> {
    path_parts_at(text, offset).map(|p| dotted(&p))
}

/// [`path_at`], as parts.
pub fn path_parts_at(text: &str, offset: usize) -> Option<Vec<Part>> {
    let root = DeTable::parse(text).ok()?;
    path_in_table(root.get_ref(), offset)
}

fn path_in_table(table: &DeTable, offset: usize) -> Option<Vec<Part>> {
    for (k, v) in table.iter() {
        let holds = k.span().contains(&offset) || v.span().contains(&offset);
        if let Some(mut inner) = path_in_value(v.get_ref(), offset) {
            inner.insert(0, Part::Key(k.get_ref().to_string()));
            return Some(inner);
        }
        if holds {
            return Some(vec![Part::Key(k.get_ref().to_string())]);
        }
    }
    None
}

fn path_in_value(value: &toml::de::DeValue, offset: usize) -> Option<Vec<Part>> {
    match value {
        toml::de::DeValue::Table(t) => path_in_table(t, offset),
        toml::de::DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(mut inner) = path_in_value(item.get_ref(), offset) {
                    inner.insert(0, Part::Index(i));
                    return Some(inner);
                }
                if item.span().contains(&offset) {
                    return Some(vec![Part::Index(i)]);
                }
            }
            None
        }
        _ => None,
    }
}

/// What the key at dotted `key` takes, in words, for messages about a value
/// of the wrong type ("a number of requests per second, such as 20000").
pub fn takes(key: &str) -> Option<&'static str> {
    // Array indices do not matter: every class takes the same.
    let mut general = String::with_capacity(key.len());
    let mut skip = false;
    for c in key.chars() {
        match c {
            '[' => skip = true,
            ']' => skip = false,
            c if !skip => general.push(c),
            _ => {}
        }
    }
    const DURATION: &str = "a duration with a unit, such as \"5s\", \"250ms\" or \"1m30s\"";
    const TTL: &str = "a duration with a unit, such as \"5m\", or \"none\" for no expiry";
    const SIZE: &str = "a size in bytes, such as 100, or with a unit, such as \"2kb\" or \"64mb\"";
    const DIST: &str = "a table such as { dist = \"exponential\", mean = \"20ms\" }";
    let last = general.rsplit('.').next().unwrap_or_default();
    if key.ends_with(']') {
        return match general.as_str() {
            "events" => Some("a table, written [[events]] or { kind = ..., at = ... }"),
            "clients.classes" => Some("a table, written [[clients.classes]]"),
            _ => None,
        };
    }
    Some(match general.as_str() {
        "name" => "a name in quotes, such as \"my-scenario\" (letters, digits, '-', '_', '.')",
        "description" => "text in quotes",
        "duration" | "warmup" | "interval" => DURATION,
        "seed" => "a whole number, such as 1",
        "max_in_flight" => "a whole number of requests, such as 1000000",
        "clients" | "cache" | "database" | "strategy" | "sweep" | "expect" => {
            "a table, written [name] or { key = value, ... }"
        }
        "clients.keys" => "a whole number of keys, such as 10000",
        "clients.zipf" => "a number >= 0 (the Zipf exponent; 0 = uniform), such as 1.0",
        "clients.arrival" => "\"poisson\" (open loop) or \"closed\" (users wait for answers)",
        "clients.rate" => "a number of requests per second, such as 20000",
        "clients.clients" => "a whole number of users, such as 500",
        "clients.retries" => "a whole number of retries from 0 to 100",
        "clients.app_instances" => "a whole number of application servers, such as 8",
        "clients.churn" => "a number of keys per second, such as 2.5 (0 = stationary)",
        "clients.classes" => "tables written [[clients.classes]]",
        "clients.classes.name" => "a class name in quotes, such as \"user_feed\"",
        "clients.classes.share" => "a number: the share of the keys, such as 0.25",
        "clients.classes.ttl" => TTL,
        "clients.classes.value_size" | "cache.value_size" | "cache.maxmemory" => SIZE,
        "clients.classes.query_time" | "database.query_time" => DIST,
        "cache.ttl" => TTL,
        "cache.ttl_jitter" => "a number in [0, 1), such as 0.1",
        "cache.prewarm" => "\"none\", \"fresh\" or \"steady\"",
        "cache.policy" => "an eviction policy in quotes, such as \"allkeys-lru\"",
        "cache.samples" => "a whole number from 1 to 64",
        "cache.key_overhead" | "cache.ttl_overhead" => "a whole number of bytes, such as 86",
        "cache.lfu_log_factor" => "a whole number, such as 10",
        "cache.hz" => "a whole number of cycles per second from 1 to 500",
        "cache.corrupt_rate" => "a number in [0, 1): the share of reads that fail",
        "cache.latency" => {
            "a duration such as \"500us\", or a table such as { dist = \"lognormal\", median = \"500us\", p99 = \"4ms\" }"
        }
        "cache.ops_per_sec" => "a number of commands per second, such as 100000",
        "cache.shards" => "a whole number of Redis Cluster primaries, such as 3",
        "clients.cores_per_instance" => "a whole number of CPU cores, such as 4",
        "clients.local_cache" => "a table such as { keys = 1, ttl = \"1s\" }",
        "clients.local_cache.keys" => "a whole number of keys, such as 1",
        "events.shard" => "a whole number: a shard, from 0",
        "cache.compression" => "a table such as { ratio = 3.0, cpu_per_kb = \"20us\" }",
        "cache.compression.ratio" => "a number >= 1, such as 3.0",
        "database.connections" => "a whole number of connections, such as 64",
        "database.cores" => "a whole number of CPU cores, such as 16",
        "strategy.kind" => "a mitigation in quotes, such as \"lock\"",
        "events" => "tables written [[events]]",
        "events.kind" => "a fault in quotes, such as \"flush\" or \"db-slowdown\"",
        "events.rank" => "a whole number: a popularity rank (1 = hottest)",
        "events.rate" => "a number: the arrival-rate multiplier, such as 3.0",
        "events.factor" => "a number: the query-time multiplier, such as 4.0",
        "sweep.replicates" => "a whole number of runs per point, such as 5",
        "sweep.independent" => "true or false",
        "sweep.grid" | "sweep.paired" => "a table of dotted paths to lists of values",
        _ if general.ends_with(".dist") => {
            "\"constant\", \"exponential\" or \"lognormal\" in quotes"
        }
        _ if matches!(
            last,
            "think"
                | "timeout"
                | "retry_backoff"
                | "clock_skew"
                | "latency"
                | "lfu_decay_time"
                | "cpu_per_kb"
                | "service_per_kb"
                | "cpu_per_command"
                | "ttl"
                | "pool_timeout"
                | "value"
                | "mean"
                | "median"
                | "p99"
                | "at"
                | "duration"
        ) =>
        {
            DURATION
        }
        _ => return None,
    })
}

/// " did you mean "lock"?" when one of `names` is near `given`, else nothing.
pub fn hint(given: &str, names: &[&str]) -> String {
    crate::suggest::did_you_mean(given, names.iter().copied())
        .map_or(String::new(), |n| format!(" did you mean \"{n}\"?"))
}

/// What serde found, as a scenario's author wrote it: `integer `5`` is `5`,
/// `string "abc"` is `"abc"`, `sequence` is `an array`.
fn found_value(found: &str) -> String {
    for prefix in ["integer ", "floating point ", "boolean ", "string "] {
        if let Some(value) = found.strip_prefix(prefix) {
            return value.trim_matches('`').to_string();
        }
    }
    match found {
        "sequence" => "an array".into(),
        "map" => "a table".into(),
        other => other.into(),
    }
}

/// Serde's message about `key` in words: an unknown key with the nearest
/// allowed one, a value of the wrong type with what the key takes.
fn explain(message: &str, key: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (given, allowed) = rest.split_once('`').unwrap_or((rest, ""));
        let names: Vec<&str> = allowed.split('`').skip(1).step_by(2).collect();
        let hint = crate::suggest::did_you_mean(given, names.iter().copied())
            .map_or(String::new(), |n| format!("did you mean `{n}`? "));
        let table = key
            .rsplit_once('.')
            .map_or("the top level".to_string(), |(t, _)| format!("[{t}]"));
        return format!(
            "is not a key of {table}; {hint}allowed: {}",
            names.join(", ")
        );
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, _)) = rest.rsplit_once(", expected ")
        && let Some(takes) = takes(key)
    {
        return format!("is {}; it takes {takes}", found_value(found));
    }
    if let Some(rest) = message.strip_prefix("invalid value: ")
        && let Some((found, _)) = rest.rsplit_once(", expected ")
        && let Some(takes) = takes(key)
    {
        return format!("is {}; it takes {takes}", found_value(found));
    }
    if message.starts_with("missing field")
        && let Some(takes) = takes(key)
    {
        return format!("is missing; give {takes}");
    }
    plain_types(message)
}

/// Serde's messages name Rust types (`expected u64`); say what a scenario may hold instead.
fn plain_types(message: &str) -> String {
    message
        .replace(
            "expected u64",
            "expected a whole number from 0 to 9223372036854775807",
        )
        .replace(
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        )
        .replace("expected f64", "expected a number")
        .replace("invalid type: sequence", "invalid type: array")
}

/// A key as written in a dotted path: quoted when it holds anything but letters,
/// digits, `_` and `-` (`expect."latency_ms.p99"`).
fn key_name(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// The outcome of reading a scenario's TOML into a [`RawScenario`], going on
/// past errors to find them all.
pub struct Read {
    /// The scenario, if it could be read (with the keys in error patched).
    pub raw: Option<RawScenario>,
    /// Every problem found, in the order found.
    pub problems: Vec<Error>,
    /// The keys patched to read on past their errors.
    pub patched: Patched,
}

/// Keys patched (removed, or given a stand-in value) to read past their errors.
#[derive(Default)]
pub struct Patched(Vec<Vec<Part>>);

impl Patched {
    /// Whether validation error `e` may be a consequence of a patch: it is
    /// about a table (or the top level) where a key was patched, or about
    /// something measured against `duration` when that was patched.
    pub fn tainted(&self, e: &Error) -> bool {
        let Some(key) = error_key(e) else {
            return !self.0.is_empty();
        };
        let section = |k: &str| k.split(['.', '[']).next().unwrap_or_default().to_string();
        let top_level = |k: &str| !k.contains(['.', '[']);
        self.0.iter().any(|parts| {
            let patched = dotted(parts);
            section(&patched) == section(key)
                || (top_level(&patched) && top_level(key))
                || (patched == "duration"
                    && (section(key) == "events" || key.starts_with("clients")))
        })
    }
}

/// The key an error is about: the first `quoted` name in its message.
fn error_key(e: &Error) -> Option<&str> {
    let Error::BadInput(message) = e else {
        return None;
    };
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// Stand-ins tried, in order, for a key in error: removing it, then a value
/// of each type (a missing key needs one to read on).
fn stand_ins() -> [Option<toml::Value>; 7] {
    use toml::Value;
    [
        None,
        Some(Value::String("1s".into())),
        Some(Value::Integer(1)),
        Some(Value::Float(1.0)),
        Some(Value::Boolean(true)),
        Some(Value::Table(Default::default())),
        Some(Value::Array(Vec::new())),
    ]
}

/// Sets (or, with `None`, removes) the key at `parts` in `table`; false when
/// there is no such place.
fn patch(table: &mut toml::Table, parts: &[Part], value: Option<toml::Value>) -> bool {
    let Some((last, path)) = parts.split_last() else {
        return false;
    };
    let mut current: &mut toml::Value = match path.first() {
        None => {
            return match (last, value) {
                (Part::Key(k), Some(v)) => {
                    table.insert(k.clone(), v);
                    true
                }
                (Part::Key(k), None) => table.remove(k).is_some(),
                (Part::Index(_), _) => false,
            };
        }
        Some(Part::Key(k)) => match table.get_mut(k) {
            Some(v) => v,
            None => return false,
        },
        Some(Part::Index(_)) => return false,
    };
    for part in &path[1..] {
        current = match (part, current) {
            (Part::Key(k), toml::Value::Table(t)) => match t.get_mut(k) {
                Some(v) => v,
                None => return false,
            },
            (Part::Index(i), toml::Value::Array(a)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, current, value) {
        (Part::Key(k), toml::Value::Table(t), Some(v)) => {
            t.insert(k.clone(), v);
            true
        }
        (Part::Key(k), toml::Value::Table(t), None) => t.remove(k).is_some(),
        (Part::Index(i), toml::Value::Array(a), Some(v)) if *i < a.len() => {
            a[*i] = v;
            true
        }
        (Part::Index(i), toml::Value::Array(a), None) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

/// Most problems one file reports; beyond them the reader stops.
const MAX_PROBLEMS: usize = 50;

/// Reads `parsed` (the file's text, or the text with `--set` applied) into a
/// [`RawScenario`]. On an error it patches the key in error (removes it, or
/// gives it a stand-in value) and reads again, to report every problem.
pub fn deserialize(parsed: &str, source: &Source) -> Read {
    let first = match toml::from_str::<RawScenario>(parsed) {
        Ok(mut raw) => {
            raw.fill_defaults();
            return Read {
                raw: Some(raw),
                problems: Vec::new(),
                patched: Patched::default(),
            };
        }
        Err(e) => e,
    };
    let mut problems = Vec::new();
    let mut patched = Patched::default();
    // Invalid TOML (a syntax error, a duplicate key) cannot be read past.
    let Ok(mut table) = toml::from_str::<toml::Table>(parsed) else {
        problems.push(source.parse_error(&first, parsed));
        return Read {
            raw: None,
            problems,
            patched,
        };
    };
    let (mut error, mut text) = (first, parsed.to_string());
    while problems.len() < MAX_PROBLEMS {
        let (parts, problem) = source.parse_problem(&error, &text);
        let Some(parts) = parts else {
            problems.push(problem);
            break;
        };
        if patched.0.iter().any(|p| parts.starts_with(p)) {
            break; // a consequence of a patch, not a problem of the file
        }
        problems.push(problem);
        let mut next = None;
        for stand_in in stand_ins() {
            let mut attempt = table.clone();
            if !patch(&mut attempt, &parts, stand_in) {
                continue;
            }
            let Ok(attempt_text) = toml::to_string(&attempt) else {
                continue;
            };
            match toml::from_str::<RawScenario>(&attempt_text) {
                Ok(mut raw) => {
                    raw.fill_defaults();
                    next = Some(Ok(raw));
                    table = attempt;
                    break;
                }
                Err(e) => {
                    if source.parse_problem(&e, &attempt_text).0.as_ref() != Some(&parts) {
                        next = Some(Err((e, attempt_text)));
                        table = attempt;
                        break;
                    }
                }
            }
        }
        patched.0.push(parts);
        match next {
            None => break,
            Some(Ok(raw)) => {
                return Read {
                    raw: Some(raw),
                    problems,
                    patched,
                };
            }
            Some(Err((e, t))) => (error, text) = (e, t),
        }
    }
    Read {
        raw: None,
        problems,
        patched,
    }
}

impl Source<'_> {
    /// Several problems as one error: in file order (line, then column),
    /// those without a line first, those from `--set` last.
    pub fn combine(&self, mut problems: Vec<Error>) -> Error {
        if problems.len() == 1 {
            return problems.remove(0);
        }
        let order = |e: &Error| -> (u8, usize, usize) {
            let text = e.to_string();
            let Some(rest) = text.strip_prefix(self.file) else {
                return (0, 0, 0);
            };
            if rest.starts_with(" (from --set") {
                return (2, 0, 0);
            }
            let mut numbers = rest
                .strip_prefix(':')
                .unwrap_or_default()
                .split(':')
                .map(|n| n.parse::<usize>().ok());
            match (numbers.next().flatten(), numbers.next().flatten()) {
                (Some(line), Some(column)) => (1, line, column),
                _ => (0, 0, 0),
            }
        };
        problems.sort_by_key(|e| order(e)); // stable: equal places keep their order
        problems.dedup_by_key(|e| e.to_string());
        if problems.len() == 1 {
            return problems.remove(0);
        }
        let lines: Vec<String> = problems.iter().map(|e| format!("  {e}")).collect();
        Error::BadInput(format!(
            "{} problems in {}:\n{}",
            problems.len(),
            self.file,
            lines.join("\n")
        ))
    }
}

/// Validates `raw` into a [`Scenario`]; `source` locates errors. Every
/// problem is reported, as one error.
pub fn validate(raw: &RawScenario, source: &Source) -> Result<Scenario> {
    validate_all(raw, source).map_err(|problems| source.combine(problems))
}

/// Keeps `r`'s value, or its error in `problems`.
pub fn keep<T>(r: Result<T>, problems: &mut Vec<Error>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(e);
            None
        }
    }
}

/// Validates `raw` into a [`Scenario`], or returns every problem found.
pub fn validate_all(
    raw: &RawScenario,
    source: &Source,
) -> std::result::Result<Scenario, Vec<Error>> {
    let s = source;
    let mut problems = Vec::new();
    let p = &mut problems;
    let name_bad = raw.name.is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || raw.name.starts_with('.');
    if name_bad {
        p.push(s.error(
            "name",
            format!(
                "is {:?}; it names the output directory, so use letters, digits, '-', '_' or '.' (not first)",
                raw.name
            ),
        ));
    }
    let classes = classes(raw, s, p);
    let clients = clients(raw, s, p).and_then(|c| {
        Some(Clients {
            classes: classes?,
            ..c
        })
    });
    let cache = cache(raw, s, p);
    let database = database(raw, s, p);
    let duration = match (&raw.duration, &clients) {
        (Some(d), _) => keep(s.positive_duration("duration", d), p),
        (
            None,
            Some(Clients {
                arrival: Arrival::Trace(replay),
                ..
            }),
        ) => Some(SimDuration(replay.span_ns().max(1))),
        (None, _) if raw.clients.trace.is_some() => None, // the trace's problem is reported
        (None, _) => {
            p.push(s.error(
                "duration",
                "is missing; give the simulated time clients send requests for, e.g. duration = \"600s\"",
            ));
            None
        }
    };
    let shown_duration = duration.map(format_duration).unwrap_or_default();
    let warmup = keep(s.duration("warmup", &raw.warmup), p);
    if let (Some(duration), Some(warmup)) = (duration, warmup)
        && warmup >= duration
    {
        p.push(s.error(
            "warmup",
            format!(
                "is {}, not shorter than duration {}; the summary would be empty",
                raw.warmup, shown_duration
            ),
        ));
    }
    let interval = keep(s.positive_duration("interval", &raw.interval), p);
    if let (Some(duration), Some(interval)) = (duration, interval)
        && duration.0 / interval.0 > MAX_ROWS
    {
        p.push(s.error(
            "interval",
            format!(
                "gives more than {MAX_ROWS} time-series rows over {}; use a longer interval",
                shown_duration
            ),
        ));
    }
    if raw.max_in_flight == 0 || raw.max_in_flight > MAX_IN_FLIGHT {
        p.push(s.error(
            "max_in_flight",
            format!(
                "is {}; it must be between 1 and {MAX_IN_FLIGHT} (each request in flight holds memory)",
                raw.max_in_flight
            ),
        ));
    }
    let strategy = strategy(raw, s).map_err(|e| p.extend(e)).ok();
    // An unknown duration (its problem reported) still lets events be checked.
    let faults = faults(raw, duration.unwrap_or(MAX_DURATION), s, p);
    let expect = expectations(raw, s, p);
    let (
        Some(duration),
        Some(warmup),
        Some(interval),
        Some(clients),
        Some(cache),
        Some(database),
        Some(strategy),
        Some(faults),
        Some(expect),
    ) = (
        duration, warmup, interval, clients, cache, database, strategy, faults, expect,
    )
    else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let scenario = Scenario {
        name: raw.name.clone(),
        description: raw.description.clone(),
        duration,
        warmup,
        seed: raw.seed,
        interval,
        max_in_flight: raw.max_in_flight,
        clients,
        cache,
        database,
        strategy,
        faults,
        expect,
        overrides: Vec::new(),
    };
    expected_work(&scenario, raw, s).map_err(|e| vec![e])?;
    Ok(scenario)
}

/// A number as a person would write it: `20000`, `0.5`, or `1e300` when long.
fn show(x: f64) -> String {
    if x.abs() >= 1e15 || (x != 0.0 && x.abs() < 1e-6) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// Refuses a workload larger than [`MAX_EXPECTED_REQUESTS`] before anything runs.
///
/// Open loop: rate × duration, plus rate × (multiplier − 1) × the part of each
/// spike inside the run (an upper bound when spikes overlap). Closed loop: each
/// user sends at most one request per think time plus cache round trip.
fn expected_work(sc: &Scenario, raw: &RawScenario, s: &Source) -> Result<()> {
    let seconds = sc.duration.as_secs_f64();
    let limit = MAX_EXPECTED_REQUESTS;
    let requests = match sc.clients.arrival {
        Arrival::Poisson { rate_per_s } => {
            let base = rate_per_s * seconds;
            if base > limit {
                return Err(s.error(
                    "clients.rate",
                    format!(
                        "is {} requests/s: over duration {} that is {base:.3e} requests, more than the {limit:.0e} a run may simulate; lower the rate or shorten the run",
                        show(rate_per_s),
                        format_duration(sc.duration)
                    ),
                ));
            }
            let mut total = base;
            for (i, e) in raw.events.iter().enumerate() {
                let (Some(multiplier), Some(length)) = (e.rate, e.duration.as_deref()) else {
                    continue;
                };
                if e.kind != "spike" || multiplier <= 1.0 {
                    continue;
                }
                let at = parse_duration(&e.at).expect("checked in faults()");
                let length = parse_duration(length).expect("checked in faults()");
                let inside = length.0.min(sc.duration.0.saturating_sub(at.0));
                total += rate_per_s * (multiplier - 1.0) * SimDuration(inside).as_secs_f64();
                if total > limit {
                    return Err(s.error(
                        &format!("events[{i}].rate"),
                        format!(
                            "multiplies clients.rate = {} by {}: with it the run would simulate {total:.3e} requests, more than the {limit:.0e} a run may simulate; lower the multiplier or the rate",
                            show(rate_per_s),
                            show(multiplier)
                        ),
                    ));
                }
            }
            total
        }
        Arrival::Closed { users, think } => {
            let cycle_s = think.as_secs_f64() + sc.cache.latency.mean_ns() / 1e9;
            if cycle_s == 0.0 {
                return Err(s.error(
                    "clients.think",
                    "is 0 and so is cache.latency: a closed-loop user would send requests without simulated time passing; give think or cache.latency a duration above zero",
                ));
            }
            let total = users as f64 * seconds / cycle_s;
            if total > limit {
                return Err(s.error(
                    "clients.clients",
                    format!(
                        "is {users} users thinking {} between requests: over duration {} that is up to {total:.3e} requests, more than the {limit:.0e} a run may simulate; fewer users, a longer think time or a shorter run",
                        format_duration(think),
                        format_duration(sc.duration)
                    ),
                ));
            }
            total
        }
        // A trace's records are counted as it was indexed, whatever their number.
        Arrival::Trace(ref replay) => replay.index.records() as f64,
    };
    // lease-lock: every query renews its lease each `renew` while it runs, so a
    // renewal period far below the query time multiplies the work.
    if let Some(renew) = sc.strategy.needs().locks.renew_every() {
        let query_ns = sc
            .clients
            .classes
            .iter()
            .map(|c| c.query_time.mean_ns())
            .fold(0.0, f64::max);
        let renewals = requests * query_ns / renew.0 as f64;
        if renewals > limit {
            return Err(s.error(
                "strategy.renew",
                format!(
                    "is {}: with queries of {:.3} ms on average, up to {renewals:.3e} lease renewals, more than the {limit:.0e} commands a run may simulate; renew less often",
                    format_duration(renew),
                    query_ns / 1e6
                ),
            ));
        }
    }
    Ok(())
}

/// The `[expect]` table; each entry's problem goes to `problems`.
fn expectations(
    raw: &RawScenario,
    s: &Source,
    problems: &mut Vec<Error>,
) -> Option<Vec<Expectation>> {
    let mut out = Vec::new();
    let before = problems.len();
    for (metric, conditions) in &raw.expect {
        let list = conditions.list();
        if list.is_empty() {
            problems.push(s.error_in(
                "expect",
                metric,
                "has no condition; write one, e.g. \"< 50\"",
            ));
        }
        for text in list {
            match Expectation::parse(metric, text) {
                Ok(e) => out.push(e),
                Err(why) => {
                    problems.push(s.error_in("expect", metric, why));
                    break;
                }
            }
        }
    }
    (problems.len() == before).then_some(out)
}

/// Who sends requests and for which keys: synthetic or a trace's.
struct Workload {
    keys: u32,
    zipf: f64,
    arrival: Arrival,
    churn_per_s: f64,
}

/// `[clients]`; each problem goes to `p`.
fn clients(raw: &RawScenario, s: &Source, p: &mut Vec<Error>) -> Option<Clients> {
    let c = &raw.clients;
    let before = p.len();
    let workload = match &c.trace {
        Some(trace) => replayed(c, trace, raw.cache.shards.unwrap_or(1), s, p),
        None => synthetic(c, s, p),
    };
    let timeout = match c.timeout.as_deref() {
        Some(t) => keep(s.positive_duration("clients.timeout", t), p).map(Some),
        None => Some(None),
    };
    if c.retries > 100 {
        p.push(s.error(
            "clients.retries",
            format!("is {}; at most 100 retries are allowed", c.retries),
        ));
    }
    let retry_backoff = keep(s.duration("clients.retry_backoff", &c.retry_backoff), p);
    if c.app_instances == 0 || c.app_instances > u16::MAX as u32 {
        p.push(s.error(
            "clients.app_instances",
            format!(
                "is {}; it must be between 1 and {}",
                c.app_instances,
                u16::MAX
            ),
        ));
    }
    let clock_skew = match &c.clock_skew {
        Some(t) => keep(s.duration("clients.clock_skew", t), p),
        None => Some(SimDuration::ZERO),
    };
    let cpu_per_command = match &c.cpu_per_command {
        Some(t) => keep(
            s.duration_at_most(
                "clients.cpu_per_command",
                t,
                MAX_CPU_PER_COMMAND,
                " (an app spends microseconds per cache command)",
            ),
            p,
        ),
        None => Some(SimDuration::ZERO),
    };
    let cores_per_instance = match c.cores_per_instance {
        None => Some(None),
        Some(n) if (1..=MAX_CORES as u64).contains(&n) => {
            if c.cpu_per_command.is_none() && raw.cache.compression.is_none() {
                p.push(s.error(
                    "clients.cores_per_instance",
                    "gives cores no work: the app's CPU work is clients.cpu_per_command (and cache.compression); set one of them or remove it",
                ));
            }
            Some(Some(n as u32))
        }
        Some(n) => {
            p.push(s.error(
                "clients.cores_per_instance",
                format!("is {n}; it must be between 1 and {MAX_CORES} (absent: unlimited)"),
            ));
            None
        }
    };
    let local_cache = match &c.local_cache {
        None => Some(None),
        Some(l) => {
            let ttl = keep(s.positive_duration("clients.local_cache.ttl", &l.ttl), p);
            if c.trace.is_some() {
                p.push(s.error(
                    "clients.local_cache",
                    "keeps keys key:1 ... key:N, which only synthetic clients have; remove it with clients.trace",
                ));
            }
            let keys = c.keys.unwrap_or(u64::MAX); // missing: reported with the workload
            if l.keys == 0 || l.keys > keys {
                p.push(s.error(
                    "clients.local_cache.keys",
                    format!(
                        "is {}; it keeps keys key:1 ... key:N, so N must be between 1 and clients.keys",
                        l.keys
                    ),
                ));
            }
            ttl.map(|ttl| {
                Some(LocalCache {
                    keys: l.keys.min(u32::MAX as u64) as u32,
                    ttl,
                })
            })
        }
    };
    let (
        Some(workload),
        Some(timeout),
        Some(retry_backoff),
        Some(clock_skew),
        Some(cpu_per_command),
        Some(cores_per_instance),
        Some(local_cache),
    ) = (
        workload,
        timeout,
        retry_backoff,
        clock_skew,
        cpu_per_command,
        cores_per_instance,
        local_cache,
    )
    else {
        return None;
    };
    (p.len() == before).then(|| Clients {
        keys: workload.keys,
        zipf: workload.zipf,
        arrival: workload.arrival,
        timeout,
        retries: c.retries,
        retry_backoff,
        app_instances: c.app_instances,
        clock_skew,
        churn_per_s: workload.churn_per_s,
        cpu_per_command,
        cores_per_instance,
        local_cache,
        classes: Vec::new(), // validated on their own, see validate_all
    })
}

/// A replayed trace: the keys the synthetic clients would draw are the
/// trace's, so giving any of them is an error.
fn replayed(
    c: &RawClients,
    trace: &RawTrace,
    raw_shards: u64,
    s: &Source,
    p: &mut Vec<Error>,
) -> Option<Workload> {
    let given = [
        ("keys", c.keys.is_some()),
        ("zipf", c.zipf.is_some()),
        ("arrival", c.arrival.is_some()),
        ("rate", c.rate.is_some()),
        ("clients", c.clients.is_some()),
        ("think", c.think.is_some()),
        ("churn", c.churn.is_some()),
        ("classes", !c.classes.is_empty()),
    ];
    for (key, _) in given.iter().filter(|(_, given)| *given) {
        p.push(s.error(
            &format!("clients.{key}"),
            "does not apply with clients.trace: the trace decides which keys are requested, and when; remove it",
        ));
    }
    let sharded = raw_shards > 1;
    let replay = super::trace::replay(trace, sharded, s, p)?;
    Some(Workload {
        keys: replay.index.keys(),
        zipf: 0.0,
        arrival: Arrival::Trace(replay),
        churn_per_s: 0.0,
    })
}

/// Synthetic clients: Zipf keys, open or closed loop, optional churn.
fn synthetic(c: &RawClients, s: &Source, p: &mut Vec<Error>) -> Option<Workload> {
    let before = p.len();
    let keys = match c.keys {
        None => {
            p.push(s.error(
                "clients.keys",
                "is missing; give the number of distinct keys, e.g. keys = 100000 (or replay a trace with clients.trace)",
            ));
            0
        }
        Some(keys) if keys == 0 || keys > MAX_KEYS => {
            p.push(s.error(
                "clients.keys",
                format!("is {keys}; it must be between 1 and {MAX_KEYS}"),
            ));
            0
        }
        Some(keys) => keys as u32,
    };
    let zipf = c.zipf.unwrap_or(1.0);
    if !(zipf.is_finite() && zipf >= 0.0) {
        p.push(s.error(
            "clients.zipf",
            format!("is {zipf}; the Zipf exponent must be >= 0 (0 = uniform popularity)"),
        ));
    }
    let churn_per_s = c.churn.unwrap_or(0.0);
    if !(churn_per_s.is_finite() && churn_per_s >= 0.0) {
        p.push(s.error(
            "clients.churn",
            format!(
                "is {churn_per_s}; it must be >= 0 keys per second (0 = stationary popularity)"
            ),
        ));
    }
    let arrival = arrival(c, s, p);
    (p.len() == before).then(|| Workload {
        keys,
        zipf,
        arrival: arrival.expect("no problem, so an arrival process"),
        churn_per_s,
    })
}

/// `clients.arrival` with the keys it needs.
fn arrival(c: &RawClients, s: &Source, p: &mut Vec<Error>) -> Option<Arrival> {
    match c.arrival.as_deref().unwrap_or("poisson") {
        "poisson" => {
            for (key, given) in [
                ("clients.clients", c.clients.is_some()),
                ("clients.think", c.think.is_some()),
            ] {
                if given {
                    p.push(s.error(
                        key,
                        "applies only to arrival = \"closed\"; remove it or set arrival = \"closed\"",
                    ));
                }
            }
            let Some(rate) = c.rate else {
                p.push(s.error("clients.rate", "is missing; arrival = \"poisson\" needs a rate in requests per second, e.g. rate = 20000"));
                return None;
            };
            if !(rate.is_finite() && rate > 0.0) {
                p.push(s.error(
                    "clients.rate",
                    format!("is {rate}; it must be > 0 requests per second"),
                ));
                return None;
            }
            Some(Arrival::Poisson { rate_per_s: rate })
        }
        "closed" => {
            if c.rate.is_some() {
                p.push(s.error("clients.rate", "applies only to arrival = \"poisson\"; a closed loop is set by clients and think"));
            }
            let users = match c.clients {
                None => {
                    p.push(s.error("clients.clients", "is missing; arrival = \"closed\" needs the number of users, e.g. clients = 500"));
                    None
                }
                Some(users) if users == 0 || users > MAX_USERS => {
                    p.push(s.error(
                        "clients.clients",
                        format!(
                            "is {users}; it must be between 1 and {MAX_USERS} (each user holds a request's state)"
                        ),
                    ));
                    None
                }
                Some(users) => Some(users as u32),
            };
            let think = match &c.think {
                Some(t) => keep(s.duration("clients.think", t), p),
                None => {
                    p.push(s.error("clients.think", "is missing; arrival = \"closed\" needs a mean think time, e.g. think = \"100ms\""));
                    None
                }
            };
            Some(Arrival::Closed {
                users: users?,
                think: think?,
            })
        }
        other => {
            p.push(s.error(
                "clients.arrival",
                format!("is {other:?};{} allowed: \"poisson\" (open loop) or \"closed\" (users wait for answers)", hint(other, &["poisson", "closed"])),
            ));
            None
        }
    }
}

/// `[cache]`; each problem goes to `p`.
fn cache(raw: &RawScenario, s: &Source, p: &mut Vec<Error>) -> Option<Cache> {
    let c = &raw.cache;
    let before = p.len();
    let latency = keep(cache_latency(&c.latency, s), p);
    let ops_per_sec = match c.ops_per_sec {
        Some(ops) if !(ops.is_finite() && (1.0..=MAX_OPS_PER_SEC).contains(&ops)) => {
            p.push(s.error(
                "cache.ops_per_sec",
                format!(
                    "is {}; it must be between 1 and {MAX_OPS_PER_SEC:.0} commands per second (absent: unlimited)",
                    show(ops)
                ),
            ));
            None
        }
        ops => Some(ops),
    };
    let service_per_kb = match (&c.service_per_kb, c.ops_per_sec) {
        (None, _) => Some(SimDuration::ZERO),
        (Some(_), None) => {
            p.push(s.error(
                "cache.service_per_kb",
                "applies only with cache.ops_per_sec: without it commands take no server time; set both or remove it",
            ));
            None
        }
        (Some(t), Some(_)) => keep(
            s.duration_at_most("cache.service_per_kb", t, MAX_CPU_PER_KB, " per KB"),
            p,
        ),
    };
    let shards = match c.shards {
        None => Some(1),
        Some(n) if (1..=MAX_SHARDS as u64).contains(&n) => Some(n as u16),
        Some(n) => {
            p.push(s.error(
                "cache.shards",
                format!(
                    "is {n}; a Redis Cluster has between 1 and {MAX_SHARDS} primaries (1 = a single node)"
                ),
            ));
            None
        }
    };
    if !(0.0..1.0).contains(&c.ttl_jitter) {
        p.push(s.error(
            "cache.ttl_jitter",
            format!(
                "is {}; it must be in [0, 1): each SET draws ttl × U(1 − j, 1 + j)",
                c.ttl_jitter
            ),
        ));
    }
    let prewarm = match c.prewarm.as_str() {
        "none" => Some(Prewarm::None),
        "fresh" => Some(Prewarm::Fresh),
        "steady" => Some(Prewarm::Steady),
        other => {
            p.push(s.error(
                "cache.prewarm",
                format!(
                    "is {other:?};{} allowed: \"none\" (start cold), \"fresh\" (every key just SET at time 0), \"steady\" (random remaining TTLs)",
                    hint(other, &["none", "fresh", "steady"])
                ),
            ));
            None
        }
    };
    let maxmemory_bytes = keep(size_value(&c.maxmemory, "cache.maxmemory", s), p);
    let policy = EvictionPolicy::from_name(&c.policy);
    if policy.is_none() {
        p.push(s.error(
            "cache.policy",
            format!(
                "is {:?};{} allowed: {}",
                c.policy,
                hint(&c.policy, &EvictionPolicy::NAMES),
                EvictionPolicy::NAMES.join(", ")
            ),
        ));
    }
    if !(1..=64).contains(&c.samples) {
        p.push(s.error(
            "cache.samples",
            format!(
                "is {}; maxmemory-samples must be between 1 and 64",
                c.samples
            ),
        ));
    }
    let decay = keep(s.duration("cache.lfu_decay_time", &c.lfu_decay_time), p);
    if let Some(decay) = decay
        && decay.0 % SimDuration::from_secs(60).0 != 0
    {
        p.push(s.error(
            "cache.lfu_decay_time",
            format!(
                "is {}; Redis counts it in whole minutes, e.g. \"1m\" (\"0s\" = no decay)",
                c.lfu_decay_time
            ),
        ));
    }
    if !(1..=500).contains(&c.hz) {
        p.push(s.error(
            "cache.hz",
            format!("is {}; Redis allows hz between 1 and 500", c.hz),
        ));
    }
    for (key, bytes) in [
        ("cache.key_overhead", c.key_overhead),
        ("cache.ttl_overhead", c.ttl_overhead),
    ] {
        if bytes > MAX_OVERHEAD_BYTES {
            p.push(s.error(
                key,
                format!(
                    "is {bytes} bytes; it must be at most {MAX_OVERHEAD_BYTES} (1 MiB): Redis spends tens of bytes per key"
                ),
            ));
        }
    }
    let compression = match &c.compression {
        None => Some(None),
        Some(z) => {
            if !(z.ratio.is_finite() && z.ratio >= 1.0) {
                p.push(s.error(
                    "cache.compression.ratio",
                    format!(
                        "is {}; it must be >= 1 (uncompressed size / stored size)",
                        z.ratio
                    ),
                ));
            }
            let cpu_per_kb = keep(
                s.duration_at_most(
                    "cache.compression.cpu_per_kb",
                    &z.cpu_per_kb,
                    MAX_CPU_PER_KB,
                    " per KB (a 512 MB value would already cost six days of CPU)",
                ),
                p,
            );
            cpu_per_kb.map(|cpu_per_kb| {
                Some(Compression {
                    ratio: z.ratio,
                    cpu_per_kb,
                })
            })
        }
    };
    if !(0.0..1.0).contains(&c.corrupt_rate) {
        p.push(s.error(
            "cache.corrupt_rate",
            format!(
                "is {}; it must be in [0, 1): the share of cached reads that fail to deserialize",
                c.corrupt_rate
            ),
        ));
    }
    let (
        Some(latency),
        Some(ops_per_sec),
        Some(service_per_kb),
        Some(shards),
        Some(prewarm),
        Some(maxmemory_bytes),
        Some(policy),
        Some(decay),
        Some(compression),
    ) = (
        latency,
        ops_per_sec,
        service_per_kb,
        shards,
        prewarm,
        maxmemory_bytes,
        policy,
        decay,
        compression,
    )
    else {
        return None;
    };
    (p.len() == before).then(|| Cache {
        latency,
        ops_per_sec,
        service_per_kb,
        shards,
        server_metrics: c.ops_per_sec.is_some() || c.shards.is_some(),
        ttl_jitter: c.ttl_jitter,
        prewarm,
        maxmemory_bytes,
        policy,
        samples: c.samples,
        key_overhead: c.key_overhead,
        ttl_overhead: c.ttl_overhead,
        lfu_log_factor: c.lfu_log_factor,
        lfu_decay_minutes: (decay.0 / SimDuration::from_secs(60).0) as u32,
        hz: c.hz,
        compression,
        corrupt_rate: c.corrupt_rate,
    })
}

/// Most app CPU time per cache command.
const MAX_CPU_PER_COMMAND: SimDuration = SimDuration(1_000_000_000);
/// Most cores per app instance.
const MAX_CORES: u32 = 65_536;

/// Most commands per second a node may execute (one per nanosecond).
pub const MAX_OPS_PER_SEC: f64 = 1e9;
/// Most Redis Cluster primaries (Redis documents clusters of up to 1000 nodes).
pub const MAX_SHARDS: u16 = 1000;

/// `cache.latency`: a duration, or a distribution table drawn per command.
fn cache_latency(value: &toml::Value, s: &Source) -> Result<Distribution> {
    const KEY: &str = "cache.latency";
    match value {
        toml::Value::String(text) => Ok(Distribution::Constant(s.duration(KEY, text)?)),
        toml::Value::Table(_) => {
            let raw = RawDistribution::deserialize(value.clone())
                .map_err(|e| s.error(KEY, format!("is not a distribution: {}", e.message())))?;
            distribution(&raw, KEY, s)
        }
        other => Err(s.error(
            KEY,
            format!(
                "is {other}; it takes a duration such as \"500us\", or a distribution table such as {{ dist = \"lognormal\", median = \"500us\", p99 = \"4ms\" }}"
            ),
        )),
    }
}

/// Largest value size: Redis's 512 MB string limit.
const MAX_VALUE_BYTES: u64 = 512 * 1024 * 1024;

/// Parses a size: bytes as an integer, or a string with Redis's units
/// (`b`, `k`/`kb`, `m`/`mb`, `g`/`gb`: `k` = 1000, `kb` = 1024, as in redis.conf).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" => 1_000,
        "kb" => 1 << 10,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit; use bytes or b, kb, mb, gb (1024-based) or k, m, g (1000-based)"
            ));
        }
    };
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a size such as 100, \"512b\", \"2kb\" or \"64mb\"")
    })?;
    let bytes = value * scale as f64;
    // A number of hundreds of digits parses as infinity, which `as u64` would
    // silently saturate: compare as floats first.
    if !(bytes.is_finite() && bytes <= MAX_SIZE_BYTES as f64) {
        return Err(too_big(text));
    }
    Ok(bytes.round() as u64)
}

fn too_big(text: &str) -> String {
    format!(
        "`{text}` is too large; the largest size is {MAX_SIZE_BYTES} bytes (\"1048576gb\", 1 PiB)"
    )
}

/// A size given as an integer or a string with units.
fn size_value(value: &toml::Value, key: &str, s: &Source) -> Result<u64> {
    match value {
        toml::Value::Integer(n) if *n >= 0 => match u64::try_from(*n) {
            Ok(bytes) if bytes <= MAX_SIZE_BYTES => Ok(bytes),
            _ => Err(s.error(key, too_big(&n.to_string()))),
        },
        toml::Value::String(text) => parse_size(text).map_err(|why| s.error(key, why)),
        other => Err(s.error(
            key,
            format!("is {other}; expected a size in bytes (>= 0) or a string such as \"64mb\""),
        )),
    }
}

/// A value size: a size, or `{ dist = "constant", value }`,
/// `{ dist = "lognormal", median, sigma }` or `{ dist = "lognormal", median, p99 }`.
fn value_size(value: &toml::Value, key: &str, s: &Source) -> Result<SizeDistribution> {
    let dist = match value {
        toml::Value::Table(t) => {
            let field = |name: &str| {
                t.get(name)
                    .map(|v| size_value(v, &format!("{key}.{name}"), s))
            };
            let allowed = |names: &[&str]| -> Result<()> {
                match t.keys().find(|k| !names.contains(&k.as_str())) {
                    Some(k) => Err(s.error(
                        &format!("{key}.{k}"),
                        format!(
                            "is not a key of this distribution; allowed: {}",
                            names.join(", ")
                        ),
                    )),
                    None => Ok(()),
                }
            };
            match t.get("dist").and_then(|d| d.as_str()) {
                Some("constant") => {
                    allowed(&["dist", "value"])?;
                    let bytes = field("value").ok_or_else(|| {
                        s.error(
                            &format!("{key}.value"),
                            "is missing; dist = \"constant\" needs value, a size such as 100 or \"2kb\"",
                        )
                    })??;
                    SizeDistribution::Constant(bytes)
                }
                Some("lognormal") => {
                    allowed(&["dist", "median", "sigma", "p99"])?;
                    let median = field("median").ok_or_else(|| {
                        s.error(
                            &format!("{key}.median"),
                            "is missing; dist = \"lognormal\" needs median and one of sigma or p99",
                        )
                    })??;
                    if median == 0 || median > MAX_VALUE_BYTES {
                        return Err(s.error(
                            &format!("{key}.median"),
                            format!("is {median} bytes; it must be above 0 and at most Redis's 512 MB string limit"),
                        ));
                    }
                    let sigma = match (t.get("sigma"), field("p99")) {
                        (Some(sigma), None) => sigma
                            .as_float()
                            .or_else(|| sigma.as_integer().map(|i| i as f64))
                            .filter(|x| x.is_finite() && *x > 0.0 && *x <= MAX_SIZE_SIGMA)
                            .ok_or_else(|| {
                                s.error(
                                    &format!("{key}.sigma"),
                                    format!("is {sigma}; it must be a number in (0, {MAX_SIZE_SIGMA}] (ln-bytes)"),
                                )
                            })?,
                        (None, Some(p99)) => {
                            let p99 = p99?;
                            if p99 <= median {
                                return Err(
                                    s.error(&format!("{key}.p99"), "must exceed the median")
                                );
                            }
                            let sigma = (p99 as f64 / median as f64).ln() / Z99;
                            if sigma > MAX_SIZE_SIGMA {
                                return Err(s.error(
                                    &format!("{key}.p99"),
                                    format!("is {p99} bytes, over {:.0e} times the median: the lognormal's sigma would exceed {MAX_SIZE_SIGMA}", (MAX_SIZE_SIGMA * Z99).exp()),
                                ));
                            }
                            sigma
                        }
                        _ => {
                            return Err(s.error(
                                &format!("{key}.sigma"),
                                "and p99: a lognormal size needs exactly one of them, not both or neither",
                            ));
                        }
                    };
                    SizeDistribution::Lognormal {
                        mu: (median as f64).ln(),
                        sigma,
                    }
                }
                _ => {
                    return Err(s.error(
                        &format!("{key}.dist"),
                        format!(
                            "is {}; allowed: \"constant\" (with value) or \"lognormal\" (with median and sigma or p99); or give {key} as a size such as 100 or \"2kb\"",
                            t.get("dist").map_or("missing".to_string(), |d| d.to_string())
                        ),
                    ));
                }
            }
        }
        other => SizeDistribution::Constant(size_value(other, key, s)?),
    };
    if let SizeDistribution::Constant(bytes) = dist
        && bytes > MAX_VALUE_BYTES
    {
        return Err(s.error(
            key,
            format!(
                "is {bytes} bytes; it exceeds Redis's 512 MB string limit ({MAX_VALUE_BYTES} bytes)"
            ),
        ));
    }
    Ok(dist)
}

/// A TTL: a duration, or `"none"` for no expiry.
fn ttl(text: Option<&str>, key: &str, s: &Source) -> Result<Option<SimDuration>> {
    match text {
        None | Some("none") => Ok(None),
        Some(t) => s.positive_duration(key, t).map(Some),
    }
}

/// The key classes; without `[[clients.classes]]`, one class "default" with
/// the cache and database settings. Each problem goes to `p`.
fn classes(raw: &RawScenario, s: &Source, p: &mut Vec<Error>) -> Option<Vec<KeyClass>> {
    let before = p.len();
    let default_ttl = keep(ttl(raw.cache.ttl.as_deref(), "cache.ttl", s), p);
    let default_size = keep(value_size(&raw.cache.value_size, "cache.value_size", s), p);
    let default_query = keep(
        distribution(&raw.database.query_time, "database.query_time", s),
        p,
    );
    if raw.clients.classes.is_empty() {
        return Some(vec![KeyClass {
            name: "default".into(),
            share: 1.0,
            ttl: default_ttl?,
            value_size: default_size?,
            query_time: default_query?,
        }]);
    }
    let mut out: Vec<KeyClass> = Vec::new();
    for (i, c) in raw.clients.classes.iter().enumerate() {
        let key = |field: &str| format!("clients.classes[{i}].{field}");
        if c.name.is_empty() || raw.clients.classes[..i].iter().any(|o| o.name == c.name) {
            p.push(s.error(
                &key("name"),
                format!(
                    "is {:?}; class names must be non-empty and distinct",
                    c.name
                ),
            ));
        }
        if !(c.share.is_finite() && c.share > 0.0) {
            p.push(s.error(
                &key("share"),
                format!("is {}; a share must be > 0", c.share),
            ));
        }
        let ttl = match &c.ttl {
            Some(t) => keep(ttl(Some(t), &key("ttl"), s), p),
            None => default_ttl,
        };
        let value_size = match &c.value_size {
            Some(v) => keep(value_size(v, &key("value_size"), s), p),
            None => default_size,
        };
        let query_time = match &c.query_time {
            Some(q) => keep(distribution(q, &key("query_time"), s), p),
            None => default_query,
        };
        if let (Some(ttl), Some(value_size), Some(query_time)) = (ttl, value_size, query_time) {
            out.push(KeyClass {
                name: c.name.clone(),
                share: c.share,
                ttl,
                value_size,
                query_time,
            });
        }
    }
    let total: f64 = raw.clients.classes.iter().map(|c| c.share).sum();
    if total.is_finite() && (total - 1.0).abs() > 1e-6 {
        p.push(s.error(
            "clients.classes",
            format!("shares add up to {total}; they must add up to 1"),
        ));
    }
    if raw.clients.classes.len() > u8::MAX as usize {
        p.push(s.error("clients.classes", "at most 255 classes are supported"));
    }
    (p.len() == before).then_some(out)
}

/// `[database]`; each problem goes to `p`.
fn database(raw: &RawScenario, s: &Source, p: &mut Vec<Error>) -> Option<Database> {
    let d = &raw.database;
    let before = p.len();
    if d.connections == 0 || d.connections > 1_000_000 {
        p.push(s.error(
            "database.connections",
            format!(
                "is {}; the pool must have between 1 and 1000000 connections",
                d.connections
            ),
        ));
    }
    let pool_timeout = match d.pool_timeout.as_deref() {
        Some(t) => keep(s.positive_duration("database.pool_timeout", t), p).map(Some),
        None => Some(None),
    };
    match d.cores {
        Some(0) => p.push(s.error(
            "database.cores",
            "is 0; it must be at least 1 (or absent: no CPU limit)",
        )),
        Some(c) if c > u32::MAX as u64 => {
            p.push(s.error("database.cores", format!("is {c}; too large")))
        }
        _ => {}
    }
    let pool_timeout = pool_timeout?;
    (p.len() == before).then(|| Database {
        connections: d.connections as u32,
        pool_timeout,
        cores: d.cores.map(|c| c as u32),
    })
}

/// Validates a duration distribution written at `key`.
pub fn distribution(raw: &RawDistribution, key: &str, s: &Source) -> Result<Distribution> {
    let field = |name: &str| format!("{key}.{name}");
    let takes: &[&str] = match raw.dist.as_str() {
        "constant" => &["value"],
        "exponential" => &["mean"],
        "lognormal" => &["median", "p99"],
        other => {
            return Err(s.error(
                &field("dist"),
                format!(
                    "is {other:?};{} allowed: \"constant\" (with value), \"exponential\" (with mean), \"lognormal\" (with median and p99)",
                    hint(other, &["constant", "exponential", "lognormal"])
                ),
            ));
        }
    };
    let params = [
        ("value", &raw.value),
        ("mean", &raw.mean),
        ("median", &raw.median),
        ("p99", &raw.p99),
    ];
    if let Some((name, _)) = params
        .iter()
        .find(|(name, v)| v.is_some() && !takes.contains(name))
    {
        return Err(s.error(
            &field(name),
            format!(
                "does not apply to dist = \"{}\", which takes {}",
                raw.dist,
                takes.join(" and ")
            ),
        ));
    }
    let need = |name: &str, value: &Option<String>| -> Result<String> {
        value.clone().ok_or_else(|| {
            s.error(
                &field(name),
                format!(
                    "is missing; dist = \"{}\" needs {}",
                    raw.dist,
                    takes.join(" and ")
                ),
            )
        })
    };
    Ok(match raw.dist.as_str() {
        "constant" => {
            Distribution::Constant(s.duration(&field("value"), &need("value", &raw.value)?)?)
        }
        "exponential" => Distribution::Exponential(
            s.positive_duration(&field("mean"), &need("mean", &raw.mean)?)?,
        ),
        _ => {
            let median = need("median", &raw.median)?;
            let p99 = need("p99", &raw.p99)?;
            let median_ns = s.positive_duration(&field("median"), &median)?.0 as f64;
            let p99_ns = s.duration(&field("p99"), &p99)?.0 as f64;
            if p99_ns <= median_ns {
                return Err(s.error(
                    &field("p99"),
                    format!("is {p99}, not above the median {median}; a lognormal's p99 exceeds its median"),
                ));
            }
            let mu = median_ns.ln();
            let sigma = (p99_ns / median_ns).ln() / Z99;
            let mean_ns = (mu + sigma * sigma / 2.0).exp();
            if mean_ns > MAX_DURATION.0 as f64 {
                return Err(s.error(
                    &field("p99"),
                    format!(
                        "is {p99} with median {median}: so wide a lognormal has a mean above {} (100 years), the longest allowed duration; narrow it",
                        format_duration(MAX_DURATION)
                    ),
                ));
            }
            Distribution::Lognormal { mu, sigma }
        }
    })
}

/// `[strategy]`: its kind, then the kind's options.
fn strategy(raw: &RawScenario, s: &Source) -> std::result::Result<Strategy, Vec<Error>> {
    let st = &raw.strategy;
    let name = st.kind.as_str();
    let kind = strategy::kind(name)
        .ok_or_else(|| {
            s.error(
                "strategy.kind",
                format!(
                    "is {name:?};{} allowed: {}",
                    hint(
                        name,
                        &strategy::KINDS.iter().map(|k| k.name).collect::<Vec<_>>()
                    ),
                    strategy::KINDS
                        .iter()
                        .map(|k| format!("\"{}\"", k.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
        .map_err(|e| vec![e])?;
    let takes = if kind.options.is_empty() {
        "no options".to_string()
    } else {
        kind.options.join(", ")
    };
    let unknown: Vec<Error> = st
        .options
        .keys()
        .filter(|o| !kind.options.contains(&o.as_str()))
        .map(|option| {
            let problem = if strategy::KINDS
                .iter()
                .any(|k| k.options.contains(&option.as_str()))
            {
                format!("does not apply to kind = \"{name}\", which takes {takes}")
            } else {
                format!(
                    "is not a strategy option;{} kind = \"{name}\" takes {takes}",
                    hint(option, kind.options)
                )
            };
            s.error(&format!("strategy.{option}"), problem)
        })
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    Strategy::parse(kind, &strategy::Options::new(&st.options))
        .map_err(|p| vec![s.error(&p.key, p.message)])
}

/// The `[[events]]`, in time order; each event's problem goes to `problems`.
fn faults(
    raw: &RawScenario,
    duration: SimDuration,
    s: &Source,
    problems: &mut Vec<Error>,
) -> Option<Vec<Fault>> {
    let before = problems.len();
    let out: Vec<Fault> = (0..raw.events.len())
        .filter_map(|i| keep(fault(raw, i, duration, s), problems))
        .collect();
    (problems.len() == before).then(|| {
        let mut out = out;
        out.sort_by_key(|f| f.at);
        out
    })
}

/// The `i`-th `[[events]]`.
fn fault(raw: &RawScenario, i: usize, duration: SimDuration, s: &Source) -> Result<Fault> {
    let e = &raw.events[i];
    {
        let key = |field: &str| format!("events[{i}].{field}");
        let at = s.duration(&key("at"), &e.at)?;
        if at >= duration {
            return Err(s.error(
                &key("at"),
                format!(
                    "is {}, not before the end of the run ({})",
                    e.at,
                    format_duration(duration)
                ),
            ));
        }
        let needs = |name: &str, present: bool| -> Result<()> {
            if present {
                Ok(())
            } else {
                Err(s.error(
                    &key(name),
                    format!("is missing; a {} event needs it", e.kind),
                ))
            }
        };
        let forbid = |names: &[(&str, bool)]| -> Result<()> {
            match names.iter().find(|(_, present)| *present) {
                Some((name, _)) => {
                    Err(s.error(&key(name), format!("does not apply to a {} event", e.kind)))
                }
                None => Ok(()),
            }
        };
        let lasting = || -> Result<SimDuration> {
            needs("duration", e.duration.is_some())?;
            s.positive_duration(&key("duration"), e.duration.as_deref().unwrap_or_default())
        };
        // The shard a flush or cache-down hits: 0-based, below cache.shards.
        let shard = || -> Result<Option<u16>> {
            let Some(shard) = e.shard else {
                return Ok(None);
            };
            let shards = raw.cache.shards.unwrap_or(1);
            if shard >= shards {
                return Err(s.error(
                    &key("shard"),
                    format!(
                        "is {shard}; shards are numbered from 0 to cache.shards - 1 = {}, in slot order",
                        shards.saturating_sub(1)
                    ),
                ));
            }
            Ok(Some(shard as u16))
        };
        if e.shard.is_some() && !matches!(e.kind.as_str(), "flush" | "cache-down") {
            return Err(s.error(
                &key("shard"),
                format!(
                    "does not apply to a {} event; only flush and cache-down hit one shard",
                    e.kind
                ),
            ));
        }
        let kind = match e.kind.as_str() {
            "flush" => {
                forbid(&[
                    ("duration", e.duration.is_some()),
                    ("rank", e.rank.is_some()),
                    ("rate", e.rate.is_some()),
                    ("factor", e.factor.is_some()),
                ])?;
                FaultKind::Flush { shard: shard()? }
            }
            "cache-down" => {
                forbid(&[
                    ("rank", e.rank.is_some()),
                    ("rate", e.rate.is_some()),
                    ("factor", e.factor.is_some()),
                ])?;
                FaultKind::CacheDown {
                    duration: lasting()?,
                    shard: shard()?,
                }
            }
            "evict" => {
                forbid(&[
                    ("duration", e.duration.is_some()),
                    ("rate", e.rate.is_some()),
                    ("factor", e.factor.is_some()),
                ])?;
                needs("rank", e.rank.is_some())?;
                let rank = e.rank.unwrap_or_default();
                if raw.clients.trace.is_some() {
                    return Err(s.error(
                        &key("kind"),
                        "is \"evict\", which names a key by its popularity rank: only synthetic clients have ranks; in a trace, a delete record invalidates a key",
                    ));
                }
                let keys = raw.clients.keys.unwrap_or(u64::MAX); // missing: reported in [clients]
                if rank == 0 || rank > keys {
                    return Err(s.error(
                        &key("rank"),
                        format!("is {rank}; ranks go from 1 (hottest) to clients.keys = {keys}"),
                    ));
                }
                FaultKind::Evict { rank: rank as u32 }
            }
            "spike" => {
                forbid(&[("rank", e.rank.is_some()), ("factor", e.factor.is_some())])?;
                if raw.clients.trace.is_some() {
                    return Err(s.error(
                        &key("kind"),
                        "is \"spike\", which multiplies the synthetic request rate; a trace's arrivals are its own: replay it faster with clients.trace.speed",
                    ));
                }
                needs("rate", e.rate.is_some())?;
                let multiplier = e.rate.unwrap_or_default();
                if !(multiplier.is_finite() && multiplier > 0.0) {
                    return Err(s.error(
                        &key("rate"),
                        format!("is {multiplier}; the rate multiplier must be > 0"),
                    ));
                }
                FaultKind::Spike {
                    multiplier,
                    duration: lasting()?,
                }
            }
            "db-slowdown" => {
                forbid(&[("rank", e.rank.is_some()), ("rate", e.rate.is_some())])?;
                needs("factor", e.factor.is_some())?;
                let factor = e.factor.unwrap_or_default();
                if !(factor.is_finite() && (0.01..=MAX_SLOWDOWN).contains(&factor)) {
                    return Err(s.error(
                        &key("factor"),
                        format!(
                            "is {factor}; the query-time multiplier must be between 0.01 and {MAX_SLOWDOWN}"
                        ),
                    ));
                }
                FaultKind::DbSlowdown {
                    factor,
                    duration: lasting()?,
                }
            }
            other => {
                return Err(s.error(
                    &key("kind"),
                    format!(
                        "is {other:?};{} allowed: \"flush\", \"cache-down\", \"evict\", \"spike\", \"db-slowdown\"",
                        hint(other, &["flush", "cache-down", "evict", "spike", "db-slowdown"])
                    ),
                ));
            }
        };
        Ok(Fault { at, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys() {
        let text = "name = \"x\"\n\n[clients]\nkeys = 5\nrate = -1\n";
        assert_eq!(locate(text, "clients.rate"), Some((5, 1)));
        assert_eq!(locate(text, "name"), Some((1, 1)));
        assert_eq!(locate(text, "cache.ttl"), None);
    }

    #[test]
    fn lognormal_matches_median_and_p99() {
        let source = Source {
            file: "t",
            text: "",
            overridden: &[],
        };
        let d = distribution(
            &RawDistribution {
                dist: "lognormal".into(),
                value: None,
                mean: None,
                median: Some("20ms".into()),
                p99: Some("120ms".into()),
            },
            "q",
            &source,
        )
        .unwrap();
        let Distribution::Lognormal { mu, sigma } = d else {
            panic!("lognormal expected")
        };
        assert!((mu.exp() - 20e6).abs() < 1.0);
        assert!(((mu + Z99 * sigma).exp() - 120e6).abs() < 10.0);
    }
}
