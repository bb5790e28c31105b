//! Clients: which key each request asks for, and when requests arrive.
//!
//! Keys are numbered 0..keys by popularity rank minus one (key 0 is rank 1,
//! the hottest). Popularity is Zipf with exponent s: P(rank i) ∝ i^(−s).

use rand_distr::{Distribution as _, Exp1, Zipf};

use crate::rng::Stream;
use crate::time::{NANOS_PER_SEC, SimDuration};

/// Draws keys by Zipf popularity (rejection-inversion, O(1) per draw, no table).
#[derive(Clone, Debug)]
pub struct KeySampler {
    zipf: Zipf<f64>,
    keys: u32,
}

impl KeySampler {
    /// A sampler over `keys` keys with Zipf exponent `s` (0 = uniform).
    pub fn new(keys: u32, s: f64) -> Self {
        KeySampler {
            zipf: Zipf::new(keys as f64, s).expect("validated: keys >= 1 and s >= 0"),
            keys,
        }
    }

    /// The next key, 0-based (0 is the hottest).
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> u32 {
        let rank = self.zipf.sample(rng) as u32;
        rank.clamp(1, self.keys) - 1
    }
}

/// The probability of each key under Zipf(s) over `keys` keys, hottest first.
///
/// Used by analytic checks (TTL-cache hit ratio, Che's approximation).
pub fn zipf_probabilities(keys: u32, s: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=keys).map(|i| (i as f64).powf(-s)).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// Draws an exponential duration with the given mean, rounded to the nanosecond.
#[inline]
pub fn exponential(rng: &mut Stream, mean_ns: f64) -> SimDuration {
    let x: f64 = Exp1.sample(rng);
    SimDuration((x * mean_ns).round() as u64)
}

/// Mean gap between Poisson arrivals at `rate_per_s`, in nanoseconds.
pub fn mean_gap_ns(rate_per_s: f64) -> f64 {
    NANOS_PER_SEC as f64 / rate_per_s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Component, stream};

    #[test]
    fn zipf_frequencies_match_probabilities() {
        // 200k draws over 50 keys: each frequency's standard error is below 0.0011,
        // so 0.005 is over 4 standard errors.
        let sampler = KeySampler::new(50, 1.0);
        let p = zipf_probabilities(50, 1.0);
        let mut rng = stream(3, Component::Keys);
        let mut counts = [0u32; 50];
        let n = 200_000;
        for _ in 0..n {
            counts[sampler.sample(&mut rng) as usize] += 1;
        }
        for (i, (&c, &pi)) in counts.iter().zip(&p).enumerate() {
            let f = c as f64 / n as f64;
            assert!((f - pi).abs() < 0.005, "key {i}: frequency {f} vs p {pi}");
        }
    }

    #[test]
    fn uniform_when_exponent_is_zero() {
        let p = zipf_probabilities(4, 0.0);
        assert!(p.iter().all(|&x| (x - 0.25).abs() < 1e-12));
    }

    #[test]
    fn exponential_mean() {
        let mut rng = stream(5, Component::Arrivals);
        let n = 100_000;
        let total: u64 = (0..n).map(|_| exponential(&mut rng, 1e6).0).sum();
        let mean = total as f64 / n as f64;
        // Standard error of the mean is 1e6 / sqrt(1e5) ≈ 3.2e3; allow 5 SE.
        assert!((mean - 1e6).abs() < 1.6e4, "mean {mean}");
    }
}
