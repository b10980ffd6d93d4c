/* cli.c - option parsing, number parsing and the signal setup shared by
 * the commands (see cli.h).
 *
 * No global mutable state. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "stop.h"

/* The option of spec that argument arg spells ("--db", "--db=x", "-o"),
 * or NULL.  Sets *spelled to the spelling matched (the name or the alias)
 * and *value to the text after '=' (NULL without one). */
static const CliOpt *cli_find(const CliSpec *spec, const char *arg,
                              const char **spelled, const char **value) {
    const CliOpt *tables[2] = {spec->opts, spec->more};
    for (int t = 0; t < 2; t++)
        for (const CliOpt *o = tables[t]; o && o->name; o++) {
            const char *names[2] = {o->name, o->alias};
            for (int k = 0; k < 2; k++) {
                size_t n = names[k] ? strlen(names[k]) : 0;
                if (!n || strncmp(arg, names[k], n) != 0 ||
                    (arg[n] != '\0' && arg[n] != '='))
                    continue;
                *spelled = names[k];
                *value = arg[n] == '=' ? arg + n + 1 : NULL;
                return o;
            }
        }
    return NULL;
}

/* Appends override s ("KEY=VALUE") to c.  Returns 0 or -1 (printed,
 * naming command cmd). */
static int cli_add_set(const char *cmd, CliConfig *c, const char *s) {
    if (c->n_sets >= CLI_MAX_SETS) {
        fprintf(stderr, "autorec %s: more than %d --set and KEY=VALUE "
                        "overrides\n", cmd, CLI_MAX_SETS);
        return -1;
    }
    c->sets[c->n_sets++] = s;
    return 0;
}

/* Stores value v of option o (spelled opt) where o says.  Returns 0 or -1
 * (printed). */
static int cli_take(const CliSpec *spec, const CliOpt *o, const char *opt,
                    const char *v) {
    long long x;
    switch (o->kind) {
    case CLI_FLAG:
        *(int *)o->dest = 1;
        return 0;
    case CLI_TEXT:
        *(const char **)o->dest = v;
        return 0;
    case CLI_INT:
        if (cli_int(spec->cmd, opt, v, o->min, o->max, &x)) return -1;
        *(int *)o->dest = (int)x;
        return 0;
    case CLI_LLONG:
        return cli_int(spec->cmd, opt, v, o->min, o->max,
                       (long long *)o->dest);
    case CLI_REAL:
        return cli_real(spec->cmd, opt, v, o->lo, o->hi, (double *)o->dest);
    case CLI_SECONDS:
        return cli_seconds(spec->cmd, opt, v, o->lo, o->hi,
                           (double *)o->dest);
    case CLI_SET:
        return cli_add_set(spec->cmd, o->dest, v);
    case CLI_CALL:
        return o->call(spec->ctx, opt, v);
    }
    return -1;
}

/* A positional argument of spec.  Returns 0 or -1 (printed). */
static int cli_positional(const CliSpec *spec, const char *arg) {
    CliConfig *c = spec->config;
    if (c && cli_is_assignment(arg)) return cli_add_set(spec->cmd, c, arg);
    if (c && c->config) {
        fprintf(stderr, "autorec %s: more than one config ('%s' and '%s'); "
                        "overrides are KEY=VALUE, e.g. train.lr=0.001\n",
                spec->cmd, c->config, arg);
        return -1;
    }
    if (c) {
        c->config = arg;
        return 0;
    }
    if (spec->positional) return spec->positional(spec->ctx, arg);
    fprintf(stderr, "autorec %s: unexpected argument '%s' (see autorec %s "
                    "--help)\n", spec->cmd, arg, spec->cmd);
    return -1;
}

int cli_parse(const CliSpec *spec, int argc, char **argv) {
    int rest = 0, npos = 0;   /* rest: after "--", positional only */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *spelled, *value;
        if (rest || a[0] != '-' || a[1] == '\0') {
            if (cli_positional(spec, a)) return -1;
            npos++;
            continue;
        }
        if (!strcmp(a, "--")) {
            rest = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            spec->usage(stdout);
            return 1;
        }
        const CliOpt *o = cli_find(spec, a, &spelled, &value);
        if (!o) {
            fprintf(stderr, "autorec %s: unknown option '%s' (see autorec %s "
                            "--help)\n", spec->cmd, a, spec->cmd);
            return -1;
        }
        if (o->kind == CLI_FLAG && value) {
            fprintf(stderr, "autorec %s: %s takes no value (see autorec %s "
                            "--help)\n", spec->cmd, spelled, spec->cmd);
            return -1;
        }
        if (o->kind != CLI_FLAG && !value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "autorec %s: %s needs a value (see autorec "
                                "%s --help)\n", spec->cmd, spelled,
                        spec->cmd);
                return -1;
            }
            value = argv[++i];
        }
        if (cli_take(spec, o, spelled, value)) return -1;
    }
    if (spec->missing &&
        (spec->config ? !spec->config->config : npos == 0)) {
        fprintf(stderr, "autorec %s: missing %s\n", spec->cmd, spec->missing);
        return -1;
    }
    return 0;
}

int cli_parse_status(int r) { return r > 0 ? EXIT_OK : EXIT_USAGE; }

int cli_int_value(const char *s, long long min, long long max,
                  long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int cli_int(const char *cmd, const char *opt, const char *s, long long min,
            long long max, long long *out) {
    if (cli_int_value(s, min, max, out) == 0) return 0;
    if (max == LLONG_MAX)
        fprintf(stderr, "autorec %s: %s: '%s' is not an integer >= %lld\n",
                cmd, opt, s, min);
    else
        fprintf(stderr, "autorec %s: %s: '%s' is not an integer in "
                        "%lld..%lld\n", cmd, opt, s, min, max);
    return -1;
}

/* Parses s as a real in lo..hi into *out.  Returns 0 or -1. */
static int cli_real_value(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

int cli_real(const char *cmd, const char *opt, const char *s, double lo,
             double hi, double *out) {
    if (cli_real_value(s, lo, hi, out) == 0) return 0;
    fprintf(stderr, "autorec %s: %s: '%s' is not a number in %g..%g\n", cmd,
            opt, s, lo, hi);
    return -1;
}

int cli_seconds(const char *cmd, const char *opt, const char *s, double lo,
                double hi, double *out) {
    if (cli_real_value(s, lo, hi, out) == 0) return 0;
    fprintf(stderr, "autorec %s: %s: '%s' is not a number of seconds in "
                    "%g..%g\n", cmd, opt, s, lo, hi);
    return -1;
}

int cli_env_seconds(const char *cmd, const char *name, double lo, double hi,
                    double *out) {
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    return cli_seconds(cmd, name, v, lo, hi, out);
}

int cli_is_assignment(const char *s) {
    size_t kn = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789_.");
    return kn > 0 && s[kn] == '=';
}

void cli_signals(CliSignals how) {
    if (how == CLI_SIGNALS_STOP) stop_catch();
    else stop_ignore_pipes();
}
