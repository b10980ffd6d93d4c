/* serve_escape.c - the only way values reach the dashboard's HTML and
 * JSON: entity-escaped HTML, JSON string literals, percent-encoded URLs
 * (see serve.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "query.h"
#include "serve.h"

void sb_html(SBuf *b, const char *s) {
    if (!s) return;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *ent;
        switch (*p) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        default: continue;
        }
        sb_add(b, run, (size_t)(p - run));
        sb_puts(b, ent);
        run = p + 1;
    }
    sb_puts(b, run);
}

void sb_json_str(SBuf *b, const char *s) {
    if (!s) {
        sb_puts(b, "null");
        return;
    }
    sb_puts(b, "\"");
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        const char *e = esc;
        if (*p == '"') e = "\\\"";
        else if (*p == '\\') e = "\\\\";
        else if (*p == '\n') e = "\\n";
        else if (*p == '\t') e = "\\t";
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&' ||
                 *p == 0x7f)
            snprintf(esc, sizeof esc, "\\u%04x", *p);
        else if (*p == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
            snprintf(esc, sizeof esc, "\\u%04x", 0x2000 + p[2] - 0x80);
        else
            continue;
        sb_add(b, run, (size_t)((const char *)p - run));
        sb_puts(b, e);
        if (*p == 0xe2) p += 2;      /* the whole line separator */
        run = (const char *)p + 1;
    }
    sb_puts(b, run);
    sb_puts(b, "\"");
}

void sb_url(SBuf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    if (!s) return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            sb_add(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            sb_add(b, e, 3);
        }
    }
}

void sb_json_real(SBuf *b, double v) {
    char buf[40];
    if (!isfinite(v)) sb_puts(b, "null");
    else sb_puts(b, query_real(v, buf, sizeof buf));
}

void sb_json_col(SBuf *b, sqlite3_stmt *st, int i) {
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: sb_puts(b, "null"); break;
    case SQLITE_INTEGER:
        sb_printf(b, "%lld", (long long)sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT: sb_json_real(b, sqlite3_column_double(st, i)); break;
    default:
        sb_json_str(b, (const char *)sqlite3_column_text(st, i));
    }
}

void sb_html_col(SBuf *b, sqlite3_stmt *st, int i, const char *real_fmt) {
    char buf[64];
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return;
    if (sqlite3_column_type(st, i) == SQLITE_FLOAT && real_fmt) {
        snprintf(buf, sizeof buf, real_fmt, sqlite3_column_double(st, i));
        sb_puts(b, buf);
        return;
    }
    sb_html(b, (const char *)sqlite3_column_text(st, i));
}
