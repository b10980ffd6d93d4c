#!/usr/bin/env bash
# Builds tools/membw.c into a temporary directory and runs it with THREADS
# (default 2) OpenMP threads: the memory bandwidth behind the training
# floors of docs/performance.md.  Usage: bash tools/membw.sh [N floats]
set -euo pipefail
cd "$(dirname "$0")/.."
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
gcc -std=c11 -O2 -march=native -fopenmp -Wall -Wextra tools/membw.c -o "$W/membw"
OMP_NUM_THREADS=${THREADS:-2} "$W/membw" "$@"
