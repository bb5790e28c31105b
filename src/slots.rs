//! Redis Cluster key placement: which of the 16384 hash slots a key lives in,
//! and which shard owns each slot after `redis-cli --cluster create`.
//!
//! Follows the Redis source (written afresh, not copied):
//! - `src/crc16.c`: CRC16-CCITT "XMODEM" (poly 0x1021, init 0, no reflection,
//!   no final xor), check value 0x31C3 for "123456789".
//! - `src/cluster.h` `keyHashSlot` (formerly in `src/cluster.c`): hash tags,
//!   then `crc16 & 0x3FFF`.
//! - `src/redis-cli.c` `clusterManagerCommandCreate`: the contiguous slot
//!   ranges given to the primaries, computed in `float` exactly as there.

use std::ops::RangeInclusive;

/// Number of hash slots in a Redis Cluster (`CLUSTER_SLOTS`).
pub const SLOTS: u16 = 16384;

/// The highest slot number.
const LAST_SLOT: i64 = SLOTS as i64 - 1;

/// CRC lookup table, built at compile time so no magic numbers are pasted in.
const CRC_TABLE: [u16; 256] = crc_table();

/// One entry per leading byte: that byte pushed through 8 rounds of the
/// 0x1021 polynomial, most significant bit first (no reflection).
const fn crc_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// CRC16-XMODEM of `bytes`, the checksum Redis Cluster hashes keys with.
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &byte| {
        (crc << 8) ^ CRC_TABLE[usize::from((crc >> 8) as u8 ^ byte)]
    })
}

/// The bytes Redis hashes for `key`: the hash tag between the first `{` and
/// the first `}` after it if that is non-empty, else the whole key.
///
/// Tags let an application force related keys into one slot (multi-key ops).
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    // `open < key.len()`, so this slice is in bounds (possibly empty).
    let after = &key[open + 1..];
    match after.iter().position(|&b| b == b'}') {
        Some(close) if close > 0 => &after[..close],
        _ => key,
    }
}

/// The hash slot of `key`, as `CLUSTER KEYSLOT` reports it; never allocates.
pub fn slot(key: &[u8]) -> u16 {
    // 16384 is a power of two, so the mask is the modulo Redis uses.
    crc16(hash_tag(key)) & (SLOTS - 1)
}

/// The slot ranges `redis-cli --cluster create` assigns to `shards` primaries,
/// in order: node i ends at `lround(cursor + slots_per_node - 1)`, the final
/// node always at 16383, and every node gets at least one slot.
///
/// `shards` must be in 1..=16384 (the caller validates); 0 gives an empty Vec.
/// Like redis-cli the arithmetic is `f32` with an accumulated cursor, so for
/// many counts from 78 shards up it differs from `f64` and, beyond ~2700
/// shards, sizes can differ by 2. From ~7500 shards redis-cli's own drift would run
/// past slot 16383; only then is the split redone in `f64`, which always
/// yields a valid partition, so the result never leaves 0..=16383.
pub fn slot_ranges(shards: u16) -> Vec<RangeInclusive<u16>> {
    if shards == 0 || shards > SLOTS {
        return Vec::new();
    }
    let per_node = f32::from(SLOTS) / f32::from(shards);
    let mut cursor = 0.0f32;
    let redis_cli = split(shards, || {
        let last = (cursor + per_node - 1.0).round() as i64;
        cursor += per_node;
        last
    });
    redis_cli
        .or_else(|| {
            let per_node = f64::from(SLOTS) / f64::from(shards);
            let mut cursor = 0.0f64;
            split(shards, || {
                let last = (cursor + per_node - 1.0).round() as i64;
                cursor += per_node;
                last
            })
        })
        .unwrap_or_default()
}

/// redis-cli's assignment loop, given each node's rounded last slot in turn;
/// `None` if the float drift would hand out a slot past 16383.
fn split(shards: u16, mut next_last: impl FnMut() -> i64) -> Option<Vec<RangeInclusive<u16>>> {
    let mut ranges = Vec::with_capacity(usize::from(shards));
    let mut first: i64 = 0;
    for node in 0..shards {
        let mut last = next_last();
        if last > LAST_SLOT || node + 1 == shards {
            last = LAST_SLOT;
        }
        last = last.max(first);
        if last > LAST_SLOT {
            return None; // an earlier node already took slot 16383
        }
        ranges.push(u16::try_from(first).ok()?..=u16::try_from(last).ok()?);
        first = last + 1;
    }
    Some(ranges)
}

/// For each of the 16384 slots, the index of the shard that owns it, so
/// routing a key is one array read; empty for 0 shards.
pub fn shard_table(shards: u16) -> Vec<u16> {
    let mut table = Vec::with_capacity(usize::from(SLOTS));
    for (shard, range) in (0u16..).zip(slot_ranges(shards)) {
        table.extend(range.map(|_| shard));
    }
    table
}

/// A range as redis-cli prints it: "0-5460", or "7" for a single slot.
pub fn range_text(r: &RangeInclusive<u16>) -> String {
    if r.start() == r.end() {
        r.start().to_string()
    } else {
        format!("{}-{}", r.start(), r.end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit CRC16-XMODEM, independent of the table.
    fn crc16_bitwise(bytes: &[u8]) -> u16 {
        let mut crc = 0u16;
        for &byte in bytes {
            crc ^= u16::from(byte) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    #[test]
    fn crc16_check_value() {
        // The published XMODEM check value, also in the header of Redis's crc16.c.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(b""), 0);
    }

    #[test]
    fn documented_key_slots() {
        // `redis-cli cluster keyslot` results; each verified with python3
        // `binascii.crc_hqx(key, 0) % 16384` (the same CRC).
        for (key, want) in [
            (&b"foo"[..], 12182),
            (b"bar", 5061),
            (b"hello", 866),
            (b"somekey", 11058),
            (b"user:1000", 1649),
        ] {
            assert_eq!(slot(key), want, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn hash_tags_follow_the_cluster_spec() {
        // Examples from the Redis Cluster specification ("Hash tags").
        assert_eq!(hash_tag(b"{user1000}.following"), b"user1000");
        assert_eq!(hash_tag(b"{user1000}.followers"), b"user1000");
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"plainkey"), b"plainkey");
        // keyHashSlot's other whole-key cases: no `}` after `{`, empty tag.
        assert_eq!(hash_tag(b"foo{bar"), b"foo{bar");
        assert_eq!(hash_tag(b"foo}{"), b"foo}{");
        assert_eq!(hash_tag(b"{}"), b"{}");
        // python3 crc_hqx(k, 0) % 16384: b"user1000" 3443, b"{bar" 4015,
        // b"foo{}{bar}" 8363.
        assert_eq!(slot(b"{user1000}.following"), 3443);
        assert_eq!(slot(b"foo{{bar}}zap"), 4015);
        assert_eq!(slot(b"foo{}{bar}"), 8363);
    }

    /// The ranges as redis-cli prints them, comma-separated.
    fn text(shards: u16) -> String {
        let ranges: Vec<String> = slot_ranges(shards).iter().map(range_text).collect();
        ranges.join(",")
    }

    #[test]
    fn pinned_ranges() {
        // What `redis-cli --cluster create` prints for 3 masters.
        assert_eq!(slot_ranges(3), [0..=5460, 5461..=10922, 10923..=16383]);
        assert_eq!(text(3), "0-5460,5461-10922,10923-16383");
        // The redis-cli.c loop re-run in python3 (f32 emulated via struct);
        // f64 gives the same for these counts.
        assert_eq!(text(1), "0-16383");
        assert_eq!(text(2), "0-8191,8192-16383");
        assert_eq!(text(4), "0-4095,4096-8191,8192-12287,12288-16383");
        assert_eq!(text(5), "0-3276,3277-6553,6554-9829,9830-13106,13107-16383");
        let six = "0-2730,2731-5460,5461-8191,8192-10922,10923-13652,13653-16383";
        assert_eq!(text(6), six);
        assert_eq!(range_text(&(7..=7)), "7");
        assert!(slot_ranges(0).is_empty());
        assert!(shard_table(0).is_empty());
    }

    /// One non-empty range per shard, contiguous from 0 to 16383.
    fn assert_partition(shards: u16) {
        let ranges = slot_ranges(shards);
        assert_eq!(ranges.len(), usize::from(shards));
        let mut next = 0u32;
        for r in &ranges {
            assert_eq!(u32::from(*r.start()), next, "shards {shards}");
            assert!(r.start() <= r.end(), "shards {shards}");
            next = u32::from(*r.end()) + 1;
        }
        assert_eq!(next, u32::from(SLOTS), "shards {shards}");
    }

    #[test]
    fn ranges_partition_evenly() {
        for shards in [1, 2, 4, 5, 6, 7, 10, 16] {
            assert_partition(shards);
            let sizes: Vec<usize> = slot_ranges(shards).iter().map(|r| r.len()).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "shards {shards}: {sizes:?}");
        }
        // Large counts, including 7542: the smallest where redis-cli's f32 drift
        // overruns and the f64 fallback applies (python3 run over all N).
        let big = [7542, 7559, 10000, 16383, 16384];
        (1..=SLOTS)
            .step_by(61)
            .chain(big)
            .for_each(assert_partition);
        assert!(slot_ranges(SLOTS).iter().all(|r| r.len() == 1));
    }

    #[test]
    fn shard_table_agrees_with_ranges() {
        for shards in [1, 3, 7, 16, 1000] {
            let table = shard_table(shards);
            assert_eq!(table.len(), usize::from(SLOTS));
            for (shard, r) in (0u16..).zip(slot_ranges(shards)) {
                assert!(r.clone().all(|s| table[usize::from(s)] == shard));
            }
        }
    }

    #[test]
    fn table_crc_matches_bitwise_reference() {
        // xorshift64: enough variety for a property check, no extra crates.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut buf = Vec::new();
        for _ in 0..4000 {
            buf.clear();
            let len = (next() % 64) as usize;
            buf.extend((0..len).map(|_| next() as u8));
            assert_eq!(crc16(&buf), crc16_bitwise(&buf), "{buf:?}");
            assert_eq!(slot(&buf), crc16_bitwise(hash_tag(&buf)) % SLOTS);
        }
    }
}
