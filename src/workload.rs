//! Clients: which key each request asks for, and when requests arrive.
//!
//! Keys are numbered 0..keys by popularity rank minus one (key 0 is rank 1,
//! the hottest). Popularity is Zipf with exponent s: P(rank i) ∝ i^(−s).

use rand_distr::{Distribution as _, Exp1, StandardNormal};

use crate::scenario::SizeDistribution;

use crate::rng::Stream;
use crate::time::{NANOS_PER_SEC, SimDuration};

/// Draws keys by Zipf popularity in O(1) with Walker's alias method.
///
/// The table is built once from the exact probabilities (Vose's stable
/// construction, O(keys)); each draw takes one 64-bit random number: the high
/// half picks a column (Lemire's multiply-shift, no division), the low half
/// decides between the column's key and its alias. No `pow`, `exp` or
/// rejection loop in the hot path.
#[derive(Clone, Debug)]
pub struct KeySampler {
    /// Per column: (threshold scaled to 2^32, alias key).
    columns: Vec<(u32, u32)>,
}

impl KeySampler {
    /// A sampler over `keys` keys with Zipf exponent `s` (0 = uniform).
    pub fn new(keys: u32, s: f64) -> Self {
        let n = keys as usize;
        let mut scaled: Vec<f64> = zipf_probabilities(keys, s)
            .into_iter()
            .map(|p| p * n as f64)
            .collect();
        let mut columns = vec![(u32::MAX, 0u32); n];
        let (mut small, mut large): (Vec<u32>, Vec<u32>) =
            (0..keys).partition(|&i| scaled[i as usize] < 1.0);
        while let (Some(&l), Some(&g)) = (small.last(), large.last()) {
            small.pop();
            columns[l as usize] = (threshold(scaled[l as usize]), g);
            scaled[g as usize] -= 1.0 - scaled[l as usize];
            if scaled[g as usize] < 1.0 {
                large.pop();
                small.push(g);
            }
        }
        // Leftovers are 1 up to rounding: they always keep their own key.
        for i in small.into_iter().chain(large) {
            columns[i as usize] = (u32::MAX, i);
        }
        KeySampler { columns }
    }

    /// The next key, 0-based (0 is the hottest).
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> u32 {
        use rand::Rng;
        let r = rng.next_u64();
        let column = ((r >> 32) * self.columns.len() as u64) >> 32;
        let (keep_below, alias) = self.columns[column as usize];
        if (r as u32) < keep_below {
            column as u32
        } else {
            alias
        }
    }
}

/// Keys drawn ahead in batches: the table lookups of a batch are independent,
/// so the processor overlaps their cache misses instead of waiting for each.
/// Draws come from the stream in the same order as one at a time.
#[derive(Clone, Debug)]
pub struct KeyBatch {
    keys: [u32; KEY_BATCH],
    next: usize,
}

const KEY_BATCH: usize = 64;

impl Default for KeyBatch {
    fn default() -> Self {
        KeyBatch {
            keys: [0; KEY_BATCH],
            next: KEY_BATCH,
        }
    }
}

impl KeyBatch {
    /// The next key of `sampler`'s sequence.
    #[inline]
    pub fn next(&mut self, sampler: &KeySampler, rng: &mut Stream) -> u32 {
        if self.next == KEY_BATCH {
            for slot in &mut self.keys {
                *slot = sampler.sample(rng);
            }
            self.next = 0;
        }
        self.next += 1;
        self.keys[self.next - 1]
    }
}

/// A probability in [0, 1] as a 32-bit threshold (u32::MAX means "always").
fn threshold(p: f64) -> u32 {
    (p * 4_294_967_296.0).min(u32::MAX as f64) as u32
}

/// The probability of each key under Zipf(s) over `keys` keys, hottest first.
///
/// Used by analytic checks (TTL-cache hit ratio, Che's approximation).
pub fn zipf_probabilities(keys: u32, s: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=keys).map(|i| (i as f64).powf(-s)).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// Assigns each key to a class so every class gets its share of the keys,
/// interleaved over popularity ranks (smooth weighted round robin): a class
/// with 10% of the keys holds every tenth key, hot ones included.
pub fn assign_classes(keys: u32, shares: &[f64]) -> Vec<u8> {
    let mut credit = vec![0.0; shares.len()];
    (0..keys)
        .map(|_| {
            for (c, share) in credit.iter_mut().zip(shares) {
                *c += share;
            }
            let best = (0..credit.len())
                .max_by(|&a, &b| credit[a].total_cmp(&credit[b]).then(b.cmp(&a)))
                .expect("at least one class");
            credit[best] -= 1.0;
            best as u8
        })
        .collect()
}

/// Draws each key's value size once, from its class's size distribution.
pub fn value_sizes(class_of: &[u8], sizes: &[SizeDistribution], rng: &mut Stream) -> Vec<u32> {
    class_of
        .iter()
        .map(|&c| match sizes[c as usize] {
            SizeDistribution::Constant(bytes) => bytes.min(u32::MAX as u64) as u32,
            SizeDistribution::Lognormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z)
                    .exp()
                    .round()
                    .clamp(1.0, 512.0 * 1024.0 * 1024.0) as u32
            }
        })
        .collect()
}

/// Draws an exponential duration with the given mean, rounded to the nanosecond.
#[inline]
pub fn exponential(rng: &mut Stream, mean_ns: f64) -> SimDuration {
    let x: f64 = Exp1.sample(rng);
    SimDuration((x * mean_ns + 0.5) as u64)
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
    fn alias_table_encodes_exact_probabilities() {
        // P(key i) = (keep_i + Σ over columns aliasing to i of (1 − keep_j)) / n.
        for (keys, s) in [(1, 1.0), (7, 0.0), (1000, 0.8), (1000, 1.3)] {
            let sampler = KeySampler::new(keys, s);
            let n = keys as f64;
            let mut implied = vec![0.0; keys as usize];
            for (column, &(keep, alias)) in sampler.columns.iter().enumerate() {
                let keep = if keep == u32::MAX {
                    1.0
                } else {
                    keep as f64 / 4_294_967_296.0
                };
                implied[column] += keep / n;
                implied[alias as usize] += (1.0 - keep) / n;
            }
            for (i, (a, b)) in implied.iter().zip(zipf_probabilities(keys, s)).enumerate() {
                assert!(
                    (a - b).abs() < 1e-9,
                    "keys {keys} s {s} key {i}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn classes_get_their_share_interleaved() {
        let class_of = assign_classes(1000, &[0.5, 0.3, 0.2]);
        let count = |c| class_of.iter().filter(|&&x| x == c).count();
        assert_eq!((count(0), count(1), count(2)), (500, 300, 200));
        // Every class appears among the 10 hottest keys.
        assert!((0..3).all(|c| class_of[..10].contains(&c)));
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
