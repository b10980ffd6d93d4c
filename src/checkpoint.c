/* checkpoint.c - model checkpoints (see checkpoint.h). */
#include "checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activation.h"
#include "err.h"
#include "mem.h"
#include "outfile.h"

static const unsigned char CKPT_MAGIC[8] = {'A', 'U', 'T', 'O', 'R', 'E', 'C', 1};
#define CKPT_HEADER 32  /* magic + version + users + hidden + epoch + nparams */
/* version 2's layer block: layers, act_enc, act_dec, widths[L+1] */
#define CKPT_LAYERS_MAX (4 * (3 + MODEL_MAX_LAYERS + 1))

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ULL

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

_Static_assert(sizeof(float) == 4, "float is IEEE single precision");

/* The host is little-endian on every platform autorec builds for; the
 * parameters are written as raw floats, checked here once. */
static int host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

uint64_t ckpt_run_key(const char *started_at, const char *host,
                      const char *config_yaml) {
    const char *field[3] = {started_at, host, config_yaml};
    uint64_t h = FNV_OFFSET;
    for (int k = 0; k < 3; k++)   /* each field and its terminating NUL */
        h = fnv1a(h, field[k] ? field[k] : "", strlen(field[k] ? field[k] : "") + 1);
    return h;
}

int ckpt_save(const Model *model, int epoch, uint64_t run_key,
              const char *path, char *err) {
    float *buf = mem_alloc(model->num_params * sizeof *buf);
    if (!buf) return err_set(err, "out of memory writing checkpoint %s", path);
    model_export(model, &model->params, buf);
    int rc = ckpt_write(buf, model, epoch, run_key, path, err);
    mem_free(buf);
    return rc;
}

int ckpt_write(const float *buf, const Model *shape, int epoch,
               uint64_t run_key, const char *path, char *err) {
    unsigned char head[CKPT_HEADER], tail[8], layers[CKPT_LAYERS_MAX], key[8];
    OutFile out;
    char e2[ERR_MAX];
    const int L = shape->num_layers;
    const size_t nparams = shape->num_params, nlayers = 4 * (3 + (size_t)L + 1);
    if (!host_is_little_endian()) return err_set(err, "checkpoints need a little-endian host");
    memcpy(head, CKPT_MAGIC, 8);
    put_u32(head + 8, CKPT_VERSION);
    put_u32(head + 12, (uint32_t)shape->num_users);
    put_u32(head + 16, (uint32_t)shape->hidden);
    put_u32(head + 20, (uint32_t)epoch);
    put_u64(head + 24, (uint64_t)nparams);
    put_u32(layers, (uint32_t)L);
    put_u32(layers + 4, (uint32_t)shape->act_encoder);
    put_u32(layers + 8, (uint32_t)shape->act_decoder);
    for (int l = 0; l <= L; l++) put_u32(layers + 12 + 4 * l, (uint32_t)shape->width[l]);
    put_u64(key, run_key);
    uint64_t h = fnv1a(FNV_OFFSET, head, sizeof head);
    h = fnv1a(h, layers, nlayers);
    h = fnv1a(h, key, sizeof key);
    h = fnv1a(h, buf, nparams * sizeof *buf);
    put_u64(tail, h);
    if (outfile_open(&out, path, 0666, NULL, e2))
        return err_set(err, "cannot write checkpoint: %s", e2);
    FILE *f = out.f;
    if (fwrite(head, 1, sizeof head, f) != sizeof head ||
        fwrite(layers, 1, nlayers, f) != nlayers ||
        fwrite(key, 1, sizeof key, f) != sizeof key ||
        fwrite(buf, sizeof *buf, nparams, f) != nparams ||
        fwrite(tail, 1, sizeof tail, f) != sizeof tail) {
        err_set(err, "cannot write checkpoint %s: %s", path, strerror(errno));
        outfile_abort(&out);
        return -1;
    }
    if (outfile_commit(&out, e2))
        return err_set(err, "cannot write checkpoint: %s", e2);
    return 0;
}

int ckpt_load(Model *model, int enc_transposed, int *epoch, const char *path,
              char *err) {
    return ckpt_load_run(model, enc_transposed, NULL, epoch, path, err);
}

int ckpt_load_run(Model *model, int enc_transposed, const uint64_t *run_key,
                  int *epoch, const char *path, char *err) {
    unsigned char head[CKPT_HEADER], tail[8], key[8] = {0};
    struct stat st;
    float *buf = NULL;
    FILE *f = NULL;
    int rc = -1;
    memset(model, 0, sizeof *model);
    if (!host_is_little_endian()) return err_set(err, "checkpoints need a little-endian host");
    /* a FIFO or device would block or never end: only regular files */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return err_set(err, "checkpoint %s is not a regular file", path);
    f = fopen(path, "rb");
    if (!f) return err_set(err, "cannot open checkpoint %s: %s", path, strerror(errno));
    if (fread(head, 1, sizeof head, f) != sizeof head || memcmp(head, CKPT_MAGIC, 8) != 0) {
        err_set(err, "%s is not an autorec checkpoint (bad magic number)", path);
        goto done;
    }
    uint32_t version = get_u32(head + 8);
    if (version == 0) {
        err_set(err, "%s: corrupt checkpoint header (version 0)", path);
        goto done;
    }
    if (version > CKPT_VERSION) {
        err_set(err, "%s was written by a newer autorec (checkpoint version %u > %d): "
                "upgrade autorec", path, version, CKPT_VERSION);
        goto done;
    }
    uint32_t users = get_u32(head + 12), hidden = get_u32(head + 16);
    uint64_t nparams = get_u64(head + 24);
    unsigned char layers[CKPT_LAYERS_MAX];
    size_t nlayers = 0;
    int L = 2, width[MODEL_MAX_LAYERS + 1] = {(int)users, (int)hidden, (int)users};
    uint32_t act_enc = ACT_SIGMOID, act_dec = ACT_IDENTITY;
    if (version >= 2) {
        if (fread(layers, 1, 12, f) != 12) {
            err_set(err, "%s: truncated checkpoint (no layer block)", path);
            goto done;
        }
        uint32_t nl = get_u32(layers);
        act_enc = get_u32(layers + 4);
        act_dec = get_u32(layers + 8);
        if (nl < 2 || nl > MODEL_MAX_LAYERS || act_enc >= ACT_COUNT || act_dec >= ACT_COUNT) {
            err_set(err, "%s: corrupt checkpoint header (%u layers, activations "
                    "%u, %u)", path, nl, act_enc, act_dec);
            goto done;
        }
        L = (int)nl;
        nlayers = 4 * (3 + (size_t)L + 1);
        if (fread(layers + 12, 1, nlayers - 12, f) != nlayers - 12) {
            err_set(err, "%s: truncated checkpoint (layer widths)", path);
            goto done;
        }
        for (int l = 0; l <= L; l++) {
            uint32_t w = get_u32(layers + 12 + 4 * l);
            width[l] = w == 0 || w > (1u << 30) ? 0 : (int)w;
        }
    }
    if (users == 0 || hidden == 0 || users > (1u << 30) || hidden > (1u << 30) ||
        width[0] != (int)users || width[L] != (int)users || width[1] != (int)hidden ||
        model_param_count_layers(L, width) != nparams) {
        err_set(err, "%s: corrupt checkpoint header (users %u, hidden %u, %d "
                "layers, %llu parameters)", path, users, hidden, L,
                (unsigned long long)nparams);
        goto done;
    }
    const size_t nkey = version >= 3 ? sizeof key : 0;
    if (nkey && fread(key, 1, nkey, f) != nkey) {
        err_set(err, "%s: truncated checkpoint (no run identity)", path);
        goto done;
    }
    /* the file size must match the header before anything is allocated */
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size < CKPT_HEADER + nlayers + nkey + nparams * 4 + 8) {
        err_set(err, "%s: truncated checkpoint (%lld bytes, expected %llu parameters "
                "and a checksum)", path, (long long)st.st_size,
                (unsigned long long)nparams);
        goto done;
    }
    buf = mem_alloc((size_t)nparams * sizeof *buf);
    if (!buf) {
        err_set(err, "out of memory reading checkpoint %s", path);
        goto done;
    }
    if (fread(buf, sizeof *buf, (size_t)nparams, f) != nparams ||
        fread(tail, 1, sizeof tail, f) != sizeof tail) {
        err_set(err, "%s: truncated checkpoint (expected %llu parameters and a "
                "checksum)", path, (unsigned long long)nparams);
        goto done;
    }
    if (fgetc(f) != EOF) {
        err_set(err, "%s: trailing bytes after the checkpoint checksum", path);
        goto done;
    }
    uint64_t h = fnv1a(FNV_OFFSET, head, sizeof head);
    h = fnv1a(h, layers, nlayers);
    h = fnv1a(h, key, nkey);
    h = fnv1a(h, buf, (size_t)nparams * sizeof *buf);
    if (h != get_u64(tail)) {
        err_set(err, "%s: checksum mismatch: the checkpoint is corrupt", path);
        goto done;
    }
    if (run_key && !nkey) {
        err_set(err, "%s was written by an older autorec (checkpoint version "
                "%u) and does not record which run it belongs to (two "
                "databases in one directory shared checkpoints/ID.ckpt)", path,
                version);
        goto done;
    }
    if (run_key && get_u64(key) != *run_key) {
        err_set(err, "%s belongs to another run (its run identity %016llx "
                "is not this run's %016llx: another database in the same "
                "directory, or an earlier attempt of this run, wrote it)",
                path, (unsigned long long)get_u64(key),
                (unsigned long long)*run_key);
        goto done;
    }
    if (model_create_layers(model, L, width, (size_t)-1, err)) goto done;
    model->enc_transposed = enc_transposed;
    model->act_encoder = (int)act_enc;
    model->act_decoder = (int)act_dec;
    model_import(model, &model->params, buf);
    if (epoch) *epoch = (int)get_u32(head + 20);
    rc = 0;
done:
    if (rc) model_free(model);
    if (f) fclose(f);
    mem_free(buf);
    return rc;
}
