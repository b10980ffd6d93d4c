/* run.h - the `autorec run` command. */
#ifndef AUTOREC_RUN_H
#define AUTOREC_RUN_H

#include <stdio.h>

/* Exit codes shared by the commands. */
enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,      /* runtime failure (I/O, database, divergence) */
    EXIT_USAGE = 2,       /* bad command line, config or data */
    EXIT_SIGINT = 130,
    EXIT_SIGTERM = 143
};

/* Runs `autorec run CONFIG [options]`; argv[0] is "run".  Returns the
 * process exit code. */
int run_main(int argc, char **argv);

/* Prints the run command's help to f. */
void run_usage(FILE *f);

#endif
