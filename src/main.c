/* main.c - the autorec command line: dispatches to the subcommands.
 *
 * To add a command, write `int NAME_main(int argc, char **argv)` (argv[0] is
 * the command name, the return value the exit code) and a usage function in
 * its own file, and add one row to `commands` below. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "grid.h"
#include "help.h"
#include "merge.h"
#include "query.h"
#include "recommend.h"
#include "serve.h"
#include "run.h"
#include "slurm.h"
#include "synth.h"
#include "version.h"

static int version_main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("autorec %s (commit %s)\n", AUTOREC_VERSION, version_git_commit());
    return EXIT_OK;
}

typedef struct {
    const char *name;
    const char *synopsis;              /* one line for autorec --help */
    int (*main)(int argc, char **argv);
    void (*usage)(FILE *f);            /* may be NULL */
} Command;

static const Command commands[] = {
    {"run", "run CONFIG      train the YAML experiment CONFIG", run_main, run_usage},
    {"grid", "grid CONFIG     run (or resume) the grid search of CONFIG, N workers at once", grid_main, grid_usage},
    {"slurm", "slurm CONFIG    write (and --submit) a Slurm job array: one task per grid point", slurm_main, slurm_usage},
    {"merge", "merge SHARD...  merge the shard databases of Slurm tasks into the results database", merge_main, merge_usage},
    {"ls", "ls              list runs: status, parameters, best/final RMSE, time", query_ls_main, query_ls_usage},
    {"show", "show RUN        one run: config, host, build, per-epoch table", query_show_main, query_show_usage},
    {"compare", "compare RUN...  runs side by side: differing parameters, epochs in columns", query_compare_main, query_compare_usage},
    {"best", "best            the best run, per group (--by), or a pivot of two keys", query_best_main, query_best_usage},
    {"summary", "summary         mean, sd and 95% CI over the splits of repeats/folds experiments", query_summary_main, query_summary_usage},
    {"export", "export          runs and epochs as CSV or JSON (pandas, R)", query_export_main, query_export_usage},
    {"plot", "plot RUN...     learning curves into a PNG or SVG (gnuplot)", query_plot_main, query_plot_usage},
    {"serve", "serve           a read-only web dashboard of the results (http://127.0.0.1:8080/)", serve_main, serve_usage},
    {"recommend", "recommend       top unseen items for a user from a run's checkpoint", recommend_main, recommend_usage},
    {"bench", "bench           time each kernel and thread count (make bench)", bench_main, bench_usage},
    {"synth", "synth -o DIR    write a synthetic data set (low-rank model + noise)", synth_main, synth_usage},
    {"version", "version         print the version and the git commit", version_main, NULL},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f, "autorec %s - train AutoRec recommenders, every epoch into SQLite\n\n"
               "usage: autorec COMMAND [options]    (autorec COMMAND --help for more)\n\n"
               "commands:\n", AUTOREC_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %s\n", commands[i].synopsis);
    fprintf(f, "  help TOPIC      config: every config key; schema: the results database\n"
               "\nResults go to " CLI_DEFAULT_DB " (choose with --db); query them with sqlite3,\n"
               "e.g. sqlite3 " CLI_DEFAULT_DB " 'SELECT id, name, final_test_rmse FROM runs'.\n"
               "The tables: autorec help schema; examples: docs/results-db.md.\n");
}

/* Flushes and closes stdout after command name ran: output that could not
 * be written (a full disk, /dev/full, a closed pipe) must not end in exit
 * status 0.  Returns rc, or EXIT_FAILED with a message when rc was 0 and
 * stdout failed. */
static int finish_stdout(const char *name, int rc) {
    int bad = ferror(stdout);
    errno = 0;
    if (fflush(stdout) != 0) bad = 1;
    int e = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad || rc != EXIT_OK) return rc;
    fprintf(stderr, "autorec %s: cannot write the output (standard output): "
            "%s: free space or write it elsewhere\n", name,
            e ? strerror(e) : "write error");
    return EXIT_FAILED;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") && argc > 2) {
        /* help COMMAND: its usage; else a topic (help_main refuses an
         * unknown one) */
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (!strcmp(argv[2], commands[i].name) && commands[i].usage) {
                commands[i].usage(stdout);
                return finish_stdout("help", EXIT_OK);
            }
        return finish_stdout("help", help_main(argc - 1, argv + 1));
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return finish_stdout("help", EXIT_OK);
    }
    if (!strcmp(cmd, "--version")) return version_main(argc - 1, argv + 1);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(cmd, commands[i].name))
            return finish_stdout(cmd, commands[i].main(argc - 1, argv + 1));
    fprintf(stderr, "autorec: unknown command '%s' (see autorec --help)\n", cmd);
    return EXIT_USAGE;
}
