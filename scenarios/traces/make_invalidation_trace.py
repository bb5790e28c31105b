#!/usr/bin/env python3
"""Writes invalidation.twitter.csv.gz: a synthetic trace in Twitter's
cache-trace format (timestamp, key, key size, value size, client id, op, TTL;
no header) for the bundled scenario trace-invalidation.toml.

Clients read 10,000 keys with Zipf(1.0) popularity at 2,000 requests/s for
60 s (Poisson arrivals, whole-second timestamps as Twitter's traces have).
Every 10 s the application updates the 5 hottest keys and, as cache-aside
code does on a write, deletes them from the cache: each delete of a hot key
under load is a stampede. Reads carry a 1-hour TTL on their refill through
the scenario's cache.ttl; the trace has no writes of values.

Deterministic: Python's Mersenne Twister with seed 20261127.
Run from this folder: python3 make_invalidation_trace.py
"""
import gzip
import math
import random

KEYS, ZIPF, RATE, SECONDS = 10_000, 1.0, 2_000.0, 60
HOT, EVERY = 5, 10
VALUE_BYTES = 400

rng = random.Random(20261127)
weights = [1.0 / (i ** ZIPF) for i in range(1, KEYS + 1)]
cumulative, total = [], 0.0
for w in weights:
    total += w
    cumulative.append(total)


def draw_key():
    """A key by Zipf rank (binary search on the cumulative weights)."""
    x = rng.random() * total
    lo, hi = 0, KEYS - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo + 1


lines = []
t = 0.0
next_update = EVERY
while True:
    t += -math.log(1.0 - rng.random()) / RATE
    while next_update <= t and next_update < SECONDS:
        for rank in range(1, HOT + 1):
            lines.append(f"{next_update},key:{rank},{len(f'key:{rank}')},0,{rank % 8},delete,0")
        next_update += EVERY
    if t >= SECONDS:
        break
    rank = draw_key()
    name = f"key:{rank}"
    lines.append(f"{int(t)},{name},{len(name)},{VALUE_BYTES},{rank % 8},get,0")

# mtime=0: the same bytes on every run.
with open("invalidation.twitter.csv.gz", "wb") as raw:
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(("\n".join(lines) + "\n").encode())
print(f"{len(lines)} records")
