#!/usr/bin/env bash
# On a GPU machine: set up, build, and print the cuda backend's performance ratios
# (bf16 GEMM against torch.matmul, HBM triad against the HBM peak).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
python3 bench/gpu_ratios.py --build build "$@"
