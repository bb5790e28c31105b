//! Trace replay (issue 12): the readers, against libCacheSim's pinned results.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use stampede::trace::{self, Format, Index, Op, WithSlots};

/// The folder of the real traces: `$STAMPEDE_TRACES`, else `../shared/traces`
/// beside the repository (CI has it).
pub fn shared_traces() -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("STAMPEDE_TRACES")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            crate::common::repo().join("../shared/traces"),
            PathBuf::from("/work/shared/traces"),
        ])
        .collect();
    candidates
        .iter()
        .find(|dir| dir.join("cloudPhysicsIO.oracleGeneral.bin").exists())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the real traces are in none of {candidates:?}; set STAMPEDE_TRACES to their folder"
            )
        })
}

/// libCacheSim's `test/test_evictionAlgo.c` (1a1a11a/libCacheSim at
/// 0379a019): LRU misses and miss bytes on cloudPhysicsIO.oracleGeneral.bin
/// at 128 MiB to 1 GiB in steps of 128 MiB, with no per-object metadata.
pub const LIBCACHESIM_LRU_MISSES: [u64; 8] =
    [93374, 89783, 83572, 81722, 72494, 72104, 71972, 71704];
/// The matching miss bytes.
pub const LIBCACHESIM_LRU_MISS_BYTES: [u64; 8] = [
    4214303232, 4061242368, 3778040320, 3660569600, 3100927488, 3078128640, 3075403776, 3061662720,
];

#[test]
fn r12_the_oracle_general_reader_reads_libcachesims_trace_as_libcachesim_does() {
    let path = shared_traces().join("cloudPhysicsIO.oracleGeneral.bin");
    let mut records = trace::open(&path, &Format::OracleGeneral, WithSlots::No).expect("opens");
    let mut all = Vec::new();
    while let Some(r) = records.next() {
        all.push(r.expect("a valid record"));
    }
    // libCacheSim's request count and bytes for this file.
    assert_eq!(all.len(), 113_872);
    let bytes: u64 = all.iter().map(|r| r.size.unwrap() as u64).sum();
    assert_eq!(bytes, 4_368_040_448);
    assert!(all.iter().all(|r| r.op == Op::Read));
    // A plain byte-capacity LRU over the records gives libCacheSim's misses.
    for (i, capacity) in (1..=8u64).map(|k| (k - 1, (k * 128) << 20)) {
        let (mut misses, mut miss_bytes) = (0, 0);
        let mut stamp_of: HashMap<u64, (u64, u64)> = HashMap::new();
        let mut by_stamp: BTreeMap<u64, u64> = BTreeMap::new();
        let mut used = 0;
        for (t, r) in all.iter().enumerate() {
            let size = r.size.unwrap() as u64;
            let t = t as u64;
            if let Some((old, s)) = stamp_of.get_mut(&r.key) {
                by_stamp.remove(old);
                *old = t;
                by_stamp.insert(t, r.key);
                let _ = s;
                continue;
            }
            misses += 1;
            miss_bytes += size;
            if size > capacity {
                continue;
            }
            while used + size > capacity {
                let (_, victim) = by_stamp.pop_first().expect("something to evict");
                used -= stamp_of.remove(&victim).expect("tracked").1;
            }
            used += size;
            stamp_of.insert(r.key, (t, size));
            by_stamp.insert(t, r.key);
        }
        assert_eq!(
            (misses, miss_bytes),
            (
                LIBCACHESIM_LRU_MISSES[i as usize],
                LIBCACHESIM_LRU_MISS_BYTES[i as usize]
            ),
            "at {} MiB",
            capacity >> 20
        );
    }
}

mod readers {
    use std::io::Write;
    use std::path::Path;

    use stampede::trace::{
        self, Column, Columns, Format, Layout, Op, Record, TraceError, WithSlots, key_id,
    };

    fn read(path: &Path, format: &Format) -> Result<Vec<Record>, TraceError> {
        let mut records = trace::open(path, format, WithSlots::No)?;
        let mut out = Vec::new();
        while let Some(r) = records.next() {
            out.push(r?);
        }
        Ok(out)
    }

    fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("writable");
        path
    }

    const SEC: u64 = 1_000_000_000;

    /// Twitter's cache-trace: timestamp, key, key size, value size, client, op, TTL.
    const TWITTER: &str = "0,user:1,6,120,3,get,0\n\
                           0,user:2,6,80,3,set,3600\n\
                           1,user:1,6,120,4,delete,0\n\
                           3,user:3,6,50,4,gets,0\n";

    #[test]
    fn r12_twitter_records_spread_within_their_second_with_ops_sizes_and_ttls() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let records = read(
            &file(&dir, "t.csv", TWITTER.as_bytes()),
            &Format::Delimited(Layout::twitter()),
        )
        .expect("valid");
        let expected = [
            (0, "user:1", 120, Op::Read, None),
            (SEC / 2, "user:2", 80, Op::Write, Some(3600 * SEC)),
            (SEC, "user:1", 120, Op::Delete, None),
            (3 * SEC, "user:3", 50, Op::Read, None),
        ];
        assert_eq!(records.len(), expected.len());
        for (r, (t, key, size, op, ttl)) in records.iter().zip(expected) {
            assert_eq!(
                *r,
                Record {
                    time_ns: t,
                    key: key_id(key.as_bytes()),
                    size: Some(size),
                    op,
                    ttl_ns: ttl,
                    slot: 0,
                }
            );
        }
    }

    #[test]
    fn r12_gzip_and_zstd_traces_read_as_the_plain_one() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let format = Format::Delimited(Layout::twitter());
        let plain = read(&file(&dir, "t.csv", TWITTER.as_bytes()), &format).expect("valid");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(TWITTER.as_bytes()).expect("in memory");
        let gz = gz.finish().expect("in memory");
        assert_eq!(
            read(&file(&dir, "t.csv.gz", &gz), &format).expect("valid"),
            plain
        );
        let zst = ruzstd::encoding::compress_to_vec(
            TWITTER.as_bytes(),
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(
            read(&file(&dir, "t.csv.zst", &zst), &format).expect("valid"),
            plain
        );
    }

    #[test]
    fn r12_cachelib_names_its_columns_and_repeats_op_count() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let text = "key,op,size,op_count,key_size,ttl,op_time\n\
                    a,GET,100,3,1,0,10\n\
                    b,SET_LEASE,40,1,1,60,11\n\
                    a,DEL,0,1,1,0,11\n";
        let records = read(
            &file(&dir, "kv.csv", text.as_bytes()),
            &Format::Delimited(Layout::cachelib()),
        )
        .expect("valid");
        let times: Vec<u64> = records.iter().map(|r| r.time_ns).collect();
        assert_eq!(
            times,
            [
                10 * SEC,
                10 * SEC + SEC / 3,
                10 * SEC + 2 * SEC / 3,
                11 * SEC,
                11 * SEC + SEC / 2
            ]
        );
        let ops: Vec<Op> = records.iter().map(|r| r.op).collect();
        assert_eq!(ops, [Op::Read, Op::Read, Op::Read, Op::Write, Op::Delete]);
        assert_eq!(records[3].ttl_ns, Some(60 * SEC));
        // Without op_time, one record per time unit.
        let untimed = "key,op,size\na,GET,1\nb,GET,1\n";
        let records = read(
            &file(&dir, "u.csv", untimed.as_bytes()),
            &Format::Delimited(Layout::cachelib()),
        )
        .expect("valid");
        assert_eq!(records[1].time_ns, SEC);
    }

    #[test]
    fn r12_any_csv_by_column_name_or_number_with_its_delimiter_and_time_unit() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let layout = |header: bool, key: Column, time: Column| Layout {
            delimiter: b';',
            header,
            columns: Columns {
                time: Some(time),
                key,
                size: None,
                op: None,
                ttl: None,
                count: None,
            },
            time_unit_ns: 1_000_000,
            optional: false,
        };
        let named = file(&dir, "n.csv", b"ts;user;other\n1500;u1;x\n1501;u2;y\n");
        let records = read(
            &named,
            &Format::Delimited(layout(
                true,
                Column::Name("user".into()),
                Column::Name("ts".into()),
            )),
        )
        .expect("valid");
        assert_eq!(records[0].time_ns, 1_500_000_000);
        assert_eq!(records[1].key, key_id(b"u2"));
        assert_eq!(records[1].size, None);
        let numbered = file(&dir, "c.csv", b"1500;u1;x\n1501;u2;y\n");
        let by_number = read(
            &numbered,
            &Format::Delimited(layout(false, Column::Number(2), Column::Number(1))),
        )
        .expect("valid");
        assert_eq!(by_number, records);
    }

    #[test]
    fn r12_bad_traces_name_the_record_and_line() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let twitter = Format::Delimited(Layout::twitter());
        let bad_op = file(&dir, "op.csv", b"0,a,1,1,1,get,0\n1,b,1,1,1,fetch,0\n");
        let e = read(&bad_op, &twitter).unwrap_err();
        assert_eq!((e.record, e.line), (Some(2), Some(2)));
        assert!(e.to_string().contains("op.csv:2: record 2"), "{e}");
        assert!(e.message.contains("\"fetch\""), "{e}");
        let back = file(
            &dir,
            "back.csv",
            b"10,a,1,1,1,get,0\n\n12,b,1,1,1,get,0\n5,c,1,1,1,get,0\n",
        );
        let e = read(&back, &twitter).unwrap_err();
        assert_eq!((e.record, e.line), (Some(3), Some(4)), "{e}");
        assert!(e.message.contains("goes back 7.000 s"), "{e}");
        let size = file(&dir, "size.csv", b"0,a,1,big,1,get,0\n");
        let e = read(&size, &twitter).unwrap_err();
        assert!(e.message.contains("size is \"big\""), "{e}");
        // A truncated binary record.
        let mut bin = vec![0u8; 24 * 2];
        bin.truncate(24 + 10);
        let e = read(&file(&dir, "t.bin", &bin), &Format::OracleGeneral).unwrap_err();
        assert_eq!(e.record, Some(2));
        assert!(e.message.contains("truncated: 10 of its 24 bytes"), "{e}");
        // A named column the header lacks.
        let layout = Layout {
            delimiter: b',',
            header: true,
            columns: Columns {
                time: None,
                key: Column::Name("id".into()),
                size: None,
                op: None,
                ttl: None,
                count: None,
            },
            time_unit_ns: SEC,
            optional: false,
        };
        let e = read(
            &file(&dir, "h.csv", b"key,op\na,GET\n"),
            &Format::Delimited(layout),
        )
        .unwrap_err();
        assert!(e.message.contains("no column \"id\""), "{e}");
    }
}

pub mod replay {
    use std::sync::Arc;

    use stampede::engine;
    use stampede::scenario::{Arrival, Distribution};
    use stampede::time::SimDuration;
    use stampede::trace::{Format, Index, Replay};

    use super::{LIBCACHESIM_LRU_MISS_BYTES, LIBCACHESIM_LRU_MISSES, shared_traces};
    use crate::common::scenario;

    /// libCacheSim's CloudPhysics trace, indexed once for every test.
    fn cloud_physics() -> Arc<Replay> {
        static REPLAY: std::sync::OnceLock<Arc<Replay>> = std::sync::OnceLock::new();
        REPLAY
            .get_or_init(|| {
                let path = shared_traces().join("cloudPhysicsIO.oracleGeneral.bin");
                let index = Index::build(
                    &path,
                    &Format::OracleGeneral,
                    stampede::trace::WithSlots::No,
                )
                .expect("a valid trace");
                assert_eq!(index.keys(), 48_974);
                assert_eq!(index.reads, 113_872);
                Arc::new(Replay {
                    path,
                    format: Format::OracleGeneral,
                    speed: 1.0,
                    index,
                })
            })
            .clone()
    }

    /// Misses and miss bytes of the CloudPhysics trace replayed as a
    /// trace-driven simulator runs it: cache `policy` of `mib` MiB, zero
    /// latency and query time, no per-key overhead.
    pub fn misses(policy: &str, mib: u64) -> (u64, u64) {
        let replay = cloud_physics();
        let mut sc = scenario(
            &format!(
                "name = \"replay\"\nduration = \"7201s\"\n[clients]\nkeys = 1\nrate = 1\n\
                 [cache]\nmaxmemory = \"{mib}mb\"\npolicy = \"{policy}\"\nkey_overhead = 0\nttl_overhead = 0\n\
                 [database]\nconnections = 1\nquery_time = {{ dist = \"constant\", value = \"1ns\" }}\n"
            ),
            &[],
        );
        // What a trace scenario sets: the trace's keys and arrivals, no latency.
        sc.clients.keys = replay.index.keys();
        sc.clients.arrival = Arrival::Trace(replay.clone());
        sc.cache.latency = Distribution::Constant(SimDuration::ZERO);
        for class in &mut sc.clients.classes {
            class.query_time = Distribution::Constant(SimDuration::ZERO);
        }
        let out = engine::run(&sc, 1);
        assert_eq!(out.summary.requests, 113_872);
        (out.summary.misses, out.summary.miss_bytes)
    }

    #[test]
    fn r12_replay_through_the_engine_with_exact_lru_and_zero_latency_equals_libcachesim() {
        for (i, mib) in (1..=8u64).map(|k| (k as usize - 1, k * 128)) {
            assert_eq!(
                misses("lru", mib),
                (LIBCACHESIM_LRU_MISSES[i], LIBCACHESIM_LRU_MISS_BYTES[i]),
                "at {mib} MiB"
            );
        }
    }
}

#[test]
fn r12_the_bundled_invalidation_trace_is_what_its_script_says() {
    let path = crate::common::repo().join("scenarios/traces/invalidation.twitter.csv.gz");
    let index = Index::build(
        &path,
        &Format::Delimited(stampede::trace::Layout::twitter()),
        WithSlots::No,
    )
    .expect("the bundled trace reads");
    // 60 s at 2,000 reads/s, and the 5 hottest keys deleted at 10, 20, ... 50 s.
    assert!((115_000..125_000).contains(&index.reads), "{}", index.reads);
    assert_eq!(index.deletes, 25);
    assert_eq!(index.writes, 0);
    // Zipf(1) over 10,000 keys: about 8,900 of them drawn in 120,000 reads.
    assert!((8_000..10_000).contains(&index.keys()), "{}", index.keys());
}

/// The same eight records (six reads, a write with a 2 s TTL, a delete) in
/// Twitter's, CacheLib's and a custom CSV layout, replayed through the binary.
mod scenarios {
    use crate::common::{repo, stampede};

    /// Replays `tests/traces/<file>` (`trace` is the rest of its table) with
    /// zero latencies; the run's duration must be `span`, the trace's default.
    fn replay(file: &str, trace: &str, span: &str) -> serde_json::Value {
        let dir = tempfile::tempdir().expect("a temp dir");
        let from = repo().join("tests/traces").join(file);
        std::fs::copy(&from, dir.path().join(file)).expect("fixture copied");
        let scenario = dir.path().join("replay.toml");
        std::fs::write(
            &scenario,
            format!(
                "name = \"replay\"\nwarmup = \"0s\"\n[clients]\ntrace = {{ path = \"{file}\", {trace} }}\n\
                 [cache]\nlatency = \"0s\"\nttl = \"2s\"\n\
                 [database]\nquery_time = {{ dist = \"constant\", value = \"0s\" }}\n"
            ),
        )
        .expect("writable");
        let out_dir = dir.path().join("out");
        let out = stampede(&[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--json",
            "--quiet",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let resolved = std::fs::read_to_string(out_dir.join("scenario.toml")).expect("written");
        // The trace's span (to one time unit after its last record).
        assert!(
            resolved.contains(&format!("duration = \"{span}\"")),
            "{resolved}"
        );
        // The resolved scenario names the trace from where it was written:
        // run again from there, it replays the same trace to the same numbers.
        assert!(
            resolved.contains(&format!("path = \"../{file}\"")),
            "{resolved}"
        );
        let again = stampede(&[
            "run",
            out_dir.join("scenario.toml").to_str().unwrap(),
            "--out",
            dir.path().join("again").to_str().unwrap(),
            "--json",
            "--quiet",
        ]);
        assert!(
            again.status.success(),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_eq!(again.stdout, out.stdout, "the same summary");
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    fn counts(summary: &serde_json::Value) -> [u64; 5] {
        ["requests", "hits", "misses", "writes", "deletes"]
            .map(|k| summary[k].as_u64().unwrap_or(0))
    }

    /// a, b miss; c is written (TTL 2 s) at 1.0 s; a hits at 1.5 s, c at 2 s;
    /// a is deleted at 3 s and misses at 3.5 s; c has expired by 5 s.
    const WITH_OPS: [u64; 5] = [6, 2, 4, 1, 1];

    #[test]
    fn r12_twitter_trace_replays_end_to_end() {
        assert_eq!(
            counts(&replay("small.twitter.csv", "format = \"twitter\"", "6s")),
            WITH_OPS
        );
    }

    #[test]
    fn r12_cachelib_trace_replays_end_to_end() {
        assert_eq!(
            counts(&replay("small.cachelib.csv", "format = \"cachelib\"", "6s")),
            WITH_OPS
        );
    }

    #[test]
    fn r12_any_csv_replays_end_to_end() {
        let trace = "format = \"csv\", delimiter = \";\", time_unit = \"1ms\", \
                     columns = { time = \"when_ms\", key = \"object\", size = \"bytes\", op = \"what\", ttl = \"expires_s\" }";
        let summary = replay("small.csv", trace, "5001ms");
        assert_eq!(counts(&summary), WITH_OPS);
    }

    #[test]
    fn r12_oracle_general_trace_replays_end_to_end() {
        // Reads only: a at 0 and 1.5 s (hit), expired (TTL 2 s) by 3 s; c at
        // 1, 2 (hit) and 5 s (expired); b once.
        let summary = replay(
            "small.oracleGeneral.bin",
            "format = \"oracle-general\"",
            "6s",
        );
        assert_eq!(counts(&summary), [7, 2, 5, 0, 0]);
        // Miss bytes: a twice (100), b (200), c twice (50).
        assert_eq!(summary["miss_bytes"].as_u64(), Some(500));
    }

    #[test]
    fn r12_a_trace_scenario_refuses_what_the_trace_decides_and_names_a_bad_record() {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::write(
            dir.path().join("bad.csv"),
            "0,a,1,1,1,get,0\n1,b,1,1,1,fetch,0\n",
        )
        .expect("writable");
        let scenario = dir.path().join("s.toml");
        let out_dir = dir.path().join("out");
        let run = |text: &str| {
            std::fs::write(&scenario, text).expect("writable");
            let out = stampede(&[
                "run",
                scenario.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
            ]);
            assert_eq!(out.status.code(), Some(2));
            assert!(!out_dir.exists(), "nothing written");
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        let err = run("name = \"s\"\n[clients]\nkeys = 10\nzipf = 0.9\nrate = 5\n\
                       trace = { path = \"bad.csv\", format = \"twitter\" }\n");
        for key in ["clients.keys", "clients.zipf", "clients.rate"] {
            assert!(
                err.contains(&format!("`{key}` does not apply with clients.trace")),
                "{err}"
            );
        }
        let err =
            run("name = \"s\"\n[clients]\ntrace = { path = \"bad.csv\", format = \"twitter\" }\n");
        assert!(err.contains("`clients.trace.path`"), "{err}");
        assert!(err.contains("bad.csv:2: record 2"), "{err}");
        assert!(err.contains("\"fetch\""), "{err}");
        let err = run(
            "name = \"s\"\n[clients]\ntrace = { path = \"missing.csv\", format = \"twitter\" }\n",
        );
        assert!(err.contains("missing.csv"), "{err}");
    }
}

#[test]
fn r12_a_sweep_resumed_over_an_edited_trace_runs_again() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let trace = dir.path().join("t.csv");
    std::fs::copy(
        crate::common::repo().join("tests/traces/small.twitter.csv"),
        &trace,
    )
    .expect("fixture copied");
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        "name = \"rs\"\nwarmup = \"0s\"\n[clients]\ntrace = { path = \"t.csv\", format = \"twitter\" }\n\
         [cache]\nlatency = \"0s\"\n[sweep]\n[sweep.grid]\n\"cache.ttl\" = [\"1s\", \"2s\"]\n",
    )
    .expect("writable");
    let out = dir.path().join("out");
    let sweep = |resume: bool| {
        let mut args = vec![
            "sweep",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        if resume {
            args.push("--resume");
        }
        let run = crate::common::stampede(&args);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    sweep(false);
    assert!(sweep(true).contains("reusing 2 kept runs"));
    // The same file name, the same scenario text, another trace.
    let text = std::fs::read_to_string(&trace).unwrap();
    std::fs::write(&trace, text.replace("5,c,", "5,d,")).unwrap();
    let said = sweep(true);
    assert!(said.contains("reusing 0 kept runs"), "{said}");
    assert!(said.contains("the replayed trace changed"), "{said}");
}
