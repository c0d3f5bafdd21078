#!/usr/bin/env bash
# The main job on this machine: set up, build, run suites/smoke.yaml on 2 ranks (cuda where
# a GPU is present, else host), print the verdict table, write results/RUN_ID/.
# Extra arguments go to `rackqual run` (e.g. --backend host, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec mpiexec.mpich -n 2 build/rackqual run suites/smoke.yaml --out results "$@"
