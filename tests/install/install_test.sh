#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds the out-of-tree example
# (examples/passthrough_conductor) against it twice -- with find_package and
# with pkg-config -- and runs the example's conductor through the harness from
# a folder without scenarios (the installed package's are found).
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
[ -n "${AIWAY_INSTALL_TEST_KEEP:-}" ] && set -x
build=$1
source=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >/dev/null
# As the README documents it: no build type given, so the example's own default (Release).
cmake -S "$source/examples/passthrough_conductor" -B "$work/example" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/example" >/dev/null
stress=$work/example/my-stress
cd "$work"

"$stress" stages | grep -q "passthrough .*forwards every token" || fail "the example's conductor is not registered"

# Canaries through the foreign conductor: detected equals planted (exit 0).
"$stress" run -s canaries --set conductor.impl=passthrough -r 2 --warmup 0 --quiet --out canaries.json \
  || fail "canaries through passthrough did not pass"

# The floor against ai-way's conductor, one sweep; no planted commands, which a
# conductor that does not strip them would show as text.
"$stress" run -s 1m-short --sweep conductor.impl=aiway,passthrough --set backend.commands=0 -r 2 --warmup 0 \
  --quiet --out sweep.json || fail "the 1m-short sweep over aiway,passthrough did not pass"

# With commands planted, passthrough shows them as text: the content check
# catches every token that carried one (10 commands, 5 split over two tokens).
set +e
"$stress" run -s 1m-short --set conductor.impl=passthrough -r 1 --warmup 0 --quiet --out commands.json
code=$?
set -e
[ "$code" = 1 ] || fail "passthrough with planted commands: expected exit 1, got $code"

python3 - <<'PY' || fail "results do not say what was run"
import json
run = json.load(open("canaries.json"))
assert run["tool"]["unoptimized_stages"] == [], run["tool"]  # the example builds optimised by default
c = run["scenarios"][0]
assert c["config"]["conductor"]["impl"] == "passthrough", c["config"]["conductor"]
for r in c["repetitions"]:
    m = r["metrics"]
    assert m["lost_unaccounted"] == m["planted_drops"] == 100, m
    assert m["dropped_by_stage"] == 0, m
s = json.load(open("sweep.json"))["scenarios"]
assert [x["config"]["conductor"]["impl"] for x in s] == ["aiway", "passthrough"]
for x in s:
    for r in x["repetitions"]:
        assert r["metrics"]["tokens_delivered"] == 1000000 and r["metrics"]["corrupted"] == 0, r["metrics"]
m = json.load(open("commands.json"))["scenarios"][0]["repetitions"][0]["metrics"]
assert m["corrupted"] == 15 and m["commands_executed"] == 0 and m["lost_unaccounted"] == 0, m
PY

# pkg-config gives the same program.
export PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig
# shellcheck disable=SC2046
g++ -O2 -o my-stress-pc "$source/examples/passthrough_conductor/passthrough.cpp" $(pkg-config --cflags --libs aiway-stress) \
  || fail "building the example with pkg-config failed"
./my-stress-pc stages | grep -q "passthrough" || fail "the pkg-config build does not have the passthrough conductor"
# A stage built without optimisation is named, in a warning and in the results.
# shellcheck disable=SC2046
g++ -O0 -o my-stress-debug "$source/examples/passthrough_conductor/passthrough.cpp" $(pkg-config --cflags --libs aiway-stress) \
  || fail "building the example without optimisation failed"
AIWAY_SCENARIOS_DIR=$(pkg-config --variable=scenariosdir aiway-stress) ./my-stress-debug run -s canaries --set conductor.impl=passthrough \
  -r 1 --warmup 0 --quiet --out debug.json 2> debug.err >/dev/null || fail "canaries through the -O0 build did not pass"
grep -q "conductor passthrough was compiled without optimisation" debug.err || fail "no warning for a stage built without optimisation"
python3 -c 'import json,sys; t=json.load(open("debug.json"))["tool"]; sys.exit(t["unoptimized_stages"] != ["conductor passthrough"])' \
  || fail "the results do not name the stage built without optimisation"
# pkg-config users name the scenarios folder: the package says where it is.
AIWAY_SCENARIOS_DIR=$(pkg-config --variable=scenariosdir aiway-stress) ./my-stress-pc run -s canaries --set conductor.impl=passthrough -r 1 --warmup 0 --quiet >/dev/null \
  || fail "canaries through the pkg-config build did not pass"
echo "install test: passed"
