#!/usr/bin/env bash
# The whole test suite, in one build tree compiled with AddressSanitizer and
# UBSan: unit tests, then the integration tests against SQLite and against a
# throwaway PostgreSQL cluster. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${PARLEY_TEST_JOBS:-4}
build=${PARLEY_TEST_BUILD_DIR:-$root/build-test}
"$root/scripts/install-deps.sh"

pg_dir=$(mktemp -d /tmp/parley-pg-XXXXXX)
cleanup() { "$root/tests/support/pg_cluster.sh" stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
trap cleanup EXIT
PARLEY_TEST_PG_URI=$("$root/tests/support/pg_cluster.sh" start "$pg_dir" "${PARLEY_TEST_PG_PORT:-55432}")
export PARLEY_TEST_PG_URI
export PARLEY_REQUIRE_PG=1

echo "== build (AddressSanitizer + UBSan)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=ON \
  -DPARLEY_TEST_POSTGRESQL=ON >/dev/null
cmake --build "$build"
echo "== tests: unit, integration on SQLite and on PostgreSQL"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$root/tests/support/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 600
echo "== fuzzing: each harness for ${PARLEY_FUZZ_SECONDS:-45} s"
"$root/scripts/fuzz.sh" "${PARLEY_FUZZ_SECONDS:-45}"
