//! Exact in-cache LFU (`lfu`): a reference policy, not a Redis one.
//!
//! It evicts the key with the fewest accesses since it was stored, the least
//! recently used among ties, where Redis samples a decaying logarithmic
//! counter. It answers "how much does Redis's approximation cost?". It keeps
//! its own per-key state (exact counts and a global access tick) and draws no
//! random numbers.

use std::collections::BTreeSet;

/// Exact in-cache LFU, ties broken by recency. O(log n) per operation for n
/// stored keys.
///
/// Memory: two `u64` per key id, allocated once, plus one ordered-set node per
/// stored key.
#[derive(Clone, Debug)]
pub(crate) struct ExactLfu {
    /// (accesses, last access tick, key), smallest first.
    order: BTreeSet<(u64, u64, u32)>,
    accesses: Vec<u64>,
    last_tick: Vec<u64>,
    tick: u64,
}

impl ExactLfu {
    /// An empty order for key ids below `keys`. O(keys).
    pub(crate) fn new(keys: usize) -> Self {
        ExactLfu {
            order: BTreeSet::new(),
            accesses: vec![0; keys],
            last_tick: vec![0; keys],
            tick: 0,
        }
    }

    /// A key was stored: it starts with one access. O(log n).
    pub(crate) fn on_insert(&mut self, key: u32) {
        self.tick += 1;
        let k = key as usize;
        self.accesses[k] = 1;
        self.last_tick[k] = self.tick;
        self.order.insert((1, self.tick, key));
    }

    /// A key left the cache: drops it from the order. O(log n).
    pub(crate) fn on_remove(&mut self, key: u32) {
        let k = key as usize;
        self.order
            .remove(&(self.accesses[k], self.last_tick[k], key));
    }

    /// A stored key was read or overwritten: counts one more access. O(log n).
    pub(crate) fn on_access(&mut self, key: u32) {
        self.on_remove(key);
        self.tick += 1;
        let k = key as usize;
        self.accesses[k] += 1;
        self.last_tick[k] = self.tick;
        self.order.insert((self.accesses[k], self.tick, key));
    }

    /// The least frequently used key (least recently used among ties), or
    /// `None` when the cache is empty. O(log n).
    pub(crate) fn victim(&self) -> Option<u32> {
        self.order.first().map(|&(_, _, key)| key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_frequent_then_least_recent() {
        let mut l = ExactLfu::new(3);
        for k in 0..3 {
            l.on_insert(k);
        }
        l.on_access(0);
        l.on_access(2);
        assert_eq!(l.victim(), Some(1));
        l.on_access(1);
        l.on_access(1);
        assert_eq!(l.victim(), Some(0)); // 0 and 2 tie at 2; 0 is older
    }
}
