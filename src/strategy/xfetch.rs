//! `xfetch`: optimal probabilistic early recomputation (Vattani, Chierichetti
//! and Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015).
//!
//! A hit recomputes when `now − δ·β·ln(U) ≥ expiry`, where δ is the last
//! recompute time the writer measured and U is uniform in (0, 1].

use std::sync::Arc;

use super::{Found, Kind, Locks, Miss, Mitigation, Needs, OnHit, OnMiss};
use crate::rng::{Stream, unit_f64};
use crate::time::{SimDuration, SimTime};

/// The registry row.
pub const KIND: Kind = Kind {
    name: "xfetch",
    options: &["beta"],
    parse: |options| {
        let beta = options.number("beta", 1.0)?;
        if !(beta.is_finite() && beta > 0.0) {
            return Err(options.problem(
                "beta",
                format!("is {beta}; it must be > 0 (1.0 is the paper's optimum)"),
            ));
        }
        Ok(Arc::new(XFetch { beta }))
    },
};

/// XFetch with parameter β.
#[derive(Debug)]
struct XFetch {
    /// β; 1 is the optimum of the paper, larger refreshes earlier.
    beta: f64,
}

impl Mitigation for XFetch {
    fn needs(&self) -> Needs {
        Needs {
            payload: true,
            locks: Locks::Never,
            lease_tokens: None,
            retry: None,
            keep_stale: SimDuration::ZERO,
        }
    }

    fn on_hit(&self, found: Found, now: SimTime, rng: &mut Stream) -> OnHit {
        // −δ·β·ln(U) with U in (0, 1]: an exponential gap, mean δ·β.
        let u = 1.0 - unit_f64(rng);
        let gap = -(found.delta.0 as f64) * self.beta * u.ln();
        if now.0 as f64 + gap >= found.soft_expiry.0 as f64 {
            OnHit::Recompute
        } else {
            OnHit::Serve
        }
    }

    fn on_miss(&self, _: Miss) -> OnMiss {
        OnMiss::Query
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Component, stream};

    #[test]
    fn xfetch_refreshes_more_often_near_expiry() {
        let mut rng = stream(1, Component::Strategy);
        let xfetch = XFetch { beta: 1.0 };
        let found = Found {
            soft_expiry: SimTime(10_000_000_000),
            delta: SimDuration::from_millis(100),
        };
        let share = |now_ms: u64, rng: &mut Stream| {
            (0..10_000)
                .filter(|_| {
                    xfetch.on_hit(found, SimTime(now_ms * 1_000_000), rng) == OnHit::Recompute
                })
                .count() as f64
                / 10_000.0
        };
        // P(refresh) = exp(−(expiry − now)/(δβ)): 100 ms before expiry, e^−1 ≈ 0.37;
        // 500 ms before, e^−5 ≈ 0.007; at expiry, 1.
        let near = share(9_900, &mut rng);
        let far = share(9_500, &mut rng);
        assert!((near - 0.368).abs() < 0.02, "near {near}");
        assert!(far < 0.02, "far {far}");
        assert_eq!(share(10_000, &mut rng), 1.0);
    }
}
