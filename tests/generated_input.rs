//! Generated bad input (issue 10): seeded random mutations of every bundled
//! scenario and random `--set PATH=VALUE` values.
//!
//! Every input must either be refused with a one-paragraph `Error::BadInput`
//! that names the key it concerns in backticks (with the file's line when the
//! key is written in the file, or the `--set` that gave it), or validate. A
//! sample of the valid ones, made small, runs through the engine (no panic, no
//! hang), and the binary is driven on a few hundred of the files (exit 0 or 2,
//! never a panic or a signal; on 2 a key in the message and no output directory).
//!
//! The generator is ChaCha8 seeded with [`SEED`] (or `STAMPEDE_GEN_SEED`): a
//! failure names the case (scenario, mutation, seed), and the same seed reproduces it.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use stampede::Error;
use stampede::scenario::{self, Arrival, Scenario, validate::locate};
use toml::{Table, Value};

use crate::common::{repo, stampede};

/// Seed of the generator; `STAMPEDE_GEN_SEED=N cargo test --release generated_input`
/// explores other inputs.
const SEED: u64 = 10;

fn seed() -> u64 {
    std::env::var("STAMPEDE_GEN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED)
}
/// File mutations per bundled scenario.
const FILE_CASES: usize = 400;
/// `--set` mutations per bundled scenario.
const SET_CASES: usize = 120;
/// Valid inputs run through the engine (made small first).
const ENGINE_RUNS: usize = 100;
/// Inputs given to the binary: refused ones, then valid ones made small.
const BINARY_REFUSED: usize = 260;
const BINARY_VALID: usize = 24;
/// Requests a valid input may be expected to make once made small.
const SMALL_WORK: f64 = 50_000.0;
/// A run of the engine on a small input taking longer than this is a hang
/// (the engine stops stalled, overloaded and endless runs itself; this only
/// backs it up, with room for a busy 2-core CI machine).
const HANG: Duration = Duration::from_secs(120);

/// The top-level keys of a scenario; every error must be about one of them
/// (or about an unknown key the generator added).
const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "duration",
    "warmup",
    "seed",
    "interval",
    "max_in_flight",
    "clients",
    "cache",
    "database",
    "strategy",
    "events",
    "sweep",
    "expect",
];

/// Dotted paths `--set` may aim at beyond those a file writes (optional keys).
const EXTRA_PATHS: &[&str] = &[
    "clients.timeout",
    "clients.think",
    "clients.clients",
    "clients.clock_skew",
    "clients.churn",
    "clients.retries",
    "cache.ttl",
    "cache.ttl_jitter",
    "cache.maxmemory",
    "cache.value_size",
    "cache.key_overhead",
    "cache.ttl_overhead",
    "cache.hz",
    "cache.samples",
    "cache.lfu_log_factor",
    "cache.lfu_decay_time",
    "cache.compression",
    "cache.compression.ratio",
    "cache.compression.cpu_per_kb",
    "cache.corrupt_rate",
    "database.pool_timeout",
    "database.cores",
    "database.query_time",
    "database.query_time.p99",
    "strategy.kind",
    "strategy.lease",
    "strategy.retry",
    "strategy.beta",
    "strategy.renew",
    "strategy.max_wait",
    "strategy.window",
    "strategy.lease_interval",
    "strategy.stale",
    "strategy.probability",
    "max_in_flight",
    "interval",
    "warmup",
];

/// One generated input.
#[derive(Clone)]
struct Case {
    /// Scenario file and mutation, to reproduce a failure.
    label: String,
    /// The scenario text.
    text: String,
    /// `--set PATH=VALUE` arguments.
    sets: Vec<String>,
    /// The dotted path the mutation touched.
    mutated: String,
    /// Keys the generator invented (unknown-key mutations), which errors may name.
    invented: Vec<String>,
}

/// What loading a case gave.
enum Verdict {
    Refused(String),
    Valid(Box<Scenario>),
}

#[test]
fn generated_inputs_are_refused_with_their_key_or_validate() {
    let started = Instant::now();
    let seed = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cases = Vec::new();
    for file in bundled() {
        let text = std::fs::read_to_string(&file).expect("bundled scenario");
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let table: Table = toml::from_str(&text).expect("bundled scenarios parse");
        for i in 0..FILE_CASES {
            cases.push(file_case(&mut rng, &name, i, &table));
        }
        for i in 0..SET_CASES {
            cases.push(set_case(&mut rng, &name, i, &text, &table));
        }
    }

    let mut failures = Vec::new();
    let mut refused = Vec::new();
    let mut valid = Vec::new();
    let mut names_mutated = 0;
    for case in &cases {
        match load(case) {
            Verdict::Refused(message) => {
                if let Err(why) = check_refusal(case, &message) {
                    failures.push(format!("{}: {why}\n    message: {message}", case.label));
                }
                if message.contains(&format!("`{}", root(&case.mutated))) {
                    names_mutated += 1;
                }
                refused.push(case.clone());
            }
            Verdict::Valid(s) => valid.push((case.clone(), s)),
        }
    }

    let loaded_s = started.elapsed().as_secs_f64();

    // A sample of the valid inputs, made small, through the engine.
    let step = (valid.len() / ENGINE_RUNS).max(1);
    let mut engine_runs = 0;
    let mut small_valid = Vec::new();
    for (case, s) in valid.iter().step_by(step) {
        let Some((small_case, small)) = make_small(case, s) else {
            continue;
        };
        if engine_runs < ENGINE_RUNS {
            engine_runs += 1;
            if let Err(why) = run_with_deadline(small.clone()) {
                failures.push(format!(
                    "{}: engine {why} on a valid input (sets {:?})",
                    small_case.label, small_case.sets
                ));
            }
        }
        small_valid.push(small_case);
    }

    let engine_s = started.elapsed().as_secs_f64() - loaded_s;

    // The binary on refused and small valid files.
    let tmp = tempfile::tempdir().expect("temp dir");
    let step = (refused.len() / BINARY_REFUSED).max(1);
    let mut jobs: Vec<(Case, bool)> = refused
        .iter()
        .step_by(step)
        .take(BINARY_REFUSED)
        .map(|c| (c.clone(), false))
        .collect();
    jobs.extend(
        small_valid
            .iter()
            .take(BINARY_VALID)
            .map(|c| (c.clone(), true)),
    );
    let binary_runs = jobs.len();
    let halves: Vec<Vec<(usize, (Case, bool))>> = {
        let (a, b): (Vec<_>, Vec<_>) = jobs.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
        vec![a, b]
    };
    let binary_failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = halves
            .into_iter()
            .map(|half| {
                let dir = tmp.path().to_path_buf();
                scope.spawn(move || {
                    half.into_iter()
                        .filter_map(|(i, (case, ok))| drive_binary(&dir, i, &case, ok).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("binary driver thread"))
            .collect()
    });
    failures.extend(binary_failures);

    eprintln!(
        "generated input: {} cases ({} refused, {} of them naming the mutated key's table; {} valid), \
         {engine_runs} engine runs, {binary_runs} binary runs, in {:.1} s \
         (loading {loaded_s:.1} s, engine {engine_s:.1} s; seed {seed})",
        cases.len(),
        refused.len(),
        names_mutated,
        valid.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        refused.len() > cases.len() / 2 && !valid.is_empty(),
        "the generator should produce both refused and valid inputs"
    );
    assert!(
        failures.is_empty(),
        "{} generated inputs misbehaved (seed {seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The bundled scenarios, in name order.
fn bundled() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn load(case: &Case) -> Verdict {
    match scenario::from_text(&case.text, Path::new("gen.toml"), &case.sets) {
        Ok((s, _)) => Verdict::Valid(Box::new(s)),
        Err(Error::BadInput(message)) => Verdict::Refused(message),
        Err(other) => Verdict::Refused(format!("not BadInput: {other}")),
    }
}

/// The first segment of a dotted path (`clients` of `clients.classes[0].ttl`).
fn root(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// A refusal must be one paragraph naming, in backticks, a key of the scenario,
/// with `gen.toml:LINE:COLUMN` when that key is written in the file, or the `--set`.
/// Several problems (issue 11) come as `N problems in gen.toml:` and one such
/// paragraph a line, in file order.
fn check_refusal(case: &Case, message: &str) -> Result<(), String> {
    if message.starts_with("not BadInput") {
        return Err("not a BadInput error".into());
    }
    if let Some((head, rest)) = message.split_once(" problems in gen.toml:\n") {
        let n: usize = head.parse().map_err(|_| "a malformed list of problems")?;
        let lines: Vec<&str> = rest.lines().collect();
        if lines.len() != n || n < 2 {
            return Err(format!("{n} problems announced, {} listed", lines.len()));
        }
        let mut last = (0, 0);
        for line in &lines {
            let line = line.strip_prefix("  ").ok_or("a problem not indented")?;
            one_problem(case, line)?;
            let mut fields = line.split(':').skip(1).map(|f| f.parse::<usize>().ok());
            if let (Some(Some(l)), Some(Some(c))) = (fields.next(), fields.next()) {
                if (l, c) < last {
                    return Err("problems not in file order".into());
                }
                last = (l, c);
            }
        }
        return Ok(());
    }
    if message.contains('\n') {
        return Err("the message is not one paragraph".into());
    }
    one_problem(case, message)
}

/// One problem: a paragraph naming a key of the scenario, with its place.
fn one_problem(case: &Case, message: &str) -> Result<(), String> {
    let mut parts = message.splitn(3, '`');
    let place = parts.next().unwrap_or_default();
    let key = parts
        .next()
        .filter(|k| !k.is_empty())
        .ok_or("the message names no key in backticks")?;
    let top = root(key).trim_matches('"');
    if !TOP_KEYS.contains(&top) && !case.invented.iter().any(|k| k == top) {
        return Err(format!("`{key}` is not a key of a scenario"));
    }
    let from_set = place.contains("--set");
    if !from_set {
        if !place.starts_with("gen.toml") {
            return Err(format!(
                "the message does not start with the file: {place:?}"
            ));
        }
        if locate(&case.text, key).is_some() && !has_line(place) {
            return Err(format!(
                "`{key}` is in the file but the message gives no line"
            ));
        }
    }
    Ok(())
}

/// Whether `place` is `gen.toml:LINE:COLUMN: `.
fn has_line(place: &str) -> bool {
    let mut fields = place.trim_end().trim_end_matches(':').split(':');
    fields.next() == Some("gen.toml")
        && fields.next().is_some_and(|l| l.parse::<usize>().is_ok())
        && fields.next().is_some_and(|c| c.parse::<usize>().is_ok())
}

// ---------------------------------------------------------------------------
// Mutations

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Every leaf path (`clients.rate`, `clients.classes[1].ttl`) and table path of `table`.
fn paths(table: &Table, prefix: &str, leaves: &mut Vec<String>, tables: &mut Vec<String>) {
    for (k, v) in table {
        if k.contains('.') {
            continue; // `[expect] "latency_ms.p99"`: not addressable by a dotted path
        }
        let path = format!("{prefix}{k}");
        match v {
            Value::Table(t) => {
                tables.push(path.clone());
                paths(t, &format!("{path}."), leaves, tables);
            }
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_table) => {
                for (i, item) in items.iter().enumerate() {
                    let element = format!("{path}[{i}]");
                    tables.push(element.clone());
                    paths(
                        item.as_table().expect("checked"),
                        &format!("{element}."),
                        leaves,
                        tables,
                    );
                }
            }
            _ => leaves.push(path),
        }
    }
}

/// The value at dotted `path` (segments may be indexed: `events[0]`).
fn value_mut<'a>(table: &'a mut Table, path: &str) -> Option<&'a mut Value> {
    let mut parts = path.split('.').peekable();
    let mut current = table;
    loop {
        let part = parts.next()?;
        let (name, index) = match part.strip_suffix(']').and_then(|p| p.split_once('[')) {
            Some((name, i)) => (name, Some(i.parse::<usize>().ok()?)),
            None => (part, None),
        };
        let mut value = current.get_mut(name)?;
        if let Some(i) = index {
            value = value.as_array_mut()?.get_mut(i)?;
        }
        if parts.peek().is_none() {
            return Some(value);
        }
        current = value.as_table_mut()?;
    }
}

/// Removes the key at `path` (whose last segment is a plain key).
fn remove(table: &mut Table, path: &str) {
    match path.rsplit_once('.') {
        None => {
            table.remove(path);
        }
        Some((parent, last)) => {
            if let Some(Value::Table(t)) = value_mut(table, parent) {
                t.remove(last);
            }
        }
    }
}

fn huge_number(rng: &mut ChaCha8Rng) -> Value {
    match rng.random_range(0..14) {
        0 => Value::Integer(i64::MAX),
        1 => Value::Integer(-1),
        2 => Value::Integer(0),
        3 => Value::Float(1e300),
        4 => Value::Float(-1e300),
        5 => Value::Float(f64::NAN),
        6 => Value::Float(f64::INFINITY),
        7 => Value::Float(f64::NEG_INFINITY),
        8 => Value::Float(1e-300),
        9 => Value::Integer(4_294_967_296),
        10 => Value::Float(0.5),
        11 => Value::Integer(1 << 40),
        12 => Value::Float(-0.0),
        _ => Value::Integer(rng.random_range(-1000..1_000_000)),
    }
}

fn duration_string(rng: &mut ChaCha8Rng) -> Value {
    let huge = format!("1{}s", "0".repeat(rng.random_range(20..400)));
    let pool = [
        "36501d",
        "36500d",
        "300000000000d",
        "1e30s",
        "-5s",
        "0s",
        "1ns",
        "0.0000001ns",
        "1.5.5s",
        "5",
        "1m30s",
        "18446744073709551615ns",
        huge.as_str(),
    ];
    Value::String(pick(rng, &pool).to_string())
}

fn garbage_string(rng: &mut ChaCha8Rng) -> Value {
    let pool = [
        "",
        " ",
        "garbage",
        "∞",
        "nan",
        "inf",
        "1e400kb",
        "-1kb",
        "none",
        "lock",
        "allkeys-lru",
        "closed",
        "64mb",
        "99999999gb",
    ];
    Value::String(pick(rng, &pool).to_string())
}

/// A value of a type other than `old`'s.
fn other_type(rng: &mut ChaCha8Rng, old: &Value) -> Value {
    loop {
        let v = match rng.random_range(0..7) {
            0 => Value::Integer(rng.random_range(-5..100_000)),
            1 => Value::Float(rng.random_range(-2.0..1e6)),
            2 => Value::Boolean(rng.random_bool(0.5)),
            3 => garbage_string(rng),
            4 => Value::Array(vec![Value::Integer(1), Value::String("x".into())]),
            5 => {
                let mut t = Table::new();
                t.insert("dist".into(), Value::String("constant".into()));
                t.insert("value".into(), Value::String("5ms".into()));
                Value::Table(t)
            }
            _ => duration_string(rng),
        };
        if std::mem::discriminant(&v) != std::mem::discriminant(old) {
            return v;
        }
    }
}

/// A case: `scenario` with one (sometimes two) random mutations.
fn file_case(rng: &mut ChaCha8Rng, scenario: &str, i: usize, original: &Table) -> Case {
    let mut table = original.clone();
    let (mut leaves, mut tables) = (Vec::new(), Vec::new());
    paths(&table, "", &mut leaves, &mut tables);
    let kind = rng.random_range(0..10);
    let mut mutated = String::new();
    let mut invented = Vec::new();
    let mut suffix = String::new();
    let mut describe = String::new();
    let mutations = if rng.random_bool(0.15) { 2 } else { 1 };
    for _ in 0..mutations {
        let leaf = pick(rng, &leaves).clone();
        let table_path = pick(rng, &tables).clone();
        let kind = if mutations == 1 {
            kind
        } else {
            rng.random_range(0..10)
        };
        let (what, path) = match kind {
            0 => {
                remove(&mut table, &leaf);
                ("delete", leaf)
            }
            1 => {
                let old = value_mut(&mut table, &leaf).expect("leaf").clone();
                *value_mut(&mut table, &leaf).expect("leaf") = other_type(rng, &old);
                ("other type", leaf)
            }
            2 => {
                *value_mut(&mut table, &leaf).expect("leaf") = huge_number(rng);
                ("extreme number", leaf)
            }
            3 => {
                *value_mut(&mut table, &leaf).expect("leaf") = duration_string(rng);
                ("duration string", leaf)
            }
            4 => {
                *value_mut(&mut table, &leaf).expect("leaf") = garbage_string(rng);
                ("garbage string", leaf)
            }
            5 => {
                let slot = value_mut(&mut table, &table_path).expect("table");
                let values: Vec<Value> = slot
                    .as_table()
                    .map(|t| t.values().cloned().collect())
                    .unwrap_or_default();
                *slot = Value::Array(values);
                ("array for a table", table_path)
            }
            6 => {
                let top = root(&table_path).to_string();
                suffix.push_str(&format!("\n[{top}]\nseed = 1\n"));
                ("duplicate table", top)
            }
            7 => {
                let name = if rng.random_bool(0.5) {
                    let last = leaf.rsplit('.').next().unwrap_or(&leaf);
                    format!("{}x", &last[..last.len().saturating_sub(1)])
                } else {
                    "colour".to_string()
                };
                let path = match value_mut(&mut table, &table_path) {
                    Some(Value::Table(t)) if rng.random_bool(0.8) => {
                        t.insert(name.clone(), Value::Integer(1));
                        format!("{table_path}.{name}")
                    }
                    _ => {
                        table.insert(name.clone(), Value::Integer(1));
                        name.clone()
                    }
                };
                invented.push(name);
                ("unknown key", path)
            }
            8 => {
                *value_mut(&mut table, &table_path).expect("table") = huge_number(rng);
                ("scalar for a table", table_path)
            }
            _ => {
                let v = if rng.random_bool(0.5) {
                    Value::Float(rng.random_range(0.0..1e7))
                } else {
                    Value::Integer(rng.random_range(0..2_000_000))
                };
                *value_mut(&mut table, &leaf).expect("leaf") = v;
                ("random number", leaf)
            }
        };
        // A second mutation may aim inside a table the first one replaced.
        leaves = Vec::new();
        tables = Vec::new();
        paths(&table, "", &mut leaves, &mut tables);
        if leaves.is_empty() || tables.is_empty() {
            leaves.push("name".into());
            tables.push("clients".into());
        }
        describe.push_str(&format!("{what} {path}; "));
        mutated = path;
    }
    let text = toml::to_string(&table).expect("a table serialises") + &suffix;
    Case {
        label: format!("{scenario} file case {i}: {describe}"),
        text,
        sets: Vec::new(),
        mutated,
        invented,
    }
}

/// A case: `scenario` as written with one or two random `--set` values.
fn set_case(rng: &mut ChaCha8Rng, scenario: &str, i: usize, text: &str, table: &Table) -> Case {
    let (mut leaves, mut tables) = (Vec::new(), Vec::new());
    paths(table, "", &mut leaves, &mut tables);
    leaves.retain(|p| !p.contains('[')); // --set has no index syntax
    leaves.extend(EXTRA_PATHS.iter().map(|p| p.to_string()));
    let values = [
        "0",
        "-1",
        "1e300",
        "nan",
        "inf",
        "-inf",
        "9223372036854775807",
        "99999999999999999999",
        "0.5",
        "true",
        "\"\"",
        "garbage",
        "36501d",
        "1ns",
        "300000000000d",
        "[1, 2]",
        "[]",
        "{ a = 1 }",
        "{ dist = \"lognormal\", median = \"1ms\", p99 = \"1ns\" }",
        "{ dist = \"constant\", value = \"5ms\" }",
        "allkeys-lru",
        "lock",
        "lease-lock",
        "memcache-lease",
        "swr",
        "closed",
        "5s",
        "64mb",
        "1e400kb",
        "200000",
    ];
    let mut sets = Vec::new();
    let mut mutated = String::new();
    for _ in 0..rng.random_range(1..3) {
        let path = pick(rng, &leaves).clone();
        sets.push(format!("{path}={}", pick(rng, &values)));
        mutated = path;
    }
    Case {
        label: format!("{scenario} --set case {i}: {sets:?}"),
        text: text.to_string(),
        sets,
        mutated,
        invented: Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Running valid inputs

/// The one call into the engine, so that a change of its signature (it may
/// return a `Result` once overload stops a run) is one edit here.
fn simulate(scenario: &Scenario) -> u64 {
    stampede::engine::run(scenario, scenario.seed)
        .summary
        .requests
}

/// `case` with its load cut to about [`SMALL_WORK`] requests by lowering the
/// rate (or the number of users) with `--set`, unless the mutation touched
/// them; `None` if it cannot be made small or stops being valid.
fn make_small(case: &Case, s: &Scenario) -> Option<(Case, Scenario)> {
    if s.clients.keys > 1_000_000 {
        return None; // heavy set-up, not a small run
    }
    let seconds = s.duration.as_secs_f64();
    let spike = s
        .faults
        .iter()
        .map(|f| match f.kind {
            scenario::FaultKind::Spike { multiplier, .. } => multiplier.max(1.0),
            _ => 1.0,
        })
        .fold(1.0, f64::max);
    let mut sets = case.sets.clone();
    match s.clients.arrival {
        Arrival::Poisson { rate_per_s } => {
            let work = rate_per_s * seconds * spike;
            if work > SMALL_WORK {
                if case.mutated == "clients.rate" {
                    return None;
                }
                sets.push(format!(
                    "clients.rate={}",
                    (SMALL_WORK / seconds / spike).max(1e-3)
                ));
            }
        }
        Arrival::Closed { users, think } => {
            let cycle = (think.as_secs_f64() + s.cache.latency.mean_ns() / 1e9).max(1e-9);
            let work = users as f64 * seconds / cycle;
            if work > SMALL_WORK {
                let fewer = (SMALL_WORK * cycle / seconds).floor();
                if case.mutated == "clients.clients" || fewer < 1.0 {
                    return None;
                }
                sets.push(format!("clients.clients={fewer}"));
            }
        }
        // A trace's work is its records, which the bundled traces keep small.
        Arrival::Trace(_) => {}
    }
    let small = Case {
        sets,
        ..case.clone()
    };
    match load(&small) {
        Verdict::Valid(s) => Some((small, *s)),
        Verdict::Refused(_) => None,
    }
}

/// Runs the engine on another thread; an error on a panic or after [`HANG`].
fn run_with_deadline(s: Scenario) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| simulate(&s));
        let _ = tx.send(outcome.is_ok());
    });
    match rx.recv_timeout(HANG) {
        Ok(true) => Ok(()),
        Ok(false) => Err("panicked".into()),
        // The thread is left running; the test fails with the reproducer.
        Err(_) => Err(format!("did not finish within {} s", HANG.as_secs())),
    }
}

/// `stampede run FILE --out DIR [--set ...]`: exit 0 with the directory, or 2
/// with a key in the message and no directory; never a panic or a signal.
fn drive_binary(dir: &Path, i: usize, case: &Case, valid: bool) -> Result<(), String> {
    let file = dir.join(format!("case{i}.toml"));
    std::fs::write(&file, &case.text).expect("write case");
    let out = dir.join(format!("out{i}"));
    let mut args = vec![
        "run".to_string(),
        file.display().to_string(),
        "--out".to_string(),
        out.display().to_string(),
    ];
    for set in &case.sets {
        args.push("--set".into());
        args.push(set.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = stampede(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let fail = |why: String| Err(format!("{} (binary): {why}; stderr: {stderr}", case.label));
    match (output.status.code(), valid) {
        (Some(0), true) if out.exists() => Ok(()),
        // A valid run the engine had to stop (requests in flight for years):
        // written, marked, exit 1.
        (Some(1), true) if out.exists() && stdout.contains("NOT A NORMAL RESULT") => Ok(()),
        (Some(0), true) => fail("exit 0 but no output directory".into()),
        (Some(2), false) if out.exists() => fail("exit 2 left an output directory".into()),
        (Some(2), false) if !stderr.contains('`') || stderr.contains("panicked") => {
            fail("exit 2 without a key in the message".into())
        }
        (Some(2), false) => Ok(()),
        (code, _) => fail(format!(
            "exit {code:?}, expected {}",
            if valid { 0 } else { 2 }
        )),
    }
}
