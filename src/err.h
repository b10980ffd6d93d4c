/* err.h - error messages carried back to the caller.
 *
 * Every fallible function in autorec returns an int (0 = success, non-zero =
 * failure) and, on failure, writes a human-readable message into a caller-owned
 * buffer of ERR_MAX bytes.  Messages say what failed, where (file:line:column
 * when known) and what to do about it. */
#ifndef AUTOREC_ERR_H
#define AUTOREC_ERR_H

#define ERR_MAX 2048

/* Formats a message into err (ERR_MAX bytes).  err may be NULL.  Returns -1 so
 * callers can write `return err_set(err, ...);`. */
int err_set(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
