/* slurm_chain.c - search.pruner: asha on Slurm: successive halving as a
 * chain of job arrays, one per rung, with a merge and a promotion step
 * between them (see slurm_internal.h, slurm_chain).
 *
 * Shard databases cannot see each other, so the asynchronous decisions a
 * local worker makes are replaced by synchronous ones: stage K trains its
 * trials to rung K's epoch r_K = min_epochs * eta^K and pauses them there
 * (autorec grid --stop-at-epoch: status interrupted, with the reason); the
 * promotion job, which Slurm starts once every task of the stage has ended
 * (--dependency=afterany), merges the stage's shards, compares every trial
 * that reached r_K (pruner_decide with all of them present: the best
 * max(1, floor(m / eta)) of m go on), records the others as pruned at r_K
 * and submits stage K + 1 for the promoted trials.  The stage after the
 * last rung trains to the end.  A trial whose train.epochs is at most r_K
 * finishes within stage K.  Promoted trials restart from epoch 1: a shard
 * holds no optimizer state to hand over.
 *
 * No global mutable state. */
#include "slurm_internal.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "merge.h"
#include "pruner.h"
#include "query.h"
#include "slurm.h"

#define CHAIN_MAX_RUNGS 64

/* The rung epochs of plan p (min_epochs * eta^k below the largest
 * train.epochs of its trials, at most search.rungs) into r; returns how
 * many. */
static int chain_rungs(const GridPlan *p, int r[CHAIN_MAX_RUNGS]) {
    int most = 0, n = 0;
    char err[ERR_MAX];
    for (size_t i = 0; i < p->n; i++) {
        Config c;
        if (grid_plan_point(p, i, 1, &c, err) == 0 && c.epochs > most)
            most = c.epochs;
    }
    const Config *b = &p->base;
    long long e = b->search_min_epochs;
    while (e < most && n < CHAIN_MAX_RUNGS &&
           (b->search_rungs == 0 || n < b->search_rungs)) {
        r[n++] = (int)e;
        e *= b->search_reduction;
    }
    return n;
}

/* The promotion job's script: `autorec slurm CONFIG --stage K --submit`
 * with this invocation's options (array: unused; ntasks: K). */
static void chain_promote_script(FILE *f, const SlurmArgs *a,
                                 const GridPlan *p, const SlurmPaths *s,
                                 const char *array, size_t ntasks, int cpus) {
    (void)array;
    (void)cpus;
    fprintf(f, "#!/bin/bash\n"
               "# autorec slurm: promotion step after stage %zu of search "
               "%s:\n# merges SHARDS/%s/stage-%zu, prunes the trials that "
               "are not promoted,\n# submits the next stage.\n",
            ntasks, p->experiment, p->experiment, ntasks);
    fprintf(f, "#SBATCH --job-name=autorec-%s-promote\n", p->base.name);
    fprintf(f, "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n");
    if (a->partition) fprintf(f, "#SBATCH --partition=%s\n", a->partition);
    if (a->time) fprintf(f, "#SBATCH --time=%s\n", a->time);
    fprintf(f, "#SBATCH --chdir=%s\n", s->cwd);
    fprintf(f, "#SBATCH --output=%s/logs/promote.%%j.out\n", s->dir);
    fputs("set -u\nexec ", f);
    slurm_quote(f, s->exe);
    fputs(" slurm ", f);
    slurm_quote(f, s->config);
    fprintf(f, " --stage %zu --submit --db ", ntasks);
    slurm_quote(f, s->db);
    fputs(" --shards ", f);
    slurm_quote(f, s->shards);
    fprintf(f, " --threads %d", a->threads);
    if (a->max_parallel) fprintf(f, " --max-parallel %d", a->max_parallel);
    if (a->partition) fprintf(f, " --partition %s", a->partition);
    if (a->time) fprintf(f, " --time %s", a->time);
    for (int i = 0; i < a->in.n_sets; i++) {
        fputs(" --set ", f);
        slurm_quote(f, a->in.sets[i]);
    }
    fputc('\n', f);
}

/* Sets s->dir to SHARDS/EXPERIMENT/stage-K and s->stop_epoch, creating
 * its logs directory.  Returns 0 or -1 (printed). */
static int chain_stage_dir(const GridPlan *p, SlurmPaths *s, int stage,
                           int stop_epoch) {
    char logs[SLURM_PATH_MAX + 8];
    if ((size_t)snprintf(s->dir, sizeof s->dir, "%s/%s/stage-%d", s->shards,
                         p->experiment, stage) >= sizeof s->dir) {
        fprintf(stderr, "autorec slurm: --shards path too long\n");
        return -1;
    }
    s->stop_epoch = stop_epoch;
    snprintf(logs, sizeof logs, "%s/logs", s->dir);
    return slurm_mkdirs(logs);
}

/* Writes (and with --submit submits) stage `stage` for the n points and
 * its promotion job.  Returns the exit code. */
static int chain_submit(const SlurmArgs *a, const GridPlan *p, SlurmPaths *s,
                        int cpus, int stage, const int *rungs, int nrungs,
                        const size_t *points, size_t n) {
    char *array = mem_alloc(n * 24 + 32);
    char script[SLURM_PATH_MAX + 32], promote[SLURM_PATH_MAX + 32];
    char id[64] = "", pid[64] = "";
    int rc = EXIT_FAILED;
    if (!array) {
        fprintf(stderr, "autorec slurm: out of memory for %zu points\n", n);
        return EXIT_FAILED;
    }
    if (chain_stage_dir(p, s, stage, stage < nrungs ? rungs[stage] : 0))
        goto out;
    if (slurm_array_spec(points, n, a->max_parallel, array, n * 24 + 32)) {
        fprintf(stderr, "autorec slurm: the array specification does not "
                        "fit\n");
        goto out;
    }
    if (a->print) {
        slurm_script(stdout, a, p, s, array, n, cpus);
        rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
        goto out;
    }
    snprintf(script, sizeof script, "%s/job.sbatch", s->dir);
    snprintf(promote, sizeof promote, "%s/promote.sbatch", s->dir);
    if (slurm_write(script, a, p, s, array, n, cpus, NULL) ||
        slurm_write(promote, a, p, s, "", (size_t)stage, cpus,
                    chain_promote_script))
        goto out;
    printf("wrote %s: search %s, stage %d of %d (%s), %zu task%s "
           "(--array=%s)\n", script, p->experiment, stage, nrungs,
           stage < nrungs ? "to the rung" : "to the end", n,
           n == 1 ? "" : "s", array);
    if (stage < nrungs) printf("  tasks stop after epoch %d\n", rungs[stage]);
    printf("wrote %s: the promotion step after it\n", promote);
    if (a->submit) {
        if (slurm_submit(script, NULL, id, sizeof id) ||
            slurm_submit(promote, id, pid, sizeof pid))
            goto out;
        printf("submitted job array %s (stage %d) and promotion job %s "
               "(after it)\n", id, stage, pid);
        printf("watch:  squeue -r -u $USER\n");
    } else {
        printf("submit: id=$(sbatch --parsable %s) && sbatch "
               "--dependency=afterany:$id %s\n", script, promote);
    }
    rc = EXIT_OK;
out:
    mem_free(array);
    return rc;
}

typedef struct {
    int64_t run_id, point;
    double best;          /* best validation RMSE up to the rung */
} ChainTrial;

/* Reads the trials of p paused at rung epoch e (status interrupted,
 * epochs_done e) from db_path into *out (owned by the caller).  Returns
 * how many, or -1 (printed). */
static int chain_paused(const GridPlan *p, const char *db_path, int e,
                        ChainTrial **out) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char err[ERR_MAX];
    int n = 0, rc;
    *out = mem_calloc(p->n ? p->n : 1, sizeof **out);
    if (!*out) {
        fprintf(stderr, "autorec slurm: out of memory\n");
        return -1;
    }
    if (db_open_query(&h, db_path, err)) {
        fprintf(stderr, "autorec slurm: %s\n", err);
        return -1;
    }
    rc = sqlite3_prepare_v2(h,
        "SELECT r.id, r.grid_point, (SELECT min(e.val_rmse) FROM epochs e "
        "WHERE e.run_id = r.id AND e.epoch <= ?2) FROM runs r WHERE "
        "r.experiment = ?1 AND r.status = 'interrupted' AND r.epochs_done = "
        "?2 ORDER BY r.grid_point", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, p->experiment, -1,
                                                SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 2, e);
    while ((rc = query_step(st, rc)) == SQLITE_ROW && (size_t)n < p->n) {
        ChainTrial *t = &(*out)[n++];
        t->run_id = sqlite3_column_int64(st, 0);
        t->point = sqlite3_column_int64(st, 1);
        t->best = sqlite3_column_type(st, 2) == SQLITE_NULL
                      ? 1.0 / 0.0 : sqlite3_column_double(st, 2);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "autorec slurm: cannot read %s: %s\n", db_path,
                sqlite3_errmsg(h));
        n = -1;
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

/* The promotion step after stage K (see the top of the file).  Returns the
 * exit code. */
static int chain_promote(const SlurmArgs *a, const GridPlan *p,
                         SlurmPaths *s, int cpus, const int *rungs,
                         int nrungs) {
    int k = a->stage, rc = EXIT_FAILED;
    ChainTrial *t = NULL;
    size_t *keep = NULL, nkeep = 0;
    Db *db = NULL;
    char err[ERR_MAX];
    if (k > nrungs) {
        fprintf(stderr, "autorec slurm: --stage %d: the chain has stages "
                        "0..%d\n", k, nrungs);
        return EXIT_USAGE;
    }
    if (chain_stage_dir(p, s, k, 0)) return EXIT_FAILED;
    {   /* merge the stage's shards */
        const char *dir = s->dir;
        if (merge_run(&dir, 1, a->db_path) == EXIT_USAGE) return EXIT_FAILED;
    }
    if (k == nrungs) {   /* the last stage: nothing left to promote */
        printf("search %s: the last stage is merged\n", p->experiment);
        return EXIT_OK;
    }
    int n = chain_paused(p, a->db_path, rungs[k], &t);
    if (n < 0) goto out;
    keep = mem_calloc((size_t)n + 1, sizeof *keep);
    if (!keep || db_open(&db, a->db_path, err)) {
        fprintf(stderr, "autorec slurm: %s\n", keep ? err : "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        Config c;
        PrunerSpec spec;
        double *peers = NULL;
        int np = 0;
        char why[ERR_MAX];
        if (grid_plan_point(p, (size_t)t[i].point, 1, &c, err) ||
            db_peer_val_best(db, p->experiment, t[i].run_id, rungs[k], &peers,
                             &np, err)) {
            fprintf(stderr, "autorec slurm: %s\n", err);
            goto out;
        }
        pruner_spec(&c, &spec);
        int pr = pruner_decide(&spec, rungs[k], t[i].best, peers, np, why);
        mem_free(peers);
        if (!pr) {
            keep[nkeep++] = (size_t)t[i].point;
        } else if (db_run_prune(db, t[i].run_id, rungs[k], why, err)) {
            fprintf(stderr, "autorec slurm: %s\n", err);
            goto out;
        }
    }
    printf("search %s: rung %d (epoch %d): %d trial%s reached it, %zu "
           "promoted, %zu pruned\n", p->experiment, k, rungs[k], n,
           n == 1 ? "" : "s", nkeep, (size_t)n - nkeep);
    db_close(db);
    db = NULL;
    if (nkeep == 0) {
        rc = EXIT_OK;
        goto out;
    }
    rc = chain_submit(a, p, s, cpus, k + 1, rungs, nrungs, keep, nkeep);
out:
    db_close(db);
    mem_free(t);
    mem_free(keep);
    return rc;
}

int slurm_chain(const SlurmArgs *a, const GridPlan *p, SlurmPaths *s,
                int cpus) {
    int rungs[CHAIN_MAX_RUNGS];
    int nrungs = chain_rungs(p, rungs);
    if (a->stage >= 0) return chain_promote(a, p, s, cpus, rungs, nrungs);
    size_t *all = mem_calloc(p->n, sizeof *all);
    Db *db = NULL;
    char err[ERR_MAX];
    if (!all) {
        fprintf(stderr, "autorec slurm: out of memory\n");
        return EXIT_FAILED;
    }
    for (size_t i = 0; i < p->n; i++) all[i] = i;
    if (!a->print) {   /* trials that never run show as "not run" */
        DbExperiment x = {p->experiment, p->base.name, p->axes, p->yaml,
                          (int64_t)p->n, (const char *const *)p->hashes,
                          (const char *const *)p->params};
        if (db_open(&db, a->db_path, err) ||
            db_experiment_register(db, &x, err)) {
            fprintf(stderr, "autorec slurm: %s\n", err);
            db_close(db);
            mem_free(all);
            return EXIT_FAILED;
        }
        db_close(db);
    }
    int rc = chain_submit(a, p, s, cpus, 0, rungs, nrungs, all, p->n);
    mem_free(all);
    return rc;
}
