#!/usr/bin/env bash
# Query benchmark: builds a results database of RUNS runs x EPOCHS epochs
# (default 10,000 x 100: 100 grid experiments of 100 points, 1,000,000 epoch
# rows) and times the query commands and the SQL views, as whole processes
# (startup included): median wall time over REPEATS runs.  A benchmark, not a
# test (no assertion on time).  Usage, from the repository root after `make`:
#   bash tools/bench_query.sh            # RUNS=10000 EPOCHS=100 REPEATS=5
#   KEEP=/tmp/q.db bash tools/bench_query.sh   # keep the database
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10000}
EPOCHS=${EPOCHS:-100}
REPEATS=${REPEATS:-5}
BIN=./autorec
[ -x "$BIN" ] || { echo "bench_query: build ./autorec first (make)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
DB=${KEEP:-$W/bench.db}
rm -f "$DB" "$DB-wal" "$DB-shm"

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# the real schema, from a one-epoch run on a tiny synthetic data set
mkdir -p "$W/data"
awk 'BEGIN { srand(1); for (u = 1; u <= 30; u++) for (i = 1; i <= 40; i++)
     if (rand() < 0.4) printf "%d\t%d\t%d\t0\n", u, i, 1 + int(5 * rand()) }' >"$W/data/u.data"
printf 'name: b\ndata:\n  path: %s/data\nmodel:\n  hidden: 4\ntrain:\n  epochs: 1\n  batch_size: 8\n' "$W" >"$W/b.yaml"
$BIN run "$W/b.yaml" --db "$DB" --quiet >/dev/null

t0=$(date +%s.%N)
sqlite3 -batch "$DB" >/dev/null <<SQL
PRAGMA synchronous = OFF;
BEGIN;
DELETE FROM epochs; DELETE FROM runs;
WITH RECURSIVE x(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM x WHERE i < ($RUNS + 99) / 100 - 1)
INSERT INTO experiments SELECT printf('bench-%012x', i), 'bench', 100, 'model.hidden,train.lr,train.weight_decay,train.seed',
  'name: bench', '2025-01-01T00:00:00.000Z' FROM x;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $RUNS - 1)
INSERT INTO grid_points SELECT printf('bench-%012x', i / 100), i % 100, printf('%016x', i),
  printf('hidden=%d lr=%g', 100 * (1 + i % 5), 0.001 * (1 + (i / 5) % 3)) FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $RUNS - 1)
INSERT INTO runs(id, name, status, config_yaml, started_at, finished_at, host, threads, kernel, git_commit,
  blis_info, data_path, data_format, test_ratio, hidden, lr, weight_decay, dropout, epochs, batch_size, seed,
  experiment, grid_point, grid_size, config_hash, worker, heartbeat_at, attempts, epochs_done, seconds)
SELECT i + 1, 'bench', CASE WHEN i % 50 = 7 THEN 'failed' WHEN i % 97 = 3 THEN 'diverged' ELSE 'finished' END,
  'name: bench', '2025-01-01T10:00:00.000Z', '2025-01-01T10:00:10.000Z', 'host', 1, 'dense', 'abc', 'BLIS',
  'data/ml-100k', 'ml-100k', 0.1, 100 * (1 + i % 5), 0.001 * (1 + (i / 5) % 3), (i / 15) % 3 * 1e-5, 0.05,
  $EPOCHS, 256, (i / 45) % 3, printf('bench-%012x', i / 100), i % 100, 100, printf('%016x', i),
  'host:1/0001', 0, 1, $EPOCHS, $EPOCHS * 0.1 FROM n;
WITH RECURSIVE e(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM e WHERE k < $EPOCHS)
INSERT INTO epochs(run_id, epoch, train_loss, test_rmse, train_seconds, eval_seconds)
SELECT r.id, e.k, 300.0 / e.k + r.id % 7, 0.9 + 0.5 / e.k + (r.id % 13) * 0.001 + abs(e.k - 60) * 0.0005,
  0.08, 0.02 FROM runs r, e;
UPDATE runs SET
  final_test_rmse = (SELECT test_rmse FROM epochs WHERE run_id = runs.id AND epoch = $EPOCHS),
  best_test_rmse = (SELECT min(test_rmse) FROM epochs WHERE run_id = runs.id),
  best_epoch = (SELECT epoch FROM epochs WHERE run_id = runs.id ORDER BY test_rmse, epoch LIMIT 1);
-- no validation split: the honest result is the final epoch's (db.c's rule)
UPDATE runs SET result_test_rmse = final_test_rmse;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
t1=$(date +%s.%N)
printf 'built %s: %s runs x %s epochs (%s epoch rows, %s MB) in %.1f s\n' "$DB" \
    "$(sqlite3 "$DB" 'SELECT count(*) FROM runs')" "$EPOCHS" "$(sqlite3 "$DB" 'SELECT count(*) FROM epochs')" \
    "$(( $(stat -c %s "$DB") / 1000000 ))" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"

# bench LABEL CMD...: median wall seconds of CMD (stdout discarded)
bench() {
    local label=$1; shift
    local times=() a b
    "$@" >/dev/null   # warm the page cache once
    for _ in $(seq "$REPEATS"); do
        a=$(date +%s.%N)
        "$@" >/dev/null
        b=$(date +%s.%N)
        times+=("$(awk -v a="$a" -v b="$b" 'BEGIN { print b - a }')")
    done
    printf '%-70s %6.3f s\n' "$label" "$(printf '%s\n' "${times[@]}" | median)"
}

EXP=bench-00000000002a
echo "median of $REPEATS (whole process, output to /dev/null):"
bench "autorec ls (all $RUNS runs)" $BIN ls --db "$DB"
bench "autorec ls --status finished --where ... --sort best_rmse --limit 20" \
    $BIN ls --db "$DB" --status finished --where "hidden >= 300 and lr < 0.005" --sort best_rmse --limit 20
bench "autorec ls --experiment E" $BIN ls --db "$DB" --experiment "$EXP"
bench "autorec best" $BIN best --db "$DB"
bench "autorec best --by hidden,lr (pivot over all runs)" $BIN best --db "$DB" --by hidden,lr
bench "autorec best --by hidden,lr,weight_decay" $BIN best --db "$DB" --by hidden,lr,weight_decay
bench "autorec best --experiment E --by hidden,lr" $BIN best --db "$DB" --experiment "$EXP" --by hidden,lr
bench "autorec show RUN ($EPOCHS epochs)" $BIN show 5000 --db "$DB"
bench "autorec compare 3 runs" $BIN compare 1 2 5000 --db "$DB"
bench "sqlite3: SELECT * FROM run_summary" sqlite3 "$DB" "SELECT * FROM run_summary"
bench "sqlite3: SELECT * FROM grid_summary (100 experiments)" sqlite3 "$DB" "SELECT * FROM grid_summary"
bench "sqlite3: grid_summary of one experiment" sqlite3 "$DB" "SELECT * FROM grid_summary WHERE experiment = '$EXP'"
bench "sqlite3: 10 best of run_summary" sqlite3 "$DB" \
    "SELECT id, hidden, lr, best_test_rmse FROM run_summary WHERE status = 'finished' ORDER BY best_test_rmse LIMIT 10"
bench "sqlite3: mean best RMSE per (hidden, lr)" sqlite3 "$DB" \
    "SELECT hidden, lr, avg(best_test_rmse) FROM run_summary WHERE status = 'finished' GROUP BY hidden, lr"

# The dashboard's pages on the same database (curl wall time, the server
# already running; the request's full answer read)
if command -v curl >/dev/null; then
    $BIN serve --db "$DB" --port 0 >"$W/serve.out" 2>"$W/serve.err" &
    SERVE=$!
    URL=
    for _ in $(seq 100); do
        URL=$(grep -o 'http://[^ ]*/' "$W/serve.out" 2>/dev/null | head -n 1 || true)
        [ -n "$URL" ] && break
        sleep 0.1
    done
    if [ -n "$URL" ]; then
        URL=${URL%/}
        for p in / "/?offset=50" /runs "/runs?where=hidden%20%3E%3D%20300%20and%20lr%20%3C%200.005&sort=-result" \
                 "/runs?experiment=$EXP" /run/5000 "/compare?ids=1,2,5000" "/grid?experiment=$EXP" \
                 /api/experiments "/api/runs?limit=1000" /api/runs/5000/epochs; do
            bench "autorec serve: GET $p" curl -sf -o /dev/null "$URL$p"
        done
    else
        echo "bench_query: autorec serve did not start: $(cat "$W/serve.err")" >&2
    fi
    kill -TERM "$SERVE" 2>/dev/null
    wait "$SERVE" 2>/dev/null || true
fi
