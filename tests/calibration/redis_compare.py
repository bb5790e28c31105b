#!/usr/bin/env python3
"""Compare stampede's memory model with a real Redis on the same workload.

Starts its own redis-server on 127.0.0.1 (never another address), then:
1. measures used_memory per key for small string values, with and without TTL;
2. runs cache-aside hit-ratio rows against the real Redis: Zipf(1.0) over
   100,000 keys, 100-byte values, no TTL, pipelined batches of GETs followed
   by SETs of the distinct keys that missed; maxmemory holds 5 / 10 / 25 % of
   the keys; policies allkeys-lru, allkeys-lfu, allkeys-random, and
   allkeys-lru with 10 samples;
3. runs the simulator on scenarios/redis-calibration.toml for each row, with
   the capacity (in keys) the real Redis actually held, and with exact LRU;
4. prints both tables in markdown and writes them as JSON (--out).

Needs: redis-server on PATH, Python 3.11 with `redis` and `numpy`, and a
release build of stampede (cargo build --release). See README.md here.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np
import redis

HOST = "127.0.0.1"
KEYS = 100_000
VALUE = b"v" * 100
SIM_BYTES_PER_KEY = 186  # key_overhead 86 + 100-byte value: the simulator's default
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAMPEDE = os.path.join(REPO, "target", "release", "stampede")
SCENARIO = os.path.join(REPO, "scenarios", "redis-calibration.toml")


class Server:
    """A private redis-server on loopback, restarted for each row so counters start clean."""

    def __init__(self, port, workdir):
        self.port, self.workdir = port, workdir

    def start(self):
        subprocess.run(["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "",
                        "--appendonly", "no", "--daemonize", "yes", "--dir", self.workdir,
                        "--logfile", os.path.join(self.workdir, "redis.log")], check=True)
        client = redis.Redis(host=HOST, port=self.port)
        for _ in range(200):
            try:
                client.ping()
                return client
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        try:
            redis.Redis(host=HOST, port=self.port).shutdown(nosave=True)
        except redis.ConnectionError:
            pass
        time.sleep(0.3)


def settle(client):
    """Lets incremental rehashing finish and client buffers shrink before reading used_memory."""
    time.sleep(1.5)
    for _ in range(3):
        client.ping()


def per_key_memory(client):
    """used_memory per key for 100k keys, by value size, without and with a TTL."""
    rows = []
    for ttl in (False, True):
        for size in (16, 64, 100, 256, 1000):
            client.flushall()
            settle(client)
            before = client.info("memory")["used_memory"]
            pipe = client.pipeline(transaction=False)
            value = b"x" * size
            for i in range(KEYS):
                pipe.set(f"k:{i}", value, px=3_600_000 if ttl else None)
                if i % 1000 == 999:
                    pipe.execute()
            pipe.execute()
            settle(client)
            per_key = (client.info("memory")["used_memory"] - before) / KEYS
            rows.append(dict(value_bytes=size, ttl=ttl, bytes_per_key=per_key, overhead=per_key - size))
    client.flushall()
    return rows


def zipf_ranks(n_requests, seed):
    p = 1.0 / np.arange(1, KEYS + 1, dtype=np.float64)
    return np.random.default_rng(seed).choice(KEYS, size=n_requests, p=p / p.sum())


def redis_row(server, policy, samples, fraction, seq, args):
    """One hit-ratio row on the real Redis: returns hit ratio, capacity held and request rate."""
    server.stop()
    client = server.start()
    client.flushall()
    settle(client)
    baseline = client.info("memory")["used_memory"]
    client.config_set("maxmemory-policy", policy)
    client.config_set("maxmemory-samples", samples)
    client.config_set("maxmemory", int(baseline + fraction * KEYS * args.per_key_bytes))
    names = [b"k:%d" % i for i in range(KEYS)]
    hits, dbsizes, started = 0, [], None
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(seq), args.batch):
        if start == args.warmup:
            started = time.time()
        batch = [names[i] for i in seq[start:start + args.batch]]
        for k in batch:
            pipe.get(k)
        missed = [k for k, v in zip(batch, pipe.execute()) if v is None]
        if start >= args.warmup:
            hits += len(batch) - len(missed)
            if (start // args.batch) % 10 == 9:
                dbsizes.append(client.dbsize())
        for k in dict.fromkeys(missed):
            pipe.set(k, VALUE)
        pipe.execute()
    seconds = time.time() - started
    measured = len(seq) - args.warmup
    return dict(real_hit_ratio=hits / measured, capacity_keys=float(np.mean(dbsizes)),
                real_rate_per_s=measured / seconds)


def simulate(policy, samples, capacity_keys, rate, warmup, measure):
    """The simulator's hit ratio for the same workload, capacity and request counts."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [STAMPEDE, "run", SCENARIO, "--out", out,
               "--set", f"cache.maxmemory={int(round(capacity_keys)) * SIM_BYTES_PER_KEY}",
               "--set", f"cache.policy={policy}", "--set", f"cache.samples={samples}",
               "--set", f"clients.rate={rate:.0f}",
               "--set", f"warmup={warmup / rate * 1000:.0f}ms",
               "--set", f"duration={(warmup + measure) / rate * 1000:.0f}ms"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "summary.json")) as f:
            return json.load(f)["hit_ratio"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=6390)
    ap.add_argument("--quick", action="store_true", help="100k warm-up / 200k measured requests, one size")
    ap.add_argument("--out", default="/tmp/redis_compare.json")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    args.warmup, measure = (100_000, 200_000) if args.quick else (1_000_000, 2_000_000)
    fractions = [0.10] if args.quick else [0.05, 0.10, 0.25]
    configs = [("allkeys-lru", 5), ("allkeys-lfu", 5), ("allkeys-random", 5), ("allkeys-lru", 10)]
    if not os.path.exists(STAMPEDE):
        sys.exit(f"{STAMPEDE} not found: run `cargo build --release` first")

    workdir = tempfile.mkdtemp(prefix="redis-compare-")
    server = Server(args.port, workdir)
    try:
        client = server.start()
        version = client.info("server")["redis_version"]
        memory = per_key_memory(client)
        args.per_key_bytes = next(r["bytes_per_key"] for r in memory if r["value_bytes"] == 100 and not r["ttl"])
        seq = zipf_ranks(args.warmup + measure, args.seed)
        rows = []
        for fraction in fractions:
            for policy, samples in configs:
                row = dict(policy=policy, samples=samples, fraction=fraction)
                row.update(redis_row(server, policy, samples, fraction, seq, args))
                # The scenario runs at 75k req/s; follow the real rate if it differs by over 20 %.
                real = row["real_rate_per_s"]
                rate = real if abs(real / 75_000 - 1) > 0.2 else 75_000
                row["sim_rate_per_s"] = rate
                sim = (row["capacity_keys"], rate, args.warmup, measure)
                row["sim_hit_ratio"] = simulate(policy, samples, *sim)
                row["sim_exact_lru"] = simulate("lru", 5, *sim)
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        server.stop()

    print(f"\nRedis {version}: used_memory per key, 100,000 keys\n")
    print("| value bytes | TTL | bytes/key | overhead |\n|---:|---|---:|---:|")
    for r in memory:
        print(f"| {r['value_bytes']} | {'yes' if r['ttl'] else 'no'} | {r['bytes_per_key']:.1f} | {r['overhead']:.1f} |")
    print("\n| policy | samples | maxmemory | capacity (keys) | real Redis | simulator | difference | exact LRU (sim) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        diff = (r["sim_hit_ratio"] - r["real_hit_ratio"]) * 100
        print(f"| {r['policy']} | {r['samples'] if r['policy'] != 'allkeys-random' else '–'} | {r['fraction']:.0%} "
              f"| {r['capacity_keys']:.0f} | {r['real_hit_ratio']:.4f} | {r['sim_hit_ratio']:.4f} | {diff:+.2f} pp "
              f"| {r['sim_exact_lru']:.4f} |")
    with open(args.out, "w") as f:
        json.dump(dict(redis_version=version, memory=memory, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
