#!/usr/bin/env bash
# Fails when a module includes a layer it must not (see docs/ARCHITECTURE.md).
set -euo pipefail
cd "$(dirname "$0")/../src"
declare -A allowed=(
  [base]=""
  [quant]="base"
  [gguf]="base quant"
  [tokenizer]="base gguf quant"
  [device]="base quant"
  [model]="base quant gguf device"
  [engine]="base quant gguf device model tokenizer"
  [backend]="base quant gguf device model tokenizer engine"
  [safety]="base"
  [catalog]="base"
  [config]="base"
  [generate]="base quant gguf tokenizer device model engine backend"
)
status=0
for module in "${!allowed[@]}"; do
  [ -d "$module" ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    included=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")
    [ "$included" = "$module" ] && continue
    case " ${allowed[$module]} " in
      *" $included "*) ;;
      *) echo "layering violation: $file includes $included/ (allowed for $module: ${allowed[$module]:-nothing})"; status=1 ;;
    esac
  done < <(grep -rnE '^#include "[a-z_]+/' "$module" --include='*.h' --include='*.cc' | grep -v '_test\.cc:' || true)
done
exit $status
