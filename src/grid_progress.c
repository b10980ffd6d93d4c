/* grid_progress.c - the live progress block and the final summary of a
 * grid (see grid_progress.h).  Both read the database, through a read-only
 * connection: the workers write everything there, including the points that
 * workers of other `autorec grid` processes run.
 *
 * No global mutable state. */
#include "grid_progress.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "query.h"

#define PROGRESS_MAX_LINES 24
#define LINE_MAX_CHARS 512
#define PROGRESS_COLUMNS 80   /* the live block fits 80 columns */

static double progress_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The counts of an experiment.  Returns 0, 1 when it is unknown, -1 on a
 * database error. */
typedef struct {
    int n, finished, running, failed, interrupted, diverged, pending;
    int pruned;                  /* search.pruner: settled as pruned */
    long long epochs_spent, epochs_full;   /* sum of epochs_done, epochs */
    double seconds, mean_wall;   /* mean_wall < 0: no finished point */
} GridCounts;

static int grid_counts(sqlite3 *h, const char *experiment, GridCounts *c) {
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;
    memset(c, 0, sizeof *c);
    c->mean_wall = -1;
    rc = sqlite3_prepare_v2(h,
        "SELECT n_points, finished, running, failed, interrupted, diverged, "
        "pending, seconds, (SELECT avg((julianday(finished_at) - "
        "julianday(started_at)) * 86400.0) FROM runs WHERE experiment = ?1 "
        "AND status = 'finished'), pruned, epochs_spent, epochs_full "
        "FROM grid_summary WHERE experiment = ?1",
        -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, experiment, -1,
                                                SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        c->n = sqlite3_column_int(st, 0);
        c->finished = sqlite3_column_int(st, 1);
        c->running = sqlite3_column_int(st, 2);
        c->failed = sqlite3_column_int(st, 3);
        c->interrupted = sqlite3_column_int(st, 4);
        c->diverged = sqlite3_column_int(st, 5);
        c->pending = sqlite3_column_int(st, 6);
        c->seconds = sqlite3_column_double(st, 7);
        if (sqlite3_column_type(st, 8) != SQLITE_NULL)
            c->mean_wall = sqlite3_column_double(st, 8);
        c->pruned = sqlite3_column_int(st, 9);
        c->epochs_spent = sqlite3_column_int64(st, 10);
        c->epochs_full = sqlite3_column_int64(st, 11);
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        ret = 1;
    }
    sqlite3_finalize(st);
    return ret;
}

/* The label of worker id "host:pid/tag" into out: "w3" for slot 3 of this
 * process (g->pids), else "pid N" (a worker of another process). */
static const char *worker_label(const GridProgress *g, const char *worker,
                                char *out, size_t n) {
    const char *colon = worker ? strrchr(worker, ':') : NULL;
    long pid = colon ? strtol(colon + 1, NULL, 10) : -1;
    for (int w = 0; g->pids && w < g->workers; w++)
        if (g->pids[w] > 0 && g->pids[w] == pid) {
            snprintf(out, n, "w%d", w + 1);
            return out;
        }
    snprintf(out, n, "pid %ld", pid);
    return out;
}

int grid_progress_mode(void) {
    const char *term = getenv("TERM"), *no_color = getenv("NO_COLOR");
    if (!isatty(STDERR_FILENO) || (term && !strcmp(term, "dumb")) ||
        (no_color && *no_color))
        return GRID_PROGRESS_PLAIN;
    return GRID_PROGRESS_LIVE;
}

int grid_progress_draw(GridProgress *g, const GridPlan *p,
                       const char *db_path) {
    char err[ERR_MAX], lines[PROGRESS_MAX_LINES + 2][LINE_MAX_CHARS];
    char b1[32], b2[32], b3[32], label[32];
    sqlite3_stmt *st = NULL;
    GridCounts c;
    struct winsize ws;
    int nl = 0, rc, more = 0;
    double elapsed = progress_monotonic() - g->started, left = 0, per = -1;

    if (!g->h && db_open_query(&g->h, db_path, err)) return -1;
    if (grid_counts(g->h, p->experiment, &c)) return -1;
    g->width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20
                   ? ws.ws_col : 80;
    if (g->width > PROGRESS_COLUMNS) g->width = PROGRESS_COLUMNS;

    rc = sqlite3_prepare_v2(g->h,
        "SELECT r.grid_point, r.worker, r.epochs_done, r.epochs, "
        "r.final_test_rmse, (julianday('now') - julianday(r.started_at)) * "
        "86400.0, p.params FROM runs r LEFT JOIN grid_points p ON "
        "p.experiment = r.experiment AND p.point = r.grid_point "
        "WHERE r.experiment = ?1 AND r.status = 'running' "
        "ORDER BY r.grid_point", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, p->experiment, -1, SQLITE_STATIC);
    nl = 1;
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        int e = sqlite3_column_int(st, 2), E = sqlite3_column_int(st, 3);
        double t = sqlite3_column_double(st, 5);
        double eta = e > 0 ? t / e * (E - e) : -1;
        if (e > 0 && E > 0) {
            left += 1.0 - (double)e / E;
            if (per < 0) per = t * E / e;
        } else {
            left += 1.0;
        }
        if (nl > PROGRESS_MAX_LINES) { more++; continue; }
        const unsigned char *params = sqlite3_column_text(st, 6);
        char rmse[32] = "-";
        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
            snprintf(rmse, sizeof rmse, "%.4f", sqlite3_column_double(st, 4));
        snprintf(lines[nl++], LINE_MAX_CHARS,
                 "  %-3s %lld/%zu %-22.22s ep %d/%d RMSE %s %s ETA %s",
                 worker_label(g, (const char *)sqlite3_column_text(st, 1),
                              label, sizeof label),
                 sqlite3_column_int64(st, 0) + 1, p->n,
                 params ? (const char *)params : "", e, E, rmse,
                 query_duration(t, b1, sizeof b1),
                 eta >= 0 ? query_duration(eta, b2, sizeof b2) : "?");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return -1;
    if (more) snprintf(lines[nl++], LINE_MAX_CHARS, "  ... and %d more", more);

    /* ETA of the grid: the points left times the mean point time, over the
     * workers of this process */
    int todo = c.n - c.finished - c.diverged - c.pruned - c.failed -
               c.running;
    if (todo < 0) todo = 0;
    left += todo;
    if (c.mean_wall >= 0) per = c.mean_wall;
    int par = g->workers > 0 ? g->workers : 1;
    snprintf(lines[0], LINE_MAX_CHARS,
             "%s: %d/%d done, %d running, %d failed, %d to run, %s, ETA %s",
             p->experiment, c.finished + c.diverged + c.pruned, c.n,
             c.running, c.failed,
             todo, query_duration(elapsed, b1, sizeof b1),
             per >= 0 ? query_duration(left * per / par, b3, sizeof b3)
                      : "?");

    if (g->lines) fprintf(stderr, "\033[%dA", g->lines);
    for (int i = 0; i < nl; i++)
        fprintf(stderr, "\r\033[K%.*s\n", g->width - 1, lines[i]);
    if (nl < g->lines) fputs("\033[J", stderr);
    fflush(stderr);
    g->lines = nl;
    return 0;
}

/* The ETA of the rest of the grid from counts c: the points not yet
 * settled times the mean wall time of a finished point, over the workers.
 * Into buf ("?" when unknown).  Returns buf. */
static const char *grid_eta(const GridProgress *g, const GridCounts *c,
                            char *buf, size_t n) {
    int todo = c->n - c->finished - c->diverged - c->failed;
    int par = g->workers > 0 ? g->workers : 1;
    if (todo < 0) todo = 0;
    if (c->mean_wall < 0) return snprintf(buf, n, "?"), buf;
    return query_duration(todo * c->mean_wall / par, buf, n);
}

int grid_progress_lines(GridProgress *g, const GridPlan *p,
                        const char *db_path) {
    char err[ERR_MAX], b1[32], b2[32];
    sqlite3_stmt *st = NULL;
    GridCounts c;
    int rc, printed = 0;
    double now = progress_monotonic();

    if (!g->seen && !(g->seen = mem_calloc(p->n ? p->n : 1, 1))) return -1;
    if (!g->h && db_open_query(&g->h, db_path, err)) return -1;
    if (grid_counts(g->h, p->experiment, &c)) return -1;
    rc = sqlite3_prepare_v2(g->h,
        "SELECT r.grid_point, r.status, r.result_test_rmse, r.epochs_done, "
        "r.seconds, r.id, (SELECT count(*) FROM runs x WHERE x.experiment = "
        "?1 AND x.status IN ('finished', 'diverged') AND x.finished_at <= "
        "r.finished_at) FROM runs r WHERE r.experiment = ?1 AND r.status IN "
        "('finished', 'diverged', 'failed') AND (julianday(r.finished_at) - "
        "2440587.5) * 86400.0 >= ?2 ORDER BY r.finished_at, r.grid_point",
        -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, p->experiment, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 2, g->since);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        sqlite3_int64 point = sqlite3_column_int64(st, 0);
        if (point < 0 || (size_t)point >= p->n || g->seen[point]) continue;
        g->seen[point] = 1;
        char rmse[32] = "-";
        if (sqlite3_column_type(st, 2) != SQLITE_NULL)
            snprintf(rmse, sizeof rmse, "%.4f", sqlite3_column_double(st, 2));
        fprintf(stderr, "%s: point %lld/%zu %s %s (run %lld): result RMSE %s, "
                        "%d epochs in %s; %d/%d done, ETA %s\n",
                p->experiment, point + 1, p->n, p->params[point],
                (const char *)sqlite3_column_text(st, 1),
                sqlite3_column_int64(st, 5), rmse, sqlite3_column_int(st, 3),
                query_duration(sqlite3_column_double(st, 4), b1, sizeof b1),
                sqlite3_column_int(st, 6), c.n,
                grid_eta(g, &c, b2, sizeof b2));
        printed++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return -1;
    if (printed) {
        g->last_line = now;
    } else if (g->every > 0 && now - g->last_line >= g->every) {
        fprintf(stderr, "%s: %d/%d done, %d running, %d failed, %s elapsed, "
                        "ETA %s\n",
                p->experiment, c.finished + c.diverged, c.n, c.running,
                c.failed, query_duration(now - g->started, b1, sizeof b1),
                grid_eta(g, &c, b2, sizeof b2));
        g->last_line = now;
    }
    fflush(stderr);
    return 0;
}

void grid_progress_end(GridProgress *g) {
    if (g->lines) {
        fprintf(stderr, "\033[%dA\r\033[J", g->lines);
        fflush(stderr);
        g->lines = 0;
    }
    sqlite3_close(g->h);
    g->h = NULL;
}

int grid_counts_print(sqlite3 *h, const char *experiment,
                      const char *db_path, FILE *out, int *complete,
                      char *err) {
    GridCounts c;
    char b[64];
    int rc = grid_counts(h, experiment, &c);
    if (rc)
        return err_set(err, rc > 0 ? "grid %s is not in %s"
                                   : "cannot read grid %s in %s",
                       experiment, db_path);
    fprintf(out, "grid %s: %d point%s: %d finished, %d diverged, %d failed, "
                 "%d interrupted, %d running, %d not run; %s in epochs\n",
            experiment, c.n, c.n == 1 ? "" : "s", c.finished, c.diverged,
            c.failed, c.interrupted, c.running, c.pending,
            query_duration(c.seconds, b, sizeof b));
    if (c.pruned)
        fprintf(out, "search %s: %d pruned; %lld epochs of the %lld a full "
                     "run of these trials takes (%.0f%%)\n", experiment,
                c.pruned, c.epochs_spent, c.epochs_full,
                c.epochs_full ? 100.0 * (double)c.epochs_spent /
                                    (double)c.epochs_full : 0.0);
    *complete = c.finished + c.diverged + c.pruned == c.n;
    return 0;
}

int grid_point_report(const GridPlan *p, const char *db_path, int64_t point,
                      FILE *out, int *status, char *err) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char b1[32], b2[32], b3[64];
    int rc, ret = -1;

    *status = EXIT_FAILED;
    if (db_open_query(&h, db_path, err)) goto done;
    if (query_prepare(h,
            "SELECT id, status, best_test_rmse, final_test_rmse, epochs_done,"
            " epochs, seconds, error, config_hash IS NOT ?3 FROM runs"
            " WHERE experiment = ?1 AND grid_point = ?2", &st, err))
        goto done;
    rc = sqlite3_bind_text(st, 1, p->experiment, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, point);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 3, p->hashes[point], -1, SQLITE_STATIC);
    rc = query_step(st, rc);
    if (rc == SQLITE_DONE) {
        fprintf(out, "grid %s: point %lld/%zu (%s): not run\n", p->experiment,
                (long long)point + 1, p->n, p->params[point]);
        ret = 0;
        goto done;
    }
    if (rc != SQLITE_ROW) {
        err_set(err, "cannot read grid %s in %s: %s", p->experiment, db_path,
                sqlite3_errmsg(h));
        goto done;
    }
    const char *s = (const char *)sqlite3_column_text(st, 1);
    fprintf(out, "grid %s: point %lld/%zu (%s): run %lld %s%s, best RMSE %s, "
                 "final RMSE %s, %d/%d epochs in %s%s%s\n",
            p->experiment, (long long)point + 1, p->n, p->params[point],
            sqlite3_column_int64(st, 0), s ? s : "?",
            sqlite3_column_int(st, 8) ? " (outdated)" : "",
            query_col(st, 2, "%.4f", b1, sizeof b1),
            query_col(st, 3, "%.4f", b2, sizeof b2),
            sqlite3_column_int(st, 4), sqlite3_column_int(st, 5),
            query_duration(sqlite3_column_double(st, 6), b3, sizeof b3),
            sqlite3_column_type(st, 7) != SQLITE_NULL ? ": " : "",
            sqlite3_column_type(st, 7) != SQLITE_NULL
                ? (const char *)sqlite3_column_text(st, 7) : "");
    if (s && (!strcmp(s, "finished") || !strcmp(s, "diverged") ||
              !strcmp(s, "pruned")))
        *status = EXIT_OK;
    else if (s && !strcmp(s, "interrupted"))
        *status = EXIT_SIGTERM;
    ret = 0;
done:
    sqlite3_finalize(st);
    sqlite3_close(h);
    return ret;
}

int grid_summary_print(const GridPlan *p, const char *db_path, FILE *out,
                       int *complete, char *err) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    QTable t;
    char b[64];
    int rc, ret = -1, rank = 0, nfail = 0, full = 0;

    *complete = 0;
    qt_init(&t, 10);
    if (db_open_query(&h, db_path, err)) goto done;
    if (grid_counts_print(h, p->experiment, db_path, out, &full, err))
        goto done;
    static const char *const heads[] = {"rank", "run", "point", "params",
                                        "status", "result RMSE",
                                        "best-epoch RMSE", "final RMSE",
                                        "epochs", "time"};
    /* a search ranks its trials by validation: finished ones first, by
     * selected validation RMSE, with the test RMSE at that epoch */
    static const char *const search_heads[] = {
        "rank", "run", "point", "params", "status", "val RMSE", "@",
        "test RMSE", "epochs", "time"};
    static const int right[] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
    int search = p->grid.zip || p->base.search_pruner != PRUNER_NONE;
    for (int k = 0; k < 10; k++)
        qt_head(&t, k, search ? search_heads[k] : heads[k], right[k]);
    if (query_prepare(h, search
            ? "SELECT r.id, r.grid_point, p.params, r.status, "
              "r.selected_val_rmse, r.selected_epoch, r.selected_test_rmse, "
              "r.epochs_done, r.epochs, r.seconds, r.error FROM runs r LEFT "
              "JOIN grid_points p ON p.experiment = r.experiment AND p.point "
              "= r.grid_point WHERE r.experiment = ?1 ORDER BY r.status != "
              "'finished', r.selected_val_rmse IS NULL, r.selected_val_rmse, "
              "r.grid_point"
            : "SELECT r.id, r.grid_point, p.params, r.status,"
              " r.result_test_rmse, r.best_test_rmse, r.final_test_rmse,"
              " r.epochs_done, r.epochs, r.seconds, r.error FROM runs r"
              " LEFT JOIN grid_points p ON p.experiment = r.experiment AND"
              " p.point = r.grid_point WHERE r.experiment = ?1 ORDER BY"
              " r.result_test_rmse IS NULL, r.result_test_rmse, r.grid_point",
            &st, err))
        goto done;
    rc = sqlite3_bind_text(st, 1, p->experiment, -1, SQLITE_STATIC);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        qt_row(&t);
        qt_set(&t, 0, "%d", ++rank);
        qt_set(&t, 1, "%lld", sqlite3_column_int64(st, 0));
        qt_set(&t, 2, "%lld/%zu", sqlite3_column_int64(st, 1) + 1, p->n);
        qt_set(&t, 3, "%s", query_col(st, 2, NULL, b, sizeof b));
        qt_set(&t, 4, "%s", query_col(st, 3, NULL, b, sizeof b));
        qt_set(&t, 5, "%s", query_col(st, 4, "%.4f", b, sizeof b));
        /* a search's column 6 is the selected epoch */
        qt_set(&t, 6, "%s", query_col(st, 5, search ? NULL : "%.4f", b,
                                      sizeof b));
        qt_set(&t, 7, "%s", query_col(st, 6, "%.4f", b, sizeof b));
        qt_set(&t, 8, "%d/%d", sqlite3_column_int(st, 7),
               sqlite3_column_int(st, 8));
        qt_set(&t, 9, "%s", query_duration(sqlite3_column_double(st, 9), b,
                                           sizeof b));
        nfail += sqlite3_column_type(st, 10) != SQLITE_NULL;
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot read grid %s: %s", p->experiment,
                sqlite3_errmsg(h));
        goto done;
    }
    if (rank && qt_print(&t, out)) {
        err_set(err, "out of memory printing the summary");
        goto done;
    }
    if (nfail) {   /* the errors recorded with failed or diverged points */
        sqlite3_reset(st);
        fprintf(out, "errors:\n");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            if (sqlite3_column_type(st, 10) != SQLITE_NULL)
                fprintf(out, "  point %lld/%zu (run %lld, %s): %s\n",
                        sqlite3_column_int64(st, 1) + 1, p->n,
                        sqlite3_column_int64(st, 0),
                        (const char *)sqlite3_column_text(st, 3),
                        (const char *)sqlite3_column_text(st, 10));
    }
    if (search) {
        const char *dbopt = strcmp(db_path, CLI_DEFAULT_DB) ? " --db " : "";
        if (query_search_print(h, p->experiment, out, err) < 0) goto done;
        fprintf(out, "next: autorec plot --search %s -o search.png%s%s\n",
                p->experiment, dbopt, *dbopt ? db_path : "");
    } else if (p->n_splits > 1) {
        const char *dbopt = strcmp(db_path, CLI_DEFAULT_DB) ? " --db " : "";
        fprintf(out, "split summaries (selected and refit test RMSE over the %d splits "
                     "of each configuration; 95%% CI: Student t):\n",
                p->n_splits);
        if (query_summary_print(h, p->experiment, QFMT_TABLE, out, err) < 0) goto done;
        fprintf(out, "next: autorec summary --experiment %s%s%s\n",
                p->experiment, dbopt, *dbopt ? db_path : "");
    } else if (p->grid.naxes >= 1) {
        const char *dbopt = strcmp(db_path, CLI_DEFAULT_DB) ? " --db " : "";
        fprintf(out, "next: autorec best --experiment %s --by ", p->experiment);
        for (int a = 0; a < p->grid.naxes && a < 2; a++) {
            const char *key = p->grid.axes[a].key, *dot = strrchr(key, '.');
            if (dot && query_key(dot + 1)) key = dot + 1;   /* "hidden" */
            fprintf(out, "%s%s", a ? "," : "", key);
        }
        fprintf(out, "%s%s\n", dbopt, *dbopt ? db_path : "");
    }
    *complete = full;
    ret = 0;
done:
    sqlite3_finalize(st);
    sqlite3_close(h);
    qt_free(&t);
    return ret;
}
