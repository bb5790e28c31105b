//! `fit.png`: the trace against the fitted laws, one panel per law:
//! popularity (rank-frequency, log-log), inter-arrival times (the share of
//! gaps longer than x, log-log) and value sizes (cumulative share, log x).

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingBackend};

use super::{GAP_BINS_PER_DECADE, Outcome};
use crate::report::plot::{DrawResult, Figure, Paint, Panel, Series};

/// Points drawn of an empirical curve (sampled evenly on a log scale).
const POINTS: usize = 160;

/// The charts of a fit, side by side.
pub struct FitChart {
    figures: Vec<Figure>,
}

impl Paint for FitChart {
    fn size(&self) -> (u32, u32) {
        (520 * self.figures.len() as u32, 560)
    }

    fn paint<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let areas = root.split_evenly((1, self.figures.len()));
        for (figure, area) in self.figures.iter().zip(&areas) {
            figure.paint(area)?;
        }
        Ok(())
    }
}

impl FitChart {
    /// The charts of `outcome`: popularity, inter-arrival times and, when the
    /// trace gives sizes, value sizes.
    pub fn of(outcome: &Outcome) -> FitChart {
        let mut figures = vec![popularity(outcome), gaps(outcome)];
        figures.extend(sizes(outcome));
        FitChart { figures }
    }
}

/// A one-panel figure.
fn figure(
    title: String,
    panel: Panel,
    x_range: std::ops::Range<f64>,
    x_label: &str,
    log_x: bool,
) -> Figure {
    Figure {
        title,
        panels: vec![panel],
        columns: 1,
        warmup: 0.0,
        x_range,
        log_x,
        x_label: x_label.into(),
        x_names: Vec::new(),
        faults: Vec::new(),
        shared_legend: Vec::new(),
    }
}

/// Up to [`POINTS`] indices in 0..n, evenly spaced on a log scale.
fn log_spaced(n: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..POINTS)
        .map(|i| ((n as f64).powf(i as f64 / (POINTS - 1) as f64) - 1.0).round() as usize)
        .map(|i| i.min(n.saturating_sub(1)))
        .collect();
    out.dedup();
    out
}

/// Reads per key by popularity rank against Zipf(s) over the same keys.
fn popularity(outcome: &Outcome) -> Figure {
    let fit = &outcome.fit;
    let mut counts: Vec<u32> = outcome
        .profile
        .reads_per_key
        .iter()
        .copied()
        .filter(|&c| c > 0)
        .collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let n = counts.len();
    let ranks = log_spaced(n);
    let trace: Vec<(f64, f64)> = ranks
        .iter()
        .map(|&i| ((i + 1) as f64, counts[i] as f64))
        .collect();
    let harmonic: f64 = (1..=n).map(|r| (r as f64).powf(-fit.zipf)).sum();
    let reads = outcome.profile.reads as f64;
    let law: Vec<(f64, f64)> = ranks
        .iter()
        .map(|&i| {
            let r = (i + 1) as f64;
            (r, reads * r.powf(-fit.zipf) / harmonic)
        })
        .collect();
    let mut panel = Panel::new(
        "reads per key",
        vec![
            Series::new("trace", trace),
            Series::new(format!("Zipf fit, exponent {:.3}", fit.zipf), law),
        ],
    );
    panel.log_y = true;
    figure(
        format!("popularity (KS distance {:.3})", fit.zipf_distance),
        panel,
        1.0..(n.max(2) as f64),
        "popularity rank",
        true,
    )
}

/// The share of inter-arrival gaps longer than x, against Poisson arrivals'.
fn gaps(outcome: &Outcome) -> Figure {
    let p = &outcome.profile;
    let total = (p.gaps.iter().sum::<u64>() + p.zero_gaps) as f64;
    let edge_ms = |bin: usize| 10f64.powf(bin as f64 / GAP_BINS_PER_DECADE as f64) / 1e6;
    let mut longer = total - p.zero_gaps as f64;
    let mut trace = Vec::new();
    let first = p.gaps.iter().position(|&c| c > 0).unwrap_or(0);
    let last = p.gaps.iter().rposition(|&c| c > 0).unwrap_or(0);
    for bin in first..=last {
        // Gaps in this bin are shorter than its upper edge.
        trace.push((edge_ms(bin), longer / total.max(1.0)));
        longer -= p.gaps[bin] as f64;
    }
    let rate_per_ms = outcome.fit.rate_per_s / 1e3;
    let floor = 0.5 / total.max(1.0);
    let poisson: Vec<(f64, f64)> = trace
        .iter()
        .map(|&(x, _)| (x, (-rate_per_ms * x).exp()))
        .filter(|&(_, y)| y >= floor)
        .collect();
    let trace: Vec<(f64, f64)> = trace.into_iter().filter(|&(_, y)| y > 0.0).collect();
    let x_range = edge_ms(first)..edge_ms(last + 1);
    let mut panel = Panel::new(
        "share of gaps longer",
        vec![
            Series::new("trace", trace),
            Series::new(
                format!("Poisson fit, {} req/s", shown(outcome.fit.rate_per_s)),
                poisson,
            ),
        ],
    );
    panel.log_y = true;
    panel.y_range = Some(floor..1.5);
    let title = match outcome.fit.dispersion {
        Some(d) => format!("inter-arrival times (dispersion {d:.2})"),
        None => "inter-arrival times".into(),
    };
    figure(title, panel, x_range, "time to the next read (ms)", true)
}

/// The cumulative share of keys by value size, against the fitted lognormal.
fn sizes(outcome: &Outcome) -> Option<Figure> {
    let fit = outcome.fit.sizes?;
    let p = &outcome.profile;
    let mut sizes: Vec<u32> = (0..p.size_of.len())
        .filter(|&k| p.reads_per_key[k] > 0 && p.size_of[k] > 0)
        .map(|k| p.size_of[k])
        .collect();
    sizes.sort_unstable();
    let n = sizes.len();
    let trace: Vec<(f64, f64)> = (0..POINTS)
        .map(|i| {
            let k = (i * (n - 1)) / (POINTS - 1);
            (sizes[k] as f64, (k + 1) as f64 / n as f64)
        })
        .collect();
    let (lo, hi) = (sizes[0] as f64, sizes[n - 1] as f64);
    let (lo, hi) = if hi / lo < 4.0 {
        (lo / 2.0, hi * 2.0)
    } else {
        (lo, hi)
    };
    let law: Vec<(f64, f64)> = (0..POINTS)
        .map(|i| {
            let x = lo * (hi / lo).powf(i as f64 / (POINTS - 1) as f64);
            let z = if fit.sigma > 0.0 {
                (x / fit.median).ln() / fit.sigma
            } else if x < fit.median {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
            (x, normal_cdf(z))
        })
        .collect();
    let mut panel = Panel::new(
        "share of keys this size or smaller",
        vec![
            Series::new("trace", trace),
            Series::new(
                format!(
                    "lognormal fit, median {} B, σ {:.2}",
                    shown(fit.median),
                    fit.sigma
                ),
                law,
            ),
        ],
    );
    panel.y_range = Some(0.0..1.0);
    Some(figure(
        "value sizes".into(),
        panel,
        lo..hi,
        "value size (bytes)",
        true,
    ))
}

/// A value with thousands separators, or 3 significant digits below 100.
fn shown(x: f64) -> String {
    if x >= 100.0 {
        crate::report::plot::thousands(x)
    } else {
        format!("{:.3}", super::significant(x, 3))
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// The standard normal CDF (Abramowitz and Stegun 7.1.26, error below 1.5e-7:
/// far below a pixel).
fn normal_cdf(z: f64) -> f64 {
    if z.is_infinite() {
        return if z > 0.0 { 1.0 } else { 0.0 };
    }
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}
