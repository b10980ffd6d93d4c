#!/usr/bin/env bash
# Command-line tests of the query commands (ls, show, compare, best, export,
# plot) on a known database: the autorec schema, filled with fixed runs and
# epochs, so every output is exact.  Also the refusals: hostile --where
# text, files that are not autorec databases.
source "$(dirname "$0")/lib.sh"

DB="$T/known.db"

# Creates $DB: the schema from a real (1-epoch) run, then fixed rows: grid
# kg-0123456789ab of 4 points (hidden 100/300 x lr 0.001/0.002; point 4
# diverged) and one plain failed run.
make_known_db() {
    $BIN run "$T/small.yaml" --db "$DB" --quiet --set train.epochs=1 >/dev/null || return 1
    sqlite3 -batch "$DB" <<'SQL'
DELETE FROM epochs; DELETE FROM runs; DELETE FROM grid_points; DELETE FROM experiments;
INSERT INTO experiments VALUES ('kg-0123456789ab', 'kg', 4, 'model.hidden,train.lr', 'name: kg', '2025-01-01T00:00:00.000Z');
INSERT INTO grid_points VALUES ('kg-0123456789ab', 0, 'aaaaaaaaaaaaaaa0', 'hidden=100 lr=0.001'),
  ('kg-0123456789ab', 1, 'aaaaaaaaaaaaaaa1', 'hidden=100 lr=0.002'),
  ('kg-0123456789ab', 2, 'aaaaaaaaaaaaaaa2', 'hidden=300 lr=0.001'),
  ('kg-0123456789ab', 3, 'aaaaaaaaaaaaaaa3', 'hidden=300 lr=0.002');
INSERT INTO runs(id, name, status, config_yaml, started_at, finished_at, host, threads, kernel, git_commit, blis_info,
  data_path, data_format, test_ratio, hidden, lr, weight_decay, dropout, epochs, batch_size, seed,
  final_test_rmse, best_test_rmse, best_epoch, experiment, grid_point, grid_size, config_hash, worker,
  heartbeat_at, attempts, epochs_done, seconds, error) VALUES
 (1, 'kg', 'finished', 'name: kg', '2025-01-01T10:00:00.000Z', '2025-01-01T10:00:03.000Z', 'h1', 1, 'dense', 'abc', 'BLIS test',
  'data/ml-100k', 'ml-100k', 0.1, 100, 0.001, 1e-05, 0.05, 3, 256, 0, 0.95, 0.94, 2, 'kg-0123456789ab', 0, 4, 'aaaaaaaaaaaaaaa0', 'h1:11/0001', 0, 1, 3, 3.0, NULL),
 (2, 'kg', 'finished', 'name: kg', '2025-01-01T10:00:00.000Z', '2025-01-01T10:00:03.000Z', 'h1', 1, 'dense', 'abc', 'BLIS test',
  'data/ml-100k', 'ml-100k', 0.1, 100, 0.002, 1e-05, 0.05, 3, 256, 0, 0.92, 0.92, 3, 'kg-0123456789ab', 1, 4, 'aaaaaaaaaaaaaaa1', 'h1:12/0001', 0, 1, 3, 3.0, NULL),
 (3, 'kg', 'finished', 'name: kg', '2025-01-01T10:00:04.000Z', '2025-01-01T10:00:07.500Z', 'h1', 1, 'dense', 'abc', 'BLIS test',
  'data/ml-100k', 'ml-100k', 0.1, 300, 0.001, 1e-05, 0.05, 3, 256, 0, 0.91, 0.905, 2, 'kg-0123456789ab', 2, 4, 'aaaaaaaaaaaaaaa2', 'h1:11/0001', 0, 2, 3, 3.5, NULL),
 (4, 'kg', 'diverged', 'name: kg', '2025-01-01T10:00:04.000Z', '2025-01-01T10:00:05.000Z', 'h1', 1, 'dense', 'abc', 'BLIS test',
  'data/ml-100k', 'ml-100k', 0.1, 300, 0.002, 1e-05, 0.05, 3, 256, 0, 1.5, 1.5, 1, 'kg-0123456789ab', 3, 4, 'aaaaaaaaaaaaaaa3', 'h1:12/0001', 0, 1, 1, 1.0, 'run 4 diverged at epoch 2'),
 (5, 'seed', 'failed', 'name: seed', '2025-01-02T09:00:00.000Z', '2025-01-02T09:00:01.000Z', 'h2', 2, 'dense', 'def', 'BLIS test',
  'data/ml-100k', 'ml-100k', 0.1, 500, 0.002, 1e-05, 0.05, 25, 256, 7, 1.2, 1.1, 1, NULL, NULL, NULL, NULL, NULL,
  0, 1, 2, 2.0, NULL);
INSERT INTO epochs(run_id, epoch, train_loss, test_rmse, train_seconds, eval_seconds) VALUES (1, 1, 300.5, 1.10, 0.75, 0.25), (1, 2, 100.25, 0.94, 0.75, 0.25), (1, 3, 50.125, 0.95, 0.75, 0.25),
  (2, 1, 290, 1.05, 0.75, 0.25), (2, 2, 95, 0.93, 0.75, 0.25), (2, 3, 45, 0.92, 0.75, 0.25),
  (3, 1, 280, 1.00, 0.9, 0.25), (3, 2, 90, 0.905, 0.9, 0.25), (3, 3, 40, 0.91, 0.9, 0.25),
  (4, 1, 500, 1.5, 0.75, 0.25),
  (5, 1, 320, 1.1, 0.75, 0.25), (5, 2, 310, 1.2, 0.75, 0.25);
UPDATE runs SET selected_epoch = 2, selected_test_rmse = 0.94, selected_val_rmse = 0.93 WHERE id = 1;
UPDATE runs SET selected_epoch = 3, selected_test_rmse = 0.92, selected_val_rmse = 0.91 WHERE id = 2;
UPDATE runs SET selected_epoch = 2, selected_test_rmse = 0.905, selected_val_rmse = 0.89 WHERE id = 3;
UPDATE runs SET split_kind = 'random', l2 = 0, optimizer = 'adam' WHERE id <= 4;
UPDATE runs SET l2 = 3 WHERE id = 2;
UPDATE runs SET result_test_rmse = coalesce(refit_test_rmse, selected_test_rmse, final_test_rmse);
INSERT INTO split_summaries VALUES ('kg-0123456789ab', 0, 'hidden=100', 'random', 2, 2, 0.93, 0.0141421356,
  0.8029393848, 1.0570606152, 0.92, 0.0141421356, 0.935, 0.0212132034, 0.7444, 1.1255, 12.7062, '1,2', '2025-01-01T10:00:07.000Z', NULL, NULL, NULL, NULL);
PRAGMA wal_checkpoint(TRUNCATE);
SQL
} >/dev/null

# same NAME EXPECTED-FILE ACTUAL-FILE: fails with a diff when they differ
same() {
    diff -u "$2" "$3" >"$T/diff" || fail "$1 output differs:
$(cat "$T/diff")"
}

test_ls() {
    $BIN ls --db "$DB" >"$T/out" 2>&1 || fail "ls failed: $(cat "$T/out")"
    cat >"$T/want" <<'OUT'
id  experiment       point  status    hidden     lr     wd  seed  epochs  result RMSE  best-epoch RMSE  @  final RMSE  selected RMSE  @  refit RMSE  time
 1  kg-0123456789ab    1/4  finished     100  0.001  1e-05     0     3/3       0.9400           0.9400  2      0.9500         0.9400  2           -  3.0s
 2  kg-0123456789ab    2/4  finished     100  0.002  1e-05     0     3/3       0.9200           0.9200  3      0.9200         0.9200  3           -  3.0s
 3  kg-0123456789ab    3/4  finished     300  0.001  1e-05     0     3/3       0.9050           0.9050  2      0.9100         0.9050  2           -  3.5s
 4  kg-0123456789ab    4/4  diverged     300  0.002  1e-05     0     1/3       1.5000           1.5000  1      1.5000              -  -           -  1.0s
 5  seed                 -  failed       500  0.002  1e-05     7    2/25       1.2000           1.1000  1      1.2000              -  -           -  2.0s
OUT
    same ls "$T/want" "$T/out"
    $BIN ls --db "$DB" --status finished --where "hidden >= 300 or lr = 0.002" --sort -best_rmse >"$T/out" 2>&1
    cat >"$T/want" <<'OUT'
id  experiment       point  status    hidden     lr     wd  seed  epochs  result RMSE  best-epoch RMSE  @  final RMSE  selected RMSE  @  refit RMSE  time
 2  kg-0123456789ab    2/4  finished     100  0.002  1e-05     0     3/3       0.9200           0.9200  3      0.9200         0.9200  3           -  3.0s
 3  kg-0123456789ab    3/4  finished     300  0.001  1e-05     0     3/3       0.9050           0.9050  2      0.9100         0.9050  2           -  3.5s
OUT
    same "ls --where --sort" "$T/want" "$T/out"
    [ "$($BIN ls --db "$DB" --status failed,diverged --sort=id | awk 'NR > 1 { print $1 }' | paste -sd,)" = 4,5 ] \
        || fail "ls --status list"
    [ "$($BIN ls --db "$DB" --experiment kg --limit 2 | wc -l)" = 3 ] || fail "ls --experiment --limit"
    [ "$($BIN ls --db "$DB" --experiment kg-0123456789ab | wc -l)" = 5 ] || fail "ls --experiment ID"
    [ "$($BIN ls --db "$DB" --where "name like 's%'" | awk 'NR == 2 { print $1 }')" = 5 ] || fail "ls --where like"
    [ "$($BIN ls --db "$DB" --where "l2 = 3 and split_kind = 'random'" | awk 'NR > 1 { print $1 }' | paste -sd,)" = 2 ] \
        || fail "ls --where on the schema-4 protocol columns"
    [ "$($BIN ls --db "$DB" --status finished --sort selected_test_rmse | awk 'NR > 1 { print $1 }' | paste -sd,)" = 3,2,1 ] \
        || fail "ls --sort selected_test_rmse"
    $BIN ls --db "$DB" --where "hidden > 9999" >"$T/out" 2>"$T/err" || fail "empty ls should succeed"
    [ ! -s "$T/out" ] && grep -q "no runs match" "$T/err" || fail "empty ls message: $(cat "$T/err")"
}

test_best_pivot_and_groups() {
    $BIN best --db "$DB" --by hidden,lr >"$T/out" 2>&1 || fail "best --by failed: $(cat "$T/out")"
    cat >"$T/want" <<'OUT'
result test RMSE by hidden (rows) and lr (columns), * = best
hidden \ lr    0.001    0.002
100          0.9400   0.9200
300          0.9050*       -
overall best: run 3 (hidden=300 lr=0.001): result test RMSE 0.9050 at epoch 2
OUT
    same "best pivot" "$T/want" "$T/out"
    $BIN best --db "$DB" --by model.hidden,train.lr --status all >"$T/out" 2>&1
    grep -q "^hidden \\\\ lr " "$T/out" && grep -q "^500  *-   1.2000$" "$T/out" \
        || fail "best --status all pivot: $(cat "$T/out")"
    $BIN best --db "$DB" --by hidden >"$T/out" 2>&1
    cat >"$T/want" <<'OUT'
hidden  result test RMSE  run  epoch  runs
   100            0.9200    2      3     2
   300            0.9050    3      2     1
overall best: run 3 (hidden=300): result test RMSE 0.9050 at epoch 2
OUT
    same "best --by hidden" "$T/want" "$T/out"
    $BIN best --db "$DB" --experiment kg --metric final_test_rmse --top 2 >"$T/out" 2>&1
    [ "$(awk 'NR > 1 && /^ *[0-9]/ { print $1 }' "$T/out" | paste -sd,)" = 3,2 ] || fail "best --top 2 final: $(cat "$T/out")"
    grep -q "^overall best: run 3: final test RMSE 0.9100 at epoch 3$" "$T/out" || fail "best overall line"
    $BIN best --db "$DB" --by nope 2>"$T/err"; [ $? -eq 2 ] || fail "unknown --by key should exit 2"
    grep -q "unknown key 'nope'" "$T/err" || fail "unknown --by message: $(cat "$T/err")"
    $BIN best --db "$DB" --metric accuracy 2>"$T/err"; [ $? -eq 2 ] || fail "bad metric should exit 2"
}

test_compare() {
    $BIN compare 1 3 --db "$DB" >"$T/out" 2>&1 || fail "compare failed: $(cat "$T/out")"
    cat >"$T/want" <<'OUT'
                    #1               #3
experiment          kg-0123456789ab  kg-0123456789ab
point               1/4              3/4
status              finished         finished
hidden              100              300
epochs_done         3/3              3/3
result_test_rmse    0.9400           0.9050
best_test_rmse      0.9400           0.9050
best_epoch          2                2
final_test_rmse     0.9500           0.9100
selected_epoch      2                2
selected_test_rmse  0.9400           0.9050
selected_val_rmse   0.9300           0.8900
seconds             3.0s             3.5s
same: name=kg data_path=data/ml-100k data_format=ml-100k split_kind=random test_ratio=0.1 validation_ratio=- split_seed=- split_index=- variant=- layers=- dropout=0.05 encoder=- decoder=- epochs=3 batch_size=256 lr=0.001 weight_decay=1e-05 l2=0 optimizer=adam schedule=- patience=- refit=- ema=- seed=0 kernel=dense clip=- cold_default=- top_k=- relevant_min=- data.split.train_file="" data.split.test_file="" data.split.repeats=1 data.cache=true model.glocal.dim=5 model.glocal.sparsity=0.006 model.glocal.kernel_size=3 model.glocal.dot_scale=1 model.glocal.pretrain_epochs=30 model.glocal.pretrain_iters=5 model.glocal.finetune_iters=5 train.step_epochs=10 train.gamma=0.1 train.lr_min=0 train.checkpoint=true train.swa_start=0 eval.top_k_every=0 search.sampler=grid search.trials=16 search.seed=0 search.pruner=none search.warmup_epochs=5 search.min_trials=5 search.min_epochs=1 search.reduction_factor=3 search.rungs=0

epoch   #1 loss  #1 test RMSE   #3 loss  #3 test RMSE
    1  300.500        1.1000   280.000        1.0000
    2  100.250        0.9400*   90.000        0.9050*
    3   50.125        0.9500    40.000        0.9100
OUT
    same compare "$T/want" "$T/out"
    $BIN compare 1 4 5 --db "$DB" >"$T/out" 2>&1 || fail "compare 3 runs failed"
    grep -q "^    3  " "$T/out" && grep -q "^epochs_done" "$T/out" || fail "compare 1 4 5: $(cat "$T/out")"
    $BIN compare 1 99 --db "$DB" 2>"$T/err"; [ $? -eq 1 ] || fail "compare of a missing run should exit 1"
    grep -q "no run 99" "$T/err" || fail "missing run message: $(cat "$T/err")"
}

# Runs that differ only in a key the old fixed list of 12 did not know
# (train.l2, model.activation.encoder, a config key without a column such
# as train.gamma) show it as differing in compare and in the plot legend;
# validation, MAE and refit epochs reach compare, export and plot.
test_compare_every_key() {
    local db="$T/keys.db"
    cp "$DB" "$db"
    sqlite3 -batch "$db" <<'SQL' || fail "could not build $db"
INSERT INTO runs(id, name, status, config_yaml, started_at, hidden, lr, weight_decay, dropout, epochs, batch_size, seed,
  data_path, data_format, test_ratio, kernel, l2, encoder, epochs_done, selected_epoch, selected_test_rmse, final_test_rmse)
 SELECT 6, name, status, 'name: kg', started_at, hidden, lr, weight_decay, dropout, epochs, batch_size, seed,
  data_path, data_format, test_ratio, kernel, 0, 'sigmoid', 2, 1, 1.0, 0.99 FROM runs WHERE id = 1;
INSERT INTO runs(id, name, status, config_yaml, started_at, hidden, lr, weight_decay, dropout, epochs, batch_size, seed,
  data_path, data_format, test_ratio, kernel, l2, encoder, epochs_done, selected_epoch, selected_test_rmse, final_test_rmse,
  refit_epochs, refit_test_rmse)
 SELECT 7, name, status, 'name: kg
train:
  gamma: 0.5', started_at, hidden, lr, weight_decay, dropout, epochs, batch_size, seed,
  data_path, data_format, test_ratio, kernel, 0.01, 'relu', 2, 2, 0.97, 0.98, 1, 0.96 FROM runs WHERE id = 1;
INSERT INTO epochs(run_id, epoch, train_loss, test_rmse, test_mae, val_rmse, val_mae, train_seconds, eval_seconds) VALUES
  (6, 1, 10, 1.0, 0.8, 0.95, 0.75, 1, 1), (6, 2, 9, 0.99, 0.79, 0.96, 0.76, 1, 1),
  (7, 1, 10, 1.0, 0.8, 0.95, 0.75, 1, 1), (7, 2, 9, 0.97, 0.77, 0.94, 0.74, 1, 1);
INSERT INTO refit_epochs(run_id, epoch, train_loss, test_rmse, test_mae, train_seconds, eval_seconds) VALUES
  (7, 1, 8.5, 0.96, 0.76, 1, 1);
SQL
    $BIN compare 6 7 --db "$db" >"$T/out" 2>&1 || fail "compare 6 7 failed: $(cat "$T/out")"
    grep -q "^l2  *0  *0.01$" "$T/out" || fail "compare lacks l2: $(cat "$T/out")"
    grep -q "^encoder  *sigmoid  *relu$" "$T/out" || fail "compare lacks the encoder"
    grep -q "^train.gamma  *0.1  *0.5$" "$T/out" || fail "compare lacks train.gamma (config key without a column)"
    grep -q "^refit_test_rmse  *-  *0.9600$" "$T/out" || fail "compare lacks the refit RMSE"
    grep -q "^epoch .*#6 test MAE  *#6 val RMSE  *#6 val MAE" "$T/out" || fail "compare lacks MAE/validation columns"
    grep -q "^    1  .* 1.0000\*  *0.8000  *0.9500" "$T/out" || fail "compare: selected epoch of #6 not marked"
    grep -q "^refit (train + validation):" "$T/out" && grep -q "^    1  .*0.9600  *0.7600" "$T/out" \
        || fail "compare lacks the refit epochs"
    grep -q "^same:.* hidden=100 " "$T/out" || fail "same: list"
    # show: validation columns, '*' on the selected epoch (1), not the best test epoch (2)
    $BIN show 6 --db "$db" >"$T/out" || fail "show 6 failed"
    grep -q "^epoch  train loss  test RMSE  test MAE  val RMSE  val MAE  train s  eval s$" "$T/out" \
        || fail "show lacks the validation columns: $(cat "$T/out")"
    grep -q "^    1      10.000    1.0000\*    0.8000    0.9500" "$T/out" && grep -q "^    2       9.000    0.9900 " "$T/out" \
        || fail "show does not mark the selected epoch: $(cat "$T/out")"
    # export: every epoch value, refit epochs as phase refit
    $BIN export --db "$db" --where "id >= 6" >"$T/k.csv" || fail "export failed"
    head -1 "$T/k.csv" | grep -q ",phase,epoch,train_loss,test_rmse,test_mae,val_rmse,val_mae,ema_val_rmse,ema_test_rmse,precision_at_k,recall_at_k,ndcg_at_k,hit_rate_at_k,train_seconds,eval_seconds$" \
        || fail "export heading: $(head -1 "$T/k.csv")"
    grep -q ",train,2,9,0.97,0.77,0.94,0.74,,,,,,,1,1$" "$T/k.csv" || fail "export lacks validation/MAE values"
    grep -q ",refit,1,8.5,0.96,0.76,,,,,,,,,1,1$" "$T/k.csv" || fail "export lacks the refit epoch: $(cat "$T/k.csv")"
    [ "$(wc -l <"$T/k.csv")" = 6 ] || fail "export: expected 1 + 4 + 1 lines"
    $BIN export --db "$db" --where "id = 7" --format json >"$T/k.json" || fail "export json failed"
    [ "$(sqlite3 :memory: "SELECT json_extract(readfile('$T/k.json'), '\$[0].per_epoch[1].val_mae'),
          json_extract(readfile('$T/k.json'), '\$[0].per_refit_epoch[0].test_mae'),
          json_extract(readfile('$T/k.json'), '\$[0].l2'), json_extract(readfile('$T/k.json'), '\$[0].encoder')")" \
        = "0.74|0.76|0.01|relu" ] || fail "export json: $(cat "$T/k.json")"
    # plot: validation curves, legends naming l2/encoder/gamma
    $BIN plot 6 7 --db "$db" --metric val_rmse,test_rmse,test_mae -o "$T/k.svg" >"$T/out" 2>&1 \
        || fail "plot --metric failed: $(cat "$T/out")"
    grep -q "#7 encoder=relu l2=0.01 train.gamma=0.5" "$T/k.svg" || fail "plot legend lacks what differs"
    grep -q "val RMSE" "$T/k.svg" && grep -q "test MAE" "$T/k.svg" && grep -q "#7 refit" "$T/k.svg" \
        || fail "plot lacks the validation/MAE panels or the refit curve"
    $BIN plot 6 --db "$db" --metric accuracy -o "$T/k.svg" 2>"$T/err"; [ $? -eq 2 ] || fail "bad --metric should exit 2"
    grep -q "not a per-epoch metric" "$T/err" || fail "bad --metric message: $(cat "$T/err")"
    $BIN plot 1 3 --db "$db" --metric val_rmse -o "$T/k.svg" 2>"$T/err"; [ $? -eq 2 ] || fail "a metric no run has should exit 2"
    grep -q "metric val_rmse: none of the 2 runs recorded it" "$T/err" || fail "missing metric message: $(cat "$T/err")"
}

test_show() {
    $BIN show 4 --db "$DB" >"$T/out" 2>&1 || fail "show failed: $(cat "$T/out")"
    for want in "^run 4  diverged  'kg'$" "^grid        kg-0123456789ab, point 4 of 4 (hidden=300 lr=0.002), attempt 1$" \
                "^build       git abc, kernel dense, threads 1$" "^error       run 4 diverged at epoch 2$" \
                "^config hash aaaaaaaaaaaaaaa3$" "^  name: kg$" "^    1     500.000    1.5000      0.75    0.25$"; do
        grep -q "$want" "$T/out" || fail "show lacks /$want/: $(cat "$T/out")"
    done
    $BIN show 3 --db "$DB" | grep >/dev/null "^    2      90.000    0.9050\*" || fail "show: selected epoch not marked"
    $BIN show x --db "$DB" 2>"$T/err"; [ $? -eq 2 ] || fail "show x should exit 2"
}

test_export() {
    $BIN export --db "$DB" >"$T/out.csv" || fail "export csv failed"
    [ "$(wc -l <"$T/out.csv")" = 13 ] || fail "csv: expected 1 + 12 epoch lines, got $(wc -l <"$T/out.csv")"
    head -1 "$T/out.csv" | grep -q "^id,experiment,point,grid_size,status,name,.*,phase,epoch,train_loss,test_rmse,test_mae,val_rmse,val_mae,ema_val_rmse,ema_test_rmse,precision_at_k,recall_at_k,ndcg_at_k,hit_rate_at_k,train_seconds,eval_seconds$" \
        || fail "csv heading: $(head -1 "$T/out.csv")"
    grep -q "^3,kg-0123456789ab,2,4,finished,kg,.*,300,.*,train,2,90,0.905,,,,,,,,,,0.9,0.25$" "$T/out.csv" || fail "csv row of run 3 epoch 2"
    $BIN export --db "$DB" --runs --status finished -o "$T/runs.csv" || fail "export --runs failed"
    [ "$(wc -l <"$T/runs.csv")" = 4 ] || fail "runs csv: $(cat "$T/runs.csv")"
    $BIN export --db "$DB" --format json -o "$T/out.json" || fail "export json failed"
    [ "$(sqlite3 :memory: "SELECT json_valid(readfile('$T/out.json')), json_array_length(readfile('$T/out.json')),
          json_extract(readfile('$T/out.json'), '\$[3].error'),
          json_array_length(json_extract(readfile('$T/out.json'), '\$[0].per_epoch')),
          json_extract(readfile('$T/out.json'), '\$[2].per_epoch[1].test_rmse')")" = "1|5|run 4 diverged at epoch 2|3|0.905" ] \
        || fail "json content: $(head -c 600 "$T/out.json")"
    $BIN export --db "$DB" --format xml 2>/dev/null; [ $? -eq 2 ] || fail "--format xml should exit 2"
}

test_plot_png_and_svg() {
    $BIN plot 1 2 3 4 --db "$DB" -o "$T/c.png" --title "known runs" >"$T/out" 2>&1 || fail "plot png failed: $(cat "$T/out")"
    [ "$(head -c 8 "$T/c.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "not a PNG"
    [ "$(stat -c %s "$T/c.png")" -gt 10000 ] || fail "PNG suspiciously small"
    $BIN plot --experiment kg --db "$DB" -o "$T/c.svg" >/dev/null 2>&1 || fail "plot svg failed"
    grep -q "<svg" "$T/c.svg" && grep -q "</svg>" "$T/c.svg" || fail "not an SVG"
    grep -q "#3 hidden=300 lr=0.001" "$T/c.svg" || fail "legend lacks the differing parameters"
    $BIN plot 1 --db "$DB" -o "$T/c.pdf" 2>"$T/err"; [ $? -eq 2 ] || fail "-o .pdf should exit 2"
    AUTOREC_GNUPLOT=/nonexistent/gnuplot $BIN plot 1 --db "$DB" -o "$T/d.png" 2>"$T/err"
    [ $? -eq 1 ] && grep -q "install gnuplot" "$T/err" || fail "missing gnuplot message: $(cat "$T/err")"
}

test_where_injection_refused() {
    local before after
    before=$(q "$DB" "SELECT count(*) FROM runs")
    $BIN ls --db "$DB" --where "hidden >= 1; DROP TABLE runs" 2>"$T/err"; [ $? -eq 2 ] || fail "injection should exit 2"
    grep -q "unexpected text: ';' at position 12" "$T/err" || fail "injection message: $(cat "$T/err")"
    $BIN ls --db "$DB" --where "name = 'x'' OR 1=1 --'" >"$T/out" 2>/dev/null || fail "quoted text should be data"
    [ ! -s "$T/out" ] || fail "a quoted OR 1=1 matched rows"
    $BIN best --db "$DB" --where "hidden >= 1 or 1=1" 2>/dev/null; [ $? -eq 2 ] || fail "1=1 should be refused"
    $BIN ls --db "$DB" --sort "id; DROP TABLE runs" 2>/dev/null; [ $? -eq 2 ] || fail "--sort injection should exit 2"
    after=$(q "$DB" "SELECT count(*) FROM runs")
    [ "$before" = "$after" ] && [ "$after" = 5 ] || fail "runs changed: $before -> $after"
}

test_queries_never_write() {
    local sum1 sum2
    sum1=$(md5sum <"$DB")
    $BIN ls --db "$DB" >/dev/null; $BIN best --db "$DB" --by hidden,lr >/dev/null; $BIN show 1 --db "$DB" >/dev/null
    $BIN export --db "$DB" >/dev/null; $BIN compare 1 2 --db "$DB" >/dev/null
    sum2=$(md5sum <"$DB")
    [ "$sum1" = "$sum2" ] || fail "a query command changed the database file"
}

test_best_selected_metrics() {
    $BIN best --db "$DB" --metric selected_val_rmse >"$T/out" 2>&1 || fail "best --metric selected_val_rmse failed: $(cat "$T/out")"
    grep -qx "overall best: run 3: validation RMSE 0.8900 at epoch 2, selected test RMSE 0.9050" "$T/out" \
        || fail "best by validation: $(cat "$T/out")"
    $BIN best --db "$DB" --metric selected_test_rmse --by hidden >"$T/out" 2>&1 || fail "best --metric selected_test_rmse failed"
    grep -q "^overall best: run 3 (hidden=300): selected test RMSE 0.9050 at epoch 2$" "$T/out" \
        || fail "best selected test: $(cat "$T/out")"
    $BIN best --db "$DB" --metric nope >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "bad --metric should exit 2"
    grep -q "selected_val_rmse" "$T/err" || fail "bad --metric message: $(cat "$T/err")"
}

# best ranks by each run's honest result (result_test_rmse) by default; the
# best test epoch stays available, labelled as picked on the test set; a
# metric no selected run has is an error.
test_honest_defaults() {
    local db="$T/honest.db"
    cp "$DB" "$db"
    q "$db" "UPDATE runs SET best_test_rmse = 0.8 WHERE id = 1"
    $BIN best --db "$db" >"$T/out" 2>&1 || fail "best failed: $(cat "$T/out")"
    grep -qx "overall best: run 3: result test RMSE 0.9050 at epoch 2" "$T/out" || fail "best default: $(cat "$T/out")"
    $BIN best --db "$db" --metric best_test_rmse >"$T/out" 2>&1 || fail "best --metric best_test_rmse failed"
    grep -qx "overall best: run 1: best-epoch test RMSE (epoch picked on the test set) 0.8000 at epoch 2" "$T/out" \
        || fail "best by test epoch: $(cat "$T/out")"
    $BIN best --db "$db" --where "id = 5" --status all --metric selected_val_rmse >"$T/out" 2>"$T/err"
    [ $? -eq 2 ] || fail "a metric no run has should exit 2"
    grep -q "none of the 1 selected run has a selected_val_rmse" "$T/err" || fail "missing metric message: $(cat "$T/err")"
    $BIN best --db "$db" --by hidden --format csv >"$T/out" 2>&1 || fail "best --format csv failed"
    [ "$(head -2 "$T/out")" = "hidden,result_test_rmse,run,epoch,runs
100,0.92,2,3,2" ] || fail "best csv: $(cat "$T/out")"
    $BIN ls --db "$db" --columns id,l2,result_test_rmse --format json >"$T/out" 2>&1 || fail "ls --format json failed"
    [ "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/out')), json_extract(readfile('$T/out'), '\$[1].l2'),
          json_extract(readfile('$T/out'), '\$[2].result_test_rmse')")" = "5|3|0.905" ] || fail "ls json: $(cat "$T/out")"
    $BIN ls --db "$db" --format csv --where "id = 2" >"$T/out" 2>&1 || fail "ls --format csv failed"
    head -1 "$T/out" | grep -q "^id,experiment,point,.*,l2,.*,result_test_rmse," || fail "ls csv heading: $(head -1 "$T/out")"
    grep -q "^2,kg-0123456789ab,1,4,finished,.*,0.92," "$T/out" || fail "ls csv row: $(cat "$T/out")"
    $BIN ls --db "$db" --format yaml 2>/dev/null; [ $? -eq 2 ] || fail "--format yaml should exit 2"
}

# --experiment: one experiment at a time.  A name two experiments share
# (the same grid config run twice with different epochs) is an error listing
# them, unless --latest or --all-matching; a name or id that matches
# nothing is an error (exit 2), in every query command.
test_experiment_one_at_a_time() {
    local db="$T/two-kg.db" c
    cp "$DB" "$db"
    sqlite3 -batch "$db" <<'SQL' || fail "could not build $db"
INSERT INTO experiments VALUES ('kg-bbbbbbbbbbbb', 'kg', 2, 'model.hidden', 'name: kg', '2025-02-01T00:00:00.000Z');
INSERT INTO grid_points VALUES ('kg-bbbbbbbbbbbb', 0, 'b0', 'hidden=100'), ('kg-bbbbbbbbbbbb', 1, 'b1', 'hidden=300');
INSERT INTO runs(id, name, status, config_yaml, started_at, hidden, lr, experiment, grid_point, grid_size, epochs_done,
  final_test_rmse, best_test_rmse, best_epoch, selected_epoch, selected_test_rmse, result_test_rmse)
  VALUES (6, 'kg', 'finished', 'name: kg', '2025-02-01T01:00:00.000Z', 100, 0.001, 'kg-bbbbbbbbbbbb', 0, 2, 1,
  0.99, 0.99, 1, 1, 0.99, 0.99);
INSERT INTO epochs(run_id, epoch, train_loss, test_rmse, train_seconds, eval_seconds) VALUES (6, 1, 1, 0.99, 1, 1);
SQL
    $BIN ls --db "$db" --experiment kg >"$T/out" 2>"$T/err"; [ $? -eq 2 ] || fail "an ambiguous name should exit 2"
    [ ! -s "$T/out" ] || fail "an ambiguous name printed runs"
    grep -q "experiment kg: 2 experiments have this name" "$T/err" \
        && grep -q "^  kg-0123456789ab  created 2025-01-01T00:00:00.000Z  4 points  4 runs  config hash 0123456789ab$" "$T/err" \
        && grep -q "^  kg-bbbbbbbbbbbb  created 2025-02-01T00:00:00.000Z  2 points  1 runs  config hash bbbbbbbbbbbb$" "$T/err" \
        || fail "ambiguous message: $(cat "$T/err")"
    [ "$($BIN ls --db "$db" --experiment kg --latest | awk 'NR > 1 { print $1 }' | paste -sd,)" = 6 ] || fail "--latest"
    [ "$($BIN ls --db "$db" --experiment kg --all-matching | awk 'NR > 1 { print $1 }' | paste -sd,)" = 1,2,3,4,6 ] \
        || fail "--all-matching"
    [ "$($BIN ls --db "$db" --experiment kg-0123456789ab | awk 'NR > 1 { print $1 }' | paste -sd,)" = 1,2,3,4 ] || fail "by id"
    for c in "ls" "best" "export" "summary" "plot -o $T/p.png"; do
        $BIN $c --db "$db" --experiment kg-nope >"$T/out" 2>"$T/err"; [ $? -eq 2 ] || fail "$c --experiment kg-nope should exit 2"
        grep -q "no experiment has this id or name" "$T/err" || fail "$c: no-match message: $(cat "$T/err")"
        $BIN $c --db "$db" --experiment kg >"$T/out" 2>"$T/err"; [ $? -eq 2 ] || fail "$c --experiment kg should exit 2"
    done
    $BIN best --db "$db" --experiment kg --latest >"$T/out" 2>&1 || fail "best --latest failed: $(cat "$T/out")"
    grep -qx "overall best: run 6: result test RMSE 0.9900 at epoch 1" "$T/out" || fail "best --latest: $(cat "$T/out")"
}

test_summary() {
    $BIN summary --db "$DB" >"$T/out" 2>&1 || fail "summary failed: $(cat "$T/out")"
    cat >"$T/want" <<'OUT'
experiment       params      kind    splits  selected RMSE      sd  95% CI            val RMSE  final RMSE      sd  refit RMSE  sd  95% CI  result RMSE  NDCG@K
kg-0123456789ab  hidden=100  random     2/2         0.9300  0.0141  [0.8029, 1.0571]    0.9200      0.9350  0.0212           -   -  -            0.9300       -
OUT
    same summary "$T/want" "$T/out"
    $BIN summary --db "$DB" --experiment kg >"$T/out" 2>&1 && same "summary --experiment" "$T/want" "$T/out"
    $BIN summary --db "$DB" --experiment nope >"$T/out" 2>"$T/err"; [ $? -eq 2 ] || fail "summary of no experiment should exit 2"
    [ ! -s "$T/out" ] && grep -q "experiment nope: no experiment has this id or name" "$T/err" \
        || fail "no-experiment message: $(cat "$T/err")"
    $BIN summary --db "$DB" --format json >"$T/out" 2>&1 || fail "summary --format json failed"
    [ "$(sqlite3 :memory: "SELECT json_extract(readfile('$T/out'), '\$[0].selected_test_ci_lo'),
          json_extract(readfile('$T/out'), '\$[0].n')")" = "0.8029393848|2" ] || fail "summary json: $(cat "$T/out")"
}

test_bad_databases() {
    printf 'hello, I am a text file\n%.0s' $(seq 200) >"$T/notes.db"
    sqlite3 "$T/foreign.db" "CREATE TABLE customers(id, name)"
    sqlite3 "$T/newer.db" "CREATE TABLE runs(x); CREATE TABLE epochs(y); PRAGMA user_version = $((SCHEMA + 1))"
    : >"$T/empty.db"
    local f want
    for f in missing notes foreign newer empty; do
        case $f in
            missing) want="No such file or directory" ;;
            notes) want="is not an SQLite database" ;;
            foreign) want="not an autorec results database (it holds table 'customers'" ;;
            newer) want="newer autorec (schema $((SCHEMA + 1)) > $SCHEMA)" ;;
            empty) want="holds no autorec results" ;;
        esac
        for cmd in "ls" "best" "show 1" "export" "compare 1" "plot 1 -o $T/x.png" "summary"; do
            # shellcheck disable=SC2086
            $BIN $cmd --db "$T/$f.db" >/dev/null 2>"$T/err"; local rc=$?
            [ $rc -eq 1 ] || fail "$cmd on $f.db: exit $rc"
            grep -q "$want" "$T/err" || fail "$cmd on $f.db: message $(cat "$T/err")"
        done
    done
    [ ! -e "$T/missing.db" ] || fail "a query command created a missing database"
    [ "$(sqlite3 "$T/foreign.db" "SELECT count(*) FROM sqlite_master")" = 1 ] || fail "foreign db modified"
}

test_v1_database_is_migrated() {
    local db="$T/v1.db"
    sqlite3 "$db" <<'SQL'
CREATE TABLE runs(id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL CHECK(status IN ('running','finished','failed','interrupted','diverged')), config_yaml TEXT, started_at TEXT NOT NULL, finished_at TEXT, host TEXT, threads INTEGER, kernel TEXT, git_commit TEXT, blis_info TEXT, data_path TEXT, data_format TEXT, test_ratio REAL, hidden INTEGER, lr REAL, weight_decay REAL, dropout REAL, epochs INTEGER, batch_size INTEGER, seed INTEGER, final_test_rmse REAL, best_test_rmse REAL, best_epoch INTEGER);
CREATE TABLE epochs(run_id INTEGER NOT NULL, epoch INTEGER NOT NULL CHECK(epoch >= 1), train_loss REAL, test_rmse REAL, train_seconds REAL, eval_seconds REAL, PRIMARY KEY(run_id, epoch), FOREIGN KEY(run_id) REFERENCES runs(id));
PRAGMA user_version = 1;
INSERT INTO runs(name, status, started_at, hidden, lr, weight_decay, seed, epochs, final_test_rmse, best_test_rmse, best_epoch) VALUES ('old', 'finished', '2024-01-01T00:00:00.000Z', 500, 0.002, 1e-05, 0, 2, 0.95, 0.93, 1);
INSERT INTO epochs VALUES (1, 1, 50, 0.93, 1.5, 0.5), (1, 2, 40, 0.95, 1.25, 0.25);
SQL
    $BIN ls --db "$db" >"$T/out" 2>&1 || fail "ls on a v1 database failed: $(cat "$T/out")"
    grep -q "^ 1  old .* 2/2 .*0.9300  1      0.9500         0.9500  2           -  3.5s$" "$T/out" || fail "v1 run listed wrongly: $(cat "$T/out")"
    [ "$(q "$db" 'PRAGMA user_version')" = "$SCHEMA" ] || fail "not migrated to schema $SCHEMA"
    $BIN run "$T/small.yaml" --db "$db" --quiet >/dev/null || fail "run on the migrated database failed"
    [ "$(q "$db" "SELECT count(*) FROM run_summary WHERE status = 'finished'")" = 2 ] || fail "runs after migration"
}

test_sql_views() {
    [ "$(q "$DB" "SELECT group_concat(id || ':' || epochs_done || ':' || best_epoch || ':' || seconds) FROM run_summary")" \
        = "1:3:2:3.0,2:3:3:3.0,3:3:2:3.5,4:1:1:1.0,5:2:1:2.0" ] || fail "run_summary content"
    [ "$(q "$DB" "SELECT n_points, finished, diverged, failed, pending, best_run, best_test_rmse, seconds FROM grid_summary")" \
        = "4|3|1|0|0|3|0.905|10.5" ] || fail "grid_summary content: $(q "$DB" 'SELECT * FROM grid_summary')"
}

make_data
make_known_db || { echo "could not build the known database"; exit 1; }
run_tests cli_query
