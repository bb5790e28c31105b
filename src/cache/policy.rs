//! Eviction policies: Redis's sampled ones, and exact references.
//!
//! Redis's policies are a scope (all keys, or keys with a TTL) × a rank (LRU
//! idle time, LFU counter, nearest expiry, or random). The ranked ones follow
//! `evict.c`: each eviction samples `maxmemory-samples` keys of the scope into
//! a 16-entry pool sorted by score, kept across evictions, and evicts the best
//! entry that still exists. Where this simplifies Redis, it says so:
//! - `dictGetSomeKeys` walks consecutive hash buckets from a random start; we
//!   draw `samples` keys uniformly (with replacement). Bucket order is the hash
//!   order, uncorrelated with recency or frequency, so the samples have the
//!   same distribution of scores.
//! - Pool entries keep the score they were sampled with (stale scores), there
//!   is no duplicate check, and ties insert to the left of equal scores — all
//!   as in Redis.

use crate::rng::Stream;

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
}

impl EvictionPolicy {
    /// Every accepted name, as in `redis.conf` plus the exact references.
    pub const NAMES: [&'static str; 10] = [
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
            _ => return None,
        })
    }

    /// Whether accesses update LFU counters (else LRU clocks).
    pub fn uses_lfu(&self) -> bool {
        matches!(
            self,
            EvictionPolicy::Sampled {
                rank: Rank::Lfu,
                ..
            }
        )
    }
}

/// Redis's `EVPOOL_SIZE`.
pub const POOL_SIZE: usize = 16;

/// The eviction pool: candidates sorted by ascending score, best at the right.
#[derive(Clone, Debug, Default)]
pub struct EvictionPool {
    /// (score, key); `None` slots are empty and sit at the right.
    slots: [Option<(u64, u32)>; POOL_SIZE],
}

impl EvictionPool {
    /// Inserts a sampled candidate as `evictionPoolPopulate` does.
    pub fn offer(&mut self, score: u64, key: u32) {
        let slots = &mut self.slots;
        let mut k = 0;
        while k < POOL_SIZE && slots[k].is_some_and(|(s, _)| s < score) {
            k += 1;
        }
        if k == 0 && slots[POOL_SIZE - 1].is_some() {
            return; // the pool is full and this candidate is no better than the worst
        }
        if k < POOL_SIZE && slots[k].is_none() {
            // an empty slot: insert here
        } else if slots[POOL_SIZE - 1].is_none() {
            slots.copy_within(k..POOL_SIZE - 1, k + 1); // room on the right: shift right
        } else {
            k -= 1;
            slots.copy_within(1..=k, 0); // full: drop the worst (leftmost)
        }
        slots[k] = Some((score, key));
    }

    /// Takes the best candidates from the right until `exists` accepts one.
    pub fn take_best(&mut self, exists: impl Fn(u32) -> bool) -> Option<u32> {
        for k in (0..POOL_SIZE).rev() {
            if let Some((_, key)) = self.slots[k].take()
                && exists(key)
            {
                return Some(key);
            }
        }
        None
    }
}

/// Draws `count` keys uniformly from `candidates` (all of them if there are no more).
pub fn sample_keys(candidates: &[u32], count: u32, rng: &mut Stream, mut each: impl FnMut(u32)) {
    use rand::Rng;
    let n = candidates.len() as u64;
    if n <= count as u64 {
        candidates.iter().for_each(|&k| each(k));
        return;
    }
    for _ in 0..count {
        let i = ((rng.next_u64() >> 32) * n) >> 32;
        each(candidates[i as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_the_best_sixteen_and_pops_the_best_first() {
        let mut pool = EvictionPool::default();
        for (i, score) in [5u64, 1, 9, 3, 7].iter().enumerate() {
            pool.offer(*score, i as u32);
        }
        assert_eq!(pool.take_best(|_| true), Some(2)); // score 9
        assert_eq!(pool.take_best(|_| true), Some(4)); // score 7
        // A key that no longer exists is skipped (and dropped).
        assert_eq!(pool.take_best(|k| k != 0), Some(3)); // 5 was key 0: gone; next 3
        for i in 0..40u32 {
            pool.offer(100 + i as u64, 100 + i);
        }
        // Full of the 16 best; worse candidates are refused.
        pool.offer(0, 999);
        assert!(
            pool.slots
                .iter()
                .all(|s| s.is_some_and(|(score, _)| score >= 124))
        );
    }

    #[test]
    fn every_name_parses() {
        for name in EvictionPolicy::NAMES {
            assert!(EvictionPolicy::from_name(name).is_some(), "{name}");
        }
        assert_eq!(EvictionPolicy::from_name("allkeys-lfru"), None);
    }
}
