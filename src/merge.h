/* merge.h - `autorec merge`: shard databases into one results database.
 *
 * A Slurm task (autorec slurm) writes its grid point into its own shard
 * database: SQLite must not be shared between hosts over NFS or Lustre.
 * Merging copies the shards' experiments, grid points, runs and epochs into
 * the target, column by name (the columns both databases have, so shards
 * and targets of other schema versions merge), one transaction per shard.
 *
 * Idempotence.  A grid run is identified by (experiment, grid_point), any
 * other run by (name, host, started_at).  When the target already holds
 * that run, the shard's row replaces it (and the run's epochs are replaced
 * with the shard's, in the same transaction) only when it is newer or more
 * complete, compared in this order:
 *   1. a final status (finished, diverged) beats any other status;
 *   2. the later started_at (a later attempt);
 *   3. more epochs_done;
 *   4. the later heartbeat_at (the same attempt, written later: e.g.
 *      running, then interrupted).
 * Equal on all four, the target is kept.  So merging a shard twice changes
 * nothing, and a shard of a resumed task replaces its older attempt.
 *
 * Ensembles.  A run copied (new or replacing) brings its stored
 * predictions (run_predictions) along, and an ensemble run its member rows
 * (ensemble_members), with every run id remapped to the target's: the
 * ensemble run's and each member's.  A member the target already held (a
 * kept run) is referred to by the target's id.  A member row naming a run
 * the shard does not hold fails the shard's merge (nothing merged). */
#ifndef AUTOREC_MERGE_H
#define AUTOREC_MERGE_H

#include <stdio.h>

struct sqlite3;

typedef struct {
    int runs_new;        /* runs inserted */
    int runs_replaced;   /* target rows replaced by newer shard rows */
    int runs_kept;       /* shard rows not newer than the target's */
    long long epochs;    /* epoch rows copied */
    long long members;   /* ensemble_members rows copied */
    long long predictions;   /* run_predictions rows copied */
} MergeStats;

/* Merges the shard database at shard_path into target (an open read-write
 * connection to an autorec database at the current schema, not inside a
 * transaction), in one transaction, adding to *st.  The shard is checked
 * first (an autorec results database of this or an older schema).  Returns
 * 0, or -1 with err (nothing of that shard merged). */
int merge_shard(struct sqlite3 *target, const char *shard_path,
                MergeStats *st, char *err);

/* `autorec merge SHARD... [--into DB]`; argv[0] is "merge".  Returns the
 * exit code. */
int merge_main(int argc, char **argv);

/* Merges the npaths shards (a file, or a directory standing for every *.db
 * file below it) into the results database into (created or migrated),
 * printing each shard's counts and each experiment's state on stdout.
 * Returns the exit code: 0 every shard merged, 1 a shard or the database
 * failed (the other shards are merged), 2 a shard path is missing or
 * unreadable (nothing merged). */
int merge_run(const char *const *paths, int npaths, const char *into);
void merge_usage(FILE *f);

#endif
