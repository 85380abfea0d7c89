#!/usr/bin/env bash
# Runs the official npm `openai` and `ollama` clients (clients_test.mjs) against `cmdai serve`
# with a tiny synthetic model. The packages go into a cache outside the repository
# ($CMDAI_NPM_CACHE, default ~/.cache/cmdai-deps/npm). Exits 77 (ctest: skipped) with a visible
# message when node, npm, the registry or the shared test vocabulary is missing.
# Usage: run_client_tests.sh path/to/cmdai
set -euo pipefail
cmdai=$1
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }
command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
# The same two places the C++ tests look (base/testdata.cc): $CMDAI_TESTDATA, else ../shared/testdata
# beside the repository.
vocab=${CMDAI_TESTDATA:-$here/../../../../shared/testdata}/ggml-vocab-qwen2.5-coder.gguf
[ -f "$vocab" ] || skip "shared testdata not found (set CMDAI_TESTDATA)"
deps=${CMDAI_NPM_CACHE:-$HOME/.cache/cmdai-deps/npm}
if [ ! -d "$deps/node_modules/openai" ] || [ ! -d "$deps/node_modules/ollama" ]; then
  mkdir -p "$deps"
  timeout 300 npm install --prefix "$deps" --no-audit --no-fund openai@4 ollama@0.5 >/dev/null 2>&1 ||
    skip "npm could not install openai and ollama (no registry access?)"
fi
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export CMDAI_CACHE_DIR=$work/cache CMDAI_CONFIG_DIR=$work/config
"$cmdai" model synth --shape tiny --quant q8_0 --vocab-from "$vocab" --out "$work/synth.gguf" >/dev/null
"$cmdai" serve --model "$work/synth.gguf" --name synth --port 0 --threads 1 2>"$work/serve.err" &
server=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -nE 's|.*on http://127\.0\.0\.1:([0-9]+).*|\1|p' "$work/serve.err" | head -1)
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.err"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.err"; echo "cmdai serve did not start"; exit 1; }
status=0
NODE_PATH=$deps/node_modules node "$here/clients_test.mjs" "http://127.0.0.1:$port" synth || status=$?
kill -TERM "$server"
wait "$server" || { echo "cmdai serve did not exit 0 on SIGTERM"; status=1; }
server=""
[ $status -eq 0 ] || cat "$work/serve.err"
exit $status
