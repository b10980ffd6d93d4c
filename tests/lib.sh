# lib.sh - shared helpers of the command-line test scripts (tests/cli*.sh).
# A script sources this file, defines test_* functions that call `fail` (or
# `skip REASON; return` when the test cannot run on this machine), and ends
# with `run_tests`, which runs them all, prints "ok   test_x", "FAIL test_x"
# or "SKIP test_x: reason" for each, and "NAME: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=./autorec
T=$(mktemp -d)
export AUTOREC_CACHE_DIR="$T/cache"   # ratings cache: never ~/.cache
trap 'rm -rf "$T"' EXIT
# the schema version a new or migrated database gets (src/db.h, found
# through the real tests/ directory: the SAN=1 tree links only tests/)
SCHEMA=$(sed -n 's/^#define DB_SCHEMA_VERSION \([0-9]*\).*/\1/p' \
    "$(cd tests && pwd -P)/../src/db.h")
[ -n "$SCHEMA" ] || { echo "tests/lib.sh: no DB_SCHEMA_VERSION in src/db.h"; exit 1; }
pass=0; failed=0; skipped=0; current_ok=1; current_skip=

fail() { echo "    $*"; current_ok=0; }
# skip REASON: the current test cannot run here (a missing privilege or
# tool); it is counted as skipped, never as passed.  The caller returns.
skip() { current_skip=${*:-no reason given}; }

# parent_pid PID: the parent process id of PID, read from /proc (empty
# when PID does not exist).
parent_pid() {
    local rest
    rest=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    rest=${rest##*) }
    rest=${rest#* }
    echo "${rest%% *}"
}

# child_pids PID: the process ids whose parent is PID, one per line in
# ascending order (oldest first, as `ps --ppid` lists them), read from /proc
# (no procps needed).
child_pids() {
    local f
    for f in /proc/[0-9]*/stat; do
        f=${f#/proc/}; f=${f%/stat}
        if [ "$(parent_pid "$f")" = "$1" ]; then echo "$f"; fi
    done | sort -n
}
q() { sqlite3 -batch -noheader "$1" "$2"; }

# Waits until the database $1 has at least ${2:-1} epoch rows (or 60 s).
wait_for_epoch() {
    local want=${2:-1}
    for _ in $(seq 600); do
        [ -e "$1" ] && [ "$(q "$1" 'SELECT count(*) FROM epochs' 2>/dev/null)" -ge "$want" ] 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# A small synthetic ML-100K-format data set in $T/data: 60 users x 80 items,
# ~35% dense; and $T/small.yaml, a 3-epoch config on it.
make_data() {
    mkdir -p "$T/data"
    awk 'BEGIN { srand(7); for (u = 1; u <= 60; u++) for (i = 1; i <= 80; i++)
         if (rand() < 0.35) { r = int(1 + 5 * rand()); if (r > 5) r = 5;
         printf "%d\t%d\t%d\t8813%05d\n", u, i, r, u * 100 + i } }' > "$T/data/u.data"
    cat > "$T/small.yaml" <<YAML
name: small
data:
  path: $T/data
  format: ml-100k
  split:
    kind: random
    test_ratio: 0.1
model:
  hidden: 16
  dropout: 0.05
train:
  epochs: 3
  batch_size: 16
  lr: 0.01
  weight_decay: 1.0e-5
  seed: 3
  threads: 2
YAML
}

# The standard deviation of the ratings of the ML-1M-format file $1: the
# RMSE of the global-mean predictor, the bar a model that learns must beat.
rating_sd() {
    awk -F'::' '{ s += $3; q += $3 * $3; n++ } END { m = s / n; print sqrt(q / n - m * m) }' "$1"
}

# Runs every test_* function defined so far (only those whose name
# contains $ONLY when it is set, as build/unit_tests SUBSTR does for
# suites); $1 names the script.
run_tests() {
    local t
    for t in $(declare -F | awk '{print $3}' | grep '^test_' | grep -F -- "${ONLY:-}"); do
        current_ok=1; current_skip=
        $t
        if [ $current_ok -eq 0 ]; then failed=$((failed + 1)); echo "FAIL $t"
        elif [ -n "$current_skip" ]; then skipped=$((skipped + 1)); echo "SKIP $t: $current_skip"
        else pass=$((pass + 1)); echo "ok   $t"; fi
    done
    echo "$1: $pass passed, $failed failed, $skipped skipped"
    [ $failed -eq 0 ]
}
