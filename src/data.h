/* data.h - rating data sets: types and prototypes.
 *
 * Ratings are read from MovieLens files, users and items are mapped to dense
 * 0-based indices, and the ratings are split into train and test sets. */
#ifndef AUTOREC_DATA_H
#define AUTOREC_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

typedef struct {
    int32_t user;   /* dense 0-based user index */
    int32_t item;   /* dense 0-based item index */
    float rating;
} Rating;

typedef struct {
    Rating *train, *test;     /* owned */
    size_t n_train, n_test;
    Rating *val;              /* owned: validation ratings carved from the
                                 training set (data.split.validation_ratio),
                                 NULL when the ratio is 0 */
    size_t n_val;
    int num_users, num_items; /* matrix dimensions (items x users) */
    int64_t *user_ids;        /* raw id of each dense user index (owned) */
    int64_t *item_ids;        /* raw id of each dense item index (owned) */
    float min_rating, max_rating; /* over all ratings read */
} Dataset;

/* Loads the ratings named by cfg (data.path, data.format) and splits them
 * (data.split.*; random splits use data.split.seed, else train.seed).  With
 * data.split.validation_ratio > 0 each training rating then moves to the
 * validation set with that probability (its own random stream of the same
 * seed, so the train/test split does not depend on the ratio).  On success fills *ds (free
 * with data_free) and returns 0; on failure returns -1 with err naming the
 * file and line (and, for a malformed line, the column of the bad field).  Malformed lines and duplicate (user, item) pairs are
 * errors.  A split that leaves the train or test set empty is an error. */
int data_load(const Config *cfg, Dataset *ds, char *err);

/* Writes the ratings file of a random split into out (size bytes, at least
 * 2 * CFG_PATH_MAX + 16): data.path, or the format's default file (u.data,
 * ratings.dat, ratings.csv) inside it when it is a directory.  Returns 0,
 * or -1 with err (empty or too long path, missing default file). */
int data_ratings_file(const Config *cfg, char *out, size_t size, char *err);

struct DataMemo;
/* As data_load, reading each file through memo (see data_memo.h; NULL: no
 * memo), so a process that loads the same files for many runs parses them
 * once. */
int data_load_memo(const Config *cfg, struct DataMemo *memo, Dataset *ds,
                   char *err);

/* How data_read_raw reads a file. */
enum {
    DATA_READ_AUTO,   /* the fast reader, the line parser when it gives up */
    DATA_READ_SCAN,   /* the fast reader only */
    DATA_READ_LINES   /* the line parser only */
};

/* Reads the raw ratings of one file (ids as in the file, in file order) as
 * mode says, with up to `threads` threads, without cache or memo (for tests
 * comparing the readers).  Returns 0 with *r (owned by the caller,
 * mem_free) and *n; 1 when DATA_READ_SCAN gave up; -1 with err naming the
 * file and line (the line parser's messages). */
int data_read_raw(const char *path, DataFormat fmt, int mode, int threads,
                  Rating **r, size_t *n, char *err);

/* As data_load for a random split (cfg's data.format, test_ratio and seed;
 * data.path is ignored), reading the ratings from the len bytes at text as
 * if they were the file `name` (used in messages).  For fuzzing and tests. */
int data_parse_buffer(const Config *cfg, const char *text, size_t len,
                      const char *name, Dataset *ds, char *err);

/* For data.split.kind folds: checks that the five fold files u1.base,
 * u1.test ... u5.base, u5.test exist beside data.path (in it when it is a
 * directory).  Returns 0 (also for other kinds), or -1 with err naming the
 * first missing file. */
int data_check_folds(const Config *cfg, char *err);

/* Frees what data_load allocated; accepts a zeroed or NULL dataset. */
void data_free(Dataset *ds);

/* Dense items x users matrix (row-major, 0 = unobserved) of n ratings.
 * Returns a 64-byte aligned buffer owned by the caller (mem_free_aligned),
 * or NULL on OOM. */
float *data_dense_matrix(const Rating *r, size_t n, int num_items,
                         int num_users);

#endif
