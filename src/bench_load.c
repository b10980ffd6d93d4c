/* bench_load.c - `autorec bench --load`: how long loading the config's
 * ratings takes, parsed (the line parser, the fast reader) and as a run
 * loads them (data_load without and with the ratings cache).
 *
 * A benchmark, not a test: the variants are run in turn in each round (so
 * a noisy machine slows them alike) and medians are printed, with ratios
 * measured in the same process. */
#include "bench.h"

#include <omp.h>
#include <sys/stat.h>

#include "cli.h"
#include "data.h"
#include "err.h"
#include "mem.h"
#include "rss.h"

#define BL_VARIANTS 4
#define BL_MAX_ROUNDS 64

/* Times variant k once on cfg's file (path): 0 the line parser (1 thread),
 * 1 the fast reader, 2 data_load with data.cache false, 3 with it true.
 * Returns the seconds, or a negative value with err; *n gets the ratings
 * read. */
static double bl_time(const Config *cfg, const char *path, int threads, int k,
                      size_t *n, char *err) {
    Rating *r = NULL;
    Dataset ds;
    Config c = *cfg;
    double t0 = bench_now();
    int rc;
    if (k < 2) {
        rc = data_read_raw(path, c.data_format,
                           k == 0 ? DATA_READ_LINES : DATA_READ_AUTO,
                           k == 0 ? 1 : threads, &r, n, err);
        mem_free(r);
    } else {
        c.data_cache = k == 3;
        rc = data_load(&c, &ds, err);
        *n = ds.n_train + ds.n_test + ds.n_val;
        data_free(&ds);
    }
    return rc ? -1.0 : bench_now() - t0;
}

/* See bench.h. */
int bench_load(const Config *cfg, int repeats) {
    static const char *const names[BL_VARIANTS] = {
        "parse, line parser (1 thread)", "parse, fast reader",
        "load, data.cache: false", "load, from the cache"};
    char path[2 * CFG_PATH_MAX + 16], err[ERR_MAX];
    double t[BL_VARIANTS][BL_MAX_ROUNDS];
    size_t n = 0;
    struct stat st;
    const int threads = cfg->threads > 0 ? cfg->threads : omp_get_num_procs();
    if (cfg->split_kind != SPLIT_RANDOM) {
        fprintf(stderr, "autorec bench --load: times a random split's single "
                "ratings file: set data.split.kind: random\n");
        return EXIT_USAGE;
    }
    if (data_ratings_file(cfg, path, sizeof path, err) || stat(path, &st)) {
        fprintf(stderr, "autorec bench --load: %s\n", err);
        return EXIT_FAILED;
    }
    if (repeats > BL_MAX_ROUNDS) repeats = BL_MAX_ROUNDS;
    (void)rss_reset_peak();
    /* fill the cache (and the page cache) first */
    if (bl_time(cfg, path, threads, 3, &n, err) < 0) {
        fprintf(stderr, "autorec bench --load: %s\n", err);
        return EXIT_FAILED;
    }
    printf("autorec bench --load: %s (%.1f MB, format %s, %zu ratings), "
           "%d threads, median of %d rounds\n", path, st.st_size / 1e6,
           cfg_format_name(cfg->data_format), n, threads, repeats);
    for (int r = 0; r < repeats; r++)
        for (int k = 0; k < BL_VARIANTS; k++) {
            t[k][r] = bl_time(cfg, path, threads, k, &n, err);
            if (t[k][r] < 0) {
                fprintf(stderr, "autorec bench --load: %s: %s\n", names[k], err);
                return EXIT_FAILED;
            }
        }
    double med[BL_VARIANTS];
    printf("%-32s %10s %10s\n", "", "median s", "MB/s");
    for (int k = 0; k < BL_VARIANTS; k++) {
        med[k] = bench_median(t[k], repeats);
        printf("%-32s %10.4f %10.0f\n", names[k], med[k],
               st.st_size / 1e6 / med[k]);
    }
    printf("fast reader over the line parser: %.1fx; a cached load over an "
           "uncached one: %.1fx\npeak resident memory %.0f MiB (MB/s: bytes of "
           "the ratings file per second; a load includes the split)\n",
           med[0] / med[1], med[2] / med[3], rss_peak_mb());
    return EXIT_OK;
}
