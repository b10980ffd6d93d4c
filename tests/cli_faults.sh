#!/usr/bin/env bash
# Command-line fault tests: hostile configs and data, broken, locked, full
# and read-only databases, divergence, and processes really killed with
# SIGKILL.  Each checks the exit code, the message and what is (or is not)
# in the results database.  The "Failure behaviour" table of docs/failures.md is the
# summary of what these tests prove.
#
# Some tests need root (a tmpfs mount for a full or read-only filesystem);
# without it they run a weaker form or are reported SKIP (never as passed).
source "$(dirname "$0")/lib.sh"

MOUNTS=()
cleanup() {
    local m
    for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null; done
    chmod -R u+w "$T" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

# Mounts a tmpfs of size $2 (e.g. 300k) with options $3 on directory $1.
# Returns non-zero (and mounts nothing) when that is not possible.
mount_tmpfs() {
    [ "$(id -u)" -eq 0 ] || return 1
    mkdir -p "$1"
    mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$1" 2>/dev/null || return 1
    MOUNTS+=("$1")
}

# Runs autorec with the arguments; stdout to $T/out, stderr to $T/err;
# sets rc.
run() { $BIN "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# expect_exit CODE WHAT: checks rc.
expect_exit() {
    [ "$rc" -eq "$1" ] || fail "$2: exit $rc, expected $1: $(head -c 400 "$T/err")"
}

# expect_err REGEX WHAT: stderr must match.
expect_err() {
    grep -Eq -- "$1" "$T/err" || fail "$2: message lacks /$1/: $(head -c 400 "$T/err")"
}

# integrity DB: PRAGMA integrity_check must say ok.
integrity() {
    [ "$(q "$1" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check of $1"
}

# whole_epochs DB: every run's epochs are 1..k without gaps, all finite
# (a database killed before its schema was committed has no tables: fine).
whole_epochs() {
    local bad
    [ "$(q "$1" "SELECT count(*) FROM sqlite_master WHERE name IN ('runs', 'epochs')")" = 0 ] && return
    bad=$(q "$1" "SELECT count(*) FROM runs r WHERE (SELECT count(*) FROM epochs e
            WHERE e.run_id = r.id) != coalesce((SELECT max(epoch) FROM epochs e
            WHERE e.run_id = r.id), 0)")
    [ "$bad" = 0 ] || fail "$1: $bad runs with missing epochs"
    bad=$(q "$1" "SELECT count(*) FROM epochs WHERE train_loss IS NULL OR test_rmse IS NULL
            OR abs(train_loss) > 1e308 OR abs(test_rmse) > 1e308")
    [ "$bad" = 0 ] || fail "$1: $bad epochs with NULL, NaN or infinite values"
}

# ----------------------------------------------------------- configs ----

# cfg_case NAME 'YAML' REGEX: the config is refused with exit 2, a message
# matching REGEX, and the database is not created.
cfg_case() {
    printf '%b' "$2" > "$T/$1.yaml"
    run run "$T/$1.yaml" --db "$T/cfg.db"
    expect_exit 2 "config $1"
    expect_err "$3" "config $1"
    [ ! -e "$T/cfg.db" ] || fail "config $1 created the database"
}

test_bad_configs_exit_2_and_leave_db_untouched() {
    local d="data:\n  path: $T/data\n"
    cfg_case syntax "name: x\ntrain: {lr: 0.1\n" \
        "syntax.yaml:3:1: did not find expected ',' or '}' \(while parsing a flow mapping at line 2, column 8\)"
    cfg_case indent "train:\n  lr: 0.1\n lr: 3\n" "indent.yaml:3:2: did not find expected key"
    cfg_case tab "train:\n\tlr: 0.1\n" "tab.yaml:2:1: found character that cannot start any token"
    cfg_case unknown "${d}train:\n  learning_rate: 3\n" \
        "unknown.yaml:4:3: unknown key \"learning_rate\" in train \(valid keys in train: epochs, batch_size, lr"
    cfg_case duplicate "${d}model:\n  hidden: 3\n  hidden: 4\n" \
        "duplicate.yaml:5:3: duplicate key \"hidden\" in model \(first defined at line 4, column 3\)"
    cfg_case type_list "${d}train:\n  epochs: [1, 2]\n" "type_list.yaml:4:11: train.epochs: expected a single value"
    cfg_case type_map "${d}model: 3\n" "type_map.yaml:3:8: model: expected a mapping"
    cfg_case type_word "${d}train:\n  batch_size: lots\n" "type_word.yaml:4:15: train.batch_size: \"lots\" is not a number"
    cfg_case empty_value "${d}train:\n  lr:\n" "empty_value.yaml:4:.*train.lr: empty value"
    cfg_case empty_doc "" "empty_doc.yaml:1:1: empty document"
    cfg_case lr_nan "${d}train:\n  lr: .nan\n" "train.lr: \".nan\" is not a finite number"
    cfg_case lr_inf "${d}train:\n  lr: .inf\n" "train.lr: \".inf\" is not a finite number"
    cfg_case lr_neg "${d}train:\n  lr: -0.1\n" "lr_neg.yaml:4:7: train.lr: \"-0.1\" is out of range \(expected a real number in \(0, 10\]"
    cfg_case lr_zero "${d}train:\n  lr: 0\n" "train.lr: \"0\" is out of range"
    cfg_case lr_tiny "${d}train:\n  lr: 1e-60\n" "train.lr: .*rounds to 0"
    cfg_case hidden_zero "${d}model:\n  hidden: 0\n" "model.hidden: \"0\" is out of range"
    cfg_case hidden_neg "${d}model:\n  hidden: -5\n" "model.hidden: \"-5\" is out of range"
    cfg_case hidden_huge "${d}model:\n  hidden: 1000000000\n" \
        "model.hidden: \"1000000000\" is out of range.*would need 32 GB for each user"
    cfg_case batch_zero "${d}train:\n  batch_size: 0\n" "train.batch_size: \"0\" is out of range"
    cfg_case epochs_zero "${d}train:\n  epochs: 0\n" "train.epochs: \"0\" is out of range"
    cfg_case epochs_real "${d}train:\n  epochs: 2.5\n" "train.epochs: \"2.5\" is not an integer"
    cfg_case ratio_zero "${d}  split:\n    test_ratio: 0\n" "data.split.test_ratio: \"0\" is out of range \(expected a real number in \(0, 1\)"
    cfg_case ratio_one "${d}  split:\n    test_ratio: 1\n" "data.split.test_ratio: \"1\" is out of range"
    cfg_case dropout_one "${d}model:\n  dropout: 1\n" "model.dropout: \"1\" is out of range \(expected a real number in \[0, 1\)"
    cfg_case dropout_neg "${d}model:\n  dropout: -0.01\n" "model.dropout: \"-0.01\" is out of range"
    cfg_case dropout_f32 "${d}model:\n  dropout: 0.99999999\n" "model.dropout: .*rounds to 1"
    cfg_case wd_huge "${d}train:\n  weight_decay: 1e39\n" "train.weight_decay: .*single precision"
    cfg_case seed_neg "${d}train:\n  seed: -1\n" "train.seed: \"-1\" is out of range"
    cfg_case anchors "name: &n x\nmodel:\n  hidden: 3\n" "anchors.yaml:1:7: anchors \(&n\) are not supported"
    cfg_case laughs 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n' \
        "laughs.yaml:1:1: unknown key \"a\""
    cfg_case laughs_valued "name: x\ntrain: &t {lr: 0.1}\nmodel: *t\n" "laughs_valued.yaml:2:8: anchors"
    cfg_case tag "${d}train:\n  lr: !!float 0.1\n" "tag.yaml:4:7: tags"
    cfg_case two_docs "name: a\n---\nname: b\n" "two_docs.yaml:2:1: a second YAML document"
    cfg_case grid_in_run "${d}grid:\n  train.lr: [0.1, 0.2]\n" "grid_in_run.yaml:3:1: grid: is read only by .autorec grid."
    cfg_case nul "name: a\\\\0b\n" "nul.yaml:1:"
}

test_bad_set_overrides_exit_2() {
    local s
    for s in train.lr=nan train.lr=-inf train.lr=0 model.hidden=0 model.hidden=1e9 \
             train.batch_size=-1 train.epochs=0 data.split.test_ratio=1 model.dropout=1 \
             train.rl=0.1 =3 noequals train.lr=; do
        run run "$T/small.yaml" --db "$T/set.db" --set "$s"
        expect_exit 2 "--set $s"
        expect_err "^autorec: --set $s" "--set $s"
    done
    [ ! -e "$T/set.db" ] || fail "a bad --set created the database"
}

# An empty list in a grid is refused by `autorec grid` before anything runs.
test_grid_with_empty_list_refused() {
    printf 'name: g\ndata:\n  path: %s/data\ngrid:\n  model.hidden: []\n  train.lr: [0.1]\n' "$T" > "$T/g.yaml"
    run grid "$T/g.yaml" --db "$T/grid.db"
    expect_exit 2 "grid with an empty list"
    expect_err "g.yaml:5:3: grid: model.hidden: the list of values is empty" "empty grid list"
    [ ! -e "$T/grid.db" ] || fail "a bad grid created the database"
}

# A 100 MB config is refused at once, without reading it; an endless
# stream (/dev/zero) is cut at 1 MiB.
test_huge_config_refused_without_reading() {
    truncate -s 100M "$T/huge.yaml"
    local t0 t1
    t0=$(date +%s%N)
    if [ -n "${AUTOREC_SAN:-}" ]; then   # ASan reserves terabytes of address space
        run run "$T/huge.yaml" --db "$T/huge.db"
    else                                 # 64 MB of address space is enough to refuse
        rc=0; (ulimit -v 262144; exec $BIN run "$T/huge.yaml" --db "$T/huge.db") >"$T/out" 2>"$T/err" || rc=$?
    fi
    t1=$(date +%s%N)
    expect_exit 2 "100 MB config"
    expect_err "huge.yaml: config file is 104857600 bytes, over the 1048576-byte \(1 MiB\) limit" "100 MB config"
    [ $(( (t1 - t0) / 1000000 )) -lt 2000 ] || fail "refusing a 100 MB config took $(( (t1 - t0) / 1000000 )) ms"
    run run /dev/zero --db "$T/huge.db"
    expect_exit 2 "/dev/zero config"
    expect_err "/dev/zero: config file is over the 1048576-byte \(1 MiB\) limit" "/dev/zero"
    run run "$T" --db "$T/huge.db"
    expect_exit 2 "a directory as config"
    expect_err "is a directory" "a directory as config"
    run run "$T/nope.yaml" --db "$T/huge.db"
    expect_exit 2 "missing config"
    expect_err "nope.yaml: cannot open config file: No such file or directory" "missing config"
    [ ! -e "$T/huge.db" ] || fail "a refused config created the database"
}

# -------------------------------------------------------------- data ----

# data_case NAME FORMAT 'CONTENT' REGEX: a data set refused with exit 2, the
# message naming file (and line), no database.
data_case() {
    mkdir -p "$T/d_$1"
    local f=u.data
    [ "$2" = csv ] && f=ratings.csv
    [ "$2" = ml-1m ] && f=ratings.dat
    printf '%b' "$3" > "$T/d_$1/$f"
    run run "$T/small.yaml" --db "$T/data.db" --set "data.path=$T/d_$1" --set "data.format=$2"
    expect_exit 2 "data $1"
    expect_err "$4" "data $1"
    [ ! -e "$T/data.db" ] || fail "data $1 created the database"
}

test_bad_data_exit_2_and_leave_db_untouched() {
    local ok='1\t1\t5\t1\n2\t2\t3\t1\n3\t1\t4\t1\n'
    run run "$T/small.yaml" --db "$T/data.db" --set "data.path=$T/no/such/dir"
    expect_exit 2 "missing data"
    expect_err "cannot open .*no/such/dir: No such file or directory" "missing data"
    data_case empty ml-100k "" "u.data: no ratings \(the file is empty\)"
    data_case header_only csv "userId,movieId,rating,timestamp\n" "ratings.csv: no ratings \(the file is only a header\)"
    data_case no_header csv "1,1,5,1\n" "ratings.csv:1:1: expected the csv header.*no header line"
    data_case comma_in_ml100k ml-100k "1,1,5,1\n" "u.data:1:8: expected 4 TAB-separated fields.*is the format csv\?"
    data_case tab_in_ml1m ml-1m "1\t1\t5\t1\n" "ratings.dat:1:8: .*is the format ml-100k\?"
    data_case spaces ml-100k "1 1 5 1\n" "u.data:1:8: expected 4 TAB-separated fields .*found 1 field"
    data_case word_rating ml-100k "${ok}4\t1\tfive\t1\n" "u.data:4:5: rating 'five' is not a number: \"4\\\\t1\\\\tfive\\\\t1\""
    data_case word_id ml-100k "${ok}x\t1\t5\t1\n" "u.data:4:1: user id 'x' is not a positive integer"
    data_case nan_rating ml-100k "${ok}4\t1\tnan\t1\n" "u.data:4:5: rating 'nan' is not a number"
    data_case rating_zero ml-100k "${ok}4\t1\t0\t1\n" "u.data:4:5: rating 0 is outside \(0, 10\]"
    data_case rating_high csv "userId,movieId,rating,timestamp\n1,1,11,1\n" "ratings.csv:2:5: rating 11 is outside \(0, 10\]"
    data_case rating_neg ml-100k "${ok}4\t1\t-1\t1\n" "u.data:4:5: rating '-1' is not a number"
    data_case id_zero ml-100k "${ok}0\t1\t5\t1\n" "u.data:4:1: user id 0 is not positive \(ids start at 1\)"
    data_case id_negative ml-1m "1::1::5::1\n-2::1::5::1\n" "ratings.dat:2:1: user id '-2' is not a positive integer"
    data_case id_2_31 csv "userId,movieId,rating,timestamp\n1,2147483648,5,1\n" \
        "ratings.csv:2:3: item id 2147483648 is out of range 1..2147483647"
    data_case id_huge ml-100k "${ok}99999999999999999999\t1\t5\t1\n" "u.data:4:1: user id 99999999999999999999 is out of range"
    data_case id_sparse_dense_format ml-100k "${ok}2147483647\t1\t5\t1\n" "u.data:4: user id 2147483647 is far larger.*use format csv"
    data_case duplicate ml-100k "${ok}2\t2\t4\t7\n" \
        "u.data:4: duplicate rating of item 2 by user 2, already rated at .*u.data:2: each \(user, item\) pair may appear once"
    data_case empty_line ml-100k "1\t1\t5\t1\n\n2\t2\t3\t1\n" "u.data:2:1: empty line"
    data_case test_empty ml-100k "1\t1\t5\t1\n" "the random split of 1 ratings .* left the (test|train) set empty"
    data_case binary ml-100k "1\t1\t5\t1\n\x00\x01\x02\xff\n" 'u.data:2:5: .*\\x00\\x01\\x02\\xff'
    # duplicates across split files are refused too, naming both files
    mkdir -p "$T/d_split"
    printf '1\t1\t5\t1\n2\t2\t3\t1\n' > "$T/d_split/a.base"
    printf '3\t3\t5\t1\n2\t2\t1\t1\n' > "$T/d_split/a.test"
    run run "$T/small.yaml" --db "$T/data.db" --set "data.path=$T/d_split" --set data.split.kind=files \
        --set data.split.train_file=a.base --set data.split.test_file=a.test
    expect_exit 2 "duplicate across split files"
    expect_err "a.test:2: duplicate rating of item 2 by user 2, already rated at .*a.base:2" "duplicate across files"
    # a line longer than 64 KiB: refused by number, without reading on
    mkdir -p "$T/d_long"
    { printf '1\t1\t5\t1\n'; head -c 200000 /dev/zero | tr '\0' 7; } > "$T/d_long/u.data"
    run run "$T/small.yaml" --db "$T/data.db" --set "data.path=$T/d_long"
    expect_exit 2 "long line"
    expect_err "u.data:2: line is longer than 65536 bytes" "long line"
    [ ! -e "$T/data.db" ] || fail "bad data created the database"
}

# CRLF line endings and a missing final newline are accepted and give the
# very same numbers as the plain file.
test_crlf_and_missing_newline_same_results() {
    mkdir -p "$T/crlf" "$T/nonl"
    sed 's/$/\r/' "$T/data/u.data" > "$T/crlf/u.data"
    head -c -1 "$T/data/u.data" > "$T/nonl/u.data"
    local db="$T/crlf.db" v
    for v in data crlf nonl; do
        run run "$T/small.yaml" --db "$db" --quiet --set "data.path=$T/$v"
        expect_exit 0 "data variant $v"
    done
    local a b c
    a=$(q "$db" "SELECT group_concat(printf('%.17g %.17g', train_loss, test_rmse)) FROM epochs WHERE run_id = 1")
    b=$(q "$db" "SELECT group_concat(printf('%.17g %.17g', train_loss, test_rmse)) FROM epochs WHERE run_id = 2")
    c=$(q "$db" "SELECT group_concat(printf('%.17g %.17g', train_loss, test_rmse)) FROM epochs WHERE run_id = 3")
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "CRLF gave other numbers: '$a' vs '$b'"
    [ "$a" = "$c" ] || fail "no final newline gave other numbers: '$a' vs '$c'"
}

# A model too large for the machine is refused before any allocation, saying
# how much memory it needs.
test_huge_model_refused_with_memory_needed() {
    mkdir -p "$T/many"
    awk 'BEGIN { for (u = 1; u <= 5000; u++) { printf "%d\t%d\t4\t1\n", u, 1 + u % 7;
                 printf "%d\t%d\t3\t1\n", u, 8 + u % 5 } }' > "$T/many/u.data"
    local k
    for k in dense sparse; do
        if [ -n "${AUTOREC_SAN:-}" ]; then
            run run "$T/small.yaml" --db "$T/big.db" --set "data.path=$T/many" \
                --set model.hidden=1000000 --set train.batch_size=4 --set train.kernel=$k
        else   # 1 GB of address space: refusing must not try to allocate
            rc=0; (ulimit -v 1048576; exec $BIN run "$T/small.yaml" --db "$T/big.db" --set "data.path=$T/many" \
                --set model.hidden=1000000 --set train.batch_size=4 --set train.kernel=$k) >"$T/out" 2>"$T/err" || rc=$?
        fi
        expect_exit 2 "hidden 10^6 x 5000 users ($k)"
        expect_err "model.hidden = 1000000 with 5000 users .* needs [0-9.]+ GB" "huge model ($k)"
    done
    [ ! -e "$T/big.db" ] || fail "a refused model created the database"
}

# ---------------------------------------------------------- databases ----

test_db_path_in_missing_directory_is_created() {
    run run "$T/small.yaml" --quiet --db "$T/new/dir/deep/r.db"
    expect_exit 0 "database in a missing directory"
    [ "$(q "$T/new/dir/deep/r.db" 'SELECT count(*) FROM epochs')" = 3 ] || fail "epochs not recorded"
    printf 'x' > "$T/afile"
    run run "$T/small.yaml" --quiet --db "$T/afile/r.db"
    expect_exit 1 "a file in the database path"
    expect_err "afile is not a directory" "a file in the database path"
}

test_db_in_read_only_directory() {
    local ro="$T/ro"
    if mount_tmpfs "$ro" 1m ro; then
        :
    elif [ "$(id -u)" -ne 0 ]; then
        mkdir -p "$ro" && chmod 555 "$ro"
    else
        skip "root without permission to mount a read-only tmpfs"; return
    fi
    run run "$T/small.yaml" --quiet --db "$ro/r.db"
    expect_exit 1 "database in a read-only directory"
    expect_err "$ro/r.db" "read-only directory"
    expect_err "(Read-only file system|Permission denied|read-only)" "read-only directory"
    run run "$T/small.yaml" --quiet --db "$ro/sub/r.db"
    expect_exit 1 "database below a read-only directory"
    expect_err "cannot create directory $ro/sub" "read-only directory (mkdir)"
    # an existing database on a filesystem remounted read-only
    if [ "$(id -u)" -eq 0 ] && mount -o remount,rw "$ro" 2>/dev/null; then
        run run "$T/small.yaml" --quiet --db "$ro/r.db"
        expect_exit 0 "database on a writable tmpfs"
        local before; before=$(md5sum < "$ro/r.db")
        mount -o remount,ro "$ro" || { fail "remount read-only"; return; }
        run run "$T/small.yaml" --quiet --db "$ro/r.db"
        expect_exit 1 "database on a read-only filesystem"
        expect_err "read-only|Read-only" "read-only database"
        [ "$(md5sum < "$ro/r.db")" = "$before" ] || fail "a read-only database changed"
    fi
}

test_db_not_sqlite_newer_or_foreign_refused_untouched() {
    local db="$T/junk.db" sum
    head -c 5000 /dev/urandom > "$db"
    sum=$(md5sum < "$db")
    run run "$T/small.yaml" --quiet --db "$db"
    expect_exit 1 "not an SQLite file"
    expect_err "junk.db is not an SQLite database" "not an SQLite file"
    [ "$(md5sum < "$db")" = "$sum" ] || fail "a non-SQLite file was modified"
    # written by a newer autorec
    db="$T/newer.db"
    run run "$T/small.yaml" --quiet --db "$db"
    sqlite3 "$db" 'PRAGMA user_version = 999'
    sum=$(md5sum < "$db")
    run run "$T/small.yaml" --quiet --db "$db"
    expect_exit 1 "newer schema"
    expect_err "newer.db was written by a newer autorec \(schema 999" "newer schema"
    [ "$(md5sum < "$db")" = "$sum" ] || fail "a newer-schema database was modified"
    # another program's database
    db="$T/foreign.db"
    sqlite3 "$db" 'CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)'
    sum=$(md5sum < "$db")
    run run "$T/small.yaml" --quiet --db "$db"
    expect_exit 1 "foreign database"
    expect_err "foreign.db is not an autorec results database" "foreign database"
    [ "$(md5sum < "$db")" = "$sum" ] || fail "a foreign database was modified"
}

# Holds a write lock (BEGIN IMMEDIATE) on $1 for $2 seconds in the
# background (exclusive locking mode when $3 = exclusive: then readers are
# locked out too); returns once the lock is held (the sqlite3 shell touches
# a marker file right after taking it).
hold_lock() {
    local take="BEGIN IMMEDIATE; UPDATE runs SET name = name WHERE id = 1;"
    [ "${3:-}" = exclusive ] && take="PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; SELECT count(*) FROM runs;"
    rm -f "$T/locked"
    { echo ".timeout 60000"; echo "$take"; echo ".system touch $T/locked"
      sleep "$2"; echo "ROLLBACK;"; } | sqlite3 -bail "$1" >/dev/null 2>"$T/locker.err" &
    LOCKER=$!
    local i
    for i in $(seq 600); do
        [ -e "$T/locked" ] && return 0
        sleep 0.05
    done
    fail "could not take the lock on $1: $(cat "$T/locker.err")"
}

# A database locked for a few seconds: autorec waits and records everything.
test_db_locked_briefly_waits_then_succeeds() {
    local db="$T/lock1.db"
    run run "$T/small.yaml" --quiet --db "$db"
    hold_lock "$db" 3
    local t0=$SECONDS
    run run "$T/small.yaml" --quiet --db "$db"
    expect_exit 0 "briefly locked database"
    [ $((SECONDS - t0)) -ge 2 ] || fail "autorec did not wait for the lock ($((SECONDS - t0)) s)"
    wait "$LOCKER"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'finished'")" = 2 ] || fail "second run not finished"
    # locked in the middle of a run: the epoch waits, none is lost.  The run
    # is long (it cannot end before the lock, however fast the machine) and
    # is stopped with SIGINT once it has recorded epochs after the lock.
    $BIN run "$T/small.yaml" --quiet --db "$db" --set train.epochs=1000000 --set model.hidden=64 >/dev/null 2>"$T/err" &
    local pid=$!
    wait_for_epoch "$db" 7 || fail "no epoch of run 3"
    hold_lock "$db" 2
    kill -0 "$pid" 2>/dev/null || fail "run 3 ended before the lock was taken"
    local total; total=$(q "$db" 'SELECT count(*) FROM epochs')
    wait "$LOCKER"
    wait_for_epoch "$db" $((total + 5)) || fail "run 3 recorded no epoch after the lock"
    kill -INT "$pid"; wait "$pid"; rc=$?
    expect_exit 130 "database locked mid-run, then SIGINT"
    [ "$(q "$db" 'SELECT count(*) = max(epoch) AND max(epoch) = (SELECT epochs_done FROM runs WHERE id = 3) FROM epochs WHERE run_id = 3')" = 1 ] \
        || fail "epochs lost while locked: $(q "$db" 'SELECT count(*), max(epoch) FROM epochs WHERE run_id = 3')"
    integrity "$db"
}

# Locked out for longer than the busy timeout (10 s): a clear error, exit 1,
# nothing written.  (Writes are retried much longer; an exclusive lock makes
# even reading the schema wait, which is not retried.)
test_db_locked_too_long_fails_clearly() {
    local db="$T/lock2.db"
    run run "$T/small.yaml" --quiet --db "$db"
    local runs; runs=$(q "$db" 'SELECT count(*) FROM runs')
    hold_lock "$db" 14 exclusive
    local t0=$SECONDS
    run run "$T/small.yaml" --quiet --db "$db"
    local waited=$((SECONDS - t0))
    expect_exit 1 "database locked for too long"
    expect_err "lock2.db: the database is locked by another process" "locked database"
    [ "$waited" -ge 9 ] || fail "gave up after $waited s, before the 10 s busy timeout"
    wait "$LOCKER"
    [ "$(q "$db" 'SELECT count(*) FROM runs')" = "$runs" ] || fail "a locked-out run left a row"
    integrity "$db"
}

# The filesystem fills up during training (a 300 KB tmpfs): exit 1, the
# message names the epoch, finished epochs stay, the file is consistent,
# and the run is marked failed where the disk still allows it (else it
# stays 'running' and the message says so; grids then see it as stale).
test_disk_full_keeps_finished_epochs() {
    local dir="$T/full"
    if ! mount_tmpfs "$dir" 300k; then
        skip "needs root (and permission) to mount a 300 KB tmpfs"; return
    fi
    run run "$T/small.yaml" --quiet --db "$dir/r.db" --set train.epochs=1000000 --set model.hidden=4
    expect_exit 1 "disk full"
    expect_err "cannot record epoch [0-9]+ of run 1 in .*: database or disk is full" "disk full"
    local status n
    status=$(q "$dir/r.db" 'SELECT status FROM runs WHERE id = 1')
    n=$(q "$dir/r.db" 'SELECT count(*) FROM epochs')
    [ "$n" -ge 1 ] || fail "no finished epoch kept ($n)"
    integrity "$dir/r.db"
    whole_epochs "$dir/r.db"
    case "$status" in
        failed) ;;
        running) expect_err "could not record the end of run 1" "disk full, status not recorded" ;;
        *) fail "status after disk full: $status" ;;
    esac
    echo "    disk full after $n epochs; run status '$status'"
    # space again: the same database takes the next run, old epochs intact
    mount -o remount,size=8m "$dir" || { fail "remount"; return; }
    run run "$T/small.yaml" --quiet --db "$dir/r.db"
    expect_exit 0 "after freeing space"
    [ "$(q "$dir/r.db" 'SELECT count(*) FROM epochs WHERE run_id = 1')" = "$n" ] || fail "old epochs changed"
    integrity "$dir/r.db"
}

# The database hits the file size limit (ulimit -f, SIGXFSZ ignored): the
# write fails, finished epochs stay, the run is marked failed when the last
# write still fits (as for a full disk).  Needs no root.
test_file_size_limit_keeps_finished_epochs() {
    local db="$T/fsize.db"
    rc=0
    (trap '' XFSZ; ulimit -f 200; exec $BIN run "$T/small.yaml" --quiet --db "$db" \
        --set train.epochs=1000000 --set model.hidden=4) >"$T/out" 2>"$T/err" || rc=$?
    expect_exit 1 "file size limit"
    expect_err "cannot record epoch [0-9]+ of run 1 in .*fsize.db: (disk I/O error|database or disk is full)" "file size limit"
    integrity "$db"
    whole_epochs "$db"
    [ "$(q "$db" 'SELECT count(*) FROM epochs')" -ge 1 ] || fail "no finished epoch kept"
    local status; status=$(q "$db" 'SELECT status FROM runs WHERE id = 1')
    case "$status" in
        failed) ;;
        running) expect_err "could not record the end of run 1" "file size limit, status not recorded" ;;
        *) fail "status after hitting the file size limit: $status" ;;
    esac
    echo "    file size limit after $(q "$db" 'SELECT count(*) FROM epochs') epochs; run status '$status'"
}

# ---------------------------------------------------- training faults ----

# Builds $T/nanexp.so: an LD_PRELOAD shim whose expf/exp return NaN once
# the process got SIGWINCH (the sigmoid then poisons the whole model).
# SIGWINCH is ignored by default and not a stop signal (src/stop.h), so
# autorec leaves the shim's handler alone.
build_nan_shim() {
    [ -f "$T/nanexp.so" ] && return 0
    cat > "$T/nanexp.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <signal.h>
static volatile sig_atomic_t poisoned;
static void on_winch(int s) { (void)s; poisoned = 1; }
__attribute__((constructor)) static void init(void) { signal(SIGWINCH, on_winch); }
float expf(float x) {
    static float (*real)(float);
    if (poisoned) return NAN;
    if (!real) real = (float (*)(float))dlsym(RTLD_NEXT, "expf");
    return real(x);
}
double exp(double x) {
    static double (*real)(double);
    if (poisoned) return NAN;
    if (!real) real = (double (*)(double))dlsym(RTLD_NEXT, "exp");
    return real(x);
}
C
    ${CC:-cc} -shared -fPIC -O2 -o "$T/nanexp.so" "$T/nanexp.c" -ldl
}

# NaN mid-run (injected in exp/expf after a few epochs): status diverged,
# exit 1, the message names the epoch, only finite epochs recorded.
test_divergence_stops_with_epoch_named() {
    build_nan_shim || { fail "cannot build the NaN shim (needs cc)"; return; }
    local k db
    for k in dense sparse; do
        db="$T/div_$k.db"
        LD_PRELOAD="$T/nanexp.so" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
            $BIN run "$T/small.yaml" --db "$db" --set train.epochs=100000 --set model.hidden=32 \
            --set train.kernel=$k >/dev/null 2>"$T/err" &
        local pid=$!
        wait_for_epoch "$db" 3 || fail "no epoch within 60 s"
        kill -WINCH "$pid"
        wait "$pid"; rc=$?
        expect_exit 1 "diverged ($k)"
        local n; n=$(q "$db" 'SELECT count(*) FROM epochs')
        expect_err "run 1 diverged at epoch $((n + 1)) \(train loss [^,]+, test RMSE [^)]+\)" "divergence message ($k)"
        grep -Eq "(loss|RMSE) (-?nan|-?inf)" "$T/err" || fail "message does not show the non-finite value ($k)"
        [ "$(q "$db" 'SELECT status FROM runs')" = diverged ] || fail "status not diverged ($k)"
        whole_epochs "$db"
        [ "$(q "$db" "SELECT final_test_rmse = (SELECT test_rmse FROM epochs WHERE epoch = $n) FROM runs")" = 1 ] \
            || fail "final_test_rmse is not the last finite epoch's ($k)"
        integrity "$db"
    done
}

# SIGKILL mid-epoch, many times, at every stage (opening, schema creation,
# training): the database always passes integrity_check, holds whole epochs
# only, the killed run stays 'running' (for stale detection), and the next
# run on the same file works.
test_sigkill_leaves_database_consistent() {
    local db="$T/kill.db" i pid
    $BIN run "$T/small.yaml" --db "$db" --set train.epochs=100000 --set model.hidden=128 >/dev/null 2>&1 &
    pid=$!
    wait_for_epoch "$db" 2 || fail "no epoch within 60 s"
    kill -KILL "$pid"
    { wait "$pid"; } 2>/dev/null; rc=$?
    expect_exit 137 "SIGKILL"
    integrity "$db"
    whole_epochs "$db"
    [ "$(q "$db" 'SELECT status FROM runs WHERE id = 1')" = running ] || fail "killed run not left 'running'"
    run run "$T/small.yaml" --quiet --db "$db"
    expect_exit 0 "run after a SIGKILL"
    [ "$(q "$db" "SELECT status FROM runs WHERE id = 2")" = finished ] || fail "next run not finished"
    # kills at random moments, on new and existing databases
    for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
        local d="$T/kill$((i % 3)).db"
        $BIN run "$T/small.yaml" --db "$d" --set train.epochs=100000 >/dev/null 2>&1 &
        pid=$!
        sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
        kill -KILL "$pid" 2>/dev/null
        { wait "$pid"; } 2>/dev/null
        [ -e "$d" ] || continue
        integrity "$d"
        whole_epochs "$d"
    done
    for i in 0 1 2; do
        [ -e "$T/kill$i.db" ] || continue
        run run "$T/small.yaml" --quiet --db "$T/kill$i.db"
        expect_exit 0 "run after random SIGKILLs ($i)"
        integrity "$T/kill$i.db"
    done
}

# SIGINT or SIGTERM in the middle of a long epoch: the epoch in progress is
# abandoned (not recorded half-done), finished epochs stay, exit 130/143.
test_signal_mid_epoch() {
    local sig code db
    for sig in INT TERM; do
        code=130; [ $sig = TERM ] && code=143
        db="$T/mid$sig.db"
        $BIN run "$T/small.yaml" --db "$db" --set train.epochs=1000 --set model.hidden=3000 \
            --set train.batch_size=1 >/dev/null 2>"$T/err" &
        local pid=$!
        wait_for_epoch "$db" 1 || fail "no epoch within 60 s"
        sleep 0.2
        kill -$sig "$pid"
        wait "$pid"; rc=$?
        expect_exit $code "SIG$sig mid-epoch"
        expect_err "interrupted by SIG$sig after [0-9]+ finished epochs" "SIG$sig message"
        [ "$(q "$db" 'SELECT status FROM runs')" = interrupted ] || fail "status not interrupted"
        whole_epochs "$db"
        integrity "$db"
    done
}

make_data
# Two processes creating the same new database at once: switching it to WAL
# can answer "busy" without the busy handler; both runs must still succeed.
# (Before db_configure retried it, 17 of 30 such pairs failed here.)
test_two_runs_create_one_new_database() {
    make_data
    local i r1 r2 bad=0
    for i in $(seq 1 12); do
        rm -f "$T/new.db" "$T/new.db-wal" "$T/new.db-shm"
        $BIN run "$T/small.yaml" --set train.epochs=1 --set train.threads=1 \
            --db "$T/new.db" --quiet >"$T/o1" 2>&1 &
        $BIN run "$T/small.yaml" --set train.epochs=1 --set train.threads=1 \
            --db "$T/new.db" --quiet >"$T/o2" 2>&1
        r2=$?; wait $!; r1=$?
        if [ $r1 -ne 0 ] || [ $r2 -ne 0 ]; then
            bad=$((bad + 1)); fail "pair $i: exit $r1 $r2: $(cat "$T/o1" "$T/o2" | head -c 300)"
        fi
    done
    [ $bad -eq 0 ] && [ "$(q "$T/new.db" "SELECT count(*) FROM runs WHERE status = 'finished'")" = 2 ] \
        || fail "the last pair did not leave 2 finished runs"
}

run_tests cli_faults
