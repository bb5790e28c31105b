//! The table of requests in progress: a slab with a free list.
//!
//! Slots are reused, so the hot loop allocates nothing once the table has
//! grown to the peak number of requests in flight. A [`ReqRef`] carries the
//! slot's generation: an event for a slot that has since been reused (a
//! timeout firing after the request was answered) is recognised as stale.

use crate::time::SimTime;

/// A handle to a request slot at a given generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReqRef {
    idx: u32,
    generation: u32,
}

/// Where an attempt is in its cache-aside path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A GET is on its way; the cache found the key.
    GetHit,
    /// A GET is on its way; the cache did not find the key.
    GetMiss,
    /// Waiting for a database connection.
    DbQueued,
    /// The database query is running.
    DbRunning,
    /// The SET of the computed value is on its way.
    Set,
    /// Waiting out the retry backoff.
    RetryWait,
}

/// One attempt of a client request (a retry is a new attempt in a new slot).
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// When the client first sent the request (latency is measured from here).
    pub arrived_at: SimTime,
    /// The key asked for.
    pub key: u32,
    /// Closed-loop user who sent it; `u32::MAX` in open loop.
    pub user: u32,
    /// 0 for the first attempt, 1 for the first retry, ...
    pub attempt: u32,
    /// Where the attempt is.
    pub phase: Phase,
    /// Counted in the summary (arrived after warmup).
    pub counted: bool,
    /// The first cache read has not been classified as hit or miss yet.
    pub first_read_pending: bool,
    /// The client still waits for this attempt (false after its timeout or answer).
    pub client_waiting: bool,
}

/// No closed-loop user: an open-loop request.
pub const NO_USER: u32 = u32::MAX;

/// The slab of live request slots.
#[derive(Debug, Default)]
pub struct Requests {
    slots: Vec<(u32, Request)>,
    free: Vec<u32>,
    live: usize,
}

impl Requests {
    /// Stores `request` in a free slot and returns its handle.
    #[inline]
    pub fn insert(&mut self, request: Request) -> ReqRef {
        self.live += 1;
        match self.free.pop() {
            Some(idx) => {
                let slot = &mut self.slots[idx as usize];
                slot.1 = request;
                ReqRef {
                    idx,
                    generation: slot.0,
                }
            }
            None => {
                self.slots.push((0, request));
                ReqRef {
                    idx: (self.slots.len() - 1) as u32,
                    generation: 0,
                }
            }
        }
    }

    /// The request behind a live handle.
    #[inline]
    pub fn get(&self, r: ReqRef) -> &Request {
        debug_assert!(self.is_live(r), "stale request handle");
        &self.slots[r.idx as usize].1
    }

    /// The request behind a live handle, mutably.
    #[inline]
    pub fn get_mut(&mut self, r: ReqRef) -> &mut Request {
        debug_assert!(self.is_live(r), "stale request handle");
        &mut self.slots[r.idx as usize].1
    }

    /// Whether `r` still names the request it was created for.
    #[inline]
    pub fn is_live(&self, r: ReqRef) -> bool {
        self.slots[r.idx as usize].0 == r.generation
    }

    /// Frees the slot; later events holding `r` become stale.
    #[inline]
    pub fn remove(&mut self, r: ReqRef) {
        debug_assert!(self.is_live(r));
        let slot = &mut self.slots[r.idx as usize];
        slot.0 = slot.0.wrapping_add(1);
        self.free.push(r.idx);
        self.live -= 1;
    }

    /// Slots in use.
    pub fn live(&self) -> usize {
        self.live
    }
}
