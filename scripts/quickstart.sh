#!/usr/bin/env bash
# Installs, builds, installs cmdai into ~/.local (or $CMDAI_PREFIX), then runs cmdai on the request
# given (default: "list all files here"). If that bin folder is not on PATH it says how to add it.
# The first run downloads the default model (about 1 GB) into ~/.cache/cmdai. Offline, cmdai says
# why it cannot fetch it and how to proceed (--model PATH); that case still ends this script with 0,
# since installing and building worked.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
prefix=${CMDAI_PREFIX:-$HOME/.local}
cmake --install build/release --prefix "$prefix" > /dev/null
echo "quickstart: installed $prefix/bin/cmdai (man page, bash/zsh/fish completions, docs under $prefix/share)" >&2
if [ "$(command -v cmdai)" != "$prefix/bin/cmdai" ]; then
  echo "quickstart: $prefix/bin is not first on your PATH; add it with:" >&2
  echo "  echo 'export PATH=\"$prefix/bin:\$PATH\"' >> ~/.bashrc && . ~/.bashrc" >&2
fi
if (($# == 0)); then set -- list all files here; fi
status=0
"$prefix/bin/cmdai" "$@" || status=$?
if ((status == 5)); then
  echo "quickstart: cmdai is installed ($prefix/bin/cmdai); it needs a model file to answer (see above)." >&2
  exit 0
fi
exit "$status"
