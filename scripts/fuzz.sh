#!/usr/bin/env bash
# Fuzzes the scenario loader (with --set) and the results loader (compare's
# input) with libFuzzer under ASan + UBSan (clang 14), SECONDS each.
#   ./scripts/fuzz.sh            # 60 s each
#   ./scripts/fuzz.sh 600        # longer
# Corpora start from the shipped scenarios and tests/fuzz/results-corpus/; new
# inputs are kept under build/fuzz/. A crash leaves crash-* in build/fuzz/ and
# exits non-zero.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-60}"
"$root/scripts/setup.sh" clang libclang-rt-14-dev
"$root/scripts/build.sh" fuzz
mkdir -p build/fuzz/scenario-corpus build/fuzz/results-corpus
cp scenarios/*.toml build/fuzz/scenario-corpus/
cp tests/fuzz/results-corpus/* build/fuzz/results-corpus/
cd build/fuzz
for target in scenario results; do
  echo "fuzz: aiway-$target-fuzzer, $seconds s"
  "./aiway-$target-fuzzer" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -timeout=5 \
    -print_final_stats=1 "$target-corpus" 2>&1 | grep -E '^Done|stat::number_of_executed_units|ERROR|SUMMARY|crash'
done
