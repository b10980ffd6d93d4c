#!/usr/bin/env bash
# Command-line tests of model.variant glocal (GLocal-K): a run records both
# stages per epoch and selects by validation; the keys are validated before
# the database is touched; the model.glocal.* keys are grid axes.
source "$(dirname "$0")/lib.sh"
make_data

# $T/glocal.yaml: GLocal-K on the small data set, 3 pretraining and 3
# fine-tuning epochs, a validation split
cat > "$T/glocal.yaml" <<YAML
name: glocal-small
data:
  path: $T/data
  split: {kind: random, test_ratio: 0.1, validation_ratio: 0.2}
model:
  variant: glocal
  hidden: [16, 8]
  glocal: {dim: 3, pretrain_epochs: 3, pretrain_iters: 2, finetune_iters: 2, dot_scale: 0.2}
train: {epochs: 6, l2: 1, seed: 3, threads: 1, checkpoint: false}
eval: {clip: auto}
YAML

test_glocal_run_records_both_stages() {
    local db="$T/g/r.db"
    $BIN run "$T/glocal.yaml" --db "$db" >"$T/out" 2>&1 || fail "glocal run failed: $(cat "$T/out")"
    grep -q "^GLocal-K: 60 -> 16 -> 8 -> 60 kernelised layers" "$T/out" || fail "no model line: $(head -4 "$T/out")"
    grep -q "epochs 1-3 pretrain (2 iterations each), 4-6 fine-tune" "$T/out" || fail "no stage line: $(head -4 "$T/out")"
    [ "$(grep -c "^epoch   [1-3]/6 pretrain " "$T/out")" = 3 ] || fail "pretraining epochs: $(cat "$T/out")"
    [ "$(grep -c "^epoch   [4-6]/6 fine-tune " "$T/out")" = 3 ] || fail "fine-tuning epochs: $(cat "$T/out")"
    grep -q "^run 1 finished: selected epoch [1-6] by validation RMSE" "$T/out" || fail "summary: $(tail -1 "$T/out")"
    [ "$(q "$db" "SELECT variant || ' ' || epochs_done || ' ' || (checkpoint IS NULL) FROM runs")" = "glocal 6 1" ] \
        || fail "run row: $(q "$db" "SELECT variant, epochs_done, checkpoint FROM runs")"
    [ "$(q "$db" "SELECT count(*) FROM epochs WHERE val_rmse > 0 AND test_rmse > 0 AND train_loss > 0")" = 6 ] \
        || fail "epoch rows: $(q "$db" "SELECT * FROM epochs")"
    [ "$(q "$db" "SELECT selected_val_rmse = (SELECT min(val_rmse) FROM epochs) FROM runs")" = 1 ] \
        || fail "the selected epoch is not the best validation epoch"
    $BIN show 1 --db "$db" >"$T/show" 2>&1 || fail "show failed: $(cat "$T/show")"
    grep -q "pretrain_epochs: 3" "$T/show" || fail "show lacks the resolved glocal keys"
    $BIN recommend --run 1 --user 1 --db "$db" >"$T/rec" 2>"$T/err"
    [ $? -eq 1 ] || fail "recommend on a glocal run should exit 1"
    grep -q "GLocal-K run (model.variant glocal), which writes no checkpoint" "$T/err" \
        || fail "recommend message: $(cat "$T/err")"
}

# Selection never reads the test set: GLocal-K on a files split and on a
# copy whose test ratings are poisoned (1 <-> 5, 2 <-> 4) gives the same
# validation RMSE at every epoch of both stages and selects the same epoch,
# while the test RMSE differs.
test_glocal_selection_never_reads_test() {
    local d
    for d in data bad; do
        mkdir -p "$T/gp/$d"
        awk -F'\t' '($1 + $2) % 7 != 0' "$T/data/u.data" > "$T/gp/$d/u1.base"
        cp "$T/data/u.data" "$T/gp/$d/u.data"
    done
    awk -F'\t' '($1 + $2) % 7 == 0' "$T/data/u.data" > "$T/gp/data/u1.test"
    awk -F'\t' -v OFS='\t' '($1 + $2) % 7 == 0 { $3 = 6 - $3; print }' "$T/data/u.data" > "$T/gp/bad/u1.test"
    for d in data bad; do
        sed -e "s|path: $T/data|path: $T/gp/$d|" \
            -e "s|split: {kind: random, test_ratio: 0.1, validation_ratio: 0.2}|split: {kind: files, train_file: u1.base, test_file: u1.test, validation_ratio: 0.2}|" \
            "$T/glocal.yaml" > "$T/gp/$d.yaml"
        grep -q "kind: files" "$T/gp/$d.yaml" || { fail "the config was not rewritten: $(cat "$T/gp/$d.yaml")"; return; }
        $BIN run "$T/gp/$d.yaml" --db "$T/gp/$d.db" --quiet >"$T/gp/$d.out" 2>&1 || { fail "$d run failed: $(cat "$T/gp/$d.out")"; return; }
    done
    local ep="SELECT group_concat(epoch || ':' || val_rmse, ' ') FROM (SELECT epoch, val_rmse FROM epochs ORDER BY epoch)"
    local sel="SELECT selected_epoch || '/' || selected_val_rmse FROM runs"
    [ "$(q "$T/gp/data.db" "SELECT count(*) FROM epochs WHERE val_rmse > 0")" = 6 ] || fail "no validation RMSE per epoch"
    [ "$(q "$T/gp/data.db" "$ep")" = "$(q "$T/gp/bad.db" "$ep")" ] \
        || fail "validation RMSE moved with the test ratings: $(q "$T/gp/data.db" "$ep") vs $(q "$T/gp/bad.db" "$ep")"
    [ "$(q "$T/gp/data.db" "$sel")" = "$(q "$T/gp/bad.db" "$sel")" ] \
        || fail "selection moved: $(q "$T/gp/data.db" "$sel") vs $(q "$T/gp/bad.db" "$sel")"
    [ "$(q "$T/gp/data.db" "SELECT result_test_rmse FROM runs")" != "$(q "$T/gp/bad.db" "SELECT result_test_rmse FROM runs")" ] \
        || fail "the poisoned test set gave the same test RMSE"
}

test_glocal_bad_configs_exit_2() {
    $BIN run "$T/glocal.yaml" --db "$T/ck.db" --set train.checkpoint=true >"$T/out" 2>"$T/err"
    [ $? -eq 2 ] || fail "train.checkpoint: true with glocal should exit 2"
    grep -q "set train.checkpoint: false" "$T/err" || fail "message: $(cat "$T/err")"
    $BIN run "$T/glocal.yaml" --db "$T/ck.db" --set model.glocal.pretrain_epochs=7 >"$T/out" 2>"$T/err"
    [ $? -eq 2 ] || fail "pretrain_epochs above train.epochs should exit 2"
    grep -q "more than train.epochs 6" "$T/err" || fail "message: $(cat "$T/err")"
    $BIN run "$T/glocal.yaml" --db "$T/ck.db" --set model.glocal.dim=0 >"$T/out" 2>"$T/err"
    [ $? -eq 2 ] || fail "dim 0 should exit 2"
    grep -q "model.glocal.dim" "$T/err" || fail "message: $(cat "$T/err")"
    $BIN run "$T/glocal.yaml" --db "$T/ck.db" --set 'model.hidden=[1000000,1000000]' >"$T/out" 2>"$T/err"
    [ $? -eq 2 ] || fail "a model larger than memory should exit 2"
    grep -q "model.variant glocal on 80 items x 60 users needs about .* GB" "$T/err" || fail "message: $(cat "$T/err")"
    $BIN bench --config "$T/glocal.yaml" --db "$T/ck.db" --repeats 1 >"$T/out" 2>"$T/err"
    [ $? -eq 2 ] || fail "bench of a glocal config should exit 2"
    grep -q "bench times AutoRec's kernels" "$T/err" || fail "bench message: $(cat "$T/err")"
    [ ! -e "$T/ck.db" ] || fail "database created"
}

test_glocal_keys_are_grid_axes() {
    local db="$T/grid/r.db"
    $BIN grid "$T/glocal.yaml" --db "$db" --workers 1 --threads 1 \
        --set 'grid.model.glocal.sparsity=[0.001, 0.1]' --set train.epochs=4 >"$T/out" 2>&1 \
        || fail "grid failed: $(cat "$T/out")"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'finished' AND variant = 'glocal'")" = 2 ] \
        || fail "runs: $(q "$db" "SELECT id, status, variant, error FROM runs")"
    [ "$(q "$db" "SELECT count(DISTINCT final_test_rmse) FROM runs")" = 2 ] || fail "the sparsity axis changed nothing"
}

test_glocal_interrupted_keeps_epochs() {
    local db="$T/int/r.db"
    $BIN run "$T/glocal.yaml" --db "$db" --set train.epochs=1000000 --quiet >/dev/null 2>&1 &
    local pid=$!
    wait_for_epoch "$db" 3 || fail "no epoch recorded"
    kill -INT $pid
    wait $pid
    local rc=$?
    [ $rc -eq 130 ] || fail "interrupted glocal run exit $rc"
    [ "$(q "$db" "SELECT status || ' ' || (epochs_done = (SELECT count(*) FROM epochs)) FROM runs")" = "interrupted 1" ] \
        || fail "run row: $(q "$db" "SELECT status, epochs_done FROM runs")"
}

run_tests cli_glocal
