/* db_internal.h - what the files of the results database share (not for
 * other modules):
 *
 *   db.c        the schema, its migrations and column tables, db_open
 *   db_stmt.c   the table of prepared statements and the one bind, step
 *               and reset helper
 *   db_run.c    one run: its row, epochs, end
 *   db_grid.c   experiments, claims, heartbeats, split summaries
 *   db_query.c  the read-only connections of the query commands
 *
 * Every statement of a Db is prepared once by db_open from db_stmt.c's
 * table and named by a DbStmt; its parameters have names (:run, :epoch,
 * :experiment, ...), bound by name from DbArg lists. */
#ifndef AUTOREC_DB_INTERNAL_H
#define AUTOREC_DB_INTERNAL_H

#include <sqlite3.h>
#include <sys/types.h>

#include "db.h"

/* now in SQL, as stored in started_at and finished_at */
#define DB_NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
#define DB_BUSY_TIMEOUT_MS 10000   /* busy timeout of every connection */

/* The prepared statements of a Db (db_stmt.c holds their SQL). */
typedef enum {
    DB_ST_BEGIN,             /* BEGIN IMMEDIATE */
    DB_ST_COMMIT,
    DB_ST_ROLLBACK,
    DB_ST_RUN_INSERT,        /* a new run: the info columns */
    DB_ST_RUN_SET_INFO,      /* the info columns of :run */
    DB_ST_EPOCH_INSERT,
    DB_ST_RUN_UPDATE_EPOCH,  /* the run's columns after an epoch */
    DB_ST_REFIT_INSERT,
    DB_ST_RUN_UPDATE_REFIT,  /* the run's columns after a refit epoch */
    DB_ST_RUN_END,
    DB_ST_RUN_CHECKPOINT,
    DB_ST_RUN_PEAK_RSS,
    DB_ST_PEER_VAL_BEST,     /* the other trials' best validation RMSE */
    DB_ST_EXP_INSERT,
    DB_ST_POINT_UPSERT,
    DB_ST_CLAIM_SETTLED,     /* the first point not settled */
    DB_ST_CLAIM_PICK,        /* the first claimable point */
    DB_ST_CLAIM_RUNNING,     /* the workers of running points */
    DB_ST_CLAIM_INSERT,      /* a point's first run */
    DB_ST_CLAIM_RETAKE,      /* a point's run row, restarted */
    DB_ST_EPOCHS_DELETE,
    DB_ST_REFIT_EPOCHS_DELETE,
    DB_ST_HEARTBEAT,         /* every running run of :worker */
    DB_ST_HEARTBEAT_RUN,
    DB_ST_WORKER_LOST,
    DB_ST_SUMMARY_RUNS,      /* the finished runs of a split group */
    DB_ST_SUMMARY_PUT,
    DB_NSTMT
} DbStmt;

struct Db {
    sqlite3 *db;
    char *path;                 /* owned copy of the path, for messages */
    int created;                /* 1: db_open created its schema (a new or
                                   empty file) */
    int has_file;               /* 0: in memory or a URI, no identity */
    dev_t dev;                  /* the file's identity when opened */
    ino_t ino;
    sqlite3_stmt *st[DB_NSTMT]; /* prepared by db_stmt_prepare */
    int busy_waited_ms;         /* db_busy: waited for the current lock */
    int busy_stop_ms;           /* busy_waited_ms when the stop was seen, or -1 */
    char *worker;               /* owned; NULL unless db_set_worker */
};

/* A value for the named parameter of a statement. */
typedef enum { DB_ARG_NULL, DB_ARG_INT, DB_ARG_REAL, DB_ARG_TEXT } DbArgType;
typedef struct {
    const char *name;    /* ":run" */
    DbArgType type;
    sqlite3_int64 i;     /* DB_ARG_INT */
    double d;            /* DB_ARG_REAL */
    const char *s;       /* DB_ARG_TEXT (bound static: must outlive the step) */
} DbArg;

/* The DbArg of name: an integer, a real, a real that is NULL unless finite,
 * a text that is NULL when s is NULL, NULL. */
DbArg db_arg_int(const char *name, sqlite3_int64 v);
DbArg db_arg_real(const char *name, double v);
DbArg db_arg_finite(const char *name, double v);
DbArg db_arg_text(const char *name, const char *s);
DbArg db_arg_null(const char *name);

/* Prepares every statement of the table into db->st.  Returns 0 or -1
 * with err. */
int db_stmt_prepare(Db *db, char *err);

/* Finalizes every statement of db; accepts a Db whose statements were not
 * (all) prepared. */
void db_stmt_finalize(Db *db);

/* Binds the n args to their named parameters of statement st.  Returns an
 * SQLite result code (SQLITE_RANGE when st has no parameter of a name). */
int db_bind_args(sqlite3_stmt *st, const DbArg *args, int n);

/* Binds info (the info and config columns, :name ... :seed, :l2 ...) to
 * st by name.  Returns an SQLite result code. */
int db_bind_info(sqlite3_stmt *st, const DbRunInfo *info);

/* The one bind, step and reset helper: binds the n args to statement id of
 * db (when rc, the result of binds made before, is SQLITE_OK), steps it
 * once (retried while the database stays busy past the busy timeout,
 * unless a stop signal is pending: db_busy), then resets it and clears its
 * bindings.  For statements that return no row.  Returns SQLITE_OK, or the
 * SQLite error code. */
int db_exec(Db *db, DbStmt id, int rc, const DbArg *args, int n);

/* For statements that return rows: binds the n args to statement id of db
 * and returns the statement, to be stepped by the caller and handed back
 * with db_reset; *rc gets the binds' result code. */
sqlite3_stmt *db_query(Db *db, DbStmt id, const DbArg *args, int n, int *rc);

/* Resets st and clears its bindings; accepts NULL. */
void db_reset(sqlite3_stmt *st);

/* BEGIN IMMEDIATE (retried while busy), COMMIT, and ROLLBACK when a
 * transaction is open.  Return SQLite result codes. */
int db_begin(Db *db);
int db_commit(Db *db);
void db_rollback(Db *db);

/* The lists of the info and config columns of runs that db_stmt.c puts
 * into its statements (db.c holds the columns). */
enum { DB_COLS_NAMES, DB_COLS_PARAMS, DB_COLS_SET, DB_COLS_VIEW };
/* Writes into out (size n): NAMES "name, config_yaml, ..., l2, ...";
 * PARAMS the same names as parameters ":name, ..."; SET "name = :name,
 * ..."; VIEW ", l2, ..." (the config and result columns after the fixed
 * ones of run_summary). */
void db_columns_sql(char *out, size_t n, int mode);

/* Checks that info can be stored (the seed fits SQLite's INTEGER).
 * Returns 0 or -1 with err. */
int db_check_info(Db *db, const DbRunInfo *info, char *err);

/* Formats a message for a failed SQLite call on db into err, turning the
 * common codes into advice.  `what` says what was being done.  Returns
 * -1. */
int db_fail(Db *db, int rc, const char *what, char *err);

/* Reads db's user_version into *version and checks its tables (see db.c).
 * Returns 0 when compatible, 1 when not (err), -1 when SQLite failed
 * (err). */
int db_inspect(Db *db, sqlite3_int64 *version, char *err);

/* Refuses a database path that exists and is not a regular file, or a
 * dangling symbolic link.  Returns 0 or -1 with err. */
int db_check_regular(const char *path, char *err);

#endif
