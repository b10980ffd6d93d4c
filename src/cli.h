/* cli.h - the command-line layer every command shares: exit codes, option
 * parsing, number parsing, the signal setup and the shared defaults.
 *
 * A command lists its options in a table of CliOpt (ended by an entry whose
 * name is NULL) and calls cli_parse once.  The conventions are the same for
 * every command:
 *   -h, --help         anywhere before "--": the command's usage on stdout,
 *                      exit status 0
 *   --opt VALUE, --opt=VALUE   every option that takes a value
 *   --                 ends the options: what follows is positional
 *   an unknown option, a missing or bad value, a positional argument the
 *   command does not take: a message "autorec CMD: ..." on stderr naming
 *   the argument, exit status 2 (EXIT_USAGE)
 * Integers, reals and durations are parsed by cli_int, cli_real and
 * cli_seconds, the one parser of each.  run, grid, slurm and bench take a
 * CONFIG and KEY=VALUE overrides (--set KEY=VALUE, or a bare KEY=VALUE
 * argument) into a CliConfig.
 *
 * No global mutable state (cli_signals sets up stop.h's). */
#ifndef AUTOREC_CLI_H
#define AUTOREC_CLI_H

#include <stdio.h>

/* The exit status of every command. */
enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,      /* runtime failure (I/O, database, divergence) */
    EXIT_USAGE = 2,       /* bad command line, config or data */
    EXIT_SIGINT = 130,    /* 128 + the signal that stopped it */
    EXIT_SIGTERM = 143
};

/* The results database of every command run without --db. */
#define CLI_DEFAULT_DB "runs/results.db"

/* The most --set and KEY=VALUE overrides one command line takes. */
#define CLI_MAX_SETS 256

typedef enum {
    CLI_FLAG,      /* no value: *(int *)dest = 1 */
    CLI_TEXT,      /* *(const char **)dest = the value (argv's) */
    CLI_INT,       /* *(int *)dest = an integer in min..max (cli_int) */
    CLI_LLONG,     /* *(long long *)dest = an integer in min..max */
    CLI_REAL,      /* *(double *)dest = a real in lo..hi (cli_real) */
    CLI_SECONDS,   /* *(double *)dest = seconds in lo..hi (cli_seconds) */
    CLI_SET,       /* appends the KEY=VALUE value to (CliConfig *)dest */
    CLI_CALL       /* call(spec's ctx, name, value) takes the value */
} CliKind;

/* One option of a command. */
typedef struct {
    const char *name;    /* "--workers"; NULL ends a table */
    const char *alias;   /* another spelling ("-o"), or NULL */
    CliKind kind;
    void *dest;          /* where the value goes (see CliKind) */
    long long min, max;  /* CLI_INT, CLI_LLONG */
    double lo, hi;       /* CLI_REAL, CLI_SECONDS */
    /* CLI_CALL: takes option opt's value.  Returns 0, or -1 with the
     * message printed ("autorec CMD: ..."). */
    int (*call)(void *ctx, const char *opt, const char *value);
} CliOpt;

/* The CONFIG of run, grid, slurm and bench and its overrides. */
typedef struct {
    const char *config;                /* CONFIG, or NULL */
    const char *sets[CLI_MAX_SETS];    /* "KEY=VALUE", in command-line order */
    int n_sets;
} CliConfig;

/* A command's command line. */
typedef struct {
    const char *cmd;             /* "grid": messages say "autorec grid: " */
    void (*usage)(FILE *f);      /* the help that -h / --help prints */
    const CliOpt *opts;          /* the options (ended by a NULL name) */
    const CliOpt *more;          /* a second table (a group shared by
                                    several commands), or NULL */
    /* positional arguments: with config, CONFIG and KEY=VALUE overrides;
     * else each goes to positional(ctx, arg) (0, or -1 printed); neither:
     * refused */
    CliConfig *config;
    int (*positional)(void *ctx, const char *arg);
    void *ctx;                   /* of positional and the CLI_CALL options */
    /* when set, a positional argument is required: "missing %s" (e.g.
     * "CONFIG (e.g. autorec run configs/seed.yaml)") */
    const char *missing;
} CliSpec;

/* Parses argv[1..argc-1] (argv[0] is the command name) as spec says,
 * filling the options' destinations.  Returns 0 when the command goes on,
 * 1 after -h/--help (the usage printed on stdout), or -1 with the message
 * printed on stderr. */
int cli_parse(const CliSpec *spec, int argc, char **argv);

/* The exit status a command returns when cli_parse returned r (1 or -1):
 * EXIT_OK after --help, EXIT_USAGE after a bad argument. */
int cli_parse_status(int r);

/* Parses s as a decimal integer in min..max into *out, printing nothing.
 * Returns 0, or -1 (not an integer, out of range, trailing text). */
int cli_int_value(const char *s, long long min, long long max,
                  long long *out);

/* Parses the value s of option opt of command cmd as an integer in
 * min..max.  Returns 0, or -1 with "autorec CMD: OPT: 'S' is not an
 * integer in MIN..MAX" printed. */
int cli_int(const char *cmd, const char *opt, const char *s, long long min,
            long long max, long long *out);

/* As cli_int for a real number in lo..hi ("is not a number in LO..HI"). */
int cli_real(const char *cmd, const char *opt, const char *s, double lo,
             double hi, double *out);

/* As cli_real for a duration in seconds ("is not a number of seconds in
 * LO..HI"); opt may name an environment variable. */
int cli_seconds(const char *cmd, const char *opt, const char *s, double lo,
                double hi, double *out);

/* The duration in environment variable name (unset or empty: *out is left
 * as it is) through cli_seconds.  Returns 0 or -1 (printed). */
int cli_env_seconds(const char *cmd, const char *name, double lo, double hi,
                    double *out);

/* Whether s is a "KEY=VALUE" override: a key of letters, digits, '_' and
 * '.' before the '=' (the Hydra convention). */
int cli_is_assignment(const char *s);

/* How a command takes signals (stop.h lists them); each command that needs
 * more than the default actions makes this one call. */
typedef enum {
    /* every stop signal (SIGINT, SIGTERM, SIGHUP, ...) sets stop_signal
     * instead of killing the process, which ends cleanly (exit 128 + N);
     * SIGPIPE and SIGXFSZ are ignored: run, grid and its workers, serve */
    CLI_SIGNALS_STOP,
    /* SIGPIPE and SIGXFSZ ignored, the rest left as it is: a reader that
     * went away (gnuplot, a closed pipe) is a write error, reported */
    CLI_SIGNALS_PIPE
} CliSignals;

void cli_signals(CliSignals how);

#endif
