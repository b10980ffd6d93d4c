/* prefetch.h - software prefetch of weight rows that a per-user pass will
 * read next.
 *
 * The passes over a batch's users (decoder forward, fused Adam, the copy
 * of a tile block, the evaluation's dot products) visit rows of
 * 2 KB (H = 500) scattered over a matrix of hundreds of MB; the hardware
 * prefetchers follow a stream within a row but not the jump to the next
 * one, so each row starts with a wait on memory.  Asking for the rows of
 * the user (or entry) a few places ahead hides it.  Measured on ML-10M's
 * shape, 2 threads, with and without, alternating calls in one process
 * (docs/performance.md, "Prefetching the next rows"): decoder forward
 * 8.9 -> 6.3 ms per step, encoder backward with Adam 21.0 -> 19.9 ms, a
 * whole step (tile copies included) -14%, evaluation -9%.  A prefetch
 * never changes a result. */
#ifndef AUTOREC_PREFETCH_H
#define AUTOREC_PREFETCH_H

/* How far ahead, in users or entries, a pass that computes on each row
 * asks for the next rows. */
#define PREFETCH_AHEAD 2

/* How far ahead the copy of a tile block's rows (sparse_tile_pack), which
 * does little per row, asks for them. */
#define PREFETCH_AHEAD_COPY 4

/* Asks for the n floats at p to be brought into cache, to be read. */
void prefetch_read(const float *p, long n);

/* The same, for floats about to be written (and read). */
void prefetch_write(const float *p, long n);

#endif
