#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (ctest). Extra arguments go to ctest. On x86-64
# it then cross-builds the arm64 kernels and runs their tests under qemu (scripts/test-arm64.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --preset release "$@"
if [ "$(uname -m)" = x86_64 ]; then
  scripts/test-arm64.sh
fi
