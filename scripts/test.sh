#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# (ctest) in the release build first (the release tier, which reports on its
# own), then a short libFuzzer run of both loaders (scripts/fuzz.sh runs
# longer ones), then every test again under ThreadSanitizer and under
# AddressSanitizer + UBSan with the integration scenarios scaled down.
# Every step runs even when an earlier one failed; the last lines give one
# result per step, and the exit status is non-zero when any step failed.
#   AIWAY_QUICK=1 ./scripts/test.sh   # the release tier only (a developer's loop)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/setup.sh" clang libclang-rt-14-dev libbenchmark-tools python3-scipy python3-statsmodels chromium \
  python3-pil fonts-dejavu-core prometheus prometheus-pushgateway curl nginx valgrind \
  python3-kubernetes python3-yaml yamllint || { echo "test: setup failed" >&2; exit 2; }
# hdr-histogram-js decodes --out-hlog in the tests: an independent HdrHistogram.
# npm from Debian unless the machine has one (a NodeSource node brings its own).
command -v npm >/dev/null || "$root/scripts/setup.sh" nodejs npm ||
  echo "test: could not install npm: the hlog test will be skipped" >&2
if command -v npm >/dev/null && [ ! -d build/npm/node_modules/hdr-histogram-js ]; then
  npm install --silent --no-audit --no-fund --prefix build/npm hdr-histogram-js@3.0.1 >&2 ||
    echo "test: npm could not install hdr-histogram-js: the hlog test will be skipped" >&2
fi

summary=()
failed=0
step() {  # step NAME COMMAND...: runs it, records "NAME: passed|FAILED (exit N)"
  local name="$1"
  shift
  local start=$SECONDS
  "$@"
  local code=$?
  if [ "$code" -eq 0 ]; then
    summary+=("$name: passed ($((SECONDS - start)) s)")
  else
    summary+=("$name: FAILED (exit $code, $((SECONDS - start)) s)")
    failed=$((failed + 1))
  fi
}

quick=0
[ "${AIWAY_QUICK:-0}" = "1" ] || [ "${AIWAY_SKIP_SANITIZERS:-0}" = "1" ] && quick=1

# What a test run may leave behind and must not: aiway-stress's temporary
# folders, and processes of this checkout's builds or of a proxy they started.
leftovers() {
  ls -d "${TMPDIR:-/tmp}"/aiway-stress-* 2>/dev/null
  pgrep -af "$root/build/[a-z]+/aiway-|nginx.*aiway-stress-" 2>/dev/null | grep -v pgrep
}
# A step for the end of each test step: FAILED when something new is left.
check_leftovers() {  # check_leftovers NAME BEFORE
  local left
  left="$(comm -13 <(echo "$2" | sort) <(leftovers | sort) | grep . || true)"
  if [ -n "$left" ]; then
    echo "$left" | sed 's/^/  left behind: /' >&2
    summary+=("$1 leftovers: FAILED ($(echo "$left" | wc -l) folders or processes left behind)")
    failed=$((failed + 1))
  else
    summary+=("$1 leftovers: none")
  fi
}

presets=(release)
[ "$quick" = 1 ] || presets+=(fuzz tsan asan)

for preset in "${presets[@]}"; do
  if [ "$preset" = fuzz ]; then
    echo "== fuzz: scenario and results loaders, 15 s each" >&2
    step "fuzz" "$root/scripts/fuzz.sh" 15
    continue
  fi
  echo "== $preset: build" >&2
  if "$root/scripts/build.sh" "$preset"; then
    echo "== $preset: test" >&2
    before="$(leftovers)"
    step "$preset" ctest --preset "$preset" -j "$(nproc)"
    sleep 1  # a conductor ending on its parent's death takes a moment
    check_leftovers "$preset" "$before"
    if [ "$preset" = release ]; then  # the release tier reports before the longer sanitizer tiers begin
      echo "== release tier:" >&2
      printf '  %s\n' "${summary[@]}" >&2
    fi
  else
    summary+=("$preset: FAILED (build)")
    failed=$((failed + 1))
  fi
done

echo "== summary" >&2
for line in "${summary[@]}"; do echo "test: $line"; done
if [ "$failed" -gt 0 ]; then
  echo "test: $failed of ${#summary[@]} steps FAILED"
  exit 1
fi
echo "test: all ${#summary[@]} steps passed"
