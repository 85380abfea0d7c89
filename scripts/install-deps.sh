#!/usr/bin/env bash
# Installs cmdai's build and test dependencies from Debian 12 packages (skips what is present);
# zsh and fish are there for the completion tests, man-db, dpkg-dev and file for the install test
# (man cmdai, cpack -G DEB).
# With arguments, installs those packages instead (scripts/test-arm64.sh names its own).
set -euo pipefail
packages=(g++ cmake ninja-build pkg-config libfmt-dev nlohmann-json3-dev libcli11-dev
          libtomlplusplus-dev libcurl4-openssl-dev libssl-dev libgtest-dev libgmock-dev
          libcpp-httplib-dev
          zsh fish man-db dpkg-dev file)  # the shell integration and install tests run them
if (($#)); then packages=("$@"); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends "${missing[@]}"
fi
