/* heartbeat.c - the heartbeat thread (see heartbeat.h). */
#include "heartbeat.h"

#include <signal.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "stop.h"

/* The thread: stamps every interval until stop.  A failed stamp is retried
 * at the next beat.  Returns NULL. */
static void *heartbeat_main(void *arg) {
    Heartbeat *hb = arg;
    char err[ERR_MAX];
    pthread_mutex_lock(&hb->mu);
    while (!hb->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double t = ts.tv_sec + ts.tv_nsec * 1e-9 + hb->interval;
        ts.tv_sec = (time_t)t;
        ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
        pthread_cond_timedwait(&hb->cv, &hb->mu, &ts);
        if (hb->stop) break;
        pthread_mutex_unlock(&hb->mu);
        if (hb->worker) (void)db_heartbeat(hb->db, hb->worker, err);
        else (void)db_heartbeat_run(hb->db, hb->run_id, err);
        pthread_mutex_lock(&hb->mu);
    }
    pthread_mutex_unlock(&hb->mu);
    return NULL;
}

int heartbeat_start(Heartbeat *hb, const char *db_path, const char *worker,
                    int64_t run_id, double interval, char *err) {
    memset(hb, 0, sizeof *hb);
    hb->worker = worker;
    hb->run_id = run_id;
    hb->interval = interval;
    if (db_open(&hb->db, db_path, err)) return -1;
    pthread_mutex_init(&hb->mu, NULL);
    pthread_cond_init(&hb->cv, NULL);
    sigset_t block, old;
    stop_signal_set(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&hb->thread, NULL, heartbeat_main, hb);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&hb->mu);
        pthread_cond_destroy(&hb->cv);
        db_close(hb->db);
        hb->db = NULL;
        return err_set(err, "cannot start the heartbeat thread: %s (lower "
                            "train.threads or raise the process and memory "
                            "limits: ulimit -u, ulimit -v)", strerror(rc));
    }
    hb->started = 1;
    return 0;
}

void heartbeat_stop(Heartbeat *hb) {
    if (hb->started) {
        pthread_mutex_lock(&hb->mu);
        hb->stop = 1;
        pthread_cond_signal(&hb->cv);
        pthread_mutex_unlock(&hb->mu);
        pthread_join(hb->thread, NULL);
        pthread_mutex_destroy(&hb->mu);
        pthread_cond_destroy(&hb->cv);
        hb->started = 0;
    }
    db_close(hb->db);
    hb->db = NULL;
}
