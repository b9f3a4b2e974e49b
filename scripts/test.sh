#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# (ctest) in the release build, then again under ThreadSanitizer and under
# AddressSanitizer + UBSan with the integration scenarios scaled down; first a
# short libFuzzer run of both loaders (scripts/fuzz.sh runs longer ones).
#   AIWAY_SKIP_SANITIZERS=1 ./scripts/test.sh   # release tests only (a quick local loop)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/setup.sh" clang libclang-rt-14-dev libbenchmark-tools python3-scipy chromium python3-pil fonts-dejavu-core

if [ "${AIWAY_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== fuzz: scenario and results loaders, 15 s each" >&2
  "$root/scripts/fuzz.sh" 15
fi

presets=(release)
[ "${AIWAY_SKIP_SANITIZERS:-0}" = "1" ] || presets+=(tsan asan)

for preset in "${presets[@]}"; do
  echo "== $preset: build" >&2
  "$root/scripts/build.sh" "$preset"
  echo "== $preset: test" >&2
  ctest --preset "$preset" -j "$(nproc)"
done
