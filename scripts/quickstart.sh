#!/usr/bin/env bash
# Installs, builds, then runs cmdai on the request given (default: "list all files here").
# The first run downloads the default model (about 1 GB) into ~/.cache/cmdai. Offline, cmdai says
# why it cannot fetch it and how to proceed (--model PATH); that case still ends this script with 0,
# since installing and building worked.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
if (($# == 0)); then set -- list all files here; fi
status=0
build/release/cmdai "$@" || status=$?
if ((status == 5)); then
  echo "quickstart: cmdai is built (build/release/cmdai); it needs a model file to answer (see above)." >&2
  exit 0
fi
exit "$status"
