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
 *   -- version 3 only:
 *   run_key   u64      the identity of the run that wrote it (ckpt_run_key)
 *   --
 *   params    f32[nparams] canonical order (model_export): layer by layer,
 *                      w (out,in) then b
 *   checksum  u64      FNV-1a 64 of every byte before it
 * Version 1 files (no layer block) are the shallow sigmoid / identity model
 * U -> H -> U and still load, but not as a run's checkpoint (ckpt_load_run):
 * nothing in them says which database's run wrote them.
 * Files are written through outfile.h (a new temporary beside the target,
 * never following a link, renamed), so a crash never leaves a half-written
 * checkpoint under the real name. */
#ifndef AUTOREC_CHECKPOINT_H
#define AUTOREC_CHECKPOINT_H

#include "model.h"

#include <stdint.h>

#define CKPT_VERSION 3

/* The identity of a run as its checkpoint records it: a 64-bit hash of the
 * run's started_at (milliseconds), host and config_yaml columns (NULL is
 * hashed as "").  The same row copied by autorec merge keeps it; a run of
 * another database, or a later attempt of the same grid point, does not. */
uint64_t ckpt_run_key(const char *started_at, const char *host,
                      const char *config_yaml);

/* Writes the model's parameters, with run_key, to path atomically
 * (outfile.h).  Returns 0, or -1 with err naming the file. */
int ckpt_save(const Model *model, int epoch, uint64_t run_key,
              const char *path, char *err);

/* The same from parameters already in canonical order (model_export):
 * shape->num_params floats of a model with shape's layers and
 * activations. */
int ckpt_write(const float *params, const Model *shape, int epoch,
               uint64_t run_key, const char *path, char *err);

/* Reads a checkpoint into a new model (model_create_layers + import, with
 * its activations; the encoder
 * layout is canonical unless enc_transposed is set).  Refuses a file that is
 * missing, truncated, not an autorec checkpoint, from a newer version, or
 * whose checksum does not match.  *epoch (may be NULL) gets its epoch.
 * Returns 0 (free with model_free) or -1 with err. */
int ckpt_load(Model *model, int enc_transposed, int *epoch, const char *path,
              char *err);

/* As ckpt_load, and when run_key is not NULL also refuses a file whose run
 * identity is not *run_key, or that has none (versions 1 and 2): the
 * checkpoint of a run must be that run's.  Also refuses a path that is not
 * a regular file (a FIFO would block). */
int ckpt_load_run(Model *model, int enc_transposed, const uint64_t *run_key,
                  int *epoch, const char *path, char *err);

#endif
