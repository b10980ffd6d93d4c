#!/usr/bin/env bash
# Documentation tests: the generated references in docs/ are what the code
# prints now (tools/gen_docs.sh --check), `run --help` lists every config
# key, every relative link and anchor in the Markdown files resolves, the
# docs index lists every page, and the README stays short with the quick
# start on its first screen.
source "$(dirname "$0")/lib.sh"

# The repository's own files (the SAN=1 tree links only tests/, configs/,
# tools/ and data/ beside its binary).
ROOT=$(cd tests && pwd -P)/..
README_MAX_WORDS=2500
FIRST_SCREEN=40   # lines of the README a newcomer sees first

# The Markdown files whose links are checked.
md_files() {
    local f
    for f in "$ROOT/README.md" "$ROOT"/docs/*.md "$ROOT/tests/README.md"; do
        [ -f "$f" ] && echo "$f"
    done
}

# md_links FILE: the target of every Markdown link and image of FILE
# outside fenced code blocks, one per line.
md_links() {
    awk '/^```/ { code = !code; next }
         !code { line = $0
                 while (match(line, /\]\([^) ]+\)/)) {
                     print substr(line, RSTART + 2, RLENGTH - 3)
                     line = substr(line, RSTART + RLENGTH)
                 } }' "$1"
}

# md_anchors FILE: the anchor GitHub gives each heading of FILE (lower
# case, punctuation dropped, spaces to hyphens, -1, -2 ... for repeats).
md_anchors() {
    awk '/^```/ { code = !code; next }
         !code && /^#+ / { h = $0; sub(/^#+ +/, "", h); h = tolower(h)
                 gsub(/[^a-z0-9 _-]/, "", h); gsub(/ /, "-", h)
                 print (seen[h]++ ? h "-" seen[h] - 1 : h) }' "$1"
}

test_config_keys_doc_is_current() {
    bash tools/gen_docs.sh --check --bin "$BIN" config-keys.md >"$T/out" 2>&1 \
        || fail "$(cat "$T/out")"
}

test_schema_doc_is_current() {
    bash tools/gen_docs.sh --check --bin "$BIN" schema.md >"$T/out" 2>&1 \
        || fail "$(cat "$T/out")"
}

# The check fails, naming the file and the fix, when a generated file
# differs from the code's output (here: a copy with one cell changed).
test_drift_is_caught() {
    mkdir -p "$T/docs"
    sed 's/| `25` |/| `26` |/' "$ROOT/docs/config-keys.md" >"$T/docs/config-keys.md"
    cmp -s "$T/docs/config-keys.md" "$ROOT/docs/config-keys.md" \
        && { fail "the copy of config-keys.md was not changed (no train.epochs default 25?)"; return; }
    bash tools/gen_docs.sh --check --bin "$BIN" --docs "$T/docs" config-keys.md >"$T/out" 2>&1
    [ $? -eq 1 ] || fail "a changed config-keys.md passed the check"
    grep -qF 'docs/config-keys.md differs from `autorec help config --markdown`: run make docs' "$T/out" \
        || fail "no clear message: $(cat "$T/out")"
}

# make docs writes what the check compares with, through -o.
test_gen_docs_writes_the_files() {
    mkdir -p "$T/gen"
    bash tools/gen_docs.sh --bin "$BIN" --docs "$T/gen" >"$T/out" 2>&1 || { fail "$(cat "$T/out")"; return; }
    cmp -s "$T/gen/config-keys.md" "$ROOT/docs/config-keys.md" || fail "config-keys.md written differs"
    cmp -s "$T/gen/schema.md" "$ROOT/docs/schema.md" || fail "schema.md written differs"
    bash tools/gen_docs.sh --bin "$BIN" --docs "$T/gen" nonsense.md >"$T/out" 2>&1
    [ $? -eq 2 ] || fail "an unknown file name was accepted"
}

# Every key of the table (the rows of the reference) is listed by run --help
# with its default.
test_run_help_lists_every_key() {
    $BIN run --help >"$T/help" || { fail "run --help failed"; return; }
    $BIN help config --markdown >"$T/keys.md" || { fail "help config failed"; return; }
    sed -n 's/^| `\([^`]*\)` | .* | `\([^`]*\)` | .*/\1=\2/p' "$T/keys.md" >"$T/keys"
    [ "$(wc -l <"$T/keys")" -ge 40 ] || { fail "only $(wc -l <"$T/keys") keys in help config"; return; }
    local kv
    while IFS= read -r kv; do
        grep -qF "  $kv " "$T/help" || fail "run --help lacks $kv"
    done <"$T/keys"
}

test_help_errors() {
    $BIN help config --bogus >"$T/out" 2>"$T/err"
    [ $? -eq 2 ] || fail "an unknown option should exit 2"
    grep -q "unknown option '--bogus'" "$T/err" || fail "no message: $(cat "$T/err")"
    TMPDIR="$T/missing" $BIN help schema >"$T/out" 2>"$T/err"
    [ $? -eq 1 ] || fail "no temporary directory should exit 1"
    grep -q "set TMPDIR to a writable directory" "$T/err" || fail "no advice: $(cat "$T/err")"
    [ ! -s "$T/out" ] || fail "output despite the failure: $(head -3 "$T/out")"
    $BIN help schema -o "$T/missing/schema.md" >"$T/out" 2>"$T/err"
    [ $? -eq 1 ] || fail "-o into a missing directory should exit 1"
    $BIN help schema --markdown -o "$T/schema.md" || fail "-o failed"
    cmp -s "$T/schema.md" "$ROOT/docs/schema.md" || fail "-o wrote something else than docs/schema.md"
    $BIN help nosuchtopic >"$T/out" 2>"$T/err"
    [ $? -eq 2 ] || fail "an unknown topic should exit 2"
    grep -q "unknown topic 'nosuchtopic'" "$T/err" || fail "unknown topic message: $(cat "$T/err")"
    $BIN help config schema >"$T/out" 2>"$T/err"
    [ $? -eq 2 ] || fail "two topics should exit 2"
    $BIN help ls >"$T/out" 2>"$T/err" || fail "help ls failed"
    grep -q '^usage: autorec ls' "$T/out" || fail "help ls is not ls's usage: $(head -2 "$T/out")"
}

# Every relative link points to an existing file, and an #anchor to a
# heading of that file.
test_relative_links_resolve() {
    local f target path anchor n=0
    while IFS= read -r f; do
        md_links "$f" >"$T/links"
        while IFS= read -r target; do
            case $target in http://*|https://*|mailto:*) continue ;; esac
            n=$((n + 1))
            path=${target%%#*}
            anchor=; [ "$path" != "$target" ] && anchor=${target#*#}
            if [ -z "$path" ]; then path=$f; else path=$(dirname "$f")/$path; fi
            if [ ! -e "$path" ]; then
                fail "${f#"$ROOT"/}: link to $target: no such file"; continue
            fi
            if [ -n "$anchor" ]; then
                md_anchors "$path" >"$T/anchors"
                grep -qxF -- "$anchor" "$T/anchors" \
                    || fail "${f#"$ROOT"/}: link to $target: no heading #$anchor in $(basename "$path")"
            fi
        done <"$T/links"
    done < <(md_files)
    [ $n -ge 50 ] || fail "only $n relative links found: is md_links broken?"
}

# The link checker itself catches a missing file and a missing anchor.
test_link_check_can_fail() {
    printf '# Title\n\n[a](nowhere.md) [b](#no-such-heading) [c](#title)\n' >"$T/x.md"
    md_links "$T/x.md" >"$T/links"
    [ "$(tr '\n' ' ' <"$T/links")" = "nowhere.md #no-such-heading #title " ] \
        || fail "links found: $(cat "$T/links")"
    md_anchors "$T/x.md" >"$T/anchors"
    [ "$(cat "$T/anchors")" = title ] || fail "anchors: $(cat "$T/anchors")"
    printf '## Checkpoints off: `train.checkpoint: false`\n## View `run_summary`\n' >"$T/y.md"
    md_anchors "$T/y.md" >"$T/anchors"
    [ "$(tr '\n' ' ' <"$T/anchors")" = "checkpoints-off-traincheckpoint-false view-run_summary " ] \
        || fail "anchors: $(cat "$T/anchors")"
}

test_docs_index_lists_every_page() {
    local f
    for f in "$ROOT"/docs/*.md; do
        [ "$(basename "$f")" = README.md ] && continue
        grep -qF "]($(basename "$f"))" "$ROOT/docs/README.md" \
            || fail "docs/README.md does not list $(basename "$f")"
    done
    grep -qF "](../tests/README.md)" "$ROOT/docs/README.md" || fail "docs/README.md does not list tests/README.md"
}

test_readme_is_short() {
    local words
    words=$(wc -w <"$ROOT/README.md")
    [ "$words" -le $README_MAX_WORDS ] \
        || fail "README.md has $words words, more than $README_MAX_WORDS: move detail to docs/"
}

# A newcomer finds how to run, test and query on the first screen.
test_readme_first_screen() {
    head -n $FIRST_SCREEN "$ROOT/README.md" >"$T/screen"
    local want
    for want in "make run" "make test" "./autorec ls"; do
        grep -qF "$want" "$T/screen" || fail "README.md: no '$want' in the first $FIRST_SCREEN lines"
    done
}

run_tests cli_docs
