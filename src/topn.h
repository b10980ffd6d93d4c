/* topn.h - ranking (top-N) metrics over a test set: Precision@K, Recall@K,
 * NDCG@K and hit rate@K.
 *
 * The protocol (README, "Ranking metrics"):
 *   - candidates of user u: every item u has no rating for in the training
 *     part of the split (training and validation ratings), so each known
 *     test item competes with every item u never rated;
 *   - relevant: u's test items rated at least relevant_min (eval.relevant_min,
 *     default 4);
 *   - the list: the K candidates with the highest score (ties: the lower
 *     item index first), scores being the model's unclipped outputs;
 *   - per user with at least one relevant item, with h the relevant items
 *     in the list at (1-based) positions p: precision h/K, recall h/|R|,
 *     NDCG sum 1/log2(p+1) over the hits divided by sum over positions 1 ..
 *     min(K, |R|) of 1/log2(p+1) (binary gains), hit rate 1 if h > 0;
 *   - the run's value of each: the mean over those users (`users`).
 *
 * A TopnLists keeps, for every user, the best K (score, item) pairs pushed
 * so far (a min-heap each), so predictions can be streamed in any order and
 * block size: nothing of size users x items is needed. */
#ifndef AUTOREC_TOPN_H
#define AUTOREC_TOPN_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"

typedef struct {
    double precision, recall, ndcg, hit_rate;   /* means; NaN when users 0 */
    int64_t users;                              /* users with a relevant item */
    int k;
} TopnMetrics;

typedef struct {
    int k, num_users;
    float *score;      /* (num_users, k) heap of each user: worst first */
    int32_t *item;     /* (num_users, k) */
    int *count;        /* (num_users) entries in each heap */
} TopnLists;

/* Creates empty lists of k entries for num_users users.  Returns 0, or -1
 * with err (out of memory).  Free with topn_lists_free. */
int topn_lists_create(TopnLists *l, int num_users, int k, char *err);

/* Frees what topn_lists_create allocated; accepts a zeroed TopnLists. */
void topn_lists_free(TopnLists *l);

/* Offers item (score) to user's list: kept when the list is not full or it
 * beats the list's worst entry (higher score, or equal score and lower
 * item).  Not thread-safe for one user; different users may be pushed from
 * different threads.  A NaN score is never kept. */
void topn_push(TopnLists *l, int user, int32_t item, float score);

/* topn_push of items item0 .. item0+n-1 to user's list, in that order,
 * with scores score[j * stride]: the same lists as n calls of topn_push,
 * with the common case (a full list the score does not beat) decided
 * without a call.  The same thread-safety as topn_push. */
void topn_push_many(TopnLists *l, int user, int32_t item0, const float *score,
                    ptrdiff_t stride, int n);

/* Sorts each user's list best first (in place); *items then gives user u's
 * list in l->item + u * k, *n its length (l->count[u]). */
void topn_lists_sort(TopnLists *l);

/* The metrics of the sorted lists l against the n test ratings rt: a
 * rating >= relevant_min is relevant.  Returns 0, or -1 with err (out of
 * memory). */
int topn_metrics(const TopnLists *l, const Rating *rt, size_t n,
                 double relevant_min, TopnMetrics *out, char *err);

#endif
