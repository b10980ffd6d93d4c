/* adam.h - the exact Adam update of a span of parameters, the one formula
 * shared by model_adam_step and the fused training kernels. */
#ifndef AUTOREC_ADAM_H
#define AUTOREC_ADAM_H

/* The scalars of one Adam step (coupled weight decay), as PyTorch computes
 * them: bias corrections in double, then used in float arithmetic as
 * step_size = lr / bc1 and denom = sqrt(v) / bc2_sqrt + eps. */
typedef struct {
    float b1, b2, eps;   /* beta1, beta2, epsilon */
    float wd;            /* coupled weight decay: grad + wd * param */
    float step_size;     /* lr / (1 - beta1^step) */
    float bc2_sqrt;      /* sqrt(1 - beta2^step) */
} AdamStep;

/* Fills *s for step number `step` (1 for the first step) of Adam with
 * learning rate lr.  No memory is allocated. */
void adam_step_scalars(AdamStep *s, double lr, float beta1, float beta2,
                       float eps, float weight_decay, long step);

/* One Adam step of the n parameters p with moments m, v and gradient g,
 * zeroing g afterwards; g == NULL stands for a zero gradient (not read, as
 * for a row no rating of the batch touched).  Serial and vectorised: callers
 * split the parameters among threads.  Owns nothing. */
void adam_span(float *restrict p, float *restrict g, float *restrict m,
               float *restrict v, long n, const AdamStep *s);

#endif
