#!/usr/bin/env bash
# Command-line tests of files and media: output files written beside their
# target and renamed (never through a link, never onto the database), query
# tools failing when stdout cannot be written, FIFOs refused as --db or
# data, a database deleted or replaced under a run, read-only media.
# Root-only cases are defined only as root; otherwise they print SKIP and
# are not counted.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
make_data

# $T/q.db: one finished 3-epoch run (id 1) to query.
$BIN run "$T/small.yaml" --db "$T/q.db" --quiet >/dev/null || echo "    setup: the run for $T/q.db failed"

# sha256 of the file $1.
sum() { sha256sum "$1" | cut -d' ' -f1; }

test_query_tools_fail_when_stdout_cannot_be_written() {
    local cmd
    for cmd in "ls" "show 1" "best" "compare 1" "export" "export --format json"; do
        # shellcheck disable=SC2086
        $BIN $cmd --db "$T/q.db" > /dev/full 2>"$T/e"
        local rc=$?
        [ $rc -eq 1 ] || fail "$cmd > /dev/full: exit $rc, expected 1"
        grep -q "cannot write.*No space left on device" "$T/e" || fail "$cmd > /dev/full: message '$(cat "$T/e")'"
    done
    $BIN version > /dev/full 2>"$T/e" && fail "version > /dev/full: exit 0"
    grep -q "autorec version: cannot write" "$T/e" || fail "version > /dev/full: message '$(cat "$T/e")'"
    $BIN ls --db "$T/q.db" > "$T/o" 2>"$T/e" || fail "ls to a file failed: $(cat "$T/e")"
    grep -q finished "$T/o" || fail "ls printed: $(cat "$T/o")"
}

test_export_onto_the_database_is_refused() {
    local before target
    cp "$T/q.db" "$T/e.db"
    before=$(sum "$T/e.db")
    ln -sf e.db "$T/q-link.db"
    ln -f "$T/e.db" "$T/q-hard.db"
    for target in "$T/e.db" "$T/e.db-wal" "$T/e.db-shm" "$T/e.db-journal" "$T/./e.db" \
                  "$T/data/../e.db" "$T/q-link.db" "$T/q-hard.db"; do
        $BIN export --db "$T/e.db" -o "$target" >/dev/null 2>"$T/e"
        [ $? -eq 1 ] || fail "export -o $target: not refused"
        grep -q "refusing to write .*results database" "$T/e" || fail "export -o $target: message '$(cat "$T/e")'"
    done
    [ "$(sum "$T/e.db")" = "$before" ] || fail "the database changed"
    [ ! -e "$T/e.db-journal" ] || fail "a -journal file was written"
    [ "$(q "$T/e.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
    $BIN ls --db "$T/e.db" >/dev/null || fail "the database no longer opens"
    rm -f "$T/q-link.db" "$T/q-hard.db"
}

test_export_replaces_links_and_leaves_no_temporary() {
    mkdir -p "$T/x"
    printf 'precious\n' > "$T/x/victim"
    ln -sf "$T/x/victim" "$T/x/out.csv"
    $BIN export --db "$T/q.db" -o "$T/x/out.csv" 2>"$T/e" || fail "export: $(cat "$T/e")"
    [ "$(cat "$T/x/victim")" = precious ] || fail "export wrote through the link"
    [ -f "$T/x/out.csv" ] && [ ! -L "$T/x/out.csv" ] || fail "the link was not replaced by a file"
    head -1 "$T/x/out.csv" | grep -q "^id,experiment," || fail "export content: $(head -c 80 "$T/x/out.csv")"
    # a failing export (no such database) leaves the old file and no temporary
    cp "$T/x/out.csv" "$T/x/keep"
    $BIN export --db "$T/nope.db" -o "$T/x/out.csv" >/dev/null 2>&1 && fail "export from a missing database succeeded"
    cmp -s "$T/x/out.csv" "$T/x/keep" || fail "a failed export changed the old file"
    [ "$(ls -A "$T/x" | grep -c tmp)" = 0 ] || fail "temporary left: $(ls -A "$T/x")"
    mkfifo "$T/x/fifo.csv"
    timeout 20 $BIN export --db "$T/q.db" -o "$T/x/fifo.csv" >/dev/null 2>"$T/e"
    [ $? -eq 1 ] || fail "export -o FIFO: not refused (or blocked)"
    grep -q "FIFO" "$T/e" || fail "export -o FIFO: message '$(cat "$T/e")'"
    $BIN export --db "$T/q.db" -o "$T/x" >/dev/null 2>"$T/e" && fail "export -o a directory succeeded"
    grep -q "directory" "$T/e" || fail "export -o DIR: message '$(cat "$T/e")'"
}

test_synth_and_slurm_never_write_through_links() {
    mkdir -p "$T/syn"
    printf 'precious\n' > "$T/victim2"
    ln -sf "$T/victim2" "$T/syn/ratings.dat"
    $BIN synth --users 20 --items 30 --ratings 200 -o "$T/syn" >/dev/null 2>"$T/e" || fail "synth: $(cat "$T/e")"
    [ "$(cat "$T/victim2")" = precious ] || fail "synth wrote through the link"
    [ -f "$T/syn/ratings.dat" ] && [ ! -L "$T/syn/ratings.dat" ] || fail "ratings.dat is not a new file"
    [ "$(wc -l < "$T/syn/ratings.dat")" = 200 ] || fail "ratings.dat has $(wc -l < "$T/syn/ratings.dat") lines"
    mkdir -p "$T/sl"
    printf 'grid:\n  model.hidden: [8, 16]\n' | cat "$T/small.yaml" - > "$T/sl/g.yaml"
    $BIN slurm "$T/sl/g.yaml" --db "$T/sl/r.db" >/dev/null 2>"$T/e" || { fail "slurm: $(cat "$T/e")"; return; }
    local job
    job=$(find "$T/sl" -name job.sbatch)
    [ -f "$job" ] || { fail "no job.sbatch under $T/sl"; return; }
    ln -sf "$T/victim2" "$job"
    $BIN slurm "$T/sl/g.yaml" --db "$T/sl/r.db" >/dev/null 2>"$T/e" || fail "slurm again: $(cat "$T/e")"
    [ "$(cat "$T/victim2")" = precious ] || fail "slurm wrote through the link"
    [ -f "$job" ] && [ ! -L "$job" ] && head -1 "$job" | grep -q '^#!' \
        || fail "job.sbatch is not a new script: $(head -c 80 "$job")"
    [ -x "$job" ] || fail "job.sbatch is not executable"
}

test_plot_into_unwritable_directory_leaks_nothing() {
    command -v gnuplot >/dev/null || { fail "gnuplot is not installed (tools/install_deps.sh)"; return; }
    $BIN plot 1 --db "$T/q.db" -o "$T/no/such/dir/c.png" > "$T/o" 2>"$T/e"
    [ $? -eq 1 ] || fail "plot into a missing directory: exit not 1"
    [ ! -s "$T/o" ] || fail "plot printed $(wc -c < "$T/o") bytes on stdout"
    grep -q "c.png.*No such file or directory" "$T/e" || fail "message: $(cat "$T/e")"
    $BIN plot 1 --db "$T/q.db" -o "$T/q.db" > "$T/o" 2>"$T/e" && fail "plot onto the database"
    mkdir -p "$T/pl"
    $BIN plot 1 --db "$T/q.db" -o "$T/pl/c.png" > "$T/o" 2>"$T/e" || fail "plot: $(cat "$T/e")"
    head -c 8 "$T/pl/c.png" | od -An -c | grep -q 'P   N   G' || fail "not a PNG"
    grep -q "^wrote " "$T/o" || fail "stdout: $(head -c 100 "$T/o")"
    [ "$(ls -A "$T/pl")" = c.png ] || fail "left in the directory: $(ls -A "$T/pl")"
}

test_fifo_as_database_or_data_is_refused() {
    mkfifo "$T/f.db" "$T/f.data"
    local cmd
    for cmd in "ls" "show 1" "best" "export"; do
        # shellcheck disable=SC2086
        timeout 20 $BIN $cmd --db "$T/f.db" >/dev/null 2>"$T/e"
        local rc=$?
        [ $rc -eq 1 ] || fail "$cmd --db FIFO: exit $rc (124: it blocked)"
        grep -q "FIFO" "$T/e" || fail "$cmd --db FIFO: message '$(cat "$T/e")'"
    done
    timeout 20 $BIN run "$T/small.yaml" --db "$T/f.db" --quiet >/dev/null 2>"$T/e"
    rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "run --db FIFO: exit $rc"
    grep -q "FIFO" "$T/e" || fail "run --db FIFO: message '$(cat "$T/e")'"
    timeout 20 $BIN run "$T/small.yaml" --db "$T/ff.db" --quiet --set data.path="$T/f.data" \
        --set data.format=csv >/dev/null 2>"$T/e"
    rc=$?
    [ $rc -eq 2 ] || fail "data.path FIFO: exit $rc, expected 2 (124: it blocked)"
    grep -q "FIFO" "$T/e" || fail "data.path FIFO: message '$(cat "$T/e")'"
    [ ! -e "$T/ff.db" ] || fail "the database was created"
    # a dangling link: the file it points to is never created
    ln -sf "$T/elsewhere.db" "$T/dangling.db"
    $BIN run "$T/small.yaml" --db "$T/dangling.db" --quiet >/dev/null 2>"$T/e"
    [ $? -eq 1 ] || fail "run --db dangling link: not refused"
    grep -q "symbolic link to a file that does not exist" "$T/e" || fail "dangling: message '$(cat "$T/e")'"
    [ ! -e "$T/elsewhere.db" ] || fail "a database was created through the link"
}

# A run whose database is deleted, or replaced, under it fails (exit 1)
# saying so, instead of finishing into the unlinked file.
test_database_deleted_or_replaced_during_run() {
    local what pid rc
    for what in deleted replaced; do
        rm -rf "$T/del"
        mkdir -p "$T/del"
        $BIN run "$T/small.yaml" --db "$T/del/r.db" --set train.epochs=100000 --quiet \
            >/dev/null 2>"$T/e" &
        pid=$!
        wait_for_epoch "$T/del/r.db" || { fail "$what: no epoch recorded"; kill "$pid"; wait "$pid"; continue; }
        if [ $what = deleted ]; then rm -f "$T/del/r.db" "$T/del/r.db-wal" "$T/del/r.db-shm"
        else cp "$T/q.db" "$T/del/other.db" && mv "$T/del/other.db" "$T/del/r.db"; fi
        for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            fail "$what: the run goes on"
            kill -9 "$pid"
        fi
        wait "$pid"
        rc=$?
        [ $rc -eq 1 ] || fail "$what: exit $rc, expected 1"
        grep -q "was $what" "$T/e" || fail "$what: message '$(cat "$T/e")'"
    done
    [ "$(q "$T/del/r.db" 'SELECT count(*) FROM runs')" = 1 ] || fail "the replacing database was written to"
}

# A database named like SQLite's companion files of another (X.db-wal) is
# refused: opening X.db would delete it and every result merged into it.
test_database_named_like_a_wal_file_is_refused() {
    mkdir -p "$T/w"
    cp "$T/q.db" "$T/w/a.db"
    local db
    for db in a.db-wal a.db-shm a.db-journal; do
        $BIN merge "$T/q.db" --into "$T/w/$db" >/dev/null 2>"$T/e"
        [ $? -eq 1 ] || fail "merge --into $db: not refused"
        grep -q "SQLite's own files of the database .*a.db" "$T/e" || fail "merge --into $db: message '$(cat "$T/e")'"
        $BIN run "$T/small.yaml" --db "$T/w/$db" --quiet >/dev/null 2>&1 && fail "run --db $db: not refused"
        [ ! -e "$T/w/$db" ] || fail "$db was created"
    done
    [ "$(q "$T/w/a.db" 'SELECT count(*) FROM runs')" = 1 ] || fail "a.db changed"
}

if [ "$(id -u)" = 0 ]; then
# Query commands on a database on a read-only file system (a tmpfs
# remounted read-only): they work and say so; run says it cannot write.
test_database_on_read_only_media() {
    mkdir -p "$T/ro"
    mount -t tmpfs tmpfs "$T/ro" || { fail "cannot mount a tmpfs"; return; }
    $BIN run "$T/small.yaml" --db "$T/ro/r.db" --quiet >/dev/null || fail "run onto the tmpfs failed"
    mount -o remount,ro "$T/ro" || { fail "cannot remount read-only"; umount "$T/ro"; return; }
    local cmd
    for cmd in "ls" "show 1" "best" "export"; do
        # shellcheck disable=SC2086
        $BIN $cmd --db "$T/ro/r.db" > "$T/o" 2>"$T/e" || fail "$cmd on read-only media: $(cat "$T/e")"
        grep -q "read-only file system: opened read-only" "$T/e" || fail "$cmd: no note: '$(cat "$T/e")'"
        [ -s "$T/o" ] || fail "$cmd printed nothing"
    done
    $BIN run "$T/small.yaml" --db "$T/ro/r.db" --quiet >/dev/null 2>"$T/e"
    [ $? -eq 1 ] || fail "run onto read-only media did not exit 1"
    grep -q "Read-only file system" "$T/e" || fail "run message: $(cat "$T/e")"
    umount "$T/ro"
}

# export -o onto a full file system: exit 1 saying so, the old file intact,
# no temporary left (a 1 MiB tmpfs filled up).
test_export_onto_a_full_disk_keeps_the_old_file() {
    mkdir -p "$T/full"
    mount -t tmpfs -o size=1m tmpfs "$T/full" || { fail "cannot mount a tmpfs"; return; }
    printf 'old export\n' > "$T/full/out.csv"
    dd if=/dev/zero of="$T/full/filler" bs=4k 2>/dev/null
    $BIN export --db "$T/q.db" -o "$T/full/out.csv" >/dev/null 2>"$T/e"
    [ $? -eq 1 ] || fail "export onto a full disk: exit not 1"
    grep -q "No space left on device" "$T/e" || fail "message: $(cat "$T/e")"
    [ "$(cat "$T/full/out.csv")" = "old export" ] || fail "the old file changed"
    [ "$(ls -A "$T/full" | sort | tr '\n' ' ')" = "filler out.csv " ] || fail "left: $(ls -A "$T/full")"
    umount "$T/full"
}
else
    echo "SKIP test_database_on_read_only_media: needs root (mount -t tmpfs, remount ro)"
    echo "SKIP test_export_onto_a_full_disk_keeps_the_old_file: needs root (mount -t tmpfs)"
fi

run_tests cli_files
