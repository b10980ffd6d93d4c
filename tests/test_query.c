/* test_query.c - tests of query.c / query_where.c: the filter grammar and
 * its refusals (injection attempts), sorting, tables, formatting. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "query.h"
#include "test.h"

/* Parses text into a fresh filter; returns 0/-1 (f must be freed). */
static int parse(QFilter *f, const char *text, char *err) {
    memset(f, 0, sizeof *f);
    err[0] = '\0';
    return query_where_parse(f, text, err);
}

static void test_where_accepts(void) {
    QFilter f;
    char err[ERR_MAX];
    CHECK_MSG(parse(&f, "hidden >= 300 and lr < 0.005", err) == 0, "%s", err);
    CHECK_MSG(!strcmp(f.sql, "(hidden >= ? AND lr < ?)"), "%s", f.sql);
    CHECK(f.nvalues == 2 && f.values[0].type == SQLITE_INTEGER &&
          f.values[0].i == 300 && f.values[1].type == SQLITE_FLOAT &&
          f.values[1].d == 0.005);
    query_filter_free(&f);

    CHECK_MSG(parse(&f, "(wd = 0 OR model.hidden<>100) and not status = "
                        "finished", err) == 0, "%s", err);
    CHECK_MSG(!strcmp(f.sql, "((weight_decay = ? OR hidden != ?) AND NOT "
                             "status = ?)"), "%s", f.sql);
    CHECK(f.values[2].type == SQLITE_TEXT &&
          !strcmp(f.values[2].text, "finished"));
    query_filter_free(&f);

    CHECK_MSG(parse(&f, "name like 'grid%' or experiment == \"it's\" or "
                        "name = 'a''b'", err) == 0, "%s", err);
    CHECK_MSG(!strcmp(f.sql, "(name LIKE ? OR experiment = ? OR name = ?)"),
              "%s", f.sql);
    CHECK(!strcmp(f.values[0].text, "grid%") &&
          !strcmp(f.values[1].text, "it's") && !strcmp(f.values[2].text, "a'b"));
    query_filter_free(&f);

    CHECK_MSG(parse(&f, "lr>=1e-3 and seed != -1 and best_rmse <= .95", err)
              == 0, "%s", err);
    CHECK(f.values[0].d == 1e-3 && f.values[1].i == -1 &&
          f.values[2].d == 0.95);
    query_filter_free(&f);

    /* schema 4's protocol columns and the selected metrics, also by their
     * config keys */
    CHECK_MSG(parse(&f, "train.l2 >= 1 and optimizer = adamw and "
                        "data.split.index < 3 and split_kind = 'folds' and "
                        "selected_test_rmse < 0.9 and val_rmse < 0.9", err)
              == 0, "%s", err);
    CHECK_MSG(!strcmp(f.sql, "(l2 >= ? AND optimizer = ? AND split_index < ? "
                             "AND split_kind = ? AND selected_test_rmse < ? "
                             "AND selected_val_rmse < ?)"), "%s", f.sql);
    CHECK(f.values[1].type == SQLITE_TEXT && f.values[2].type == SQLITE_INTEGER);
    query_filter_free(&f);

    /* selection: status list, experiment, where; ANDed */
    QSelect sel = {"finished,diverged", "grid-x", "hidden > 1", 0, 0};
    memset(&f, 0, sizeof f);
    CHECK_MSG(query_filter_build(&f, &sel, err) == 0 &&
              query_filter_add_experiment(&f, &sel, err) == 0, "%s", err);
    CHECK_MSG(!strcmp(f.sql, "status IN (?, ?) AND (hidden > ?) AND "
                             "experiment = ?"), "%s", f.sql);
    CHECK(f.nvalues == 4);
    query_filter_free(&f);
    sel.all_matching = 1;
    CHECK_MSG(query_filter_build(&f, &sel, err) == 0 &&
              query_filter_add_experiment(&f, &sel, err) == 0, "%s", err);
    CHECK_MSG(!strcmp(f.sql, "status IN (?, ?) AND (hidden > ?) AND "
                             "experiment IN (SELECT id FROM experiments "
                             "WHERE name = ?)"), "%s", f.sql);
    query_filter_free(&f);
    QSelect all = {"all", NULL, NULL, 0, 0};
    CHECK(query_filter_build(&f, &all, err) == 0 && f.len == 0);
    QSelect bad = {"done", NULL, NULL, 0, 0};
    CHECK(query_filter_build(&f, &bad, err) == -1);
    CHECK_MSG(strstr(err, "'done' is not a status"), "%s", err);
    query_filter_free(&f);
}

/* Checks that text is refused with a message containing want. */
static void refused(const char *text, const char *want) {
    QFilter f;
    char err[ERR_MAX];
    CHECK_MSG(parse(&f, text, err) == -1, "accepted: %s -> %s", text, f.sql);
    CHECK_MSG(strstr(err, want) != NULL, "%s: %s", text, err);
    query_filter_free(&f);
}

static void test_where_refuses(void) {
    refused("hidden >= 1; DROP TABLE runs", "unexpected text: ';' at position 12");
    refused("hidden >= '1; DROP TABLE runs'", "hidden takes a number");
    refused("hidden >= 1 or 1=1", "expected a key");
    refused("hidden >= 1 or id = id", "not a key or keyword");
    refused("name = 'x' OR 1=1 --", "expected a key");
    refused("name = 'unterminated", "expected a value");
    refused("password = 1", "unknown key 'password'");
    refused("hidden >= 1 union select * from runs", "unexpected text");
    refused("lr like 0.1", "like needs a text key");
    refused("(hidden > 1", "expected ')'");
    refused("hidden > 1)", "unbalanced ')'");
    refused("hidden", "expected an operator");
    refused("hidden ~ 3", "expected an operator");
    refused("hidden > 12abc", "expected a value");
    refused("", "empty filter");
    refused("hidden >= 1 /* comment */", "unexpected text");
    char deep[200] = "";
    for (int i = 0; i < 40; i++) strcat(deep, "(");
    strcat(deep, "hidden > 1");
    refused(deep, "nested too deeply");
}

/* The filter runs against a real table; hostile text stays data. */
static void test_where_binds(void) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    QFilter f;
    char err[ERR_MAX], sql[QUERY_SQL_MAX + 128];
    CHECK(sqlite3_open(":memory:", &h) == SQLITE_OK);
    CHECK(sqlite3_exec(h, "CREATE TABLE run_summary(id, name, hidden, lr);"
                          "INSERT INTO run_summary VALUES (1, 'a', 100, "
                          "0.001), (2, 'b', 300, 0.002), (3, 'x'' OR 1=1 "
                          "--', 500, 0.005)", NULL, NULL, NULL) == SQLITE_OK);
    const char *cases[][2] = {
        {"hidden >= 300 and lr < 0.005", "2"},
        {"name = 'x'' OR 1=1 --'", "3"},
        {"name = 'a'' OR 1=1 --'", ""},
        {"name like '%OR%' or hidden = 100", "1,3"},
        {"not (hidden > 100)", "1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_MSG(parse(&f, cases[i][0], err) == 0, "%s", err);
        snprintf(sql, sizeof sql, "SELECT coalesce(group_concat(id), '') "
                 "FROM (SELECT id FROM run_summary WHERE %s ORDER BY id)",
                 f.sql);
        CHECK(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK);
        CHECK(query_filter_bind(st, &f, 1) == SQLITE_OK);
        CHECK(sqlite3_step(st) == SQLITE_ROW);
        const char *got = (const char *)sqlite3_column_text(st, 0);
        CHECK_MSG(got && !strcmp(got, cases[i][1]), "%s: got '%s' want '%s'",
                  cases[i][0], got ? got : "(null)", cases[i][1]);
        sqlite3_finalize(st);
        query_filter_free(&f);
    }
    sqlite3_close(h);
}

static void test_order_and_format(void) {
    char out[512], err[ERR_MAX], b[64];
    CHECK(query_order_build(out, sizeof out, NULL, err) == 0);
    CHECK(!strcmp(out, "ORDER BY id"));
    CHECK_MSG(query_order_build(out, sizeof out, "best_rmse,-hidden", err) ==
              0, "%s", err);
    CHECK_MSG(!strcmp(out, "ORDER BY best_test_rmse IS NULL, best_test_rmse "
                           "ASC, hidden IS NULL, hidden DESC, id"), "%s", out);
    CHECK(query_order_build(out, sizeof out, "hidden; drop", err) == -1);
    CHECK_MSG(strstr(err, "unknown key 'hidden; drop'"), "%s", err);
    CHECK(query_key("train.lr") && !strcmp(query_key("train.lr")->column, "lr"));
    CHECK(query_key("wd") && !strcmp(query_key("wd")->column, "weight_decay"));
    CHECK(query_key("runs") == NULL);
    static const char *const v4[] = {"l2", "optimizer", "validation_ratio",
        "split_seed", "schedule", "patience", "clip", "cold_default",
        "split_kind", "split_index", "selected_epoch", "selected_test_rmse",
        "selected_val_rmse"};
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++)
        CHECK_MSG(query_key(v4[i]) && !strcmp(query_key(v4[i])->column, v4[i]),
                  "%s", v4[i]);
    CHECK(query_order_build(out, sizeof out, "-selected_test_rmse", err) == 0);
    CHECK_MSG(!strcmp(out, "ORDER BY selected_test_rmse IS NULL, "
                           "selected_test_rmse DESC, id"), "%s", out);
    CHECK(!strcmp(query_duration(12.34, b, sizeof b), "12.3s"));
    CHECK(!strcmp(query_duration(65, b, sizeof b), "1m05s"));
    CHECK(!strcmp(query_duration(7260, b, sizeof b), "2h01m"));
    CHECK(!strcmp(query_real(0.1, b, sizeof b), "0.1"));
    CHECK(!strcmp(query_real(1e-5, b, sizeof b), "1.0000000000000001e-05") ||
          !strcmp(b, "1e-05"));
    sqlite3_int64 id;
    CHECK(query_run_id("#14", &id, err) == 0 && id == 14);
    CHECK(query_run_id("14x", &id, err) == -1);
    CHECK(query_run_id("0", &id, err) == -1);
}

static void test_table(void) {
    QTable t;
    char path[] = "/tmp/autorec-qt-XXXXXX", buf[256] = "";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w+") : NULL;
    CHECK(f != NULL);
    if (!f) return;
    qt_init(&t, 3);
    qt_head(&t, 0, "id", 1);
    qt_head(&t, 1, "name", 0);
    qt_head(&t, 2, "rmse", 1);
    qt_row(&t);
    qt_set(&t, 0, "%d", 7);
    qt_set(&t, 1, "%s", "alpha");
    qt_set(&t, 2, "%.4f", 0.9123);
    qt_row(&t);
    qt_set(&t, 0, "%d", 12);
    qt_set(&t, 1, "%s", "b");
    CHECK(qt_print(&t, f) == 0);
    qt_free(&t);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    CHECK_MSG(!strcmp(buf, "id  name     rmse\n"
                           " 7  alpha  0.9123\n"
                           "12  b\n"), "%s", buf);
    fclose(f);
    unlink(path);
}

void suite_query(void) {
    RUN(test_where_accepts);
    RUN(test_where_refuses);
    RUN(test_where_binds);
    RUN(test_order_and_format);
    RUN(test_table);
}
