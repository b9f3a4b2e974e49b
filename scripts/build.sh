#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release) into build/<preset>/.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
# Everything the build prints goes to standard error: standard output belongs
# to the command that runs after it (run.sh … --format json > results.json).
if [ ! -f "build/$preset/CMakeCache.txt" ]; then
  cmake --preset "$preset" >/dev/null
fi
cmake --build --preset "$preset" -j "$(nproc)" | { grep -vE '^\[[0-9]+/[0-9]+\] ' || true; } >&2
