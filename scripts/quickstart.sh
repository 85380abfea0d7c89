#!/usr/bin/env bash
# Installs, builds, then runs cmdai on the request given (default: "list all files here").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
if (($# == 0)); then set -- list all files here; fi
exec build/release/cmdai "$@"
