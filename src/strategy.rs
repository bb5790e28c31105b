//! Stampede mitigations: what a request does on a hit near expiry and on a miss.
//!
//! All strategies are cache-aside. A strategy decides, the engine acts: each
//! mitigation is one file under `strategy/` that reads its options, states
//! which cache mechanisms it needs ([`Needs`]) and answers with decisions
//! ([`OnHit`], [`OnMiss`]); the engine turns decisions into cache commands,
//! database queries and sleeps, each with its latency, so lock traffic loads
//! the cache and failures (a lease shorter than the query, a window too small,
//! one coalescing group per app server) emerge from the mechanics.
//!
//! Adding a mitigation is one file implementing [`Mitigation`] and one row
//! in [`KINDS`]; the engine's mechanisms are a closed set, matched exhaustively.

mod coalesce;
mod early;
mod lock;
mod memcache_lease;
mod none;
pub mod options;
mod swr;
mod xfetch;

use std::fmt;
use std::sync::Arc;

pub use options::{Options, Problem};

use crate::rng::Stream;
use crate::time::{SimDuration, SimTime};

/// One `strategy.kind`: its contract name, its options and how to read them.
pub struct Kind {
    /// The contract name (`strategy.kind`).
    pub name: &'static str,
    /// The `[strategy]` keys besides `kind` it takes, in the order `scenario.toml` writes them.
    pub options: &'static [&'static str],
    /// Reads the options (applying the kind's defaults) into a mitigation.
    pub parse: fn(&Options) -> Result<Arc<dyn Mitigation>, Problem>,
}

/// Every mitigation, in the order help texts list them.
pub static KINDS: &[Kind] = &[
    none::KIND,
    lock::LOCK,
    lock::LEASE_LOCK,
    early::KIND,
    xfetch::KIND,
    swr::KIND,
    coalesce::KIND,
    memcache_lease::KIND,
];

/// The registry row of `name`; `None` for an unknown kind.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The decisions a mitigation makes; the engine carries them out.
pub trait Mitigation: fmt::Debug + Send + Sync + std::panic::RefUnwindSafe {
    /// The cache mechanisms it relies on, read once when a run starts.
    fn needs(&self) -> Needs;

    /// What a hit does with the value found; `now` is the reader's own
    /// (possibly skewed) clock. Only asked when [`Needs::payload`] is set:
    /// otherwise every hit is served.
    fn on_hit(&self, _found: Found, _now: SimTime, _rng: &mut Stream) -> OnHit {
        OnHit::Serve
    }

    /// What a request does when the cache has no usable value.
    fn on_miss(&self, miss: Miss) -> OnMiss;

    /// What a request does when its GET failed because the cache is down:
    /// by default it queries the database, as cache-aside code does.
    fn on_cache_down(&self) -> OnMiss {
        OnMiss::Query
    }
}

/// The cache mechanisms a mitigation relies on. Every field is stated by
/// every mitigation, so a new one decides each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Needs {
    /// Hits depend on the value's payload (its logical expiry and δ).
    pub payload: bool,
    /// How it takes locks in the cache (`SET lock:key token NX PX lease`).
    pub locks: Locks,
    /// memcache leases: the cache issues at most one token per key per this interval.
    pub lease_tokens: Option<SimDuration>,
    /// How long a reader that finds the value being computed by another
    /// sleeps before reading again; `None` if readers never wait.
    pub retry: Option<SimDuration>,
    /// How much longer than its logical TTL a value stays stored, so that
    /// it can be served stale.
    pub keep_stale: SimDuration,
}

/// How a mitigation takes locks in the cache.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Locks {
    /// It never does.
    Never,
    /// Background refreshes take one ([`REFRESH_LOCK_LEASE`]), so one
    /// refresh per key runs at a time.
    ForRefreshes,
    /// Every miss tries to take one; the losers wait.
    ForMisses(MissLock),
}

/// PX of the lock a background refresh takes: about twice the query time it expects.
pub const REFRESH_LOCK_LEASE: SimDuration = SimDuration::from_secs(10);

impl Locks {
    /// Whether the cache holds lock keys at all.
    pub fn any(&self) -> bool {
        !matches!(self, Locks::Never)
    }

    /// PX of the locks it takes.
    pub fn lease(&self) -> SimDuration {
        match self {
            Locks::ForMisses(lock) => lock.lease,
            Locks::Never | Locks::ForRefreshes => REFRESH_LOCK_LEASE,
        }
    }

    /// How often a lock holder renews its lease while it computes (lease-lock).
    pub fn renew_every(&self) -> Option<SimDuration> {
        match self {
            Locks::ForMisses(lock) => lock.renew,
            Locks::Never | Locks::ForRefreshes => None,
        }
    }
}

/// The lock a miss takes, and how long its losers wait for the winner's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MissLock {
    /// PX of the lock.
    pub lease: SimDuration,
    /// Longest a loser waits before `on_timeout`.
    pub max_wait: SimDuration,
    /// What a loser does after `max_wait`.
    pub on_timeout: OnTimeout,
    /// lease-lock: the winner renews the lease this often while computing.
    pub renew: Option<SimDuration>,
}

/// What a lock waiter does after `max_wait`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTimeout {
    /// Query the database itself (a stampede of the patient).
    Compute,
    /// Fail the request.
    Fail,
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
    /// Logically expired: take the miss path, where the value counts as stale.
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

/// What a miss knows besides the missing value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Miss {
    /// The cache granted this request a lease token (memcache leases).
    pub lease_token: bool,
    /// A logically expired value is still stored and could be served stale.
    pub stale: bool,
}

/// What a request does on a miss: one of the mechanisms the engine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnMiss {
    /// Query the database and cache the result.
    Query,
    /// Try to take the key's lock ([`Locks::ForMisses`]); the winner
    /// queries, the losers wait `retry` and read again, up to `max_wait`.
    TryLock,
    /// Join the query for this key already under way in this app instance,
    /// or start it.
    Join,
    /// Answer with the stale value, counted as stale.
    ServeStale,
    /// Sleep `retry` and read again (counted as a lock wait).
    Wait,
}

/// A mitigation and its parameters (`[strategy]`), as a validated scenario holds it.
#[derive(Clone)]
pub struct Strategy {
    kind: &'static Kind,
    rule: Arc<dyn Mitigation>,
    needs: Needs,
}

impl Strategy {
    /// Reads `kind`'s options into a strategy.
    pub fn parse(kind: &'static Kind, options: &Options) -> Result<Strategy, Problem> {
        let rule = (kind.parse)(options)?;
        Ok(Strategy {
            kind,
            needs: rule.needs(),
            rule,
        })
    }

    /// The contract name (`strategy.kind`).
    pub fn name(&self) -> &'static str {
        self.kind.name
    }

    /// The cache mechanisms it relies on.
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// How long a SET keeps a value in the cache for a logical TTL `ttl`.
    pub fn storage_ttl(&self, ttl: SimDuration) -> SimDuration {
        ttl + self.needs.keep_stale
    }

    /// See [`Mitigation::on_hit`].
    pub fn on_hit(&self, found: Found, now: SimTime, rng: &mut Stream) -> OnHit {
        self.rule.on_hit(found, now, rng)
    }

    /// See [`Mitigation::on_miss`].
    pub fn on_miss(&self, miss: Miss) -> OnMiss {
        self.rule.on_miss(miss)
    }

    /// See [`Mitigation::on_cache_down`].
    pub fn on_cache_down(&self) -> OnMiss {
        self.rule.on_cache_down()
    }
}

impl fmt::Debug for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.kind.name, self.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn every_kind_parses_with_its_defaults_and_reads_every_option_it_lists() {
        let none = BTreeMap::new();
        for kind in KINDS {
            let strategy = Strategy::parse(kind, &Options::new(&none)).expect(kind.name);
            assert_eq!(strategy.name(), kind.name);
            // A value no option accepts must be refused by name: the kind
            // really reads each option it lists.
            for option in kind.options {
                let bad = BTreeMap::from([(option.to_string(), toml::Value::Array(vec![]))]);
                let problem = Strategy::parse(kind, &Options::new(&bad)).unwrap_err();
                assert_eq!(problem.key, format!("strategy.{option}"), "{}", kind.name);
            }
        }
    }

    #[test]
    fn kind_names_are_unique() {
        for (i, a) in KINDS.iter().enumerate() {
            assert!(
                KINDS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }
}
