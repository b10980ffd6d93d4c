/* recommend.c - `autorec recommend --run ID --user U`: the top items a
 * trained run predicts for one user, from the run's checkpoint. */
#include "recommend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "err.h"
#include "mem.h"
#include "query.h"
#include "run.h"
#include "runner.h"

#define TITLE_MAX 512

void recommend_usage(FILE *f) {
    fprintf(f,
"usage: autorec recommend --run ID --user U [--top N] [--db PATH]\n"
"\n"
"Loads the checkpoint of run ID (the selected epoch's parameters), reloads\n"
"its data exactly as the run did (same config: same split), predicts every\n"
"item user U has no training rating for (with the run's eval.clip and\n"
"eval.cold_default) and prints the N best, one line each:\n"
"  rank, item id, predicted rating, title\n"
"U and the item ids are the ids of the ratings file.  Titles come from\n"
"u.item (ml-100k), movies.dat (ml-1m) or movies.csv (csv) in the data\n"
"directory when present.  A line describing the run goes to stderr.\n"
"\n"
"options:\n"
"  --run ID    a run with a checkpoint (autorec ls; runs.checkpoint)\n"
"  --user U    user id as in the ratings file\n"
"  --top N     how many items (default 10)\n"
"  --db PATH   results database (default " QUERY_DEFAULT_DB ")\n");
}

typedef struct {
    int32_t item;        /* dense index */
    float score;
} Pick;

/* Order: predicted rating descending, then item index ascending. */
static int pick_cmp(const void *a, const void *b) {
    const Pick *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

/* Reads runs.config_yaml and runs.checkpoint of run id into *yaml and
 * *ckpt (mem_free both).  Returns 0, 1 when there is no such run, or -1;
 * err set for 1 and -1. */
static int read_run(sqlite3 *h, sqlite3_int64 id, char **yaml, char **ckpt,
                    char *status, size_t status_cap, char *err) {
    sqlite3_stmt *st = NULL;
    int ret = -1;
    *yaml = *ckpt = NULL;
    if (query_prepare(h, "SELECT config_yaml, checkpoint, status FROM runs "
                         "WHERE id = ?1", &st, err))
        goto done;
    int rc = query_run_row(h, st, id, err);
    if (rc != 0) {
        ret = rc;
        goto done;
    }
    const char *y = (const char *)sqlite3_column_text(st, 0);
    const char *c = (const char *)sqlite3_column_text(st, 1);
    const char *s = (const char *)sqlite3_column_text(st, 2);
    snprintf(status, status_cap, "%s", s ? s : "?");
    if (!y) {
        err_set(err, "run %lld has no recorded config", (long long)id);
        goto done;
    }
    *yaml = mem_strdup(y);
    *ckpt = c ? mem_strdup(c) : NULL;
    if (!*yaml || (c && !*ckpt)) {
        err_set(err, "out of memory reading run %lld", (long long)id);
        goto done;
    }
    ret = 0;
done:
    if (ret) {
        mem_free(*yaml);
        mem_free(*ckpt);
        *yaml = *ckpt = NULL;
    }
    sqlite3_finalize(st);
    return ret;
}

/* Appends the UTF-8 encoding of the latin-1 bytes s[0..n) to out (cap). */
static void latin1_to_utf8(const char *s, size_t n, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            out[o++] = (char)c;
        } else {
            out[o++] = (char)(0xC0 | c >> 6);
            out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[o] = '\0';
}

/* The title field of a movies.csv line after "id,": quoted ("" escapes) or
 * up to the next comma; UTF-8 already.  Copies it into out (cap). */
static void csv_title(const char *s, char *out, size_t cap) {
    size_t o = 0;
    if (*s == '"') {
        for (s++; *s && o + 1 < cap; s++) {
            if (*s == '"') {
                if (s[1] != '"') break;
                s++;
            }
            out[o++] = *s;
        }
    } else {
        for (; *s && *s != ',' && *s != '\r' && *s != '\n' && o + 1 < cap; s++)
            out[o++] = *s;
    }
    out[o] = '\0';
}

/* The directory holding cfg's data: data.path itself when it is a
 * directory, else its directory part. */
static void data_dir(const Config *cfg, char *out, size_t cap) {
    struct stat sb;
    const char *p = cfg->data_path;
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(out, cap, "%s", p);
        return;
    }
    const char *slash = strrchr(p, '/');
    if (!slash) snprintf(out, cap, ".");
    else snprintf(out, cap, "%.*s", slash == p ? 1 : (int)(slash - p), p);
}

/* Fills titles[k] with the title of picks[k] (k < n) from the format's movie
 * file in the data directory, when there is one.  Returns 1 when the file
 * was read, else 0 (titles stay as they were: empty). */
static int read_titles(const Config *cfg, const Dataset *ds, const Pick *picks,
                       int n, char (*titles)[TITLE_MAX]) {
    const char *name = cfg->data_format == DATA_ML100K ? "u.item"
                     : cfg->data_format == DATA_ML1M ? "movies.dat" : "movies.csv";
    char dir[CFG_PATH_MAX], path[CFG_PATH_MAX + 16];
    data_dir(cfg, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;   /* only a regular file: a FIFO would block */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        char *end;
        errno = 0;
        long long id = strtoll(line, &end, 10);
        if (errno || end == line) continue;  /* the csv header, junk */
        for (int k = 0; k < n; k++) {
            if (ds->item_ids[picks[k].item] != id) continue;
            if (cfg->data_format == DATA_CSV) {
                if (*end == ',') csv_title(end + 1, titles[k], TITLE_MAX);
            } else {
                const char *sep = cfg->data_format == DATA_ML100K ? "|" : "::";
                if (strncmp(end, sep, strlen(sep))) break;
                const char *t = end + strlen(sep);
                size_t tn = strcspn(t, cfg->data_format == DATA_ML100K ? "|\r\n" : ":\r\n");
                latin1_to_utf8(t, tn, titles[k], TITLE_MAX);
            }
            break;
        }
    }
    free(line);  /* getline's buffer comes from malloc */
    fclose(f);
    return 1;
}

/* The dense index of raw user id raw, or -1 (ids are sorted ascending). */
static int find_user(const Dataset *ds, long long raw) {
    int lo = 0, hi = ds->num_users - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (ds->user_ids[mid] == raw) return mid;
        if (ds->user_ids[mid] < raw) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* Predicts every item for dense user u into score (num_items), marks the
 * items u rated in training in seen (num_items), and returns the number of
 * u's training ratings, or -1 with err (out of memory).  Item variant: the
 * items' rows are reconstructed in blocks and column u kept; user variant:
 * u's row is reconstructed directly. */
static int predict_user(Runner *r, int u, float *score, unsigned char *seen,
                        char *err) {
    Trainer *t = &r->trainer;
    const Csr *m = t->train;   /* train, or train + validation (refit) */
    const int I = r->ds.num_items;
    int nrated = 0;
    if (r->cfg.variant == VARIANT_USER) {
        int32_t row = u;
        for (int64_t e = m->ptr[u]; e < m->ptr[u + 1]; e++, nrated++)
            seen[m->col[e]] = 1;
        trainer_predict_rows(t, &row, 1, score);
        return nrated;
    }
    const int B = t->opt.batch_size, U = t->num_users;
    int32_t *rows = mem_alloc((size_t)B * sizeof *rows);
    float *block = mem_alloc((size_t)B * (size_t)U * sizeof *block);
    if (!rows || !block) {
        mem_free(rows);
        mem_free(block);
        return err_set(err, "out of memory for a block of %d predictions of %d "
                       "users", B, U);
    }
    for (int i = 0; i < I; i++)
        for (int64_t e = m->ptr[i]; e < m->ptr[i + 1]; e++)
            if (m->col[e] == u) { seen[i] = 1; nrated++; }
    for (int i0 = 0; i0 < I; i0 += B) {
        const int n = I - i0 < B ? I - i0 : B;
        for (int k = 0; k < n; k++) rows[k] = i0 + k;
        trainer_predict_rows(t, rows, n, block);
        for (int k = 0; k < n; k++) score[i0 + k] = block[(size_t)k * U + u];
    }
    mem_free(rows);
    mem_free(block);
    return nrated;
}

/* Loads the checkpoint at path into r's trainer after checking that it is
 * run `run`'s (its identity, key) and its shape against the data.  Returns
 * 0 or -1 with err saying what to do. */
static int load_checkpoint(Runner *r, long long run, uint64_t key,
                           const char *path, int *epoch, char *err) {
    Model loaded;
    char e2[ERR_MAX];
    Trainer *t = &r->trainer;
    if (ckpt_load_run(&loaded, t->model.enc_transposed, &key, epoch, path, e2))
        return err_set(err, "run %lld: %s; the checkpoint cannot be used: train "
                       "the run's config again (autorec show %lld prints it)",
                       run, e2, run);
    if (loaded.num_users != t->model.num_users || loaded.hidden != t->model.hidden) {
        err_set(err, "run %lld: checkpoint %s holds a model of width %d and hidden "
                "%d, but the run's data and config give width %d and hidden %d: "
                "the data changed since the run (or the checkpoint belongs to "
                "another run); train the config again", run, path,
                loaded.num_users, loaded.hidden, t->model.num_users,
                t->model.hidden);
        model_free(&loaded);
        return -1;
    }
    model_free(&t->model);
    t->model = loaded;
    return 0;
}

typedef struct {
    const char *db_path;
    sqlite3_int64 run;
    long long user;
    int top;
} RecArgs;

/* Parses the command line.  Returns 0, 1 for --help, -1 (message printed). */
static int parse_args(int argc, char **argv, RecArgs *a) {
    char err[ERR_MAX];
    int have_run = 0, have_user = 0, r;
    a->db_path = QUERY_DEFAULT_DB;
    a->top = 10;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) return 1;
        if ((r = query_opt_db(argc, argv, &i, &a->db_path, "recommend"))) {
            if (r < 0) return -1;
            continue;
        }
        if ((strcmp(o, "--run") && strcmp(o, "--user") && strcmp(o, "--top")) ||
            i + 1 >= argc) {
            fprintf(stderr, "autorec recommend: %s '%s' (see autorec recommend "
                            "--help)\n", i + 1 >= argc && o[0] == '-' ?
                            "missing value after" : "unexpected argument", o);
            return -1;
        }
        const char *v = argv[++i];
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (!strcmp(o, "--run")) {
            if (query_run_id(v, &a->run, err)) {
                fprintf(stderr, "autorec recommend: %s\n", err);
                return -1;
            }
            have_run = 1;
        } else if (errno || *end || end == v ||
                   (!strcmp(o, "--top") && (x < 1 || x > 1000000)) ||
                   (!strcmp(o, "--user") && x < 0)) {
            fprintf(stderr, "autorec recommend: %s '%s': expected %s\n", o, v,
                    !strcmp(o, "--top") ? "a count from 1 to 1000000"
                                        : "a user id (an integer >= 0)");
            return -1;
        } else if (!strcmp(o, "--top")) {
            a->top = (int)x;
        } else {
            a->user = x;
            have_user = 1;
        }
    }
    if (!have_run || !have_user) {
        fprintf(stderr, "autorec recommend: missing %s (see autorec recommend "
                        "--help)\n", have_run ? "--user U" : "--run ID");
        return -1;
    }
    return 0;
}

int recommend_load(Runner *r, const char *db_path, int64_t run_id, int *epoch,
                   char *err) {
    sqlite3 *h = NULL;
    char *yaml = NULL, *ckpt = NULL, status[32];
    Config cfg;
    const long long run = (long long)run_id;
    int ret = -1;
    memset(r, 0, sizeof *r);
    if (db_open_query(&h, db_path, err) ||
        read_run(h, run_id, &yaml, &ckpt, status, sizeof status, err))
        goto done;
    cfg_defaults(&cfg);
    if (cfg_load_string(&cfg, yaml, "runs.config_yaml", err)) goto done;
    if (!ckpt) {
        if (!cfg.checkpoint)
            err_set(err, "run %lld has no checkpoint: it was trained with "
                    "train.checkpoint: false; train its config again with "
                    "--set train.checkpoint=true to get one", run);
        else
            err_set(err, "run %lld (%s) has no checkpoint: one is written when a "
                    "run finishes (or is interrupted with a validation split) "
                    "into a database file; train its config again", run, status);
        goto done;
    }
    char e2[ERR_MAX];
    if (runner_prepare(r, &cfg, e2)) {
        err_set(err, "cannot reload the data of run %lld: %s (the run's "
                "data.path is %s; a relative path is resolved against the "
                "current directory: run autorec recommend where the run was "
                "started)", run, e2, cfg.data_path);
        goto done;
    }
    /* a finished refit run's checkpoint is the refit model: its input is
     * train + validation */
    if (cfg.refit && !strcmp(status, "finished") && runner_use_refit(r, e2)) {
        err_set(err, "cannot rebuild the refit model of run %lld: %s", run, e2);
        goto done;
    }
    uint64_t key;
    if (db_run_key_read(h, run_id, &key, err) ||
        load_checkpoint(r, run, key, ckpt, epoch, err))
        goto done;
    ret = 0;
done:
    sqlite3_close(h);
    mem_free(yaml);
    mem_free(ckpt);
    return ret;
}

int recommend_main(int argc, char **argv) {
    RecArgs a;
    char err[ERR_MAX];
    float *score = NULL;
    unsigned char *seen = NULL;
    Pick *picks = NULL;
    char (*titles)[TITLE_MAX] = NULL;
    Runner r;
    int rc = EXIT_USAGE, epoch = 0;
    memset(&r, 0, sizeof r);
    int pr = parse_args(argc, argv, &a);
    if (pr) {
        if (pr > 0) recommend_usage(stdout);
        return pr > 0 ? EXIT_OK : EXIT_USAGE;
    }
    const long long run = (long long)a.run;
    rc = EXIT_FAILED;
    if (recommend_load(&r, a.db_path, a.run, &epoch, err)) goto fail;
    const Config cfg = r.cfg;
    const Dataset *ds = &r.ds;
    const int u = find_user(ds, a.user);
    if (u < 0) {
        err_set(err, "user %lld is not in run %lld's data (%s, %d users with ids "
                "%lld to %lld)", a.user, run, cfg.data_path, ds->num_users,
                (long long)ds->user_ids[0], (long long)ds->user_ids[ds->num_users - 1]);
        goto fail;
    }
    const int I = ds->num_items;
    score = mem_alloc((size_t)I * sizeof *score);
    seen = mem_calloc((size_t)I, 1);
    picks = mem_alloc((size_t)I * sizeof *picks);
    if (!score || !seen || !picks) {
        err_set(err, "out of memory for the predictions of %d items", I);
        goto fail;
    }
    int nrated = predict_user(&r, u, score, seen, err);
    if (nrated < 0) goto fail;
    if (nrated == 0) {
        err_set(err, "user %lld has no training rating in run %lld's split (all "
                "their ratings went to test or validation, or the id has none): "
                "the model knows nothing about them", a.user, run);
        goto fail;
    }
    int n = 0;
    for (int i = 0; i < I; i++)
        if (!seen[i]) {
            picks[n].item = i;
            picks[n].score = score[i];
            n++;
        }
    qsort(picks, (size_t)n, sizeof *picks, pick_cmp);
    const int top = n < a.top ? n : a.top;
    titles = mem_calloc((size_t)(top ? top : 1), sizeof *titles);
    if (!titles) {
        err_set(err, "out of memory for %d titles", top);
        goto fail;
    }
    int titled = read_titles(&cfg, ds, picks, top, titles);
    fprintf(stderr, "run %lld '%s' (%s variant, checkpoint of epoch %d): user %lld, "
            "%d training ratings; top %d of %d unseen items%s\n", run, cfg.name,
            cfg_variant_name(cfg.variant), epoch, a.user, nrated, top, n,
            titled ? "" : " (no titles: no movie file in the data directory)");
    for (int k = 0; k < top; k++)
        printf("%4d  %7lld  %.4f  %s\n", k + 1, (long long)ds->item_ids[picks[k].item],
               picks[k].score, titles[k]);
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec recommend: %s\n", err);
out:
    mem_free(score);
    mem_free(seen);
    mem_free(picks);
    mem_free(titles);
    runner_free(&r);
    return rc;
}
