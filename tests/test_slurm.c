/* test_slurm.c - `autorec slurm` and `autorec merge` pieces: the --array
 * specification, merge_shard's replacement rule and idempotence, and a merge
 * under allocation failures (all or nothing of a shard). */
#include <math.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "merge.h"
#include "slurm.h"
#include "test.h"

static void test_array_spec(void) {
    char b[64];
    size_t all[] = {0, 1, 2, 3, 4, 5}, some[] = {3, 5, 7, 8, 9, 12};
    CHECK(slurm_array_spec(all, 6, 2, b, sizeof b) == 0 && !strcmp(b, "0-5%2"));
    CHECK(slurm_array_spec(all, 6, 0, b, sizeof b) == 0 && !strcmp(b, "0-5"));
    CHECK(slurm_array_spec(some, 6, 4, b, sizeof b) == 0 &&
          !strcmp(b, "3,5,7-9,12%4"));
    CHECK(slurm_array_spec(some, 1, 0, b, sizeof b) == 0 && !strcmp(b, "3"));
    CHECK(slurm_array_spec(some + 3, 2, 0, b, sizeof b) == 0 &&
          !strcmp(b, "8-9"));
    CHECK(slurm_array_spec(some, 6, 4, b, 8) == -1);   /* does not fit */
}

/* Writes shard `path`: experiment "e" (3 points), point `point` run with
 * `epochs` epochs and then ended with `status` (NULL: left running).
 * Returns 0 or -1. */
static int make_shard(const char *path, int point, int epochs,
                      const char *status) {
    const char *hashes[] = {"h0", "h1", "h2"}, *params[] = {"a=0", "a=1",
                                                            "a=2"};
    DbExperiment x = {"e", "exp", "a", "yaml", 3, hashes, params};
    char err[ERR_MAX];
    Db *db = NULL;
    DbClaim c;
    TestDesc d;
    int ret = -1;
    DbClaimReq r = {"e", 30, db_unix_now() + 1, point, point + 1};
    if (db_open(&db, path, err) || db_set_worker(db, "h:1/0001", err) ||
        db_experiment_register(db, &x, err) ||
        db_grid_claim(db, &r, test_describe, &d, &c, err) != DB_CLAIM_GOT)
        goto done;
    for (int e = 1; e <= epochs; e++) {
        DbEpoch ep = {e, 10.0 / e, 1.0 + 1.0 / e, 0.1, 0.1, NAN, 0, 0, 0, 0, .has_ema = 0};
        if (db_epoch_add(db, c.run_id, &ep, err)) goto done;
    }
    if (status && db_run_end(db, c.run_id, status, err)) goto done;
    ret = 0;
done:
    if (ret) fprintf(stderr, "    make_shard: %s\n", err);
    db_close(db);
    return ret;
}

/* Opens the target like autorec merge does (db_open, then a connection). */
static sqlite3 *open_target(const char *path) {
    char err[ERR_MAX];
    Db *db = NULL;
    sqlite3 *h = NULL;
    if (db_open(&db, path, err)) return NULL;
    db_close(db);
    if (sqlite3_open(path, &h) != SQLITE_OK) {
        sqlite3_close(h);
        return NULL;
    }
    return h;
}

static void test_merge_rule(void) {
    const char *dir = test_tmp_dir("merge");
    char t[512], s1[512], s2[512], err[ERR_MAX];
    MergeStats st = {0};
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(t, sizeof t, "%s/t.db", dir);
    snprintf(s1, sizeof s1, "%s/s1.db", dir);
    snprintf(s2, sizeof s2, "%s/s2.db", dir);
    CHECK(make_shard(s1, 1, 2, NULL) == 0);          /* point 1 running */
    sqlite3 *h = open_target(t);
    CHECK(h != NULL);
    if (!h) goto out;
    CHECK_MSG(merge_shard(h, s1, &st, err) == 0, "%s", err);
    CHECK(st.runs_new == 1 && st.epochs == 2);
    CHECK(test_sql_int(h, "SELECT count(*) FROM grid_points") == 3);
    CHECK(test_sql_int(h, "SELECT n_points FROM experiments") == 3);
    /* the task goes on in its shard: 3 epochs and a 2-epoch refit,
     * finished; merged again, the more complete row replaces the old one,
     * epochs and refit epochs included */
    sqlite3 *hs = NULL;
    CHECK(sqlite3_open(s1, &hs) == SQLITE_OK);
    CHECK(sqlite3_exec(hs, "INSERT INTO epochs(run_id, epoch, train_loss, "
                           "test_rmse) VALUES(1, 3, 1, 1.2); INSERT INTO "
                           "refit_epochs(run_id, epoch, train_loss, test_rmse) "
                           "VALUES(1, 1, 2, 1.3), (1, 2, 1, 1.1); UPDATE runs "
                           "SET status = 'finished', epochs_done = 3, "
                           "refit_epochs = 2, refit_test_rmse = 1.1",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(hs);
    memset(&st, 0, sizeof st);
    CHECK_MSG(merge_shard(h, s1, &st, err) == 0, "%s", err);
    CHECK(st.runs_replaced == 1 && st.runs_new == 0 && st.epochs == 5);
    CHECK(test_sql_int(h, "SELECT count(*) FROM epochs") == 3);
    CHECK(test_sql_int(h, "SELECT count(*) FROM refit_epochs WHERE run_id = "
                          "1 AND test_rmse > 1") == 2);
    CHECK(test_sql_int(h, "SELECT refit_epochs = 2 AND refit_test_rmse = 1.1 "
                          "FROM runs") == 1);
    CHECK(test_sql_int(h, "SELECT status = 'finished' FROM runs") == 1);
    /* idempotent */
    memset(&st, 0, sizeof st);
    CHECK_MSG(merge_shard(h, s1, &st, err) == 0, "%s", err);
    CHECK(st.runs_kept == 1 && st.runs_replaced == 0 && st.epochs == 0);
    CHECK(test_sql_int(h, "SELECT count(*) FROM refit_epochs") == 2);
    /* a later attempt of the same point that failed does not replace the
     * finished run; a different point is added */
    CHECK(make_shard(s2, 1, 1, "failed") == 0);
    memset(&st, 0, sizeof st);
    CHECK_MSG(merge_shard(h, s2, &st, err) == 0, "%s", err);
    CHECK(st.runs_kept == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE status = "
                          "'finished' AND epochs_done = 3") == 1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs") == 1);
    /* not an autorec database: refused, nothing merged */
    FILE *f = fopen(s2, "w");
    if (f) {
        fputs("junk", f);
        fclose(f);
    }
    CHECK(merge_shard(h, s2, &st, err) == -1);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs") == 1);
    sqlite3_close(h);
out:
    test_rm_tree(dir);
}

/* Every allocation failure leaves the target with all of the shard or
 * none of it, and a message saying "out of memory". */
static void test_merge_alloc_failures(void) {
    const char *dir = test_tmp_dir("mergeoom");
    char t[512], s[512], err[ERR_MAX];
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(s, sizeof s, "%s/s.db", dir);
    snprintf(t, sizeof t, "%s/t.db", dir);
    CHECK(make_shard(s, 2, 4, "finished") == 0);
    CHECK(sqlite_use_mem(1) == 0);
    sqlite3 *h = open_target(t);
    CHECK(h != NULL);
    int ok = 0, failures = 0;
    for (long n = 1; n < 5000 && !ok && h; n++) {
        MergeStats st = {0};
        err[0] = '\0';
        mem_fail_at(n);
        int rc = merge_shard(h, s, &st, err);
        mem_fail_at(0);
        int64_t runs = test_sql_int(h, "SELECT count(*) FROM runs");
        int64_t epochs = test_sql_int(h, "SELECT count(*) FROM epochs");
        if (rc == 0) {
            ok = 1;
            CHECK(runs == 1 && epochs == 4);
        } else {
            failures++;
            CHECK_MSG(runs == 0 && epochs == 0, "n=%ld: %lld runs, %lld "
                      "epochs after a failed merge", n, (long long)runs,
                      (long long)epochs);
            CHECK_MSG(strstr(err, "out of memory") != NULL, "n=%ld: %s", n,
                      err);
        }
    }
    CHECK(ok);
    CHECK(failures > 10);   /* the failures did reach the merge */
    sqlite3_close(h);
    CHECK(sqlite_use_mem(0) == 0);
    test_rm_tree(dir);
}

/* merge_run (what autorec merge and the Slurm chain's promotion step
 * run): a directory stands for its shards; a missing shard is a usage
 * error that creates nothing. */
static void test_merge_run(void) {
    const char *tmp = test_tmp_dir("mergerun");
    char dir[512], s1[600], s2[600], target[600], missing[600];
    CHECK(tmp != NULL);
    if (!tmp) return;
    snprintf(dir, sizeof dir, "%s/shards", tmp);
    snprintf(s1, sizeof s1, "%s/1.db", dir);
    snprintf(s2, sizeof s2, "%s/2.db", dir);
    snprintf(target, sizeof target, "%s/results.db", tmp);
    snprintf(missing, sizeof missing, "%s/none.db", tmp);
    CHECK(mkdir(dir, 0777) == 0);
    CHECK(make_shard(s1, 1, 2, "finished") == 0);
    CHECK(make_shard(s2, 2, 3, "finished") == 0);
    const char *bad[] = {dir, missing};
    const char *good[] = {dir};
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    int bad_rc = merge_run(bad, 2, target);
    struct stat sb;
    int created = stat(target, &sb) == 0;
    int good_rc = merge_run(good, 1, target);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(null);
    CHECK(bad_rc == 2 && !created);
    CHECK(good_rc == 0);
    sqlite3 *h = NULL;
    CHECK(sqlite3_open(target, &h) == SQLITE_OK);
    CHECK(test_sql_int(h, "SELECT count(*) FROM runs WHERE status = "
                          "'finished'") == 2);
    CHECK(test_sql_int(h, "SELECT count(*) FROM epochs") == 5);
    sqlite3_close(h);
    test_rm_tree(tmp);
}

void suite_slurm(void) {
    RUN(test_merge_run);
    RUN(test_array_spec);
    RUN(test_merge_rule);
    RUN(test_merge_alloc_failures);
}
