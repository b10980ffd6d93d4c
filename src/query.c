/* query.c - keys, run selection, sorting, text tables and formatting shared
 * by the query commands (see query.h).  The filter grammar lives in
 * query_where.c.
 *
 * No global mutable state. */
#include "query.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"

const QKey *query_key(const char *name) { return qcol_find(name); }

void query_key_names(char *out, size_t n) { qcol_names(out, n); }

int query_keys_parse(const char *spec, const char *opt, const QKey **keys,
                     int max, char *err) {
    int n = 0;
    char names[2048], key[128];
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof key)
            return err_set(err, "%s: expected KEY[,KEY...], e.g. %s "
                                "hidden,lr", opt, opt);
        memcpy(key, p, len);
        key[len] = '\0';
        if (n == max)
            return err_set(err, "%s: more than %d keys", opt, max);
        if (!(keys[n] = query_key(key))) {
            query_key_names(names, sizeof names);
            return err_set(err, "%s: unknown key '%s' (keys: %s)", opt, key,
                           names);
        }
        n++;
        p += len;
        if (*p == ',') p++;
    }
    if (n == 0) return err_set(err, "%s: no key given", opt);
    return n;
}

/* ------------------------------------------------------------ filters -- */

/* Appends s to f's SQL.  Returns 0 or -1 with err when too long. */
static int qf_append(QFilter *f, const char *s, char *err) {
    size_t n = strlen(s);
    if (f->len + n + 1 > sizeof f->sql)
        return err_set(err, "the filter is too long (over %d bytes of SQL)",
                       QUERY_SQL_MAX);
    memcpy(f->sql + f->len, s, n + 1);
    f->len += n;
    return 0;
}

/* Adds a text value for the next placeholder.  Returns 0 or -1. */
static int qf_text(QFilter *f, const char *s, size_t n, char *err) {
    if (f->nvalues >= QUERY_MAX_VALUES)
        return err_set(err, "the filter has more than %d values",
                       QUERY_MAX_VALUES);
    char *copy = mem_alloc(n + 1);
    if (!copy) return err_set(err, "out of memory reading the filter");
    memcpy(copy, s, n);
    copy[n] = '\0';
    QValue *v = &f->values[f->nvalues++];
    memset(v, 0, sizeof *v);
    v->type = SQLITE_TEXT;
    v->text = copy;
    return 0;
}

static const char *const statuses[] = {"running", "finished", "failed",
                                       "interrupted", "diverged", "pruned",
                                       "stale"};

int query_filter_build(QFilter *f, const QSelect *sel, char *err) {
    assert(f && sel);
    if (sel->status && strcmp(sel->status, "all") != 0) {
        const char *p = sel->status;
        int n = 0;
        if (qf_append(f, f->len ? " AND status IN (" : "status IN (", err))
            return -1;
        while (*p) {
            size_t len = strcspn(p, ",");
            int ok = 0;
            for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
                ok |= strlen(statuses[i]) == len &&
                      !memcmp(statuses[i], p, len);
            if (!ok)
                return err_set(err, "--status: '%.*s' is not a status (use "
                                    "running, finished, failed, interrupted, "
                                    "diverged, pruned, stale, a comma-separated "
                                    "list, or all)", (int)len, p);
            if (qf_append(f, n++ ? ", ?" : "?", err) ||
                qf_text(f, p, len, err))
                return -1;
            p += len;
            if (*p == ',') p++;
        }
        if (n == 0)
            return err_set(err, "--status: empty (use e.g. --status "
                                "finished)");
        if (qf_append(f, ")", err)) return -1;
    }
    if (sel->where && query_where_parse(f, sel->where, err)) return -1;
    return 0;
}

int query_filter_add_experiment(QFilter *f, const QSelect *sel, char *err) {
    if (!sel->experiment) return 0;
    if (qf_append(f, f->len ? " AND " : "", err) ||
        qf_append(f, sel->all_matching
                         ? "experiment IN (SELECT id FROM experiments WHERE "
                           "name = ?)"
                         : "experiment = ?", err) ||
        qf_text(f, sel->experiment, strlen(sel->experiment), err))
        return -1;
    return 0;
}

long query_count_runs(sqlite3 *h, const QFilter *f, char *err) {
    char sql[QUERY_SQL_MAX + 64];
    sqlite3_stmt *st = NULL;
    long n = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM run_summary %s%s",
             f->len ? "WHERE " : "", f->sql);
    if (query_prepare(h, sql, &st, err)) return -1;
    int rc = query_filter_bind(st, f, 1);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) n = (long)sqlite3_column_int64(st, 0);
    else err_set(err, "cannot count runs: %s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return n;
}

int query_filter_and(QFilter *f, const char *sql, const char *text,
                     char *err) {
    if (qf_append(f, f->len ? " AND (" : "(", err) || qf_append(f, sql, err) ||
        qf_append(f, ")", err))
        return -1;
    return text ? qf_text(f, text, strlen(text), err) : 0;
}

int query_filter_bind(sqlite3_stmt *st, const QFilter *f, int first) {
    int rc = SQLITE_OK;
    for (int i = 0; i < f->nvalues && rc == SQLITE_OK; i++) {
        const QValue *v = &f->values[i];
        if (v->type == SQLITE_INTEGER)
            rc = sqlite3_bind_int64(st, first + i, v->i);
        else if (v->type == SQLITE_FLOAT)
            rc = sqlite3_bind_double(st, first + i, v->d);
        else
            rc = sqlite3_bind_text(st, first + i, v->text, -1, SQLITE_STATIC);
    }
    return rc;
}

void query_filter_free(QFilter *f) {
    if (!f) return;
    for (int i = 0; i < f->nvalues; i++) mem_free(f->values[i].text);
    memset(f, 0, sizeof *f);
}

int query_order_build(char *out, size_t n, const char *sort, char *err) {
    size_t len = 0;
    const char *p = sort;
    char key[64], names[1024];
    assert(n > 32);
    len = (size_t)snprintf(out, n, "ORDER BY ");
    while (p && *p) {
        size_t klen = strcspn(p, ",");
        int desc = 0;
        const char *k = p;
        p += klen;
        if (*p == ',') p++;
        while (klen && *k == ' ') { k++; klen--; }
        while (klen && k[klen - 1] == ' ') klen--;
        if (klen && (*k == '-' || *k == '+')) {
            desc = *k == '-';
            k++;
            klen--;
        }
        if (klen == 0 || klen >= sizeof key)
            return err_set(err, "--sort: expected KEY[,-KEY...], e.g. --sort "
                                "best_rmse or --sort -hidden,lr");
        memcpy(key, k, klen);
        key[klen] = '\0';
        const QKey *q = query_key(key);
        if (!q) {
            query_key_names(names, sizeof names);
            return err_set(err, "--sort: unknown key '%s' (keys: %s)", key,
                           names);
        }
        int w = snprintf(out + len, n - len, "%s IS NULL, %s %s, ",
                         q->column, q->column, desc ? "DESC" : "ASC");
        if (w < 0 || (size_t)w >= n - len)
            return err_set(err, "--sort: too many keys");
        len += (size_t)w;
    }
    if (len + 3 > n) return err_set(err, "--sort: too many keys");
    snprintf(out + len, n - len, "id");
    return 0;
}

/* ------------------------------------------------------------- tables -- */

void qt_init(QTable *t, int ncols) {
    assert(ncols > 0 && ncols <= QT_MAX_COLS);
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
}

void qt_head(QTable *t, int col, const char *head, int right) {
    assert(col >= 0 && col < t->ncols);
    t->head[col] = head;
    t->right[col] = right;
}

void qt_key(QTable *t, int col, const char *key) {
    assert(col >= 0 && col < t->ncols);
    t->key[col] = key;
}

void qt_row(QTable *t) {
    if (t->oom) return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **cells = mem_realloc(t->cells, cap * (size_t)t->ncols *
                                                 sizeof *cells);
        if (!cells) { t->oom = 1; return; }
        memset(cells + t->cap * (size_t)t->ncols, 0,
               (cap - t->cap) * (size_t)t->ncols * sizeof *cells);
        t->cells = cells;
        t->cap = cap;
    }
    t->nrows++;
}

void qt_set(QTable *t, int col, const char *fmt, ...) {
    va_list ap;
    char buf[1024];
    assert(col >= 0 && col < t->ncols);
    if (t->oom || t->nrows == 0) return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **cell = &t->cells[(t->nrows - 1) * (size_t)t->ncols + (size_t)col];
    char *copy = mem_strdup(buf);
    if (!copy) { t->oom = 1; return; }
    mem_free(*cell);
    *cell = copy;
}

/* Prints one row of cells (NULL = empty) padded to widths, without
 * trailing blanks. */
static void qt_line(const QTable *t, const char *const *cells,
                    const size_t *width, FILE *f) {
    char line[8192];
    size_t len = 0;
    for (int c = 0; c < t->ncols; c++) {
        const char *s = cells[c] ? cells[c] : "";
        int pad = (int)(width[c] - strlen(s));
        int w = snprintf(line + len, sizeof line - len, "%s%*s%s%*s",
                         c ? "  " : "", t->right[c] ? pad : 0, "", s,
                         t->right[c] ? 0 : pad, "");
        if (w < 0 || (size_t)w >= sizeof line - len) {
            len = sizeof line - 1;
            break;
        }
        len += (size_t)w;
    }
    while (len > 0 && line[len - 1] == ' ') len--;
    fprintf(f, "%.*s\n", (int)len, line);
}

int qt_print(const QTable *t, FILE *f) {
    size_t width[QT_MAX_COLS] = {0};
    if (t->oom) return -1;
    for (int c = 0; c < t->ncols; c++) {
        width[c] = t->head[c] ? strlen(t->head[c]) : 0;
        for (size_t r = 0; r < t->nrows; r++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
            if (s && strlen(s) > width[c]) width[c] = strlen(s);
        }
    }
    qt_line(t, t->head, width, f);
    for (size_t r = 0; r < t->nrows; r++)
        qt_line(t, (const char *const *)&t->cells[r * (size_t)t->ncols],
                width, f);
    return 0;
}

void qt_free(QTable *t) {
    if (!t) return;
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        mem_free(t->cells[i]);
    mem_free(t->cells);
    memset(t, 0, sizeof *t);
}

/* --------------------------------------------------------- formatting -- */

const char *query_col(sqlite3_stmt *st, int i, const char *real_fmt,
                      char *buf, size_t n) {
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        snprintf(buf, n, "-");
        break;
    case SQLITE_FLOAT:
        if (real_fmt && !strcmp(real_fmt, QUERY_EXACT))
            query_real(sqlite3_column_double(st, i), buf, n);
        else
            snprintf(buf, n, real_fmt ? real_fmt : "%g",
                     sqlite3_column_double(st, i));
        break;
    default:
        snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, i));
        break;
    }
    return buf;
}

const char *query_real(double v, char *buf, size_t n) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

const char *query_duration(double s, char *buf, size_t n) {
    if (!(s >= 0)) snprintf(buf, n, "-");
    else if (s < 59.95) snprintf(buf, n, "%.1fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
    return buf;
}

int query_run_id(const char *s, sqlite3_int64 *id, char *err) {
    long long v;
    if (cli_int_value(s[0] == '#' ? s + 1 : s, 1, LLONG_MAX, &v))
        return err_set(err, "'%s' is not a run id (a positive integer, as "
                            "listed by autorec ls)", s);
    *id = v;
    return 0;
}

int query_run_arg(void *ctx, const char *arg) {
    QRunArgs *r = ctx;
    char err[ERR_MAX];
    if (r->n == r->max && r->max == 1) {
        fprintf(stderr, "autorec %s: unexpected argument '%s' (see autorec "
                        "%s --help)\n", r->cmd, arg, r->cmd);
        return -1;
    }
    if (r->n == r->max) {
        fprintf(stderr, "autorec %s: more than %d runs\n", r->cmd, r->max);
        return -1;
    }
    if (query_run_id(arg, &r->ids[r->n], err)) {
        fprintf(stderr, "autorec %s: %s\n", r->cmd, err);
        return -1;
    }
    r->n++;
    return 0;
}

int query_step(sqlite3_stmt *st, int rc) {
    return rc == SQLITE_OK || rc == SQLITE_ROW ? sqlite3_step(st) : rc;
}

int query_prepare(sqlite3 *h, const char *sql, sqlite3_stmt **st, char *err) {
    int rc = sqlite3_prepare_v2(h, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return err_set(err, "cannot query %s: %s", sqlite3_db_filename(h, "main"),
                       sqlite3_errmsg(h));
    return 0;
}

int query_epoch_stmt(sqlite3 *h, const char *table, sqlite3_stmt **st,
                     char *err) {
    int nc, refit = !strcmp(table, "refit_epochs");
    const QEpochColumn *ec = qcol_epoch_columns(&nc);
    char sql[512];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT epoch");
    for (int c = 0; c < nc; c++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s",
                                !refit || ec[c].refit ? ec[c].name : "NULL");
    snprintf(sql + len, sizeof sql - len, " FROM %s WHERE run_id = ?1 "
             "ORDER BY epoch", table);
    return query_prepare(h, sql, st, err);
}

int query_run_row(sqlite3 *h, sqlite3_stmt *st, sqlite3_int64 id, char *err) {
    int rc = sqlite3_bind_int64(st, 1, id);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) {
        err_set(err, "no run %lld in %s (see autorec ls)", (long long)id,
                sqlite3_db_filename(h, "main"));
        return 1;
    }
    return err_set(err, "cannot read run %lld: %s", (long long)id,
                   sqlite3_errmsg(h));
}
