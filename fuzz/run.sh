#!/bin/bash
# Fuzzes rackqual's input parsers: configures and builds the clang tree (build/fuzz), runs each
# fuzzer for SECONDS (default 60) on a scratch copy of its kept corpus (fuzz/corpus/<parser>),
# and prints per parser the executions, executions per second, corpus size and findings.
# A crashing, hanging or runaway input is kept in build/fuzz/findings/ and the exit is non-zero.
#   fuzz/run.sh [SECONDS]           bounded run; the tree stays as it is
#   fuzz/run.sh --merge [SECONDS]   also folds the new inputs into the kept corpus (minimized)
#   fuzz/run.sh --build             only builds the fuzzers (scripts/build.sh does, so that the
#                                   test's run finds them built and only fuzzes)
# Environment: RACKQUAL_FUZZ_BUILD (default build/fuzz), RACKQUAL_FUZZ_JOBS (build jobs, default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
merge=0
build_only=0
if [[ ${1:-} == --merge ]]; then merge=1; shift; fi
if [[ ${1:-} == --build ]]; then build_only=1; shift; fi
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: fuzz/run.sh [--merge] [SECONDS] | --build" >&2; exit 2; }
build=${RACKQUAL_FUZZ_BUILD:-$root/build/fuzz}
parsers=(suite platform inventory records)

# Quiet when it builds; the compiler's and linker's words when it does not.
mkdir -p "$build"
if ! { cmake -S "$root/fuzz" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ &&
       cmake --build "$build" -j "${RACKQUAL_FUZZ_JOBS:-2}"; } >"$build/build.log" 2>&1; then
  tail -n 40 "$build/build.log" >&2
  echo "fuzz/run.sh: the fuzzers did not build (all of it in $build/build.log)" >&2
  exit 1
fi
[[ $build_only == 1 ]] && exit 0

findings=$build/findings
mkdir -p "$findings"
status=0
printf '%-10s %12s %10s %8s %9s\n' parser executions exec/s corpus findings
for parser in "${parsers[@]}"; do
  scratch=$build/corpus/$parser
  rm -rf "$scratch" && mkdir -p "$scratch"
  cp "$root/fuzz/corpus/$parser/"* "$scratch/"
  dict=()
  [[ -f $root/fuzz/$parser.dict ]] && dict=(-dict="$root/fuzz/$parser.dict")
  log=$build/$parser.log
  # A hang (-timeout, seconds per input) or a runaway (-rss_limit_mb) is a finding like a crash.
  set +e
  "$build/${parser}_fuzzer" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$findings/$parser-" "$scratch" >"$log" 2>&1
  rc=$?
  set -e
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  crashes=$(ls "$findings" | grep -c "^$parser-" || true)
  printf '%-10s %12s %10s %8s %9s\n' "$parser" "${executions:-?}" "${rate:-?}" "$(ls "$scratch" | wc -l)" "$crashes"
  if [[ $rc -ne 0 || $crashes -ne 0 ]]; then
    status=1
    grep -E "^finding:|ERROR:|runtime error|SUMMARY" "$log" | head -5 >&2 || true
    echo "$parser: see $log; the input is in $findings/" >&2
  fi
  if [[ $merge -eq 1 && $rc -eq 0 ]]; then
    # Only what adds coverage to the kept corpus, each input minimized by libFuzzer's merge.
    "$build/${parser}_fuzzer" -merge=1 -max_len=8192 "$root/fuzz/corpus/$parser" "$scratch" >>"$log" 2>&1
  fi
done
exit $status
