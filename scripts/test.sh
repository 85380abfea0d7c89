#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (ctest). Extra arguments go to ctest. On x86-64
# it then cross-builds the arm64 kernels and runs their tests under qemu (scripts/test-arm64.sh),
# runs the suite again under ASan and UBSan (the dev preset) and the batching scheduler under TSan
# (the tsan preset), fuzzes each parser of untrusted input
# for a bounded time (scripts/fuzz.sh), builds the CUDA preset where nvcc is installed and the MLX
# preset (MLX's CPU backend, built once into ~/.cache/cmdai-deps by scripts/install-mlx.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage says how long it took, so CI's 45-minute budget (2 cores, empty caches) can be watched.
stage_start=$SECONDS
stage_done() {
  echo "test.sh: $1 took $((SECONDS - stage_start)) s (total $SECONDS s)"
  stage_start=$SECONDS
}
# ccache first: the presets below share most of their objects through it (CMakeLists.txt).
scripts/install-deps.sh ccache
scripts/build.sh
stage_done "install and release build"
scripts/check-format.sh
ctest --preset release "$@"
stage_done "release tests"
# Packagers build without the tests: that configuration must still configure.
cmake -S . -B build/no-tests -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMDAI_BUILD_TESTS=OFF > /dev/null
if [ "$(uname -m)" = x86_64 ]; then
  scripts/test-arm64.sh
  stage_done "arm64 kernels under qemu"
fi
# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer, built by clang (the dev
# preset): GCC 12 takes ~5x as long to compile this code with both sanitizers.
scripts/install-deps.sh clang libclang-rt-14-dev
cmake --preset dev > /dev/null
cmake --build --preset dev -j "$(nproc)"
stage_done "ASan/UBSan build"
# GoldenLogitsOnKernelPath forces each kernel table through whole models: the longest tests of
# the suite, and under the sanitizers minutes each. The release run above keeps them; here the
# same kernels run under the sanitizers through their own bit-exact tests and the goldens on the
# default path.
ctest --preset dev -E 'GoldenLogitsOnKernelPath' "$@"
stage_done "ASan/UBSan tests"
# The continuous-batching scheduler (many requests decoding together on the engine's threads) and
# the thread pool under ThreadSanitizer: only their tests, the rest of the suite runs above.
cmake --preset tsan > /dev/null
cmake --build --preset tsan -j "$(nproc)" --target cmdai_engine_tests cmdai_base_tests
ctest --preset tsan -R 'BatchScheduler|ThreadPool' "$@"
stage_done "ThreadSanitizer build and tests"
# libFuzzer on the GGUF reader, the tokenizer, the config parser and the safety check (clang).
scripts/fuzz.sh "${CMDAI_FUZZ_SECONDS:-30}"
stage_done "fuzzing"
# The CUDA build, where the toolkit is installed (CI has it; no GPU needed): it must build, and
# the tests it changes run, the GPU ones skipping with their reason when no GPU answers
# (docs/CUDA.md).
if command -v nvcc > /dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  cmake --preset cuda > /dev/null
  cmake --build --preset cuda -j "$(nproc)"
  # What the CUDA build changes: the device parameter of the model tests, the tensor-core test,
  # backend choice, and what --version, doctor and bench say. The rest is the release build's.
  ctest --preset cuda -R 'cuda|Cuda|Devices/|Backend|AppCli|BenchCli' "$@"
  stage_done "cuda build and tests"
else
  echo "test.sh: no CUDA toolkit (nvcc) here: the cuda preset was not built"
fi
# The MLX device on MLX's CPU backend (docs/MLX.md): MLX is built once from the snapshot in
# ../shared/third_party into ~/.cache/cmdai-deps (reused by later runs), then the mlx preset, whose
# code outside device/ comes from the release preset's objects through ccache, and the tests it
# changes: the MLX device's own, the device-parametrized model and backend tests for mlx, and the
# CLI tests that run --backend mlx.
if [ -f "${CMDAI_THIRD_PARTY:-../shared/third_party}/SHA256SUMS" ]; then
  scripts/install-mlx.sh > /dev/null
  cmake --preset mlx > /dev/null
  # Only what those tests need: the other test programs would be the release preset's again.
  cmake --build --preset mlx -j "$(nproc)" --target cmdai cmdai_mlx_tests cmdai_model_tests \
    cmdai_backend_tests cmdai_cli_tests
  ctest --preset mlx -R 'mlx|Mlx|BackendChoice' "$@"
  stage_done "MLX install, mlx build and tests"
else
  echo "test.sh: no MLX snapshot in ../shared/third_party: the mlx preset was not built"
fi
