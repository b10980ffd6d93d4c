/* serve.h - `autorec serve`: a read-only web dashboard over the results
 * database (experiments, runs, one run, compare, grid heat map) and its
 * JSON API.
 *
 * Parts, one job each:
 *   serve.c          command line, start, signals, clean shutdown
 *   serve_http.c     libmicrohttpd glue: routing, headers, static files
 *   serve_buf.c      growable text buffers (SBuf)
 *   serve_escape.c   HTML, JSON and URL escaping into an SBuf
 *   serve_select.c   the SQL of what is shown: run selection from request
 *                    parameters, experiments list, one run, its epochs
 *   serve_api.c      the JSON endpoints (/api/...)
 *   serve_page_list.c     the experiments (/) and runs (/runs) pages
 *   serve_page_run.c      one run (/run/ID)
 *   serve_page_compare.c  runs side by side (/compare?ids=...)
 *   serve_page_grid.c     a grid's heat map (/grid?experiment=...)
 *   serve_layout.c   the page frame (head, navigation, footer) and errors
 *   web/             the page's own script and style, compiled in
 *                    (tools/embed_web.sh); the chart library (dygraphs)
 *                    is served from its Debian package's files.
 *
 * Safety: the database is opened read-only (db_open_query; WAL readers
 * never block the writer); every value from the database or the request
 * reaches HTML or JSON only through serve_escape.c; filters go through the
 * --where parser (query_where.c), so request text never becomes SQL. */
#ifndef AUTOREC_SERVE_H
#define AUTOREC_SERVE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "query.h"

#define SERVE_DEFAULT_PORT 8080
#define SERVE_DEFAULT_HOST "127.0.0.1"
/* The chart library, from Debian's libjs-dygraphs. */
#define SERVE_DYGRAPHS_DIR "/usr/share/javascript/dygraphs"
/* Rows per page of the runs table and of /api/runs (limit's default and
 * maximum). */
#define SERVE_PAGE_ROWS 100
#define SERVE_MAX_ROWS 1000
/* Runs on one compare page. */
#define SERVE_COMPARE_MIN 2
#define SERVE_COMPARE_MAX 8

/* The honest result of a run: the refit model's test RMSE if a refit ran,
 * else the test RMSE of the epoch selected on the validation split, else
 * (no validation: the selected epoch is the last) the final epoch's.  An
 * column of runs and run_summary (schema 6), written by the run itself;
 * the dashboard names it here only. */
#define SERVE_RESULT_SQL "result_test_rmse"

/* ------------------------------------------------------------ buffer -- */

/* A growable NUL-terminated text.  Errors are sticky: after an allocation
 * failure every call is a no-op and oom stays 1. */
typedef struct {
    char *p;       /* owned; NULL until the first append */
    size_t len, cap;
    int oom;
} SBuf;

/* Appends n bytes of s. */
void sb_add(SBuf *b, const char *s, size_t n);
/* Appends the string s. */
void sb_puts(SBuf *b, const char *s);
/* Appends printf-style text (callers pass only numbers or escaped text). */
void sb_printf(SBuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees b's text and zeroes it; accepts NULL. */
void sb_free(SBuf *b);
/* Hands b's text to the caller (free with mem_free) and zeroes b.  Returns
 * the text ("" allocated when b was empty), or NULL when b ran out of
 * memory (b is then freed). */
char *sb_take(SBuf *b);

/* ---------------------------------------------------------- escaping -- */

/* Appends s (NULL: nothing) with & < > " ' as HTML entities: safe in text
 * and in quoted attribute values. */
void sb_html(SBuf *b, const char *s);
/* Appends s as a JSON string literal with its quotes (NULL: null).  Also
 * escapes < > & and the line separators, so the JSON is safe anywhere. */
void sb_json_str(SBuf *b, const char *s);
/* Appends s percent-encoded for a URL query value (RFC 3986 unreserved
 * characters kept). */
void sb_url(SBuf *b, const char *s);
/* Appends a JSON number for v (null when not finite). */
void sb_json_real(SBuf *b, double v);
/* Appends column i of st as JSON: null, an integer, a number or a
 * string. */
void sb_json_col(SBuf *b, sqlite3_stmt *st, int i);
/* Appends column i of st as HTML text: "" for NULL, REAL with real_fmt
 * (e.g. "%.4f"), text escaped. */
void sb_html_col(SBuf *b, sqlite3_stmt *st, int i, const char *real_fmt);

/* ----------------------------------------------------------- requests -- */

/* One request, as the handlers see it. */
typedef struct {
    const char *path;       /* "/run/12" */
    void *conn;             /* the libmicrohttpd connection */
    sqlite3 *db;            /* read-only, owned by the server */
    const char *db_path;
} ServeReq;

/* A reply under construction.  status 0 means "not set" (200). */
typedef struct {
    int status;
    const char *type;       /* static content type */
    SBuf body;
    const unsigned char *data;   /* instead of body: static bytes */
    size_t data_len;
    const char *file;       /* instead of body: a file to send (static) */
    int cache;              /* 1: may be cached (static assets) */
    char err[ERR_MAX];      /* a handler's message when it returns -1 */
} ServeReply;

/* The value of query parameter key of req, or NULL (owned by the
 * connection, valid during the request). */
const char *serve_arg(const ServeReq *req, const char *key);

/* Calls fn(ctx, value) for every value of query parameter key (repeated
 * keys: ?id=1&id=2).  Returns the number of values. */
int serve_args(const ServeReq *req, const char *key,
               void (*fn)(void *ctx, const char *value), void *ctx);

/* Sets rep to an error: status, and msg (escaped) as an HTML page, or as
 * {"error": msg} when json.  Returns 0 (the request was handled). */
int serve_error(ServeReply *rep, int status, int json, const char *msg);

/* ------------------------------------------------------------ layout -- */

/* Appends the page head and navigation (title escaped; active names the
 * navigation entry: "experiments", "runs", "compare" or NULL), opening
 * <main>.  live: 1 adds data-live to <body> (the script then refreshes the
 * page's [data-part] elements every few seconds). */
void serve_page_begin(SBuf *b, const char *title, const char *active,
                      int live);
/* Closes <main>, the body and the document. */
void serve_page_end(SBuf *b);
/* Appends the CSS class of a run status ("st-finished", ...). */
void serve_status_class(SBuf *b, const char *status);

/* ---------------------------------------------------------- handlers -- */

/* Each handler fills rep (status, type, body) and returns 0; or returns -1
 * when it ran out of memory or the database failed (rep then 500). */
int serve_api_experiments(const ServeReq *req, ServeReply *rep);
int serve_api_runs(const ServeReq *req, ServeReply *rep);
int serve_api_run(const ServeReq *req, ServeReply *rep, sqlite3_int64 id);
int serve_api_epochs(const ServeReq *req, ServeReply *rep, sqlite3_int64 id);

int serve_page_experiments(const ServeReq *req, ServeReply *rep);
int serve_page_runs(const ServeReq *req, ServeReply *rep);
int serve_page_run(const ServeReq *req, ServeReply *rep, sqlite3_int64 id);
int serve_page_compare(const ServeReq *req, ServeReply *rep);
int serve_page_grid(const ServeReq *req, ServeReply *rep);

/* ------------------------------------------------------ shared queries -- */

/* The SQL of the experiments list (one row per experiment of the
 * experiments table, then one per config name of runs outside any grid),
 * columns: id (NULL for plain runs), name, axes, size, runs, finished,
 * running, failed (failed, diverged or interrupted), best result, best
 * run, started_at, last heartbeat (ISO text).  Static. */
const char *serve_experiments_sql(void);

/* The run selection of a request (?experiment= &status= &where= &sort=
 * &limit= &offset=) as a filter, an ORDER BY and a page.  Returns 0, or
 * -1 with err (a message for a 400 reply).  Free f with
 * query_filter_free. */
typedef struct {
    char order[1100];
    long limit, offset;
} ServePage;
int serve_run_select(const ServeReq *req, QFilter *f, ServePage *pg,
                     char *err);

/* The page of a request (?limit= 1..SERVE_MAX_ROWS, default
 * SERVE_PAGE_ROWS; ?offset=) into pg->limit and pg->offset.  Returns 0, or
 * -1 with err (a message for a 400 reply). */
int serve_page_args(const ServeReq *req, ServePage *pg, char *err);

/* The SQL counting the rows of serve_experiments_sql (no parameters).
 * Static. */
const char *serve_experiments_count_sql(void);

/* Counts the runs matching f into *total.  Returns 0 or -1 with err. */
int serve_run_count(sqlite3 *db, const QFilter *f, sqlite3_int64 *total,
                    char *err);
/* Prepares SELECT cols (program text) FROM run_summary, filtered by f,
 * ordered and paged by pg, into *st (owned by the caller), with every
 * value bound; *rc gets the binds' result for query_step.  Returns 0 or -1
 * with err. */
int serve_run_page(sqlite3 *db, const char *cols, const QFilter *f,
                   const ServePage *pg, sqlite3_stmt **st, int *rc,
                   char *err);

/* The SQL of one run (?1 its id): every run_summary column, config_yaml,
 * git_commit, blis_info, heartbeat (ISO text) and result_test_rmse.
 * Static. */
const char *serve_run_sql(void);
/* The SQL of a run's epochs (?1 its id), or of its refit epochs when
 * refit, in epoch order.  Static. */
const char *serve_epochs_sql(int refit);

/* Appends the rows of st (stepped here from rc, the result of the last
 * bind) as a JSON array of objects keyed by column name.  Returns the
 * number of rows, or -1 with err when the step failed. */
int serve_json_rows(SBuf *b, sqlite3 *db, sqlite3_stmt *st, int rc,
                    char *err);

/* Parses a run id from a path segment ("12").  Returns 0 or -1. */
int serve_parse_id(const char *s, sqlite3_int64 *id);

/* --------------------------------------------------------- web assets -- */

typedef struct {
    const char *name;             /* "app.js" */
    const char *type;             /* content type */
    const unsigned char *data;
    size_t len;
} ServeAsset;

/* The files of web/, ended by a NULL name (build/web_assets.c). */
extern const ServeAsset serve_assets[];

/* ------------------------------------------------------------ server -- */

typedef struct ServeServer ServeServer;

/* Starts answering HTTP on host:port (port 0: any free port, *bound_port
 * gets the one bound) from a thread of its own, reading db (read-only;
 * used by that thread only until serve_http_stop).  Returns 0 with *out
 * owned by the caller, or -1 with err. */
int serve_http_start(ServeServer **out, const char *host, int port,
                     sqlite3 *db, const char *db_path, int *bound_port,
                     char *err);
/* Stops the server (waiting for the request being answered) and frees it;
 * accepts NULL. */
void serve_http_stop(ServeServer *s);

/* The command. */
int serve_main(int argc, char **argv);
void serve_usage(FILE *f);

#endif
