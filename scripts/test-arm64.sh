#!/usr/bin/env bash
# Cross-builds the kernel modules (base, quant, device) and their tests for arm64 with Debian's
# aarch64 cross compiler, then runs them under qemu-user: once on qemu's "max" CPU (every
# extension: the neon and neon_dotprod kernel tables) and once on a Cortex-A53 (ARMv8.0, no
# dot product: the neon table alone). Build folder: build-arm64 (or $CMDAI_ARM64_BUILD_DIR).
# Extra arguments go to every test binary (e.g. --gtest_filter=KernelSets.*).
set -euo pipefail
cd "$(dirname "$0")/.."

# The cross build needs no arm64 packages: fmt is used header-only from the host's libfmt-dev and
# GoogleTest is compiled from Debian's source package (cmake/kernel_tests_deps.cmake).
scripts/install-deps.sh g++-aarch64-linux-gnu qemu-user cmake ninja-build libfmt-dev googletest

build="${CMDAI_ARM64_BUILD_DIR:-build-arm64}"
sysroot=/usr/aarch64-linux-gnu
start=$SECONDS
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DCMDAI_KERNEL_TESTS_ONLY=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target cmdai_base_tests cmdai_quant_tests cmdai_device_tests
echo "arm64 cross build: $((SECONDS - start)) s"

failed=()
run() {  # run CPU MODULE [gtest args...]
  local cpu=$1 module=$2
  shift 2
  echo "== arm64 cmdai_${module}_tests under qemu-aarch64 -cpu ${cpu}"
  if ! QEMU_CPU="$cpu" qemu-aarch64 -L "$sysroot" "$build/src/$module/cmdai_${module}_tests" \
      --gtest_brief=1 "$@"; then
    failed+=("cmdai_${module}_tests (-cpu ${cpu})")
  fi
}
start=$SECONDS
# base and quant have no per-CPU code paths: one CPU model is enough. The device tests print the
# kernel sets they cover ("kernel sets tested: ...") and run on both CPU models.
run max base "$@"
run max quant "$@"
run max device "$@"
run cortex-a53 device "$@"
echo "arm64 tests under qemu: $((SECONDS - start)) s"

if ((${#failed[@]})); then
  echo "arm64 test failures: ${failed[*]}" >&2
  exit 1
fi
echo "arm64 kernel tests passed"
