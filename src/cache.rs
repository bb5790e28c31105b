//! The Redis-like cache: key store, memory limit, eviction, expiry, INFO counters.
//!
//! Keys are dense integers, so per-key state lives in a flat vector indexed by
//! key (24 bytes each): no hashing, no allocation per command. Dense lists
//! give O(1) uniform sampling: of the keys with a TTL for active expiry and
//! the `volatile-*` policies, and of every stored key, kept only when an
//! `allkeys-*` sampled policy draws from it. The cache owns lookup, expiry,
//! byte accounting and class statistics; an eviction policy ([`policy`], one
//! file per policy under `cache/policy/`) only tracks accesses and picks a
//! victim, through one exhaustive enum. The typed [`Lookup`] makes the
//! "found but expired" case impossible to mistake for a hit.
//!
//! Faithful to Redis 7 (`server.c`, `evict.c`, `expire.c`, `db.c`):
//! - **Memory**: `used_memory = Σ (key_overhead + value + ttl_overhead if the
//!   key has a TTL)` over stored keys, expired-but-unreclaimed keys included.
//! - **Eviction runs before each command** (`processCommand` →
//!   `performEvictions`), never after a write: a SET is applied even if it
//!   takes memory over the limit, and the next command evicts until
//!   `used ≤ maxmemory`. If nothing can be evicted, a SET fails with OOM
//!   (counted in `oom_rejections`); a GET still runs.
//! - **LRU clock**: seconds (Redis's `LRU_CLOCK_RESOLUTION` is 1000 ms), so
//!   keys used within the same second tie on idle time.
//! - **LFU**: the 8-bit logarithmic counter of [`lfu`].
//! - **Lazy expiry**: a command that finds an expired key deletes it
//!   (`expired_keys`); a GET then counts a miss. **Active expiry**:
//!   [`Cache::active_expire_cycle`], `hz` times a second.
//! - **Overwrite**: a SET on a live key keeps (and refreshes) its LRU/LFU state.

pub mod lfu;
pub mod policy;

use crate::hint::prefetch_line;
use crate::key_class::KeyClasses;
use crate::rng::Stream;
use crate::time::{SimDuration, SimTime};
use lfu::LfuConfig;
use policy::{Convention, EvictionPolicy, Evictor};

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

/// The result of a SET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// The value is stored.
    Stored,
    /// Memory is full and nothing could be evicted: Redis's `-OOM` error.
    OutOfMemory,
}

/// Counters mirroring Redis's `INFO stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// GETs that found a fresh key (`keyspace_hits`).
    pub keyspace_hits: u64,
    /// GETs that found nothing or an expired key (`keyspace_misses`).
    pub keyspace_misses: u64,
    /// Keys deleted because their TTL passed (`expired_keys`).
    pub expired_keys: u64,
    /// Keys evicted to fit maxmemory (`evicted_keys`).
    pub evicted_keys: u64,
    /// SETs refused with OOM.
    pub oom_rejections: u64,
}

/// Memory and deletions of one key class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Bytes used now by the class's keys.
    pub used_memory: u64,
    /// Keys of the class stored now.
    pub stored_keys: u64,
    /// Keys of the class evicted so far.
    pub evicted_keys: u64,
    /// Keys of the class expired so far.
    pub expired_keys: u64,
}

/// How a cache is sized and evicts.
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// Key ids are below this.
    pub keys: u32,
    /// Memory limit in bytes; 0 = unlimited.
    pub maxmemory_bytes: u64,
    /// Eviction policy.
    pub policy: EvictionPolicy,
    /// Keys sampled per eviction.
    pub samples: u32,
    /// Bytes per stored key beyond its value.
    pub key_overhead: u64,
    /// Extra bytes per stored key with a TTL.
    pub ttl_overhead: u64,
    /// LFU parameters.
    pub lfu: LfuConfig,
    /// Class of each key (index into the class statistics).
    pub class_of: KeyClasses,
    /// Number of classes.
    pub classes: usize,
    /// Active expiry cycles per second.
    pub hz: u32,
}

/// Why a key is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Removal {
    Expired,
    Evicted,
    Deleted,
}

const ABSENT: u32 = u32::MAX;
/// `Entry::pos` of a stored key when no list of every stored key is kept.
const UNLISTED: u32 = 0;

/// Per-key state: 24 bytes.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Expiry instant; [`SimTime::NEVER`] for no TTL.
    expire_at: SimTime,
    /// Bytes charged to used memory.
    bytes: u32,
    /// Index in `stored` ([`UNLISTED`] when it is not kept), or [`ABSENT`].
    pos: u32,
    /// Index in `volatile`, or [`ABSENT`].
    vpos: u32,
    /// The eviction policy's compact state: LRU clock (seconds) or packed
    /// LFU state for a sampled policy, unused by the others. It lives here,
    /// beside `expire_at`, so a sampled key is scored from one cache line.
    access: u32,
}

const EMPTY: Entry = Entry {
    expire_at: SimTime::NEVER,
    bytes: 0,
    pos: ABSENT,
    vpos: ABSENT,
    access: 0,
};

/// Keys checked per active expiry loop (`ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
const EXPIRE_KEYS_PER_LOOP: usize = 20;
/// A loop repeats while more than this share of its keys had expired
/// (`ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`, 10% since Redis 6; 25% before).
const EXPIRE_ACCEPTABLE_STALE: f64 = 0.10;
/// Share of each cycle's period the expiry may use (`ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC`).
const EXPIRE_TIME_SHARE: f64 = 0.25;
/// Assumed cost of checking one key, to turn the time budget into a key budget.
const EXPIRE_NS_PER_KEY: f64 = 1_000.0;

/// The cache's key space and memory.
#[derive(Debug)]
pub struct Cache {
    config: CacheConfig,
    entries: Vec<Entry>,
    /// Every stored key, kept only when the policy samples from all keys.
    stored: Option<Vec<u32>>,
    stored_keys: u64,
    volatile: Vec<u32>,
    used_memory: u64,
    evictor: Evictor,
    stats: CacheStats,
    class_stats: Vec<ClassStats>,
    expire_budget_keys: usize,
    rng: Stream,
}

impl Cache {
    /// An empty cache; `rng` drives eviction sampling, LFU increments and active expiry.
    pub fn new(config: CacheConfig, rng: Stream) -> Self {
        let keys = config.keys as usize;
        let period_ns = 1e9 / config.hz.max(1) as f64;
        Cache {
            entries: vec![EMPTY; keys],
            stored: config.policy.samples_all_keys().then(Vec::new),
            stored_keys: 0,
            volatile: Vec::new(),
            used_memory: 0,
            evictor: Evictor::new(
                config.policy,
                keys,
                config.maxmemory_bytes,
                config.samples,
                config.lfu,
            ),
            stats: CacheStats::default(),
            class_stats: vec![ClassStats::default(); config.classes],
            expire_budget_keys: ((period_ns * EXPIRE_TIME_SHARE / EXPIRE_NS_PER_KEY) as usize)
                .max(EXPIRE_KEYS_PER_LOOP),
            config,
            rng,
        }
    }

    /// Starts loading `key`'s entry into the processor's cache: the engine
    /// knows the next requests' keys ahead, so the entry's memory latency
    /// overlaps other events instead of stalling that request's GET.
    #[inline(always)]
    pub fn prefetch(&self, key: u32) {
        if let Some(entry) = self.entries.get(key as usize) {
            prefetch_line(entry);
        }
    }

    /// GET `key` at server time `now`: evicts if over the limit, expires lazily.
    #[inline]
    pub fn get(&mut self, key: u32, now: SimTime) -> Lookup {
        self.make_room(now);
        let entry = self.entries[key as usize];
        if entry.pos == ABSENT {
            self.stats.keyspace_misses += 1;
            return Lookup::Miss;
        }
        if entry.expire_at <= now {
            self.remove(key, Removal::Expired);
            self.stats.keyspace_misses += 1;
            return Lookup::Expired;
        }
        self.stats.keyspace_hits += 1;
        self.touch(key, now);
        Lookup::Hit {
            expire_at: entry.expire_at,
        }
    }

    /// SET `key` to a value of `value_bytes` at server time `now`, with an optional TTL.
    #[inline]
    pub fn set(
        &mut self,
        key: u32,
        now: SimTime,
        value_bytes: u64,
        ttl: Option<SimDuration>,
    ) -> Write {
        if !self.make_room(now) {
            self.stats.oom_rejections += 1;
            return Write::OutOfMemory;
        }
        let expire_at = ttl.map_or(SimTime::NEVER, |t| now + t);
        let bytes = (self.config.key_overhead
            + value_bytes
            + if ttl.is_some() {
                self.config.ttl_overhead
            } else {
                0
            })
        .min(u32::MAX as u64) as u32;
        let old = self.entries[key as usize];
        if old.pos != ABSENT && old.expire_at <= now {
            self.remove(key, Removal::Expired); // lookupKeyWrite expires it first
        }
        if self.entries[key as usize].pos == ABSENT {
            let convention = self.config.policy.convention();
            if convention == Convention::AfterInsert {
                let limit = self.config.maxmemory_bytes;
                if limit > 0 && bytes as u64 > limit {
                    return Write::Stored; // larger than the whole cache: not admitted
                }
                self.insert(key, now, bytes, expire_at);
                self.make_room(now);
                return Write::Stored;
            }
            if convention == Convention::BeforeInsert {
                let limit = self.config.maxmemory_bytes;
                if limit > 0 && (bytes as u64 > limit || !self.evictor.admits(bytes)) {
                    // Larger than the whole cache: not admitted, as
                    // trace-driven simulators do (the SET itself succeeds).
                    return Write::Stored;
                }
                self.evictor.before_insert(key);
                while limit > 0 && self.used_memory + bytes as u64 > limit {
                    match self.select_victim(now) {
                        Some(victim) => self.remove(victim, Removal::Evicted),
                        None => {
                            self.stats.oom_rejections += 1;
                            return Write::OutOfMemory;
                        }
                    }
                }
            }
            self.insert(key, now, bytes, expire_at);
        } else {
            self.touch(key, now); // an overwrite keeps and refreshes LRU/LFU state
            self.replace(key, bytes, expire_at);
        }
        Write::Stored
    }

    /// `SET key value NX PX ttl`: stores only if the key is absent (or expired).
    ///
    /// Returns whether it stored, or `Err(OutOfMemory)` when memory is full.
    pub fn set_if_absent(
        &mut self,
        key: u32,
        now: SimTime,
        value_bytes: u64,
        ttl: Option<SimDuration>,
    ) -> Result<bool, Write> {
        if self.live(key, now) {
            self.make_room(now);
            return Ok(false);
        }
        match self.set(key, now, value_bytes, ttl) {
            Write::Stored => Ok(true),
            Write::OutOfMemory => Err(Write::OutOfMemory),
        }
    }

    /// `DEL key`: deletes a live key (an expired one is reclaimed as expired); true if it was live.
    pub fn delete(&mut self, key: u32, now: SimTime) -> bool {
        self.make_room(now);
        let live = self.live(key, now);
        if self.contains(key) {
            self.remove(
                key,
                if live {
                    Removal::Deleted
                } else {
                    Removal::Expired
                },
            );
        }
        live
    }

    /// `PEXPIRE key ttl`: sets a live key's TTL; true if the key was live.
    pub fn expire(&mut self, key: u32, now: SimTime, ttl: SimDuration) -> bool {
        self.make_room(now);
        if !self.live(key, now) {
            return false;
        }
        let bytes = self.entries[key as usize].bytes;
        let had_ttl = self.entries[key as usize].vpos != ABSENT;
        let bytes = if had_ttl {
            bytes
        } else {
            bytes + self.config.ttl_overhead as u32
        };
        self.replace(key, bytes, now + ttl);
        true
    }

    /// Evicts `key` now, as if the eviction policy had chosen it (the `evict` fault).
    pub fn evict(&mut self, key: u32) {
        if self.contains(key) {
            self.remove(key, Removal::Evicted);
        }
    }

    /// `FLUSHALL`: deletes every key.
    pub fn flush(&mut self) {
        for key in 0..self.entries.len() as u32 {
            if self.contains(key) {
                self.remove(key, Removal::Deleted);
            }
        }
        self.evictor.on_flush();
    }

    /// Whether `key` is stored and not expired at `now`.
    fn live(&self, key: u32, now: SimTime) -> bool {
        let e = &self.entries[key as usize];
        e.pos != ABSENT && e.expire_at > now
    }

    /// Evicts until memory fits, as Redis does before each command; false if it cannot.
    fn make_room(&mut self, now: SimTime) -> bool {
        let limit = self.config.maxmemory_bytes;
        while limit > 0 && self.used_memory > limit {
            match self.select_victim(now) {
                Some(victim) => self.remove(victim, Removal::Evicted),
                None => return false,
            }
        }
        true
    }

    /// Asks the eviction policy for a victim; `None` if it can evict nothing.
    fn select_victim(&mut self, now: SimTime) -> Option<u32> {
        let keys = KeyTable {
            entries: &self.entries,
            stored: self.stored.as_deref().unwrap_or(&[]),
            volatile: &self.volatile,
        };
        self.evictor.victim(keys, now, &mut self.rng)
    }

    /// Records an access for the eviction policy.
    #[inline]
    fn touch(&mut self, key: u32, now: SimTime) {
        let access = &mut self.entries[key as usize].access;
        self.evictor.on_access(key, access, now, &mut self.rng);
    }

    fn insert(&mut self, key: u32, now: SimTime, bytes: u32, expire_at: SimTime) {
        let e = &mut self.entries[key as usize];
        *e = Entry {
            expire_at,
            bytes,
            pos: self.stored.as_ref().map_or(UNLISTED, |s| s.len() as u32),
            vpos: ABSENT,
            access: 0,
        };
        self.evictor.on_insert(key, bytes, &mut e.access, now);
        if let Some(stored) = &mut self.stored {
            stored.push(key);
        }
        self.stored_keys += 1;
        if expire_at != SimTime::NEVER {
            self.add_volatile(key);
        }
        self.used_memory += bytes as u64;
        let class = &mut self.class_stats[self.config.class_of.of(key) as usize];
        class.used_memory += bytes as u64;
        class.stored_keys += 1;
    }

    fn replace(&mut self, key: u32, bytes: u32, expire_at: SimTime) {
        let old = self.entries[key as usize];
        let class = &mut self.class_stats[self.config.class_of.of(key) as usize];
        class.used_memory = class.used_memory - old.bytes as u64 + bytes as u64;
        self.used_memory = self.used_memory - old.bytes as u64 + bytes as u64;
        let e = &mut self.entries[key as usize];
        e.bytes = bytes;
        e.expire_at = expire_at;
        match (old.vpos != ABSENT, expire_at != SimTime::NEVER) {
            (false, true) => self.add_volatile(key),
            (true, false) => self.remove_volatile(key),
            _ => {}
        }
    }

    fn add_volatile(&mut self, key: u32) {
        self.entries[key as usize].vpos = self.volatile.len() as u32;
        self.volatile.push(key);
    }

    fn remove_volatile(&mut self, key: u32) {
        let vpos = self.entries[key as usize].vpos as usize;
        self.volatile.swap_remove(vpos);
        if let Some(&moved) = self.volatile.get(vpos) {
            self.entries[moved as usize].vpos = vpos as u32;
        }
        self.entries[key as usize].vpos = ABSENT;
    }

    fn remove(&mut self, key: u32, why: Removal) {
        let e = self.entries[key as usize];
        if e.vpos != ABSENT {
            self.remove_volatile(key);
        }
        if let Some(stored) = &mut self.stored {
            let pos = e.pos as usize;
            stored.swap_remove(pos);
            if let Some(&moved) = stored.get(pos) {
                self.entries[moved as usize].pos = pos as u32;
            }
        }
        self.stored_keys -= 1;
        self.evictor.on_remove(key);
        self.entries[key as usize] = EMPTY;
        self.used_memory -= e.bytes as u64;
        let class = &mut self.class_stats[self.config.class_of.of(key) as usize];
        class.used_memory -= e.bytes as u64;
        class.stored_keys -= 1;
        match why {
            Removal::Expired => {
                self.stats.expired_keys += 1;
                class.expired_keys += 1;
            }
            Removal::Evicted => {
                self.stats.evicted_keys += 1;
                class.evicted_keys += 1;
            }
            Removal::Deleted => {}
        }
    }

    /// One active expiry cycle at `now` (`activeExpireCycle`, slow type).
    ///
    /// Checks 20 random keys with a TTL, deletes the expired ones, and repeats
    /// while more than 10% of a batch had expired, within a budget of 25% of
    /// the cycle period at 1 µs per key. Redis 7 walks the expires table with
    /// a cursor instead of drawing at random; both check uniformly spread keys.
    pub fn active_expire_cycle(&mut self, now: SimTime) {
        use rand::Rng;
        let mut budget = self.expire_budget_keys;
        while !self.volatile.is_empty() && budget > 0 {
            let batch = self.volatile.len().min(EXPIRE_KEYS_PER_LOOP);
            let mut expired = 0;
            for _ in 0..batch {
                let n = self.volatile.len() as u64;
                if n == 0 {
                    break;
                }
                let key = self.volatile[(((self.rng.next_u64() >> 32) * n) >> 32) as usize];
                if self.entries[key as usize].expire_at <= now {
                    self.remove(key, Removal::Expired);
                    expired += 1;
                }
            }
            budget = budget.saturating_sub(batch);
            if (expired as f64) <= EXPIRE_ACCEPTABLE_STALE * batch as f64 {
                break;
            }
        }
    }

    /// Keys stored now, expired-but-unreclaimed included (`DBSIZE`).
    pub fn stored_keys(&self) -> u64 {
        self.stored_keys
    }

    /// Keys with a TTL stored now.
    pub fn volatile_keys(&self) -> u64 {
        self.volatile.len() as u64
    }

    /// Bytes used now (`used_memory`).
    pub fn used_memory(&self) -> u64 {
        self.used_memory
    }

    /// The INFO counters so far.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Memory and deletions per key class.
    pub fn class_stats(&self) -> &[ClassStats] {
        &self.class_stats
    }

    /// Whether `key` is stored (expired or not), for tests and invariants.
    pub fn contains(&self, key: u32) -> bool {
        self.entries[key as usize].pos != ABSENT
    }
}

/// The key table as an eviction policy reads it to pick a victim: borrowed,
/// never copied, so choosing a victim allocates nothing.
///
/// The dense lists give O(1) uniform sampling; every accessor is O(1).
#[derive(Clone, Copy)]
pub(crate) struct KeyTable<'a> {
    entries: &'a [Entry],
    stored: &'a [u32],
    volatile: &'a [u32],
}

impl<'a> KeyTable<'a> {
    /// Every stored key, expired-but-unreclaimed included, in no particular order.
    #[inline]
    pub(crate) fn stored(&self) -> &'a [u32] {
        self.stored
    }

    /// The stored keys with a TTL, in no particular order.
    #[inline]
    pub(crate) fn volatile(&self) -> &'a [u32] {
        self.volatile
    }

    /// Whether `key` is stored now (a pooled candidate may have gone since).
    #[inline]
    pub(crate) fn is_stored(&self, key: u32) -> bool {
        self.entries[key as usize].pos != ABSENT
    }

    /// Whether `key` has a TTL (is in [`KeyTable::volatile`]).
    #[inline]
    pub(crate) fn has_ttl(&self, key: u32) -> bool {
        self.entries[key as usize].vpos != ABSENT
    }

    /// The policy's compact state of `key`, as its `on_insert`/`on_access` left it.
    #[inline]
    pub(crate) fn access(&self, key: u32) -> u32 {
        self.entries[key as usize].access
    }

    /// When `key` expires; [`SimTime::NEVER`] without a TTL.
    #[inline]
    pub(crate) fn expire_at(&self, key: u32) -> SimTime {
        self.entries[key as usize].expire_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Component, stream};

    #[test]
    fn a_key_costs_twenty_four_bytes() {
        // The README's per-key figure: 100 million keys in 2.4 GB of entries.
        assert_eq!(size_of::<Entry>(), 24);
    }

    fn cache(maxmemory: u64, policy: &str, keys: u32) -> Cache {
        let config = CacheConfig {
            keys,
            maxmemory_bytes: maxmemory,
            policy: EvictionPolicy::from_name(policy).unwrap(),
            samples: 5,
            key_overhead: 50,
            ttl_overhead: 10,
            lfu: LfuConfig {
                log_factor: 10,
                decay_minutes: 1,
            },
            class_of: KeyClasses::One,
            classes: 1,
            hz: 10,
        };
        Cache::new(config, stream(1, Component::Eviction))
    }

    const S: SimDuration = SimDuration::from_secs(1);

    #[test]
    fn lazy_expiry_counts_and_frees() {
        let mut c = cache(0, "noeviction", 4);
        c.set(1, SimTime(0), 50, Some(SimDuration(10)));
        assert_eq!(
            c.get(1, SimTime(9)),
            Lookup::Hit {
                expire_at: SimTime(10)
            }
        );
        assert_eq!(c.used_memory(), 110);
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
    fn overwrite_updates_memory_and_ttl_lists() {
        let mut c = cache(0, "noeviction", 2);
        c.set(0, SimTime(0), 100, None);
        c.set(0, SimTime(5), 200, Some(S));
        assert_eq!(
            (c.stored_keys(), c.volatile_keys(), c.used_memory()),
            (1, 1, 260)
        );
        c.set(0, SimTime(6), 10, None);
        assert_eq!(
            (c.stored_keys(), c.volatile_keys(), c.used_memory()),
            (1, 0, 60)
        );
    }

    #[test]
    fn eviction_happens_before_the_next_command() {
        // Room for two 100-byte entries (150 bytes each with overhead).
        let mut c = cache(300, "allkeys-lru", 10);
        c.set(0, SimTime(0), 100, None);
        c.set(1, SimTime(0), 100, None);
        c.set(2, SimTime(0), 100, None); // applied: memory now 450 > 300
        assert_eq!(c.used_memory(), 450);
        c.get(9, SimTime(0)); // the next command evicts first
        assert!(c.used_memory() <= 300);
        assert_eq!(c.stats().evicted_keys, 1);
    }

    #[test]
    fn noeviction_rejects_writes_but_serves_reads() {
        let mut c = cache(300, "noeviction", 10);
        for k in 0..3 {
            assert_eq!(c.set(k, SimTime(0), 100, None), Write::Stored);
        }
        assert_eq!(c.set(3, SimTime(0), 100, None), Write::OutOfMemory);
        assert!(matches!(c.get(0, SimTime(0)), Lookup::Hit { .. }));
        assert_eq!(c.stats().oom_rejections, 1);
        assert!(!c.contains(3));
    }

    #[test]
    fn volatile_policies_never_evict_keys_without_ttl() {
        let mut c = cache(600, "volatile-lru", 10);
        c.set(0, SimTime(0), 100, None);
        c.set(1, SimTime(0), 100, None);
        c.set(2, SimTime(0), 100, Some(S * 100));
        c.set(3, SimTime(0), 100, Some(S * 100));
        c.set(4, SimTime(0), 100, None); // 760 > 600
        c.get(9, SimTime(1));
        assert!(c.contains(0) && c.contains(1) && c.contains(4));
        // Once no volatile key is left, writes fail with OOM.
        c.set(5, SimTime(0), 100, None);
        c.set(6, SimTime(0), 100, None);
        assert_eq!(c.set(7, SimTime(0), 100, None), Write::OutOfMemory);
        assert!(c.contains(0) && c.contains(1) && c.contains(4));
    }

    #[test]
    fn volatile_ttl_evicts_the_nearest_expiry() {
        let mut c = cache(480, "volatile-ttl", 10);
        for (k, secs) in [(0u32, 50u64), (1, 10), (2, 90)] {
            c.set(k, SimTime(0), 100, Some(S * secs));
        }
        c.set(3, SimTime(0), 100, Some(S * 70)); // over the limit
        c.get(9, SimTime(0));
        assert!(!c.contains(1), "the key expiring first goes");
        assert!(c.contains(0) && c.contains(2) && c.contains(3));
    }

    #[test]
    fn lock_commands_follow_redis_semantics() {
        let mut c = cache(0, "noeviction", 4);
        assert_eq!(
            c.set_if_absent(0, SimTime(0), 16, Some(SimDuration(100))),
            Ok(true)
        );
        assert_eq!(
            c.set_if_absent(0, SimTime(50), 16, Some(SimDuration(100))),
            Ok(false)
        );
        assert!(
            c.expire(0, SimTime(90), SimDuration(100)),
            "renewed until 190"
        );
        assert_eq!(
            c.set_if_absent(0, SimTime(150), 16, Some(SimDuration(100))),
            Ok(false)
        );
        // After the lease lapses, the next SET NX wins.
        assert_eq!(
            c.set_if_absent(0, SimTime(190), 16, Some(SimDuration(100))),
            Ok(true)
        );
        assert!(c.delete(0, SimTime(200)));
        assert!(!c.delete(0, SimTime(200)));
        c.set(1, SimTime(0), 16, None);
        c.flush();
        assert_eq!((c.stored_keys(), c.used_memory()), (0, 0));
    }

    #[test]
    fn exact_lru_evicts_least_recent() {
        let mut c = cache(450, "lru", 10);
        for k in 0..3 {
            c.set(k, SimTime(k as u64), 100, None);
        }
        c.get(0, SimTime(10));
        c.set(3, SimTime(11), 100, None);
        c.get(9, SimTime(12));
        assert!(!c.contains(1));
    }

    #[test]
    fn active_expiry_reclaims_expired_keys() {
        let mut c = cache(0, "noeviction", 1000);
        for k in 0..1000 {
            c.set(k, SimTime(0), 10, Some(S));
        }
        c.active_expire_cycle(SimTime(2_000_000_000));
        // Every batch is 100% expired, so the cycle keeps going within its budget.
        assert!(c.stored_keys() < 100, "left {}", c.stored_keys());
        assert_eq!(c.stats().expired_keys, 1000 - c.stored_keys());
    }
}
