/* outfile.h - the one way autorec creates a file for the user: checkpoints,
 * `export -o`, plots, Slurm scripts, synthetic data.
 *
 * The content goes to a new temporary file beside the target (same
 * directory, so the final rename is atomic), created with
 * O_CREAT|O_EXCL|O_NOFOLLOW under an unpredictable name: a link planted
 * there is never followed, an existing file never opened.  outfile_commit
 * checks every write, fsyncs, and renames the temporary onto the target,
 * which replaces a symbolic link at the target rather than writing through
 * it.  Until then the target is untouched, and a failure removes the
 * temporary.
 *
 * The target is refused when it exists and is not a regular file or a
 * symbolic link (a directory, FIFO, device or socket), and when it is the
 * results database given as `protect` or one of its -wal, -shm and -journal
 * files (by name, after resolving the directory, and by file identity). */
#ifndef AUTOREC_OUTFILE_H
#define AUTOREC_OUTFILE_H

#include <stdio.h>

#define OUTFILE_PATH_MAX 4096

typedef struct {
    char path[OUTFILE_PATH_MAX];   /* the target */
    char tmp[OUTFILE_PATH_MAX];    /* the temporary beside it; "" once gone */
    FILE *f;                       /* writes go here (NULL once closed) */
} OutFile;

/* Checks path (see above; protect may be NULL) and creates its temporary
 * with permissions mode (filtered by the umask, as fopen's 0666 is).
 * Returns 0 with o->f open for writing (finish with outfile_commit or
 * outfile_abort), or -1 with err naming the path and what to do; o is then
 * already released. */
int outfile_open(OutFile *o, const char *path, int mode, const char *protect,
                 char *err);

/* Only the checks of outfile_open, nothing created: for commands that check
 * their output path before doing the work.  Returns 0 or -1 with err. */
int outfile_check(const char *path, const char *protect, char *err);

/* Flushes, fsyncs and closes o->f, then renames the temporary onto the
 * target.  Returns 0, or -1 with err (the temporary is removed, the target
 * untouched).  o is released either way. */
int outfile_commit(OutFile *o, char *err);

/* Closes and removes the temporary; the target is untouched.  Accepts an
 * OutFile already committed or aborted. */
void outfile_abort(OutFile *o);

#endif
