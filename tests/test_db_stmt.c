/* test_db_stmt.c - the statement table of a Db (src/db_stmt.c): every
 * statement prepares, takes named parameters only, and the column lists it
 * is built from name columns of runs; a DbArg binds by name. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "db_internal.h"
#include "err.h"
#include "test.h"

/* Every statement of a fresh database: prepared, with only :named
 * parameters (no ?N numbers to keep in step with SQL built elsewhere). */
static void test_statements_use_named_parameters(void) {
    Db *db = NULL;
    char err[ERR_MAX];
    CHECK_MSG(db_open(&db, ":memory:", err) == 0, "%s", err);
    if (!db) return;
    for (int k = 0; k < DB_NSTMT; k++) {
        sqlite3_stmt *st = db->st[k];
        CHECK_MSG(st != NULL, "statement %d not prepared", k);
        if (!st) continue;
        for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
            const char *name = sqlite3_bind_parameter_name(st, i);
            CHECK_MSG(name && name[0] == ':', "statement %d parameter %d: %s",
                      k, i, name ? name : "(unnamed)");
        }
    }
    /* the statements that write a run's info take every column list's
     * parameter; the others take their own */
    CHECK(sqlite3_bind_parameter_index(db->st[DB_ST_RUN_INSERT], ":seed") > 0);
    CHECK(sqlite3_bind_parameter_index(db->st[DB_ST_RUN_INSERT], ":l2") > 0);
    CHECK(sqlite3_bind_parameter_index(db->st[DB_ST_CLAIM_RETAKE],
                                       ":experiment") > 0);
    CHECK(sqlite3_bind_parameter_index(db->st[DB_ST_CLAIM_RETAKE],
                                       ":refit") > 0);
    db_close(db);
}

/* The column lists name real columns of runs, the same ones in the same
 * order in every form. */
static void test_column_lists(void) {
    Db *db = NULL;
    char err[ERR_MAX], names[4096], params[4096], set[8192], sql[256];
    CHECK_MSG(db_open(&db, ":memory:", err) == 0, "%s", err);
    if (!db) return;
    db_columns_sql(names, sizeof names, DB_COLS_NAMES);
    db_columns_sql(params, sizeof params, DB_COLS_PARAMS);
    db_columns_sql(set, sizeof set, DB_COLS_SET);
    CHECK(!strncmp(names, "name, config_yaml, host,", 24));
    CHECK(!strncmp(params, ":name, :config_yaml, :host,", 27));
    CHECK(!strncmp(set, "name = :name, config_yaml = :config_yaml,", 41));
    int n = 0;
    char *save = NULL, *p = params, *s = set;
    for (char *c = strtok_r(names, ", ", &save); c;
         c = strtok_r(NULL, ", ", &save)) {
        sqlite3_stmt *st = NULL;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM "
                                  "pragma_table_info('runs') WHERE name = '%s'",
                 c);
        CHECK(sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW);
        CHECK_MSG(sqlite3_column_int(st, 0) == 1, "runs has no column %s", c);
        sqlite3_finalize(st);
        char want[128];
        snprintf(want, sizeof want, ":%s", c);
        CHECK_MSG(!strncmp(p, want, strlen(want)), "params at %s: %.30s", c, p);
        snprintf(want, sizeof want, "%s = :%s", c, c);
        CHECK_MSG(!strncmp(s, want, strlen(want)), "set at %s: %.30s", c, s);
        p = strchr(p, ','), s = strchr(s, ',');
        p = p ? p + 2 : "";
        s = s ? s + 2 : "";
        n++;
    }
    CHECK(n > 17);   /* the info columns and the config columns */
    CHECK(*p == '\0' && *s == '\0');
    db_close(db);
}

/* db_exec binds DbArgs by name: a NULL text binds NULL, a non-finite real
 * through db_arg_finite binds NULL. */
static void test_args_bind_by_name(void) {
    Db *db = NULL;
    char err[ERR_MAX];
    CHECK_MSG(db_open(&db, ":memory:", err) == 0, "%s", err);
    if (!db) return;
    DbArg x[] = {db_arg_text(":experiment", "e"), db_arg_text(":name", "n"),
                 db_arg_int(":n_points", 2), db_arg_text(":axes", NULL),
                 db_arg_text(":config_yaml", "y")};
    /* axes is NOT NULL: a NULL text really binds NULL */
    CHECK(db_exec(db, DB_ST_EXP_INSERT, SQLITE_OK, x, 5) ==
          SQLITE_CONSTRAINT_NOTNULL);
    x[3] = db_arg_text(":axes", "a");
    CHECK(db_exec(db, DB_ST_EXP_INSERT, SQLITE_OK, x, 5) == SQLITE_OK);
    DbArg p[] = {db_arg_text(":experiment", "e"), db_arg_int(":point", 1),
                 db_arg_text(":config_hash", "h"), db_arg_text(":params", "a=1")};
    CHECK(db_exec(db, DB_ST_POINT_UPSERT, SQLITE_OK, p, 4) == SQLITE_OK);
    CHECK(test_sql_int(db->db, "SELECT n_points FROM experiments WHERE id = "
                               "'e' AND axes = 'a'") == 2);
    CHECK(test_sql_int(db->db, "SELECT point FROM grid_points WHERE "
                               "params = 'a=1' AND config_hash = 'h'") == 1);
    /* an error before the binds: nothing is stepped */
    CHECK(db_exec(db, DB_ST_POINT_UPSERT, SQLITE_NOMEM, p, 4) == SQLITE_NOMEM);
    DbArg f = db_arg_finite(":x", 1.0 / 0.0);
    CHECK(f.type == DB_ARG_NULL);
    f = db_arg_finite(":x", 2.5);
    CHECK(f.type == DB_ARG_REAL && f.d == 2.5);
    db_close(db);
}

void suite_db_stmt(void) {
    RUN(test_statements_use_named_parameters);
    RUN(test_column_lists);
    RUN(test_args_bind_by_name);
}
