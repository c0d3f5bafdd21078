#!/usr/bin/env bash
# The main job on this machine: install what the build needs (scripts/setup.sh --build), build
# only the rackqual executable, run suites/smoke.yaml on 2 ranks (cuda where a GPU is present,
# else host), print the verdict table, write results/RUN_ID/.
# The cuda backend is built where a GPU is present (nvidia-smi lists one), else left out: it
# could not run. Extra arguments go to `rackqual run` (e.g. --backend host, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --build
cuda=OFF
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  cuda=AUTO
fi
cmake -S . -B build -G Ninja -DRACKQUAL_WERROR=ON -DRACKQUAL_CUDA=$cuda >/dev/null
ninja -C build rackqual
# results/ unless the arguments name another --out.
out=(--out results)
for arg in "$@"; do
  case "$arg" in --out | --out=*) out=() ;; esac
done
exec mpiexec.mpich -n 2 build/rackqual run suites/smoke.yaml "${out[@]}" "$@"
