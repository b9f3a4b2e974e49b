#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# (ctest) in the release build, then again under ThreadSanitizer and under
# AddressSanitizer + UBSan with the integration scenarios scaled down; first a
# short libFuzzer run of both loaders (scripts/fuzz.sh runs longer ones).
# Every step runs even when an earlier one failed; the last lines give one
# result per step, and the exit status is non-zero when any step failed.
#   AIWAY_SKIP_SANITIZERS=1 ./scripts/test.sh   # release tests only (a quick local loop)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/setup.sh" clang libclang-rt-14-dev libbenchmark-tools python3-scipy python3-statsmodels chromium \
  python3-pil fonts-dejavu-core prometheus prometheus-pushgateway curl nginx || { echo "test: setup failed" >&2; exit 2; }
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

if [ "${AIWAY_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== fuzz: scenario and results loaders, 15 s each" >&2
  step "fuzz" "$root/scripts/fuzz.sh" 15
fi

presets=(release)
[ "${AIWAY_SKIP_SANITIZERS:-0}" = "1" ] || presets+=(tsan asan)

for preset in "${presets[@]}"; do
  echo "== $preset: build" >&2
  if "$root/scripts/build.sh" "$preset"; then
    echo "== $preset: test" >&2
    step "$preset" ctest --preset "$preset" -j "$(nproc)"
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
