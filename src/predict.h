/* predict.h - predictions for chunks of users from a finished run's
 * checkpoint, or from an ensemble run (the weighted sum of its members'
 * predictions): what `autorec recommend` prints and what an ensemble's
 * ranking metrics rank. */
#ifndef AUTOREC_PREDICT_H
#define AUTOREC_PREDICT_H

#include <stdint.h>

#include "runner.h"

typedef struct {
    int n;            /* runs: 1, or an ensemble's members */
    Runner *r;        /* (n) each rebuilt from the database (owned) */
    double *w;        /* (n) weights: 1 for a plain run (owned) */
    int64_t *ids;     /* (n) their run ids (owned) */
    int epoch;        /* the checkpoint's epoch (a plain run's) */
    int ensemble;     /* 1: an ensemble run */
    char name[CFG_NAME_MAX];   /* the run's name (runs.name) */
    float *tmp;       /* scratch of predict_users (owned) */
    size_t tmp_cap;
} Predictor;

/* Loads run run_id of the database at db_path for prediction: a plain run
 * (recommend_load), or each member of an ensemble run with its weight.
 * Returns 0, or -1 with err (what recommend_load refuses, for the run or a
 * member).  Free p with predict_close, also on failure. */
int predict_open(Predictor *p, const char *db_path, int64_t run_id,
                 char *err);

/* Frees what predict_open allocated; accepts a zeroed Predictor. */
void predict_close(Predictor *p);

/* Predicts every item for the nu dense users us: score[j * I + i] is user
 * us[j]'s prediction for item i (the weighted sum over an ensemble's
 * members); seen[j * I + i] (zeroed by the caller) is set when us[j] rated
 * i in a run's training matrix (train, or train + validation for a refit);
 * nrated[j] counts those.  raw: the models' outputs (no clip, no cold
 * default), else the evaluated predictions (an ensemble's sum clipped as
 * its members clip).  Returns 0 or -1 with err (out of memory). */
int predict_users(Predictor *p, const int *us, int nu, float *score,
                  unsigned char *seen, int *nrated, int raw, char *err);

#endif
