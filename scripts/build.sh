#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release) into build/<preset>/;
# with TARGET, only that target (run.sh builds the aiway-stress program alone).
#   ./scripts/build.sh [PRESET [TARGET]]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
target=()
[ -n "${2:-}" ] && target=(--target "$2")
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
# Progress ([n/N] file) goes to standard error as ninja prints it, so a first
# build is never silent.
cmake --build --preset "$preset" -j "$(nproc)" "${target[@]}" >&2
