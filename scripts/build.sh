#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release) into build/<preset>/.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
# Everything the build prints goes to standard error: standard output belongs
# to the command that runs after it (run.sh … --format json > results.json).
# In CI, a warning in the project's own sources fails the build.
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
if [ ! -f "build/$preset/CMakeCache.txt" ]; then
  cmake --preset "$preset" -DAIWAY_WERROR="$werror" >/dev/null
elif [ "$werror" = ON ]; then
  cmake --preset "$preset" -DAIWAY_WERROR=ON >/dev/null
fi
cmake --build --preset "$preset" -j "$(nproc)" | { grep -vE '^\[[0-9]+/[0-9]+\] ' || true; } >&2
