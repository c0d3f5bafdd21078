#!/usr/bin/env bash
# Clean-build wall times on this machine, each in a fresh build folder with the flags the
# scripts use (warnings as errors):
#   executable   configure + build of the rackqual executable, as scripts/smoke.sh builds it
#                (the cuda backend left out where no GPU is present)
#   whole tree   configure + build of everything, as scripts/build.sh builds it (the cuda
#                backend where nvcc is, the Python module, the tests and the benchmarks)
# Run it on a quiet machine after scripts/setup.sh; it prints one line per build with the
# seconds, and exits 1 past the targets (3 and 6 minutes).
#   bench/build_times.sh [WORK_DIR]       default: a temporary folder, removed after
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
[ -n "${1:-}" ] || trap 'rm -rf "$work"' EXIT
cuda=OFF
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  cuda=AUTO
fi

# Seconds for a clean configure and build of TARGET (all: everything) with CMAKE_ARGS.
timed_build() {
  local name=$1 target=$2 dir=$work/$1
  shift 2
  rm -rf "$dir"
  local start end
  start=$(date +%s.%N)
  cmake -S "$root" -B "$dir" -G Ninja -DRACKQUAL_WERROR=ON "$@" >"$work/$name.log" 2>&1
  ninja -C "$dir" "$target" >>"$work/$name.log" 2>&1
  end=$(date +%s.%N)
  echo "$start $end"
}

status=0
report() {
  local label=$1 limit=$2 start=$3 end=$4
  local seconds
  seconds=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", b - a}')
  printf '%-12s %5d s  (%d:%02d)  target %d s  %s\n' "$label" "$seconds" $((seconds / 60)) $((seconds % 60)) \
    "$limit" "$([ "$seconds" -le "$limit" ] && echo ok || echo OVER)"
  [ "$seconds" -le "$limit" ] || status=1
}

read -r s e < <(timed_build executable rackqual -DRACKQUAL_CUDA=$cuda)
report executable 180 "$s" "$e"
read -r s e < <(timed_build whole-tree all -DRACKQUAL_CUDA=AUTO -DRACKQUAL_TESTS=ON)
report "whole tree" 360 "$s" "$e"
echo "$(nproc) cores; cuda backend in the executable: $cuda; logs in $work"
exit $status
