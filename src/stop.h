/* stop.h - the signals that ask a run (or a grid and its workers) to stop.
 *
 * stop_catch() makes every catchable signal whose default action would end
 * the process mid-run (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGXCPU, SIGUSR1,
 * SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGPWR, SIGIO and the real-time
 * signals) set stop_signal instead: training stops between batches, the
 * run is recorded as interrupted and the command exits with 128 + the
 * signal number.  SIGPIPE and SIGXFSZ are ignored, so a closed pipe and the
 * file-size limit become EPIPE / EFBIG write errors that the writer reports
 * as a failure.  A signal already ignored when stop_catch() runs (nohup
 * ignores SIGHUP) stays ignored, except SIGINT and SIGTERM, which always
 * stop a run (shells ignore SIGINT in background jobs).  Signals of a
 * program fault (SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL, SIGABRT, SIGTRAP, SIGSYS) and SIGKILL are not caught: such a run
 * stays 'running' until its heartbeat goes stale (see db.h).
 *
 * Global mutable state: stop_signal, written by the handler (a handler can
 * only communicate through a global) and read between batches, epochs,
 * claims and database lock waits. */
#ifndef AUTOREC_STOP_H
#define AUTOREC_STOP_H

#include <signal.h>

/* The first stop signal received since stop_catch(), or 0. */
extern volatile sig_atomic_t stop_signal;

/* Installs the handlers and ignores SIGPIPE and SIGXFSZ (see above);
 * resets stop_signal to 0. */
void stop_catch(void);

/* Ignores SIGPIPE and SIGXFSZ only (part of stop_catch): a closed pipe or
 * the file-size limit becomes a write error (EPIPE, EFBIG) the writer
 * reports; stop_default() restores them. */
void stop_ignore_pipes(void);

/* Restores the actions stop_catch() replaced (the default action when it
 * did not run), e.g. in a forked child before it installs its own: a
 * signal the parent inherited as ignored stays ignored. */
void stop_default(void);

/* Fills *set with the signals stop_catch() catches (to block them in
 * helper threads or around a fork). */
void stop_signal_set(sigset_t *set);

/* The name of signal sig ("SIGTERM", "SIGRTMIN+3", "signal 99"): a static
 * string or one in a static buffer (valid until the next call). */
const char *stop_signal_name(int sig);

#endif
