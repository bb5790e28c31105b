//! Stampede mitigations: what a request does on a hit near expiry and on a miss.
//!
//! All strategies are cache-aside. A strategy decides, the engine acts: these
//! functions look at what a cache read returned and answer with a decision
//! ([`OnHit`], [`OnMiss`]); the engine turns decisions into cache commands,
//! database queries and sleeps, each with its latency, so lock traffic loads
//! the cache and failures (a lease shorter than the query, a window too small,
//! one coalescing group per app server) emerge from the mechanics.

use crate::rng::{Stream, unit_f64};
use crate::time::{SimDuration, SimTime};

/// What a lock waiter does after `max_wait`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTimeout {
    /// Query the database itself (a stampede of the patient).
    Compute,
    /// Fail the request.
    Fail,
}

/// A mitigation and its parameters (`[strategy]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    /// `none`: every concurrent miss queries the database.
    None,
    /// `lock` and `lease-lock`: a miss takes `SET lock NX PX lease`; the winner
    /// computes, the others sleep `retry` and read again.
    Lock {
        /// PX of the lock.
        lease: SimDuration,
        /// Sleep between a loser's attempts.
        retry: SimDuration,
        /// Longest a loser waits before `on_timeout`.
        max_wait: SimDuration,
        /// What a loser does after `max_wait`.
        on_timeout: OnTimeout,
        /// `lease-lock`: the winner renews the lease this often while computing.
        renew: Option<SimDuration>,
    },
    /// `early`: a hit within `window` of expiry refreshes with `probability`.
    Early {
        /// Refresh window before expiry.
        window: SimDuration,
        /// Chance that a hit in the window refreshes.
        probability: f64,
        /// Serve the cached value and refresh behind a lock (else recompute inline).
        background: bool,
    },
    /// `xfetch`: refresh when now − δ·β·ln(U) ≥ expiry (Vattani et al., VLDB 2015).
    XFetch {
        /// β; 1 is the optimum of the paper.
        beta: f64,
    },
    /// `swr`: after the soft TTL, serve stale for up to `stale` while one refresh runs.
    Swr {
        /// How long past the soft TTL a value may be served.
        stale: SimDuration,
    },
    /// `coalesce`: concurrent misses for a key in one app instance share one query.
    Coalesce,
    /// `memcache-lease`: a miss gets a lease token, at most one per key per interval.
    MemcacheLease {
        /// At most one token per key per interval.
        lease_interval: SimDuration,
        /// Wait before a token-less request reads again.
        retry: SimDuration,
        /// Token-less requests take the stale value when there is one.
        serve_stale: bool,
    },
}

impl Strategy {
    /// The contract name (`strategy.kind`).
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::Lock { renew: None, .. } => "lock",
            Strategy::Lock { renew: Some(_), .. } => "lease-lock",
            Strategy::Early { .. } => "early",
            Strategy::XFetch { .. } => "xfetch",
            Strategy::Swr { .. } => "swr",
            Strategy::Coalesce => "coalesce",
            Strategy::MemcacheLease { .. } => "memcache-lease",
        }
    }

    /// Every accepted `strategy.kind`.
    pub const NAMES: [&'static str; 8] = [
        "none",
        "lock",
        "lease-lock",
        "early",
        "xfetch",
        "swr",
        "coalesce",
        "memcache-lease",
    ];

    /// The options (`[strategy]` keys besides `kind`) that `kind` takes; `None` for an unknown kind.
    pub fn options_of(kind: &str) -> Option<&'static [&'static str]> {
        Some(match kind {
            "none" | "coalesce" => &[],
            "lock" => &["lease", "retry", "max_wait", "on_timeout"],
            "lease-lock" => &["lease", "renew", "retry", "max_wait", "on_timeout"],
            "early" => &["window", "probability", "background"],
            "xfetch" => &["beta"],
            "swr" => &["stale"],
            "memcache-lease" => &["lease_interval", "retry", "stale"],
            _ => return None,
        })
    }

    /// How long a SET keeps a value in the cache for a logical TTL `ttl`:
    /// `swr` keeps it `stale` longer so it can be served stale, and
    /// `memcache-lease` with stale values keeps it one lease interval longer.
    pub fn storage_ttl(&self, ttl: SimDuration) -> SimDuration {
        match *self {
            Strategy::Swr { stale } => ttl + stale,
            Strategy::MemcacheLease {
                lease_interval,
                serve_stale: true,
                ..
            } => ttl + lease_interval,
            _ => ttl,
        }
    }

    /// How long a reader that finds the value being computed by another
    /// sleeps before reading again; `None` for strategies whose readers never wait.
    pub fn sleep_before_reading_again(&self) -> Option<SimDuration> {
        match *self {
            Strategy::Lock { retry, .. } | Strategy::MemcacheLease { retry, .. } => Some(retry),
            Strategy::None
            | Strategy::Early { .. }
            | Strategy::XFetch { .. }
            | Strategy::Swr { .. }
            | Strategy::Coalesce => None,
        }
    }

    /// lease-lock: how often a lock holder renews its lease while it computes.
    pub fn renew_every(&self) -> Option<SimDuration> {
        match *self {
            Strategy::Lock { renew, .. } => renew,
            Strategy::None
            | Strategy::Early { .. }
            | Strategy::XFetch { .. }
            | Strategy::Swr { .. }
            | Strategy::Coalesce
            | Strategy::MemcacheLease { .. } => None,
        }
    }

    /// Whether hits depend on the value's payload (its logical expiry and δ).
    pub fn reads_payload(&self) -> bool {
        match self {
            Strategy::Early { .. }
            | Strategy::XFetch { .. }
            | Strategy::Swr { .. }
            | Strategy::MemcacheLease { .. } => true,
            Strategy::None | Strategy::Lock { .. } | Strategy::Coalesce => false,
        }
    }

    /// Whether misses go through a lock in the cache (`SET lock NX PX`).
    pub fn uses_locks(&self) -> bool {
        match self {
            Strategy::Lock { .. } | Strategy::Swr { .. } => true,
            Strategy::Early { background, .. } => *background,
            Strategy::None
            | Strategy::XFetch { .. }
            | Strategy::Coalesce
            | Strategy::MemcacheLease { .. } => false,
        }
    }

    /// memcache-lease: the server issues lease tokens on misses.
    pub fn issues_lease_tokens(&self) -> bool {
        match self {
            Strategy::MemcacheLease { .. } => true,
            Strategy::None
            | Strategy::Lock { .. }
            | Strategy::Early { .. }
            | Strategy::XFetch { .. }
            | Strategy::Swr { .. }
            | Strategy::Coalesce => false,
        }
    }
}

/// What to do with a value a GET found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnHit {
    /// Answer with it.
    Serve,
    /// Answer with it and refresh it in the background (one refresh per key).
    ServeAndRefresh,
    /// Answer with it, counted as stale, and refresh it in the background.
    ServeStaleAndRefresh,
    /// Recompute now and answer with the new value.
    Recompute,
    /// Logically expired: take the miss path (memcache-lease may still serve it stale).
    Expired,
}

/// What the reader knows about a cached value (as its payload records it).
#[derive(Clone, Copy, Debug)]
pub struct Found {
    /// Logical expiry written in the payload, on the writer's clock.
    pub soft_expiry: SimTime,
    /// Recompute time δ measured by the writer (xfetch).
    pub delta: SimDuration,
}

/// Decides what a hit does; `now` is the reader's own (possibly skewed) clock.
pub fn on_hit(strategy: &Strategy, found: Found, now: SimTime, rng: &mut Stream) -> OnHit {
    match *strategy {
        Strategy::None | Strategy::Lock { .. } | Strategy::Coalesce => OnHit::Serve,
        Strategy::MemcacheLease { .. } => {
            if now >= found.soft_expiry {
                OnHit::Expired
            } else {
                OnHit::Serve
            }
        }
        Strategy::Early {
            window,
            probability,
            background,
        } => {
            let in_window = now + window >= found.soft_expiry;
            if in_window && unit_f64(rng) < probability {
                if background {
                    OnHit::ServeAndRefresh
                } else {
                    OnHit::Recompute
                }
            } else {
                OnHit::Serve
            }
        }
        Strategy::XFetch { beta } => {
            // −δ·β·ln(U) with U in (0, 1]: an exponential gap, mean δ·β.
            let u = 1.0 - unit_f64(rng);
            let gap = -(found.delta.0 as f64) * beta * u.ln();
            if now.0 as f64 + gap >= found.soft_expiry.0 as f64 {
                OnHit::Recompute
            } else {
                OnHit::Serve
            }
        }
        Strategy::Swr { .. } => {
            if now >= found.soft_expiry {
                OnHit::ServeStaleAndRefresh
            } else {
                OnHit::Serve
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Component, stream};

    const SEC: SimDuration = SimDuration::from_secs(1);

    fn found(expiry_s: u64) -> Found {
        Found {
            soft_expiry: SimTime(expiry_s * SEC.0),
            delta: SimDuration::from_millis(100),
        }
    }

    #[test]
    fn xfetch_refreshes_more_often_near_expiry() {
        let mut rng = stream(1, Component::Strategy);
        let xfetch = Strategy::XFetch { beta: 1.0 };
        let share = |now_ms: u64, rng: &mut Stream| {
            (0..10_000)
                .filter(|_| {
                    on_hit(&xfetch, found(10), SimTime(now_ms * 1_000_000), rng) == OnHit::Recompute
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

    #[test]
    fn early_refreshes_only_inside_the_window() {
        let mut rng = stream(1, Component::Strategy);
        let early = Strategy::Early {
            window: SEC * 2,
            probability: 1.0,
            background: true,
        };
        assert_eq!(
            on_hit(&early, found(10), SimTime(7 * SEC.0), &mut rng),
            OnHit::Serve
        );
        assert_eq!(
            on_hit(&early, found(10), SimTime(8 * SEC.0), &mut rng),
            OnHit::ServeAndRefresh
        );
    }

    #[test]
    fn swr_serves_stale_after_the_soft_ttl() {
        let mut rng = stream(1, Component::Strategy);
        let swr = Strategy::Swr { stale: SEC * 5 };
        assert_eq!(
            on_hit(&swr, found(10), SimTime(9 * SEC.0), &mut rng),
            OnHit::Serve
        );
        assert_eq!(
            on_hit(&swr, found(10), SimTime(11 * SEC.0), &mut rng),
            OnHit::ServeStaleAndRefresh
        );
        assert_eq!(swr.storage_ttl(SEC * 30), SEC * 35);
    }
}
