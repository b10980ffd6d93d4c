/* query_columns.c - the table of run columns and epoch values (see
 * query_columns.h).
 *
 * Mutable state: only the extra columns of qcol_set_extra. */
#include "query_columns.h"

#include <stdio.h>
#include <string.h>

#include "query.h"

#define P QCOL_PARAM
#define M QCOL_METRIC
#define I QCOL_INFO

/* Display order: information, parameters (as in a config file), metrics,
 * then the rest.  Every `column` is an expression over run_summary. */
static const QColumn columns[] = {
    {"id", NULL, "id", NULL, "id", QF_PLAIN, QK_INT, I, 1},
    {"experiment", NULL, "experiment", "coalesce(experiment, name)",
     "experiment", QF_PLAIN, QK_TEXT, I, 2},
    {"point", NULL, "grid_point",
     "CASE WHEN grid_point IS NOT NULL THEN (grid_point + 1) || '/' || "
     "grid_size END", "point", QF_PLAIN, QK_INT, I, 3},
    {"grid_size", NULL, "grid_size", NULL, "points", QF_PLAIN, QK_INT, I, 0},
    {"status", NULL, "status", NULL, "status", QF_PLAIN, QK_TEXT, I, 4},
    /* parameters */
    {"name", "name", "name", NULL, "name", QF_PLAIN, QK_TEXT, P, 0},
    {"data_path", "data.path", "data_path", NULL, "data", QF_PLAIN, QK_TEXT,
     P, 0},
    {"data_format", "data.format", "data_format", NULL, "format", QF_PLAIN,
     QK_TEXT, P, 0},
    {"split_kind", "data.split.kind", "split_kind", NULL, "split", QF_PLAIN,
     QK_TEXT, P, 0},
    {"test_ratio", "data.split.test_ratio", "test_ratio", NULL, "test ratio",
     QF_PLAIN, QK_REAL, P, 0},
    {"validation_ratio", "data.split.validation_ratio", "validation_ratio",
     NULL, "val ratio", QF_PLAIN, QK_REAL, P, 0},
    {"split_seed", "data.split.seed", "split_seed", NULL, "split seed",
     QF_PLAIN, QK_INT, P, 0},
    {"split_index", "data.split.index", "split_index", NULL, "split",
     QF_PLAIN, QK_INT, P, 0},
    {"variant", "model.variant", "variant", NULL, "variant", QF_PLAIN,
     QK_TEXT, P, 0},
    {"hidden", "model.hidden", "hidden", NULL, "hidden", QF_PLAIN, QK_INT, P,
     5},
    {"layers", NULL, "layers", NULL, "layers", QF_PLAIN, QK_TEXT, P, 0},
    {"dropout", "model.dropout", "dropout", NULL, "dropout", QF_PLAIN,
     QK_REAL, P, 0},
    {"encoder", "model.activation.encoder", "encoder", NULL, "encoder",
     QF_PLAIN, QK_TEXT, P, 0},
    {"decoder", "model.activation.decoder", "decoder", NULL, "decoder",
     QF_PLAIN, QK_TEXT, P, 0},
    {"epochs", "train.epochs", "epochs", NULL, "max epochs", QF_PLAIN,
     QK_INT, P, 0},
    {"batch_size", "train.batch_size", "batch_size", NULL, "batch",
     QF_PLAIN, QK_INT, P, 0},
    {"lr", "train.lr", "lr", NULL, "lr", QF_PLAIN, QK_REAL, P, 6},
    {"weight_decay", "train.weight_decay", "weight_decay", NULL, "wd",
     QF_PLAIN, QK_REAL, P, 7},
    {"l2", "train.l2", "l2", NULL, "l2", QF_PLAIN, QK_REAL, P, 0},
    {"optimizer", "train.optimizer", "optimizer", NULL, "optimizer",
     QF_PLAIN, QK_TEXT, P, 0},
    {"schedule", "train.schedule", "schedule", NULL, "schedule", QF_PLAIN,
     QK_TEXT, P, 0},
    {"patience", "train.patience", "patience", NULL, "patience", QF_PLAIN,
     QK_INT, P, 0},
    {"refit", "train.refit", "refit", NULL, "refit", QF_PLAIN, QK_INT, P, 0},
    {"ema", "train.ema", "ema", NULL, "ema", QF_PLAIN, QK_REAL, P, 0},
    {"seed", "train.seed", "seed", NULL, "seed", QF_PLAIN, QK_INT, P, 8},
    {"kernel", "train.kernel", "kernel", NULL, "kernel", QF_PLAIN, QK_TEXT,
     P, 0},
    {"clip", "eval.clip", "clip", NULL, "clip", QF_PLAIN, QK_TEXT, P, 0},
    {"cold_default", "eval.cold_default", "cold_default", NULL,
     "cold default", QF_PLAIN, QK_REAL, P, 0},
    {"top_k", "eval.top_k", "top_k", NULL, "K", QF_PLAIN, QK_INT, P, 0},
    {"relevant_min", "eval.relevant_min", "relevant_min", NULL, "relevant",
     QF_PLAIN, QK_REAL, P, 0},
    /* metrics */
    {"epochs_done", NULL, "epochs_done", "epochs_done || '/' || epochs",
     "epochs", QF_PLAIN, QK_INT, M, 9},
    {"result_test_rmse", NULL, "result_test_rmse", NULL, "result RMSE",
     QF_RMSE, QK_REAL, M, 10},
    {"best_test_rmse", NULL, "best_test_rmse", NULL, "best-epoch RMSE",
     QF_RMSE, QK_REAL, M, 11},
    {"best_epoch", NULL, "best_epoch", NULL, "@", QF_PLAIN, QK_INT, M, 12},
    {"final_test_rmse", NULL, "final_test_rmse", NULL, "final RMSE",
     QF_RMSE, QK_REAL, M, 13},
    {"selected_epoch", NULL, "selected_epoch", NULL, "@", QF_PLAIN,
     QK_INT, M, 15},
    {"selected_test_rmse", NULL, "selected_test_rmse", NULL,
     "selected RMSE", QF_RMSE, QK_REAL, M, 14},
    {"selected_val_rmse", NULL, "selected_val_rmse", NULL, "val RMSE",
     QF_RMSE, QK_REAL, M, 0},
    {"refit_epochs", NULL, "refit_epochs", NULL, "refit epochs", QF_PLAIN,
     QK_INT, M, 0},
    {"refit_test_rmse", NULL, "refit_test_rmse", NULL, "refit RMSE",
     QF_RMSE, QK_REAL, M, 16},
    {"refit_test_mae", NULL, "refit_test_mae", NULL, "refit MAE", QF_RMSE,
     QK_REAL, M, 0},
    {"selected_weights", NULL, "selected_weights", NULL, "weights",
     QF_PLAIN, QK_TEXT, M, 0},
    {"precision_at_k", NULL, "precision_at_k", NULL, "P@K", QF_RMSE,
     QK_REAL, M, 0},
    {"recall_at_k", NULL, "recall_at_k", NULL, "R@K", QF_RMSE, QK_REAL, M,
     0},
    {"ndcg_at_k", NULL, "ndcg_at_k", NULL, "NDCG@K", QF_RMSE, QK_REAL, M, 0},
    {"hit_rate_at_k", NULL, "hit_rate_at_k", NULL, "HR@K", QF_RMSE, QK_REAL,
     M, 0},
    {"topn_users", NULL, "topn_users", NULL, "ranked users", QF_PLAIN,
     QK_INT, M, 0},
    {"ensemble_size", NULL, "ensemble_size", NULL, "members", QF_PLAIN,
     QK_INT, M, 0},
    {"member_key", NULL, "member_key", NULL, "member of", QF_PLAIN, QK_TEXT,
     I, 0},
    {"pruned_epoch", NULL, "pruned_epoch", NULL, "pruned at", QF_PLAIN,
     QK_INT, M, 0},
    {"pruned_reason", NULL, "pruned_reason", NULL, "pruned because",
     QF_PLAIN, QK_TEXT, M, 0},
    {"seconds", NULL, "seconds", NULL, "time", QF_DURATION, QK_REAL, M, 17},
    /* information */
    {"wall_seconds", NULL, "wall_seconds", NULL, "wall", QF_DURATION,
     QK_REAL, I, 0},
    {"threads", "train.threads", "threads", NULL, "threads", QF_PLAIN,
     QK_INT, I, 0},
    {"started_at", NULL, "started_at", NULL, "started", QF_PLAIN, QK_TEXT, I,
     0},
    {"finished_at", NULL, "finished_at", NULL, "finished", QF_PLAIN, QK_TEXT,
     I, 0},
    {"host", NULL, "host", NULL, "host", QF_PLAIN, QK_TEXT, I, 0},
    {"worker", NULL, "worker", NULL, "worker", QF_PLAIN, QK_TEXT, I, 0},
    {"attempts", NULL, "attempts", NULL, "attempts", QF_PLAIN, QK_INT, I, 0},
    {"config_hash", NULL, "config_hash", NULL, "config hash", QF_PLAIN,
     QK_TEXT, I, 0},
    {"checkpoint", NULL, "checkpoint", NULL, "checkpoint", QF_PLAIN, QK_TEXT,
     I, 0},
    {"error", NULL, "error", NULL, "error", QF_PLAIN, QK_TEXT, I, 0},
};
#define NCOLUMNS ((int)(sizeof columns / sizeof columns[0]))

/* Other names of columns: short forms and earlier names. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"grid_point", "point"},       {"wd", "weight_decay"},
    {"batch", "batch_size"},       {"best_rmse", "best_test_rmse"},
    {"test_rmse", "best_test_rmse"}, {"rmse", "best_test_rmse"},
    {"final_rmse", "final_test_rmse"}, {"final", "final_test_rmse"},
    {"time", "seconds"},           {"selected_rmse", "selected_test_rmse"},
    {"selected", "selected_test_rmse"}, {"val_rmse", "selected_val_rmse"},
    {"index", "split_index"},      {"refit_rmse", "refit_test_rmse"},
    {"result", "result_test_rmse"}, {"result_rmse", "result_test_rmse"},
    {"ndcg", "ndcg_at_k"},         {"precision", "precision_at_k"},
    {"recall", "recall_at_k"},     {"hit_rate", "hit_rate_at_k"},
    {"members", "ensemble_size"},
};

static const QColumn *extra_columns;
static int n_extra;

int qcol_count(void) { return NCOLUMNS + n_extra; }

const QColumn *qcol_get(int i) {
    return i < NCOLUMNS ? &columns[i] : &extra_columns[i - NCOLUMNS];
}

void qcol_set_extra(const QColumn *extra, int n) {
    extra_columns = n > 0 ? extra : NULL;
    n_extra = n > 0 ? n : 0;
}

/* Returns the column whose key or config key is name, or NULL. */
static const QColumn *qcol_exact(const char *name) {
    for (int i = 0; i < qcol_count(); i++) {
        const QColumn *c = qcol_get(i);
        if (!strcmp(c->name, name) || (c->config && !strcmp(c->config, name)))
            return c;
    }
    return NULL;
}

const QColumn *qcol_find(const char *name) {
    const QColumn *c = qcol_exact(name);
    for (size_t i = 0; !c && i < sizeof aliases / sizeof *aliases; i++)
        if (!strcmp(aliases[i].alias, name)) c = qcol_exact(aliases[i].name);
    return c;
}

void qcol_names(char *out, size_t n) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < qcol_count() && len + 1 < n; i++) {
        int w = snprintf(out + len, n - len, "%s%s", i ? ", " : "",
                         qcol_get(i)->name);
        if (w < 0) break;
        len += (size_t)w;
    }
}

const char *qcol_text(const QColumn *c, sqlite3_stmt *st, int i, char *buf,
                      size_t n) {
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        snprintf(buf, n, "-");
        return buf;
    }
    if (c->format == QF_DURATION)
        return query_duration(sqlite3_column_double(st, i), buf, n);
    return query_col(st, i, c->format == QF_RMSE ? "%.4f" : "%g", buf, n);
}

int qcol_select(const QColumn *c, int display, char *out, size_t n) {
    const char *expr = display && c->display ? c->display : c->column;
    int w = snprintf(out, n, "%s AS \"%s\"", expr, c->name);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

int qcol_select_list(const QColumn *const *cols, int n, int display,
                     char *out, size_t size) {
    size_t len = 0;
    out[0] = '\0';
    for (int c = 0; c < n; c++) {
        if (c && len + 2 < size) {
            memcpy(out + len, ", ", 3);
            len += 2;
        }
        if (len >= size || qcol_select(cols[c], display, out + len, size - len))
            return -1;
        len += strlen(out + len);
    }
    return 0;
}

int qcol_all(const QColumn **out, int max) {
    int n = 0;
    for (int i = 0; i < qcol_count() && n < max; i++) out[n++] = qcol_get(i);
    return n;
}

/* --------------------------------------------------- split summaries -- */

/* "[lo, hi]", NULL when lo is (SQLite's printf prints NULL as 0) */
#define CI(lo, hi)                                                         \
    "CASE WHEN " lo " IS NOT NULL THEN '[' || printf('%.4f', " lo ") || "  \
    "', ' || printf('%.4f', " hi ") || ']' END"

/* the mean of a runs column over the finished runs of a summary's group
 * (grid points group_point .. group_point + splits - 1) */
#define SUMMARY_MEAN(col)                                                  \
    "(SELECT avg(r." col ") FROM runs r WHERE r.experiment = s.experiment " \
    "AND r.grid_point >= s.group_point AND r.grid_point < s.group_point + " \
    "s.splits AND r.status = 'finished')"

static const QColumn summary_columns[] = {
    {"experiment", NULL, "s.experiment", NULL, "experiment", QF_PLAIN,
     QK_TEXT, I, 1},
    {"params", NULL, "s.params", "nullif(s.params, '')", "params", QF_PLAIN,
     QK_TEXT, P, 2},
    {"split_kind", NULL, "s.split_kind", NULL, "kind", QF_PLAIN, QK_TEXT, P,
     3},
    {"n", NULL, "s.n", NULL, "finished", QF_PLAIN, QK_INT, M, 0},
    {"splits", NULL, "s.splits", "s.n || '/' || s.splits", "splits",
     QF_PLAIN, QK_INT, M, 4},
    {"selected_test_mean", NULL, "s.selected_test_mean", NULL,
     "selected RMSE", QF_RMSE, QK_REAL, M, 5},
    {"selected_test_sd", NULL, "s.selected_test_sd", NULL, "sd", QF_RMSE,
     QK_REAL, M, 6},
    {"selected_test_ci_lo", NULL, "s.selected_test_ci_lo", NULL, "CI low",
     QF_RMSE, QK_REAL, M, 0},
    {"selected_test_ci_hi", NULL, "s.selected_test_ci_hi", NULL, "CI high",
     QF_RMSE, QK_REAL, M, 0},
    {"selected_test_ci", NULL, NULL,
     CI("s.selected_test_ci_lo", "s.selected_test_ci_hi"), "95% CI",
     QF_PLAIN, QK_TEXT, M, 7},
    {"selected_val_mean", NULL, "s.selected_val_mean", NULL, "val RMSE",
     QF_RMSE, QK_REAL, M, 8},
    {"final_test_mean", NULL, "s.final_test_mean", NULL, "final RMSE",
     QF_RMSE, QK_REAL, M, 9},
    {"final_test_sd", NULL, "s.final_test_sd", NULL, "sd", QF_RMSE, QK_REAL,
     M, 10},
    {"refit_test_mean", NULL, "s.refit_test_mean", NULL, "refit RMSE",
     QF_RMSE, QK_REAL, M, 11},
    {"refit_test_sd", NULL, "s.refit_test_sd", NULL, "sd", QF_RMSE, QK_REAL,
     M, 12},
    {"refit_test_ci_lo", NULL, "s.refit_test_ci_lo", NULL, "CI low",
     QF_RMSE, QK_REAL, M, 0},
    {"refit_test_ci_hi", NULL, "s.refit_test_ci_hi", NULL, "CI high",
     QF_RMSE, QK_REAL, M, 0},
    {"refit_test_ci", NULL, NULL,
     CI("s.refit_test_ci_lo", "s.refit_test_ci_hi"), "95% CI", QF_PLAIN,
     QK_TEXT, M, 13},
    /* over the configuration's finished runs (the split summary's runs):
     * the result (runs.result_test_rmse: refit, else selected; an
     * ensemble's blend) and the ranking metrics */
    {"result_test_mean", NULL, SUMMARY_MEAN("result_test_rmse"), NULL,
     "result RMSE", QF_RMSE, QK_REAL, M, 14},
    {"ndcg_mean", NULL, SUMMARY_MEAN("ndcg_at_k"), NULL, "NDCG@K", QF_RMSE,
     QK_REAL, M, 15},
    {"precision_mean", NULL, SUMMARY_MEAN("precision_at_k"), NULL, "P@K",
     QF_RMSE, QK_REAL, M, 0},
    {"recall_mean", NULL, SUMMARY_MEAN("recall_at_k"), NULL, "R@K", QF_RMSE,
     QK_REAL, M, 0},
    {"hit_rate_mean", NULL, SUMMARY_MEAN("hit_rate_at_k"), NULL, "HR@K",
     QF_RMSE, QK_REAL, M, 0},
    {"runs", NULL, "s.runs", NULL, "runs", QF_PLAIN, QK_TEXT, I, 0},
};

const QColumn *qcol_summary_columns(int *n) {
    *n = (int)(sizeof summary_columns / sizeof summary_columns[0]);
    return summary_columns;
}

/* ------------------------------------------------------- epoch values -- */

static const QEpochColumn epoch_columns[] = {
    {"train_loss", "train loss", "%.3f", 1, 1},
    {"test_rmse", "test RMSE", "%.4f", 1, 1},
    {"test_mae", "test MAE", "%.4f", 1, 1},
    {"val_rmse", "val RMSE", "%.4f", 0, 1},
    {"val_mae", "val MAE", "%.4f", 0, 1},
    {"ema_val_rmse", "EMA val RMSE", "%.4f", 0, 1},
    {"ema_test_rmse", "EMA test RMSE", "%.4f", 0, 1},
    {"precision_at_k", "P@K", "%.4f", 0, 1},
    {"recall_at_k", "R@K", "%.4f", 0, 1},
    {"ndcg_at_k", "NDCG@K", "%.4f", 0, 1},
    {"hit_rate_at_k", "HR@K", "%.4f", 0, 1},
    {"train_seconds", "train s", "%.2f", 1, 0},
    {"eval_seconds", "eval s", "%.2f", 1, 0},
};

const QEpochColumn *qcol_epoch_columns(int *n) {
    *n = (int)(sizeof epoch_columns / sizeof epoch_columns[0]);
    return epoch_columns;
}

const QEpochColumn *qcol_epoch_find(const char *name) {
    int n;
    const QEpochColumn *e = qcol_epoch_columns(&n);
    for (int i = 0; i < n; i++)
        if (!strcmp(e[i].name, name)) return &e[i];
    if (!strcmp(name, "loss")) return &e[0];
    return NULL;
}
