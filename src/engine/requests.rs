//! The table of requests in progress: a slab with a free list.
//!
//! Slots are reused, so the hot loop allocates nothing once the table has
//! grown to the peak number of requests in flight. A [`ReqRef`] carries the
//! slot's generation: an event for a slot that has since been reused (a
//! timeout firing after the request was answered) is recognised as stale.

use std::num::NonZeroU32;

use crate::strategy::OnHit;
use crate::time::SimTime;

/// A handle to a request slot at a given generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReqRef {
    /// The slot's index plus one: never zero, so an `Option<ReqRef>` takes 8 bytes.
    idx_plus_one: NonZeroU32,
    generation: u32,
}

impl ReqRef {
    fn new(idx: u32, generation: u32) -> Self {
        ReqRef {
            idx_plus_one: NonZeroU32::new(idx + 1).expect("fewer than 2^32 - 1 slots"),
            generation,
        }
    }

    /// The index of its slot in the table (for per-slot side tables).
    #[inline]
    pub fn slot(self) -> usize {
        self.idx_plus_one.get() as usize - 1
    }
}

/// Where an attempt is in its path; a cache command's phase carries its reply,
/// typed per command, so a reply can only be read by the step that sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A GET is on its way back.
    Get(GetReply),
    /// A `SET lock NX PX` is on its way back.
    LockTry(LockReply),
    /// The SET of the computed value is on its way back.
    Set(SetReply),
    /// Sleeping before reading again (lock loser, lease-less memcache reader).
    Sleep,
    /// Waiting for a database connection.
    DbQueued,
    /// The database query is running.
    DbRunning,
    /// The app is compressing or decompressing the value.
    Cpu,
    /// Waiting for another request of its app instance to load the key (coalesce).
    Follow,
    /// Waiting out the client's retry backoff.
    RetryWait,
}

/// The reply to a GET, as the cache saw the key at server time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetReply {
    /// A value was found; the strategy's decision about it.
    Hit(OnHit),
    /// Nothing usable: no key, an expired one, or a payload that failed to deserialize.
    Missing {
        /// memcache-lease: the miss came with a lease token.
        lease: bool,
        /// memcache-lease: a stale value exists that the reader may take.
        stale: bool,
    },
    /// The cache is down: the command failed.
    Failed,
}

/// The reply to `SET lock NX PX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockReply {
    /// The lock was free: this request owns it now.
    Won,
    /// Another request holds the lock.
    Lost,
    /// Redis refused the write with OOM: memory is full and nothing can be evicted.
    OutOfMemory,
    /// The cache is down: the command failed.
    Failed,
}

/// The reply to the SET of a computed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetReply {
    /// Stored, or refused with OOM (counted by the cache): the value still reaches the client.
    Done,
    /// The cache is down: the command failed.
    Failed,
}

/// One attempt of a client request, or a background refresh (a retry is a new slot).
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// When the client first sent the request (latency is measured from here).
    pub arrived_at: SimTime,
    /// The key asked for.
    pub key: u32,
    /// Closed-loop user who sent it; [`NO_USER`] in open loop and for refreshes.
    pub user: u32,
    /// 0 for the first attempt, 1 for the first retry, ... (retries are at most 100)
    pub attempt: u8,
    /// The application server handling it.
    pub instance: u16,
    /// Where the attempt is (with the reply of the cache command on its way back).
    pub phase: Phase,
    /// Counted in the summary (arrived after warmup).
    pub counted: bool,
    /// The first cache read has not been classified as hit or miss yet.
    pub first_read_pending: bool,
    /// The client still waits for this attempt (false after its timeout or answer).
    pub client_waiting: bool,
    /// A background refresh: no client waits for it.
    pub background: bool,
    /// The lock token it holds (lock strategies); 0 when it holds none.
    ///
    /// A request's holds are this token, the refresh flag of its key (when
    /// `background`) and its coalescing group (when it leads one); the engine
    /// releases all of them in the one function every ending goes through.
    pub lock_token: u32,
    /// When its current wait began, one wait at a time: for another request's
    /// value (lock `max_wait`, from the first lock try), then for a database
    /// connection (the pool wait), then for its query (xfetch's recompute
    /// time δ, kept until its SET). [`SimTime::NEVER`] before any.
    pub since: SimTime,
}

/// No closed-loop user: an open-loop request or a refresh.
pub const NO_USER: u32 = u32::MAX;

/// The slab of live request slots: each slot's request and, beside it, its
/// generation (kept apart so a slot takes no padding for it).
#[derive(Debug, Default)]
pub struct Requests {
    slots: Vec<Request>,
    generations: Vec<u32>,
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
                self.slots[idx as usize] = request;
                ReqRef::new(idx, self.generations[idx as usize])
            }
            None => {
                self.slots.push(request);
                self.generations.push(0);
                ReqRef::new((self.slots.len() - 1) as u32, 0)
            }
        }
    }

    /// The request behind a live handle.
    #[inline]
    pub fn get(&self, r: ReqRef) -> &Request {
        debug_assert!(self.is_live(r), "stale request handle");
        &self.slots[r.slot()]
    }

    /// The request behind a live handle, mutably.
    #[inline]
    pub fn get_mut(&mut self, r: ReqRef) -> &mut Request {
        debug_assert!(self.is_live(r), "stale request handle");
        &mut self.slots[r.slot()]
    }

    /// Whether `r` still names the request it was created for.
    #[inline]
    pub fn is_live(&self, r: ReqRef) -> bool {
        self.generations[r.slot()] == r.generation
    }

    /// Frees the slot; later events holding `r` become stale.
    #[inline]
    pub fn remove(&mut self, r: ReqRef) {
        debug_assert!(self.is_live(r));
        let generation = &mut self.generations[r.slot()];
        *generation = generation.wrapping_add(1);
        self.free.push(r.slot() as u32);
        self.live -= 1;
    }

    /// Slots in use.
    pub fn live(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_in_flight_is_compact() {
        // The README's memory per request in flight: the slot, its
        // generation and its free-list entry.
        assert_eq!(size_of::<Option<ReqRef>>(), 8);
        assert_eq!(size_of::<Request>(), 40);
    }
}
