#!/usr/bin/env bash
# run.sh - build the libFuzzer targets with clang and run each one, bounded.
#
# Usage: tests/fuzz/run.sh [--build-dir DIR] [--seconds N] [--runs N] [TARGET...]
#   --build-dir DIR  build tree (default build-fuzz)
#   --seconds N      time budget per target (default $FUZZ_SECONDS, else 60)
#   --runs N         at most N inputs per target (default: no limit)
#   TARGET           config, mapping, page, json (default: all four)
# Each target starts from its seed corpus tests/fuzz/corpus/<target>/ (read
# only) plus DIR/corpus/<target>/ (inputs it found, kept between runs).
# Crashes, leaks and sanitizer errors are written to DIR/artifacts/ and make
# the script exit 1, naming the input. Exit 77 when clang cannot link
# libFuzzer (the test reports a skip).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=build-fuzz
seconds=${FUZZ_SECONDS:-60}
runs=""
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
  esac
done
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config mapping page json)
CLANG=${CLANG:-clang}
CLANGXX=${CLANGXX:-${CLANG/clang/clang++}}

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}\n' >"$probe/p.c"
if ! "$CLANG" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
  echo "run.sh: skip: '$CLANG' cannot build a libFuzzer target (apt-get install clang libclang-rt-14-dev)"
  exit 77
fi

mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER="$CLANG" -DCMAKE_CXX_COMPILER="$CLANGXX" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"${JOBS:-2}" >"$build/build.log" 2>&1 || { cat "$build/build.log"; exit 1; }

mkdir -p "$build/artifacts" "$build/empty"
status=0
for t in "${targets[@]}"; do
  [ -x "$build/fuzz_$t" ] || { echo "run.sh: no target '$t'" >&2; exit 2; }
  mkdir -p "$build/corpus/$t"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144
        -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1)
  [ -n "$runs" ] && args+=(-runs="$runs")
  echo "run.sh: fuzz_$t: ${seconds}s${runs:+ or $runs runs}, seeds $(ls "$here/corpus/$t" | wc -l)"
  # in an empty directory (relative password_file paths), stdin from /dev/null
  if ! (cd "$build/empty" && "$build/fuzz_$t" "${args[@]}" "$build/corpus/$t" "$here/corpus/$t" \
          </dev/null >"$build/fuzz_$t.log" 2>&1); then
    echo "run.sh: fuzz_$t FAILED; input in $build/artifacts/, log $build/fuzz_$t.log:"
    grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==" "$build/fuzz_$t.log" | head -20
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/fuzz_$t.log" | tr '\n' ' '
    echo
  fi
done
exit $status
