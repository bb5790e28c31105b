//! `clients.trace`: from the raw table to a checked, indexed [`Replay`].

use std::path::Path;
use std::sync::Arc;

use super::raw::{RawColumns, RawTrace};
use super::validate::Source;
use crate::error::Result;
use crate::time::parse_duration;
use crate::trace::{Column, Columns, Format, Index, Layout, Replay};

/// The formats `clients.trace.format` accepts.
pub const FORMATS: &str = "\"oracle-general\", \"twitter\", \"cachelib\" or \"csv\"";

/// Checks `clients.trace` and reads the trace once (every record checked,
/// keys numbered): a bad trace is an error before anything runs.
pub fn replay(raw: &RawTrace, s: &Source) -> Result<Arc<Replay>> {
    let key = |field: &str| format!("clients.trace.{field}");
    let csv_only = [
        ("header", raw.header.is_some()),
        ("delimiter", raw.delimiter.is_some()),
        ("time_unit", raw.time_unit.is_some()),
        ("columns", raw.columns.is_some()),
    ];
    let format = match raw.format.as_str() {
        "oracle-general" => Format::OracleGeneral,
        "twitter" => Format::Delimited(Layout::twitter()),
        "cachelib" => Format::Delimited(Layout::cachelib()),
        "csv" => Format::Delimited(csv_layout(raw, s)?),
        other => {
            return Err(s.error(&key("format"), format!("is {other:?}; allowed: {FORMATS}")));
        }
    };
    if raw.format != "csv"
        && let Some((field, _)) = csv_only.iter().find(|(_, given)| *given)
    {
        return Err(s.error(
            &key(field),
            format!(
                "applies only to format = \"csv\"; the {} format fixes its own layout",
                raw.format
            ),
        ));
    }
    let speed = raw.speed.unwrap_or(1.0);
    if !(speed.is_finite() && speed > 0.0 && speed <= 1e6) {
        return Err(s.error(
            &key("speed"),
            format!("is {speed}; it must be a number above 0 and at most 1e6 (1 replays at the trace's own pace)"),
        ));
    }
    // Relative to the scenario file's folder, as the file is read.
    let folder = Path::new(s.file).parent().unwrap_or(Path::new(""));
    let path = folder.join(&raw.path);
    let index = Index::build(&path, &format).map_err(|e| {
        s.error(
            &key("path"),
            format!("is {:?}, which cannot be replayed: {e}", raw.path),
        )
    })?;
    Ok(Arc::new(Replay {
        path,
        format,
        speed,
        index,
    }))
}

/// The layout of a `format = "csv"` trace.
fn csv_layout(raw: &RawTrace, s: &Source) -> Result<Layout> {
    let key = |field: &str| format!("clients.trace.{field}");
    let delimiter = match raw.delimiter.as_deref().unwrap_or(",") {
        "\\t" | "tab" => b'\t',
        d if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
        d => {
            return Err(s.error(
                &key("delimiter"),
                format!(
                    "is {d:?}; it must be one ASCII character such as \",\" or \";\" (or \"tab\")"
                ),
            ));
        }
    };
    let header = raw.header.unwrap_or(true);
    let time_unit_ns = match &raw.time_unit {
        None => 1_000_000_000,
        Some(text) => {
            let unit = parse_duration(text).map_err(|why| s.error(&key("time_unit"), why))?;
            if unit.0 == 0 {
                return Err(s.error(
                    &key("time_unit"),
                    format!("is {text:?}; it must be longer than zero"),
                ));
            }
            unit.0
        }
    };
    let Some(columns) = &raw.columns else {
        return Err(s.error(
            &key("columns"),
            "is missing; format = \"csv\" needs at least columns = { key = \"key\" } (header names, or 1-based numbers)",
        ));
    };
    Ok(Layout {
        delimiter,
        header,
        columns: csv_columns(columns, s)?,
        time_unit_ns,
        optional: false,
    })
}

/// The columns of a `format = "csv"` trace.
fn csv_columns(raw: &RawColumns, s: &Source) -> Result<Columns> {
    let column = |field: &str, value: &toml::Value| -> Result<Column> {
        match value {
            toml::Value::String(name) if !name.is_empty() => Ok(Column::Name(name.clone())),
            toml::Value::Integer(n) if *n >= 1 => Ok(Column::Number(*n as usize)),
            other => Err(s.error(
                &format!("clients.trace.columns.{field}"),
                format!(
                    "is {other}; it must be a header name such as \"key\" or a column number from 1"
                ),
            )),
        }
    };
    let optional = |field: &str, value: &Option<toml::Value>| -> Result<Option<Column>> {
        value.as_ref().map(|v| column(field, v)).transpose()
    };
    Ok(Columns {
        time: optional("time", &raw.time)?,
        key: column("key", &raw.key)?,
        size: optional("size", &raw.size)?,
        op: optional("op", &raw.op)?,
        ttl: optional("ttl", &raw.ttl)?,
        count: None,
    })
}
