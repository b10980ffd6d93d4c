/* help.c - `autorec help TOPIC [--markdown] [-o FILE]`: the generated
 * references (help_config.c, help_schema.c), to stdout or, through
 * outfile.c, to a file (what `make docs` writes into docs/).
 *
 * No global mutable state. */
#include "help.h"

#include <string.h>

#include "err.h"
#include "outfile.h"
#include "cli.h"

typedef int (*HelpWriter)(FILE *f, int markdown, char *err);

static const struct {
    const char *name;
    HelpWriter write;
} topics[] = {
    {"config", help_config},
    {"schema", help_schema},
};
#define NTOPICS (sizeof topics / sizeof topics[0])

/* Prints the usage of `autorec help` to f. */
void help_usage(FILE *f) {
    fprintf(f,
"usage: autorec help config [--markdown] [-o FILE]\n"
"       autorec help schema [--markdown] [-o FILE]\n"
"       autorec help COMMAND          (the same as autorec COMMAND --help)\n"
"\n"
"References generated from the code, so they never drift from it:\n"
"  config   every config key, from the key table: what it accepts, its\n"
"           default and what it means (docs/config-keys.md)\n"
"  schema   the tables, views and indexes of a new results database,\n"
"           created by autorec in a temporary directory and read back\n"
"           (docs/schema.md)\n"
"\n"
"options:\n"
"  --markdown   Markdown instead of plain text\n"
"  -o FILE      write to FILE (a new file renamed into place) instead of\n"
"               standard output\n"
"  -h, --help   this help\n"
"\n"
"make docs writes both Markdown references into docs/; tests/cli_docs.sh\n"
"fails when they differ from what this command prints.\n"
"\n"
"exit status: 0 written, 1 the reference could not be made or written,\n"
"2 bad usage.\n");
}

/* CliSpec positional callback: takes the topic (ctx: the HelpWriter
 * slot), once.  Returns 0, or -1 with the message printed. */
static int help_topic_arg(void *ctx, const char *arg) {
    HelpWriter *write = ctx;
    if (*write) {
        fprintf(stderr, "autorec help: one topic at a time ('%s' is a second "
                "one; see autorec help --help)\n", arg);
        return -1;
    }
    for (size_t i = 0; i < NTOPICS; i++)
        if (strcmp(arg, topics[i].name) == 0) *write = topics[i].write;
    if (!*write) {
        fprintf(stderr, "autorec help: unknown topic '%s' (topics: config, "
                "schema; or a command name, see autorec --help)\n", arg);
        return -1;
    }
    return 0;
}

/* Writes the topic's reference to stdout or -o FILE.  Returns the exit
 * code. */
int help_main(int argc, char **argv) {
    char err[ERR_MAX];
    const char *out = NULL;
    int markdown = 0, r;
    HelpWriter write = NULL;
    const CliOpt opts[] = {
        {.name = "--markdown", .kind = CLI_FLAG, .dest = &markdown},
        {.name = "--output", .alias = "-o", .kind = CLI_TEXT, .dest = &out},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "help", .usage = help_usage, .opts = opts,
                    .positional = help_topic_arg, .ctx = &write,
                    .missing = "TOPIC (config or schema, e.g. autorec help "
                               "config --markdown)"};
    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    if (!out) {
        if (write(stdout, markdown, err)) goto fail;
        return EXIT_OK;
    }
    OutFile o;
    if (outfile_open(&o, out, 0666, NULL, err)) goto fail;
    if (write(o.f, markdown, err)) {
        outfile_abort(&o);
        goto fail;
    }
    if (outfile_commit(&o, err)) goto fail;
    return EXIT_OK;
fail:
    fprintf(stderr, "autorec help: %s\n", err);
    return EXIT_FAILED;
}
