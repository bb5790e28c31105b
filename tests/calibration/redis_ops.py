#!/usr/bin/env python3
"""Measures a real Redis's time per command, for `cache.ops_per_sec` and
`cache.service_per_kb` (README, "Calibration against Redis").

Starts its own redis-server on 127.0.0.1 (no persistence), runs
redis-benchmark for GET and SET at several value sizes, and reads the
server process's CPU time from /proc before and after each run: CPU time per
command is the server's cost of a command, whether or not the benchmark
client (which shares the machine) was the bottleneck. Prints a table of
medians of --reps runs and the least-squares fit a + b·KB over 3 B to 16 KB.

    python3 tests/calibration/redis_ops.py                 # pipelined (-P 32), one key
    python3 tests/calibration/redis_ops.py --keys 100000   # over 100,000 random keys
    python3 tests/calibration/redis_ops.py --pipeline 1    # one command per round trip

Needs Debian's redis-server and redis-tools (redis-benchmark, redis-cli).
"""
import argparse
import csv
import io
import os
import statistics
import subprocess
import time

SIZES = {3: 2_000_000, 100: 2_000_000, 1024: 1_000_000, 4096: 500_000, 16384: 200_000}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", default="6390")
    ap.add_argument("--pipeline", type=int, default=32)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--keys", type=int, default=0, help="random key space (0: one key)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the request counts")
    args = ap.parse_args()

    def cli(*a):
        return subprocess.run(["redis-cli", "-p", args.port, *a], capture_output=True,
                              text=True, check=True).stdout

    subprocess.run(["redis-server", "--port", args.port, "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--daemonize", "yes"], check=True)
    try:
        for _ in range(50):
            try:
                cli("ping")
                break
            except subprocess.CalledProcessError:
                time.sleep(0.1)
        pid = int(next(l for l in cli("info", "server").splitlines()
                       if l.startswith("process_id:")).split(":")[1])
        tick = os.sysconf("SC_CLK_TCK")

        def server_cpu_s():
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

        def us_per_command(command, size, requests):
            cmd = ["redis-benchmark", "-p", args.port, "-P", str(args.pipeline), "-c",
                   str(args.clients), "-n", str(requests), "-d", str(size), "-t", command, "--csv"]
            if args.keys:
                cmd += ["-r", str(args.keys)]
            before = server_cpu_s()
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            cpu = server_cpu_s() - before
            rps = float(list(csv.reader(io.StringIO(out)))[1][1])
            return cpu * 1e6 / requests, rps

        print(f"redis-benchmark -P {args.pipeline} -c {args.clients}"
              + (f" -r {args.keys}" if args.keys else " (one key)")
              + f", median of {args.reps}: server CPU µs per command (throughput)")
        # SET before GET at each size, so that the GETs read values of that size.
        points = {"set": [], "get": []}
        for size, requests in SIZES.items():
            requests = max(1000, int(requests * args.scale))
            for command in ("set", "get"):
                runs = [us_per_command(command, size, requests) for _ in range(args.reps)]
                us = statistics.median(r[0] for r in runs)
                rps = statistics.median(r[1] for r in runs)
                points[command].append((size / 1024, us))
                print(f"  {command.upper():3} {size:>6} B  {us:7.3f} µs  ({rps:,.0f} commands/s)")
        for command in ("get", "set"):
            kb = [p[0] for p in points[command]]
            us = [p[1] for p in points[command]]
            mean_kb, mean_us = statistics.fmean(kb), statistics.fmean(us)
            b = (sum((x - mean_kb) * (y - mean_us) for x, y in zip(kb, us))
                 / sum((x - mean_kb) ** 2 for x in kb))
            a = mean_us - b * mean_kb
            print(f"  {command.upper()} fit: {a:.2f} µs + {b:.3f} µs/KB "
                  f"(ops_per_sec ≈ {1e6 / a:,.0f}, service_per_kb ≈ \"{b:.2f}us\")")
    finally:
        subprocess.run(["redis-cli", "-p", args.port, "shutdown", "nosave"],
                       capture_output=True)


if __name__ == "__main__":
    main()
