#!/usr/bin/env bash
# Installs the build in $1 (default build/release) into a fresh prefix and checks what lands there:
# bin/cmdai runs, `man cmdai` renders the generated page without warnings, the completion scripts
# and docs are in place. Then, where dpkg-shlibdeps is (dpkg-dev), builds the .deb with cpack and
# checks its Depends and files. Run by ctest as InstallIntoFreshPrefix.
set -euo pipefail
build=$(cd "${1:-build/release}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cmdai-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-install: $*" >&2; exit 1; }

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" > /dev/null
[ -x "$prefix/bin/cmdai" ] || fail "no bin/cmdai"
"$prefix/bin/cmdai" --version | grep -q '^cmdai ' || fail "bin/cmdai --version"
for f in share/man/man1/cmdai.1 share/bash-completion/completions/cmdai \
         share/zsh/vendor-completions/_cmdai share/fish/vendor_completions.d/cmdai.fish \
         share/doc/cmdai/README.md share/doc/cmdai/CLI.md; do
  [ -s "$prefix/$f" ] || fail "$f is missing or empty"
done
# `man cmdai`, as man finds it for a prefix whose bin is on PATH, and `man -l` on the file.
MANWIDTH=80 MANPAGER=cat MANPATH=$prefix/share/man man --warnings cmdai > "$tmp/man.txt" 2> "$tmp/man.err" \
  || fail "man cmdai: $(cat "$tmp/man.err")"
[ ! -s "$tmp/man.err" ] || fail "man warns: $(cat "$tmp/man.err")"
grep -q -- '--model' "$tmp/man.txt" || fail "the man page lacks --model"
MANPAGER=cat man -l "$prefix/share/man/man1/cmdai.1" | grep -q 'cmdai model pull' \
  || fail "man -l does not render the page"
bash -c "source '$prefix/share/bash-completion/completions/cmdai' && complete -p cmdai" > /dev/null \
  || fail "the bash completion does not load"

if ! command -v dpkg-shlibdeps > /dev/null; then
  echo "test-install: dpkg-shlibdeps (dpkg-dev) is missing: the .deb was not built"
  exit 0
fi
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/deb" > "$tmp/cpack.log" 2>&1 \
  || fail "cpack -G DEB: $(cat "$tmp/cpack.log")"
deb=$(ls "$tmp"/deb/cmdai_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libstdc++6 libcurl4 libssl3; do
  grep -q "$lib" <<< "$depends" || fail "Depends lacks $lib: $depends"
done
dpkg-deb -c "$deb" > "$tmp/files"
for f in ./usr/bin/cmdai ./usr/share/man/man1/cmdai.1 ./usr/share/bash-completion/completions/cmdai \
         ./usr/share/zsh/vendor-completions/_cmdai ./usr/share/fish/vendor_completions.d/cmdai.fish \
         ./usr/share/doc/cmdai/README.md; do
  grep -q " $f\$" "$tmp/files" || fail "the .deb lacks $f"
done
echo "test-install: ok ($(basename "$deb"), Depends: $depends)"
