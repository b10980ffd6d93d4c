/* test_data.c - tests of data.c: parsing, id mapping, splits, errors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"
#include "err.h"
#include "mem.h"
#include "test.h"

/* Fills *c for a random split of the ratings at path. */
static void cfg_random(Config *c, DataFormat f, const char *path,
                       double ratio, uint64_t seed) {
    memset(c, 0, sizeof *c);
    snprintf(c->data_path, sizeof c->data_path, "%s", path);
    c->data_format = f;
    c->split_kind = SPLIT_RANDOM;
    c->test_ratio = ratio;
    c->seed = seed;
}

/* Fills *c for a files split (data_path may be ""). */
static void cfg_files(Config *c, DataFormat f, const char *dir,
                      const char *train, const char *test) {
    memset(c, 0, sizeof *c);
    snprintf(c->data_path, sizeof c->data_path, "%s", dir);
    c->data_format = f;
    c->split_kind = SPLIT_FILES;
    c->test_ratio = 0.1;
    snprintf(c->train_file, sizeof c->train_file, "%s", train);
    snprintf(c->test_file, sizeof c->test_file, "%s", test);
}

/* Loads train_text/test_text (format f) as a files split into *ds.
 * Returns data_load's result; err receives the message. */
static int load_pair(DataFormat f, const char *train_text,
                     const char *test_text, Dataset *ds, char *err) {
    char a[256], b[256];
    const char *p = test_write_temp(".txt", train_text);
    if (!p) return -2;
    snprintf(a, sizeof a, "%s", p);
    p = test_write_temp(".txt", test_text);
    if (!p) return -2;
    snprintf(b, sizeof b, "%s", p);
    Config c;
    cfg_files(&c, f, "", a, b);
    int rc = data_load(&c, ds, err);
    unlink(a);
    unlink(b);
    return rc;
}

static void test_ml100k_parse(void) {
    Dataset ds;
    char err[ERR_MAX] = "";
    int rc = load_pair(DATA_ML100K,
                       "1\t1\t5\t881250949\n3\t4\t2\t881250950\n",
                       "2\t2\t4\t0\n", &ds, err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc) return;
    CHECK(ds.n_train == 2 && ds.n_test == 1);
    CHECK(ds.num_users == 3 && ds.num_items == 4);
    CHECK(ds.user_ids[0] == 1 && ds.user_ids[2] == 3);
    CHECK(ds.item_ids[0] == 1 && ds.item_ids[3] == 4);
    CHECK(ds.train[0].user == 0 && ds.train[0].item == 0 &&
          ds.train[0].rating == 5.0f);
    CHECK(ds.train[1].user == 2 && ds.train[1].item == 3 &&
          ds.train[1].rating == 2.0f);
    CHECK(ds.test[0].user == 1 && ds.test[0].item == 1 &&
          ds.test[0].rating == 4.0f);
    CHECK(ds.min_rating == 2.0f && ds.max_rating == 5.0f);
    data_free(&ds);
    CHECK(ds.train == NULL && ds.user_ids == NULL && ds.n_train == 0);
}

static void test_ml1m_parse(void) {
    Dataset ds;
    char err[ERR_MAX] = "";
    int rc = load_pair(DATA_ML1M, "1::1193::5::978300760\n2::10::3::978300761\n",
                       "2::1193::1::978300762\n", &ds, err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc) return;
    CHECK(ds.num_users == 2 && ds.num_items == 1193);
    CHECK(ds.train[0].user == 0 && ds.train[0].item == 1192);
    CHECK(ds.train[1].item == 9 && ds.test[0].user == 1);
    CHECK(ds.item_ids[1192] == 1193);
    CHECK(ds.min_rating == 1.0f && ds.max_rating == 5.0f);
    data_free(&ds);
}

static void test_csv_sparse_half_stars(void) {
    Dataset ds;
    char err[ERR_MAX] = "";
    int rc = load_pair(DATA_CSV,
                       "userId,movieId,rating,timestamp\n"
                       "10,500,3.5,964982703\n7,20,4.0,964982704\n",
                       "USERID,MovieId,Rating,ts\n10,20,0.5,1\n"
                       "2147483647,99999,5,2\n",
                       &ds, err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc) return;
    CHECK(ds.num_users == 3 && ds.num_items == 3);
    CHECK(ds.user_ids[0] == 7 && ds.user_ids[1] == 10 &&
          ds.user_ids[2] == 2147483647);
    CHECK(ds.item_ids[0] == 20 && ds.item_ids[1] == 500 &&
          ds.item_ids[2] == 99999);
    CHECK(ds.train[0].user == 1 && ds.train[0].item == 1 &&
          ds.train[0].rating == 3.5f);
    CHECK(ds.train[1].user == 0 && ds.train[1].item == 0);
    CHECK(ds.test[0].user == 1 && ds.test[0].item == 0 &&
          ds.test[0].rating == 0.5f);
    CHECK(ds.test[1].user == 2 && ds.test[1].item == 2);
    CHECK(ds.min_rating == 0.5f && ds.max_rating == 5.0f);
    data_free(&ds);
}

static void test_crlf_and_no_final_newline(void) {
    Dataset ds;
    char err[ERR_MAX] = "";
    int rc = load_pair(DATA_ML100K, "1\t1\t5\t1\r\n2\t2\t3\t2\r\n",
                       "1\t2\t4\t3\r\n2\t1\t1\t4", &ds, err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(ds.n_train == 2 && ds.n_test == 2);
        CHECK(ds.test[1].rating == 1.0f && ds.test[1].user == 1);
        data_free(&ds);
    }
    rc = load_pair(DATA_CSV, "\xEF\xBB\xBFuserId,movieId,rating,timestamp\r\n"
                             "1,1,5,1\r\n",
                   "userId,movieId,rating,timestamp\n1,2,4.5,3", &ds, err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(ds.test[0].rating == 4.5f);
        data_free(&ds);
    }
}

typedef struct {
    DataFormat f;
    const char *text;   /* line 1 (csv: header) is fine, line 2 is bad */
    const char *want;   /* expected substring besides ":2:" */
} BadCase;

static void test_malformed_lines(void) {
    static const BadCase cases[] = {
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\n", "found 3 fields"},
        {DATA_ML100K, "1\t1\t5\t1\n1 2 3 4\n", "found 1 field"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\t4\t5\n", "found 5 fields"},
        {DATA_ML100K, "1\t1\t5\t1\n1::2::3::4\n", "is the format ml-1m?"},
        {DATA_ML100K, "1\t1\t5\t1\n1,2,3,4\n", "is the format csv?"},
        {DATA_ML1M, "1::1::5::1\n1\t2\t3\t4\n", "is the format ml-100k?"},
        {DATA_ML1M, "1::1::5::1\n1:2::3::4\n", "found 3 fields"},
        {DATA_ML1M, "1::1::5::1\n1::2::3::4::\n", "found 5 fields"},
        {DATA_CSV, "userId,movieId,rating,timestamp\n1,2,3.5\n", "found 3"},
        {DATA_ML100K, "1\t1\t5\t1\n\n2\t2\t3\t4\n", "empty line"},
        {DATA_ML100K, "1\t1\t5\t1\na\t2\t3\t4\n", "user id 'a'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\tb\t3\t4\n", "item id 'b'"},
        {DATA_ML100K, "1\t1\t5\t1\n 1\t2\t3\t4\n", "user id ' 1'"},
        {DATA_ML100K, "1\t1\t5\t1\n+1\t2\t3\t4\n", "user id '+1'"},
        {DATA_ML100K, "1\t1\t5\t1\n-1\t2\t3\t4\n", "not a positive integer"},
        {DATA_ML100K, "1\t1\t5\t1\n0\t2\t3\t4\n", "user id 0 is not positive"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t0\t3\t4\n", "item id 0 is not positive"},
        {DATA_CSV, "userId,movieId,rating,timestamp\n2147483648,2,3,4\n",
         "out of range"},
        {DATA_CSV, "userId,movieId,rating,timestamp\n1,99999999999999999999999,3,4\n",
         "out of range"},
        {DATA_ML100K, "1\t1\t5\t1\n\t2\t3\t4\n", "empty user id"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t\t3\t4\n", "empty item id"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t\t4\n", "empty rating"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\t\n", "empty timestamp"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\tx\t4\n", "rating 'x' is not a number"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\tnan\t4\n", "rating 'nan'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\tinf\t4\n", "rating 'inf'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t1e1\t4\n", "rating '1e1'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t0x3\t4\n", "rating '0x3'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3.5.1\t4\n", "rating '3.5.1'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t.\t4\n", "rating '.'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t0\t4\n", "outside (0, 10]"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t0.0\t4\n", "outside (0, 10]"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t10.5\t4\n", "outside (0, 10]"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\tt\n", "timestamp 't'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\t4 \n", "timestamp '4 '"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\t-4\n", "timestamp '-4'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\t4\r\r\n", "timestamp '4\\r'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\t99999999999999999999999\n",
         "timestamp 99999999999999999999999 is out of range"},
        {DATA_CSV, "userId,movieId,rating,timestamp\n1,2,3\xC3\xA9,4\n",
         "rating '3"},
    };
    char err[ERR_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = test_write_temp(".txt", cases[i].text);
        CHECK(p != NULL);
        if (!p) continue;
        char want_line[300];
        snprintf(want_line, sizeof want_line, "%s:2:", p);
        Config c;
        cfg_random(&c, cases[i].f, p, 0.5, 1);
        Dataset ds;
        err[0] = '\0';
        int rc = data_load(&c, &ds, err);
        CHECK_MSG(rc == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err, want_line) != NULL, "case %zu: %s", i, err);
        CHECK_MSG(strstr(err, cases[i].want) != NULL, "case %zu: %s", i, err);
        CHECK_MSG(strchr(err, '\n') == NULL, "case %zu: newline in %s", i, err);
        CHECK(ds.train == NULL && ds.num_users == 0);
        unlink(p);
    }
}

/* A malformed line's message names file:line:column, the column being the
 * 1-based byte where the bad field starts (after a BOM on line 1 too), or
 * where a missing field would start, or the first extra field. */
static void test_error_columns(void) {
    static const struct { DataFormat f; const char *text, *want; } cases[] = {
        {DATA_ML100K, "1\t1\t5\t1\nx\t2\t3\t4\n", ":2:1: user id 'x'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t22x\t3\t4\n", ":2:3: item id '22x'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\tfive\t4\n", ":2:5: rating 'five'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\t-4\n", ":2:7: timestamp '-4'"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\n", ":2:6: expected 4"},
        {DATA_ML100K, "1\t1\t5\t1\n1\t2\t3\t4\t5\n", ":2:9: expected 4"},
        {DATA_ML100K, "1\t1\t5\t1\n\n", ":2:1: empty line"},
        {DATA_ML1M, "1::1::5::1\n10::20::30::4\n", ":2:9: rating 30 is outside"},
        {DATA_ML1M, "1::1::5::1::9\n", ":1:13: expected 4"},
        {DATA_CSV, "userId,movieId,rating,timestamp\n1,2147483648,5,1\n",
         ":2:3: item id 2147483648 is out of range"},
        {DATA_CSV, "\xEF\xBB\xBFuserId,movieId,rating\n", ":1:4: expected the csv header"},
        {DATA_ML100K, "\xEF\xBB\xBF" "1\t0\t5\t1\n", ":1:6: item id 0 is not positive"},
    };
    char err[ERR_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = test_write_temp(".txt", cases[i].text);
        CHECK(p != NULL);
        if (!p) continue;
        char want[400];
        snprintf(want, sizeof want, "%s%s", p, cases[i].want);
        Config c;
        Dataset ds;
        cfg_random(&c, cases[i].f, p, 0.5, 1);
        CHECK_MSG(data_load(&c, &ds, err) == -1, "case %zu accepted", i);
        CHECK_MSG(strstr(err, want) == err, "case %zu: want '%s' in: %s", i,
                  want, err);
        unlink(p);
    }
}

static void test_quote_escaped_and_truncated(void) {
    char text[400], err[ERR_MAX];
    strcpy(text, "1\t2\t3\t4\n1\t2\t3\t");
    size_t n = strlen(text);
    memset(text + n, '7', 200);
    strcpy(text + n + 200, "x\n");
    const char *p = test_write_temp(".txt", text);
    CHECK(p != NULL);
    if (!p) return;
    Config c;
    Dataset ds;
    cfg_random(&c, DATA_ML100K, p, 0.5, 1);
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, ": \"1\\t2\\t3\\t777") != NULL, "%s", err);
    CHECK_MSG(strstr(err, "777\"...") != NULL, "%s", err);
    CHECK(strlen(err) < 400);
    unlink(p);
}

static void test_csv_header(void) {
    static const char *bad[] = {
        "1,2,3.5,4\n2,2,3,4\n",
        "user,movie,rating,timestamp\n1,2,3,4\n",
        "userId,movieId,rating\n1,2,3,4\n",
        "userId;movieId;rating;timestamp\n1,2,3,4\n",
    };
    char err[ERR_MAX];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = test_write_temp(".csv", bad[i]);
        CHECK(p != NULL);
        if (!p) continue;
        char want[300];
        snprintf(want, sizeof want, "%s:1:1: expected the csv header", p);
        Config c;
        Dataset ds;
        cfg_random(&c, DATA_CSV, p, 0.5, 1);
        CHECK_MSG(data_load(&c, &ds, err) == -1, "case %zu", i);
        CHECK_MSG(strstr(err, want) != NULL, "case %zu: %s", i, err);
        if (i == 0) CHECK_MSG(strstr(err, "no header") != NULL, "%s", err);
        unlink(p);
    }
}

static void test_duplicates(void) {
    char err[ERR_MAX];
    const char *p = test_write_temp(".txt", "1\t1\t5\t1\n2\t2\t3\t1\n"
                                           "3\t3\t3\t1\n2\t2\t4\t1\n"
                                           "1\t1\t4\t1\n");
    CHECK(p != NULL);
    if (!p) return;
    Config c;
    Dataset ds;
    cfg_random(&c, DATA_ML100K, p, 0.5, 1);
    CHECK(data_load(&c, &ds, err) == -1);
    /* the earliest second occurrence is line 4 (of the pair on line 2) */
    char want[600];
    snprintf(want, sizeof want, "%s:4: duplicate rating of item 2 by user 2, "
             "already rated at %s:2", p, p);
    CHECK_MSG(strstr(err, want) != NULL, "%s", err);
    unlink(p);

    /* across train and test files, csv line numbers count the header */
    int rc = load_pair(DATA_CSV, "userId,movieId,rating,timestamp\n"
                                 "5,9,3,1\n7,9,2,1\n",
                       "userId,movieId,rating,timestamp\n7,8,1,1\n7,9,4,1\n",
                       &ds, err);
    CHECK(rc == -1);
    CHECK_MSG(strstr(err, ":3: duplicate rating of item 9 by user 7, already "
                          "rated at ") != NULL, "%s", err);
    CHECK_MSG(strstr(err, ".txt:3: each") != NULL, "%s", err);
}

static void test_empty_and_missing(void) {
    char err[ERR_MAX];
    Config c;
    Dataset ds;
    const char *p = test_write_temp(".txt", "");
    CHECK(p != NULL);
    if (!p) return;
    cfg_random(&c, DATA_ML100K, p, 0.5, 1);
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, "no ratings (the file is empty)") != NULL, "%s", err);
    unlink(p);

    p = test_write_temp(".csv", "userId,movieId,rating,timestamp\n");
    CHECK(p != NULL);
    if (!p) return;
    cfg_random(&c, DATA_CSV, p, 0.5, 1);
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, "no ratings (the file is only a header)") != NULL,
              "%s", err);
    unlink(p);

    cfg_random(&c, DATA_ML100K, "/nonexistent/autorec/u.data", 0.5, 1);
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, "cannot open /nonexistent/autorec/u.data: No such "
                          "file") != NULL, "%s", err);

    /* a directory without the format's default file */
    char dir[] = "/tmp/autorec-data-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    cfg_random(&c, DATA_ML1M, dir, 0.5, 1);
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, "ratings.dat") != NULL &&
              strstr(err, "expects ratings.dat") != NULL, "%s", err);
    cfg_random(&c, DATA_ML100K, "", 0.5, 1);
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, "data.path is empty") != NULL, "%s", err);
    /* a split file that is a directory */
    cfg_files(&c, DATA_ML100K, "", dir, dir);
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, "is a directory") != NULL, "%s", err);
    rmdir(dir);
}

/* Writes a directory holding ml-100k ratings of nu users x ni items (all
 * pairs) as u.data; returns 0 on success. */
static int write_grid(const char *dir, int nu, int ni) {
    char path[512];
    snprintf(path, sizeof path, "%s/u.data", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int u = 1; u <= nu; u++)
        for (int i = 1; i <= ni; i++)
            fprintf(f, "%d\t%d\t%d\t%d\n", u, i, 1 + (u * 7 + i) % 5, u * i);
    return fclose(f);
}

static int same_ratings(const Rating *a, const Rating *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i].user != b[i].user || a[i].item != b[i].item ||
            a[i].rating != b[i].rating)
            return 0;
    return 1;
}

static void test_random_split(void) {
    char dir[] = "/tmp/autorec-data-XXXXXX", err[ERR_MAX], path[512];
    CHECK(mkdtemp(dir) != NULL);
    CHECK(write_grid(dir, 50, 40) == 0);
    Config c;
    Dataset a, b, d;
    cfg_random(&c, DATA_ML100K, dir, 0.1, 42);   /* directory -> u.data */
    CHECK_MSG(data_load(&c, &a, err) == 0, "%s", err);
    CHECK_MSG(data_load(&c, &b, err) == 0, "%s", err);
    c.seed = 43;
    CHECK_MSG(data_load(&c, &d, err) == 0, "%s", err);
    CHECK(a.n_train + a.n_test == 2000);
    CHECK(a.num_users == 50 && a.num_items == 40);
    CHECK_MSG(a.n_test >= 140 && a.n_test <= 260, "n_test %zu", a.n_test);
    CHECK(a.n_train == b.n_train && a.n_test == b.n_test);
    CHECK(a.n_train == b.n_train && same_ratings(a.train, b.train, a.n_train));
    CHECK(same_ratings(a.test, b.test, a.n_test));
    CHECK(a.n_test != d.n_test || !same_ratings(a.test, d.test, a.n_test));
    /* train keeps file order */
    int ordered = 1;
    for (size_t i = 1; i < a.n_train; i++)
        if (a.train[i].user * 40 + a.train[i].item <=
            a.train[i - 1].user * 40 + a.train[i - 1].item)
            ordered = 0;
    CHECK(ordered);
    data_free(&a);
    data_free(&b);
    data_free(&d);

    /* a larger ratio, and the file given directly */
    snprintf(path, sizeof path, "%s/u.data", dir);
    cfg_random(&c, DATA_ML100K, path, 0.5, 7);
    CHECK_MSG(data_load(&c, &a, err) == 0, "%s", err);
    CHECK_MSG(a.n_test >= 900 && a.n_test <= 1100, "n_test %zu", a.n_test);
    data_free(&a);

    /* ratios that leave one side empty */
    cfg_random(&c, DATA_ML100K, path, 1e-9, 7);
    CHECK(data_load(&c, &a, err) == -1);
    CHECK_MSG(strstr(err, "left the test set empty") != NULL &&
              strstr(err, "test_ratio") != NULL, "%s", err);
    CHECK(a.train == NULL && a.test == NULL);
    cfg_random(&c, DATA_ML100K, path, 1.0, 7);
    CHECK(data_load(&c, &a, err) == -1);
    CHECK_MSG(strstr(err, "left the train set empty") != NULL, "%s", err);
    unlink(path);
    rmdir(dir);
}

static void test_files_split_relative(void) {
    char dir[] = "/tmp/autorec-data-XXXXXX", err[ERR_MAX], p[600];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(p, sizeof p, "%s/sub", dir);
    CHECK(mkdir(p, 0700) == 0);
    static const char *names[] = {"sub/a.base", "sub/a.test", "u.data"};
    static const char *texts[] = {"1\t1\t5\t1\n2\t3\t4\t1\n", "2\t1\t3\t1\n",
                                  "9\t9\t1\t1\n"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        FILE *f = fopen(p, "w");
        CHECK(f != NULL);
        if (!f) return;
        fputs(texts[i], f);
        fclose(f);
    }
    Config c;
    Dataset ds;
    /* relative to data.path as a directory */
    cfg_files(&c, DATA_ML100K, dir, "sub/a.base", "sub/a.test");
    CHECK_MSG(data_load(&c, &ds, err) == 0, "%s", err);
    CHECK(ds.n_train == 2 && ds.n_test == 1);
    CHECK(ds.num_users == 2 && ds.num_items == 3);   /* u.data not read */
    data_free(&ds);
    /* relative to the directory of data.path as a file */
    snprintf(p, sizeof p, "%s/u.data", dir);
    cfg_files(&c, DATA_ML100K, p, "sub/a.base", "sub/a.test");
    CHECK_MSG(data_load(&c, &ds, err) == 0, "%s", err);
    CHECK(ds.n_train == 2 && ds.n_test == 1);
    data_free(&ds);
    /* absolute paths are used as they are */
    char abs_train[600];
    snprintf(abs_train, sizeof abs_train, "%s/sub/a.base", dir);
    cfg_files(&c, DATA_ML100K, "/nonexistent", abs_train, abs_train);
    CHECK(data_load(&c, &ds, err) == -1);   /* every pair duplicated */
    CHECK_MSG(strstr(err, "a.base:1: duplicate") != NULL, "%s", err);
    /* missing relative file names the resolved path */
    cfg_files(&c, DATA_ML100K, dir, "sub/a.base", "nope.test");
    CHECK(data_load(&c, &ds, err) == -1);
    snprintf(p, sizeof p, "cannot open %s/nope.test", dir);
    CHECK_MSG(strstr(err, p) != NULL, "%s", err);
    /* data.path that does not exist */
    cfg_files(&c, DATA_ML100K, "/nonexistent/x", "a", "b");
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, "data.path /nonexistent/x") != NULL, "%s", err);
    /* an empty test file */
    cfg_files(&c, DATA_ML100K, dir, "sub/a.base", "sub/empty");
    snprintf(p, sizeof p, "%s/sub/empty", dir);
    FILE *f = fopen(p, "w");
    if (f) fclose(f);
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, "empty") != NULL && strstr(err, "sub/empty") != NULL,
              "%s", err);
    unlink(p);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/sub", dir);
    rmdir(p);
    rmdir(dir);
}

static void test_sparse_ids_refused_for_dense_formats(void) {
    char err[ERR_MAX];
    const char *p = test_write_temp(".txt", "1\t1\t5\t1\n2147483647\t2\t3\t4\n");
    CHECK(p != NULL);
    if (!p) return;
    Config c;
    Dataset ds;
    cfg_random(&c, DATA_ML100K, p, 0.5, 1);
    CHECK(data_load(&c, &ds, err) == -1);
    CHECK_MSG(strstr(err, ":2: user id 2147483647 is far larger") != NULL &&
              strstr(err, "use format csv") != NULL, "%s", err);
    unlink(p);
}

static void test_dense_matrix(void) {
    Rating r[3] = {{0, 1, 4.0f}, {2, 0, 1.5f}, {1, 1, 3.0f}};
    float *m = data_dense_matrix(r, 3, 2, 3);   /* 2 items x 3 users */
    CHECK(m != NULL);
    if (!m) return;
    CHECK(((uintptr_t)m & 63) == 0);
    CHECK(m[0 * 3 + 0] == 0.0f && m[0 * 3 + 2] == 1.5f);
    CHECK(m[1 * 3 + 0] == 4.0f && m[1 * 3 + 1] == 3.0f);
    CHECK(m[0 * 3 + 1] == 0.0f && m[1 * 3 + 2] == 0.0f);
    mem_free_aligned(m);
    CHECK(data_dense_matrix(r, 0, 0, 3) == NULL);
    mem_fail_at(1);
    CHECK(data_dense_matrix(r, 3, 2, 3) == NULL);
    mem_fail_at(0);
}

/* data_free releases every owned array of a filled Dataset and leaves it
 * all zero, so a second data_free (or one of a zeroed Dataset) is a no-op;
 * data_free(NULL) is one too.  (Under SAN=1 a missed array is a leak and a
 * second free of a stale pointer a double free.) */
static void test_free_null_and_zeroed(void) {
    Dataset ds, zero;
    memset(&zero, 0, sizeof zero);
    char err[ERR_MAX] = "";
    int rc = load_pair(DATA_ML100K, "1\t1\t5\t1\n2\t2\t3\t2\n",
                       "1\t2\t4\t3\n", &ds, err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc) return;
    CHECK(ds.train && ds.test && ds.user_ids && ds.item_ids && ds.n_train == 2);
    ds.val = mem_alloc(sizeof *ds.val);   /* as a validation split leaves it */
    CHECK(ds.val != NULL);
    ds.n_val = 1;
    data_free(&ds);
    CHECK(memcmp(&ds, &zero, sizeof ds) == 0);
    data_free(&ds);
    CHECK(memcmp(&ds, &zero, sizeof ds) == 0);
    data_free(NULL);
}

static void test_alloc_failures(void) {
    char dir[] = "/tmp/autorec-data-XXXXXX", err[ERR_MAX];
    CHECK(mkdtemp(dir) != NULL);
    CHECK(write_grid(dir, 30, 200) == 0);   /* 6000 ratings: vector grows */
    Config c;
    cfg_random(&c, DATA_ML100K, dir, 0.2, 3);
    int ok = 0, failures = 0;
    for (long n = 1; n < 1000 && !ok; n++) {
        Dataset ds;
        err[0] = '\0';
        mem_fail_at(n);
        int rc = data_load(&c, &ds, err);
        mem_fail_at(0);
        if (rc == 0) {
            ok = 1;
            CHECK(ds.n_train + ds.n_test == 6000);
            data_free(&ds);
        } else {
            failures++;
            CHECK_MSG(rc == -1 && err[0] != '\0', "n=%ld rc=%d", n, rc);
            CHECK_MSG(strstr(err, "out of memory") != NULL, "n=%ld: %s", n, err);
            CHECK(ds.train == NULL && ds.user_ids == NULL);
        }
    }
    CHECK(ok && failures >= 5);
    /* csv mapping paths too */
    const char *p = test_write_temp(".csv", "userId,movieId,rating,timestamp\n"
                                            "10,5,1,1\n3,5,2,1\n3,7,4.5,1\n");
    CHECK(p != NULL);
    if (p) {
        cfg_random(&c, DATA_CSV, p, 0.5, 3);
        ok = 0;
        for (long n = 1; n < 100 && !ok; n++) {
            Dataset ds;
            mem_fail_at(n);
            int rc = data_load(&c, &ds, err);
            mem_fail_at(0);
            if (rc == 0) {
                ok = 1;
                data_free(&ds);
            } else {
                CHECK_MSG(strstr(err, "out of memory") != NULL, "%s", err);
            }
        }
        CHECK(ok);
        unlink(p);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/u.data", dir);
    unlink(path);
    rmdir(dir);
}

void suite_data(void) {
    RUN(test_ml100k_parse);
    RUN(test_ml1m_parse);
    RUN(test_csv_sparse_half_stars);
    RUN(test_crlf_and_no_final_newline);
    RUN(test_malformed_lines);
    RUN(test_error_columns);
    RUN(test_quote_escaped_and_truncated);
    RUN(test_csv_header);
    RUN(test_duplicates);
    RUN(test_empty_and_missing);
    RUN(test_random_split);
    RUN(test_files_split_relative);
    RUN(test_sparse_ids_refused_for_dense_formats);
    RUN(test_dense_matrix);
    RUN(test_free_null_and_zeroed);
    RUN(test_alloc_failures);
}
