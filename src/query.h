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

#define QUERY_DEFAULT_DB "runs/results.db"

/* ------------------------------------------------------------- keys -- */

typedef enum { QK_INT, QK_REAL, QK_TEXT } QKeyType;

typedef struct {
    const char *name;     /* what users type: "hidden", "lr", ... */
    const char *column;   /* the run_summary column */
    QKeyType type;
    int param;            /* 1: a hyper-parameter (compare, plot legends) */
} QKey;

/* The key named name (a run_summary column, an alias such as wd or
 * best_rmse, or a dotted config key such as model.hidden), or NULL. */
const QKey *query_key(const char *name);

/* The hyper-parameter keys, in display order; *n gets their number. */
const QKey *query_param_keys(int *n);

/* Writes the accepted key names, comma-separated, into out (size n). */
void query_key_names(char *out, size_t n);

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
} QSelect;

/* Parses a filter expression and ANDs it into f:
 *   expr    := and ('or' and)*      and := primary ('and' primary)*
 *   primary := '(' expr ')' | 'not' primary | KEY OP VALUE
 *   OP      := = == != <> < <= > >= like        (like: text keys only)
 *   VALUE   := number | 'text' | "text" | bare-word
 * KEY is checked against the whitelist and its type.  Returns 0, or -1 with
 * err naming the offending text and its position (f then unusable). */
int query_where_parse(QFilter *f, const char *text, char *err);

/* Builds f (which must be zeroed) from a selection.  Returns 0 or -1 with
 * err.  Free with query_filter_free. */
int query_filter_build(QFilter *f, const QSelect *sel, char *err);

/* ANDs the fixed SQL fragment sql (program text, never user text: column
 * names and at most one `?`) into f, with text (NULL: none) as the value
 * of its placeholder.  Returns 0 or -1 with err. */
int query_filter_and(QFilter *f, const char *sql, const char *text,
                     char *err);

/* Binds f's values to st from parameter index first on.  Returns an SQLite
 * result code. */
int query_filter_bind(sqlite3_stmt *st, const QFilter *f, int first);

/* Frees the texts of f and zeroes it; accepts NULL. */
void query_filter_free(QFilter *f);

/* Builds "ORDER BY ..." for --sort KEY[,-KEY...] (a leading '-' sorts
 * descending; NULLs always last) into out (size n).  Returns 0 or -1. */
int query_order_build(char *out, size_t n, const char *sort, char *err);

/* ----------------------------------------------------------- tables -- */

#define QT_MAX_COLS 64

/* An aligned text table.  Errors are sticky: after an allocation failure
 * every call is a no-op and qt_print returns -1. */
typedef struct {
    int ncols;
    const char *head[QT_MAX_COLS];
    int right[QT_MAX_COLS];   /* right-align (numbers) */
    char **cells;             /* nrows * ncols, owned */
    size_t nrows, cap;
    int oom;
} QTable;

void qt_init(QTable *t, int ncols);
/* Sets column col's heading (static or outliving t) and alignment. */
void qt_head(QTable *t, int col, const char *head, int right);
/* Starts a new row (cells empty). */
void qt_row(QTable *t);
/* Sets cell col of the current row, printf-style. */
void qt_set(QTable *t, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints the table (heading row, then rows; columns two spaces apart, no
 * trailing blanks).  Returns 0, or -1 if an allocation failed. */
int qt_print(const QTable *t, FILE *f);
void qt_free(QTable *t);

/* ------------------------------------------------------- formatting -- */

/* Column i of st as text into buf (size n): "-" for NULL; REAL with
 * real_fmt (e.g. "%.4f", "%g"); others as SQLite's text.  Returns buf. */
const char *query_col(sqlite3_stmt *st, int i, const char *real_fmt,
                      char *buf, size_t n);

/* v in the shortest "%.Ng" (N = 15..17) that reads back exactly, into buf
 * (size n >= 32).  Returns buf. */
const char *query_real(double v, char *buf, size_t n);

/* Seconds as "12.3s", "4m05s" or "2h07m" into buf.  Returns buf. */
const char *query_duration(double s, char *buf, size_t n);

/* Parses a run id ("14" or "#14").  Returns 0 or -1 with err. */
int query_run_id(const char *s, sqlite3_int64 *id, char *err);

/* Steps st unless rc (the result of the previous bind or step) is an
 * error: loops read `while ((rc = query_step(st, rc)) == SQLITE_ROW)`.
 * Returns the SQLite result code. */
int query_step(sqlite3_stmt *st, int rc);

/* Prepares sql on h, printing nothing.  Returns 0 or -1 with err. */
int query_prepare(sqlite3 *h, const char *sql, sqlite3_stmt **st, char *err);

/* Binds run id to parameter ?1 of st (prepared on h, selecting one row of
 * run id) and steps it.  Returns 0 at the row, 1 when there is no such run
 * ("no run N in PATH (see autorec ls)" in err), or -1 with err. */
int query_run_row(sqlite3 *h, sqlite3_stmt *st, sqlite3_int64 id, char *err);

/* Common options of the query commands: --db PATH (or --db=PATH). If argv[*i]
 * is one, consumes it (and its value) and returns 1; returns -1 (message
 * printed, naming cmd) when its value is missing; 0 otherwise. */
int query_opt_db(int argc, char **argv, int *i, const char **db,
                 const char *cmd);

/* Takes the value of option argv[*i] (the next argument, or after '=' in
 * --opt=value) into *val.  Returns 1 when argv[*i] is the option `name`, 0
 * when it is not, -1 (message printed) when its value is missing. */
int query_opt(int argc, char **argv, int *i, const char *name,
              const char **val, const char *cmd);

/* A repeatable `--set key=value`: when argv[*i] is --set, appends its value
 * to sets (n of them so far, at most max).  Returns 1 when it was --set, 0
 * when not, -1 (message printed, naming cmd) on a missing value or too
 * many. */
int query_opt_set(int argc, char **argv, int *i, const char **sets, int *n,
                  int max, const char *cmd);

/* Parses option opt's value s as an integer in min..max into *out.
 * Returns 0, or -1 with "autorec CMD: OPT: 'S' is not an integer in
 * MIN..MAX" printed. */
int query_int(const char *cmd, const char *opt, const char *s, int min,
              int max, int *out);

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

int query_summary_main(int argc, char **argv);
void query_summary_usage(FILE *f);

/* Prints the split summaries (split_summaries) of experiment (an id or a
 * config name; NULL: all) as a table on out.  Used by summary and by the
 * grid summary.  Returns the number of rows printed, or -1 with err. */
int query_summary_print(sqlite3 *h, const char *experiment, FILE *out,
                        char *err);

/* Prints runs of the selection as the ls table, ordered by order_sql
 * ("ORDER BY ..."), at most limit rows (< 0: all).  Used by ls and by the
 * grid summary.  Returns the number of rows printed, or -1 with err. */
int query_ls_print(sqlite3 *h, const QFilter *f, const char *order_sql,
                   long limit, FILE *out, char *err);

#endif
