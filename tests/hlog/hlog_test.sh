#!/usr/bin/env bash
# --out-hlog, read back by hdr-histogram-js (an independent HdrHistogram
# implementation): every repetition's interval is there, tagged with its
# scenario, and its count and percentiles equal what the results JSON says.
# Usage: hlog_test.sh AIWAY_STRESS SCENARIOS_DIR   (NODE_PATH: where hdr-histogram-js is)
# Exit 77 (skipped) when node or hdr-histogram-js is missing.
set -euo pipefail
cli=$1
scenarios=$2
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null || ! node -e 'require("hdr-histogram-js")' 2>/dev/null; then
  echo "hlog test: skipped: node or hdr-histogram-js is missing (scripts/test.sh installs them with npm)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The format is under test, not the machine: a threshold that fails on a busy
# machine or under a sanitizer (exit 1) still writes every file.
run() {
  local code=0
  "$cli" --scenarios-dir "$scenarios" run -s stall -s jittery-network --warmup 0 --quiet "$@" >/dev/null || code=$?
  if [ "$code" -gt 1 ]; then echo "hlog test: run $* exited $code" >&2; exit 1; fi
}
run -r 2 --out "$work/r.json" --out-hlog "$work/r.hlog"
node "$here/read_hlog.js" "$work/r.hlog" > "$work/decoded.json"
/usr/bin/python3 - "$work/r.json" "$work/decoded.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
decoded = json.load(open(sys.argv[2]))
expected = [(s["name"], r["metrics"]) for s in results["scenarios"] for r in s["repetitions"]]
assert len(decoded) == len(expected) == 4, (len(decoded), len(expected))
for (name, m), h in zip(expected, decoded):
    assert h["tag"] == name, (h["tag"], name)
    assert h["total"] == m["tokens_delivered"], (name, h["total"], m["tokens_delivered"])
    for p, metric in (("p50", "latency_p50_us"), ("p90", "latency_p90_us"), ("p99", "latency_p99_us"), ("p999", "latency_p999_us")):
        ours = round(m[metric] * 1000)
        assert h[p] == ours, (name, p, h[p], ours)
    # HdrHistogram reports the highest value equivalent to the maximum; ours is exact.
    ours_max = m["latency_max_us"] * 1000
    assert ours_max <= h["max"] <= ours_max * 1.001 + 1, (name, h["max"], ours_max)
print("hlog test: %d intervals decoded by hdr-histogram-js, counts and percentiles equal" % len(decoded))
PY

# merge: percentiles of the merged runs come from their summed histograms,
# which hdr-histogram-js sums independently from the two runs' logs.
run -r 1 --out "$work/r2.json" --out-hlog "$work/r2.hlog"
"$cli" merge "$work/r.json" "$work/r2.json" --out "$work/merged.json" >/dev/null
node "$here/read_hlog.js" --sum "$work/r.hlog" "$work/r2.hlog" > "$work/summed.json"
/usr/bin/python3 - "$work/merged.json" "$work/summed.json" <<'PY'
import json, sys
merged = {s["name"]: s["merged"] for s in json.load(open(sys.argv[1]))["scenarios"]}
summed = {h["tag"]: h for h in json.load(open(sys.argv[2]))}
assert set(merged) == set(summed) == {"stall", "jittery-network"}, (set(merged), set(summed))
for name, m in merged.items():
    h = summed[name]
    assert m["runs"] == 2 and m["repetitions"] == 3, m
    assert m["latencies"] == h["total"], (name, m["latencies"], h["total"])
    for p, key in (("p50", "latency_p50_us"), ("p90", "latency_p90_us"), ("p99", "latency_p99_us"), ("p999", "latency_p999_us")):
        assert round(m[key] * 1000) == h[p], (name, p, m[key], h[p])
print("hlog test: merge's percentiles equal hdr-histogram-js's over the summed histograms")
PY
