//! Delimited text traces: Twitter's cache-trace, CacheLib's KV replay CSV
//! and any CSV, all described by a [`Layout`] (which column holds what).
//!
//! Times are in the layout's `time_unit`; TTLs are in seconds, as memcached,
//! Redis's `EX`, Twitter's and CacheLib's traces write them. A trace without
//! a time column sends one record per `time_unit`.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Op, Record, Source, TraceError, WithSlots, key_id};
use crate::slots::slot;

/// Where a field is: a header name or a 1-based column number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// The column with this header name.
    Name(String),
    /// The n-th column, from 1.
    Number(usize),
}

/// Which column holds each field; only `key` is required.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    /// When the request was sent.
    pub time: Option<Column>,
    /// The key (any text).
    pub key: Column,
    /// The value's size in bytes.
    pub size: Option<Column>,
    /// The operation (reads when absent).
    pub op: Option<Column>,
    /// The TTL a write sets, in seconds (0 = none).
    pub ttl: Option<Column>,
    /// How many times the record repeats (CacheLib's `op_count`).
    pub count: Option<Column>,
}

/// How a delimited trace is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The field separator.
    pub delimiter: u8,
    /// The first line names the columns.
    pub header: bool,
    /// Which column holds what.
    pub columns: Columns,
    /// Nanoseconds per unit of the time column.
    pub time_unit_ns: u64,
    /// Named columns that may be missing from the header (CacheLib's optional ones).
    pub optional: bool,
}

impl Layout {
    /// Twitter's cache-trace (twitter/cache-trace): no header, comma-separated
    /// timestamp (s), anonymized key, key size, value size, client id,
    /// operation, TTL (s).
    pub fn twitter() -> Self {
        Layout {
            delimiter: b',',
            header: false,
            columns: Columns {
                time: Some(Column::Number(1)),
                key: Column::Number(2),
                size: Some(Column::Number(4)),
                op: Some(Column::Number(6)),
                ttl: Some(Column::Number(7)),
                count: None,
            },
            time_unit_ns: 1_000_000_000,
            optional: false,
        }
    }

    /// CacheLib's KV replay CSV: a header naming `key`, `op`, `size` and,
    /// optionally, `op_time` (s), `ttl` (s) and `op_count`.
    pub fn cachelib() -> Self {
        let named = |n: &str| Some(Column::Name(n.to_string()));
        Layout {
            delimiter: b',',
            header: true,
            columns: Columns {
                time: named("op_time"),
                key: Column::Name("key".into()),
                size: named("size"),
                op: named("op"),
                ttl: named("ttl"),
                count: named("op_count"),
            },
            time_unit_ns: 1_000_000_000,
            optional: true,
        }
    }
}

/// Column indexes (0-based) once the header is read.
#[derive(Clone, Copy, Debug)]
struct Indexes {
    time: Option<usize>,
    key: usize,
    size: Option<usize>,
    op: Option<usize>,
    ttl: Option<usize>,
    count: Option<usize>,
}

/// Reads a delimited trace.
pub(super) struct Reader {
    path: PathBuf,
    csv: csv::Reader<Box<dyn Read>>,
    row: csv::ByteRecord,
    at: Indexes,
    time_unit_ns: u64,
    /// Records read (repeats included) and rows read.
    records: u64,
    rows: u64,
    line: u64,
    /// The record being repeated (`op_count`) and how many repeats are left.
    repeat: Option<(Record, u64)>,
    slots: WithSlots,
}

impl Reader {
    pub(super) fn new(
        path: &Path,
        bytes: Box<dyn Read>,
        layout: Layout,
        slots: WithSlots,
    ) -> Result<Self, TraceError> {
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(layout.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let fail = |message: String| TraceError {
            path: path.to_path_buf(),
            record: None,
            line: Some(1),
            message,
        };
        let mut header = csv::ByteRecord::new();
        if layout.header {
            match csv.read_byte_record(&mut header) {
                Ok(true) => {}
                Ok(false) => return Err(fail("is empty: no header line".into())),
                Err(e) => return Err(fail(format!("cannot be read: {e}"))),
            }
        }
        let find = |column: &Column, optional: bool| -> Result<Option<usize>, TraceError> {
            match column {
                Column::Number(0) => Err(fail("column numbers start at 1".into())),
                Column::Number(n) => Ok(Some(n - 1)),
                Column::Name(name) if !layout.header => Err(fail(format!(
                    "column \"{name}\" is named, but the trace has no header: number the columns from 1 or set header = true"
                ))),
                Column::Name(name) => match header.iter().position(|h| h == name.as_bytes()) {
                    Some(i) => Ok(Some(i)),
                    None if optional => Ok(None),
                    None => Err(fail(format!(
                        "has no column \"{name}\"; its header names {}",
                        header
                            .iter()
                            .map(|h| format!("\"{}\"", String::from_utf8_lossy(h)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                },
            }
        };
        let c = &layout.columns;
        let optional = |column: &Option<Column>| -> Result<Option<usize>, TraceError> {
            column
                .as_ref()
                .map_or(Ok(None), |c| find(c, layout.optional))
        };
        let at = Indexes {
            time: optional(&c.time)?,
            key: find(&c.key, false)?.expect("a required column is found or refused"),
            size: optional(&c.size)?,
            op: optional(&c.op)?,
            ttl: optional(&c.ttl)?,
            count: optional(&c.count)?,
        };
        Ok(Reader {
            path: path.to_path_buf(),
            csv,
            row: csv::ByteRecord::new(),
            at,
            time_unit_ns: layout.time_unit_ns,
            records: 0,
            rows: 0,
            line: 0,
            repeat: None,
            slots,
        })
    }

    fn error(&self, message: String) -> TraceError {
        TraceError {
            path: self.path.clone(),
            record: Some(self.records + 1),
            line: Some(self.line),
            message,
        }
    }

    /// Field `i` of the current row as text.
    fn field(&self, i: usize, what: &str) -> Result<&str, TraceError> {
        let bytes = self.row.get(i).ok_or_else(|| {
            self.error(format!(
                "has {} columns, so no column {} for the {what}",
                self.row.len(),
                i + 1
            ))
        })?;
        std::str::from_utf8(bytes)
            .map(str::trim)
            .map_err(|_| self.error(format!("its {what} is not UTF-8 text")))
    }

    /// Field `i` as a whole number.
    fn number(&self, i: usize, what: &str) -> Result<u64, TraceError> {
        let text = self.field(i, what)?;
        text.parse::<u64>().map_err(|_| {
            self.error(format!(
                "its {what} is \"{text}\"; it must be a whole number"
            ))
        })
    }

    /// Parses the current row into a record.
    fn parse_row(&self) -> Result<(Record, u64), TraceError> {
        let at = self.at;
        let time_ns = match at.time {
            Some(i) => {
                let text = self.field(i, "time")?;
                let t: f64 = text
                    .parse()
                    .ok()
                    .filter(|t: &f64| t.is_finite() && *t >= 0.0)
                    .ok_or_else(|| {
                        self.error(format!("its time is \"{text}\"; it must be a number ≥ 0"))
                    })?;
                let ns = t * self.time_unit_ns as f64;
                if ns > u64::MAX as f64 / 2.0 {
                    return Err(self.error(format!("its time {text} is too large")));
                }
                ns.round() as u64
            }
            None => self.rows.saturating_sub(1) * self.time_unit_ns,
        };
        let key = self.row.get(at.key).ok_or_else(|| {
            self.error(format!(
                "has {} columns, so no column {} for the key",
                self.row.len(),
                at.key + 1
            ))
        })?;
        // An empty size (a delete's, say) is no size: cache.value_size applies.
        let size = match at.size {
            Some(i) if !self.field(i, "size")?.is_empty() => {
                let n = self.number(i, "size")?;
                Some(u32::try_from(n).map_err(|_| {
                    self.error(format!(
                        "its size {n} is over 4 GiB, the largest value stampede models"
                    ))
                })?)
            }
            _ => None,
        };
        let op = match at.op {
            Some(i) => {
                let name = self.field(i, "op")?;
                Op::parse(name).ok_or_else(|| {
                    self.error(format!(
                        "its op \"{name}\" is not one stampede knows: {}",
                        Op::NAMES
                    ))
                })?
            }
            None => Op::Read,
        };
        let ttl_ns = match at.ttl {
            Some(i) if !self.field(i, "ttl")?.is_empty() => {
                let s = self.number(i, "ttl (seconds)")?;
                (s > 0).then(|| s.saturating_mul(1_000_000_000))
            }
            _ => None,
        };
        let count = match at.count {
            Some(i) => self.number(i, "op_count")?.max(1),
            None => 1,
        };
        Ok((
            Record {
                time_ns,
                key: key_id(key),
                size,
                op,
                ttl_ns,
                slot: match self.slots {
                    WithSlots::Yes => slot(key),
                    WithSlots::No => 0,
                },
            },
            count,
        ))
    }
}

impl Source for Reader {
    fn next_record(&mut self) -> Option<Result<Record, TraceError>> {
        if let Some((record, left)) = &mut self.repeat {
            let record = *record;
            *left -= 1;
            if *left == 0 {
                self.repeat = None;
            }
            self.records += 1;
            return Some(Ok(record));
        }
        loop {
            match self.csv.read_byte_record(&mut self.row) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => return Some(Err(self.error(format!("cannot be read: {e}")))),
            }
            self.line = self.row.position().map_or(self.line + 1, |p| p.line());
            // Blank lines are not records.
            if self.row.len() == 1 && self.row[0].is_empty() {
                continue;
            }
            self.rows += 1;
            break;
        }
        match self.parse_row() {
            Ok((record, count)) => {
                if count > 1 {
                    self.repeat = Some((record, count - 1));
                }
                self.records += 1;
                Some(Ok(record))
            }
            Err(e) => Some(Err(e)),
        }
    }

    fn line(&self) -> Option<u64> {
        Some(self.line)
    }
}
