#!/usr/bin/env bash
# Fails when a tracked C++ or CUDA source differs from what clang-format (.clang-format: Google
# style, 100 columns) makes of it. Fix with: git ls-files '*.cc' '*.h' '*.cu' '*.cuh' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format > /dev/null || scripts/install-deps.sh clang-format
git ls-files -z '*.cc' '*.h' '*.cu' '*.cuh' | xargs -0 clang-format --dry-run --Werror
echo "check-format.sh: every source is formatted"
