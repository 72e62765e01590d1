#!/usr/bin/env bash
# The whole test suite: unit and integration tests against SQLite and a
# throwaway PostgreSQL cluster, then unit and integration tests again under
# AddressSanitizer and UBSan. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${PARLEY_TEST_JOBS:-4}
"$root/scripts/install-deps.sh"

pg_dir=$(mktemp -d /tmp/parley-pg-XXXXXX)
cleanup() { "$root/tests/support/pg_cluster.sh" stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
trap cleanup EXIT
export PARLEY_TEST_PG_URI=$("$root/tests/support/pg_cluster.sh" start "$pg_dir")
export PARLEY_REQUIRE_PG=1

echo "== build (RelWithDebInfo)"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_TEST_POSTGRESQL=ON >/dev/null
cmake --build "$root/build"
echo "== tests: SQLite and PostgreSQL"
ctest --test-dir "$root/build" -j "$jobs" --output-on-failure --timeout 300

echo "== build (AddressSanitizer + UBSan)"
cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=ON -DPARLEY_TEST_POSTGRESQL=OFF >/dev/null
cmake --build "$root/build-asan"
echo "== tests under sanitizers (SQLite)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build-asan" -j "$jobs" --output-on-failure --timeout 600
