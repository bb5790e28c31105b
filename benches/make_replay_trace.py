#!/usr/bin/env python3
"""Writes a large synthetic trace for the README's replay-speed figures.

  python3 benches/make_replay_trace.py oracle-general 10000000 /tmp/big.oracleGeneral.bin
  python3 benches/make_replay_trace.py twitter 10000000 /tmp/big.twitter.csv.gz

Reads of 1,000,000 keys with Zipf(1.0) popularity, 20,000 a second (Poisson,
so about 500 s for 10 million records), values of 100 to 4,000 bytes.
oracle-general: libCacheSim's 24-byte binary records (whole-second times);
twitter: Twitter's cache-trace CSV, gzip-compressed when the name ends in .gz.
Deterministic (seed 15).
"""
import bisect
import gzip
import math
import random
import struct
import sys

KEYS, ZIPF, RATE = 1_000_000, 1.0, 20_000.0

fmt, count, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(15)
cumulative, total = [], 0.0
for i in range(1, KEYS + 1):
    total += i ** -ZIPF
    cumulative.append(total)
size_of = [rng.randint(100, 4000) for _ in range(KEYS)]

t = 0.0
if fmt == "oracle-general":
    record = struct.Struct("<IQIq")
    with open(path, "wb") as out:
        chunk = bytearray()
        for n in range(count):
            t += -math.log(1.0 - rng.random()) / RATE
            key = bisect.bisect_left(cumulative, rng.random() * total)
            chunk += record.pack(int(t), key + 1, size_of[key], -1)
            if len(chunk) >= 1 << 20:
                out.write(chunk)
                chunk.clear()
        out.write(chunk)
elif fmt == "twitter":
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt") as out:
        lines = []
        for n in range(count):
            t += -math.log(1.0 - rng.random()) / RATE
            key = bisect.bisect_left(cumulative, rng.random() * total)
            lines.append(f"{int(t)},key:{key + 1},{len(str(key + 1)) + 4},{size_of[key]},{key % 16},get,0\n")
            if len(lines) >= 100_000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))
else:
    sys.exit(f"unknown format {fmt!r}: oracle-general or twitter")
