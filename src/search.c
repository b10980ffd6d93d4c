/* search.c - sampled searches (see search.h).  No global mutable state. */
#include "search.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "sampler.h"

void search_value(const GridAxis *ax, double u, char *out, size_t cap) {
    double lo = ax->lo, hi = ax->hi, v;
    switch (ax->dist) {
    case AXIS_UNIFORM:
        snprintf(out, cap, "%.4g", lo + u * (hi - lo));
        return;
    case AXIS_LOG_UNIFORM:
        snprintf(out, cap, "%.4g", exp(log(lo) + u * (log(hi) - log(lo))));
        return;
    case AXIS_INT:
        v = lo + floor(u * (hi - lo + 1));
        break;
    case AXIS_LOG_INT:
        v = floor(exp(log(lo) + u * (log(hi + 1) - log(lo))));
        break;
    case AXIS_LIST:
    default:
        snprintf(out, cap, "?");
        return;
    }
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    snprintf(out, cap, "%.0f", v);
}

int search_sample(const Config *base, Grid *grid, char *err) {
    size_t n = (size_t)base->search_trials;
    int dims = grid->naxes;
    Grid out;
    memset(&out, 0, sizeof out);
    out.zip = 1;
    out.naxes = dims;
    if (dims == 0)
        return err_set(err, "search.sampler: %s needs a grid: section with "
                       "the keys to sample (lists or distributions)",
                       cfg_sampler_name(base->search_sampler));
    double *u = mem_alloc(n * (size_t)dims * sizeof *u);
    if (!u) return err_set(err, "out of memory drawing %zu trials", n);
    if (sampler_points(base->search_sampler, base->search_seed, dims, n, u,
                       err)) {
        mem_free(u);
        return -1;
    }
    for (int a = 0; a < dims; a++) {
        const GridAxis *in = &grid->axes[a];
        GridAxis *ax = &out.axes[a];
        memcpy(ax->key, in->key, sizeof ax->key);
        ax->dist = in->dist;
        ax->lo = in->lo;
        ax->hi = in->hi;
        ax->values = mem_calloc(n, sizeof *ax->values);
        if (!ax->values) goto oom;
        for (size_t i = 0; i < n; i++) {
            double ui = u[i * (size_t)dims + (size_t)a];
            char b[64];
            const char *v = b;
            if (in->dist == AXIS_LIST) {
                size_t k = (size_t)(ui * in->nvalues);
                if (k >= (size_t)in->nvalues) k = (size_t)in->nvalues - 1;
                v = in->values[k];
            } else {
                search_value(in, ui, b, sizeof b);
            }
            if (!(ax->values[i] = mem_strdup(v))) goto oom;
            ax->nvalues++;
        }
    }
    mem_free(u);
    cfg_grid_free(grid);
    *grid = out;
    return 0;
oom:
    mem_free(u);
    cfg_grid_free(&out);
    return err_set(err, "out of memory drawing %zu trials", n);
}
