/* stop.c - the signals that ask a run to stop (see stop.h). */
#include "stop.h"

#include <stdio.h>
#include <string.h>

volatile sig_atomic_t stop_signal;

/* The named signals caught; the real-time ones are added in a loop. */
static const struct {
    int sig;
    const char *name;
} stop_named[] = {
    {SIGINT, "SIGINT"},       {SIGTERM, "SIGTERM"},   {SIGHUP, "SIGHUP"},
    {SIGQUIT, "SIGQUIT"},     {SIGXCPU, "SIGXCPU"},   {SIGUSR1, "SIGUSR1"},
    {SIGUSR2, "SIGUSR2"},     {SIGALRM, "SIGALRM"},   {SIGVTALRM, "SIGVTALRM"},
    {SIGPROF, "SIGPROF"},
#ifdef SIGPWR
    {SIGPWR, "SIGPWR"},
#endif
#ifdef SIGIO
    {SIGIO, "SIGIO"},
#endif
};
#define STOP_NNAMED (sizeof stop_named / sizeof stop_named[0])

/* The handler: keeps the first signal (a second one does not rename the
 * cause). */
static void stop_on_signal(int sig) {
    if (!stop_signal) stop_signal = sig;
}

void stop_signal_set(sigset_t *set) {
    sigemptyset(set);
    for (size_t i = 0; i < STOP_NNAMED; i++) sigaddset(set, stop_named[i].sig);
#ifdef SIGRTMIN
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++) sigaddset(set, s);
#endif
}

/* The actions stop_catch replaced (index: signal number), restored by
 * stop_default; saved_valid[s] when one was saved. */
static struct sigaction saved[NSIG];
static char saved_valid[NSIG];

/* Sets sig's action to handler, saving the current one first.  A signal
 * ignored when the process started (nohup ignores SIGHUP) stays ignored,
 * except SIGINT and SIGTERM, which always stop a run (a shell ignores
 * SIGINT in its background jobs, yet `kill -INT` is how they are
 * stopped). */
static void stop_take(int sig, const struct sigaction *sa) {
    struct sigaction old;
    if (sigaction(sig, NULL, &old) != 0) return;
    if (!saved_valid[sig]) {
        saved[sig] = old;
        saved_valid[sig] = 1;
    }
    if (old.sa_handler == SIG_IGN && sa->sa_handler != SIG_IGN &&
        sig != SIGINT && sig != SIGTERM)
        return;
    sigaction(sig, sa, NULL);
}

void stop_catch(void) {
    struct sigaction sa;
    sigset_t set;
    stop_signal = 0;
    memset(&sa, 0, sizeof sa);
    stop_signal_set(&set);
    sa.sa_handler = stop_on_signal;
    sa.sa_mask = set;   /* one handler at a time */
    for (int s = 1; s < NSIG; s++)
        if (sigismember(&set, s) == 1) stop_take(s, &sa);
    stop_ignore_pipes();
}

void stop_ignore_pipes(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    stop_take(SIGPIPE, &sa);
    stop_take(SIGXFSZ, &sa);
}

void stop_default(void) {
    struct sigaction dfl;
    sigset_t set;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    stop_signal_set(&set);
    sigaddset(&set, SIGPIPE);
    sigaddset(&set, SIGXFSZ);
    for (int s = 1; s < NSIG; s++) {
        if (sigismember(&set, s) != 1) continue;
        sigaction(s, saved_valid[s] ? &saved[s] : &dfl, NULL);
        saved_valid[s] = 0;
    }
}

const char *stop_signal_name(int sig) {
    static char buf[32];
    for (size_t i = 0; i < STOP_NNAMED; i++)
        if (stop_named[i].sig == sig) return stop_named[i].name;
#ifdef SIGRTMIN
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        snprintf(buf, sizeof buf, "SIGRTMIN+%d", sig - SIGRTMIN);
        return buf;
    }
#endif
    if (sig == SIGPIPE) return "SIGPIPE";
    if (sig == SIGXFSZ) return "SIGXFSZ";
    snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}
