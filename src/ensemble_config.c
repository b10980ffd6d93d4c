/* ensemble_config.c - the `ensemble:` section of a config: its members and
 * how their predictions are weighted (see ensemble.h).  The base config
 * around the section is read by cfg.c (cfg_load_file_ensemble); this file
 * reads the section itself with libyaml, applying each member's keys
 * through cfg_set_key, so a member is validated like any config.  No global
 * state. */
#include "ensemble.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "err.h"
#include "grid.h"
#include "mem.h"

#define ENS_FILE_MAX (1024 * 1024)   /* as cfg.c */

static const char *const weights_names[] = {"simplex", "nnls", "mean"};

const char *ens_weights_name(EnsWeights w) {
    return (int)w >= 0 && (int)w < 3 ? weights_names[w] : "invalid";
}

/* Reads the file at path (at most ENS_FILE_MAX bytes) into *buf (owned by
 * the caller, mem_free) and *len.  Returns 0, or -1 with err. */
static int read_file(const char *path, char **buf, size_t *len, char *err) {
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    *len = 0;
    if (!f) return err_set(err, "%s: cannot open config file: %s", path,
                           strerror(errno));
    char *b = mem_alloc(ENS_FILE_MAX + 1);
    if (!b) {
        fclose(f);
        return err_set(err, "%s: out of memory reading the config", path);
    }
    size_t n = fread(b, 1, ENS_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > ENS_FILE_MAX) {
        mem_free(b);
        return err_set(err, "%s: %s", path, bad ? "cannot read the config "
                       "file" : "config file over the 1 MiB limit");
    }
    *buf = b;
    *len = n;
    return 0;
}

typedef struct {
    yaml_parser_t p;
    const char *path;
    char *err;
} EnsParser;

/* Next event into *ev.  Returns 0 (caller deletes *ev), or -1 with err
 * naming the position (nothing to delete). */
static int next(EnsParser *E, yaml_event_t *ev) {
    if (yaml_parser_parse(&E->p, ev)) return 0;
    return err_set(E->err, "%s:%zu:%zu: %s", E->path,
                   E->p.problem_mark.line + 1, E->p.problem_mark.column + 1,
                   E->p.problem ? E->p.problem : "invalid YAML");
}

/* Consumes the rest of a node whose first event was ev (already
 * consumed).  Returns 0 or -1 with err. */
static int skip_rest(EnsParser *E, const yaml_event_t *first) {
    int depth = first->type == YAML_MAPPING_START_EVENT ||
                first->type == YAML_SEQUENCE_START_EVENT;
    while (depth > 0) {
        yaml_event_t ev;
        if (next(E, &ev)) return -1;
        if (ev.type == YAML_MAPPING_START_EVENT ||
            ev.type == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (ev.type == YAML_MAPPING_END_EVENT ||
                 ev.type == YAML_SEQUENCE_END_EVENT)
            depth--;
        yaml_event_delete(&ev);
    }
    return 0;
}

/* Positions E just after the top-level `ensemble` key (its value comes
 * next).  Returns 1 found, 0 not there, -1 with err. */
static int find_section(EnsParser *E, yaml_mark_t *at) {
    yaml_event_t ev;
    int depth = 0;
    for (;;) {
        if (next(E, &ev)) return -1;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (t == YAML_MAPPING_START_EVENT && depth == 0) {
            depth = 1;
            yaml_event_delete(&ev);
            break;
        }
        yaml_event_delete(&ev);
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_SCALAR_EVENT) return 0;
    }
    for (;;) {   /* key, value pairs of the top-level mapping */
        if (next(E, &ev)) return -1;
        if (ev.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        int hit = !strcmp((const char *)ev.data.scalar.value, "ensemble");
        *at = ev.start_mark;
        yaml_event_delete(&ev);
        if (hit) return 1;
        if (next(E, &ev)) return -1;
        int rc = skip_rest(E, &ev);
        yaml_event_delete(&ev);
        if (rc) return -1;
    }
}

int ens_detect(const char *path) {
    char *buf, err[ERR_MAX];
    size_t len;
    yaml_mark_t at;
    if (read_file(path, &buf, &len, err)) return 0;
    EnsParser E = {.path = path, .err = err};
    int found = 0;
    if (yaml_parser_initialize(&E.p)) {
        yaml_parser_set_input_string(&E.p, (const unsigned char *)buf, len);
        found = find_section(&E, &at) == 1;
        yaml_parser_delete(&E.p);
    }
    mem_free(buf);
    return found;
}

/* Appends s to the text (*t, *n used, *cap) growing it.  Returns 0 or -1
 * (out of memory). */
static int text_add(char **t, size_t *n, size_t *cap, const char *s) {
    size_t k = strlen(s);
    if (*n + k + 1 > *cap) {
        size_t c = (*n + k + 1) * 2;
        char *b = mem_realloc(*t, c);
        if (!b) return -1;
        *t = b;
        *cap = c;
    }
    memcpy(*t + *n, s, k + 1);
    *n += k;
    return 0;
}

/* Writes v into out (cap bytes) as a YAML flow scalar: as it is when it is
 * plain ([A-Za-z0-9._+-] and a list of those), else double-quoted. */
static void flow_scalar(const char *v, char *out, size_t cap) {
    int plain = *v != '\0';
    for (const char *c = v; *c && plain; c++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789._+-[], ", *c) != NULL;
    if (plain) {
        snprintf(out, cap, "%s", v);
        return;
    }
    size_t o = 0;
    out[o++] = '"';
    for (const char *c = v; *c && o + 3 < cap; c++) {
        if (*c == '"' || *c == '\\') out[o++] = '\\';
        out[o++] = *c;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* A member's select: grid as written: its keys, each key's values and
 * where the key stands (for errors). */
typedef struct {
    int n;                                          /* keys */
    char key[ENS_MAX_AXES][CFG_KEY_MAX];
    int nv[ENS_MAX_AXES];
    char val[ENS_MAX_AXES][ENS_MAX_CANDIDATES][64];
    char where[ENS_MAX_AXES][CFG_PATH_MAX + 96];
} EnsSelect;

/* Reads the value of key (its first event v, consumed by the caller) into
 * value (cap bytes): a scalar as it is, a list of scalars as "[a, b]".
 * Returns 0 or -1 with err (where prefixes it). */
static int read_value(EnsParser *E, const yaml_event_t *v, const char *key,
                      const char *where, char *value, size_t cap, char *err) {
    if (v->type == YAML_SCALAR_EVENT) {
        snprintf(value, cap, "%s", (const char *)v->data.scalar.value);
        return 0;
    }
    if (v->type != YAML_SEQUENCE_START_EVENT)
        return err_set(err, "%s: %s: expected a value (keys are dotted: "
                       "write {model.hidden: 1000}, not a nested mapping)",
                       where, key);
    size_t o = (size_t)snprintf(value, cap, "[");
    for (int j = 0;; j++) {
        yaml_event_t it;
        if (next(E, &it)) return -1;
        int end = it.type == YAML_SEQUENCE_END_EVENT;
        int ok = end || it.type == YAML_SCALAR_EVENT;
        if (ok && !end && o < cap)
            o += (size_t)snprintf(value + o, cap - o, "%s%s", j ? ", " : "",
                                  (const char *)it.data.scalar.value);
        yaml_event_delete(&it);
        if (!ok)
            return err_set(err, "%s: %s: list items must be single values",
                           where, key);
        if (end) break;
    }
    if (o < cap) snprintf(value + o, cap - o, "]");
    return 0;
}

/* Reads a member's select: mapping (its start event consumed) of dotted
 * keys to lists of values into *sel, checking each key against the member
 * keys written before it (plain, n_plain of them: a key is set in one
 * place), the ban on data.* and name, and the limits.  index: the member's
 * 1-based position.  Returns 0 or -1 with err. */
static int read_select(EnsParser *E, int index, char plain[][CFG_KEY_MAX],
                       int n_plain, EnsSelect *sel, char *err) {
    int total = 1;
    for (;;) {
        yaml_event_t k, v;
        char where[CFG_PATH_MAX + 96];
        if (next(E, &k)) return -1;
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            break;
        }
        snprintf(where, sizeof where, "%s:%zu:%zu: ensemble.members[%d]."
                 "select", E->path, k.start_mark.line + 1,
                 k.start_mark.column + 1, index);
        if (k.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&k);
            return err_set(err, "%s: keys must be dotted config keys such as "
                           "model.dropout", where);
        }
        char key[CFG_KEY_MAX];
        snprintf(key, sizeof key, "%s", (const char *)k.data.scalar.value);
        yaml_event_delete(&k);
        if (!strncmp(key, "data.", 5) || !strcmp(key, "name"))
            return err_set(err, "%s: %s: the candidates share the ensemble's "
                           "name and split (data.*): select model.* or "
                           "train.* keys", where, key);
        for (int i = 0; i < n_plain; i++)
            if (!strcmp(plain[i], key))
                return err_set(err, "%s: %s is also set in the member: set "
                               "it in one place (the member, or its select:)",
                               where, key);
        for (int i = 0; i < sel->n; i++)
            if (!strcmp(sel->key[i], key))
                return err_set(err, "%s: %s twice in one select:", where, key);
        if (sel->n == ENS_MAX_AXES)
            return err_set(err, "%s: more than %d keys (a select: grid is "
                           "small: at most %d candidates)", where,
                           ENS_MAX_AXES, ENS_MAX_CANDIDATES);
        const int a = sel->n;
        if (next(E, &v)) return -1;
        int is_seq = v.type == YAML_SEQUENCE_START_EVENT;
        yaml_event_delete(&v);
        if (!is_seq)
            return err_set(err, "%s: %s: expected a list of candidate values, "
                           "e.g. %s: [0.6, 0.75]", where, key, key);
        snprintf(sel->key[a], CFG_KEY_MAX, "%s", key);
        snprintf(sel->where[a], sizeof sel->where[a], "%s", where);
        sel->nv[a] = 0;
        for (;;) {
            yaml_event_t it;
            if (next(E, &it)) return -1;
            if (it.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&it);
                break;
            }
            int ok = it.type == YAML_SCALAR_EVENT &&
                     strlen((const char *)it.data.scalar.value) <
                         sizeof sel->val[a][0];
            if (ok && sel->nv[a] < ENS_MAX_CANDIDATES)
                snprintf(sel->val[a][sel->nv[a]], sizeof sel->val[a][0], "%s",
                         (const char *)it.data.scalar.value);
            yaml_event_delete(&it);
            if (!ok)
                return err_set(err, "%s: %s: the candidate values are single "
                               "values of at most %zu characters", where, key,
                               sizeof sel->val[a][0] - 1);
            if (++sel->nv[a] > ENS_MAX_CANDIDATES) break;
        }
        if (sel->nv[a] == 0)
            return err_set(err, "%s: %s: no candidate values", where, key);
        total *= sel->nv[a];
        sel->n++;
        if (total > ENS_MAX_CANDIDATES)
            return err_set(err, "%s: more than %d candidates (the product of "
                           "the lists' lengths): shrink the grid", where,
                           ENS_MAX_CANDIDATES);
    }
    if (sel->n == 0)
        return err_set(err, "%s: ensemble.members[%d]: select: is empty "
                       "(write select: {model.dropout: [0.6, 0.75]})",
                       E->path, index);
    return 0;
}

/* Appends sel as written ("select: {k: [a, b]}") to desc (cap bytes, dl
 * used) and its short form ("select dropout=0.6|0.75") to label. */
static void select_text(const EnsSelect *sel, char *desc, size_t cap,
                        size_t *dl, char *label, size_t label_cap, size_t *ll) {
    if (*dl < cap)
        *dl += (size_t)snprintf(desc + *dl, cap - *dl, "%sselect: {",
                                desc[*dl - 1] == '{' ? "" : ", ");
    if (*ll < label_cap)
        *ll += (size_t)snprintf(label + *ll, label_cap - *ll, "%sselect",
                                *ll ? " " : "");
    for (int a = 0; a < sel->n; a++) {
        const char *shortk = strrchr(sel->key[a], '.');
        if (*dl < cap)
            *dl += (size_t)snprintf(desc + *dl, cap - *dl, "%s%s: [",
                                    a ? ", " : "", sel->key[a]);
        if (*ll < label_cap)
            *ll += (size_t)snprintf(label + *ll, label_cap - *ll, " %s=",
                                    shortk ? shortk + 1 : sel->key[a]);
        for (int j = 0; j < sel->nv[a]; j++) {
            char q[80];
            flow_scalar(sel->val[a][j], q, sizeof q);
            if (*dl < cap)
                *dl += (size_t)snprintf(desc + *dl, cap - *dl, "%s%s",
                                        j ? ", " : "", q);
            if (*ll < label_cap)
                *ll += (size_t)snprintf(label + *ll, label_cap - *ll, "%s%s",
                                        j ? "|" : "", sel->val[a][j]);
        }
        if (*dl < cap) *dl += (size_t)snprintf(desc + *dl, cap - *dl, "]");
    }
    if (*dl < cap) *dl += (size_t)snprintf(desc + *dl, cap - *dl, "}");
}

/* Reads one member's value: a mapping of dotted keys to values (a scalar,
 * or a list of scalars written "[a, b]") applied to *m, and at most one
 * select: mapping read into *sel (sel->n 0 without), or a scalar: a config
 * file (relative to the ensemble config's directory) loaded over *m.  ev
 * is the member's first event (consumed).  Appends the member as written
 * to *desc and a short label ("hidden=1000 seed=1 select dropout=0.6|0.75")
 * to label, *plain_len its length before the select part.  Returns 0 or -1
 * with err. */
static int read_member(EnsParser *E, const yaml_event_t *first, int index,
                       Config *m, EnsSelect *sel, char *desc, size_t desc_cap,
                       char *label, size_t label_cap, size_t *plain_len,
                       char *err) {
    char where[CFG_PATH_MAX + 96];
    char plain[64][CFG_KEY_MAX];
    int n_plain = 0;
    sel->n = 0;
    *plain_len = 0;
    snprintf(where, sizeof where, "%s:%zu:%zu: ensemble.members[%d]", E->path,
             first->start_mark.line + 1, first->start_mark.column + 1, index);
    if (first->type == YAML_SCALAR_EVENT) {   /* a config file */
        const char *f = (const char *)first->data.scalar.value;
        char path[2 * CFG_PATH_MAX];
        const char *slash = strrchr(E->path, '/');
        if (f[0] == '/' || !slash)
            snprintf(path, sizeof path, "%s", f);
        else
            snprintf(path, sizeof path, "%.*s/%s", (int)(slash - E->path),
                     E->path, f);
        char e2[ERR_MAX];
        if (cfg_load_file(m, path, e2))
            return err_set(err, "%s: %s", where, e2);
        char q[CFG_PATH_MAX + 8];
        flow_scalar(path, q, sizeof q);
        snprintf(desc, desc_cap, "%s", q);
        const char *base = strrchr(path, '/');
        snprintf(label, label_cap, "%.*s", (int)label_cap - 1,
                 base ? base + 1 : path);
        return 0;
    }
    if (first->type != YAML_MAPPING_START_EVENT)
        return err_set(err, "%s: expected a mapping of config keys (e.g. "
                       "{model.hidden: 1000}) or a config file name", where);
    size_t dl = (size_t)snprintf(desc, desc_cap, "{"), ll = 0;
    label[0] = '\0';
    for (int pairs = 0;; pairs++) {
        yaml_event_t k, v;
        if (next(E, &k)) return -1;
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            break;
        }
        if (k.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&k);
            return err_set(err, "%s: keys must be dotted config keys such as "
                           "model.hidden", where);
        }
        char key[CFG_KEY_MAX], value[1024];
        snprintf(key, sizeof key, "%s", (const char *)k.data.scalar.value);
        snprintf(where, sizeof where, "%s:%zu:%zu: ensemble.members[%d]",
                 E->path, k.start_mark.line + 1, k.start_mark.column + 1,
                 index);
        yaml_event_delete(&k);
        if (!strncmp(key, "data.", 5) || !strcmp(key, "name"))
            return err_set(err, "%s: %s: the members share the ensemble's "
                           "name and split (data.*): set it at the top of the "
                           "config, not in a member", where, key);
        if (next(E, &v)) return -1;
        if (!strcmp(key, "select")) {
            int is_map = v.type == YAML_MAPPING_START_EVENT;
            yaml_event_delete(&v);
            if (!is_map)
                return err_set(err, "%s: select: expected a mapping of dotted "
                               "keys to candidate lists, e.g. select: "
                               "{model.dropout: [0.6, 0.75]}", where);
            if (sel->n)
                return err_set(err, "%s: select: twice in one member (list "
                               "every key in one select:)", where);
            if (read_select(E, index, plain, n_plain, sel, err)) return -1;
            continue;
        }
        for (int a = 0; a < sel->n; a++)
            if (!strcmp(sel->key[a], key)) {
                yaml_event_delete(&v);
                return err_set(err, "%s: %s is also in the member's select: "
                               "set it in one place", where, key);
            }
        int rc = read_value(E, &v, key, where, value, sizeof value, err);
        yaml_event_delete(&v);
        if (rc) return -1;
        if (cfg_set_key(m, key, value, where, err)) return -1;
        if (n_plain < 64) snprintf(plain[n_plain++], CFG_KEY_MAX, "%s", key);
        char q[1100];
        flow_scalar(value, q, sizeof q);
        if (dl < desc_cap)
            dl += (size_t)snprintf(desc + dl, desc_cap - dl, "%s%s: %s",
                                   dl > 1 ? ", " : "", key, q);
        const char *shortk = strrchr(key, '.');
        if (ll < label_cap)
            ll += (size_t)snprintf(label + ll, label_cap - ll, "%s%s=%s",
                                   ll ? " " : "", shortk ? shortk + 1 : key,
                                   value);
    }
    *plain_len = ll < label_cap ? ll : label_cap - 1;
    if (sel->n)
        select_text(sel, desc, desc_cap, &dl, label, label_cap, &ll);
    if (dl < desc_cap) snprintf(desc + dl, desc_cap - dl, "}");
    if (!label[0]) snprintf(label, label_cap, "base");
    return 0;
}

/* Forces member m onto the base's split and names it NAME.mI; refuses a
 * data key that differs (a config file member may set them).  Returns 0
 * or -1 with err. */
static int member_split(const EnsembleSpec *s, Config *m, int i,
                        const char *path, char *err) {
    const Config *b = &s->base;
    if (strcmp(m->data_path, b->data_path) || m->data_format != b->data_format ||
        m->split_kind != b->split_kind || m->test_ratio != b->test_ratio ||
        strcmp(m->train_file, b->train_file) ||
        strcmp(m->test_file, b->test_file) ||
        m->validation_ratio != b->validation_ratio ||
        m->split_seed != b->split_seed)
        return err_set(err, "%s: ensemble.members[%d]: its data.* keys differ "
                       "from the ensemble's: every member trains on the same "
                       "split (remove them from the member's file)", path, i);
    /* the split seed stays the base's when a member sets train.seed */
    m->split_seed = b->split_seed ? b->split_seed : b->seed + 1;
    m->split_repeats = b->split_repeats;
    m->split_index = 0;
    char name[CFG_NAME_MAX + 16];
    snprintf(name, sizeof name, "%s.m%d", b->name, i + 1);
    if (strlen(name) >= sizeof m->name)
        return err_set(err, "%s: name %s is too long for its members' names "
                       "(NAME.m%d): shorten it", path, b->name, i + 1);
    memcpy(m->name, name, strlen(name) + 1);
    return cfg_validate(m, err);
}

/* Resolves member i's select: grid into s->cand[i] (each combination of
 * sel's values over s->member[i], the last key varying fastest, named and
 * validated like the member) and s->cand_label[i] ("m3 " plain, the
 * member's own keys, then the candidate's values).  Returns 0 or -1 with
 * err (which names the key's file:line:column). */
static int build_candidates(EnsembleSpec *s, int i, const EnsSelect *sel,
                            const char *plain, size_t plain_len,
                            const char *path, char *err) {
    int n = 1;
    for (int a = 0; a < sel->n; a++) n *= sel->nv[a];
    s->cand[i] = mem_calloc((size_t)n, sizeof *s->cand[i]);
    s->cand_label[i] = mem_calloc((size_t)n, sizeof *s->cand_label[i]);
    if (!s->cand[i] || !s->cand_label[i])
        return err_set(err, "%s: out of memory resolving the %d candidates of "
                       "ensemble.members[%d]", path, n, i + 1);
    s->ncand[i] = n;
    for (int c = 0; c < n; c++) {
        Config *k = &s->cand[i][c];
        char *lab = s->cand_label[i][c];
        size_t ll = (size_t)snprintf(lab, ENS_LABEL_MAX, "m%d %.*s", i + 1,
                                     (int)plain_len, plain);
        *k = s->member[i];
        k->split_seed = s->base.split_seed;   /* member_split forces it */
        int stride = n;
        for (int a = 0; a < sel->n; a++) {
            stride /= sel->nv[a];
            const char *v = sel->val[a][(c / stride) % sel->nv[a]];
            const char *shortk = strrchr(sel->key[a], '.');
            if (cfg_set_key(k, sel->key[a], v, sel->where[a], err)) return -1;
            if (ll < ENS_LABEL_MAX)
                ll += (size_t)snprintf(lab + ll, ENS_LABEL_MAX - ll, "%s%s=%s",
                                       lab[ll - 1] == ' ' ? "" : " ",
                                       shortk ? shortk + 1 : sel->key[a], v);
        }
        if (member_split(s, k, i, path, err)) return -1;
    }
    return 0;
}

/* Applies the command-line overrides: ensemble.weights=V, the others to
 * the base.  Returns 0 or -1 with err. */
static int apply_sets(EnsembleSpec *s, const char *const *sets, int n,
                      char *err) {
    for (int i = 0; i < n; i++) {
        if (strncmp(sets[i], "ensemble.", 9)) {
            if (cfg_set_override(&s->base, sets[i], err)) return -1;
            continue;
        }
        const char *v = strchr(sets[i], '=');
        if (strncmp(sets[i], "ensemble.weights=", 17) || !v)
            return err_set(err, "--set %s: the only ensemble key that --set "
                           "takes is ensemble.weights (simplex, nnls or "
                           "mean)", sets[i]);
        int k = 0;
        while (k < 3 && strcmp(v + 1, weights_names[k])) k++;
        if (k == 3)
            return err_set(err, "--set %s: ensemble.weights is simplex, nnls "
                           "or mean", sets[i]);
        s->weights = (EnsWeights)k;
    }
    return 0;
}

/* Reads the section's mapping (weights, members) into s.  Returns 0 or -1
 * with err. */
static int read_section(EnsembleSpec *s, EnsParser *E, yaml_mark_t at,
                        EnsWeights *weights, int *have_weights, char **members,
                        char *err) {
    yaml_event_t ev;
    size_t tn = 0, tcap = 0;
    if (next(E, &ev)) return -1;
    int is_map = ev.type == YAML_MAPPING_START_EVENT;
    yaml_event_delete(&ev);
    if (!is_map)
        return err_set(err, "%s:%zu:%zu: ensemble: expected a mapping with "
                       "members: (a list) and weights:", E->path, at.line + 1,
                       at.column + 1);
    for (;;) {
        if (next(E, &ev)) return -1;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        char key[32];
        yaml_mark_t km = ev.start_mark;
        snprintf(key, sizeof key, "%s", ev.type == YAML_SCALAR_EVENT ?
                 (const char *)ev.data.scalar.value : "?");
        yaml_event_delete(&ev);
        if (next(E, &ev)) return -1;
        if (!strcmp(key, "weights") && ev.type == YAML_SCALAR_EVENT) {
            int k = 0;
            while (k < 3 && strcmp((const char *)ev.data.scalar.value,
                                   weights_names[k]))
                k++;
            yaml_event_delete(&ev);
            if (k == 3)
                return err_set(err, "%s:%zu:%zu: ensemble.weights: expected "
                               "simplex, nnls or mean", E->path, km.line + 1,
                               km.column + 1);
            *weights = (EnsWeights)k;
            *have_weights = 1;
            continue;
        }
        if (strcmp(key, "members") || ev.type != YAML_SEQUENCE_START_EVENT) {
            yaml_event_delete(&ev);
            return err_set(err, "%s:%zu:%zu: ensemble: unknown key or value "
                           "'%s' (the section takes members: a list of "
                           "member configs, and weights: simplex, nnls or "
                           "mean)", E->path, km.line + 1, km.column + 1, key);
        }
        yaml_event_delete(&ev);
        for (;;) {
            if (next(E, &ev)) return -1;
            if (ev.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&ev);
                break;
            }
            if (s->n == ENS_MAX_MEMBERS) {
                yaml_event_delete(&ev);
                return err_set(err, "%s:%zu:%zu: ensemble.members: more than "
                               "%d members", E->path, km.line + 1,
                               km.column + 1, ENS_MAX_MEMBERS);
            }
            char desc[2048], label[ENS_LABEL_MAX];
            EnsSelect sel;
            size_t plain_len;
            Config *m = &s->member[s->n];
            *m = s->base;
            int rc = read_member(E, &ev, s->n + 1, m, &sel, desc, sizeof desc,
                                 label, sizeof label, &plain_len, err);
            yaml_event_delete(&ev);
            if (rc || member_split(s, m, s->n, E->path, err) ||
                (sel.n && build_candidates(s, s->n, &sel, label, plain_len,
                                           E->path, err)))
                return -1;
            snprintf(s->label[s->n], ENS_LABEL_MAX, "m%d %s", s->n + 1, label);
            if (text_add(members, &tn, &tcap, "    - ") ||
                text_add(members, &tn, &tcap, desc) ||
                text_add(members, &tn, &tcap, "\n"))
                return err_set(err, "out of memory reading the ensemble");
            s->n++;
        }
    }
    if (s->n == 0)
        return err_set(err, "%s:%zu:%zu: ensemble: no members (list them under "
                       "members:, e.g. - {} for the config itself)", E->path,
                       at.line + 1, at.column + 1);
    return 0;
}

void ens_spec_free(EnsembleSpec *s) {
    if (!s) return;
    for (int i = 0; i < ENS_MAX_MEMBERS; i++) {
        mem_free(s->cand[i]);
        mem_free(s->cand_label[i]);
        s->cand[i] = NULL;
        s->cand_label[i] = NULL;
        s->ncand[i] = 0;
    }
    mem_free(s->text);
    s->text = NULL;
}

int ens_load(EnsembleSpec *s, const char *path, const char *const *sets,
             int n_sets, char *err) {
    char *buf = NULL, *members = NULL;
    size_t len;
    yaml_mark_t at = {0, 0, 0};
    EnsWeights weights = ENS_SIMPLEX;
    int have_weights = 0, ret = -1, parser = 0;
    EnsParser E = {.path = path, .err = err};
    memset(s, 0, sizeof *s);
    cfg_defaults(&s->base);
    if (cfg_load_file_ensemble(&s->base, path, err)) return -1;
    s->weights = ENS_SIMPLEX;
    if (apply_sets(s, sets, n_sets, err) || cfg_validate(&s->base, err))
        return -1;
    EnsWeights from_sets = s->weights;
    int set_weights = 0;
    for (int i = 0; i < n_sets; i++)
        set_weights |= !strncmp(sets[i], "ensemble.weights=", 17);
    s->base.split_index = 0;
    if (read_file(path, &buf, &len, err)) goto done;
    if (!yaml_parser_initialize(&E.p)) {
        err_set(err, "%s: out of memory starting the YAML parser", path);
        goto done;
    }
    parser = 1;
    yaml_parser_set_input_string(&E.p, (const unsigned char *)buf, len);
    int found = find_section(&E, &at);
    if (found <= 0) {
        if (found == 0)
            err_set(err, "%s: no top-level ensemble: section", path);
        goto done;
    }
    if (read_section(s, &E, at, &weights, &have_weights, &members, err))
        goto done;
    s->weights = set_weights ? from_sets : weights;
    int selects = 0;
    for (int i = 0; i < s->n; i++) selects |= s->ncand[i] > 0;
    if (selects && s->base.validation_ratio == 0) {
        err_set(err, "%s: ensemble.members: select: chooses each member's "
                "candidate by validation RMSE: set "
                "data.split.validation_ratio (e.g. 0.1)", path);
        goto done;
    }
    if (s->weights != ENS_MEAN && s->base.validation_ratio == 0) {
        err_set(err, "%s: ensemble.weights: %s fits the weights on the "
                "validation split: set data.split.validation_ratio (e.g. "
                "0.1), or weights: mean", path, ens_weights_name(s->weights));
        goto done;
    }
    /* the section as it resolved: part of the ensemble run's config */
    size_t tl = strlen(members ? members : "") + 64;
    s->text = mem_alloc(tl);
    if (!s->text) {
        err_set(err, "out of memory reading the ensemble");
        goto done;
    }
    snprintf(s->text, tl, "ensemble:\n  weights: %s\n  members:\n%s",
             ens_weights_name(s->weights), members ? members : "");
    ret = 0;
done:
    if (parser) yaml_parser_delete(&E.p);
    mem_free(buf);
    mem_free(members);
    if (ret) ens_spec_free(s);
    return ret;
}

int ens_member_key(const Config *c, char out[24], char *err) {
    Config k = *c;
    char h[GRID_HASH_HEX];
    snprintf(k.name, sizeof k.name, "member");
    k.split_repeats = 1;   /* the split is the seed and the index */
    if (grid_config_hash(&k, 0, h, err)) return -1;
    snprintf(out, 24, "m%s", h);
    return 0;
}

void ens_pairs_key(const Dataset *ds, char out[24]) {
    uint64_t h = GRID_FNV_OFFSET;
    const size_t n[2] = {ds->n_val, ds->n_test};
    const Rating *r[2] = {ds->val, ds->test};
    for (int s = 0; s < 2; s++) {
        h = grid_fnv1a64(&n[s], sizeof n[s], h);
        for (size_t i = 0; i < n[s]; i++) {
            h = grid_fnv1a64(&r[s][i].user, sizeof r[s][i].user, h);
            h = grid_fnv1a64(&r[s][i].item, sizeof r[s][i].item, h);
        }
    }
    snprintf(out, 24, "%016llx", (unsigned long long)h);
}
