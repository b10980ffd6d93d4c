#!/usr/bin/env bash
# The dashboard in a real browser: headless Chromium loads every page of
# `autorec serve` over a database made by real runs; the test reads the DOM
# after the scripts ran (--dump-dom) for the runs, the drawn charts (the
# page sets data-ready only after drawing without error; any JavaScript
# error sets data-js-error and fails the test) and saves screenshots in
# build/serve-screens/ (1280x800, and 420 px wide for the narrow layout).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
SHOTS=build/serve-screens
DB="$T/browser.db"

# chrome ARGS...: headless Chromium with a profile of its own, 60 s at most
chrome() {
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --user-data-dir="$T/profile.$RANDOM" --no-first-run \
        --virtual-time-budget=8000 "$@" 2>>"$T/chrome.log"
}

# dom PATH: the DOM of $URL$PATH after its scripts ran, into $T/dom
dom() { chrome --dump-dom "$URL$1" >"$T/dom"; }

# check_js NAME: fails when the page reported a JavaScript error
check_js() {
    grep -q 'data-js-error' "$T/dom" && fail "$1: JavaScript error: $(grep -o 'data-js-error="[^"]*"' "$T/dom")"
    grep -q '<html' "$T/dom" || fail "$1: Chromium returned no DOM: $(tail -3 "$T/chrome.log")"
}

# check_charts NAME N: the page drew N charts (each a canvas with series)
check_charts() {
    grep -q "<html[^>]*data-ready=\"1\"" "$T/dom" || fail "$1: the page never finished drawing (no data-ready)"
    grep -q "<html[^>]*data-charts=\"$2\"" "$T/dom" || fail "$1: expected $2 charts: $(grep -o '<html[^>]*>' "$T/dom")"
    [ "$(grep -o 'data-drawn="[1-9][0-9]*"' "$T/dom" | wc -l)" = "$2" ] || fail "$1: not every chart has series"
    [ "$(grep -o '<canvas' "$T/dom" | wc -l)" -ge "$2" ] || fail "$1: no chart canvas in the DOM"
}

# shot NAME PATH [WxH]: a screenshot of $URL$PATH into $SHOTS/NAME.png
shot() {
    chrome --hide-scrollbars --window-size="${3:-1280,800}" --screenshot="$SHOTS/$1.png" "$URL$2" >/dev/null
    [ -s "$SHOTS/$1.png" ] || fail "$1: no screenshot"
}

setup() {
    mkdir -p "$SHOTS" || return 1
    make_data
    make_real_db "$DB" || return 1
    EXP=$(q "$DB" "SELECT id FROM experiments")
    serve_start "$DB"
}

test_experiments_page() {
    dom /
    check_js experiments
    grep -q "href=\"/runs?experiment=$EXP\"" "$T/dom" || fail "experiments: the grid is not listed"
    grep -q 'href="/runs?plain=small"' "$T/dom" || fail "experiments: the single run is not listed"
    grep -q 'live · updated' "$T/dom" || fail "experiments: the live refresh did not run: $(grep -o 'id="live"[^<]*' "$T/dom")"
    shot experiments /
}

test_runs_page() {
    dom /runs
    check_js runs
    for id in 1 2 3 4 5; do
        grep -q "href=\"/run/$id\">#$id<" "$T/dom" || fail "runs: run $id missing from the DOM"
    done
    grep -q 'live · updated' "$T/dom" || fail "runs: the live refresh did not run"
    shot runs /runs
    shot runs-narrow /runs 420,900
}

test_run_page_draws_its_curves() {
    dom /run/1
    check_js run
    check_charts run 2
    grep -q 'selected epoch' "$T/dom" || fail "run: no selected epoch"
    shot run /run/1
    shot run-narrow /run/1 420,900
    dom /run/5          # no validation, no refit
    check_js run5
    check_charts run5 2
}

test_compare_page_overlays_runs() {
    dom "/compare?ids=1,3,5"
    check_js compare
    check_charts compare 2
    grep -q '#3 test RMSE' "$T/dom" || fail "compare: run 3's series is not in the legend"
    shot compare "/compare?ids=1,3,5"
}

test_grid_heat_map() {
    dom "/grid?experiment=$EXP"
    check_js grid
    [ "$(grep -o 'class="r h[0-9]"' "$T/dom" | wc -l)" = 4 ] || fail "grid: 4 cells expected"
    shot grid "/grid?experiment=$EXP"
}

# The detector itself: a page whose script fails must be caught.
test_a_javascript_error_is_caught() {
    cat >"$T/broken.html" <<HTML
<!DOCTYPE html><html><body><p>broken</p>
<script src="$URL/static/app.js"></script>
<script>window.addEventListener('load', function () { undefinedFunction(); });</script>
</body></html>
HTML
    chrome --allow-file-access-from-files --dump-dom "file://$T/broken.html" >"$T/dom"
    grep -q 'data-js-error="[^"]*undefinedFunction' "$T/dom" || fail "a JavaScript error went unnoticed: $(grep -o '<html[^>]*>' "$T/dom")"
}

# without Chromium every test is counted as skipped, never as passed
if [ -z "$CHROMIUM" ]; then
    n=0
    for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
        echo "SKIP $t: chromium is not installed (tools/install_deps.sh installs Debian's chromium)"
        n=$((n + 1))
    done
    echo "cli_serve_browser: 0 passed, 0 failed, $n skipped"
    exit 0
fi
setup || { echo "cli_serve_browser: setup failed"; echo "cli_serve_browser: 0 passed, 1 failed"; exit 1; }
run_tests cli_serve_browser
rc=$?
serve_stop >/dev/null 2>&1
exit $rc
