/* query.h - shared pieces of the query commands (ls, show, compare, best,
 * export, plot) and of the grid summary: the keys users may name, safe
 * filters, run selection and aligned text tables.
 *
 * Safety: user text never becomes SQL.  A filter (--where "hidden >= 300
 * and lr < 0.005") is parsed into SQL built only from whitelisted column
 * names, fixed operators and `?` placeholders; the literals are bound with
 * sqlite3_bind_*.  The commands also read through a read-only connection
 * (db_open_query). */
#ifndef AUTOREC_QUERY_H
#define AUTOREC_QUERY_H

#include <sqlite3.h>
#include <stdio.h>

#include "cli.h"
#include "query_columns.h"

/* ------------------------------------------------------------- keys -- */

/* The keys users may name are the columns of query_columns.h. */
typedef QColumn QKey;

/* The column named name (a key, an alias such as wd or best_rmse, or a
 * dotted config key such as model.hidden), or NULL. */
const QKey *query_key(const char *name);

/* Writes the accepted key names, comma-separated, into out (size n). */
void query_key_names(char *out, size_t n);

/* Parses spec "KEY[,KEY...]" (the value of option opt, for messages) into
 * keys (at most max).  Returns their number, or -1 with err naming an
 * unknown key and listing the accepted ones. */
int query_keys_parse(const char *spec, const char *opt, const QKey **keys,
                     int max, char *err);

/* ---------------------------------------------------------- filters -- */

#define QUERY_MAX_VALUES 64
#define QUERY_SQL_MAX 4096

typedef struct {
    int type;             /* SQLITE_INTEGER, SQLITE_FLOAT or SQLITE_TEXT */
    sqlite3_int64 i;
    double d;
    char *text;           /* owned */
} QValue;

/* A WHERE clause under construction: SQL text made of whitelisted pieces
 * and `?` placeholders, and the values to bind to them, in order. */
typedef struct {
    char sql[QUERY_SQL_MAX];  /* "" or "(...) AND (...)" */
    size_t len;
    int nvalues;
    QValue values[QUERY_MAX_VALUES];
} QFilter;

/* The run selection shared by ls, best, export and plot. */
typedef struct {
    const char *status;      /* NULL/"all", or statuses, comma-separated */
    const char *experiment;  /* NULL, or an experiment id or config name */
    const char *where;       /* NULL, or a filter expression */
    int all_matching;        /* --all-matching: every experiment of a name */
    int latest;              /* --latest: the newest experiment of a name */
} QSelect;

/* The selection options (--status, --experiment, --where, --all-matching,
 * --latest) as a cli.h table writing into sel: QUERY_SELECT_OPTS entries
 * into opts, the last one ending the table. */
#define QUERY_SELECT_OPTS 6
void query_select_opts(QSelect *sel, CliOpt opts[QUERY_SELECT_OPTS]);

/* Resolves sel->experiment (an id, or a config name) in h's experiments:
 * writes into id (size n) the id, or for a name the newest experiment of
 * that name.  Returns 0; 1 with err when it matches nothing, or when it is
 * a name several experiments share and neither sel->all_matching nor
 * sel->latest is set (err lists them: id, created, points, runs, config
 * hash); -1 with err on an SQLite failure. */
int query_experiment_resolve(sqlite3 *h, const QSelect *sel, char *id,
                             size_t n, char *err);

/* ANDs "the runs of sel->experiment" into f (nothing when NULL): its
 * resolved id, or with --all-matching every experiment of the name.
 * Returns 0, 1 (an error of the user: exit 2) or -1, with err. */
int query_filter_experiment(sqlite3 *h, QFilter *f, const QSelect *sel,
                            char *err);

/* ANDs "experiment = sel->experiment" (with sel->all_matching: every
 * experiment named sel->experiment) into f, unresolved.  Returns 0 or -1
 * with err. */
int query_filter_add_experiment(QFilter *f, const QSelect *sel, char *err);

/* Parses a filter expression and ANDs it into f:
 *   expr    := and ('or' and)*      and := primary ('and' primary)*
 *   primary := '(' expr ')' | 'not' primary | KEY OP VALUE
 *   OP      := = == != <> < <= > >= like        (like: text keys only)
 *   VALUE   := number | 'text' | "text" | bare-word
 * KEY is checked against the whitelist and its type.  Returns 0, or -1 with
 * err naming the offending text and its position (f then unusable). */
int query_where_parse(QFilter *f, const char *text, char *err);

/* Builds f (which must be zeroed) from the status and where of a
 * selection (the experiment needs the database: query_filter_experiment).
 * Returns 0 or -1 with err.  Free with query_filter_free. */
int query_filter_build(QFilter *f, const QSelect *sel, char *err);

/* ANDs the fixed SQL fragment sql (program text, never user text: column
 * names and at most one `?`) into f, with text (NULL: none) as the value
 * of its placeholder.  Returns 0 or -1 with err. */
int query_filter_and(QFilter *f, const char *sql, const char *text,
                     char *err);

/* Binds f's values to st from parameter index first on.  Returns an SQLite
 * result code. */
int query_filter_bind(sqlite3_stmt *st, const QFilter *f, int first);

/* The number of runs f selects, or -1 with err. */
long query_count_runs(sqlite3 *h, const QFilter *f, char *err);

/* Frees the texts of f and zeroes it; accepts NULL. */
void query_filter_free(QFilter *f);

/* Builds "ORDER BY ..." for --sort KEY[,-KEY...] (a leading '-' sorts
 * descending; NULLs always last) into out (size n).  Returns 0 or -1. */
int query_order_build(char *out, size_t n, const char *sort, char *err);

/* ----------------------------------------------------------- tables -- */

#define QT_MAX_COLS 128

/* An aligned text table.  Errors are sticky: after an allocation failure
 * every call is a no-op and qt_print returns -1. */
typedef struct {
    int ncols;
    const char *head[QT_MAX_COLS];
    int right[QT_MAX_COLS];   /* right-align (numbers) */
    const char *key[QT_MAX_COLS];  /* csv/json name (NULL: the heading) */
    char **cells;             /* nrows * ncols, owned */
    size_t nrows, cap;
    int oom;
} QTable;

void qt_init(QTable *t, int ncols);
/* Sets column col's heading (static or outliving t) and alignment. */
void qt_head(QTable *t, int col, const char *head, int right);
/* Sets column col's csv/json name (static or outliving t). */
void qt_key(QTable *t, int col, const char *key);
/* Starts a new row (cells empty). */
void qt_row(QTable *t);
/* Sets cell col of the current row, printf-style. */
void qt_set(QTable *t, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints the table (heading row, then rows; columns two spaces apart, no
 * trailing blanks).  Returns 0, or -1 if an allocation failed. */
int qt_print(const QTable *t, FILE *f);
void qt_free(QTable *t);

/* ----------------------------------------------- machine-readable output -- */

typedef enum { QFMT_TABLE, QFMT_CSV, QFMT_JSON } QFormatKind;

/* Parses --format s (NULL: table) into *out.  Returns 0, or -1 with
 * "autorec CMD: --format: ..." printed. */
int query_format_parse(const char *s, QFormatKind *out, const char *cmd);

/* Prints t as fmt: the aligned table, CSV (a heading of the column keys,
 * empty fields for "-"), or a JSON array of objects keyed by the column
 * keys (numbers as numbers, "-" as null).  Returns 0 or -1 (OOM). */
int qt_print_format(const QTable *t, QFormatKind fmt, FILE *out);

/* Ends a table t whose rows were read from st, rc the result of the last
 * step: when the read ended (SQLITE_DONE), prints t as fmt if it has rows
 * (or always, when `always` is set).  st and t stay the caller's.  Returns
 * the number of rows, or -1 with err ("cannot WHAT: ..." for a failed read,
 * or out of memory). */
int qt_print_read(const QTable *t, sqlite3_stmt *st, int rc, QFormatKind fmt,
                  int always, FILE *out, const char *what, char *err);

/* Steps st (bound; rc the result of the binds) and writes every row as
 * CSV (a heading of its column names) or a JSON array of objects (fmt not
 * QFMT_TABLE), raw values.  Returns the number of rows, or -1 when a step
 * failed (sqlite3_errmsg says why). */
int query_stmt_print(sqlite3_stmt *st, int rc, QFormatKind fmt, FILE *out);

/* s as a CSV field (quoted when it holds , " CR or LF). */
void query_csv_text(FILE *out, const char *s);
/* Column i of st as a CSV field (NULL: empty, reals exact). */
void query_csv_col(FILE *out, sqlite3_stmt *st, int i);
/* s as a JSON string. */
void query_json_text(FILE *out, const char *s);
/* Column i of st as a JSON value (NULL and non-finite reals: null). */
void query_json_col(FILE *out, sqlite3_stmt *st, int i);

/* ------------------------------------------------------- formatting -- */

/* real_fmt of query_col: a real in the shortest form that reads back
 * exactly (machine-readable output). */
#define QUERY_EXACT "exact"

/* Column i of st as text into buf (size n): "-" for NULL; REAL with
 * real_fmt (e.g. "%.4f", "%g", QUERY_EXACT); others as SQLite's text.
 * Returns buf. */
const char *query_col(sqlite3_stmt *st, int i, const char *real_fmt,
                      char *buf, size_t n);

/* v in the shortest "%.Ng" (N = 15..17) that reads back exactly, into buf
 * (size n >= 32).  Returns buf. */
const char *query_real(double v, char *buf, size_t n);

/* Seconds as "12.3s", "4m05s" or "2h07m" into buf.  Returns buf. */
const char *query_duration(double s, char *buf, size_t n);

/* Parses a run id ("14" or "#14").  Returns 0 or -1 with err. */
int query_run_id(const char *s, sqlite3_int64 *id, char *err);

/* The RUN arguments of show, compare and plot. */
typedef struct {
    const char *cmd;          /* for messages */
    sqlite3_int64 *ids;       /* max of them, the caller's */
    int n, max;
} QRunArgs;

/* A CliSpec positional callback: appends run id arg to the QRunArgs ctx.
 * Returns 0, or -1 with the message printed (not a run id, more than max
 * runs). */
int query_run_arg(void *ctx, const char *arg);

/* Steps st unless rc (the result of the previous bind or step) is an
 * error: loops read `while ((rc = query_step(st, rc)) == SQLITE_ROW)`.
 * Returns the SQLite result code. */
int query_step(sqlite3_stmt *st, int rc);

/* Prepares sql on h, printing nothing.  Returns 0 or -1 with err. */
int query_prepare(sqlite3 *h, const char *sql, sqlite3_stmt **st, char *err);

/* Prepares on h the epochs query of table ("epochs" or "refit_epochs"):
 * epoch, then every value of qcol_epoch_columns in order (NULL where the
 * table lacks it), for run ?1, by epoch.  Returns 0 or -1 with err. */
int query_epoch_stmt(sqlite3 *h, const char *table, sqlite3_stmt **st,
                     char *err);

/* Binds run id to parameter ?1 of st (prepared on h, selecting one row of
 * run id) and steps it.  Returns 0 at the row, 1 when there is no such run
 * ("no run N in PATH (see autorec ls)" in err), or -1 with err. */
int query_run_row(sqlite3 *h, sqlite3_stmt *st, sqlite3_int64 id, char *err);

/* ------------------------------------------- runs side by side (params) -- */

/* One run's values: every column of the column table as display text and
 * its stored resolved config flattened ("dotted.key: value" lines). */
typedef struct {
    sqlite3_int64 id;
    int ncol;
    char **col;       /* qcol_count() texts, owned */
    char *flat;       /* cfg_to_flat of the stored config, owned; NULL when
                         none was recorded or it no longer loads */
} QRunValues;

/* Reads run id into v.  Returns 0 (v owned by the caller:
 * query_run_values_free), 1 when there is no such run (err set), or -1
 * with err. */
int query_run_values(sqlite3 *h, sqlite3_int64 id, QRunValues *v,
                     char *err);
void query_run_values_free(QRunValues *v);

typedef struct {
    char *name;       /* a column key, or a dotted config key that has no
                         column */
    char **val;       /* one text per run */
    int differ;       /* 1: not the same in every run */
} QParam;

typedef struct {
    QParam *p;
    int n, cap, nruns;
} QParams;

/* Every parameter of runs (n of them): the parameter columns, then the
 * config keys no column covers.  Returns 0 (out owned by the caller:
 * query_params_free) or -1 on OOM. */
int query_params_build(const QRunValues *runs, int nruns, QParams *out);
void query_params_free(QParams *list);

/* The commands, each `NAME_main(argc, argv)` returning an exit code, and
 * their help. */
int query_ls_main(int argc, char **argv);
void query_ls_usage(FILE *f);
int query_show_main(int argc, char **argv);
void query_show_usage(FILE *f);
int query_compare_main(int argc, char **argv);
void query_compare_usage(FILE *f);
int query_best_main(int argc, char **argv);
void query_best_usage(FILE *f);
int query_export_main(int argc, char **argv);
void query_export_usage(FILE *f);
int query_plot_main(int argc, char **argv);
void query_plot_usage(FILE *f);

/* Writes the runs f selects with their epochs and refit epochs: json (an
 * array of run objects; single: the one object, no array) or csv (one row
 * per epoch; runs_only: per run).  The body of export and show --format.
 * Returns the number of runs, or -1 with err. */
int query_export_write(sqlite3 *h, const QFilter *f, int json, int runs_only,
                       int single, FILE *out, char *err);
/* Writes a gnuplot script (output file included) on out.  Returns 0 or -1
 * with err. */
typedef int (*QPlotScriptFn)(void *ctx, FILE *out, char *err);

/* Runs gnuplot (AUTOREC_GNUPLOT, default gnuplot) with script's output on
 * its stdin (fork + exec, no shell) and its stdout on out_fd, where the
 * script's "set output" (no file name) sends the picture; its messages go
 * to stderr.  path names the picture in messages.  SIGPIPE must be ignored
 * (cli_signals(CLI_SIGNALS_PIPE)): gnuplot may exit before it read the
 * whole script.  Returns 0 or -1 with err (gnuplot missing or failed). */
int query_gnuplot(QPlotScriptFn script, void *ctx, const char *path,
                  int out_fd, char *err);

/* Draws script's picture into path (.png, or .svg with svg 1) through a
 * temporary beside it (outfile.h; never the database db_path or its
 * -wal/-shm), renamed into place once gnuplot succeeded and the file holds
 * a PNG/SVG.  Returns 0 or -1 with err; path is untouched on failure. */
int query_plot_write(QPlotScriptFn script, void *ctx, const char *path,
                     int svg, const char *db_path, char *err);

/* Writes s as a single-quoted gnuplot string (' doubled, newlines
 * dropped). */
void query_gp_string(FILE *out, const char *s);

/* `autorec plot --search EXPERIMENT`: a search's trials, validation RMSE
 * against each sampled parameter and validation curves, coloured by
 * status (finished, pruned), into path (.png or .svg; query_search.c).
 * Returns 0 or -1 with err. */
int query_plot_search(sqlite3 *h, const char *experiment, int svg,
                      const char *path, const char *title,
                      const char *db_path, char *err);

/* Prints, for each search of experiment (an id or config name; NULL:
 * all) - an experiment with pruned trials or a random / sobol sampler -
 * its trials by status, the epochs spent against every trial trained to
 * the end, and the best finished trial by validation RMSE with its test
 * RMSE (query_search.c).  Returns the number of searches, or -1 with
 * err. */
int query_search_print(sqlite3 *h, const char *experiment, FILE *out,
                       char *err);

int query_summary_main(int argc, char **argv);
void query_summary_usage(FILE *f);

/* Prints the split summaries (split_summaries) of experiment (an id or a
 * config name; NULL: all) on out as a table, or every column raw as csv or
 * json.  Used by summary and by the
 * grid summary.  Returns the number of rows printed, or -1 with err. */
int query_summary_print(sqlite3 *h, const char *experiment,
                        QFormatKind fmt, FILE *out, char *err);

/* What ls prints: columns (NULL: the default ones for a table, every one
 * for csv/json; "all"; or keys, comma-separated) in format. */
typedef struct {
    const char *columns;
    QFormatKind format;
} QLsOutput;

/* Prints runs of the selection as the ls table (o NULL: the default
 * columns as a table), ordered by order_sql ("ORDER BY ..."), at most
 * limit rows (< 0: all).  Used by ls and best.  Returns the number of rows
 * printed, or -1 with err. */
int query_ls_print(sqlite3 *h, const QFilter *f, const char *order_sql,
                   long limit, const QLsOutput *o, FILE *out, char *err);

#endif
