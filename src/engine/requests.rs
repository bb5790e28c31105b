//! The table of requests in progress: a slab with a free list.
//!
//! Slots are reused, so the hot loop allocates nothing once the table has
//! grown to the peak number of requests in flight. A [`ReqRef`] carries the
//! slot's generation: an event for a slot that has since been reused (a
//! timeout firing after the request was answered) is recognised as stale.
//! Plain hits and parked waiters (see the engine) are in flight without a slot.

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
///
/// 32 bytes with its slot's generation. What only some runs need lives in
/// columns of [`Requests`] beside the slots: the closed-loop user, the lock token.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// When the client first sent the request (latency is measured from here).
    pub arrived_at: SimTime,
    /// When its current wait began, one wait at a time: for another request's
    /// value (lock `max_wait`, from the first lock try), then for a database
    /// connection (the pool wait), then for its query (xfetch's recompute
    /// time δ, kept until its SET). [`SimTime::NEVER`] before any.
    pub since: SimTime,
    /// The key asked for.
    pub key: u32,
    /// The generation of its slot (set by [`Requests::insert`]).
    generation: u32,
    /// The application server handling it.
    pub instance: u16,
    /// 0 for the first attempt, 1 for the first retry, ... (retries are at most 100)
    pub attempt: u8,
    /// [`COUNTED`], [`FIRST_READ_PENDING`], [`CLIENT_WAITING`], [`BACKGROUND`].
    flags: u8,
    /// Where the attempt is (with the reply of the cache command on its way back).
    pub phase: Phase,
}

/// Counted in the summary (arrived after warmup).
const COUNTED: u8 = 1;
/// The first cache read has not been classified as hit or miss yet.
const FIRST_READ_PENDING: u8 = 2;
/// The client still waits for this attempt (cleared after its timeout or answer).
const CLIENT_WAITING: u8 = 4;
/// A background refresh: no client waits for it.
const BACKGROUND: u8 = 8;

impl Request {
    /// A client's request for `key`, arrived now at `instance`: its first
    /// attempt, whose first cache read is still to be classified.
    pub fn client(arrived_at: SimTime, key: u32, instance: u16, counted: bool) -> Self {
        let counted = if counted { COUNTED } else { 0 };
        Request {
            flags: counted | FIRST_READ_PENDING | CLIENT_WAITING,
            ..Request::blank(arrived_at, key, instance)
        }
    }

    /// A background refresh of `key` started now by `instance`: no client
    /// waits for it and it is not counted; it waits from now.
    pub fn refresh(now: SimTime, key: u32, instance: u16) -> Self {
        Request {
            flags: BACKGROUND,
            since: now,
            ..Request::blank(now, key, instance)
        }
    }

    /// The next attempt of this request, after the client gave up on this one.
    pub fn retry(&self) -> Self {
        Request {
            attempt: self.attempt + 1,
            flags: (self.flags | CLIENT_WAITING) & !FIRST_READ_PENDING,
            ..Request::blank(self.arrived_at, self.key, self.instance)
        }
    }

    fn blank(arrived_at: SimTime, key: u32, instance: u16) -> Self {
        Request {
            arrived_at,
            since: SimTime::NEVER,
            key,
            generation: 0,
            instance,
            attempt: 0,
            flags: 0,
            phase: Phase::RetryWait,
        }
    }

    /// Counted in the summary (arrived after warmup).
    #[inline]
    pub fn counted(&self) -> bool {
        self.flags & COUNTED != 0
    }

    /// The first cache read has not been classified as hit or miss yet.
    #[inline]
    pub fn first_read_pending(&self) -> bool {
        self.flags & FIRST_READ_PENDING != 0
    }

    /// The client still waits for this attempt.
    #[inline]
    pub fn client_waiting(&self) -> bool {
        self.flags & CLIENT_WAITING != 0
    }

    /// A background refresh: no client waits for it.
    #[inline]
    pub fn background(&self) -> bool {
        self.flags & BACKGROUND != 0
    }

    /// Its first cache read has been classified.
    #[inline]
    pub fn first_read_done(&mut self) {
        self.flags &= !FIRST_READ_PENDING;
    }

    /// The client no longer waits for this attempt.
    #[inline]
    pub fn client_gone(&mut self) {
        self.flags &= !CLIENT_WAITING;
    }
}

/// A request waiting for a database connection without a slot: what its
/// slot held, less the generation and the phase (it waits, by definition).
///
/// 24 bytes, against a slot's 32 and the queue's 8-byte handle: an
/// overloaded pool queues millions of requests. Only a request nothing else
/// refers to while it waits is parked (see `Engine::can_park`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parked {
    arrived_at: SimTime,
    since: SimTime,
    /// The key plus one: never zero, so a [`Waiter`] needs no tag of its own.
    key_plus_one: NonZeroU32,
    instance: u16,
    attempt: u8,
    flags: u8,
}

impl Request {
    /// This request, to wait for a connection out of its slot.
    pub fn park(&self) -> Parked {
        Parked {
            arrived_at: self.arrived_at,
            since: self.since,
            key_plus_one: NonZeroU32::new(self.key + 1).expect("key ids are below u32::MAX"),
            instance: self.instance,
            attempt: self.attempt,
            flags: self.flags,
        }
    }
}

impl Parked {
    /// The request back, to take a slot again (its phase: waiting for a connection).
    pub fn unpark(self) -> Request {
        Request {
            arrived_at: self.arrived_at,
            since: self.since,
            key: self.key_plus_one.get() - 1,
            generation: 0,
            instance: self.instance,
            attempt: self.attempt,
            flags: self.flags,
            phase: Phase::DbQueued,
        }
    }
}

/// What waits in the database's queue for a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiter {
    /// A request in its slot (something else may refer to it while it waits).
    InSlot(ReqRef),
    /// A request out of any slot.
    Parked(Parked),
}

impl From<ReqRef> for Waiter {
    fn from(r: ReqRef) -> Self {
        Waiter::InSlot(r)
    }
}

/// No closed-loop user: an open-loop request or a refresh.
pub const NO_USER: u32 = u32::MAX;

/// The slab of live request slots, with a free list, and the columns beside
/// them that only some runs keep.
///
/// A request's holds are its lock token, the refresh flag of its key (when
/// it is a background refresh) and its coalescing group (when it leads one);
/// the engine releases all of them in the one function every ending goes through.
#[derive(Debug, Default)]
pub struct Requests {
    slots: Vec<Request>,
    free: Vec<u32>,
    live: usize,
    /// Closed loop: the user who sent each slot's request ([`NO_USER`] for refreshes).
    users: Option<Vec<u32>>,
    /// Lock strategies: the lock token each slot's request holds (0: none).
    lock_tokens: Option<Vec<u32>>,
}

impl Requests {
    /// An empty table; `users` and `lock_tokens` say which columns it keeps.
    pub fn new(users: bool, lock_tokens: bool) -> Self {
        Requests {
            users: users.then(Vec::new),
            lock_tokens: lock_tokens.then(Vec::new),
            ..Requests::default()
        }
    }

    /// Stores `request`, sent by `user`, in a free slot (holding no lock
    /// token) and returns its handle.
    #[inline]
    pub fn insert(&mut self, mut request: Request, user: u32) -> ReqRef {
        self.live += 1;
        let idx = match self.free.pop() {
            Some(idx) => {
                request.generation = self.slots[idx as usize].generation;
                self.slots[idx as usize] = request;
                idx
            }
            None => {
                self.slots.push(request);
                for column in [&mut self.users, &mut self.lock_tokens]
                    .into_iter()
                    .flatten()
                {
                    column.push(0);
                }
                (self.slots.len() - 1) as u32
            }
        };
        match &mut self.users {
            Some(users) => users[idx as usize] = user,
            None => debug_assert_eq!(user, NO_USER, "an open-loop table keeps no users"),
        }
        if let Some(tokens) = &mut self.lock_tokens {
            tokens[idx as usize] = 0;
        }
        ReqRef::new(idx, request.generation)
    }

    /// The request of a live handle.
    #[inline]
    pub fn get(&self, r: ReqRef) -> &Request {
        debug_assert!(self.is_live(r), "stale request handle");
        &self.slots[r.slot()]
    }

    /// The request of a live handle, to change it.
    #[inline]
    pub fn get_mut(&mut self, r: ReqRef) -> &mut Request {
        debug_assert!(self.is_live(r), "stale request handle");
        &mut self.slots[r.slot()]
    }

    /// The closed-loop user who sent `r` ([`NO_USER`] in open loop and for refreshes).
    #[inline]
    pub fn user(&self, r: ReqRef) -> u32 {
        self.users.as_ref().map_or(NO_USER, |users| users[r.slot()])
    }

    /// The lock token `r` holds; 0 when it holds none.
    #[inline]
    pub fn lock_token(&self, r: ReqRef) -> u32 {
        self.lock_tokens
            .as_ref()
            .map_or(0, |tokens| tokens[r.slot()])
    }

    /// `r` now holds lock token `token` (a table built for lock strategies only).
    pub fn set_lock_token(&mut self, r: ReqRef, token: u32) {
        let tokens = self
            .lock_tokens
            .as_mut()
            .expect("only lock strategies take lock tokens");
        tokens[r.slot()] = token;
    }

    /// Whether `r` still names the request it was made for (its slot not reused since).
    #[inline]
    pub fn is_live(&self, r: ReqRef) -> bool {
        self.slots[r.slot()].generation == r.generation
    }

    /// Frees `r`'s slot: its handle, and every copy of it, becomes stale.
    #[inline]
    pub fn remove(&mut self, r: ReqRef) {
        debug_assert!(self.is_live(r));
        let generation = &mut self.slots[r.slot()].generation;
        *generation = generation.wrapping_add(1);
        self.free.push(r.slot() as u32);
        self.live -= 1;
    }

    /// Requests in flight.
    pub fn live(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_in_flight_is_compact() {
        // The README's memory per request in flight: the slot, with its
        // generation, and its free-list entry.
        assert_eq!(size_of::<Option<ReqRef>>(), 8);
        assert_eq!(size_of::<Request>(), 32);
        // A waiter parked in the pool's queue: its whole cost.
        assert_eq!(size_of::<Waiter>(), 24);
    }
}
