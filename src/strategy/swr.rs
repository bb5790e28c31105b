//! `swr`: stale-while-revalidate (RFC 5861's `stale-while-revalidate`).
//!
//! A value stays stored `stale` past its logical (soft) TTL; a hit after the
//! soft TTL is served stale while one background refresh per key, behind a
//! lock, fetches the new value.

use std::sync::Arc;

use super::{Found, Kind, Locks, Miss, Mitigation, Needs, OnHit, OnMiss};
use crate::rng::Stream;
use crate::time::{SimDuration, SimTime};

/// The registry row.
pub const KIND: Kind = Kind {
    name: "swr",
    options: &["stale"],
    parse: |options| {
        let stale = match options.value("stale") {
            None => "60s",
            Some(toml::Value::String(text)) => text,
            Some(other) => {
                return Err(options.problem(
                    "stale",
                    format!("is {other}; for swr it is a duration such as \"30s\""),
                ));
            }
        };
        Ok(Arc::new(Swr {
            stale: options.positive_duration("stale", stale)?,
        }))
    },
};

/// Serve stale for up to `stale` while one refresh runs.
#[derive(Debug)]
struct Swr {
    /// How long past the soft TTL a value may be served.
    stale: SimDuration,
}

impl Mitigation for Swr {
    fn needs(&self) -> Needs {
        Needs {
            payload: true,
            locks: Locks::ForRefreshes,
            lease_tokens: None,
            retry: None,
            keep_stale: self.stale,
        }
    }

    fn on_hit(&self, found: Found, now: SimTime, _: &mut Stream) -> OnHit {
        if now >= found.soft_expiry {
            OnHit::ServeStaleAndRefresh
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
    use crate::strategy::{Options, Strategy, kind};

    const SEC: SimDuration = SimDuration::from_secs(1);

    #[test]
    fn swr_serves_stale_after_the_soft_ttl() {
        let mut rng = stream(1, Component::Strategy);
        let given = [("stale".to_string(), toml::Value::from("5s"))].into();
        let swr = Strategy::parse(kind("swr").unwrap(), &Options::new(&given)).unwrap();
        let found = Found {
            soft_expiry: SimTime(10 * SEC.0),
            delta: SimDuration::from_millis(100),
        };
        assert_eq!(
            swr.on_hit(found, SimTime(9 * SEC.0), &mut rng),
            OnHit::Serve
        );
        assert_eq!(
            swr.on_hit(found, SimTime(11 * SEC.0), &mut rng),
            OnHit::ServeStaleAndRefresh
        );
        assert_eq!(swr.storage_ttl(SEC * 30), SEC * 35);
    }
}
