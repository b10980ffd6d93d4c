/* test_stop.c - the stop signals (src/stop.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "stop.h"
#include "test.h"

/* The current action of sig: its handler (SIG_DFL, SIG_IGN or a function). */
static void (*action_of(int sig))(int) {
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) != 0) return SIG_ERR;
    return sa.sa_handler;
}

/* Every signal that would end a run is caught and recorded, the first one
 * kept; the process goes on. */
static void test_signals_are_caught(void) {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGXCPU,
                               SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        signal(sigs[i], SIG_DFL);   /* a background job inherits SIGQUIT ignored */
    stop_catch();
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        stop_signal = 0;
        CHECK(raise(sigs[i]) == 0);
        CHECK_MSG(stop_signal == sigs[i], "%s: stop_signal %d",
                  stop_signal_name(sigs[i]), (int)stop_signal);
    }
    stop_signal = 0;
    CHECK(raise(SIGRTMIN + 2) == 0);
    CHECK(stop_signal == SIGRTMIN + 2);
    CHECK(raise(SIGTERM) == 0);   /* a second signal keeps the first */
    CHECK(stop_signal == SIGRTMIN + 2);
    sigset_t set;
    stop_signal_set(&set);
    CHECK(sigismember(&set, SIGHUP) == 1 && sigismember(&set, SIGRTMAX) == 1);
    CHECK(sigismember(&set, SIGKILL) == 0 && sigismember(&set, SIGSEGV) == 0);
    stop_default();
    stop_signal = 0;
}

/* SIGPIPE and SIGXFSZ are ignored while caught: a write to a closed pipe is
 * an EPIPE error, not the end of the process; stop_default restores the
 * default actions. */
static void test_pipe_and_file_size_ignored(void) {
    int fd[2];
    stop_catch();
    CHECK(action_of(SIGPIPE) == SIG_IGN && action_of(SIGXFSZ) == SIG_IGN);
    CHECK(pipe(fd) == 0);
    close(fd[0]);
    errno = 0;
    CHECK(write(fd[1], "x", 1) == -1 && errno == EPIPE);
    close(fd[1]);
    CHECK(raise(SIGXFSZ) == 0);
    CHECK(stop_signal == 0);
    stop_default();
    CHECK(action_of(SIGPIPE) == SIG_DFL && action_of(SIGXFSZ) == SIG_DFL);
    CHECK(action_of(SIGHUP) == SIG_DFL && action_of(SIGTERM) == SIG_DFL);
}

/* A signal ignored before stop_catch (nohup: SIGHUP) stays ignored, and
 * stop_default gives it back as it was; SIGINT ignored (a shell's
 * background job) is caught all the same. */
static void test_inherited_ignore_kept(void) {
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    stop_catch();
    CHECK(action_of(SIGHUP) == SIG_IGN);
    CHECK(raise(SIGHUP) == 0);
    CHECK(stop_signal == 0);
    CHECK(raise(SIGINT) == 0);
    CHECK(stop_signal == SIGINT);
    stop_default();
    CHECK(action_of(SIGHUP) == SIG_IGN && action_of(SIGINT) == SIG_IGN);
    signal(SIGHUP, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    stop_signal = 0;
}

static void test_signal_names(void) {
    CHECK(strcmp(stop_signal_name(SIGTERM), "SIGTERM") == 0);
    CHECK(strcmp(stop_signal_name(SIGXCPU), "SIGXCPU") == 0);
    CHECK(strcmp(stop_signal_name(SIGRTMIN + 3), "SIGRTMIN+3") == 0);
    CHECK(strcmp(stop_signal_name(SIGPIPE), "SIGPIPE") == 0);
}

void suite_stop(void) {
    RUN(test_signals_are_caught);
    RUN(test_pipe_and_file_size_ignored);
    RUN(test_inherited_ignore_kept);
    RUN(test_signal_names);
}
