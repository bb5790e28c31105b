//! Benchmarks of the engine's inner pieces (`cargo bench`): what each costs
//! per operation, to see where a run's time goes and to compare changes.
//! Whole-process figures (the README's Speed section) come from
//! `benches/whole_process.sh`, which times `stampede run` from outside.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use stampede::cache::lfu::LfuConfig;
use stampede::cache::policy::EvictionPolicy;
use stampede::cache::{Cache, CacheConfig};
use stampede::cluster::command_queue::CommandQueue;
use stampede::engine::queue::{Deadlines, Lane, Sequence};
use stampede::rng::{Component, stream};
use stampede::time::{SimDuration, SimTime};
use stampede::workload::KeySampler;

/// The reference workload's key space: 100,000 keys.
const KEYS: u32 = 100_000;

fn key_draws(c: &mut Criterion) {
    let sampler = KeySampler::new(KEYS, 1.0);
    let mut rng = stream(1, Component::Keys);
    c.bench_function("zipf key draw (alias table, 100k keys)", |b| {
        b.iter(|| black_box(sampler.sample(&mut rng)))
    });
    // 100 million keys: the hottest 2^20 from the table (about 75 % of the
    // draws at Zipf 1.0), the rest by rejection-inversion.
    let large = KeySampler::new(100_000_000, 1.0);
    c.bench_function(
        "zipf key draw (table + rejection-inversion, 100M keys)",
        |b| b.iter(|| black_box(large.sample(&mut rng))),
    );
    c.bench_function("hash slot of key:12345", |b| {
        b.iter(|| black_box(stampede::slots::slot(black_box(b"key:12345"))))
    });
}

fn cache_commands(c: &mut Criterion) {
    let config = |policy, maxmemory_bytes| CacheConfig {
        keys: KEYS,
        maxmemory_bytes,
        policy,
        samples: 5,
        key_overhead: 86,
        ttl_overhead: 42,
        lfu: LfuConfig {
            log_factor: 10,
            decay_minutes: 1,
        },
        class_of: stampede::key_class::KeyClasses::One,
        classes: 1,
        hz: 10,
    };
    let sampler = KeySampler::new(KEYS, 1.0);
    let lru = EvictionPolicy::from_name("allkeys-lru").expect("a Redis policy");
    for (name, policy, maxmemory) in [
        ("unlimited", EvictionPolicy::NoEviction, 0),
        ("allkeys-lru at 10 %", lru, 2_280_000),
    ] {
        let mut cache = Cache::new(config(policy, maxmemory), stream(1, Component::Eviction));
        let mut rng = stream(1, Component::Keys);
        let mut now = SimTime::ZERO;
        let ttl = Some(SimDuration::from_secs(60));
        c.bench_function(&format!("cache GET, SET on a miss ({name})"), |b| {
            b.iter(|| {
                now += SimDuration(50_000);
                let key = sampler.sample(&mut rng);
                if !matches!(cache.get(key, now), stampede::cache::Lookup::Hit { .. }) {
                    black_box(cache.set(key, now, 100, ttl));
                }
            })
        });
    }
}

fn event_containers(c: &mut Criterion) {
    let mut seq = Sequence::default();
    let mut lane = Lane::new(SimDuration(500_000));
    let mut t = 0u64;
    c.bench_function("fixed-delay lane push + pop", |b| {
        b.iter(|| {
            t += 50_000;
            lane.push(SimTime(t), &mut seq, t);
            black_box(lane.pop())
        })
    });
    let mut timers = Deadlines::new(SimDuration::from_secs(600));
    let mut slot = 0usize;
    c.bench_function("timeout arm + disarm (1,000 slots)", |b| {
        b.iter(|| {
            t += 50_000;
            slot = (slot + 1) % 1000;
            timers.arm(SimTime(t), &mut seq, slot, slot);
            timers.disarm((slot + 500) % 1000);
        })
    });
    let mut queue = CommandQueue::new(100_000.0, SimDuration(300));
    c.bench_function("Redis node queue: arrive + serve at 80 % load", |b| {
        b.iter(|| {
            t += 12_500;
            let (start, ahead) = queue.arrive(SimTime(t), SimTime(t + 100_000));
            black_box(ahead);
            black_box(queue.serve(start, 100))
        })
    });
}

fn whole_run(c: &mut Criterion) {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reference.toml"),
    )
    .expect("the bundled reference scenario");
    let sets = ["duration=12s".to_string(), "warmup=2s".to_string()];
    let (scenario, _) =
        stampede::scenario::from_text(&text, Path::new("reference.toml"), &sets).expect("valid");
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.bench_function(
        "reference workload, 12 s (240,000 requests), no outputs",
        |b| b.iter(|| black_box(stampede::engine::run(&scenario, 1).summary.requests)),
    );
    group.finish();
}

criterion_group!(
    benches,
    key_draws,
    cache_commands,
    event_containers,
    whole_run
);
criterion_main!(benches);
