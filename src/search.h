/* search.h - sampled searches: the grid: section's lists and distributions
 * drawn as search.trials trials (search.sampler random or sobol).
 *
 * Trial i's values depend only on the seed, the sampler, the axes and i
 * (not on the number of trials), so `--set search.trials=N` with a larger
 * N keeps the first trials.  Real values are written with 4 significant
 * digits (what is written is exactly what the trial trains with). */
#ifndef AUTOREC_SEARCH_H
#define AUTOREC_SEARCH_H

#include "cfg.h"

/* Replaces *grid (lists and distributions, as read from the config) by
 * base's search.trials sampled trials: a zipped grid (grid->zip = 1) whose
 * axis a holds trial i's value as values[i], each axis keeping its key and
 * distribution.  A list axis is a uniform choice among its values.
 * Returns 0, or -1 with err (grid unchanged). */
int search_sample(const Config *base, Grid *grid, char *err);

/* The value of distribution axis ax (not AXIS_LIST) at unit coordinate u
 * in [0, 1), formatted into out (cap bytes).  For tests and search_sample. */
void search_value(const GridAxis *ax, double u, char *out, size_t cap);

#endif
