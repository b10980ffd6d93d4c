/* ensemble_run.c - `autorec run` of an ensemble config (see ensemble.h).
 *
 * Per split: load the split once (its validation and test ratings are what
 * the members' predictions are aligned to), then per member either reuse a
 * finished run of the same member key whose stored predictions follow the
 * same pairs, or train it as a run of its own (its own heartbeat, signals,
 * checkpoint, ranking metrics), storing its predictions; fit the weights on
 * the validation predictions only; record the ensemble run.  One split: a
 * plain run row; several (repeats, folds): an experiment whose points are
 * claimed like a grid's (so a rerun resumes it) and summarised.
 *
 * The test ratings are read for the recorded RMSEs only: ens_fit sees the
 * validation predictions and ratings, nothing else.  No global state
 * beyond stop_signal (stop.h). */
#include "ensemble.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data_memo.h"
#include "db.h"
#include "db_results.h"
#include "cli.h"
#include "err.h"
#include "grid.h"
#include "grid_worker.h"
#include "heartbeat.h"
#include "mem.h"
#include "predict.h"
#include "query.h"
#include "runner.h"
#include "stop.h"
#include "topn.h"
#include "version.h"

typedef struct {
    const EnsembleSpec *s;
    const char *db_path;
    int quiet;
    int val_only;         /* print no test figure (--val-only) */
    Db *db;               /* member runs (and a one-split ensemble run) */
    DataMemo *memo;
    char host[256];
    int splits;
} EnsCtx;

/* The ensemble run's stored config for split: the base's resolved YAML and
 * the section.  Returns a string owned by the caller (mem_free), or NULL
 * (out of memory). */
static char *ens_yaml(const EnsembleSpec *s, int split) {
    Config c = s->base;
    c.split_index = split;
    char *base = cfg_to_yaml(&c);
    if (!base) return NULL;
    size_t n = strlen(base) + strlen(s->text) + 1;
    char *out = mem_alloc(n);
    if (out) snprintf(out, n, "%s%s", base, s->text);
    mem_free(base);
    return out;
}

/* Fills info for the ensemble run of split (yaml: its stored config).  */
static void ens_info(const EnsCtx *c, const Config *cfg, const char *yaml,
                     DbRunInfo *info) {
    info->cfg = cfg;
    info->config_yaml = yaml;
    info->host = c->host;
    info->threads = cfg->threads;
    info->kernel = "ensemble";
    info->git_commit = version_git_commit();
    info->blis_info = NULL;
}

/* Trains the member (or candidate) cfg, labelled label, on split as a new
 * run, capturing its predictions and selected_val_rmse into *out.  Returns
 * 0 with *st the run's status (why says what went wrong for other than
 * finished), or -1 with err (the database failed). */
static int member_train(EnsCtx *c, const Config *cfg, const char *label,
                        int split, const char *key, const char *pairs,
                        DbMemberPreds *out, RunStatus *st, char *why,
                        char *err) {
    Config mc = *cfg;
    Runner r;
    RunOutcome o;
    Heartbeat hb;
    DbRunInfo info;
    char got[24];
    int64_t id = -1;
    int ret = -1;
    memset(&hb, 0, sizeof hb);
    mc.split_index = split;
    *st = RUN_FAILED;
    if (mc.variant == VARIANT_GLOCAL) {
        err_set(why, "member %s has model.variant glocal: GLocal-K runs do "
                "not yet record the predictions an ensemble needs (use item "
                "or user members)", label);
        return 0;
    }
    if (runner_prepare_memo(&r, &mc, c->memo, why)) {
        ret = 0;   /* a failed member, not a database failure */
        goto done;
    }
    ens_pairs_key(&r.ds, got);
    if (strcmp(got, pairs)) {
        err_set(why, "member %s loaded another split than the ensemble's (its "
                "validation and test pairs differ): check its config", label);
        ret = 0;
        goto done;
    }
    r.capture = 1;
    runner_info(&r, &info);
    if (db_run_begin(c->db, &info, &id, err) ||
        heartbeat_start(&hb, c->db_path, NULL, id, DB_HEARTBEAT_SECONDS, err))
        goto done;
    RunHooks hooks = {NULL, NULL, &stop_signal, NULL, NULL};
    why[0] = '\0';
    *st = runner_train(&r, c->db, id, &hooks, &o, why);
    heartbeat_stop(&hb);
    if (*st == RUN_FAILED && stop_signal) *st = RUN_INTERRUPTED;
    if (*st == RUN_FINISHED &&
        db_member_store(c->db, id, key, pairs, r.pred_val, r.ds.n_val,
                        r.pred_test, r.pred_refit, r.ds.n_test, why))
        *st = RUN_FAILED;
    if (db_run_end_msg(c->db, id, runner_status_name(*st),
                       *st == RUN_FINISHED || !why[0] ? NULL : why, err))
        goto done;
    if (*st == RUN_FINISHED) {
        out->run_id = id;
        out->val = r.pred_val;
        out->test = r.pred_test;
        out->refit = r.pred_refit;
        out->n_val = r.ds.n_val;
        out->n_test = r.ds.n_test;
        out->val_rmse = o.selected_val_rmse;
        r.pred_val = r.pred_test = r.pred_refit = NULL;
        if (!c->quiet) {
            printf("  member %-28s run %lld: selected epoch %d by validation "
                   "RMSE %.4f (%s weights)", label, (long long)id,
                   o.selected_epoch, o.selected_val_rmse,
                   o.selected_ema ? "averaged" : "raw");
            if (!c->val_only) printf(": test RMSE %.4f", o.selected_test_rmse);
            if (o.refit_epochs > 0) printf("; refit %d epochs", o.refit_epochs);
            if (o.refit_epochs > 0 && !c->val_only)
                printf(": test RMSE %.4f", o.refit_test_rmse);
            printf(" (%.1f s)\n", o.seconds);
            fflush(stdout);
        }
    } else if (!why[0]) {
        snprintf(why, ERR_MAX, "member %s (run %lld) %s", label,
                 (long long)id, runner_status_name(*st));
    }
    ret = 0;
done:
    heartbeat_stop(&hb);
    runner_free(&r);
    return ret;
}

/* The predictions of the member (or candidate) cfg, labelled label, at
 * split into preds (reused or trained).  Returns 0 with *st (RUN_FINISHED:
 * preds filled; else why), or -1 with err (the database failed). */
static int member_preds(EnsCtx *c, const Config *cfg, const char *label,
                        int split, const Dataset *ds, const char *pairs,
                        DbMemberPreds *preds, RunStatus *st, char *why,
                        char *err) {
    Config mc = *cfg;
    char key[24];
    mc.split_index = split;
    if (ens_member_key(&mc, key, err)) return -1;
    int found = db_member_find(c->db, key, pairs, ds->n_val, ds->n_test,
                               preds, err);
    if (found < 0) return -1;
    if (found) {
        *st = RUN_FINISHED;
        if (!c->quiet) {
            printf("  member %-28s run %lld reused (trained on this split "
                   "before)\n", label, (long long)preds->run_id);
            fflush(stdout);
        }
        return 0;
    }
    return member_train(c, cfg, label, split, key, pairs, preds, st, why,
                        err);
}

/* Member m at split into preds: the member itself, or for a select:
 * member every candidate (reused or trained) and the one with the lowest
 * selected_val_rmse (ties: the first written; a NaN never wins), its rows
 * appended to cands (*nc of them) and its label in label.  Reads no test
 * rating.  Returns 0 with *st (RUN_FINISHED: preds filled; else why), or
 * -1 with err. */
static int member_choose(EnsCtx *c, int m, int split, const Dataset *ds,
                         const char *pairs, DbMemberPreds *preds,
                         DbEnsembleCandidate *cands, int *nc,
                         const char **label, RunStatus *st, char *why,
                         char *err) {
    const EnsembleSpec *s = c->s;
    *label = s->label[m];
    if (s->ncand[m] == 0)
        return member_preds(c, &s->member[m], s->label[m], split, ds, pairs,
                            preds, st, why, err);
    int best = -1;
    const int first = *nc;
    for (int j = 0; j < s->ncand[m]; j++) {
        DbMemberPreds p;
        memset(&p, 0, sizeof p);
        if (member_preds(c, &s->cand[m][j], s->cand_label[m][j], split, ds,
                         pairs, &p, st, why, err))
            return -1;
        if (*st != RUN_FINISHED) {
            db_member_preds_free(&p);
            return 0;
        }
        cands[*nc] = (DbEnsembleCandidate){m + 1, j + 1, p.run_id, p.val_rmse,
                                           0, s->cand_label[m][j]};
        if (isfinite(p.val_rmse) &&
            (best < 0 || p.val_rmse < cands[first + best].val_rmse)) {
            best = j;
            db_member_preds_free(preds);
            *preds = p;
        } else {
            db_member_preds_free(&p);
        }
        (*nc)++;
    }
    if (best < 0) {
        *st = RUN_FAILED;
        err_set(why, "member %s: no candidate has a validation RMSE to choose "
                "by (set data.split.validation_ratio)", s->label[m]);
        return 0;
    }
    cands[first + best].chosen = 1;
    *label = s->cand_label[m][best];
    if (!c->quiet) {
        printf("  member %s: chose %s by validation RMSE (", s->label[m],
               s->cand_label[m][best]);
        for (int j = first; j < *nc; j++)
            printf("%s%.5f%s", j > first ? " " : "", cands[j].val_rmse,
                   cands[j].chosen ? "*" : "");
        printf(")\n");
        fflush(stdout);
    }
    return 0;
}

/* The ranking metrics of ensemble run id: its members rebuilt from their
 * checkpoints, their outputs weighted, each user's candidates (no training
 * or validation rating) ranked.  Returns 0 (*m filled, or m->users = -1
 * when the members have no checkpoints), or -1 with err. */
static int ens_topn(EnsCtx *c, int64_t id, TopnMetrics *m, char *err) {
    Predictor p;
    TopnLists l;
    const Config *b = &c->s->base;
    int ret = -1, *us = NULL, *nrated = NULL;
    float *score = NULL;
    unsigned char *seen = NULL;
    memset(&l, 0, sizeof l);
    m->users = -1;
    if (!b->checkpoint) return 0;
    if (predict_open(&p, c->db_path, id, err)) goto done;
    const Dataset *ds = &p.r[0].ds;
    const int I = ds->num_items, U = ds->num_users;
    int chunk = (int)((64u << 20) / ((size_t)I * sizeof *score));
    if (chunk < 1) chunk = 1;
    if (chunk > U) chunk = U;
    us = mem_alloc((size_t)chunk * sizeof *us);
    nrated = mem_alloc((size_t)chunk * sizeof *nrated);
    score = mem_alloc((size_t)chunk * (size_t)I * sizeof *score);
    seen = mem_alloc((size_t)chunk * (size_t)I);
    if (!us || !nrated || !score || !seen) {
        err_set(err, "out of memory ranking for %d users", chunk);
        goto done;
    }
    if (topn_lists_create(&l, U, b->top_k, err)) goto done;
    for (int u0 = 0; u0 < U; u0 += chunk) {
        const int n = U - u0 < chunk ? U - u0 : chunk;
        for (int j = 0; j < n; j++) us[j] = u0 + j;
        memset(seen, 0, (size_t)n * (size_t)I);
        if (predict_users(&p, us, n, score, seen, nrated, 1, err)) goto done;
        /* candidates: no rating in the split's training part */
        for (size_t k = 0; k < ds->n_train + ds->n_val; k++) {
            const Rating *x = k < ds->n_train ? &ds->train[k]
                                              : &ds->val[k - ds->n_train];
            if (x->user >= u0 && x->user < u0 + n)
                seen[(size_t)(x->user - u0) * I + (size_t)x->item] = 1;
        }
        for (int j = 0; j < n; j++)
            for (int i = 0; i < I; i++)
                if (!seen[(size_t)j * I + i])
                    topn_push(&l, u0 + j, i, score[(size_t)j * I + i]);
    }
    topn_lists_sort(&l);
    ret = topn_metrics(&l, ds->test, ds->n_test, b->relevant_min, m, err);
done:
    topn_lists_free(&l);
    mem_free(us);
    mem_free(nrated);
    mem_free(score);
    mem_free(seen);
    predict_close(&p);
    return ret;
}

/* The blend of split into run id of database rdb: members, weights fitted
 * on validation, the RMSEs, the ranking.  Returns 0 with *st (why for
 * other than finished), or -1 with err (the database failed). */
static int ens_point(EnsCtx *c, Db *rdb, int split, int64_t id,
                     RunStatus *st, char *why, char *err) {
    const EnsembleSpec *s = c->s;
    const int K = s->n;
    Config base = s->base;
    Dataset ds;
    DbMemberPreds preds[ENS_MAX_MEMBERS];
    DbEnsembleCandidate *cands = NULL;
    const char *labels[ENS_MAX_MEMBERS];
    int nc = 0;
    float *xv = NULL, *xt = NULL, *xr = NULL, *yv = NULL, *yt = NULL;
    char pairs[24];
    int ret = -1, any_refit = 0;
    memset(&ds, 0, sizeof ds);
    memset(preds, 0, sizeof preds);
    base.split_index = split;
    *st = RUN_FAILED;
    why[0] = '\0';
    if (data_load_memo(&base, c->memo, &ds, why)) {
        ret = 0;
        goto done;
    }
    ens_pairs_key(&ds, pairs);
    cands = mem_calloc(ENS_MAX_MEMBERS * ENS_MAX_CANDIDATES, sizeof *cands);
    if (!cands) {
        err_set(why, "out of memory choosing among the members' candidates");
        ret = 0;
        goto done;
    }
    for (int m = 0; m < K; m++) {
        if (member_choose(c, m, split, &ds, pairs, &preds[m], cands, &nc,
                          &labels[m], st, why, err))
            goto done;
        if (*st != RUN_FINISHED) {
            ret = 0;
            goto done;
        }
        any_refit |= preds[m].refit != NULL;
    }
    *st = RUN_FAILED;
    const size_t nv = ds.n_val, nt = ds.n_test;
    xv = mem_alloc((nv ? nv : 1) * (size_t)K * sizeof *xv);
    xt = mem_alloc((nt ? nt : 1) * (size_t)K * sizeof *xt);
    xr = mem_alloc((nt ? nt : 1) * (size_t)K * sizeof *xr);
    yv = mem_alloc((nv ? nv : 1) * sizeof *yv);
    yt = mem_alloc((nt ? nt : 1) * sizeof *yt);
    if (!xv || !xt || !xr || !yv || !yt) {
        err_set(why, "out of memory blending %zu predictions of %d members",
                nv + nt, K);
        ret = 0;
        goto done;
    }
    for (size_t j = 0; j < nv; j++) {
        yv[j] = ds.val[j].rating;
        for (int m = 0; m < K; m++) xv[j * K + m] = preds[m].val[j];
    }
    for (size_t j = 0; j < nt; j++) {
        yt[j] = ds.test[j].rating;
        for (int m = 0; m < K; m++) {
            xt[j * K + m] = preds[m].test[j];
            xr[j * K + m] = preds[m].refit ? preds[m].refit[j]
                                           : preds[m].test[j];
        }
    }
    double w[ENS_MAX_MEMBERS];
    /* the weights see the validation predictions and ratings only */
    if (ens_fit(xv, yv, nv, K, s->weights, w, why)) {
        ret = 0;
        goto done;
    }
    double lo = 0, hi = 0;   /* the blend is clipped as the members are */
    if (base.clip.mode == CLIP_AUTO) {
        lo = ds.min_rating;
        hi = ds.max_rating;
    } else if (base.clip.mode == CLIP_RANGE) {
        lo = base.clip.lo;
        hi = base.clip.hi;
    }
    DbEnsembleResult res;
    res.val_rmse = ens_blend_rmse(xv, yv, nv, K, w, lo, hi);
    res.test_rmse = ens_blend_rmse(xt, yt, nt, K, w, lo, hi);
    res.refit_rmse = any_refit ? ens_blend_rmse(xr, yt, nt, K, w, lo, hi) : NAN;
    res.result_rmse = any_refit ? res.refit_rmse : res.test_rmse;
    DbEnsembleMember mem[ENS_MAX_MEMBERS];
    for (int m = 0; m < K; m++)
        mem[m] = (DbEnsembleMember){preds[m].run_id, w[m], labels[m]};
    if (db_ensemble_candidates_record(rdb, id, cands, nc, err) ||
        db_ensemble_record(rdb, id, mem, K, &res, err))
        goto done;
    TopnMetrics tm;
    if (base.top_k > 0) {
        if (ens_topn(c, id, &tm, why)) {
            ret = 0;
            goto done;
        }
        if (tm.users >= 0 && db_run_set_topn(rdb, id, &tm, err)) goto done;
    }
    printf("ensemble run %lld", (long long)id);
    if (c->splits > 1) printf(" (split %d/%d)", split + 1, c->splits);
    printf(": weights (%s, fitted on validation)", ens_weights_name(s->weights));
    for (int m = 0; m < K; m++) printf(" m%d %.3f", m + 1, w[m]);
    printf("; validation RMSE %.4f", res.val_rmse);
    if (!c->val_only) printf("; test RMSE %.4f", res.test_rmse);
    if (any_refit && !c->val_only)
        printf(", refit models %.4f", res.refit_rmse);
    printf("\n");
    fflush(stdout);
    *st = RUN_FINISHED;
    ret = 0;
done:
    for (int m = 0; m < K; m++) db_member_preds_free(&preds[m]);
    mem_free(cands);
    mem_free(xv);
    mem_free(xt);
    mem_free(xr);
    mem_free(yv);
    mem_free(yt);
    data_free(&ds);
    return ret;
}

/* Ends ensemble run id of rdb with st (why recorded for a failure).
 * Returns 0 or -1 with err. */
static int ens_end(Db *rdb, int64_t id, RunStatus st, const char *why,
                   char *err) {
    if (st == RUN_FAILED || st == RUN_DIVERGED)
        fprintf(stderr, "autorec: ensemble run %lld: %s\n", (long long)id, why);
    return db_run_end_msg(rdb, id, runner_status_name(st),
                          st == RUN_FINISHED || !why[0] ? NULL : why, err);
}

/* One split: the ensemble as a plain run.  Returns the exit code. */
static int ens_single(EnsCtx *c, char *err) {
    char why[ERR_MAX];
    int64_t id = -1;
    RunStatus st = RUN_FAILED;
    Heartbeat hb;
    DbRunInfo info;
    memset(&hb, 0, sizeof hb);
    char *yaml = ens_yaml(c->s, 0);
    if (!yaml) {
        fprintf(stderr, "autorec: out of memory writing the ensemble's config\n");
        return EXIT_FAILED;
    }
    ens_info(c, &c->s->base, yaml, &info);
    int rc = EXIT_FAILED;
    if (db_run_begin(c->db, &info, &id, err) ||
        heartbeat_start(&hb, c->db_path, NULL, id, DB_HEARTBEAT_SECONDS, err) ||
        ens_point(c, c->db, 0, id, &st, why, err)) {
        fprintf(stderr, "autorec: %s\n", err);
        if (id >= 0) (void)db_run_end_msg(c->db, id, "failed", err, why);
        goto done;
    }
    heartbeat_stop(&hb);
    if (ens_end(c->db, id, st, why, err)) {
        fprintf(stderr, "autorec: %s\n", err);
        goto done;
    }
    if (st == RUN_FINISHED) {
        printf("run %lld finished: ensemble of %d members, results in %s\n",
               (long long)id, c->s->n, c->db_path);
        rc = EXIT_OK;
    } else if (st == RUN_INTERRUPTED && stop_signal) {
        fprintf(stderr, "autorec: ensemble run %lld interrupted by %s (the "
                "finished members are kept: run again to resume)\n",
                (long long)id, stop_signal_name(stop_signal));
        rc = 128 + stop_signal;
    }
done:
    heartbeat_stop(&hb);
    mem_free(yaml);
    return rc;
}

typedef struct {
    EnsCtx *c;
    Config cfg;
    char *yaml;
} EnsDescribe;

/* DbDescribeFn: the ensemble run of split `point`.  Returns 0 or -1. */
static int ens_describe(void *ctx, int64_t point, DbRunInfo *info, char *err) {
    EnsDescribe *d = ctx;
    mem_free(d->yaml);
    d->cfg = d->c->s->base;
    d->cfg.split_index = (int)point;
    if (!(d->yaml = ens_yaml(d->c->s, (int)point)))
        return err_set(err, "out of memory writing the ensemble's config");
    ens_info(d->c, &d->cfg, d->yaml, info);
    return 0;
}

/* The experiment of a several-split ensemble: its id (name and 12 hex
 * digits of the hash of the base config and the section), registered with
 * one point per split.  Returns 0 or -1 with err. */
static int ens_register(EnsCtx *c, Db *wdb, char *id, size_t cap, char *err) {
    const EnsembleSpec *s = c->s;
    const int K = c->splits;
    char h[GRID_HASH_HEX], hashes[CFG_MAX_REPEATS][GRID_HASH_HEX];
    char labels[CFG_MAX_REPEATS][24];
    const char *hp[CFG_MAX_REPEATS], *lp[CFG_MAX_REPEATS];
    if (grid_config_hash(&s->base, 0, h, err)) return -1;
    uint64_t x = grid_fnv1a64(h, strlen(h), GRID_FNV_OFFSET);
    x = grid_fnv1a64(s->text, strlen(s->text), x);
    snprintf(id, cap, "%s-%012llx", s->base.name,
             (unsigned long long)(x & 0xffffffffffffULL));
    for (int i = 0; i < K; i++) {
        Config p = s->base;
        p.split_index = i;
        if (grid_config_hash(&p, 0, h, err)) return -1;
        uint64_t y = grid_fnv1a64(h, strlen(h), GRID_FNV_OFFSET);
        y = grid_fnv1a64(s->text, strlen(s->text), y);
        snprintf(hashes[i], GRID_HASH_HEX, "%016llx", (unsigned long long)y);
        snprintf(labels[i], sizeof labels[i], "index=%d", i);
        hp[i] = hashes[i];
        lp[i] = labels[i];
    }
    char *yaml = ens_yaml(s, 0);
    if (!yaml) return err_set(err, "out of memory writing the ensemble's config");
    DbExperiment e = {id, s->base.name, GRID_SPLIT_KEY, yaml, K, hp, lp};
    int rc = db_experiment_register(wdb, &e, err);
    mem_free(yaml);
    return rc;
}

/* Several splits: the experiment's points claimed one by one (a rerun
 * resumes), each an ensemble run, then the split summary.  Returns the
 * exit code. */
static int ens_splits(EnsCtx *c, char *err) {
    Db *wdb = NULL;
    Heartbeat hb;
    EnsDescribe d;
    char exp[GRID_EXPERIMENT_MAX + 16], worker[512], why[ERR_MAX];
    int rc = EXIT_FAILED, failed = 0;
    memset(&hb, 0, sizeof hb);
    memset(&d, 0, sizeof d);
    d.c = c;
    grid_worker_id(worker, sizeof worker, getpid(), 0x65);
    if (db_open(&wdb, c->db_path, err) || db_set_worker(wdb, worker, err) ||
        ens_register(c, wdb, exp, sizeof exp, err) ||
        heartbeat_start(&hb, c->db_path, worker, 0, DB_HEARTBEAT_SECONDS, err)) {
        fprintf(stderr, "autorec: %s\n", err);
        goto done;
    }
    printf("ensemble %s: %d members x %d splits, results in %s\n", exp,
           c->s->n, c->splits, c->db_path);
    DbClaimReq req = {exp, DB_STALE_SECONDS, db_unix_now(), 0, 0};
    while (!stop_signal) {
        DbClaim claim;
        int got = db_grid_claim(wdb, &req, ens_describe, &d, &claim, err);
        if (got < 0) {
            fprintf(stderr, "autorec: %s\n", err);
            goto done;
        }
        if (got == DB_CLAIM_DONE) break;
        if (got == DB_CLAIM_WAIT) {   /* another process runs a split */
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
            continue;
        }
        RunStatus st;
        if (!c->quiet) {
            printf("split %lld/%d: ensemble run %lld\n",
                   (long long)claim.point + 1, c->splits,
                   (long long)claim.run_id);
            fflush(stdout);
        }
        if (ens_point(c, wdb, (int)claim.point, claim.run_id, &st, why, err) ||
            ens_end(wdb, claim.run_id, st, why, err) ||
            (st == RUN_FINISHED &&
             db_split_summary_update(wdb, exp, 0, c->splits, "", err))) {
            fprintf(stderr, "autorec: %s\n", err);
            (void)db_run_end_msg(wdb, claim.run_id, "failed", err, why);
            goto done;
        }
        failed += st == RUN_FAILED || st == RUN_DIVERGED;
    }
    heartbeat_stop(&hb);
    sqlite3 *h = NULL;
    if (c->val_only)
        printf("split summary with the test figures: autorec summary --db %s "
               "--experiment %s\n", c->db_path, exp);
    else if (db_open_query(&h, c->db_path, err) == 0) {
        printf("split summary (result RMSE: the blend of the refit models "
               "when the members refit, else of the selected ones):\n");
        if (query_summary_print(h, exp, QFMT_TABLE, stdout, err) < 0)
            fprintf(stderr, "autorec: %s\n", err);
        sqlite3_close(h);
    }
    if (stop_signal) {
        fprintf(stderr, "autorec: ensemble %s interrupted by %s: run the same "
                "command again to resume\n", exp, stop_signal_name(stop_signal));
        rc = 128 + stop_signal;
    } else {
        rc = failed ? EXIT_FAILED : EXIT_OK;
    }
done:
    heartbeat_stop(&hb);
    db_close(wdb);
    mem_free(d.yaml);
    return rc;
}

int ens_run_main(const char *config_path, const char *db_path,
                 const char *const *sets, int n_sets, int quiet,
                 int val_only) {
    EnsembleSpec *s = mem_calloc(1, sizeof *s);
    EnsCtx c;
    char err[ERR_MAX];
    Dataset ds;
    int rc = EXIT_USAGE;
    memset(&c, 0, sizeof c);
    memset(&ds, 0, sizeof ds);
    if (!s) {
        fprintf(stderr, "autorec: out of memory reading %s\n", config_path);
        return EXIT_FAILED;
    }
    if (ens_load(s, config_path, sets, n_sets, err) ||
        data_check_folds(&s->base, err) || data_load(&s->base, &ds, err)) {
        /* config and data errors before the database is touched */
        fprintf(stderr, "autorec: %s\n", err);
        goto out;
    }
    data_free(&ds);
    c.s = s;
    c.db_path = db_path;
    c.quiet = quiet;
    c.val_only = val_only;
    c.splits = cfg_split_count(&s->base);
    if (gethostname(c.host, sizeof c.host - 1) != 0) strcpy(c.host, "unknown");
    rc = EXIT_FAILED;
    cli_signals(CLI_SIGNALS_STOP);
    c.memo = data_memo_new();
    if (db_open(&c.db, db_path, err)) {
        fprintf(stderr, "autorec: %s\n", err);
        goto out;
    }
    db_report_created(c.db, "run");
    if (!quiet) {
        printf("ensemble '%s': %d members, weights %s", s->base.name, s->n,
               ens_weights_name(s->weights));
        for (int m = 0; m < s->n; m++) printf("%s%s", m ? ", " : ": ",
                                              s->label[m]);
        printf("\n");
        fflush(stdout);
    }
    rc = c.splits > 1 ? ens_splits(&c, err) : ens_single(&c, err);
out:
    db_close(c.db);
    data_memo_free(c.memo);
    ens_spec_free(s);
    mem_free(s);
    return rc;
}
