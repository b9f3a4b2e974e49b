#!/usr/bin/env bash
# Installs the Debian packages aiway-stress needs, if any is missing. Idempotent
# and quiet when everything is there. Needs root (or sudo) only to install.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config git
  libbenchmark-dev libconcurrentqueue-dev libfmt-dev libcli11-dev libmimalloc-dev
  libtomlplusplus-dev nlohmann-json3-dev libxxhash-dev libgtest-dev libsqlite3-dev zlib1g-dev
  libboost-dev
)
packages+=("$@")  # callers may ask for more (test.sh: none yet)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
