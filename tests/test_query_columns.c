/* test_query_columns.c - the column table drives every query tool: a key
 * added to it (qcol_set_extra) appears in ls, show, compare, best, export,
 * plot legends and --where without touching any of them. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cfg.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "query.h"
#include "test.h"

/* Runs main(argc, argv) with stdout into a temporary file (stderr
 * discarded); returns its exit code and the output in out (size n,
 * truncated). */
static int capture(int (*main_fn)(int, char **), int argc, char **argv,
                   char *out, size_t n) {
    char path[] = "/tmp/autorec-qcol-XXXXXX";
    int fd = mkstemp(path), saved, rc;
    out[0] = '\0';
    if (fd < 0) return -1;
    fflush(stdout);
    fflush(stderr);
    saved = dup(1);
    int saved_err = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    if (null >= 0) dup2(null, 2);
    rc = main_fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved, 1);
    dup2(saved_err, 2);
    close(saved);
    close(saved_err);
    if (null >= 0) close(null);
    lseek(fd, 0, SEEK_SET);
    ssize_t got = read(fd, out, n - 1);
    out[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(path);
    return rc;
}

/* A database with two finished runs, hidden 100 and 300, two epochs each. */
static int make_db(const char *path) {
    char err[ERR_MAX];
    Db *db = NULL;
    int rc = 0;
    if (db_open(&db, path, err)) return -1;
    for (int r = 0; r < 2 && rc == 0; r++) {
        Config c;
        cfg_defaults(&c);
        snprintf(c.name, sizeof c.name, "cols");
        c.hidden = r ? 300 : 100;
        char *yaml = cfg_to_yaml(&c);
        DbRunInfo info = {&c, yaml, "h", 1, "dense", "abc", "blis"};
        int64_t id = 0;
        DbEpoch e1 = {1, 5.0, 1.0 - 0.1 * r, 1, 1, 0.8, 0, 0, 0, 1, .has_ema = 0};
        DbEpoch e2 = {2, 4.0, 0.95 - 0.1 * r, 1, 1, 0.7, 0, 0, 0, 1, .has_ema = 0};
        rc = !yaml || db_run_begin(db, &info, &id, err) ||
             db_epoch_add(db, id, &e1, err) || db_epoch_add(db, id, &e2, err) ||
             db_run_end(db, id, "finished", err);
        mem_free(yaml);
    }
    db_close(db);
    return rc ? -1 : 0;
}

static void test_added_key_everywhere(void) {
    static const QColumn extra[] = {
        {"twice_hidden", NULL, "(hidden * 2)", NULL, "2h", QF_PLAIN, QK_INT,
         QCOL_PARAM, 100},
    };
    const char *dir = test_tmp_dir("qcol");
    char path[512], svg[600], *out = malloc(1 << 16);
    CHECK(dir && out);
    if (!dir || !out) { free(out); return; }
    snprintf(path, sizeof path, "%s/r.db", dir);
    snprintf(svg, sizeof svg, "%s/c.svg", dir);
    CHECK(make_db(path) == 0);
    const size_t n = 1 << 16;

    /* without the extra key: unknown everywhere */
    char *ls0[] = {"ls", "--db", path, "--where", "twice_hidden = 200", NULL};
    CHECK(capture(query_ls_main, 5, ls0, out, n) == 2);

    qcol_set_extra(extra, 1);
    CHECK(qcol_find("twice_hidden") == &extra[0]);
    char *ls[] = {"ls", "--db", path, NULL};
    CHECK(capture(query_ls_main, 3, ls, out, n) == 0);
    CHECK_MSG(strstr(out, "  2h\n") && strstr(out, "  200\n") &&
              strstr(out, "  600\n"), "ls: %s", out);
    CHECK(capture(query_ls_main, 5, ls0, out, n) == 0);
    CHECK_MSG(strstr(out, "  200\n") && !strstr(out, "  600\n"),
              "ls --where: %s", out);
    char *lsj[] = {"ls", "--db", path, "--format", "json", NULL};
    CHECK(capture(query_ls_main, 5, lsj, out, n) == 0);
    CHECK_MSG(strstr(out, "\"twice_hidden\": 600"), "ls json: %s", out);
    char *show[] = {"show", "2", "--db", path, NULL};
    CHECK(capture(query_show_main, 4, show, out, n) == 0);
    CHECK_MSG(strstr(out, " twice_hidden=600"), "show: %s", out);
    char *cmp[] = {"compare", "1", "2", "--db", path, NULL};
    CHECK(capture(query_compare_main, 5, cmp, out, n) == 0);
    CHECK_MSG(strstr(out, "\ntwice_hidden  "), "compare: %s", out);
    char *best[] = {"best", "--by", "twice_hidden", "--db", path, NULL};
    CHECK(capture(query_best_main, 5, best, out, n) == 0);
    CHECK_MSG(strstr(out, "overall best: run 2 (twice_hidden=600)"),
              "best: %s", out);
    char *exp[] = {"export", "--runs", "--db", path, NULL};
    CHECK(capture(query_export_main, 4, exp, out, n) == 0);
    CHECK_MSG(strstr(out, ",twice_hidden") && strstr(out, ",600"),
              "export: %s", out);
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("SKIP test_added_key_everywhere (plot legend): gnuplot is not "
               "installed\n");
    } else {
        char *plot[] = {"plot", "1", "2", "-o", svg, "--db", path, NULL};
        CHECK(capture(query_plot_main, 7, plot, out, n) == 0);
        FILE *f = fopen(svg, "r");
        size_t got = f ? fread(out, 1, n - 1, f) : 0;
        out[got] = '\0';
        if (f) fclose(f);
        CHECK_MSG(strstr(out, "#2 hidden=300 layers=300 twice_hidden=600"),
                  "plot legend lacks twice_hidden");
    }
    qcol_set_extra(NULL, 0);
    CHECK(qcol_find("twice_hidden") == NULL);
    free(out);
    test_rm_tree(dir);
}

void suite_query_columns(void) {
    RUN(test_added_key_everywhere);
}
