//! S3-FIFO (`s3-fifo`, `s3-fifo-v0`; Yang et al., "FIFO queues are all you
//! need for cache eviction", SOSP 2023).
//!
//! Three FIFO queues: a small one (10 % of the bytes) that new keys enter, a
//! main one (the rest), and a ghost queue remembering the keys evicted from
//! the small one (up to 90 % of the bytes, counted in their sizes). A hit
//! raises the key's frequency. Eviction takes from the main queue when it
//! is over its share (or the small one is empty), else from the small one:
//! a small key read at least twice moves to the main head (frequency reset),
//! the others are evicted into the ghost. A main key with frequency f > 0
//! goes back to the head with min(f, 3) − 1; one with 0 is evicted. A key
//! found in the ghost when it is stored again goes straight to main.
//!
//! Two variants, both as libCacheSim implements them (1a1a11a/libCacheSim,
//! `libCacheSim/cache/eviction/`, move-to-main threshold 2 as its tests use):
//! - `s3-fifo-v0` (`S3FIFOv0.c` @ d833f41, the SOSP 2023 algorithm of the
//!   paper's artifact Thesys-lab/sosp23-s3fifo): new keys always enter the
//!   small queue.
//! - `s3-fifo` (`S3FIFO.c` @ 687f14c, libCacheSim's current S3-FIFO): the
//!   same, except that until the first eviction a new key enters the main
//!   queue once the small one holds its share, so a cache filling up does
//!   not put everything through the small queue.
//!
//! Deviations, all outside libCacheSim's tested behaviour: the ghost is
//! consulted when a key is stored (after its miss and query, before room is
//! made for it), not at the miss itself, so with latencies another key's
//! eviction may forget it in between; a key of exactly the small queue's
//! capacity is not admitted (libCacheSim evicts for it, then drops it).

use super::queue::{Links, Queue};

/// Which queue a key id is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum In {
    /// None (not stored, not remembered).
    Nowhere,
    /// The small queue.
    Small,
    /// The main queue.
    Main,
    /// The ghost queue: evicted from small, remembered by size.
    Ghost,
}

/// S3-FIFO over key ids. O(1) per operation, amortised O(1) per eviction.
/// Memory: 14 bytes per key id (links, size, frequency, queue).
#[derive(Clone, Debug)]
pub(crate) struct S3Fifo {
    links: Links,
    small: Queue,
    main: Queue,
    ghost: Queue,
    size: Vec<u32>,
    freq: Vec<u8>,
    queue: Vec<In>,
    small_capacity: u64,
    main_capacity: u64,
    ghost_capacity: u64,
    /// The current variant's first-fill rule (`s3-fifo`); false for `s3-fifo-v0`.
    fill_main_first: bool,
    /// The key about to be stored, if the ghost remembered it.
    ghost_hit: Option<u32>,
    /// Whether anything was evicted yet.
    has_evicted: bool,
}

/// A small key read this many times moves to main instead of the ghost.
const MOVE_TO_MAIN: u8 = 2;
/// Frequencies are counted up to this (main's reinsertion caps them).
const MAX_FREQ: u8 = 3;

impl S3Fifo {
    /// An empty S3-FIFO of `capacity` bytes (0: unlimited, nothing is ever
    /// evicted) for key ids below `keys`. O(keys).
    pub(crate) fn new(keys: usize, capacity: u64, fill_main_first: bool) -> Self {
        // As libCacheSim: shares of the byte capacity, truncated.
        let small_capacity = (capacity as f64 * 0.10) as u64;
        S3Fifo {
            links: Links::new(keys),
            small: Queue::default(),
            main: Queue::default(),
            ghost: Queue::default(),
            size: vec![0; keys],
            freq: vec![0; keys],
            queue: vec![In::Nowhere; keys],
            small_capacity,
            main_capacity: capacity - small_capacity,
            ghost_capacity: (capacity as f64 * 0.90) as u64,
            fill_main_first,
            ghost_hit: None,
            has_evicted: false,
        }
    }

    /// Whether a key of `bytes` may enter: it must fit the small queue
    /// (any key may, without a memory limit).
    pub(crate) fn admits(&self, bytes: u32) -> bool {
        self.main_capacity == 0 || (bytes as u64) < self.small_capacity
    }

    /// `key` is about to be stored (before room is made for it): if the
    /// ghost remembers it, it leaves the ghost now, so the evictions that
    /// make its room cannot forget it, and it will enter main.
    pub(crate) fn before_insert(&mut self, key: u32) {
        let k = key as usize;
        if self.queue[k] == In::Ghost {
            self.ghost.remove(&mut self.links, key, self.size[k]);
            self.queue[k] = In::Nowhere;
            self.ghost_hit = Some(key);
        }
    }

    /// A key of `bytes` was stored: to main if the ghost remembered it (or by
    /// the first-fill rule), else to small; frequency 0.
    pub(crate) fn on_insert(&mut self, key: u32, bytes: u32) {
        let k = key as usize;
        let to_main = self.ghost_hit.take() == Some(key)
            || self.fill_main_first && !self.has_evicted && self.small.bytes >= self.small_capacity;
        self.size[k] = bytes;
        self.freq[k] = 0;
        if to_main {
            self.main.push_head(&mut self.links, key, bytes);
            self.queue[k] = In::Main;
        } else {
            self.small.push_head(&mut self.links, key, bytes);
            self.queue[k] = In::Small;
        }
    }

    /// A stored key was read or overwritten: its frequency rises (to 3).
    pub(crate) fn on_access(&mut self, key: u32) {
        let f = &mut self.freq[key as usize];
        *f = (*f + 1).min(MAX_FREQ);
    }

    /// A key left the cache. One [`S3Fifo::victim`] chose has already moved
    /// on (to the ghost, or out of main); any other leaves its queue
    /// without being remembered.
    pub(crate) fn on_remove(&mut self, key: u32) {
        let k = key as usize;
        match self.queue[k] {
            In::Small => self.small.remove(&mut self.links, key, self.size[k]),
            In::Main => self.main.remove(&mut self.links, key, self.size[k]),
            In::Ghost | In::Nowhere => return,
        }
        self.queue[k] = In::Nowhere;
    }

    /// Every key was removed: the ghost is forgotten too.
    pub(crate) fn on_flush(&mut self) {
        while let Some(key) = self.ghost.tail() {
            self.ghost
                .remove(&mut self.links, key, self.size[key as usize]);
            self.queue[key as usize] = In::Nowhere;
        }
    }

    /// The next key to evict, moved out of its queue (into the ghost when it
    /// leaves the small one).
    pub(crate) fn victim(&mut self) -> Option<u32> {
        self.has_evicted = true;
        loop {
            if self.main.bytes > self.main_capacity || self.small.len == 0 {
                return self.evict_main();
            }
            if let Some(key) = self.evict_small() {
                return Some(key);
            }
        }
    }

    /// From the small queue's tail: keys read twice move to main; the first
    /// other key is evicted into the ghost. `None` if small empties first.
    fn evict_small(&mut self) -> Option<u32> {
        while let Some(key) = self.small.tail() {
            let k = key as usize;
            self.small.remove(&mut self.links, key, self.size[k]);
            if self.freq[k] >= MOVE_TO_MAIN {
                self.freq[k] = 0;
                self.main.push_head(&mut self.links, key, self.size[k]);
                self.queue[k] = In::Main;
                continue;
            }
            self.remember(key);
            return Some(key);
        }
        None
    }

    /// From the main queue's tail: keys with a frequency go back to the head
    /// with min(f, 3) − 1; the first without one is evicted.
    fn evict_main(&mut self) -> Option<u32> {
        while let Some(key) = self.main.tail() {
            let k = key as usize;
            self.main.remove(&mut self.links, key, self.size[k]);
            if self.freq[k] >= 1 {
                self.freq[k] = self.freq[k].min(MAX_FREQ) - 1;
                self.main.push_head(&mut self.links, key, self.size[k]);
                continue;
            }
            self.queue[k] = In::Nowhere;
            return Some(key);
        }
        None
    }

    /// Puts an evicted small key into the ghost, forgetting the oldest ghosts
    /// until it fits.
    fn remember(&mut self, key: u32) {
        let k = key as usize;
        let bytes = self.size[k];
        if bytes as u64 > self.ghost_capacity {
            self.queue[k] = In::Nowhere;
            return;
        }
        while self.ghost.bytes + bytes as u64 > self.ghost_capacity {
            let old = self
                .ghost
                .tail()
                .expect("a ghost over capacity holds a key");
            self.ghost
                .remove(&mut self.links, old, self.size[old as usize]);
            self.queue[old as usize] = In::Nowhere;
        }
        self.ghost.push_head(&mut self.links, key, bytes);
        self.queue[k] = In::Ghost;
    }
}
