/* recommend.c - `autorec recommend --run ID --user U`: the top items a
 * trained run predicts for one user, from the run's checkpoint. */
#include "recommend.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "cli.h"
#include "err.h"
#include "mem.h"
#include "predict.h"
#include "query.h"
#include "runner.h"

#define TITLE_MAX 512

void recommend_usage(FILE *f) {
    fprintf(f,
"usage: autorec recommend --run ID (--user U | --users U,U,... | --all)\n"
"                         [--top N] [--format text|csv|json] [--db PATH]\n"
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
"  --users L   several users, e.g. --users 1,2,3 (one pass of the model\n"
"              for all of them)\n"
"  --all       every user of the data (users without a training rating\n"
"              are skipped)\n"
"  --format F  text (default: rank, item, rating, title; with several\n"
"              users the user first), csv (user,rank,item,score,title) or\n"
"              json (an array of {user, training_ratings, items: [{rank,\n"
"              item, score, title}]})\n"
"  --top N     how many items (default 10)\n"
"  --db PATH   results database (default " CLI_DEFAULT_DB ")\n");
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

/* The index of raw id raw in ids (n of them, sorted ascending: the dense
 * index of a user or an item), or -1. */
static int find_id(const int64_t *ids, int n, long long raw) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (ids[mid] == raw) return mid;
        if (ids[mid] < raw) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* Fills titles[i] (num_items of them) with the title of dense item i from
 * the format's movie file in the data directory, when there is one.
 * Returns 1 when the file was read, else 0 (titles stay empty). */
static int read_titles(const Config *cfg, const Dataset *ds,
                       char (*titles)[TITLE_MAX]) {
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
        int k = find_id(ds->item_ids, ds->num_items, id);
        if (k < 0) continue;
        if (cfg->data_format == DATA_CSV) {
            if (*end == ',') csv_title(end + 1, titles[k], TITLE_MAX);
        } else {
            const char *sep = cfg->data_format == DATA_ML100K ? "|" : "::";
            if (strncmp(end, sep, strlen(sep))) continue;
            const char *t = end + strlen(sep);
            size_t tn = strcspn(t, cfg->data_format == DATA_ML100K ? "|\r\n" : ":\r\n");
            latin1_to_utf8(t, tn, titles[k], TITLE_MAX);
        }
    }
    free(line);  /* getline's buffer comes from malloc */
    fclose(f);
    return 1;
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

#define REC_MAX_USERS 100000   /* --users list */

typedef enum { REC_TEXT, REC_CSV, REC_JSON } RecFormat;

typedef struct {
    const char *db_path;
    sqlite3_int64 run;
    long long *users;   /* raw ids of --user/--users (owned), n_users */
    int n_users, all;   /* all: --all */
    int top;
    RecFormat format;
} RecArgs;

/* Appends raw user id x to a.  Returns 0 or -1 (printed). */
static int add_user(RecArgs *a, long long x) {
    if (a->n_users == REC_MAX_USERS) {
        fprintf(stderr, "autorec recommend: more than %d users (use "
                        "--all)\n", REC_MAX_USERS);
        return -1;
    }
    if (a->n_users % 64 == 0) {
        long long *u = mem_realloc(a->users, (size_t)(a->n_users + 64) *
                                                 sizeof *u);
        if (!u) {
            fprintf(stderr, "autorec recommend: out of memory\n");
            return -1;
        }
        a->users = u;
    }
    a->users[a->n_users++] = x;
    return 0;
}

/* Appends the raw user ids of list ("1,2,3") to a.  Returns 0 or -1
 * (printed). */
static int parse_users(RecArgs *a, const char *list) {
    for (const char *p = list;;) {
        char id[32];
        size_t n = strcspn(p, ",");
        long long x;
        if (n >= sizeof id) n = sizeof id - 1;   /* too long: refused below */
        memcpy(id, p, n);
        id[n] = '\0';
        if (cli_int_value(id, 0, LLONG_MAX, &x) || (p[n] && p[n] != ',')) {
            fprintf(stderr, "autorec recommend: --users '%s': expected user "
                            "ids (integers >= 0) separated by commas, e.g. "
                            "--users 1,2,3\n", list);
            return -1;
        }
        if (add_user(a, x)) return -1;
        if (!p[n]) return 0;
        p += n + 1;
    }
}

/* Takes the value v of option opt (--run, --format, --user, --users) into
 * the RecArgs ctx.  Returns 0 or -1 (printed). */
static int rec_option(void *ctx, const char *opt, const char *v) {
    RecArgs *a = ctx;
    char err[ERR_MAX];
    long long x;
    if (!strcmp(opt, "--run")) {
        if (query_run_id(v, &a->run, err) == 0) return 0;
        fprintf(stderr, "autorec recommend: %s\n", err);
        return -1;
    }
    if (!strcmp(opt, "--format")) {
        if (!strcmp(v, "text") || !strcmp(v, "table")) a->format = REC_TEXT;
        else if (!strcmp(v, "csv")) a->format = REC_CSV;
        else if (!strcmp(v, "json")) a->format = REC_JSON;
        else {
            fprintf(stderr, "autorec recommend: --format: '%s' is not text, "
                            "csv or json\n", v);
            return -1;
        }
        return 0;
    }
    if (!strcmp(opt, "--users")) return parse_users(a, v);
    if (cli_int("recommend", opt, v, 0, LLONG_MAX, &x)) return -1;
    return add_user(a, x);
}

/* Parses the command line.  Returns 0, 1 for --help, -1 (message
 * printed). */
static int parse_args(int argc, char **argv, RecArgs *a) {
    int r;
    memset(a, 0, sizeof *a);
    a->db_path = CLI_DEFAULT_DB;
    a->top = 10;
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &a->db_path},
        {.name = "--run", .kind = CLI_CALL, .call = rec_option},
        {.name = "--user", .kind = CLI_CALL, .call = rec_option},
        {.name = "--users", .kind = CLI_CALL, .call = rec_option},
        {.name = "--all", .kind = CLI_FLAG, .dest = &a->all},
        {.name = "--top", .kind = CLI_INT, .dest = &a->top, .min = 1,
         .max = 1000000},
        {.name = "--format", .kind = CLI_CALL, .call = rec_option},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "recommend", .usage = recommend_usage,
                    .opts = opts, .ctx = a};
    if ((r = cli_parse(&spec, argc, argv))) return r;
    if (!a->run || (!a->n_users && !a->all)) {
        fprintf(stderr, "autorec recommend: missing %s (see autorec recommend "
                        "--help)\n", a->run ? "--user U (or --users LIST, "
                        "--all)" : "--run ID");
        return -1;
    }
    if (a->all && a->n_users) {
        fprintf(stderr, "autorec recommend: --all and --user/--users "
                        "together: give one of them\n");
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
        if (cfg.variant == VARIANT_GLOCAL)
            err_set(err, "run %lld is a GLocal-K run (model.variant glocal), "
                    "which writes no checkpoint: autorec recommend cannot "
                    "rebuild it; recommend from an item or user variant run",
                    run);
        else if (!cfg.checkpoint)
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

/* Prints the top picks of one user in the format.  first: the first
 * user printed (csv heading, json separators); multi: more than one user
 * asked for (text gets a user column). */
static void print_user(const RecArgs *a, const Dataset *ds, long long user,
                       int nrated, const Pick *picks, int top,
                       char (*titles)[TITLE_MAX], int first, int multi) {
    if (a->format == REC_CSV && first) puts("user,rank,item,score,title");
    if (a->format == REC_JSON)
        printf("%s\n  {\"user\": %lld, \"training_ratings\": %d, \"items\": [",
               first ? "[" : ",", user, nrated);
    for (int k = 0; k < top; k++) {
        const long long item = (long long)ds->item_ids[picks[k].item];
        const char *title = titles[picks[k].item];
        if (a->format == REC_TEXT && !multi)
            printf("%4d  %7lld  %.4f  %s\n", k + 1, item, picks[k].score,
                   title);
        else if (a->format == REC_TEXT)
            printf("%7lld  %4d  %7lld  %.4f  %s\n", user, k + 1, item,
                   picks[k].score, title);
        else if (a->format == REC_CSV) {
            printf("%lld,%d,%lld,%.6g,", user, k + 1, item, picks[k].score);
            query_csv_text(stdout, title);
            putchar('\n');
        } else {
            printf("%s\n    {\"rank\": %d, \"item\": %lld, \"score\": %.6g, "
                   "\"title\": ", k ? "," : "", k + 1, item, picks[k].score);
            query_json_text(stdout, title);
            putchar('}');
        }
    }
    if (a->format == REC_JSON) printf("%s]}", top ? "\n  " : "");
}

int recommend_main(int argc, char **argv) {
    RecArgs a;
    char err[ERR_MAX];
    float *score = NULL;
    unsigned char *seen = NULL;
    Pick *picks = NULL;
    int *dense = NULL, *nrated = NULL;
    char (*titles)[TITLE_MAX] = NULL;
    Predictor p;
    int rc = EXIT_USAGE;
    memset(&p, 0, sizeof p);
    int pr = parse_args(argc, argv, &a);
    if (pr) {
        mem_free(a.users);
        return cli_parse_status(pr);
    }
    const long long run = (long long)a.run;
    const int multi = a.all || a.n_users > 1;
    rc = EXIT_FAILED;
    if (predict_open(&p, a.db_path, a.run, err)) goto fail;
    const Config cfg = p.r[0].cfg;   /* an ensemble's: its first member's */
    const Dataset *ds = &p.r[0].ds;
    char what[160];
    if (p.ensemble)
        snprintf(what, sizeof what, "ensemble of %d runs, checkpoints of "
                 "their result models", p.n);
    else
        snprintf(what, sizeof what, "%s variant, checkpoint of epoch %d",
                 cfg_variant_name(cfg.variant), p.epoch);
    const int I = ds->num_items;
    const int nu = a.all ? ds->num_users : a.n_users;
    dense = mem_alloc((size_t)nu * sizeof *dense);
    if (!dense) {
        err_set(err, "out of memory for %d users", nu);
        goto fail;
    }
    for (int j = 0; j < nu; j++) {
        dense[j] = a.all ? j : find_id(ds->user_ids, ds->num_users, a.users[j]);
        if (dense[j] < 0) {
            err_set(err, "user %lld is not in run %lld's data (%s, %d users "
                    "with ids %lld to %lld)", a.users[j], run, cfg.data_path,
                    ds->num_users, (long long)ds->user_ids[0],
                    (long long)ds->user_ids[ds->num_users - 1]);
            goto fail;
        }
    }
    /* users in chunks of at most 64 MiB of predictions */
    int chunk = (int)((64u << 20) / ((size_t)I * sizeof *score));
    if (chunk < 1) chunk = 1;
    if (chunk > nu) chunk = nu;
    score = mem_alloc((size_t)chunk * (size_t)I * sizeof *score);
    seen = mem_alloc((size_t)chunk * (size_t)I);
    picks = mem_alloc((size_t)I * sizeof *picks);
    nrated = mem_alloc((size_t)chunk * sizeof *nrated);
    titles = mem_calloc((size_t)I, sizeof *titles);
    if (!score || !seen || !picks || !nrated || !titles) {
        err_set(err, "out of memory for the predictions of %d items", I);
        goto fail;
    }
    int titled = read_titles(&cfg, ds, titles), printed = 0, skipped = 0;
    int top = 0, unseen = 0;
    for (int j0 = 0; j0 < nu; j0 += chunk) {
        const int n = nu - j0 < chunk ? nu - j0 : chunk;
        memset(seen, 0, (size_t)n * (size_t)I);
        if (predict_users(&p, dense + j0, n, score, seen, nrated, 0, err))
            goto fail;
        for (int j = 0; j < n; j++) {
            const long long user = (long long)ds->user_ids[dense[j0 + j]];
            if (nrated[j] == 0) {
                if (!multi) {
                    err_set(err, "user %lld has no training rating in run "
                            "%lld's split (all their ratings went to test or "
                            "validation, or the id has none): the model knows "
                            "nothing about them", user, run);
                    goto fail;
                }
                skipped++;
                continue;
            }
            unseen = 0;
            for (int i = 0; i < I; i++)
                if (!seen[(size_t)j * I + (size_t)i]) {
                    picks[unseen].item = i;
                    picks[unseen].score = score[(size_t)j * I + (size_t)i];
                    unseen++;
                }
            qsort(picks, (size_t)unseen, sizeof *picks, pick_cmp);
            top = unseen < a.top ? unseen : a.top;
            print_user(&a, ds, user, nrated[j], picks, top, titles,
                       printed == 0, multi);
            printed++;
        }
    }
    if (a.format == REC_JSON) puts(printed ? "\n]" : "[]");
    if (a.format == REC_CSV && !printed) puts("user,rank,item,score,title");
    if (!multi)
        fprintf(stderr, "run %lld '%s' (%s): "
                "user %lld, %d training ratings; top %d of %d unseen items%s\n",
                run, p.name, what,
                a.users[0], nrated[0], top, unseen,
                titled ? "" : " (no titles: no movie file in the data "
                              "directory)");
    else
        fprintf(stderr, "run %lld '%s' (%s): "
                "top %d unseen items of %d users; %d without a training "
                "rating skipped%s\n", run, p.name,
                what, a.top, printed, skipped,
                titled ? "" : " (no titles: no movie file in the data "
                              "directory)");
    rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
    goto out;
fail:
    fprintf(stderr, "autorec recommend: %s\n", err);
out:
    mem_free(score);
    mem_free(seen);
    mem_free(picks);
    mem_free(titles);
    mem_free(dense);
    mem_free(nrated);
    mem_free(a.users);
    predict_close(&p);
    return rc;
}
