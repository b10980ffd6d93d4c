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
    [ -f "$T/p/checkpoints/$(basename "$db")/1.ckpt" ] || fail "no checkpoint"
    [ "$(q "$db" "SELECT checkpoint FROM run_summary WHERE id = 1")" = "$T/p/checkpoints/$(basename "$db")/1.ckpt" ] || fail "checkpoint path"
    q "$db" "SELECT config_yaml FROM runs" >"$T/yaml"
    grep -q "clip: \[1, 5\]" "$T/yaml" || fail "clip not in the resolved config"
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
    [ -f "$T/checkpoints/d.db/1.ckpt" ] || fail "no final checkpoint"
}

# mean, sample sd and t-interval bounds of the selected test RMSE of the
# finished runs of $1 (t = $2), computed here with awk
expected_summary() {
    q "$1" "SELECT selected_test_rmse FROM runs WHERE status = 'finished' ORDER BY grid_point" |
        awk -v t="$2" '{ x[NR] = $1; s += $1 } END { m = s / NR; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2;
            sd = sqrt(v / (NR - 1)); h = t * sd / sqrt(NR); printf "%.10f %.10f %.10f %.10f\n", m, sd, m - h, m + h }'
}

test_repeats_run_k_splits_and_summary() {
    local db="$T/rep/r.db"
    $BIN run "$T/small.yaml" --db "$db" --set data.split.repeats=3 --set data.split.validation_ratio=0.2 \
        --set train.threads=1 >"$T/out" 2>&1 || fail "repeats run failed: $(cat "$T/out")"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'finished'")" = 3 ] || fail "not 3 finished runs"
    [ "$(q "$db" "SELECT group_concat(split_index || ':' || split_seed, ',') FROM (SELECT * FROM runs ORDER BY grid_point)")" = "0:3,1:4,2:5" ] \
        || fail "split index/seed per run: $(q "$db" "SELECT split_index, split_seed FROM runs")"
    [ "$(q "$db" "SELECT count(DISTINCT final_test_rmse) FROM runs")" = 3 ] || fail "the three splits gave equal results"
    [ "$(q "$db" "SELECT count(*) FROM split_summaries")" = 1 ] || fail "not one summary row"
    local want got
    want=$(expected_summary "$db" 4.3027)
    got=$(q "$db" "SELECT printf('%.10f %.10f %.10f %.10f', selected_test_mean, selected_test_sd, selected_test_ci_lo, selected_test_ci_hi) FROM split_summaries")
    [ "$want" = "$got" ] || fail "summary $got, computed $want"
    [ "$(q "$db" "SELECT n || '/' || splits || ' ' || split_kind FROM split_summaries")" = "3/3 random" ] || fail "summary counts"
    grep -q "^split summaries" "$T/out" || fail "run did not print the summary: $(cat "$T/out")"
    $BIN summary --db "$db" >"$T/sum" || fail "summary command failed"
    grep -q "random     3/3" "$T/sum" || fail "summary output: $(cat "$T/sum")"
    $BIN show 2 --db "$db" | grep >/dev/null "^split       random index 1 (split seed 4); over 3/3 splits: selected test RMSE" \
        || fail "show: $($BIN show 2 --db "$db" | head -12)"
    [ "$(q "$db" "SELECT group_concat(threads) FROM runs")" = "1,1,1" ] || fail "train.threads not kept"
    # the same command again resumes: nothing new
    $BIN run "$T/small.yaml" --db "$db" --set data.split.repeats=3 --set data.split.validation_ratio=0.2 \
        >/dev/null 2>&1 || fail "rerun failed"
    [ "$(q "$db" "SELECT count(*) FROM runs")" = 3 ] || fail "rerun added runs"
}

test_repeats_resume_after_interrupt() {
    local db="$T/int/r.db"
    $BIN run "$T/small.yaml" --db "$db" --set data.split.repeats=3 --set train.epochs=1500 \
        --set train.threads=1 >/dev/null 2>&1 &
    local pid=$!
    wait_for_epoch "$db" 3 || fail "no epoch recorded"
    kill -INT $pid
    wait $pid
    local rc=$?
    [ $rc -eq 130 ] || fail "interrupted run exit $rc"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'interrupted'")" = 1 ] || fail "no interrupted run"
    $BIN run "$T/small.yaml" --db "$db" --set data.split.repeats=3 --set train.epochs=1500 \
        --set train.threads=1 >"$T/out" 2>&1 || fail "resume failed: $(tail -3 "$T/out")"
    [ "$(q "$db" "SELECT count(*) || ' ' || count(DISTINCT grid_point) || ' ' || sum(status = 'finished') FROM runs")" = "3 3 3" ] \
        || fail "after resume: $(q "$db" "SELECT id, grid_point, status FROM runs")"
    [ "$(q "$db" "SELECT n FROM split_summaries")" = 3 ] || fail "summary not over 3 runs"
}

# u1.base/u1.test ... u5.base/u5.test from $T/data/u.data (line i in fold i % 5)
make_folds() {
    local k
    for k in 1 2 3 4 5; do
        awk -v k=$k '(NR % 5) + 1 == k' "$T/data/u.data" >"$T/data/u$k.test"
        awk -v k=$k '(NR % 5) + 1 != k' "$T/data/u.data" >"$T/data/u$k.base"
    done
}

test_folds_run_five_and_missing_fold() {
    make_folds
    local db="$T/folds/r.db"
    $BIN run "$T/small.yaml" --db "$db" --set data.split.kind=folds >"$T/out" 2>&1 || fail "folds run failed: $(cat "$T/out")"
    [ "$(q "$db" "SELECT group_concat(split_kind || split_index, ',') FROM (SELECT * FROM runs ORDER BY grid_point)")" = \
      "folds0,folds1,folds2,folds3,folds4" ] || fail "fold runs: $(q "$db" "SELECT split_kind, split_index FROM runs")"
    [ "$(q "$db" "SELECT split_seed IS NULL FROM runs LIMIT 1")" = 1 ] || fail "folds without validation need no split seed"
    local want got
    want=$(expected_summary "$db" 2.7764)
    got=$(q "$db" "SELECT printf('%.10f %.10f %.10f %.10f', selected_test_mean, selected_test_sd, selected_test_ci_lo, selected_test_ci_hi) FROM split_summaries")
    [ "$want" = "$got" ] || fail "folds summary $got, computed $want"
    mv "$T/data/u4.base" "$T/data/u4.base.away"
    $BIN run "$T/small.yaml" --db "$T/nofold.db" --set data.split.kind=folds >/dev/null 2>"$T/err"
    [ $? -eq 2 ] || fail "a missing fold file should exit 2"
    grep -q "fold 4's training file $T/data/u4.base: No such file" "$T/err" || fail "message: $(cat "$T/err")"
    [ ! -e "$T/nofold.db" ] || fail "database created"
    mv "$T/data/u4.base.away" "$T/data/u4.base"
}

test_grid_with_repeats_multiplies_points() {
    local db="$T/grid/r.db"
    cat "$T/small.yaml" >"$T/g.yaml"
    printf 'grid:\n  model.hidden: [8, 12]\n' >>"$T/g.yaml"
    $BIN grid "$T/g.yaml" --db "$db" --set data.split.repeats=2 >"$T/out" 2>&1 || fail "grid failed: $(cat "$T/out")"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'finished'")" = 4 ] || fail "not 4 runs"
    [ "$(q "$db" "SELECT group_concat(group_point || '=' || params || ':' || n, ',') FROM split_summaries")" = "0=hidden=8:2,2=hidden=12:2" ] \
        || fail "summaries: $(q "$db" "SELECT * FROM split_summaries")"
    $BIN grid "$T/g.yaml" --db "$db" --set data.split.repeats=2 --dry-run | grep >/dev/null "4 points (model.hidden,data.split.index)" \
        || fail "dry run does not list the split axis"
}

# train.refit: the selection run, then the refit on train + validation for
# the selected epochs; recorded, printed and summarised, shown by ls, show,
# summary and best; refused without a validation split
test_refit_run_records_and_reports() {
    local db="$T/refit/r.db"
    $BIN run "$T/small.yaml" --db "$db" --set data.split.validation_ratio=0.2 \
        --set train.epochs=12 --set train.refit=true --set train.schedule=cosine \
        >"$T/out" 2>&1 || fail "refit run failed: $(cat "$T/out")"
    local sel
    sel=$(q "$db" "SELECT selected_epoch FROM runs WHERE id = 1")
    [ "$(grep -c '^refit ' "$T/out")" = "$sel" ] || fail "not $sel refit lines: $(grep -c '^refit ' "$T/out")"
    grep -q "refit on train + validation for $sel epochs: test RMSE" "$T/out" || fail "summary: $(tail -1 "$T/out")"
    [ "$(q "$db" "SELECT count(*) FROM refit_epochs WHERE run_id = 1")" = "$sel" ] || fail "refit epochs not recorded"
    [ "$(q "$db" "SELECT refit_epochs = selected_epoch AND refit = 1 AND refit_test_rmse = (SELECT test_rmse FROM refit_epochs WHERE epoch = $sel) FROM run_summary")" = 1 ] \
        || fail "refit columns"
    $BIN ls --db "$db" | grep >/dev/null "refit RMSE" || fail "ls has no refit column"
    $BIN show 1 --db "$db" >"$T/show" || fail "show failed"
    grep -q "^refit       on train + validation for $sel epochs" "$T/show" || fail "show: no refit line"
    grep -q "^refit (train + validation):" "$T/show" || fail "show: no refit epochs"
    $BIN best --metric refit_test_rmse --db "$db" | grep >/dev/null "overall best: run 1: refit test RMSE .* at epoch $sel" \
        || fail "best --metric refit_test_rmse"
    $BIN recommend --run 1 --user 1 --top 2 --db "$db" >"$T/rec" 2>&1 || fail "recommend failed: $(cat "$T/rec")"
    grep -q "checkpoint of epoch $sel" "$T/rec" || fail "recommend: $(head -1 "$T/rec")"
    local g="$T/refit/g.db"
    $BIN run "$T/small.yaml" --db "$g" --set data.split.repeats=2 --set data.split.validation_ratio=0.2 \
        --set train.epochs=6 --set train.refit=true --set train.threads=1 >"$T/out" 2>&1 || fail "repeats refit: $(cat "$T/out")"
    [ "$(q "$g" "SELECT refit_test_mean = (SELECT avg(refit_test_rmse) FROM runs) AND refit_test_ci_lo < refit_test_ci_hi FROM split_summaries")" = 1 ] \
        || fail "refit split summary"
    $BIN summary --db "$g" | sed -n 1p | grep >/dev/null "refit RMSE" || fail "summary has no refit column"
    $BIN run "$T/small.yaml" --db "$T/refit/n.db" --set train.refit=true >/dev/null 2>"$T/err"
    [ $? -eq 2 ] || fail "refit without a validation split should exit 2"
    grep -q "train.refit: true needs a validation split" "$T/err" || fail "message: $(cat "$T/err")"
}

# experiment ids hash only the keys that differ from their defaults: a key
# spelled out at its default value gives the same experiment
# train.optimizer: lazy_adam trains (auto picks the sparse kernel for it, on
# data that would get the dense one), is recorded, and is refused where its
# row steps do not exist, before any database is created
test_lazy_adam_run_and_refusals() {
    local db="$T/lazy.db"
    $BIN run "$T/small.yaml" --db "$db" --quiet --set train.optimizer=lazy_adam \
        >"$T/out" 2>&1 || fail "lazy_adam run failed: $(cat "$T/out")"
    [ "$(q "$db" "SELECT optimizer || ' ' || kernel || ' ' || status FROM runs")" = "lazy_adam sparse finished" ] \
        || fail "recorded: $(q "$db" "SELECT optimizer, kernel, status FROM runs")"
    grep -q "optimizer: lazy_adam" <(q "$db" "SELECT config_yaml FROM runs") || fail "not in the resolved config"
    local set why
    for set in "train.kernel=dense:the dense and naive kernels" "train.l2=0.5:train.l2" \
               "model.hidden=[8, 4]:more than one hidden layer" \
               "model.variant=glocal:model.variant glocal"; do
        why=${set#*:}
        $BIN run "$T/small.yaml" --db "$T/refused.db" --set train.optimizer=lazy_adam \
            --set "${set%%:*}" >/dev/null 2>"$T/err"
        [ $? = 2 ] || fail "lazy_adam with ${set%%:*}: not exit 2"
        grep -q "train.optimizer: lazy_adam is not supported with $why" "$T/err" \
            || fail "lazy_adam with ${set%%:*}: $(cat "$T/err")"
    done
    [ ! -e "$T/refused.db" ] || fail "a refused config created a database"
}

test_experiment_id_ignores_default_keys() {
    local db="$T/ids.db"
    $BIN run "$T/small.yaml" --db "$db" --set data.split.repeats=2 --set train.threads=1 --quiet >/dev/null 2>&1 \
        || fail "first run failed"
    $BIN run "$T/small.yaml" --db "$db" --set data.split.repeats=2 --set train.threads=1 --set train.refit=false \
        --set model.variant=item --quiet >"$T/out" 2>&1 || fail "second run failed"
    [ "$(q "$db" "SELECT count(*) FROM experiments")" = 1 ] || fail "default keys changed the experiment id"
    [ "$(q "$db" "SELECT count(*) FROM runs")" = 2 ] || fail "the finished splits ran again"
}

run_tests cli_protocol
