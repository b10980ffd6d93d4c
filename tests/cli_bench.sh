#!/usr/bin/env bash
# cli_bench.sh - autorec bench --shape: the phases it prints, the runs it
# records, the synthetic data it generates once into the cache directory,
# and its usage errors.  No test reads a time's value beyond "a number"
# (a phase of these tiny shapes can print as 0.0000 seconds).
source "$(dirname "$0")/lib.sh"

# A small custom shape written by autorec synth (ML-1M format).
make_shape() {
    $BIN synth --users 200 --items 150 --ratings 6000 -o "$T/shape" >/dev/null 2>"$T/err" \
        || fail "synth failed: $(cat "$T/err")"
}

# the phase line starting with $1 in $T/out is there, its seconds column a
# number >= 0
phase_seconds() {
    awk -v p="$1" 'index($0, p) == 1 { found = 1; split(substr($0, 27), f, " ");
                       if (f[1] !~ /^[0-9]+\.[0-9]+$/) bad = 1 }
                   END { exit !(found && !bad) }' "$T/out"
}

test_bench_shape_custom_data() {
    make_shape
    $BIN bench --shape custom --data "$T/shape" --epochs 2 --repeats 2 \
        --db "$T/b.db" --set model.hidden=20 --set train.batch_size=32 \
        >"$T/out" 2>"$T/err" || fail "bench --shape failed: $(cat "$T/err")"
    for p in "load (data, split, model)" "train, per epoch" "eval, per epoch" \
             "ranking (top 10)" "whole run (wall)"; do
        phase_seconds "$p" || fail "no seconds for '$p': $(cat "$T/out")"
    done
    grep -q "200 users x 150 items, 6000 ratings; kernel sparse, optimizer adam, hidden 20" "$T/out" \
        || fail "shape line: $(cat "$T/out")"
    grep -q "triad" "$T/out" || fail "no triad peak: $(cat "$T/out")"
    awk '/^peak resident memory/ { found = 1; if (!($4 > 2)) bad = 1 } END { exit !(found && !bad) }' "$T/out" \
        || fail "peak memory: $(cat "$T/out")"
    [ "$(q "$T/b.db" "SELECT count(*) FROM runs WHERE name = 'bench-shape-custom'
         AND status = 'finished' AND peak_rss_mb > 2 AND topn_users > 0")" = 2 ] \
        || fail "runs: $(q "$T/b.db" 'SELECT name, status, peak_rss_mb, topn_users FROM runs')"
    [ "$(q "$T/b.db" "SELECT count(*) FROM epochs WHERE train_seconds > 0 AND eval_seconds > 0")" = 4 ] \
        || fail "epochs recorded: $(q "$T/b.db" 'SELECT epoch, train_seconds, eval_seconds FROM epochs')"
    [ "$(q "$T/b.db" "SELECT DISTINCT checkpoint IS NULL OR checkpoint = '' FROM runs")" = 1 ] \
        || fail "bench --shape wrote a checkpoint"
}

# eval.top_k 0: no ranking line, no ranking metrics recorded
test_bench_shape_without_ranking() {
    make_shape
    $BIN bench --shape custom --data "$T/shape" --epochs 1 --db "$T/b.db" \
        --set model.hidden=8 --set train.batch_size=32 --set eval.top_k=0 \
        >"$T/out" 2>"$T/err" || fail "bench --shape failed: $(cat "$T/err")"
    grep -q "^ranking" "$T/out" && fail "a ranking line with eval.top_k 0: $(cat "$T/out")"
    phase_seconds "eval, per epoch" || fail "no eval line: $(cat "$T/out")"
}

test_bench_shape_generates_once() {
    local f="$AUTOREC_CACHE_DIR/synth-ml-100k/ratings.dat" m1 m2
    $BIN bench --shape ml-100k --epochs 1 --db "$T/b.db" --set model.hidden=8 \
        --set eval.top_k=0 >"$T/out" 2>"$T/err" || fail "bench --shape ml-100k failed: $(cat "$T/err")"
    grep -q "^generating the ml-100k shape once" "$T/out" || fail "no generation note: $(cat "$T/out")"
    [ -f "$f" ] || { fail "no $f"; return; }
    [ "$(wc -l <"$f")" = 100000 ] || fail "$f has $(wc -l <"$f") lines, not 100000"
    m1=$(stat -c %Y.%s "$f")
    $BIN bench --shape ml-100k --epochs 1 --db "$T/b.db" --set model.hidden=8 \
        --set eval.top_k=0 >"$T/out" 2>"$T/err" || fail "second bench --shape failed: $(cat "$T/err")"
    grep -q "^generating" "$T/out" && fail "generated again: $(cat "$T/out")"
    m2=$(stat -c %Y.%s "$f")
    [ "$m1" = "$m2" ] || fail "the data set was rewritten ($m1, $m2)"
    grep -q "943 users x 1682 items, 100000 ratings" "$T/out" || fail "shape line: $(cat "$T/out")"
}

test_bench_shape_usage_errors() {
    local rc
    $BIN bench --shape ml-5m --db "$T/b.db" >"$T/out" 2>"$T/err"; rc=$?
    [ $rc -eq 2 ] || fail "unknown shape: exit $rc, not 2"
    grep -q "unknown shape 'ml-5m' (ml-100k, ml-1m, ml-10m, netflix" "$T/err" || fail "message: $(cat "$T/err")"
    $BIN bench --data "$T/shape" >"$T/out" 2>"$T/err"; rc=$?
    [ $rc -eq 2 ] || fail "--data without --shape: exit $rc, not 2"
    grep -q "go with --shape" "$T/err" || fail "message: $(cat "$T/err")"
    $BIN bench --shape ml-1m --load >"$T/out" 2>"$T/err"; rc=$?
    [ $rc -eq 2 ] || fail "--shape with --load: exit $rc, not 2"
    $BIN bench --shape custom --data "$T/nowhere" --db "$T/none.db" >"$T/out" 2>"$T/err"; rc=$?
    [ $rc -ne 0 ] || fail "a missing --data path succeeded"
    [ ! -e "$T/none.db" ] || fail "a bad --data path created the database"
    grep -q "cannot read the ratings file $T/nowhere" "$T/err" || fail "message: $(cat "$T/err")"
}

run_tests cli_bench
