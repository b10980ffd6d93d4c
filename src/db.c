/* db.c - the SQLite results database (see db.h).
 *
 * One Db holds one connection and its prepared statements, prepared once in
 * db_open and finalized in db_close.  Functions return 0 on success and -1
 * on failure with a message (naming the database path and saying what to
 * do) in the caller's err buffer.  Opening refuses, before changing anything
 * in the file, files that are not SQLite, SQLite databases that are not
 * autorec's, and databases written by a newer schema version; a database
 * of any older schema (1 to DB_SCHEMA_VERSION - 1) is migrated to the
 * current one in one transaction (db_upgrade, one step per version).  The
 * schema a new database gets is printed by `autorec help schema`
 * (docs/schema.md, generated).
 *
 * Grid support: a grid's points are rows of grid_points; db_grid_claim picks
 * and takes one point inside a BEGIN IMMEDIATE transaction, so concurrent
 * workers (threads or processes, each with its own connection) never run
 * the same point twice, and UNIQUE(experiment, grid_point) makes a
 * duplicate row impossible even if that logic were wrong.
 *
 * No global mutable state. */
#include "db.h"

#include "activation.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "err.h"
#include "mem.h"
#include "stats.h"
#include "stop.h"

#define DB_NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
/* BEGIN IMMEDIATE and single writes are retried this many times after the
 * 10 s busy timeout expired, so a busy database means waiting, not failing */
#define DB_BUSY_RETRIES 30
#define DB_BUSY_TIMEOUT_MS 10000   /* busy timeout of every connection */
/* Once a stop signal is pending (stop.h), a statement waits at most this
 * long more for a lock: long enough to record an interruption when the
 * other writer lets go soon, short enough that SIGTERM is acted on within a
 * second (Slurm's grace period) however long the lock is held. */
#define DB_STOP_GRACE_MS 400

/* The binding order of DbRunInfo (db_bind_info): ?1 name, ?2 config_yaml,
 * ?3 host, ?4 threads, ?5 kernel, ?6 git_commit, ?7 blis_info, ?8
 * data_path, ?9 data_format, ?10 test_ratio, ?11 hidden, ?12 lr, ?13
 * weight_decay, ?14 dropout, ?15 epochs, ?16 batch_size, ?17 seed. */
#define DB_INFO_COLUMNS                                                    \
    "name, config_yaml, host, threads, kernel, git_commit, blis_info, "    \
    "data_path, data_format, test_ratio, hidden, lr, weight_decay, "       \
    "dropout, epochs, batch_size, seed"
#define DB_INFO_SET                                                        \
    "name = ?1, config_yaml = ?2, host = ?3, threads = ?4, kernel = ?5, "  \
    "git_commit = ?6, blis_info = ?7, data_path = ?8, data_format = ?9, "  \
    "test_ratio = ?10, hidden = ?11, lr = ?12, weight_decay = ?13, "       \
    "dropout = ?14, epochs = ?15, batch_size = ?16, seed = ?17"

/* Schema 4: the columns of runs that record a Config's protocol options,
 * so that queries can filter and group on them.  Adding one is one line in
 * db_config_columns (name, SQL type, the schema version that adds it, its
 * binder) and one binder: db_open builds the INSERT/UPDATE statements, the
 * migration adds the column (ALTER TABLE) and run_summary shows it.  Their
 * parameters are numbered from DB_EXTRA_FIRST on, after the fixed ones. */
#define DB_EXTRA_FIRST 21

typedef int (*DbBindFn)(sqlite3_stmt *st, int i, const Config *c);

static int db_bind_opt_double(sqlite3_stmt *st, int i, int present,
                              double v) {
    return present ? sqlite3_bind_double(st, i, v) : sqlite3_bind_null(st, i);
}
static int db_bind_name(sqlite3_stmt *st, int i, const char *name) {
    return sqlite3_bind_text(st, i, name, -1, SQLITE_STATIC);
}
static int db_b_l2(sqlite3_stmt *s, int i, const Config *c) {
    return sqlite3_bind_double(s, i, c->l2);
}
static int db_b_optimizer(sqlite3_stmt *s, int i, const Config *c) {
    return db_bind_name(s, i, cfg_optimizer_name(c->optimizer));
}
static int db_b_val_ratio(sqlite3_stmt *s, int i, const Config *c) {
    return sqlite3_bind_double(s, i, c->validation_ratio);
}
static int db_b_schedule(sqlite3_stmt *s, int i, const Config *c) {
    return db_bind_name(s, i, cfg_schedule_name(c->schedule));
}
static int db_b_patience(sqlite3_stmt *s, int i, const Config *c) {
    return sqlite3_bind_int(s, i, c->patience);
}
static int db_b_cold(sqlite3_stmt *s, int i, const Config *c) {
    return db_bind_opt_double(s, i, c->cold_default > 0, c->cold_default);
}
static int db_b_split_kind(sqlite3_stmt *s, int i, const Config *c) {
    return db_bind_name(s, i, cfg_split_name(c->split_kind));
}
/* the seed actually used by a split: NULL when no random split is made */
static int db_b_split_seed(sqlite3_stmt *s, int i, const Config *c) {
    if (c->split_kind != SPLIT_RANDOM && c->validation_ratio == 0)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_int64(s, i, (sqlite3_int64)cfg_split_seed(c));
}
/* NULL for a config with one split (and index 0) */
static int db_b_split_index(sqlite3_stmt *s, int i, const Config *c) {
    if (cfg_split_count(c) == 1 && c->split_index == 0)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_int(s, i, c->split_index);
}
/* the hidden widths, "500" or "500,250,500" */
static int db_b_layers(sqlite3_stmt *s, int i, const Config *c) {
    char b[CFG_HIDDEN_MAX * 12];
    size_t len = (size_t)snprintf(b, sizeof b, "%d", c->hidden);
    for (int k = 0; k < c->hidden_more && len < sizeof b; k++)
        len += (size_t)snprintf(b + len, sizeof b - len, ",%d",
                                c->hidden_rest[k]);
    return sqlite3_bind_text(s, i, b, -1, SQLITE_TRANSIENT);
}
static int db_b_encoder(sqlite3_stmt *s, int i, const Config *c) {
    return db_bind_name(s, i, activation_name((Activation)c->act_encoder));
}
static int db_b_decoder(sqlite3_stmt *s, int i, const Config *c) {
    return db_bind_name(s, i, activation_name((Activation)c->act_decoder));
}
static int db_b_refit(sqlite3_stmt *s, int i, const Config *c) {
    return sqlite3_bind_int(s, i, c->refit != 0);
}
static int db_b_variant(sqlite3_stmt *s, int i, const Config *c) {
    return db_bind_name(s, i, cfg_variant_name(c->variant));
}
/* "none", "auto" or "[lo, hi]" */
static int db_b_clip(sqlite3_stmt *s, int i, const Config *c) {
    char b[80];
    if (c->clip.mode == CLIP_RANGE)
        snprintf(b, sizeof b, "[%.17g, %.17g]", c->clip.lo, c->clip.hi);
    else
        snprintf(b, sizeof b, "%s", c->clip.mode == CLIP_AUTO ? "auto"
                                                              : "none");
    return sqlite3_bind_text(s, i, b, -1, SQLITE_TRANSIENT);
}

/* runs.peak_rss_mb is an outcome, not a config value: NULL when the run
 * starts (or a grid point restarts), set by db_run_set_peak_rss. */
static int db_b_peak_rss(sqlite3_stmt *s, int i, const Config *c) {
    (void)c;
    return sqlite3_bind_null(s, i);
}

static const struct {
    const char *name, *type;
    int since;        /* schema version that added the column */
    DbBindFn bind;
} db_config_columns[] = {
    {"l2", "REAL", 4, db_b_l2},
    {"optimizer", "TEXT", 4, db_b_optimizer},
    {"validation_ratio", "REAL", 4, db_b_val_ratio},
    {"split_seed", "INTEGER", 4, db_b_split_seed},
    {"schedule", "TEXT", 4, db_b_schedule},
    {"patience", "INTEGER", 4, db_b_patience},
    {"clip", "TEXT", 4, db_b_clip},
    {"cold_default", "REAL", 4, db_b_cold},
    {"split_kind", "TEXT", 4, db_b_split_kind},
    {"split_index", "INTEGER", 4, db_b_split_index},
    {"variant", "TEXT", 4, db_b_variant},
    {"layers", "TEXT", 4, db_b_layers},
    {"encoder", "TEXT", 4, db_b_encoder},
    {"decoder", "TEXT", 4, db_b_decoder},
    {"refit", "INTEGER", 5, db_b_refit},
    {"peak_rss_mb", "REAL", 6, db_b_peak_rss},
};
#define DB_NCONFIG_COLUMNS \
    ((int)(sizeof db_config_columns / sizeof db_config_columns[0]))

/* Schema 6: result columns of runs that the run writes as it goes (not
 * from its Config): added by the migration like the config columns, shown
 * by run_summary.  result_test_rmse is the run's honest test RMSE: the
 * refit's if a refit ran, else the validation-selected epoch's (the last
 * epoch's without validation); DB_RESULT_BACKFILL fills it for older runs. */
static const struct {
    const char *name, *type;
    int since;
} db_result_columns[] = {
    {"result_test_rmse", "REAL", 6},
    {"pruned_epoch", "INTEGER", 6},   /* search.pruner: the epoch it stopped */
    {"pruned_reason", "TEXT", 6},     /* and why */
};
#define DB_NRESULT_COLUMNS \
    ((int)(sizeof db_result_columns / sizeof db_result_columns[0]))
#define DB_RESULT_EXPR \
    "coalesce(refit_test_rmse, selected_test_rmse, final_test_rmse)"
static const char db_migrate_v6[] =
    "UPDATE runs SET result_test_rmse = " DB_RESULT_EXPR ";\n";

/* How db_config_sql lists the config columns. */
enum { DB_COLS_NAMES, DB_COLS_PARAMS, DB_COLS_SET, DB_COLS_VIEW };

/* Writes ", l2, optimizer, ..." (NAMES), ", ?21, ?22, ..." (PARAMS) or
 * ", l2 = ?21, ..." (SET) into out (size n). */
static void db_config_sql(char *out, size_t n, int mode) {
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < DB_NCONFIG_COLUMNS && len < n; k++) {
        const char *c = db_config_columns[k].name;
        int p = DB_EXTRA_FIRST + k;
        int w = mode == DB_COLS_NAMES || mode == DB_COLS_VIEW ? snprintf(out + len, n - len, ", %s", c)
                : mode == DB_COLS_PARAMS
                    ? snprintf(out + len, n - len, ", ?%d", p)
                    : snprintf(out + len, n - len, ", %s = ?%d", c, p);
        len += (size_t)w;
    }
    for (int k = 0; mode == DB_COLS_VIEW && k < DB_NRESULT_COLUMNS; k++)
        len += (size_t)snprintf(out + len, n - len, ", %s",
                                db_result_columns[k].name);
    assert(len < n);
}

struct Db {
    sqlite3 *db;
    char *path;                 /* owned copy of the path, for messages */
    int created;                /* 1: db_open created its schema (a new or
                                   empty file) */
    int has_file;               /* 0: in memory or a URI, no identity */
    dev_t dev;                  /* the file's identity when opened */
    ino_t ino;
    sqlite3_stmt *run_insert;
    sqlite3_stmt *epoch_insert;
    sqlite3_stmt *run_update_epoch;
    sqlite3_stmt *run_end;
    sqlite3_stmt *run_set_info;
    sqlite3_stmt *run_checkpoint;
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *heartbeat_run;
    int busy_waited_ms;         /* db_busy: waited for the current lock */
    int busy_stop_ms;           /* busy_waited_ms when the stop was seen, or -1 */
    /* grids */
    char *worker;               /* owned; NULL unless db_set_worker */
    sqlite3_stmt *exp_insert, *point_upsert;
    sqlite3_stmt *claim_settled, *claim_pick, *claim_running;
    sqlite3_stmt *claim_insert, *claim_retake, *epochs_delete;
    sqlite3_stmt *refit_epochs_delete;
    sqlite3_stmt *refit_insert, *run_update_refit;
    sqlite3_stmt *heartbeat, *worker_lost;
    sqlite3_stmt *summary_runs, *summary_put;
};

static const char db_schema[] =
    "CREATE TABLE runs(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  status TEXT NOT NULL CHECK(status IN ('running','finished','failed',"
    "'interrupted','diverged')),\n"
    "  config_yaml TEXT,\n"
    "  started_at TEXT NOT NULL,\n"
    "  finished_at TEXT,\n"
    "  host TEXT,\n"
    "  threads INTEGER,\n"
    "  kernel TEXT,\n"
    "  git_commit TEXT,\n"
    "  blis_info TEXT,\n"
    "  data_path TEXT,\n"
    "  data_format TEXT,\n"
    "  test_ratio REAL,\n"
    "  hidden INTEGER,\n"
    "  lr REAL,\n"
    "  weight_decay REAL,\n"
    "  dropout REAL,\n"
    "  epochs INTEGER,\n"
    "  batch_size INTEGER,\n"
    "  seed INTEGER,\n"
    "  final_test_rmse REAL,\n"
    "  best_test_rmse REAL,\n"
    "  best_epoch INTEGER\n"
    ");\n"
    "CREATE TABLE epochs(\n"
    "  run_id INTEGER NOT NULL,\n"
    "  epoch INTEGER NOT NULL CHECK(epoch >= 1),\n"
    "  train_loss REAL,\n"
    "  test_rmse REAL,\n"
    "  train_seconds REAL,\n"
    "  eval_seconds REAL,\n"
    "  PRIMARY KEY(run_id, epoch),\n"
    "  FOREIGN KEY(run_id) REFERENCES runs(id)\n"
    ");\n"
    "CREATE INDEX runs_status ON runs(status);\n"
    "CREATE INDEX runs_name ON runs(name);\n";

/* Schema 1 -> 2: grid columns, denormalised epochs_done and seconds (so the
 * views never aggregate the epochs table), experiments and their points,
 * indexes and views.  Also applied, after db_schema, to a new file. */
static const char db_migrate_v2[] =
    "ALTER TABLE runs ADD COLUMN experiment TEXT;\n"
    "ALTER TABLE runs ADD COLUMN grid_point INTEGER;\n"
    "ALTER TABLE runs ADD COLUMN grid_size INTEGER;\n"
    "ALTER TABLE runs ADD COLUMN config_hash TEXT;\n"
    "ALTER TABLE runs ADD COLUMN worker TEXT;\n"
    "ALTER TABLE runs ADD COLUMN heartbeat_at REAL;\n"
    "ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;\n"
    "ALTER TABLE runs ADD COLUMN epochs_done INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE runs ADD COLUMN seconds REAL NOT NULL DEFAULT 0;\n"
    "ALTER TABLE runs ADD COLUMN error TEXT;\n"
    "UPDATE runs SET\n"
    "  epochs_done = (SELECT count(*) FROM epochs WHERE run_id = runs.id),\n"
    "  seconds = (SELECT coalesce(sum(train_seconds + eval_seconds), 0)\n"
    "             FROM epochs WHERE run_id = runs.id);\n"
    "CREATE TABLE experiments(\n"
    "  id TEXT PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  n_points INTEGER NOT NULL CHECK(n_points >= 1),\n"
    "  axes TEXT NOT NULL,\n"
    "  config_yaml TEXT NOT NULL,\n"
    "  created_at TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE grid_points(\n"
    "  experiment TEXT NOT NULL REFERENCES experiments(id),\n"
    "  point INTEGER NOT NULL CHECK(point >= 0),\n"
    "  config_hash TEXT NOT NULL,\n"
    "  params TEXT NOT NULL,\n"
    "  PRIMARY KEY(experiment, point)\n"
    ") WITHOUT ROWID;\n"
    "CREATE UNIQUE INDEX runs_grid_point ON runs(experiment, grid_point);\n"
    "CREATE INDEX runs_running ON runs(worker) WHERE status = 'running';\n"
    "CREATE INDEX runs_best ON runs(best_test_rmse);\n";

/* Schema 2 -> 3: the paper's protocol.  Per epoch the test MAE and the
 * validation RMSE/MAE; per run the epoch selected on the validation split
 * (the last epoch without one), its test and validation RMSE and the path
 * of its checkpoint.  Runs recorded before had no validation split, so
 * their selected epoch is their last.  The views are recreated with the
 * new columns.  Also applied, after the others, to a new file. */
static const char db_migrate_v3[] =
    "ALTER TABLE runs ADD COLUMN selected_epoch INTEGER;\n"
    "ALTER TABLE runs ADD COLUMN selected_test_rmse REAL;\n"
    "ALTER TABLE runs ADD COLUMN selected_val_rmse REAL;\n"
    "ALTER TABLE runs ADD COLUMN checkpoint TEXT;\n"
    "ALTER TABLE epochs ADD COLUMN test_mae REAL;\n"
    "ALTER TABLE epochs ADD COLUMN val_rmse REAL;\n"
    "ALTER TABLE epochs ADD COLUMN val_mae REAL;\n"
    "UPDATE runs SET selected_epoch = epochs_done,\n"
    "  selected_test_rmse = final_test_rmse WHERE epochs_done > 0;\n"
    ;

/* Schema 3 -> 4: the protocol columns of runs (db_config_columns, added by
 * db_add_columns; NULL for earlier runs) and the split summaries: one row
 * per configuration of an experiment whose runs differ only by their split
 * (data.split.repeats or kind folds), written by db_split_summary_update. */
static const char db_migrate_v4[] =
    "CREATE TABLE split_summaries(\n"
    "  experiment TEXT NOT NULL REFERENCES experiments(id),\n"
    "  group_point INTEGER NOT NULL CHECK(group_point >= 0),\n"
    "  params TEXT NOT NULL,\n"
    "  split_kind TEXT NOT NULL,\n"
    "  splits INTEGER NOT NULL CHECK(splits >= 1),\n"
    "  n INTEGER NOT NULL,\n"
    "  selected_test_mean REAL, selected_test_sd REAL,\n"
    "  selected_test_ci_lo REAL, selected_test_ci_hi REAL,\n"
    "  selected_val_mean REAL, selected_val_sd REAL,\n"
    "  final_test_mean REAL, final_test_sd REAL,\n"
    "  final_test_ci_lo REAL, final_test_ci_hi REAL,\n"
    "  t_quantile REAL,\n"
    "  runs TEXT NOT NULL,\n"
    "  updated_at TEXT NOT NULL,\n"
    "  PRIMARY KEY(experiment, group_point)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX runs_split ON runs(experiment, split_index);\n";

/* Schema 4 -> 5: train.refit.  A refit run, after choosing its epoch
 * count on the validation split, trains a fresh model on train +
 * validation for that many epochs: its epochs go to refit_epochs (the
 * columns of epochs that apply: no validation split is left), and the run
 * gets refit_epochs (how many) and the refit model's test RMSE and MAE.
 * The split summaries get the refit test RMSE's mean, sd and interval (NULL
 * without refit).  The config column refit comes from db_config_columns. */
static const char db_migrate_v5[] =
    "ALTER TABLE runs ADD COLUMN refit_epochs INTEGER;\n"
    "ALTER TABLE runs ADD COLUMN refit_test_rmse REAL;\n"
    "ALTER TABLE runs ADD COLUMN refit_test_mae REAL;\n"
    "CREATE TABLE refit_epochs(\n"
    "  run_id INTEGER NOT NULL,\n"
    "  epoch INTEGER NOT NULL CHECK(epoch >= 1),\n"
    "  train_loss REAL,\n"
    "  test_rmse REAL,\n"
    "  test_mae REAL,\n"
    "  train_seconds REAL,\n"
    "  eval_seconds REAL,\n"
    "  PRIMARY KEY(run_id, epoch),\n"
    "  FOREIGN KEY(run_id) REFERENCES runs(id)\n"
    ");\n"
    "ALTER TABLE split_summaries ADD COLUMN refit_test_mean REAL;\n"
    "ALTER TABLE split_summaries ADD COLUMN refit_test_sd REAL;\n"
    "ALTER TABLE split_summaries ADD COLUMN refit_test_ci_lo REAL;\n"
    "ALTER TABLE split_summaries ADD COLUMN refit_test_ci_hi REAL;\n";

/* Schema 5 -> 6 also lets search.pruner record status 'pruned': it joins
 * the CHECK of runs.status (db_allow_pruned); pruned_epoch and
 * pruned_reason are result columns (db_result_columns). */
/* Adds 'pruned' to the CHECK constraint of runs.status, inside the
 * caller's transaction.  SQLite cannot ALTER a constraint; widening a CHECK
 * changes no stored row, so the table's SQL is edited in sqlite_master
 * (writable_schema) and schema_version bumped, the procedure the SQLite
 * documentation gives for such changes (lang_altertable.html).  Returns an
 * SQLite result code (*msg may get SQLite's message). */
static int db_query_int(sqlite3 *h, const char *sql, sqlite3_int64 *out);
static int db_allow_pruned(Db *db, char **msg) {
    sqlite3_int64 sv = 0;
    char sql[96];
    int rc = db_query_int(db->db, "PRAGMA schema_version", &sv);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db->db,
                          "PRAGMA writable_schema = ON;\n"
                          "UPDATE sqlite_master SET sql = replace(sql, "
                          "'''interrupted'',''diverged'')', "
                          "'''interrupted'',''diverged'',''pruned'')') "
                          "WHERE type = 'table' AND name = 'runs';\n"
                          "PRAGMA writable_schema = OFF;",
                          NULL, NULL, msg);
    if (rc == SQLITE_OK) {
        snprintf(sql, sizeof sql, "PRAGMA schema_version = %lld",
                 (long long)sv + 1);
        rc = sqlite3_exec(db->db, sql, NULL, NULL, msg);
    }
    return rc;
}

/* The views, one definition for the current schema: views hold no data, so
 * rather than being migrated they are dropped and created again whenever the
 * schema version changes (in the same transaction). */
static const char db_views_head[] =
    "DROP VIEW IF EXISTS run_summary;\n"
    "DROP VIEW IF EXISTS grid_summary;\n"
    "CREATE VIEW run_summary AS\n"
    "SELECT id, name, experiment, grid_point, grid_size,\n"
    "  " DB_STATUS_SQL " AS status,\n"
    "  hidden, lr, weight_decay, dropout, epochs, batch_size, seed,\n"
    "  test_ratio, data_path, data_format, kernel, threads,\n"
    "  epochs_done, best_epoch, best_test_rmse, final_test_rmse, seconds,\n"
    "  round((julianday(coalesce(finished_at, 'now')) - julianday(started_at))\n"
    "        * 86400.0, 3) AS wall_seconds,\n"
    "  started_at, finished_at, host, worker, attempts, config_hash, error,\n"
    "  selected_epoch, selected_test_rmse, selected_val_rmse, checkpoint,\n"
    "  refit_epochs, refit_test_rmse, refit_test_mae";
/* after db_views_head, the config columns (db_config_sql), then this */
static const char db_views_tail[] =
    "\nFROM runs;\n"
    "CREATE VIEW grid_summary AS\n"
    "SELECT x.id AS experiment, x.name AS name, x.axes AS axes,\n"
    "  x.n_points AS n_points, count(r.id) AS runs,\n"
    "  coalesce(sum(r.status = 'finished'), 0) AS finished,\n"
    "  coalesce(sum(r.status = 'running'), 0) AS running,\n"
    "  coalesce(sum(r.status = 'failed'), 0) AS failed,\n"
    "  coalesce(sum(r.status = 'interrupted'), 0) AS interrupted,\n"
    "  coalesce(sum(r.status = 'diverged'), 0) AS diverged,\n"
    "  x.n_points - count(r.id) AS pending,\n"
    "  min(CASE WHEN r.status = 'finished' THEN r.best_test_rmse END)\n"
    "    AS best_test_rmse,\n"
    "  (SELECT b.id FROM runs b WHERE b.experiment = x.id\n"
    "     AND b.status = 'finished' AND b.best_test_rmse IS NOT NULL\n"
    "   ORDER BY b.best_test_rmse, b.id LIMIT 1) AS best_run,\n"
    "  avg(CASE WHEN r.status = 'finished' THEN r.best_test_rmse END)\n"
    "    AS mean_best_test_rmse,\n"
    "  coalesce(sum(r.seconds), 0) AS seconds,\n"
    "  x.created_at AS created_at, min(r.started_at) AS started_at,\n"
    "  max(r.finished_at) AS finished_at,\n"
    "  min(CASE WHEN r.status = 'finished' THEN r.selected_test_rmse END)\n"
    "    AS best_selected_test_rmse,\n"
    "  avg(CASE WHEN r.status = 'finished' THEN r.selected_test_rmse END)\n"
    "    AS mean_selected_test_rmse,\n"
    "  min(CASE WHEN r.status = 'finished' THEN r.refit_test_rmse END)\n"
    "    AS best_refit_test_rmse,\n"
    "  avg(CASE WHEN r.status = 'finished' THEN r.refit_test_rmse END)\n"
    "    AS mean_refit_test_rmse,\n"
    "  coalesce(sum(r.status = 'pruned'), 0) AS pruned,\n"
    "  coalesce(sum(r.epochs_done), 0) AS epochs_spent,\n"
    "  coalesce(sum(r.epochs), 0) AS epochs_full,\n"
    "  (SELECT b.id FROM runs b WHERE b.experiment = x.id\n"
    "     AND b.status = 'finished' AND b.selected_val_rmse IS NOT NULL\n"
    "   ORDER BY b.selected_val_rmse, b.id LIMIT 1) AS best_val_run\n"
    "FROM experiments x LEFT JOIN runs r ON r.experiment = x.id\n"
    "GROUP BY x.id;\n";

/* Creates the parent directories of path (mkdir -p).  Returns 0, or -1 with
 * err naming the directory that could not be created. */
static int db_make_parents(const char *path, char *err) {
    char *dir = mem_strdup(path);
    int rc = -1;
    struct stat st;
    if (!dir) return err_set(err, "%s: out of memory", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) { rc = 0; goto done; }   /* cwd or root */
    *slash = '\0';
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) rc = 0;
        else err_set(err, "cannot create the database %s: %s is not a "
                          "directory: choose another --db path", path, dir);
        goto done;
    }
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            err_set(err, "cannot create directory %s for the database %s: %s: "
                         "choose another --db path or fix the permissions",
                    dir, path, strerror(errno));
            goto done;
        }
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            err_set(err, "cannot create directory %s for the database %s: a "
                         "file is in the way: choose another --db path",
                    dir, path);
            goto done;
        }
        *p = c;
        if (c == '\0') break;
    }
    rc = 0;
done:
    mem_free(dir);
    return rc;
}

/* Formats a message for a failed SQLite call on db into err, turning the
 * common codes into advice.  `what` says what was being done.  Returns -1. */
static int db_fail(Db *db, int rc, const char *what, char *err) {
    int prim = rc & 0xff;
    if (prim == SQLITE_NOTADB)
        return err_set(err, "%s is not an SQLite database: choose another --db "
                            "path or move the file away", db->path);
    if (prim == SQLITE_READONLY)
        return err_set(err, "cannot %s in %s: the database is read-only: fix "
                            "its permissions or choose another --db path",
                       what, db->path);
    if (prim == SQLITE_CANTOPEN || prim == SQLITE_PERM) {
        int e = sqlite3_system_errno(db->db);
        return err_set(err, "cannot open %s: %s: check the --db path and "
                            "the permissions of its directory",
                       db->path, e ? strerror(e) : sqlite3_errmsg(db->db));
    }
    if ((prim == SQLITE_BUSY || prim == SQLITE_LOCKED) && stop_signal)
        return err_set(err, "cannot %s in %s: the database is locked by "
                            "another process and %s asked to stop: gave up "
                            "waiting", what, db->path,
                       stop_signal_name(stop_signal));
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return err_set(err, "cannot %s in %s: the database is locked by "
                            "another process: retry later", what, db->path);
    struct rlimit fsize;
    if ((prim == SQLITE_IOERR || prim == SQLITE_FULL) &&
        getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY)
        /* SQLite does not keep EFBIG: name the limit that likely caused it */
        return err_set(err, "cannot %s in %s: %s; the file-size limit "
                            "(ulimit -f) of %llu bytes may have been reached: "
                            "raise it or free space", what, db->path,
                       sqlite3_errmsg(db->db),
                       (unsigned long long)fsize.rlim_cur);
    return err_set(err, "cannot %s in %s: %s", what, db->path,
                   sqlite3_errmsg(db->db));
}

/* Runs a one-row integer query (e.g. a PRAGMA) and stores its first column
 * in *out (0 when no row).  Returns an SQLite result code. */
static int db_query_int(sqlite3 *h, const char *sql, sqlite3_int64 *out) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) goto done;
    *out = 0;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
done:
    sqlite3_finalize(st);
    return rc;
}

/* Reads db's user_version into *version and checks its tables: returns 0
 * when they are compatible with autorec (none at all for version 0; runs and
 * epochs for a later version), 1 when they are not (err filled), or -1 when
 * SQLite failed (err filled).  Both reads are made in one read transaction:
 * another process may be creating the schema at this moment, and a version
 * read before its commit with tables read after it would look foreign. */
static int db_inspect(Db *db, sqlite3_int64 *version, char *err) {
    sqlite3_stmt *st = NULL;
    int have_runs = 0, have_epochs = 0, others = 0, ret = -1;
    char other[128] = "";
    int rc = sqlite3_exec(db->db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK) goto cleanup;
    rc = db_query_int(db->db, "PRAGMA user_version", version);
    if (rc != SQLITE_OK) goto cleanup;
    rc = sqlite3_prepare_v2(db->db,
                            "SELECT name FROM sqlite_master WHERE type = "
                            "'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE "
                            "'\\' ORDER BY name",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) goto cleanup;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (!t) continue;
        if (strcmp(t, "runs") == 0) have_runs = 1;
        else if (strcmp(t, "epochs") == 0) have_epochs = 1;
        else if (!others++) snprintf(other, sizeof other, "%s", t);
    }
    if (rc != SQLITE_DONE) goto cleanup;
    rc = SQLITE_OK;
    ret = 0;
    if (*version > DB_SCHEMA_VERSION) {
        ret = 1;
        err_set(err, "%s was written by a newer autorec (schema %lld > %d): "
                     "upgrade autorec or use another --db",
                db->path, (long long)*version, DB_SCHEMA_VERSION);
    } else if (*version == 0 && (have_runs || have_epochs || others)) {
        ret = 1;
        err_set(err, "%s is not an autorec results database (it holds table "
                     "'%s' but no autorec schema version): choose another "
                     "--db path",
                db->path, others ? other : have_runs ? "runs" : "epochs");
    } else if (*version > 0 && !(have_runs && have_epochs)) {
        ret = 1;
        err_set(err, "%s is not an autorec results database (user_version "
                     "%lld but no %s table): choose another --db path",
                db->path, (long long)*version, have_runs ? "epochs" : "runs");
    }
cleanup:
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, "read the database", err);
        ret = -1;
    }
    /* end the read transaction (retried: under memory pressure the
     * statement itself may fail to be prepared) */
    for (int i = 0; i < 3 && !sqlite3_get_autocommit(db->db); i++)
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    if (ret == 0 && !sqlite3_get_autocommit(db->db)) {
        db_fail(db, SQLITE_NOMEM, "end a read transaction on", err);
        ret = -1;
    }
    return ret;
}

/* Adds the config and result columns newer than schema `version` to runs (ALTER TABLE
 * ADD COLUMN), inside the caller's transaction.  Returns an SQLite result
 * code (*msg may get SQLite's message). */
static int db_add_columns(Db *db, int version, char **msg) {
    int rc = SQLITE_OK;
    for (int k = 0; k < DB_NCONFIG_COLUMNS + DB_NRESULT_COLUMNS &&
                    rc == SQLITE_OK; k++) {
        char sql[160];
        const int config = k < DB_NCONFIG_COLUMNS, r = k - DB_NCONFIG_COLUMNS;
        if ((config ? db_config_columns[k].since
                    : db_result_columns[r].since) <= version)
            continue;
        snprintf(sql, sizeof sql, "ALTER TABLE runs ADD COLUMN %s %s",
                 config ? db_config_columns[k].name : db_result_columns[r].name,
                 config ? db_config_columns[k].type : db_result_columns[r].type);
        rc = sqlite3_exec(db->db, sql, NULL, NULL, msg);
    }
    return rc;
}

/* Brings the schema to DB_SCHEMA_VERSION in one transaction: creates it in
 * an empty file (schema 1, then every step), or applies the steps after an
 * older file's version, unless another process did so meanwhile (the
 * version is re-read under the write lock).  Returns 0 or -1
 * with err; on failure nothing is changed. */
static int db_upgrade(Db *db, char *err) {
    sqlite3_int64 version = 0;
    char *msg = NULL;
    int rc = sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return db_fail(db, rc, "create the schema", err);
    rc = db_query_int(db->db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK && version == 0)
        rc = sqlite3_exec(db->db, db_schema, NULL, NULL, &msg);
    if (rc == SQLITE_OK && version < 2)
        rc = sqlite3_exec(db->db, db_migrate_v2, NULL, NULL, &msg);
    if (rc == SQLITE_OK && version < 3)
        rc = sqlite3_exec(db->db, db_migrate_v3, NULL, NULL, &msg);
    if (rc == SQLITE_OK) rc = db_add_columns(db, (int)version, &msg);
    if (rc == SQLITE_OK && version < 4)
        rc = sqlite3_exec(db->db, db_migrate_v4, NULL, NULL, &msg);
    if (rc == SQLITE_OK && version < 5)
        rc = sqlite3_exec(db->db, db_migrate_v5, NULL, NULL, &msg);
    if (rc == SQLITE_OK && version < 6)
        rc = sqlite3_exec(db->db, db_migrate_v6, NULL, NULL, &msg);
    if (rc == SQLITE_OK && version < 6) rc = db_allow_pruned(db, &msg);
    if (rc == SQLITE_OK && version < DB_SCHEMA_VERSION) {
        char views[sizeof db_views_head + sizeof db_views_tail + 1024];
        char cols[1024];
        db_config_sql(cols, sizeof cols, DB_COLS_VIEW);
        snprintf(views, sizeof views, "%s%s%s", db_views_head, cols,
                 db_views_tail);
        rc = sqlite3_exec(db->db, views, NULL, NULL, &msg);
    }
    if (rc == SQLITE_OK && version < DB_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
                 DB_SCHEMA_VERSION);
        rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg);
    }
    if (rc == SQLITE_OK) rc = sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, version ? "upgrade the schema" : "create the schema",
                err);
        if (!sqlite3_get_autocommit(db->db))
            sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_free(msg);
        return -1;
    }
    sqlite3_free(msg);
    db->created = version == 0;   /* this call created the schema */
    return 0;
}

/* Prepares one statement of db.  Returns 0 or -1 with err. */
static int db_prepare(Db *db, const char *sql, sqlite3_stmt **st, char *err) {
    int rc = sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                                NULL);
    if (rc != SQLITE_OK) return db_fail(db, rc, "prepare a statement", err);
    return 0;
}

/* Refuses, before anything opens it, a database path that exists and is
 * not a regular file (a FIFO would block SQLite's open forever, a device
 * or socket is not a database), and a dangling symbolic link (SQLite would
 * create the file it points to).  Returns 0 (also when path does not
 * exist) or -1 with err. */
static int db_check_regular(const char *path, char *err) {
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && stat(path, &st) != 0 &&
        errno == ENOENT)
        return err_set(err, "cannot open %s: it is a symbolic link to a file "
                       "that does not exist, and autorec never creates a "
                       "file through a link: remove the link or pass the "
                       "real path as --db", path);
    if (stat(path, &st) != 0 || S_ISREG(st.st_mode)) return 0;
    return err_set(err, "cannot open %s: it is %s, not a database file: pass "
                   "--db PATH of a results database", path,
                   S_ISDIR(st.st_mode) ? "a directory"
                   : S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
                   : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                   : S_ISSOCK(st.st_mode) ? "a socket" : "a special file");
}

/* Refuses a database path ending in -wal, -shm or -journal: SQLite keeps
 * a database's companion files under those names, so opening the database
 * X would take X-wal for its write-ahead log and delete it (with every
 * result written into it).  Returns 0 or -1 with err. */
static int db_check_name(const char *path, char *err) {
    static const char *const suffix[] = {"-wal", "-shm", "-journal"};
    size_t n = strlen(path);
    for (size_t k = 0; k < sizeof suffix / sizeof *suffix; k++) {
        size_t m = strlen(suffix[k]);
        if (n > m && !strcmp(path + n - m, suffix[k]))
            return err_set(err, "cannot use %s as a database: names ending in "
                           "%s are SQLite's own files of the database %.*s, "
                           "and opening that database would take this file "
                           "for its own and delete it: choose a name ending "
                           "in .db", path, suffix[k], (int)(n - m), path);
    }
    return 0;
}

/* Checks, before SQLite opens it, that the database file (or, when it does
 * not exist yet, its directory) is writable: SQLite would otherwise fall
 * back to read-only and report an unhelpful error about its journal.
 * Returns 0 or -1 with err. */
static int db_check_writable(const char *path, char *err) {
    if (access(path, F_OK) == 0) {
        if (access(path, W_OK) == 0) return 0;
        return err_set(err, "cannot write the database %s: %s: fix its "
                       "permissions or choose another --db path", path, strerror(errno));
    }
    char *dir = mem_strdup(path);
    if (!dir) return err_set(err, "%s: out of memory", path);
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    int rc = 0;
    if (access(dir, W_OK) != 0)
        rc = err_set(err, "cannot create the database %s: directory %s: %s: choose "
                     "another --db path or fix the permissions", path, dir, strerror(errno));
    mem_free(dir);
    return rc;
}

/* The busy handler of db_open's connections: waits for a lock in steps of
 * at most 20 ms, up to DB_BUSY_TIMEOUT_MS, or DB_STOP_GRACE_MS once a stop
 * signal is pending, so that a signal ends any wait within a second.
 * Returns 1 to wait again, 0 to give up (SQLITE_BUSY). */
static int db_busy(void *ctx, int count) {
    Db *db = ctx;
    if (count == 0) {
        db->busy_waited_ms = 0;
        db->busy_stop_ms = -1;
    }
    if (stop_signal) {
        if (db->busy_stop_ms < 0) db->busy_stop_ms = db->busy_waited_ms;
        if (db->busy_waited_ms - db->busy_stop_ms >= DB_STOP_GRACE_MS) return 0;
    } else if (db->busy_waited_ms >= DB_BUSY_TIMEOUT_MS) {
        return 0;
    }
    int ms = count < 5 ? 1 << count : 20;
    sqlite3_sleep(ms);
    db->busy_waited_ms += ms;
    return 1;
}

/* See db.h.  Returns 0 and sets *out (owned by the caller, db_close), or -1
 * with err and *out = NULL. */
/* Switches h to WAL mode with foreign keys and synchronous=NORMAL.  Changing
 * the journal mode can answer SQLITE_BUSY at once, without the busy handler,
 * while another process is creating or switching the same new file (two grid
 * processes starting on one database): that is retried for up to the busy
 * timeout.  Returns an SQLite result code. */
static int db_configure(sqlite3 *h) {
    int rc = SQLITE_OK;
    int limit_ms = DB_BUSY_TIMEOUT_MS;
    for (int waited_ms = 0; waited_ms < limit_ms; waited_ms += 20) {
        if (stop_signal && limit_ms > waited_ms + DB_STOP_GRACE_MS)
            limit_ms = waited_ms + DB_STOP_GRACE_MS;
        rc = sqlite3_exec(h,
                          "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
                          "PRAGMA synchronous=NORMAL;",
                          NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_BUSY) break;
        sqlite3_sleep(20);
    }
    return rc;
}

int db_open(Db **out, const char *path, char *err) {
    Db *db = NULL;
    sqlite3_int64 version = 0;
    int rc;

    assert(out && path);
    *out = NULL;
    if (path[0] == '\0')
        return err_set(err, "the database path is empty: pass --db PATH");
    if (db_check_name(path, err) || db_check_regular(path, err) ||
        db_make_parents(path, err) ||
        db_check_writable(path, err))
        return -1;
    db = mem_calloc(1, sizeof *db);
    if (!db || !(db->path = mem_strdup(path))) {
        err_set(err, "%s: out of memory", path);
        goto fail;
    }
    rc = sqlite3_open_v2(path, &db->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        if (!db->db) err_set(err, "cannot open %s: out of memory", path);
        else db_fail(db, rc, "open the database", err);
        goto fail;
    }
    sqlite3_extended_result_codes(db->db, 1);
    sqlite3_busy_handler(db->db, db_busy, db);

    /* Inspect before changing anything (journal mode writes the header). */
    if (db_inspect(db, &version, err)) goto fail;
    if (sqlite3_db_readonly(db->db, "main") == 1) {
        err_set(err, "cannot open %s: permission denied (the file is "
                     "read-only): fix its permissions or use another --db",
                path);
        goto fail;
    }
    rc = db_configure(db->db);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, "configure the database", err);
        goto fail;
    }
    if (version < DB_SCHEMA_VERSION && db_upgrade(db, err)) goto fail;
    db->has_file = strcmp(path, ":memory:") && strncmp(path, "file:", 5);
    struct stat sb;
    if (db->has_file && stat(path, &sb) != 0) {
        err_set(err, "cannot open %s: it disappeared while being opened: %s",
                path, strerror(errno));
        goto fail;
    }
    db->dev = db->has_file ? sb.st_dev : 0;
    db->ino = db->has_file ? sb.st_ino : 0;

    char names[1024], params[512], set[1536], sql[4][4096];
    db_config_sql(names, sizeof names, DB_COLS_NAMES);
    db_config_sql(params, sizeof params, DB_COLS_PARAMS);
    db_config_sql(set, sizeof set, DB_COLS_SET);
    snprintf(sql[0], sizeof sql[0],
             "INSERT INTO runs(name, status, config_yaml, started_at, "
             "host, threads, kernel, git_commit, blis_info, data_path, "
             "data_format, test_ratio, hidden, lr, weight_decay, "
             "dropout, epochs, batch_size, seed, heartbeat_at%s) VALUES(?1, "
             "'running', ?2, %s, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
             "?12, ?13, ?14, ?15, ?16, ?17, " DB_UNIXNOW "%s)", names, DB_NOW,
             params);
    snprintf(sql[1], sizeof sql[1],
             "UPDATE runs SET " DB_INFO_SET "%s WHERE id = ?18 AND "
             "(?19 IS NULL OR worker IS ?19)", set);
    snprintf(sql[2], sizeof sql[2],
             "INSERT INTO runs(" DB_INFO_COLUMNS "%s, status, started_at, "
             "experiment, grid_point, grid_size, config_hash, worker, "
             "heartbeat_at, attempts, epochs_done, seconds) "
             "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
             "?13, ?14, ?15, ?16, ?17%s, 'running', %s, "
             "p.experiment, p.point, (SELECT n_points FROM experiments "
             "WHERE id = ?18), p.config_hash, ?20, "
             DB_UNIXNOW ", 1, 0, 0 FROM grid_points p "
             "WHERE p.experiment = ?18 AND p.point = ?19", names, params, DB_NOW);
    snprintf(sql[3], sizeof sql[3],
             "UPDATE runs SET " DB_INFO_SET "%s, status = 'running', "
             "started_at = %s, finished_at = NULL, "
             "grid_size = (SELECT n_points FROM experiments WHERE id = "
             "?18), worker = ?20, "
             "config_hash = (SELECT p.config_hash FROM grid_points p "
             "WHERE p.experiment = ?18 AND p.point = ?19), "
             "heartbeat_at = " DB_UNIXNOW ", attempts = attempts + 1, "
             "epochs_done = 0, seconds = 0, final_test_rmse = NULL, "
             "best_test_rmse = NULL, best_epoch = NULL, error = NULL, "
             "selected_epoch = NULL, selected_test_rmse = NULL, "
             "selected_val_rmse = NULL, checkpoint = NULL, "
             "refit_epochs = NULL, refit_test_rmse = NULL, "
             "refit_test_mae = NULL, result_test_rmse = NULL, "
             "pruned_epoch = NULL, pruned_reason = NULL "
             "WHERE experiment = ?18 AND grid_point = ?19", set, DB_NOW);
    if (db_prepare(db, sql[0], &db->run_insert, err) ||
        db_prepare(db,
                   "INSERT INTO epochs(run_id, epoch, train_loss, test_rmse, "
                   "train_seconds, eval_seconds, test_mae, val_rmse, val_mae) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                   &db->epoch_insert, err) ||
        db_prepare(db,
                   "UPDATE runs SET final_test_rmse = ?1, "
                   "best_epoch = CASE WHEN best_test_rmse IS NULL OR ?1 < "
                   "best_test_rmse THEN ?2 ELSE best_epoch END, "
                   "best_test_rmse = CASE WHEN best_test_rmse IS NULL OR ?1 < "
                   "best_test_rmse THEN ?1 ELSE best_test_rmse END, "
                   "epochs_done = epochs_done + 1, seconds = seconds + ?4, "
                   "heartbeat_at = " DB_UNIXNOW ", "
                   "selected_epoch = CASE WHEN ?6 THEN ?2 ELSE selected_epoch "
                   "END, selected_test_rmse = CASE WHEN ?6 THEN ?1 ELSE "
                   "selected_test_rmse END, selected_val_rmse = CASE WHEN ?6 "
                   "THEN ?7 ELSE selected_val_rmse END, result_test_rmse = "
                   "coalesce(refit_test_rmse, CASE WHEN ?6 THEN ?1 ELSE "
                   "selected_test_rmse END, ?1) "
                   "WHERE id = ?3 AND (?5 IS NULL OR worker IS ?5)",
                   &db->run_update_epoch, err) ||
        db_prepare(db,
                   "UPDATE runs SET status = ?1, finished_at = " DB_NOW ", "
                   "heartbeat_at = " DB_UNIXNOW ", error = ?3, "
                   "pruned_epoch = ?5, pruned_reason = ?6 "
                   "WHERE id = ?2 AND (?4 IS NULL OR worker IS ?4)",
                   &db->run_end, err) ||
        db_prepare(db, sql[1], &db->run_set_info, err) ||
        db_prepare(db,
                   "UPDATE runs SET checkpoint = ?1 WHERE id = ?2 AND "
                   "(?3 IS NULL OR worker IS ?3)",
                   &db->run_checkpoint, err) ||
        db_prepare(db, "BEGIN IMMEDIATE", &db->begin, err) ||
        db_prepare(db, "COMMIT", &db->commit, err) ||
        db_prepare(db, "ROLLBACK", &db->rollback, err) ||
        db_prepare(db,
                   "INSERT INTO experiments(id, name, n_points, axes, "
                   "config_yaml, created_at) VALUES(?1, ?2, ?3, ?4, ?5, "
                   DB_NOW ") ON CONFLICT(id) DO NOTHING",
                   &db->exp_insert, err) ||
        db_prepare(db,
                   "INSERT INTO grid_points(experiment, point, config_hash, "
                   "params) VALUES(?1, ?2, ?3, ?4) ON CONFLICT(experiment, "
                   "point) DO UPDATE SET config_hash = excluded.config_hash, "
                   "params = excluded.params WHERE config_hash IS NOT "
                   "excluded.config_hash OR params IS NOT excluded.params",
                   &db->point_upsert, err) ||
        db_prepare(db,
                   "SELECT p.point FROM grid_points p LEFT JOIN runs r "
                   "ON r.experiment = p.experiment AND r.grid_point = p.point "
                   "WHERE p.experiment = ?1 AND p.point >= ?2 AND NOT "
                   "(coalesce(r.status IN " DB_FINAL_STATUSES ", 0) AND "
                   "r.config_hash IS p.config_hash) "
                   "ORDER BY p.point LIMIT 1",
                   &db->claim_settled, err) ||
        db_prepare(db,
                   "SELECT p.point, r.id, r.status, r.worker, r.attempts "
                   "FROM grid_points p LEFT JOIN runs r "
                   "ON r.experiment = p.experiment AND r.grid_point = p.point "
                   "WHERE p.experiment = ?1 AND p.point >= ?2 AND "
                   "(?5 = 0 OR p.point < ?5) AND ("
                   "r.id IS NULL "
                   "OR (r.status = 'running' AND coalesce(r.heartbeat_at, 0) "
                   "< " DB_UNIXNOW " - ?3) "
                   "OR (r.status IN ('failed', 'interrupted') AND "
                   "coalesce(r.heartbeat_at, 0) < ?4) "
                   "OR (r.status IN " DB_FINAL_STATUSES " AND "
                   "r.config_hash IS NOT p.config_hash)) "
                   "ORDER BY p.point LIMIT 1",
                   &db->claim_pick, err) ||
        db_prepare(db,
                   "SELECT worker FROM runs WHERE experiment = ?1 AND "
                   "status = 'running' AND grid_point >= ?2 AND "
                   "(?3 = 0 OR grid_point < ?3)",
                   &db->claim_running, err) ||
        db_prepare(db, sql[2], &db->claim_insert, err) ||
        db_prepare(db, sql[3], &db->claim_retake, err) ||
        db_prepare(db, "DELETE FROM epochs WHERE run_id = ?1",
                   &db->epochs_delete, err) ||
        db_prepare(db, "DELETE FROM refit_epochs WHERE run_id = ?1",
                   &db->refit_epochs_delete, err) ||
        db_prepare(db,
                   "INSERT INTO refit_epochs(run_id, epoch, train_loss, "
                   "test_rmse, test_mae, train_seconds, eval_seconds) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                   &db->refit_insert, err) ||
        db_prepare(db,
                   "UPDATE runs SET refit_epochs = ?2, refit_test_rmse = ?3, "
                   "result_test_rmse = ?3, "
                   "refit_test_mae = ?4, seconds = seconds + ?5, "
                   "heartbeat_at = " DB_UNIXNOW " "
                   "WHERE id = ?1 AND (?6 IS NULL OR worker IS ?6)",
                   &db->run_update_refit, err) ||
        db_prepare(db,
                   "UPDATE runs SET heartbeat_at = " DB_UNIXNOW " WHERE "
                   "worker = ?1 AND status = 'running'",
                   &db->heartbeat, err) ||
        db_prepare(db,
                   "UPDATE runs SET heartbeat_at = " DB_UNIXNOW " WHERE "
                   "id = ?1 AND status = 'running'",
                   &db->heartbeat_run, err) ||
        db_prepare(db,
                   "UPDATE runs SET heartbeat_at = 0 WHERE worker = ?1 AND "
                   "status = 'running'",
                   &db->worker_lost, err) ||
        db_prepare(db,
                   "SELECT id, selected_test_rmse, selected_val_rmse, "
                   "final_test_rmse, refit_test_rmse, split_kind FROM runs "
                   "WHERE experiment = ?1 AND "
                   "grid_point >= ?2 AND grid_point < ?2 + ?3 AND status = "
                   "'finished' ORDER BY grid_point",
                   &db->summary_runs, err) ||
        db_prepare(db,
                   "INSERT OR REPLACE INTO split_summaries(experiment, "
                   "group_point, params, split_kind, splits, n, "
                   "selected_test_mean, selected_test_sd, "
                   "selected_test_ci_lo, selected_test_ci_hi, "
                   "selected_val_mean, selected_val_sd, final_test_mean, "
                   "final_test_sd, final_test_ci_lo, final_test_ci_hi, "
                   "t_quantile, runs, updated_at, refit_test_mean, "
                   "refit_test_sd, refit_test_ci_lo, refit_test_ci_hi) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                   "?12, ?13, ?14, ?15, ?16, ?17, ?18, " DB_NOW ", ?19, ?20, "
                   "?21, ?22)",
                   &db->summary_put, err))
        goto fail;
    *out = db;
    return 0;
fail:
    db_close(db);
    return -1;
}

/* See db.h.  Finalizes the statements, closes the connection and frees db. */
void db_close(Db *db) {
    if (!db) return;
    sqlite3_finalize(db->run_insert);
    sqlite3_finalize(db->epoch_insert);
    sqlite3_finalize(db->run_update_epoch);
    sqlite3_finalize(db->run_end);
    sqlite3_finalize(db->run_set_info);
    sqlite3_finalize(db->run_checkpoint);
    sqlite3_finalize(db->begin);
    sqlite3_finalize(db->commit);
    sqlite3_finalize(db->rollback);
    sqlite3_finalize(db->exp_insert);
    sqlite3_finalize(db->point_upsert);
    sqlite3_finalize(db->claim_settled);
    sqlite3_finalize(db->claim_pick);
    sqlite3_finalize(db->claim_running);
    sqlite3_finalize(db->claim_insert);
    sqlite3_finalize(db->claim_retake);
    sqlite3_finalize(db->epochs_delete);
    sqlite3_finalize(db->refit_epochs_delete);
    sqlite3_finalize(db->refit_insert);
    sqlite3_finalize(db->run_update_refit);
    sqlite3_finalize(db->heartbeat);
    sqlite3_finalize(db->heartbeat_run);
    sqlite3_finalize(db->worker_lost);
    sqlite3_finalize(db->summary_runs);
    sqlite3_finalize(db->summary_put);
    sqlite3_close(db->db);   /* NULL is a harmless no-op */
    mem_free(db->worker);
    mem_free(db->path);
    mem_free(db);
}

/* Steps a statement that returns no rows, then resets it (keeping its
 * bindings cleared).  Returns an SQLite result code (SQLITE_OK on success). */
static int db_step_done(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Binds v to parameter i, NULL when it is not finite.  Returns an SQLite
 * result code. */
static int db_bind_finite(sqlite3_stmt *st, int i, double v) {
    return db_bind_opt_double(st, i, isfinite(v), v);
}

/* Binds a possibly NULL text.  Returns an SQLite result code. */
static int db_bind_text(sqlite3_stmt *st, int i, const char *s) {
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
             : sqlite3_bind_null(st, i);
}

/* Checks that info can be stored (the seed fits SQLite's INTEGER).
 * Returns 0 or -1 with err. */
static int db_check_info(Db *db, const DbRunInfo *info, char *err) {
    if (info->cfg->seed > (uint64_t)INT64_MAX)
        return err_set(err, "cannot record the run in %s: train.seed %llu does "
                            "not fit a 64-bit signed integer: use a seed <= "
                            "9223372036854775807",
                       db->path, (unsigned long long)info->cfg->seed);
    return 0;
}

/* Binds info to parameters ?1..?17 of st (the order of DB_INFO_COLUMNS).
 * Returns an SQLite result code. */
static int db_bind_info(sqlite3_stmt *st, const DbRunInfo *info) {
    const Config *c = info->cfg;
    int rc = db_bind_text(st, 1, c->name);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 2, info->config_yaml);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 3, info->host);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 4, info->threads);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 5, info->kernel);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 6, info->git_commit);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 7, info->blis_info);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 8, c->data_path);
    if (rc == SQLITE_OK)
        rc = db_bind_text(st, 9, cfg_format_name(c->data_format));
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 10, c->test_ratio);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 11, c->hidden);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 12, c->lr);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 13, c->weight_decay);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 14, c->dropout);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 15, c->epochs);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 16, c->batch_size);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 17, (sqlite3_int64)c->seed);
    for (int k = 0; k < DB_NCONFIG_COLUMNS && rc == SQLITE_OK; k++)
        rc = db_config_columns[k].bind(st, DB_EXTRA_FIRST + k, c);
    return rc;
}

/* Steps a no-row statement whose parameters are bound, retrying while the
 * database stays busy past the busy timeout (not once a stop signal is
 * pending: see db_busy); then resets it and clears its bindings.  Returns
 * an SQLite result code (SQLITE_OK on success). */
static int db_step_retry(sqlite3_stmt *st) {
    int rc;
    for (int i = 0;; i++) {
        rc = sqlite3_step(st);
        if ((rc & 0xff) != SQLITE_BUSY || i >= DB_BUSY_RETRIES || stop_signal)
            break;
        sqlite3_reset(st);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* BEGIN IMMEDIATE, retried while busy.  Returns an SQLite result code. */
static int db_begin(Db *db) { return db_step_retry(db->begin); }

/* See db.h.  Returns 0 and sets *run_id, or -1 with err. */
int db_run_begin(Db *db, const DbRunInfo *info, int64_t *run_id, char *err) {
    assert(db && info && info->cfg && run_id);
    sqlite3_stmt *st = db->run_insert;
    int rc;

    if (db_check_info(db, info, err)) return -1;
    rc = db_bind_info(st, info);
    if (rc == SQLITE_OK) {
        rc = db_step_retry(st);
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rc != SQLITE_OK) return db_fail(db, rc, "record the run", err);
    *run_id = sqlite3_last_insert_rowid(db->db);
    return 0;
}

/* Checks that epoch e can be recorded (`what` names it in messages): a
 * finite test RMSE, train loss and timings, and a number from 1.  Returns 0
 * or -1 with err. */
static int db_check_epoch(const Db *db, const char *what, const DbEpoch *e,
                          char *err) {
    if (!isfinite(e->test_rmse))
        return err_set(err, "cannot %s in %s: test RMSE is %g (not finite); "
                            "record the run as diverged instead",
                       what, db->path, e->test_rmse);
    if (!isfinite(e->train_loss) || !isfinite(e->train_seconds) ||
        !isfinite(e->eval_seconds))
        return err_set(err, "cannot %s in %s: train loss %g, train seconds %g "
                            "and eval seconds %g must be finite",
                       what, db->path, e->train_loss, e->train_seconds,
                       e->eval_seconds);
    if (e->epoch < 1)
        return err_set(err, "cannot %s in %s: epochs are numbered from 1",
                       what, db->path);
    return 0;
}

/* Fills err after a failed INSERT of an epoch row (`what` names it). */
static void db_epoch_insert_failed(Db *db, int rc, const char *what,
                                   int64_t run_id, char *err) {
    if ((rc & 0xff) == SQLITE_CONSTRAINT && rc != SQLITE_CONSTRAINT_FOREIGNKEY)
        err_set(err, "cannot %s in %s: %s (the epoch is already recorded)",
                what, db->path, sqlite3_errmsg(db->db));
    else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        err_set(err, "cannot %s in %s: no run %lld", what, db->path,
                (long long)run_id);
    else
        db_fail(db, rc, what, err);
}

/* Fills err when the run update after an epoch touched no row. */
static void db_epoch_lost_run(const Db *db, const char *what, int64_t run_id,
                              char *err) {
    if (db->worker)
        err_set(err, "cannot %s in %s: worker %s no longer holds the run "
                     "(it was taken over as stale)", what, db->path,
                db->worker);
    else
        err_set(err, "cannot %s in %s: no run %lld", what, db->path,
                (long long)run_id);
}

/* Binds epoch e of run_id to a statement of db.  Returns an SQLite result
 * code. */
typedef int (*DbEpochBind)(const Db *db, sqlite3_stmt *st, int64_t run_id,
                           const DbEpoch *e);

/* epochs row: ?1 run, ?2 epoch, ?3 loss, ?4 test RMSE, ?5 train s, ?6 eval
 * s, ?7 test MAE, ?8 validation RMSE, ?9 validation MAE */
static int db_bind_epoch_row(const Db *db, sqlite3_stmt *st, int64_t run_id,
                             const DbEpoch *e) {
    (void)db;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 2, e->epoch);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 3, e->train_loss);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 4, e->test_rmse);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 5, e->train_seconds);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 6, e->eval_seconds);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 7, e->test_mae);
    if (rc == SQLITE_OK && e->has_val)
        rc = sqlite3_bind_double(st, 8, e->val_rmse);
    if (rc == SQLITE_OK && e->has_val)
        rc = sqlite3_bind_double(st, 9, e->val_mae);
    return rc;
}

/* run_update_epoch: ?1 test RMSE, ?2 epoch, ?3 run, ?4 seconds, ?5 worker,
 * ?6 selected, ?7 validation RMSE */
static int db_bind_epoch_run(const Db *db, sqlite3_stmt *st, int64_t run_id,
                             const DbEpoch *e) {
    int rc = sqlite3_bind_double(st, 1, e->test_rmse);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 2, e->epoch);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, run_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_double(st, 4, e->train_seconds + e->eval_seconds);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 5, db->worker);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 6, e->selected != 0);
    if (rc == SQLITE_OK && e->has_val)
        rc = sqlite3_bind_double(st, 7, e->val_rmse);
    return rc;
}

/* refit_epochs row: ?1 run, ?2 epoch, ?3 loss, ?4 test RMSE, ?5 test MAE,
 * ?6 train s, ?7 eval s */
static int db_bind_refit_row(const Db *db, sqlite3_stmt *st, int64_t run_id,
                             const DbEpoch *e) {
    (void)db;
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 2, e->epoch);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 3, e->train_loss);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 4, e->test_rmse);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 5, e->test_mae);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 6, e->train_seconds);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 7, e->eval_seconds);
    return rc;
}

/* run_update_refit: ?1 run, ?2 refit epochs, ?3 test RMSE, ?4 test MAE,
 * ?5 seconds, ?6 worker */
static int db_bind_refit_run(const Db *db, sqlite3_stmt *st, int64_t run_id,
                             const DbEpoch *e) {
    int rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 2, e->epoch);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 3, e->test_rmse);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 4, e->test_mae);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_double(st, 5, e->train_seconds + e->eval_seconds);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 6, db->worker);
    return rc;
}

/* See db.h.  Returns 0, or -1 with err. */
int db_check_file(const Db *db, const char *what, char *err) {
    struct stat sb;
    if (!db->has_file) return 0;
    if (stat(db->path, &sb) != 0)
        return err_set(err, "cannot %s: the database %s was deleted or moved "
                       "while this process wrote to it (%s): what it wrote "
                       "since is in the removed file and lost; restore the "
                       "file or run again", what, db->path, strerror(errno));
    if (sb.st_dev != db->dev || sb.st_ino != db->ino)
        return err_set(err, "cannot %s: the database %s was replaced by "
                       "another file while this process wrote to it: what it "
                       "wrote since is in the replaced file and lost; run "
                       "again", what, db->path);
    return 0;
}

/* See db.h.  Returns 0, or -1 with err. */
int db_run_key_read(sqlite3 *h, int64_t run_id, uint64_t *key, char *err) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, "SELECT started_at, host, config_yaml "
                                   "FROM runs WHERE id = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 1, run_id);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *key = ckpt_run_key((const char *)sqlite3_column_text(st, 0),
                            (const char *)sqlite3_column_text(st, 1),
                            (const char *)sqlite3_column_text(st, 2));
    if (rc != SQLITE_ROW)
        err_set(err, "cannot read the identity of run %lld in %s: %s",
                (long long)run_id, sqlite3_db_filename(h, "main"),
                rc == SQLITE_DONE ? "no such run" : sqlite3_errmsg(h));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* See db.h: db_run_key_read on db's connection. */
int db_run_key(Db *db, int64_t run_id, uint64_t *key, char *err) {
    return db_run_key_read(db->db, run_id, key, err);
}

/* Records epoch e of run_id in one transaction: the row (statement ins,
 * bound by bind_ins), then the run's columns (upd, bind_upd), which must
 * touch exactly the run (held by this worker).  `what` names the epoch in
 * messages.  Returns 0, or -1 with err after rolling back (nothing of the
 * epoch is stored then). */
static int db_epoch_write(Db *db, const char *what, int64_t run_id,
                          const DbEpoch *e, sqlite3_stmt *ins,
                          DbEpochBind bind_ins, sqlite3_stmt *upd,
                          DbEpochBind bind_upd, char *err) {
    int rc, ret = -1;
    if (db_check_epoch(db, what, e, err) || db_check_file(db, what, err))
        return -1;
    rc = db_begin(db);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, what, err);
        goto cleanup;
    }
    rc = bind_ins(db, ins, run_id, e);
    if (rc == SQLITE_OK) rc = db_step_done(ins);
    if (rc != SQLITE_OK) {
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        db_epoch_insert_failed(db, rc, what, run_id, err);
        goto cleanup;
    }
    rc = bind_upd(db, upd, run_id, e);
    if (rc == SQLITE_OK) rc = db_step_done(upd);
    if (rc != SQLITE_OK) {
        sqlite3_reset(upd);
        sqlite3_clear_bindings(upd);
        db_fail(db, rc, what, err);
        goto cleanup;
    }
    if (sqlite3_changes(db->db) != 1) {
        db_epoch_lost_run(db, what, run_id, err);
        goto cleanup;
    }
    rc = db_step_done(db->commit);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, what, err);
        goto cleanup;
    }
    ret = 0;
cleanup:
    if (ret != 0 && !sqlite3_get_autocommit(db->db))
        (void)db_step_done(db->rollback);
    return ret;
}

/* See db.h.  Returns 0, or -1 with err after rolling the transaction back
 * (nothing of the epoch is stored then).  Non-finite values are refused. */
int db_epoch_add(Db *db, int64_t run_id, const DbEpoch *e, char *err) {
    char what[96];
    assert(db && e);
    snprintf(what, sizeof what, "record epoch %d of run %lld", e->epoch,
             (long long)run_id);
    return db_epoch_write(db, what, run_id, e, db->epoch_insert,
                          db_bind_epoch_row, db->run_update_epoch,
                          db_bind_epoch_run, err);
}

/* See db.h.  Returns 0, or -1 with err after rolling the transaction back.
 * e->has_val and e->selected are ignored (a refit has no validation). */
int db_refit_epoch_add(Db *db, int64_t run_id, const DbEpoch *e, char *err) {
    char what[96];
    assert(db && e);
    snprintf(what, sizeof what, "record refit epoch %d of run %lld", e->epoch,
             (long long)run_id);
    return db_epoch_write(db, what, run_id, e, db->refit_insert,
                          db_bind_refit_row, db->run_update_refit,
                          db_bind_refit_run, err);
}

/* See db.h.  Returns 0 or -1 with err. */
int db_run_set_checkpoint(Db *db, int64_t run_id, const char *path,
                          char *err) {
    assert(db && path);
    if (db_check_file(db, "record the checkpoint", err)) return -1;
    sqlite3_stmt *st = db->run_checkpoint;
    int rc = sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, run_id);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 3, db->worker);
    if (rc == SQLITE_OK) {
        rc = db_step_retry(st);
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rc != SQLITE_OK) return db_fail(db, rc, "record the checkpoint", err);
    if (sqlite3_changes(db->db) != 1)
        return err_set(err, "cannot record the checkpoint of run %lld in %s: "
                            "no such run%s", (long long)run_id, db->path,
                       db->worker ? " held by this worker" : "");
    return 0;
}

const char *db_path(const Db *db) { return db->path; }

void db_report_created(const Db *db, const char *cmd) {
    char abs[4096];
    if (!db || !db->created) return;
    if (!realpath(db->path, abs)) snprintf(abs, sizeof abs, "%s", db->path);
    fprintf(stderr, "autorec %s: created a new results database %s%s%s%s "
                    "(query it with --db %s from elsewhere)\n", cmd,
            db->path, strcmp(abs, db->path) ? " (" : "",
            strcmp(abs, db->path) ? abs : "", strcmp(abs, db->path) ? ")" : "",
            abs);
}

static int db_run_end_full(Db *db, int64_t run_id, const char *status,
                           const char *message, int pruned_epoch,
                           const char *reason, char *err);

/* See db.h.  Returns 0 or -1 with err. */
int db_run_end_msg(Db *db, int64_t run_id, const char *status,
                   const char *message, char *err) {
    return db_run_end_full(db, run_id, status, message, 0, NULL, err);
}

/* See db.h.  Returns 0 or -1 with err. */
int db_run_prune(Db *db, int64_t run_id, int epoch, const char *reason,
                 char *err) {
    return db_run_end_full(db, run_id, "pruned", NULL, epoch, reason, err);
}

/* See db.h.  Returns 0 or -1 with err; *vals owned by the caller. */
int db_peer_val_best(Db *db, const char *experiment, int64_t run_id,
                     int epoch, double **vals, int *n, char *err) {
    sqlite3_stmt *st = NULL;
    int cap = 0, rc;
    *vals = NULL;
    *n = 0;
    rc = sqlite3_prepare_v2(db->db,
                            "SELECT min(e.val_rmse) FROM epochs e JOIN runs r "
                            "ON r.id = e.run_id WHERE r.experiment = ?1 AND "
                            "r.id != ?2 AND e.epoch <= ?3 GROUP BY r.id "
                            "HAVING max(e.epoch) = ?3 AND "
                            "min(e.val_rmse) IS NOT NULL",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, experiment, -1,
                                                SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, run_id);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 3, epoch);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            int ncap = cap ? cap * 2 : 64;
            double *nv = mem_realloc(*vals, (size_t)ncap * sizeof *nv);
            if (!nv) {
                sqlite3_finalize(st);
                mem_free(*vals);
                *vals = NULL;
                *n = 0;
                return err_set(err, "%s: out of memory reading the "
                               "validation RMSEs of experiment %s", db->path,
                               experiment);
            }
            *vals = nv;
            cap = ncap;
        }
        (*vals)[(*n)++] = sqlite3_column_double(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        mem_free(*vals);
        *vals = NULL;
        *n = 0;
        return db_fail(db, rc, "read the other trials' validation RMSEs",
                       err);
    }
    return 0;
}

/* See db.h.  Returns 0 or -1 with err. */
int db_run_set_peak_rss(Db *db, int64_t run_id, double mb, char *err) {
    sqlite3_stmt *st = NULL;
    assert(db);
    int rc = sqlite3_prepare_v2(db->db,
                                "UPDATE runs SET peak_rss_mb = ?1 WHERE id = ?2 "
                                "AND (?3 IS NULL OR worker IS ?3)", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = mb >= 0 ? sqlite3_bind_double(st, 1, mb) : sqlite3_bind_null(st, 1);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, run_id);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 3, db->worker);
    if (rc == SQLITE_OK) rc = db_step_retry(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) return db_fail(db, rc, "record the peak memory", err);
    if (sqlite3_changes(db->db) != 1)
        return err_set(err, "cannot record the peak memory of run %lld in %s: "
                       "no such run%s", (long long)run_id, db->path,
                       db->worker ? " held by this worker" : "");
    return 0;
}

/* See db.h.  status must be one of finished, failed, interrupted, diverged.
 * Returns 0 or -1 with err. */
int db_run_end(Db *db, int64_t run_id, const char *status, char *err) {
    return db_run_end_msg(db, run_id, status, NULL, err);
}

/* Ends run_id with status, message (runs.error) and, for 'pruned', the
 * epoch and reason (pruned_epoch 0: NULL).  Returns 0 or -1 with err. */
static int db_run_end_full(Db *db, int64_t run_id, const char *status,
                           const char *message, int pruned_epoch,
                           const char *reason, char *err) {
    static const char *const ok[] = {"finished", "failed", "interrupted",
                                     "diverged", "pruned"};
    assert(db && status);
    sqlite3_stmt *st = db->run_end;
    int valid = 0, rc;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        valid |= strcmp(status, ok[i]) == 0;
    if (!valid)
        return err_set(err, "cannot end run %lld in %s: status '%s' is not "
                            "one of finished, failed, interrupted, "
                            "diverged, pruned",
                       (long long)run_id, db->path, status);
    if (db_check_file(db, "end the run", err)) return -1;
    for (int attempt = 0;; attempt++) {
        rc = sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, run_id);
        if (rc == SQLITE_OK) rc = db_bind_text(st, 3, message);
        if (rc == SQLITE_OK) rc = db_bind_text(st, 4, db->worker);
        if (rc == SQLITE_OK)
            rc = pruned_epoch > 0 ? sqlite3_bind_int(st, 5, pruned_epoch)
                                  : sqlite3_bind_null(st, 5);
        if (rc == SQLITE_OK) rc = db_bind_text(st, 6, reason);
        if (rc == SQLITE_OK) {
            rc = db_step_retry(st);
        } else {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
        /* a full disk or file-size limit usually hit the growing WAL: move
         * its pages into the database and empty it, then try once more */
        if (attempt > 0 || ((rc & 0xff) != SQLITE_IOERR &&
                            (rc & 0xff) != SQLITE_FULL))
            break;
        sqlite3_wal_checkpoint_v2(db->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                  NULL, NULL);
    }
    if (rc != SQLITE_OK) return db_fail(db, rc, "end the run", err);
    if (sqlite3_changes(db->db) != 1) {
        if (db->worker)
            return err_set(err, "cannot end run %lld in %s: worker %s no "
                                "longer holds it (it was taken over as stale)",
                           (long long)run_id, db->path, db->worker);
        return err_set(err, "cannot end run %lld in %s: no such run",
                       (long long)run_id, db->path);
    }
    return 0;
}

/* See db.h.  Returns 0 or -1 with err. */
int db_run_set_info(Db *db, int64_t run_id, const DbRunInfo *info,
                    char *err) {
    assert(db && info && info->cfg);
    sqlite3_stmt *st = db->run_set_info;
    int rc;
    if (db_check_info(db, info, err)) return -1;
    rc = db_bind_info(st, info);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 18, run_id);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 19, db->worker);
    if (rc == SQLITE_OK) {
        rc = db_step_retry(st);
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rc != SQLITE_OK) return db_fail(db, rc, "update the run", err);
    if (sqlite3_changes(db->db) != 1)
        return err_set(err, "cannot update run %lld in %s: no such run held "
                            "by this worker", (long long)run_id, db->path);
    return 0;
}

/* ----------------------------------------------------------------- grids -- */

/* See db.h.  Returns 0 or -1 with err. */
int db_set_worker(Db *db, const char *worker, char *err) {
    assert(db);
    char *copy = NULL;
    if (worker && !(copy = mem_strdup(worker)))
        return err_set(err, "%s: out of memory", db->path);
    mem_free(db->worker);
    db->worker = copy;
    return 0;
}

/* See db.h.  Returns 0 or -1 with err (nothing registered then). */
int db_experiment_register(Db *db, const DbExperiment *x, char *err) {
    assert(db && x && x->id && x->hashes && x->params && x->n_points >= 1);
    sqlite3_stmt *st = db->exp_insert;
    int rc, ret = -1;

    rc = db_begin(db);
    if (rc != SQLITE_OK) goto cleanup;
    rc = db_bind_text(st, 1, x->id);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 2, x->name);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, x->n_points);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 4, x->axes ? x->axes : "");
    if (rc == SQLITE_OK)
        rc = db_bind_text(st, 5, x->config_yaml ? x->config_yaml : "");
    if (rc == SQLITE_OK) rc = db_step_done(st);
    st = db->point_upsert;
    for (int64_t i = 0; rc == SQLITE_OK && i < x->n_points; i++) {
        rc = db_bind_text(st, 1, x->id);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, i);
        if (rc == SQLITE_OK) rc = db_bind_text(st, 3, x->hashes[i]);
        if (rc == SQLITE_OK) rc = db_bind_text(st, 4, x->params[i]);
        if (rc == SQLITE_OK) rc = db_step_done(st);
    }
    if (rc == SQLITE_OK) rc = db_step_done(db->commit);
    if (rc == SQLITE_OK) ret = 0;
cleanup:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (ret != 0) {
        db_fail(db, rc, "register the grid", err);
        if (!sqlite3_get_autocommit(db->db)) (void)db_step_done(db->rollback);
    }
    return ret;
}

/* Do worker ids a and b ("host:pid/tag") belong to the same grid command
 * (same host and tag)?  Its workers are watched by their parent, which
 * releases a dead one's point at once, so they need no waiting for. */
static int db_same_session(const char *a, const char *b) {
    const char *ca, *cb, *sa, *sb;
    if (!a || !b) return 0;
    ca = strrchr(a, ':');
    cb = strrchr(b, ':');
    sa = strrchr(a, '/');
    sb = strrchr(b, '/');
    return ca && cb && sa && sb && ca - a == cb - b &&
           !strncmp(a, b, (size_t)(ca - a)) && !strcmp(sa, sb);
}

/* Copies column i of st (may be NULL) into out (size n). */
static void db_column_copy(sqlite3_stmt *st, int i, char *out, size_t n) {
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, n, "%s", t ? (const char *)t : "");
}

/* See db.h.  Runs in one BEGIN IMMEDIATE transaction: advance the settled
 * cursor, pick a point, describe it, insert or reset its row, commit.
 * Returns DB_CLAIM_GOT / DB_CLAIM_WAIT / DB_CLAIM_DONE, or -1 with err
 * (the transaction rolled back, nothing claimed). */
int db_grid_claim(Db *db, DbClaimReq *req, DbDescribeFn describe, void *ctx,
                  DbClaim *out, char *err) {
    assert(db && req && req->experiment && describe && out);
    sqlite3_stmt *st = NULL;
    int rc, ret = -1, have_row = 0;
    int64_t settled = req->settled_below;
    DbRunInfo info;
    const char *what = "claim a grid point";

    memset(out, 0, sizeof *out);
    if (!db->worker)
        return err_set(err, "cannot claim a grid point in %s: no worker id "
                            "(db_set_worker)", db->path);
    rc = db_begin(db);
    if (rc != SQLITE_OK) goto cleanup;

    /* 1. points below the cursor are final; move it over newly final ones */
    st = db->claim_settled;
    rc = db_bind_text(st, 1, req->experiment);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, settled);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        settled = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        settled = INT64_MAX;   /* every point is final */
        rc = SQLITE_OK;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_OK) goto cleanup;

    /* 2. the lowest claimable point */
    st = db->claim_pick;
    rc = db_bind_text(st, 1, req->experiment);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, settled);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 3, req->stale_seconds);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 4, req->session_start);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, req->end);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->point = sqlite3_column_int64(st, 0);
        have_row = sqlite3_column_type(st, 1) != SQLITE_NULL;
        if (have_row) {
            char status[16];
            out->run_id = sqlite3_column_int64(st, 1);
            db_column_copy(st, 2, status, sizeof status);
            db_column_copy(st, 3, out->previous_worker,
                           sizeof out->previous_worker);
            out->attempts = sqlite3_column_int(st, 4) + 1;
            snprintf(out->previous, sizeof out->previous, "%s",
                     !strcmp(status, "running") ? "stale"
                     : !strcmp(status, "finished") ||
                             !strcmp(status, "diverged") ? "outdated"
                     : status);
        } else {
            out->attempts = 1;
        }
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        /* nothing to claim: wait if others run points that may go stale */
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        st = db->claim_running;
        rc = db_bind_text(st, 1, req->experiment);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, req->settled_below);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, req->end);
        if (rc == SQLITE_OK) {
            while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                out->running_elsewhere +=
                    !db_same_session(db->worker, (const char *)
                                     sqlite3_column_text(st, 0));
            if (rc == SQLITE_DONE) rc = SQLITE_OK;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_OK) goto cleanup;
        rc = db_step_done(db->commit);
        if (rc != SQLITE_OK) goto cleanup;
        req->settled_below = settled;
        return out->running_elsewhere ? DB_CLAIM_WAIT : DB_CLAIM_DONE;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_OK) goto cleanup;

    /* 3. describe it and take it */
    memset(&info, 0, sizeof info);
    if (describe(ctx, out->point, &info, err)) {
        rc = SQLITE_OK;
        goto cleanup_described;
    }
    assert(info.cfg);
    if (db_check_info(db, &info, err)) goto cleanup_described;
    if (have_row) {
        st = db->epochs_delete;
        rc = sqlite3_bind_int64(st, 1, out->run_id);
        if (rc == SQLITE_OK) rc = db_step_done(st);
        if (rc != SQLITE_OK) goto cleanup;
        st = db->refit_epochs_delete;
        rc = sqlite3_bind_int64(st, 1, out->run_id);
        if (rc == SQLITE_OK) rc = db_step_done(st);
        if (rc != SQLITE_OK) goto cleanup;
    }
    st = have_row ? db->claim_retake : db->claim_insert;
    rc = db_bind_info(st, &info);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 18, req->experiment);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 19, out->point);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 20, db->worker);
    if (rc == SQLITE_OK) rc = db_step_done(st);
    if (rc != SQLITE_OK) goto cleanup;
    if (sqlite3_changes(db->db) != 1) {
        err_set(err, "cannot claim grid point %lld of %s in %s: the point "
                     "vanished", (long long)out->point, req->experiment,
                db->path);
        goto cleanup_described;
    }
    if (!have_row) out->run_id = sqlite3_last_insert_rowid(db->db);
    rc = db_step_done(db->commit);
    if (rc != SQLITE_OK) goto cleanup;
    req->settled_below = settled;
    return DB_CLAIM_GOT;

cleanup:
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    db_fail(db, rc, what, err);
cleanup_described:
    if (!sqlite3_get_autocommit(db->db)) (void)db_step_done(db->rollback);
    return ret;
}

/* See db.h.  Returns 0 or -1 with err. */
int db_heartbeat(Db *db, const char *worker, char *err) {
    assert(db && worker);
    int rc = db_bind_text(db->heartbeat, 1, worker);
    if (rc == SQLITE_OK) rc = db_step_retry(db->heartbeat);
    if (rc != SQLITE_OK) return db_fail(db, rc, "write a heartbeat", err);
    return 0;
}

/* See db.h.  Returns 0 or -1 with err. */
int db_heartbeat_run(Db *db, int64_t run_id, char *err) {
    assert(db);
    int rc = sqlite3_bind_int64(db->heartbeat_run, 1, run_id);
    if (rc == SQLITE_OK) rc = db_step_retry(db->heartbeat_run);
    if (rc != SQLITE_OK) return db_fail(db, rc, "write a heartbeat", err);
    return 0;
}

/* See db.h.  Returns the number of runs released, or -1 with err. */
int db_worker_lost(Db *db, const char *worker, char *err) {
    assert(db && worker);
    int rc = db_bind_text(db->worker_lost, 1, worker);
    if (rc == SQLITE_OK) rc = db_step_retry(db->worker_lost);
    if (rc != SQLITE_OK) return db_fail(db, rc, "release a dead worker's run",
                                        err);
    return sqlite3_changes(db->db);
}

/* See db.h. */
double db_unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* --------------------------------------------------------------- queries -- */

/* See db.h.  Returns 0 with *out, or -1 with err and *out = NULL. */
/* 1 when path lies on a file system mounted read-only. */
static int db_on_read_only_media(const char *path) {
    struct statvfs vs;
    return statvfs(path, &vs) == 0 && (vs.f_flag & ST_RDONLY);
}

/* Writes into uri (cap bytes) "file:PATH?immutable=1" with PATH
 * percent-encoded where URIs need it.  Returns 0 or -1 (too long). */
static int db_immutable_uri(const char *path, char *uri, size_t cap) {
    size_t o = (size_t)snprintf(uri, cap, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (o + 4 >= cap) return -1;
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x21 || *p >= 0x7f)
            o += (size_t)snprintf(uri + o, cap - o, "%%%02X", *p);
        else
            uri[o++] = (char)*p;
    }
    if (o + 13 >= cap) return -1;
    snprintf(uri + o, cap - o, "?immutable=1");
    return 0;
}

/* On read-only media SQLite cannot create the -shm file a WAL database
 * needs even for reading: such a database is opened immutable (nothing can
 * change it there), saying so on stderr, unless an un-checkpointed -wal
 * file holds results that immutable would ignore.  Returns 1 when
 * *flags/uri were set for that, 0 for a normal open, -1 with err. */
static int db_read_only_media(const char *path, char *uri, size_t cap,
                              int *flags, char *err) {
    char wal[4096], shm[4096];
    struct stat st;
    if (!db_on_read_only_media(path)) return 0;
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    if (stat(wal, &st) == 0 && st.st_size > 0) {
        if (access(shm, F_OK) == 0) return 0;  /* SQLite reads it read-only */
        return err_set(err, "cannot read %s: it is on a read-only file system "
                       "and %s holds results not yet in the database file "
                       "(the writer did not close it): copy %s and its "
                       "-wal file to writable storage and query the copy",
                       path, wal, path);
    }
    if (db_immutable_uri(path, uri, cap))
        return err_set(err, "cannot open %s: the path is too long", path);
    *flags |= SQLITE_OPEN_URI;
    fprintf(stderr, "autorec: note: %s is on a read-only file system: "
            "opened read-only (immutable)\n", path);
    return 1;
}

int db_open_query(sqlite3 **out, const char *path, char *err) {
    Db probe;
    struct stat st;
    sqlite3_int64 version = 0;
    int rc, ret = -1;

    assert(out && path);
    *out = NULL;
    memset(&probe, 0, sizeof probe);
    probe.path = (char *)path;
    if (path[0] == '\0')
        return err_set(err, "the database path is empty: pass --db PATH");
    if (stat(path, &st) != 0)
        return err_set(err, "cannot open %s: %s: pass --db PATH of a results "
                            "database (autorec run and autorec grid create "
                            "one)", path, strerror(errno));
    if (db_check_regular(path, err)) return -1;
    char uri[3 * 4096 + 32];
    int flags = SQLITE_OPEN_READONLY;
    int immutable = db_read_only_media(path, uri, sizeof uri, &flags, err);
    if (immutable < 0) return -1;
    for (int pass = 0; pass < 2; pass++) {
        rc = sqlite3_open_v2(immutable ? uri : path, &probe.db, flags, NULL);
        if (rc != SQLITE_OK) {
            if (!probe.db) err_set(err, "cannot open %s: out of memory", path);
            else db_fail(&probe, rc, "open the database", err);
            goto done;
        }
        sqlite3_extended_result_codes(probe.db, 1);
        sqlite3_busy_timeout(probe.db, DB_BUSY_TIMEOUT_MS);
        if (db_inspect(&probe, &version, err)) goto done;
        if (version == 0) {
            err_set(err, "%s holds no autorec results (an empty database): "
                         "pass --db PATH of a results database", path);
            goto done;
        }
        if (version == DB_SCHEMA_VERSION) break;
        /* an older schema: migrate it once, read-write, then reopen */
        sqlite3_close(probe.db);
        probe.db = NULL;
        Db *w = NULL;
        char why[ERR_MAX];
        if (pass == 1 || db_open(&w, path, why)) {
            err_set(err, "%s uses schema %lld; upgrading it to schema %d "
                         "needs write access once: %s", path,
                    (long long)version, DB_SCHEMA_VERSION,
                    pass == 1 ? "the upgrade did not take" : why);
            goto done;
        }
        db_close(w);
    }
    rc = sqlite3_exec(probe.db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_fail(&probe, rc, "open the database", err);
        goto done;
    }
    *out = probe.db;
    probe.db = NULL;
    ret = 0;
done:
    sqlite3_close(probe.db);
    return ret;
}

/* ------------------------------------------------------ split summaries -- */

/* See db.h.  One BEGIN IMMEDIATE transaction: read the finished runs of
 * the group, summarise them (stats.h), replace the row.  Returns 0 or -1
 * with err (nothing written then). */
/* The per-run values summarised: selected test, selected validation, final
 * test and refit test RMSE (columns 1..4 of summary_runs). */
#define DB_SUMMARY_COLS 4

int db_split_summary_update(Db *db, const char *experiment,
                            int64_t group_point, int splits,
                            const char *params, char *err) {
    assert(db && experiment && params && splits >= 1);
    double *x = mem_alloc(DB_SUMMARY_COLS * (size_t)splits * sizeof *x);
    char *ids = mem_alloc((size_t)splits * 21 + 1), kind[16] = "";
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_NOMEM, ret = -1, n = 0;
    size_t idlen = 0;
    StatsSummary sel, val, fin, ref;

    if (!x || !ids) {
        err_set(err, "out of memory summarising the splits of %s", experiment);
        goto done;
    }
    ids[0] = '\0';
    rc = db_begin(db);
    if (rc != SQLITE_OK) goto fail;
    st = db->summary_runs;
    rc = db_bind_text(st, 1, experiment);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, group_point);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 3, splits);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if (n == splits) continue;   /* cannot happen: the range has splits */
        for (int k = 0; k < DB_SUMMARY_COLS; k++)
            x[k * splits + n] = sqlite3_column_type(st, 1 + k) == SQLITE_NULL
                                    ? NAN : sqlite3_column_double(st, 1 + k);
        idlen += (size_t)sprintf(ids + idlen, "%s%lld", n ? "," : "",
                                 (long long)sqlite3_column_int64(st, 0));
        db_column_copy(st, 1 + DB_SUMMARY_COLS, kind, sizeof kind);
        n++;
    }
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_OK) goto fail;
    stats_summarise(x, n, &sel);
    stats_summarise(x + splits, n, &val);
    stats_summarise(x + 2 * splits, n, &fin);
    stats_summarise(x + 3 * splits, n, &ref);
    st = db->summary_put;
    rc = db_bind_text(st, 1, experiment);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, group_point);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 3, params);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 4, kind);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 5, splits);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 6, sel.n);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 7, sel.mean);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 8, sel.sd);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 9, sel.mean - sel.half);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 10, sel.mean + sel.half);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 11, val.mean);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 12, val.sd);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 13, fin.mean);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 14, fin.sd);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 15, fin.mean - fin.half);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 16, fin.mean + fin.half);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 17, sel.t);
    if (rc == SQLITE_OK) rc = db_bind_text(st, 18, ids);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 19, ref.mean);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 20, ref.sd);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 21, ref.mean - ref.half);
    if (rc == SQLITE_OK) rc = db_bind_finite(st, 22, ref.mean + ref.half);
    if (rc == SQLITE_OK) rc = db_step_done(st);
    else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rc == SQLITE_OK) rc = db_step_done(db->commit);
    if (rc != SQLITE_OK) goto fail;
    ret = 0;
    goto done;
fail:
    db_fail(db, rc, "update the split summary", err);
    if (!sqlite3_get_autocommit(db->db)) (void)db_step_done(db->rollback);
done:
    mem_free(x);
    mem_free(ids);
    return ret;
}
