/* test_help.c - the generated references of `autorec help`: the config key
 * reference against the resolved config the code writes, the schema
 * reference against a database db_open created, and the text helpers. */
#include "test.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "err.h"
#include "help.h"
#include "mem.h"

/* Runs writer into a string (caller frees with free), or NULL; *rc gets
 * the writer's return value. */
static char *capture(int (*writer)(FILE *, int, char *), int markdown,
                     char *err, int *rc) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    *rc = writer(f, markdown, err);
    fclose(f);
    return buf;
}

/* Every line "key: value" of the flat default config is a key of the table
 * with that default, in the same order, and the table has no other key. */
static void test_key_info_matches_the_resolved_config(void) {
    Config c;
    char err[ERR_MAX];
    cfg_defaults(&c);
    char *flat = cfg_to_flat(&c);
    CHECK(flat != NULL);
    if (!flat) return;
    int i = 0;
    for (char *line = strtok(flat, "\n"); line; line = strtok(NULL, "\n"), i++) {
        CfgKeyInfo k;
        char *colon = strstr(line, ": ");
        CHECK(colon != NULL);
        if (!colon) break;
        *colon = '\0';
        CHECK_MSG(cfg_key_info(i, &k, err) == 0, "key %d: %s", i, err);
        CHECK_MSG(strcmp(k.key, line) == 0, "key %d: %s vs %s", i, k.key, line);
        CHECK_MSG(strcmp(k.default_value, colon + 2) == 0, "%s: default %s vs %s",
                  line, k.default_value, colon + 2);
        CHECK_MSG(k.help[0] && k.accepts[0], "%s: no help or accepts", line);
    }
    CHECK(i == cfg_key_count());
    mem_free(flat);
}

static void test_key_info_out_of_range(void) {
    CfgKeyInfo k;
    char err[ERR_MAX] = "";
    CHECK(cfg_key_info(-1, &k, err) == -1);
    CHECK(strstr(err, "does not exist") != NULL);
    CHECK(cfg_key_info(cfg_key_count(), &k, err) == -1);
}

/* What a key accepts is what the setter enforces: the range of train.lr
 * and the names of data.format, and the single-precision note. */
static void test_key_info_accepts_is_the_setters_range(void) {
    char err[ERR_MAX];
    for (int i = 0; i < cfg_key_count(); i++) {
        CfgKeyInfo k;
        CHECK(cfg_key_info(i, &k, err) == 0);
        if (!strcmp(k.key, "train.lr")) {
            CHECK_MSG(strstr(k.accepts, "(0, 10]") && strstr(k.accepts, "single"),
                      "train.lr accepts %s", k.accepts);
            CHECK(strcmp(k.example, "0.002") == 0);
        }
        if (!strcmp(k.key, "data.format"))
            CHECK_MSG(strstr(k.accepts, "ml-100k, ml-1m, csv") != NULL,
                      "data.format accepts %s", k.accepts);
    }
}

/* One Markdown row per key, each naming its key, with no raw '|' left in a
 * cell (every row has exactly the 5 separators of 4 columns). */
static void test_config_markdown_has_one_row_per_key(void) {
    char err[ERR_MAX];
    int rc = -1, rows = 0;
    char *md = capture(help_config, 1, err, &rc);
    CHECK(md && rc == 0);
    if (!md) return;
    for (char *line = strtok(md, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "| `", 3) != 0) continue;
        int bars = 0;
        for (char *p = line; *p; p++) bars += *p == '|' && (p == line || p[-1] != '\\');
        CHECK_MSG(bars == 5, "%d separators in %s", bars, line);
        CfgKeyInfo k;
        CHECK(cfg_key_info(rows, &k, err) == 0);
        CHECK_MSG(strncmp(line + 3, k.key, strlen(k.key)) == 0, "row %d: %s", rows, line);
        rows++;
    }
    CHECK(rows == cfg_key_count());
    free(md);
}

/* Every column of every table of a database db_open created has its row
 * in the schema reference, which names the schema version. */
static void test_schema_markdown_lists_every_column(void) {
    char err[ERR_MAX], path[512], want[160], version[64];
    const char *dir = test_tmp_dir("help");
    Db *db = NULL;
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1, columns = 0;
    CHECK(dir != NULL);
    if (!dir) return;
    snprintf(path, sizeof path, "%s/results.db", dir);
    CHECK(db_open(&db, path, err) == 0);
    db_close(db);
    char *md = capture(help_schema, 1, err, &rc);
    CHECK_MSG(md && rc == 0, "%s", err);
    snprintf(version, sizeof version, "schema version %d", DB_SCHEMA_VERSION);
    CHECK(md && strstr(md, version));
    CHECK(sqlite3_open(path, &h) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(h, "SELECT m.name, c.name FROM sqlite_master m, "
                             "pragma_table_info(m.name) c WHERE m.type IN "
                             "('table', 'view')", -1, &st, NULL) == SQLITE_OK);
    while (md && sqlite3_step(st) == SQLITE_ROW) {
        const char *table = (const char *)sqlite3_column_text(st, 0);
        snprintf(want, sizeof want, "| `%s` |", sqlite3_column_text(st, 1));
        CHECK_MSG(strstr(md, want), "%s.%s missing", table, want);
        columns++;
    }
    CHECK(columns > 100);
    sqlite3_finalize(st);
    sqlite3_close(h);
    free(md);
    test_rm_tree(dir);
}

/* No temporary directory: an error naming TMPDIR, and nothing written. */
static void test_schema_without_tmpdir_fails_cleanly(void) {
    char err[ERR_MAX] = "";
    const char *old = getenv("TMPDIR");
    char saved[512] = "";
    int rc = 0;
    if (old) snprintf(saved, sizeof saved, "%s", old);
    setenv("TMPDIR", "/nonexistent/autorec-help-test", 1);
    char *md = capture(help_schema, 1, err, &rc);
    if (old) setenv("TMPDIR", saved, 1);
    else unsetenv("TMPDIR");
    CHECK(rc == -1);
    CHECK_MSG(strstr(err, "set TMPDIR") != NULL, "%s", err);
    CHECK(md && md[0] == '\0');
    free(md);
}

/* Checks that write(f) writes exactly want. */
static void check_written(void (*write)(FILE *f), const char *want) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    if (!f) return;
    write(f);
    fclose(f);
    CHECK_MSG(strcmp(buf, want) == 0, "wrote \"%s\", want \"%s\"", buf, want);
    free(buf);
}

static void write_cell(FILE *f) { help_md_cell(f, "a|b <x> *y* `c|<d>*`"); }

static void write_wrapped(FILE *f) {
    fputs("key ", f);
    help_wrap(f, "one two three four five six seven eight nine ten", 4, 2, 16);
}

/* Markdown cells: | always escaped, < > * only outside code spans. */
static void test_md_cell_escapes(void) {
    check_written(write_cell, "a\\|b &lt;x&gt; \\*y\\* `c\\|<d>*`");
}

/* Wrapping: no line longer than the width (unless one word is), every word
 * kept in order, continuation lines indented. */
static void test_wrap_keeps_words_within_width(void) {
    check_written(write_wrapped, "key one two\n  three four\n  five six seven\n"
                                 "  eight nine ten\n");
}

void suite_help(void) {
    RUN(test_key_info_matches_the_resolved_config);
    RUN(test_key_info_out_of_range);
    RUN(test_key_info_accepts_is_the_setters_range);
    RUN(test_config_markdown_has_one_row_per_key);
    RUN(test_schema_markdown_lists_every_column);
    RUN(test_schema_without_tmpdir_fails_cleanly);
    RUN(test_md_cell_escapes);
    RUN(test_wrap_keeps_words_within_width);
}
