//! Eviction policies: their names, and the one enum the cache delegates to.
//!
//! [`EvictionPolicy`] is what a scenario names (`cache.policy`). The cache
//! turns it into an `Evictor`: one exhaustive enum whose variants are the
//! policies, each in its own file, each supplying only primitives (on insert,
//! on access, on remove, on flush, pick a victim). The cache owns lookup,
//! expiry, memory and statistics, and calls these at the moments Redis would.
//!
//! - `noeviction`: a variant without data (its file would hold nothing).
//! - `policy/sampled.rs`: Redis's policies, scope × rank × samples with the
//!   16-entry eviction pool; `*-random` is the same family with a random pick.
//! - `policy/exact_lru.rs`, `policy/exact_lfu.rs`: exact references, not
//!   Redis policies.
//!
//! Adding a policy touches this file only, plus the policy's own file under
//! `policy/`: a `mod` line, an [`EvictionPolicy`] variant with its name, an
//! `Evictor` variant; the compiler then lists every `match` that must decide
//! what the new policy does.

mod clock;
mod exact_lfu;
mod exact_lru;
mod fifo;
mod queue;
mod s3fifo;
mod sampled;
mod sieve;
mod wtinylfu;

use crate::cache::KeyTable;
use crate::cache::lfu::LfuConfig;
use crate::rng::Stream;
use crate::time::SimTime;
use clock::Clock;
use exact_lfu::ExactLfu;
use exact_lru::ExactLru;
use fifo::Fifo;
use s3fifo::S3Fifo;
use sampled::Sampled;
use sieve::Sieve;
use wtinylfu::WTinyLfu;

/// Which keys a policy may evict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Any stored key (`allkeys-*`).
    AllKeys,
    /// Only keys with a TTL (`volatile-*`).
    Volatile,
}

/// How a sampled policy ranks its candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rank {
    /// Longest idle on the LRU clock.
    Lru,
    /// Lowest LFU counter after decay.
    Lfu,
    /// Nearest expiry (`volatile-ttl`).
    Ttl,
}

/// An eviction policy (`cache.policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictionPolicy {
    /// Never evict: writes fail with OOM once memory is full.
    NoEviction,
    /// Redis's sampled policies with an eviction pool.
    Sampled {
        /// Keys eligible for eviction.
        scope: Scope,
        /// How candidates are ranked.
        rank: Rank,
    },
    /// Redis's random policies: a uniformly random key of the scope.
    Random {
        /// Keys eligible for eviction.
        scope: Scope,
    },
    /// Exact least recently used (a reference, not a Redis policy).
    ExactLru,
    /// Exact least frequently used, ties by recency (a reference, not a Redis policy).
    ExactLfu,
    /// First in, first out (`fifo`).
    Fifo,
    /// FIFO with a reference bit, second chance (`clock`).
    Clock,
    /// SIEVE (`sieve`).
    Sieve,
    /// S3-FIFO: libCacheSim's current variant (`s3-fifo`), or the SOSP 2023
    /// original (`s3-fifo-v0`, `fill_main_first` false).
    S3Fifo {
        /// Until the first eviction, new keys enter main once small is full.
        fill_main_first: bool,
    },
    /// W-TinyLFU as Caffeine implements it (`w-tinylfu`).
    WTinyLfu,
}

/// When a policy makes room for a key: Redis's way, or the way trace-driven
/// cache simulators (libCacheSim, Caffeine's simulator) do, so that their
/// numbers compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    /// Redis: a SET is applied even if it takes memory over the limit, and
    /// the next command evicts until memory fits (`performEvictions`).
    BeforeNextCommand,
    /// Trace-driven simulators: a key larger than the whole cache is not
    /// admitted; otherwise victims are evicted until the new key fits, then
    /// it is inserted, so memory never exceeds the limit.
    BeforeInsert,
    /// Caffeine: a key larger than the whole cache is not admitted;
    /// otherwise it is inserted, then keys are evicted until memory fits
    /// (the new key may be one of them: W-TinyLFU's admission decides).
    AfterInsert,
}

impl EvictionPolicy {
    /// Every accepted name, as in `redis.conf` plus the exact references.
    pub const NAMES: [&'static str; 16] = [
        "noeviction",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
        "lru",
        "lfu",
        "fifo",
        "clock",
        "sieve",
        "s3-fifo",
        "s3-fifo-v0",
        "w-tinylfu",
    ];

    /// The policy with this name, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        use EvictionPolicy::*;
        use Rank::*;
        use Scope::*;
        Some(match name {
            "noeviction" => NoEviction,
            "allkeys-lru" => Sampled {
                scope: AllKeys,
                rank: Lru,
            },
            "allkeys-lfu" => Sampled {
                scope: AllKeys,
                rank: Lfu,
            },
            "allkeys-random" => Random { scope: AllKeys },
            "volatile-lru" => Sampled {
                scope: Volatile,
                rank: Lru,
            },
            "volatile-lfu" => Sampled {
                scope: Volatile,
                rank: Lfu,
            },
            "volatile-random" => Random { scope: Volatile },
            "volatile-ttl" => Sampled {
                scope: Volatile,
                rank: Ttl,
            },
            "lru" => ExactLru,
            "lfu" => ExactLfu,
            "fifo" => Fifo,
            "clock" => Clock,
            "sieve" => Sieve,
            "s3-fifo" => S3Fifo {
                fill_main_first: true,
            },
            "s3-fifo-v0" => S3Fifo {
                fill_main_first: false,
            },
            "w-tinylfu" => WTinyLfu,
            _ => return None,
        })
    }

    /// Whether the policy draws its candidates from every stored key, so the
    /// cache keeps a list of them (`allkeys-*` sampled and random).
    pub fn samples_all_keys(self) -> bool {
        matches!(
            self,
            EvictionPolicy::Sampled {
                scope: Scope::AllKeys,
                ..
            } | EvictionPolicy::Random {
                scope: Scope::AllKeys
            }
        )
    }

    /// When this policy makes room for a new key: the exact references and
    /// the queue-based policies follow the trace-driven simulators, Redis's
    /// policies Redis.
    pub fn convention(self) -> Convention {
        use EvictionPolicy::*;
        match self {
            NoEviction | Sampled { .. } | Random { .. } => Convention::BeforeNextCommand,
            ExactLru | ExactLfu | Fifo | Clock | Sieve | S3Fifo { .. } => Convention::BeforeInsert,
            WTinyLfu => Convention::AfterInsert,
        }
    }
}

/// The policy a cache runs: one variant per policy, matched exhaustively.
///
/// Every method is an exhaustive `match self` without a wildcard arm, so a
/// new policy cannot be silently skipped by any of them. Each is O(1) except
/// a sampled victim (O(samples + 16) per round), exact LFU (O(log n),
/// whose ordered set allocates B-tree nodes, amortised) and the queue
/// policies' victims (amortised O(1): each pass over a key clears a bit or
/// lowers a frequency); nothing else allocates.
#[derive(Clone, Debug)]
pub(crate) enum Evictor {
    /// `noeviction`: tracks nothing and never picks a victim, so writes that
    /// cannot fit fail with OOM.
    NoEviction,
    /// Redis's sampled policies (every `maxmemory-policy` but `noeviction`).
    Sampled(Sampled),
    /// Exact LRU (`lru`).
    ExactLru(ExactLru),
    /// Exact LFU (`lfu`).
    ExactLfu(ExactLfu),
    /// FIFO (`fifo`).
    Fifo(Fifo),
    /// CLOCK (`clock`).
    Clock(Clock),
    /// SIEVE (`sieve`).
    Sieve(Sieve),
    /// S3-FIFO (`s3-fifo`, `s3-fifo-v0`).
    S3Fifo(S3Fifo),
    /// W-TinyLFU (`w-tinylfu`).
    WTinyLfu(WTinyLfu),
}

impl Evictor {
    /// The evictor for `policy` over key ids below `keys` in a cache of
    /// `capacity` bytes (0: unlimited), drawing `samples` keys per round
    /// (sampled ranks) with the LFU parameters `lfu`.
    ///
    /// O(keys) for the exact and queue-based policies (their per-key
    /// tables), O(1) otherwise.
    pub(crate) fn new(
        policy: EvictionPolicy,
        keys: usize,
        capacity: u64,
        samples: u32,
        lfu: LfuConfig,
    ) -> Self {
        match policy {
            EvictionPolicy::NoEviction => Evictor::NoEviction,
            EvictionPolicy::Sampled { scope, rank } => {
                Evictor::Sampled(Sampled::ranked(scope, rank, samples, lfu))
            }
            EvictionPolicy::Random { scope } => Evictor::Sampled(Sampled::random(scope)),
            EvictionPolicy::ExactLru => Evictor::ExactLru(ExactLru::new(keys)),
            EvictionPolicy::ExactLfu => Evictor::ExactLfu(ExactLfu::new(keys)),
            EvictionPolicy::Fifo => Evictor::Fifo(Fifo::new(keys)),
            EvictionPolicy::Clock => Evictor::Clock(Clock::new(keys)),
            EvictionPolicy::Sieve => Evictor::Sieve(Sieve::new(keys)),
            EvictionPolicy::S3Fifo { fill_main_first } => {
                Evictor::S3Fifo(S3Fifo::new(keys, capacity, fill_main_first))
            }
            EvictionPolicy::WTinyLfu => Evictor::WTinyLfu(WTinyLfu::new(keys, capacity)),
        }
    }

    /// Whether a new key of `bytes` may enter at all (under
    /// [`Convention::BeforeInsert`], after the check against the whole
    /// capacity): S3-FIFO admits only keys that fit its small queue.
    pub(crate) fn admits(&self, bytes: u32) -> bool {
        match self {
            Evictor::S3Fifo(s) => s.admits(bytes),
            Evictor::NoEviction
            | Evictor::Sampled(_)
            | Evictor::ExactLru(_)
            | Evictor::ExactLfu(_)
            | Evictor::Fifo(_)
            | Evictor::Clock(_)
            | Evictor::Sieve(_)
            | Evictor::WTinyLfu(_) => true,
        }
    }

    /// `key` is about to be stored, before room is made for it (under
    /// [`Convention::BeforeInsert`]): S3-FIFO takes it out of its ghost here.
    pub(crate) fn before_insert(&mut self, key: u32) {
        match self {
            Evictor::S3Fifo(s) => s.before_insert(key),
            Evictor::NoEviction
            | Evictor::Sampled(_)
            | Evictor::ExactLru(_)
            | Evictor::ExactLfu(_)
            | Evictor::Fifo(_)
            | Evictor::Clock(_)
            | Evictor::Sieve(_)
            | Evictor::WTinyLfu(_) => {}
        }
    }

    /// `key` was stored at `now` (absent before), taking `bytes`. `access`
    /// is the key's compact slot in the cache's entry table, for policies
    /// that keep their state there.
    #[inline]
    pub(crate) fn on_insert(&mut self, key: u32, bytes: u32, access: &mut u32, now: SimTime) {
        match self {
            Evictor::NoEviction => {}
            Evictor::Sampled(s) => s.on_insert(access, now),
            Evictor::ExactLru(l) => l.on_insert(key),
            Evictor::ExactLfu(l) => l.on_insert(key),
            Evictor::Fifo(f) => f.on_insert(key),
            Evictor::Clock(c) => c.on_insert(key),
            Evictor::Sieve(s) => s.on_insert(key),
            Evictor::S3Fifo(s) => s.on_insert(key, bytes),
            Evictor::WTinyLfu(w) => w.on_insert(key, bytes),
        }
    }

    /// The stored, fresh `key` was read or overwritten at `now`. Only a
    /// sampled LFU rank draws from `rng`.
    #[inline]
    pub(crate) fn on_access(&mut self, key: u32, access: &mut u32, now: SimTime, rng: &mut Stream) {
        match self {
            Evictor::NoEviction => {}
            Evictor::Sampled(s) => s.on_access(access, now, rng),
            Evictor::ExactLru(l) => l.on_access(key),
            Evictor::ExactLfu(l) => l.on_access(key),
            Evictor::Fifo(_) => {}
            Evictor::Clock(c) => c.on_access(key),
            Evictor::Sieve(s) => s.on_access(key),
            Evictor::S3Fifo(s) => s.on_access(key),
            Evictor::WTinyLfu(w) => w.on_access(key),
        }
    }

    /// `key` left the cache (expired, evicted or deleted).
    #[inline]
    pub(crate) fn on_remove(&mut self, key: u32) {
        match self {
            Evictor::NoEviction | Evictor::Sampled(_) => {}
            Evictor::ExactLru(l) => l.on_remove(key),
            Evictor::ExactLfu(l) => l.on_remove(key),
            Evictor::Fifo(f) => f.on_remove(key),
            Evictor::Clock(c) => c.on_remove(key),
            Evictor::Sieve(s) => s.on_remove(key),
            Evictor::S3Fifo(s) => s.on_remove(key),
            Evictor::WTinyLfu(w) => w.on_remove(key),
        }
    }

    /// Every key was removed (`FLUSHALL`), each already reported to [`Evictor::on_remove`].
    pub(crate) fn on_flush(&mut self) {
        match self {
            Evictor::NoEviction
            | Evictor::ExactLru(_)
            | Evictor::ExactLfu(_)
            | Evictor::Fifo(_)
            | Evictor::Clock(_)
            | Evictor::Sieve(_)
            | Evictor::WTinyLfu(_) => {}
            Evictor::Sampled(s) => s.on_flush(),
            Evictor::S3Fifo(s) => s.on_flush(),
        }
    }

    /// The key to evict at `now`, or `None` if the policy can evict nothing
    /// (then a write that does not fit fails with OOM). Only sampled policies
    /// read `keys` and draw from `rng`.
    pub(crate) fn victim(
        &mut self,
        keys: KeyTable<'_>,
        now: SimTime,
        rng: &mut Stream,
    ) -> Option<u32> {
        match self {
            Evictor::NoEviction => None,
            Evictor::Sampled(s) => s.victim(keys, now, rng),
            Evictor::ExactLru(l) => l.victim(),
            Evictor::ExactLfu(l) => l.victim(),
            Evictor::Fifo(f) => f.victim(),
            Evictor::Clock(c) => c.victim(),
            Evictor::Sieve(s) => s.victim(),
            Evictor::S3Fifo(s) => s.victim(),
            Evictor::WTinyLfu(w) => w.victim(rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses() {
        for name in EvictionPolicy::NAMES {
            assert!(EvictionPolicy::from_name(name).is_some(), "{name}");
        }
        assert_eq!(EvictionPolicy::from_name("allkeys-lfru"), None);
    }
}
