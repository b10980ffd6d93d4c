/* synth.c - synthetic rating data from a low-rank model (see synth.h). */
#include "synth.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "err.h"
#include "mem.h"
#include "outfile.h"
#include "rng.h"

/* Shapes of the public data sets the generator imitates. */
static const struct {
    const char *name;
    int users, items;
    int64_t ratings;
} shapes[] = {
    {"ml-100k", 943, 1682, 100000},
    {"ml-1m", 6040, 3706, 1000209},
    {"ml-10m", 69878, 10677, 10000054},
    {"netflix", 480189, 17770, 100480507},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* See synth.h. */
int synth_shape(const char *name, SynthSpec *spec) {
    for (size_t k = 0; k < NSHAPES; k++)
        if (!strcmp(shapes[k].name, name)) {
            spec->users = shapes[k].users;
            spec->items = shapes[k].items;
            spec->ratings = shapes[k].ratings;
            return 0;
        }
    return -1;
}

void synth_usage(FILE *f) {
    fprintf(f,
"usage: autorec synth (--shape NAME | --users N --items M --ratings R)\n"
"                     [--rank K] [--noise S] [--seed S] -o DIR\n"
"\n"
"Writes DIR/ratings.dat (ML-1M format: user::item::rating::timestamp) with\n"
"ratings from a low-rank model plus Gaussian noise, so there is a real signal\n"
"to learn, and DIR/SYNTH.txt describing it.  Train on it with\n"
"  data: {path: DIR, format: ml-1m}\n"
"\n"
"  --shape NAME   ml-100k, ml-1m (6040 x 3706, 1M), ml-10m (69878 x 10677,\n"
"                 10M) or netflix (480189 x 17770, 100M)\n"
"  --users N --items M --ratings R   a custom shape\n"
"  --rank K       latent factors (default 10)\n"
"  --noise S      noise standard deviation in stars (default 0.6)\n"
"  --seed S       random seed (default 0)\n"
"  -o DIR         output directory (created)\n");
}

/* Index of the first cdf entry > u (cdf ascending, last = 1). */
static int draw(const double *cdf, int n, double u) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] > u) hi = mid; else lo = mid + 1;
    }
    return lo;
}

int synth_write(const SynthSpec *sp, FILE *f, double *oracle_rmse, char *err) {
    const int U = sp->users, I = sp->items, K = sp->rank;
    int rc = -1;
    double *cdf = NULL, *act = NULL;
    float *pu = NULL, *qi = NULL, *bu = NULL, *bi = NULL;
    int32_t *mark = NULL, *perm = NULL;
    int64_t *count = NULL;
    char *buf = NULL;
    if (U < 1 || I < 1 || K < 1 || sp->ratings < 1 ||
        (double)sp->ratings > (double)U * I / 2)
        return err_set(err, "synth: need users, items, rank >= 1 and 1 <= ratings "
                       "<= users * items / 2 (got %d x %d, %lld ratings)", U, I,
                       (long long)sp->ratings);
    cdf = mem_alloc((size_t)I * sizeof *cdf);
    act = mem_alloc((size_t)U * sizeof *act);
    count = mem_alloc((size_t)U * sizeof *count);
    pu = mem_alloc((size_t)U * K * sizeof *pu);
    qi = mem_alloc((size_t)I * K * sizeof *qi);
    bu = mem_alloc((size_t)U * sizeof *bu);
    bi = mem_alloc((size_t)I * sizeof *bi);
    mark = mem_alloc((size_t)I * sizeof *mark);
    perm = mem_alloc((size_t)I * sizeof *perm);
    buf = mem_alloc(1 << 16);
    if (!cdf || !act || !count || !pu || !qi || !bu || !bi || !mark || !perm || !buf) {
        err_set(err, "synth: out of memory for %d users x %d items", U, I);
        goto done;
    }
    Rng rng;
    rng_seed(&rng, sp->seed, 0x5e7);
    /* the model: factors of sd s, so the interaction (a sum of K products)
     * has variance K s^4 = 0.7^2 */
    const double s = sqrt(0.7 / sqrt((double)K));
    for (size_t j = 0; j < (size_t)U * K; j++) pu[j] = (float)(s * rng_normal(&rng));
    for (size_t j = 0; j < (size_t)I * K; j++) qi[j] = (float)(s * rng_normal(&rng));
    for (int u = 0; u < U; u++) bu[u] = (float)(0.35 * rng_normal(&rng));
    for (int i = 0; i < I; i++) bi[i] = (float)(0.45 * rng_normal(&rng));
    /* Zipf-like item popularity over a random order of the items */
    for (int i = 0; i < I; i++) perm[i] = i;
    for (int i = I - 1; i > 0; i--) {
        int j = (int)rng_below(&rng, (uint64_t)i + 1);
        int32_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
    double tot = 0;
    for (int i = 0; i < I; i++) tot += cdf[i] = 1.0 / pow(i + 1.0, 0.8);
    for (int i = 0; i < I; i++) cdf[i] = (i ? cdf[i - 1] : 0) + cdf[i] / tot;
    cdf[I - 1] = 1.0;
    /* log-normal user activity, normalised to the total, at least
     * min(20, items / 2) and at most items / 2 ratings per user */
    double asum = 0;
    for (int u = 0; u < U; u++) asum += act[u] = exp(1.2 * rng_normal(&rng));
    int64_t lo = I / 2 < 20 ? I / 2 : 20, hi = I / 2 > 0 ? I / 2 : 1, left = sp->ratings;
    if (lo < 1) lo = 1;
    for (int u = 0; u < U; u++) {
        int64_t n = (int64_t)llround((double)sp->ratings * act[u] / asum);
        count[u] = n < lo ? lo : n > hi ? hi : n;
    }
    /* adjust so the counts add up exactly */
    for (int u = 0; u < U; u++) left -= count[u];
    for (int pass = 0; left != 0 && pass < 64; pass++)
        for (int u = 0; u < U && left != 0; u++) {
            if (left > 0 && count[u] < hi) { count[u]++; left--; }
            else if (left < 0 && count[u] > 1) { count[u]--; left++; }
        }
    for (int i = 0; i < I; i++) mark[i] = -1;
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    double se = 0;
    int64_t written = 0;
    for (int u = 0; u < U; u++) {
        for (int64_t c = 0; c < count[u]; c++) {
            int item = -1;
            for (int tries = 0; tries < 64 && item < 0; tries++) {
                int cand = perm[draw(cdf, I, rng_uniform(&rng))];
                if (mark[cand] != u) item = cand;
            }
            if (item < 0) {  /* popular items taken: first free one from a random start */
                int start = (int)rng_below(&rng, (uint64_t)I);
                for (int k = 0; k < I && item < 0; k++)
                    if (mark[(start + k) % I] != u) item = (start + k) % I;
            }
            mark[item] = u;
            double dot = 0;
            for (int k = 0; k < K; k++) dot += (double)pu[(size_t)u * K + k] * qi[(size_t)item * K + k];
            double mean = 3.55 + bu[u] + bi[item] + dot;
            long r = lround(mean + sp->noise * rng_normal(&rng));
            r = r < 1 ? 1 : r > 5 ? 5 : r;
            double clipped = mean < 1 ? 1 : mean > 5 ? 5 : mean;
            se += (clipped - r) * (clipped - r);
            long ts = 956703932L + (long)rng_below(&rng, 100000000u);
            int n = snprintf(buf, 1 << 16, "%d::%d::%ld::%ld\n", u + 1, item + 1, r, ts);
            if (fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
                err_set(err, "synth: write failed: %s", strerror(errno));
                goto done;
            }
            written++;
        }
    }
    if (fflush(f) != 0) {
        err_set(err, "synth: write failed: %s", strerror(errno));
        goto done;
    }
    *oracle_rmse = sqrt(se / (double)written);
    rc = 0;
done:
    mem_free(cdf); mem_free(act); mem_free(count); mem_free(pu); mem_free(qi);
    mem_free(bu); mem_free(bi); mem_free(mark); mem_free(perm); mem_free(buf);
    return rc;
}

int synth_main(int argc, char **argv) {
    SynthSpec sp = {0, 0, 0, 10, 0.6, 0};
    const char *out_dir = NULL, *shape = NULL;
    char err[ERR_MAX], path[4096];
    long long ratings = 0, seed = 0;
    int r;
    const CliOpt opts[] = {
        {.name = "-o", .kind = CLI_TEXT, .dest = &out_dir},
        {.name = "--shape", .kind = CLI_TEXT, .dest = &shape},
        {.name = "--users", .kind = CLI_INT, .dest = &sp.users, .min = 1,
         .max = 100000000},
        {.name = "--items", .kind = CLI_INT, .dest = &sp.items, .min = 1,
         .max = 100000000},
        {.name = "--ratings", .kind = CLI_LLONG, .dest = &ratings, .min = 1,
         .max = 10000000000LL},
        {.name = "--rank", .kind = CLI_INT, .dest = &sp.rank, .min = 1,
         .max = 1000},
        {.name = "--seed", .kind = CLI_LLONG, .dest = &seed, .min = 0,
         .max = INT64_MAX},
        {.name = "--noise", .kind = CLI_REAL, .dest = &sp.noise, .lo = 0,
         .hi = 10},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "synth", .usage = synth_usage, .opts = opts};

    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    sp.ratings = ratings;
    sp.seed = (uint64_t)seed;
    if (shape) {
        SynthSpec named = sp;
        if (synth_shape(shape, &named)) {
            fprintf(stderr, "autorec synth: unknown shape '%s' (" SYNTH_SHAPE_NAMES ")\n", shape);
            return EXIT_USAGE;
        }
        if (!sp.users) sp.users = named.users;
        if (!sp.items) sp.items = named.items;
        if (!sp.ratings) sp.ratings = named.ratings;
    }
    if (!out_dir || !sp.users || !sp.items || !sp.ratings) {
        fprintf(stderr, "autorec synth: give -o DIR and --shape or --users/--items/--ratings\n");
        return EXIT_USAGE;
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "autorec synth: cannot create %s: %s\n", out_dir, strerror(errno));
        return EXIT_FAILED;
    }
    OutFile out;
    double oracle = 0;
    snprintf(path, sizeof path, "%s/ratings.dat", out_dir);
    if (outfile_open(&out, path, 0666, NULL, err)) {
        fprintf(stderr, "autorec synth: %s\n", err);
        return EXIT_FAILED;
    }
    if (synth_write(&sp, out.f, &oracle, err)) {
        outfile_abort(&out);
        fprintf(stderr, "autorec %s\n", err);
        return EXIT_FAILED;
    }
    if (outfile_commit(&out, err)) {
        fprintf(stderr, "autorec synth: %s\n", err);
        return EXIT_FAILED;
    }
    snprintf(path, sizeof path, "%s/SYNTH.txt", out_dir);
    if (outfile_open(&out, path, 0666, NULL, err) == 0) {
        fprintf(out.f, "autorec synth: %d users x %d items, %lld ratings, rank %d, noise %g, "
                "seed %llu\nformat: ml-1m (user::item::rating::timestamp)\n"
                "oracle RMSE (noiseless model vs ratings): %.4f\n", sp.users, sp.items,
                (long long)sp.ratings, sp.rank, sp.noise, (unsigned long long)sp.seed, oracle);
        if (outfile_commit(&out, err) == 0) err[0] = '\0';
    }
    if (err[0]) {
        fprintf(stderr, "autorec synth: %s\n", err);
        return EXIT_FAILED;
    }
    printf("wrote %s/ratings.dat: %d users x %d items, %lld ratings (rank %d, noise %g); "
           "oracle RMSE %.4f\n", out_dir, sp.users, sp.items, (long long)sp.ratings,
           sp.rank, sp.noise, oracle);
    return EXIT_OK;
}
