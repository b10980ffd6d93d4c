/* recommend.h - `autorec recommend`: top items for one user of a run. */
#ifndef AUTOREC_RECOMMEND_H
#define AUTOREC_RECOMMEND_H

#include <stdint.h>
#include <stdio.h>

#include "runner.h"

/* Prints the usage of autorec recommend to f. */
void recommend_usage(FILE *f);

/* Loads run run_id of the results database at db_path for prediction: its
 * stored config (runs.config_yaml), its data reloaded exactly as the run
 * did (runner_prepare: same split, id maps and model.variant) and its
 * checkpoint (runs.checkpoint) as r's trainer model; *epoch gets the
 * checkpoint's epoch.  Returns 0, or -1 with err saying what to do: no such
 * run, no checkpoint (train.checkpoint: false, or none written), a missing
 * or corrupt checkpoint file, one whose shape does not match the data, bad
 * data.  Free r with runner_free, also on failure. */
int recommend_load(Runner *r, const char *db_path, int64_t run_id, int *epoch,
                   char *err);

/* autorec recommend --run ID --user U [--top N] [--db PATH] (argv[0] is
 * "recommend").  Returns the exit code: 0, 1 (no such run, no or bad
 * checkpoint, unknown user, database or data error) or 2 (bad usage). */
int recommend_main(int argc, char **argv);

#endif
