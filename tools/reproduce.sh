#!/usr/bin/env bash
# `make run`: trains configs/seed.yaml (the d2l reference) for seeds 0..4 and
# prints each run's final and best test RMSE and their mean, read back from
# the results database.  Override with CONFIG=..., DB=..., SEEDS="0 1".
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-configs/seed.yaml}
DB=${DB:-runs/results.db}
SEEDS=${SEEDS:-0 1 2 3 4}
first=0
[ -f "$DB" ] && first=$(sqlite3 "$DB" 'SELECT coalesce(max(id), 0) FROM runs')
for s in $SEEDS; do
    ./autorec run "$CONFIG" --db "$DB" --set train.seed="$s"
    echo
done
echo "== runs of this session (from $DB)"
sqlite3 -header -column "$DB" "
  SELECT id, seed, status, printf('%.4f', final_test_rmse) AS final_rmse,
         printf('%.4f', best_test_rmse) AS best_rmse, best_epoch,
         (SELECT count(*) FROM epochs e WHERE e.run_id = r.id) AS epochs,
         printf('%.2f', (SELECT sum(train_seconds + eval_seconds) FROM epochs e
                         WHERE e.run_id = r.id)) AS seconds
  FROM runs r WHERE id > $first ORDER BY id;"
sqlite3 "$DB" "
  SELECT printf('mean final test RMSE over %d runs: %.4f (sd %.4f); reference (d2l, PyTorch): 0.906',
                count(*), avg(final_test_rmse),
                sqrt(max(avg(final_test_rmse * final_test_rmse) - avg(final_test_rmse) * avg(final_test_rmse), 0)))
  FROM runs WHERE id > $first AND status = 'finished';"
echo "see them in a browser: ./autorec serve --db $DB   (then open http://127.0.0.1:8080/)"
