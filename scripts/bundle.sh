#!/usr/bin/env bash
# Bundles a built rackqual into one folder that runs on a GPU machine with none of this
# project's Debian packages: only the NVIDIA driver (libcuda, libnvidia-ml) and the C library
# (glibc 2.36 or newer) come from that machine.
#
#   scripts/bundle.sh [--system-cuda] [BUILD_DIR] [OUT_DIR]      # defaults: build, bundle
#
# --system-cuda leaves the CUDA toolkit's libraries (cudart, cuBLAS, cuBLASLt, NCCL; most of the
# bundle's size) to the GPU machine, which must then have the same major versions on
# LD_LIBRARY_PATH or in $CUDA_HOME/lib64 (default /usr/local/cuda): a bundle small enough to
# send where only tens of MB may travel.
#
# OUT_DIR (replaced if present) holds:
#   bin/      rackqual, transformer_grad_check and primitive_agreement (when built), MPICH's launcher (mpiexec.hydra,
#             with mpiexec.mpich and mpiexec naming it) and hydra_pmi_proxy beside it
#   lib/      every shared library those need (MPICH, UCX and its transport modules in lib/ucx,
#             yaml-cpp, OpenBLAS, libgfortran, Google Benchmark, OpenMP, libstdc++, CUDA
#             runtime, cuBLASLt, cuBLAS, NCCL), found with ldd
#   suites/   the suites and platform profiles (RACKQUAL_DATA_DIR points here)
#   tests/gpu/test_gpu.py and test_consensus_gpu.py, bench/gpu_ratios.py, scripts/bench-gpu.sh and
#             scripts/gpu-proof.sh
#   env.sh    `source OUT_DIR/env.sh` sets PATH, LD_LIBRARY_PATH, RACKQUAL_DATA_DIR, UCX_MODULE_DIR,
#             RACKQUAL_BIN and RACKQUAL_MPIEXEC for this shell
#   run.sh    `OUT_DIR/run.sh COMMAND...` runs one command with that environment
#
# On the GPU machine (copy the folder there, e.g. with tar or rsync):
#   bundle/scripts/gpu-proof.sh                                 # everything that proves the backend
#   bundle/run.sh rackqual list
#   bundle/run.sh mpiexec.mpich -n 8 rackqual run bundle/suites/rack-bringup.yaml --out results
#   srun -n 8 --mpi=pmi2 bundle/run.sh rackqual run bundle/suites/nightly.yaml   # under Slurm
#   bundle/run.sh python3 bundle/tests/gpu/test_gpu.py -v      # the GPU tests (needs a GPU)
#   bundle/run.sh transformer_grad_check                        # cuda gradients against the host's
#   bundle/scripts/bench-gpu.sh                                 # GEMM and HBM ratios (torch, PyYAML)
set -euo pipefail

system_cuda=0
if [ "${1:-}" = "--system-cuda" ]; then
  system_cuda=1
  shift
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
out="${2:-$root/bundle}"

# Libraries the GPU machine provides: the driver's and the C library's.
system_library() {
  case "$1" in
    linux-vdso.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | \
      libresolv.so.* | libutil.so.* | libcuda.so.* | libnvidia-ml.so.*) return 0 ;;
  esac
  if [ "$system_cuda" = 1 ]; then
    case "$1" in
      libcudart.so.* | libcublas.so.* | libcublasLt.so.* | libnccl.so.*) return 0 ;;
    esac
  fi
  return 1
}

[ -x "$build/rackqual" ] || { echo "bundle: no rackqual in $build (build it first)" >&2; exit 2; }
launcher="$(command -v mpiexec.mpich || true)"
[ -n "$launcher" ] || { echo "bundle: mpiexec.mpich not found (install mpich)" >&2; exit 2; }
hydra="$(readlink -f "$launcher")"
proxy="$(dirname "$hydra")/hydra_pmi_proxy"
[ -x "$proxy" ] || { echo "bundle: no hydra_pmi_proxy beside $hydra" >&2; exit 2; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/tests/gpu" "$out/bench" "$out/scripts"
out="$(cd "$out" && pwd)"

cp "$build/rackqual" "$out/bin/"
for t in transformer_grad_check primitive_agreement; do
  [ -x "$build/tests/gpu/$t" ] && cp "$build/tests/gpu/$t" "$out/bin/"
done
cp "$hydra" "$out/bin/mpiexec.hydra"
ln -s mpiexec.hydra "$out/bin/mpiexec.mpich"
ln -s mpiexec.hydra "$out/bin/mpiexec"
cp "$proxy" "$out/bin/hydra_pmi_proxy"

# UCX (MPICH's ch4:ucx device) loads its transports (shared memory, InfiniBand, RDMA CM) as
# modules from the ucx/ folder beside libucs.
ucs="$(ldd "$build/rackqual" | awk '$1 ~ /^libucs\.so/ {print $3}')"
if [ -n "$ucs" ] && [ -d "$(dirname "$ucs")/ucx" ]; then
  mkdir -p "$out/lib/ucx"
  find "$(dirname "$ucs")/ucx" -maxdepth 1 -name '*.so.*' -exec cp -P {} "$out/lib/ucx/" \;
fi

# Every library the executables and UCX modules need, by the name they ask for (ldd lists the
# whole closure of each file).
missing=()
while read -r name path; do
  system_library "$name" && continue
  if [ "$path" = "not" ] || [ ! -e "$path" ]; then
    missing+=("$name")
    continue
  fi
  [ -e "$out/lib/$name" ] || cp -L "$path" "$out/lib/$name"
done < <(for f in "$out"/bin/* "$out"/lib/ucx/*.so.*; do
           [ -L "$f" ] && continue
           [ -e "$f" ] || continue
           ldd "$f" 2>/dev/null | awk '$2 == "=>" {print $1, $3}'
         done | sort -u)
if ((${#missing[@]})); then
  echo "bundle: libraries ldd could not find: ${missing[*]}" >&2
  exit 2
fi

cp -r "$root/suites" "$out/suites"
cp "$root/tests/gpu/test_gpu.py" "$root/tests/gpu/test_consensus_gpu.py" "$out/tests/gpu/"
cp "$root/bench/gpu_ratios.py" "$out/bench/"
cp "$root/scripts/bench-gpu.sh" "$root/scripts/gpu-proof.sh" "$out/scripts/"

cat > "$out/env.sh" <<'EOF'
# rackqual bundle environment: `source env.sh` (bash or zsh).
RACKQUAL_HOME="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
export RACKQUAL_HOME
export PATH="$RACKQUAL_HOME/bin${PATH:+:$PATH}"
export LD_LIBRARY_PATH="$RACKQUAL_HOME/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export RACKQUAL_DATA_DIR="$RACKQUAL_HOME"
export UCX_MODULE_DIR="$RACKQUAL_HOME/lib/ucx"
export RACKQUAL_BIN="$RACKQUAL_HOME/bin/rackqual"
export RACKQUAL_MPIEXEC="$RACKQUAL_HOME/bin/mpiexec.mpich"
EOF
if [ "$system_cuda" = 1 ]; then
  cat >> "$out/env.sh" <<'EOF'
# Built with --system-cuda: the CUDA toolkit's libraries come from this machine.
export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:${CUDA_HOME:-/usr/local/cuda}/lib64"
EOF
fi
cat > "$out/run.sh" <<'EOF'
#!/usr/bin/env bash
# Runs one command with the rackqual bundle's environment: run.sh COMMAND [ARGS...]
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/env.sh"
exec "$@"
EOF
chmod +x "$out/run.sh"

echo "bundle: $out ($(du -sh "$out" | cut -f1), $(ls "$out/lib" | wc -l) libraries)"
