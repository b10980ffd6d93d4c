/* run.h - the `autorec run` command. */
#ifndef AUTOREC_RUN_H
#define AUTOREC_RUN_H

#include <stdio.h>

/* Runs `autorec run CONFIG [options]`; argv[0] is "run".  Returns the
 * process exit code. */
int run_main(int argc, char **argv);

/* Prints the run command's help to f. */
void run_usage(FILE *f);

#endif
