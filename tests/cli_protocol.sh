#!/usr/bin/env bash
# Command-line tests of the paper's protocol: validation split, selection,
# early stopping, checkpoints, and the default run unchanged.
source "$(dirname "$0")/lib.sh"
make_data

test_protocol_run_records_selection() {
    local db="$T/p/r.db"
    $BIN run "$T/small.yaml" --db "$db" --set data.split.validation_ratio=0.2 \
        --set train.epochs=40 --set train.patience=3 --set train.l2=0.5 \
        --set eval.clip=auto --set eval.cold_default=3 --set 'eval.clip=[1,5]' \
        >"$T/out" 2>&1 || fail "protocol run failed: $(cat "$T/out")"
    grep -q "validation" "$T/out" || fail "no validation count: $(head -2 "$T/out")"
    grep -q "^run 1 finished: selected epoch [0-9]* by validation RMSE" "$T/out" || fail "summary: $(tail -1 "$T/out")"
    [ "$(q "$db" "SELECT count(*) FROM epochs WHERE val_rmse IS NOT NULL AND test_mae IS NOT NULL")" = \
      "$(q "$db" "SELECT epochs_done FROM runs WHERE id = 1")" ] || fail "per-epoch validation metrics"
    [ "$(q "$db" "SELECT selected_val_rmse = (SELECT min(val_rmse) FROM epochs WHERE run_id = 1) FROM runs")" = 1 ] \
        || fail "selected epoch is not the best validation epoch"
    [ -f "$T/p/checkpoints/1.ckpt" ] || fail "no checkpoint"
    [ "$(q "$db" "SELECT checkpoint FROM run_summary WHERE id = 1")" = "$T/p/checkpoints/1.ckpt" ] || fail "checkpoint path"
    q "$db" "SELECT config_yaml FROM runs" | grep -q "clip: \[1, 5\]" || fail "clip not in the resolved config"
}

test_patience_without_validation_exit_2() {
    $BIN run "$T/small.yaml" --db "$T/none.db" --set train.patience=3 >/dev/null 2>"$T/err"
    [ $? -eq 2 ] || fail "patience without a validation split should exit 2"
    grep -q "validation_ratio" "$T/err" || fail "message: $(cat "$T/err")"
    [ ! -e "$T/none.db" ] || fail "database created"
}

test_default_run_selects_last_epoch() {
    local db="$T/d.db"
    $BIN run "$T/small.yaml" --db "$db" --quiet >/dev/null || fail "default run failed"
    [ "$(q "$db" "SELECT selected_epoch = epochs_done AND selected_test_rmse = final_test_rmse FROM runs")" = 1 ] \
        || fail "default selection is not the last epoch"
    [ -f "$T/checkpoints/1.ckpt" ] || fail "no final checkpoint"
}

run_tests cli_protocol
