/* pruner.h - search.pruner: stop trials of a search that are not
 * promising, by validation RMSE only (the test set is never read).
 *
 * A trial's value at epoch e is its best (lowest) validation RMSE over
 * epochs 1..e, the quantity model selection would report if it stopped
 * there; its peers are the other trials of the experiment that have
 * recorded epoch e (running, finished or pruned), with their own best up
 * to e.
 *
 *   median  (Optuna's MedianPruner) at every epoch after
 *           search.warmup_epochs, once at least search.min_trials peers
 *           reached it: prune when the value is worse than the peers'
 *           median.
 *   asha    (asynchronous successive halving, Li et al. 2018; Optuna's
 *           SuccessiveHalvingPruner) at the rungs min_epochs * eta^k
 *           (k < search.rungs, or every rung below train.epochs): with
 *           the values of the m trials that reached the rung (this one
 *           included), the trial goes on when it is among the best
 *           max(1, floor(m / eta)), else it is pruned at that rung.
 * The last epoch of a trial is never a pruning point. */
#ifndef AUTOREC_PRUNER_H
#define AUTOREC_PRUNER_H

#include <stddef.h>

#include "cfg.h"

typedef struct {
    PrunerKind kind;
    int warmup;        /* median: no decision at epochs <= warmup */
    int min_trials;    /* median: peers needed */
    int min_epochs;    /* asha: first rung */
    int eta;           /* asha: reduction factor */
    int rungs;         /* asha: 0 = every rung below epochs */
    int epochs;        /* the trial's train.epochs */
} PrunerSpec;

/* The pruner settings of config c (its search.* keys and train.epochs). */
void pruner_spec(const Config *c, PrunerSpec *out);

/* The rung (0-based) at epoch e for asha, or -1 when e is no rung (or the
 * pruner is not asha). */
int pruner_rung(const PrunerSpec *p, int epoch);

/* 1 when the pruner makes a decision at epoch e (a rung for asha, any
 * epoch after the warm-up for median; never the trial's last epoch). */
int pruner_checks(const PrunerSpec *p, int epoch);

/* The decision at epoch e for a trial whose value is `value`, given the n
 * peers' values (not modified).  Returns 1 to prune (reason, ERR_MAX
 * bytes, says why with the numbers), 0 to go on. */
int pruner_decide(const PrunerSpec *p, int epoch, double value,
                  const double *peers, int n, char *reason);

#endif
