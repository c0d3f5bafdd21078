#!/usr/bin/env bash
# Installs everything (scripts/setup.sh), then configures and builds the whole tree into build/:
# rackqual, the cuda backend where nvcc is, the Python module, the tests and the benchmarks.
# Warnings are errors in every build the scripts make, so the main job's build and this one
# share every object. Extra arguments go to CMake (e.g. -DRACKQUAL_CUDA=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DRACKQUAL_WERROR=ON -DRACKQUAL_CUDA=AUTO -DRACKQUAL_TESTS=ON "$@" >/dev/null
ninja -C build
