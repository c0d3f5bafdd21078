#!/usr/bin/env bash
# On a GPU machine: print the cuda backend's performance ratios (bf16 GEMM against torch.matmul,
# HBM triad against what healthy parts of the matched platform profile reach).
# In the source tree it sets up and builds first; in a bundle (scripts/bundle.sh) it runs the
# bundled binary, with the bundle's environment (env.sh) loaded.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ -x "$root/bin/rackqual" ] && [ -f "$root/env.sh" ]; then
  source "$root/env.sh"
  exec python3 bench/gpu_ratios.py --build "$root/bin" "$@"
fi
bash scripts/build.sh
exec python3 bench/gpu_ratios.py --build build "$@"
