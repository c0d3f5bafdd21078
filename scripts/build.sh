#!/usr/bin/env bash
# Installs what the build needs, then configures and builds rackqual into build/.
# Extra arguments go to CMake (e.g. -DRACKQUAL_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja "$@" >/dev/null
ninja -C build
