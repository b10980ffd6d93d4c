/* help.c - `autorec help TOPIC [--markdown] [-o FILE]`: the generated
 * references (help_config.c, help_schema.c), to stdout or, through
 * outfile.c, to a file (what `make docs` writes into docs/).
 *
 * No global mutable state. */
#include "help.h"

#include <string.h>

#include "err.h"
#include "outfile.h"
#include "run.h"

typedef int (*HelpWriter)(FILE *f, int markdown, char *err);

static const struct {
    const char *name;
    HelpWriter write;
} topics[] = {
    {"config", help_config},
    {"schema", help_schema},
};
#define NTOPICS (sizeof topics / sizeof topics[0])

/* Returns 1 for a topic of `autorec help`, else 0. */
int help_is_topic(const char *name) {
    for (size_t i = 0; i < NTOPICS; i++)
        if (strcmp(name, topics[i].name) == 0) return 1;
    return 0;
}

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

/* Writes the topic's reference to stdout or -o FILE.  Returns the exit
 * code. */
int help_main(int argc, char **argv) {
    char err[ERR_MAX];
    const char *out = NULL;
    int markdown = 0;
    HelpWriter write = NULL;
    if (argc < 2) {
        help_usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < NTOPICS; i++)
        if (strcmp(argv[1], topics[i].name) == 0) write = topics[i].write;
    if (!write) {
        fprintf(stderr, "autorec help: unknown topic '%s' (topics: config, "
                "schema; or a command name, see autorec --help)\n", argv[1]);
        return EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--markdown")) {
            markdown = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            help_usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else {
            fprintf(stderr, "autorec help %s: %s '%s' (see autorec help "
                    "%s --help)\n", argv[1], strcmp(argv[i], "-o")
                    ? "unknown option" : "missing file name after", argv[i],
                    argv[1]);
            return EXIT_USAGE;
        }
    }
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
    fprintf(stderr, "autorec help %s: %s\n", argv[1], err);
    return EXIT_FAILED;
}
