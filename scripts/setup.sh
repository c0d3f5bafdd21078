#!/usr/bin/env bash
# Installs every system package rackqual's build and tests need (Debian, idempotent).
# MPICH, not OpenMPI: the build names MPICH's wrappers explicitly.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-openmp-dev libopenblas0-openmp
  mpich libmpich-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libbenchmark-dev libgtest-dev libgmock-dev
  python3
)

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
