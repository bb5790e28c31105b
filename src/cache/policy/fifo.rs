//! FIFO (`fifo`): insert at the head, evict the tail; a hit changes nothing.
//!
//! Memcached's slab FIFO and the baseline of every trace-driven study. It
//! follows libCacheSim's `FIFO.c` (1a1a11a/libCacheSim, `libCacheSim/cache/
//! eviction/FIFO.c`), whose test suite pins its misses on the CloudPhysics
//! trace; `tests/policies.rs` replays that trace to the same numbers.

use super::queue::{Links, Queue};

/// FIFO over key ids: one intrusive queue. O(1) per operation.
#[derive(Clone, Debug)]
pub(crate) struct Fifo {
    links: Links,
    queue: Queue,
}

impl Fifo {
    /// An empty queue for key ids below `keys`. O(keys).
    pub(crate) fn new(keys: usize) -> Self {
        Fifo {
            links: Links::new(keys),
            queue: Queue::default(),
        }
    }

    /// A key was stored: it joins the head.
    pub(crate) fn on_insert(&mut self, key: u32) {
        self.queue.push_head(&mut self.links, key, 0);
    }

    /// A key left the cache.
    pub(crate) fn on_remove(&mut self, key: u32) {
        self.queue.remove(&mut self.links, key, 0);
    }

    /// The oldest key.
    pub(crate) fn victim(&self) -> Option<u32> {
        self.queue.tail()
    }
}
