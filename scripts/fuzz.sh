#!/usr/bin/env bash
# Fuzzes the scenario loader with libFuzzer under ASan + UBSan (clang 14).
#   ./scripts/fuzz.sh            # 60 s
#   ./scripts/fuzz.sh 600        # longer
# The corpus starts from the shipped scenarios; new inputs that found new
# coverage are kept in build/fuzz/corpus/. A crash leaves crash-* in build/fuzz/
# and exits non-zero.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-60}"
"$root/scripts/setup.sh" clang libclang-rt-14-dev
"$root/scripts/build.sh" fuzz
mkdir -p build/fuzz/corpus
cp scenarios/*.toml build/fuzz/corpus/
cd build/fuzz
./aiway-scenario-fuzzer -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -timeout=5 \
  -print_final_stats=1 corpus 2>&1 | tail -n 25
