#!/usr/bin/env bash
# Command-line tests of the model variants: activations and deep stacks.
source "$(dirname "$0")/lib.sh"

# A deep stack with elu trains with both kernels to the same per-epoch test
# RMSE; the stored config records the list and the activations, and
# re-running that stored config reproduces the run exactly.
test_deep_elu_dense_sparse_and_stored_config() {
    make_data
    local db="$T/m.db"
    local set=(--set 'model.hidden=[16, 8, 16]' --set model.activation.encoder=elu)
    $BIN run "$T/small.yaml" --db "$db" --quiet "${set[@]}" --set train.kernel=dense >/dev/null \
        || { fail "dense deep run failed"; return; }
    $BIN run "$T/small.yaml" --db "$db" --quiet "${set[@]}" --set train.kernel=sparse >"$T/out" \
        || { fail "sparse deep run failed: $(cat "$T/out")"; return; }
    local worst
    worst=$(q "$db" "SELECT printf('%.6f', max(abs(a.test_rmse - b.test_rmse))) FROM epochs a JOIN epochs b
                     ON a.epoch = b.epoch WHERE a.run_id = 1 AND b.run_id = 2")
    awk -v w="$worst" 'BEGIN { exit !(w < 0.001) }' || fail "dense and sparse differ by $worst"
    q "$db" "SELECT config_yaml FROM runs WHERE id = 2" > "$T/stored.yaml"
    grep -q '^  hidden: \[16, 8, 16\]' "$T/stored.yaml" || fail "stored hidden: $(grep hidden "$T/stored.yaml")"
    grep -q '^    encoder: elu' "$T/stored.yaml" || fail "stored encoder: $(grep encoder "$T/stored.yaml")"
    grep -q '^    decoder: identity' "$T/stored.yaml" || fail "stored decoder missing"
    $BIN run "$T/stored.yaml" --db "$db" --quiet >/dev/null || { fail "stored config did not run"; return; }
    [ "$(q "$db" "SELECT count(DISTINCT test_rmse) FROM epochs WHERE run_id IN (2, 3) GROUP BY epoch" | sort -u)" = 1 ] \
        || fail "re-run of the stored config differs"
}

# The shallow sigmoid default and its explicit spelling are the same run.
test_explicit_defaults_identical() {
    make_data
    local db="$T/d.db"
    $BIN run "$T/small.yaml" --db "$db" --quiet >/dev/null || fail "default run failed"
    $BIN run "$T/small.yaml" --db "$db" --quiet --set 'model.hidden=[16]' \
        --set model.activation.encoder=sigmoid --set model.activation.decoder=identity >/dev/null \
        || fail "explicit run failed"
    [ "$(q "$db" "SELECT count(DISTINCT test_rmse) FROM epochs GROUP BY epoch" | sort -u)" = 1 ] \
        || fail "explicit defaults differ from the defaults"
}

# Bad values are refused with the key and what is allowed (exit status 2).
test_bad_model_values_refused() {
    make_data
    local rc=0
    $BIN run "$T/small.yaml" --db "$T/b.db" --set model.activation.decoder=softmax >"$T/out" 2>&1 || rc=$?
    [ $rc = 2 ] || fail "exit status $rc"
    grep -q 'model.activation.decoder: "softmax" is not a valid choice' "$T/out" || fail "$(cat "$T/out")"
    rc=0
    $BIN run "$T/small.yaml" --db "$T/b.db" --set 'model.hidden=[16, 0]' >"$T/out" 2>&1 || rc=$?
    [ $rc = 2 ] || fail "exit status $rc"
    grep -q 'model.hidden: "\[16, 0\]" is out of range' "$T/out" || fail "$(cat "$T/out")"
}

run_tests cli_model
