#!/usr/bin/env bash
# Packs the cuda preset's binaries, the shared libraries they load (all but glibc's and the GPU
# driver's) and chosen test-data files into one folder, for a GPU machine that has a driver but
# not the project's Debian libraries (docs/CUDA.md: running the GPU tests elsewhere).
# Usage: scripts/device-bundle.sh OUT_DIR [TESTDATA_FILE ...]  (files relative to the test data)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/device-bundle.sh OUT_DIR [TESTDATA_FILE ...]}
shift
testdata=${CMDAI_TESTDATA:-../shared/testdata}
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/testdata"
binaries=(build/cuda/cmdai build/cuda/src/model/cmdai_model_tests
          build/cuda/src/backend/cmdai_backend_tests build/cuda/src/device/cmdai_cuda_matmul_tc_test)
for b in "${binaries[@]}"; do
  [ -f "$b" ] || { echo "missing $b: build the cuda preset first" >&2; exit 1; }
  strip -o "$out/bin/$(basename "$b")" "$b"
done
ldd "${binaries[@]}" | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libcuda.so*) ;;
    *) cp -L "$lib" "$out/lib/" ;;
  esac
done
for f in "$@"; do
  mkdir -p "$out/testdata/$(dirname "$f")"
  cp -L "$testdata/$f" "$out/testdata/$f"
done
du -sh "$out"
