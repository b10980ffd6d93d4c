/* query_format.c - machine-readable output of the query commands: CSV
 * fields and JSON values from SQLite columns, and a QTable written as CSV
 * or JSON (--format table|csv|json of ls, show, best, summary, export). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "query.h"

int query_format_parse(const char *s, QFormatKind *out, const char *cmd) {
    if (!s || !strcmp(s, "table")) *out = QFMT_TABLE;
    else if (!strcmp(s, "csv")) *out = QFMT_CSV;
    else if (!strcmp(s, "json")) *out = QFMT_JSON;
    else {
        fprintf(stderr, "autorec %s: --format: '%s' is not table, csv or "
                        "json\n", cmd, s);
        return -1;
    }
    return 0;
}

void query_csv_text(FILE *out, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void query_csv_col(FILE *out, sqlite3_stmt *st, int i) {
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: break;
    case SQLITE_FLOAT: {
        char b[40];
        fputs(query_real(sqlite3_column_double(st, i), b, sizeof b), out);
        break;
    }
    default:
        query_csv_text(out, (const char *)sqlite3_column_text(st, i));
        break;
    }
}

void query_json_text(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", out);
        else if (*p == '\t') fputs("\\t", out);
        else if (*p == '\r') fputs("\\r", out);
        else if (*p < 0x20) fprintf(out, "\\u%04x", *p);
        else fputc(*p, out);
    }
    fputc('"', out);
}

void query_json_col(FILE *out, sqlite3_stmt *st, int i) {
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: fputs("null", out); break;
    case SQLITE_INTEGER:
        fprintf(out, "%lld", sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, i);
        char b[40];
        if (isfinite(v)) fputs(query_real(v, b, sizeof b), out);
        else fputs("null", out);
        break;
    }
    default:
        query_json_text(out, (const char *)sqlite3_column_text(st, i));
        break;
    }
}

/* Writes cell s as a JSON value: null for NULL or "-", a number when the
 * whole text is a finite number, else a string. */
static void json_cell(FILE *out, const char *s) {
    char *end;
    if (!s || !strcmp(s, "-")) {
        fputs("null", out);
        return;
    }
    double v = strtod(s, &end);
    if (*s && !*end && isfinite(v) && !strchr(s, 'x') && !strchr(s, 'X') &&
        s[0] != ' ')
        fputs(s, out);
    else
        query_json_text(out, s);
}

int qt_print_format(const QTable *t, QFormatKind fmt, FILE *out) {
    if (fmt == QFMT_TABLE) return qt_print(t, out);
    if (t->oom) return -1;
    if (fmt == QFMT_CSV) {
        for (int c = 0; c < t->ncols; c++) {
            if (c) fputc(',', out);
            query_csv_text(out, t->key[c] ? t->key[c] : t->head[c]);
        }
        fputc('\n', out);
    } else {
        fputc('[', out);
    }
    for (size_t r = 0; r < t->nrows; r++) {
        char *const *cells = &t->cells[r * (size_t)t->ncols];
        if (fmt == QFMT_JSON) fprintf(out, "%s\n  {", r ? "," : "");
        for (int c = 0; c < t->ncols; c++) {
            const char *s = cells[c];
            if (fmt == QFMT_CSV) {
                if (c) fputc(',', out);
                if (s && strcmp(s, "-")) query_csv_text(out, s);
            } else {
                if (c) fputs(", ", out);
                query_json_text(out, t->key[c] ? t->key[c] : t->head[c]);
                fputs(": ", out);
                json_cell(out, s);
            }
        }
        if (fmt == QFMT_CSV) fputc('\n', out);
        else fputc('}', out);
    }
    if (fmt == QFMT_JSON) fputs(t->nrows ? "\n]\n" : "]\n", out);
    return 0;
}

int qt_print_read(const QTable *t, sqlite3_stmt *st, int rc, QFormatKind fmt,
                  int always, FILE *out, const char *what, char *err) {
    if (rc != SQLITE_DONE)
        return err_set(err, "cannot %s: %s", what,
                       sqlite3_errmsg(sqlite3_db_handle(st)));
    if ((t->nrows > 0 || always) && qt_print_format(t, fmt, out))
        return err_set(err, "out of memory printing the table");
    return (int)t->nrows;
}

int query_stmt_print(sqlite3_stmt *st, int rc, QFormatKind fmt, FILE *out) {
    int ncols = sqlite3_column_count(st), n = 0;
    if (fmt == QFMT_CSV) {
        for (int i = 0; i < ncols; i++) {
            if (i) fputc(',', out);
            query_csv_text(out, sqlite3_column_name(st, i));
        }
        fputc('\n', out);
    } else {
        fputc('[', out);
    }
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        if (fmt == QFMT_JSON) fprintf(out, "%s\n  {", n ? "," : "");
        for (int i = 0; i < ncols; i++) {
            if (fmt == QFMT_CSV) {
                if (i) fputc(',', out);
                query_csv_col(out, st, i);
            } else {
                if (i) fputs(", ", out);
                query_json_text(out, sqlite3_column_name(st, i));
                fputs(": ", out);
                query_json_col(out, st, i);
            }
        }
        fputs(fmt == QFMT_CSV ? "\n" : "}", out);
        n++;
    }
    if (fmt == QFMT_JSON) fputs(n ? "\n]\n" : "]\n", out);
    return rc == SQLITE_DONE ? n : -1;
}
