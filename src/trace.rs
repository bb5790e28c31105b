//! Request traces, read as a stream: libCacheSim's oracleGeneral binary,
//! Twitter's cache-trace CSV, CacheLib's KV replay CSV and any CSV.
//!
//! A reader yields [`Record`]s in trace order with absolute times in
//! nanoseconds; records that share a timestamp are spread evenly over the
//! timestamp's unit, in trace order, so a replay does not send them all at
//! one instant. Keys become 64-bit ids (text keys by FNV-1a; two distinct
//! keys share an id with probability about n²/2⁶⁵, 3·10⁻⁴ for 10⁸ keys).
//! Files ending in `.gz` or `.zst` are decompressed on the fly. Memory does
//! not grow with the number of records.

mod delimited;
mod oracle_general;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

pub use delimited::{Column, Columns, Layout};

/// What a record does to the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A read: a request, counted in `requests`, `hits`, `misses` and latency.
    Read,
    /// A write: the application stores a new value (no database query).
    Write,
    /// A delete: the key is invalidated.
    Delete,
}

impl Op {
    /// The op named `name` in a trace (memcached's and CacheLib's names; case is ignored).
    pub fn parse(name: &str) -> Option<Op> {
        const READS: [&str; 3] = ["get", "gets", "get_lease"];
        const WRITES: [&str; 9] = [
            "set",
            "add",
            "replace",
            "cas",
            "append",
            "prepend",
            "incr",
            "decr",
            "set_lease",
        ];
        const DELETES: [&str; 2] = ["delete", "del"];
        let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(name));
        if is(&READS) {
            Some(Op::Read)
        } else if is(&WRITES) {
            Some(Op::Write)
        } else if is(&DELETES) {
            Some(Op::Delete)
        } else {
            None
        }
    }

    /// Every op name a trace may use, for error messages.
    pub const NAMES: &'static str = "get, gets, GET_LEASE (reads); set, add, replace, cas, append, prepend, incr, decr, SET_LEASE (writes); delete, DEL (deletes)";
}

/// One request of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// When it was sent, in nanoseconds on the trace's clock (not yet spread
    /// within its timestamp's unit: see [`Spread`]).
    pub time_ns: u64,
    /// The key's id.
    pub key: u64,
    /// The value's size in bytes; `None` when the trace does not say.
    pub size: Option<u32>,
    /// Read, write or delete.
    pub op: Op,
    /// The TTL a write sets, in nanoseconds; `None` for none (or 0 in the trace).
    pub ttl_ns: Option<u64>,
    /// The key's Redis Cluster hash slot (of its text, or of the decimal id
    /// of a numeric key), when the trace was opened [`WithSlots::Yes`]; else 0.
    pub slot: u16,
}

/// Whether a reader computes each record's hash slot (only a sharded cache needs it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WithSlots {
    /// Compute [`Record::slot`].
    Yes,
    /// Leave it 0.
    No,
}

/// The trace formats stampede reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    /// libCacheSim's oracleGeneral: 24-byte little-endian records
    /// (`u32` time in seconds, `u64` id, `u32` size, `i64` next access).
    OracleGeneral,
    /// Delimited text: Twitter's cache-trace, CacheLib's KV replay or a CSV
    /// described by its [`Layout`].
    Delimited(Layout),
}

/// A trace that cannot be read: the file, the record (and line), what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceError {
    /// The trace file.
    pub path: PathBuf,
    /// 1-based record number, if the problem is in a record.
    pub record: Option<u64>,
    /// 1-based line, for text formats.
    pub line: Option<u64>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        match (self.line, self.record) {
            (Some(line), Some(record)) => write!(f, ":{line}: record {record}")?,
            (None, Some(record)) => write!(f, ": record {record}")?,
            _ => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// Opens `path`, decompressing `.gz` and `.zst` files, as a buffered byte stream.
fn open_bytes(path: &Path) -> Result<Box<dyn Read>, TraceError> {
    let fail = |message: String| TraceError {
        path: path.to_path_buf(),
        record: None,
        line: None,
        message,
    };
    let file = File::open(path).map_err(|e| fail(format!("cannot open the trace: {e}")))?;
    let file = BufReader::with_capacity(1 << 16, file);
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else if name.ends_with(".zst") {
        let zstd = ruzstd::decoding::StreamingDecoder::new(file)
            .map_err(|e| fail(format!("not a zstd file: {e}")))?;
        Box::new(BufReader::with_capacity(1 << 16, zstd))
    } else {
        Box::new(file)
    })
}

/// Opens the trace at `path` in `format`; records come from [`Spread::next`].
pub fn open(path: &Path, format: &Format, slots: WithSlots) -> Result<Spread, TraceError> {
    let bytes = open_bytes(path)?;
    let (source, unit_ns): (Box<dyn Source>, u64) = match format {
        Format::OracleGeneral => (
            Box::new(oracle_general::Reader::new(path, bytes, slots)),
            1_000_000_000,
        ),
        Format::Delimited(layout) => (
            Box::new(delimited::Reader::new(path, bytes, layout.clone(), slots)?),
            layout.time_unit_ns,
        ),
    };
    Ok(Spread::new(path, source, unit_ns))
}

/// A reader of one format: records in trace order, times not yet spread.
trait Source {
    /// The next record, `None` at the end.
    fn next_record(&mut self) -> Option<Result<Record, TraceError>>;
    /// The 1-based line of the record last read, for text formats.
    fn line(&self) -> Option<u64> {
        None
    }
}

/// How far back a timestamp may go before the trace is refused: 1 second.
/// Records within it are replayed at the latest time seen (traces merged
/// from several servers are rarely in perfect order).
pub const REORDER_TOLERANCE_NS: u64 = 1_000_000_000;

/// Records in trace order with the records of each timestamp spread evenly
/// over its unit: n records at time t are sent at t + i·unit/n, i = 0..n.
pub struct Spread {
    path: PathBuf,
    source: Box<dyn Source>,
    unit_ns: u64,
    /// Records of the current timestamp, and how many were handed out.
    group: Vec<Record>,
    handed: usize,
    /// The first record of the next timestamp, read ahead.
    ahead: Option<Record>,
    /// The latest time seen: earlier ones (within the tolerance) are raised to it.
    latest_ns: u64,
    /// Records raised to the latest time because they came out of order.
    pub reordered: u64,
    /// Records read so far.
    pub records: u64,
    done: bool,
}

impl Spread {
    fn new(path: &Path, source: Box<dyn Source>, unit_ns: u64) -> Self {
        Spread {
            path: path.to_path_buf(),
            source,
            unit_ns,
            group: Vec::new(),
            handed: 0,
            ahead: None,
            latest_ns: 0,
            reordered: 0,
            records: 0,
            done: false,
        }
    }

    /// The next record from the source, with its time checked for order.
    fn pull(&mut self) -> Option<Result<Record, TraceError>> {
        let mut record = match self.source.next_record()? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        self.records += 1;
        if record.time_ns < self.latest_ns {
            if self.latest_ns - record.time_ns > REORDER_TOLERANCE_NS {
                return Some(Err(TraceError {
                    path: self.path.clone(),
                    record: Some(self.records),
                    line: self.source.line(),
                    message: format!(
                        "its time goes back {:.3} s, more than the 1 s tolerance; sort the trace by time",
                        (self.latest_ns - record.time_ns) as f64 / 1e9
                    ),
                }));
            }
            self.reordered += 1;
            record.time_ns = self.latest_ns;
        }
        self.latest_ns = record.time_ns;
        Some(Ok(record))
    }

    /// The next record with its spread time, `None` at the end of the trace.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Record, TraceError>> {
        if self.handed == self.group.len() {
            if self.done {
                return None;
            }
            self.group.clear();
            self.handed = 0;
            let first = match self.ahead.take() {
                Some(r) => r,
                None => match self.pull()? {
                    Ok(r) => r,
                    Err(e) => return Some(Err(e)),
                },
            };
            self.group.push(first);
            loop {
                match self.pull() {
                    None => {
                        self.done = true;
                        break;
                    }
                    Some(Err(e)) => return Some(Err(e)),
                    Some(Ok(r)) if r.time_ns == first.time_ns => self.group.push(r),
                    Some(Ok(r)) => {
                        self.ahead = Some(r);
                        break;
                    }
                }
            }
        }
        let n = self.group.len() as u64;
        let i = self.handed as u64;
        let mut record = self.group[self.handed];
        record.time_ns += (self.unit_ns as u128 * i as u128 / n as u128) as u64;
        self.handed += 1;
        Some(Ok(record))
    }
}

/// A trace to replay: where it is, how to read it, how fast, and its index.
#[derive(Clone, Debug)]
pub struct Replay {
    /// The trace file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Timestamps are divided by it (3.0 replays three times faster).
    pub speed: f64,
    /// What a first pass over the trace found.
    pub index: Index,
}

impl Replay {
    /// The simulated time of a record at `time_ns` on the trace's clock:
    /// from the first record, divided by `speed`.
    pub fn sim_time_ns(&self, time_ns: u64) -> u64 {
        let since = time_ns - self.index.first_ns;
        if self.speed == 1.0 {
            since
        } else {
            (since as f64 / self.speed).round() as u64
        }
    }

    /// The trace's span in simulated time: from its first record to one
    /// unit after its last, divided by `speed`.
    pub fn span_ns(&self) -> u64 {
        self.sim_time_ns(self.index.end_ns)
    }
}

/// The hash of a trace key in the id map (and of a key id in the engine's
/// sparse per-key maps): one multiply and a fold. Keys are ids or FNV-1a
/// hashes already, so SipHash's protection buys nothing here and costs a
/// quarter of a replay's time.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u32(&mut self, key: u32) {
        self.write_u64(key as u64);
    }

    fn write_u64(&mut self, key: u64) {
        let h = (key ^ self.0).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 32);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A first pass over a trace: every record checked, keys numbered densely in
/// order of first appearance, counts and span. Memory grows with distinct keys.
#[derive(Clone, Default)]
pub struct Index {
    ids: HashMap<u64, u32, BuildHasherDefault<KeyHasher>>,
    /// Time of the first record (ns, trace clock).
    pub first_ns: u64,
    /// One time unit after the last record's timestamp (ns, trace clock).
    pub end_ns: u64,
    /// Records by op.
    pub reads: u64,
    /// Writes.
    pub writes: u64,
    /// Deletes.
    pub deletes: u64,
    /// Records raised to the latest time because they came slightly out of order.
    pub reordered: u64,
    /// FNV-1a of every record (time, key, size, op, TTL): the trace's
    /// content, so a sweep resumed over an edited trace reruns its runs.
    pub digest: u64,
    /// Each key's hash slot, by dense id (empty unless built [`WithSlots::Yes`]).
    slots: Vec<u16>,
}

impl Index {
    /// Reads the whole trace once; the first bad record is the error. With
    /// [`WithSlots::Yes`] it keeps each key's hash slot too.
    pub fn build(path: &Path, format: &Format, slots: WithSlots) -> Result<Index, TraceError> {
        let mut records = open(path, format, slots)?;
        let mut index = Index {
            digest: FNV_OFFSET,
            ..Index::default()
        };
        let mut first = None;
        let mut last_ns = 0;
        while let Some(record) = records.next() {
            let record = record?;
            first.get_or_insert(record.time_ns);
            last_ns = record.time_ns;
            let next = index.ids.len();
            if next == u32::MAX as usize {
                return Err(TraceError {
                    path: path.to_path_buf(),
                    record: Some(records.records),
                    line: None,
                    message: "has more than 4,294,967,294 distinct keys, the most stampede models"
                        .into(),
                });
            }
            if let std::collections::hash_map::Entry::Vacant(e) = index.ids.entry(record.key) {
                e.insert(next as u32);
                if slots == WithSlots::Yes {
                    index.slots.push(record.slot);
                }
            }
            index.digest = record.fold_into(index.digest);
            match record.op {
                Op::Read => index.reads += 1,
                Op::Write => index.writes += 1,
                Op::Delete => index.deletes += 1,
            }
        }
        let Some(first_ns) = first else {
            return Err(TraceError {
                path: path.to_path_buf(),
                record: None,
                line: None,
                message: "has no records".into(),
            });
        };
        index.first_ns = first_ns;
        // The last timestamp's records are spread over its unit: the trace
        // ends where that unit does (not one unit after the last spread record).
        let unit = records.unit_ns.max(1);
        index.end_ns = (last_ns / unit).saturating_add(1).saturating_mul(unit);
        index.reordered = records.reordered;
        Ok(index)
    }

    /// Distinct keys.
    pub fn keys(&self) -> u32 {
        self.ids.len() as u32
    }

    /// The dense id (0-based, in order of first appearance) of trace key `key`.
    pub fn id(&self, key: u64) -> Option<u32> {
        self.ids.get(&key).copied()
    }

    /// Each key's hash slot, by dense id (empty unless built [`WithSlots::Yes`]).
    pub fn slots(&self) -> &[u16] {
        &self.slots
    }

    /// Records of every op.
    pub fn records(&self) -> u64 {
        self.reads + self.writes + self.deletes
    }
}

impl fmt::Debug for Index {
    /// A summary: the key map itself can hold millions of entries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Index")
            .field("keys", &self.keys())
            .field("first_ns", &self.first_ns)
            .field("end_ns", &self.end_ns)
            .field("reads", &self.reads)
            .field("writes", &self.writes)
            .field("deletes", &self.deletes)
            .field("reordered", &self.reordered)
            .field("digest", &format_args!("{:016x}", self.digest))
            .finish()
    }
}

/// FNV-1a's 64-bit offset basis: the hash of nothing.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64 bits, continued from `hash` over `bytes`: a pinned,
/// dependency-free hash (stable across releases, unlike `std`'s
/// `DefaultHasher`); not for security.
pub fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The id of a text key: its FNV-1a hash.
pub fn key_id(key: &[u8]) -> u64 {
    fnv1a(FNV_OFFSET, key)
}

impl Record {
    /// `hash` continued over this record's fields (for [`Index::digest`]).
    fn fold_into(&self, hash: u64) -> u64 {
        let op = match self.op {
            Op::Read => 0u8,
            Op::Write => 1,
            Op::Delete => 2,
        };
        let mut bytes = [0u8; 37];
        bytes[..8].copy_from_slice(&self.time_ns.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.key.to_le_bytes());
        bytes[16..20].copy_from_slice(&self.size.map_or(u32::MAX, |s| s).to_le_bytes());
        bytes[20] = op;
        bytes[21..29].copy_from_slice(&self.ttl_ns.map_or(u64::MAX, |t| t).to_le_bytes());
        bytes[29..37].copy_from_slice(&(self.size.is_some() as u64).to_le_bytes());
        fnv1a(hash, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hasher_spreads_small_ids_and_byte_strings() {
        // A map's bucket is the hash's low bits: 4,096 consecutive ids (as u32,
        // u64 and bytes) must land in nearly as many distinct 12-bit buckets
        // as random hashes would (about 2,590 of 4,096; one bucket for all is the bug).
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<KeyHasher>::default();
        let buckets = |hash: &dyn Fn(u32) -> u64| {
            let mut seen: Vec<u64> = (0..4096u32).map(|k| hash(k) & 4095).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.len()
        };
        assert!(buckets(&|k| build.hash_one(k)) > 2400);
        assert!(buckets(&|k| build.hash_one(k as u64)) > 2400);
        assert!(buckets(&|k| build.hash_one(k.to_string())) > 2400);
    }

    struct Fixed(std::vec::IntoIter<Record>);

    impl Source for Fixed {
        fn next_record(&mut self) -> Option<Result<Record, TraceError>> {
            self.0.next().map(Ok)
        }
    }

    fn at(time_s: u64) -> Record {
        Record {
            time_ns: time_s * 1_000_000_000,
            key: time_s,
            size: Some(1),
            op: Op::Read,
            ttl_ns: None,
            slot: 0,
        }
    }

    fn spread(records: Vec<Record>) -> Vec<u64> {
        let mut s = Spread::new(
            Path::new("t"),
            Box::new(Fixed(records.into_iter())),
            1_000_000_000,
        );
        std::iter::from_fn(|| s.next().map(|r| r.expect("valid").time_ns)).collect()
    }

    #[test]
    fn records_of_one_timestamp_are_spread_evenly_over_its_unit() {
        let times = spread(vec![at(5), at(5), at(5), at(5), at(6), at(8), at(8)]);
        assert_eq!(
            times,
            [
                5_000_000_000,
                5_250_000_000,
                5_500_000_000,
                5_750_000_000,
                6_000_000_000,
                8_000_000_000,
                8_500_000_000
            ]
        );
    }

    #[test]
    fn a_time_going_back_beyond_the_tolerance_names_the_record() {
        let mut late = at(3);
        late.time_ns = 3_500_000_000;
        let times = spread(vec![at(4), late, at(5)]);
        assert_eq!(times, [4_000_000_000, 4_500_000_000, 5_000_000_000]);
        let mut s = Spread::new(
            Path::new("t"),
            Box::new(Fixed(vec![at(10), at(11), at(2)].into_iter())),
            1_000_000_000,
        );
        assert!(s.next().unwrap().is_ok());
        let err = std::iter::from_fn(|| s.next())
            .find_map(Result::err)
            .expect("refused");
        assert_eq!(err.record, Some(3));
        assert!(err.message.contains("goes back 9.000 s"), "{}", err.message);
    }

    #[test]
    fn ops_are_named_as_memcached_and_cachelib_name_them() {
        assert_eq!(Op::parse("GET"), Some(Op::Read));
        assert_eq!(Op::parse("gets"), Some(Op::Read));
        assert_eq!(Op::parse("SET_LEASE"), Some(Op::Write));
        assert_eq!(Op::parse("incr"), Some(Op::Write));
        assert_eq!(Op::parse("DEL"), Some(Op::Delete));
        assert_eq!(Op::parse("2a"), None);
    }

    #[test]
    fn text_keys_hash_as_fnv_1a() {
        // Reference values of FNV-1a 64 (the empty string is the offset basis).
        assert_eq!(key_id(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(key_id(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(key_id(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
