/* merge.c - `autorec merge`: shard databases into one results database
 * (see merge.h for the rules).
 *
 * The target is opened with db_open first (creating or migrating it), then
 * through a plain connection that ATTACHes each shard in turn as schema
 * "shard".  The columns copied are those both sides have (pragma_table_info),
 * never a fixed list: shards and targets written by other schema versions
 * merge, and a column only one side knows keeps its default.
 *
 * No global mutable state. */
#include "merge.h"

#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg.h"
#include "cli.h"
#include "db.h"
#include "err.h"
#include "grid_progress.h"
#include "mem.h"
#include "query.h"

#define MERGE_MAX_DEPTH 8

void merge_usage(FILE *f) {
    fprintf(f,
"usage: autorec merge SHARD... [--into DB]\n"
"\n"
"Merges shard databases (written by the tasks of `autorec slurm`, one per\n"
"grid point) into the results database DB (default " CLI_DEFAULT_DB ").\n"
"A SHARD that is a directory stands for every *.db file below it, e.g.\n"
"  autorec merge runs/shards/grid-ml100k-ac970901434c\n"
"Each shard is merged in one transaction.  Merging is idempotent: a grid\n"
"run is keyed by (experiment, grid point), other runs by (name, host,\n"
"started_at); a shard's run replaces the database's only when it is newer\n"
"or more complete (a finished or diverged run beats any other status,\n"
"then the later start, then more epochs, then the later heartbeat), and\n"
"its epochs (refit epochs too) replace the old ones.  Merging the same\n"
"shard twice changes nothing.  Columns are copied by name (those both\n"
"databases have).  A copied run brings its stored predictions, an ensemble\n"
"run its members and weights, with run ids remapped to DB's.\n"
"\n"
"On NFS or Lustre, merge once the tasks have ended (squeue lists none).\n"
"At the end each experiment's counts are printed, with the points that\n"
"failed, were interrupted, still run or never ran; resubmit them with\n"
"autorec slurm CONFIG --resume.\n"
"exit status: 0 every shard merged, 1 a shard could not be merged (the\n"
"others are), 2 bad usage or a missing shard (nothing merged).\n");
}

/* ------------------------------------------------------------ columns -- */

/* The columns of table that schemas main and shard both have, in main's
 * order, leaving out `omit` (may be NULL): *names gets them as a quoted,
 * comma-separated list, *values the same list with column `subst` (may be
 * NULL) replaced by the parameter ?1.  Returns 0 (free both with
 * sqlite3_free), or -1 with err. */
static int merge_columns(sqlite3 *h, const char *table, const char *omit,
                         const char *subst, char **names, char **values,
                         char *err) {
    sqlite3_stmt *st = NULL;
    sqlite3_str *n = sqlite3_str_new(h), *v = sqlite3_str_new(h);
    int rc, count = 0, found = subst == NULL, ret = -1;

    *names = *values = NULL;
    rc = sqlite3_prepare_v2(h,
        "SELECT m.name FROM pragma_table_info(?1, 'main') m WHERE m.name IN "
        "(SELECT s.name FROM pragma_table_info(?1, 'shard') s) ORDER BY m.cid",
        -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, table, -1,
                                                SQLITE_STATIC);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        if (!c || (omit && !strcmp(c, omit))) continue;
        int is_subst = subst && !strcmp(c, subst);
        found |= is_subst;
        sqlite3_str_appendf(n, "%s\"%w\"", count ? ", " : "", c);
        if (is_subst) sqlite3_str_appendf(v, "%s?1", count ? ", " : "");
        else sqlite3_str_appendf(v, "%s\"%w\"", count ? ", " : "", c);
        count++;
    }
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot read the columns of table %s: %s", table,
                sqlite3_errmsg(h));
        goto done;
    }
    if (sqlite3_str_errcode(n) || sqlite3_str_errcode(v)) {
        err_set(err, "out of memory listing the columns of %s", table);
        goto done;
    }
    if (!count || !found) {
        err_set(err, "table %s of the shard shares no usable columns with "
                     "the target: is it an autorec database?", table);
        goto done;
    }
    ret = 0;
done:
    sqlite3_finalize(st);
    *names = sqlite3_str_finish(n);
    *values = sqlite3_str_finish(v);
    if (ret) {
        sqlite3_free(*names);
        sqlite3_free(*values);
        *names = *values = NULL;
    }
    return ret;
}

/* The SQL statements merging one shard (their column lists depend on it). */
typedef struct {
    sqlite3_stmt *experiments, *points;   /* insert the missing ones */
    sqlite3_stmt *runs;                   /* the shard's run ids */
    sqlite3_stmt *find;    /* ?1 shard run -> target run, shard row newer? */
    sqlite3_stmt *insert;  /* ?1 shard run */
    sqlite3_stmt *update;  /* ?1 target run <- ?2 shard run */
    sqlite3_stmt *epochs_delete;          /* ?1 target run */
    sqlite3_stmt *epochs_copy;            /* ?1 target run <- ?2 shard run */
    sqlite3_stmt *refit_delete, *refit_copy;   /* the same for refit_epochs */
    sqlite3_stmt *map;     /* temp.merge_ids: ?1 shard run -> ?2 target run,
                            * ?3 copied (1) or kept (0) */
    sqlite3_stmt *pred_delete, *pred_copy;     /* run_predictions, per run */
    sqlite3_stmt *members_delete, *members_copy;   /* ensemble_members of
                            * the copied ensemble runs, ids remapped */
    sqlite3_stmt *cands_delete, *cands_copy;   /* and ensemble_candidates */
} MergeSql;

static void merge_sql_free(MergeSql *m) {
    sqlite3_finalize(m->experiments);
    sqlite3_finalize(m->points);
    sqlite3_finalize(m->runs);
    sqlite3_finalize(m->find);
    sqlite3_finalize(m->insert);
    sqlite3_finalize(m->update);
    sqlite3_finalize(m->epochs_delete);
    sqlite3_finalize(m->epochs_copy);
    sqlite3_finalize(m->refit_delete);
    sqlite3_finalize(m->refit_copy);
    sqlite3_finalize(m->map);
    sqlite3_finalize(m->pred_delete);
    sqlite3_finalize(m->pred_copy);
    sqlite3_finalize(m->members_delete);
    sqlite3_finalize(m->members_copy);
    sqlite3_finalize(m->cands_delete);
    sqlite3_finalize(m->cands_copy);
    memset(m, 0, sizeof *m);
}

/* A status that is a result: never replaced by a rerun's other status. */
#define MERGE_FINAL(r) "(" r ".status IN " DB_FINAL_STATUSES ")"
#define MERGE_RANK(r)                                                      \
    "(" MERGE_FINAL(r) ", " r ".started_at, " r ".epochs_done, "          \
    "coalesce(" r ".heartbeat_at, 0))"

/* Prepares *m for the attached shard.  Returns 0 or -1 with err. */
static int merge_sql_make(sqlite3 *h, MergeSql *m, char *err) {
    char *xn = NULL, *xv = NULL, *pn = NULL, *pv = NULL, *rn = NULL,
         *rv = NULL, *en = NULL, *ev = NULL, *fn = NULL, *fv = NULL,
         *dn = NULL, *dv = NULL, *sql = NULL;
    int ret = -1;
    memset(m, 0, sizeof *m);
    if (merge_columns(h, "experiments", NULL, NULL, &xn, &xv, err) ||
        merge_columns(h, "grid_points", NULL, NULL, &pn, &pv, err) ||
        merge_columns(h, "runs", "id", NULL, &rn, &rv, err) ||
        merge_columns(h, "epochs", NULL, "run_id", &en, &ev, err) ||
        merge_columns(h, "refit_epochs", NULL, "run_id", &fn, &fv, err) ||
        merge_columns(h, "run_predictions", NULL, "run_id", &dn, &dv, err))
        goto done;
#define PREP(stmt, ...)                                                    \
    do {                                                                   \
        sqlite3_free(sql);                                                 \
        if (!(sql = sqlite3_mprintf(__VA_ARGS__))) {                       \
            err_set(err, "out of memory preparing the merge");             \
            goto done;                                                     \
        }                                                                  \
        if (query_prepare(h, sql, &(stmt), err)) goto done;                \
    } while (0)
    PREP(m->experiments, "INSERT INTO main.experiments(%s) SELECT %s FROM "
         "shard.experiments WHERE true ON CONFLICT(id) DO NOTHING", xn, xv);
    PREP(m->points, "INSERT INTO main.grid_points(%s) SELECT %s FROM "
         "shard.grid_points WHERE true ON CONFLICT(experiment, point) DO "
         "NOTHING", pn, pv);
    PREP(m->runs, "SELECT id, experiment FROM shard.runs ORDER BY id");
    PREP(m->find, "SELECT t.id, " MERGE_RANK("s") " > " MERGE_RANK("t")
         " FROM shard.runs s JOIN main.runs t ON CASE WHEN s.experiment IS "
         "NOT NULL AND s.grid_point IS NOT NULL THEN t.experiment = "
         "s.experiment AND t.grid_point = s.grid_point ELSE t.grid_point IS "
         "NULL AND t.experiment IS NULL AND t.name = s.name AND t.host IS "
         "s.host AND t.started_at = s.started_at END WHERE s.id = ?1 "
         "ORDER BY t.id LIMIT 1");
    PREP(m->insert, "INSERT INTO main.runs(%s) SELECT %s FROM shard.runs "
         "WHERE id = ?1", rn, rv);
    PREP(m->update, "UPDATE main.runs SET (%s) = (SELECT %s FROM shard.runs "
         "WHERE id = ?2) WHERE id = ?1", rn, rv);
    PREP(m->epochs_delete, "DELETE FROM main.epochs WHERE run_id = ?1");
    PREP(m->epochs_copy, "INSERT INTO main.epochs(%s) SELECT %s FROM "
         "shard.epochs WHERE run_id = ?2 ORDER BY epoch", en, ev);
    PREP(m->refit_delete, "DELETE FROM main.refit_epochs WHERE run_id = ?1");
    PREP(m->refit_copy, "INSERT INTO main.refit_epochs(%s) SELECT %s FROM "
         "shard.refit_epochs WHERE run_id = ?2 ORDER BY epoch", fn, fv);
    PREP(m->map, "INSERT INTO temp.merge_ids(src, dst, copied) "
         "VALUES (?1, ?2, ?3)");
    PREP(m->pred_delete, "DELETE FROM main.run_predictions WHERE run_id = ?1");
    PREP(m->pred_copy, "INSERT INTO main.run_predictions(%s) SELECT %s FROM "
         "shard.run_predictions WHERE run_id = ?2", dn, dv);
    PREP(m->members_delete, "DELETE FROM main.ensemble_members WHERE "
         "ensemble_run IN (SELECT dst FROM temp.merge_ids WHERE copied)");
    /* a member the shard lacks maps to NULL: the NOT NULL constraint fails
     * the shard's merge rather than dropping the row */
    PREP(m->members_copy, "INSERT INTO main.ensemble_members(ensemble_run, "
         "position, member_run, weight, label) SELECT e.dst, s.position, "
         "m.dst, s.weight, s.label FROM shard.ensemble_members s JOIN "
         "temp.merge_ids e ON e.src = s.ensemble_run AND e.copied LEFT JOIN "
         "temp.merge_ids m ON m.src = s.member_run ORDER BY 1, 2");
    PREP(m->cands_delete, "DELETE FROM main.ensemble_candidates WHERE "
         "ensemble_run IN (SELECT dst FROM temp.merge_ids WHERE copied)");
    PREP(m->cands_copy, "INSERT INTO main.ensemble_candidates(ensemble_run, "
         "position, candidate, candidate_run, val_rmse, chosen, label) "
         "SELECT e.dst, s.position, s.candidate, m.dst, s.val_rmse, s.chosen, "
         "s.label FROM shard.ensemble_candidates s JOIN temp.merge_ids e ON "
         "e.src = s.ensemble_run AND e.copied LEFT JOIN temp.merge_ids m ON "
         "m.src = s.candidate_run ORDER BY 1, 2, 3");
#undef PREP
    ret = 0;
done:
    sqlite3_free(sql);
    sqlite3_free(xn); sqlite3_free(xv);
    sqlite3_free(pn); sqlite3_free(pv);
    sqlite3_free(rn); sqlite3_free(rv);
    sqlite3_free(en); sqlite3_free(ev);
    sqlite3_free(fn); sqlite3_free(fv);
    sqlite3_free(dn); sqlite3_free(dv);
    if (ret) merge_sql_free(m);
    return ret;
}

/* Steps a no-row statement with bound parameters ?1 = a, ?2 = b (b < 0:
 * not bound), then resets it.  Returns an SQLite result code. */
static int merge_exec(sqlite3_stmt *st, sqlite3_int64 a, sqlite3_int64 b) {
    int rc = sqlite3_bind_int64(st, 1, a);
    if (rc == SQLITE_OK && b >= 0) rc = sqlite3_bind_int64(st, 2, b);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Records in temp.merge_ids that shard run src is target run dst, copied
 * (1) or kept (0).  Returns an SQLite result code. */
static int merge_map(MergeSql *m, sqlite3_int64 src, sqlite3_int64 dst,
                     int copied) {
    int rc = sqlite3_bind_int(m->map, 3, copied);
    if (rc == SQLITE_OK) rc = merge_exec(m->map, src, dst);
    return rc;
}

/* Copies the ensemble_members and ensemble_candidates rows of the shard's
 * copied ensemble runs (replacing the target's rows of those runs), every
 * run id remapped through temp.merge_ids, once every run is mapped.
 * Returns an SQLite result code. */
static int merge_members(sqlite3 *h, MergeSql *m, MergeStats *s) {
    int rc = sqlite3_step(m->members_delete);
    sqlite3_reset(m->members_delete);
    if (rc != SQLITE_DONE) return rc;
    rc = sqlite3_step(m->members_copy);
    sqlite3_reset(m->members_copy);
    if (rc != SQLITE_DONE) return rc;
    s->members += sqlite3_changes(h);
    rc = sqlite3_step(m->cands_delete);
    sqlite3_reset(m->cands_delete);
    if (rc != SQLITE_DONE) return rc;
    rc = sqlite3_step(m->cands_copy);
    sqlite3_reset(m->cands_copy);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Merges the shard's runs, their epochs and stored predictions into main,
 * then the ensembles' member rows (inside the caller's transaction).
 * Returns an SQLite result code. */
static int merge_runs(sqlite3 *h, MergeSql *m, MergeStats *s) {
    int rc;
    while ((rc = sqlite3_step(m->runs)) == SQLITE_ROW) {
        sqlite3_int64 src = sqlite3_column_int64(m->runs, 0), dst = -1;
        int newer = 0;
        rc = sqlite3_bind_int64(m->find, 1, src);
        if (rc == SQLITE_OK) rc = sqlite3_step(m->find);
        if (rc == SQLITE_ROW) {
            dst = sqlite3_column_int64(m->find, 0);
            newer = sqlite3_column_int(m->find, 1);
            rc = SQLITE_DONE;
        }
        sqlite3_reset(m->find);
        sqlite3_clear_bindings(m->find);
        if (rc != SQLITE_DONE) break;
        if (dst >= 0 && !newer) {
            s->runs_kept++;
            if ((rc = merge_map(m, src, dst, 0)) != SQLITE_OK) break;
            continue;
        }
        if (dst < 0) {
            rc = merge_exec(m->insert, src, -1);
            if (rc != SQLITE_OK) break;
            dst = sqlite3_last_insert_rowid(h);
            s->runs_new++;
        } else {
            rc = merge_exec(m->epochs_delete, dst, -1);
            if (rc == SQLITE_OK) rc = merge_exec(m->refit_delete, dst, -1);
            if (rc == SQLITE_OK) rc = merge_exec(m->pred_delete, dst, -1);
            if (rc == SQLITE_OK) rc = merge_exec(m->update, dst, src);
            if (rc != SQLITE_OK) break;
            s->runs_replaced++;
        }
        rc = merge_exec(m->epochs_copy, dst, src);
        if (rc != SQLITE_OK) break;
        s->epochs += sqlite3_changes(h);
        rc = merge_exec(m->refit_copy, dst, src);
        if (rc != SQLITE_OK) break;
        s->epochs += sqlite3_changes(h);
        rc = merge_exec(m->pred_copy, dst, src);
        if (rc != SQLITE_OK) break;
        s->predictions += sqlite3_changes(h);
        if ((rc = merge_map(m, src, dst, 1)) != SQLITE_OK) break;
    }
    sqlite3_reset(m->runs);
    if (rc != SQLITE_DONE) return rc;
    return merge_members(h, m, s);
}

int merge_shard(sqlite3 *h, const char *shard_path, MergeStats *st,
                char *err) {
    sqlite3 *probe = NULL;
    sqlite3_stmt *attach = NULL;
    MergeSql m;
    MergeStats add = {0};
    char why[ERR_MAX];
    int rc, attached = 0, ret = -1;

    memset(&m, 0, sizeof m);
    /* an autorec database of this or an older schema (then migrated) */
    if (db_open_query(&probe, shard_path, why)) {
        err_set(err, "%s", why);
        return -1;
    }
    sqlite3_close(probe);
    rc = sqlite3_prepare_v2(h, "ATTACH DATABASE ?1 AS shard", -1, &attach,
                            NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(attach, 1, shard_path, -1,
                                                SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_step(attach);
    sqlite3_finalize(attach);
    if (rc != SQLITE_DONE) {
        err_set(err, "cannot attach %s: %s", shard_path, sqlite3_errmsg(h));
        goto done;
    }
    attached = 1;
    /* the shard's run ids -> the target's, for the ensembles' rows */
    rc = sqlite3_exec(h, "CREATE TEMP TABLE IF NOT EXISTS merge_ids(src "
                      "INTEGER PRIMARY KEY, dst INTEGER NOT NULL, copied "
                      "INTEGER NOT NULL); DELETE FROM temp.merge_ids",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        err_set(err, "cannot merge %s: cannot create the table of run ids: "
                "%s", shard_path, sqlite3_errmsg(h));
        goto done;
    }
    if (merge_sql_make(h, &m, why)) {
        err_set(err, "cannot merge %s: %s", shard_path, why);
        goto done;
    }
    rc = sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(m.experiments);
    if (rc == SQLITE_DONE) rc = sqlite3_step(m.points);
    if (rc == SQLITE_DONE) rc = merge_runs(h, &m, &add);
    if (rc == SQLITE_OK) rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        err_set(err, "cannot merge %s into %s: %s (nothing of it was merged)",
                shard_path, sqlite3_db_filename(h, "main"), sqlite3_errmsg(h));
        if (!sqlite3_get_autocommit(h))
            sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
        goto done;
    }
    st->runs_new += add.runs_new;
    st->runs_replaced += add.runs_replaced;
    st->runs_kept += add.runs_kept;
    st->epochs += add.epochs;
    st->members += add.members;
    st->predictions += add.predictions;
    ret = 0;
done:
    merge_sql_free(&m);
    if (attached) sqlite3_exec(h, "DETACH DATABASE shard", NULL, NULL, NULL);
    return ret;
}

/* ------------------------------------------------------- the command -- */

typedef struct {
    char **v;
    size_t n, cap;
} MergeList;

static void merge_list_free(MergeList *l) {
    for (size_t i = 0; i < l->n; i++) mem_free(l->v[i]);
    mem_free(l->v);
    memset(l, 0, sizeof *l);
}

/* Appends a copy of s (unless unique and already there).  Returns 0 or -1
 * (out of memory, printed). */
static int merge_list_add(MergeList *l, const char *s, int unique) {
    for (size_t i = 0; unique && i < l->n; i++)
        if (!strcmp(l->v[i], s)) return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = mem_realloc(l->v, cap * sizeof *v);
        if (!v) goto oom;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = mem_strdup(s))) goto oom;
    l->n++;
    return 0;
oom:
    fprintf(stderr, "autorec merge: out of memory\n");
    return -1;
}

static int merge_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path to l: a file as it is, a directory as every *.db file below
 * it (sorted).  Returns 0, or -1 (printed: missing path, unreadable
 * directory, out of memory). */
static int merge_expand(MergeList *l, const char *path, int depth) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "autorec merge: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) return merge_list_add(l, path, 1);
    if (depth >= MERGE_MAX_DEPTH) return 0;
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "autorec merge: %s: %s\n", path, strerror(errno));
        return -1;
    }
    MergeList here = {NULL, 0, 0};
    struct dirent *e;
    int ret = 0;
    while (ret == 0 && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.') continue;
        char *child = mem_alloc(strlen(path) + len + 2);
        if (!child) {
            fprintf(stderr, "autorec merge: out of memory\n");
            ret = -1;
            break;
        }
        sprintf(child, "%s/%s", path, e->d_name);
        if (stat(child, &sb) == 0 &&
            (S_ISDIR(sb.st_mode) ||
             (len > 3 && !strcmp(e->d_name + len - 3, ".db"))))
            ret = merge_list_add(&here, child, 0);
        mem_free(child);
    }
    closedir(d);
    if (here.n) qsort(here.v, here.n, sizeof *here.v, merge_cmp);
    for (size_t i = 0; ret == 0 && i < here.n; i++)
        ret = merge_expand(l, here.v[i], depth + 1);
    merge_list_free(&here);
    return ret;
}

/* Adds the experiment ids of the shard to l.  Returns 0 or -1. */
static int merge_shard_experiments(const char *shard, MergeList *l) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char err[ERR_MAX];
    int rc, ret = -1;
    if (db_open_query(&h, shard, err)) goto done;
    rc = sqlite3_prepare_v2(h, "SELECT id FROM experiments ORDER BY id", -1,
                            &st, NULL);
    while ((rc = query_step(st, rc)) == SQLITE_ROW)
        if (merge_list_add(l, (const char *)sqlite3_column_text(st, 0), 1))
            goto done;
    ret = rc == SQLITE_DONE ? 0 : -1;
done:
    sqlite3_finalize(st);
    sqlite3_close(h);
    return ret;
}

/* Recomputes the split summaries (repeats or folds) of experiment x in the
 * target: a shard holds one split of a configuration, so its own
 * split_summaries rows are partial and are not copied; each configuration's
 * row is computed again from the merged runs, as a worker does when a split
 * finishes.  h and db are connections to the target.  Returns 0 or -1 with
 * err. */
static int merge_summaries(sqlite3 *h, Db *db, const char *x, char *err) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h,
        "SELECT r.grid_point - r.split_index, min(r.config_yaml), "
        "min(p.params) FROM runs r LEFT JOIN grid_points p ON p.experiment = "
        "r.experiment AND p.point = r.grid_point - r.split_index "
        "WHERE r.experiment = ?1 AND r.split_index IS NOT NULL "
        "GROUP BY 1 ORDER BY 1", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        err_set(err, "cannot read the splits of %s: %s", x, sqlite3_errmsg(h));
        return -1;
    }
    sqlite3_bind_text(st, 1, x, -1, SQLITE_STATIC);
    int ret = 0;
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *yaml = (const char *)sqlite3_column_text(st, 1);
        const char *label = (const char *)sqlite3_column_text(st, 2);
        Config c;
        char why[ERR_MAX];
        cfg_defaults(&c);
        if (!yaml || cfg_load_string(&c, yaml, "runs.config_yaml", why)) {
            ret = err_set(err, "experiment %s: the stored config of point %lld "
                          "does not load: %s", x,
                          (long long)sqlite3_column_int64(st, 0),
                          yaml ? why : "none");
            break;
        }
        /* the point's label without its last item, the split index */
        char *params = mem_strdup(label ? label : "");
        if (!params) { ret = err_set(err, "out of memory"); break; }
        char *cut = strrchr(params, ' ');
        *(cut ? cut : params) = '\0';
        ret = db_split_summary_update(db, x, sqlite3_column_int64(st, 0),
                                      cfg_split_count(&c), params, err);
        mem_free(params);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = err_set(err, "cannot read the splits of %s: %s", x,
                      sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return ret;
}

/* Prints the counts of experiment x in the target and its points that are
 * not final: failed, interrupted, running (with their errors), not run.
 * Sets *complete.  Returns 0 or -1 (printed). */
static int merge_report(sqlite3 *h, const char *db_path, const char *x,
                        int *complete) {
    sqlite3_stmt *st = NULL;
    char err[ERR_MAX];
    int rc, n = 0;
    if (grid_counts_print(h, x, db_path, stdout, complete, err)) {
        fprintf(stderr, "autorec merge: %s\n", err);
        return -1;
    }
    rc = sqlite3_prepare_v2(h,
        "SELECT p.point, coalesce(r.status, 'not run'), r.error FROM "
        "grid_points p LEFT JOIN runs r ON r.experiment = p.experiment AND "
        "r.grid_point = p.point WHERE p.experiment = ?1 AND "
        "coalesce(r.status, '') NOT IN " DB_FINAL_STATUSES " "
        "ORDER BY p.point", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, x, -1, SQLITE_STATIC);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        n++;
        printf("  point %lld: %s%s%s\n", sqlite3_column_int64(st, 0),
               (const char *)sqlite3_column_text(st, 1),
               sqlite3_column_type(st, 2) != SQLITE_NULL ? ": " : "",
               sqlite3_column_type(st, 2) != SQLITE_NULL
                   ? (const char *)sqlite3_column_text(st, 2) : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "autorec merge: cannot read grid %s in %s: %s\n", x,
                db_path, sqlite3_errmsg(h));
        return -1;
    }
    if (n)
        printf("  (points are 0-based, as grid_point and SLURM_ARRAY_TASK_ID;"
               " resubmit them with autorec slurm CONFIG --resume)\n");
    return 0;
}

/* The SHARD arguments of merge: ctx is a MergeArgs. */
typedef struct {
    const char **paths;   /* argc of them, owned */
    int n;
} MergeArgs;

/* CliSpec positional callback: appends shard path arg.  Returns 0. */
static int merge_arg(void *ctx, const char *arg) {
    MergeArgs *m = ctx;
    m->paths[m->n++] = arg;
    return 0;
}

int merge_main(int argc, char **argv) {
    const char *into = CLI_DEFAULT_DB;
    MergeArgs args = {mem_calloc((size_t)argc, sizeof *args.paths), 0};
    int r;
    const CliOpt opts[] = {
        {.name = "--into", .alias = "--db", .kind = CLI_TEXT, .dest = &into},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "merge", .usage = merge_usage, .opts = opts,
                    .positional = merge_arg, .ctx = &args,
                    .missing = "SHARD (e.g. autorec merge "
                               "runs/shards/EXPERIMENT)"};

    if (!args.paths) {
        fprintf(stderr, "autorec merge: out of memory\n");
        return EXIT_FAILED;
    }
    r = cli_parse(&spec, argc, argv);
    r = r ? cli_parse_status(r) : merge_run(args.paths, args.n, into);
    mem_free(args.paths);
    return r;
}

/* Prints ", N ensemble member rows, N predictions" after a count line
 * when an ensemble's rows were copied (nothing otherwise). */
static void merge_print_ensembles(const MergeStats *s) {
    if (s->members || s->predictions)
        printf(", %lld ensemble member rows, %lld run predictions",
               s->members, s->predictions);
}

int merge_run(const char *const *paths, int npaths, const char *into) {
    MergeList shards = {NULL, 0, 0}, exps = {NULL, 0, 0};
    MergeStats total = {0};
    Db *db = NULL;
    sqlite3 *h = NULL;
    char err[ERR_MAX];
    struct stat tsb;
    int rc = EXIT_USAGE, nfailed = 0, nmerged = 0;

    for (int i = 0; i < npaths; i++)
        if (merge_expand(&shards, paths[i], 0)) goto out;
    rc = EXIT_FAILED;
    if (db_open(&db, into, err)) goto fail;   /* creates or migrates it */
    db_report_created(db, "merge");
    db_close(db);
    db = NULL;
    if (stat(into, &tsb) != 0) {
        err_set(err, "%s: %s", into, strerror(errno));
        goto fail;
    }
    if (sqlite3_open_v2(into, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        err_set(err, "cannot open %s: %s", into,
                h ? sqlite3_errmsg(h) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(h, 10000);
    sqlite3_exec(h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    for (size_t i = 0; i < shards.n; i++) {
        const char *s = shards.v[i];
        struct stat sb;
        MergeStats one = {0};
        if (stat(s, &sb) == 0 && sb.st_dev == tsb.st_dev &&
            sb.st_ino == tsb.st_ino)
            continue;   /* the target itself (below a shard directory) */
        if (stat(s, &sb) == 0 && sb.st_size == 0) {
            printf("skipped %s: empty (its task stopped before writing)\n", s);
            continue;
        }
        if (merge_shard(h, s, &one, err)) {
            fprintf(stderr, "autorec merge: %s\n", err);
            nfailed++;
            continue;
        }
        printf("merged %s: %d new, %d replaced, %d kept, %lld epochs", s,
               one.runs_new, one.runs_replaced, one.runs_kept, one.epochs);
        merge_print_ensembles(&one);
        putchar('\n');
        nmerged++;
        total.runs_new += one.runs_new;
        total.runs_replaced += one.runs_replaced;
        total.runs_kept += one.runs_kept;
        total.epochs += one.epochs;
        total.members += one.members;
        total.predictions += one.predictions;
        if (merge_shard_experiments(s, &exps)) nfailed++;
    }
    printf("%zu shard%s merged into %s: %d runs new, %d replaced, %d kept, %lld "
           "epochs copied", (size_t)nmerged, nmerged == 1 ? "" : "s",
           into, total.runs_new,
           total.runs_replaced, total.runs_kept, total.epochs);
    merge_print_ensembles(&total);
    printf("%s\n", nfailed ? "; some shards failed (see above)" : "");
    if (exps.n && db_open(&db, into, err)) goto fail;
    for (size_t i = 0; i < exps.n; i++) {
        int complete;
        if (merge_summaries(h, db, exps.v[i], err)) {
            fprintf(stderr, "autorec merge: %s\n", err);
            nfailed++;
        }
        if (merge_report(h, into, exps.v[i], &complete)) nfailed++;
    }
    rc = nfailed ? EXIT_FAILED : EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec merge: %s\n", err);
out:
    sqlite3_close(h);
    db_close(db);
    merge_list_free(&shards);
    merge_list_free(&exps);
    return rc;
}
