#!/usr/bin/env bash
# Command-line tests of sampled searches and pruning (`autorec grid` with
# search.sampler random | sobol and search.pruner median | asha): the
# trials are reproducible, pruned trials are recorded with their rung and
# reason, count as done on a rerun, and an interrupted search resumes
# without losing a trial or pruning one twice.  Uses the tiny synthetic
# data set.
source "$(dirname "$0")/lib.sh"

# search_config FILE EPOCHS SEARCH...: $T/small.yaml with a validation
# split, EPOCHS epochs, threads 1, the search: keys given ("key: value")
# and a sampled grid over lr, dropout and hidden.
search_config() {
    local file=$1 epochs=$2; shift 2
    sed -e "s/^  epochs: .*/  epochs: $epochs/" -e "s/^  threads: .*/  threads: 1/" \
        -e "s/^    test_ratio: 0.1/    test_ratio: 0.1\n    validation_ratio: 0.2/" "$T/small.yaml" >"$file"
    echo "search:" >>"$file"
    local kv
    for kv in "$@"; do echo "  $kv" >>"$file"; done
    cat >>"$file" <<YAML
grid:
  train.lr: {log_uniform: [0.0005, 0.05]}
  model.dropout: {uniform: [0.0, 0.5]}
  model.hidden: {int: [4, 32]}
YAML
}

test_dry_run_reproducible() {
    make_data
    search_config "$T/s.yaml" 10 "sampler: sobol" "trials: 8" "seed: 3"
    $BIN grid "$T/s.yaml" --db "$T/d.db" --dry-run >"$T/a" || fail "dry run failed"
    $BIN grid "$T/s.yaml" --db "$T/d.db" --dry-run >"$T/b"
    cmp -s "$T/a" "$T/b" || fail "two dry runs differ"
    [ "$(grep -c '^ *[0-9]*/8 ' "$T/a")" = 8 ] || fail "expected 8 trials: $(cat "$T/a")"
    $BIN grid "$T/s.yaml" --db "$T/d.db" --dry-run --set search.trials=4 >"$T/c"
    # the first 4 trials are the first 4 of 8 (values and config hashes)
    diff <(grep -E '^ *[1-4]/' "$T/a" | sed 's|/8 | |') <(grep -E '^ *[1-4]/' "$T/c" | sed 's|/4 | |') >/dev/null \
        || fail "trials 1-4 differ with search.trials=4"
    $BIN grid "$T/s.yaml" --db "$T/d.db" --dry-run --set search.seed=4 >"$T/d"
    cmp -s <(tail -n +3 "$T/a") <(tail -n +3 "$T/d") && fail "another seed gave the same trials"
    $BIN grid "$T/s.yaml" --db "$T/d.db" --dry-run --set search.sampler=random >"$T/e"
    cmp -s <(tail -n +3 "$T/a") <(tail -n +3 "$T/e") && fail "random and sobol gave the same trials"
    [ ! -e "$T/d.db" ] || fail "a dry run created the database"
}

test_bad_searches_refused() {
    make_data
    search_config "$T/g.yaml" 5 "sampler: grid"
    $BIN grid "$T/g.yaml" --db "$T/r.db" >/dev/null 2>"$T/err"
    [ $? = 2 ] || fail "a distribution with sampler grid: expected exit 2"
    grep -q "search.sampler: random or sobol" "$T/err" || fail "message: $(cat "$T/err")"
    search_config "$T/v.yaml" 5 "sampler: random" "pruner: asha"
    sed -i '/validation_ratio/d' "$T/v.yaml"
    $BIN grid "$T/v.yaml" --db "$T/r.db" >/dev/null 2>"$T/err"
    [ $? = 2 ] || fail "a pruner without validation split: expected exit 2"
    grep -q "validation_ratio" "$T/err" || fail "message: $(cat "$T/err")"
    [ ! -e "$T/r.db" ] || fail "a refused search created the database"
}

# asha on 9 trials of 30 epochs (rungs 2, 6, 18): every trial settles,
# some are pruned exactly at a rung with the reason, a rerun runs nothing
test_asha_prunes_and_rerun_runs_nothing() {
    make_data
    local db="$T/asha.db"
    search_config "$T/a.yaml" 30 "sampler: random" "trials: 9" "seed: 1" "pruner: asha" "min_epochs: 2"
    $BIN grid "$T/a.yaml" --db "$db" --workers 2 --threads 1 >"$T/out" 2>"$T/err" || fail "search failed: $(cat "$T/err")"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status IN ('finished', 'pruned')")" = 9 ] \
        || fail "not all settled: $(q "$db" 'SELECT group_concat(status) FROM runs')"
    local pruned; pruned=$(q "$db" "SELECT count(*) FROM runs WHERE status = 'pruned'")
    [ "$pruned" -ge 3 ] || fail "only $pruned of 9 pruned"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'pruned' AND (pruned_epoch NOT IN (2, 6, 18)
            OR epochs_done != pruned_epoch OR pruned_reason NOT LIKE 'asha rung %')")" = 0 ] \
        || fail "pruned runs off a rung: $(q "$db" "SELECT pruned_epoch, epochs_done, pruned_reason FROM runs WHERE status = 'pruned'")"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'finished' AND epochs_done != 30")" = 0 ] || fail "a finished trial stopped early"
    grep -q "search .*: $pruned pruned; " "$T/out" || fail "summary lacks the pruned line: $(head -3 "$T/out")"
    local pid; pid=$(q "$db" "SELECT id FROM runs WHERE status = 'pruned' LIMIT 1")
    $BIN show "$pid" --db "$db" > "$T/show" 2>&1    # a file: grep -q would close a pipe early
    grep -q "^pruned      at epoch $(q "$db" "SELECT pruned_epoch FROM runs WHERE id = $pid"): asha rung " "$T/show" \
        || fail "show lacks the pruned line: $(head -12 "$T/show")"
    [ "$($BIN ls --db "$db" --status pruned | tail -n +2 | wc -l)" = "$pruned" ] || fail "ls --status pruned"
    local before; before=$(q "$db" "SELECT group_concat(id || status || attempts || epochs_done) FROM runs")
    $BIN grid "$T/a.yaml" --db "$db" --workers 2 --threads 1 >"$T/out2" 2>&1 || fail "rerun failed"
    [ "$(q "$db" "SELECT group_concat(id || status || attempts || epochs_done) FROM runs")" = "$before" ] \
        || fail "the rerun changed runs"
}

test_median_prunes() {
    make_data
    local db="$T/med.db"
    search_config "$T/m.yaml" 20 "sampler: sobol" "trials: 8" "pruner: median" "warmup_epochs: 2" "min_trials: 2"
    $BIN grid "$T/m.yaml" --db "$db" --threads 1 >"$T/out" 2>"$T/err" || fail "search failed: $(cat "$T/err")"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'pruned' AND pruned_reason LIKE 'median: %' AND pruned_epoch > 2 AND pruned_epoch < 20")" -ge 1 ] \
        || fail "no median pruning: $(q "$db" 'SELECT status, pruned_epoch FROM runs')"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status NOT IN ('finished', 'pruned')")" = 0 ] || fail "unsettled trials"
}

# SIGINT mid-search, then the same command: every trial settles exactly
# once; trials pruned before the interruption are neither re-run nor
# pruned again (same row, attempts 1, same epoch); interrupted ones re-run
test_interrupted_search_resumes() {
    make_data
    local db="$T/int.db"
    search_config "$T/i.yaml" 1500 "sampler: random" "trials: 10" "seed: 2" "pruner: asha" "min_epochs: 3"
    $BIN grid "$T/i.yaml" --db "$db" --workers 2 --threads 1 >"$T/out" 2>"$T/err" &
    local pid=$!
    for _ in $(seq 600); do
        [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'pruned'" 2>/dev/null)" -ge 3 ] 2>/dev/null \
            && [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'running' AND epochs_done > 20" 2>/dev/null)" -ge 1 ] 2>/dev/null && break
        sleep 0.1
    done
    kill -INT "$pid"
    wait "$pid"
    local rc=$?
    [ "$rc" = 130 ] || fail "interrupted search: exit $rc, expected 130"
    local pruned; pruned=$(q "$db" "SELECT group_concat(id || ':' || grid_point || ':' || attempts || ':' || pruned_epoch, ' ') FROM runs WHERE status = 'pruned' ORDER BY id")
    [ -n "$pruned" ] || fail "nothing was pruned before the interruption"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'interrupted'")" -ge 1 ] || fail "no interrupted trial"
    $BIN grid "$T/i.yaml" --db "$db" --workers 2 --threads 1 >"$T/out2" 2>"$T/err2" || fail "resume failed: $(cat "$T/err2")"
    [ "$(q "$db" "SELECT count(*) FROM runs")" = 10 ] || fail "expected 10 runs"
    [ "$(q "$db" "SELECT count(DISTINCT grid_point) FROM runs")" = 10 ] || fail "duplicated points"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status IN ('finished', 'pruned')")" = 10 ] \
        || fail "not all settled: $(q "$db" 'SELECT group_concat(status) FROM runs')"
    local p
    for p in $pruned; do
        IFS=: read -r id point attempts epoch <<<"$p"
        [ "$(q "$db" "SELECT status || ':' || attempts || ':' || pruned_epoch FROM runs WHERE id = $id AND grid_point = $point")" = "pruned:$attempts:$epoch" ] \
            || fail "trial $point pruned before the interruption changed: $(q "$db" "SELECT status, attempts, pruned_epoch FROM runs WHERE id = $id")"
        [ "$attempts" = 1 ] || fail "trial $point pruned on attempt $attempts"
    done
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE attempts > 2")" = 0 ] || fail "a trial ran more than twice"
    [ "$(q "$db" "SELECT count(*) FROM runs r WHERE epochs_done != (SELECT count(*) FROM epochs e WHERE e.run_id = r.id)")" = 0 ] \
        || fail "epochs rows do not match epochs_done"
    [ "$(q "$db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
}

# summary, best and plot on a search: the best trial by validation (the
# finished trial with the lowest selected validation RMSE, whatever the
# test RMSEs), the epochs spent against every trial to the end, the plot
test_query_tools_report_searches() {
    make_data
    local db="$T/q.db"
    search_config "$T/q.yaml" 30 "sampler: sobol" "trials: 8" "seed: 1" "pruner: asha" "min_epochs: 2"
    $BIN grid "$T/q.yaml" --db "$db" --threads 1 >"$T/out" 2>"$T/err" || fail "search failed: $(cat "$T/err")"
    local x best spent full
    x=$(q "$db" "SELECT id FROM experiments")
    best=$(q "$db" "SELECT id FROM runs WHERE status = 'finished' ORDER BY selected_val_rmse LIMIT 1")
    spent=$(q "$db" "SELECT sum(epochs_done) FROM runs"); full=$(q "$db" "SELECT sum(epochs) FROM runs")
    # poison the test RMSEs: the best by validation must not move
    sqlite3 "$db" "UPDATE runs SET selected_test_rmse = 100 - selected_val_rmse, best_test_rmse = 0"
    $BIN summary --db "$db" >"$T/sum" 2>&1 || fail "summary failed: $(cat "$T/sum")"
    grep -q "^search $x (train.lr,model.dropout,model.hidden): 8 trials: [0-9]* finished, [0-9]* pruned, 0 other" "$T/sum" || fail "summary: $(cat "$T/sum")"
    grep -q "^  epochs: $spent spent, of the $full that training every trial" "$T/sum" || fail "summary epochs ($spent of $full): $(cat "$T/sum")"
    grep -q "^  best by validation: run $best, " "$T/sum" || fail "summary best (run $best): $(cat "$T/sum")"
    $BIN best --db "$db" --experiment "$x" --metric selected_val_rmse >"$T/best" 2>&1 || fail "best failed: $(cat "$T/best")"
    grep -q "^overall best: run $best: " "$T/best" || fail "best: $(cat "$T/best")"
    grep -q "^  best by validation: run $best, " "$T/best" || fail "best lacks the search report: $(cat "$T/best")"
    grep -q "^   1 *$best " "$T/out" || fail "the grid summary does not rank run $best first: $(sed -n 3,5p "$T/out")"
    if ! command -v "${AUTOREC_GNUPLOT:-gnuplot}" >/dev/null; then
        echo "SKIP test_query_tools_report_searches (plot): gnuplot is not installed"
        return
    fi
    $BIN plot --db "$db" --search "$x" -o "$T/s.png" >"$T/plot" 2>&1 || fail "plot --search failed: $(cat "$T/plot")"
    [ "$(head -c 8 "$T/s.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] || fail "not a PNG"
    $BIN plot --db "$db" --search nosuch -o "$T/n.png" >/dev/null 2>"$T/err"; [ $? = 1 ] || fail "unknown search: expected exit 1"
    grep -q "no such experiment" "$T/err" || fail "message: $(cat "$T/err")"
    $BIN plot --db "$db" --search "$x" 3 -o "$T/n.png" >/dev/null 2>&1; [ $? = 2 ] || fail "--search with run ids: expected exit 2"
}

run_tests cli_search
