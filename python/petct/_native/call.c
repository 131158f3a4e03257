/* petct._native: interruptible native calls. */
#include "_native_private.h"

/* A long core call runs on a worker thread while the calling thread waits in 50 ms steps with the GIL
 * released; between steps it takes the GIL and runs the signal handlers (PyErr_CheckSignals). When a
 * handler raises (Ctrl-C -> KeyboardInterrupt) it sets the call's cancel flag, which the core checks
 * between files, slices and frames, waits for the worker to return, and reports the exception.
 * Beside the cancel flag sits a progress counter the core may bump (petct_scan_files' files_done): at
 * each step, when it changed, the calling thread passes its value to the caller's `report` callable
 * (one parse serves the work and the progress); an exception from `report` cancels the call too. */
typedef struct {
    work_fn fn;
    void *ctx;
    int32_t cancel;
    int32_t rc;
    int64_t progress;
    int done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} work_item;

static void *
work_main(void *p)
{
    work_item *w = (work_item *)p;
    int32_t rc = w->fn(w->ctx, &w->cancel, &w->progress);
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Passes the progress counter to `report` when it moved past *seen; -1 when `report` raised. */
static int
report_progress(PyObject *report, work_item *w, int64_t *seen)
{
    int64_t now = __atomic_load_n(&w->progress, __ATOMIC_RELAXED);
    if (report == NULL || now == *seen)
        return 0;
    *seen = now;
    PyObject *r = PyObject_CallFunction(report, "L", (long long)now);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

int
run_interruptible(work_fn fn, void *ctx, int32_t *rc)
{
    return run_reporting(fn, ctx, rc, NULL);
}

int
run_reporting(work_fn fn, void *ctx, int32_t *rc, PyObject *report)
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
        NOGIL(w.rc = fn(ctx, &w.cancel, &w.progress));
        *rc = w.rc;
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
        int64_t none = 0;
        return w.rc == PETCT_OK && report_progress(report, &w, &none) < 0 ? -1 : 0;
    }
    int interrupted = 0;
    int64_t seen = 0;
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
        if (!interrupted && (PyErr_CheckSignals() < 0 || report_progress(report, &w, &seen) < 0)) {
            __atomic_store_n(&w.cancel, 1, __ATOMIC_SEQ_CST);
            interrupted = 1;
        }
    }
    NOGIL(pthread_join(thread, NULL));
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    *rc = w.rc;
    if (!interrupted && w.rc == PETCT_OK && report_progress(report, &w, &seen) < 0)
        return -1; /* the final count: a raising `report` still fails the call */
    return interrupted ? -1 : 0;
}
