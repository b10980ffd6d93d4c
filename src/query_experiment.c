/* query_experiment.c - `--experiment E` of the query commands: one
 * experiment at a time.
 *
 * E is an experiment id, or a config name.  A name that several experiments
 * share (the same grid config run with 3, 4, 8 and 12 epochs) is an error
 * listing them, unless --all-matching (every one) or --latest (the most
 * recently created) is given; an E that matches nothing is an error too:
 * an empty answer would look like a result. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "query.h"

void query_select_opts(QSelect *sel, CliOpt opts[QUERY_SELECT_OPTS]) {
    const CliOpt table[QUERY_SELECT_OPTS] = {
        {.name = "--status", .kind = CLI_TEXT, .dest = &sel->status},
        {.name = "--experiment", .kind = CLI_TEXT, .dest = &sel->experiment},
        {.name = "--where", .kind = CLI_TEXT, .dest = &sel->where},
        {.name = "--all-matching", .kind = CLI_FLAG,
         .dest = &sel->all_matching},
        {.name = "--latest", .kind = CLI_FLAG, .dest = &sel->latest},
        {.name = NULL},
    };
    memcpy(opts, table, sizeof table);
}

/* Appends to err (ERR_MAX) one line per experiment named name: id,
 * created, points, runs. */
static void list_matches(sqlite3 *h, const char *name, char *err) {
    sqlite3_stmt *st = NULL;
    size_t len = strlen(err);
    if (sqlite3_prepare_v2(h,
            "SELECT x.id, x.created_at, x.n_points, (SELECT count(*) FROM "
            "runs r WHERE r.experiment = x.id) FROM experiments x WHERE "
            "x.name = ?1 ORDER BY x.created_at, x.id", -1, &st, NULL) !=
        SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW && len + 1 < ERR_MAX) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *dash = id ? strrchr(id, '-') : NULL;
        int w = snprintf(err + len, ERR_MAX - len,
                         "\n  %s  created %s  %d points  %d runs  config "
                         "hash %s", id ? id : "?",
                         (const char *)sqlite3_column_text(st, 1),
                         sqlite3_column_int(st, 2), sqlite3_column_int(st, 3),
                         dash ? dash + 1 : "-");
        if (w < 0) break;
        len += (size_t)w;
    }
    sqlite3_finalize(st);
}

int query_experiment_resolve(sqlite3 *h, const QSelect *sel, char *id,
                             size_t n, char *err) {
    sqlite3_stmt *st = NULL;
    int rc, count = 0, ret = -1;
    const char *e = sel->experiment;
    if (query_prepare(h,
            "SELECT id, (SELECT count(*) FROM experiments WHERE name = ?1) "
            "FROM experiments WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 "
            "DESC, created_at DESC, id DESC LIMIT 1", &st, err))
        return -1;
    rc = sqlite3_bind_text(st, 1, e, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err_set(err, "--experiment %s: no experiment has this id or name in "
                     "%s (autorec ls lists the experiments of the runs; "
                     "plain runs of a config are --where \"name = '%s'\")",
                e, sqlite3_db_filename(h, "main"), e);
        ret = 1;
        goto done;
    }
    if (rc != SQLITE_ROW) {
        err_set(err, "cannot read the experiments: %s", sqlite3_errmsg(h));
        goto done;
    }
    snprintf(id, n, "%s", (const char *)sqlite3_column_text(st, 0));
    count = sqlite3_column_int(st, 1);
    ret = 0;
    if (strcmp(id, e) != 0 && count > 1 && !sel->all_matching &&
        !sel->latest) {
        err_set(err, "--experiment %s: %d experiments have this name; give "
                     "one id, or --latest (the newest), or --all-matching "
                     "(all of them):", e, count);
        list_matches(h, e, err);
        ret = 1;
    }
done:
    sqlite3_finalize(st);
    return ret;
}

int query_filter_experiment(sqlite3 *h, QFilter *f, const QSelect *sel,
                            char *err) {
    char id[256];
    QSelect one = *sel;
    int r;
    if (!sel->experiment) return 0;
    if ((r = query_experiment_resolve(h, sel, id, sizeof id, err)) != 0)
        return r;
    if (!sel->all_matching || !strcmp(id, sel->experiment)) {
        one.experiment = id;
        one.all_matching = 0;
    }
    return query_filter_add_experiment(f, &one, err);
}
