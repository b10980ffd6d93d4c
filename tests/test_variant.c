/* test_variant.c - model.variant (U-AutoRec by transposing the data),
 * train.checkpoint, csr_transpose and trainer_predict_rows (the predictions
 * `autorec recommend` prints). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg.h"
#include "csr.h"
#include "err.h"
#include "db.h"
#include "mem.h"
#include "recommend.h"
#include "runner.h"
#include "test.h"
#include "train.h"

/* Writes dir/u1.base and dir/u1.test in ML-100K format: users x items,
 * about 60% observed, ratings 1..5; a pair goes to the test file when
 * (u + i) % 6 == 0, and every rating of user users-1 and of item items-1
 * does (cold in training).  With swap set the user and item columns are
 * exchanged (the transposed data), line order unchanged.  Returns 0 or -1. */
static int tv_ratings(const char *dir, int users, int items, int swap) {
    char pb[512], pt[512];
    snprintf(pb, sizeof pb, "%s/u1.base", dir);
    snprintf(pt, sizeof pt, "%s/u1.test", dir);
    FILE *fb = fopen(pb, "w"), *ft = fopen(pt, "w");
    int rc = fb && ft ? 0 : -1;
    uint64_t s = 4242;
    for (int u = 1; u <= users && !rc; u++)
        for (int i = 1; i <= items; i++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            if ((s >> 33) % 5 < 2) continue;
            int r = (int)(1 + (u * 2 + i + (int)((s >> 40) % 2)) % 5);
            int test = (u + i) % 6 == 0 || u == users - 1 || i == items - 1;
            fprintf(test ? ft : fb, "%d\t%d\t%d\t%d\n", swap ? i : u,
                    swap ? u : i, r, 880000000 + u);
        }
    if (fb && fclose(fb)) rc = -1;
    if (ft && fclose(ft)) rc = -1;
    return rc;
}

static void tv_cfg(Config *c, const char *path, int variant) {
    cfg_defaults(c);
    snprintf(c->name, sizeof c->name, "variant");
    snprintf(c->data_path, sizeof c->data_path, "%s", path);
    c->split_kind = SPLIT_FILES;
    snprintf(c->train_file, sizeof c->train_file, "u1.base");
    snprintf(c->test_file, sizeof c->test_file, "u1.test");
    c->hidden = 6;
    c->batch_size = 5;
    c->epochs = 4;
    c->lr = 0.01;
    c->threads = 2;
    c->seed = 5;
    c->validation_ratio = 0.1;
    c->variant = variant;
}

static int same_csr(const Csr *a, const Csr *b) {
    return a->rows == b->rows && a->cols == b->cols && a->nnz == b->nnz &&
           !memcmp(a->ptr, b->ptr, (size_t)(a->rows + 1) * sizeof *a->ptr) &&
           !memcmp(a->col, b->col, (size_t)a->nnz * sizeof *a->col) &&
           !memcmp(a->val, b->val, (size_t)a->nnz * sizeof *a->val);
}

static void test_csr_transpose(void) {
    enum { R = 7, C = 5 };
    float d[R * C] = {0}, dt[C * R];
    unsigned st = 3;
    for (int k = 0; k < R * C; k++)
        if (test_urand(&st) < 0.4f) d[k] = 1.0f + (float)(k % 5);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) dt[c * R + r] = d[r * C + c];
    char err[ERR_MAX];
    Csr m, t, want, back;
    CHECK(csr_from_dense(&m, d, R, C, err) == 0);
    CHECK(csr_from_dense(&want, dt, C, R, err) == 0);
    CHECK(csr_transpose(&t, &m, err) == 0);
    CHECK(same_csr(&t, &want));
    CHECK(csr_transpose(&back, &t, err) == 0);
    CHECK(same_csr(&back, &m));
    csr_free(&m);
    csr_free(&t);
    csr_free(&want);
    csr_free(&back);
    /* allocation failures leave nothing behind */
    Csr e;
    CHECK(csr_from_dense(&m, d, R, C, err) == 0);
    for (int n = 1; n <= 4; n++) {
        mem_fail_at(n);
        int rc = csr_transpose(&e, &m, err);
        mem_fail_at(0);
        if (rc == 0) { csr_free(&e); break; }
        CHECK(strstr(err, "out of memory") && e.ptr == NULL);
    }
    csr_free(&m);
}

/* trainer_predict_rows equals trainer_reconstruct's rows (any row list,
 * more rows than a batch), with both kernels, and applies clip and cold
 * defaults as trainer_evaluate does. */
static void test_predict_rows_equals_reconstruct(void) {
    enum { I = 23, U = 11 };
    char err[ERR_MAX];
    float train[I * U] = {0};
    unsigned st = 9;
    for (int i = 0; i < I - 1; i++)       /* item I-1 and user U-1 are cold */
        for (int u = 0; u < U - 1; u++)
            if (test_urand(&st) < 0.5f) train[i * U + u] = (float)(1 + (i + u) % 5);
    Csr tr;
    CHECK(csr_from_dense(&tr, train, I, U, err) == 0);
    for (int k = 0; k < 2; k++) {
        TrainOptions opt = {5, 0.1f, 4, 0.02f, 0.0f, 7, k ? NULL : &kernels_dense,
                            1u << 28};
        Trainer t;
        CHECK_MSG(trainer_create(&t, &opt, &tr, NULL, err) == 0, "%s", err);
        double loss;
        for (int e = 0; e < 3; e++) trainer_epoch(&t, NULL, &loss);
        for (int u = 0; u < U; u++) t.model.params.b[t.model.num_layers - 1][u] += u % 2 ? 4.0f : -3.0f;
        float recon[I * U], pred[I * U];
        trainer_reconstruct(&t, recon);
        int32_t rows[I];
        for (int r = 0; r < I; r++) rows[r] = (r * 7) % I;   /* a permutation */
        trainer_predict_rows(&t, rows, I, pred);
        int same = 1;
        for (int r = 0; r < I; r++)
            for (int u = 0; u < U; u++)
                same &= pred[r * U + u] == recon[rows[r] * U + u];
        CHECK_MSG(same, "kernel %s", trainer_kernel_name(&t));
        t.proto.clip = 1;
        t.proto.clip_lo = 1;
        t.proto.clip_hi = 5;
        t.proto.cold = 1;
        t.proto.cold_value = 3;
        trainer_predict_rows(&t, rows, I, pred);
        int ok = 1, clipped = 0;
        for (int r = 0; r < I; r++)
            for (int u = 0; u < U; u++) {
                float y = recon[rows[r] * U + u];
                float want = rows[r] == I - 1 || u == U - 1 ? 3.0f
                           : y < 1 ? 1.0f : y > 5 ? 5.0f : y;
                clipped += want != y;
                ok &= pred[r * U + u] == want;
            }
        CHECK(ok && clipped > 0);
        trainer_free(&t);
    }
    csr_free(&tr);
}

/* U-AutoRec on a data set is I-AutoRec on its transpose: the same training
 * matrix, the same per-epoch losses and validation/test metrics, with cold
 * defaults and clipping applied (cold pairs keep their meaning). */
static void test_user_variant_equals_item_on_transpose(void) {
    const char *dir = test_tmp_dir("variant");
    CHECK(dir != NULL);
    if (!dir) return;
    char d1[512], d2[512], err[ERR_MAX];
    snprintf(d1, sizeof d1, "%s/a", dir);
    snprintf(d2, sizeof d2, "%s/b", dir);
    CHECK(mkdir(d1, 0700) == 0 && mkdir(d2, 0700) == 0);
    CHECK(tv_ratings(d1, 19, 31, 0) == 0);
    CHECK(tv_ratings(d2, 19, 31, 1) == 0);
    for (int k = 0; k < 2; k++) {
        Config cu, ci;
        tv_cfg(&cu, d1, VARIANT_USER);
        tv_cfg(&ci, d2, VARIANT_ITEM);
        cu.kernel = ci.kernel = k ? KERNEL_SPARSE : KERNEL_DENSE;
        cu.clip.mode = ci.clip.mode = CLIP_AUTO;
        cu.cold_default = ci.cold_default = 3;
        Runner ru, ri;
        int ok_u = runner_prepare(&ru, &cu, err) == 0;
        CHECK_MSG(ok_u, "%s", err);
        int ok_i = runner_prepare(&ri, &ci, err) == 0;
        CHECK_MSG(ok_i, "%s", err);
        if (!ok_u || !ok_i) {
            runner_free(&ru);
            runner_free(&ri);
            break;
        }
        CHECK(ru.train.rows == 19 && ru.train.cols == 31);   /* users x items */
        CHECK(same_csr(&ru.train, &ri.train) && same_csr(&ru.test, &ri.test) &&
              same_csr(&ru.val, &ri.val));
        CHECK(ru.trainer.proto.clip && ru.trainer.proto.clip_lo == ri.trainer.proto.clip_lo &&
              ru.trainer.proto.clip_hi == ri.trainer.proto.clip_hi);
        int equal = 1;
        int64_t cold = 0;
        for (int e = 0; e < 4; e++) {
            double lu, li;
            trainer_epoch(&ru.trainer, NULL, &lu);
            trainer_epoch(&ri.trainer, NULL, &li);
            EvalMetrics mu, mi;
            trainer_evaluate(&ru.trainer, &ru.test, &mu);
            trainer_evaluate(&ri.trainer, &ri.test, &mi);
            equal &= lu == li && mu.rmse == mi.rmse && mu.n_cold == mi.n_cold;
            cold = mu.n_cold;
        }
        CHECK_MSG(equal, "kernel %s", ru.kernel);
        CHECK(cold > 0);   /* the cold user and item are in the test split */
        char *y = cfg_to_yaml(&cu);
        CHECK(y && strstr(y, "variant: user"));
        mem_free(y);
        runner_free(&ru);
        runner_free(&ri);
    }
    test_rm_tree(dir);
}

/* Trains cfg into the database dbpath (run 1 of a new file).  Returns the
 * status; *out gets the outcome. */
static RunStatus tv_run(const Config *cfg, const char *dbpath, RunOutcome *out) {
    char err[ERR_MAX] = "";
    Runner r;
    Db *db = NULL;
    RunStatus st = RUN_FAILED;
    int64_t id = 0;
    if (runner_prepare(&r, cfg, err) || db_open(&db, dbpath, err)) {
        CHECK_MSG(0, "%s", err);
        goto done;
    }
    DbRunInfo info;
    runner_info(&r, &info);
    CHECK(db_run_begin(db, &info, &id, err) == 0);
    st = runner_train(&r, db, id, NULL, out, err);
    CHECK_MSG(st == RUN_FINISHED, "%s", err);
    CHECK(db_run_end(db, id, runner_status_name(st), err) == 0);
done:
    db_close(db);
    runner_free(&r);
    return st;
}

/* recommend_load rebuilds a run from the database alone: for each variant
 * and kernel the reloaded data and checkpoint give exactly the selected
 * epoch's validation and test RMSE; with train.checkpoint: false nothing is
 * written and loading says so. */
static void test_recommend_load_reproduces_selection(void) {
    const char *tmp = test_tmp_dir("recload");
    CHECK(tmp != NULL);
    if (!tmp) return;
    char dir[512], err[ERR_MAX];
    snprintf(dir, sizeof dir, "%s", tmp);
    CHECK(tv_ratings(dir, 19, 31, 0) == 0);
    for (int k = 0; k < 4; k++) {
        Config c;
        tv_cfg(&c, dir, k & 1 ? VARIANT_USER : VARIANT_ITEM);
        c.kernel = k & 2 ? KERNEL_SPARSE : KERNEL_DENSE;
        c.epochs = 6;
        c.clip.mode = CLIP_AUTO;
        char dbpath[600];
        snprintf(dbpath, sizeof dbpath, "%s/r%d.db", dir, k);
        RunOutcome out;
        if (tv_run(&c, dbpath, &out) != RUN_FINISHED) continue;
        CHECK(out.checkpoint[0] != '\0');
        Runner r;
        int epoch = 0;
        int rc = recommend_load(&r, dbpath, 1, &epoch, err);
        CHECK_MSG(rc == 0, "%s", err);
        if (rc == 0) {
            EvalMetrics te, va;
            trainer_evaluate(&r.trainer, &r.test, &te);
            trainer_evaluate(&r.trainer, &r.val, &va);
            CHECK(r.cfg.variant == c.variant && epoch == out.selected_epoch);
            CHECK_MSG(te.rmse == out.selected_test_rmse && va.rmse == out.selected_val_rmse,
                      "variant %d kernel %s: %.9g %.9g vs %.9g %.9g", (int)c.variant,
                      r.kernel, te.rmse, va.rmse, out.selected_test_rmse,
                      out.selected_val_rmse);
        }
        runner_free(&r);
        CHECK(recommend_load(&r, dbpath, 2, &epoch, err) == -1 && strstr(err, "no run 2"));
        runner_free(&r);
    }
    Config c;
    tv_cfg(&c, dir, VARIANT_USER);
    c.checkpoint = 0;
    char dbpath[600];
    snprintf(dbpath, sizeof dbpath, "%s/none.db", dir);
    RunOutcome out;
    Runner r;
    int epoch;
    CHECK(tv_run(&c, dbpath, &out) == RUN_FINISHED && out.checkpoint[0] == '\0');
    CHECK(recommend_load(&r, dbpath, 1, &epoch, err) == -1 &&
          strstr(err, "train.checkpoint: false"));
    runner_free(&r);
    test_rm_tree(tmp);
}

/* Every allocation failure of a user-variant runner_prepare (the transposed
 * matrices included) gives "out of memory" and leaves nothing behind; then
 * it succeeds. */
static void test_oom_user_variant_prepare(void) {
    const char *tmp = test_tmp_dir("varoom");
    CHECK(tmp != NULL);
    if (!tmp) return;
    char dir[512], err[ERR_MAX];
    snprintf(dir, sizeof dir, "%s", tmp);
    CHECK(tv_ratings(dir, 19, 31, 0) == 0);
    Config c;
    tv_cfg(&c, dir, VARIANT_USER);
    int done = 0;
    for (long n = 1; n < 100000 && !done; n++) {
        Runner r;
        mem_fail_at(n);
        int rc = runner_prepare(&r, &c, err);
        long used = mem_alloc_count();
        mem_fail_at(0);
        if (rc == 0) {
            CHECK(used < n && r.train.rows == 19);
            done = 1;
        } else {
            CHECK_MSG(strstr(err, "out of memory"), "allocation %ld: %s", n, err);
        }
        runner_free(&r);
    }
    CHECK(done);
    test_rm_tree(tmp);
}

/* model.variant and train.checkpoint: defaults, values, round trip through
 * the stored YAML, bad values refused with the key named. */
static void test_cfg_variant_and_checkpoint(void) {
    Config c, back;
    char err[ERR_MAX];
    cfg_defaults(&c);
    CHECK(c.variant == VARIANT_ITEM && c.checkpoint == 1);
    char *y = cfg_to_yaml(&c);
    CHECK(y && strstr(y, "variant: item") && strstr(y, "checkpoint: true"));
    mem_free(y);
    CHECK_MSG(cfg_load_string(&c, "model: {variant: user}\ntrain: {checkpoint: false}\n",
                              "v.yaml", err) == 0, "%s", err);
    CHECK(c.variant == VARIANT_USER && c.checkpoint == 0);
    y = cfg_to_yaml(&c);
    cfg_defaults(&back);
    CHECK(y && cfg_load_string(&back, y, "resolved", err) == 0);
    CHECK(back.variant == VARIANT_USER && back.checkpoint == 0);
    mem_free(y);
    CHECK(cfg_set_override(&c, "model.variant=item", err) == 0 && c.variant == VARIANT_ITEM);
    CHECK(cfg_set_override(&c, "train.checkpoint=true", err) == 0 && c.checkpoint == 1);
    CHECK(cfg_set_override(&c, "model.variant=users", err) == -1 && strstr(err, "model.variant"));
    CHECK(cfg_set_override(&c, "train.checkpoint=1", err) == -1 && strstr(err, "train.checkpoint"));
    CHECK(cfg_load_string(&c, "model:\n  variant: both\n", "w.yaml", err) == -1);
    CHECK_MSG(strstr(err, "w.yaml:2:12:") == err, "%s", err);
    CHECK(strcmp(cfg_variant_name(VARIANT_USER), "user") == 0);
}

void suite_variant(void) {
    RUN(test_csr_transpose);
    RUN(test_predict_rows_equals_reconstruct);
    RUN(test_user_variant_equals_item_on_transpose);
    RUN(test_recommend_load_reproduces_selection);
    RUN(test_oom_user_variant_prepare);
    RUN(test_cfg_variant_and_checkpoint);
}
