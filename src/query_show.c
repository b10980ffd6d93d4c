/* query_show.c - `autorec show RUN`: everything recorded about one run. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "query.h"

void query_show_usage(FILE *f) {
    fprintf(f,
"usage: autorec show RUN [--format table|csv|json] [--db PATH]\n"
"\n"
"Prints run RUN (an id from autorec ls): status, grid point, host and build\n"
"(git commit, kernel, threads, BLIS), timings, the resolved config, and the\n"
"per-epoch table (train loss, test RMSE and MAE, validation RMSE and MAE\n"
"when recorded, timings) with the selected epoch's test RMSE marked '*'\n"
"(chosen by validation RMSE; the last epoch without validation); for a\n"
"train.refit run also the refit's epochs (the model retrained on train +\n"
"validation).\n"
"\n"
"options:\n"
"  --format F  table (default: the text above, with every recorded\n"
"              parameter and metric), json (one object: every column, the\n"
"              epochs in per_epoch and per_refit_epoch) or csv (one row per\n"
"              epoch, as autorec export)\n"
"  --db PATH   results database (default " CLI_DEFAULT_DB ")\n");
}

/* Prints the rows of run id in table (epochs or refit_epochs) as a table:
 * the epoch and every epoch value the table records for the run (test and
 * validation RMSE and MAE, ...), '*' on the test RMSE of the selected epoch
 * mark (-1: none).  Returns the number of epochs, or -1 with err. */
static int show_epochs(sqlite3 *h, const char *table, sqlite3_int64 id,
                       int mark, FILE *out, char *err) {
    char b[48], what[96];
    sqlite3_stmt *st = NULL;
    QTable t;
    int nc, rc, ret = -1, used[16], nused = 0;
    const QEpochColumn *ec = qcol_epoch_columns(&nc);
    const int refit = !strcmp(table, "refit_epochs");

    memset(&t, 0, sizeof t);
    for (int c = 0; c < nc && nused < 16; c++) {   /* the recorded ones */
        char q[256];
        sqlite3_int64 have = 0;
        sqlite3_stmt *s1 = NULL;
        if (refit && !ec[c].refit) continue;
        snprintf(q, sizeof q, "SELECT count(%s) FROM %s WHERE run_id = ?1",
                 ec[c].name, table);
        if (query_prepare(h, q, &s1, err)) goto done;
        if (sqlite3_bind_int64(s1, 1, id) == SQLITE_OK &&
            sqlite3_step(s1) == SQLITE_ROW)
            have = sqlite3_column_int64(s1, 0);
        sqlite3_finalize(s1);
        if (!have && strcmp(ec[c].name, "test_rmse")) continue;
        used[nused++] = c;
    }
    qt_init(&t, 1 + nused);
    qt_head(&t, 0, "epoch", 1);
    for (int k = 0; k < nused; k++) qt_head(&t, 1 + k, ec[used[k]].heading, 1);
    if (query_epoch_stmt(h, table, &st, err)) goto done;
    rc = sqlite3_bind_int64(st, 1, id);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        int e = sqlite3_column_int(st, 0);
        qt_row(&t);
        qt_set(&t, 0, "%d", e);
        for (int k = 0; k < nused; k++) {
            const QEpochColumn *c = &ec[used[k]];
            const int col = 1 + used[k];   /* its column in st */
            int star = e == mark && !strcmp(c->name, "test_rmse");
            if (sqlite3_column_type(st, col) == SQLITE_NULL)
                snprintf(b, sizeof b, "-");
            else
                snprintf(b, sizeof b, c->fmt, sqlite3_column_double(st, col));
            qt_set(&t, 1 + k, "%s%s", b,
                   !strcmp(c->name, "test_rmse") ? (star ? "*" : " ") : "");
        }
    }
    snprintf(what, sizeof what, "read the %s of run %lld", table,
             (long long)id);
    ret = qt_print_read(&t, st, rc, QFMT_TABLE, 0, out, what, err);
done:
    sqlite3_finalize(st);
    qt_free(&t);
    return ret;
}

/* Prints the recorded parameter and metric columns of run id (every one
 * of the column table that is not NULL) as "parameters" and "metrics"
 * lines of key=value.  Returns 0 or -1 with err. */
static int show_columns(sqlite3 *h, sqlite3_int64 id, FILE *out, char *err) {
    QRunValues v;
    if (query_run_values(h, id, &v, err)) return -1;
    for (int kind = QCOL_PARAM; kind <= QCOL_METRIC; kind++) {
        int n = 0;
        for (int i = 0; i < qcol_count(); i++) {
            const QColumn *c = qcol_get(i);
            if ((int)c->kind != kind || !strcmp(v.col[i], "-")) continue;
            fprintf(out, "%s %s=%s", n++ ? "" : kind == QCOL_PARAM
                                                    ? "parameters "
                                                    : "metrics    ",
                    c->name, v.col[i]);
        }
        if (n) fputc('\n', out);
    }
    query_run_values_free(&v);
    return 0;
}

/* An ensemble run's select: candidates (ensemble_candidates): per member,
 * each candidate's run and validation RMSE, '*' at the chosen one; nothing
 * when it has none.  Returns 0 or -1 with err. */
static int show_candidates(sqlite3 *h, sqlite3_int64 id, FILE *out,
                           char *err) {
    sqlite3_stmt *st = NULL;
    char b[2][64];
    int rc, n = 0;
    if (sqlite3_prepare_v2(h, "SELECT position, candidate, candidate_run, "
            "val_rmse, chosen, label FROM ensemble_candidates WHERE "
            "ensemble_run = ?1 ORDER BY position, candidate", -1, &st,
            NULL) != SQLITE_OK) {
        sqlite3_finalize(st);   /* a database before schema 8 */
        return 0;
    }
    rc = sqlite3_bind_int64(st, 1, id);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        if (n++ == 0)
            fprintf(out, "candidates  of the select: members, chosen (*) by "
                         "the lowest validation RMSE:\n");
        fprintf(out, "  m%-3d %2d%s run %-6s validation RMSE %s  %s\n",
                sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
                sqlite3_column_int(st, 4) ? "*" : " ",
                query_col(st, 2, NULL, b[0], sizeof b[0]),
                query_col(st, 3, "%.5f", b[1], sizeof b[1]),
                sqlite3_column_text(st, 5) ? (const char *)sqlite3_column_text(st, 5)
                                           : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return err_set(err, "cannot read the candidates of run %lld: %s",
                       (long long)id, sqlite3_errmsg(h));
    return 0;
}

/* An ensemble run: its members with their weights (ensemble_members) and
 * their own figures; nothing for other runs.  Returns 0 or -1 with err. */
static int show_ensemble(sqlite3 *h, sqlite3_int64 id, FILE *out, char *err) {
    sqlite3_stmt *st = NULL;
    char b[4][64];
    int rc, n = 0;
    if (sqlite3_prepare_v2(h, "SELECT e.position, e.member_run, e.weight, "
            "r.selected_test_rmse, r.refit_test_rmse, r.status, e.label "
            "FROM ensemble_members e LEFT JOIN run_summary r ON r.id = "
            "e.member_run WHERE e.ensemble_run = ?1 ORDER BY e.position",
            -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);   /* a database before schema 7 */
        return 0;
    }
    rc = sqlite3_bind_int64(st, 1, id);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        if (n++ == 0)
            fprintf(out, "ensemble    members, weights fitted on the "
                         "validation split (result: %s):\n",
                    "the blend of the refit models when they refit, else "
                    "of the selected ones");
        fprintf(out, "  m%-3d run %-6s weight %s  selected RMSE %s  refit "
                     "RMSE %s  %s  %s\n", sqlite3_column_int(st, 0),
                query_col(st, 1, NULL, b[0], sizeof b[0]),
                query_col(st, 2, "%.4f", b[1], sizeof b[1]),
                query_col(st, 3, "%.4f", b[2], sizeof b[2]),
                query_col(st, 4, "%.4f", b[3], sizeof b[3]),
                sqlite3_column_text(st, 5) ? (const char *)sqlite3_column_text(st, 5)
                                           : "deleted",
                sqlite3_column_text(st, 6) ? (const char *)sqlite3_column_text(st, 6)
                                           : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return err_set(err, "cannot read the members of run %lld: %s",
                       (long long)id, sqlite3_errmsg(h));
    return show_candidates(h, id, out, err);
}

/* Prints run id.  Returns 0, 1 when there is no such run (err set), or -1
 * with err. */
static int show_run(sqlite3 *h, sqlite3_int64 id, FILE *out, char *err) {
    sqlite3_stmt *st = NULL;
    char b[8][128];
    int ret = -1, rc;
    if (query_prepare(h,
            "SELECT s.status, s.name, s.experiment, s.grid_point, s.grid_size,"
            " s.attempts, s.started_at, s.finished_at, s.wall_seconds,"
            " s.seconds, s.host, s.worker, r.git_commit, s.kernel, s.threads,"
            " r.blis_info, s.config_hash, s.best_test_rmse, s.best_epoch,"
            " s.final_test_rmse, s.epochs_done, s.epochs, s.error,"
            " r.config_yaml, p.params, s.selected_epoch, s.selected_val_rmse,"
            " s.selected_test_rmse, s.split_index, s.split_kind, s.split_seed,"
            " x.n, x.splits, x.selected_test_mean, x.selected_test_sd,"
            " x.selected_test_ci_lo, x.selected_test_ci_hi,"
            " s.refit_epochs, s.refit_test_rmse, s.refit_test_mae,"
            " x.refit_test_mean, x.refit_test_sd, x.refit_test_ci_lo,"
            " x.refit_test_ci_hi, s.pruned_epoch, s.pruned_reason"
            " FROM run_summary s JOIN runs r ON r.id = s.id"
            " LEFT JOIN grid_points p ON p.experiment = s.experiment"
            "  AND p.point = s.grid_point"
            " LEFT JOIN split_summaries x ON x.experiment = s.experiment"
            "  AND x.group_point = s.grid_point - s.split_index"
            " WHERE s.id = ?1", &st, err))
        goto done;
    if ((rc = query_run_row(h, st, id, err)) != 0) {
        ret = rc > 0 ? 1 : -1;
        goto done;
    }
    fprintf(out, "run %lld  %s  '%s'\n", (long long)id,
            query_col(st, 0, NULL, b[0], 128), query_col(st, 1, NULL, b[1], 128));
    if (!strcmp(b[0], "stale"))
        fprintf(out, "stale       recorded as running, but no heartbeat for over "
                     "%d s: its process is gone (SIGKILL, OOM killer, node "
                     "failure); a grid reruns the point, a single run can be "
                     "run again\n", DB_STALE_SECONDS);
    if (sqlite3_column_type(st, 2) != SQLITE_NULL)
        fprintf(out, "grid        %s, point %lld of %s (%s), attempt %s\n",
                query_col(st, 2, NULL, b[0], 128),
                sqlite3_column_int64(st, 3) + 1,
                query_col(st, 4, NULL, b[1], 128),
                query_col(st, 24, NULL, b[2], 128),
                query_col(st, 5, NULL, b[3], 128));
    fprintf(out, "started     %s\nfinished    %s (wall %s, %s in epochs)\n",
            query_col(st, 6, NULL, b[0], 128), query_col(st, 7, NULL, b[1], 128),
            query_duration(sqlite3_column_double(st, 8), b[2], 128),
            query_duration(sqlite3_column_double(st, 9), b[3], 128));
    fprintf(out, "host        %s (worker %s)\n",
            query_col(st, 10, NULL, b[0], 128), query_col(st, 11, NULL, b[1], 128));
    fprintf(out, "build       git %s, kernel %s, threads %s\n",
            query_col(st, 12, NULL, b[0], 128), query_col(st, 13, NULL, b[1], 128),
            query_col(st, 14, NULL, b[2], 128));
    fprintf(out, "BLIS        %s\n", query_col(st, 15, NULL, b[0], 128));
    fprintf(out, "config hash %s\n", query_col(st, 16, NULL, b[0], 128));
    fprintf(out, "result      best test RMSE %s at epoch %s, final %s, "
                 "%s/%s epochs\n",
            query_col(st, 17, "%.4f", b[0], 128), query_col(st, 18, NULL, b[1], 128),
            query_col(st, 19, "%.4f", b[2], 128), query_col(st, 20, NULL, b[3], 128),
            query_col(st, 21, NULL, b[4], 128));
    if (sqlite3_column_type(st, 25) != SQLITE_NULL)
        fprintf(out, "selected    epoch %s by validation RMSE %s: test "
                     "RMSE %s\n",
                query_col(st, 25, NULL, b[0], 128),
                query_col(st, 26, "%.4f", b[1], 128),
                query_col(st, 27, "%.4f", b[2], 128));
    const int refit = sqlite3_column_type(st, 37) != SQLITE_NULL;
    if (refit)
        fprintf(out, "refit       on train + validation for %s epochs: test "
                     "RMSE %s, MAE %s\n",
                query_col(st, 37, NULL, b[0], 128),
                query_col(st, 38, "%.4f", b[1], 128),
                query_col(st, 39, "%.4f", b[2], 128));
    if (sqlite3_column_type(st, 28) != SQLITE_NULL) {
        fprintf(out, "split       %s index %s (split seed %s)",
                query_col(st, 29, NULL, b[0], 128),
                query_col(st, 28, NULL, b[1], 128),
                query_col(st, 30, NULL, b[2], 128));
        if (sqlite3_column_type(st, 31) != SQLITE_NULL)
            fprintf(out, "; over %s/%s splits: selected test RMSE %s, sd %s, "
                         "95%% CI [%s, %s]",
                    query_col(st, 31, NULL, b[3], 128),
                    query_col(st, 32, NULL, b[4], 128),
                    query_col(st, 33, "%.4f", b[5], 128),
                    query_col(st, 34, "%.4f", b[6], 128),
                    query_col(st, 35, "%.4f", b[7], 128),
                    query_col(st, 36, "%.4f", b[0], 128));
        if (sqlite3_column_type(st, 40) != SQLITE_NULL)
            fprintf(out, "; refit test RMSE %s, sd %s, 95%% CI [%s, %s]",
                    query_col(st, 40, "%.4f", b[3], 128),
                    query_col(st, 41, "%.4f", b[4], 128),
                    query_col(st, 42, "%.4f", b[5], 128),
                    query_col(st, 43, "%.4f", b[6], 128));
        fputc('\n', out);
    }
    if (sqlite3_column_type(st, 44) != SQLITE_NULL)   /* search.pruner */
        fprintf(out, "pruned      at epoch %s: %s\n",
                query_col(st, 44, NULL, b[0], 128),
                query_col(st, 45, NULL, b[1], 128));
    if (sqlite3_column_type(st, 22) != SQLITE_NULL)
        fprintf(out, "error       %s\n", sqlite3_column_text(st, 22));
    if (show_ensemble(h, id, out, err) || show_columns(h, id, out, err))
        goto done;
    int selected = sqlite3_column_type(st, 25) == SQLITE_NULL
                       ? -1 : sqlite3_column_int(st, 25);
    fprintf(out, "\nresolved config:\n");
    const unsigned char *yaml = sqlite3_column_text(st, 23);
    if (!yaml) {
        fprintf(out, "  (not recorded)\n");
    } else {
        for (const char *p = (const char *)yaml; *p;) {
            size_t n = strcspn(p, "\n");
            fprintf(out, "  %.*s\n", (int)n, p);
            p += n;
            if (*p) p++;
        }
    }
    fprintf(out, "\n");
    int n = show_epochs(h, "epochs", id, selected, out, err);
    if (n < 0) goto done;
    if (n == 0) fprintf(out, "(no epochs recorded)\n");
    if (refit) {
        fprintf(out, "\nrefit (train + validation):\n");
        if (show_epochs(h, "refit_epochs", id, -1, out, err) < 0) goto done;
    }
    ret = 0;
done:
    sqlite3_finalize(st);
    return ret;
}

int query_show_main(int argc, char **argv) {
    const char *db_path = CLI_DEFAULT_DB, *format = NULL;
    QFormatKind fmt;
    char err[ERR_MAX];
    sqlite3 *h = NULL;
    sqlite3_int64 id;
    int rc = EXIT_FAILED, r;
    QRunArgs run = {"show", &id, 0, 1};
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &db_path},
        {.name = "--format", .kind = CLI_TEXT, .dest = &format},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "show", .usage = query_show_usage, .opts = opts,
                    .positional = query_run_arg, .ctx = &run,
                    .missing = "RUN (an id from autorec ls)"};

    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    if (query_format_parse(format, &fmt, "show")) return EXIT_USAGE;
    if (db_open_query(&h, db_path, err)) goto fail;
    if (fmt == QFMT_TABLE) {
        if (show_run(h, id, stdout, err)) goto fail;
    } else {   /* the run as export writes it */
        QFilter f;
        char where[64];
        memset(&f, 0, sizeof f);
        snprintf(where, sizeof where, "id = %lld", (long long)id);
        r = query_where_parse(&f, where, err) ? -1
            : query_export_write(h, &f, fmt == QFMT_JSON, 0, 1, stdout, err);
        query_filter_free(&f);
        if (r < 0) goto fail;
        if (r == 0) {
            err_set(err, "no run %lld in %s (see autorec ls)", (long long)id,
                    db_path);
            goto fail;
        }
    }
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec show: %s\n", err);
out:
    sqlite3_close(h);
    return rc;
}
