# serve_lib.sh - helpers of the dashboard tests (cli_serve.sh,
# cli_serve_browser.sh); sourced after lib.sh.

# Writes $T/grid.yaml: a 2 x 2 grid (hidden x lr) with a validation split
# and refit, on make_data's data set; $1 epochs (default 4).
make_grid_config() {
    sed -e "s/epochs: 3/epochs: ${1:-4}/" -e 's/test_ratio: 0.1/test_ratio: 0.1\n    validation_ratio: 0.1/' \
        -e 's/^  threads: 2/  threads: 1\n  refit: true/' "$T/small.yaml" >"$T/grid.yaml"
    printf 'grid:\n  model.hidden: [8, 16]\n  train.lr: [0.01, 0.003]\n' >>"$T/grid.yaml"
}

# Creates the database $1 from real runs: the grid (runs 1-4) and one
# single run of config "small" (run 5, no validation).
make_real_db() {
    make_grid_config 4
    $BIN grid "$T/grid.yaml" --db "$1" >"$T/grid.out" 2>&1 || { cat "$T/grid.out"; return 1; }
    $BIN run "$T/small.yaml" --db "$1" --quiet >/dev/null 2>&1 || return 1
}

# Starts `autorec serve --db $1 --port 0` in the background (more
# arguments are passed on); sets SERVE_PID and URL (http://127.0.0.1:N).
serve_start() {
    local out="$T/serve.$RANDOM.out"
    $BIN serve --db "$@" --port 0 >"$out" 2>"$out.err" &
    SERVE_PID=$!
    SERVE_OUT=$out
    URL=
    for _ in $(seq 100); do
        URL=$(grep -o 'http://[^ ]*/' "$out" 2>/dev/null | head -n 1); URL=${URL%/}
        [ -n "$URL" ] && return 0
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "serve did not start: $(cat "$out" "$out.err" 2>/dev/null)"
    return 1
}

# Stops the server started last (SIGTERM) and waits for it; returns its
# exit status.
serve_stop() {
    kill -TERM "$SERVE_PID" 2>/dev/null
    wait "$SERVE_PID"
}

# get PATH: the body of $URL$PATH into $T/body; prints the HTTP status.
get() {
    curl -s -o "$T/body" -w '%{http_code}' "$URL$1"
}

# jq-less JSON: json_get FILE PATH prints json_extract(FILE's text, PATH)
# (SQLite's JSON functions); json_valid FILE prints 1 when FILE is JSON.
json_get() { sqlite3 -batch -noheader :memory: "SELECT json_extract(readfile('$1'), '$2')"; }
json_valid() { sqlite3 -batch -noheader :memory: "SELECT json_valid(readfile('$1'))"; }
