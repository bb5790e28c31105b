//! The statistics of stampede, in one place: the mean and 95% confidence
//! interval of replicates (sweep aggregates, plan values, check tables) and
//! Welch's t-test (check's baselines).
//!
//! Every function is a plain formula over `f64` slices, with no state: the
//! order of operations is part of the output contract (committed results
//! are compared byte for byte), so a change here moves numbers.

/// Mean and 95% confidence interval of one metric at one point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    /// Replicates it is computed from.
    pub n: usize,
    /// Mean over replicates.
    pub mean: f64,
    /// Lower end of the 95% confidence interval.
    pub low: f64,
    /// Upper end of the 95% confidence interval.
    pub high: f64,
}

impl Stat {
    /// The mean and 95% confidence interval of `xs` (Student's t).
    pub fn of(xs: &[f64]) -> Stat {
        let (mean, half) = mean_ci95(xs);
        Stat {
            n: xs.len(),
            mean,
            low: mean - half,
            high: mean + half,
        }
    }
}

/// Mean and 95% confidence half-width of `xs` (Student's t with n − 1 degrees of freedom).
pub fn mean_ci95(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n.max(1) as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, t975(n - 1) * (var / n as f64).sqrt())
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, df as f64).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

/// The arithmetic mean of `xs` (0 for none).
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// The sample variance of `xs` (n − 1 in the denominator).
pub fn variance(xs: &[f64]) -> f64 {
    let m = mean(xs);
    xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0)
}

/// (c − b) / |b|; zero when both are zero, infinite when only b is.
pub fn relative_change(b: f64, c: f64) -> f64 {
    if b == c {
        0.0
    } else if b == 0.0 {
        f64::INFINITY.copysign(c)
    } else {
        (c - b) / b.abs()
    }
}

/// Two-sided p-value of Welch's t-test for equal means (each side needs two samples).
pub fn welch_p(a: &[f64], b: &[f64]) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let (va, vb) = (variance(a) / a.len() as f64, variance(b) / b.len() as f64);
    let diff = mean(a) - mean(b);
    if va + vb == 0.0 {
        // No spread on either side: any difference is certain.
        return if diff == 0.0 { 1.0 } else { 0.0 };
    }
    let t = diff / (va + vb).sqrt();
    // Welch–Satterthwaite degrees of freedom.
    let df = (va + vb).powi(2)
        / (va.powi(2) / (a.len() as f64 - 1.0) + vb.powi(2) / (b.len() as f64 - 1.0));
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| 2.0 * (1.0 - d.cdf(t.abs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_interval_of_a_known_sample() {
        // 1..=5: mean 3, sd √2.5, t(4) = 2.776 → half-width 2.776 × √2.5 / √5 = 1.9630.
        let (mean, half) = mean_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(mean, 3.0);
        assert!((half - 1.9630).abs() < 1e-3, "{half}");
        assert_eq!(mean_ci95(&[7.0]), (7.0, 0.0));
        // Printed tables: t(0.975; 30) = 2.042, t(0.975; 120) = 1.980.
        assert!((t975(30) - 2.042).abs() < 1e-3 && (t975(120) - 1.980).abs() < 1e-3);
    }

    #[test]
    fn welch_p_matches_a_textbook_case() {
        // Means 20 and 22, variances 2.5 and 14.5: t = −1.0847, Welch df = 5.339,
        // two-sided p = 0.32460 (scipy.stats.ttest_ind(a, b, equal_var=False)).
        let a = [18.0, 19.0, 20.0, 21.0, 22.0];
        let b = [17.0, 20.0, 22.0, 24.0, 27.0];
        let p = welch_p(&a, &b);
        assert!((p - 0.32460).abs() < 1e-4, "{p}");
        // t = −10 on 8 df: p = 8.488e-6.
        let p = welch_p(
            &[98.0, 100.0, 102.0, 99.0, 101.0],
            &[108.0, 110.0, 112.0, 109.0, 111.0],
        );
        assert!((p - 8.488e-6).abs() < 1e-8, "{p}");
        assert_eq!(welch_p(&[1.0, 1.0], &[1.0, 1.0]), 1.0);
        assert_eq!(welch_p(&[1.0, 1.0], &[2.0, 2.0]), 0.0);
    }
}
