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

/// A trace being replayed.
pub struct ReplayState {
    source: Arc<Replay>,
    records: Spread,
    /// The record of the arrival scheduled next.
    pub pending: ReplayRecord,
}

impl ReplayState {
    /// Opens the trace again for the replay (the scenario checked it whole).
    pub fn open(source: Arc<Replay>) -> Result<Self, TraceError> {
        let records = trace::open(&source.path, &source.format)?;
        Ok(ReplayState {
            source,
            records,
            pending: ReplayRecord {
                key: 0,
                size: None,
                op: Op::Read,
                ttl: None,
            },
        })
    }

    /// Reads the next record into `pending`; its simulated time, or `None`
    /// at the end of the trace.
    pub fn advance(&mut self) -> Result<Option<SimTime>, TraceError> {
        let Some(record) = self.records.next().transpose()? else {
            return Ok(None);
        };
        let key = self.source.index.id(record.key).ok_or_else(|| TraceError {
            path: self.source.path.clone(),
            record: Some(self.records.records),
            line: None,
            message: "has a key the first pass did not see: the trace changed during the run"
                .into(),
        })?;
        self.pending = ReplayRecord {
            key,
            size: record.size,
            op: record.op,
            ttl: record.ttl_ns.map(SimDuration),
        };
        Ok(Some(SimTime(self.source.sim_time_ns(record.time_ns))))
    }
}
