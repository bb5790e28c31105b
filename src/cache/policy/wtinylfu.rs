//! W-TinyLFU (`w-tinylfu`; Einziger, Friedman & Manes, "TinyLFU: A Highly
//! Efficient Cache Admission Policy", ACM ToS 2017) as Caffeine implements
//! it for a weighted cache (ben-manes/caffeine v3.2.4, 836b65c:
//! `BoundedLocalCache.java`, `FrequencySketch.java`), weights being bytes.
//!
//! - A window LRU (1 % of the bytes) takes new keys; a segmented LRU main
//!   (probation, and protected with 80 % of main) keeps the rest. A hit in
//!   probation promotes to protected; protected overflow is demoted to
//!   probation after the eviction that follows each command.
//! - The window's overflow moves to probation as candidates; each meets the
//!   probation LRU victim, and the one with the higher estimated frequency
//!   stays (the victim on a tie). A candidate estimated at 6 or more wins
//!   anyway one time in 128, Caffeine's guard against hash flooding.
//! - Frequencies come from a count-min sketch of 4-bit counters, 4 per key
//!   in one 64-byte block, sized to the number of keys once the cache is
//!   half full and halved every 10 × that many increments.
//! - The window's share adapts by hill climbing: every sample (as many hits
//!   and misses as the sketch's period) the window moves by a step (6.25 %
//!   of the bytes, decaying by 0.98, restarting after a 5-point change in
//!   hit rate) in the direction that last raised the hit rate.
//!
//! Reproduced: the regions and their sizes, the sketch (layout, hashing of
//! the key id as Java hashes an `Integer`, increments, reset), admission
//! with its guard, the order of candidates and victims, demotion and the
//! released hill climber (v3.2.4; Caffeine's unreleased density controller
//! is not). Simplified: maintenance runs synchronously after every command
//! (Caffeine batches reads in a lossy buffer), the guard draws from the
//! cache's own random stream, and no entry weighs zero.

use super::queue::{Links, NONE, Queue};
use crate::rng::Stream;

/// Which region a key id is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Region {
    /// Not stored.
    None,
    /// The admission window.
    Window,
    /// Main, probation segment.
    Probation,
    /// Main, protected segment.
    Protected,
}

/// Window share of the bytes: `max − trunc(0.99 · max)`.
const PERCENT_MAIN: f64 = 0.99;
/// Protected share of main.
const PERCENT_MAIN_PROTECTED: f64 = 0.80;
/// A candidate at this estimated frequency may win a lost duel (1 in 128).
const ADMIT_HASHDOS_THRESHOLD: u8 = 6;
/// Most entries moved between regions per maintenance pass.
const QUEUE_TRANSFER_THRESHOLD: u32 = 1000;
/// Hill climbing: a hit-rate change this large restarts the step.
const HILL_CLIMBER_RESTART_THRESHOLD: f64 = 0.05;
/// Hill climbing: the step as a share of the bytes.
const HILL_CLIMBER_STEP_PERCENT: f64 = 0.0625;
/// Hill climbing: the step's decay per sample.
const HILL_CLIMBER_STEP_DECAY_RATE: f64 = 0.98;

/// W-TinyLFU over key ids. O(1) per command, amortised.
/// Memory: 13 bytes per key id (links, weight, region) and the sketch
/// (8 bytes per key, rounded up to a power of two).
#[derive(Clone, Debug)]
pub(crate) struct WTinyLfu {
    links: Links,
    window: Queue,
    probation: Queue,
    protected: Queue,
    weight: Vec<u32>,
    region: Vec<Region>,
    sketch: FrequencySketch,
    /// The cache's capacity in bytes (0: unlimited, nothing is tracked).
    maximum: u64,
    window_max: u64,
    protected_max: u64,
    /// Keys stored.
    count: u64,
    /// The eviction under way after an insert.
    pass: Option<Pass>,
    /// The key the pass evicted last (its removal does not end the pass).
    last_evicted: u32,
    /// Climbing (and demotion) is due before the next command.
    maintenance_due: bool,
    hits_in_sample: u64,
    misses_in_sample: u64,
    previous_hit_rate: f64,
    step_size: f64,
    adjustment: i64,
}

/// Where an eviction pass stands: the next candidate and victim, and the
/// region each is walked in (toward newer keys).
#[derive(Clone, Copy, Debug)]
struct Pass {
    candidate: u32,
    candidates_in: Region,
    victim: u32,
    victims_in: Region,
}

impl WTinyLfu {
    /// An empty W-TinyLFU of `capacity` bytes (0: unlimited) for key ids
    /// below `keys`. O(keys).
    pub(crate) fn new(keys: usize, capacity: u64) -> Self {
        let window_max = capacity - (PERCENT_MAIN * capacity as f64) as u64;
        WTinyLfu {
            links: Links::new(keys),
            window: Queue::default(),
            probation: Queue::default(),
            protected: Queue::default(),
            weight: vec![0; keys],
            region: vec![Region::None; keys],
            sketch: FrequencySketch::default(),
            maximum: capacity,
            window_max,
            protected_max: (PERCENT_MAIN_PROTECTED * (capacity - window_max) as f64) as u64,
            count: 0,
            pass: None,
            last_evicted: NONE,
            maintenance_due: false,
            hits_in_sample: 0,
            misses_in_sample: 0,
            previous_hit_rate: 0.0,
            step_size: -HILL_CLIMBER_STEP_PERCENT * capacity as f64,
            adjustment: 0,
        }
    }

    fn weighted_size(&self) -> u64 {
        self.window.bytes + self.probation.bytes + self.protected.bytes
    }

    /// Moves `key` from its region to the head (newest end) of `to`.
    fn move_to(&mut self, key: u32, to: Region) {
        let k = key as usize;
        let (from, w) = (self.region[k], self.weight[k]);
        let queues = [&mut self.window, &mut self.probation, &mut self.protected];
        let [window, probation, protected] = queues;
        queue_of(window, probation, protected, from).remove(&mut self.links, key, w);
        queue_of(window, probation, protected, to).push_head(&mut self.links, key, w);
        self.region[k] = to;
    }

    /// The maintenance that follows each command: demotion and climbing.
    fn maintain(&mut self) {
        if std::mem::take(&mut self.maintenance_due) && self.maximum > 0 {
            self.climb();
        }
    }

    /// A key of `bytes` was stored: it enters the window, the sketch counts
    /// it, and the window's overflow moves to probation as candidates.
    pub(crate) fn on_insert(&mut self, key: u32, bytes: u32) {
        self.maintain();
        let k = key as usize;
        self.weight[k] = bytes;
        self.region[k] = Region::Window;
        self.count += 1;
        if self.maximum == 0 {
            self.window.push_head(&mut self.links, key, bytes);
            return;
        }
        if self.weighted_size() + bytes as u64 >= self.maximum >> 1 {
            self.sketch.ensure_capacity(self.count);
        }
        self.sketch.increment(key);
        if bytes as u64 > self.window_max {
            self.window.push_tail(&mut self.links, key, bytes);
        } else {
            self.window.push_head(&mut self.links, key, bytes);
        }
        self.misses_in_sample += 1;
        let first = self.evict_from_window();
        self.pass = Some(Pass {
            candidate: first,
            candidates_in: Region::Probation,
            victim: self.probation.tail().unwrap_or(NONE),
            victims_in: Region::Probation,
        });
        self.maintenance_due = true;
    }

    /// Moves the window's oldest keys to probation's newest end while the
    /// window is over its share; the first moved is the first candidate.
    fn evict_from_window(&mut self) -> u32 {
        let mut first = NONE;
        while self.window.bytes > self.window_max {
            let Some(key) = self.window.tail() else {
                break;
            };
            self.move_to(key, Region::Probation);
            if first == NONE {
                first = key;
            }
        }
        first
    }

    /// A stored key was read or overwritten: the sketch counts it and it
    /// moves within its region (a probation hit is promoted).
    pub(crate) fn on_access(&mut self, key: u32) {
        self.maintain();
        self.pass = None;
        if self.maximum == 0 {
            return;
        }
        self.sketch.increment(key);
        let k = key as usize;
        match self.region[k] {
            Region::Window => self.move_to(key, Region::Window),
            Region::Probation if self.weight[k] as u64 > self.protected_max => {
                self.move_to(key, Region::Probation)
            }
            Region::Probation | Region::Protected => self.move_to(key, Region::Protected),
            Region::None => return,
        }
        self.hits_in_sample += 1;
        self.maintenance_due = true;
    }

    /// A key left the cache (evicted by [`WTinyLfu::victim`], expired or
    /// deleted; any removal but the pass's own ends the pass).
    pub(crate) fn on_remove(&mut self, key: u32) {
        let k = key as usize;
        let region = self.region[k];
        if region == Region::None {
            return;
        }
        if key != self.last_evicted {
            self.pass = None;
        }
        let w = self.weight[k];
        queue_of(
            &mut self.window,
            &mut self.probation,
            &mut self.protected,
            region,
        )
        .remove(&mut self.links, key, w);
        self.region[k] = Region::None;
        self.count -= 1;
    }

    /// The next key the eviction pass evicts: a losing candidate, or the
    /// victim it beat (Caffeine's `evictFromMain`, one eviction per call).
    pub(crate) fn victim(&mut self, rng: &mut Stream) -> Option<u32> {
        let mut pass = self.pass.take().unwrap_or(Pass {
            candidate: NONE,
            candidates_in: Region::Probation,
            victim: self.probation.tail().unwrap_or(NONE),
            victims_in: Region::Probation,
        });
        let newer = |s: &Self, key: u32| s.links.newer(key);
        let evicted = loop {
            if pass.candidate == NONE && pass.candidates_in == Region::Probation {
                pass.candidate = self.window.tail().unwrap_or(NONE);
                pass.candidates_in = Region::Window;
            }
            if pass.candidate == NONE && pass.victim == NONE {
                let next = match pass.victims_in {
                    Region::Probation => (self.protected.tail(), Region::Protected),
                    Region::Protected => (self.window.tail(), Region::Window),
                    _ => break None,
                };
                pass.victim = next.0.unwrap_or(NONE);
                pass.victims_in = next.1;
                continue;
            }
            if pass.victim == NONE {
                let key = pass.candidate;
                pass.candidate = newer(self, key);
                break Some(key);
            }
            if pass.candidate == NONE || pass.candidate == pass.victim {
                let key = pass.victim;
                pass.victim = newer(self, key);
                if pass.candidate == key {
                    pass.candidate = NONE;
                }
                break Some(key);
            }
            let (candidate, victim) = (pass.candidate, pass.victim);
            if self.admit(candidate, victim, rng) {
                pass.victim = newer(self, victim);
                pass.candidate = newer(self, candidate);
                break Some(victim);
            }
            pass.candidate = newer(self, candidate);
            break Some(candidate);
        };
        self.pass = Some(pass);
        self.last_evicted = evicted.unwrap_or(NONE);
        evicted
    }

    /// Whether `candidate` should replace `victim`: a higher estimated
    /// frequency, or one time in 128 from an estimate of 6 or more.
    fn admit(&self, candidate: u32, victim: u32, rng: &mut Stream) -> bool {
        use rand::Rng;
        let (c, v) = (
            self.sketch.frequency(candidate),
            self.sketch.frequency(victim),
        );
        if c > v {
            return true;
        }
        c >= ADMIT_HASHDOS_THRESHOLD && rng.next_u32() & 127 == 0
    }

    /// Caffeine's `climb`: demote protected overflow, then move the window
    /// boundary by the hill climber's adjustment.
    fn climb(&mut self) {
        if self.sketch.is_initialised() {
            self.determine_adjustment();
        } else {
            self.hits_in_sample = 0;
            self.misses_in_sample = 0;
            self.previous_hit_rate = 0.0;
        }
        self.demote_from_protected();
        match self.adjustment {
            a if a > 0 => self.increase_window(),
            a if a < 0 => self.decrease_window(),
            _ => {}
        }
    }

    /// One sample: keep the direction if the hit rate did not fall.
    fn determine_adjustment(&mut self) {
        let requests = self.hits_in_sample + self.misses_in_sample;
        if requests < self.sketch.sample_size {
            return;
        }
        let hit_rate = self.hits_in_sample as f64 / requests as f64;
        let change = hit_rate - self.previous_hit_rate;
        let amount = if change >= 0.0 {
            self.step_size
        } else {
            -self.step_size
        };
        self.step_size = if change.abs() >= HILL_CLIMBER_RESTART_THRESHOLD {
            HILL_CLIMBER_STEP_PERCENT * self.maximum as f64 * if amount >= 0.0 { 1.0 } else { -1.0 }
        } else {
            HILL_CLIMBER_STEP_DECAY_RATE * amount
        };
        self.previous_hit_rate = hit_rate;
        self.adjustment = amount as i64;
        self.hits_in_sample = 0;
        self.misses_in_sample = 0;
    }

    /// Protected overflow moves, oldest first, to probation's newest end.
    fn demote_from_protected(&mut self) {
        for _ in 0..QUEUE_TRANSFER_THRESHOLD {
            if self.protected.bytes <= self.protected_max {
                break;
            }
            let Some(key) = self.protected.tail() else {
                break;
            };
            self.move_to(key, Region::Probation);
        }
    }

    /// Grows the window by up to the adjustment, taking main's oldest keys.
    fn increase_window(&mut self) {
        if self.protected_max == 0 {
            return;
        }
        let mut quota = (self.adjustment as u64).min(self.protected_max);
        self.protected_max -= quota;
        self.window_max += quota;
        self.demote_from_protected();
        for _ in 0..QUEUE_TRANSFER_THRESHOLD {
            let mut candidate = self.probation.tail();
            if candidate.is_none_or(|k| quota < self.weight[k as usize] as u64) {
                candidate = self.protected.tail();
            }
            let Some(key) = candidate else {
                break;
            };
            let w = self.weight[key as usize] as u64;
            if quota < w {
                break;
            }
            quota -= w;
            self.move_to(key, Region::Window);
        }
        self.protected_max += quota;
        self.window_max -= quota;
        self.adjustment = quota as i64;
    }

    /// Shrinks the window by up to the adjustment, its oldest keys moving to
    /// probation.
    fn decrease_window(&mut self) {
        if self.window_max <= 1 {
            return;
        }
        let mut quota = (self.adjustment.unsigned_abs()).min(self.window_max - 1);
        self.protected_max += quota;
        self.window_max -= quota;
        for _ in 0..QUEUE_TRANSFER_THRESHOLD {
            let Some(key) = self.window.tail() else {
                break;
            };
            let w = self.weight[key as usize] as u64;
            if quota < w {
                break;
            }
            quota -= w;
            self.move_to(key, Region::Probation);
        }
        self.protected_max -= quota;
        self.window_max += quota;
        self.adjustment = -(quota as i64);
    }
}

/// The queue of `region` (split borrows of the three).
fn queue_of<'a>(
    window: &'a mut Queue,
    probation: &'a mut Queue,
    protected: &'a mut Queue,
    region: Region,
) -> &'a mut Queue {
    match region {
        Region::Window => window,
        Region::Probation => probation,
        Region::Protected => protected,
        Region::None => unreachable!("a stored key is in a region"),
    }
}

/// Caffeine's count-min sketch: 4-bit counters, 16 to a 64-bit word, a
/// key's 4 counters in one 8-word (64-byte) block.
#[derive(Clone, Debug, Default)]
struct FrequencySketch {
    table: Vec<u64>,
    block_mask: u32,
    /// Increments between resets: 10 × the keys it was sized for.
    sample_size: u64,
    /// Increments since the last reset.
    size: u64,
}

const RESET_MASK: u64 = 0x7777_7777_7777_7777;
const ONE_MASK: u64 = 0x1111_1111_1111_1111;

impl FrequencySketch {
    fn is_initialised(&self) -> bool {
        !self.table.is_empty()
    }

    /// Sizes the table for `keys` keys (a power of two of words, at least
    /// 8); a table already that large is kept, counts and all.
    fn ensure_capacity(&mut self, keys: u64) {
        let maximum = keys.min((1 << 30) - 1);
        if self.table.len() as u64 >= maximum && self.is_initialised() {
            return;
        }
        let words = maximum.next_power_of_two().max(8) as usize;
        self.table = vec![0; words];
        self.block_mask = ((words >> 3) - 1) as u32;
        self.sample_size = if keys == 0 {
            10
        } else {
            (10 * maximum).min(i32::MAX as u64)
        };
        self.size = 0;
    }

    /// The word and the nibble of `key`'s `i`-th counter.
    fn counter(&self, key: u32, i: u32) -> (usize, u32) {
        let block_hash = spread(key);
        let counter_hash = rehash(block_hash);
        let block = ((block_hash & self.block_mask) << 3) as usize;
        let h = counter_hash >> (8 * i);
        let nibble = (h >> 1) & 15;
        (block + (h & 1) as usize + 2 * i as usize, nibble)
    }

    /// The estimated frequency of `key`: the least of its 4 counters (0 to 15).
    fn frequency(&self, key: u32) -> u8 {
        if !self.is_initialised() {
            return 0;
        }
        (0..4)
            .map(|i| {
                let (word, nibble) = self.counter(key, i);
                ((self.table[word] >> (nibble * 4)) & 15) as u8
            })
            .min()
            .unwrap_or(0)
    }

    /// Counts one occurrence of `key`; every `sample_size` counted
    /// increments, all counters are halved.
    fn increment(&mut self, key: u32) {
        if !self.is_initialised() {
            return;
        }
        let mut added = false;
        for i in 0..4 {
            let (word, nibble) = self.counter(key, i);
            let mask = 15u64 << (nibble * 4);
            if self.table[word] & mask != mask {
                self.table[word] += 1 << (nibble * 4);
                added = true;
            }
        }
        if added {
            self.size += 1;
            if self.size == self.sample_size {
                self.reset();
            }
        }
    }

    /// Halves every counter, and the count by the halving's rounding.
    fn reset(&mut self) {
        let mut odd = 0u64;
        for word in &mut self.table {
            odd += (*word & ONE_MASK).count_ones() as u64;
            *word = (*word >> 1) & RESET_MASK;
        }
        self.size = self.size.saturating_sub(odd >> 2) >> 1;
    }
}

/// Caffeine's first hash mix (of a key id hashed as a Java `Integer`).
fn spread(key: u32) -> u32 {
    let mut x = key;
    x ^= x >> 17;
    x = x.wrapping_mul(0xed5a_d4bb);
    x ^= x >> 11;
    x = x.wrapping_mul(0xac4c_1b51);
    x ^= x >> 15;
    x
}

/// Caffeine's second mix, choosing the counters within a block.
fn rehash(x: u32) -> u32 {
    let x = x.wrapping_mul(0x3184_8bab);
    x ^ (x >> 14)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sketch_counts_to_15_and_estimates_at_least_the_true_count() {
        let mut s = FrequencySketch::default();
        s.ensure_capacity(1_000);
        for _ in 0..20 {
            s.increment(7);
        }
        assert_eq!(s.frequency(7), 15, "4-bit counters saturate at 15");
        for _ in 0..3 {
            s.increment(8);
        }
        // Count-min never underestimates (collisions only add).
        assert!(s.frequency(8) >= 3);
        assert!(s.frequency(9) <= s.frequency(8));
    }

    #[test]
    fn the_sketch_halves_every_sample_size_increments() {
        let mut s = FrequencySketch::default();
        s.ensure_capacity(16);
        assert_eq!(s.sample_size, 160);
        for _ in 0..12 {
            s.increment(1);
        }
        assert_eq!(s.frequency(1), 12);
        // The increment that brings the count to the sample size resets.
        s.size = s.sample_size - 2;
        s.increment(2);
        assert_eq!(s.frequency(1), 12, "not yet");
        s.increment(2);
        assert_eq!(s.frequency(1), 6, "halved");
        assert!(s.size <= s.sample_size / 2, "the count is halved too");
    }

    #[test]
    fn a_frequent_candidate_replaces_a_rare_victim_and_not_the_reverse() {
        let mut w = WTinyLfu::new(16, 1_000);
        w.sketch.ensure_capacity(16);
        for _ in 0..5 {
            w.sketch.increment(1);
        }
        w.sketch.increment(2);
        let mut rng = crate::rng::stream(1, crate::rng::Component::Eviction);
        assert!(w.admit(1, 2, &mut rng));
        // Below the flooding guard's threshold a weaker candidate never wins.
        assert!((0..1_000).all(|_| !w.admit(2, 1, &mut rng)));
        // From an estimate of 6, a losing candidate wins about 1 in 128.
        for _ in 0..10 {
            w.sketch.increment(1);
            w.sketch.increment(3);
        }
        let wins = (0..12_800).filter(|_| w.admit(3, 1, &mut rng)).count();
        assert!((50..160).contains(&wins), "{wins}");
    }
}
