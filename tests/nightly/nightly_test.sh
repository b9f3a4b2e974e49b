#!/usr/bin/env bash
# The nightly job as a CI runner runs it: scripts/nightly.sh with its real
# settings (worker processes, calibration, the checked-in baseline of this
# machine class, the history), reduced to fit the suite: one scenario of
# every target kind (the model, a conductor process, HTTP direct and, where
# nginx is installed, through nginx), 2 repetitions in 2 processes, two
# nights into one history. Each night must run whole: exit 0 or 1 (the gate's
# verdict on this machine's figures; a busy machine may move them), never
# 2 or 3, with every file written, the baseline used, and the second night
# judged against the first.
#   tests/nightly/nightly_test.sh BUILD/aiway-stress SOURCE_DIR
set -uo pipefail
bin="$1"
root="$2"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
scenarios="1m-short aiway-burst sse-direct"
command -v nginx >/dev/null && scenarios+=" sse-nginx"
fail() { echo "nightly test: $*"; exit 1; }
for night in 1 2; do
  [ "$night" -gt 1 ] && sleep 1  # the nights' folders are named by the second
  AIWAY_NIGHTLY_BIN="$bin" AIWAY_NIGHTLY_SCENARIOS="$scenarios" AIWAY_NIGHTLY_REPETITIONS=2 AIWAY_NIGHTLY_PROCESSES=2 \
    AIWAY_MACHINE_CLASS=x86_64-2cpu AIWAY_NIGHTLY_DIR="$dir/nights" AIWAY_HISTORY_DB="$dir/history.sqlite" \
    bash "$root/scripts/nightly.sh" > "$dir/night$night.txt" 2>&1
  code=$?
  case $code in
    0 | 1) ;;
    *) cat "$dir/night$night.txt"; fail "night $night exited $code" ;;
  esac
  latest="$(ls -d "$dir"/nights/*/ | tail -1)"
  for f in results.json summary.md junit.xml gbench.json comparison.md comparison.json changes.txt; do
    [ -s "$latest/$f" ] || { cat "$dir/night$night.txt"; fail "night $night wrote no $f"; }
  done
  grep -q "No baseline" "$latest/comparison.md" && fail "night $night found no baseline"
  for s in $scenarios; do
    grep -q "$s" "$latest/comparison.md" || { cat "$latest/comparison.md"; fail "night $night: $s not compared"; }
    grep -q "only in the new results" "$latest/comparison.md" && { cat "$latest/comparison.md"; fail "night $night: the baseline lacks a scenario"; }
  done
  if [ "$night" -gt 1 ]; then
    [ -s "$latest/history-check.txt" ] || fail "night $night was not judged against the history"
    grep -q "Too short a history to judge: 1 earlier run" "$latest/history-check.txt" \
      || { cat "$latest/history-check.txt"; fail "night $night did not say its history is too short"; }
  else
    grep -q "no earlier runs" "$latest/history-check.txt" || fail "night 1 did not say it had no history"
  fi
  echo "night $night: exit $code ($(grep -c . "$latest/comparison.md") lines of comparison)"
done
echo "nightly test: 2 nights ran whole"
