//! `early`: probabilistic early expiration with a fixed window.
//!
//! A hit within `window` of the value's logical expiry refreshes it with
//! `probability`: inline (the request recomputes) or, with `background`,
//! behind a lock while the cached value is served.

use std::sync::Arc;

use super::{Found, Kind, Locks, Miss, Mitigation, Needs, OnHit, OnMiss};
use crate::rng::{Stream, unit_f64};
use crate::time::{SimDuration, SimTime};

/// The registry row.
pub const KIND: Kind = Kind {
    name: "early",
    options: &["window", "probability", "background"],
    parse: |options| {
        let probability = options.number("probability", 0.1)?;
        if !(probability > 0.0 && probability <= 1.0) {
            return Err(options.problem(
                "probability",
                format!("is {probability}; it must be in (0, 1]"),
            ));
        }
        Ok(Arc::new(Early {
            window: options.duration("window", "30s")?,
            probability,
            background: options.flag("background", false)?,
        }))
    },
};

/// Refresh with a fixed chance inside a window before expiry.
#[derive(Debug)]
struct Early {
    /// Refresh window before expiry.
    window: SimDuration,
    /// Chance that a hit in the window refreshes.
    probability: f64,
    /// Serve the cached value and refresh behind a lock (else recompute inline).
    background: bool,
}

impl Mitigation for Early {
    fn needs(&self) -> Needs {
        Needs {
            payload: true,
            locks: if self.background {
                Locks::ForRefreshes
            } else {
                Locks::Never
            },
            lease_tokens: None,
            retry: None,
            keep_stale: SimDuration::ZERO,
        }
    }

    fn on_hit(&self, found: Found, now: SimTime, rng: &mut Stream) -> OnHit {
        let in_window = now + self.window >= found.soft_expiry;
        if in_window && unit_f64(rng) < self.probability {
            if self.background {
                OnHit::ServeAndRefresh
            } else {
                OnHit::Recompute
            }
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

    const SEC: SimDuration = SimDuration::from_secs(1);

    #[test]
    fn early_refreshes_only_inside_the_window() {
        let mut rng = stream(1, Component::Strategy);
        let early = Early {
            window: SEC * 2,
            probability: 1.0,
            background: true,
        };
        let found = Found {
            soft_expiry: SimTime(10 * SEC.0),
            delta: SimDuration::from_millis(100),
        };
        assert_eq!(
            early.on_hit(found, SimTime(7 * SEC.0), &mut rng),
            OnHit::Serve
        );
        assert_eq!(
            early.on_hit(found, SimTime(8 * SEC.0), &mut rng),
            OnHit::ServeAndRefresh
        );
    }
}
