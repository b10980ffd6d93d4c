/* db_results.h - the schema-7 results of the database: ranking metrics of
 * a run, ensemble members and their stored predictions.
 *
 * Tables (db.h, schema 7):
 *   ensemble_members(ensemble_run, position, member_run, weight, label)
 *   ensemble_candidates(ensemble_run, position, candidate, candidate_run,
 *                       val_rmse, chosen, label)
 *   run_predictions(run_id, pairs_key, val, test, refit)
 * and the runs columns precision_at_k, recall_at_k, ndcg_at_k,
 * hit_rate_at_k, topn_users, member_key, ensemble_size.  Writes go through
 * the Db connection (held by this worker when db_set_worker was called),
 * each in one transaction, retried while the database is busy. */
#ifndef AUTOREC_DB_RESULTS_H
#define AUTOREC_DB_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "topn.h"

struct sqlite3;

/* Stores m (the run's result model's ranking metrics) in run_id's
 * precision_at_k ... topn_users.  Returns 0 or -1 with err. */
int db_run_set_topn(Db *db, int64_t run_id, const TopnMetrics *m, char *err);

/* Marks run_id as an ensemble member that trained what member_key names
 * (its result_test_rmse becomes NULL: a member's number never counts for a
 * split; its selected and refit columns keep its own figures) and stores
 * its predictions: n_val floats at the split's validation ratings and
 * n_test at its test ratings of the selected model, and refit (n_test, or
 * NULL) of the refit model; pairs_key names the (user, item) pairs they
 * follow.  One transaction.  Returns 0 or -1 with err. */
int db_member_store(Db *db, int64_t run_id, const char *member_key,
                    const char *pairs_key, const float *val, size_t n_val,
                    const float *test, const float *refit, size_t n_test,
                    char *err);

/* Predictions of a member run, read back (arrays owned by the caller,
 * mem_free; refit NULL when the run stored none). */
typedef struct {
    int64_t run_id;
    float *val, *test, *refit;
    size_t n_val, n_test;
    double val_rmse;       /* the run's selected_val_rmse (NaN: NULL) */
} DbMemberPreds;

/* Finds the newest finished run marked with member_key whose stored
 * predictions follow pairs_key (n_val / n_test values), and reads them
 * into *out.  Returns 1 (found), 0 (none: out->run_id = 0) or -1 with
 * err. */
int db_member_find(Db *db, const char *member_key, const char *pairs_key,
                   size_t n_val, size_t n_test, DbMemberPreds *out,
                   char *err);

/* Frees the arrays of p; accepts NULL. */
void db_member_preds_free(DbMemberPreds *p);

/* One member of an ensemble run. */
typedef struct {
    int64_t run_id;
    double weight;
    const char *label;     /* "m1 hidden=1000 seed=1" */
} DbEnsembleMember;

/* What an ensemble run records (NaN: NULL). */
typedef struct {
    double val_rmse;       /* blend of the selected models at validation */
    double test_rmse;      /* blend of the selected models at test */
    double refit_rmse;     /* blend of the refit models at test (NaN: none) */
    double result_rmse;    /* the split's number: refit_rmse, else test_rmse */
} DbEnsembleResult;

/* Records ensemble run run_id: its n members (replacing any recorded
 * before: a re-run point), ensemble_size = n, selected_val_rmse,
 * selected_test_rmse, refit_test_rmse, result_test_rmse.  One
 * transaction.  Returns 0 or -1 with err. */
int db_ensemble_record(Db *db, int64_t run_id, const DbEnsembleMember *m,
                       int n, const DbEnsembleResult *res, char *err);

/* One candidate of a select: member (ensemble.h) at an ensemble run. */
typedef struct {
    int position;          /* the member's, 1-based */
    int candidate;         /* 1-based, in the order the grid was written */
    int64_t run_id;        /* the candidate's run (trained or reused) */
    double val_rmse;       /* its selected_val_rmse: what chose it */
    int chosen;            /* 1: the member of this split */
    const char *label;     /* "m3 hidden=1000 dropout=0.75" */
} DbEnsembleCandidate;

/* Records the n candidates of ensemble run run_id's select: members in
 * ensemble_candidates, replacing any recorded before (a re-run point; n 0
 * clears them).  One transaction.  Returns 0 or -1 with err. */
int db_ensemble_candidates_record(Db *db, int64_t run_id,
                                  const DbEnsembleCandidate *c, int n,
                                  char *err);

/* The members of ensemble run run_id, read through h (db_open_query):
 * *ids and *weights (n entries, owned by the caller, mem_free; NULL when
 * none).  Returns n >= 0 (0: not an ensemble), or -1 with err. */
int db_ensemble_members(struct sqlite3 *h, int64_t run_id, int64_t **ids,
                        double **weights, char *err);

#endif
