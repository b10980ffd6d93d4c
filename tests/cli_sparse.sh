#!/usr/bin/env bash
# Command-line tests of the sparse kernels and the synthetic data generator.
source "$(dirname "$0")/lib.sh"

ensure_ml100k() {
    [ -f data/ml-100k/u.data ] || bash tools/get_data.sh >/dev/null
}

# Per-epoch test RMSE of the dense and sparse kernels agree to 1e-3 on
# ML-100K with the reference config (same seed); auto picks sparse there.
test_sparse_matches_dense_on_ml100k() {
    ensure_ml100k || { fail "could not obtain ML-100K (set AUTOREC_DATA_MIRROR)"; return; }
    local db="$T/k.db"
    $BIN run configs/seed.yaml --db "$db" --quiet --set train.kernel=dense >/dev/null || fail "dense run failed"
    $BIN run configs/seed.yaml --db "$db" --quiet --set train.kernel=sparse >/dev/null || fail "sparse run failed"
    $BIN run configs/seed.yaml --db "$db" --quiet --set train.epochs=1 >/dev/null || fail "auto run failed"
    [ "$(q "$db" 'SELECT kernel FROM runs WHERE id = 3')" = sparse ] || fail "auto did not pick sparse on ML-100K"
    local n worst
    n=$(q "$db" "SELECT count(*) FROM epochs a JOIN epochs b ON a.epoch = b.epoch WHERE a.run_id = 1 AND b.run_id = 2")
    worst=$(q "$db" "SELECT printf('%.6f', max(abs(a.test_rmse - b.test_rmse))) FROM epochs a JOIN epochs b
                     ON a.epoch = b.epoch WHERE a.run_id = 1 AND b.run_id = 2")
    echo "    dense vs sparse: largest per-epoch test RMSE difference $worst over $n epochs"
    [ "$n" = 25 ] || fail "expected 25 paired epochs, got $n"
    awk -v w="$worst" 'BEGIN { exit !(w < 0.001) }' || fail "RMSE differs by $worst"
}

# The sparse kernels never allocate an items x users matrix: 20000 items x
# 40000 users (3.2 GB dense) trains within a 1.5 GB address-space limit,
# while the dense kernels are refused with an out-of-memory message.
# (Under AddressSanitizer, which reserves terabytes of address space, the
# limit cannot be set: there the peak resident memory is checked instead.)
test_sparse_memory_grows_with_ratings() {
    $BIN synth --users 40000 --items 20000 --ratings 800000 --seed 1 -o "$T/big" >/dev/null \
        || { fail "synth failed"; return; }
    printf 'name: big\ndata: {path: %s, format: ml-1m}\nmodel: {hidden: 16}\ntrain: {epochs: 1}\n' \
        "$T/big" > "$T/big.yaml"
    if [ -n "${AUTOREC_SAN:-}" ]; then
        /usr/bin/time -f '%M' -o "$T/rss" $BIN run "$T/big.yaml" --db "$T/big.db" --quiet \
            --set train.kernel=sparse >"$T/out" 2>&1 || fail "sparse run failed: $(cat "$T/out")"
        [ "$(cat "$T/rss")" -lt 1500000 ] || fail "sparse run used $(cat "$T/rss") KB"
    else
        (ulimit -v 1500000; $BIN run "$T/big.yaml" --db "$T/big.db" --quiet --set train.kernel=sparse) \
            >"$T/out" 2>&1 || fail "sparse run failed under 1.5 GB: $(cat "$T/out")"
        (ulimit -v 1500000; $BIN run "$T/big.yaml" --db "$T/big.db" --quiet --set train.kernel=dense) \
            >"$T/out" 2>&1 && fail "dense run unexpectedly fit in 1.5 GB"
        grep -q "out of memory" "$T/out" || fail "dense failure message: $(cat "$T/out")"
    fi
    [ "$(q "$T/big.db" "SELECT count(*) FROM runs WHERE status = 'finished' AND kernel = 'sparse'")" = 1 ] \
        || fail "sparse run not recorded"
}

# synth writes exactly the requested ratings, no duplicate pairs, stars 1..5,
# deterministically per seed; and the data carry a learnable signal: a short
# training run beats the global-mean predictor (RMSE = sd of the ratings).
test_synth_data_and_signal() {
    $BIN synth --users 300 --items 2000 --ratings 60000 --rank 3 --noise 0.3 --seed 5 -o "$T/s1" >/dev/null \
        || { fail "synth failed"; return; }
    $BIN synth --users 300 --items 2000 --ratings 60000 --rank 3 --noise 0.3 --seed 5 -o "$T/s2" >/dev/null
    cmp -s "$T/s1/ratings.dat" "$T/s2/ratings.dat" || fail "same seed, different files"
    [ "$(wc -l < "$T/s1/ratings.dat")" = 60000 ] || fail "wrong number of ratings"
    [ "$(awk -F'::' '{print $1 "-" $2}' "$T/s1/ratings.dat" | sort | uniq -d | wc -l)" = 0 ] || fail "duplicate pairs"
    awk -F'::' '$3 < 1 || $3 > 5 || $1 < 1 || $1 > 300 || $2 < 1 || $2 > 2000 { bad = 1 } END { exit bad }' \
        "$T/s1/ratings.dat" || fail "rating or id out of range"
    local sd rmse
    sd=$(rating_sd "$T/s1/ratings.dat")
    printf 'name: s\ndata: {path: %s, format: ml-1m}\nmodel: {hidden: 32, dropout: 0.1}\n' "$T/s1" > "$T/s.yaml"
    printf 'train: {epochs: 30, batch_size: 64, lr: 0.005, weight_decay: 1e-4, kernel: sparse}\n' >> "$T/s.yaml"
    $BIN run "$T/s.yaml" --db "$T/s.db" --quiet >/dev/null || { fail "training on synth failed"; return; }
    rmse=$(q "$T/s.db" 'SELECT best_test_rmse FROM runs')
    echo "    synthetic data: best test RMSE $rmse vs global-mean predictor $sd"
    awk -v r="$rmse" -v s="$sd" 'BEGIN { exit !(r < 0.93 * s) }' || fail "no signal learnt: $rmse vs sd $sd"
    $BIN synth --users 10 --items 10 --ratings 1000 -o "$T/s3" 2>"$T/err"; [ $? -eq 1 ] || fail "impossible shape accepted"
    grep -q "ratings" "$T/err" || fail "shape error message: $(cat "$T/err")"
}

run_tests cli_sparse
