//! The Redis-like cache: key store, TTL expiry, memory accounting, INFO counters.
//!
//! Keys are dense integers (see [`crate::workload`]), so per-key state lives in
//! a flat vector indexed by key: no hashing, no allocation per command. The
//! cache owns lookup, expiry and byte accounting; the typed [`Lookup`] result
//! makes the "found but expired" case impossible to mistake for a hit.
//!
//! Expiry is lazy as in Redis's `expireIfNeeded`: a GET that finds an expired
//! key deletes it, counts it in `expired_keys`, and answers a miss. Until then
//! the expired key still occupies memory.

use crate::time::{SimDuration, SimTime};

/// The result of reading a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The key is stored and fresh; `expire_at` is [`SimTime::NEVER`] without TTL.
    Hit {
        /// When the key expires.
        expire_at: SimTime,
    },
    /// The key was stored but its TTL had passed: deleted now, answered as a miss.
    Expired,
    /// The key is not stored.
    Miss,
}

/// Counters mirroring Redis's `INFO stats` and `INFO memory`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// GETs that found a fresh key (`keyspace_hits`).
    pub keyspace_hits: u64,
    /// GETs that found nothing or an expired key (`keyspace_misses`).
    pub keyspace_misses: u64,
    /// Keys deleted because their TTL passed (`expired_keys`).
    pub expired_keys: u64,
}

/// Per-key state: 16 bytes.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Expiry instant; [`SimTime::NEVER`] for no TTL.
    expire_at: SimTime,
    /// Whether the key is stored (expired-but-not-reclaimed keys included).
    stored: bool,
}

const EMPTY: Entry = Entry {
    expire_at: SimTime::NEVER,
    stored: false,
};

/// The cache's key space and memory.
#[derive(Debug)]
pub struct Cache {
    entries: Vec<Entry>,
    stored_keys: u64,
    bytes_per_key: u64,
    stats: CacheStats,
}

impl Cache {
    /// An empty cache for `keys` keys; each stored key uses `bytes_per_key`
    /// (Redis's per-key overhead plus the value).
    pub fn new(keys: u32, bytes_per_key: u64) -> Self {
        Cache {
            entries: vec![EMPTY; keys as usize],
            stored_keys: 0,
            bytes_per_key,
            stats: CacheStats::default(),
        }
    }

    /// GET `key` at server time `now`, expiring it lazily.
    #[inline]
    pub fn get(&mut self, key: u32, now: SimTime) -> Lookup {
        let entry = &mut self.entries[key as usize];
        if !entry.stored {
            self.stats.keyspace_misses += 1;
            return Lookup::Miss;
        }
        if entry.expire_at <= now {
            *entry = EMPTY;
            self.stored_keys -= 1;
            self.stats.expired_keys += 1;
            self.stats.keyspace_misses += 1;
            return Lookup::Expired;
        }
        self.stats.keyspace_hits += 1;
        Lookup::Hit {
            expire_at: entry.expire_at,
        }
    }

    /// SET `key` at server time `now` with an optional TTL (replacing any old value).
    #[inline]
    pub fn set(&mut self, key: u32, now: SimTime, ttl: Option<SimDuration>) {
        let entry = &mut self.entries[key as usize];
        if !entry.stored {
            self.stored_keys += 1;
        }
        *entry = Entry {
            expire_at: ttl.map_or(SimTime::NEVER, |t| now + t),
            stored: true,
        };
    }

    /// Keys stored now, expired-but-unreclaimed included (`DBSIZE`).
    pub fn stored_keys(&self) -> u64 {
        self.stored_keys
    }

    /// Bytes used now (`used_memory`).
    pub fn used_memory(&self) -> u64 {
        self.stored_keys * self.bytes_per_key
    }

    /// The INFO counters so far.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_expiry_counts_and_frees() {
        let mut c = Cache::new(4, 100);
        c.set(1, SimTime(0), Some(SimDuration(10)));
        assert_eq!(
            c.get(1, SimTime(9)),
            Lookup::Hit {
                expire_at: SimTime(10)
            }
        );
        assert_eq!(c.used_memory(), 100);
        assert_eq!(c.get(1, SimTime(10)), Lookup::Expired);
        assert_eq!(c.get(1, SimTime(11)), Lookup::Miss);
        assert_eq!(c.used_memory(), 0);
        let s = c.stats();
        assert_eq!(
            (s.keyspace_hits, s.keyspace_misses, s.expired_keys),
            (1, 2, 1)
        );
    }

    #[test]
    fn overwrite_keeps_one_copy() {
        let mut c = Cache::new(2, 10);
        c.set(0, SimTime(0), None);
        c.set(0, SimTime(5), None);
        assert_eq!(c.stored_keys(), 1);
        assert_eq!(
            c.get(0, SimTime(1_000)),
            Lookup::Hit {
                expire_at: SimTime::NEVER
            }
        );
    }
}
