#!/usr/bin/env bash
# Command-line tests of how a run ends when something other than training
# ends it: every catchable signal that would kill the process, a closed or
# full stdout, the file-size limit, a failed thread creation under a memory
# limit, SIGTERM while a write waits for a lock, and SIGKILL (the run shows
# as 'stale' once its heartbeat is old).  None may leave a run 'running'
# with a live-looking heartbeat.  docs/failures.md: "Signals and stale runs".
source "$(dirname "$0")/lib.sh"
make_data

# long_run DB [ARGS...]: starts a practically endless quiet run in the
# background (stderr to $T/err); sets pid; waits for its first epoch.
long_run() {
    local db=$1; shift
    $BIN run "$T/small.yaml" --quiet --db "$db" --set train.epochs=1000000 "$@" >/dev/null 2>"$T/err" &
    pid=$!
    wait_for_epoch "$db" || fail "no epoch within 60 s: $(cat "$T/err")"
}

# stop_wait PID: waits for the run PID to end (60 s at most: a signal it
# ignores must fail the test, not hang it); sets rc (-1 when it was still
# running and had to be killed).
stop_wait() {
    local i
    for i in $(seq 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$1" 2>/dev/null; then
        kill -9 "$1"; wait "$1" 2>/dev/null; rc=-1
        fail "process $1 still running 60 s after the signal"
        return
    fi
    wait "$1"; rc=$?
}

# Every signal whose default action ends the process, sent to a training
# run: the run is recorded as interrupted with its finished epochs, exit
# 128 + the signal number, and the message names the signal.
test_every_stop_signal_interrupts_the_run() {
    local sig n=0 rc num db
    set -m   # job control: background runs do not inherit SIGQUIT ignored
    for sig in HUP INT QUIT TERM USR1 USR2 ALRM VTALRM PROF XCPU PWR IO RTMIN+3; do
        n=$((n + 1)); db="$T/sig$n.db"
        long_run "$db"
        kill -s "$sig" "$pid"; stop_wait "$pid"
        num=$(kill -l "$sig")
        [ "$rc" -eq $((128 + num)) ] || fail "SIG$sig: exit $rc, expected $((128 + num)): $(cat "$T/err")"
        grep -q "interrupted by SIG$sig after [0-9]* finished epochs" "$T/err" || fail "SIG$sig: message: $(cat "$T/err")"
        [ "$(q "$db" "SELECT status FROM runs")" = interrupted ] || fail "SIG$sig: status $(q "$db" 'SELECT status FROM runs')"
        [ "$(q "$db" "SELECT epochs_done = (SELECT count(*) FROM epochs) FROM runs")" = 1 ] || fail "SIG$sig: epochs lost"
    done
    set +m
}

# Under nohup (SIGHUP ignored from the start) a hangup does not stop the
# run: the SIGINT sent after it is the one that does (exit 130, not 129).
test_nohup_keeps_sighup_ignored() {
    local db="$T/nohup.db"
    nohup $BIN run "$T/small.yaml" --quiet --db "$db" --set train.epochs=1000000 >/dev/null 2>"$T/err" &
    pid=$!
    wait_for_epoch "$db" || fail "no epoch within 60 s: $(cat "$T/err")"
    kill -HUP "$pid"
    kill -0 "$pid" 2>/dev/null || fail "SIGHUP ended a nohup run"
    kill -INT "$pid"; stop_wait "$pid"
    [ "$rc" -eq 130 ] || fail "exit $rc, expected 130 (SIGINT): $(cat "$T/err")"
    grep -q "interrupted by SIGINT" "$T/err" || fail "message: $(cat "$T/err")"
}

# `autorec run ... | head -1`: the reader goes away; the run fails cleanly
# (it is not killed by SIGPIPE and left 'running').
test_closed_stdout_fails_the_run() {
    local db="$T/pipe.db" rc
    $BIN run "$T/small.yaml" --db "$db" --set train.epochs=1000000 2>"$T/err" | head -1 >/dev/null
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 1 ] || fail "exit $rc, expected 1: $(cat "$T/err")"
    grep -q "cannot write the progress of run 1 to standard output after [0-9]* epochs: Broken pipe" "$T/err" \
        || fail "message: $(cat "$T/err")"
    [ "$(q "$db" "SELECT status FROM runs")" = failed ] || fail "status $(q "$db" 'SELECT status FROM runs')"
    q "$db" "SELECT error FROM runs" | grep -q "Broken pipe" || fail "error column: $(q "$db" 'SELECT error FROM runs')"
}

# stdout on a full device: the first progress line fails the run.
test_full_stdout_fails_the_run() {
    local db="$T/full.db" rc
    $BIN run "$T/small.yaml" --db "$db" >/dev/full 2>"$T/err"; rc=$?
    [ "$rc" -eq 1 ] || fail "exit $rc, expected 1: $(cat "$T/err")"
    grep -q "No space left on device" "$T/err" || fail "message: $(cat "$T/err")"
    [ "$(q "$db" "SELECT status FROM runs")" = failed ] || fail "status $(q "$db" 'SELECT status FROM runs')"
    # --quiet prints only the summary: the run finishes, the exit says the
    # summary was lost
    $BIN run "$T/small.yaml" --db "$db" --quiet >/dev/full 2>"$T/err"; rc=$?
    [ "$rc" -eq 1 ] || fail "--quiet: exit $rc, expected 1"
    grep -q "run 2 finished (recorded in $db) but its summary could not be written" "$T/err" || fail "--quiet: $(cat "$T/err")"
    [ "$(q "$db" "SELECT status FROM runs WHERE id = 2")" = finished ] || fail "--quiet: run 2 not finished"
}

# The file-size limit (ulimit -f) reached by the database: SIGXFSZ does not
# kill the run; it fails with a message naming the limit.
test_file_size_limit_fails_the_run() {
    local db="$T/fsize.db" rc=0
    (ulimit -f 200; exec $BIN run "$T/small.yaml" --quiet --db "$db" --set train.epochs=1000000) >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq 1 ] || fail "exit $rc, expected 1: $(cat "$T/err")"
    grep -q "cannot record epoch [0-9]* of run 1 in $db: .*the file-size limit (ulimit -f) of 204800 bytes" "$T/err" \
        || fail "message: $(cat "$T/err")"
    [ "$(q "$db" "SELECT status FROM runs")" = failed ] || fail "status $(q "$db" 'SELECT status FROM runs')"
    [ "$(q "$db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
}

# A thread whose stack does not fit the address-space limit (stacks of
# ulimit -s = 1 GB each under ulimit -v = 800 MB; 2 threads): a clear
# error instead of libgomp ending the process and leaving the run
# 'running'.  ASan reserves terabytes: no limit possible there.
test_thread_creation_failure_is_clean() {
    if [ -n "${AUTOREC_SAN:-}" ]; then
        skip "AddressSanitizer reserves terabytes of address space: ulimit -v impossible"; return
    fi
    if ! (ulimit -s 1000000) 2>/dev/null; then
        skip "cannot raise the stack limit to 1 GB (hard limit $(ulimit -Hs))"; return
    fi
    local db="$T/threads.db" rc=0
    (ulimit -s 1000000; ulimit -v 800000; exec $BIN run "$T/small.yaml" --quiet --db "$db" --set train.threads=2) \
        >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "exit $rc, expected 2: $(cat "$T/err")"
    grep -q "cannot start 2 threads (train.threads): thread 2 failed: .*lower train.threads" "$T/err" \
        || fail "message: $(cat "$T/err")"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'running'" 2>/dev/null || echo 0)" = 0 ] || fail "a run left running"
    # a grid point (1.5 GB: the worker's heartbeat thread fits, the
    # training thread does not): the worker records the point as failed
    sed -e "s/^  epochs: .*/  epochs: 2/" "$T/small.yaml" > "$T/tg.yaml"
    printf 'grid:\n  model.hidden: [8]\n' >> "$T/tg.yaml"
    rc=0
    (ulimit -s 1000000; ulimit -v 1500000; exec $BIN grid "$T/tg.yaml" --db "$T/tg.db" --threads 2) \
        >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq 1 ] || fail "grid: exit $rc, expected 1: $(cat "$T/err")"
    [ "$(q "$T/tg.db" "SELECT status FROM runs")" = failed ] || fail "grid point: $(q "$T/tg.db" 'SELECT status, error FROM runs')"
    q "$T/tg.db" "SELECT error FROM runs" | grep -q "cannot start 2 threads" || fail "grid error: $(q "$T/tg.db" 'SELECT error FROM runs')"
}

# lock_until_released DB SQL: an sqlite3 process (pid in LOCKER) runs SQL
# (which takes a lock) on DB and holds it until $T/unlock exists (60 s at
# most); returns once the lock is taken.
lock_until_released() {
    rm -f "$T/locked" "$T/unlock"
    { echo ".timeout 60000"; echo "$2"; echo ".system touch $T/locked"
      for _ in $(seq 600); do [ -e "$T/unlock" ] && break; sleep 0.1; done
      echo "ROLLBACK;"; } 2>/dev/null | sqlite3 -bail "$1" >/dev/null 2>"$T/locker.err" &
    LOCKER=$!
    for _ in $(seq 600); do [ -e "$T/locked" ] && return 0; sleep 0.05; done
    fail "could not take the lock on $1: $(cat "$T/locker.err")"
}

# SIGTERM while an epoch write waits for a lock held by another process
# (writes otherwise wait for minutes): the run stops while the lock is
# still held, exit 143, and says why.
test_sigterm_ends_a_lock_wait() {
    local db="$T/lock.db" rc
    long_run "$db"
    lock_until_released "$db" "BEGIN IMMEDIATE; UPDATE runs SET name = name;"
    sleep 0.5   # the run now waits to record its next epoch
    local t0; t0=$(date +%s%N)
    kill -TERM "$pid"; stop_wait "$pid"
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    kill -0 "$LOCKER" 2>/dev/null || fail "the run ended only after the lock was released"
    touch "$T/unlock"; wait "$LOCKER"
    [ "$rc" -eq 143 ] || fail "exit $rc, expected 143: $(cat "$T/err")"
    grep -q "locked by another process and SIGTERM asked to stop: gave up waiting" "$T/err" || fail "message: $(cat "$T/err")"
    echo "    (SIGTERM to exit while locked: $ms ms)"
    # a lock that keeps even readers out while the run opens the database
    # (no run recorded yet): the same, nothing written
    lock_until_released "$db" "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; SELECT count(*) FROM runs;"
    $BIN run "$T/small.yaml" --quiet --db "$db" >/dev/null 2>"$T/err" &
    pid=$!
    sleep 0.5   # the run now waits to read the schema
    kill -TERM "$pid"; stop_wait "$pid"
    kill -0 "$LOCKER" 2>/dev/null || fail "open: the run ended only after the lock was released"
    touch "$T/unlock"; wait "$LOCKER"
    [ "$rc" -eq 143 ] || fail "open: exit $rc, expected 143: $(cat "$T/err")"
    grep -q "locked by another process and SIGTERM asked to stop" "$T/err" || fail "open: message: $(cat "$T/err")"
    [ "$(q "$db" "SELECT count(*) FROM runs")" = 1 ] || fail "open: a run was recorded"
}

# kill -9: the run stays 'running' in the table, and the query tools show
# it as 'stale' once its heartbeat is older than 30 s (aged here by moving
# the stamp back rather than by waiting).
test_killed_run_shows_stale() {
    local db="$T/kill.db"
    long_run "$db"
    kill -9 "$pid"; wait "$pid" 2>/dev/null
    [ "$(q "$db" "SELECT status FROM runs")" = running ] || fail "row status $(q "$db" 'SELECT status FROM runs')"
    $BIN ls --db "$db" >"$T/out" 2>&1 || fail "ls failed: $(cat "$T/out")"
    grep -Eq '^ +1 .* running ' "$T/out" || fail "a fresh heartbeat should show running: $(cat "$T/out")"
    q "$db" "UPDATE runs SET heartbeat_at = heartbeat_at - 31"
    $BIN ls --db "$db" >"$T/out" 2>&1 || fail "ls failed: $(cat "$T/out")"
    grep -Eq '^ +1 .* stale ' "$T/out" || fail "ls: $(cat "$T/out")"
    $BIN ls --db "$db" --status stale >"$T/out" 2>&1 || fail "ls --status stale failed: $(cat "$T/out")"
    grep -Eq '^ +1 ' "$T/out" || fail "--status stale: $(cat "$T/out")"
    $BIN ls --db "$db" --status running >"$T/out" 2>&1
    grep -Eq '^ +1 ' "$T/out" && fail "--status running lists the stale run: $(cat "$T/out")"
    $BIN show 1 --db "$db" >"$T/out" 2>&1 || fail "show failed: $(cat "$T/out")"
    head -1 "$T/out" | grep -q "^run 1  stale  'small'" || fail "show: $(head -3 "$T/out")"
    grep -q "no heartbeat for over 30 s" "$T/out" || fail "show explains nothing: $(head -3 "$T/out")"
    $BIN export --runs --db "$db" >"$T/out" 2>&1 || fail "export failed: $(cat "$T/out")"
    grep -q ",stale," "$T/out" || fail "export: $(cat "$T/out")"
}

# A grid sent a signal other than SIGINT/SIGTERM/SIGHUP forwards it to its
# workers; they mark their points interrupted; exit 128 + N.
test_grid_forwards_other_signals() {
    local db="$T/gsig.db" rc
    sed -e "s/^  epochs: .*/  epochs: 1000000/" -e "s/^  threads: .*/  threads: 1/" "$T/small.yaml" > "$T/gs.yaml"
    printf 'grid:\n  model.hidden: [8, 16]\n' >> "$T/gs.yaml"
    $BIN grid "$T/gs.yaml" --db "$db" --threads 1 >/dev/null 2>"$T/err" &
    local gpid=$!
    wait_for_epoch "$db" || fail "no epoch within 60 s"
    kill -s USR1 "$gpid"; stop_wait "$gpid"
    [ "$rc" -eq $((128 + $(kill -l USR1))) ] || fail "exit $rc: $(cat "$T/err")"
    grep -q "interrupted by SIGUSR1; run the same command again to resume" "$T/err" || fail "message: $(cat "$T/err")"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'running'")" = 0 ] || fail "points left running: $(q "$db" 'SELECT grid_point, status FROM runs')"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'interrupted'")" -ge 1 ] || fail "no point interrupted"
}

run_tests cli_lifecycle
