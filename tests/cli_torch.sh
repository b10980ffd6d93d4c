#!/usr/bin/env bash
# Command-line tests of the PyTorch comparison tools: tools/torch_autorec.py
# (the reference as a script) and tools/bench_torch.sh (make bench-torch).
# Torch is not a dependency of the suite: the argument handling and the
# missing-torch paths run everywhere (a stand-in torch module that fails to
# import); the tests that train with torch SKIP without it.
source "$(dirname "$0")/lib.sh"
make_data

# the Python that runs the script in these tests: Debian's when present
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
TORCH_PY=${TORCH_PYTHON:-/usr/bin/python3}
have_torch() { [ -x "$TORCH_PY" ] && "$TORCH_PY" -c 'import torch, numpy' >/dev/null 2>&1; }

# a module directory whose `torch` cannot be imported, whatever is installed
mkdir -p "$T/notorch"
printf 'raise ImportError("No module named %s", name="torch")\n' "'torch'" >"$T/notorch/torch.py"

# an ML-1M-format copy of the small data set
sed 's/\t/::/g' "$T/data/u.data" >"$T/data/ratings.dat"

test_script_help_and_bad_options() {
    [ -n "$PY" ] || { skip "no python3"; return; }
    PYTHONPATH="$T/notorch" "$PY" tools/torch_autorec.py --help >"$T/out" 2>&1 || fail "--help failed: $(cat "$T/out")"
    grep -q -- '--threads' "$T/out" || fail "--help does not list --threads: $(cat "$T/out")"
    local bad
    for bad in "--epochs 0" "--hidden -1" "--batch 0" "--threads -2" "--test-ratio 1" "--dropout 1" \
               "--format csv" "--lr 0" "--nonsense"; do
        # shellcheck disable=SC2086
        PYTHONPATH="$T/notorch" "$PY" tools/torch_autorec.py --data "$T/data" $bad >"$T/out" 2>&1
        [ $? = 2 ] || fail "'$bad': not exit 2: $(cat "$T/out")"
        grep -q 'error:' "$T/out" || fail "'$bad': no error message: $(cat "$T/out")"
    done
}

# a missing ratings file is bad data (exit 2), found before torch is imported
test_script_missing_data() {
    [ -n "$PY" ] || { skip "no python3"; return; }
    PYTHONPATH="$T/notorch" "$PY" tools/torch_autorec.py --data "$T/nowhere" >"$T/out" 2>&1
    [ $? = 2 ] || fail "not exit 2: $(cat "$T/out")"
    grep -q "no ratings file $T/nowhere" "$T/out" || fail "message does not name the file: $(cat "$T/out")"
    PYTHONPATH="$T/notorch" "$PY" tools/torch_autorec.py --data "$T/data" --format ml-1m --epochs 1 >"$T/out" 2>&1
    [ $? = 1 ] || fail "a directory with ratings.dat: expected the torch import failure (exit 1): $(cat "$T/out")"
}

# without torch: exit 1 and a message saying what to install
test_script_without_torch() {
    [ -n "$PY" ] || { skip "no python3"; return; }
    PYTHONPATH="$T/notorch" "$PY" tools/torch_autorec.py --data "$T/data" >"$T/out" 2>&1
    [ $? = 1 ] || fail "not exit 1: $(cat "$T/out")"
    grep -q "cannot import torch.*python3-torch" "$T/out" || fail "no install hint: $(cat "$T/out")"
}

test_bench_usage() {
    bash tools/bench_torch.sh --help >"$T/out" 2>&1 || fail "--help failed: $(cat "$T/out")"
    grep -q '^usage: tools/bench_torch.sh' "$T/out" || fail "no usage line: $(cat "$T/out")"
    local bad
    for bad in "--rounds 0" "--rounds x" "--shape ml-10m" "--epochs-1m 0" "--frobnicate" "--rounds"; do
        # shellcheck disable=SC2086
        bash tools/bench_torch.sh $bad >"$T/out" 2>&1
        [ $? = 2 ] || fail "'$bad': not exit 2: $(cat "$T/out")"
        grep -q '^bench_torch: ' "$T/out" || fail "'$bad': no message: $(cat "$T/out")"
    done
}

# the skip path: a Python without torch measures nothing and says so (exit 3)
test_bench_without_torch() {
    [ -n "$PY" ] || { skip "no python3"; return; }
    printf '#!/bin/sh\nPYTHONPATH=%s exec %s "$@"\n' "$T/notorch" "$PY" >"$T/py-notorch"
    chmod +x "$T/py-notorch"
    bash tools/bench_torch.sh --python "$T/py-notorch" --keep "$T/bk" --ml100k "$T/data" >"$T/out" 2>&1
    [ $? = 3 ] || fail "not exit 3: $(cat "$T/out")"
    grep -q 'cannot import torch.*nothing measured' "$T/out" || fail "no message: $(cat "$T/out")"
    [ ! -e "$T/bk" ] || fail "something ran: $(ls -R "$T/bk")"
    TORCH_PYTHON="$T/py-notorch" bash tools/bench_torch.sh --settings >"$T/out" 2>&1
    [ $? = 3 ] || fail "TORCH_PYTHON not used: $(cat "$T/out")"
}

test_bench_missing_data() {
    have_torch || { skip "$TORCH_PY cannot import torch (python3-torch: bash tools/install_deps.sh --torch)"; return; }
    bash tools/bench_torch.sh --shape ml-100k --ml100k "$T/nowhere" >"$T/out" 2>&1
    [ $? = 2 ] || fail "not exit 2: $(cat "$T/out")"
    grep -q "no $T/nowhere/u.data" "$T/out" || fail "message does not name the file: $(cat "$T/out")"
}

# the reference learns: one line per epoch, the train loss falls, the test
# RMSE beats the global mean's (the ratings' sd) on a synthetic set with a
# signal, and the same seed gives the same numbers
test_script_trains() {
    have_torch || { skip "$TORCH_PY cannot import torch (python3-torch: bash tools/install_deps.sh --torch)"; return; }
    $BIN synth --users 200 --items 150 --ratings 12000 -o "$T/syn" >/dev/null || { fail "synth failed"; return; }
    local args=(--data "$T/syn" --format ml-1m --epochs 40 --hidden 32 --batch 16 --lr 0.005 --seed 3)
    "$TORCH_PY" tools/torch_autorec.py "${args[@]}" >"$T/t1" 2>&1 || { fail "failed: $(cat "$T/t1")"; return; }
    [ "$(grep -c '^epoch ' "$T/t1")" = 40 ] || fail "not 40 epoch lines: $(cat "$T/t1")"
    awk '/^epoch/ { l[++n] = $5 } END { exit !(n == 40 && l[40] < l[1] / 2) }' "$T/t1" \
        || fail "the train loss did not halve: $(cat "$T/t1")"
    local rmse sd
    rmse=$(sed -n 's/^result test_rmse=\([^ ]*\) epochs=40 .*/\1/p' "$T/t1")
    sd=$(rating_sd "$T/syn/ratings.dat")
    awk -v r="$rmse" -v s="$sd" 'BEGIN { exit !(r > 0 && r < s) }' || fail "test RMSE '$rmse' does not beat the sd $sd"
    "$TORCH_PY" tools/torch_autorec.py "${args[@]}" >"$T/t2" 2>&1
    [ "$(grep '^result' "$T/t1" | cut -d' ' -f2)" = "$(grep '^result' "$T/t2" | cut -d' ' -f2)" ] \
        || fail "same seed, different RMSE: $(grep '^result' "$T/t1" "$T/t2")"
    "$TORCH_PY" tools/torch_autorec.py --data "$T/data" --epochs 2 --batch 16 --loader dataloader --eval-batch 7 \
        --no-inference-mode --foreach --last-batch keep >"$T/t3" 2>&1 || fail "other options failed: $(cat "$T/t3")"
    grep -q '^result test_rmse=[0-9.]* epochs=2 ' "$T/t3" || fail "no result line: $(cat "$T/t3")"
    "$TORCH_PY" tools/torch_autorec.py --data "$T/data" --epochs 1 --batch 81 >"$T/t4" 2>&1
    [ $? = 2 ] && grep -q 'batch 81 exceeds the 80 items' "$T/t4" || fail "a batch above the items: $(cat "$T/t4")"
}

# a malformed file is bad data: exit 2 naming the file
test_script_bad_data() {
    have_torch || { skip "$TORCH_PY cannot import torch (python3-torch: bash tools/install_deps.sh --torch)"; return; }
    mkdir -p "$T/bad"
    printf '1\t2\t3\t4\n1\t3\tfive\t4\n' >"$T/bad/u.data"
    "$TORCH_PY" tools/torch_autorec.py --data "$T/bad" >"$T/out" 2>&1
    [ $? = 2 ] || fail "not exit 2: $(cat "$T/out")"
    grep -q "$T/bad/u.data: a field is not a number" "$T/out" || fail "no message: $(cat "$T/out")"
}

# the whole benchmark on the small data set, both shapes, one round
test_bench_runs() {
    have_torch || { skip "$TORCH_PY cannot import torch (python3-torch: bash tools/install_deps.sh --torch)"; return; }
    bash tools/bench_torch.sh --rounds 1 --ml100k "$T/data" --ml1m "$T/data" --epochs-1m 2 --keep "$T/bk1" \
        --torch-args "--hidden 8 --batch 16" --autorec-args "--set model.hidden=8 --set train.batch_size=16" >"$T/out" 2>&1 \
        || { fail "failed: $(cat "$T/out")"; return; }
    grep -Eq '^ml-100k +25 +[0-9.]+ .*x +[0-9.]+ \(sd [0-9.]+\) +[0-9.]+ \(sd' "$T/out" || fail "no ml-100k row: $(cat "$T/out")"
    grep -Eq '^ml-1m +2 +[0-9.]+ .*x ' "$T/out" || fail "no ml-1m row: $(cat "$T/out")"
    # warm-up and one round: two runs of autorec per shape, the timed one seed 1
    [ "$(q "$T/bk1/ml-1m/results.db" "SELECT group_concat(seed || ':' || epochs_done || ':' || status) FROM runs")" = \
      "0:2:finished,1:2:finished" ] || fail "ml-1m runs: $(q "$T/bk1/ml-1m/results.db" 'SELECT * FROM runs')"
    [ "$(wc -l <"$T/bk1/ml-100k/torch.sec")" = 1 ] || fail "not one timed torch run"
}

run_tests cli_torch.sh
