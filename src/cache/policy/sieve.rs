//! SIEVE (`sieve`, Zhang et al., "SIEVE is Simpler than LRU", NSDI 2024).
//!
//! Keys enter at the head with their visited bit clear; a hit sets it; no
//! key ever moves. A hand walks from the tail toward the head: a visited key
//! has its bit cleared and is passed over, the first unvisited one is the
//! victim, and the hand stays on the victim's newer neighbour; past the head
//! it wraps to the tail. It follows libCacheSim's `Sieve.c` (1a1a11a/
//! libCacheSim @ 11c93a3, `libCacheSim/cache/eviction/Sieve.c`), whose test
//! suite pins its misses on the CloudPhysics trace.

use super::queue::{Links, NONE, Queue};

/// SIEVE over key ids: an intrusive queue, a visited bit per key, a hand.
#[derive(Clone, Debug)]
pub(crate) struct Sieve {
    links: Links,
    queue: Queue,
    visited: Vec<bool>,
    /// The key the hand rests on, or [`NONE`]: start from the tail.
    hand: u32,
}

impl Sieve {
    /// An empty cache for key ids below `keys`. O(keys).
    pub(crate) fn new(keys: usize) -> Self {
        Sieve {
            links: Links::new(keys),
            queue: Queue::default(),
            visited: vec![false; keys],
            hand: NONE,
        }
    }

    /// A key was stored: it joins the head, unvisited.
    pub(crate) fn on_insert(&mut self, key: u32) {
        self.visited[key as usize] = false;
        self.queue.push_head(&mut self.links, key, 0);
    }

    /// A stored key was read or overwritten: it is visited.
    pub(crate) fn on_access(&mut self, key: u32) {
        self.visited[key as usize] = true;
    }

    /// A key left the cache; a hand resting on it moves to its newer neighbour.
    pub(crate) fn on_remove(&mut self, key: u32) {
        if self.hand == key {
            self.hand = self.links.newer(key);
        }
        self.queue.remove(&mut self.links, key, 0);
    }

    /// The first unvisited key from the hand toward the head (wrapping to
    /// the tail), clearing the bits it passes; the hand stays on its newer
    /// neighbour.
    pub(crate) fn victim(&mut self) -> Option<u32> {
        let tail = self.queue.tail()?;
        let mut key = if self.hand == NONE { tail } else { self.hand };
        while self.visited[key as usize] {
            self.visited[key as usize] = false;
            key = match self.links.newer(key) {
                NONE => tail,
                newer => newer,
            };
        }
        self.hand = self.links.newer(key);
        Some(key)
    }
}
