#!/usr/bin/env bash
# Command-line conventions: relative paths in a config resolve against the
# config's directory (overrides against the working directory), a created
# database is named, positional key=value overrides and `--`, grid axes
# overridden from the command line.
source "$(dirname "$0")/lib.sh"
ABS_BIN="$PWD/autorec"
make_data

# A config in $T/conf whose data path is relative to it, and a grid one.
make_confs() {
    mkdir -p "$T/conf" "$T/elsewhere"
    cat >"$T/conf/rel.yaml" <<'YAML'
name: rel
data:
  path: ../data
  format: ml-100k
model:
  hidden: 8
train:
  epochs: 1
  batch_size: 16
  threads: 1
YAML
    { sed 's/^name: rel/name: g/' "$T/conf/rel.yaml"
      printf 'grid:\n  model.hidden: [8, 16]\n  train.lr: [0.01]\n'; } >"$T/conf/g.yaml"
}
make_confs

test_config_paths_relative_to_the_config() {
    (cd "$T/elsewhere" && "$ABS_BIN" run ../conf/rel.yaml --db r.db --quiet) >"$T/out" 2>"$T/err" \
        || { fail "run from another directory failed: $(cat "$T/err")"; return; }
    [ "$(q "$T/elsewhere/r.db" 'SELECT data_path FROM runs')" = "../data" ] \
        || fail "recorded data path: $(q "$T/elsewhere/r.db" 'SELECT data_path FROM runs')"
    grep -q "^autorec run: created a new results database r.db ($T/elsewhere/r.db)" "$T/err" \
        || fail "the created database is not named: $(cat "$T/err")"
    (cd "$T/elsewhere" && "$ABS_BIN" run ../conf/rel.yaml --db r.db --quiet) >"$T/out" 2>"$T/err" || fail "second run failed"
    grep -q "created a new results database" "$T/err" && fail "an existing database reported as created"
    # an override's path is relative to the working directory
    (cd "$T" && "$ABS_BIN" run conf/rel.yaml data.path=data --db r2.db --quiet) >/dev/null 2>"$T/err" \
        || fail "data.path=data from $T failed: $(cat "$T/err")"
    [ "$(q "$T/r2.db" 'SELECT data_path FROM runs')" = "data" ] || fail "override path not kept relative to the cwd"
    # the shipped configs name the data relative to themselves
    grep -q "^  path: ../data/ml-100k" configs/seed.yaml || fail "configs/seed.yaml data path"
}

test_positional_overrides_and_double_dash() {
    $BIN run "$T/conf/rel.yaml" train.lr=0.005 model.hidden=12 --db "$T/p.db" --quiet >/dev/null 2>"$T/err" \
        || { fail "positional overrides failed: $(cat "$T/err")"; return; }
    [ "$(q "$T/p.db" 'SELECT lr || " " || hidden FROM runs')" = "0.005 12" ] \
        || fail "overrides not applied: $(q "$T/p.db" 'SELECT lr, hidden FROM runs')"
    $BIN run --db "$T/p.db" --quiet -- "$T/conf/rel.yaml" train.seed=4 >/dev/null 2>"$T/err" || fail "-- failed: $(cat "$T/err")"
    [ "$(q "$T/p.db" 'SELECT seed FROM runs WHERE id = 2')" = 4 ] || fail "override after -- not applied"
    $BIN run "$T/conf/rel.yaml" train.lr=abc --db "$T/p.db" 2>"$T/err"; [ $? -eq 2 ] || fail "a bad override should exit 2"
    grep -q "train.lr" "$T/err" || fail "bad override message: $(cat "$T/err")"
    $BIN run "$T/conf/rel.yaml" other.yaml --db "$T/p.db" 2>"$T/err"; [ $? -eq 2 ] || fail "two configs should exit 2"
}

# Experiment id of a grid dry run ($@: extra arguments).
grid_id() { $BIN grid "$T/conf/g.yaml" --dry-run --db "$T/g.db" "$@" | awk 'NR == 1 { print $2 }'; }

test_grid_axes_from_the_command_line() {
    local base three fixed same
    base=$(grid_id)
    $BIN grid "$T/conf/g.yaml" --dry-run --db "$T/g.db" --set "grid.model.hidden=[4,8,12]" >"$T/out" 2>&1 \
        || { fail "grid.model.hidden override failed: $(cat "$T/out")"; return; }
    grep -q "3 points (model.hidden,train.lr)" "$T/out" && grep -q "^  3/3  12 " "$T/out" || fail "axis values: $(cat "$T/out")"
    three=$(grid_id "grid.model.hidden=[4,8,12]")
    fixed=$(grid_id model.hidden=4)
    same=$(grid_id "grid.model.hidden=[8,16]")
    [ "$three" != "$base" ] && [ "$fixed" != "$base" ] && [ "$fixed" != "$three" ] || fail "ids: $base $three $fixed"
    [ "$same" = "$base" ] || fail "the same axis values should give the same experiment ($same vs $base)"
    $BIN grid "$T/conf/g.yaml" --dry-run --db "$T/g.db" model.hidden=4 >"$T/out" 2>&1
    grep -q "1 point (train.lr)" "$T/out" || fail "a key=value on an axis should fix it: $(cat "$T/out")"
    $BIN grid "$T/conf/g.yaml" --dry-run --db "$T/g.db" "grid.train.batch_size=[8,16]" >"$T/out" 2>&1
    grep -q "4 points (model.hidden,train.lr,train.batch_size)" "$T/out" || fail "a new axis: $(cat "$T/out")"
    $BIN grid "$T/conf/g.yaml" --dry-run --db "$T/g.db" "grid.model.hidden=[4,x]" 2>"$T/err"; [ $? -eq 2 ] \
        || fail "a bad axis value should exit 2"
    grep -q "model.hidden: \"x\" is not a number" "$T/err" || fail "bad axis message: $(cat "$T/err")"
}

# A grid of 2 (3) points on the small data set: $1 epochs.
grid_conf() {
    sed -e "s/epochs: 1/epochs: $1/" -e "s|path: ../data|path: $T/data|" "$T/conf/g.yaml" >"$T/p.yaml"
}

# Progress off a terminal: plain lines to stderr, one per settled point, no
# escapes; on a terminal the live block, workers labelled by slot, within
# 80 columns; TERM=dumb and NO_COLOR get the plain lines.
test_grid_progress_off_a_terminal() {
    grid_conf 2
    $BIN grid "$T/p.yaml" --db "$T/pr.db" --workers 2 --threads 1 "grid.model.hidden=[8,12,16]" >"$T/out" 2>"$T/err" \
        || { fail "grid failed: $(cat "$T/err")"; return; }
    [ "$(grep -c "^g-[0-9a-f]*: point [123]/3 hidden=[0-9]* lr=0.01 finished (run [0-9]*): result RMSE [0-9.]*, 2 epochs in .*; [123]/3 done, ETA " "$T/err")" = 3 ] \
        || fail "one plain line per point expected: $(cat "$T/err")"
    grep -q $'\033' "$T/err" && fail "escapes off a terminal"
}

# ... and on a terminal (a pseudo-terminal from script(1)).
test_grid_progress_on_a_terminal() {
    if ! command -v script >/dev/null 2>&1; then
        skip "script(1) is not installed (tools/install_deps.sh installs bsdutils)"; return
    fi
    if ! script -qec true /dev/null >"$T/ptycheck" 2>&1; then
        skip "no pseudo-terminal here ($(head -c 200 "$T/ptycheck")): /dev/pts not mounted?"; return
    fi
    grid_conf 3000
    TERM=xterm script -qec "stty cols 200; $ABS_BIN grid $T/p.yaml --db $T/pt.db --workers 2 --threads 1" /dev/null >"$T/pty" 2>&1
    grep -q $'\033\\[' "$T/pty" || fail "no live block on a terminal"
    sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/\r/\n/g' "$T/pty" >"$T/pty.txt"
    grep -q "^  w[12]  [12]/2 hidden=" "$T/pty.txt" || fail "workers not labelled by slot: $(head -c 600 "$T/pty.txt")"
    [ "$(grep ' ep \|done,' "$T/pty.txt" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')" -le 80 ] \
        || fail "live block wider than 80 columns"
    local k=0
    for env in "TERM=dumb" "TERM=xterm NO_COLOR=1"; do
        k=$((k + 1))
        env $env script -qec "$ABS_BIN grid $T/p.yaml --db $T/pd$k.db --workers 2 --threads 1 train.epochs=2" /dev/null >"$T/pty" 2>&1
        grep -q $'\033' "$T/pty" && fail "$env: escapes on the terminal"
        grep -q ": point 1/2 hidden=8 lr=0.01 finished" "$T/pty" || fail "$env: no plain lines: $(cat "$T/pty")"
    done
}

# Every command parses its command line the same way (src/cli.c): -h and
# --help print its usage on stdout with status 0, an unknown option or a
# missing value is status 2 with a message naming the command and the
# option, a value is given as --opt VALUE or --opt=VALUE, and "--" ends the
# options.
test_every_command_parses_alike() {
    local c
    for c in run grid slurm merge ls show compare best summary export plot serve recommend bench synth; do
        $BIN "$c" --help >"$T/out" 2>"$T/err"; [ $? -eq 0 ] || fail "$c --help: exit status"
        grep -q "^usage: autorec $c" "$T/out" || fail "$c --help: no usage on stdout"
        [ -s "$T/err" ] && fail "$c --help wrote to stderr: $(cat "$T/err")"
        $BIN "$c" -h >"$T/out2" 2>/dev/null && cmp -s "$T/out" "$T/out2" || fail "$c -h differs from --help"
        $BIN "$c" --no-such-option >"$T/out" 2>"$T/err"; [ $? -eq 2 ] || fail "$c --no-such-option: exit status"
        grep -qx "autorec $c: unknown option '--no-such-option' (see autorec $c --help)" "$T/err" \
            || fail "$c: unknown option message: $(cat "$T/err")"
    done
    for c in ls best export summary; do
        $BIN "$c" --db >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "$c --db without a value: exit status"
        grep -qx "autorec $c: --db needs a value (see autorec $c --help)" "$T/err" || fail "$c: $(cat "$T/err")"
    done
    $BIN run "$T/conf/rel.yaml" --db "$T/e.db" --quiet >/dev/null 2>&1 || { fail "run failed"; return; }
    $BIN ls --db="$T/e.db" --limit=1 --format=csv --columns=id,hidden >"$T/out" 2>"$T/err" || fail "ls --opt=value: $(cat "$T/err")"
    [ "$(cat "$T/out")" = "$(printf 'id,hidden\n1,8')" ] || fail "ls --opt=value output: $(cat "$T/out")"
    $BIN show --db "$T/e.db" -- 1 >"$T/out" 2>"$T/err" || fail "show -- 1: $(cat "$T/err")"
    grep -q "^run 1 " "$T/out" || fail "show -- 1 output: $(head -3 "$T/out")"
    $BIN ls --db "$T/e.db" --limit -1 >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "ls --limit -1: exit status"
    grep -qx "autorec ls: --limit: '-1' is not an integer >= 0" "$T/err" || fail "--limit message: $(cat "$T/err")"
    $BIN grid "$T/conf/g.yaml" --workers 0 >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "grid --workers 0: exit status"
    grep -qx "autorec grid: --workers: '0' is not an integer in 1..256" "$T/err" || fail "--workers message: $(cat "$T/err")"
    AUTOREC_STALE_SECONDS=0.1 $BIN grid "$T/conf/g.yaml" --dry-run >/dev/null 2>"$T/err"; [ $? -eq 2 ] \
        || fail "AUTOREC_STALE_SECONDS=0.1: exit status"
    grep -qx "autorec grid: AUTOREC_STALE_SECONDS: '0.1' is not a number of seconds in 0.5..86400" "$T/err" \
        || fail "AUTOREC_STALE_SECONDS message: $(cat "$T/err")"
}

run_tests cli_conventions
