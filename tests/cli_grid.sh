#!/usr/bin/env bash
# Command-line tests of `autorec grid`: expansion and dry runs, invalid
# grids, two concurrent grid processes on one database, resume after a
# killed worker (kill -9, stale takeover), SIGINT, reruns that run nothing.
# Uses the tiny synthetic data set; points are made slow (many epochs) only
# where a test must kill something mid-point.
source "$(dirname "$0")/lib.sh"

# grid_config FILE EPOCHS AXES...: $T/small.yaml with train.epochs=EPOCHS,
# hidden 16, and a grid: section of the given "key: [values]" lines.
grid_config() {
    local file=$1 epochs=$2; shift 2
    sed -e "s/^  epochs: .*/  epochs: $epochs/" "$T/small.yaml" >"$file"
    echo "grid:" >>"$file"
    local axis
    for axis in "$@"; do echo "  $axis" >>"$file"; done
}

# no_duplicates DB N: exactly N runs, one per point 0..N-1, all finished,
# each with all of its epochs and no more
all_finished_once() {
    local db=$1 n=$2
    [ "$(q "$db" "SELECT count(*) FROM runs")" = "$n" ] || fail "expected $n runs, got $(q "$db" 'SELECT count(*) FROM runs')"
    [ "$(q "$db" "SELECT count(DISTINCT grid_point) || ' ' || min(grid_point) || ' ' || max(grid_point) FROM runs")" = "$n 0 $((n - 1))" ] \
        || fail "points not 0..$((n - 1)) once each: $(q "$db" 'SELECT group_concat(grid_point) FROM runs')"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'finished'")" = "$n" ] \
        || fail "not all finished: $(q "$db" 'SELECT group_concat(status) FROM runs')"
    [ "$(q "$db" "SELECT count(*) FROM runs r WHERE epochs_done != epochs OR (SELECT count(*) FROM epochs e WHERE e.run_id = r.id) != epochs
                   OR (SELECT max(epoch) FROM epochs e WHERE e.run_id = r.id) != epochs")" = 0 ] || fail "runs with missing or extra epochs"
    [ "$(q "$db" "SELECT count(*) FROM (SELECT experiment, grid_point FROM runs GROUP BY 1, 2 HAVING count(*) > 1)")" = 0 ] \
        || fail "duplicated points"
    [ "$(q "$db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
}

test_help_lists_commands() {
    $BIN --help >"$T/out"
    local c
    for c in grid ls show compare best export plot; do
        grep -q "^  $c " "$T/out" || fail "autorec --help lacks $c"
        $BIN "$c" --help >/dev/null || fail "autorec $c --help failed"
    done
    $BIN grid --help | grep >/dev/null -- "--workers N" || fail "grid --help lacks --workers"
}

test_dry_run_lists_points() {
    grid_config "$T/g12.yaml" 3 "model.hidden: [8, 16, 32]" "train.lr: [0.01, 0.02]" "train.seed: [0, 1]"
    $BIN grid "$T/g12.yaml" --db "$T/dry.db" --dry-run >"$T/out" 2>&1 || fail "dry run failed: $(cat "$T/out")"
    grep -q "^grid small-[0-9a-f]\{12\}: 12 points (model.hidden,train.lr,train.seed)" "$T/out" || fail "dry-run header: $(head -1 "$T/out")"
    [ "$(grep -c "to run$" "$T/out")" = 12 ] || fail "expected 12 points to run: $(cat "$T/out")"
    grep -q "^ 1/12  8       0.01  0     [0-9a-f]\{16\}  to run$" "$T/out" || fail "first point: $(sed -n 3p "$T/out")"
    grep -q "^12/12  32      0.02  1 " "$T/out" || fail "last axis must vary fastest"
    [ ! -e "$T/dry.db" ] || fail "--dry-run created the database"
}

test_invalid_grid_fails_before_running() {
    grid_config "$T/bad1.yaml" 3 "model.hidden: [8, 16]" "train.lr: [0.01, fast]"
    $BIN grid "$T/bad1.yaml" --db "$T/bad.db" 2>"$T/err"; [ $? -eq 2 ] || fail "bad grid value should exit 2"
    grep -q "bad1.yaml:[0-9]*:[0-9]*:.*train.lr.*fast" "$T/err" || fail "message should name key and value: $(cat "$T/err")"
    grid_config "$T/bad2.yaml" 3 "data.split.kind: [random, files]"
    $BIN grid "$T/bad2.yaml" --db "$T/bad.db" 2>"$T/err"; [ $? -eq 2 ] || fail "invalid point should exit 2"
    grep -q "grid point 2 of 2 (kind=files): data.split.train_file" "$T/err" || fail "invalid point message: $(cat "$T/err")"
    grid_config "$T/bad3.yaml" 3 "data.path: [$T/data, $T/nowhere]"
    $BIN grid "$T/bad3.yaml" --db "$T/bad.db" 2>"$T/err"; [ $? -eq 2 ] || fail "missing data should exit 2"
    grep -q "data.path: '$T/nowhere' (grid point 2 of 2)" "$T/err" || fail "missing data message: $(cat "$T/err")"
    $BIN grid "$T/g12.yaml" --db "$T/bad.db" --workers 2 --threads 64 2>"$T/err"; [ $? -eq 2 ] || fail "too many threads should exit 2"
    grep -q "exceed the [0-9]* cores" "$T/err" || fail "thread budget message: $(cat "$T/err")"
    [ ! -e "$T/bad.db" ] || fail "a refused grid created the database"
}

test_two_processes_share_a_grid() {
    local db="$T/two.db"
    grid_config "$T/two.yaml" 400 "model.hidden: [8, 16, 32]" "train.lr: [0.01, 0.02]" "train.seed: [0, 1]"
    $BIN grid "$T/two.yaml" --db "$db" --threads 1 >"$T/out1" 2>"$T/err1" & local p1=$!
    $BIN grid "$T/two.yaml" --db "$db" --threads 1 >"$T/out2" 2>"$T/err2" & local p2=$!
    wait $p1; local rc1=$?
    wait $p2; local rc2=$?
    [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] || fail "exit codes $rc1 $rc2: $(cat "$T/err1" "$T/err2")"
    all_finished_once "$db" 12
    [ "$(q "$db" "SELECT count(DISTINCT worker) FROM runs")" = 2 ] || fail "both processes should have run points"
    [ "$(q "$db" "SELECT max(attempts) FROM runs")" = 1 ] || fail "a point ran twice"
    grep -q "database is locked" "$T/err1" "$T/err2" && fail "database is locked"
    # off a terminal: plain lines only (the created database, the header,
    # one line per point that settled), no escapes
    grep -q $'\033' "$T/err1" "$T/err2" && fail "escapes off a terminal"
    grep -v -e "created a new results database" -e "^grid [0-9a-z-]*: 12 points, " -e ": point [0-9]*/12 .* finished (run " \
        "$T/err1" "$T/err2" && fail "unexpected stderr off a terminal: $(cat "$T/err1" "$T/err2")"
    [ "$(cat "$T/err1" "$T/err2" | grep -c "created a new results database")" = 1 ] || fail "the database should be reported created once"
    grep -q "12 points: 12 finished" "$T/out1" && grep -q "12 points: 12 finished" "$T/out2" || fail "summaries: $(cat "$T/out1")"
    # the summary is sorted by best test RMSE
    awk '$1 ~ /^[0-9]+$/ && NF >= 9 { print $7 }' "$T/out1" | sort -c -g || fail "summary not sorted: $(cat "$T/out1")"
    rerun_runs_nothing
}

# (part of the test above: tests run in alphabetical order)
rerun_runs_nothing() {
    local db="$T/two.db" before after
    before=$(q "$db" "SELECT group_concat(id || started_at || attempts) FROM runs")
    $BIN grid "$T/two.yaml" --db "$db" --workers 2 --threads 1 >"$T/out" 2>&1 || fail "rerun failed: $(cat "$T/out")"
    after=$(q "$db" "SELECT group_concat(id || started_at || attempts) FROM runs")
    [ "$before" = "$after" ] || fail "a rerun of a finished grid ran points"
    $BIN grid "$T/two.yaml" --db "$db" --dry-run | grep -c "finished (run [0-9]*)$" | grep >/dev/null -x 12 || fail "dry run should show 12 finished"
}

test_workers_in_parallel() {
    local db="$T/par.db"
    grid_config "$T/par.yaml" 200 "model.hidden: [8, 16]" "train.seed: [0, 1]"
    $BIN grid "$T/par.yaml" --db "$db" --workers 2 >"$T/out" 2>&1 || fail "grid --workers 2 failed: $(cat "$T/out")"
    all_finished_once "$db" 4
    [ "$(q "$db" "SELECT count(DISTINCT worker) || ' ' || max(threads) FROM runs")" = "2 1" ] \
        || fail "expected 2 workers of 1 thread: $(q "$db" 'SELECT group_concat(worker || threads) FROM runs')"
}

# kill -9 one worker process mid-point: the grid releases its point and a
# new worker trains it again from epoch 1; nothing is lost or duplicated
test_killed_worker_is_replaced() {
    local db="$T/kill1.db"
    grid_config "$T/kill1.yaml" 2500 "model.hidden: [8, 16]" "train.seed: [0, 1]"
    $BIN grid "$T/kill1.yaml" --db "$db" --threads 1 >"$T/out" 2>"$T/err" &
    local pid=$!
    wait_for_epoch "$db" || fail "no epoch within 60 s"
    local child   # the worker running point 0 ("host:pid/tag"), a child of the grid
    child=$(q "$db" "SELECT worker FROM runs WHERE grid_point = 0" | sed -n 's|^.*:\([0-9]*\)/.*$|\1|p')
    [ -n "$child" ] && [ "$(parent_pid "$child")" = "$pid" ] \
        || { fail "point 0's worker '$child' is not a child of the grid: $(child_pids "$pid")"; kill -9 "$pid"; wait "$pid"; return; }
    kill -9 "$child"
    wait "$pid"; local rc=$?
    [ $rc -eq 0 ] || fail "grid exit $rc: $(cat "$T/err")"
    grep -q "worker $child died (signal 9); its point is released for takeover" "$T/err" || fail "no death message: $(cat "$T/err")"
    all_finished_once "$db" 4
    [ "$(q "$db" "SELECT attempts FROM runs WHERE grid_point = 0")" = 2 ] || fail "point 0 should have been taken over once: $(q "$db" "SELECT grid_point, attempts, status, worker FROM runs") killed $child; $(cat "$T/err")"
}

# kill -9 the whole grid (parent and workers): the running point stays
# 'running' with a silent heartbeat; the rerun takes it over once stale
test_killed_grid_resumes_stale_point() {
    local db="$T/kill2.db"
    grid_config "$T/kill2.yaml" 2500 "model.hidden: [8, 16, 32]"
    setsid $BIN grid "$T/kill2.yaml" --db "$db" --threads 1 >/dev/null 2>&1 &
    local pid=$!
    wait_for_epoch "$db" || fail "no epoch within 60 s"
    kill -9 -- -"$pid"
    wait "$pid" 2>/dev/null
    sleep 0.2
    [ "$(q "$db" "SELECT status FROM runs WHERE grid_point = 0")" = running ] || fail "the killed point should look running"
    local done_before
    done_before=$(q "$db" "SELECT epochs_done FROM runs WHERE grid_point = 0")
    [ "$done_before" -ge 1 ] && [ "$done_before" -lt 2500 ] || fail "killed at epoch $done_before"
    AUTOREC_STALE_SECONDS=1 $BIN grid "$T/kill2.yaml" --db "$db" --threads 1 >"$T/out" 2>"$T/err" \
        || fail "resume failed: $(cat "$T/err")"
    all_finished_once "$db" 3
    [ "$(q "$db" "SELECT attempts FROM runs WHERE grid_point = 0")" = 2 ] || fail "stale point not taken over"
    [ "$(q "$db" "SELECT max(attempts) FROM runs WHERE grid_point > 0")" = 1 ] || fail "other points ran twice"
}

# the grid process killed alone: its workers notice (parent-death signal),
# mark their run interrupted and exit
test_orphan_workers_stop() {
    local db="$T/orphan.db"
    grid_config "$T/orphan.yaml" 100000 "model.hidden: [8, 16]"
    $BIN grid "$T/orphan.yaml" --db "$db" --threads 1 >/dev/null 2>&1 &
    local pid=$!
    wait_for_epoch "$db" || fail "no epoch within 60 s"
    local child
    child=$(child_pids "$pid" | head -1)
    [ -n "$child" ] || { fail "no worker process found"; kill -9 "$pid"; wait "$pid"; return; }
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$child" 2>/dev/null && { kill -9 "$child"; fail "the orphaned worker kept running"; }
    [ "$(q "$db" "SELECT status FROM runs WHERE grid_point = 0")" = interrupted ] || fail "orphan did not mark its run interrupted"
}

test_sigint_then_resume() {
    local db="$T/int.db"
    grid_config "$T/int.yaml" 3000 "model.hidden: [8, 16]"
    $BIN grid "$T/int.yaml" --db "$db" --threads 1 >"$T/out" 2>"$T/err" &
    local pid=$!
    wait_for_epoch "$db" || fail "no epoch within 60 s"
    kill -INT "$pid"
    wait "$pid"; local rc=$?
    [ $rc -eq 130 ] || fail "SIGINT exit $rc, expected 130"
    grep -q "interrupted by SIGINT; run the same command again to resume" "$T/err" || fail "no resume hint: $(cat "$T/err")"
    [ "$(q "$db" "SELECT status FROM runs WHERE grid_point = 0")" = interrupted ] || fail "point 0 not interrupted"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE grid_point = 1")" = 0 ] || fail "point 1 should not have started"
    $BIN grid "$T/int.yaml" --db "$db" --threads 1 --set train.epochs=3 >/dev/null 2>&1
    # --set changed the config: a new experiment, the old one untouched
    [ "$(q "$db" "SELECT count(DISTINCT experiment) FROM runs")" = 2 ] || fail "--set should make a new experiment"
    sed -i 's/^  epochs: .*/  epochs: 30/' "$T/int.yaml"
    $BIN grid "$T/int.yaml" --db "$db" --threads 1 >/dev/null 2>&1 || fail "grid after edit failed"
    [ "$(q "$db" "SELECT count(DISTINCT experiment) FROM runs")" = 3 ] || fail "an edited config is a new experiment"
}

test_grid_on_bad_database() {
    printf 'not a database %.0s' $(seq 300) >"$T/text.db"
    grid_config "$T/tiny.yaml" 2 "model.hidden: [8]"
    $BIN grid "$T/tiny.yaml" --db "$T/text.db" 2>"$T/err"; [ $? -eq 1 ] || fail "grid on a text file should exit 1"
    grep -q "is not an SQLite database" "$T/err" || fail "message: $(cat "$T/err")"
}

make_data
run_tests cli_grid
