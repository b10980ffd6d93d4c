/* serve.c - `autorec serve`: the command line, start-up and a clean stop
 * on SIGINT, SIGTERM or any other stop signal (stop.h; see serve.h). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "serve.h"
#include "stop.h"

void serve_usage(FILE *f) {
    fprintf(f,
"usage: autorec serve [--db PATH] [--port N] [--host ADDR]\n"
"\n"
"Serves a read-only dashboard of the results database: experiments, runs\n"
"(sortable, filtered with the --where language, live while a grid runs),\n"
"one run's curves, a comparison of 2-%d runs, a grid's heat map, and a\n"
"JSON API (/api/experiments, /api/runs, /api/runs/ID, /api/runs/ID/epochs).\n"
"The database is only read: a running grid keeps writing.  Stop with\n"
"Ctrl-C (SIGINT) or SIGTERM.\n"
"\n"
"options:\n"
"  --db PATH     results database (default " CLI_DEFAULT_DB ")\n"
"  --port N      TCP port (default %d; 0: any free port, printed)\n"
"  --host ADDR   address to listen on (default " SERVE_DEFAULT_HOST
": this\n"
"                machine only; 0.0.0.0 lets other machines connect)\n",
            SERVE_COMPARE_MAX, SERVE_DEFAULT_PORT);
}

int serve_main(int argc, char **argv) {
    const char *db_path = CLI_DEFAULT_DB, *host = SERVE_DEFAULT_HOST;
    char err[ERR_MAX];
    int port = SERVE_DEFAULT_PORT, bound = 0, r;
    sqlite3 *h = NULL;
    ServeServer *srv = NULL;
    sigset_t stop, old;
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &db_path},
        {.name = "--port", .kind = CLI_INT, .dest = &port, .min = 0,
         .max = 65535},
        {.name = "--host", .kind = CLI_TEXT, .dest = &host},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "serve", .usage = serve_usage, .opts = opts};

    if ((r = cli_parse(&spec, argc, argv))) return cli_parse_status(r);
    if (!*host) {
        fprintf(stderr, "autorec serve: --host is empty: pass an address "
                        "such as 127.0.0.1\n");
        return EXIT_USAGE;
    }
    if (db_open_query(&h, db_path, err)) {
        fprintf(stderr, "autorec serve: %s\n", err);
        return EXIT_FAILED;
    }
    /* a stop signal sets stop_signal; it is blocked in every thread (the
     * server's threads inherit this mask) but taken by sigsuspend below */
    cli_signals(CLI_SIGNALS_STOP);
    stop_signal_set(&stop);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    if (serve_http_start(&srv, host, port, h, db_path, &bound, err)) {
        fprintf(stderr, "autorec serve: %s\n", err);
        sqlite3_close(h);
        return EXIT_FAILED;
    }
    int v6 = strchr(host, ':') != NULL;
    printf("autorec serve: %s (read-only) at http://%s%s%s:%d/\n", db_path,
           v6 ? "[" : "", host, v6 ? "]" : "", bound);
    if (!strcmp(host, "127.0.0.1") || !strcmp(host, "::1") ||
        !strcmp(host, "localhost"))
        printf("autorec serve: listening on %s only: other machines cannot "
               "connect (--host 0.0.0.0 allows them)\n", host);
    else
        printf("autorec serve: listening on %s: other machines CAN connect "
               "(there is no login; --host 127.0.0.1 to keep it local)\n",
               host);
    printf("autorec serve: Ctrl-C stops\n");
    fflush(stdout);
    while (!stop_signal) sigsuspend(&old);
    serve_http_stop(srv);
    sqlite3_close(h);
    printf("autorec serve: stopped (%s)\n", stop_signal_name(stop_signal));
    return EXIT_OK;
}
