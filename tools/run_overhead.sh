#!/usr/bin/env bash
# run_overhead.sh - the time `autorec run` spends outside its epochs.
# Each round runs every given binary once (the order rotated each round) on
# the same config; for each run: the whole process's wall seconds, the sum
# of its epochs' train and eval seconds (from its database), and their
# difference, the overhead (start-up, data, model, database, checkpoint,
# ranking, exit).  Prints the medians per binary.  With --trace, one more
# run of the first binary under strace shows where the overhead goes, from
# the system calls that mark each phase.  A benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'EOF'
usage: tools/run_overhead.sh [--rounds N] [--bin PATH]... [--config FILE]
                             [--trace] [--keep DIR] [-- KEY=VALUE...]

  --rounds N     rounds (default 7)
  --bin PATH     an autorec binary to time (repeatable: compared side by
                 side, e.g. a build of the previous commit; default ./autorec)
  --config FILE  the config (default configs/seed.yaml)
  --trace        also one run of the first binary under strace -f: the
                 milliseconds between the system calls that mark its phases
  --keep DIR     keep the databases in DIR (default: a temporary directory)
  -- KEY=VALUE   overrides passed to autorec run (e.g. train.threads=1)
The ratings cache is a fresh directory filled by one untimed warm-up run
of each binary.  Exit status: 0 measured, 2 bad usage, 1 a run failed.
EOF
}
die() { echo "run_overhead: $2" >&2; exit "$1"; }

ROUNDS=7 CONFIG=configs/seed.yaml TRACE=0 KEEP= BINS=()
while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --trace) TRACE=1; shift ;;
        --rounds|--bin|--config|--keep)
            [ $# -ge 2 ] || die 2 "$1 needs a value (see --help)"
            case $1 in --rounds) ROUNDS=$2 ;; --bin) BINS+=("$2") ;;
                       --config) CONFIG=$2 ;; --keep) KEEP=$2 ;; esac
            shift 2 ;;
        --) shift; break ;;
        *) die 2 "unknown argument '$1' (see --help)" ;;
    esac
done
SETS=("$@")
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die 2 "--rounds must be a positive integer, not '$ROUNDS'"
[ ${#BINS[@]} -gt 0 ] || BINS=(./autorec)
for b in "${BINS[@]}"; do [ -x "$b" ] || die 2 "no executable $b (build it: make -j2)"; done
[ -f "$CONFIG" ] || die 2 "no config $CONFIG"
if [ "$TRACE" = 1 ]; then command -v strace >/dev/null || die 2 "--trace needs strace (apt-get install strace)"; fi
if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && W=$(cd "$KEEP" && pwd); else
    W=$(mktemp -d); trap 'rm -rf "$W"' EXIT; fi
export AUTOREC_CACHE_DIR="$W/cache"
ARGS=()
for s in ${SETS[@]+"${SETS[@]}"}; do ARGS+=(--set "$s"); done

# one BIN_INDEX: runs binary i once; appends wall, epoch and overhead seconds
one() {
    local i=$1 db="$W/b$1.db" s e ep
    s=$EPOCHREALTIME
    "${BINS[$i]}" run "$CONFIG" --db "$db" --quiet ${ARGS[@]+"${ARGS[@]}"} >"$W/out" 2>&1 \
        || { cat "$W/out" >&2; die 1 "${BINS[$i]} run $CONFIG failed"; }
    e=$EPOCHREALTIME
    ep=$(sqlite3 -batch -noheader "$db" "SELECT sum(train_seconds + eval_seconds) FROM epochs
                                          WHERE run_id = (SELECT max(id) FROM runs)")
    awk -v s="$s" -v e="$e" -v p="$ep" 'BEGIN { printf "%.4f %.4f %.4f\n", e - s, p, e - s - p }' >>"$W/b$i.txt"
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

n=${#BINS[@]}
for i in $(seq 0 $((n - 1))); do one "$i"; : >"$W/b$i.txt"; done   # warm-up
for r in $(seq "$ROUNDS"); do
    for k in $(seq 0 $((n - 1))); do one $(( (k + r) % n )); done
done
echo "autorec run $CONFIG ${SETS[*]}: $ROUNDS rounds, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-40s %10s %10s %12s %14s\n' binary "wall s" "epochs s" "overhead s" "overhead range"
for i in $(seq 0 $((n - 1))); do
    f="$W/b$i.txt"
    printf '%-40s %10.3f %10.3f %12.3f %14s\n' "${BINS[$i]}" "$(cut -d' ' -f1 "$f" | median)" \
        "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)" \
        "$(cut -d' ' -f3 "$f" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f-%.3f", lo, hi }')"
done
echo "(medians; overhead: wall minus the epochs' train + eval seconds recorded in the database)"

[ "$TRACE" = 1 ] || exit 0
strace -f -ttt -o "$W/trace" -e trace=execve,openat,clone3,rename,fsync,fdatasync,exit_group \
    "${BINS[0]}" run "$CONFIG" --db "$W/b0.db" --quiet ${ARGS[@]+"${ARGS[@]}"} >/dev/null 2>&1 \
    || die 1 "the traced run failed"
echo "one run of ${BINS[0]} under strace -f (slower than without), milliseconds between its landmarks:"
awk -v db="$W/b0.db" '
    function mark(name) { if (last) printf "  %-52s %8.1f\n", name, ($2 - last) * 1000; last = $2 }
    !last && /execve\(/ { last = $2; next }
    step == 0 && /openat\(.*\.yaml"/ { mark("exec, dynamic linking, start (to the config)"); step = 1; next }
    step == 1 && /openat\(.*(u\.data|ratings\.(dat|csv)|\.base)"/ { mark("config, threads (to the ratings file)"); step = 2; next }
    step == 2 && index($0, "openat(AT_FDCWD, \"" db "\"") { mark("data, split, matrices, model (to the database)"); step = 3; next }
    step == 3 && /clone3\(/ { mark("database open, run row (to the heartbeat thread)"); step = 4; next }
    step == 4 && /openat\(.*\.ckpt\..*tmp"/ { mark("epochs and their rows (to the checkpoint)"); step = 5; next }
    step == 5 && /rename\(/ { mark("checkpoint written, fsync, rename"); step = 6; next }
    step == 6 && /openat\(.*\/proc\/self\/status"/ { mark("ranking metrics (to the peak memory read)"); step = 7; next }
    /exit_group\(/ { mark("peak memory, end of run, database close"); }
' "$W/trace"
