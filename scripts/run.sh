#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs parleyd on localhost
# with SQLite and a generated self-signed certificate (conf/parley.toml).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" --target parleyd parleyctl
exec "$root/build/parleyd" --config "$root/conf/parley.toml"
