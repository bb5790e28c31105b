//! Exact reference policies: true LRU and true LFU, not sampled.
//!
//! They answer "how much does Redis's sampling cost?" and are the policies
//! the analytic results (Che's approximation) describe.

use std::collections::BTreeSet;

const NONE: u32 = u32::MAX;

/// Exact LRU: an intrusive doubly linked list over key ids, O(1) per operation.
#[derive(Clone, Debug)]
pub struct ExactLru {
    prev: Vec<u32>,
    next: Vec<u32>,
    /// Most recently used.
    head: u32,
    /// Least recently used: the next victim.
    tail: u32,
}

impl ExactLru {
    /// An empty list for key ids below `keys`.
    pub fn new(keys: usize) -> Self {
        ExactLru {
            prev: vec![NONE; keys],
            next: vec![NONE; keys],
            head: NONE,
            tail: NONE,
        }
    }

    /// Adds `key` as the most recently used.
    pub fn insert(&mut self, key: u32) {
        let k = key as usize;
        self.prev[k] = NONE;
        self.next[k] = self.head;
        if self.head != NONE {
            self.prev[self.head as usize] = key;
        } else {
            self.tail = key;
        }
        self.head = key;
    }

    /// Removes `key` from the list.
    pub fn remove(&mut self, key: u32) {
        let k = key as usize;
        let (p, n) = (self.prev[k], self.next[k]);
        if p != NONE {
            self.next[p as usize] = n;
        } else {
            self.head = n;
        }
        if n != NONE {
            self.prev[n as usize] = p;
        } else {
            self.tail = p;
        }
    }

    /// Marks `key` as just used.
    pub fn touch(&mut self, key: u32) {
        if self.head != key {
            self.remove(key);
            self.insert(key);
        }
    }

    /// The least recently used key.
    pub fn victim(&self) -> Option<u32> {
        (self.tail != NONE).then_some(self.tail)
    }
}

/// Exact in-cache LFU: evicts the key with the fewest accesses since it was
/// cached, the least recently used among ties. O(log n) per operation.
#[derive(Clone, Debug)]
pub struct ExactLfu {
    /// (accesses, last access tick, key), smallest first.
    order: BTreeSet<(u64, u64, u32)>,
    accesses: Vec<u64>,
    last_tick: Vec<u64>,
    tick: u64,
}

impl ExactLfu {
    /// An empty order for key ids below `keys`.
    pub fn new(keys: usize) -> Self {
        ExactLfu {
            order: BTreeSet::new(),
            accesses: vec![0; keys],
            last_tick: vec![0; keys],
            tick: 0,
        }
    }

    /// Adds `key` with one access.
    pub fn insert(&mut self, key: u32) {
        self.tick += 1;
        let k = key as usize;
        self.accesses[k] = 1;
        self.last_tick[k] = self.tick;
        self.order.insert((1, self.tick, key));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: u32) {
        let k = key as usize;
        self.order
            .remove(&(self.accesses[k], self.last_tick[k], key));
    }

    /// Counts an access to `key`.
    pub fn touch(&mut self, key: u32) {
        self.remove(key);
        self.tick += 1;
        let k = key as usize;
        self.accesses[k] += 1;
        self.last_tick[k] = self.tick;
        self.order.insert((self.accesses[k], self.tick, key));
    }

    /// The least frequently used key.
    pub fn victim(&self) -> Option<u32> {
        self.order.first().map(|&(_, _, key)| key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_evicts_least_recent() {
        let mut l = ExactLru::new(4);
        for k in 0..4 {
            l.insert(k);
        }
        l.touch(0);
        assert_eq!(l.victim(), Some(1));
        l.remove(1);
        assert_eq!(l.victim(), Some(2));
        l.remove(0);
        l.remove(2);
        l.remove(3);
        assert_eq!(l.victim(), None);
    }

    #[test]
    fn lfu_evicts_least_frequent_then_least_recent() {
        let mut l = ExactLfu::new(3);
        for k in 0..3 {
            l.insert(k);
        }
        l.touch(0);
        l.touch(2);
        assert_eq!(l.victim(), Some(1));
        l.touch(1);
        l.touch(1);
        assert_eq!(l.victim(), Some(0)); // 0 and 2 tie at 2; 0 is older
    }
}
