#!/usr/bin/env bash
# Obtains MovieLens 100K into data/ml-100k/ (run from the repository root;
# `make data` calls it).
#
#   data/ml-100k/u.data present with the right md5   -> nothing to do
#   AUTOREC_DATA_MIRROR=DIR set                       -> copy DIR/ml-100k/
#                                                        (and DIR/ml-latest-small/)
#   otherwise                                         -> download the zip from
#                                                        files.grouplens.org
#                                                        (AUTOREC_DATA_URL overrides)
# The copy is verified (100000 lines, md5) and removed again when it is wrong.
set -euo pipefail

URL="${AUTOREC_DATA_URL:-https://files.grouplens.org/datasets/movielens/ml-100k.zip}"
MD5="6e47046882bad158b0efbb84cd5cb987"
LINES=100000
DEST="data/ml-100k"
UDATA="$DEST/u.data"

say() { echo "data: $*"; }
die() {
    echo "data: error: $*" >&2
    echo "data: to use a local copy, set AUTOREC_DATA_MIRROR=DIR where DIR contains ml-100k/ (with u.data), e.g." >&2
    echo "data:   AUTOREC_DATA_MIRROR=/path/to/movielens make data" >&2
    exit 1
}

md5_of() {
    if command -v md5sum >/dev/null 2>&1; then
        md5sum "$1" | cut -d' ' -f1
    elif command -v md5 >/dev/null 2>&1; then
        md5 -q "$1"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import hashlib,sys; print(hashlib.md5(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    else
        die "no md5sum, md5 or python3 to verify $1"
    fi
}

# 0 when u.data exists, has the expected line count and md5.
verify() {
    [ -f "$UDATA" ] || return 1
    [ "$(wc -l < "$UDATA" | tr -d ' ')" = "$LINES" ] || return 1
    [ "$(md5_of "$UDATA")" = "$MD5" ] || return 1
}

if [ -f "$UDATA" ] && [ "$(md5_of "$UDATA")" = "$MD5" ]; then
    say "ml-100k ok"
    exit 0
fi

mkdir -p data
tmp="$(mktemp -d "${TMPDIR:-/tmp}/autorec-data.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

if [ -n "${AUTOREC_DATA_MIRROR:-}" ]; then
    src="$AUTOREC_DATA_MIRROR/ml-100k"
    [ -f "$src/u.data" ] || die "AUTOREC_DATA_MIRROR=$AUTOREC_DATA_MIRROR has no ml-100k/u.data"
    say "copying ml-100k from $src"
    rm -rf "$DEST"
    mkdir -p "$DEST"
    cp -R "$src/." "$DEST/"
    chmod -R u+w "$DEST"
    if [ -d "$AUTOREC_DATA_MIRROR/ml-latest-small" ]; then
        say "copying ml-latest-small from $AUTOREC_DATA_MIRROR/ml-latest-small"
        rm -rf data/ml-latest-small
        cp -R "$AUTOREC_DATA_MIRROR/ml-latest-small" data/ml-latest-small
        chmod -R u+w data/ml-latest-small
    fi
else
    zip="$tmp/ml-100k.zip"
    say "downloading $URL"
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 --connect-timeout 20 -o "$zip" "$URL" ||
            die "download of $URL failed (no network?)"
    elif command -v wget >/dev/null 2>&1; then
        wget -q --tries=3 --timeout=20 -O "$zip" "$URL" ||
            die "download of $URL failed (no network?)"
    else
        die "neither curl nor wget is installed to download $URL"
    fi
    if command -v unzip >/dev/null 2>&1; then
        unzip -q "$zip" -d "$tmp/x" || die "cannot unzip $zip (corrupt download?)"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
            "$zip" "$tmp/x" || die "cannot unzip $zip (corrupt download?)"
    else
        die "neither unzip nor python3 is installed to extract $zip"
    fi
    [ -f "$tmp/x/ml-100k/u.data" ] || die "the downloaded zip has no ml-100k/u.data"
    rm -rf "$DEST"
    mv "$tmp/x/ml-100k" "$DEST"
    chmod -R u+w "$DEST"
fi

if ! verify; then
    got_lines="$( [ -f "$UDATA" ] && wc -l < "$UDATA" | tr -d ' ' || echo missing)"
    got_md5="$( [ -f "$UDATA" ] && md5_of "$UDATA" || echo missing)"
    rm -rf "$DEST"
    die "$UDATA is not the MovieLens 100K ratings file (lines: $got_lines, expected $LINES; md5: $got_md5, expected $MD5); the copy was removed"
fi
say "ml-100k ok ($UDATA: $LINES ratings, md5 verified)"
