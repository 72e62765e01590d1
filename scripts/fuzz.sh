#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang and runs each for a
# bounded time (default 45 s) on a copy of its checked-in seed corpus. A crash
# or a broken invariant fails the script; the reproducer is left in the work
# directory and should become a regression seed (tests/fuzz/corpus/<target>/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-45}
build=${PARLEY_FUZZ_BUILD_DIR:-$root/build-fuzz}
work=$(mktemp -d /tmp/parley-fuzz-XXXXXX)

CXX=${PARLEY_FUZZ_CXX:-clang++-14} cmake -S "$root/tests/fuzz" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"

status=0
for target in stream_parser jid scram config; do
  mkdir -p "$work/$target"
  echo "== fuzz $target (${seconds} s)"
  if ! (cd "$work" && "$build/fuzz_$target" -max_total_time="$seconds" -max_len=8192 \
          -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
          "$work/$target" "$root/tests/fuzz/corpus/$target" >"$work/$target.log" 2>&1); then
    echo "fuzz_$target failed; reproducer and log in $work:"
    tail -40 "$work/$target.log"
    status=1
  else
    grep -E "^Done|#[0-9]+.*DONE" "$work/$target.log" | tail -1 || true
  fi
done
if ((status == 0)); then rm -rf "$work"; fi
exit $status
