//! Clients: which key each request asks for, and when requests arrive.
//!
//! Keys are numbered 0..keys by popularity rank minus one (key 0 is rank 1,
//! the hottest). Popularity is Zipf with exponent s: P(rank i) ∝ i^(−s).

use rand_distr::{Distribution as _, Exp1, StandardNormal};

use crate::scenario::SizeDistribution;

use crate::key_class::KeyClasses;
use crate::rng::{Stream, unit_f64};
use crate::time::{NANOS_PER_SEC, SimDuration};

/// Ranks the alias table holds at most: 8 MB of table whatever the key count.
const HEAD_RANKS: u32 = 1 << 20;

/// Draws keys by Zipf popularity, exactly, with no table that grows with the keys.
///
/// The hottest ranks (up to [`HEAD_RANKS`]) are drawn in O(1) by Walker's
/// alias method: a table built once from the exact probabilities (Vose's
/// stable construction); each draw takes one 64-bit random number, the high
/// half picking a column (Lemire's multiply-shift, no division), the low half
/// deciding between the column's key and its alias. Beyond the head, one more
/// column stands for the whole tail, whose rank is then drawn by
/// rejection-inversion ([`ZipfTail`]). With at most [`HEAD_RANKS`] keys there
/// is no tail and no `pow`, `exp` or rejection loop in the hot path.
#[derive(Clone, Debug)]
pub struct KeySampler {
    /// Per column: (threshold scaled to 2^32, alias key). Column `head` is the tail.
    columns: Vec<(u32, u32)>,
    /// Keys drawn from the table: ranks 1..=head.
    head: u32,
    /// The ranks beyond the head, when there are any.
    tail: Option<ZipfTail>,
}

impl KeySampler {
    /// A sampler over `keys` keys with Zipf exponent `s` (0 = uniform).
    pub fn new(keys: u32, s: f64) -> Self {
        let head = keys.min(HEAD_RANKS);
        let tail = (keys > head).then(|| ZipfTail::new(head + 1, keys, s));
        let mut weights: Vec<f64> = (1..=head).map(|i| zipf_weight(i, s)).collect();
        weights.extend(tail.as_ref().map(ZipfTail::weight));
        KeySampler {
            columns: alias_columns(&weights),
            head,
            tail,
        }
    }

    /// The next key, 0-based (0 is the hottest).
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> u32 {
        use rand::Rng;
        let r = rng.next_u64();
        let column = ((r >> 32) * self.columns.len() as u64) >> 32;
        let (keep_below, alias) = self.columns[column as usize];
        let key = if (r as u32) < keep_below {
            column as u32
        } else {
            alias
        };
        match &self.tail {
            Some(tail) if key == self.head => tail.sample(rng) - 1,
            _ => key,
        }
    }
}

/// Walker's alias table of `weights` (Vose's construction): column i keeps
/// outcome i below its threshold, else gives its alias.
fn alias_columns(weights: &[f64]) -> Vec<(u32, u32)> {
    let n = weights.len();
    let total: f64 = weights.iter().sum();
    let mut scaled: Vec<f64> = weights.iter().map(|w| w / total * n as f64).collect();
    let mut columns = vec![(u32::MAX, 0u32); n];
    let (mut small, mut large): (Vec<u32>, Vec<u32>) =
        (0..n as u32).partition(|&i| scaled[i as usize] < 1.0);
    while let (Some(&l), Some(&g)) = (small.last(), large.last()) {
        small.pop();
        columns[l as usize] = (threshold(scaled[l as usize]), g);
        scaled[g as usize] -= 1.0 - scaled[l as usize];
        if scaled[g as usize] < 1.0 {
            large.pop();
            small.push(g);
        }
    }
    // Leftovers are 1 up to rounding: they always keep their own outcome.
    for i in small.into_iter().chain(large) {
        columns[i as usize] = (u32::MAX, i);
    }
    columns
}

/// Zipf(s) restricted to the ranks `lo..=hi`, drawn by rejection-inversion
/// (Hörmann and Derflinger, 1996): invert the integral H of the hat x^-s over
/// [k − ½, k + ½], accept rank k on the part of its strip of width exactly
/// k^-s. Each rank's acceptance mass is its weight, so the draw is exact; the
/// hat is convex, so fewer than one draw in a hundred is rejected at lo > 1000.
#[derive(Clone, Debug)]
struct ZipfTail {
    s: f64,
    lo: u32,
    hi: u32,
    /// H(lo + ½) − lo^-s and H(hi + ½): the range u is drawn from.
    u_min: f64,
    u_max: f64,
}

impl ZipfTail {
    fn new(lo: u32, hi: u32, s: f64) -> Self {
        let h = |x: f64| integral(x, s);
        ZipfTail {
            s,
            lo,
            hi,
            u_min: h(lo as f64 + 0.5) - zipf_weight(lo, s),
            u_max: h(hi as f64 + 0.5),
        }
    }

    /// Σ k^-s over the ranks, by Euler–Maclaurin to the third derivative:
    /// the next term is below 1e-25 of the sum at lo ≥ 2^20.
    fn weight(&self) -> f64 {
        let s = self.s;
        let (a, b) = (self.lo as f64, self.hi as f64);
        let d1 = |x: f64| -s * x.powf(-s - 1.0);
        let d3 = |x: f64| -s * (s + 1.0) * (s + 2.0) * x.powf(-s - 3.0);
        integral(b, s) - integral(a, s)
            + (zipf_weight(self.lo, s) + zipf_weight(self.hi, s)) / 2.0
            + (d1(b) - d1(a)) / 12.0
            - (d3(b) - d3(a)) / 720.0
    }

    /// A rank in lo..=hi, 1-based.
    fn sample(&self, rng: &mut Stream) -> u32 {
        loop {
            let u = self.u_min + unit_f64(rng) * (self.u_max - self.u_min);
            let x = integral_inverse(u, self.s);
            let k = ((x + 0.5).floor() as u32).clamp(self.lo, self.hi);
            if u >= integral(k as f64 + 0.5, self.s) - zipf_weight(k, self.s) {
                return k;
            }
        }
    }
}

/// The Zipf weight of rank `i` (1-based): i^-s.
#[inline]
fn zipf_weight(i: u32, s: f64) -> f64 {
    (i as f64).powf(-s)
}

/// H(x) = ∫₁ˣ t^-s dt, continuous through s = 1 (where it is ln x).
fn integral(x: f64, s: f64) -> f64 {
    let ln_x = x.ln();
    expm1_over((1.0 - s) * ln_x) * ln_x
}

/// The x with H(x) = y.
fn integral_inverse(y: f64, s: f64) -> f64 {
    // Above H's supremum 1/(s − 1) there is no x; stay just inside.
    let t = (y * (1.0 - s)).max(-1.0 + f64::EPSILON);
    (ln1p_over(t) * y).exp()
}

/// (eˣ − 1) / x, 1 at 0.
fn expm1_over(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x / 2.0 * (1.0 + x / 3.0)
    }
}

/// ln(1 + x) / x, 1 at 0.
fn ln1p_over(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x / 2.0 * (1.0 - 2.0 * x / 3.0)
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
    let weights: Vec<f64> = (1..=keys).map(|i| zipf_weight(i, s)).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// Each key's value size in bytes: one per class when every class's size is
/// constant (nothing per key), else drawn once per key.
#[derive(Clone, Debug)]
pub enum ValueSizes {
    /// The size of each class's values.
    PerClass(Vec<u32>),
    /// The size of each key's value.
    PerKey(Vec<u32>),
}

impl ValueSizes {
    /// Sizes of `keys` keys in `classes` from their class's distribution;
    /// `per_key` keeps one per key even when all are constant (a trace's
    /// writes set their own).
    pub fn new(
        keys: u32,
        classes: &KeyClasses,
        sizes: &[SizeDistribution],
        per_key: bool,
        rng: &mut Stream,
    ) -> Self {
        let constant = |size: &SizeDistribution| match *size {
            SizeDistribution::Constant(bytes) => Some(bytes.min(u32::MAX as u64) as u32),
            SizeDistribution::Lognormal { .. } => None,
        };
        if let (false, Some(per_class)) = (per_key, sizes.iter().map(constant).collect()) {
            return ValueSizes::PerClass(per_class);
        }
        let draw = |key: u32, rng: &mut Stream| match sizes[classes.of(key) as usize] {
            SizeDistribution::Constant(bytes) => bytes.min(u32::MAX as u64) as u32,
            SizeDistribution::Lognormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z)
                    .exp()
                    .round()
                    .clamp(1.0, 512.0 * 1024.0 * 1024.0) as u32
            }
        };
        ValueSizes::PerKey((0..keys).map(|key| draw(key, rng)).collect())
    }

    /// The value size of `key`, which is in `class`.
    #[inline]
    pub fn of(&self, key: u32, class: u8) -> u32 {
        match self {
            ValueSizes::PerClass(sizes) => sizes[class as usize],
            ValueSizes::PerKey(sizes) => sizes[key as usize],
        }
    }

    /// Sets the value size of `key` (a trace's write); per-key sizes only.
    pub fn set(&mut self, key: u32, bytes: u32) {
        debug_assert!(
            matches!(self, ValueSizes::PerKey(_)),
            "a trace keeps sizes per key"
        );
        if let ValueSizes::PerKey(sizes) = self {
            sizes[key as usize] = bytes;
        }
    }
}

/// Draws an exponential duration with the given mean, rounded to the nanosecond.
#[inline]
pub fn exponential(rng: &mut Stream, mean_ns: f64) -> SimDuration {
    exponential_of(exp1(rng), mean_ns)
}

/// An Exp(1) draw: [`exponential_of`] scales it to a duration.
#[inline]
pub fn exp1(rng: &mut Stream) -> f64 {
    Exp1.sample(rng)
}

/// The exponential duration of mean `mean_ns` that the Exp(1) draw `x`
/// gives, rounded to the nanosecond (as [`exponential`] does).
#[inline(always)]
pub fn exponential_of(x: f64, mean_ns: f64) -> SimDuration {
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

    /// Σ i^-s over lo..=hi, summed exactly (smallest terms first).
    fn exact_weight(lo: u32, hi: u32, s: f64) -> f64 {
        (lo..=hi).rev().map(|i| zipf_weight(i, s)).sum()
    }

    #[test]
    fn tail_weight_matches_the_exact_sum() {
        // Euler–Maclaurin against 3 million summed terms; summing loses ~1e-13.
        for s in [0.0, 0.6, 1.0, 1.4] {
            let tail = ZipfTail::new(HEAD_RANKS + 1, 4_000_000, s);
            let exact = exact_weight(HEAD_RANKS + 1, 4_000_000, s);
            let rel = (tail.weight() - exact).abs() / exact;
            assert!(rel < 1e-11, "s {s}: {} vs {exact} ({rel:e})", tail.weight());
        }
    }

    #[test]
    fn rejection_inversion_draws_each_rank_with_its_weight() {
        // Ranks 3..=40 (the first ranks are where the hat is least tight);
        // 400k draws: each frequency within 4.5 standard errors.
        for s in [0.0, 0.7, 1.0, 1.5] {
            let tail = ZipfTail::new(3, 40, s);
            let total = exact_weight(3, 40, s);
            let mut rng = stream(11, Component::Keys);
            let mut counts = [0u32; 41];
            let n = 400_000;
            for _ in 0..n {
                counts[tail.sample(&mut rng) as usize] += 1;
            }
            for k in 3..=40u32 {
                let p = zipf_weight(k, s) / total;
                let f = counts[k as usize] as f64 / n as f64;
                let se = (p * (1.0 - p) / n as f64).sqrt();
                assert!((f - p).abs() < 4.5 * se, "s {s} rank {k}: {f} vs {p}");
            }
        }
    }

    #[test]
    fn sampler_beyond_the_table_keeps_the_law() {
        // 3 million keys: the table holds 2^20 ranks, the rest is the tail.
        // The share of draws in the tail, in the next 2^20 ranks and on the
        // hottest key each within 4.5 standard errors of the exact law.
        let (keys, s) = (3_000_000u32, 0.9);
        let sampler = KeySampler::new(keys, s);
        assert_eq!(sampler.columns.len() as u32, HEAD_RANKS + 1);
        let total = exact_weight(1, keys, s);
        let share = |lo: u32, hi: u32| exact_weight(lo, hi, s) / total;
        let expected = [
            share(1, 1),
            share(HEAD_RANKS + 1, keys),
            share(HEAD_RANKS + 1, 2 * HEAD_RANKS),
        ];
        let mut counts = [0u64; 3];
        let mut rng = stream(12, Component::Keys);
        let n = 1_000_000;
        for _ in 0..n {
            let key = sampler.sample(&mut rng);
            assert!(key < keys);
            counts[0] += (key == 0) as u64;
            counts[1] += (key >= HEAD_RANKS) as u64;
            counts[2] += (HEAD_RANKS..2 * HEAD_RANKS).contains(&key) as u64;
        }
        for (c, p) in counts.iter().zip(expected) {
            let f = *c as f64 / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((f - p).abs() < 4.5 * se, "{f} vs {p}");
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
