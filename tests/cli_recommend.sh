#!/usr/bin/env bash
# Command-line tests of `autorec recommend`, model.variant and
# train.checkpoint on a small ML-100K-shaped fixture (u1.base / u1.test, so
# the training ratings are known, and u.item with a latin-1 title).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# $T/data: the make_data ratings split into u1.base / u1.test by (u + i) % 7,
# u.item with "Movie N (1999)" titles and item 5 "Café Noir (1998)" in
# latin-1; $T/rec.yaml: a 6-epoch config on the files split, clipped to
# [1, 5]; no database $T/r.db yet.
make_fixture() {
    rm -rf "$T/r.db" "$T/checkpoints"
    make_data
    awk -F'\t' '($1 + $2) % 7 == 0' "$T/data/u.data" > "$T/data/u1.test"
    awk -F'\t' '($1 + $2) % 7 != 0' "$T/data/u.data" > "$T/data/u1.base"
    for i in $(seq 1 80); do
        if [ "$i" = 5 ]; then printf '5|Caf\xe9 Noir (1998)|01-Jan-1998||http://x|0|0\n'
        else printf '%d|Movie %d (1999)|01-Jan-1999||http://x|0|0\n' "$i" "$i"; fi
    done > "$T/data/u.item"
    sed -e 's/kind: random/kind: files\n    train_file: u1.base\n    test_file: u1.test/' \
        -e 's/epochs: 3/epochs: 6/' "$T/small.yaml" > "$T/rec.yaml"
    printf 'eval:\n  clip: [1, 5]\n' >> "$T/rec.yaml"
}

# The items user $1 rated in training, one per line.
train_items() { awk -F'\t' -v u="$1" '$1 == u { print $2 }' "$T/data/u1.base" | sort; }

# Checks recommend output $1 for user $2 with --top $3: exactly min($3,
# unseen) lines, sorted by predicted rating descending, in [1, 5], no item
# the user rated in training, titles from u.item.
check_output() {
    local out=$1 user=$2 top=$3 n unseen
    unseen=$((80 - $(train_items "$user" | wc -l)))
    n=$((top < unseen ? top : unseen))
    [ "$(wc -l < "$out")" = "$n" ] || fail "user $user --top $top: $(wc -l < "$out") lines, want $n"
    awk '{ print $3 }' "$out" | sort -g -r -c 2>/dev/null || fail "not sorted by predicted rating: $(cat "$out")"
    awk '$3 < 1 || $3 > 5 { bad = 1 } END { exit bad }' "$out" || fail "prediction outside the clip range"
    [ -z "$(comm -12 <(train_items "$user") <(awk '{ print $2 }' "$out" | sort))" ] \
        || fail "user $user: recommended an item rated in training"
    awk '$2 != 5 && ($4 != "Movie" || $5 != $2) { bad = 1 } END { exit bad }' "$out" \
        || fail "titles do not match the items: $(head -3 "$out")"
}

# A user who never rated item 5 (so it is a candidate).
user_without_5() {
    awk -F'\t' '$2 == 5 { r[$1] = 1 } END { for (u = 1; u <= 60; u++) if (!(u in r)) { print u; exit } }' \
        "$T/data/u.data"
}

test_recommend_item_variant() {
    make_fixture
    $BIN run "$T/rec.yaml" --db "$T/r.db" --quiet >/dev/null || { fail "run failed"; return; }
    $BIN recommend --run 1 --user 3 --top 7 --db "$T/r.db" > "$T/out" 2>"$T/err" \
        || { fail "recommend failed: $(cat "$T/err")"; return; }
    check_output "$T/out" 3 7
    grep -q "item variant" "$T/err" || fail "no description on stderr: $(cat "$T/err")"
    local u
    u=$(user_without_5)
    $BIN recommend --run 1 --user "$u" --top 1000 --db "$T/r.db" > "$T/all" 2>/dev/null || fail "--top 1000 failed"
    check_output "$T/all" "$u" 1000
    grep -q "^ *[0-9]*  *5  [0-9.]*  Café Noir (1998)$" "$T/all" || fail "latin-1 title not printed as UTF-8: $(grep ' 5 ' "$T/all")"
    # the user's test items are unseen in training, so they are candidates
    for i in $(awk -F'\t' -v u="$u" '$1 == u { print $2 }' "$T/data/u1.test"); do
        awk -v i="$i" '$2 == i { f = 1 } END { exit !f }' "$T/all" || fail "test item $i of user $u missing"
    done
    # without u.item: ids only
    mv "$T/data/u.item" "$T/data/u.item.off"
    $BIN recommend --run 1 --user 3 --top 3 --db "$T/r.db" > "$T/ids" 2>"$T/err" || fail "no u.item: failed"
    [ "$(awk '{ print NF }' "$T/ids" | sort -u)" = 3 ] || fail "ids only expected: $(cat "$T/ids")"
    grep -q "no titles" "$T/err" || fail "missing titles not said: $(cat "$T/err")"
    mv "$T/data/u.item.off" "$T/data/u.item"
}

test_recommend_errors() {
    make_fixture
    $BIN run "$T/rec.yaml" --db "$T/r.db" --quiet >/dev/null || { fail "run failed"; return; }
    $BIN run "$T/rec.yaml" --db "$T/r.db" --quiet --set model.hidden=8 >/dev/null || { fail "run 2 failed"; return; }
    local ck
    ck=$(q "$T/r.db" 'SELECT checkpoint FROM runs WHERE id = 1')
    [ -s "$ck" ] || { fail "no checkpoint file '$ck'"; return; }
    expect() {  # expect STATUS PATTERN args...
        local want=$1 pat=$2; shift 2
        $BIN recommend "$@" > "$T/o" 2>"$T/e"; local rc=$?
        [ $rc -eq "$want" ] || fail "recommend $*: exit $rc, want $want ($(cat "$T/e"))"
        grep -q -- "$pat" "$T/e" || fail "recommend $*: message '$(cat "$T/e")' lacks '$pat'"
        [ ! -s "$T/o" ] || fail "recommend $*: printed on stdout"
    }
    expect 1 "no run 99 in" --run 99 --user 3 --db "$T/r.db"
    expect 1 "user 999 is not in run 1's data" --run 1 --user 999 --db "$T/r.db"
    expect 2 "missing --user" --run 1 --db "$T/r.db"
    expect 2 "--top: '0' is not an integer in 1..1000000" --run 1 --user 3 --top 0 --db "$T/r.db"
    expect 1 "not an autorec\|missing\|cannot\|No such" --run 1 --user 3 --db "$T/nope.db"
    cp "$ck" "$T/ck.bak"
    rm "$ck"
    expect 1 "train the run's config again" --run 1 --user 3 --db "$T/r.db"
    head -c 100 "$T/ck.bak" > "$ck"
    expect 1 "train the run's config again" --run 1 --user 3 --db "$T/r.db"
    cp "$(q "$T/r.db" 'SELECT checkpoint FROM runs WHERE id = 2')" "$ck"
    expect 1 "belongs to another run" --run 1 --user 3 --db "$T/r.db"
    cp "$T/ck.bak" "$ck"
    $BIN recommend --run 1 --user 3 --db "$T/r.db" >/dev/null 2>&1 || fail "restored checkpoint refused"
}

test_checkpoint_false() {
    make_fixture
    $BIN run "$T/rec.yaml" --db "$T/r.db" --quiet --set train.checkpoint=false >/dev/null || { fail "run failed"; return; }
    [ "$(q "$T/r.db" 'SELECT checkpoint IS NULL FROM runs WHERE id = 1')" = 1 ] || fail "checkpoint recorded"
    [ ! -e "$T/checkpoints/r.db/1.ckpt" ] && [ ! -e "$T/checkpoints/1.ckpt" ] || fail "checkpoint file written"
    q "$T/r.db" 'SELECT config_yaml FROM runs' >"$T/yaml"
    grep -q "checkpoint: false" "$T/yaml" || fail "train.checkpoint not in config_yaml"
    $BIN recommend --run 1 --user 3 --db "$T/r.db" >/dev/null 2>"$T/e"
    [ $? -eq 1 ] || fail "recommend on a run without checkpoint did not exit 1"
    grep -q "no checkpoint: it was trained with train.checkpoint: false.*--set train.checkpoint=true" "$T/e" \
        || fail "message: $(cat "$T/e")"
    # with a validation split nothing is written either
    $BIN run "$T/rec.yaml" --db "$T/r.db" --quiet --set train.checkpoint=false \
        --set data.split.validation_ratio=0.2 >/dev/null || fail "run with validation failed"
    [ "$(q "$T/r.db" 'SELECT count(*) FROM runs WHERE checkpoint IS NOT NULL')" = 0 ] || fail "checkpoint with validation"
    $BIN run "$T/small.yaml" --db "$T/r.db" --quiet --set train.checkpoint=nope >/dev/null 2>"$T/e"
    [ $? -eq 2 ] && grep -q "train.checkpoint" "$T/e" || fail "bad train.checkpoint value: $(cat "$T/e")"
}

test_recommend_user_variant() {
    make_fixture
    $BIN run "$T/rec.yaml" --db "$T/r.db" --quiet --set model.variant=user >/dev/null || { fail "run failed"; return; }
    q "$T/r.db" 'SELECT config_yaml FROM runs' >"$T/yaml"
    grep -q "variant: user" "$T/yaml" || fail "variant not in config_yaml"
    $BIN recommend --run 1 --user 3 --top 7 --db "$T/r.db" > "$T/out" 2>"$T/err" \
        || { fail "recommend failed: $(cat "$T/err")"; return; }
    check_output "$T/out" 3 7
    grep -q "user variant" "$T/err" || fail "variant not described: $(cat "$T/err")"
    $BIN run "$T/rec.yaml" --db "$T/r.db" --set model.variant=user > "$T/run.out"
    grep -q "variant user (U-AutoRec)" "$T/run.out" || fail "run does not say the variant"
    # 70 rows per batch: fine for the 80 items, more than the 60 users
    $BIN run "$T/rec.yaml" --db "$T/b.db" --quiet --set model.variant=user --set train.batch_size=70 \
        >/dev/null 2>"$T/e"
    [ $? -eq 2 ] && grep -q "exceeds the 60 users" "$T/e" || fail "batch above the users: $(cat "$T/e")"
    [ ! -e "$T/b.db" ] || fail "database created for a bad config"
}

# Both keys work as grid axes: a grid over the variants with checkpoints off
# finishes every point and writes no checkpoint file.
test_grid_over_variants_without_checkpoints() {
    make_fixture
    cp "$T/rec.yaml" "$T/g.yaml"
    printf 'grid:\n  model.variant: [item, user]\n  train.checkpoint: [false]\n' >> "$T/g.yaml"
    $BIN grid "$T/g.yaml" --db "$T/r.db" --workers 1 >/dev/null 2>"$T/e" || { fail "grid failed: $(cat "$T/e")"; return; }
    [ "$(q "$T/r.db" "SELECT count(*) FROM runs WHERE status = 'finished' AND checkpoint IS NULL")" = 2 ] \
        || fail "points: $(q "$T/r.db" 'SELECT id, status, checkpoint FROM runs')"
    [ -z "$(ls "$T/checkpoints" 2>/dev/null)" ] || fail "checkpoint files written: $(ls "$T/checkpoints")"
    [ "$(q "$T/r.db" "SELECT count(*) FROM runs WHERE config_yaml LIKE '%variant: user%'")" = 1 ] \
        || fail "the user point is not recorded as such"
}

# U-AutoRec learns the synthetic data's signal: its test RMSE beats the
# global-mean predictor (the standard deviation of the ratings).
test_user_variant_learns() {
    $BIN synth --users 300 --items 600 --ratings 30000 --rank 3 --noise 0.3 --seed 5 -o "$T/s" >/dev/null \
        || { fail "synth failed"; return; }
    local sd rmse
    sd=$(rating_sd "$T/s/ratings.dat")
    printf 'name: s\ndata: {path: %s, format: ml-1m}\nmodel: {hidden: 32, dropout: 0.1, variant: user}\n' "$T/s" > "$T/s.yaml"
    printf 'train: {epochs: 40, batch_size: 16, lr: 0.005, weight_decay: 1e-4, threads: 2}\n' >> "$T/s.yaml"
    $BIN run "$T/s.yaml" --db "$T/s.db" --quiet >/dev/null || { fail "training failed"; return; }
    rmse=$(q "$T/s.db" 'SELECT final_test_rmse FROM runs')
    echo "    synthetic data, U-AutoRec: final test RMSE $rmse vs global-mean predictor $sd"
    awk -v r="$rmse" -v s="$sd" 'BEGIN { exit !(r < 0.95 * s) }' || fail "no signal learnt: $rmse vs sd $sd"
}

# --users and --all answer many users in one pass of the model, with the
# same picks as one user at a time; --format csv and json.
test_recommend_many_users() {
    make_fixture
    $BIN run "$T/rec.yaml" --db "$T/r.db" --quiet >/dev/null || { fail "run failed"; return; }
    local variant
    for variant in item user; do
        local db="$T/m-$variant/r.db"; mkdir -p "$T/m-$variant"
        $BIN run "$T/rec.yaml" model.variant=$variant --db "$db" --quiet >/dev/null || { fail "$variant run failed"; continue; }
        $BIN recommend --run 1 --users 3,7 --top 4 --db "$db" >"$T/many" 2>"$T/err" \
            || { fail "--users failed: $(cat "$T/err")"; continue; }
        [ "$(wc -l <"$T/many")" = 8 ] || fail "$variant --users 3,7: $(cat "$T/many")"
        for u in 3 7; do
            $BIN recommend --run 1 --user $u --top 4 --db "$db" 2>/dev/null | awk '{ print $2, $3 }' >"$T/one"
            awk -v u=$u '$1 == u { print $3, $4 }' "$T/many" | diff -u "$T/one" - >"$T/d" \
                || fail "$variant user $u: --users differs from --user: $(cat "$T/d")"
        done
    done
    $BIN recommend --run 1 --all --top 2 --format csv --db "$T/r.db" >"$T/all.csv" 2>"$T/err" || fail "--all failed: $(cat "$T/err")"
    local users
    users=$(cut -f1 "$T/data/u1.base" | sort -u | wc -l)
    [ "$(head -1 "$T/all.csv")" = "user,rank,item,score,title" ] || fail "csv heading: $(head -1 "$T/all.csv")"
    [ "$(wc -l <"$T/all.csv")" = $((1 + 2 * users)) ] || fail "--all: $(wc -l <"$T/all.csv") lines for $users users"
    grep -q "top 2 unseen items of $users users" "$T/err" || fail "--all summary: $(cat "$T/err")"
    $BIN recommend --run 1 --users 3 --top 3 --format json --db "$T/r.db" >"$T/r.json" 2>/dev/null || fail "json failed"
    [ "$(sqlite3 :memory: "SELECT json_valid(readfile('$T/r.json')), json_extract(readfile('$T/r.json'), '\$[0].user'),
          json_array_length(json_extract(readfile('$T/r.json'), '\$[0].items'))")" = "1|3|3" ] || fail "json: $(cat "$T/r.json")"
    [ "$(sqlite3 :memory: "SELECT json_extract(readfile('$T/r.json'), '\$[0].items[0].item')")" = \
      "$($BIN recommend --run 1 --user 3 --top 1 --db "$T/r.db" 2>/dev/null | awk '{ print $2 }')" ] || fail "json item differs"
    $BIN recommend --run 1 --users 3,x --db "$T/r.db" 2>"$T/err" >/dev/null; [ $? -eq 2 ] || fail "bad --users should exit 2"
    $BIN recommend --run 1 --all --user 3 --db "$T/r.db" 2>/dev/null >/dev/null; [ $? -eq 2 ] || fail "--all with --user should exit 2"
    $BIN recommend --run 1 --user 3 --format xml --db "$T/r.db" 2>/dev/null >/dev/null; [ $? -eq 2 ] || fail "--format xml should exit 2"
}

# The checkpoint layout of docs/protocol.md: two databases in one directory.  Each has a run 1;
# their checkpoints must not share a file, and a checkpoint of the other
# database's run 1 put in place of this one's is refused, never used.
test_two_databases_in_one_directory_keep_their_checkpoints() {
    make_fixture
    mkdir -p "$T/two"
    $BIN run "$T/rec.yaml" --db "$T/two/results.db" --quiet >/dev/null || { fail "run A failed"; return; }
    $BIN run "$T/rec.yaml" --db "$T/two/lr-sweep.db" --quiet --set train.lr=0.05 >/dev/null || { fail "run B failed"; return; }
    local a b
    a=$(q "$T/two/results.db" 'SELECT checkpoint FROM runs WHERE id = 1')
    b=$(q "$T/two/lr-sweep.db" 'SELECT checkpoint FROM runs WHERE id = 1')
    [ "$a" != "$b" ] || fail "both databases' run 1 use $a"
    [ "$a" = "$T/two/checkpoints/results.db/1.ckpt" ] || fail "checkpoint path of A: $a"
    [ -f "$a" ] && [ -f "$b" ] || { fail "checkpoint files missing: $a $b"; return; }
    $BIN recommend --run 1 --user 3 --db "$T/two/results.db" > "$T/ra" 2>"$T/e" || fail "recommend A: $(cat "$T/e")"
    cp "$a" "$T/a.bak"
    cp "$b" "$a"
    $BIN recommend --run 1 --user 3 --db "$T/two/results.db" > "$T/o" 2>"$T/e"
    [ $? -eq 1 ] || fail "the other database's checkpoint was used"
    grep -q "belongs to another run" "$T/e" || fail "message: $(cat "$T/e")"
    [ ! -s "$T/o" ] || fail "recommendations printed from the wrong model"
    cp "$T/a.bak" "$a"
    $BIN recommend --run 1 --user 3 --db "$T/two/results.db" > "$T/o" 2>"$T/e" || fail "restored: $(cat "$T/e")"
    cmp -s "$T/o" "$T/ra" || fail "restored checkpoint answers differently"
}

# A FIFO in place of u.item (the titles) is not opened: recommend answers
# with ids only instead of blocking.
test_titles_fifo_not_opened() {
    make_fixture
    $BIN run "$T/rec.yaml" --db "$T/r.db" --quiet >/dev/null || { fail "run failed"; return; }
    rm "$T/data/u.item"
    mkfifo "$T/data/u.item"
    timeout 60 $BIN recommend --run 1 --user 3 --top 3 --db "$T/r.db" > "$T/o" 2>"$T/e"
    local rc=$?
    rm -f "$T/data/u.item"   # make_fixture writes it again
    [ $rc -eq 0 ] || fail "recommend with a FIFO u.item: exit $rc (124: it blocked): $(cat "$T/e")"
    [ "$(wc -l < "$T/o")" = 3 ] || fail "output: $(cat "$T/o")"
}

# A checkpoint stays its run's after autorec merge copies the run (with a
# new id) into another database.
test_checkpoint_follows_merged_run() {
    make_fixture
    $BIN run "$T/rec.yaml" --db "$T/m1/shard.db" --quiet --set train.lr=0.02 >/dev/null || { fail "run failed"; return; }
    $BIN run "$T/rec.yaml" --db "$T/m2/main.db" --quiet >/dev/null || { fail "run 2 failed"; return; }
    $BIN merge "$T/m1/shard.db" --into "$T/m2/main.db" >/dev/null 2>"$T/e" || { fail "merge: $(cat "$T/e")"; return; }
    [ "$(q "$T/m2/main.db" 'SELECT count(*) FROM runs')" = 2 ] || fail "merge did not add the run"
    $BIN recommend --run 2 --user 3 --db "$T/m2/main.db" >/dev/null 2>"$T/e" || fail "merged run's checkpoint refused: $(cat "$T/e")"
}

run_tests cli_recommend
