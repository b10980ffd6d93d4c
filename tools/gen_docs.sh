#!/usr/bin/env bash
# gen_docs.sh - the references in docs/ that the code generates (make docs):
#
#   docs/config-keys.md   autorec help config --markdown   (the key table, src/cfg.c)
#   docs/schema.md        autorec help schema --markdown   (a new database, src/db.c)
#
# usage: tools/gen_docs.sh [--check] [--bin BIN] [--docs DIR] [NAME...]
#   writes the files (or only the NAMEs given, e.g. schema.md) into DIR
#   (default: the docs/ directory of this repository) from BIN (default
#   ./autorec), each through `-o` (a new file renamed into place);
#   --check writes nothing: it compares each file with what BIN prints
#   and exits 1 naming every file that differs (tests/cli_docs.sh).
set -uo pipefail

# the generated files and the `autorec help` topic of each: one place
GENERATED="config-keys.md:config schema.md:schema"

check=0
bin=./autorec
tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)   # links resolved (SAN=1 tree)
docs="$(dirname "$tools")/docs"
names=()
while [ $# -gt 0 ]; do
    case $1 in
        --check) check=1 ;;
        --bin) bin=${2:?gen_docs.sh: --bin needs a path}; shift ;;
        --docs) docs=${2:?gen_docs.sh: --docs needs a directory}; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        -*) echo "gen_docs.sh: unknown option $1 (see tools/gen_docs.sh --help)" >&2; exit 2 ;;
        *) names+=("$1") ;;
    esac
    shift
done
[ -x "$bin" ] || { echo "gen_docs.sh: $bin is not an executable: run make first, or give --bin" >&2; exit 2; }
[ -d "$docs" ] || { echo "gen_docs.sh: $docs is not a directory: give --docs DIR" >&2; exit 2; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0 done_any=0
for entry in $GENERATED; do
    file=${entry%%:*} topic=${entry#*:}
    wanted=$(( ${#names[@]} == 0 ))
    for n in "${names[@]}"; do [ "$n" = "$file" ] && wanted=1; done
    [ $wanted -eq 1 ] || continue
    done_any=1
    if [ $check -eq 0 ]; then
        "$bin" help "$topic" --markdown -o "$docs/$file" || exit 1
        echo "wrote docs/$file (autorec help $topic --markdown)"
        continue
    fi
    "$bin" help "$topic" --markdown -o "$tmp/$file" || exit 1
    if ! cmp -s "$tmp/$file" "$docs/$file"; then
        echo "docs/$file differs from \`autorec help $topic --markdown\`: run make docs"
        diff -u "$docs/$file" "$tmp/$file" | head -n 20
        status=1
    fi
done
if [ $done_any -eq 0 ]; then
    echo "gen_docs.sh: ${names[*]}: not a generated file (they are: $(for e in $GENERATED; do printf '%s ' "${e%%:*}"; done))" >&2
    exit 2
fi
exit $status
