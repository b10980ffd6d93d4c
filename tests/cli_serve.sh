#!/usr/bin/env bash
# HTTP-level tests of `autorec serve` (curl): every page and endpoint on a
# database made by real runs, hostile strings escaped in HTML and JSON, bad
# parameters (400 with a message), unknown runs (404), the database left
# byte-identical, a grid running while the dashboard polls, clean stops.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"

DB="$T/serve.db"
EXP=
HOSTILE='<script>alert("x")</script> & "q" '"'"'s'

setup() {
    make_data
    make_real_db "$DB" || return 1
    EXP=$(q "$DB" "SELECT id FROM experiments")
    # hostile strings where users put text: a data path, config values, an
    # error text, a config name
    sqlite3 -batch "$DB" >/dev/null <<SQL || return 1
UPDATE runs SET data_path = '$(sed "s/'/''/g" <<<"$HOSTILE")' WHERE id = 1;
UPDATE runs SET config_yaml = config_yaml || '# $(sed "s/'/''/g" <<<"$HOSTILE")', optimizer = '<b>adam</b>&amp;' WHERE id = 2;
UPDATE runs SET error = 'failed: $(sed "s/'/''/g" <<<"$HOSTILE")', status = 'failed' WHERE id = 4;
UPDATE runs SET name = '$(sed "s/'/''/g" <<<"$HOSTILE")' WHERE id = 5;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
    DB_SUM=$(sha256sum <"$DB")
    serve_start "$DB"
}

test_every_page_and_endpoint() {
    local p code
    for p in / /runs "/runs?experiment=$EXP" /run/1 /run/5 "/compare?ids=1,2,5" \
             "/grid?experiment=$EXP" /static/app.js /static/style.css \
             /static/dygraph.min.js /static/dygraph.min.css; do
        code=$(get "$p")
        [ "$code" = 200 ] || fail "$p: HTTP $code: $(head -c 300 "$T/body")"
    done
    get / >/dev/null
    grep -q "href=\"/runs?experiment=$EXP\"" "$T/body" || fail "experiments page lacks the grid"
    grep -q "href=\"/grid?experiment=$EXP\"" "$T/body" || fail "experiments page lacks the heat map link"
    get /runs >/dev/null
    for id in 1 2 3 4 5; do
        grep -q "href=\"/run/$id\">#$id<" "$T/body" || fail "runs page lacks run $id"
    done
    grep -q 'class="st-failed"' "$T/body" || fail "runs page: the failed run has no status colour"
    get /run/1 >/dev/null
    grep -q 'data-chart="loss" data-runs="1"' "$T/body" || fail "run page lacks its loss chart"
    grep -q '<tr class="sel" title="selected epoch">' "$T/body" || fail "run page does not mark the selected epoch"
    grep -q 'id="refit-epochs"' "$T/body" || fail "run page lacks the refit epochs"
    get "/compare?ids=1,2,5" >/dev/null
    grep -q '<th>hidden</th><td>8</td><td>8</td><td>16</td>' "$T/body" || fail "compare lacks the differing hidden"
    grep -q 'data-runs="1,2,5"' "$T/body" || fail "compare lacks the overlaid chart"
    get "/compare?id=1&id=3" >/dev/null
    grep -q 'data-runs="1,3"' "$T/body" || fail "compare with repeated id= (the runs page's form)"
    get "/grid?experiment=$EXP" >/dev/null
    [ "$(grep -o 'class="r h[0-9]"' "$T/body" | wc -l)" = 3 ] || fail "heat map: expected 3 finished cells (run 4 failed): $(grep -o 'class="r h[0-9]"' "$T/body")"
}

test_json_api() {
    [ "$(get /api/experiments)" = 200 ] || fail "/api/experiments"
    [ "$(json_valid "$T/body")" = 1 ] || fail "/api/experiments is not JSON"
    [ "$(json_get "$T/body" '$.experiments[1].id')" = "$EXP" ] || fail "/api/experiments lacks the grid: $(cat "$T/body")"
    [ "$(json_get "$T/body" '$.experiments[1].finished')" = 3 ] || fail "/api/experiments: finished count"
    [ "$(json_get "$T/body" '$.experiments[1].failed')" = 1 ] || fail "/api/experiments: failed count"
    local best
    best=$(q "$DB" "SELECT min(coalesce(refit_test_rmse, selected_test_rmse, final_test_rmse)) FROM runs WHERE experiment = '$EXP' AND status = 'finished'")
    [ "$(json_get "$T/body" '$.experiments[1].best_result_test_rmse')" = "$best" ] || fail "/api/experiments: best result"
    [ "$(get '/api/runs?sort=-id&limit=2')" = 200 ] || fail "/api/runs"
    [ "$(json_valid "$T/body")" = 1 ] || fail "/api/runs is not JSON"
    [ "$(json_get "$T/body" '$.total')" = 5 ] || fail "/api/runs total"
    [ "$(json_get "$T/body" '$.runs[0].id'),$(json_get "$T/body" '$.runs[1].id')" = 5,4 ] || fail "/api/runs sort/limit"
    get '/api/runs?limit=2&offset=4' >/dev/null
    [ "$(sqlite3 -batch -noheader :memory: "SELECT json_array_length(readfile('$T/body'), '\$.runs')")" = 1 ] || fail "offset 4 of 5 gives one run"
    get "/api/runs?where=hidden%20%3D%208%20and%20lr%20%3E%200.005" >/dev/null
    [ "$(json_get "$T/body" '$.total'),$(json_get "$T/body" '$.runs[0].id')" = 1,1 ] || fail "where filter: $(head -c 200 "$T/body")"
    local r1
    r1=$(q "$DB" "SELECT coalesce(refit_test_rmse, selected_test_rmse, final_test_rmse) FROM runs WHERE id = 1")
    get /api/runs/1 >/dev/null
    [ "$(json_valid "$T/body")" = 1 ] || fail "/api/runs/1 is not JSON"
    [ "$(json_get "$T/body" '$.result_test_rmse')" = "$r1" ] || fail "/api/runs/1 result_test_rmse"
    [ -n "$(json_get "$T/body" '$.config_yaml')" ] || fail "/api/runs/1 lacks its config"
    get /api/runs/1/epochs >/dev/null
    [ "$(json_valid "$T/body")" = 1 ] || fail "/api/runs/1/epochs is not JSON"
    [ "$(sqlite3 -batch -noheader :memory: "SELECT json_array_length(readfile('$T/body'), '\$.epochs')")" = 4 ] || fail "4 epochs"
    [ "$(json_get "$T/body" '$.selected_epoch')" = "$(q "$DB" 'SELECT selected_epoch FROM runs WHERE id = 1')" ] || fail "selected epoch"
    [ "$(json_get "$T/body" '$.epochs[2].val_rmse')" = "$(q "$DB" 'SELECT val_rmse FROM epochs WHERE run_id = 1 AND epoch = 3')" ] || fail "epoch 3 val_rmse"
    [ "$(sqlite3 -batch -noheader :memory: "SELECT json_array_length(readfile('$T/body'), '\$.refit_epochs')")" = "$(q "$DB" 'SELECT refit_epochs FROM runs WHERE id = 1')" ] || fail "refit epochs"
}

test_hostile_strings_are_escaped() {
    local p
    for p in / /runs /run/1 /run/2 /run/4 /run/5 "/compare?ids=1,2,4,5"; do
        get "$p" >/dev/null
        grep -q '<script>alert' "$T/body" && fail "$p: a stored <script> reached the page unescaped"
        grep -q '<b>adam' "$T/body" && fail "$p: stored <b> unescaped"
        grep -q '"q" ' "$T/body" && fail "$p: a stored quote unescaped"
    done
    get /run/1 >/dev/null
    grep -qF '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;q&quot; &#39;s' "$T/body" || fail "run 1: the data path is not shown escaped"
    get /run/4 >/dev/null
    grep -qF 'failed: &lt;script&gt;alert(&quot;x&quot;)' "$T/body" || fail "run 4: the error text is not shown escaped"
    get /run/2 >/dev/null
    grep -qF '# &lt;script&gt;alert' "$T/body" || fail "run 2: the config is not shown escaped"
    get / >/dev/null
    grep -qF 'plain=%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E%20%26%20%22q%22%20%27s' "$T/body" || fail "experiments: the hostile name is not URL-encoded in its link"
    # and that link selects exactly the single run of that name
    get "/api/runs?plain=%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E%20%26%20%22q%22%20%27s" >/dev/null
    [ "$(json_get "$T/body" '$.total'),$(json_get "$T/body" '$.runs[0].id')" = 1,5 ] || fail "plain=NAME: $(head -c 200 "$T/body")"
    get /api/runs/1 >/dev/null
    grep -q '<' "$T/body" && fail "/api/runs/1: a raw < in the JSON"
    [ "$(json_get "$T/body" '$.data_path')" = "$HOSTILE" ] || fail "/api/runs/1: data_path does not decode to the stored text"
    get /api/runs/4 >/dev/null
    [ "$(json_get "$T/body" '$.error')" = "failed: $HOSTILE" ] || fail "/api/runs/4: error text"
    # the filter echoed back in the form, escaped
    get "/runs?where=name%20%3D%20%27%3Cscript%3E%27" >/dev/null
    grep -qF 'value="name = &#39;&lt;script&gt;&#39;"' "$T/body" || fail "the filter is not echoed escaped"
    get "/runs?where=%3Cscript%3E" >/dev/null
    grep -q '<script>' "$T/body" && fail "a bad filter's message echoes <script> unescaped"
}

test_bad_parameters_400() {
    local code
    code=$(get "/runs?where=hidden%20%3E")
    [ "$code" = 400 ] || fail "/runs bad filter: HTTP $code"
    grep -q 'id="error">--where: expected a value' "$T/body" || fail "/runs bad filter message: $(grep -o 'id="error">[^<]*' "$T/body")"
    code=$(get "/api/runs?where=hidden%20%3D%201%3B%20DROP%20TABLE%20runs")
    [ "$code" = 400 ] || fail "/api/runs injection: HTTP $code"
    [ "$(json_get "$T/body" '$.status')" = 400 ] || fail "error JSON status"
    json_get "$T/body" '$.error' | grep -q "^--where: " || fail "injection message: $(cat "$T/body")"
    [ "$(q "$DB" 'SELECT count(*) FROM runs')" = 5 ] || fail "runs table damaged"
    code=$(get "/api/runs?where=nokey%20%3D%201"); [ "$code" = 400 ] || fail "unknown key: $code"
    json_get "$T/body" '$.error' | grep -q "unknown key 'nokey'" || fail "unknown key message: $(cat "$T/body")"
    code=$(get "/api/runs?sort=nokey"); [ "$code" = 400 ] || fail "bad sort: $code"
    code=$(get "/api/runs?limit=0"); [ "$code" = 400 ] || fail "limit 0: $code"
    json_get "$T/body" '$.error' | grep -q "limit: '0' is not an integer in 1..1000" || fail "limit message: $(cat "$T/body")"
    code=$(get "/api/runs?limit=5000"); [ "$code" = 400 ] || fail "limit 5000: $code"
    code=$(get "/api/runs?offset=-1"); [ "$code" = 400 ] || fail "offset -1: $code"
    code=$(get "/api/runs?status=done"); [ "$code" = 400 ] || fail "bad status: $code"
    code=$(get "/api/experiments?limit=x"); [ "$code" = 400 ] || fail "experiments limit: $code"
    code=$(get "/compare?ids=1"); [ "$code" = 400 ] || fail "compare 1 run: $code"
    grep -q 'compare takes 2 to 8 run ids' "$T/body" || fail "compare message"
    code=$(get "/compare?ids=1,2,3,4,5,1,2,3,4"); [ "$code" = 400 ] || fail "compare 9 runs: $code"
    code=$(get "/compare?ids=1,x"); [ "$code" = 400 ] || fail "compare x: $code"
    code=$(get "/grid"); [ "$code" = 400 ] || fail "grid without experiment: $code"
    code=$(get "/grid?experiment=$EXP&x=model.hidden&y=model.hidden"); [ "$code" = 400 ] || fail "grid same axes: $code"
    code=$(get "/grid?experiment=$EXP&x=seed"); [ "$code" = 400 ] || fail "grid non-axis: $code"
    code=$(get "/run/abc"); [ "$code" = 400 ] || fail "/run/abc: $code"
    code=$(get "/api/runs/abc"); [ "$code" = 400 ] || fail "/api/runs/abc: $code"
    # DNS rebinding: another site's name resolved to 127.0.0.1
    code=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Host: evil.example:8080' "$URL/api/runs"); [ "$code" = 403 ] || fail "foreign Host: $code"
    json_get "$T/body" '$.error' | grep -q "answers only requests for localhost" || fail "foreign Host message: $(cat "$T/body")"
    code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Host: localhost:${URL##*:}" "$URL/api/runs"); [ "$code" = 200 ] || fail "Host localhost: $code"
    code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST -d 'x=1' "$URL/api/runs"); [ "$code" = 405 ] || fail "POST: $code"
}

test_unknown_404() {
    local p code
    for p in /run/999 /api/runs/999 /api/runs/999/epochs "/compare?ids=1,999" \
             "/grid?experiment=nope" /nope /api/nope /static/nope.js; do
        code=$(get "$p")
        [ "$code" = 404 ] || fail "$p: HTTP $code, expected 404"
    done
    get /api/runs/999 >/dev/null
    [ "$(json_get "$T/body" '$.error')" = "no run 999 (see /api/runs)" ] || fail "404 JSON message: $(cat "$T/body")"
    get /run/999 >/dev/null
    grep -q 'no run 999 in this database' "$T/body" || fail "404 page message"
}

test_pagination_and_sort_links() {
    get "/runs?limit=2&sort=-id" >/dev/null
    grep -q 'runs 1&ndash;2 of 5' "$T/body" || fail "page count: $(grep -o 'id="count">[^<]*' "$T/body")"
    grep -qF 'rel="next" href="/runs?sort=-id&amp;limit=2&amp;offset=2"' "$T/body" || fail "next link: $(grep -o 'rel="next"[^>]*' "$T/body")"
    grep -qF 'href="/runs?limit=2&amp;sort=result">result RMSE' "$T/body" || fail "sort link of the result column"
    get "/runs?limit=2&sort=-id&offset=2" >/dev/null
    grep -q 'href="/run/3">#3<' "$T/body" && grep -q 'href="/run/2">#2<' "$T/body" || fail "second page"
    grep -q 'href="/run/5"' "$T/body" && fail "second page shows run 5"
    grep -qF 'rel="prev"' "$T/body" || fail "no previous link"
}

# the experiments page is paged like the runs page: a 10,000-experiment
# database is never rendered whole
test_experiments_page_is_paged() {
    local total
    total=$(q "$DB" "SELECT (SELECT count(*) FROM experiments) + (SELECT count(DISTINCT name) FROM runs WHERE experiment IS NULL)")
    [ "$total" -ge 2 ] || { fail "fixture has $total experiments, need 2"; return; }
    get "/?limit=1" >/dev/null
    grep -q "experiments 1&ndash;1 of $total" "$T/body" || fail "count line: $(grep -o 'id="count">[^<]*' "$T/body")"
    [ "$(grep -c '<tr><td><a href="/runs?' "$T/body")" = 1 ] || fail "limit=1 shows $(grep -c '<tr><td><a href="/runs?' "$T/body") rows"
    grep -qF 'rel="next" href="/?limit=1&amp;offset=1"' "$T/body" || fail "next link: $(grep -o 'rel="next"[^>]*' "$T/body")"
    grep -qF 'rel="prev"' "$T/body" && fail "first page has a previous link"
    get "/?limit=1&offset=$((total - 1))" >/dev/null
    grep -q "experiments $total&ndash;$total of $total" "$T/body" || fail "last page count: $(grep -o 'id="count">[^<]*' "$T/body")"
    grep -qF 'rel="next"' "$T/body" && fail "last page has a next link"
    grep -qF 'rel="prev"' "$T/body" || fail "last page has no previous link"
    local code
    code=$(get "/?limit=0"); [ "$code" = 400 ] || fail "/?limit=0: HTTP $code"
    grep -q "limit: &#39;0&#39; is not an integer in 1..1000" "$T/body" || fail "/?limit=0 message: $(grep -o 'id="error">[^<]*' "$T/body")"
}

test_starts_local_only() {
    grep -q '^autorec serve: listening on 127.0.0.1 only' "$SERVE_OUT" || fail "no local-only notice: $(cat "$SERVE_OUT")"
    [[ "$URL" == http://127.0.0.1:* ]] || fail "URL $URL"
    $BIN serve --db "$DB" --port abc >"$T/o" 2>&1; [ $? = 2 ] || fail "--port abc: not a usage error"
    $BIN serve --db "$T/none.db" --port 0 >"$T/o" 2>&1; [ $? = 1 ] || fail "missing db: status"
    grep -q "cannot open $T/none.db" "$T/o" || fail "missing db message: $(cat "$T/o")"
    [ ! -e "$T/none.db" ] || fail "serve created a missing database"
}

# Every stop signal (src/stop.h) ends it cleanly: SIGINT and SIGTERM, and
# SIGHUP (a closed terminal) too.
test_stops_cleanly_on_sigint_and_sigterm() {
    local pid rc
    for sig in INT TERM HUP; do
        rm -f "$T/s.out"
        $BIN serve --db "$DB" --port 0 >"$T/s.out" 2>&1 &
        pid=$!
        for _ in $(seq 100); do grep -q 'http://' "$T/s.out" && break; sleep 0.1; done
        kill -$sig $pid
        wait $pid; rc=$?
        [ $rc = 0 ] || fail "SIG$sig: exit status $rc"
        grep -q "^autorec serve: stopped (SIG$sig)" "$T/s.out" || fail "SIG$sig: $(cat "$T/s.out")"
    done
}

# A grid trains (two worker processes) while the dashboard is polled: both
# finish, every point and epoch is recorded, nothing says "locked".
test_grid_while_polling() {
    local db="$T/live.db" gpid polls=0 bad=0 code
    make_grid_config 1500    # each epoch is a write transaction
    sed -i 's/hidden: \[8, 16\]/hidden: [8, 16, 24]/' "$T/grid.yaml"
    $BIN grid "$T/grid.yaml" --db "$db" --workers 2 >"$T/live.out" 2>&1 &
    gpid=$!
    for _ in $(seq 600); do [ "$(q "$db" 'SELECT count(*) FROM epochs' 2>/dev/null)" -ge 1 ] 2>/dev/null && break; sleep 0.1; done
    local save_url=$URL save_pid=$SERVE_PID
    serve_start "$db" || { fail "serve on the live database"; kill $gpid; wait $gpid; return; }
    while kill -0 $gpid 2>/dev/null; do
        for p in /api/runs /api/experiments /runs /run/1 /api/runs/1/epochs; do
            code=$(get "$p")
            polls=$((polls + 1))
            [ "$code" = 200 ] || { bad=$((bad + 1)); echo "    poll $p: HTTP $code $(head -c 200 "$T/body")"; }
        done
    done
    wait $gpid; local grc=$?
    serve_stop || fail "serve exit status after the grid"
    [ $grc = 0 ] || fail "grid failed ($grc): $(tail -5 "$T/live.out")"
    echo "    $polls requests answered while the grid ran ($bad failed)"
    [ $polls -ge 10 ] || fail "only $polls polls while the grid ran"
    [ $bad = 0 ] || fail "$bad of $polls polls failed"
    [ "$(q "$db" "SELECT count(*) FROM runs WHERE status = 'finished'")" = 6 ] || fail "not all 6 points finished"
    [ "$(q "$db" 'SELECT count(*) FROM epochs')" = 9000 ] || fail "epochs lost: $(q "$db" 'SELECT count(*) FROM epochs') of 9000"
    grep -qi 'locked\|busy' "$T/live.out" "$SERVE_OUT" "$SERVE_OUT.err" && fail "a database lock was reported"
    URL=$save_url SERVE_PID=$save_pid
}

# last (tests run in name order): nothing above wrote to the database
test_zz_database_byte_identical() {
    [ "$(sha256sum <"$DB")" = "$DB_SUM" ] || fail "the database file changed while browsing"
    [ ! -s "$DB-wal" ] || fail "the dashboard wrote to the WAL ($(stat -c %s "$DB-wal") bytes)"
}

setup || { echo "cli_serve: setup failed"; echo "cli_serve: 0 passed, 1 failed"; exit 1; }
run_tests cli_serve
rc=$?
serve_stop >/dev/null 2>&1
exit $rc
