//! `coalesce`: request coalescing (single flight) inside each app instance.
//!
//! Concurrent misses for a key in one app instance share one query; other
//! instances each run their own, so the protection shrinks as instances grow.
//! It needs no cache, so it keeps working while the cache is down.

use std::sync::Arc;

use super::{Kind, Locks, Miss, Mitigation, Needs, OnMiss};
use crate::time::SimDuration;

/// The registry row.
pub const KIND: Kind = Kind {
    name: "coalesce",
    options: &[],
    parse: |_| Ok(Arc::new(Coalesce)),
};

/// Single flight per app instance and key.
#[derive(Debug)]
struct Coalesce;

impl Mitigation for Coalesce {
    fn needs(&self) -> Needs {
        Needs {
            payload: false,
            locks: Locks::Never,
            lease_tokens: None,
            retry: None,
            keep_stale: SimDuration::ZERO,
        }
    }

    fn on_miss(&self, _: Miss) -> OnMiss {
        OnMiss::Join
    }

    /// In-process coalescing still shares loads without the cache.
    fn on_cache_down(&self) -> OnMiss {
        OnMiss::Join
    }
}
