/* db.c - the SQLite results database (see db.h): its schema, the
 * migrations from every older schema version, the column tables of runs,
 * and db_open / db_close.  The other db_*.c files hold the statements
 * (db_stmt.c), one run's writes (db_run.c), grids (db_grid.c) and the
 * query connections (db_query.c); db_internal.h is what they share.
 *
 * One Db holds one connection and its prepared statements, prepared once in
 * db_open and finalized in db_close.  Functions return 0 on success and -1
 * on failure with a message (naming the database path and saying what to
 * do) in the caller's err buffer.  Opening refuses, before changing anything
 * in the file, files that are not SQLite, SQLite databases that are not
 * autorec's, and databases written by a newer schema version; an older
 * schema is migrated to DB_SCHEMA_VERSION in one transaction.  The schema a
 * new database gets is printed by `autorec help schema` (docs/schema.md,
 * generated).
 *
 * No global mutable state. */
#include "db_internal.h"

#include <assert.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "activation.h"
#include "err.h"
#include "mem.h"
#include "stop.h"

/* Once a stop signal is pending (stop.h), a statement waits at most this
 * long more for a lock: long enough to record an interruption when the
 * other writer lets go soon, short enough that SIGTERM is acted on within a
 * second (Slurm's grace period) however long the lock is held. */
#define DB_STOP_GRACE_MS 400

/* The descriptive columns of runs, from a DbRunInfo (schema 1): what
 * db_run_begin, db_run_set_info and a grid claim write, each bound to the
 * parameter of its name (:name, :config_yaml, ...) by its binder. */
typedef int (*DbInfoBindFn)(sqlite3_stmt *st, int i, const DbRunInfo *r);

/* Binds a possibly NULL text.  Returns an SQLite result code. */
static int db_bind_text(sqlite3_stmt *st, int i, const char *s) {
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
             : sqlite3_bind_null(st, i);
}
static int db_i_name(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return db_bind_text(s, i, r->cfg->name);
}
static int db_i_yaml(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return db_bind_text(s, i, r->config_yaml);
}
static int db_i_host(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return db_bind_text(s, i, r->host);
}
static int db_i_threads(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return sqlite3_bind_int(s, i, r->threads);
}
static int db_i_kernel(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return db_bind_text(s, i, r->kernel);
}
static int db_i_commit(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return db_bind_text(s, i, r->git_commit);
}
static int db_i_blis(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return db_bind_text(s, i, r->blis_info);
}
static int db_i_data_path(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return db_bind_text(s, i, r->cfg->data_path);
}
static int db_i_data_format(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return db_bind_text(s, i, cfg_format_name(r->cfg->data_format));
}
static int db_i_test_ratio(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return sqlite3_bind_double(s, i, r->cfg->test_ratio);
}
static int db_i_hidden(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return sqlite3_bind_int(s, i, r->cfg->hidden);
}
static int db_i_lr(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return sqlite3_bind_double(s, i, r->cfg->lr);
}
static int db_i_wd(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return sqlite3_bind_double(s, i, r->cfg->weight_decay);
}
static int db_i_dropout(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return sqlite3_bind_double(s, i, r->cfg->dropout);
}
static int db_i_epochs(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return sqlite3_bind_int(s, i, r->cfg->epochs);
}
static int db_i_batch(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return sqlite3_bind_int(s, i, r->cfg->batch_size);
}
/* db_check_info has checked that it fits */
static int db_i_seed(sqlite3_stmt *s, int i, const DbRunInfo *r) {
    return sqlite3_bind_int64(s, i, (sqlite3_int64)r->cfg->seed);
}

static const struct {
    const char *name;
    DbInfoBindFn bind;
} db_info_columns[] = {
    {"name", db_i_name},           {"config_yaml", db_i_yaml},
    {"host", db_i_host},           {"threads", db_i_threads},
    {"kernel", db_i_kernel},       {"git_commit", db_i_commit},
    {"blis_info", db_i_blis},      {"data_path", db_i_data_path},
    {"data_format", db_i_data_format}, {"test_ratio", db_i_test_ratio},
    {"hidden", db_i_hidden},       {"lr", db_i_lr},
    {"weight_decay", db_i_wd},     {"dropout", db_i_dropout},
    {"epochs", db_i_epochs},       {"batch_size", db_i_batch},
    {"seed", db_i_seed},
};
#define DB_NINFO_COLUMNS \
    ((int)(sizeof db_info_columns / sizeof db_info_columns[0]))

/* Schema 4: the columns of runs that record a Config's protocol options,
 * so that queries can filter and group on them.  Adding one is one line in
 * db_config_columns (name, SQL type, the schema version that adds it, its
 * binder) and one binder: db_stmt.c's INSERT/UPDATE statements get it (a
 * parameter of its name, :NAME), the migration adds the column (ALTER
 * TABLE) and run_summary shows it. */
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

/* schema 7: train.ema, eval.top_k, eval.relevant_min */
static int db_b_ema(sqlite3_stmt *s, int i, const Config *c) {
    return sqlite3_bind_double(s, i, c->ema);
}
static int db_b_top_k(sqlite3_stmt *s, int i, const Config *c) {
    return sqlite3_bind_int(s, i, c->top_k);
}
static int db_b_relevant_min(sqlite3_stmt *s, int i, const Config *c) {
    return sqlite3_bind_double(s, i, c->relevant_min);
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
    {"ema", "REAL", 7, db_b_ema},
    {"top_k", "INTEGER", 7, db_b_top_k},
    {"relevant_min", "REAL", 7, db_b_relevant_min},
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
    /* schema 7: which weights the selection chose with train.ema ('raw' or
     * 'ema'; NULL without ema), the ranking metrics of the run's result
     * model (eval.top_k; topn.h), and ensembles (ensemble.h): member_key
     * marks a member run (what it trained, for reuse), ensemble_size an
     * ensemble run (its members are in ensemble_members) */
    {"selected_weights", "TEXT", 7},
    {"precision_at_k", "REAL", 7},
    {"recall_at_k", "REAL", 7},
    {"ndcg_at_k", "REAL", 7},
    {"hit_rate_at_k", "REAL", 7},
    {"topn_users", "INTEGER", 7},
    {"member_key", "TEXT", 7},
    {"ensemble_size", "INTEGER", 7},
};
#define DB_NRESULT_COLUMNS \
    ((int)(sizeof db_result_columns / sizeof db_result_columns[0]))
#define DB_RESULT_EXPR \
    "coalesce(refit_test_rmse, selected_test_rmse, final_test_rmse)"
static const char db_migrate_v6[] =
    "UPDATE runs SET result_test_rmse = " DB_RESULT_EXPR ";\n";

/* Schema 6 -> 7: per epoch, the moving average's validation and test RMSE
 * (train.ema) and the ranking metrics when eval.top_k_every asks; the
 * members of ensemble runs with their fitted weights; the predictions a
 * member run stores for blending (float32 arrays in the order of the
 * split's validation and test ratings: val and test of the selected model,
 * refit of the refit model; pairs_key hashes the (user, item) pairs they
 * follow).  The runs columns are in the column tables above. */
static const char db_migrate_v7[] =
    "ALTER TABLE epochs ADD COLUMN ema_val_rmse REAL;\n"
    "ALTER TABLE epochs ADD COLUMN ema_test_rmse REAL;\n"
    "ALTER TABLE epochs ADD COLUMN precision_at_k REAL;\n"
    "ALTER TABLE epochs ADD COLUMN recall_at_k REAL;\n"
    "ALTER TABLE epochs ADD COLUMN ndcg_at_k REAL;\n"
    "ALTER TABLE epochs ADD COLUMN hit_rate_at_k REAL;\n"
    "CREATE TABLE ensemble_members(\n"
    "  ensemble_run INTEGER NOT NULL REFERENCES runs(id),\n"
    "  position INTEGER NOT NULL CHECK(position >= 1),\n"
    "  member_run INTEGER NOT NULL REFERENCES runs(id),\n"
    "  weight REAL NOT NULL,\n"
    "  label TEXT NOT NULL,\n"
    "  PRIMARY KEY(ensemble_run, position)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX ensemble_members_member ON ensemble_members(member_run);\n"
    "CREATE TABLE run_predictions(\n"
    "  run_id INTEGER PRIMARY KEY REFERENCES runs(id),\n"
    "  pairs_key TEXT NOT NULL,\n"
    "  val BLOB, test BLOB, refit BLOB\n"
    ");\n"
    "CREATE INDEX runs_member_key ON runs(member_key);\n";

/* Schema 7 -> 8: the candidates of an ensemble's select: members
 * (ensemble.h): per ensemble run, member position and candidate (1-based,
 * in the order the grid was written), the candidate's run, its
 * selected_val_rmse (what the choice read) and whether it was chosen. */
static const char db_migrate_v8[] =
    "CREATE TABLE ensemble_candidates(\n"
    "  ensemble_run INTEGER NOT NULL REFERENCES runs(id),\n"
    "  position INTEGER NOT NULL CHECK(position >= 1),\n"
    "  candidate INTEGER NOT NULL CHECK(candidate >= 1),\n"
    "  candidate_run INTEGER NOT NULL REFERENCES runs(id),\n"
    "  val_rmse REAL,\n"
    "  chosen INTEGER NOT NULL CHECK(chosen IN (0, 1)),\n"
    "  label TEXT NOT NULL,\n"
    "  PRIMARY KEY(ensemble_run, position, candidate)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX ensemble_candidates_run ON "
    "ensemble_candidates(candidate_run);\n";

/* See db_internal.h. */
void db_columns_sql(char *out, size_t n, int mode) {
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < DB_NINFO_COLUMNS + DB_NCONFIG_COLUMNS && len < n;
         k++) {
        const char *c = k < DB_NINFO_COLUMNS
                            ? db_info_columns[k].name
                            : db_config_columns[k - DB_NINFO_COLUMNS].name;
        const char *sep = k ? ", " : "";
        int w = 0;
        if (mode == DB_COLS_NAMES)
            w = snprintf(out + len, n - len, "%s%s", sep, c);
        else if (mode == DB_COLS_PARAMS)
            w = snprintf(out + len, n - len, "%s:%s", sep, c);
        else if (mode == DB_COLS_SET)
            w = snprintf(out + len, n - len, "%s%s = :%s", sep, c, c);
        else if (k >= DB_NINFO_COLUMNS)   /* VIEW: the config columns */
            w = snprintf(out + len, n - len, ", %s", c);
        len += (size_t)w;
    }
    for (int k = 0; mode == DB_COLS_VIEW && k < DB_NRESULT_COLUMNS; k++)
        len += (size_t)snprintf(out + len, n - len, ", %s",
                                db_result_columns[k].name);
    assert(len < n);
}

/* See db_internal.h: each info and config column through its binder, to
 * the parameter of its name. */
int db_bind_info(sqlite3_stmt *st, const DbRunInfo *info) {
    int rc = SQLITE_OK;
    for (int k = 0; k < DB_NINFO_COLUMNS + DB_NCONFIG_COLUMNS &&
                    rc == SQLITE_OK; k++) {
        const int config = k >= DB_NINFO_COLUMNS;
        char param[80];
        snprintf(param, sizeof param, ":%s",
                 config ? db_config_columns[k - DB_NINFO_COLUMNS].name
                        : db_info_columns[k].name);
        int i = sqlite3_bind_parameter_index(st, param);
        assert(i > 0);
        if (i == 0) return SQLITE_RANGE;
        rc = config ? db_config_columns[k - DB_NINFO_COLUMNS].bind(st, i,
                                                                   info->cfg)
                    : db_info_columns[k].bind(st, i, info);
    }
    return rc;
}

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
/* after db_views_head, the config columns (db_columns_sql), then this */
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

/* See db_internal.h: a failed SQLite call on db as a message in err,
 * the common codes turned into advice.  Returns -1. */
int db_fail(Db *db, int rc, const char *what, char *err) {
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
int db_inspect(Db *db, sqlite3_int64 *version, char *err) {
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
    /* before db_allow_pruned (after its schema edit, an allocation failure
     * in these ALTERs was reported as "no such table: epochs" in
     * test_oom_db_layer instead of as out of memory) */
    if (rc == SQLITE_OK && version < 7)
        rc = sqlite3_exec(db->db, db_migrate_v7, NULL, NULL, &msg);
    if (rc == SQLITE_OK && version < 8)
        rc = sqlite3_exec(db->db, db_migrate_v8, NULL, NULL, &msg);
    if (rc == SQLITE_OK && version < 6) rc = db_allow_pruned(db, &msg);
    if (rc == SQLITE_OK && version < DB_SCHEMA_VERSION) {
        char views[sizeof db_views_head + sizeof db_views_tail + 1024];
        char cols[1024];
        db_columns_sql(cols, sizeof cols, DB_COLS_VIEW);
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

/* Refuses, before anything opens it, a database path that exists and is
 * not a regular file (a FIFO would block SQLite's open forever, a device
 * or socket is not a database), and a dangling symbolic link (SQLite would
 * create the file it points to).  Returns 0 (also when path does not
 * exist) or -1 with err. */
int db_check_regular(const char *path, char *err) {
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

/* See db.h: the checks, the connection, the schema, then every statement
 * of db_stmt.c's table.  Returns 0 and sets *out (owned by the caller,
 * db_close), or -1 with err and *out = NULL. */
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

    if (db_stmt_prepare(db, err)) goto fail;
    *out = db;
    return 0;
fail:
    db_close(db);
    return -1;
}

/* See db.h.  Finalizes the statements, closes the connection and frees db. */
void db_close(Db *db) {
    if (!db) return;
    db_stmt_finalize(db);
    sqlite3_close(db->db);   /* NULL is a harmless no-op */
    mem_free(db->worker);
    mem_free(db->path);
    mem_free(db);
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
