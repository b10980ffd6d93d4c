#!/usr/bin/env bash
# Training-phase benchmark: old against new binary, alternating, on the same
# machine in the same minutes.  Each round runs every binary once on each
# data set and reads the per-epoch train/eval seconds and the final test RMSE
# from its results database; the table gives, per binary and data set, the
# median over rounds of the per-run median epoch time, the median whole
# process wall time and the RMSEs seen (they must agree between binaries).
# A benchmark, not a test (no assertion on time).  Usage, from the repository
# root after `make`:
#   OLD=/tmp/autorec.main bash tools/bench_train.sh        # ROUNDS=3 SETS="ml100k ml10m"
#   SETS=ml1m THREADS=2 ROUNDS=5 OLD=... bash tools/bench_train.sh
# Sets: ml100k (configs/seed.yaml, 25 epochs), ml1m, ml10m (the synthetic
# data of $SYNTH, default /work/data-synth: hidden 500, batch 256, 2 epochs,
# top_k 0, as the issue-16 profile config).  OLD unset: the new binary alone.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SETS=${SETS:-ml100k ml10m}
THREADS=${THREADS:-2}
SYNTH=${SYNTH:-/work/data-synth}
NEW=${NEW:-./autorec}
BINS="${OLD:+$OLD }$NEW"
for b in $BINS; do
    [ -x "$b" ] || { echo "bench_train: $b is not an executable: build it (make) or fix OLD/NEW" >&2; exit 1; }
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# config_of SET: writes the config of SET and prints its path (empty when
# the data set is missing)
config_of() {
    case $1 in
    ml100k) echo configs/seed.yaml ;;
    ml1m|ml10m)
        [ -f "$SYNTH/$1/ratings.dat" ] || return 0
        cat >"$W/$1.yaml" <<EOC
name: $1-prof
data: {path: $SYNTH/$1, format: ml-1m, split: {kind: random, test_ratio: 0.1}}
model: {hidden: 500, dropout: 0.05}
train: {epochs: 2, batch_size: 256, lr: 0.002, weight_decay: 1e-5, seed: 0, threads: $THREADS, kernel: sparse, checkpoint: false}
eval: {top_k: 0}
EOC
        echo "$W/$1.yaml" ;;
    *) echo "bench_train: unknown set $1 (ml100k, ml1m, ml10m)" >&2; exit 1 ;;
    esac
}

for round in $(seq "$ROUNDS"); do
    for set in $SETS; do
        cfg=$(config_of "$set")
        [ -n "$cfg" ] || { echo "bench_train: $set: no data in $SYNTH, skipped" >&2; continue; }
        i=0
        for b in $BINS; do
            i=$((i + 1))
            db="$W/$set.$i.$round.db"
            t0=$(date +%s.%N)
            "$b" run "$cfg" --db "$db" --quiet --set train.threads="$THREADS" >"$W/out" 2>&1 ||
                { echo "bench_train: $b run $cfg failed:" >&2; cat "$W/out" >&2; exit 1; }
            t1=$(date +%s.%N)
            echo "$t1 - $t0" | bc >>"$W/$set.$i.wall"
            sqlite3 "$db" 'select train_seconds from epochs' | median >>"$W/$set.$i.train"
            sqlite3 "$db" 'select eval_seconds from epochs' | median >>"$W/$set.$i.eval"
            sqlite3 "$db" 'select printf("%.10f", final_test_rmse) from runs' >>"$W/$set.$i.rmse"
        done
    done
done

printf '%-7s %-28s %9s %9s %9s  %s\n' set binary train/ep eval/ep wall "final test RMSE (per round)"
for set in $SETS; do
    i=0
    for b in $BINS; do
        i=$((i + 1))
        [ -f "$W/$set.$i.wall" ] || continue
        printf '%-7s %-28s %9.3f %9.3f %9.2f  %s\n' "$set" "$b" \
            "$(median <"$W/$set.$i.train")" "$(median <"$W/$set.$i.eval")" \
            "$(median <"$W/$set.$i.wall")" "$(sort -u "$W/$set.$i.rmse" | tr '\n' ' ')"
    done
done
