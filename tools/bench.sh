#!/usr/bin/env bash
# `make bench`: wall-clock benchmark of configs/seed.yaml (25 epochs, ML-100K).
# Prints the median over REPEATS whole-process runs for each kernel and
# thread count, and the ratio to the PyTorch 1.13 reference (about 7 s on this
# 2-core machine, as measured for the project; PyTorch is not installed here).
# A benchmark, not a test: timings on shared machines are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-5}
DB=$(mktemp -d)/bench.db
trap 'rm -rf "$(dirname "$DB")"' EXIT
ncores=$(nproc)

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# bench LABEL EPOCHS REPEATS --set ...: prints median wall seconds and RMSE
bench() {
    local label=$1 epochs=$2 reps=$3; shift 3
    local times=() t0 t1
    for _ in $(seq "$reps"); do
        t0=$(date +%s.%N)
        ./autorec run configs/seed.yaml --db "$DB" --quiet --set train.epochs="$epochs" "$@" >/dev/null
        t1=$(date +%s.%N)
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
    done
    local med per_epoch rmse
    med=$(printf '%s\n' "${times[@]}" | median)
    per_epoch=$(sqlite3 "$DB" "SELECT printf('%.3f', avg(train_seconds + eval_seconds)) FROM epochs
                                WHERE run_id = (SELECT max(id) FROM runs)")
    rmse=$(sqlite3 "$DB" "SELECT printf('%.4f', final_test_rmse) FROM runs WHERE id = (SELECT max(id) FROM runs)")
    printf '%-28s %3d epochs  median wall %7.2f s over %d  (%s s/epoch, test RMSE %s)\n' \
        "$label" "$epochs" "$med" "$reps" "$per_epoch" "$rmse"
    echo "$med"  > "$DB.$label"
}

echo "autorec benchmark: configs/seed.yaml on $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
bench "dense, $ncores threads" 25 "$REPEATS" --set train.kernel=dense --set train.threads=0
bench "dense, 1 thread" 25 "$REPEATS" --set train.kernel=dense --set train.threads=1
bench "naive, $ncores threads" 1 1 --set train.kernel=naive --set train.threads=0
dense=$(cat "$DB.dense, $ncores threads")
echo "PyTorch 1.13 reference: about 7 s for 25 epochs on this machine (not measured here)"
printf 'dense (%d threads) is %.1fx faster than the PyTorch reference\n' "$ncores" "$(awk -v d="$dense" 'BEGIN { print 7 / d }')"
