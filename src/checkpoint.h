/* checkpoint.h - saving and loading trained model parameters.
 *
 * File layout (little-endian):
 *   magic     8 bytes  "AUTOREC\x01"
 *   version   u32      CKPT_VERSION
 *   users     u32      input/output width U
 *   hidden    u32      H
 *   epoch     u32      epoch the parameters are from
 *   nparams   u64      model_param_count_layers(layers, widths)
 *   -- version 2 only:
 *   layers    u32      L (2 .. MODEL_MAX_LAYERS)
 *   act_enc   u32      Activation of the hidden layers
 *   act_dec   u32      Activation of the output layer
 *   widths    u32[L+1] U, hidden widths..., U (widths[1] == hidden)
 *   --
 *   params    f32[nparams] canonical order (model_export): layer by layer,
 *                      w (out,in) then b
 *   checksum  u64      FNV-1a 64 of every byte before it
 * Version 1 files (no layer block) are the shallow sigmoid / identity model
 * U -> H -> U and still load.
 * Files are written to a temporary name and renamed, so a crash never leaves
 * a half-written checkpoint under the real name. */
#ifndef AUTOREC_CHECKPOINT_H
#define AUTOREC_CHECKPOINT_H

#include "model.h"

#define CKPT_VERSION 2

/* Writes the model's parameters to path atomically (path.tmp, fsync,
 * rename).  Returns 0, or -1 with err naming the file. */
int ckpt_save(const Model *model, int epoch, const char *path, char *err);

/* The same from parameters already in canonical order (model_export):
 * shape->num_params floats of a model with shape's layers and
 * activations. */
int ckpt_write(const float *params, const Model *shape, int epoch,
               const char *path, char *err);

/* Reads a checkpoint into a new model (model_create_layers + import, with
 * its activations; the encoder
 * layout is canonical unless enc_transposed is set).  Refuses a file that is
 * missing, truncated, not an autorec checkpoint, from a newer version, or
 * whose checksum does not match.  *epoch (may be NULL) gets its epoch.
 * Returns 0 (free with model_free) or -1 with err. */
int ckpt_load(Model *model, int enc_transposed, int *epoch, const char *path,
              char *err);

#endif
