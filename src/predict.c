/* predict.c - predictions for chunks of users from a run or an ensemble
 * (see predict.h).  No global state. */
#include "predict.h"

#include <sqlite3.h>
#include <string.h>

#include "db.h"
#include "db_results.h"
#include "err.h"
#include "mem.h"
#include "recommend.h"

int predict_open(Predictor *p, const char *db_path, int64_t run_id,
                 char *err) {
    sqlite3 *h = NULL;
    int64_t *ids = NULL;
    double *w = NULL;
    memset(p, 0, sizeof *p);
    if (db_open_query(&h, db_path, err)) return -1;
    int n = db_ensemble_members(h, run_id, &ids, &w, err);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, "SELECT name FROM runs WHERE id = ?1", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_bind_int64(st, 1, run_id) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(p->name, sizeof p->name, "%s",
                 (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
    if (n < 0) return -1;
    p->ensemble = n > 0;
    if (n == 0) {   /* a plain run */
        ids = mem_alloc(sizeof *ids);
        w = mem_alloc(sizeof *w);
        if (!ids || !w) {
            mem_free(ids);
            mem_free(w);
            return err_set(err, "out of memory loading run %lld",
                           (long long)run_id);
        }
        ids[0] = run_id;
        w[0] = 1.0;
        n = 1;
    }
    p->ids = ids;
    p->w = w;
    p->r = mem_calloc((size_t)n, sizeof *p->r);
    if (!p->r) return err_set(err, "out of memory loading %d runs", n);
    for (int m = 0; m < n; m++) {
        char e2[ERR_MAX];
        int epoch = 0;
        p->n = m + 1;
        if (recommend_load(&p->r[m], db_path, ids[m], &epoch, e2)) {
            if (p->ensemble)
                return err_set(err, "ensemble run %lld: member %d (run %lld): "
                               "%s", (long long)run_id, m + 1,
                               (long long)ids[m], e2);
            return err_set(err, "%s", e2);
        }
        if (m == 0) p->epoch = epoch;
        if (m > 0 && (p->r[m].ds.num_items != p->r[0].ds.num_items ||
                      p->r[m].ds.num_users != p->r[0].ds.num_users))
            return err_set(err, "ensemble run %lld: member %d (run %lld) has "
                           "%d items x %d users, member 1 %d x %d: the members "
                           "were not trained on the same data; train the "
                           "ensemble again", (long long)run_id, m + 1,
                           (long long)ids[m], p->r[m].ds.num_items,
                           p->r[m].ds.num_users, p->r[0].ds.num_items,
                           p->r[0].ds.num_users);
    }
    return 0;
}

void predict_close(Predictor *p) {
    if (!p) return;
    for (int m = 0; p->r && m < p->n; m++) runner_free(&p->r[m]);
    mem_free(p->r);
    mem_free(p->w);
    mem_free(p->ids);
    mem_free(p->tmp);
    memset(p, 0, sizeof *p);
}

/* One run's predictions for the users us (see predict_users): the item
 * variant reconstructs the items' rows in blocks (one pass for every
 * user), the user variant the users' rows.  seen and nrated accumulate.
 * Returns 0 or -1 with err (out of memory). */
static int run_users(Runner *r, const int *us, int nu, float *score,
                     unsigned char *seen, int raw, char *err) {
    Trainer *t = &r->trainer;
    const Csr *m = t->train;   /* train, or train + validation (refit) */
    const int I = r->ds.num_items, B = t->opt.batch_size, U = t->num_users;
    const int user_variant = r->cfg.variant == VARIANT_USER;
    const int width = user_variant ? I : U;
    const TrainProtocol saved = t->proto;
    int32_t *rows = mem_alloc((size_t)B * sizeof *rows);
    float *block = mem_alloc((size_t)B * (size_t)width * sizeof *block);
    int *slot = mem_alloc((size_t)U * sizeof *slot);   /* user -> j, or -1 */
    int ret = -1;
    if (!rows || !block || !slot) {
        err_set(err, "out of memory for a block of %d predictions of %d "
                "values", B, width);
        goto done;
    }
    if (raw) {
        t->proto.clip = 0;
        t->proto.cold = 0;
    }
    for (int u = 0; u < U; u++) slot[u] = -1;
    for (int j = 0; j < nu; j++) slot[us[j]] = j;
    if (user_variant) {
        for (int j = 0; j < nu; j++)
            for (int64_t e = m->ptr[us[j]]; e < m->ptr[us[j] + 1]; e++)
                seen[(size_t)j * I + (size_t)m->col[e]] = 1;
        for (int j0 = 0; j0 < nu; j0 += B) {
            const int n = nu - j0 < B ? nu - j0 : B;
            for (int k = 0; k < n; k++) rows[k] = us[j0 + k];
            trainer_predict_rows(t, rows, n, block);
            memcpy(score + (size_t)j0 * I, block,
                   (size_t)n * (size_t)I * sizeof *score);
        }
    } else {
        for (int i = 0; i < I; i++)
            for (int64_t e = m->ptr[i]; e < m->ptr[i + 1]; e++) {
                int j = slot[m->col[e]];
                if (j >= 0) seen[(size_t)j * I + (size_t)i] = 1;
            }
        for (int i0 = 0; i0 < I; i0 += B) {
            const int n = I - i0 < B ? I - i0 : B;
            for (int k = 0; k < n; k++) rows[k] = i0 + k;
            trainer_predict_rows(t, rows, n, block);
            for (int k = 0; k < n; k++)
                for (int j = 0; j < nu; j++)
                    score[(size_t)j * I + (size_t)(i0 + k)] =
                        block[(size_t)k * U + (size_t)us[j]];
        }
    }
    ret = 0;
done:
    t->proto = saved;
    mem_free(rows);
    mem_free(block);
    mem_free(slot);
    return ret;
}

int predict_users(Predictor *p, const int *us, int nu, float *score,
                  unsigned char *seen, int *nrated, int raw, char *err) {
    const int I = p->r[0].ds.num_items;
    const size_t cells = (size_t)nu * (size_t)I;
    if (p->n == 1) {
        if (run_users(&p->r[0], us, nu, score, seen, raw, err)) return -1;
    } else {
        if (p->tmp_cap < cells) {
            mem_free(p->tmp);
            p->tmp_cap = 0;
            if (!(p->tmp = mem_alloc(cells * sizeof *p->tmp)))
                return err_set(err, "out of memory for %zu predictions of an "
                               "ensemble member", cells);
            p->tmp_cap = cells;
        }
        for (size_t c = 0; c < cells; c++) score[c] = 0.0f;
        for (int m = 0; m < p->n; m++) {
            if (run_users(&p->r[m], us, nu, p->tmp, seen, raw, err)) return -1;
            const float w = (float)p->w[m];
            for (size_t c = 0; c < cells; c++) score[c] += w * p->tmp[c];
        }
        const TrainProtocol *pr = &p->r[0].trainer.proto;
        if (!raw && pr->clip)
            for (size_t c = 0; c < cells; c++)
                score[c] = score[c] < pr->clip_lo ? pr->clip_lo
                         : score[c] > pr->clip_hi ? pr->clip_hi : score[c];
    }
    for (int j = 0; j < nu; j++) {
        nrated[j] = 0;
        for (int i = 0; i < I; i++) nrated[j] += seen[(size_t)j * I + i];
    }
    return 0;
}
