//! CLOCK (`clock`): FIFO with one reference bit, second chance.
//!
//! A hit sets the key's bit. To evict, the oldest key with its bit set has
//! it cleared and goes back to the head; the first oldest key without one is
//! the victim. It follows libCacheSim's `Clock.c` with its default one-bit
//! counter (1a1a11a/libCacheSim @ 6cecdd8, `libCacheSim/cache/eviction/
//! Clock.c`: `n-bit-counter=1`, `init-freq=0`), whose test suite pins its
//! misses on the CloudPhysics trace.

use super::queue::{Links, Queue};

/// CLOCK over key ids: an intrusive queue and a bit per key. O(1) per
/// operation, amortised O(1) per eviction (each pass clears a bit).
#[derive(Clone, Debug)]
pub(crate) struct Clock {
    links: Links,
    queue: Queue,
    referenced: Vec<bool>,
}

impl Clock {
    /// An empty clock for key ids below `keys`. O(keys).
    pub(crate) fn new(keys: usize) -> Self {
        Clock {
            links: Links::new(keys),
            queue: Queue::default(),
            referenced: vec![false; keys],
        }
    }

    /// A key was stored: it joins the head, unreferenced.
    pub(crate) fn on_insert(&mut self, key: u32) {
        self.referenced[key as usize] = false;
        self.queue.push_head(&mut self.links, key, 0);
    }

    /// A stored key was read or overwritten: its bit is set.
    pub(crate) fn on_access(&mut self, key: u32) {
        self.referenced[key as usize] = true;
    }

    /// A key left the cache.
    pub(crate) fn on_remove(&mut self, key: u32) {
        self.queue.remove(&mut self.links, key, 0);
    }

    /// The oldest key without its bit, after giving referenced keys at the
    /// tail their second chance.
    pub(crate) fn victim(&mut self) -> Option<u32> {
        loop {
            let key = self.queue.tail()?;
            if !self.referenced[key as usize] {
                return Some(key);
            }
            self.referenced[key as usize] = false;
            self.queue.remove(&mut self.links, key, 0);
            self.queue.push_head(&mut self.links, key, 0);
        }
    }
}
