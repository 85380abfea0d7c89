#!/usr/bin/env bash
# Fails when a module includes a layer it must not, exactly as docs/ARCHITECTURE.md's layer table
# says; above device/, only the seam (device/device.h, device/weight_matrix.h) may be named.
# Tests (*_test.cc) may include what they test against. MLX's headers (<mlx/...>) only in
# device/mlx/.
set -euo pipefail
cd "$(dirname "$0")/../src"
declare -A allowed=(
  [base]=""
  [quant]="base"
  [gguf]="base quant"
  [tokenizer]="base quant gguf"
  [device]="base quant"
  [model]="base quant gguf device"
  [engine]="base quant gguf device model tokenizer"
  [backend]="base quant gguf device model tokenizer engine"
  [safety]="base"
  [catalog]="base"
  [config]="base"
  [generate]="base tokenizer backend"
  [serve]="base tokenizer engine backend safety generate config"
  [cli]="base quant gguf tokenizer device model engine backend safety catalog config generate serve"
)
# Device headers a layer above device/ may include: the seam, never a concrete device.
seam_headers="device/device.h device/weight_matrix.h"
status=0
for module in */; do
  module=${module%/}
  if [ -z "${allowed[$module]+set}" ]; then
    echo "layering: src/$module/ has no rule in scripts/check-layers.sh (add it and docs/ARCHITECTURE.md)"
    status=1
    continue
  fi
  while IFS= read -r line; do
    file=${line%%:*}
    header=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
    included=${header%%/*}
    [ "$included" = "$module" ] && continue
    case " ${allowed[$module]} " in
      *" $included "*) ;;
      *) echo "layering violation: $file includes $included/ (allowed for $module: ${allowed[$module]:-nothing})"; status=1; continue ;;
    esac
    if [ "$included" = device ] && [ "$module" != cli ]; then
      case " $seam_headers " in
        *" $header "*) ;;
        *) echo "layering violation: $file includes $header: above device/, only the seam (${seam_headers}) may be named"; status=1 ;;
      esac
    fi
  done < <(grep -rnE '^#include "[a-z_]+/' "$module" --include='*.h' --include='*.cc' --include='*.cu' --include='*.cuh' | grep -v '_test\.cc:' || true)
done
# MLX's headers stay inside the MLX device (device.h: no MLX header reaches anything above it).
while IFS= read -r line; do
  echo "layering violation: ${line%%:*} includes MLX ($(sed -E 's/.*#include <([^>]+)>.*/\1/' <<<"$line")): only device/mlx/ may"
  status=1
done < <(grep -rnE '^#include <mlx/' . --include='*.h' --include='*.cc' | grep -v '^\./device/mlx/' || true)
exit $status
