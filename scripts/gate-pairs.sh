#!/usr/bin/env bash
# The gate's false alarms and power, counted work beside time (docs/gate.md,
# "Counted work and time, quiet and busy"): PAIRS pairs of nightly-method runs
# of 1m-short, each a fresh base against an A/A run, a planted +2 conductor
# instructions a token and a 10x wall-clock slowdown, judged by compare.
# Run it once quiet and once beside `stress-ng --cpu 2`, then tally:
#   ./scripts/gate-pairs.sh quiet 20 && stress-ng --cpu 2 & ./scripts/gate-pairs.sh busy 20; kill %1
#   python3 scripts/gate-pairs.py results/gate-pairs
# The runs go to results/gate-pairs/LABEL/ (a copy of the binary is used, so a
# rebuild during the hour does not change what is measured).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
label="${1:?usage: gate-pairs.sh LABEL [PAIRS]}"
pairs="${2:-20}"
out="${AIWAY_GATE_PAIRS_DIR:-$root/results/gate-pairs}/$label"
mkdir -p "$out"
[ -x "$root/build/release/aiway-stress" ] || "$root/scripts/build.sh" release aiway-stress
bin="$out/aiway-stress"
cp "$root/build/release/aiway-stress" "$bin"
run() {
  "$bin" --scenarios-dir "$root/scenarios" run -s 1m-short -r 5 --processes 5 --set backend.messages=200000 \
    --count-instructions -q "$@" >/dev/null 2>&1 || true
}
for i in $(seq 1 "$pairs"); do
  run -o "$out/base$i.json"
  run -o "$out/aa$i.json"
  run --set conductor.extra_work_instructions=2 -o "$out/plant$i.json"
  run --set surface.work_us=0.3 -o "$out/slow$i.json"
  echo "pair $i of $pairs done" >&2
done
