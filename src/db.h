/* db.h - the SQLite results database: types and prototypes.
 *
 * Schema (PRAGMA user_version = DB_SCHEMA_VERSION), WAL mode, busy timeout:
 *   runs(id, name, status, config_yaml, started_at, finished_at, host,
 *        threads, kernel, git_commit, blis_info, hidden, lr, weight_decay,
 *        dropout, epochs, batch_size, seed, final_test_rmse, best_test_rmse,
 *        best_epoch)
 *   epochs(run_id, epoch, train_loss, test_rmse, train_seconds,
 *          eval_seconds, PRIMARY KEY(run_id, epoch))
 * Each epoch is written in its own transaction together with the run's
 * final/best columns, so a crash never leaves half an epoch. */
#ifndef AUTOREC_DB_H
#define AUTOREC_DB_H

#include <stdint.h>

#include "cfg.h"

#define DB_SCHEMA_VERSION 1

typedef struct Db Db;

typedef struct {
    const Config *cfg;        /* hyper-parameters and name */
    const char *config_yaml;  /* resolved config text */
    const char *host;
    int threads;              /* OpenMP threads used */
    const char *kernel;       /* resolved kernel name ("dense", ...) */
    const char *git_commit;
    const char *blis_info;    /* BLIS version / threading, free text */
} DbRunInfo;

typedef struct {
    int epoch;                /* 1-based */
    double train_loss;
    double test_rmse;
    double train_seconds;
    double eval_seconds;
} DbEpoch;

/* Opens (creating if needed) the database at path, creating its parent
 * directory when missing, and migrates an empty file to the schema.  Refuses
 * a file that is not SQLite, not an autorec database, or from a newer schema
 * version.  On success *out is owned by the caller (db_close). */
int db_open(Db **out, const char *path, char *err);

/* Closes the database; accepts NULL. */
void db_close(Db *db);

/* Inserts a run with status 'running' and started_at = now; sets *run_id. */
int db_run_begin(Db *db, const DbRunInfo *info, int64_t *run_id, char *err);

/* Records one finished epoch and updates the run's final_test_rmse,
 * best_test_rmse and best_epoch, in one transaction. */
int db_epoch_add(Db *db, int64_t run_id, const DbEpoch *e, char *err);

/* Sets the run's status ("finished", "failed", "interrupted") and
 * finished_at = now. */
int db_run_end(Db *db, int64_t run_id, const char *status, char *err);

#endif
