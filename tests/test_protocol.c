/* test_protocol.c - the paper's protocol: weights-only L2, AdamW, clipping,
 * cold defaults, validation split, learning-rate schedules, early stopping,
 * model selection on the validation split only, selected checkpoints. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "checkpoint.h"
#include "csr.h"
#include "data.h"
#include "db.h"
#include "err.h"
#include "mem.h"
#include "model.h"
#include "recommend.h"
#include "runner.h"
#include "test.h"
#include "train.h"

/* A new temporary directory (static buffer), or NULL. */
static const char *pt_dir(void) {
    static char dir[256];
    snprintf(dir, sizeof dir, "/tmp/autorec-protocol-XXXXXX");
    return mkdtemp(dir);
}

/* Writes dir/u.data: users x items, about 2/3 observed, ratings 1..5, with
 * the last user and item never rated (cold).  Returns 0 or -1. */
static int pt_ratings(const char *dir, int users, int items) {
    char path[512];
    snprintf(path, sizeof path, "%s/u.data", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    uint64_t s = 777;
    for (int u = 1; u <= users; u++)
        for (int i = 1; i <= items; i++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            if ((s >> 33) % 3 == 0) continue;
            fprintf(f, "%d\t%d\t%d\t%d\n", u, i,
                    (int)(1 + (u + i + (int)((s >> 40) % 2)) % 5), 880000000 + u);
        }
    return fclose(f) == 0 ? 0 : -1;
}

static void pt_cfg(Config *c, const char *dir, int epochs) {
    cfg_defaults(c);
    snprintf(c->name, sizeof c->name, "protocol");
    snprintf(c->data_path, sizeof c->data_path, "%s", dir);
    c->hidden = 8;
    c->batch_size = 8;
    c->epochs = epochs;
    c->lr = 0.01;
    c->threads = 2;
    c->seed = 3;
}

/* pt_cfg with the paper's protocol: a 15% validation split, l2, clipping
 * and cold default, lr 0.03. */
static void pt_protocol_cfg(Config *c, const char *dir, int epochs) {
    pt_cfg(c, dir, epochs);
    c->validation_ratio = 0.15;
    c->l2 = 0.01;
    c->clip.mode = CLIP_AUTO;
    c->cold_default = 3;
    c->lr = 0.03;
}

static int64_t pt_int(const char *db, const char *sql) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = INT64_MIN;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* Removes what a whole-run test left in dir (its checkpoints must be
 * unlinked already), and dir. */
static void pt_remove(const char *dir) {
    char p[512];
    snprintf(p, sizeof p, "%s/checkpoints/r.db", dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/checkpoints", dir);
    rmdir(p);
    const char *files[] = {"u.data", "r.db", "r.db-wal", "r.db-shm", NULL};
    for (int i = 0; files[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* ---------------------------------------------------------------- cfg -- */

static void test_cfg_protocol_keys(void) {
    Config c, back;
    char err[ERR_MAX];
    cfg_defaults(&c);
    CHECK(c.l2 == 0 && c.optimizer == OPTIM_ADAM && c.schedule == SCHED_NONE &&
          c.patience == 0 && c.clip.mode == CLIP_NONE && c.cold_default == 0 &&
          c.validation_ratio == 0 && cfg_split_seed(&c) == c.seed);
    const char *yaml =
        "data:\n  split: {validation_ratio: 0.1, seed: 9}\n"
        "train: {l2: 0.002, optimizer: adamw, schedule: step, step_epochs: 3,\n"
        "        gamma: 0.5, patience: 4}\n"
        "eval:\n  clip: [1, 5]\n  cold_default: 3\n";
    CHECK_MSG(cfg_load_string(&c, yaml, "p.yaml", err) == 0, "%s", err);
    CHECK(c.validation_ratio == 0.1 && cfg_split_seed(&c) == 9);
    CHECK(c.l2 == 0.002 && c.optimizer == OPTIM_ADAMW && c.schedule == SCHED_STEP);
    CHECK(c.step_epochs == 3 && c.gamma == 0.5 && c.patience == 4);
    CHECK(c.clip.mode == CLIP_RANGE && c.clip.lo == 1 && c.clip.hi == 5);
    CHECK(c.cold_default == 3);
    CHECK_MSG(cfg_validate(&c, err) == 0, "%s", err);
    /* the resolved YAML reads back to the same values */
    char *text = cfg_to_yaml(&c);
    CHECK(text && strstr(text, "clip: [1, 5]") && strstr(text, "seed: 9"));
    cfg_defaults(&back);
    CHECK_MSG(text && cfg_load_string(&back, text, "resolved", err) == 0, "%s", err);
    CHECK(memcmp(&back.clip, &c.clip, sizeof c.clip) == 0 &&
          back.cold_default == 3 && cfg_split_seed(&back) == 9 &&
          back.optimizer == OPTIM_ADAMW && back.l2 == c.l2);
    mem_free(text);
    /* defaults print as none and read back unset */
    cfg_defaults(&c);
    text = cfg_to_yaml(&c);
    CHECK(text && strstr(text, "clip: none") && strstr(text, "cold_default: none"));
    cfg_defaults(&back);
    back.seed = 11;
    CHECK(text && cfg_load_string(&back, text, "defaults", err) == 0);
    CHECK(back.split_seed == 0 && back.cold_default == 0);
    mem_free(text);
    /* --set, auto and none */
    CHECK_MSG(cfg_set_override(&c, "eval.clip=[0.5,4.5]", err) == 0, "%s", err);
    CHECK(c.clip.mode == CLIP_RANGE && c.clip.lo == 0.5 && c.clip.hi == 4.5);
    CHECK(cfg_set_override(&c, "eval.clip=auto", err) == 0 && c.clip.mode == CLIP_AUTO);
    CHECK(cfg_set_override(&c, "eval.clip=none", err) == 0 && c.clip.mode == CLIP_NONE);
    CHECK(cfg_set_override(&c, "data.split.seed=none", err) == 0 && c.split_seed == 0);
    CHECK(cfg_set_override(&c, "eval.clip=[5,1]", err) == -1 && strstr(err, "lo must be below hi"));
    CHECK(cfg_set_override(&c, "eval.clip=[1,2,3]", err) == -1);
    CHECK(cfg_set_override(&c, "eval.cold_default=0", err) == -1);
    CHECK(cfg_set_override(&c, "train.optimizer=sgd", err) == -1);
    CHECK(cfg_set_override(&c, "data.split.validation_ratio=1", err) == -1);
    /* list errors name file:line:column */
    cfg_defaults(&c);
    CHECK(cfg_load_string(&c, "eval:\n  clip: [1, x]\n", "a.yaml", err) == -1);
    CHECK_MSG(strstr(err, "a.yaml:2:13: eval.clip: list item \"x\"") == err, "%s", err);
    CHECK(cfg_load_string(&c, "eval:\n  clip: [1]\n", "b.yaml", err) == -1);
    CHECK_MSG(strstr(err, "b.yaml:2:9: eval.clip: the list has 1 item") == err, "%s", err);
    CHECK(cfg_load_string(&c, "eval:\n  clip: [1, 2, 3]\n", "c.yaml", err) == -1);
    CHECK_MSG(strstr(err, "c.yaml:2:16:") == err, "%s", err);
    CHECK(cfg_load_string(&c, "eval:\n  clip: {a: 1}\n", "d.yaml", err) == -1);
    CHECK_MSG(strstr(err, "d.yaml:2:9:") == err, "%s", err);
    CHECK(cfg_load_string(&c, "train:\n  l2: [1, 2]\n", "e.yaml", err) == -1);
    /* a grid may list clip ranges */
    Grid g;
    memset(&g, 0, sizeof g);
    cfg_defaults(&c);
    CHECK_MSG(cfg_load_string_grid(&c, &g, "grid:\n  eval.clip: [none, auto, [1, 5]]\n",
                                   "g.yaml", err) == 0, "%s", err);
    CHECK(cfg_grid_size(&g) == 3);
    Config pt;
    CHECK(cfg_grid_point(&c, &g, 2, &pt, err) == 0 && pt.clip.mode == CLIP_RANGE &&
          pt.clip.hi == 5);
    cfg_grid_free(&g);
    /* patience needs a validation split */
    cfg_defaults(&c);
    c.patience = 3;
    CHECK(cfg_validate(&c, err) == -1 && strstr(err, "validation_ratio"));
    c.validation_ratio = 0.1;
    CHECK(cfg_validate(&c, err) == 0);
}

/* -------------------------------------------------------------- model -- */

/* L2 penalises the weight matrices only: with zero data gradients and no
 * weight decay, one step moves every weight against its sign and leaves
 * every bias exactly where it was; the vectorised step equals the naive
 * reference, also for AdamW. */
static void test_l2_spares_biases_and_adamw(void) {
    char err[ERR_MAX];
    Model a, b;
    CHECK(model_create(&a, 7, 5, 1u << 26, err) == 0);
    CHECK(model_create(&b, 7, 5, 1u << 26, err) == 0);
    for (int tr = 0; tr < 2; tr++) {
        a.enc_transposed = b.enc_transposed = tr;
        model_init(&a, 4);
        model_init(&b, 4);
        float *before = malloc(a.num_params * sizeof(float));
        memcpy(before, a.params.w[0], a.num_params * sizeof(float));
        AdamOptions o = {0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0.5f, 0};
        model_adam_step(&a, &o);
        const size_t uh = 7 * 5;
        for (size_t i = 0; i < a.num_params; i++) {
            int weight = i < uh || (i >= uh + 5 && i < 2 * uh + 5);
            float p0 = before[i], p1 = a.params.w[0][i];
            if (weight) CHECK(p0 == 0 || (p1 - p0) * p0 < 0);
            else CHECK(p1 == p0);
        }
        /* equals the naive reference, with data gradients, coupled and
         * decoupled decay */
        for (int dec = 0; dec < 2; dec++) {
            model_init(&a, 6);
            model_init(&b, 6);
            for (size_t i = 0; i < a.num_params; i++)
                a.grads.w[0][i] = b.grads.w[0][i] = (float)((int)(i % 7) - 3) * 0.1f;
            AdamOptions w = {0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.05f, dec};
            model_adam_step(&a, &w);
            model_adam_step_naive(&b, &w);
            for (size_t i = 0; i < a.num_params; i++)
                CHECK_CLOSE(a.params.w[0][i], b.params.w[0][i], 1e-5, 1e-7);
        }
        free(before);
    }
    /* model_weight_sq: weights only */
    model_init(&a, 1);
    double sq = 0;
    for (size_t i = 0; i < 7 * 5; i++)
        sq += (double)a.params.w[0][i] * a.params.w[0][i] +
              (double)a.params.w[1][i] * a.params.w[1][i];
    CHECK_CLOSE(model_weight_sq(&a), sq, 1e-12, 0);
    model_free(&a);
    model_free(&b);
}

/* --------------------------------------------------------- evaluation -- */

/* Clipping and cold defaults, checked against the dense reconstruction
 * with both kernels. */
static void test_clip_and_cold_default(void) {
    enum { I = 6, U = 5 };
    char err[ERR_MAX];
    /* item 5 and user 4 have no training rating */
    float train[I * U] = {0}, eval[I * U] = {0};
    for (int i = 0; i < I - 1; i++)
        for (int u = 0; u < U - 1; u++)
            if ((i + u) % 2 == 0) train[i * U + u] = (float)(1 + (i * 3 + u) % 5);
    for (int i = 0; i < I; i++)
        for (int u = 0; u < U; u++)
            if (train[i * U + u] == 0 && (i + u) % 3 != 1) eval[i * U + u] = 5.0f;
    Csr tr, ev;
    CHECK(csr_from_dense(&tr, train, I, U, err) == 0);
    CHECK(csr_from_dense(&ev, eval, I, U, err) == 0);
    for (int k = 0; k < 2; k++) {
        TrainOptions opt = {4, 0.0f, 2, 0.01f, 0.0f, 2, k ? NULL : &kernels_dense,
                            1u << 28};
        Trainer t;
        CHECK_MSG(trainer_create(&t, &opt, &tr, &ev, err) == 0, "%s", err);
        /* large decoder bias: raw predictions far above 5 for some users */
        for (int u = 0; u < U; u++) t.model.params.b[1][u] = u % 2 ? 9.0f : -2.0f;
        float recon[I * U];
        trainer_reconstruct(&t, recon);
        EvalMetrics raw, m;
        trainer_evaluate(&t, &ev, &raw);
        t.proto.clip = 1;
        t.proto.clip_lo = 1;
        t.proto.clip_hi = 5;
        t.proto.cold = 1;
        t.proto.cold_value = 3;
        trainer_evaluate(&t, &ev, &m);
        double s_raw = 0, s = 0, a = 0;
        int64_t cold = 0;
        for (int i = 0; i < I; i++)
            for (int u = 0; u < U; u++) {
                if (eval[i * U + u] == 0) continue;
                double y = recon[i * U + u], d0 = eval[i * U + u] - y;
                s_raw += d0 * d0;
                if (i == I - 1 || u == U - 1) { y = 3; cold++; }
                else y = y < 1 ? 1 : y > 5 ? 5 : y;
                double d = eval[i * U + u] - y;
                s += d * d;
                a += fabs(d);
            }
        CHECK(cold > 0 && m.n_cold == cold && raw.n_cold == 0);
        CHECK_CLOSE(raw.rmse, sqrt(s_raw / ev.nnz), 1e-5, 0);
        CHECK_CLOSE(m.rmse, sqrt(s / ev.nnz), 1e-5, 0);
        CHECK_CLOSE(m.mae, a / ev.nnz, 1e-5, 0);
        CHECK(m.rmse < raw.rmse);
        trainer_free(&t);
    }
    csr_free(&tr);
    csr_free(&ev);
}

/* ------------------------------------------------------------- data --- */

static int same_pairs(const Rating *a, size_t na, const Rating *b, size_t nb) {
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].user != b[i].user || a[i].item != b[i].item) return 0;
    return 1;
}

/* The validation split is carved from the training ratings: test unchanged,
 * train + validation = the old train, deterministic, and driven by
 * data.split.seed when given, else train.seed. */
static void test_validation_split(void) {
    const char *dir = pt_dir();
    char err[ERR_MAX];
    CHECK(dir && pt_ratings(dir, 30, 40) == 0);
    if (!dir) return;
    Config c;
    Dataset base, v1, v2, v3, v4;
    pt_cfg(&c, dir, 1);
    CHECK_MSG(data_load(&c, &base, err) == 0, "%s", err);
    CHECK(base.n_val == 0 && base.val == NULL);
    c.validation_ratio = 0.1;
    CHECK_MSG(data_load(&c, &v1, err) == 0, "%s", err);
    CHECK_MSG(data_load(&c, &v2, err) == 0, "%s", err);
    CHECK(same_pairs(v1.test, v1.n_test, base.test, base.n_test));
    CHECK(v1.n_train + v1.n_val == base.n_train);
    CHECK(v1.n_val > base.n_train / 20 && v1.n_val < base.n_train / 5);
    CHECK(same_pairs(v1.val, v1.n_val, v2.val, v2.n_val));
    /* disjoint: every validation pair is a training pair of base, not of v1 */
    size_t found = 0;
    for (size_t k = 0; k < v1.n_val; k++)
        for (size_t j = 0; j < base.n_train; j++)
            if (base.train[j].user == v1.val[k].user &&
                base.train[j].item == v1.val[k].item) { found++; break; }
    CHECK(found == v1.n_val);
    /* data.split.seed decouples the splits from train.seed */
    c.split_seed = 3 + 1;   /* data.split.seed: 3 == train.seed */
    CHECK(data_load(&c, &v3, err) == 0);
    CHECK(same_pairs(v3.val, v3.n_val, v1.val, v1.n_val));
    c.seed = 4;   /* the model seed moves, the splits do not */
    data_free(&v3);
    CHECK(data_load(&c, &v3, err) == 0);
    CHECK(same_pairs(v3.val, v3.n_val, v1.val, v1.n_val));
    CHECK(same_pairs(v3.test, v3.n_test, v1.test, v1.n_test));
    c.split_seed = 0;   /* none: train.seed 4 gives other splits */
    CHECK(data_load(&c, &v4, err) == 0);
    CHECK(!same_pairs(v4.test, v4.n_test, v1.test, v1.n_test));
    data_free(&base);
    data_free(&v1);
    data_free(&v2);
    data_free(&v3);
    data_free(&v4);
    char p[512];
    snprintf(p, sizeof p, "%s/u.data", dir);
    unlink(p);
    rmdir(dir);
}

/* ----------------------------------------------------------- schedule -- */

static void test_lr_schedules(void) {
    Config c;
    cfg_defaults(&c);
    c.lr = 0.01;
    c.epochs = 10;
    CHECK(runner_lr_at(&c, 1) == 0.01 && runner_lr_at(&c, 10) == 0.01);
    c.schedule = SCHED_STEP;
    c.step_epochs = 3;
    c.gamma = 0.5;
    CHECK_CLOSE(runner_lr_at(&c, 1), 0.01, 1e-15, 0);
    CHECK_CLOSE(runner_lr_at(&c, 3), 0.01, 1e-15, 0);
    CHECK_CLOSE(runner_lr_at(&c, 4), 0.005, 1e-15, 0);
    CHECK_CLOSE(runner_lr_at(&c, 7), 0.0025, 1e-15, 0);
    c.schedule = SCHED_COSINE;
    c.lr_min = 0.001;
    CHECK_CLOSE(runner_lr_at(&c, 1), 0.01, 1e-15, 0);
    CHECK_CLOSE(runner_lr_at(&c, 6), 0.0055, 1e-12, 0);   /* half way */
    CHECK(runner_lr_at(&c, 10) > 0.001 && runner_lr_at(&c, 10) < 0.0015);
}

/* ------------------------------------------------------ whole runs ---- */

typedef struct {
    Runner *r;
    int poison;   /* 1: overwrite the test ratings with 1e6 after epoch 1 */
} Hook;

static void poison_test(void *ctx, const DbEpoch *e, int epochs) {
    Hook *h = ctx;
    (void)epochs;
    if (h->poison && e->epoch == 1)
        for (int64_t k = 0; k < h->r->test.nnz; k++) h->r->test.val[k] = 1e6f;
}

/* One run of cfg into dbpath; fills *out and returns the status. */
static RunStatus pt_run(const Config *cfg, const char *dbpath, int poison,
                        RunOutcome *out, int64_t *run_id) {
    char err[ERR_MAX] = "";
    Runner r;
    Db *db = NULL;
    RunStatus st = RUN_FAILED;
    if (runner_prepare(&r, cfg, err) || db_open(&db, dbpath, err)) {
        CHECK_MSG(0, "%s", err);
        goto done;
    }
    DbRunInfo info;
    runner_info(&r, &info);
    CHECK(db_run_begin(db, &info, run_id, err) == 0);
    Hook h = {&r, poison};
    RunHooks hooks = {poison_test, &h, NULL, NULL, NULL};
    st = runner_train(&r, db, *run_id, &hooks, out, err);
    CHECK_MSG(st == RUN_FINISHED, "%s", err);
    CHECK(db_run_end(db, *run_id, runner_status_name(st), err) == 0);
done:
    db_close(db);
    runner_free(&r);
    return st;
}

/* Model selection reads only the validation split: poisoning every test
 * rating after epoch 1 changes the recorded test RMSE but not the selected
 * epoch or its validation RMSE.  Selected columns, per-epoch metrics, the
 * checkpoint (round trip: it reproduces the selected validation RMSE) and
 * early stopping are recorded. */
static void test_selection_never_reads_test(void) {
    const char *dir = pt_dir();
    char err[ERR_MAX], dbpath[512], sql[512];
    CHECK(dir && pt_ratings(dir, 40, 60) == 0);
    if (!dir) return;
    snprintf(dbpath, sizeof dbpath, "%s/r.db", dir);
    const char *kernels[] = {"dense", "sparse"};
    for (int k = 0; k < 2; k++) {
        Config c;
        pt_protocol_cfg(&c, dir, 30);
        CHECK(cfg_set_key(&c, "train.kernel", kernels[k], NULL, err) == 0);
        RunOutcome a, b;
        int64_t ra = 0, rb = 0;
        pt_run(&c, dbpath, 0, &a, &ra);
        pt_run(&c, dbpath, 1, &b, &rb);
        CHECK(a.selected_epoch >= 1 && a.selected_epoch == b.selected_epoch);
        CHECK(a.selected_val_rmse == b.selected_val_rmse);
        CHECK(b.selected_test_rmse > 1000 || b.selected_epoch == 1);
        CHECK(a.epochs_done == b.epochs_done);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE id = %lld AND "
                 "selected_epoch = %d AND selected_val_rmse IS NOT NULL AND "
                 "abs(selected_test_rmse - %.17g) < 1e-12 AND checkpoint LIKE "
                 "'%%/checkpoints/%%/%lld.ckpt'", (long long)ra, a.selected_epoch,
                 a.selected_test_rmse, (long long)ra);
        CHECK(pt_int(dbpath, sql) == 1);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM epochs WHERE run_id = "
                 "%lld AND val_rmse > 0 AND val_mae > 0 AND test_mae > 0",
                 (long long)ra);
        CHECK(pt_int(dbpath, sql) == a.epochs_done);
        /* the checkpoint holds the selected epoch's parameters */
        Model m;
        int ep = 0;
        CHECK_MSG(ckpt_load(&m, k == 1, &ep, a.checkpoint, err) == 0, "%s", err);
        CHECK(ep == a.selected_epoch);
        Runner r;
        CHECK(runner_prepare(&r, &c, err) == 0);
        float *flat = malloc(m.num_params * sizeof(float));
        model_export(&m, &m.params, flat);
        model_import(&r.trainer.model, &r.trainer.model.params, flat);
        EvalMetrics v;
        trainer_evaluate(&r.trainer, &r.val, &v);
        CHECK_CLOSE(v.rmse, a.selected_val_rmse, 1e-12, 0);
        free(flat);
        model_free(&m);
        runner_free(&r);
        unlink(a.checkpoint);
        unlink(b.checkpoint);
        /* early stopping: patience 1 stops before 30 epochs, finished */
        c.patience = 1;
        RunOutcome e;
        int64_t re = 0;
        CHECK(pt_run(&c, dbpath, 0, &e, &re) == RUN_FINISHED);
        CHECK(e.stopped_early && e.epochs_done < 30);
        CHECK(e.epochs_done == e.selected_epoch + 1);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE id = %lld AND "
                 "status = 'finished' AND epochs_done = %d", (long long)re,
                 e.epochs_done);
        CHECK(pt_int(dbpath, sql) == 1);
        unlink(e.checkpoint);
    }
    /* without validation: the last epoch, its checkpoint written at the end */
    Config c;
    pt_cfg(&c, dir, 4);
    RunOutcome n;
    int64_t rn = 0;
    pt_run(&c, dbpath, 0, &n, &rn);
    CHECK(n.selected_epoch == 4 && n.selected_test_rmse == n.final_rmse);
    CHECK(isnan(n.selected_val_rmse) && access(n.checkpoint, R_OK) == 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM run_summary WHERE id = %lld "
             "AND selected_epoch = 4 AND selected_val_rmse IS NULL AND "
             "checkpoint IS NOT NULL", (long long)rn);
    CHECK(pt_int(dbpath, sql) == 1);
    unlink(n.checkpoint);
    pt_remove(dir);
}

/* The checkpoint of refit run ra (outcome a), rebuilt from the database
 * alone: the refit model on train + validation, of a's refit epochs, that
 * reproduces its test RMSE. */
static void check_refit_checkpoint(const char *dbpath, int64_t ra,
                                   const RunOutcome *a) {
    char err[ERR_MAX];
    Runner r;
    int ep = 0;
    CHECK_MSG(recommend_load(&r, dbpath, ra, &ep, err) == 0, "%s", err);
    CHECK(ep == a->refit_epochs);
    CHECK(r.trainer.train == &r.refit_train &&
          r.refit_train.nnz == r.train.nnz + r.val.nnz);
    EvalMetrics te;
    trainer_evaluate(&r.trainer, &r.test, &te);
    CHECK_CLOSE(te.rmse, a->refit_test_rmse, 1e-12, 0);
    runner_free(&r);
}

/* train.ema: every epoch records the moving average's validation and test
 * RMSE beside the raw weights'; the selection takes the lower validation
 * RMSE of the two (the run's selected_weights says which), reading the
 * validation split only: with the test ratings poisoned after epoch 1 the
 * selected epoch, its validation RMSE and the chosen weights do not move,
 * nor does the refit's length.  The refit averages its own weights, and
 * its checkpoint holds the weights the selection chose (it reproduces the
 * refit's test RMSE).  Returns how many of the runs chose the average. */
static int ema_runs(const char *dir, const char *dbpath, int k, double lr) {
    static const char *kernels[] = {"dense", "sparse"};
    char err[ERR_MAX], sql[640];
    Config c;
    pt_protocol_cfg(&c, dir, 30);
    c.ema = 0.8;
    c.lr = lr;
    c.dropout = 0.3;
    c.refit = 1;
    CHECK(cfg_set_key(&c, "train.kernel", kernels[k], NULL, err) == 0);
    RunOutcome a, b;
    int64_t ra = 0, rb = 0;
    CHECK(pt_run(&c, dbpath, 0, &a, &ra) == RUN_FINISHED);
    CHECK(pt_run(&c, dbpath, 1, &b, &rb) == RUN_FINISHED);
    CHECK(a.selected_epoch >= 1 && a.selected_epoch == b.selected_epoch);
    CHECK(a.selected_val_rmse == b.selected_val_rmse);
    CHECK(a.selected_ema == b.selected_ema);
    CHECK(a.refit_epochs == b.refit_epochs && b.refit_test_rmse > 1000);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM epochs WHERE run_id = %lld "
             "AND ema_val_rmse > 0 AND ema_test_rmse > 0 AND val_rmse > 0",
             (long long)ra);
    CHECK(pt_int(dbpath, sql) == a.epochs_done);
    /* the selected RMSE is the lowest of both columns over the epochs */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE id = %lld AND "
             "selected_weights = '%s' AND selected_val_rmse = (SELECT "
             "min(min(val_rmse, ema_val_rmse)) FROM epochs WHERE run_id = "
             "%lld) AND selected_test_rmse = (SELECT CASE WHEN "
             "ema_val_rmse < val_rmse THEN ema_test_rmse ELSE test_rmse END "
             "FROM epochs WHERE run_id = %lld AND epoch = %d)", (long long)ra,
             a.selected_ema ? "ema" : "raw", (long long)ra, (long long)ra,
             a.selected_epoch);
    CHECK_MSG(pt_int(dbpath, sql) == 1, "kernel %s", kernels[k]);
    check_refit_checkpoint(dbpath, ra, &a);
    unlink(a.checkpoint);
    unlink(b.checkpoint);
    return a.selected_ema;
}

static void test_ema_selection_never_reads_test(void) {
    const char *dir = pt_dir();
    char dbpath[512];
    CHECK(dir && pt_ratings(dir, 40, 60) == 0);
    if (!dir) return;
    snprintf(dbpath, sizeof dbpath, "%s/r.db", dir);
    int chose_ema = 0, chose_raw = 0;
    for (int k = 0; k < 2; k++) {
        const double lrs[2] = {0.003, 0.3};   /* smooth, and noisy steps */
        for (int l = 0; l < 2; l++) {
            int e = ema_runs(dir, dbpath, k, lrs[l]);
            chose_ema += e;
            chose_raw += !e;
        }
    }
    /* both outcomes occur, so both paths were checked */
    CHECK_MSG(chose_ema > 0 && chose_raw > 0, "average chosen %d times, raw "
              "weights %d times", chose_ema, chose_raw);
    pt_remove(dir);
}

/* train.refit: after the selection run, a fresh model trained on train +
 * validation for the selected number of epochs.  It is exactly the run
 * without a validation split stopped at that epoch (same seed, schedule and
 * test split); its epoch count does not depend on the test ratings
 * (poisoned after epoch 1: same count); its epochs and result are recorded;
 * its checkpoint is the refit model, which recommend_load rebuilds on train
 * + validation; refit without a validation split is refused. */
static void test_refit(void) {
    const char *dir = pt_dir();
    char err[ERR_MAX], dbpath[512], sql[512];
    CHECK(dir && pt_ratings(dir, 40, 60) == 0);
    if (!dir) return;
    snprintf(dbpath, sizeof dbpath, "%s/r.db", dir);
    const char *kernels[] = {"dense", "sparse"};
    for (int k = 0; k < 2; k++) {
        Config c;
        pt_protocol_cfg(&c, dir, 20);
        c.dropout = 0.2;
        c.schedule = SCHED_COSINE;
        c.refit = 1;
        CHECK(cfg_set_key(&c, "train.kernel", kernels[k], NULL, err) == 0);
        RunOutcome a, b, n;
        int64_t ra = 0, rb = 0, rn = 0;
        CHECK(pt_run(&c, dbpath, 0, &a, &ra) == RUN_FINISHED);
        CHECK(a.selected_epoch >= 1 && a.refit_epochs == a.selected_epoch);
        CHECK(isfinite(a.refit_test_rmse) && isfinite(a.refit_test_mae));
        CHECK(pt_run(&c, dbpath, 1, &b, &rb) == RUN_FINISHED);
        CHECK(b.refit_epochs == a.refit_epochs);
        CHECK(b.refit_test_rmse > 1000);   /* recorded, never used */
        /* the same training without a validation split, 20 epochs */
        Config plain = c;
        plain.validation_ratio = 0;
        plain.refit = 0;
        CHECK(pt_run(&plain, dbpath, 0, &n, &rn) == RUN_FINISHED);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM epochs e, runs r WHERE "
                 "e.run_id = %lld AND e.epoch = %d AND r.id = %lld AND "
                 "e.test_rmse = r.refit_test_rmse AND r.refit_epochs = %d AND "
                 "r.refit = 1", (long long)rn, a.refit_epochs, (long long)ra,
                 a.refit_epochs);
        CHECK_MSG(pt_int(dbpath, sql) == 1, "kernel %s: the refit differs from "
                  "training on train + validation", kernels[k]);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM refit_epochs WHERE "
                 "run_id = %lld AND test_rmse > 0 AND test_mae > 0 AND "
                 "train_loss > 0", (long long)ra);
        CHECK(pt_int(dbpath, sql) == a.refit_epochs);
        /* the checkpoint is the refit model, on train + validation */
        check_refit_checkpoint(dbpath, ra, &a);
        unlink(a.checkpoint);
        unlink(b.checkpoint);
        unlink(n.checkpoint);
    }
    Config c;
    pt_cfg(&c, dir, 4);
    c.refit = 1;
    CHECK(cfg_validate(&c, err) == -1);
    CHECK_MSG(strstr(err, "train.refit: true needs a validation split") != NULL,
              "%s", err);
    pt_remove(dir);
}

static void stop_after_refit_epoch(void *ctx, const DbEpoch *e, int epochs) {
    (void)e;
    (void)epochs;
    *(volatile sig_atomic_t *)ctx = 1;
}

/* A refit interrupted after its first epoch: status interrupted, one refit
 * epoch recorded, and the checkpoint is the selected epoch's model (not the
 * half-trained refit), which recommend_load rebuilds on the training split
 * alone: it reproduces the selected validation RMSE. */
static void test_refit_interrupted(void) {
    const char *dir = pt_dir();
    char err[ERR_MAX] = "", dbpath[512];
    CHECK(dir && pt_ratings(dir, 40, 60) == 0);
    if (!dir) return;
    snprintf(dbpath, sizeof dbpath, "%s/r.db", dir);
    Config c;
    pt_cfg(&c, dir, 8);
    c.validation_ratio = 0.15;
    c.refit = 1;
    Runner r;
    Db *db = NULL;
    int64_t id = 0;
    RunOutcome out;
    memset(&out, 0, sizeof out);
    volatile sig_atomic_t stop = 0;
    RunHooks hooks = {NULL, (void *)&stop, &stop, stop_after_refit_epoch, NULL};
    CHECK_MSG(runner_prepare(&r, &c, err) == 0 && db_open(&db, dbpath, err)
              == 0, "%s", err);
    DbRunInfo info;
    runner_info(&r, &info);
    CHECK(db && db_run_begin(db, &info, &id, err) == 0);
    RunStatus st = db ? runner_train(&r, db, id, &hooks, &out, err) : RUN_FAILED;
    CHECK_MSG(st == RUN_INTERRUPTED, "%s", err);
    CHECK(db && db_run_end(db, id, runner_status_name(st), err) == 0);
    db_close(db);
    runner_free(&r);
    CHECK(out.refit_epochs == 1 && out.selected_epoch >= 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE id = %lld AND "
             "status = 'interrupted' AND refit_epochs = 1 AND checkpoint IS "
             "NOT NULL", (long long)id);
    CHECK(pt_int(dbpath, sql) == 1);
    int ep = 0;
    CHECK_MSG(recommend_load(&r, dbpath, id, &ep, err) == 0, "%s", err);
    CHECK(ep == out.selected_epoch && r.trainer.train == &r.train);
    EvalMetrics va;
    trainer_evaluate(&r.trainer, &r.val, &va);
    CHECK_CLOSE(va.rmse, out.selected_val_rmse, 1e-12, 0);
    runner_free(&r);
    unlink(out.checkpoint);
    pt_remove(dir);
}

/* The same for model.variant glocal (GLocal-K, both stages, L-BFGS):
 * poisoning every test rating after epoch 1 changes the recorded test
 * RMSE but neither the selected epoch, its validation RMSE, where patience
 * stopped, nor the refit's epoch count; the refit's test RMSE is recorded
 * (poisoned: recorded, never used).  Every epoch has its row and the
 * stages are the epoch ranges of the config. */
static void test_glocal_selection_never_reads_test(void) {
    const char *dir = pt_dir();
    char dbpath[512], sql[512];
    CHECK(dir && pt_ratings(dir, 40, 60) == 0);
    if (!dir) return;
    snprintf(dbpath, sizeof dbpath, "%s/g.db", dir);
    Config c;
    pt_protocol_cfg(&c, dir, 14);
    c.variant = VARIANT_GLOCAL;
    c.hidden = 12;
    c.hidden_more = 1;
    c.hidden_rest[0] = 10;
    c.glocal_dim = 3;
    c.glocal_pretrain_epochs = 6;
    c.glocal_pretrain_iters = 3;
    c.glocal_finetune_iters = 3;
    c.glocal_dot_scale = 0.2;
    c.l2 = 0.5;
    c.checkpoint = 0;
    c.patience = 3;
    c.refit = 1;
    RunOutcome a, b;
    int64_t ra = 0, rb = 0;
    CHECK(pt_run(&c, dbpath, 0, &a, &ra) == RUN_FINISHED);
    CHECK(pt_run(&c, dbpath, 1, &b, &rb) == RUN_FINISHED);
    CHECK(a.selected_epoch >= 2 && a.selected_epoch == b.selected_epoch);
    CHECK(a.selected_val_rmse == b.selected_val_rmse);
    CHECK(a.epochs_done == b.epochs_done && a.stopped_early == b.stopped_early);
    CHECK(b.selected_test_rmse > 1000);
    CHECK(a.refit_epochs == a.selected_epoch && b.refit_epochs == a.refit_epochs);
    CHECK(isfinite(a.refit_test_rmse) && a.refit_test_rmse < 10);
    CHECK(b.refit_test_rmse > 1000);
    CHECK(a.checkpoint[0] == '\0');
    snprintf(sql, sizeof sql, "SELECT count(*) FROM epochs WHERE run_id = %lld "
             "AND val_rmse > 0 AND test_mae > 0 AND train_loss > 0",
             (long long)ra);
    CHECK(pt_int(dbpath, sql) == a.epochs_done);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE id = %lld AND "
             "variant = 'glocal' AND selected_epoch = %d AND checkpoint IS NULL "
             "AND refit_epochs = %d AND config_yaml LIKE '%%pretrain_epochs: 6%%'",
             (long long)ra, a.selected_epoch, a.refit_epochs);
    CHECK(pt_int(dbpath, sql) == 1);
    /* fine-tuning ran and was recorded after the pretraining epochs */
    CHECK(a.epochs_done > 6);
    /* patience counts fine-tuning epochs only */
    CHECK(!a.stopped_early || a.epochs_done >= 6 + 3);
    pt_remove(dir);
}

void suite_protocol(void) {
    RUN(test_cfg_protocol_keys);
    RUN(test_l2_spares_biases_and_adamw);
    RUN(test_clip_and_cold_default);
    RUN(test_validation_split);
    RUN(test_lr_schedules);
    RUN(test_selection_never_reads_test);
    RUN(test_refit);
    RUN(test_ema_selection_never_reads_test);
    RUN(test_refit_interrupted);
    RUN(test_glocal_selection_never_reads_test);
}
