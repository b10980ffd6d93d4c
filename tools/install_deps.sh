#!/usr/bin/env bash
# Installs the Debian packages autorec needs, when any is missing.
# Uses apt-get directly as root, or sudo when available; otherwise prints the
# command to run.  Quiet when everything is already installed.
# Arguments name extra packages to ensure too (e.g. clang valgrind); --torch
# stands for the PyTorch reference's (tools/torch_autorec.py, make
# bench-torch), which nothing else needs: never part of `make deps` or CI.
set -euo pipefail
args=()
for a in "$@"; do
    if [ "$a" = --torch ]; then args+=(python3-torch python3-numpy); else args+=("$a"); fi
done
set -- ${args[@]+"${args[@]}"}
# bsdutils: script(1), a terminal for the progress tests;
# libmicrohttpd-dev and libjs-dygraphs: autorec serve; curl and chromium: its tests;
# mount: the read-only and full-disk tests of tests/cli_files.sh (as root);
# procps: ps, pkill and kill, ensured though the test suite itself reads /proc.
pkgs=(gcc make pkg-config libblis-openmp-dev libyaml-dev libsqlite3-dev sqlite3 gnuplot-nox time
      bsdutils libmicrohttpd-dev libjs-dygraphs curl chromium mount procps "$@")
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install_deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install_deps: missing packages: ${missing[*]}" >&2
    echo "install_deps: run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
