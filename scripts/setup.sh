#!/usr/bin/env bash
# Installs what rackqual needs on Debian, idempotently.
#   scripts/setup.sh --build   what the rackqual executable needs to build and run (the main job)
#   scripts/setup.sh           everything: also the tests' and the Python package's needs, the
#                              pinned Python packages in .venv (python/requirements.txt), and the
#                              JUnit XML schema the tests validate against
# The tests' extras: GoogleTest; Slurm and munge (a real single-node cluster,
# tests/slurm/cluster.sh); prometheus for promtool; libxml2-utils for xmllint; chromium for the
# report; clang with its runtime for the libFuzzer fuzzers; Python's headers and venv.
# MPICH, not OpenMPI: the build names MPICH's wrappers explicitly.
set -euo pipefail

build_only=0
if [ "${1:-}" = "--build" ]; then
  build_only=1
fi

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-openmp-dev libopenblas0-openmp
  mpich libmpich-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libbenchmark-dev libsimdjson-dev
)
if [ "$build_only" = 0 ]; then
  packages+=(
    libgtest-dev libgmock-dev
    python3 python3-dev python3-venv
    chromium
    slurmctld slurmd slurm-client munge
    prometheus libxml2-utils
    clang libclang-rt-dev
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "$build_only" = 1 ] && exit 0

# The Python packages, pinned, in a virtual environment of the project's own; reinstalled when
# the pins change.
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! cmp -s python/requirements.txt .venv/requirements.txt; then
  echo "setup: installing python/requirements.txt into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check -r python/requirements.txt
  cp python/requirements.txt .venv/requirements.txt
fi

# The JUnit XML schema (Jenkins' xunit junit-10.xsd) that the tests validate the JUnit sink
# against, as published in pytest's source distribution on PyPI (the version pinned above).
schema=.venv/share/junit/junit-10.xsd
if [ ! -s "$schema" ]; then
  pytest_pin=$(grep -E '^pytest==' python/requirements.txt)
  tmp=$(mktemp -d)
  .venv/bin/pip download -q --disable-pip-version-check --no-deps --no-binary :all: -d "$tmp" "$pytest_pin"
  mkdir -p "$(dirname "$schema")"
  tar -xzf "$tmp"/pytest-*.tar.gz -O --wildcards '*/testing/example_scripts/junit-10.xsd' > "$schema.tmp"
  mv "$schema.tmp" "$schema"
  rm -rf "$tmp"
fi
