#!/usr/bin/env bash
# bench_torch.sh - autorec against the PyTorch reference (tools/torch_autorec.py),
# whole processes side by side: `./autorec run configs/seed.yaml` against the
# reference on ML-100K, and a 5-epoch run of both on the ML-1M shape.  Each
# round runs autorec and the reference once each, alternating which goes
# first; prints each one's median wall seconds, the ratio of the medians and
# the mean test RMSE each reached (round r uses seed r for both: the same
# split protocol, different random splits).  A benchmark, not a test: it
# asserts nothing about time.  `make bench-torch` installs python3-torch
# first; see docs/performance.md, "Against PyTorch".
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'EOF'
usage: tools/bench_torch.sh [--rounds N] [--shape ml-100k|ml-1m|both]
                            [--ml100k DIR] [--ml1m DIR] [--epochs-1m N]
                            [--torch-args ARGS] [--autorec-args ARGS]
                            [--python PATH] [--settings] [--keep DIR]

Times whole processes, alternating autorec and the PyTorch reference, after
one untimed warm-up of each (page cache, autorec's ratings cache, Python's
bytecode): medians over N rounds, the speed-up (reference median / autorec
median) and each side's mean test RMSE over the rounds (seed r in round r).

  --rounds N        timed rounds (default 5)
  --shape S         ml-100k (configs/seed.yaml, 25 epochs), ml-1m (the same
                    config on the ML-1M shape, --epochs-1m epochs) or both
                    (default both)
  --ml100k DIR      ML-100K directory (default data/ml-100k: make data)
  --ml1m DIR        a directory holding an ML-1M-format ratings.dat (default
                    data/synth-ml1m, written by `./autorec synth --shape
                    ml-1m` when it has no ratings.dat)
  --epochs-1m N     epochs on the ML-1M shape (default 5)
  --torch-args A    extra options of tools/torch_autorec.py (default none:
                    its defaults are the fastest setting measured here)
  --autorec-args A  extra arguments of autorec run (e.g. train.threads=1)
  --python PATH     the Python with torch (default $TORCH_PYTHON, else
                    /usr/bin/python3: Debian's python3-torch)
  --settings        instead: time the reference's settings against each
                    other on ML-100K (threads 1 and 2, evaluation batch,
                    no_grad, DataLoader, foreach Adam), whole processes,
                    alternating, medians
  --keep DIR        keep the databases and outputs in DIR (default: a
                    temporary directory, removed)

exit status: 0 measured, 2 bad usage or a missing input, 3 the Python
cannot import torch (nothing measured: install python3-torch, e.g.
`bash tools/install_deps.sh --torch`, or use `make bench-torch`), 1 a run
failed (its output is printed).
EOF
}

die() { echo "bench_torch: $2" >&2; exit "$1"; }

ROUNDS=5 SHAPE=both ML100K=data/ml-100k ML1M= EPOCHS_1M=5 TORCH_ARGS= AUTOREC_ARGS=
PY=${TORCH_PYTHON:-/usr/bin/python3} SETTINGS=0 KEEP=
while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --settings) SETTINGS=1; shift; continue ;;
        --rounds|--shape|--ml100k|--ml1m|--epochs-1m|--torch-args|--autorec-args|--python|--keep)
            [ $# -ge 2 ] || die 2 "$1 needs a value (see --help)" ;;
        *) die 2 "unknown argument '$1' (see --help)" ;;
    esac
    case $1 in
        --rounds) ROUNDS=$2 ;;
        --shape) SHAPE=$2 ;;
        --ml100k) ML100K=$2 ;;
        --ml1m) ML1M=$2 ;;
        --epochs-1m) EPOCHS_1M=$2 ;;
        --torch-args) TORCH_ARGS=$2 ;;
        --autorec-args) AUTOREC_ARGS=$2 ;;
        --python) PY=$2 ;;
        --keep) KEEP=$2 ;;
    esac
    shift 2
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die 2 "--rounds must be a positive integer, not '$ROUNDS'"
[[ $EPOCHS_1M =~ ^[1-9][0-9]*$ ]] || die 2 "--epochs-1m must be a positive integer, not '$EPOCHS_1M'"
case $SHAPE in ml-100k|ml-1m|both) ;; *) die 2 "--shape must be ml-100k, ml-1m or both, not '$SHAPE'" ;; esac
BIN=./autorec
[ -x "$BIN" ] || die 2 "no ./autorec: build it first (make -j2)"
if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
    die 3 "$PY cannot import torch and numpy: nothing measured; install Debian's python3-torch (bash tools/install_deps.sh --torch, or make bench-torch) or give --python"
fi
if [ "$SHAPE" != ml-1m ] || [ "$SETTINGS" = 1 ]; then
    [ -f "$ML100K/u.data" ] || die 2 "no $ML100K/u.data: run make data or give --ml100k DIR"
fi

if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && W=$(cd "$KEEP" && pwd); else
    W=$(mktemp -d); trap 'rm -rf "$W"' EXIT; fi
export AUTOREC_CACHE_DIR="$W/cache"   # filled by the warm-up run
read -r -a TARGS <<<"$TORCH_ARGS"
read -r -a AARGS <<<"$AUTOREC_ARGS"

# timed OUT CMD...: runs CMD with stdout and stderr to OUT; appends its wall
# seconds to OUT.sec; on failure prints OUT and exits 1.
timed() {
    local out=$1 s e; shift
    s=$EPOCHREALTIME
    if ! "$@" >"$out" 2>&1; then
        echo "bench_torch: failed: $*" >&2; cat "$out" >&2; exit 1
    fi
    e=$EPOCHREALTIME
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }' >>"$out.sec"
}
median() { sort -g "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mean_sd() { awk '{ s += $1; q += $1 * $1; n++ } END { m = s / n; v = (n > 1) ? (q - n * m * m) / (n - 1) : 0;
                   printf "%.4f (sd %.4f)", m, (v > 0) ? sqrt(v) : 0 }' "$1"; }
range() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
torch_rmse() { sed -n 's/^result test_rmse=\([^ ]*\).*/\1/p' "$1"; }
autorec_rmse() { sqlite3 -batch -noheader "$1" 'SELECT final_test_rmse FROM runs ORDER BY id DESC LIMIT 1'; }

# compare LABEL DATA FORMAT EPOCHS: the alternating rounds of one shape.
compare() {
    local label=$1 data=$2 fmt=$3 epochs=$4 d="$W/$1" r
    mkdir -p "$d"
    local arun=("$BIN" run configs/seed.yaml --db "$d/results.db" --set "data.path=$data"
                --set "data.format=$fmt" --set "train.epochs=$epochs" "${AARGS[@]}")
    local trun=("$PY" tools/torch_autorec.py --data "$data" --format "$fmt" --epochs "$epochs" "${TARGS[@]}")
    timed "$d/warm-autorec" "${arun[@]}" --set train.seed=0
    timed "$d/warm-torch" "${trun[@]}" --seed 0
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then
            timed "$d/autorec" "${arun[@]}" --set "train.seed=$r"; autorec_rmse "$d/results.db" >>"$d/autorec.rmse"
            timed "$d/torch" "${trun[@]}" --seed "$r"; torch_rmse "$d/torch" >>"$d/torch.rmse"
        else
            timed "$d/torch" "${trun[@]}" --seed "$r"; torch_rmse "$d/torch" >>"$d/torch.rmse"
            timed "$d/autorec" "${arun[@]}" --set "train.seed=$r"; autorec_rmse "$d/results.db" >>"$d/autorec.rmse"
        fi
    done
    local am tm
    am=$(median "$d/autorec.sec"); tm=$(median "$d/torch.sec")
    printf '%-8s %6s %9.3f %11s %9.3f %11s %8.1fx   %s   %s\n' "$label" "$epochs" \
        "$am" "$(range "$d/autorec.sec")" "$tm" "$(range "$d/torch.sec")" \
        "$(awk -v a="$am" -v t="$tm" 'BEGIN { print t / a }')" \
        "$(mean_sd "$d/autorec.rmse")" "$(mean_sd "$d/torch.rmse")"
}

# The reference's settings against each other (whole processes, ML-100K).
if [ "$SETTINGS" = 1 ]; then
    names=("threads 1 (default)" "threads 2" "threads 2, OMP_WAIT_POLICY=passive"
           "eval batch 1024 (the notebook)" "torch.no_grad" "DataLoader" "Adam foreach")
    envs=("" "" "OMP_WAIT_POLICY=passive" "" "" "" "")
    opts=("--threads 1" "--threads 2" "--threads 2" "--eval-batch 1024" "--no-inference-mode"
          "--loader dataloader" "--foreach")
    echo "torch_autorec.py settings, ML-100K, 25 epochs, $ROUNDS rounds (order rotated each round), median whole-process seconds:"
    timed "$W/warm" "$PY" tools/torch_autorec.py --data "$ML100K" --epochs 1
    for r in $(seq "$ROUNDS"); do
        for k in $(seq 0 $((${#names[@]} - 1))); do
            i=$(( (k + r) % ${#names[@]} ))
            read -r -a o <<<"${opts[$i]}"
            timed "$W/setting$i" env ${envs[$i]} "$PY" tools/torch_autorec.py --data "$ML100K" "${o[@]}"
        done
    done
    for i in $(seq 0 $((${#names[@]} - 1))); do
        printf '  %-36s %8.3f s  (%s)  test RMSE %s\n' "${names[$i]}" "$(median "$W/setting$i.sec")" \
            "$(range "$W/setting$i.sec")" "$(torch_rmse "$W/setting$i")"
    done
    exit 0
fi

if [ "$SHAPE" != ml-100k ] && [ -z "$ML1M" ]; then
    ML1M=data/synth-ml1m
    if [ ! -f "$ML1M/ratings.dat" ]; then
        echo "bench_torch: writing the ML-1M shape to $ML1M (autorec synth --shape ml-1m)"
        "$BIN" synth --shape ml-1m -o "$ML1M" >/dev/null || die 1 "autorec synth --shape ml-1m -o $ML1M failed"
    fi
fi
[ "$SHAPE" = ml-100k ] || [ -f "$ML1M/ratings.dat" ] || die 2 "no $ML1M/ratings.dat: give --ml1m DIR holding an ML-1M-format ratings.dat"

echo "autorec vs the PyTorch reference: whole processes, $ROUNDS rounds alternating (after one warm-up each), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  autorec: $BIN run configs/seed.yaml ${AUTOREC_ARGS}; reference: $PY tools/torch_autorec.py ${TORCH_ARGS}"
printf '%-8s %6s %9s %11s %9s %11s %9s   %-20s   %s\n' shape epochs "autorec s" range "torch s" range \
    speed-up "autorec test RMSE" "torch test RMSE"
if [ "$SHAPE" != ml-1m ]; then compare ml-100k "$ML100K" ml-100k 25; fi
if [ "$SHAPE" != ml-100k ]; then compare ml-1m "$ML1M" ml-1m "$EPOCHS_1M"; fi
echo "(seconds: median wall of the whole process; speed-up: torch median / autorec median; test RMSE: mean (sd) over the rounds' seeds 1..$ROUNDS; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
