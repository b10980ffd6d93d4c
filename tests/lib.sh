# lib.sh - shared helpers of the command-line test scripts (tests/cli*.sh).
# A script sources this file, defines test_* functions that call `fail`, and
# ends with `run_tests`, which runs them all and prints
# "NAME: N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=./autorec
T=$(mktemp -d)
export AUTOREC_CACHE_DIR="$T/cache"   # ratings cache: never ~/.cache
trap 'rm -rf "$T"' EXIT
pass=0; failed=0; current_ok=1

fail() { echo "    $*"; current_ok=0; }
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

# Runs every test_* function defined so far; $1 names the script.
run_tests() {
    local t
    for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
        current_ok=1
        $t
        if [ $current_ok -eq 1 ]; then pass=$((pass + 1)); echo "ok   $t"
        else failed=$((failed + 1)); echo "FAIL $t"; fi
    done
    echo "$1: $pass passed, $failed failed"
    [ $failed -eq 0 ]
}
