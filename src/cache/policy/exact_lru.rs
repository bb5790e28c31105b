//! Exact LRU (`lru`): a reference policy, not a Redis one.
//!
//! It evicts the truly least recently used key, where Redis samples. It
//! answers "how much does Redis's sampling cost?" and is the policy Che's
//! approximation describes. It keeps its own per-key state (an intrusive
//! doubly linked list over key ids) and draws no random numbers.

const NONE: u32 = u32::MAX;

/// Exact LRU: an intrusive doubly linked list over key ids, O(1) per operation.
///
/// Memory: two `u32` per key id, allocated once.
#[derive(Clone, Debug)]
pub(crate) struct ExactLru {
    prev: Vec<u32>,
    next: Vec<u32>,
    /// Most recently used.
    head: u32,
    /// Least recently used: the next victim.
    tail: u32,
}

impl ExactLru {
    /// An empty list for key ids below `keys`. O(keys).
    pub(crate) fn new(keys: usize) -> Self {
        ExactLru {
            prev: vec![NONE; keys],
            next: vec![NONE; keys],
            head: NONE,
            tail: NONE,
        }
    }

    /// A key was stored: it becomes the most recently used. O(1).
    pub(crate) fn on_insert(&mut self, key: u32) {
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

    /// A key left the cache: unlinks it. O(1).
    pub(crate) fn on_remove(&mut self, key: u32) {
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

    /// A stored key was read or overwritten: it moves to the front. O(1).
    pub(crate) fn on_access(&mut self, key: u32) {
        if self.head != key {
            self.on_remove(key);
            self.on_insert(key);
        }
    }

    /// The least recently used key, or `None` when the cache is empty. O(1).
    pub(crate) fn victim(&self) -> Option<u32> {
        (self.tail != NONE).then_some(self.tail)
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
