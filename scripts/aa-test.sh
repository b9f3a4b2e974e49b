#!/usr/bin/env bash
# A/A test of the regression gate: runs the same build twice per try and
# compares; any exit other than 0 is a false alarm. Prints the tally.
#   ./scripts/aa-test.sh [TRIES] [aiway-stress run arguments…]
#   ./scripts/aa-test.sh 20                      # the nightly settings: --all -r 9 --processes 9 (~11 min a try)
#   ./scripts/aa-test.sh 20 -s 1m-short -s 1m-medium -s 1k-long -r 9 --processes 9
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tries="${1:-20}"
shift || true
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--all -r 9 --processes 9)
bin="$root/build/release/aiway-stress"
[ -x "$bin" ] || "$root/scripts/build.sh" release
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
false_alarms=0
for i in $(seq 1 "$tries"); do
  "$bin" --scenarios-dir "$root/scenarios" run "${args[@]}" -q --out "$dir/a.json" >/dev/null || true
  "$bin" --scenarios-dir "$root/scenarios" run "${args[@]}" -q --out "$dir/b.json" >/dev/null || true
  code=0
  "$bin" compare "$dir/a.json" "$dir/b.json" > "$dir/compare.txt" || code=$?
  if [ "$code" -ne 0 ]; then
    false_alarms=$((false_alarms + 1))
    echo "try $i: exit $code" >&2
    grep -E 'regressed' "$dir/compare.txt" >&2 || true
  fi
done
echo "A/A: $((tries - false_alarms)) of $tries tries compared with exit 0 ($false_alarms false alarms)"
