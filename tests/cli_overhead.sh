#!/usr/bin/env bash
# Command-line tests of the end of a run, whose checkpoint is written while
# the ranking metrics are computed (recorded as when one followed the
# other), and of tools/run_overhead.sh.
source "$(dirname "$0")/lib.sh"
make_data

# both recorded, the checkpoint loads (recommend) and holds the last epoch
test_checkpoint_and_ranking_recorded() {
    $BIN run "$T/small.yaml" --db "$T/a.db" --quiet >"$T/out" 2>&1 || { fail "run failed: $(cat "$T/out")"; return; }
    [ "$(q "$T/a.db" "SELECT status, checkpoint = '$T/checkpoints/a.db/1.ckpt', ndcg_at_k IS NOT NULL,
                              topn_users > 0 FROM runs")" = "finished|1|1|1" ] \
        || fail "run row: $(q "$T/a.db" 'SELECT status, checkpoint, ndcg_at_k, topn_users FROM runs')"
    $BIN recommend --run 1 --user 1 --top 3 --db "$T/a.db" >"$T/rec" 2>&1 || fail "recommend: $(cat "$T/rec")"
    ls "$T/checkpoints/a.db" >"$T/ls"
    [ "$(cat "$T/ls")" = 1.ckpt ] || fail "files beside the checkpoint: $(cat "$T/ls")"
}

# a checkpoint that cannot be written (its name is taken by a directory):
# the run fails with the checkpoint's message, and no ranking metrics are
# recorded, as when the ranking ran only after a written checkpoint
test_checkpoint_failure_records_no_ranking() {
    mkdir -p "$T/checkpoints/b.db/1.ckpt"
    $BIN run "$T/small.yaml" --db "$T/b.db" --quiet >"$T/out" 2>&1
    [ $? = 1 ] || fail "not exit 1: $(cat "$T/out")"
    grep -q "checkpoint.*1.ckpt" "$T/out" || fail "no checkpoint message: $(cat "$T/out")"
    [ "$(q "$T/b.db" "SELECT status, checkpoint IS NULL, ndcg_at_k IS NULL, error LIKE '%checkpoint%' FROM runs")" \
        = "failed|1|1|1" ] || fail "run row: $(q "$T/b.db" 'SELECT status, checkpoint, ndcg_at_k, error FROM runs')"
    [ "$(q "$T/b.db" 'SELECT count(*) FROM epochs')" = 3 ] || fail "epochs not kept"
    ls -A "$T/checkpoints/b.db" >"$T/ls"
    [ "$(cat "$T/ls")" = 1.ckpt ] || fail "a temporary left behind: $(cat "$T/ls")"
}

# without ranking metrics (eval.top_k: 0) the checkpoint is written alone
test_checkpoint_without_ranking() {
    $BIN run "$T/small.yaml" --db "$T/c.db" --quiet --set eval.top_k=0 >"$T/out" 2>&1 || fail "run failed: $(cat "$T/out")"
    [ "$(q "$T/c.db" "SELECT status, checkpoint IS NOT NULL, ndcg_at_k IS NULL FROM runs")" = "finished|1|1" ] \
        || fail "run row: $(q "$T/c.db" 'SELECT status, checkpoint, ndcg_at_k FROM runs')"
    [ -s "$T/checkpoints/c.db/1.ckpt" ] || fail "no checkpoint file"
}

test_overhead_tool() {
    bash tools/run_overhead.sh --help >"$T/out" 2>&1 || fail "--help: $(cat "$T/out")"
    grep -q '^usage: tools/run_overhead.sh' "$T/out" || fail "no usage line"
    local bad
    for bad in "--rounds 0" "--bin $T/nowhere" "--config $T/nowhere.yaml" "--nonsense" "--rounds"; do
        # shellcheck disable=SC2086
        bash tools/run_overhead.sh $bad >"$T/out" 2>&1
        [ $? = 2 ] || fail "'$bad': not exit 2: $(cat "$T/out")"
        grep -q '^run_overhead: ' "$T/out" || fail "'$bad': no message: $(cat "$T/out")"
    done
    bash tools/run_overhead.sh --rounds 2 --config "$T/small.yaml" --bin ./autorec --bin "$BIN" --keep "$T/ov" \
        -- train.epochs=2 >"$T/out" 2>&1 || { fail "failed: $(cat "$T/out")"; return; }
    [ "$(grep -cE '^\./autorec +[0-9.]+ +[0-9.]+ +-?[0-9.]+ ' "$T/out")" = 2 ] || fail "not two rows: $(cat "$T/out")"
    # a warm-up and two rounds of each binary, 2 epochs each
    [ "$(q "$T/ov/b1.db" "SELECT count(*), sum(epochs_done) FROM runs WHERE status = 'finished'")" = "3|6" ] \
        || fail "runs: $(q "$T/ov/b1.db" 'SELECT id, status, epochs_done FROM runs')"
}

run_tests cli_overhead.sh
