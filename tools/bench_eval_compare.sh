#!/usr/bin/env bash
# bench_eval_compare.sh - the evaluation and ranking times of this tree
# against another commit's, by one harness (tools/bench_eval_harness.c)
# linked against each build, run in alternation (ROUNDS rounds each, the
# medians printed per process), so a noisy machine slows both alike.
#
# usage: tools/bench_eval_compare.sh BASE_COMMIT PROCESSES [KEY=VALUE]...
#   e.g. tools/bench_eval_compare.sh a816fff 3 data.path=DIR data.format=ml-1m
# ROUNDS (default 3): timed rounds per process.  BASE_DIR: build the base
# there and keep it (a later call with the same BASE_DIR reuses the build);
# default: a temporary directory, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: $0 BASE_COMMIT PROCESSES [KEY=VALUE]...}
procs=${2:?usage: $0 BASE_COMMIT PROCESSES [KEY=VALUE]...}
shift 2
rounds=${ROUNDS:-3}
if [ -n "${BASE_DIR:-}" ]; then
    tmp=$BASE_DIR
    mkdir -p "$tmp"
else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
fi
if [ "$(cat "$tmp/.base" 2>/dev/null)" != "$base" ]; then
    git archive "$base" | tar -x -C "$tmp"
    echo "building $base in $tmp ..."
    make -C "$tmp" -j2 autorec >"$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; exit 1; }
    echo "$base" >"$tmp/.base"
fi
make -j2 autorec >/dev/null
flags=$(cat build/flags.txt | sed 's/^[^ ]* //')
for side in base new; do
    dir=$([ $side = base ] && echo "$tmp" || pwd)
    objs=$(ls "$dir"/build/*.o | grep -v '/main.o$')
    # shellcheck disable=SC2086
    gcc $flags -I"$dir/src" -o "$tmp/harness-$side" tools/bench_eval_harness.c $objs \
        "$(sed -n 's/^BLIS_A *?= *//p' Makefile | sed "s/\$(shell gcc -print-multiarch)/$(gcc -print-multiarch)/")" \
        $(pkg-config --libs yaml-0.1 sqlite3 libmicrohttpd) -lm -lpthread
done
for p in $(seq "$procs"); do
    for side in base new; do
        printf '%s %s ' "$side" "$p"
        "$tmp/harness-$side" configs/seed.yaml "$rounds" train.checkpoint=false "$@"
    done
done
