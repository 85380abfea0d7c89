#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (ctest). Extra arguments go to ctest. On x86-64
# it then cross-builds the arm64 kernels and runs their tests under qemu (scripts/test-arm64.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --preset release "$@"
# Packagers build without the tests: that configuration must still configure.
cmake -S . -B build/no-tests -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMDAI_BUILD_TESTS=OFF > /dev/null
if [ "$(uname -m)" = x86_64 ]; then
  scripts/test-arm64.sh
fi
# The CUDA build, where the toolkit is installed (CI has it; no GPU needed): it must build, and
# every test runs, the GPU ones skipping with their reason when no GPU answers (docs/CUDA.md).
if command -v nvcc > /dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  cmake --preset cuda > /dev/null
  cmake --build --preset cuda -j "$(nproc)"
  ctest --preset cuda "$@"
else
  echo "test.sh: no CUDA toolkit (nvcc) here: the cuda preset was not built"
fi
