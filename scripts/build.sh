#!/usr/bin/env bash
# Configures and builds the release preset (binary: build/release/cmdai).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
