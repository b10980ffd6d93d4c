#!/usr/bin/env bash
# Runs the whole suite: the C unit tests (build/unit_tests) and the
# command-line tests (every tests/cli*.sh).  Prints a final line
# "N passed, N failed, N skipped" and exits non-zero on any failure (a
# skipped test is one that could not run here: not a failure, not a pass).
set -uo pipefail
cd "$(dirname "$0")/.."

total_pass=0
total_fail=0
total_skip=0
tally() {  # reads "...: N passed, N failed[, N skipped]" from the given output file
    local line
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -z "$line" ]; then
        echo "tests/run.sh: $2 printed no totals (crashed?)"; total_fail=$((total_fail + 1)); return
    fi
    total_pass=$((total_pass + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")))
    total_fail=$((total_fail + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
    if grep -qE '[0-9]+ skipped' <<<"$line"; then
        total_skip=$((total_skip + $(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")))
    fi
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== unit tests"
build/unit_tests 2>&1 | tee "$out"
unit_rc=${PIPESTATUS[0]}
tally "$out" unit_tests
if [ "$unit_rc" -ne 0 ] && ! grep -qE '[0-9]+ passed, [1-9][0-9]* failed' "$out"; then
    # every test passed but the binary failed (a sanitizer report at exit)
    echo "tests/run.sh: build/unit_tests exited with status $unit_rc"
    total_fail=$((total_fail + 1))
fi

# A suite that hangs fails instead of holding CI to its limit: each script
# gets SUITE_TIMEOUT seconds (default 1200; sanitizer builds run slower).
suite_timeout=${SUITE_TIMEOUT:-1200}
for script in tests/cli*.sh; do
    echo "== command-line tests: $script"
    start=$SECONDS
    timeout --kill-after=30 "$suite_timeout" bash "$script" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "tests/run.sh: $script did not finish within ${suite_timeout}s (SUITE_TIMEOUT): killed"
        total_fail=$((total_fail + 1))
    else
        tally "$out" "$script"
    fi
    echo "== $script: $((SECONDS - start))s"
done

echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
