/* petct._native: interruptible native calls. */
#include "_native_private.h"

/* A long core call runs on a worker thread while the calling thread waits in 50 ms steps with the GIL
 * released; between steps it takes the GIL and runs the signal handlers (PyErr_CheckSignals). When a
 * handler raises (Ctrl-C -> KeyboardInterrupt) it sets the call's cancel flag, which the core checks
 * between files, slices and frames, waits for the worker to return, and reports the exception. */
typedef struct {
    work_fn fn;
    void *ctx;
    int32_t cancel;
    int32_t rc;
    int done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} work_item;

static void *
work_main(void *p)
{
    work_item *w = (work_item *)p;
    int32_t rc = w->fn(w->ctx, &w->cancel);
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int
run_interruptible(work_fn fn, void *ctx, int32_t *rc)
{
    work_item w;
    memset(&w, 0, sizeof(w));
    w.fn = fn;
    w.ctx = ctx;
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)16 << 20);
    int started = pthread_create(&thread, &attr, work_main, &w) == 0;
    pthread_attr_destroy(&attr);
    if (!started) {
        /* No thread: run it here, not interruptible. */
        NOGIL(w.rc = fn(ctx, &w.cancel));
        *rc = w.rc;
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
        return 0;
    }
    int interrupted = 0;
    for (;;) {
        int finished;
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&w.mu);
        if (!w.done) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec += 1;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&w.cv, &w.mu, &ts);
        }
        finished = w.done;
        pthread_mutex_unlock(&w.mu);
        Py_END_ALLOW_THREADS
        if (finished)
            break;
        if (!interrupted && PyErr_CheckSignals() < 0) {
            __atomic_store_n(&w.cancel, 1, __ATOMIC_SEQ_CST);
            interrupted = 1;
        }
    }
    NOGIL(pthread_join(thread, NULL));
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    *rc = w.rc;
    return interrupted ? -1 : 0;
}
