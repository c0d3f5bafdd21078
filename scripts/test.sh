#!/usr/bin/env bash
# Set up, build the whole tree once (warnings are errors), and run every test: unit, multi-rank
# end-to-end, Slurm, fuzzing, Python. Two at a time where neither times anything; a test that
# times (its figures judged by criteria, a deadline, a late rank) always runs alone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j 2
