#!/usr/bin/env bash
# Set up, build the whole tree once (warnings are errors), and run every test: unit, multi-rank
# end-to-end, Slurm, fuzzing, Python.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure
