//! Trace replay inside the engine: the next record of the trace, its key
//! numbered densely, its time in simulated nanoseconds.

use std::sync::Arc;

use crate::time::{SimDuration, SimTime};
use crate::trace::{self, Op, Replay, Spread, TraceError};

/// The record due next, as the engine uses it.
#[derive(Clone, Copy, Debug)]
pub struct ReplayRecord {
    /// Dense key id.
    pub key: u32,
    /// Value size, if the trace gives one.
    pub size: Option<u32>,
    /// Read, write or delete.
    pub op: Op,
    /// TTL a write sets (`None`: no TTL).
    pub ttl: Option<SimDuration>,
}

/// The TTL a replayed key fills with on a miss: that of its last write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillTtl {
    /// Not written yet in the trace: the scenario's `cache.ttl`.
    Unknown,
    /// Last written without a TTL.
    NoTtl,
    /// Last written with this TTL.
    Ttl(SimDuration),
}

impl From<Option<SimDuration>> for FillTtl {
    fn from(ttl: Option<SimDuration>) -> Self {
        ttl.map_or(FillTtl::NoTtl, FillTtl::Ttl)
    }
}

/// Records read ahead and looked up together: their id-map lookups are
/// independent, so their cache misses overlap (the same trick as the
/// synthetic key draws' batches).
const READ_AHEAD: usize = 64;

/// A trace being replayed.
pub struct ReplayState {
    source: Arc<Replay>,
    records: Spread,
    /// Records read ahead, with their trace keys (ids resolved in `advance`).
    ahead: Vec<(u64, trace::Record)>,
    /// Dense ids of `ahead`'s keys.
    ids: Vec<Option<u32>>,
    /// The next record of `ahead` to hand out.
    next: usize,
    /// An error met while reading ahead, returned after the records before it.
    error: Option<TraceError>,
    /// The record of the arrival scheduled next.
    pub pending: ReplayRecord,
}

impl ReplayState {
    /// Opens the trace again for the replay (the scenario checked it whole).
    pub fn open(source: Arc<Replay>) -> Result<Self, TraceError> {
        let records = trace::open(&source.path, &source.format, trace::WithSlots::No)?;
        Ok(ReplayState {
            source,
            records,
            ahead: Vec::with_capacity(READ_AHEAD),
            ids: Vec::with_capacity(READ_AHEAD),
            next: 0,
            error: None,
            pending: ReplayRecord {
                key: 0,
                size: None,
                op: Op::Read,
                ttl: None,
            },
        })
    }

    /// Reads up to [`READ_AHEAD`] records and looks their keys up.
    fn read_ahead(&mut self) {
        self.ahead.clear();
        self.next = 0;
        while self.ahead.len() < READ_AHEAD && self.error.is_none() {
            match self.records.next() {
                Some(Ok(record)) => self.ahead.push((self.records.records, record)),
                Some(Err(e)) => self.error = Some(e),
                None => break,
            }
        }
        let index = &self.source.index;
        self.ids.clear();
        self.ids
            .extend(self.ahead.iter().map(|(_, record)| index.id(record.key)));
    }

    /// Reads the next record into `pending`; its simulated time, or `None`
    /// at the end of the trace.
    pub fn advance(&mut self) -> Result<Option<SimTime>, TraceError> {
        if self.next == self.ahead.len() {
            self.read_ahead();
            if self.ahead.is_empty() {
                return self.error.take().map_or(Ok(None), Err);
            }
        }
        let (number, record) = self.ahead[self.next];
        let key = self.ids[self.next].ok_or_else(|| TraceError {
            path: self.source.path.clone(),
            record: Some(number),
            line: None,
            message: "has a key the first pass did not see: the trace changed during the run"
                .into(),
        })?;
        self.next += 1;
        self.pending = ReplayRecord {
            key,
            size: record.size,
            op: record.op,
            ttl: record.ttl_ns.map(SimDuration),
        };
        Ok(Some(SimTime(self.source.sim_time_ns(record.time_ns))))
    }
}
