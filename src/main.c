/* main.c - the autorec command line: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "version.h"

static void usage(FILE *f) {
    fprintf(f,
"autorec %s - train AutoRec recommenders, every epoch into SQLite\n"
"\n"
"usage: autorec COMMAND [options]\n"
"\n"
"commands:\n"
"  run CONFIG    train the YAML experiment CONFIG (autorec run --help)\n"
"  version       print the version and the git commit it was built from\n"
"\n"
"Results go to runs/results.db (choose with --db); query them with sqlite3,\n"
"e.g. sqlite3 runs/results.db 'SELECT id, name, final_test_rmse FROM runs'.\n"
"See README.md for the schema and examples.\n", AUTOREC_VERSION);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        if (argc > 2 && !strcmp(argv[2], "run")) run_usage(stdout);
        else usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("autorec %s (commit %s)\n", AUTOREC_VERSION, version_git_commit());
        return EXIT_OK;
    }
    if (!strcmp(cmd, "run")) return run_main(argc - 1, argv + 1);
    fprintf(stderr, "autorec: unknown command '%s' (see autorec --help)\n", cmd);
    return EXIT_USAGE;
}
