#!/usr/bin/env bash
# Whole-process timing of `stampede run` for the README's Speed figures:
# N alternating runs of each command given (default: the reference workload),
# each timed by /usr/bin/time, then the median wall time and peak RSS of each.
#
#   benches/whole_process.sh                       # reference.toml, 5 runs
#   RUNS=7 benches/whole_process.sh "target/release/stampede run scenarios/reference.toml --out /tmp/ref -q" \
#       "target/release/stampede run scenarios/reference.toml --set clients.timeout=600s --out /tmp/ref-t -q"
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
runs="${RUNS:-5}"
if [ "$#" -eq 0 ]; then
  set -- "target/release/stampede run scenarios/reference.toml --out /tmp/stampede-reference -q"
fi
log="$(mktemp -d)"
for i in $(seq 0 "$runs"); do            # run 0 warms up and is not counted
  for c in $(seq 1 "$#"); do
    cmd="${!c}"
    /usr/bin/time -f "%e %M" -o "$log/$c.$i" $cmd >/dev/null 2>&1
  done
done
for c in $(seq 1 "$#"); do
  cmd="${!c}"
  python3 - "$log" "$c" "$runs" "$cmd" <<'PY'
import statistics, sys
log, c, runs, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = [open(f"{log}/{c}.{i}").read().split() for i in range(1, runs + 1)]
wall = [float(r[0]) for r in rows]
rss = [int(r[1]) / 1024 for r in rows]
print(f"{cmd}\n  wall {statistics.median(wall):.2f} s (min {min(wall):.2f}, max {max(wall):.2f}), "
      f"peak RSS {statistics.median(rss):.1f} MiB, median of {runs}")
PY
done
rm -rf "$log"
