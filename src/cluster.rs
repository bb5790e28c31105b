//! The cache as Redis servers: one node, or a Redis Cluster of shards.
//!
//! Each node is a [`Cache`] (its own memory limit, eviction pool and expiry
//! cycle) behind a network round trip and, with `ops_per_sec`, a
//! single-threaded [`CommandQueue`]. Keys are placed as Redis Cluster places
//! them ([`crate::slots`]): key id k is named `key:{k+1}` (a trace's keys by their
//! own name), its slot is the CRC16 of that name (or of its `{hash tag}`)
//! modulo 16384, and slots go to shards in `redis-cli --cluster create`'s
//! contiguous ranges. A key's lock (`lock:{key:r}`, hash-tagged to its key)
//! lives on the key's shard.
//!
//! **Timing of one command.** It reaches its node `up` after it is sent,
//! where `up` is half the smallest round trip the latency distribution
//! gives (half of a constant latency; 0 for exponential and lognormal); the
//! node executes it when its thread is free; the reply is back a drawn round
//! trip minus `up` after the command ends. The variable part of a round trip
//! is thus on the way back, where real tails come from (the client's event
//! loop, the kernel), and commands reach a node in the order they are sent,
//! so the engine applies each to the node's state when it is sent, with the
//! clock set to its execution time.

pub mod command_queue;

use std::borrow::Cow;
use std::ops::RangeInclusive;

use crate::cache::{Cache, CacheConfig, CacheStats, ClassStats, Lookup, Write};
use crate::db::sample;
use crate::key_class::KeyClasses;
use crate::metrics::hit_ratio;
pub use crate::metrics::shards::{ShardRow, ShardSummary};
use crate::rng::{Component, Stream, stream, stream_of};
use crate::scenario::Distribution;
use crate::slots;
use crate::time::{SimDuration, SimTime};
use command_queue::CommandQueue;

/// One Redis node.
#[derive(Debug)]
struct Node {
    cache: Cache,
    /// Data keys placed on it (its lock keys have local ids from here on).
    keys: u32,
    slots: RangeInclusive<u16>,
    queue: Option<CommandQueue>,
    /// Commands it received (every command but those failing while it is down).
    commands: u64,
    down: bool,
    used_memory_peak: u64,
    /// The most commands waiting at once in the current row and since warmup.
    row_queue_max: u64,
    queue_peak: u64,
}

/// A node's cumulative counters at one instant.
#[derive(Clone, Copy, Debug, Default)]
struct NodeCounters {
    commands: u64,
    busy_ns: u128,
    stats: CacheStats,
}

/// How the nodes are built.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Data key ids are below this (lock ids follow, from `keys`).
    pub keys: u32,
    /// Whether every key has a lock key beside it.
    pub locks: bool,
    /// Shards; 1 = a single node.
    pub shards: u16,
    /// Each key's slot (empty with one shard).
    pub slot_of: Vec<u16>,
    /// Round trip of a command, drawn per command.
    pub latency: Distribution,
    /// Commands per second per node; `None` = unlimited.
    pub ops_per_sec: Option<f64>,
    /// Extra service time per KB of value carried.
    pub service_per_kb: SimDuration,
    /// The configuration of every node's cache (`keys` and `class_of` are
    /// those of the whole key space; each node gets its own share).
    pub cache: CacheConfig,
}

/// When a command sent now is executed, on which node.
#[derive(Clone, Copy, Debug)]
pub struct Command {
    node: u16,
    /// The key's id on its node.
    local: u32,
    /// Execution time at the node (the clock its state change is applied at).
    pub at: SimTime,
}

/// The cache's nodes and where keys live.
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<Node>,
    /// Node and local id of each data key (empty with one node: identity).
    node_of: Vec<u16>,
    local_of: Vec<u32>,
    keys: u32,
    up: SimDuration,
    latency: Distribution,
    latency_rng: Stream,
    used_memory: u64,
    at_warmup: Option<Vec<NodeCounters>>,
    at_row_start: Vec<NodeCounters>,
    rows: Vec<ShardRow>,
    /// Commands cost their node time by the bytes they carry.
    per_kb: bool,
}

impl Cluster {
    /// The nodes of `config`; node i's eviction stream is the run's
    /// eviction stream number i (node 0's is the single node's).
    pub fn new(config: ClusterConfig, seed: u64) -> Self {
        let shards = config.shards.max(1);
        let ranges = slots::slot_ranges(shards);
        let (node_of, local_of, per_node) = if shards == 1 {
            (Vec::new(), Vec::new(), vec![config.keys])
        } else {
            let owner = slots::shard_table(shards);
            let mut per_node = vec![0u32; shards as usize];
            let mut node_of = Vec::with_capacity(config.keys as usize);
            let mut local_of = Vec::with_capacity(config.keys as usize);
            for &slot in &config.slot_of {
                let node = owner[slot as usize];
                node_of.push(node);
                local_of.push(per_node[node as usize]);
                per_node[node as usize] += 1;
            }
            (node_of, local_of, per_node)
        };
        let nodes = (0..shards as usize)
            .map(|n| {
                let keys = per_node[n];
                let class_of = match &config.cache.class_of {
                    KeyClasses::One => KeyClasses::One,
                    KeyClasses::PerKey(all) => {
                        let mut class_of = vec![0u8; keys as usize];
                        if shards == 1 {
                            class_of.copy_from_slice(&all[..keys as usize]);
                        } else {
                            for (k, (&node, &local)) in node_of.iter().zip(&local_of).enumerate() {
                                if node as usize == n {
                                    class_of[local as usize] = all[k];
                                }
                            }
                        }
                        if config.locks {
                            class_of.extend_from_within(..);
                        }
                        KeyClasses::PerKey(class_of)
                    }
                };
                let cache = Cache::new(
                    CacheConfig {
                        keys: if config.locks { 2 * keys } else { keys },
                        class_of,
                        ..config.cache.clone()
                    },
                    stream_of(seed, Component::Eviction, n as u32),
                );
                Node {
                    cache,
                    keys,
                    slots: ranges[n].clone(),
                    queue: config
                        .ops_per_sec
                        .map(|ops| CommandQueue::new(ops, config.service_per_kb)),
                    commands: 0,
                    down: false,
                    used_memory_peak: 0,
                    row_queue_max: 0,
                    queue_peak: 0,
                }
            })
            .collect();
        Cluster {
            nodes,
            node_of,
            local_of,
            keys: config.keys,
            up: SimDuration(config.latency.min().0 / 2),
            latency: config.latency,
            latency_rng: stream(seed, Component::CacheLatency),
            used_memory: 0,
            at_warmup: None,
            at_row_start: vec![NodeCounters::default(); shards as usize],
            rows: Vec::new(),
            per_kb: config.ops_per_sec.is_some() && config.service_per_kb > SimDuration::ZERO,
        }
    }

    /// The round trip of every command when it is constant and no node
    /// queues: replies then come back in the order commands were sent.
    pub fn fixed_round_trip(&self) -> Option<SimDuration> {
        match (self.latency, &self.nodes[0].queue) {
            (Distribution::Constant(d), None) => Some(d),
            _ => None,
        }
    }

    /// The node and local id of key id `id` (a data key, or `keys + k` for k's lock).
    #[inline(always)]
    fn locate(&self, id: u32) -> (usize, u32) {
        if self.node_of.is_empty() {
            return (0, id);
        }
        if id < self.keys {
            (
                self.node_of[id as usize] as usize,
                self.local_of[id as usize],
            )
        } else {
            let k = (id - self.keys) as usize;
            let node = self.node_of[k] as usize;
            (node, self.nodes[node].keys + self.local_of[k])
        }
    }

    /// Starts loading data key `id`'s cache entry (see [`Cache::prefetch`]).
    #[inline(always)]
    pub fn prefetch(&self, id: u32) {
        let (node, local) = self.locate(id);
        self.nodes[node].cache.prefetch(local);
    }

    /// A command for key id `id` sent at `now`: when its node executes it;
    /// `None` when the node is down (the command fails fast).
    #[inline(always)]
    pub fn send(&mut self, id: u32, now: SimTime) -> Option<Command> {
        let (node, local) = self.locate(id);
        let n = &mut self.nodes[node];
        if n.down {
            return None;
        }
        n.commands += 1;
        let arrival = now + self.up;
        let at = match &mut n.queue {
            None => arrival,
            Some(q) => {
                let (start, ahead) = q.arrive(now, arrival);
                let waiting = ahead as u64;
                n.row_queue_max = n.row_queue_max.max(waiting);
                if self.at_warmup.is_some() {
                    n.queue_peak = n.queue_peak.max(waiting);
                }
                start
            }
        };
        Some(Command {
            node: node as u16,
            local,
            at,
        })
    }

    /// A state change of key id `id` at `at` that is not a client's command
    /// (prewarming the cache): no queue, no count.
    pub fn immediate(&self, id: u32, at: SimTime) -> Command {
        let (node, local) = self.locate(id);
        Command {
            node: node as u16,
            local,
            at,
        }
    }

    /// The command ran carrying `value_bytes` (a SET's value, a GET hit's
    /// reply): returns when it ends at its node.
    #[inline(always)]
    pub fn complete(&mut self, cmd: Command, value_bytes: u64) -> SimTime {
        match &mut self.nodes[cmd.node as usize].queue {
            None => cmd.at,
            Some(q) => q.serve(cmd.at, value_bytes),
        }
    }

    /// [`Cluster::complete`], for a command whose sender waits: returns when
    /// its reply is back at the client.
    #[inline(always)]
    pub fn reply_at(&mut self, cmd: Command, value_bytes: u64) -> SimTime {
        let end = self.complete(cmd, value_bytes);
        end + SimDuration(self.round_trip().0 - self.up.0)
    }

    /// When the failure of a command sent at `now` to a down node is back.
    pub fn failure_at(&mut self, now: SimTime) -> SimTime {
        now + self.round_trip()
    }

    /// One round trip, drawn.
    #[inline(always)]
    fn round_trip(&mut self) -> SimDuration {
        match self.latency {
            Distribution::Constant(d) => d,
            ref dist => sample(dist, &mut self.latency_rng).max(self.up),
        }
    }

    /// The memory of `node` before a command, when several nodes keep a total.
    #[inline(always)]
    fn memory_before(&self, node: usize) -> u64 {
        if self.node_of.is_empty() {
            0
        } else {
            self.nodes[node].cache.used_memory()
        }
    }

    /// Keeps the memory total of several nodes after a command on `node`.
    #[inline(always)]
    fn memory_after(&mut self, node: usize, before: u64) {
        if !self.node_of.is_empty() {
            self.used_memory = self.used_memory - before + self.nodes[node].cache.used_memory();
        }
    }

    /// [`Cluster::memory_after`] for a command that may add memory: keeps its node's peak.
    #[inline(always)]
    fn memory_after_write(&mut self, node: usize, before: u64) {
        self.memory_after(node, before);
        let n = &mut self.nodes[node];
        n.used_memory_peak = n.used_memory_peak.max(n.cache.used_memory());
    }

    /// `GET` of the command's key at its execution time.
    #[inline(always)]
    pub fn get(&mut self, cmd: Command) -> Lookup {
        let node = cmd.node as usize;
        let before = self.memory_before(node);
        let lookup = self.nodes[node].cache.get(cmd.local, cmd.at);
        self.memory_after(node, before);
        lookup
    }

    /// `SET` of the command's key at its execution time.
    #[inline(always)]
    pub fn set(&mut self, cmd: Command, bytes: u64, ttl: Option<SimDuration>) -> Write {
        let node = cmd.node as usize;
        let before = self.memory_before(node);
        let write = self.nodes[node].cache.set(cmd.local, cmd.at, bytes, ttl);
        self.memory_after_write(node, before);
        write
    }

    /// `SET NX PX` of the command's key at its execution time.
    pub fn set_if_absent(
        &mut self,
        cmd: Command,
        bytes: u64,
        ttl: Option<SimDuration>,
    ) -> Result<bool, Write> {
        let node = cmd.node as usize;
        let before = self.memory_before(node);
        let stored = self.nodes[node]
            .cache
            .set_if_absent(cmd.local, cmd.at, bytes, ttl);
        self.memory_after_write(node, before);
        stored
    }

    /// `DEL` of the command's key at its execution time.
    pub fn delete(&mut self, cmd: Command) -> bool {
        let node = cmd.node as usize;
        let before = self.memory_before(node);
        let live = self.nodes[node].cache.delete(cmd.local, cmd.at);
        self.memory_after(node, before);
        live
    }

    /// `PEXPIRE` of the command's key at its execution time.
    pub fn expire(&mut self, cmd: Command, ttl: SimDuration) -> bool {
        let node = cmd.node as usize;
        let before = self.memory_before(node);
        let live = self.nodes[node].cache.expire(cmd.local, cmd.at, ttl);
        self.memory_after_write(node, before);
        live
    }

    /// Whether a GET hit's reply costs its node time by its size (a per-KB cost).
    #[inline(always)]
    pub fn charges_bytes(&self) -> bool {
        self.per_kb
    }

    /// Evicts key id `id` now (the `evict` fault).
    pub fn evict(&mut self, id: u32) {
        let (node, local) = self.locate(id);
        let before = self.memory_before(node);
        self.nodes[node].cache.evict(local);
        self.memory_after(node, before);
    }

    /// `FLUSHALL` on one shard, or on every shard.
    pub fn flush(&mut self, shard: Option<u16>) {
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if shard.is_none_or(|s| s as usize == i) {
                n.cache.flush();
            }
        }
        self.recount_memory();
    }

    /// Recomputes the memory total of several nodes (after a cycle or fault on many).
    fn recount_memory(&mut self) {
        self.used_memory = self.nodes.iter().map(|n| n.cache.used_memory()).sum();
    }

    /// Takes one shard, or every shard, down or back up.
    pub fn set_down(&mut self, shard: Option<u16>, down: bool) {
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if shard.is_none_or(|s| s as usize == i) {
                n.down = down;
            }
        }
    }

    /// An active expiry cycle on every node that is up.
    pub fn active_expire_cycle(&mut self, now: SimTime) {
        for n in &mut self.nodes {
            if !n.down {
                n.cache.active_expire_cycle(now);
            }
        }
        self.recount_memory();
    }

    /// Bytes used now, over every node.
    #[inline(always)]
    pub fn used_memory(&self) -> u64 {
        match self.nodes.as_slice() {
            [node] => node.cache.used_memory(),
            _ => self.used_memory,
        }
    }

    /// The INFO counters so far, summed over the nodes.
    pub fn stats(&self) -> CacheStats {
        if let [node] = self.nodes.as_slice() {
            return node.cache.stats();
        }
        let mut total = CacheStats::default();
        for n in &self.nodes {
            let s = n.cache.stats();
            total.keyspace_hits += s.keyspace_hits;
            total.keyspace_misses += s.keyspace_misses;
            total.expired_keys += s.expired_keys;
            total.evicted_keys += s.evicted_keys;
            total.oom_rejections += s.oom_rejections;
        }
        total
    }

    /// Memory and deletions per key class, summed over the nodes.
    pub fn class_stats(&self) -> Cow<'_, [ClassStats]> {
        if let [node] = self.nodes.as_slice() {
            return Cow::Borrowed(node.cache.class_stats());
        }
        let mut total = self.nodes[0].cache.class_stats().to_vec();
        for n in &self.nodes[1..] {
            for (t, s) in total.iter_mut().zip(n.cache.class_stats()) {
                t.used_memory += s.used_memory;
                t.stored_keys += s.stored_keys;
                t.evicted_keys += s.evicted_keys;
                t.expired_keys += s.expired_keys;
            }
        }
        Cow::Owned(total)
    }

    fn counters_at(&self, t: SimTime) -> Vec<NodeCounters> {
        self.nodes
            .iter()
            .map(|n| NodeCounters {
                commands: n.commands,
                busy_ns: n.queue.as_ref().map_or(0, |q| q.busy_ns_at(t)),
                stats: n.cache.stats(),
            })
            .collect()
    }

    /// Takes the baseline of the per-node counters at the end of warmup.
    pub fn mark_warmup(&mut self, at: SimTime) {
        self.at_warmup = Some(self.counters_at(at));
    }

    /// Closes the row `[start, end)`: the busiest node's busy share and the
    /// most commands waiting at once on any node in it; keeps each shard's row.
    pub fn close_row(&mut self, start: SimTime, end: SimTime, drain: bool) -> (f64, u64) {
        let now = self.counters_at(end);
        let width = end.since(start).0.max(1) as f64;
        let mut busiest = 0f64;
        let mut queue_max = 0;
        for (i, (n, (c, prev))) in self
            .nodes
            .iter_mut()
            .zip(now.iter().zip(&self.at_row_start))
            .enumerate()
        {
            let utilization = (c.busy_ns - prev.busy_ns) as f64 / width;
            busiest = busiest.max(utilization);
            queue_max = queue_max.max(n.row_queue_max);
            self.rows.push(ShardRow {
                t_s: start.as_secs_f64(),
                drain,
                shard: i as u16,
                commands: c.commands - prev.commands,
                utilization,
                queue_max: n.row_queue_max,
                used_memory: n.cache.used_memory(),
                evicted_keys: c.stats.evicted_keys - prev.stats.evicted_keys,
                expired_keys: c.stats.expired_keys - prev.stats.expired_keys,
            });
            n.row_queue_max = 0;
        }
        self.at_row_start = now;
        (busiest, queue_max)
    }

    /// The per-shard summaries at `end` and the rows of `shards.csv`.
    pub fn finish(&self, end: SimTime, warmup: SimTime) -> (Vec<ShardSummary>, &[ShardRow]) {
        let now = self.counters_at(end);
        let base = self.at_warmup.clone().unwrap_or_else(|| now.clone());
        let measured = end.since(warmup).0.max(1) as f64;
        let shards = self
            .nodes
            .iter()
            .zip(now.iter().zip(&base))
            .map(|(n, (c, b))| ShardSummary {
                slots: slots::range_text(&n.slots),
                keys: n.cache.stored_keys(),
                commands: c.commands - b.commands,
                utilization: (c.busy_ns - b.busy_ns) as f64 / measured,
                queue_peak: n.queue_peak,
                used_memory_peak: n.used_memory_peak,
                evicted_keys: c.stats.evicted_keys - b.stats.evicted_keys,
                expired_keys: c.stats.expired_keys - b.stats.expired_keys,
                hit_ratio: hit_ratio(
                    c.stats.keyspace_hits - b.stats.keyspace_hits,
                    c.stats.keyspace_misses - b.stats.keyspace_misses,
                ),
            })
            .collect();
        (shards, &self.rows)
    }
}
