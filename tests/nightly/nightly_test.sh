#!/usr/bin/env bash
# The nightly job as a CI runner runs it: scripts/nightly.sh with its real
# settings (worker processes, calibration, the checked-in baseline of this
# machine class, the history), reduced to fit the suite: one scenario of
# every target kind (the model, a conductor process, HTTP direct and, where
# nginx is installed, through nginx), 2 repetitions in 2 processes, four
# nights into one history, each counting the model scenario's instructions.
# Each night must run whole: exit 0 or 1 (the gate's verdict on this
# machine's figures; a busy machine may move them), never 2 or 3, with every
# file written, the baseline used, and each night after the first judged
# against the earlier ones. The fourth plants 2 instructions a token in the
# conductor (+1.5 % of 1m-short's conductor work): it must exit 1, its history
# check naming the scenario, stage and metric, and history changes the night.
#   tests/nightly/nightly_test.sh BUILD/aiway-stress SOURCE_DIR
set -uo pipefail
bin="$1"
root="$2"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
scenarios="1m-short aiway-burst sse-direct"
command -v nginx >/dev/null && scenarios+=" sse-nginx"
fail() { echo "nightly test: $*"; exit 1; }
planted=conductor.extra_work_instructions=2
for night in 1 2 3 4; do
  [ "$night" -gt 1 ] && sleep 1  # the nights' folders are named by the second
  plant=""
  [ "$night" -eq 4 ] && plant="$planted"
  AIWAY_NIGHTLY_BIN="$bin" AIWAY_NIGHTLY_SCENARIOS="$scenarios" AIWAY_NIGHTLY_REPETITIONS=2 AIWAY_NIGHTLY_PROCESSES=2 \
    AIWAY_NIGHTLY_SET="$plant" \
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
    grep -q "is only in the new results: the base has no entry" "$latest/comparison.md" && { cat "$latest/comparison.md"; fail "night $night: the baseline lacks a scenario"; }
  done
  counted="$(grep -c '"instructions_per_token_conductor"' "$latest/results.json")"
  [ "$counted" -ge 2 ] || fail "night $night counted no instructions (valgrind missing?)"
  check="$latest/history-check.txt"
  if [ "$night" -eq 1 ]; then
    grep -q "no earlier runs" "$check" || fail "night 1 did not say it had no history"
  elif [ "$night" -lt 4 ]; then
    [ -s "$check" ] || fail "night $night was not judged against the history"
    grep -q "Too short a history to judge: $((night - 1)) earlier run" "$check" \
      || { cat "$check"; fail "night $night did not say its history is too short"; }
  else
    # Counts decide whatever the machine's load: exit 1, naming scenario, stage and metric.
    [ "$code" -eq 1 ] || { cat "$dir/night$night.txt"; fail "night 4 planted +1.5 % conductor instructions and exited $code"; }
    grep -E "1m-short +instructions_per_token_conductor .*regressed" "$check" \
      || { cat "$check"; fail "night 4's history check did not name 1m-short's conductor instructions"; }
    if grep -E "instructions_per_token_(backend|surface) .*regressed" "$check"; then fail "night 4 blamed another stage"; fi
    grep -E "1m-short instructions_per_token_conductor: change at run [0-9]+ .*a step in counted work" "$latest/changes.txt" \
      || { cat "$latest/changes.txt"; fail "history changes did not name night 4"; }
  fi
  if [ "$night" -lt 4 ] && grep -E "instructions_per_token_[a-z]+ .*regressed" "$check"; then
    fail "night $night: counts of an unchanged build called a regression"
  fi
  echo "night $night: exit $code ($(grep -c . "$latest/comparison.md") lines of comparison)"
done
echo "nightly test: 4 nights ran whole; the fourth's planted instructions were caught"
