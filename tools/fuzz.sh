#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/fuzz_*.c: the config parser, the
# ratings parsers, the --set parser) for FUZZ_SECONDS seconds each (default
# 60), starting from the seed corpus tests/fuzz/corpus/TARGET/ and the saved
# crash inputs tests/fuzz/regressions/TARGET/.  New interesting inputs go to
# a scratch copy of the corpus, not into the tree.  `make fuzz` runs it.
#
# A crash, leak, timeout or broken invariant fails the script; the input is
# saved in build/fuzz/artifacts/TARGET/.  Make it a regression test:
#   cp build/fuzz/artifacts/TARGET/crash-* tests/fuzz/regressions/TARGET/
# (the unit suite replays every file there: tests/test_faults_fuzz.c), fix
# the bug, and check with: build/fuzz/fuzz_TARGET tests/fuzz/regressions/TARGET/*
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
bash tools/install_deps.sh clang libclang-rt-14-dev
make --no-print-directory fuzz-build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
failed=0
for bin in build/fuzz/fuzz_*; do
    t=${bin#build/fuzz/fuzz_}
    mkdir -p "$work/$t" "build/fuzz/artifacts/$t"
    cp tests/fuzz/corpus/"$t"/* "$work/$t"/
    cp tests/fuzz/regressions/"$t"/* "$work/$t"/ 2>/dev/null || true
    rc=0
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$t/" \
        "$work/$t" >"$work/$t.log" 2>&1 || rc=$?
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/$t.log" | grep -Eo '[0-9]+$' || echo '?')
    cov=$(grep -Eo 'cov: [0-9]+' "$work/$t.log" | tail -n 1 || true)
    if [ "$rc" -eq 0 ]; then
        echo "ok   fuzz_$t: $runs inputs in ${secs}s, $cov, corpus $(ls "$work/$t" | wc -l) files"
    else
        failed=$((failed + 1))
        echo "FAIL fuzz_$t (exit $rc):"
        grep -E -A30 'ERROR|runtime error|invariant broken|deadly signal|Timeout' "$work/$t.log" | head -60
        echo "  input saved in: $(ls build/fuzz/artifacts/"$t"/ | sed "s|^|build/fuzz/artifacts/$t/|" | tr '\n' ' ')"
        echo "  make it a regression test: cp build/fuzz/artifacts/$t/<file> tests/fuzz/regressions/$t/"
    fi
done
echo "fuzz: $failed failed"
[ "$failed" -eq 0 ]
