//! `clients.trace`: from the raw table to a checked, indexed [`Replay`].

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::raw::{RawColumns, RawTrace};
use super::validate::Source;
use super::validate::{hint, keep};
use crate::error::Error;
use crate::time::parse_duration;
use crate::trace::{Column, Columns, Format, Index, Layout, Replay, WithSlots};

/// The formats `clients.trace.format` accepts.
pub const FORMATS: &str = "\"oracle-general\", \"twitter\", \"cachelib\" or \"csv\"";

/// Checks `clients.trace` and reads the trace once (every record checked,
/// keys numbered): a bad trace is an error before anything runs. Each problem
/// goes to `p`; the trace is read only when its settings are all valid.
///
/// `sharded`: the cache has several shards, so each key's hash slot is kept.
pub fn replay(
    raw: &RawTrace,
    sharded: bool,
    s: &Source,
    p: &mut Vec<Error>,
) -> Option<Arc<Replay>> {
    let before = p.len();
    let format = match raw.format.as_str() {
        "oracle-general" => Some(Format::OracleGeneral),
        "twitter" => Some(Format::Delimited(Layout::twitter())),
        "cachelib" => Some(Format::Delimited(Layout::cachelib())),
        "csv" => csv_layout(raw, s, p).map(Format::Delimited),
        other => {
            p.push(s.error(
                &key("format"),
                format!(
                    "is {other:?};{} allowed: {FORMATS}",
                    hint(other, &["oracle-general", "twitter", "cachelib", "csv"])
                ),
            ));
            None
        }
    };
    if raw.format != "csv" {
        let csv_only = [
            ("header", raw.header.is_some()),
            ("delimiter", raw.delimiter.is_some()),
            ("time_unit", raw.time_unit.is_some()),
            ("columns", raw.columns.is_some()),
        ];
        for (field, _) in csv_only.iter().filter(|(_, given)| *given) {
            p.push(s.error(
                &key(field),
                format!(
                    "applies only to format = \"csv\"; the {} format fixes its own layout",
                    raw.format
                ),
            ));
        }
    }
    let speed = raw.speed.unwrap_or(1.0);
    if !(speed.is_finite() && speed > 0.0 && speed <= 1e6) {
        p.push(s.error(
            &key("speed"),
            format!("is {speed}; it must be a number above 0 and at most 1e6 (1 replays at the trace's own pace)"),
        ));
    }
    let format = format.filter(|_| p.len() == before)?;
    // Relative to the scenario file's folder, as the file is read.
    let folder = Path::new(s.file).parent().unwrap_or(Path::new(""));
    let path = absolute(&folder.join(&raw.path));
    let slots = if sharded {
        WithSlots::Yes
    } else {
        WithSlots::No
    };
    let index = Index::build(&path, &format, slots).map_err(|e| {
        s.error(
            &key("path"),
            format!("is {:?}, which cannot be replayed: {e}", raw.path),
        )
    });
    Some(Arc::new(Replay {
        path,
        format,
        speed,
        index: keep(index, p)?,
    }))
}

/// The dotted name of `clients.trace.<field>`.
fn key(field: &str) -> String {
    format!("clients.trace.{field}")
}

/// The layout of a `format = "csv"` trace.
fn csv_layout(raw: &RawTrace, s: &Source, p: &mut Vec<Error>) -> Option<Layout> {
    let before = p.len();
    let delimiter = match raw.delimiter.as_deref().unwrap_or(",") {
        "\\t" | "tab" => b'\t',
        d if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
        d => {
            p.push(s.error(
                &key("delimiter"),
                format!(
                    "is {d:?}; it must be one ASCII character such as \",\" or \";\" (or \"tab\")"
                ),
            ));
            b','
        }
    };
    let time_unit_ns = match &raw.time_unit {
        None => 1_000_000_000,
        Some(text) => match parse_duration(text) {
            Err(why) => {
                p.push(s.error(&key("time_unit"), why));
                1
            }
            Ok(unit) if unit.0 == 0 => {
                p.push(s.error(
                    &key("time_unit"),
                    format!("is {text:?}; it must be longer than zero"),
                ));
                1
            }
            Ok(unit) => unit.0,
        },
    };
    let columns = match &raw.columns {
        Some(columns) => csv_columns(columns, s, p),
        None => {
            p.push(s.error(
                &key("columns"),
                "is missing; format = \"csv\" needs at least columns = { key = \"key\" } (header names, or 1-based numbers)",
            ));
            None
        }
    };
    let columns = columns.filter(|_| p.len() == before)?;
    Some(Layout {
        delimiter,
        header: raw.header.unwrap_or(true),
        columns,
        time_unit_ns,
        optional: false,
    })
}

/// The columns of a `format = "csv"` trace.
fn csv_columns(raw: &RawColumns, s: &Source, p: &mut Vec<Error>) -> Option<Columns> {
    let before = p.len();
    let mut optional = |field: &str, value: &Option<toml::Value>| {
        value.as_ref().and_then(|v| column(field, v, s, p))
    };
    let (time, size, op, ttl) = (
        optional("time", &raw.time),
        optional("size", &raw.size),
        optional("op", &raw.op),
        optional("ttl", &raw.ttl),
    );
    let key = column("key", &raw.key, s, p);
    (p.len() == before).then_some(Columns {
        time,
        key: key?,
        size,
        op,
        ttl,
        count: None,
    })
}

/// One column: a header name, or a 1-based column number.
fn column(field: &str, value: &toml::Value, s: &Source, p: &mut Vec<Error>) -> Option<Column> {
    match value {
        toml::Value::String(name) if !name.is_empty() => Some(Column::Name(name.clone())),
        toml::Value::Integer(n) if *n >= 1 => Some(Column::Number(*n as usize)),
        other => {
            p.push(s.error(
                &key(&format!("columns.{field}")),
                format!(
                    "is {other}; it must be a header name such as \"key\" or a column number from 1"
                ),
            ));
            None
        }
    }
}

/// `path` made absolute (against the working directory) and normalised
/// lexically (`.` and `..` folded, symbolic links left alone), so that the
/// same files give the same text on every machine that lays them out alike.
pub fn absolute(path: &Path) -> PathBuf {
    let joined = match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    };
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `target` as a path relative to the directory `dir` (both made
/// [`absolute`]): how a scenario written into `dir` names a trace.
pub fn relative(dir: &Path, target: &Path) -> PathBuf {
    let (dir, target) = (absolute(dir), absolute(target));
    let common = dir
        .components()
        .zip(target.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in dir.components().skip(common) {
        out.push("..");
    }
    for part in target.components().skip(common) {
        out.push(part);
    }
    out
}
