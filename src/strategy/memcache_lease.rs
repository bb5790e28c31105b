//! `memcache-lease`: memcached leases as Facebook runs them (Nishtala et al.,
//! "Scaling Memcache at Facebook", NSDI 2013, §3.2.1).
//!
//! The cache hands a miss a lease token, at most one per key per
//! `lease_interval`; the holder queries and sets the value, the others wait
//! `retry` and read again, or with `stale = true` take the logically expired
//! value, which stays stored one lease interval past its TTL.

use std::sync::Arc;

use super::{Found, Kind, Locks, Miss, Mitigation, Needs, OnHit, OnMiss};
use crate::rng::Stream;
use crate::time::{SimDuration, SimTime};

/// The registry row.
pub const KIND: Kind = Kind {
    name: "memcache-lease",
    options: &["lease_interval", "retry", "stale"],
    parse: |options| {
        Ok(Arc::new(MemcacheLease {
            lease_interval: options.duration("lease_interval", "10s")?,
            retry: options.duration("retry", "50ms")?,
            serve_stale: match options.value("stale") {
                None => false,
                Some(toml::Value::Boolean(b)) => *b,
                Some(other) => {
                    return Err(options.problem(
                        "stale",
                        format!(
                            "is {other}; for memcache-lease it is true (waiters take a stale value) or false"
                        ),
                    ));
                }
            },
        }))
    },
};

/// Lease tokens issued by the cache on misses.
#[derive(Debug)]
struct MemcacheLease {
    /// At most one token per key per interval.
    lease_interval: SimDuration,
    /// Wait before a token-less request reads again.
    retry: SimDuration,
    /// Token-less requests take the stale value when there is one.
    serve_stale: bool,
}

impl Mitigation for MemcacheLease {
    fn needs(&self) -> Needs {
        Needs {
            payload: true,
            locks: Locks::Never,
            lease_tokens: Some(self.lease_interval),
            retry: Some(self.retry),
            keep_stale: if self.serve_stale {
                self.lease_interval
            } else {
                SimDuration::ZERO
            },
        }
    }

    /// A value past its logical TTL is a miss: one reader gets the token,
    /// the others may take the stale value.
    fn on_hit(&self, found: Found, now: SimTime, _: &mut Stream) -> OnHit {
        if now >= found.soft_expiry {
            OnHit::Expired
        } else {
            OnHit::Serve
        }
    }

    fn on_miss(&self, miss: Miss) -> OnMiss {
        if miss.lease_token {
            OnMiss::Query
        } else if miss.stale && self.serve_stale {
            OnMiss::ServeStale
        } else {
            OnMiss::Wait
        }
    }
}
