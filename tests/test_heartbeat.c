/* test_heartbeat.c - the heartbeat thread (src/heartbeat.h). */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "err.h"
#include "heartbeat.h"
#include "test.h"

/* The thread stamps a single run's heartbeat while it runs (its status in
 * run_summary turns from stale to running) and stops stamping once
 * stopped. */
static void test_heartbeat_stamps_one_run(void) {
    const char *dir = test_tmp_dir("hbtest");
    char path[512], err[ERR_MAX];
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(path, sizeof path, "%s/hb.db", dir);
    TestDesc d;
    DbRunInfo info;
    test_describe(&d, 0, &info, err);
    Db *db = NULL;
    int64_t id = 0;
    CHECK_MSG(db_open(&db, path, err) == 0 &&
              db_run_begin(db, &info, &id, err) == 0, "%s", err);
    sqlite3 *h = NULL;
    CHECK(sqlite3_open(path, &h) == SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    CHECK(sqlite3_exec(h, "UPDATE runs SET heartbeat_at = 0", NULL, NULL,
                       NULL) == SQLITE_OK);
    const char *stale = "SELECT count(*) FROM run_summary WHERE status = 'stale'";
    CHECK(test_sql_int(h, stale) == 1);
    Heartbeat hb;
    CHECK_MSG(heartbeat_start(&hb, path, NULL, id, 0.02, err) == 0, "%s", err);
    /* wait for a stamp (a deadline, not a timing assertion) */
    for (int i = 0; i < 500 && test_sql_int(h, stale) != 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    CHECK(test_sql_int(h, stale) == 0);
    heartbeat_stop(&hb);
    CHECK(hb.started == 0 && hb.db == NULL);
    CHECK(sqlite3_exec(h, "UPDATE runs SET heartbeat_at = 0", NULL, NULL,
                       NULL) == SQLITE_OK);
    struct timespec ts = {0, 100 * 1000 * 1000};   /* 5 intervals */
    nanosleep(&ts, NULL);
    CHECK(test_sql_int(h, "SELECT heartbeat_at FROM runs") == 0);
    heartbeat_stop(&hb);   /* twice: a no-op */
    sqlite3_close(h);
    db_close(db);
    test_rm_tree(dir);
}

/* A database that cannot be opened: an error, nothing started. */
static void test_heartbeat_start_fails_cleanly(void) {
    char err[ERR_MAX] = "";
    Heartbeat hb;
    CHECK(heartbeat_start(&hb, "", NULL, 1, 1.0, err) == -1);
    CHECK_MSG(strstr(err, "empty") != NULL, "%s", err);
    CHECK(hb.started == 0);
    heartbeat_stop(&hb);
}

void suite_heartbeat(void) {
    RUN(test_heartbeat_stamps_one_run);
    RUN(test_heartbeat_start_fails_cleanly);
}
