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

/* Sets the action of every caught signal to handler, and of SIGPIPE and
 * SIGXFSZ to ignored (catching) or default (restoring). */
static void stop_set_actions(void (*handler)(int), int catching) {
    struct sigaction sa;
    sigset_t set;
    memset(&sa, 0, sizeof sa);
    stop_signal_set(&set);
    sa.sa_handler = handler;
    sa.sa_mask = set;   /* one handler at a time */
    for (int s = 1; s < NSIG; s++)
        if (sigismember(&set, s) == 1) sigaction(s, &sa, NULL);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = catching ? SIG_IGN : SIG_DFL;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGXFSZ, &sa, NULL);
}

void stop_catch(void) {
    stop_signal = 0;
    stop_set_actions(stop_on_signal, 1);
}

void stop_default(void) { stop_set_actions(SIG_DFL, 0); }

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
