/* query_params.c - the values of runs side by side, for compare and the
 * plot legends: every column of the column table (query_columns.h) and
 * every key of each run's stored resolved config, so that no parameter,
 * however recently added, can be missed. */
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "err.h"
#include "mem.h"
#include "query.h"

#define QP_VAL_MAX 256

void query_run_values_free(QRunValues *v) {
    if (!v) return;
    for (int i = 0; v->col && i < v->ncol; i++) mem_free(v->col[i]);
    mem_free(v->col);
    mem_free(v->flat);
    v->col = NULL;
    v->flat = NULL;
    v->ncol = 0;
}

/* Sets v->flat from the stored config text yaml (NULL: not recorded).
 * Returns 0 or -1 with err. */
static int run_flat(QRunValues *v, const char *yaml, char *err) {
    Config c;
    char cerr[ERR_MAX];
    if (!yaml) return 0;
    cfg_defaults(&c);
    if (cfg_load_string(&c, yaml, "stored config", cerr)) return 0;
    if (!(v->flat = cfg_to_flat(&c)))
        return err_set(err, "out of memory reading the config of run %lld",
                       (long long)v->id);
    return 0;
}

int query_run_values(sqlite3 *h, sqlite3_int64 id, QRunValues *v,
                     char *err) {
    const int n = qcol_count();
    size_t cap = 256 + 1024 * (size_t)n, len;
    char *sql = mem_alloc(cap), b[QP_VAL_MAX];
    const QColumn **cols = mem_calloc((size_t)n, sizeof *cols);
    sqlite3_stmt *st = NULL;
    int ret = -1, rc;

    memset(v, 0, sizeof *v);
    v->id = id;
    v->col = mem_calloc((size_t)n, sizeof *v->col);
    if (!sql || !cols || !v->col) {
        err_set(err, "out of memory reading run %lld", (long long)id);
        goto done;
    }
    v->ncol = n;
    len = (size_t)snprintf(sql, cap, "SELECT (SELECT r.config_yaml FROM "
                           "runs r WHERE r.id = run_summary.id)");
    len += (size_t)snprintf(sql + len, cap - len, ", ");
    if (qcol_select_list(cols, qcol_all(cols, n), 1, sql + len,
                         cap - len - 64)) {
        err_set(err, "the run columns do not fit in a query");
        goto done;
    }
    len += strlen(sql + len);
    snprintf(sql + len, cap - len, " FROM run_summary WHERE id = ?1");
    if (query_prepare(h, sql, &st, err)) goto done;
    if ((rc = query_run_row(h, st, id, err)) != 0) {
        ret = rc > 0 ? 1 : -1;
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (!(v->col[i] = mem_strdup(qcol_text(cols[i], st, i + 1, b,
                                               sizeof b)))) {
            err_set(err, "out of memory reading run %lld", (long long)id);
            goto done;
        }
    if (run_flat(v, (const char *)sqlite3_column_text(st, 0), err)) goto done;
    ret = 0;
done:
    sqlite3_finalize(st);
    mem_free(sql);
    mem_free(cols);
    if (ret) query_run_values_free(v);
    return ret;
}

/* The value of config key (dotted, length klen) in flat text, copied into
 * out (size n); "-" when absent. */
static void flat_value(const char *flat, const char *key, size_t klen,
                       char *out, size_t n) {
    snprintf(out, n, "-");
    for (const char *p = flat; p && *p;) {
        size_t line = strcspn(p, "\n");
        if (line > klen + 1 && !strncmp(p, key, klen) && p[klen] == ':') {
            const char *val = p + klen + 1;
            while (*val == ' ') val++;
            snprintf(out, n, "%.*s", (int)(line - (size_t)(val - p)), val);
            return;
        }
        p += line;
        if (*p) p++;
    }
}

/* Appends one parameter (its values taken by get) to list.  Returns 0 or
 * -1 on OOM. */
static int params_add(QParams *list, const char *name, int nruns) {
    if (list->n == list->cap) {
        int cap = list->cap ? list->cap * 2 : 64;
        QParam *p = mem_realloc(list->p, (size_t)cap * sizeof *p);
        if (!p) return -1;
        list->p = p;
        list->cap = cap;
    }
    QParam *q = &list->p[list->n];
    memset(q, 0, sizeof *q);
    q->name = mem_strdup(name);
    q->val = mem_calloc((size_t)nruns, sizeof *q->val);
    list->n++;
    return q->name && q->val ? 0 : -1;
}

/* Whether key (length klen) is the config key of a column. */
static int is_column_config(const char *key, size_t klen) {
    for (int i = 0; i < qcol_count(); i++) {
        const char *c = qcol_get(i)->config;
        if (c && strlen(c) == klen && !strncmp(c, key, klen)) return 1;
    }
    return 0;
}

int query_params_build(const QRunValues *runs, int nruns, QParams *out) {
    char b[QP_VAL_MAX];
    memset(out, 0, sizeof *out);
    for (int i = 0; i < qcol_count(); i++) {
        if (qcol_get(i)->kind != QCOL_PARAM) continue;
        if (params_add(out, qcol_get(i)->name, nruns)) goto oom;
        QParam *q = &out->p[out->n - 1];
        for (int r = 0; r < nruns; r++)
            if (!(q->val[r] = mem_strdup(runs[r].col[i]))) goto oom;
    }
    /* the config keys without a column, from the first run's config that
     * has them (all configs list the same keys) */
    const char *flat = NULL;
    for (int r = 0; r < nruns && !flat; r++) flat = runs[r].flat;
    for (const char *p = flat; p && *p;) {
        size_t line = strcspn(p, "\n"), klen = strcspn(p, ":");
        char key[CFG_KEY_MAX];
        if (klen < line && klen < sizeof key && !is_column_config(p, klen)) {
            memcpy(key, p, klen);
            key[klen] = '\0';
            if (params_add(out, key, nruns)) goto oom;
            QParam *q = &out->p[out->n - 1];
            for (int r = 0; r < nruns; r++) {
                flat_value(runs[r].flat, key, klen, b, sizeof b);
                if (!(q->val[r] = mem_strdup(b))) goto oom;
            }
        }
        p += line;
        if (*p) p++;
    }
    for (int k = 0; k < out->n; k++)
        for (int r = 1; r < nruns; r++)
            out->p[k].differ |= strcmp(out->p[k].val[r], out->p[k].val[0]) != 0;
    out->nruns = nruns;
    return 0;
oom:
    out->nruns = nruns;
    query_params_free(out);
    return -1;
}

void query_params_free(QParams *list) {
    for (int k = 0; list->p && k < list->n; k++) {
        for (int r = 0; list->p[k].val && r < list->nruns; r++)
            mem_free(list->p[k].val[r]);
        mem_free(list->p[k].val);
        mem_free(list->p[k].name);
    }
    mem_free(list->p);
    memset(list, 0, sizeof *list);
}
