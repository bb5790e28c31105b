//! Redis's LFU counter (`evict.c`: `LFULogIncr`, `LFUDecrAndReturn`).
//!
//! Each key keeps 24 bits: the last decrement time in minutes (16 bits) and a
//! logarithmic 8-bit counter. A new key starts at 5 (`LFU_INIT_VAL`) so it is
//! not evicted before it has a chance to be used. An access first applies the
//! decay (one per `lfu-decay-time` minutes elapsed), then increments with
//! probability 1 / ((counter − 5) × lfu-log-factor + 1).

use crate::rng::{Stream, unit_f64};
use crate::time::SimTime;

/// Redis's `LFU_INIT_VAL`.
pub const LFU_INIT_VAL: u8 = 5;

const NANOS_PER_MINUTE: u64 = 60_000_000_000;

/// The LFU parameters of a cache.
#[derive(Clone, Copy, Debug)]
pub struct LfuConfig {
    /// `lfu-log-factor`.
    pub log_factor: u32,
    /// `lfu-decay-time` in minutes; 0 disables decay.
    pub decay_minutes: u32,
}

/// Redis's minute clock: minutes since the start, modulo 2^16.
fn minutes(now: SimTime) -> u16 {
    (now.0 / NANOS_PER_MINUTE) as u16
}

/// Packs a fresh key's state: now, counter 5.
pub fn initial(now: SimTime) -> u32 {
    pack(minutes(now), LFU_INIT_VAL)
}

fn pack(minutes: u16, counter: u8) -> u32 {
    ((minutes as u32) << 8) | counter as u32
}

/// The counter after decay, without changing the key (what eviction ranks by).
pub fn decayed(state: u32, now: SimTime, config: LfuConfig) -> u8 {
    let counter = (state & 0xff) as u8;
    if config.decay_minutes == 0 {
        return counter;
    }
    let last = (state >> 8) as u16;
    let elapsed = minutes(now).wrapping_sub(last) as u32;
    let periods = elapsed / config.decay_minutes;
    counter.saturating_sub(periods.min(255) as u8)
}

/// The state after an access: decay, then a logarithmic increment.
pub fn on_access(state: u32, now: SimTime, config: LfuConfig, rng: &mut Stream) -> u32 {
    let mut counter = decayed(state, now, config);
    if counter < 255 {
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let p = 1.0 / (base * config.log_factor as f64 + 1.0);
        if unit_f64(rng) < p {
            counter += 1;
        }
    }
    pack(minutes(now), counter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Component, stream};

    const CONFIG: LfuConfig = LfuConfig {
        log_factor: 10,
        decay_minutes: 1,
    };

    #[test]
    fn counter_grows_logarithmically_as_redis_documents() {
        // redis.conf's table for lfu-log-factor 10: 100 hits -> 10, 1000 -> 18,
        // 100k -> 142 (approximately, the increments are random).
        let mut rng = stream(1, Component::Eviction);
        let mut state = initial(SimTime::ZERO);
        let mut counts = Vec::new();
        for hits in 1..=100_000u32 {
            state = on_access(state, SimTime::ZERO, CONFIG, &mut rng);
            if [100, 1_000, 100_000].contains(&hits) {
                counts.push(state & 0xff);
            }
        }
        assert!((8..=13).contains(&counts[0]), "100 hits: {}", counts[0]);
        assert!((15..=22).contains(&counts[1]), "1k hits: {}", counts[1]);
        assert!((125..=160).contains(&counts[2]), "100k hits: {}", counts[2]);
    }

    #[test]
    fn decays_one_per_period() {
        let state = pack(0, 20);
        let later = SimTime(3 * NANOS_PER_MINUTE + 1);
        assert_eq!(decayed(state, later, CONFIG), 17);
        let slow = LfuConfig {
            decay_minutes: 2,
            ..CONFIG
        };
        assert_eq!(decayed(state, later, slow), 19);
        let off = LfuConfig {
            decay_minutes: 0,
            ..CONFIG
        };
        assert_eq!(decayed(state, later, off), 20);
    }
}
