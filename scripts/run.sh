#!/usr/bin/env bash
# The main job: installs what is missing, builds the release preset's
# aiway-stress program (not the tests), runs
# build/release/aiway-stress with every argument passed through, e.g.
#   ./scripts/run.sh --scenario 1m-short
#   ./scripts/run.sh --all --out results.json
# A first argument that is a subcommand (list, show, validate, run …) is used
# as is; anything else is taken as arguments of `run`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" release aiway-stress  # the program only: the tests are test.sh's
cd "$root"
case "${1:-}" in
  run|list|metrics|stages|show|validate|compare|compare-machines|calibrate|report|baseline|ab|merge|history|conductor|--help|-h|--version) exec "$root/build/release/aiway-stress" "$@" ;;
  *) exec "$root/build/release/aiway-stress" run "$@" ;;
esac
