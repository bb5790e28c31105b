//! Intrusive FIFO queues over key ids, the building block of the queue-based
//! policies (FIFO, CLOCK, SIEVE, S3-FIFO, W-TinyLFU's segments).
//!
//! One [`Links`] arena holds a `prev`/`next` pair per key id; a key sits in at
//! most one [`Queue`] of an arena at a time, so several queues share one
//! arena. Every operation is O(1) and allocates nothing.

/// No key: the end of a queue.
pub(crate) const NONE: u32 = u32::MAX;

/// The `prev`/`next` links of every key id, shared by the queues of one policy.
///
/// Memory: two `u32` per key id, allocated once.
#[derive(Clone, Debug)]
pub(crate) struct Links {
    prev: Vec<u32>,
    next: Vec<u32>,
}

impl Links {
    /// Links for key ids below `keys`. O(keys).
    pub(crate) fn new(keys: usize) -> Self {
        Links {
            prev: vec![NONE; keys],
            next: vec![NONE; keys],
        }
    }

    /// The key before `key`, toward the head (newer), or [`NONE`].
    pub(crate) fn newer(&self, key: u32) -> u32 {
        self.prev[key as usize]
    }
}

/// A queue of keys, newest at the head, oldest at the tail, with the bytes
/// and the number of keys it holds.
#[derive(Clone, Debug)]
pub(crate) struct Queue {
    head: u32,
    tail: u32,
    /// Bytes of the keys in the queue.
    pub(crate) bytes: u64,
    /// Keys in the queue.
    pub(crate) len: u64,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            head: NONE,
            tail: NONE,
            bytes: 0,
            len: 0,
        }
    }
}

impl Queue {
    /// The newest key, if any.
    pub(crate) fn head(&self) -> Option<u32> {
        (self.head != NONE).then_some(self.head)
    }

    /// The oldest key, if any.
    pub(crate) fn tail(&self) -> Option<u32> {
        (self.tail != NONE).then_some(self.tail)
    }

    /// Puts `key` (in no queue) at the head, charging `bytes`.
    pub(crate) fn push_head(&mut self, links: &mut Links, key: u32, bytes: u32) {
        let k = key as usize;
        links.prev[k] = NONE;
        links.next[k] = self.head;
        if self.head != NONE {
            links.prev[self.head as usize] = key;
        } else {
            self.tail = key;
        }
        self.head = key;
        self.bytes += bytes as u64;
        self.len += 1;
    }

    /// Puts `key` (in no queue) at the tail, as the oldest, charging `bytes`.
    pub(crate) fn push_tail(&mut self, links: &mut Links, key: u32, bytes: u32) {
        let k = key as usize;
        links.next[k] = NONE;
        links.prev[k] = self.tail;
        if self.tail != NONE {
            links.next[self.tail as usize] = key;
        } else {
            self.head = key;
        }
        self.tail = key;
        self.bytes += bytes as u64;
        self.len += 1;
    }

    /// Takes `key` (in this queue) out, refunding `bytes`.
    pub(crate) fn remove(&mut self, links: &mut Links, key: u32, bytes: u32) {
        let k = key as usize;
        let (p, n) = (links.prev[k], links.next[k]);
        if p != NONE {
            links.next[p as usize] = n;
        } else {
            self.head = n;
        }
        if n != NONE {
            links.prev[n as usize] = p;
        } else {
            self.tail = p;
        }
        links.prev[k] = NONE;
        links.next[k] = NONE;
        self.bytes -= bytes as u64;
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_leave_in_arrival_order_and_from_the_middle() {
        let mut links = Links::new(4);
        let (mut a, mut b) = (Queue::default(), Queue::default());
        for k in 0..3 {
            a.push_head(&mut links, k, 10);
        }
        b.push_head(&mut links, 3, 5);
        assert_eq!(
            (a.head(), a.tail(), a.bytes, a.len),
            (Some(2), Some(0), 30, 3)
        );
        a.remove(&mut links, 1, 10);
        assert_eq!(links.newer(0), 2);
        a.remove(&mut links, 0, 10);
        assert_eq!((a.tail(), a.bytes), (Some(2), 10));
        a.remove(&mut links, 2, 10);
        assert_eq!((a.head(), a.tail(), a.len), (None, None, 0));
        assert_eq!(b.tail(), Some(3));
    }

    #[test]
    fn a_key_pushed_at_the_tail_leaves_first() {
        let mut links = Links::new(3);
        let mut q = Queue::default();
        q.push_head(&mut links, 0, 1);
        q.push_tail(&mut links, 1, 2);
        q.push_head(&mut links, 2, 3);
        assert_eq!(
            (q.head(), q.tail(), q.bytes, q.len),
            (Some(2), Some(1), 6, 3)
        );
        assert_eq!(links.newer(1), 0);
        q.remove(&mut links, 1, 2);
        assert_eq!(q.tail(), Some(0));
    }
}
