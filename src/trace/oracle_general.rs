//! libCacheSim's oracleGeneral binary format: 24-byte little-endian records
//! `u32` time (s), `u64` object id, `u32` size (bytes), `i64` next access
//! (the request index of the object's next request, −1 for none; unused
//! here). Every record is a read; the format has no TTL.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Op, Record, Source, TraceError, WithSlots};
use crate::slots::slot;

/// Bytes per record.
const RECORD_BYTES: usize = 24;

/// Reads oracleGeneral records from a byte stream.
pub(super) struct Reader {
    path: PathBuf,
    bytes: Box<dyn Read>,
    records: u64,
    slots: WithSlots,
}

impl Reader {
    pub(super) fn new(path: &Path, bytes: Box<dyn Read>, slots: WithSlots) -> Self {
        Reader {
            path: path.to_path_buf(),
            bytes,
            records: 0,
            slots,
        }
    }

    fn error(&self, message: String) -> TraceError {
        TraceError {
            path: self.path.clone(),
            record: Some(self.records + 1),
            line: None,
            message,
        }
    }
}

impl Source for Reader {
    fn next_record(&mut self) -> Option<Result<Record, TraceError>> {
        let mut buf = [0u8; RECORD_BYTES];
        let mut filled = 0;
        while filled < RECORD_BYTES {
            match self.bytes.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(self.error(format!("cannot be read: {e}")))),
            }
        }
        if filled == 0 {
            return None;
        }
        if filled < RECORD_BYTES {
            return Some(Err(self.error(format!(
                "is truncated: {filled} of its {RECORD_BYTES} bytes (oracleGeneral records are 24 bytes: u32 time, u64 id, u32 size, i64 next access)"
            ))));
        }
        let word = |at: usize, n: usize| {
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(&buf[at..at + n]);
            u64::from_le_bytes(b)
        };
        self.records += 1;
        let key = word(4, 8);
        Some(Ok(Record {
            time_ns: word(0, 4) * 1_000_000_000,
            key,
            size: Some(word(12, 4) as u32),
            op: Op::Read,
            ttl_ns: None,
            // A numeric id is named by its decimal digits.
            slot: match self.slots {
                WithSlots::Yes => slot(key.to_string().as_bytes()),
                WithSlots::No => 0,
            },
        }))
    }
}
