#!/usr/bin/env bash
# Installs everything (scripts/setup.sh), then configures and builds the whole tree into build/:
# rackqual, the cuda backend where nvcc is, the Python module, the tests and the benchmarks, and
# the fuzzers' clang tree into build/fuzz.
# Warnings are errors in every build the scripts make, so the main job's build and this one
# share every object. Extra arguments go to CMake (e.g. -DRACKQUAL_CUDA=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DRACKQUAL_WERROR=ON -DRACKQUAL_CUDA=AUTO -DRACKQUAL_TESTS=ON "$@" >/dev/null
ninja -C build
# The fuzzers' own clang tree (build/fuzz), kept, so that the fuzzing test only fuzzes.
if command -v clang++ >/dev/null 2>&1; then
  RACKQUAL_FUZZ_BUILD="$PWD/build/fuzz" fuzz/run.sh --build
fi
