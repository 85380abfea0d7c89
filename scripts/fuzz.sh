#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan, UBSan) and runs each for a bounded
# time on its seed corpus (fuzz/corpus/<target>/). New inputs go to a scratch corpus, never into
# the repository; a crash leaves its input in build/fuzz/findings/ and fails the script.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET ...]  (gguf tokenizer config safety safety_grammar)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf tokenizer config safety safety_grammar)

cmake --preset fuzz > /dev/null
cmake --build --preset fuzz -j "$(nproc)"

# The tokenizer target reads the real vocabulary from the shared test data (README: test data).
testdata=${CMDAI_TESTDATA:-../shared/testdata}
if [ ! -d "$testdata" ]; then
  if [ "${CI:-}" = true ]; then
    echo "fuzz.sh: no test data at $testdata (CI must have it)" >&2
    exit 1
  fi
  echo "fuzz.sh: SKIPPING the tokenizer target: no test data at $testdata"
  targets=("${targets[@]/tokenizer/}")
fi
export CMDAI_TESTDATA=$testdata

findings=build/fuzz/findings
mkdir -p "$findings"
for target in "${targets[@]}"; do
  [ -n "$target" ] || continue
  binary=build/fuzz/fuzz/fuzz_$target
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  # -timeout: an input that takes over 2 s is a hang, and a failure. -rss_limit_mb bounds memory.
  echo "fuzz.sh: $target for ${seconds}s"
  if ! "$binary" -max_total_time="$seconds" -timeout=2 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$findings/$target-" \
      "$scratch" "fuzz/corpus/$target" 2> "$findings/$target.log"; then
    tail -n 60 "$findings/$target.log" >&2
    echo "fuzz.sh: $target failed; the input is in $findings/ (rerun: $binary FILE)" >&2
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$findings/$target.log" | tail -2
  rm -rf "$scratch"
  trap - EXIT
done
echo "fuzz.sh: every target ran ${seconds}s without a finding"
