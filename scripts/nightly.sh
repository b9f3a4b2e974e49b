#!/usr/bin/env bash
# The nightly performance-regression job. Runs every scenario with the nightly
# settings (9 repetitions, each in a fresh process that runs every scenario in
# turn, so drift spreads evenly; the machine calibrated first),
# compares with this machine class's baseline, writes every format into a
# dated folder, prints the Markdown summary and exits with the gate's code:
#   0 no regression, 1 a regression or a failed threshold, 2 bad input,
#   3 a runtime failure, 4 inconclusive with --fail-on-inconclusive, 130 interrupted.
#
#   ./scripts/nightly.sh                      # baseline: baselines/<machine class>.json
#   AIWAY_BASELINE=baselines/x.json ./scripts/nightly.sh
#   ./scripts/nightly.sh --fail-on-inconclusive
# Each model scenario's stages are also counted (run --count-instructions:
# instructions per token under valgrind, which a busy runner cannot move).
# Then it judges the run against the history of this machine's earlier nights
# (history check: the last 14 runs), stores it (history add) and prints the
# change points over the whole history (history changes, with the git revision
# of the first run of each change).
# Environment: AIWAY_BASELINE (file), AIWAY_MACHINE_CLASS (default
# <arch>-<cpus>cpu, e.g. x86_64-2cpu), AIWAY_NIGHTLY_REPETITIONS (default 9),
# AIWAY_NIGHTLY_PROCESSES (default: one per repetition),
# AIWAY_NIGHTLY_SCENARIOS (names, space-separated; default: every shipped
# scenario), AIWAY_NIGHTLY_SET (SECTION.KEY=VALUE assignments, space-separated,
# each given to the run as --set: to plant a known change), AIWAY_NIGHTLY_BIN (an aiway-stress already built: no set-up, no
# build), AIWAY_NIGHTLY_DIR (default results/nightly), AIWAY_HISTORY_DB
# (default results/history.sqlite). Extra arguments go to compare.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${AIWAY_NIGHTLY_BIN:-}" ]; then
  bin="$AIWAY_NIGHTLY_BIN"
else
  "$root/scripts/setup.sh" valgrind || exit 2
  "$root/scripts/build.sh" release aiway-stress || exit 3
  bin="$root/build/release/aiway-stress"
fi
class="${AIWAY_MACHINE_CLASS:-$(uname -m)-$(nproc)cpu}"
baseline="${AIWAY_BASELINE:-$root/baselines/$class.json}"
reps="${AIWAY_NIGHTLY_REPETITIONS:-9}"
processes="${AIWAY_NIGHTLY_PROCESSES:-$reps}"
selection=(--all)
if [ -n "${AIWAY_NIGHTLY_SCENARIOS:-}" ]; then
  selection=()
  for s in $AIWAY_NIGHTLY_SCENARIOS; do selection+=(-s "$s"); done
fi
for assignment in ${AIWAY_NIGHTLY_SET:-}; do selection+=(--set "$assignment"); done
dir="${AIWAY_NIGHTLY_DIR:-$root/results/nightly}/$(date -u +%Y-%m-%dT%H%M%SZ)"
db="${AIWAY_HISTORY_DB:-$root/results/history.sqlite}"
mkdir -p "$dir" || exit 2
counting=(--count-instructions)
if ! command -v valgrind >/dev/null; then
  counting=()
  echo "nightly: no valgrind on PATH: no instructions are counted, and on a busy runner only timing can decide" >&2
fi

"$bin" --scenarios-dir "$root/scenarios" run "${selection[@]}" --calibrate -r "$reps" --processes "$processes" -q "${counting[@]}" \
  --out "$dir/results.json" --out-markdown "$dir/summary.md" --out-junit "$dir/junit.xml" \
  --out-gbench "$dir/gbench.json" > "$dir/run.txt"
run_code=$?
case $run_code in 0|1) ;; *) cat "$dir/run.txt"; echo "nightly: run exited $run_code; results in $dir" >&2; exit $run_code ;; esac

gate_code=0
if [ -f "$baseline" ]; then
  "$bin" compare "$baseline" "$dir/results.json" --format markdown "$@" > "$dir/comparison.md"
  gate_code=$?
  "$bin" compare "$baseline" "$dir/results.json" --format json "$@" > "$dir/comparison.json" 2>/dev/null
else
  printf '## aiway-stress comparison\n\nNo baseline for machine class `%s` (%s): nothing compared. Make one with\n`aiway-stress baseline update --from %s --out %s` after a quiet nightly run.\n' \
    "$class" "$baseline" "$dir/results.json" "$baseline" > "$dir/comparison.md"
fi

history_code=0
if [ -f "$db" ]; then
  "$bin" history check "$dir/results.json" --db "$db" > "$dir/history-check.txt"
  history_code=$?
  [ "$history_code" -le 1 ] || history_code=0  # an inconclusive or unreadable history never fails the night
else
  echo "history: no earlier runs ($db does not exist): nothing judged; keep the database between nights" \
    > "$dir/history-check.txt"
fi
"$bin" history add "$dir/results.json" --db "$db" || echo "nightly: the run was not added to $db" >&2
"$bin" history changes --db "$db" > "$dir/changes.txt"
{ echo; echo '## History'; echo; echo '```'; cat "$dir/history-check.txt" 2>/dev/null; cat "$dir/changes.txt"; echo '```'; } >> "$dir/comparison.md"

cat "$dir/summary.md" "$dir/comparison.md"
[ -n "${GITHUB_STEP_SUMMARY:-}" ] && cat "$dir/summary.md" "$dir/comparison.md" >> "$GITHUB_STEP_SUMMARY"
echo "nightly: results in $dir" >&2
[ "$gate_code" -ne 0 ] && exit "$gate_code"
[ "$history_code" -ne 0 ] && exit "$history_code"
exit "$run_code"
