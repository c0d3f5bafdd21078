#!/usr/bin/env bash
# Harness-overhead benchmark: set up, build rackqual and the bare yardsticks into build/, then
# compare rackqual's figures with bare MPI and OpenMP loops (bench/overhead.py); exits 1 if
# rackqual reads below 0.95 of a bare loop. Extra arguments go to overhead.py (e.g. --rounds 5).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build}"  # build folder; override to keep clear of another build
bash scripts/setup.sh
cmake -S . -B "$build" -G Ninja -DRACKQUAL_WERROR=ON >/dev/null
ninja -C "$build" rackqual bench_bare_allreduce bench_bare_triad
python3 bench/overhead.py --build "$build" "$@"
