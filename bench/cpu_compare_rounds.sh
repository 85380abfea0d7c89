#!/usr/bin/env bash
# Interleaved rounds of `cmdai bench` and llama.cpp's `llama-bench` on the same files, for each
# thread count, one JSON line per run appended to OUT (no Python needed on the machine measured;
# bench/cpu_compare_summary.py turns OUT into medians and ratios). Used on the lent GPU machine's
# Xeon, where cmdai is a carried binary and llama.cpp is built from source there.
# Usage: CMDAI=path LLAMA_BENCH=path bench/cpu_compare_rounds.sh OUT MODEL.gguf [MODEL.gguf ...]
#        (env THREADS="2 16", ROUNDS=5, PROMPT=64, DECODE=32)
set -uo pipefail
out=${1:?usage: bench/cpu_compare_rounds.sh OUT MODEL.gguf ...}
shift
: "${CMDAI:?set CMDAI to the cmdai binary}" "${LLAMA_BENCH:?set LLAMA_BENCH to llama-bench}"
for model in "$@"; do
  name=$(basename "$model" .gguf)
  for th in ${THREADS:-2 16}; do
    for r in $(seq "${ROUNDS:-5}"); do
      echo "cmdai $name $th $r $(timeout 120 "$CMDAI" bench --model "$model" --threads "$th" \
        -p "${PROMPT:-64}" -n "${DECODE:-32}" -r 1 2>/dev/null | tr -d '\n')" >> "$out"
      echo "llama $name $th $r $(timeout 120 "$LLAMA_BENCH" -m "$model" -t "$th" \
        -p "${PROMPT:-64}" -n "${DECODE:-32}" -r 1 -o json 2>/dev/null | tr -d '\n')" >> "$out"
    done
  done
done
