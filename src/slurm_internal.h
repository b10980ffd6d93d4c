/* slurm_internal.h - what slurm.c shares with slurm_chain.c (the rung
 * chain of search.pruner: asha on Slurm).  Not for other modules. */
#ifndef AUTOREC_SLURM_INTERNAL_H
#define AUTOREC_SLURM_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "grid_plan.h"

#define SLURM_PATH_MAX 4096

typedef struct {
    CliConfig in;             /* CONFIG and its overrides */
    const char *db_path;
    const char *shards;       /* NULL: beside the database */
    const char *partition;
    const char *time;
    int max_parallel;         /* 0: no limit */
    int threads;
    int submit, print, resume;
    int stage;                /* --stage K (the chain's promotion step after
                                 stage K); -1: none */
} SlurmArgs;

typedef struct {
    char exe[SLURM_PATH_MAX];      /* this autorec binary */
    char config[SLURM_PATH_MAX];
    char cwd[SLURM_PATH_MAX];
    char db[SLURM_PATH_MAX];       /* results database, absolute */
    char shards[SLURM_PATH_MAX];   /* SHARDS, absolute */
    char dir[SLURM_PATH_MAX];      /* SHARDS/EXPERIMENT (a chain:
                                      SHARDS/EXPERIMENT/stage-K) */
    int stop_epoch;                /* > 0: tasks run --stop-at-epoch */
} SlurmPaths;

/* Writes a batch script on f (the grid's job array, or a chain's
 * promotion job). */
typedef void (*SlurmScriptFn)(FILE *f, const SlurmArgs *a, const GridPlan *p,
                              const SlurmPaths *s, const char *array,
                              size_t ntasks, int cpus);

/* The job array script: task i runs point i into s->dir/i/results.db. */
void slurm_script(FILE *f, const SlurmArgs *a, const GridPlan *p,
                  const SlurmPaths *s, const char *array, size_t ntasks,
                  int cpus);

/* Writes fn's script (NULL: slurm_script) to path through a temporary
 * file renamed into place.  Returns 0 or -1 (printed). */
int slurm_write(const char *path, const SlurmArgs *a, const GridPlan *p,
                const SlurmPaths *s, const char *array, size_t ntasks,
                int cpus, SlurmScriptFn fn);

/* Runs `sbatch --parsable [--dependency=afterany:AFTER] script` and copies
 * the job id into id (cap bytes).  Returns 0 or -1 (printed). */
int slurm_submit(const char *script, const char *after, char *id,
                 size_t cap);

/* mkdir -p path.  Returns 0 or -1 (printed). */
int slurm_mkdirs(const char *path);

/* Makes path absolute (prefixing the working directory) into out (cap
 * bytes).  Returns 0 or -1 (printed). */
int slurm_absolute(const char *path, char *out, size_t cap);

/* Prints s with single quotes for bash. */
void slurm_quote(FILE *f, const char *s);

/* search.pruner: asha on Slurm (slurm_chain.c).  Without --stage: writes
 * and (with --submit) submits stage 0, every point as an array paused at
 * the first rung, and the promotion job that runs after it.  With --stage
 * K (what that job runs): merges stage K's shards into the database, keeps
 * the best 1/eta of the trials paused at rung K (the others become
 * `pruned` there, with the reason), and submits stage K + 1 for them (to
 * the next rung, the last stage to the end) with its own promotion job.
 * Returns the exit code. */
int slurm_chain(const SlurmArgs *a, const GridPlan *p, SlurmPaths *s,
                int cpus);

#endif
