#!/usr/bin/env bash
# Command-line tests of `autorec slurm`, `autorec grid --point` and `autorec
# merge`: the batch script, shards merged twice, a resumed task's shard
# replacing its failed run, failed and interrupted tasks visible after the
# merge, --resume submitting exactly the missing points, columns merged by
# name; and the whole flow on a real single-node Slurm cluster
# (tests/slurm_cluster.sh: munged, slurmctld, slurmd in $T/cluster), a
# 6-point grid as a job array, waited for with squeue; and a search with
# search.pruner: asha as a chain of job arrays, one per rung.
source "$(dirname "$0")/lib.sh"
CLUSTER="$T/cluster"
trap 'bash tests/slurm_cluster.sh stop "$CLUSTER" >/dev/null 2>&1; bash tests/slurm_cluster.sh stop "$CLUSTER-chain" >/dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
make_data

# g6 FILE [EPOCHS]: the small config as a 6-point grid (hidden x seed).
g6() {
    sed -e "s/^  epochs: .*/  epochs: ${2:-3}/" -e "s/^  threads: .*/  threads: 1/" "$T/small.yaml" >"$1"
    printf 'grid:\n  model.hidden: [8, 16, 32]\n  train.seed: [0, 1]\n' >>"$1"
}

# experiment id of grid config $1
exp_of() { $BIN grid "$1" --dry-run --db "$T/none.db" | sed -n 's/^grid \([^:]*\):.*/\1/p'; }

# dump DB: every run and epoch column except the row id (stable across merges)
dump() {
    q "$1" "SELECT experiment, grid_point, status, attempts, epochs_done, final_test_rmse, started_at, heartbeat_at FROM runs ORDER BY experiment, grid_point"
    q "$1" "SELECT r.grid_point, e.epoch, e.train_loss, e.test_rmse FROM epochs e JOIN runs r ON r.id = e.run_id ORDER BY 1, 2"
}

# finished_with_epochs DB N EPOCHS: N finished runs, one per point, each
# with exactly EPOCHS epochs rows, no duplicates
finished_with_epochs() {
    local db=$1 n=$2 ep=$3
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'finished'")" = "$n" ] || fail "expected $n finished runs: $(q "$db" 'SELECT grid_point, status FROM runs')"
    [ "$(q "$db" "SELECT count(*) FROM runs")" = "$n" ] || fail "expected $n runs, got $(q "$db" 'SELECT count(*) FROM runs')"
    [ "$(q "$db" "SELECT count(*) FROM runs r WHERE epochs_done != $ep OR (SELECT count(*) FROM epochs e WHERE e.run_id = r.id) != $ep")" = 0 ] \
        || fail "runs without all their $ep epochs"
    [ "$(q "$db" "SELECT count(*) FROM epochs")" = $((n * ep)) ] || fail "expected $((n * ep)) epochs, got $(q "$db" 'SELECT count(*) FROM epochs')"
    [ "$(q "$db" "SELECT count(*) FROM (SELECT 1 FROM runs GROUP BY experiment, grid_point HAVING count(*) > 1)")" = 0 ] || fail "duplicated points"
    [ "$(q "$db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
}

test_slurm_script_lines() {
    g6 "$T/p.yaml"
    local x
    $BIN slurm "$T/p.yaml" --db "$T/pdb/results.db" --max-parallel 2 --threads 2 --partition debug --time 0:10:00 --print --set train.lr=0.02 >"$T/job" 2>"$T/err" \
        || fail "slurm --print failed: $(cat "$T/err")"
    x=$($BIN grid "$T/p.yaml" --set train.lr=0.02 --dry-run --db "$T/none.db" | sed -n 's/^grid \([^:]*\):.*/\1/p')
    head -1 "$T/job" | grep -qx '#!/bin/bash' || fail "no shebang"
    grep -qx '#SBATCH --array=0-5%2' "$T/job" || fail "array line: $(grep array "$T/job")"
    grep -qx '#SBATCH --cpus-per-task=2' "$T/job" || fail "cpus line"
    grep -qx '#SBATCH --partition=debug' "$T/job" || fail "partition line"
    grep -qx '#SBATCH --time=0:10:00' "$T/job" || fail "time line"
    grep -qx "#SBATCH --output=$T/pdb/shards/$x/logs/%a.%A.out" "$T/job" || fail "output line: $(grep output "$T/job")"
    grep -q "^export OMP_NUM_THREADS=\"\$threads\"" "$T/job" || fail "OMP_NUM_THREADS"
    grep -q "^export BLIS_NUM_THREADS=\"\$threads\"" "$T/job" || fail "BLIS_NUM_THREADS"
    grep -q '^threads="${SLURM_CPUS_PER_TASK:?run this with sbatch}"' "$T/job" || fail "threads from SLURM_CPUS_PER_TASK"
    grep -q '^point="${SLURM_ARRAY_TASK_ID:?run this with sbatch}"' "$T/job" || fail "point from SLURM_ARRAY_TASK_ID"
    grep -qF "exec '$(pwd)/autorec' grid '$T/p.yaml' --point \"\$point\" --threads \"\$threads\" --db '$T/pdb/shards/$x'/\"\$point\"/results.db --set 'train.lr=0.02'" "$T/job" \
        || fail "exec line: $(grep exec "$T/job")"
    [ -d "$T/pdb/shards/$x/logs" ] || fail "the logs directory must exist before sbatch"
    [ ! -e "$T/pdb/results.db" ] || fail "--print registered the experiment"
    bash -n "$T/job" || fail "the script is not valid bash"
    # without --print: the script file, and the experiment registered
    $BIN slurm "$T/p.yaml" --db "$T/pdb/results.db" >"$T/out" 2>&1 || fail "slurm failed: $(cat "$T/out")"
    x=$(exp_of "$T/p.yaml")
    grep -q "^wrote $T/pdb/shards/$x/job.sbatch: grid $x, 6 tasks (--array=0-5), 1 CPU each" "$T/out" || fail "output: $(cat "$T/out")"
    [ -x "$T/pdb/shards/$x/job.sbatch" ] || fail "no job.sbatch"
    [ "$(q "$T/pdb/results.db" "SELECT n_points || ' ' || pending FROM grid_summary WHERE experiment = '$x'")" = "6 6" ] || fail "experiment not registered"
}

test_slurm_bad_usage() {
    g6 "$T/b.yaml"
    local a
    for a in "--time soon" "--time 1:2:3:4" "--partition a;b" "--threads 0" "--max-parallel x" "--submit --print" "--frob"; do
        # shellcheck disable=SC2086
        $BIN slurm "$T/b.yaml" --db "$T/bdb/r.db" $a >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "'$a' should exit 2"
        [ -s "$T/err" ] || fail "'$a': no message"
    done
    $BIN slurm "$T/nowhere.yaml" --db "$T/bdb/r.db" 2>/dev/null; [ $? -eq 2 ] || fail "missing config should exit 2"
    [ ! -e "$T/bdb" ] || fail "a refused command wrote something"
}

# runs grid point $2 of config $1 into shard directory $3 like a task does
task() { $BIN grid "$1" --point "$2" --threads 1 --db "$3/$2/results.db" >"$T/task.out" 2>&1; }

test_merge_twice_same_rows() {
    g6 "$T/m.yaml"
    local x i; x=$(exp_of "$T/m.yaml")
    for i in 0 1 2 3 4 5; do task "$T/m.yaml" $i "$T/ms/$x" || fail "point $i failed: $(cat "$T/task.out")"; done
    [ "$(q "$T/ms/$x/4/results.db" "SELECT count(*) || ' ' || grid_point FROM runs")" = "1 4" ] || fail "--point 4 must run exactly point 4"
    $BIN merge "$T/ms/$x" --into "$T/m.db" >"$T/out" 2>&1 || fail "merge failed: $(cat "$T/out")"
    grep -q "6 shards merged into $T/m.db: 6 runs new, 0 replaced, 0 kept, 18 epochs copied" "$T/out" || fail "merge output: $(cat "$T/out")"
    grep -q "grid $x: 6 points: 6 finished, 0 diverged, 0 failed, 0 interrupted, 0 running, 0 not run" "$T/out" || fail "counts: $(cat "$T/out")"
    finished_with_epochs "$T/m.db" 6 3
    dump "$T/m.db" >"$T/d1"
    $BIN merge "$T/ms/$x" "$T/ms/$x/2/results.db" --into "$T/m.db" >"$T/out" 2>&1 || fail "second merge failed: $(cat "$T/out")"
    grep -q "6 shards merged into .*: 0 runs new, 0 replaced, 6 kept, 0 epochs copied" "$T/out" || fail "second merge output: $(cat "$T/out")"
    dump "$T/m.db" >"$T/d2"
    cmp -s "$T/d1" "$T/d2" || fail "merging twice changed rows: $(diff "$T/d1" "$T/d2" | head)"
    finished_with_epochs "$T/m.db" 6 3
    # the merged rows equal the shards' (same numbers, per point)
    [ "$(q "$T/m.db" "SELECT final_test_rmse FROM runs WHERE grid_point = 5")" = "$(q "$T/ms/$x/5/results.db" "SELECT final_test_rmse FROM runs")" ] || fail "merged numbers differ"
}

test_failed_task_then_resumed_shard_replaces_it() {
    g6 "$T/f.yaml"
    local x i; x=$(exp_of "$T/f.yaml")
    for i in 0 1 2 4 5; do task "$T/f.yaml" $i "$T/fs/$x" || fail "point $i failed"; done
    # point 3 (hidden 16, seed 1) fails: its task finds a broken data file
    mv "$T/data/u.data" "$T/data/u.good"
    printf '1\t1\t5\t0\nbroken line\n' >"$T/data/u.data"
    task "$T/f.yaml" 3 "$T/fs/$x"; local rc=$?
    mv "$T/data/u.good" "$T/data/u.data"
    [ $rc -eq 1 ] || fail "a failed point should exit 1, got $rc: $(cat "$T/task.out")"
    grep -q "point 4/6 (hidden=16 seed=1): run 1 failed" "$T/task.out" || fail "report: $(cat "$T/task.out")"
    $BIN merge "$T/fs/$x" --into "$T/f.db" >"$T/out" 2>&1 || fail "merge failed: $(cat "$T/out")"
    grep -q "6 points: 5 finished, 0 diverged, 1 failed, 0 interrupted, 0 running, 0 not run" "$T/out" || fail "counts: $(cat "$T/out")"
    grep -q "^  point 3: failed: .*u.data:2" "$T/out" || fail "the failed point and its error: $(cat "$T/out")"
    [ "$(q "$T/f.db" "SELECT status || ' ' || attempts FROM runs WHERE grid_point = 3")" = "failed 1" ] || fail "failed run not in the database"
    # --resume submits exactly point 3
    $BIN slurm "$T/f.yaml" --db "$T/f.db" --shards "$T/fs" --resume --print --max-parallel 4 >"$T/job" 2>"$T/err" || fail "resume failed: $(cat "$T/err")"
    grep -qx '#SBATCH --array=3%4' "$T/job" || fail "resume array: $(grep array "$T/job")"
    grep -q "5 finished in $T/f.db, 0 finished in their shard only, 0 running, 1 to submit" "$T/err" || fail "resume report: $(cat "$T/err")"
    # the resubmitted task reuses its shard: attempt 2 finishes
    task "$T/f.yaml" 3 "$T/fs/$x" || fail "resumed point failed: $(cat "$T/task.out")"
    $BIN merge "$T/fs/$x" --into "$T/f.db" >"$T/out" 2>&1 || fail "merge failed: $(cat "$T/out")"
    grep -q "0 runs new, 1 replaced, 5 kept, 3 epochs copied" "$T/out" || fail "merge of the resumed shard: $(cat "$T/out")"
    [ "$(q "$T/f.db" "SELECT status || ' ' || attempts || ' ' || (error IS NULL) FROM runs WHERE grid_point = 3")" = "finished 2 1" ] || fail "resumed run did not replace the failed one"
    finished_with_epochs "$T/f.db" 6 3
    $BIN slurm "$T/f.yaml" --db "$T/f.db" --shards "$T/fs" --resume >"$T/out" 2>&1 || fail "resume of a complete grid failed"
    grep -q "nothing to resubmit" "$T/out" || fail "complete grid resume: $(cat "$T/out")"
    # an older shard (attempt 1, failed) merged again does not win
    q "$T/fs/$x/3/results.db" "UPDATE runs SET status = 'failed', started_at = '2000-01-01T00:00:00.000Z'"
    $BIN merge "$T/fs/$x/3/results.db" --into "$T/f.db" >"$T/out" 2>&1 || fail "merge failed"
    [ "$(q "$T/f.db" "SELECT status FROM runs WHERE grid_point = 3")" = finished ] || fail "an older failed run replaced a finished one"
}

test_interrupted_and_missing_points_visible() {
    g6 "$T/i.yaml" 100000
    local x; x=$(exp_of "$T/i.yaml")
    $BIN grid "$T/i.yaml" --point 1 --threads 1 --db "$T/is/$x/1/results.db" >"$T/task.out" 2>&1 & local pid=$!
    wait_for_epoch "$T/is/$x/1/results.db" 2 || fail "no epoch recorded"
    kill -TERM $pid; wait $pid; local rc=$?
    [ $rc -eq 143 ] || fail "SIGTERM (scancel) should exit 143, got $rc"
    # point 4's task started but was cancelled before running: an empty shard
    mkdir -p "$T/is/$x/4"; : >"$T/is/$x/4/results.db"
    $BIN slurm "$T/i.yaml" --db "$T/i.db" --shards "$T/is" >/dev/null || fail "slurm failed"
    $BIN merge "$T/is/$x" --into "$T/i.db" >"$T/out" 2>&1 || fail "merge failed: $(cat "$T/out")"
    grep -q "^skipped $T/is/$x/4/results.db: empty" "$T/out" || fail "empty shard: $(cat "$T/out")"
    grep -q "6 points: 0 finished, 0 diverged, 0 failed, 1 interrupted, 0 running, 5 not run" "$T/out" || fail "counts: $(cat "$T/out")"
    grep -q "^  point 1: interrupted" "$T/out" || fail "interrupted point: $(cat "$T/out")"
    grep -q "^  point 4: not run" "$T/out" || fail "missing point: $(cat "$T/out")"
    $BIN slurm "$T/i.yaml" --db "$T/i.db" --shards "$T/is" --resume --print 2>/dev/null | grep >/dev/null -x '#SBATCH --array=0-5' || fail "resume should submit every point"
}

test_merge_copies_columns_by_name() {
    g6 "$T/c.yaml"
    local x; x=$(exp_of "$T/c.yaml")
    task "$T/c.yaml" 0 "$T/cs/$x" || fail "point failed"
    task "$T/c.yaml" 1 "$T/cs/$x" || fail "point failed"
    # the shard has a column the target lacks, the target one the shard lacks
    q "$T/cs/$x/0/results.db" "ALTER TABLE runs ADD COLUMN shard_only TEXT DEFAULT 'x'; ALTER TABLE epochs ADD COLUMN lr_used REAL DEFAULT 1"
    $BIN merge "$T/cs/$x/1/results.db" --into "$T/c.db" >/dev/null || fail "first merge"
    q "$T/c.db" "ALTER TABLE runs ADD COLUMN target_only INTEGER DEFAULT 7"
    $BIN merge "$T/cs/$x/0/results.db" --into "$T/c.db" >"$T/out" 2>&1 || fail "merge with different columns failed: $(cat "$T/out")"
    [ "$(q "$T/c.db" "SELECT count(*) || ' ' || sum(target_only) FROM runs")" = "2 14" ] || fail "target-only column: $(q "$T/c.db" 'SELECT * FROM runs')"
    [ "$(q "$T/c.db" "SELECT count(*) FROM epochs")" = 6 ] || fail "epochs not merged"
}

# A grid with data.split.repeats run as one task per point: each shard
# holds one split, so merge recomputes each configuration's split summary
# from the merged runs; it must equal the summary of the same grid run on
# one machine.
test_merge_recomputes_split_summaries() {
    sed -e "s/^  epochs: .*/  epochs: 2/" -e "s/^  threads: .*/  threads: 1/" \
        -e "s/^    test_ratio: 0.1/    test_ratio: 0.1\n    repeats: 3/" "$T/small.yaml" >"$T/r.yaml"
    printf 'grid:\n  model.hidden: [8, 16]\n' >>"$T/r.yaml"
    local x i; x=$(exp_of "$T/r.yaml")
    for i in 0 1 2 3 4 5; do task "$T/r.yaml" $i "$T/rs/$x" || fail "point $i failed: $(cat "$T/task.out")"; done
    $BIN merge "$T/rs/$x" --into "$T/r.db" >"$T/out" 2>&1 || fail "merge failed: $(cat "$T/out")"
    $BIN grid "$T/r.yaml" --workers 1 --threads 1 --db "$T/r1.db" >/dev/null 2>&1 || fail "one-machine grid failed"
    local sum="SELECT group_point, params, n, round(selected_test_mean, 9), round(selected_test_sd, 9), round(selected_test_ci_hi, 9) FROM split_summaries ORDER BY group_point"
    [ "$(q "$T/r.db" "SELECT count(*) FROM split_summaries WHERE n = 3")" = 2 ] \
        || fail "merged summaries: $(q "$T/r.db" "$sum")"
    [ "$(q "$T/r.db" "$sum")" = "$(q "$T/r1.db" "$sum")" ] \
        || fail "merged summaries differ from one machine's: $(q "$T/r.db" "$sum") vs $(q "$T/r1.db" "$sum")"
}

test_merge_bad_shards() {
    $BIN merge "$T/nowhere.db" --into "$T/x.db" 2>"$T/err"; [ $? -eq 2 ] || fail "missing shard should exit 2"
    grep -q "nowhere.db: No such file" "$T/err" || fail "message: $(cat "$T/err")"
    [ ! -e "$T/x.db" ] || fail "a refused merge created the database"
    $BIN merge --into "$T/x.db" 2>/dev/null; [ $? -eq 2 ] || fail "no shard should exit 2"
    mkdir -p "$T/bad"; echo "not sqlite" >"$T/bad/a.db"
    g6 "$T/k.yaml"
    local x; x=$(exp_of "$T/k.yaml")
    task "$T/k.yaml" 2 "$T/bad" || fail "point failed"
    $BIN merge "$T/bad" --into "$T/x.db" >"$T/out" 2>"$T/err"; [ $? -eq 1 ] || fail "a bad shard should exit 1"
    grep -q "a.db" "$T/err" || fail "bad shard not named: $(cat "$T/err")"
    grep -q "1 shard merged into .*: 1 runs new" "$T/out" || fail "the good shard must still be merged: $(cat "$T/out")"
}

# wait_array ID: until job array ID has left squeue (300 s at most; there
# is no accounting, so no sacct).  Returns 1 on timeout.
wait_array() {
    local left=1
    for _ in $(seq 600); do
        left=$(squeue -h -r -j "$1" -o %i 2>/dev/null | wc -l)
        [ "$left" -eq 0 ] && return 0
        sleep 0.5
    done
    return 1
}

# cluster_start DIR OUT: starts the test cluster in DIR (its output in OUT);
# returns 1 after fail, or after skip when slurmd cannot run here at all
# (Debian's slurmd 22.05 refuses to start without a usable cgroup file
# system: a chroot without /sys/fs/cgroup, or with it bound non-recursively).
cluster_start() {
    bash tests/slurm_cluster.sh start "$1" >"$2" 2>&1 && return 0
    if grep -q "Unable to initialize cgroup plugin" "$1/slurmd.log" 2>/dev/null; then
        skip "slurmd needs a cgroup file system and /sys/fs/cgroup is missing or partly mounted here: $(grep -m1 'error:' "$1/slurmd.log")"
    else
        fail "the Slurm cluster did not start:"; sed 's/^/      /' "$2"
    fi
    return 1
}

# The whole flow on a real Slurm: a 6-point grid as a job array; then an
# array cancelled with scancel while its first task runs.
test_slurm_job_array_end_to_end() {
    if [ "$(id -u)" -ne 0 ]; then skip "needs root to start slurmctld and slurmd (SlurmUser=root)"; return; fi
    cluster_start "$CLUSTER" "$T/cluster.out" || return
    export SLURM_CONF="$CLUSTER/slurm.conf"
    g6 "$T/s.yaml" 4
    local x id; x=$(exp_of "$T/s.yaml")
    $BIN slurm "$T/s.yaml" --db "$T/sdb/results.db" --max-parallel 2 --threads 1 --time 00:05:00 --submit >"$T/out" 2>&1 \
        || { fail "submission failed: $(cat "$T/out")"; bash tests/slurm_cluster.sh logs "$CLUSTER"; return; }
    id=$(sed -n 's/^submitted job array \([0-9]*\)$/\1/p' "$T/out")
    [ -n "$id" ] || { fail "no job id: $(cat "$T/out")"; return; }
    wait_array "$id" || { fail "array $id still queued after 300 s: $(squeue -r)"; bash tests/slurm_cluster.sh logs "$CLUSTER"; return; }
    [ "$(ls "$T/sdb/shards/$x/logs" | wc -l)" = 6 ] || fail "expected 6 task logs: $(ls "$T/sdb/shards/$x/logs")"
    grep -q "run 1 finished" "$T/sdb/shards/$x/logs/5.$id.out" || fail "task 5 log: $(cat "$T/sdb/shards/$x/logs/5.$id.out")"
    $BIN merge "$T/sdb/shards/$x" --into "$T/sdb/results.db" >"$T/out" 2>&1 || fail "merge failed: $(cat "$T/out")"
    grep -q "grid $x: 6 points: 6 finished" "$T/out" || fail "merge counts: $(cat "$T/out")"
    finished_with_epochs "$T/sdb/results.db" 6 4
    [ "$(q "$T/sdb/results.db" "SELECT count(*) FROM runs WHERE threads = 1 AND host = '$(hostname)'")" = 6 ] \
        || fail "threads/host not recorded: $(q "$T/sdb/results.db" 'SELECT threads, host FROM runs')"
    $BIN slurm "$T/s.yaml" --db "$T/sdb/results.db" --resume >"$T/out" 2>&1 || fail "resume failed"
    grep -q "nothing to resubmit" "$T/out" || fail "resume after a complete array: $(cat "$T/out")"

    # scancel while task 0 trains: interrupted; the pending tasks never ran
    g6 "$T/slow.yaml" 1000000
    x=$(exp_of "$T/slow.yaml")
    $BIN slurm "$T/slow.yaml" --db "$T/sdb/results.db" --max-parallel 1 --submit >"$T/out" 2>&1 || fail "submission failed: $(cat "$T/out")"
    id=$(sed -n 's/^submitted job array \([0-9]*\)$/\1/p' "$T/out")
    wait_for_epoch "$T/sdb/shards/$x/0/results.db" 1 || fail "task 0 recorded no epoch"
    scancel "$id" || fail "scancel failed"
    wait_array "$id" || fail "cancelled array $id still queued"
    $BIN merge "$T/sdb/shards/$x" --into "$T/sdb/results.db" >"$T/out" 2>&1 || fail "merge failed: $(cat "$T/out")"
    grep -q "grid $x: 6 points: 0 finished, 0 diverged, 0 failed, 1 interrupted, 0 running, 5 not run" "$T/out" || fail "cancelled array counts: $(cat "$T/out")"
    grep -q "^  point 0: interrupted" "$T/out" || fail "cancelled task: $(cat "$T/out")"
    [ "$(q "$T/sdb/results.db" "SELECT epochs_done > 0 AND epochs_done = (SELECT count(*) FROM epochs WHERE run_id = runs.id) FROM runs WHERE experiment = '$x'")" = 1 ] \
        || fail "the interrupted run lost its epochs"
    $BIN slurm "$T/slow.yaml" --db "$T/sdb/results.db" --max-parallel 1 --resume --print 2>/dev/null | grep >/dev/null -x '#SBATCH --array=0-5%1' || fail "resume after scancel"
    bash tests/slurm_cluster.sh stop "$CLUSTER"
    [ ! -e "$CLUSTER/slurmctld.pid" ] && [ ! -e "$CLUSTER/munged.pid" ] || fail "daemons not stopped"
}

# search.pruner: asha on real Slurm: a chain of job arrays, one per rung,
# with a promotion job between them.  9 trials of 12 epochs, rungs at
# epochs 1, 3, 9 (eta 3): 9 reach rung 0 and 3 go on, 1 of those 3 goes on
# at rung 1 and at rung 2, and finishes.  The promoted trials are the
# best by validation RMSE at each rung (a promoted trial restarts from
# epoch 1 with the same seed, so its merged epochs hold those values).
test_slurm_zz_asha_chain() {
    local cl="$CLUSTER-chain"
    if [ "$(id -u)" -ne 0 ]; then skip "needs root to start slurmctld and slurmd (SlurmUser=root)"; return; fi
    cluster_start "$cl" "$T/cluster2.out" || return
    export SLURM_CONF="$cl/slurm.conf"
    sed -e "s/^  epochs: .*/  epochs: 12/" -e "s/^  threads: .*/  threads: 1/" \
        -e "s/^    test_ratio: 0.1/    test_ratio: 0.1\n    validation_ratio: 0.2/" "$T/small.yaml" >"$T/chain.yaml"
    cat >>"$T/chain.yaml" <<YAML
search: {sampler: random, trials: 9, seed: 4, pruner: asha, min_epochs: 1, reduction_factor: 3}
grid:
  train.lr: {log_uniform: [0.0005, 0.05]}
  model.hidden: {int: [4, 32]}
YAML
    local x db="$T/cdb/results.db"; x=$(exp_of "$T/chain.yaml")
    $BIN slurm "$T/chain.yaml" --db "$db" --max-parallel 2 --threads 1 --time 00:05:00 --submit >"$T/out" 2>&1 \
        || { fail "submission failed: $(cat "$T/out")"; bash tests/slurm_cluster.sh stop "$cl" >/dev/null; return; }
    grep -q "stage 0 of 3 (to the rung), 9 tasks (--array=0-8%2)" "$T/out" || fail "stage 0: $(cat "$T/out")"
    grep -q "^submitted job array [0-9]* (stage 0) and promotion job [0-9]* (after it)" "$T/out" || fail "no job ids: $(cat "$T/out")"
    local settled=0
    for _ in $(seq 900); do
        settled=$(q "$db" "SELECT count(*) FROM runs WHERE experiment = '$x' AND status IN ('finished', 'pruned')" 2>/dev/null)
        [ "${settled:-0}" = 9 ] && [ "$(squeue -h -r 2>/dev/null | wc -l)" = 0 ] && break
        sleep 0.5
    done
    [ "$settled" = 9 ] || { fail "chain did not settle 9 trials (got $settled): $(q "$db" 'SELECT grid_point, status, epochs_done FROM runs') $(cat "$T"/cdb/shards/"$x"/stage-*/logs/promote.*.out 2>&1)"; }
    [ "$(q "$db" "SELECT group_concat(n, ' ') FROM (SELECT pruned_epoch || ':' || count(*) AS n FROM runs WHERE status = 'pruned' GROUP BY pruned_epoch ORDER BY pruned_epoch)")" = "1:6 3:2" ] \
        || fail "pruned per rung: $(q "$db" "SELECT grid_point, status, pruned_epoch FROM runs")"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'finished' AND epochs_done = 12")" = 1 ] || fail "no trial finished its 12 epochs"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'pruned' AND (epochs_done != pruned_epoch OR pruned_reason NOT LIKE 'asha rung %')")" = 0 ] \
        || fail "pruned runs without their rung or reason"
    # rung 0: the 3 lowest epoch-1 validation RMSEs are the 3 promoted trials
    [ "$(q "$db" "SELECT group_concat(p) FROM (SELECT p FROM (SELECT r.grid_point AS p FROM runs r JOIN epochs e ON e.run_id = r.id AND e.epoch = 1 ORDER BY e.val_rmse LIMIT 3) ORDER BY p)")" \
        = "$(q "$db" "SELECT group_concat(grid_point) FROM (SELECT grid_point FROM runs WHERE NOT (status = 'pruned' AND pruned_epoch = 1) ORDER BY grid_point)")" ] \
        || fail "rung 0 did not promote the 3 best by validation"
    [ "$(ls "$T"/cdb/shards/"$x"/stage-*/logs/promote.*.out | wc -l)" = 4 ] || fail "expected 4 promotion logs: $(ls "$T"/cdb/shards/"$x"/stage-*/logs)"
    $BIN grid "$T/chain.yaml" --db "$db" >"$T/out" 2>&1 || fail "a local rerun after the chain failed: $(cat "$T/out")"
    grep -q "9 points: 1 finished" "$T/out" || fail "a local rerun changed the chain's result: $(head -2 "$T/out")"
    bash tests/slurm_cluster.sh stop "$cl"
}

run_tests cli_slurm
