/* test_cli.c - the command-line layer (src/cli.h): option tables, the
 * integer, real and duration parsers, "--", --help, KEY=VALUE overrides,
 * the messages of bad arguments and the signal setup. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "stop.h"
#include "test.h"

/* stderr goes to a temporary file while a parse runs, so its message can
 * be checked. */
static char cli_msg[1024];
static int cli_saved_fd = -1;
static FILE *cli_msg_file;

static void capture_begin(void) {
    fflush(stderr);
    cli_msg_file = tmpfile();
    cli_saved_fd = dup(fileno(stderr));
    if (cli_msg_file) dup2(fileno(cli_msg_file), fileno(stderr));
}

/* Restores stderr; the captured text goes to cli_msg. */
static void capture_end(void) {
    size_t n = 0;
    fflush(stderr);
    if (cli_saved_fd >= 0) {
        dup2(cli_saved_fd, fileno(stderr));
        close(cli_saved_fd);
        cli_saved_fd = -1;
    }
    cli_msg[0] = '\0';
    if (cli_msg_file) {
        rewind(cli_msg_file);
        n = fread(cli_msg, 1, sizeof cli_msg - 1, cli_msg_file);
        fclose(cli_msg_file);
        cli_msg_file = NULL;
    }
    cli_msg[n] = '\0';
}

static int usage_calls;
static void fake_usage(FILE *f) {
    (void)f;
    usage_calls++;
}

/* What a test command's options write into. */
typedef struct {
    const char *db, *name;
    int flag, workers;
    long long point;
    double rate, stale;
    CliConfig in;
    char called[64];
    const char *pos[8];
    int npos;
} Args;

static int take_call(void *ctx, const char *opt, const char *value) {
    Args *a = ctx;
    if (!strcmp(value, "bad")) {
        fprintf(stderr, "autorec t: %s: bad\n", opt);
        return -1;
    }
    snprintf(a->called, sizeof a->called, "%s=%s", opt, value);
    return 0;
}

static int take_pos(void *ctx, const char *arg) {
    Args *a = ctx;
    if (a->npos == 8) return -1;
    a->pos[a->npos++] = arg;
    return 0;
}

/* Parses the NULL-terminated words (after a command name) with the test
 * command's options into *a; config: CONFIG positionals, else take_pos
 * (positional) or none.  Returns cli_parse's result, its message in
 * cli_msg. */
static int parse(Args *a, int config, int positional, const char *missing,
                 const char *const *words) {
    char *argv[32];
    int argc = 0;
    memset(a, 0, sizeof *a);
    a->db = "default.db";
    a->point = -1;
    a->workers = 1;
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &a->db},
        {.name = "--output", .alias = "-o", .kind = CLI_TEXT,
         .dest = &a->name},
        {.name = "--flag", .kind = CLI_FLAG, .dest = &a->flag},
        {.name = "--workers", .kind = CLI_INT, .dest = &a->workers, .min = 1,
         .max = 8},
        {.name = "--point", .kind = CLI_LLONG, .dest = &a->point, .min = 0,
         .max = LLONG_MAX},
        {.name = "--rate", .kind = CLI_REAL, .dest = &a->rate, .lo = 0,
         .hi = 1},
        {.name = "--set", .kind = CLI_SET, .dest = &a->in},
        {.name = "--call", .kind = CLI_CALL, .call = take_call},
        {.name = NULL},
    };
    const CliOpt more[] = {
        {.name = "--stale", .kind = CLI_SECONDS, .dest = &a->stale,
         .lo = 0.5, .hi = 60},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "t", .usage = fake_usage, .opts = opts,
                    .more = more, .config = config ? &a->in : NULL,
                    .positional = positional ? take_pos : NULL, .ctx = a,
                    .missing = missing};
    argv[argc++] = "t";
    for (int i = 0; words[i] && argc < 31; i++) argv[argc++] = (char *)words[i];
    argv[argc] = NULL;
    capture_begin();
    int r = cli_parse(&spec, argc, argv);
    capture_end();
    return r;
}

/* Every kind of option, both spellings of a value, an alias, the second
 * table. */
static void test_cli_options(void) {
    Args a;
    const char *w[] = {"--db", "x.db", "-o=out.png", "--flag", "--workers=3",
                       "--point", "12", "--rate", "0.25", "--stale", "2.5",
                       "--set", "train.lr=0.1", "--call", "v", NULL};
    CHECK_MSG(parse(&a, 0, 0, NULL, w) == 0, "%s", cli_msg);
    CHECK(!strcmp(a.db, "x.db") && !strcmp(a.name, "out.png") && a.flag == 1);
    CHECK(a.workers == 3 && a.point == 12 && a.rate == 0.25 && a.stale == 2.5);
    CHECK(a.in.n_sets == 1 && !strcmp(a.in.sets[0], "train.lr=0.1"));
    CHECK(!strcmp(a.called, "--call=v"));
    CHECK(cli_msg[0] == '\0');
    const char *none[] = {NULL};
    CHECK(parse(&a, 0, 0, NULL, none) == 0 && !strcmp(a.db, "default.db") &&
          a.point == -1 && a.workers == 1);
    /* a value that looks like an option is still the value */
    const char *dash[] = {"--db", "--flag", NULL};
    CHECK(parse(&a, 0, 0, NULL, dash) == 0 && !strcmp(a.db, "--flag") &&
          a.flag == 0);
}

/* -h and --help print the usage and stop the parse (1), also after other
 * options, but not after "--". */
static void test_cli_help(void) {
    Args a;
    const char *h1[] = {"--db", "x", "-h", "--bogus", NULL};
    const char *h2[] = {"--help", NULL};
    const char *h3[] = {"--", "-h", NULL};
    usage_calls = 0;
    CHECK(parse(&a, 0, 0, NULL, h1) == 1 && usage_calls == 1);
    CHECK(parse(&a, 0, 0, NULL, h2) == 1 && usage_calls == 2);
    CHECK(parse(&a, 0, 1, NULL, h3) == 0 && usage_calls == 2 &&
          a.npos == 1 && !strcmp(a.pos[0], "-h"));
    CHECK(cli_parse_status(1) == EXIT_OK && cli_parse_status(-1) == EXIT_USAGE);
}

/* Bad arguments: -1 and one message naming the command and what was
 * wrong. */
static void test_cli_bad_arguments(void) {
    static const struct {
        const char *w[4];
        const char *msg;
    } bad[] = {
        {{"--bogus", NULL}, "autorec t: unknown option '--bogus' (see autorec t --help)\n"},
        {{"--db", NULL}, "autorec t: --db needs a value (see autorec t --help)\n"},
        {{"-o", NULL}, "autorec t: -o needs a value (see autorec t --help)\n"},
        {{"--flag=1", NULL}, "autorec t: --flag takes no value (see autorec t --help)\n"},
        {{"--workers", "9", NULL}, "autorec t: --workers: '9' is not an integer in 1..8\n"},
        {{"--workers", "2x", NULL}, "autorec t: --workers: '2x' is not an integer in 1..8\n"},
        {{"--workers=", NULL}, "autorec t: --workers: '' is not an integer in 1..8\n"},
        {{"--point", "-1", NULL}, "autorec t: --point: '-1' is not an integer >= 0\n"},
        {{"--point", "99999999999999999999", NULL}, "autorec t: --point: '99999999999999999999' is not an integer >= 0\n"},
        {{"--rate", "nan", NULL}, "autorec t: --rate: 'nan' is not a number in 0..1\n"},
        {{"--rate", "1.5", NULL}, "autorec t: --rate: '1.5' is not a number in 0..1\n"},
        {{"--stale", "0.1", NULL}, "autorec t: --stale: '0.1' is not a number of seconds in 0.5..60\n"},
        {{"--call", "bad", NULL}, "autorec t: --call: bad\n"},
        {{"extra", NULL}, "autorec t: unexpected argument 'extra' (see autorec t --help)\n"},
        {{"--", "extra", NULL}, "autorec t: unexpected argument 'extra' (see autorec t --help)\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        Args a;
        CHECK_MSG(parse(&a, 0, 0, NULL, bad[i].w) == -1, "case %zu", i);
        CHECK_MSG(!strcmp(cli_msg, bad[i].msg), "case %zu: '%s'", i, cli_msg);
    }
    Args a;
    const char *none[] = {NULL};
    CHECK(parse(&a, 0, 1, "RUN (an id)", none) == -1);
    CHECK_MSG(!strcmp(cli_msg, "autorec t: missing RUN (an id)\n"), "%s", cli_msg);
}

/* CONFIG and KEY=VALUE positionals: overrides in order with --set, "--"
 * makes what follows positional, one config only, a missing one named. */
static void test_cli_config_positionals(void) {
    Args a;
    const char *w[] = {"train.lr=0.1", "c.yaml", "--set", "model.hidden=8",
                       "--flag", "--", "--odd.yaml", "train.seed=3", NULL};
    CHECK_MSG(parse(&a, 1, 0, "CONFIG", w) == -1, "%s", cli_msg);
    CHECK(strstr(cli_msg, "more than one config ('c.yaml' and '--odd.yaml')"));
    const char *w2[] = {"train.lr=0.1", "--set", "model.hidden=8", "--flag",
                        "--", "--odd.yaml", "train.seed=3", NULL};
    CHECK_MSG(parse(&a, 1, 0, "CONFIG", w2) == 0, "%s", cli_msg);
    CHECK(a.in.config && !strcmp(a.in.config, "--odd.yaml") && a.flag == 1);
    CHECK(a.in.n_sets == 3 && !strcmp(a.in.sets[0], "train.lr=0.1") &&
          !strcmp(a.in.sets[1], "model.hidden=8") &&
          !strcmp(a.in.sets[2], "train.seed=3"));
    const char *only_sets[] = {"train.lr=0.1", NULL};
    CHECK(parse(&a, 1, 0, "CONFIG (e.g. c.yaml)", only_sets) == -1);
    CHECK(!strcmp(cli_msg, "autorec t: missing CONFIG (e.g. c.yaml)\n"));
    /* the override limit */
    char *argv[CLI_MAX_SETS + 3];
    CliConfig in;
    memset(&in, 0, sizeof in);
    CliSpec spec = {.cmd = "t", .usage = fake_usage, .config = &in};
    argv[0] = "t";
    for (int i = 1; i <= CLI_MAX_SETS + 1; i++) argv[i] = "a.b=1";
    capture_begin();
    int r = cli_parse(&spec, CLI_MAX_SETS + 1, argv);
    capture_end();
    CHECK(r == 0 && in.n_sets == CLI_MAX_SETS);
    memset(&in, 0, sizeof in);
    capture_begin();
    r = cli_parse(&spec, CLI_MAX_SETS + 2, argv);
    capture_end();
    CHECK(r == -1 && strstr(cli_msg, "more than 256 --set and KEY=VALUE"));
}

/* The one integer parser and the assignment test. */
static void test_cli_numbers(void) {
    long long v = 7;
    double d = 0;
    CHECK(cli_int_value("42", 0, 100, &v) == 0 && v == 42);
    CHECK(cli_int_value("-5", -10, 0, &v) == 0 && v == -5);
    CHECK(cli_int_value("9223372036854775807", 0, LLONG_MAX, &v) == 0 &&
          v == LLONG_MAX);
    v = 7;
    CHECK(cli_int_value("", 0, 9, &v) == -1 && v == 7);
    CHECK(cli_int_value("1.5", 0, 9, &v) == -1);
    CHECK(cli_int_value("3 ", 0, 9, &v) == -1);
    CHECK(cli_int_value("10", 0, 9, &v) == -1);
    CHECK(cli_int_value("9223372036854775808", 0, LLONG_MAX, &v) == -1);
    CHECK(v == 7);
    capture_begin();
    CHECK(cli_real("t", "--x", "1e-3", 0, 1, &d) == 0 && d == 1e-3);
    CHECK(cli_seconds("t", "--x", "inf", 0, 1e9, &d) == -1);
    capture_end();
    CHECK(cli_is_assignment("train.lr=0.1") && cli_is_assignment("a=") &&
          !cli_is_assignment("=1") && !cli_is_assignment("c.yaml") &&
          !cli_is_assignment("a b=1") && !cli_is_assignment("--set=a=1"));
}

/* An environment duration: unset or empty keeps the value, a bad one is an
 * error naming the variable. */
static void test_cli_env_seconds(void) {
    double d = 30;
    unsetenv("AUTOREC_TEST_SECONDS");
    CHECK(cli_env_seconds("t", "AUTOREC_TEST_SECONDS", 0.5, 60, &d) == 0 &&
          d == 30);
    setenv("AUTOREC_TEST_SECONDS", "", 1);
    CHECK(cli_env_seconds("t", "AUTOREC_TEST_SECONDS", 0.5, 60, &d) == 0 &&
          d == 30);
    setenv("AUTOREC_TEST_SECONDS", "2", 1);
    CHECK(cli_env_seconds("t", "AUTOREC_TEST_SECONDS", 0.5, 60, &d) == 0 &&
          d == 2);
    setenv("AUTOREC_TEST_SECONDS", "99", 1);
    capture_begin();
    CHECK(cli_env_seconds("t", "AUTOREC_TEST_SECONDS", 0.5, 60, &d) == -1);
    capture_end();
    CHECK(d == 2 && strstr(cli_msg, "AUTOREC_TEST_SECONDS: '99' is not a "
                                    "number of seconds in 0.5..60"));
    unsetenv("AUTOREC_TEST_SECONDS");
}

/* The action of sig. */
static void (*cli_action(int sig))(int) {
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) != 0) return SIG_ERR;
    return sa.sa_handler;
}

/* CLI_SIGNALS_PIPE ignores only SIGPIPE and SIGXFSZ; CLI_SIGNALS_STOP
 * catches the stop signals too. */
static void test_cli_signals(void) {
    signal(SIGINT, SIG_DFL);
    cli_signals(CLI_SIGNALS_PIPE);
    CHECK(cli_action(SIGPIPE) == SIG_IGN && cli_action(SIGXFSZ) == SIG_IGN);
    CHECK(cli_action(SIGINT) == SIG_DFL && cli_action(SIGTERM) == SIG_DFL);
    stop_default();
    CHECK(cli_action(SIGPIPE) == SIG_DFL);
    cli_signals(CLI_SIGNALS_STOP);
    CHECK(cli_action(SIGPIPE) == SIG_IGN);
    CHECK(cli_action(SIGINT) != SIG_DFL && cli_action(SIGINT) != SIG_IGN);
    CHECK(raise(SIGHUP) == 0 && stop_signal == SIGHUP);
    stop_default();
    stop_signal = 0;
    CHECK(cli_action(SIGINT) == SIG_DFL && cli_action(SIGHUP) == SIG_DFL);
}

void suite_cli(void) {
    RUN(test_cli_options);
    RUN(test_cli_help);
    RUN(test_cli_bad_arguments);
    RUN(test_cli_config_positionals);
    RUN(test_cli_numbers);
    RUN(test_cli_env_seconds);
    RUN(test_cli_signals);
}
