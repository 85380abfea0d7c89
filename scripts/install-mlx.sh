#!/usr/bin/env bash
# Builds Apple's MLX (CPU backend on Linux) from the checked source snapshot in
# ../shared/third_party into a cache outside the repository, for the mlx preset (docs/MLX.md).
# Prints the install prefix on its last line. Nothing is downloaded: the snapshot's checksums are
# verified, fmt comes from the snapshot beside it, json, BLAS and LAPACK from Debian packages.
# A complete install (its stamp file is written last) is reused; a partial one is rebuilt.
#   CMDAI_THIRD_PARTY   folder with the snapshots (default: ../shared/third_party)
#   XDG_CACHE_HOME      cache root (default: ~/.cache); the install goes to cmdai-deps/mlx-<sha>
#   CMDAI_MLX_JOBS      build jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
third_party="${CMDAI_THIRD_PARTY:-$(cd .. && pwd)/shared/third_party}"
mlx_tar="mlx-846d176.tar.xz"
fmt_tar="fmt-12.1.0.tar.xz"
for f in "$mlx_tar" "$fmt_tar" SHA256SUMS; do
  if [ ! -f "$third_party/$f" ]; then
    echo "install-mlx.sh: $third_party/$f is missing (set CMDAI_THIRD_PARTY to the folder that" \
      "holds the MLX and fmt snapshots and their SHA256SUMS)" >&2
    exit 1
  fi
done

if [ "$(uname -s)" = Darwin ]; then
  # On a Mac the snapshot builds with Metal from Xcode's toolchain; Homebrew's mlx works as well
  # (cmake --preset mlx finds it through CMAKE_PREFIX_PATH=$(brew --prefix)).
  metal=ON
  optimize="-O3 -DNDEBUG"
else
  metal=OFF
  # MLX's CPU backend is the correctness vehicle on Linux (`--backend auto` never picks it), so
  # it is built at -O1: 168 s instead of 222 s at -j2 on a 2-vCPU Zen 5, the MLX tests as fast,
  # its decode ~5% slower (docs/MLX.md).
  optimize="-O1 -DNDEBUG"
  scripts/install-deps.sh cmake ninja-build g++ libopenblas-dev liblapacke-dev nlohmann-json3-dev
fi

sha=$(sha256sum "$third_party/$mlx_tar" | cut -c1-12)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/cmdai-deps"
prefix="$cache/mlx-$sha"
stamp="$prefix/.cmdai-install-complete"
if [ -f "$stamp" ]; then
  echo "install-mlx.sh: MLX is already installed (stamp $stamp)" >&2
  echo "$prefix"
  exit 0
fi

(cd "$third_party" && grep -E " ($mlx_tar|$fmt_tar)\$" SHA256SUMS | sha256sum --check --strict) >&2

work="$cache/build-mlx-$sha"
rm -rf "$work" "$prefix"
mkdir -p "$work/json/single_include"
tar -xJf "$third_party/$mlx_tar" -C "$work"
tar -xJf "$third_party/$fmt_tar" -C "$work"
mlx_src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'mlx*' | head -1)
fmt_src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'fmt*' | head -1)
# MLX's build expects nlohmann/json's source tree; it only uses its single_include headers.
json_headers=$(dirname "$(find /usr/include /usr/local/include -maxdepth 3 -name json.hpp \
  -path '*nlohmann*' 2> /dev/null | head -1)")
ln -s "$json_headers" "$work/json/single_include/nlohmann"

cmake -S "$mlx_src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DMLX_BUILD_TESTS=OFF -DMLX_BUILD_EXAMPLES=OFF -DMLX_BUILD_BENCHMARKS=OFF \
  -DMLX_BUILD_GGUF=OFF -DMLX_BUILD_SAFETENSORS=OFF -DMLX_BUILD_PYTHON_STUBS=OFF \
  -DMLX_BUILD_METAL="$metal" -DMLX_USE_CCACHE=OFF -DCMAKE_CXX_FLAGS_RELEASE="$optimize" \
  -DFETCHCONTENT_FULLY_DISCONNECTED=ON -DFETCHCONTENT_SOURCE_DIR_FMT="$fmt_src" \
  -DFETCHCONTENT_SOURCE_DIR_JSON="$work/json" >&2
cmake --build "$work/build" -j "${CMDAI_MLX_JOBS:-$(nproc)}" >&2
cmake --install "$work/build" >&2
rm -rf "$work"
date -u +%FT%TZ > "$stamp"
echo "$prefix"
