#!/usr/bin/env bash
# Set up, build with warnings as errors, and run every test (unit and multi-rank end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh -DRACKQUAL_WERROR=ON
ctest --test-dir build --output-on-failure
