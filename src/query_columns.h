/* query_columns.h - the one description of every run column and per-epoch
 * metric that the query tools show.
 *
 * ls, show, compare, best, export, plot legends and the dashboard build
 * their columns from this table instead of each keeping its own list: a
 * key added here (say a new config column of runs) appears in all of them.
 * A column is a key users type (--where, --sort, --by, --metric), the SQL
 * expression that computes it over the run_summary view, a heading, a
 * display format and a kind: a parameter (what a run was asked to do: the
 * config), a metric (what it measured) or information (id, host, times).
 *
 * Per-epoch values (train loss, test and validation RMSE/MAE, timings) have
 * their own smaller table, QEpochColumn, for the tables `epochs` and
 * `refit_epochs`. */
#ifndef AUTOREC_QUERY_COLUMNS_H
#define AUTOREC_QUERY_COLUMNS_H

#include <sqlite3.h>
#include <stddef.h>

typedef enum { QK_INT, QK_REAL, QK_TEXT } QKeyType;
typedef enum { QCOL_PARAM, QCOL_METRIC, QCOL_INFO } QColKind;

/* How a value is displayed in text tables (csv/json always get the raw
 * value). */
typedef enum {
    QF_PLAIN,     /* integers and text as stored, reals as "%g" */
    QF_RMSE,      /* reals as "%.4f" */
    QF_DURATION,  /* seconds as "12.3s" / "4m05s" */
} QFormat;

typedef struct {
    const char *name;     /* the key users type: "hidden", "l2" */
    const char *config;   /* its dotted config key ("model.hidden"), or NULL */
    const char *column;   /* SQL over run_summary that filters/sorts on it */
    const char *display;  /* SQL shown in tables (NULL: column) */
    const char *heading;  /* table heading */
    QFormat format;
    QKeyType type;
    QColKind kind;
    int ls;               /* position in the default ls table (0: not shown) */
} QColumn;

/* The number of columns: the built-in ones, then those of qcol_set_extra. */
int qcol_count(void);

/* Column i (0 <= i < qcol_count()), static or the caller's extra one. */
const QColumn *qcol_get(int i);

/* The column named name: its key, its dotted config key, or an alias
 * (wd, best_rmse, val_rmse, ...).  Returns NULL when there is none. */
const QColumn *qcol_find(const char *name);

/* Writes the column keys, comma-separated, into out (size n). */
void qcol_names(char *out, size_t n);

/* Appends n further columns (owned by the caller, alive until the next
 * call) to the table, replacing any given before; n = 0 removes them.  For
 * tests and for columns a later module registers at start-up: the only
 * mutable state of the query layer. */
void qcol_set_extra(const QColumn *extra, int n);

/* Column i of st (a value of column c) as display text into buf (size n):
 * "-" for NULL, reals by c->format.  Returns buf. */
const char *qcol_text(const QColumn *c, sqlite3_stmt *st, int i, char *buf,
                      size_t n);

/* Writes "c->column AS \"name\"" (display 0) or the display expression
 * ("... AS \"name\"", display 1) for column c into out (size n).  Returns 0
 * or -1 when it does not fit. */
int qcol_select(const QColumn *c, int display, char *out, size_t n);

/* The select list of the n columns cols ("expr AS \"key\", ..."; display
 * as in qcol_select) into out (size).  Returns 0 or -1 when it does not
 * fit. */
int qcol_select_list(const QColumn *const *cols, int n, int display,
                     char *out, size_t size);

/* Fills out (max entries) with every column, in order.  Returns their
 * number. */
int qcol_all(const QColumn **out, int max);

/* ------------------------------------------------- split summaries -- */

/* The columns of `autorec summary`: the split summaries of repeats/folds
 * experiments (table split_summaries, alias s), described like the run
 * columns.  `ls` is the position in the text table (0: csv/json only); a
 * NULL `column` marks a column of the text table only (an interval shown
 * as "[lo, hi]" whose ends are columns of their own). */
const QColumn *qcol_summary_columns(int *n);

/* ------------------------------------------------------ epoch values -- */

typedef struct {
    const char *name;     /* key and column of the epochs table */
    const char *heading;  /* table heading */
    const char *fmt;      /* printf format of the value */
    int refit;            /* 1: refit_epochs has it too */
    int metric;           /* 1: a model metric (plot --metric) */
} QEpochColumn;

/* The per-epoch values in display order, epoch excluded; *n gets their
 * number.  The array is static. */
const QEpochColumn *qcol_epoch_columns(int *n);

/* The epoch value named name ("val_rmse", "test_mae", ...), or NULL. */
const QEpochColumn *qcol_epoch_find(const char *name);

#endif
