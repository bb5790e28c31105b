//! `none`: plain cache-aside; every concurrent miss queries the database.

use std::sync::Arc;

use super::{Kind, Locks, Miss, Mitigation, Needs, OnMiss};
use crate::time::SimDuration;

/// The registry row.
pub const KIND: Kind = Kind {
    name: "none",
    options: &[],
    parse: |_| Ok(Arc::new(NoMitigation)),
};

/// No mitigation: the baseline every other is compared with.
#[derive(Debug)]
struct NoMitigation;

impl Mitigation for NoMitigation {
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
        OnMiss::Query
    }
}
