#!/usr/bin/env bash
# Command-line tests: drive ./autorec as a user would and check its exit
# codes, messages and the results database.  Each test_* function is one
# test; it fails by calling `fail MESSAGE`.
source "$(dirname "$0")/lib.sh"

test_help() {
    $BIN --help | grep >/dev/null "run CONFIG" || fail "autorec --help does not list run"
    $BIN run --help | grep >/dev/null -- "--set KEY=VALUE" || fail "autorec run --help lacks --set"
    $BIN frobnicate 2>"$T/err"; [ $? -eq 2 ] || fail "unknown command should exit 2"
    grep -q "unknown command 'frobnicate'" "$T/err" || fail "no message for unknown command"
}

test_run_small_records_every_epoch() {
    local db="$T/r1.db"
    $BIN run "$T/small.yaml" --db "$db" >"$T/out" 2>&1 || { fail "run failed: $(cat "$T/out")"; return; }
    [ "$(grep -c '^epoch ' "$T/out")" -eq 3 ] || fail "expected 3 epoch lines: $(cat "$T/out")"
    grep -q "^run 1 finished: test RMSE" "$T/out" || fail "no final summary"
    [ "$(q "$db" 'SELECT count(*) FROM epochs WHERE run_id = 1')" = 3 ] || fail "expected 3 epoch rows"
    [ "$(q "$db" 'SELECT status FROM runs WHERE id = 1')" = finished ] || fail "status not finished"
    local got want
    got=$(q "$db" "SELECT printf('%.6f %d', best_test_rmse, best_epoch) FROM runs")
    want=$(q "$db" "SELECT printf('%.6f %d', test_rmse, epoch) FROM epochs ORDER BY test_rmse, epoch LIMIT 1")
    [ "$got" = "$want" ] || fail "best columns '$got' != '$want'"
    got=$(q "$db" "SELECT final_test_rmse = (SELECT test_rmse FROM epochs WHERE epoch = 3) FROM runs")
    [ "$got" = 1 ] || fail "final_test_rmse is not the last epoch's"
    q "$db" "SELECT config_yaml FROM runs" >"$T/yaml"
    grep -q "hidden: 16" "$T/yaml" || fail "config_yaml not stored"
    [ "$(q "$db" 'PRAGMA user_version')" = "$SCHEMA" ] || fail "schema version"
    [ "$(q "$db" 'PRAGMA journal_mode')" = wal ] || fail "not WAL"
    [ "$(q "$db" "SELECT hidden || ' ' || batch_size || ' ' || seed || ' ' || threads || ' ' || kernel FROM runs")" = "16 16 3 2 dense" ] \
        || fail "hyper-parameter columns wrong"
}

test_same_seed_same_numbers() {
    local db="$T/det.db"
    for i in 1 2; do $BIN run "$T/small.yaml" --db "$db" --quiet >/dev/null || fail "run $i failed"; done
    $BIN run "$T/small.yaml" --db "$db" --quiet --set train.seed=4 >/dev/null || fail "run 3 failed"
    $BIN run "$T/small.yaml" --db "$db" --quiet --set train.threads=1 >/dev/null || fail "run 4 failed"
    local a b c d
    a=$(q "$db" "SELECT group_concat(printf('%.17g %.17g', train_loss, test_rmse)) FROM epochs WHERE run_id = 1")
    b=$(q "$db" "SELECT group_concat(printf('%.17g %.17g', train_loss, test_rmse)) FROM epochs WHERE run_id = 2")
    c=$(q "$db" "SELECT group_concat(printf('%.17g %.17g', train_loss, test_rmse)) FROM epochs WHERE run_id = 3")
    d=$(q "$db" "SELECT group_concat(printf('%.17g %.17g', train_loss, test_rmse)) FROM epochs WHERE run_id = 4")
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "same seed gave different epochs: '$a' vs '$b'"
    [ "$a" != "$c" ] || fail "a different seed gave identical epochs"
    [ "$a" = "$d" ] || fail "1 thread and 2 threads gave different epochs: '$a' vs '$d'"
}

test_set_override_applies() {
    local db="$T/set.db"
    $BIN run "$T/small.yaml" --db "$db" --quiet --set train.epochs=2 --set model.hidden=8 >/dev/null \
        || fail "run with --set failed"
    [ "$(q "$db" 'SELECT hidden || epochs FROM runs')" = 82 ] || fail "--set not applied"
    [ "$(q "$db" 'SELECT count(*) FROM epochs')" = 2 ] || fail "expected 2 epochs"
}

test_config_errors_leave_db_untouched() {
    local db="$T/untouched.db"
    sed 's/  lr: 0.01/  lr: 0.01\n  learning_rate: 3/' "$T/small.yaml" | sed 's/\\n/\n/' > "$T/bad1.yaml"
    printf 'name: x\ntrain:\n  lr: fast\n' > "$T/bad2.yaml"
    printf 'name: x\ntrain: [1, 2\n' > "$T/bad3.yaml"
    $BIN run "$T/bad1.yaml" --db "$db" 2>"$T/err"; [ $? -eq 2 ] || fail "unknown key should exit 2"
    grep -q "bad1.yaml:1[0-9]:[0-9]*:.*learning_rate" "$T/err" || fail "unknown key message: $(cat "$T/err")"
    $BIN run "$T/bad2.yaml" --db "$db" 2>"$T/err"; [ $? -eq 2 ] || fail "bad value should exit 2"
    grep -q "bad2.yaml:3:7:.*train.lr" "$T/err" || fail "bad value message: $(cat "$T/err")"
    $BIN run "$T/bad3.yaml" --db "$db" 2>"$T/err"; [ $? -eq 2 ] || fail "bad YAML should exit 2"
    grep -q "bad3.yaml:[0-9]*:[0-9]*:" "$T/err" || fail "YAML syntax message: $(cat "$T/err")"
    $BIN run "$T/small.yaml" --db "$db" --set train.lr=-1 2>"$T/err"; [ $? -eq 2 ] || fail "--set lr=-1 should exit 2"
    grep -q -- "--set" "$T/err" || fail "--set message: $(cat "$T/err")"
    $BIN run "$T/missing.yaml" --db "$db" 2>"$T/err"; [ $? -eq 2 ] || fail "missing config should exit 2"
    grep -q "missing.yaml" "$T/err" || fail "missing file message: $(cat "$T/err")"
    [ ! -e "$db" ] || fail "a failed config created the database"
}

test_data_errors_name_file_and_line() {
    local db="$T/dataerr.db"
    mkdir -p "$T/bad"
    printf '1\t1\t5\t1\n2\t1\tfive\t1\n' > "$T/bad/u.data"
    $BIN run "$T/small.yaml" --db "$db" --set data.path="$T/bad" 2>"$T/err"
    [ $? -eq 2 ] || fail "malformed data should exit 2"
    grep -q "u.data:2" "$T/err" || fail "message should name u.data:2: $(cat "$T/err")"
    [ ! -e "$db" ] || fail "bad data created the database"
}

signal_test() {  # $1 signal, $2 expected exit code
    local db="$T/sig$1.db"
    $BIN run "$T/small.yaml" --db "$db" --set train.epochs=100000 --set model.hidden=64 >/dev/null 2>"$T/err" &
    local pid=$!
    wait_for_epoch "$db" || fail "no epoch recorded within 60 s"
    kill -"$1" "$pid"
    wait "$pid"; local rc=$?
    [ "$rc" -eq "$2" ] || fail "SIG$1 exit code $rc, expected $2"
    [ "$(q "$db" 'SELECT status FROM runs')" = interrupted ] || fail "status not interrupted"
    [ "$(q "$db" 'SELECT count(*) FROM epochs')" -ge 1 ] || fail "finished epochs lost"
    [ "$(q "$db" 'SELECT count(*) FROM epochs WHERE test_rmse IS NULL OR train_loss IS NULL')" = 0 ] || fail "partial epoch rows"
    grep -q "interrupted by SIG$1" "$T/err" || fail "no interruption message: $(cat "$T/err")"
    [ "$(q "$db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
}
test_sigint_keeps_epochs() { signal_test INT 130; }
test_sigterm_keeps_epochs() { signal_test TERM 143; }

# The acceptance test of the reference: configs/seed.yaml on the real ML-100K,
# seeds 0..4, mean final test RMSE within 0.01 of 0.906, 25 epochs per run.
test_reproduces_reference_ml100k() {
    if [ ! -f data/ml-100k/u.data ]; then
        bash tools/get_data.sh >/dev/null || { fail "could not obtain ML-100K (set AUTOREC_DATA_MIRROR)"; return; }
    fi
    local db="$T/ref.db"
    for s in 0 1 2 3 4; do
        $BIN run configs/seed.yaml --db "$db" --set train.seed=$s --quiet || { fail "seed $s failed"; return; }
    done
    local mean rows
    mean=$(q "$db" "SELECT avg(final_test_rmse) FROM runs WHERE status = 'finished'")
    rows=$(q "$db" "SELECT group_concat(n) FROM (SELECT count(*) AS n FROM epochs GROUP BY run_id)")
    echo "    mean final test RMSE over seeds 0..4: $mean (reference 0.906)"
    [ "$rows" = "25,25,25,25,25" ] || fail "epoch rows per run: $rows"
    awk -v m="$mean" 'BEGIN { exit !(m > 0.896 && m < 0.916) }' || fail "mean RMSE $mean not within 0.01 of 0.906"
}

make_data
run_tests cli
