#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release) into build/<preset>/.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
jobs="$(nproc)"
if [ ! -f "build/$preset/CMakeCache.txt" ]; then
  cmake --preset "$preset" >/dev/null
fi
cmake --build "build/$preset" -j "$jobs" | { grep -vE '^\[[0-9]+/[0-9]+\] ' || true; }
