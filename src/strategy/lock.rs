//! `lock` and `lease-lock`: a miss takes `SET lock:key token NX PX lease`;
//! the winner computes, the others sleep `retry` and read again, up to
//! `max_wait`, then compute anyway or fail (`on_timeout`).
//!
//! A lease shorter than the query lets a second winner in; `lease-lock`
//! renews the lease every `renew` while the winner computes (`PEXPIRE` if it
//! still owns the lock), so a short lease only matters when the holder dies.

use std::sync::Arc;

use super::{Kind, Locks, Miss, MissLock, Mitigation, Needs, OnMiss, OnTimeout, Options, Problem};
use crate::time::SimDuration;

/// The registry row of `lock`.
pub const LOCK: Kind = Kind {
    name: "lock",
    options: &["lease", "retry", "max_wait", "on_timeout"],
    parse: |options| Ok(Arc::new(parse(options, None)?)),
};

/// The registry row of `lease-lock`.
pub const LEASE_LOCK: Kind = Kind {
    name: "lease-lock",
    options: &["lease", "retry", "max_wait", "on_timeout", "renew"],
    parse: |options| {
        let renew = options.duration("renew", "200ms")?;
        let lock = parse(options, Some(renew))?;
        if renew >= lock.lock.lease {
            return Err(options.problem(
                "renew",
                "must be shorter than the lease, or the lease lapses between renewals",
            ));
        }
        Ok(Arc::new(lock))
    },
};

/// A lock per key in the cache; `renew` makes it a lease-lock.
#[derive(Debug)]
struct Lock {
    lock: MissLock,
    retry: SimDuration,
}

fn parse(options: &Options, renew: Option<SimDuration>) -> Result<Lock, Problem> {
    // A renewed lease can be short: it only has to outlive one renewal period.
    let (lease, retry) = match renew {
        None => ("10s", "100ms"),
        Some(_) => ("500ms", "50ms"),
    };
    let on_timeout = match options.choice(
        "on_timeout",
        "compute",
        &[
            ("compute", "query the database"),
            ("fail", "fail the request"),
        ],
    )? {
        "fail" => OnTimeout::Fail,
        _ => OnTimeout::Compute,
    };
    Ok(Lock {
        lock: MissLock {
            lease: options.duration("lease", lease)?,
            max_wait: options.duration("max_wait", "5s")?,
            on_timeout,
            renew,
        },
        retry: options.duration("retry", retry)?,
    })
}

impl Mitigation for Lock {
    fn needs(&self) -> Needs {
        Needs {
            payload: false,
            locks: Locks::ForMisses(self.lock),
            lease_tokens: None,
            retry: Some(self.retry),
            keep_stale: SimDuration::ZERO,
        }
    }

    fn on_miss(&self, _: Miss) -> OnMiss {
        OnMiss::TryLock
    }
}
