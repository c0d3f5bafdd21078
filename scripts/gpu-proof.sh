#!/usr/bin/env bash
# The first hour on a GPU machine, in one script: what proves the cuda backend, in order, within
# about 10 minutes on one GPU or eight. Runs from the source tree (build/) or from a bundle
# (scripts/bundle.sh: bin/ and env.sh beside this folder).
#
#   scripts/gpu-proof.sh [OUT_DIR]      # default: gpu-proof-<UTC date and time>
#
# Steps (each under its own time limit; a failed step does not stop the next):
#   fabric       nvidia-smi's GPUs, topology, NVLink states and fabric registration
#   primitives   every cuda primitive of the training step against the host's (primitive_agreement)
#   gradients    the cuda training step's gradients against the host's (transformer_grad_check)
#   gpu-tests    tests/gpu/test_gpu.py and test_consensus_gpu.py, one rank per GPU
#   smoke        suites/smoke.yaml with --backend cuda
#   isolation    a cluster all-reduce measured healthy, then again with one simulated host slowed
#                20x (--simulate, --slow-host): the culprit must be that host; NCCL's debug log kept
#                (three GPUs or more)
#   ratios       bench/gpu_ratios.py: bf16 GEMM against torch.matmul, HBM triad against healthy parts
# OUT_DIR holds each step's log, the run folders, NCCL's logs, and summary.txt (one line per step:
# pass, fail or skip, and why). Exit 0 when no step failed.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tests="$here/tests/gpu"
if [ -x "$here/bin/rackqual" ] && [ -f "$here/env.sh" ]; then
  source "$here/env.sh"
  bin="$here/bin"
else
  bin="$here/build"   # built first where it is not (scripts/build.sh, several minutes)
  [ -x "$bin/rackqual" ] || bash "$here/scripts/build.sh" || exit 2
  export RACKQUAL_BIN="$bin/rackqual"
fi
# A GPU test program: beside rackqual in a bundle, under tests/gpu in a build tree.
tool() {
  local p
  for p in "$bin/$1" "$bin/tests/gpu/$1"; do [ -x "$p" ] && break; done
  echo "$p"
}
export mpiexec="${RACKQUAL_MPIEXEC:-mpiexec.mpich}" rackqual="$bin/rackqual"
out="${1:-gpu-proof-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out" && out="$(cd "$out" && pwd)" || exit 2
export out
summary="$out/summary.txt"
: >"$summary"

gpus="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)"
if [ -n "${CUDA_VISIBLE_DEVICES+set}" ]; then
  visible="$(tr ',' '\n' <<<"$CUDA_VISIBLE_DEVICES" | grep -c '[^[:space:]]' || true)"
  ((visible < gpus)) && gpus="$visible"
fi
if ((gpus == 0)); then
  echo "gpu-proof: no GPU on this machine (nvidia-smi lists none)" | tee -a "$summary" >&2
  exit 77
fi
export gpus
echo "gpu-proof: $gpus GPU(s), results in $out"

# step NAME LIMIT_S COMMAND...: runs the command (or one of the functions below) with its output
# in NAME.log, under its time limit; one summary line.
step() {
  local name="$1" limit="$2" start rc
  shift 2
  start=$SECONDS
  if declare -F "$1" >/dev/null; then
    timeout --kill-after=10 "$limit" bash -c "$(declare -f "$1"); $1" >"$out/$name.log" 2>&1
  else
    timeout --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
  fi
  rc=$?
  local verdict=pass why="exit 0"
  if ((rc == 77)); then verdict=skip why="$(tail -n 1 "$out/$name.log")"
  elif ((rc == 124 || rc == 137)); then verdict=fail why="over its ${limit}s limit"
  elif ((rc != 0)); then verdict=fail why="exit $rc: $(grep -m1 -iE 'error|fail' "$out/$name.log" || tail -n 1 "$out/$name.log")"
  fi
  printf '%-11s %-4s %4ss  %s\n' "$name" "$verdict" "$((SECONDS - start))" "$why" | tee -a "$summary"
}

fabric() {
  nvidia-smi -L
  nvidia-smi topo -m
  nvidia-smi nvlink -s
  nvidia-smi -q | sed -n '/^GPU /p;/Fabric/,/^        [A-Z]/p'
}

# The slowed-host drill: hosts of one GPU each (2 racks x 2 hosts x 2 GPUs on eight).
isolation() {
  if ((gpus < 3)); then
    echo "isolation needs three GPUs or more (a member is never probed alone); this machine has $gpus"
    return 77
  fi
  local layout="1x${gpus}x1" slow="r0-h$((gpus - 1))"
  ((gpus == 8)) && layout="2x2x2" slow="r1-h0"
  cat >"$out/isolation.yaml" <<'EOF'
name: gpu-isolation
platform: auto
defaults: {repetitions: 3, min_time: 0.05s, deadline: 120s}
checks:
  - {id: cluster-reduce, kind: allreduce, scope: cluster, params: {sizes: [256MiB], dtype: bf16}}
EOF
  "$mpiexec" -n "$gpus" "$rackqual" run "$out/isolation.yaml" --backend cuda --simulate "$layout" --no-isolate \
    --out "$out/isolation-healthy" || return 1
  local floor
  floor="$(python3 - "$out/isolation-healthy" <<'EOF'
import json, pathlib, sys
records = [json.loads(l) for f in pathlib.Path(sys.argv[1]).glob("*/records.jsonl") for l in f.read_text().splitlines()]
busbw = [r["value"] for r in records if r.get("metric") == "busbw_gbps" and r.get("value")]
print(f"{0.5 * max(busbw):.3f}")   # half of the healthy figure: a host slowed 20x falls far under it
EOF
)" || return 1
  echo "healthy busbw floor: $floor GB/s"
  sed -i "s|dtype: bf16}}|dtype: bf16}, criteria: {busbw_gbps: {min: $floor}}}|" "$out/isolation.yaml"
  NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,COLL,P2P NCCL_DEBUG_FILE="$out/nccl.%h.%p.log" \
    "$mpiexec" -n "$gpus" "$rackqual" run "$out/isolation.yaml" --backend cuda --simulate "$layout" \
    --slow-host "$slow=20" --out "$out/isolation-slowed"
  python3 - "$out/isolation-slowed" "$slow" <<'EOF'
import json, pathlib, sys
records = [json.loads(l) for f in pathlib.Path(sys.argv[1]).glob("*/records.jsonl") for l in f.read_text().splitlines()]
named = sorted({(i["culprit"], i["member"]) for r in records if "culprit" in (i := r.get("isolation") or {})})
print("culprits named:", named)
sys.exit(0 if named == [("slow_member", sys.argv[2])] else 1)
EOF
}

step fabric 30 fabric
step primitives 180 "$(tool primitive_agreement)"
step gradients 180 "$(tool transformer_grad_check)"
step gpu-tests 300 bash -c "cd '$tests' && python3 test_gpu.py -v && python3 test_consensus_gpu.py -v"
step smoke 120 "$mpiexec" -n "$gpus" "$rackqual" run "$here/suites/smoke.yaml" --backend cuda --out "$out/smoke"
step isolation 180 isolation
step ratios 180 python3 "$here/bench/gpu_ratios.py" --build "$bin"

echo "gpu-proof: summary in $summary"
! grep -q ' fail ' "$summary"
