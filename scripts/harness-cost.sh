#!/usr/bin/env bash
# What the load generator costs beside what it measures (docs/targets.md,
# "The harness's own cost"): ROUNDS rounds, each running every case once, in
# turn, so a slow minute of a shared machine falls on all of them; then the
# medians. Cases: 64 paced streams straight and through nginx (harness and
# nginx CPU per token), 1,024 paced streams, 64 streams flat out straight and
# through nginx (tokens/s), and the kernel's floor for a paced token
# (BM_PacedLoopbackFloor). Needs nginx and build/release/aiway-bench.
#   ./scripts/harness-cost.sh [ROUNDS]     # default 5
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-5}"
out="$(mktemp -d "${TMPDIR:-/tmp}/aiway-harness-cost.XXXXXX")"
trap 'rm -rf "$out"' EXIT
[ -x "$root/build/release/aiway-stress" ] && [ -x "$root/build/release/aiway-bench" ] || "$root/scripts/build.sh" release
cp "$root/build/release/aiway-stress" "$root/build/release/aiway-bench" "$out/"
run() {  # NAME ARGS...: one run; a threshold missed (exit 1) is still a measurement
  local name="$1"; shift
  "$out/aiway-stress" --scenarios-dir "$root/scenarios" run -r 1 -q "$@" -o "$out/$name-$i.json" >/dev/null 2>&1 || [ $? -eq 1 ]
}
flat=(--set backend.streams=64 --set backend.messages=100000 --set backend.rate_tps=0 --set target.ramp_up_ms=0)
for i in $(seq 1 "$rounds"); do
  run paced-direct -s sse-direct
  run paced-nginx -s sse-nginx
  run paced-1024 -s sse-direct --set backend.streams=1024 --set backend.messages=100 --set backend.rate_tps=10 --set target.ramp_up_ms=1000
  run flat-direct -s sse-direct "${flat[@]}"
  run flat-nginx -s sse-nginx "${flat[@]}"
  "$out/aiway-bench" --benchmark_filter=PacedLoopbackFloor --benchmark_format=json > "$out/floor-$i.json" 2>/dev/null
  echo "round $i of $rounds done" >&2
done
python3 - "$out" "$rounds" <<'P'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def metrics(name, i):
    return json.load(open(f"{out}/{name}-{i}.json"))["scenarios"][0]["repetitions"][0]["metrics"]
def med(values):
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"
per_token = lambda m, key: m[key] / m["tokens_delivered"] * 1e6
for name in ("paced-direct", "paced-nginx", "paced-1024"):
    ms = [metrics(name, i) for i in range(1, rounds + 1)]
    line = f"{name:13} harness CPU per token {med([per_token(m, 'cpu_seconds') for m in ms])} us"
    if "target_cpu_s" in ms[0]:
        line += f"   nginx {med([per_token(m, 'target_cpu_s') for m in ms])} us"
    line += f"   token p99 {med([m['latency_p99_us'] for m in ms])} us   failed streams {max(m['streams_failed'] for m in ms):.0f}"
    print(line)
for name in ("flat-direct", "flat-nginx"):
    ms = [metrics(name, i) for i in range(1, rounds + 1)]
    print(f"{name:13} tokens/s {med([m['throughput_tps'] / 1e6 for m in ms])} M")
floor = [json.load(open(f"{out}/floor-{i}.json"))["benchmarks"][0]["cpu_us_per_token"] for i in range(1, rounds + 1)]
print(f"{'floor':13} CPU per paced token, two wake-ups, one write, one read: {med(floor)} us")
print(f"medians (min-max) of {rounds} rounds")
P
