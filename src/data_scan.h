/* data_scan.h - the fast path of the ratings reader: parses a whole file
 * image in parallel, with no per-line work beyond the digits.
 *
 * It accepts only the regular shape of a rating line (see data_scan) and
 * computes exactly what data.c's line parser computes for it; anything else
 * (an error, or an unusual spelling the line parser accepts) makes it give
 * up, and the caller reads the file with the line parser, which reports
 * errors as path:line. */
#ifndef AUTOREC_DATA_SCAN_H
#define AUTOREC_DATA_SCAN_H

#include <stddef.h>

#include "cfg.h"
#include "data.h"

/* Result of data_scan besides 0 (parsed). */
enum { DATA_SCAN_GIVE_UP = 1, DATA_SCAN_OOM = -1 };

/* Parses the rating lines text[0..len) of format fmt (the text after the
 * csv header line and after a UTF-8 BOM, which the caller handles) with up
 * to `threads` threads (<= 1: one).  A line it accepts is: user id,
 * separator, item id, separator, rating, separator, timestamp, an optional
 * '\r', then '\n' or the end of the text; ids are digits with a value in
 * 1..INT32_MAX, the rating is digits with at most one '.' (at most 15
 * digits, value in (0, 10]), the timestamp at most 18 digits; no line is
 * longer than line_max bytes.  On 0 sets *out (raw ids, in file order,
 * owned by the caller: mem_free; NULL when *n is 0) and *n.  Returns
 * DATA_SCAN_GIVE_UP when any line is not of that shape (nothing is
 * allocated), DATA_SCAN_OOM when memory runs out. */
int data_scan(const char *text, size_t len, DataFormat fmt, int threads,
              size_t line_max, Rating **out, size_t *n);

#endif
