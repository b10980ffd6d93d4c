#!/usr/bin/env bash
# Command-line tests of data loading: the ratings cache (data.cache, its
# directory, corrupt entries) and a grid worker parsing each file once.
source "$(dirname "$0")/lib.sh"
make_data

# one run of $T/small.yaml with the extra --set arguments; prints the final
# test RMSE of the run recorded in database $1
run_rmse() {
    local db=$1; shift
    $BIN run "$T/small.yaml" --db "$db" "$@" >"$T/out" 2>"$T/err" || { fail "run failed: $(cat "$T/err")"; return; }
    q "$db" "SELECT printf('%.9f', final_test_rmse) FROM runs ORDER BY id DESC LIMIT 1"
}

test_cache_written_then_read_same_numbers() {
    rm -rf "$AUTOREC_CACHE_DIR"
    local a b c
    a=$(run_rmse "$T/c1.db" --set data.cache=false)
    [ ! -e "$AUTOREC_CACHE_DIR" ] || fail "data.cache=false created $AUTOREC_CACHE_DIR"
    b=$(run_rmse "$T/c1.db")
    [ "$(ls "$AUTOREC_CACHE_DIR" | grep -c '\.ratings$')" = 1 ] || fail "no cache entry: $(ls -la "$AUTOREC_CACHE_DIR")"
    c=$(run_rmse "$T/c1.db")
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ] || fail "RMSE differs: uncached $a, first $b, cached $c"
    [ ! -s "$T/err" ] || fail "a cached run wrote to stderr: $(cat "$T/err")"
}

test_corrupt_entry_is_rebuilt() {
    rm -rf "$AUTOREC_CACHE_DIR"
    local a b entry
    a=$(run_rmse "$T/c2.db")
    entry=$(ls "$AUTOREC_CACHE_DIR"/*.ratings)
    printf 'garbage' | dd of="$entry" bs=1 seek=200 conv=notrunc 2>/dev/null
    b=$(run_rmse "$T/c2.db")
    grep -q 'cannot be trusted' "$T/err" || fail "no note about the corrupt entry: $(cat "$T/err")"
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "RMSE differs after rebuilding: $a vs $b"
    run_rmse "$T/c2.db" >/dev/null
    [ ! -s "$T/err" ] || fail "the rebuilt entry is not trusted: $(cat "$T/err")"
}

# a grid of 3 points on one worker parses the ratings file once: with an
# unusable cache directory every parse prints one note, so one note it is
test_grid_worker_parses_once() {
    : >"$T/notadir"
    sed -e "s/^  epochs: .*/  epochs: 1/" "$T/small.yaml" >"$T/g.yaml"
    printf 'grid:\n  train.seed: [0, 1, 2]\n' >>"$T/g.yaml"
    AUTOREC_CACHE_DIR="$T/notadir" $BIN grid "$T/g.yaml" --db "$T/g.db" --workers 1 >"$T/out" 2>"$T/err" \
        || fail "grid failed: $(cat "$T/err")"
    [ "$(q "$T/g.db" "SELECT count(*) FROM runs WHERE status = 'finished'")" = 3 ] || fail "not 3 finished runs"
    local notes
    notes=$(grep -c 'parsed and are used anyway' "$T/err")
    [ "$notes" = 1 ] || fail "expected 1 parse in the worker, saw $notes: $(cat "$T/err")"
}

# every run records its peak resident memory (MiB): above the binary's own
# few MiB, far below the machine's memory
test_peak_rss_recorded() {
    $BIN run "$T/small.yaml" --db "$T/rss.db" --quiet >/dev/null 2>"$T/err" || fail "run failed: $(cat "$T/err")"
    local mb
    mb=$(q "$T/rss.db" "SELECT peak_rss_mb FROM run_summary")
    awk -v m="$mb" 'BEGIN { exit !(m > 2 && m < 4096) }' || fail "peak_rss_mb '$mb' not plausible"
}

test_bench_load_and_peak_column() {
    $BIN bench --load --config "$T/small.yaml" --repeats 1 >"$T/out" 2>"$T/err" || fail "bench --load failed: $(cat "$T/err")"
    for v in "line parser" "fast reader" "data.cache: false" "from the cache"; do
        awk -v v="$v" 'index($0, v) { found = 1; if (!($NF > 0)) bad = 1 } END { exit !(found && !bad) }' "$T/out" \
            || fail "bench --load: no positive time for '$v': $(cat "$T/out")"
    done
    grep -q "ratings), " "$T/out" || fail "bench --load: no header: $(cat "$T/out")"
    $BIN bench --config "$T/small.yaml" --repeats 1 --db "$T/bench.db" >"$T/out" 2>"$T/err" || fail "bench failed: $(cat "$T/err")"
    grep -q 'peak MiB' "$T/out" || fail "bench: no peak MiB column: $(cat "$T/out")"
    awk '$1 == "sparse" || $1 == "dense" || $1 == "naive" { n++; if (!($NF > 2)) bad = 1 } END { exit !(n >= 3 && !bad) }' "$T/out" \
        || fail "bench: peak MiB not positive: $(cat "$T/out")"
    [ "$(q "$T/bench.db" "SELECT count(*) FROM runs WHERE peak_rss_mb > 2")" -ge 3 ] || fail "bench runs without peak_rss_mb"
}

run_tests cli_data
