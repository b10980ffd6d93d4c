/* adam_ahead.h - exact Adam's zero-gradient steps, taken ahead of time.
 *
 * With coupled weight decay every weight row takes an Adam step at every
 * step, also the row of a user without a rating in the batch (gradient
 * 0 + wd * w).  Taken at each step, those steps stream the untouched rows
 * with both moments once per step: on ML-10M's shape 28% of the rows, about
 * 0.5 s of an epoch (docs/performance.md).
 *
 * Nothing reads an untouched row during the steps that do not touch it, and
 * the epoch's item order says in advance which steps touch which user.  So
 * a user's rows take the zero-gradient steps that follow one of its steps
 * right after it, while they are in cache, and those before its first step
 * of the epoch at the epoch's start: per element the same operations in the
 * same order (adam_span with the same scalars), so the same numbers bit for
 * bit, with a row read and written once per run of untouched steps rather
 * than once per step.  Between two steps of an epoch some rows therefore
 * stand ahead of the step counter; when the epoch's last step is done every
 * row stands where the stepwise update leaves it. */
#ifndef AUTOREC_ADAM_AHEAD_H
#define AUTOREC_ADAM_AHEAD_H

#include <stdint.h>

#include "adam.h"
#include "csr.h"

typedef struct {
    int num_users, num_items;
    int64_t *uptr;      /* (num_users+1) start of each user's items in uitem */
    int32_t *uitem;     /* (training nnz) the items each user rated */
    int32_t *step_of;   /* (num_items) scratch: the step of each item in the
                           planned epoch, -1 for the dropped tail */
    int max_steps;      /* capacity of step and the touch bits */
    int words;          /* 64-bit words of touch bits per user */
    uint64_t *touch;    /* (num_users, words) bit j set: the user has a
                           rating in step j's batch */
    AdamStep *step;     /* (max_steps) scalars of the epoch's steps */
    int nsteps;         /* steps in the planned epoch */
    int now;            /* index of the step being taken (set by the caller) */
} AdamAhead;

/* Creates the plan's memory for the training matrix train (items x users)
 * and epochs of floor(items / batch_size) steps: a users x items index of
 * train (4 bytes per rating) and touch bits.  Returns 0, or -1 with err (out
 * of memory).  Borrows nothing; free with adam_ahead_free. */
int adam_ahead_create(AdamAhead *a, const Csr *train, int batch_size,
                      char *err);

/* Frees what adam_ahead_create allocated and zeroes a; accepts a zeroed a. */
void adam_ahead_free(AdamAhead *a);

/* Plans an epoch: batch k of the nsteps = n_items / batch_size steps holds
 * the items order[k * batch_size ..][0 .. batch_size), the rest of order is
 * dropped; step[k] must then be filled by the caller with the scalars of
 * the epoch's step k (1-based step counter first_step + 1 + k).  nsteps
 * must not exceed a->max_steps.  Parallel over users; allocates nothing. */
void adam_ahead_plan(AdamAhead *a, const int32_t *order, int n_items,
                     int batch_size);

/* The number of zero-gradient steps user u's rows take right after their
 * step a->now: the steps up to u's next step of the epoch, or to its end. */
int adam_ahead_after(const AdamAhead *a, int32_t u);

/* The number of the epoch's steps before user u's first one (all of them
 * when u has none): those its rows take at the epoch's start. */
int adam_ahead_before(const AdamAhead *a, int32_t u);

/* Takes steps a->step[from .. from + count) with zero gradient on the n
 * parameters p with moments m, v (adam_span with g == NULL each). */
void adam_ahead_span(float *p, float *m, float *v, long n, const AdamAhead *a,
                     int from, int count);

/* The epoch's start for a (num_users, n) weight matrix w (moments m, v),
 * rows indexed by user: each row takes the steps before its user's first
 * step (adam_ahead_before).  Parallel over rows. */
void adam_ahead_begin_rows(float *w, float *m, float *v, long n,
                           const AdamAhead *a);

/* The steps after a->now for the span of user u's row (offset into the row
 * already applied by the caller): adam_ahead_span from a->now + 1 for
 * adam_ahead_after(a, u) steps.  a == NULL: nothing. */
void adam_ahead_row(float *p, float *m, float *v, long n, const AdamAhead *a,
                    int32_t u);

#endif
