//! Redis's eviction policies: scope × rank × samples, over the cache's dense key lists.
//!
//! Every Redis policy but `noeviction` draws candidates uniformly from a
//! scope (all keys, or keys with a TTL), which the cache keeps as dense
//! lists so a draw is O(1). The pick is what differs:
//! - **Ranked** (`*-lru`, `*-lfu`, `volatile-ttl`), as `evict.c` does: each
//!   eviction samples `maxmemory-samples` keys of the scope into a 16-entry
//!   pool sorted by score, kept across evictions, and evicts the best entry
//!   that still exists.
//! - **Random** (`*-random`): one uniform draw, no pool (`evict.c` calls
//!   `dictGetRandomKey`).
//!
//! Where this simplifies Redis, it says so:
//! - `dictGetSomeKeys` walks consecutive hash buckets from a random start; we
//!   draw `samples` keys uniformly (with replacement). Bucket order is the hash
//!   order, uncorrelated with recency or frequency, so the samples have the
//!   same distribution of scores.
//! - Pool entries keep the score they were sampled with (stale scores), there
//!   is no duplicate check, and ties insert to the left of equal scores — all
//!   as in Redis.
//!
//! The per-key state a rank needs (the LRU clock or the packed LFU counter)
//! is one `u32` the cache keeps in its entry table, beside the key's expiry,
//! so scoring a sampled key reads one cache line and allocates nothing.

use super::{Rank, Scope};
use crate::cache::KeyTable;
use crate::cache::lfu::{self, LfuConfig};
use crate::rng::Stream;
use crate::time::SimTime;

/// One of Redis's sampled policies (every `maxmemory-policy` but `noeviction`).
#[derive(Clone, Debug)]
pub(crate) struct Sampled {
    /// Keys eligible for eviction.
    scope: Scope,
    /// How a victim is chosen among them.
    pick: Pick,
}

/// How a sampled policy chooses among the keys of its scope.
#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per cache, built once and never moved; boxing the pool would add a pointer chase to every eviction"
)]
enum Pick {
    /// `*-random`: one uniform draw.
    Random,
    /// `*-lru`, `*-lfu`, `volatile-ttl`: `samples` draws ranked into the pool.
    Ranked {
        /// What a higher score means.
        rank: Rank,
        /// `maxmemory-samples`: keys drawn per round.
        samples: u32,
        /// Decay and growth of the LFU counter (read by [`Rank::Lfu`] only).
        lfu: LfuConfig,
        /// The candidates kept across evictions.
        pool: EvictionPool,
    },
}

impl Sampled {
    /// A ranked policy (`allkeys-lru`, `volatile-ttl`, ...) drawing `samples` keys per round.
    pub(crate) fn ranked(scope: Scope, rank: Rank, samples: u32, lfu: LfuConfig) -> Self {
        Sampled {
            scope,
            pick: Pick::Ranked {
                rank,
                samples,
                lfu,
                pool: EvictionPool::default(),
            },
        }
    }

    /// A random policy (`allkeys-random`, `volatile-random`).
    pub(crate) fn random(scope: Scope) -> Self {
        Sampled {
            scope,
            pick: Pick::Random,
        }
    }

    /// A key was stored at `now`: initialises its rank state in `access`. O(1).
    ///
    /// LRU starts at the current clock, LFU at counter 5 (`LFU_INIT_VAL`).
    #[inline]
    pub(crate) fn on_insert(&mut self, access: &mut u32, now: SimTime) {
        match &self.pick {
            Pick::Random => {}
            Pick::Ranked { rank, .. } => match rank {
                Rank::Lru => *access = lru_clock(now),
                Rank::Lfu => *access = lfu::initial(now),
                Rank::Ttl => {}
            },
        }
    }

    /// A stored key was read or overwritten at `now`: updates its rank state. O(1).
    ///
    /// LFU draws one number from `rng` (the logarithmic increment); nothing
    /// else draws, so the stream stays in step with Redis's order of events.
    #[inline]
    pub(crate) fn on_access(&mut self, access: &mut u32, now: SimTime, rng: &mut Stream) {
        match &self.pick {
            Pick::Random => {}
            Pick::Ranked { rank, lfu, .. } => match rank {
                Rank::Lru => *access = lru_clock(now),
                Rank::Lfu => *access = lfu::on_access(*access, now, *lfu, rng),
                Rank::Ttl => {}
            },
        }
    }

    /// The cache was flushed: forgets the pooled candidates, so a key stored
    /// again later is not evicted on a score from before the flush. O(1).
    pub(crate) fn on_flush(&mut self) {
        match &mut self.pick {
            Pick::Random => {}
            Pick::Ranked { pool, .. } => *pool = EvictionPool::default(),
        }
    }

    /// The key to evict at `now`, or `None` when the scope holds no key.
    ///
    /// Random: one draw. Ranked: rounds of `samples` draws into the pool
    /// until the pool's best still exists in the scope; O(samples + 16) per
    /// round, and a round fails only if every pooled key has gone since it
    /// was sampled.
    pub(crate) fn victim(
        &mut self,
        keys: KeyTable<'_>,
        now: SimTime,
        rng: &mut Stream,
    ) -> Option<u32> {
        let scope = self.scope;
        let candidates = match scope {
            Scope::AllKeys => keys.stored(),
            Scope::Volatile => keys.volatile(),
        };
        match &mut self.pick {
            Pick::Random => {
                let mut pick = None;
                sample_keys(candidates, 1, rng, |k| pick = Some(k));
                pick
            }
            Pick::Ranked {
                rank,
                samples,
                lfu,
                pool,
            } => loop {
                if candidates.is_empty() {
                    return None;
                }
                // Scoring draws nothing, so offering each key as it is drawn
                // keeps the stream in the same order as drawing all first.
                sample_keys(candidates, *samples, rng, |key| {
                    pool.offer(score(keys, key, *rank, *lfu, now), key)
                });
                let in_scope = |key: u32| match scope {
                    Scope::AllKeys => keys.is_stored(key),
                    Scope::Volatile => keys.is_stored(key) && keys.has_ttl(key),
                };
                if let Some(victim) = pool.take_best(in_scope) {
                    return Some(victim);
                }
            },
        }
    }
}

/// A candidate's score: higher is evicted first (`evictionPoolPopulate`'s "idle").
fn score(keys: KeyTable<'_>, key: u32, rank: Rank, lfu: LfuConfig, now: SimTime) -> u64 {
    match rank {
        Rank::Lru => lru_clock(now).wrapping_sub(keys.access(key)) as u64 * 1000,
        Rank::Lfu => 255 - lfu::decayed(keys.access(key), now, lfu) as u64,
        Rank::Ttl => u64::MAX - keys.expire_at(key).0 / 1_000_000,
    }
}

/// Redis's LRU clock: seconds (`LRU_CLOCK_RESOLUTION` 1000 ms), 24 bits.
#[inline]
fn lru_clock(now: SimTime) -> u32 {
    ((now.0 / 1_000_000_000) & 0xff_ffff) as u32
}

/// Redis's `EVPOOL_SIZE`.
const POOL_SIZE: usize = 16;

/// The eviction pool: candidates sorted by ascending score, best at the right.
#[derive(Clone, Debug, Default)]
struct EvictionPool {
    /// (score, key); `None` slots are empty and sit at the right.
    slots: [Option<(u64, u32)>; POOL_SIZE],
}

impl EvictionPool {
    /// Inserts a sampled candidate as `evictionPoolPopulate` does. O(16).
    fn offer(&mut self, score: u64, key: u32) {
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

    /// Takes the best candidates from the right until `exists` accepts one. O(16).
    fn take_best(&mut self, exists: impl Fn(u32) -> bool) -> Option<u32> {
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

/// Draws `count` keys uniformly from `candidates` (all of them, in order and
/// without a draw, if there are no more). One `u64` from `rng` per draw.
fn sample_keys(candidates: &[u32], count: u32, rng: &mut Stream, mut each: impl FnMut(u32)) {
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
}
