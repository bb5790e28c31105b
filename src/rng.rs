//! Seeded random streams, one per model component.
//!
//! Every component draws from its own ChaCha8 stream (the algorithm is pinned
//! so committed results do not change with a `rand` release). All streams share
//! the run's seed and differ by stream id, so a draw added in one component
//! never shifts another component's sequence: adding a TTL jitter draw does not
//! change which keys the clients ask for.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

pub mod ahead;

/// The pinned generator behind every stream.
pub type Stream = ChaCha8Rng;

/// The components that draw random numbers, each with a fixed stream id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Component {
    /// Inter-arrival and think times.
    Arrivals = 1,
    /// Which key each request asks for.
    Keys = 2,
    /// TTL jitter drawn at each SET.
    TtlJitter = 3,
    /// Database service times.
    DbService = 4,
    /// Eviction sampling in the cache.
    Eviction = 5,
    /// Decisions of the stampede mitigation (probabilistic refreshes, ...).
    Strategy = 6,
    /// Each key's value size, drawn once per key.
    ValueSizes = 7,
    /// Each app instance's clock offset, drawn once per instance.
    ClockSkew = 8,
    /// Whether a read's payload fails to deserialize (`corrupt_rate`).
    Corruption = 9,
    /// Cache round trips drawn from a latency distribution.
    CacheLatency = 10,
}

/// Creates the stream of `component` for a run seeded with `seed`.
pub fn stream(seed: u64, component: Component) -> Stream {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(component as u64);
    rng
}

/// The stream of the `index`-th instance of `component` (the eviction
/// sampling of each cache node): instance 0's is [`stream`]'s.
pub fn stream_of(seed: u64, component: Component, index: u32) -> Stream {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(component as u64 + ((index as u64) << 32));
    rng
}

/// Draws a uniform float in [0, 1) with 53 random bits.
#[inline]
pub fn unit_f64(rng: &mut Stream) -> f64 {
    use rand::Rng;
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a1: Vec<u64> = (0..4)
            .map(|_| stream(7, Component::Keys).next_u64())
            .collect();
        assert!(
            a1.windows(2).all(|w| w[0] == w[1]),
            "same seed and stream repeat"
        );
        let mut keys = stream(7, Component::Keys);
        let mut ttl = stream(7, Component::TtlJitter);
        assert_ne!(keys.next_u64(), ttl.next_u64());
        let mut other_seed = stream(8, Component::Keys);
        assert_ne!(stream(7, Component::Keys).next_u64(), other_seed.next_u64());
    }

    #[test]
    fn unit_is_in_range() {
        let mut rng = stream(1, Component::Strategy);
        for _ in 0..10_000 {
            let u = unit_f64(&mut rng);
            assert!((0.0..1.0).contains(&u));
        }
    }
}
