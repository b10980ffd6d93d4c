#!/usr/bin/env bash
# Command-line tests of weight averaging (train.ema), ranking metrics
# (eval.top_k) and ensembles (an ensemble: section) on the small synthetic
# data set of lib.sh, split into u1.base / u1.test.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# $T/data: make_data's ratings split into u1.base / u1.test by (u + i) % 7,
# a copy $T/bad with the test ratings replaced (poisoned: 1 <-> 5, 2 <-> 4)
# and $T/ens.yaml: three members (the base, another width and seed, the
# user variant) with a validation split and a refit.
make_ens() {
    make_data
    awk -F'\t' '($1 + $2) % 7 == 0' "$T/data/u.data" > "$T/data/u1.test"
    awk -F'\t' '($1 + $2) % 7 != 0' "$T/data/u.data" > "$T/data/u1.base"
    mkdir -p "$T/bad"
    cp "$T/data/u1.base" "$T/bad/u1.base"
    awk -F'\t' -v OFS='\t' '{ $3 = 6 - $3; print }' "$T/data/u1.test" > "$T/bad/u1.test"
    cp "$T/data/u.data" "$T/bad/u.data"
    cat > "$T/ens.yaml" <<YAML
name: ens
data:
  path: $T/data
  split: {kind: files, train_file: u1.base, test_file: u1.test, validation_ratio: 0.2}
model: {hidden: 12, dropout: 0.1}
train: {epochs: 6, batch_size: 16, lr: 0.01, weight_decay: 0, seed: 3, threads: 1, refit: true}
eval: {clip: [1, 5], top_k: 5}
ensemble:
  weights: simplex
  members:
    - {}
    - {model.hidden: 20, train.seed: 4}
    - {model.variant: user, train.batch_size: 8}
YAML
}

test_ensemble_run() {
    make_ens
    $BIN run "$T/ens.yaml" --db "$T/e.db" > "$T/out" 2>"$T/err" || { fail "run failed: $(cat "$T/err")"; return; }
    grep -q "^ensemble run 1: weights (simplex, fitted on validation) m1 " "$T/out" || fail "no ensemble line: $(cat "$T/out")"
    [ "$(q "$T/e.db" "SELECT count(*) FROM runs WHERE member_key IS NOT NULL AND status = 'finished' AND result_test_rmse IS NULL AND selected_test_rmse > 0 AND refit_test_rmse > 0")" = 3 ] \
        || fail "members: $(q "$T/e.db" 'SELECT id, name, member_key, result_test_rmse FROM runs')"
    [ "$(q "$T/e.db" "SELECT count(*) FROM runs WHERE id = 1 AND ensemble_size = 3 AND result_test_rmse = refit_test_rmse AND selected_val_rmse > 0 AND ndcg_at_k >= 0 AND topn_users > 0")" = 1 ] \
        || fail "ensemble row: $(q "$T/e.db" 'SELECT * FROM runs WHERE id = 1')"
    [ "$(q "$T/e.db" "SELECT count(*), round(sum(weight), 9), min(weight) >= 0 FROM ensemble_members WHERE ensemble_run = 1")" = "3|1.0|1" ] \
        || fail "weights: $(q "$T/e.db" 'SELECT * FROM ensemble_members')"
    # the blend: the weighted sum of the members' stored test predictions
    # (refit models), clipped to [1, 5], against u1.test
    local rmse
    rmse=$(q "$T/e.db" "SELECT result_test_rmse FROM runs WHERE id = 1")
    [ -n "$rmse" ] || fail "no result"
    $BIN show 1 --db "$T/e.db" > "$T/show" || fail "show failed"
    grep -q "^ensemble    members" "$T/show" && grep -q "^  m3   run 4 .* m3 variant=user batch_size=8$" "$T/show" \
        || fail "show lacks the members: $(cat "$T/show")"
    $BIN ls --db "$T/e.db" --columns id,name,members,result --format csv > "$T/ls" || fail "ls failed"
    grep -q "^1,ens,3,[0-9.]*$" "$T/ls" && grep -q "^2,ens.m1,,$" "$T/ls" || fail "ls: $(cat "$T/ls")"
    $BIN recommend --run 1 --user 3 --top 4 --db "$T/e.db" > "$T/rec" 2>"$T/rerr" \
        || fail "recommend of the ensemble failed: $(cat "$T/rerr")"
    [ "$(wc -l < "$T/rec")" = 4 ] && grep -q "ensemble of 3 runs" "$T/rerr" || fail "recommend: $(cat "$T/rec" "$T/rerr")"
    # again: the members are reused, a second ensemble run with the same figures
    $BIN run "$T/ens.yaml" --db "$T/e.db" > "$T/out2" 2>&1 || fail "rerun failed: $(cat "$T/out2")"
    [ "$(grep -c "reused" "$T/out2")" = 3 ] || fail "members not reused: $(cat "$T/out2")"
    [ "$(q "$T/e.db" "SELECT count(*) FROM runs")" = 5 ] || fail "rerun trained again"
    [ "$(q "$T/e.db" "SELECT count(DISTINCT result_test_rmse) FROM runs WHERE ensemble_size = 3")" = 1 ] \
        || fail "the rerun blends differently"
}

# Selection never reads the test set: the same ensemble on the same
# training file with the test ratings poisoned chooses the same epochs and
# weights (every member's and the ensemble's), with other test RMSEs.
test_ensemble_weights_never_read_test() {
    make_ens
    sed "s|path: $T/data|path: $T/bad|" "$T/ens.yaml" > "$T/bad.yaml"
    printf '    - {train.ema: 0.5}\n' >> "$T/ens.yaml"
    printf '    - {train.ema: 0.5}\n' >> "$T/bad.yaml"
    printf '    - {train.swa_start: 3}\n' | tee -a "$T/ens.yaml" >> "$T/bad.yaml"
    # a select: member: the same candidate chosen, by the same figures
    printf '    - {model.hidden: 16, select: {model.dropout: [0, 0.2, 0.4], train.l2: [0, 1]}}\n' | tee -a "$T/ens.yaml" >> "$T/bad.yaml"
    $BIN run "$T/ens.yaml" --db "$T/a.db" --quiet > /dev/null 2>&1 || { fail "clean run failed"; return; }
    $BIN run "$T/bad.yaml" --db "$T/b.db" --quiet > /dev/null 2>&1 || { fail "poisoned run failed"; return; }
    local sel="SELECT group_concat(coalesce(selected_epoch, '-') || '/' || coalesce(selected_val_rmse, '-') || '/' || coalesce(selected_weights, '-') || '/' || coalesce(refit_epochs, '-'), ' ') FROM runs ORDER BY id"
    [ "$(q "$T/a.db" "$sel")" = "$(q "$T/b.db" "$sel")" ] \
        || fail "selection moved with the test ratings: $(q "$T/a.db" "$sel") vs $(q "$T/b.db" "$sel")"
    # the averages' (ema, swa_start) validation figures, epoch by epoch
    local avg="SELECT group_concat(run_id || ':' || epoch || ':' || coalesce(ema_val_rmse, '-'), ' ') FROM (SELECT * FROM epochs ORDER BY run_id, epoch)"
    [ "$(q "$T/a.db" "$avg")" = "$(q "$T/b.db" "$avg")" ] \
        || fail "the averages' validation RMSE moved: $(q "$T/a.db" "$avg") vs $(q "$T/b.db" "$avg")"
    local w="SELECT group_concat(weight, ' ') FROM ensemble_members ORDER BY position"
    [ "$(q "$T/a.db" "$w")" = "$(q "$T/b.db" "$w")" ] || fail "weights moved: $(q "$T/a.db" "$w") vs $(q "$T/b.db" "$w")"
    local c="SELECT group_concat(candidate || '/' || candidate_run || '/' || val_rmse || '/' || chosen, ' ') FROM ensemble_candidates ORDER BY position, candidate"
    [ "$(q "$T/a.db" "SELECT count(*), sum(chosen) FROM ensemble_candidates")" = "6|1" ] && [ "$(q "$T/a.db" "$c")" = "$(q "$T/b.db" "$c")" ] \
        || fail "the candidates' choice moved with the test ratings: $(q "$T/a.db" "$c") vs $(q "$T/b.db" "$c")"
    [ "$(q "$T/a.db" "SELECT result_test_rmse FROM runs WHERE id = 1")" != "$(q "$T/b.db" "SELECT result_test_rmse FROM runs WHERE id = 1")" ] \
        || fail "the poisoned test set gave the same test RMSE"
    [ "$(q "$T/a.db" "SELECT count(*) FROM epochs e JOIN runs r ON r.id = e.run_id WHERE r.ema = 0.5 AND e.ema_val_rmse > 0 AND e.ema_test_rmse > 0")" = 6 ] \
        || fail "the ema member lacks the average's RMSE per epoch"
}

# A select: member: every candidate trained as a member run (reused by
# key on a rerun and by an ensemble sharing candidates), the one with the
# lowest selected_val_rmse (ties: the first) chosen per split and blended;
# ensemble_candidates records them, show lists them, --val-only prints no
# test figure.
test_ensemble_select() {
    make_ens
    sed 's/    - {model.hidden: 20, train.seed: 4}/    - {model.hidden: 20, select: {train.l2: [0, 0.5], model.dropout: [0.1, 0.3]}}/' \
        "$T/ens.yaml" > "$T/sel.yaml"
    $BIN run "$T/sel.yaml" --db "$T/sel.db" > "$T/out" 2>"$T/err" || { fail "run failed: $(cat "$T/err")"; return; }
    grep -q "^  member m2 hidden=20 select l2=0|0.5 dropout=0.1|0.3: chose m2 hidden=20 l2=[0-9.]* dropout=0.[13] by validation RMSE (" "$T/out" \
        || fail "no choice line: $(cat "$T/out")"
    [ "$(q "$T/sel.db" "SELECT count(*) FROM runs WHERE member_key IS NOT NULL AND status = 'finished'")" = 6 ] \
        || fail "2 members + 4 candidates expected: $(q "$T/sel.db" 'SELECT id, name, member_key FROM runs')"
    [ "$(q "$T/sel.db" "SELECT count(*), sum(chosen), count(DISTINCT candidate_run) FROM ensemble_candidates WHERE ensemble_run = 1 AND position = 2")" = "4|1|4" ] \
        || fail "candidate rows: $(q "$T/sel.db" 'SELECT * FROM ensemble_candidates')"
    # the chosen one: the lowest validation RMSE of the candidates' runs,
    # the member row points at it
    local best
    best=$(q "$T/sel.db" "SELECT c.candidate_run FROM ensemble_candidates c JOIN runs r ON r.id = c.candidate_run WHERE c.val_rmse = r.selected_val_rmse ORDER BY c.val_rmse, c.candidate LIMIT 1")
    [ -n "$best" ] && [ "$(q "$T/sel.db" "SELECT candidate_run FROM ensemble_candidates WHERE chosen")" = "$best" ] \
        || fail "not the lowest validation RMSE: $(q "$T/sel.db" 'SELECT * FROM ensemble_candidates')"
    [ "$(q "$T/sel.db" "SELECT member_run FROM ensemble_members WHERE ensemble_run = 1 AND position = 2")" = "$best" ] \
        || fail "the member row is not the chosen candidate: $(q "$T/sel.db" 'SELECT * FROM ensemble_members')"
    [ "$(q "$T/sel.db" "SELECT count(DISTINCT r.l2 || '/' || r.dropout) FROM ensemble_candidates c JOIN runs r ON r.id = c.candidate_run WHERE r.hidden = 20")" = 4 ] \
        || fail "the candidates do not span the grid"
    $BIN show 1 --db "$T/sel.db" > "$T/show" || fail "show failed"
    grep -q "^candidates  " "$T/show" && [ "$(grep -c "^  m2 .* run [0-9]* *validation RMSE [0-9.]*  m2 hidden=20 l2=" "$T/show")" = 4 ] \
        && [ "$(grep -c "^  m2    [0-9]\* run" "$T/show")" = 1 ] || fail "show lacks the candidates: $(cat "$T/show")"
    # a rerun with --val-only: every candidate reused, the same choice, no test figure
    $BIN run "$T/sel.yaml" --db "$T/sel.db" --val-only > "$T/out2" 2>&1 || fail "rerun failed: $(cat "$T/out2")"
    [ "$(grep -c "reused" "$T/out2")" = 6 ] || fail "candidates not reused: $(cat "$T/out2")"
    grep -qi "test" "$T/out2" && fail "--val-only printed a test figure: $(cat "$T/out2")"
    grep -q "^ensemble run 8: weights (simplex, fitted on validation) .*; validation RMSE [0-9.]*$" "$T/out2" || fail "rerun line: $(cat "$T/out2")"
    [ "$(q "$T/sel.db" "SELECT count(DISTINCT candidate_run) FROM ensemble_candidates WHERE chosen")" = 1 ] || fail "the rerun chose another candidate"
    sed '/^ensemble:/,$d' "$T/ens.yaml" > "$T/one.yaml"
    $BIN run "$T/one.yaml" --db "$T/sel.db" --val-only > /dev/null 2>"$T/err"; [ $? = 2 ] || fail "--val-only of a plain run: not exit 2"
    grep -q "val-only applies to ensemble configs" "$T/err" || fail "message: $(cat "$T/err")"
}

# select: errors name the file, line and column before anything is written.
test_ensemble_select_errors() {
    make_ens
    local m='    - {model.hidden: 20, train.seed: 4}' x
    for x in "{select: {model.dropout: [0.1, 0.2, 0.3, 0.4, 0.5], train.l2: [1, 2, 3, 4]}}|more than 16 candidates" \
             "{model.dropout: 0.2, select: {model.dropout: [0.1, 0.3]}}|model.dropout is also set in the member" \
             "{select: {model.dropout: [0.1]}, model.dropout: 0.2}|model.dropout is also in the member's select" \
             "{select: {data.split.validation_ratio: [0.1, 0.2]}}|the candidates share the ensemble's name and split" \
             "{select: {model.dropout: 0.3}}|expected a list of candidate values" \
             "{select: {model.dropout: [0.1, 7]}}|model.dropout" \
             "{select: {model.dropout: []}}|no candidate values" \
             "{select: [0.1]}|select: expected a mapping"; do
        sed "s/^$m\$/    - ${x%%|*}/" "$T/ens.yaml" > "$T/x.yaml"
        $BIN run "$T/x.yaml" --db "$T/selx.db" > /dev/null 2>"$T/err"; [ $? = 2 ] || fail "${x%%|*}: not exit 2"
        grep -q "x.yaml:[0-9]*:[0-9]*: ensemble.members\[2\].*${x#*|}" "$T/err" || fail "${x%%|*}: message: $(cat "$T/err")"
    done
    sed "s/^$m\$/    - {select: {model.dropout: [0.1, 0.3]}}/; s/validation_ratio: 0.2/validation_ratio: 0/; s/weights: simplex/weights: mean/; s/refit: true/refit: false/" "$T/ens.yaml" > "$T/x.yaml"
    $BIN run "$T/x.yaml" --db "$T/selx.db" > /dev/null 2>"$T/err"; [ $? = 2 ] || fail "select: without validation: not exit 2"
    grep -q "select: chooses each member's candidate by validation RMSE" "$T/err" || fail "no-validation message: $(cat "$T/err")"
    [ ! -e "$T/selx.db" ] || fail "a refused config created the database"
}

test_ensemble_splits_and_summary() {
    make_ens
    sed -e 's/kind: files, train_file: u1.base, test_file: u1.test,/kind: random, repeats: 2,/' \
        "$T/ens.yaml" > "$T/rep.yaml"
    $BIN run "$T/rep.yaml" --db "$T/r.db" > "$T/out" 2>&1 || { fail "run failed: $(cat "$T/out")"; return; }
    [ "$(q "$T/r.db" "SELECT count(*) FROM runs WHERE ensemble_size = 3 AND experiment IS NOT NULL AND split_index IN (0, 1)")" = 2 ] \
        || fail "two ensemble runs expected: $(q "$T/r.db" 'SELECT id, name, experiment, grid_point, ensemble_size FROM runs')"
    [ "$(q "$T/r.db" "SELECT count(*) FROM runs WHERE member_key IS NOT NULL")" = 6 ] || fail "six members expected"
    # the reported figure is the mean of result_test_rmse over the finished runs
    [ "$(q "$T/r.db" "SELECT printf('%.6f', avg(result_test_rmse)) FROM runs WHERE status = 'finished'")" = \
      "$(q "$T/r.db" "SELECT printf('%.6f', refit_test_mean) FROM split_summaries")" ] \
        || fail "summary mean differs from the mean of result_test_rmse"
    $BIN summary --db "$T/r.db" > "$T/sum" || fail "summary failed"
    grep -q "^ens-[0-9a-f]*  .* 2/2 .*result RMSE\|^ens-" "$T/sum" && grep -q "NDCG@K" "$T/sum" || fail "summary: $(cat "$T/sum")"
    # a rerun resumes: nothing left to do
    $BIN run "$T/rep.yaml" --db "$T/r.db" > "$T/out2" 2>&1 || fail "rerun failed"
    [ "$(q "$T/r.db" "SELECT count(*) FROM runs")" = 8 ] || fail "rerun added runs"
}

# autorec merge of an ensemble experiment's database into one holding
# other runs (so every run id moves): the ensembles' member rows point at
# the merged member runs, the members' stored predictions come along, the
# merged ensemble ranks as the shard's, a second merge changes nothing, and
# a newer shard row of an ensemble run replaces its member rows.
test_merge_copies_ensembles() {
    make_ens
    sed -e 's/kind: files, train_file: u1.base, test_file: u1.test,/kind: random, repeats: 2,/' \
        "$T/ens.yaml" > "$T/rep.yaml"
    sed '/^ensemble:/,$d' "$T/ens.yaml" > "$T/one.yaml"
    $BIN run "$T/rep.yaml" --db "$T/s.db" > /dev/null 2>&1 || { fail "ensemble run failed"; return; }
    $BIN run "$T/one.yaml" --db "$T/m.db" > /dev/null 2>&1 || { fail "plain run failed"; return; }
    $BIN merge "$T/s.db" --into "$T/m.db" > "$T/out" 2>&1 || { fail "merge failed: $(cat "$T/out")"; return; }
    grep -q "^1 shard merged into .*: 8 runs new, 0 replaced, 0 kept, [0-9]* epochs copied, 6 ensemble member rows, 6 run predictions$" "$T/out" \
        || fail "merge output: $(cat "$T/out")"
    local mem="SELECT group_concat(x, ' ') FROM (SELECT r.split_index || '/' || e.position || '/' || e.label || '/' || m.name || '/' || m.split_index || '/' || m.member_key || '/' || e.weight AS x FROM ensemble_members e JOIN runs r ON r.id = e.ensemble_run JOIN runs m ON m.id = e.member_run ORDER BY r.split_index, e.position)"
    local pred="SELECT group_concat(x, ' ') FROM (SELECT m.member_key || '/' || p.pairs_key || '/' || hex(p.val) || '/' || hex(p.test) || '/' || hex(p.refit) AS x FROM run_predictions p JOIN runs m ON m.id = p.run_id ORDER BY m.member_key)"
    [ "$(q "$T/m.db" "SELECT count(*) FROM ensemble_members")" = 6 ] && [ "$(q "$T/m.db" "$mem")" = "$(q "$T/s.db" "$mem")" ] \
        || fail "member rows not remapped: $(q "$T/m.db" 'SELECT * FROM ensemble_members')"
    [ "$(q "$T/m.db" "SELECT count(*) FROM run_predictions")" = 6 ] && [ "$(q "$T/m.db" "$pred")" = "$(q "$T/s.db" "$pred")" ] \
        || fail "predictions not copied: $(q "$T/m.db" 'SELECT run_id, pairs_key FROM run_predictions')"
    local sid mid
    sid=$(q "$T/s.db" "SELECT id FROM runs WHERE ensemble_size = 3 AND split_index = 1")
    mid=$(q "$T/m.db" "SELECT id FROM runs WHERE ensemble_size = 3 AND split_index = 1")
    [ "$sid" != "$mid" ] || fail "the run ids did not move: the test proves nothing"
    $BIN recommend --run "$sid" --user 3 --top 4 --db "$T/s.db" > "$T/rs" 2>/dev/null || fail "recommend in the shard failed"
    $BIN recommend --run "$mid" --user 3 --top 4 --db "$T/m.db" > "$T/rm" 2>"$T/err" || fail "recommend of the merged ensemble failed: $(cat "$T/err")"
    cmp -s "$T/rs" "$T/rm" || fail "the merged ensemble ranks differently: $(cat "$T/rs" "$T/rm")"
    $BIN merge "$T/s.db" --into "$T/m.db" > "$T/out" 2>&1 || fail "second merge failed"
    grep -q ": 0 runs new, 0 replaced, 8 kept, 0 epochs copied$" "$T/out" || fail "second merge output: $(cat "$T/out")"
    # an older attempt in the target (interrupted, other weights): replaced
    q "$T/m.db" "UPDATE runs SET status = 'interrupted' WHERE id = $mid; UPDATE ensemble_members SET weight = 9 WHERE ensemble_run = $mid" > /dev/null
    $BIN merge "$T/s.db" --into "$T/m.db" > "$T/out" 2>&1 || fail "third merge failed"
    grep -q ": 0 runs new, 1 replaced, 7 kept, 0 epochs copied, 3 ensemble member rows, 0 run predictions$" "$T/out" \
        || fail "third merge output: $(cat "$T/out")"
    [ "$(q "$T/m.db" "SELECT count(*) FROM ensemble_members")" = 6 ] && [ "$(q "$T/m.db" "$mem")" = "$(q "$T/s.db" "$mem")" ] \
        || fail "replaced member rows: $(q "$T/m.db" 'SELECT * FROM ensemble_members')"
}

# autorec merge of an ensemble with a select: member into a database
# holding another run (so every run id moves): its candidate rows point at
# the merged candidate runs, the chosen one at the member's run.
test_merge_copies_candidates() {
    make_ens
    sed 's/    - {model.hidden: 20, train.seed: 4}/    - {model.hidden: 20, select: {model.dropout: [0.1, 0.3]}}/' \
        "$T/ens.yaml" > "$T/sel.yaml"
    sed '/^ensemble:/,$d' "$T/ens.yaml" > "$T/one.yaml"
    $BIN run "$T/sel.yaml" --db "$T/cs.db" > /dev/null 2>&1 || { fail "ensemble run failed"; return; }
    $BIN run "$T/one.yaml" --db "$T/cm.db" > /dev/null 2>&1 || { fail "plain run failed"; return; }
    $BIN merge "$T/cs.db" --into "$T/cm.db" > "$T/out" 2>&1 || { fail "merge failed: $(cat "$T/out")"; return; }
    local c="SELECT group_concat(x, ' ') FROM (SELECT c.position || '/' || c.candidate || '/' || c.label || '/' || c.val_rmse || '/' || c.chosen || '/' || m.member_key || '/' || m.selected_val_rmse || '/' || r.name AS x FROM ensemble_candidates c JOIN runs m ON m.id = c.candidate_run JOIN runs r ON r.id = c.ensemble_run ORDER BY c.position, c.candidate)"
    [ "$(q "$T/cm.db" "SELECT count(*) FROM ensemble_candidates")" = 2 ] && [ "$(q "$T/cm.db" "$c")" = "$(q "$T/cs.db" "$c")" ] \
        || fail "candidate rows not remapped: $(q "$T/cm.db" 'SELECT * FROM ensemble_candidates')"
    [ "$(q "$T/cm.db" "SELECT count(*) FROM ensemble_candidates c JOIN ensemble_members e ON e.ensemble_run = c.ensemble_run AND e.position = c.position AND e.member_run = c.candidate_run WHERE c.chosen")" = 1 ] \
        || fail "the chosen candidate is not the merged member"
    [ "$(q "$T/cm.db" "SELECT min(candidate_run) FROM ensemble_candidates")" != "$(q "$T/cs.db" "SELECT min(candidate_run) FROM ensemble_candidates")" ] \
        || fail "the run ids did not move: the test proves nothing"
}

test_ensemble_errors() {
    make_ens
    sed 's/    - {model.hidden: 20, train.seed: 4}/    - {data.split.validation_ratio: 0.3}/' "$T/ens.yaml" > "$T/x.yaml"
    $BIN run "$T/x.yaml" --db "$T/x.db" > /dev/null 2>"$T/err"; [ $? = 2 ] || fail "a member's data key: not exit 2"
    grep -q "ensemble.members\[2\]: data.split.validation_ratio: the members share" "$T/err" || fail "message: $(cat "$T/err")"
    sed 's/    - {model.hidden: 20, train.seed: 4}/    - {model.hiden: 20}/' "$T/ens.yaml" > "$T/x.yaml"
    $BIN run "$T/x.yaml" --db "$T/x.db" > /dev/null 2>"$T/err"; [ $? = 2 ] || fail "unknown key: not exit 2"
    grep -q "x.yaml:[0-9]*:[0-9]*: ensemble.members\[2\]" "$T/err" || fail "unknown key message: $(cat "$T/err")"
    sed 's/validation_ratio: 0.2/validation_ratio: 0/; s/refit: true/refit: false/' "$T/ens.yaml" > "$T/x.yaml"
    $BIN run "$T/x.yaml" --db "$T/x.db" > /dev/null 2>"$T/err"; [ $? = 2 ] || fail "no validation: not exit 2"
    grep -q "fits the weights on the validation split" "$T/err" || fail "no-validation message: $(cat "$T/err")"
    $BIN grid "$T/ens.yaml" --db "$T/x.db" > /dev/null 2>"$T/err"; [ $? = 2 ] || fail "grid of an ensemble: not exit 2"
    grep -q "ensemble: is read only by \`autorec run\`" "$T/err" || fail "grid message: $(cat "$T/err")"
    [ ! -e "$T/x.db" ] || fail "a refused config created the database"
    $BIN run "$T/ens.yaml" --db "$T/x.db" --set ensemble.weights=median > /dev/null 2>"$T/err"; [ $? = 2 ] || fail "bad weights: not exit 2"
}

# A plain run records the ranking metrics of its result model, and per
# epoch with eval.top_k_every; train.ema adds the average's RMSE per epoch.
test_ranking_and_ema_columns() {
    make_ens
    sed '/^ensemble:/,$d' "$T/ens.yaml" > "$T/one.yaml"
    $BIN run "$T/one.yaml" --db "$T/o.db" --set eval.top_k_every=2 --set train.ema=0.7 > "$T/out" 2>&1 \
        || { fail "run failed: $(cat "$T/out")"; return; }
    grep -q "^epoch   1/6 .* val RMSE [0-9.]*.\? ema [0-9.]*" "$T/out" || fail "no ema in the epoch lines: $(cat "$T/out")"
    [ "$(q "$T/o.db" "SELECT count(*) FROM epochs WHERE ndcg_at_k IS NOT NULL AND precision_at_k BETWEEN 0 AND 1 AND hit_rate_at_k BETWEEN 0 AND 1")" = 3 ] \
        || fail "per-epoch ranking: $(q "$T/o.db" 'SELECT epoch, ndcg_at_k FROM epochs')"
    [ "$(q "$T/o.db" "SELECT count(*) FROM runs WHERE top_k = 5 AND relevant_min = 4 AND ndcg_at_k BETWEEN 0 AND 1 AND recall_at_k BETWEEN 0 AND 1 AND topn_users > 0 AND selected_weights IN ('raw', 'ema')")" = 1 ] \
        || fail "run ranking columns: $(q "$T/o.db" 'SELECT * FROM run_summary')"
    $BIN show 1 --db "$T/o.db" > "$T/show" || fail "show failed"
    grep -q "EMA val RMSE  EMA test RMSE" "$T/show" && grep -q "NDCG@K" "$T/show" || fail "show: $(cat "$T/show")"
    $BIN ls --db "$T/o.db" --where "ndcg_at_k > 0 and ema = 0.7" --columns id,ndcg,precision,recall,hit_rate > "$T/ls" \
        || fail "ls --where on the new columns failed"
    [ "$(wc -l < "$T/ls")" = 2 ] || fail "ls: $(cat "$T/ls")"
}

# train.swa_start: the mean is evaluated from its first epoch on (the
# epochs before have no average), the selection may take it, and a bad
# start or one beside train.ema is refused before anything is written.
test_swa_start() {
    make_ens
    sed '/^ensemble:/,$d' "$T/ens.yaml" > "$T/one.yaml"
    $BIN run "$T/one.yaml" --db "$T/w.db" --set train.swa_start=4 > "$T/out" 2>&1 \
        || { fail "run failed: $(cat "$T/out")"; return; }
    [ "$(q "$T/w.db" "SELECT group_concat(epoch || ':' || (ema_val_rmse IS NOT NULL) || (ema_test_rmse IS NOT NULL), ' ') FROM (SELECT * FROM epochs ORDER BY epoch)")" = "1:00 2:00 3:00 4:11 5:11 6:11" ] \
        || fail "average per epoch: $(q "$T/w.db" 'SELECT epoch, ema_val_rmse, ema_test_rmse FROM epochs')"
    [ "$(q "$T/w.db" "SELECT count(*) FROM runs WHERE selected_weights IN ('raw', 'ema') AND refit_test_rmse > 0")" = 1 ] \
        || fail "selection: $(q "$T/w.db" 'SELECT selected_weights, refit_test_rmse FROM runs')"
    # the mean of the steps of epoch 4 alone differs from the last step's weights
    [ "$(q "$T/w.db" "SELECT ema_val_rmse != val_rmse FROM epochs WHERE epoch = 4")" = 1 ] || fail "the mean equals the raw weights"
    $BIN run "$T/one.yaml" --db "$T/x.db" --set train.swa_start=7 > /dev/null 2>"$T/err"; [ $? = 2 ] || fail "swa_start after the last epoch: not exit 2"
    grep -q "train.swa_start: 7 is after the last epoch (train.epochs 6)" "$T/err" || fail "message: $(cat "$T/err")"
    $BIN run "$T/one.yaml" --db "$T/x.db" --set train.swa_start=2 --set train.ema=0.5 > /dev/null 2>"$T/err"; [ $? = 2 ] || fail "swa_start with ema: not exit 2"
    grep -q "train.swa_start: 2 and train.ema: 0.5 both average" "$T/err" || fail "message: $(cat "$T/err")"
    [ ! -e "$T/x.db" ] || fail "a refused config created the database"
}

run_tests cli_ensemble
