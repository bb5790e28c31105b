//! The statistics of a fit.
//!
//! From per-key request counts, arrival counts and value sizes, estimate what
//! stampede's synthetic clients are made of (keys, Zipf exponent, Poisson
//! rate, popularity churn, lognormal value sizes) and say how well each fits,
//! so a fitted scenario never hides what it could not capture.

/// The Zipf exponent s maximising the likelihood of `counts` (requests per
/// key, any order) under P(rank i) ∝ i^−s over `counts.len()` keys, ranks
/// given by sorting the counts. Searched in [0, 6] by golden section on the
/// concave log-likelihood, to 1e-6.
pub fn zipf_exponent(counts: &[u64]) -> f64 {
    let mut sorted: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    if sorted.len() < 2 {
        return 0.0;
    }
    let total: f64 = sorted.iter().map(|&c| c as f64).sum();
    // Σ cᵢ ln i: the only way the ranks enter the likelihood.
    let weighted_log_rank: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, &c)| c as f64 * ((i + 1) as f64).ln())
        .sum();
    let n = sorted.len();
    let log_likelihood = |s: f64| {
        let harmonic: f64 = (1..=n).map(|i| (i as f64).powf(-s)).sum();
        -s * weighted_log_rank - total * harmonic.ln()
    };
    let (mut lo, mut hi) = (0.0_f64, 6.0_f64);
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    let mut a = hi - golden * (hi - lo);
    let mut b = lo + golden * (hi - lo);
    let (mut fa, mut fb) = (log_likelihood(a), log_likelihood(b));
    while hi - lo > 1e-6 {
        if fa < fb {
            lo = a;
            a = b;
            fa = fb;
            b = lo + golden * (hi - lo);
            fb = log_likelihood(b);
        } else {
            hi = b;
            b = a;
            fb = fa;
            a = hi - golden * (hi - lo);
            fa = log_likelihood(a);
        }
    }
    (lo + hi) / 2.0
}

/// How far the fitted Zipf law is from the counts: the largest absolute
/// difference between the empirical and the fitted cumulative share of
/// requests over ranks (a Kolmogorov–Smirnov distance on ranks, 0 to 1).
pub fn zipf_distance(counts: &[u64], s: f64) -> f64 {
    let mut sorted: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let total: f64 = sorted.iter().map(|&c| c as f64).sum();
    let weights: Vec<f64> = (1..=sorted.len()).map(|i| (i as f64).powf(-s)).collect();
    let norm: f64 = weights.iter().sum();
    let (mut empirical, mut fitted, mut worst) = (0.0, 0.0, 0.0_f64);
    for (c, w) in sorted.iter().zip(&weights) {
        empirical += *c as f64 / total;
        fitted += w / norm;
        worst = worst.max((empirical - fitted).abs());
    }
    worst
}

/// A lognormal fitted to sizes: the median and σ of ln(size).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lognormal {
    /// exp(mean of ln size), bytes.
    pub median: f64,
    /// Standard deviation of ln size (0: every size equal).
    pub sigma: f64,
}

/// Fits a lognormal to positive `sizes` by the moments of their logarithms
/// (the maximum-likelihood estimate); sizes of 0 count as 1 byte.
pub fn lognormal(sizes: impl IntoIterator<Item = u64>) -> Option<Lognormal> {
    let (mut n, mut sum, mut sum_sq) = (0u64, 0.0, 0.0);
    for size in sizes {
        let x = (size.max(1) as f64).ln();
        n += 1;
        sum += x;
        sum_sq += x * x;
    }
    if n == 0 {
        return None;
    }
    let mean = sum / n as f64;
    let variance = (sum_sq / n as f64 - mean * mean).max(0.0);
    Some(Lognormal {
        median: mean.exp(),
        sigma: variance.sqrt(),
    })
}

/// The index of dispersion of arrivals: variance over mean of `counts`, the
/// number of records in each of a run of equal windows. A Poisson process
/// gives 1; bursty traffic gives much more (the fitted Poisson arrivals then
/// understate its peaks). `None` with fewer than two windows or no records.
pub fn dispersion(counts: &[u64]) -> Option<f64> {
    let windows = counts.len();
    if windows < 2 {
        return None;
    }
    let mean = counts.iter().sum::<u64>() as f64 / windows as f64;
    if mean == 0.0 {
        return None;
    }
    let variance = counts
        .iter()
        .map(|&c| (c as f64 - mean).powi(2))
        .sum::<f64>()
        / (windows - 1) as f64;
    Some(variance / mean)
}

/// Requests per key in one quarter of a trace's reads (by count), and the
/// times of its first and last read.
#[derive(Clone, Debug, Default)]
pub struct Quarter {
    /// Reads of each key in the quarter.
    pub counts: Vec<u32>,
    /// Time of its first read, ns.
    pub first_ns: u64,
    /// Time of its last read, ns.
    pub last_ns: u64,
}

/// Popularity drift in keys per second, as stampede's `churn` models it (the
/// hot set slides by `churn` keys a second): how many keys of one quarter's
/// top `k` are missing from another quarter's top `k` grows by `churn` per
/// second of separation. The slope between the second and the fourth quarter,
/// each compared with the first, cancels what does not grow with time
/// (sampling noise at the top-`k` boundary, the slide within a quarter).
/// `k` should exceed the slide over the trace, or the estimate saturates low.
pub fn churn_per_s(quarters: &[Quarter; 4], k: usize) -> f64 {
    if k == 0 || quarters.iter().any(|q| q.counts.iter().all(|&c| c == 0)) {
        return 0.0;
    }
    let top = |q: &Quarter| -> std::collections::HashSet<u32> {
        let mut order: Vec<u32> = (0..q.counts.len() as u32)
            .filter(|&k| q.counts[k as usize] > 0)
            .collect();
        order.sort_unstable_by(|a, b| {
            q.counts[*b as usize]
                .cmp(&q.counts[*a as usize])
                .then(a.cmp(b))
        });
        order.into_iter().take(k).collect()
    };
    let mid = |q: &Quarter| (q.first_ns + q.last_ns) as f64 / 2e9;
    let first = top(&quarters[0]);
    let left = |q: usize| first.difference(&top(&quarters[q])).count() as f64;
    let seconds = mid(&quarters[3]) - mid(&quarters[1]);
    if seconds <= 0.0 {
        return 0.0;
    }
    ((left(3) - left(1)) / seconds).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Component, stream, unit_f64};
    use crate::workload::KeySampler;

    /// Requests per key drawn from Zipf(s) over `keys` keys.
    fn zipf_counts(keys: u32, s: f64, requests: usize) -> Vec<u64> {
        let sampler = KeySampler::new(keys, s);
        let mut rng = stream(7, Component::Keys);
        let mut counts = vec![0u64; keys as usize];
        for _ in 0..requests {
            counts[sampler.sample(&mut rng) as usize] += 1;
        }
        counts
    }

    /// Records per whole window from the first record on.
    fn per_window(times_ns: &[u64], window_ns: u64) -> Vec<u64> {
        let first = times_ns[0];
        let windows = ((times_ns[times_ns.len() - 1] - first) / window_ns) as usize;
        let mut counts = vec![0; windows];
        for t in times_ns {
            if let Some(c) = counts.get_mut(((t - first) / window_ns) as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// The four quarters (by count) of (time, key) requests.
    fn quarters(requests: &[(u64, u32)], keys: u32) -> [Quarter; 4] {
        let quarter = requests.len() / 4;
        std::array::from_fn(|q| {
            let slice = &requests[q * quarter..(q + 1) * quarter];
            let mut counts = vec![0; keys as usize];
            for &(_, key) in slice {
                counts[key as usize] += 1;
            }
            Quarter {
                counts,
                first_ns: slice[0].0,
                last_ns: slice[slice.len() - 1].0,
            }
        })
    }

    #[test]
    fn the_zipf_exponent_of_a_zipf_sample_is_recovered() {
        // 200 requests per key on average: the empirical ranks are close to
        // the true ones, so the estimate is within 0.02 of the truth.
        for s in [0.6, 0.9, 1.2] {
            let counts = zipf_counts(5_000, s, 1_000_000);
            let fitted = zipf_exponent(&counts);
            assert!((fitted - s).abs() < 0.02, "s {s}: fitted {fitted}");
            assert!(zipf_distance(&counts, fitted) < 0.01);
        }
    }

    #[test]
    fn a_popularity_law_that_is_not_zipf_is_far_from_its_fit() {
        // Two tiers: 10 keys take 90 % of requests, 990 keys share the rest evenly.
        let counts: Vec<u64> = (0..1000).map(|i| if i < 10 { 9000 } else { 101 }).collect();
        let s = zipf_exponent(&counts);
        assert!(
            zipf_distance(&counts, s) > 0.05,
            "{}",
            zipf_distance(&counts, s)
        );
    }

    #[test]
    fn lognormal_sizes_are_recovered() {
        let mut rng = stream(3, Component::ValueSizes);
        let sizes: Vec<u64> = (0..200_000)
            .map(|_| {
                // Box–Muller: ln size ~ N(ln 1000, 0.8²).
                let (u, v) = (1.0 - unit_f64(&mut rng), unit_f64(&mut rng));
                let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                (1000f64.ln() + 0.8 * z).exp().round() as u64
            })
            .collect();
        let fit = lognormal(sizes).expect("sizes");
        assert!((fit.median / 1000.0 - 1.0).abs() < 0.01, "{fit:?}");
        assert!((fit.sigma - 0.8).abs() < 0.01, "{fit:?}");
        assert_eq!(lognormal([100, 100]).unwrap().sigma, 0.0);
    }

    #[test]
    fn poisson_arrivals_have_dispersion_one_and_bursts_more() {
        let mut rng = stream(5, Component::Arrivals);
        let mut t = 0.0;
        let poisson: Vec<u64> = (0..100_000)
            .map(|_| {
                t += -(1.0 - unit_f64(&mut rng)).ln() * 1e6; // 1,000 per second
                t as u64
            })
            .collect();
        let d = dispersion(&per_window(&poisson, 1_000_000_000)).expect("100 windows");
        assert!((d - 1.0).abs() < 0.35, "poisson {d}");
        // The same records packed into the first tenth of each second.
        let bursty: Vec<u64> = poisson
            .iter()
            .map(|&t| t / 1_000_000_000 * 1_000_000_000 + (t % 1_000_000_000) / 10)
            .collect();
        let by_100ms = dispersion(&per_window(&bursty, 100_000_000)).expect("windows");
        assert!(by_100ms > 5.0, "bursty {by_100ms}");
    }

    #[test]
    fn churn_is_recovered_from_a_sliding_hot_set_and_zero_without_one() {
        // stampede's own churn model: rank r at time t is key (r + churn·t) mod keys.
        let keys = 10_000u32;
        let sampler = KeySampler::new(keys, 1.0);
        let mut rng = stream(9, Component::Keys);
        let requests = |churn: f64, rng: &mut crate::rng::Stream| -> Vec<(u64, u32)> {
            (0..400_000u64)
                .map(|i| {
                    let t = i * 1_000_000; // 1,000 per second, 400 s
                    let rank = sampler.sample(rng) as u64;
                    let key = (rank + (churn * t as f64 / 1e9) as u64) % keys as u64;
                    (t, key as u32)
                })
                .collect()
        };
        let drifting = churn_per_s(&quarters(&requests(0.5, &mut rng), keys), 400);
        // The estimate runs about 17 % low here (0.415 for 0.5): keys that
        // wrap from the hottest rank to the coldest mid-quarter still count
        // in that quarter's top set. Within 20 %.
        assert!((drifting - 0.5).abs() < 0.1, "drifting {drifting}");
        let still = churn_per_s(&quarters(&requests(0.0, &mut rng), keys), 400);
        assert!(still < 0.1, "still {still}");
    }
}
