/* model.h - AutoRec parameters and the Adam optimiser.
 *
 * A stack of L >= 2 fully connected layers: layer l maps width[l] to
 * width[l+1], width[0] = width[L] = U (the users), the hidden widths between
 * (the shallow I-AutoRec is L = 2: U -> H -> U).  One allocation holds, in
 * this order, the parameters, their gradients and Adam's first and second
 * moments, each in the same layout, layer by layer:
 *   w[l] (width[l+1] x width[l])  PyTorch Linear layout
 *                                 (layer 0: U x width[1] when enc_transposed)
 *   b[l] (width[l+1])
 * so Adam is one flat loop over num_params floats.  The sparse kernels keep
 * the input layer's weight transposed (enc_transposed = 1); model_init,
 * model_export and model_import translate, so a seed gives the same model
 * in either layout. */
#ifndef AUTOREC_MODEL_H
#define AUTOREC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "adam.h"
#include "adam_ahead.h"

#define MODEL_MAX_LAYERS 8   /* at most 7 hidden layers */

typedef struct {
    float *w[MODEL_MAX_LAYERS]; /* (width[l+1], width[l]); unused: NULL */
    float *b[MODEL_MAX_LAYERS]; /* (width[l+1]) */
} ModelTensors;

typedef struct {
    int num_users;   /* U: input and output width */
    int hidden;      /* width[1], the first hidden width */
    int num_layers;  /* L */
    int width[MODEL_MAX_LAYERS + 1]; /* U, hidden widths..., U */
    size_t num_params;
    float *mem;      /* 4 * num_params floats: params | grads | m | v */
    ModelTensors params, grads, m, v;
    long step;       /* Adam steps taken */
    int enc_transposed; /* w[0] stored (U,H) instead of (H,U) */
    int act_encoder; /* Activation of every hidden layer (sigmoid after
                        model_create); the kernels take it from the trainer,
                        checkpoints record it */
    int act_decoder; /* of the output layer (identity after model_create) */
} Model;

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
    float l2;       /* adds 2 * l2 * W to the gradients of every weight
                       matrix (the gradient of l2 * sum_l |W_l|^2); biases
                       are not penalised */
    int decoupled;  /* 1: AdamW (p *= 1 - lr * weight_decay on every
                       parameter, as torch.optim.AdamW); 0: coupled (Adam) */
} AdamOptions;

/* Number of parameters of the shallow model (U -> hidden -> U), or 0 when it
 * overflows size_t. */
size_t model_param_count(int num_users, int hidden);

/* Number of parameters of the stack width[0] -> ... -> width[num_layers]
 * (num_layers in 1..MODEL_MAX_LAYERS, widths >= 1), or 0 when it is
 * invalid or overflows size_t. */
size_t model_param_count_layers(int num_layers, const int *width);

/* Bytes of parameters, gradients and both Adam moments of that stack (in
 * double: no overflow). */
double model_bytes_layers(int num_layers, const int *width);

/* Allocates a shallow model U -> hidden -> U (zeroed): model_create_layers
 * with widths {num_users, hidden, num_users}. */
int model_create(Model *model, int num_users, int hidden, size_t max_bytes,
                 char *err);

/* Allocates a model of num_layers layers (2..MODEL_MAX_LAYERS) with widths
 * width[0..num_layers] (width[0] == width[num_layers] = the users), zeroed.
 * Refuses, before allocating, a size whose parameter memory (4 copies)
 * exceeds max_bytes, with a message saying how much it would need.  Returns
 * 0 or -1 with err; free with model_free. */
int model_create_layers(Model *model, int num_layers, const int *width,
                        size_t max_bytes, char *err);

/* Frees the model's memory; accepts a zeroed model. */
void model_free(Model *model);

/* PyTorch-style initialisation: weights ~ Normal(0, 0.01), biases ~
 * Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)); moments and step reset. */
void model_init(Model *model, uint64_t seed);

void model_zero_grad(Model *model);

/* Copies one tensor set (&model->params, &model->grads, ...) to out in the
 * canonical PyTorch order and layout (layer by layer, w (out,in) then b; for
 * L = 2: enc_w (H,U), enc_b, dec_w (U,H), dec_b): num_params floats. */
void model_export(const Model *model, const ModelTensors *set, float *out);

/* The inverse: fills a tensor set from num_params floats in canonical
 * order. */
void model_import(Model *model, ModelTensors *set, const float *in);

/* One Adam step with PyTorch's coupled weight decay (grad + wd * param, on
 * every parameter), bias-corrected, as torch.optim.Adam (1.13, single-tensor
 * path); or, with opt->decoupled, AdamW's decoupled decay.  opt->l2 adds
 * 2 * l2 * W to the weight matrices' gradients only.  One vectorised pass over the parameters, which also zeroes each
 * gradient after using it (optimizer.zero_grad() folded in), so the
 * gradients are zero after model_create and after every step. */
void model_adam_step(Model *model, const AdamOptions *opt);

/* The fused exact Adam, for trainers that update a weight row as soon as
 * its gradient is complete: model_adam_begin, then every weight row and
 * bias once through model_adam_weight_rows / model_adam_bias or
 * adam_span, gives the same numbers as model_adam_step.  Only for what
 * model_adam_fusable accepts. */

/* 1 when the fused path applies: coupled decay, no l2, the shallow model
 * with its encoder weight stored transposed (rows indexed by user). */
int model_adam_fusable(const Model *model, const AdamOptions *opt);

/* Advances model->step and fills *s with the step's scalars. */
void model_adam_begin(Model *model, const AdamOptions *opt, AdamStep *s);

/* Fills *s with the scalars of step number `step` (1-based) of opt, those
 * model_adam_begin gives when it advances model->step to `step`. */
void model_adam_scalars(const AdamOptions *opt, long step, AdamStep *s);

/* row_state values of model_adam_weight_rows */
enum { MODEL_ROW_ZERO = 0, MODEL_ROW_GRAD = 1, MODEL_ROW_DONE = 2 };

/* Adam on layer l's weight row by row (rows as stored: users for the
 * transposed encoder and the decoder): MODEL_ROW_ZERO rows have a zero
 * gradient (grads not read), MODEL_ROW_GRAD rows their gradient in grads
 * (read, then zeroed), MODEL_ROW_DONE rows are skipped.  Parallel over
 * rows. */
void model_adam_weight_rows(Model *model, int l, const uint8_t *row_state,
                            const AdamStep *s);

/* Adam on the n listed weight rows of layer l (rows as stored, each listed
 * once; user ids) with their gradients in grads (read, then zeroed), each
 * followed, with ahead, by the zero-gradient steps after it
 * (adam_ahead_row); the other rows are left alone (lazy Adam, or rows that
 * took this step ahead).  Parallel over the list. */
void model_adam_listed_rows(Model *model, int l, const int32_t *rows, int n,
                            const AdamStep *s, const AdamAhead *ahead);

/* Adam on layer l's bias with its gradient in grads (then zeroed). */
void model_adam_bias(Model *model, int l, const AdamStep *s);

/* sum over layers of |w[l]|^2 of the parameters (biases excluded), summed in
 * double over fixed chunks, so the result does not depend on the thread
 * count. */
double model_weight_sq(const Model *model);

/* The naive reference of model_adam_step, kept for tests. */
void model_adam_step_naive(Model *model, const AdamOptions *opt);

#endif
