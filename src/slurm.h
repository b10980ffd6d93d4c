/* slurm.h - `autorec slurm`: a grid search as a Slurm job array.
 *
 * One array task per grid point; task i runs `autorec grid CONFIG --point i`
 * with OMP_NUM_THREADS and --threads set to the CPUs Slurm granted, and
 * writes its own shard database SHARDS/EXPERIMENT/i/results.db (SQLite must
 * not be shared between hosts over NFS or Lustre).  `autorec merge` then
 * merges the shards into the results database; `--resume` submits only the
 * points that have no finished (or diverged) run there or in their shard. */
#ifndef AUTOREC_SLURM_H
#define AUTOREC_SLURM_H

#include <stddef.h>
#include <stdio.h>

/* Writes Slurm's --array value for the n sorted point indices into out
 * (size cap): ranges of consecutive indices ("0-5", "3,5,7-9"), then
 * "%max_parallel" when max_parallel > 0.  Returns 0, or -1 when it does not
 * fit. */
int slurm_array_spec(const size_t *points, size_t n, int max_parallel,
                     char *out, size_t cap);

/* `autorec slurm CONFIG [options]`; argv[0] is "slurm".  Returns the exit
 * code. */
int slurm_main(int argc, char **argv);
void slurm_usage(FILE *f);

#endif
