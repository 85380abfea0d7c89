#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (ctest). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --preset release "$@"
