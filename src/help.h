/* help.h - `autorec help TOPIC`: references generated from the code, so
 * that they cannot drift from it.
 *
 *   autorec help config [--markdown] [-o FILE]   every config key, from the
 *       key table of cfg.c: what it accepts, its default, what it means
 *   autorec help schema [--markdown] [-o FILE]   the tables, views and
 *       indexes of a results database that db_open creates (a fresh one in
 *       a temporary directory, read back through sqlite_master)
 *
 * docs/config-keys.md and docs/schema.md are these outputs with --markdown
 * (make docs; tests/cli_docs.sh fails when they differ). */
#ifndef AUTOREC_HELP_H
#define AUTOREC_HELP_H

#include <stdio.h>

/* Runs `autorec help TOPIC [options]`; argv[0] is "help", argv[1] the
 * topic.  Returns the process exit code. */
int help_main(int argc, char **argv);

/* Prints the help command's own help to f. */
void help_usage(FILE *f);

/* Prints one line per config key to f, "  KEY=DEFAULT HELP", wrapped at
 * 79 columns: the key list of `autorec run --help`. */
void help_config_keys(FILE *f);

/* Writes the config key reference to f: Markdown (a table) when markdown
 * is 1, plain text otherwise.  Returns 0, or -1 with err. */
int help_config(FILE *f, int markdown, char *err);

/* Writes the schema reference of a new results database to f (Markdown
 * when markdown is 1).  Creates the database in a new temporary directory
 * ($TMPDIR, else /tmp) with db_open and removes it again.  Returns 0, or
 * -1 with err. */
int help_schema(FILE *f, int markdown, char *err);

/* ------------------------------------------ shared by the help_*.c -- */

/* Writes s to f as the text of a Markdown table cell: outside `code
 * spans` the characters < > * | are escaped, inside them only |. */
void help_md_cell(FILE *f, const char *s);

/* Writes s to f wrapped at `width` columns between words: the first line
 * continues at column col (what the caller already wrote), the others
 * start with indent spaces.  Ends with a newline. */
void help_wrap(FILE *f, const char *s, int col, int indent, int width);

#endif
