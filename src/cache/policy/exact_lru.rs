//! Exact LRU (`lru`): a reference policy, not a Redis one.
//!
//! It evicts the truly least recently used key, where Redis samples. It
//! answers "how much does Redis's sampling cost?" and is the policy Che's
//! approximation describes. It keeps its own per-key state (an intrusive
//! doubly linked list over key ids) and draws no random numbers.

use super::queue::{Links, Queue};

/// Exact LRU: an intrusive queue over key ids, most recent at the head,
/// O(1) per operation. Memory: two `u32` per key id, allocated once.
#[derive(Clone, Debug)]
pub(crate) struct ExactLru {
    links: Links,
    queue: Queue,
}

impl ExactLru {
    /// An empty list for key ids below `keys`. O(keys).
    pub(crate) fn new(keys: usize) -> Self {
        ExactLru {
            links: Links::new(keys),
            queue: Queue::default(),
        }
    }

    /// A key was stored: it becomes the most recently used.
    pub(crate) fn on_insert(&mut self, key: u32) {
        self.queue.push_head(&mut self.links, key, 0);
    }

    /// A key left the cache.
    pub(crate) fn on_remove(&mut self, key: u32) {
        self.queue.remove(&mut self.links, key, 0);
    }

    /// A stored key was read or overwritten: it moves to the front.
    pub(crate) fn on_access(&mut self, key: u32) {
        if self.queue.head() != Some(key) {
            self.on_remove(key);
            self.on_insert(key);
        }
    }

    /// The least recently used key, or `None` when the cache is empty.
    pub(crate) fn victim(&self) -> Option<u32> {
        self.queue.tail()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recent() {
        let mut l = ExactLru::new(4);
        for k in 0..4 {
            l.on_insert(k);
        }
        l.on_access(0);
        assert_eq!(l.victim(), Some(1));
        l.on_remove(1);
        assert_eq!(l.victim(), Some(2));
        l.on_remove(0);
        l.on_remove(2);
        l.on_remove(3);
        assert_eq!(l.victim(), None);
    }
}
