/*
 * petct._native - CPython bridge to the petct Swift core (libpetct.so, C ABI in petct.h).
 *
 * Conventions:
 *  - Every call into the core runs with the GIL released; the core never touches Python objects.
 *  - Core objects live in PyCapsules whose destructors call the matching petct_*_free.
 *  - Pixel and volume buffers are NumPy arrays allocated here and filled by the core (no copies).
 *  - Errors: the core's petct_error becomes an instance of one of petct.errors' classes, looked up at
 *    import time and kept in the module state.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "petct.h"

#if PY_VERSION_HEX < 0x030A0000 /* Python 3.9: Py_NewRef is 3.10's */
static inline PyObject *Py_NewRef(PyObject *o) { Py_INCREF(o); return o; }
#endif

/* Runs one statement of the core with the GIL released (every native call does, short ones too). */
#define NOGIL(stmt)            \
    do {                       \
        Py_BEGIN_ALLOW_THREADS \
        stmt;                  \
        Py_END_ALLOW_THREADS   \
    } while (0)

#define DATASET_CAPSULE "petct.dataset"
#define VOLUME_CAPSULE "petct.volume"
#define SCAN_CAPSULE "petct.scan"
#define MASKS_CAPSULE "petct.masks"

typedef struct {
    PyObject *DicomError;
    PyObject *InvalidDicomError;
    PyObject *MalformedDicomError;
    PyObject *UnsupportedTransferSyntaxError;
    PyObject *SUVError;
    PyObject *GeometryError;
    PyObject *NoPixelDataError;
    PyObject *DecodeLimitError;
} module_state;

static module_state *
get_state(PyObject *module)
{
    return (module_state *)PyModule_GetState(module);
}

static PyObject *raise_error_inner(PyObject *module, const petct_error *err, PyObject *source);

/* Raises the Python exception for a core error; returns NULL for convenient `return raise_error(...)`.
 * Sets `item_index` on it (the failing path of a list call) when the core gave one. I/O errors keep their errno: OSError(errno, strerror, path) becomes the matching
 * subclass (PermissionError, IsADirectoryError, FileNotFoundError, ...). A cancelled call keeps the
 * KeyboardInterrupt (or other exception) a signal handler raised. */
static PyObject *
raise_error(PyObject *module, const petct_error *err, PyObject *source)
{
    if (err->code == PETCT_E_CANCELLED) {
        if (!PyErr_Occurred())
            PyErr_SetNone(PyExc_KeyboardInterrupt);
        return NULL;
    }
    raise_error_inner(module, err, source);
    if (err->item_index >= 0 && PyErr_Occurred()) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (value != NULL) {
            PyObject *idx = PyLong_FromLongLong(err->item_index);
            if (idx == NULL || PyObject_SetAttrString(value, "item_index", idx) < 0)
                PyErr_Clear();
            Py_XDECREF(idx);
        }
        PyErr_Restore(type, value, tb);
    }
    return NULL;
}

static PyObject *
raise_error_inner(PyObject *module, const petct_error *err, PyObject *source)
{
    module_state *st = get_state(module);
    PyObject *cls;
    switch (err->code) {
    case PETCT_E_INVALID_DICOM: cls = st->InvalidDicomError; break;
    case PETCT_E_MALFORMED: cls = st->MalformedDicomError; break;
    case PETCT_E_UNSUPPORTED_TS: cls = st->UnsupportedTransferSyntaxError; break;
    case PETCT_E_SUV: cls = st->SUVError; break;
    case PETCT_E_GEOMETRY: cls = st->GeometryError; break;
    case PETCT_E_NO_PIXELS: cls = st->NoPixelDataError; break;
    case PETCT_E_IO: {
        /* errno and its strerror, as OSError(errno, strerror, filename) makes the matching subclass;
         * an I/O error the core could not attribute to errno keeps its own message under EIO */
        int e = err->os_errno > 0 ? err->os_errno : EIO;
        const char *text = err->os_errno > 0 ? strerror(e) : err->message;
        PyObject *exc = PyObject_CallFunction(PyExc_OSError, "isO", e, text, source ? source : Py_None);
        if (exc != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
    case PETCT_E_NO_MEMORY: PyErr_SetString(PyExc_MemoryError, err->message); return NULL;
    case PETCT_E_LIMIT: cls = st->DecodeLimitError; break;
    case PETCT_E_ARGUMENT: PyErr_SetString(PyExc_ValueError, err->message); return NULL;
    default: cls = st->DicomError; break;
    }
    /* cls(message, path=..., offset=..., tag=...) */
    PyObject *tag = err->tag == PETCT_NO_TAG ? Py_NewRef(Py_None) : PyLong_FromUnsignedLong(err->tag);
    PyObject *offset = err->offset < 0 ? Py_NewRef(Py_None) : PyLong_FromLongLong(err->offset);
    PyObject *kwargs = NULL, *args = NULL, *exc = NULL;
    if (tag == NULL || offset == NULL)
        goto done;
    kwargs = Py_BuildValue("{sOsOsO}", "path", source ? source : Py_None, "offset", offset, "tag", tag);
    args = Py_BuildValue("(s)", err->message);
    if (kwargs == NULL || args == NULL)
        goto done;
    exc = PyObject_Call(cls, args, kwargs);
    if (exc != NULL)
        PyErr_SetObject(cls, exc);
done:
    Py_XDECREF(tag);
    Py_XDECREF(offset);
    Py_XDECREF(kwargs);
    Py_XDECREF(args);
    Py_XDECREF(exc);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* interruptible native calls                                                                      */

/* A long core call runs on a worker thread while the calling thread waits in 50 ms steps with the GIL
 * released; between steps it takes the GIL and runs the signal handlers (PyErr_CheckSignals). When a
 * handler raises (Ctrl-C -> KeyboardInterrupt) it sets the call's cancel flag, which the core checks
 * between files, slices and frames, waits for the worker to return, and reports the exception. */
typedef int32_t (*work_fn)(void *ctx, const int32_t *cancel);

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

/* Work this small runs on the calling thread (GIL released): a thread would cost more than it saves. */
#define INLINE_WORK_BYTES ((size_t)16 << 20)

/* Returns the call's status, or -1 with a Python exception set when a signal handler raised (the
 * call's own status is then in *rc, so the caller can free what it made). */
static int
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

/* ---------------------------------------------------------------------------------------------- */
/* datasets                                                                                        */

/* Capsule destructors: each frees its Swift object through the matching petct_*_free. */
#define CAPSULE_DESTRUCTOR(name, type, capsule_name, free_fn)           \
    static void name(PyObject *capsule)                                \
    {                                                                  \
        type *obj = PyCapsule_GetPointer(capsule, capsule_name);       \
        if (obj != NULL)                                               \
            NOGIL(free_fn(obj));                                       \
    }

CAPSULE_DESTRUCTOR(dataset_capsule_destructor, petct_dataset, DATASET_CAPSULE, petct_dataset_free)
CAPSULE_DESTRUCTOR(scan_capsule_destructor, petct_scan, SCAN_CAPSULE, petct_scan_free)
CAPSULE_DESTRUCTOR(volume_capsule_destructor, petct_volume, VOLUME_CAPSULE, petct_volume_free)
CAPSULE_DESTRUCTOR(masks_capsule_destructor, petct_masks, MASKS_CAPSULE, petct_masks_free)

static petct_dataset *
dataset_from_capsule(PyObject *capsule)
{
    return (petct_dataset *)PyCapsule_GetPointer(capsule, DATASET_CAPSULE);
}

/* The core's single-valued text VRs (petct_list), packed like petct_element.vr; filled once at import. */
static uint16_t single_valued_text_vrs[16];
static size_t single_valued_text_vr_count;

static int
vr_is_single_valued_text(uint16_t vr)
{
    for (size_t i = 0; i < single_valued_text_vr_count; i++) {
        if (single_valued_text_vrs[i] == vr)
            return 1;
    }
    return 0;
}

static PyObject *
vr_string(uint16_t vr)
{
    if (vr == 0)
        return PyUnicode_FromStringAndSize("", 0);
    char s[2] = {(char)(vr & 0xFF), (char)(vr >> 8)};
    return PyUnicode_DecodeLatin1(s, 2, "replace");
}

/* A value list: scalar when one value, list when several, None when none. */
static PyObject *
collapse(PyObject *list)
{
    Py_ssize_t n = PyList_GET_SIZE(list);
    if (n == 1) {
        PyObject *item = Py_NewRef(PyList_GET_ITEM(list, 0));
        Py_DECREF(list);
        return item;
    }
    if (n == 0) {
        Py_DECREF(list);
        Py_RETURN_NONE;
    }
    return list;
}

static PyObject *
text_value(const petct_element *e, const petct_dataset_view *v)
{
    const char *p = (const char *)v->heap + e->value_offset;
    Py_ssize_t len = (Py_ssize_t)e->value_length;
    if (vr_is_single_valued_text(e->vr))
        return PyUnicode_DecodeUTF8(p, len, "surrogateescape");
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i <= len; i++) {
        if (i == len || p[i] == '\\') {
            PyObject *s = PyUnicode_DecodeUTF8(p + start, i - start, "surrogateescape");
            if (s == NULL || PyList_Append(list, s) < 0) {
                Py_XDECREF(s);
                Py_DECREF(list);
                return NULL;
            }
            Py_DECREF(s);
            start = i + 1;
        }
    }
    return collapse(list);
}

#define NUMERIC_VALUE(ctype, maker)                                                              \
    do {                                                                                         \
        size_t n = (size_t)(e->value_length / sizeof(ctype));                                    \
        PyObject *list = PyList_New((Py_ssize_t)n);                                              \
        if (list == NULL)                                                                        \
            return NULL;                                                                         \
        for (size_t i = 0; i < n; i++) {                                                         \
            ctype x;                                                                             \
            memcpy(&x, v->heap + e->value_offset + i * sizeof(ctype), sizeof(ctype));            \
            PyObject *o = maker(x);                                                              \
            if (o == NULL) {                                                                     \
                Py_DECREF(list);                                                                 \
                return NULL;                                                                     \
            }                                                                                    \
            PyList_SET_ITEM(list, (Py_ssize_t)i, o);                                             \
        }                                                                                        \
        return collapse(list);                                                                   \
    } while (0)

static int
is_bulk_tag(uint32_t tag)
{
    return (tag >> 16) == 0x7FE0 || ((tag >> 16) & 0xFF01) == 0x6000;
}

/* Builds the value of element e (not SQ/ITEM). Bulk pixel data is left lazy (Py_None + flag). */
static PyObject *
element_value(const petct_element *e, const petct_dataset_view *v, int *lazy)
{
    *lazy = 0;
    switch (e->kind) {
    case PETCT_KIND_EMPTY:
        Py_RETURN_NONE; /* the Python layer maps this to pydicom's empty value for the VR */
    case PETCT_KIND_TEXT:
        return text_value(e, v);
    case PETCT_KIND_INT:
        NUMERIC_VALUE(int64_t, PyLong_FromLongLong);
    case PETCT_KIND_UINT:
        NUMERIC_VALUE(uint64_t, PyLong_FromUnsignedLongLong);
    case PETCT_KIND_FLOAT:
        NUMERIC_VALUE(double, PyFloat_FromDouble);
    case PETCT_KIND_TAGS:
        NUMERIC_VALUE(uint32_t, PyLong_FromUnsignedLong);
    case PETCT_KIND_BYTES:
        if (is_bulk_tag(e->tag) && e->value_length > 4096) {
            *lazy = 1;
            Py_RETURN_NONE;
        }
        if (e->value_offset > v->source_length || e->value_length > v->source_length - e->value_offset) {
            PyErr_SetString(PyExc_RuntimeError, "petct core returned an element outside its buffer");
            return NULL;
        }
        return PyBytes_FromStringAndSize((const char *)v->source + e->value_offset, (Py_ssize_t)e->value_length);
    case PETCT_KIND_RAW_TEXT:
        return PyBytes_FromStringAndSize((const char *)v->heap + e->value_offset, (Py_ssize_t)e->value_length);
    default:
        PyErr_Format(PyExc_RuntimeError, "petct core returned unknown value kind %d", (int)e->kind);
        return NULL;
    }
}

/* Element tuples: (tag, VR, value, kind, flags, file_offset, index, lazy).
 * For SQ the value is a list of items, each item a list of element tuples. */
static PyObject *build_elements(const petct_dataset_view *v, size_t *pos, size_t end, int depth);

static PyObject *
build_element(const petct_dataset_view *v, size_t *pos, int depth)
{
    size_t index = *pos;
    const petct_element *e = &v->elements[index];
    PyObject *value;
    int lazy = 0;
    *pos += 1;
    if (e->kind == PETCT_KIND_SEQUENCE) {
        size_t end = index + 1 + e->descendants;
        if (end > v->element_count) {
            PyErr_SetString(PyExc_RuntimeError, "petct core returned a broken element tree");
            return NULL;
        }
        value = PyList_New(0);
        if (value == NULL)
            return NULL;
        while (*pos < end) {
            const petct_element *item = &v->elements[*pos];
            size_t item_end = *pos + 1 + item->descendants;
            if (item->kind != PETCT_KIND_ITEM || item_end > end) {
                Py_DECREF(value);
                PyErr_SetString(PyExc_RuntimeError, "petct core returned a broken sequence");
                return NULL;
            }
            *pos += 1;
            PyObject *children = build_elements(v, pos, item_end, depth + 1);
            if (children == NULL || PyList_Append(value, children) < 0) {
                Py_XDECREF(children);
                Py_DECREF(value);
                return NULL;
            }
            Py_DECREF(children);
        }
    }
    else {
        value = element_value(e, v, &lazy);
        if (value == NULL)
            return NULL;
    }
    return Py_BuildValue("(kNNiiLnO)", (unsigned long)e->tag, vr_string(e->vr), value, (int)e->kind,
                         (int)e->flags, (long long)e->file_offset, (Py_ssize_t)index, lazy ? Py_True : Py_False);
}

/* A level (top level or item) with more records than this below it is not built here: build_elements
 * returns (start, end, depth) instead, and Python reads it on demand through level() and element(),
 * so an element-heavy file does not become millions of tuples (memory bounded by the file size). */
#define LAZY_LEVEL_RECORDS 4096

static PyObject *
build_elements(const petct_dataset_view *v, size_t *pos, size_t end, int depth)
{
    if (depth > 200) {
        PyErr_SetString(PyExc_RecursionError, "sequence nesting too deep");
        return NULL;
    }
    if (end - *pos > LAZY_LEVEL_RECORDS) {
        PyObject *marker = Py_BuildValue("(nni)", (Py_ssize_t)*pos, (Py_ssize_t)end, depth);
        *pos = end;
        return marker;
    }
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    while (*pos < end) {
        PyObject *t = build_element(v, pos, depth);
        if (t == NULL || PyList_Append(list, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(t);
    }
    return list;
}

typedef struct {
    const char *path;
    uint32_t flags;
    petct_dataset **out;
    petct_error *err;
} read_job;

static int32_t
read_work(void *ctx, const int32_t *cancel)
{
    read_job *j = (read_job *)ctx;
    return petct_read_file(j->path, j->flags, cancel, j->out, j->err);
}

/* read(source, flags, name) -> (capsule, elements, info)
 * source: str/bytes path (os.fsencode'd by the caller) when is_path, else a bytes-like buffer. */
static PyObject *
native_read(PyObject *module, PyObject *args)
{
    PyObject *source, *name;
    unsigned int flags;
    int is_path;
    if (!PyArg_ParseTuple(args, "OIpO", &source, &flags, &is_path, &name))
        return NULL;

    petct_dataset *ds = NULL;
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    if (is_path) {
        PyObject *encoded = NULL;
        if (!PyUnicode_FSConverter(source, &encoded))
            return NULL;
        read_job job = {PyBytes_AS_STRING(encoded), flags, &ds, &err};
        struct stat st;
        int small_file = 0;
        Py_BEGIN_ALLOW_THREADS
        small_file = stat(job.path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size < INLINE_WORK_BYTES;
        Py_END_ALLOW_THREADS
        int interrupted = 0;
        if (small_file)   /* a short read of a regular file: no worker thread */
            NOGIL(rc = read_work(&job, NULL));
        else              /* a stream (may wait on its writer) or a large file: interruptible */
            interrupted = run_interruptible(read_work, &job, &rc) < 0;
        Py_DECREF(encoded);
        if (interrupted) {
            if (rc == PETCT_OK && ds != NULL)
                NOGIL(petct_dataset_free(ds));
            return NULL;
        }
    }
    else {
        Py_buffer view;
        if (PyObject_GetBuffer(source, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        Py_BEGIN_ALLOW_THREADS
        rc = petct_read_buffer((const uint8_t *)view.buf, (size_t)view.len, flags, &ds, &err);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&view);
    }
    if (rc != PETCT_OK)
        return raise_error(module, &err, name);

    PyObject *capsule = PyCapsule_New(ds, DATASET_CAPSULE, dataset_capsule_destructor);
    if (capsule == NULL) {
        NOGIL(petct_dataset_free(ds));
        return NULL;
    }
    petct_dataset_view v;
    int32_t vrc;
    NOGIL(vrc = petct_dataset_get_view(ds, &v));
    if (vrc != PETCT_OK) {
        Py_DECREF(capsule);
        PyErr_SetString(PyExc_RuntimeError, "petct core refused a dataset view");
        return NULL;
    }
    size_t pos = 0;
    PyObject *elements = build_elements(&v, &pos, v.element_count, 0);
    if (elements == NULL) {
        Py_DECREF(capsule);
        return NULL;
    }
    PyObject *info = Py_BuildValue("{sIsssssn}", "flags", (unsigned int)v.flags, "transfer_syntax", v.transfer_syntax,
                                   "character_set", v.character_set, "source_length", (Py_ssize_t)v.source_length);
    if (info == NULL) {
        Py_DECREF(capsule);
        Py_DECREF(elements);
        return NULL;
    }
    return Py_BuildValue("(NNN)", capsule, elements, info);
}

/* Parses (capsule, index) and fills the data set's view; NULL with an exception set on failure. */
static petct_dataset *
dataset_view_and_index(PyObject *args, petct_dataset_view *v, Py_ssize_t *index)
{
    PyObject *capsule;
    if (!PyArg_ParseTuple(args, "On", &capsule, index))
        return NULL;
    petct_dataset *ds = dataset_from_capsule(capsule);
    if (ds == NULL)
        return NULL;
    int32_t vrc;
    NOGIL(vrc = petct_dataset_get_view(ds, v));
    if (vrc != PETCT_OK) {
        PyErr_SetString(PyExc_RuntimeError, "petct core refused a dataset view");
        return NULL;
    }
    return ds;
}

/* element_bytes(capsule, index) -> bytes of a lazy bulk element */
/* level(handle, start, end) -> (tags, indices): the direct children of records [start, end) as a
 * uint32 and an int64 array in bytes (file order). */
static PyObject *
native_level(PyObject *module, PyObject *args)
{
    PyObject *capsule;
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, "Onn", &capsule, &start, &end))
        return NULL;
    petct_dataset *ds = dataset_from_capsule(capsule);
    if (ds == NULL)
        return NULL;
    petct_dataset_view v;
    int32_t vrc;
    NOGIL(vrc = petct_dataset_get_view(ds, &v));
    if (vrc != PETCT_OK || start < 0 || end < start || (size_t)end > v.element_count) {
        PyErr_SetString(PyExc_ValueError, "bad element range");
        return NULL;
    }
    size_t n = 0;
    for (size_t i = (size_t)start; i < (size_t)end; i += 1 + (size_t)v.elements[i].descendants)
        n++;
    PyObject *tags = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * sizeof(uint32_t)));
    PyObject *indices = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * sizeof(int64_t)));
    if (tags == NULL || indices == NULL) {
        Py_XDECREF(tags);
        Py_XDECREF(indices);
        return NULL;
    }
    uint32_t *t = (uint32_t *)PyBytes_AS_STRING(tags);
    int64_t *x = (int64_t *)PyBytes_AS_STRING(indices);
    size_t k = 0;
    for (size_t i = (size_t)start; i < (size_t)end && k < n; i += 1 + (size_t)v.elements[i].descendants, k++) {
        t[k] = v.elements[i].tag;
        x[k] = (int64_t)i;
    }
    return Py_BuildValue("(NN)", tags, indices);
}

/* element(handle, index, depth) -> the element tuple of record `index` (as the read built them). */
static PyObject *
native_element(PyObject *module, PyObject *args)
{
    PyObject *capsule;
    Py_ssize_t index;
    int depth;
    if (!PyArg_ParseTuple(args, "Oni", &capsule, &index, &depth))
        return NULL;
    petct_dataset *ds = dataset_from_capsule(capsule);
    if (ds == NULL)
        return NULL;
    petct_dataset_view v;
    int32_t vrc;
    NOGIL(vrc = petct_dataset_get_view(ds, &v));
    if (vrc != PETCT_OK || index < 0 || (size_t)index >= v.element_count) {
        PyErr_SetString(PyExc_IndexError, "element index out of range");
        return NULL;
    }
    size_t pos = (size_t)index;
    return build_element(&v, &pos, depth);
}

static PyObject *
native_element_bytes(PyObject *module, PyObject *args)
{
    petct_dataset_view v;
    Py_ssize_t index;
    if (dataset_view_and_index(args, &v, &index) == NULL)
        return NULL;
    if (index < 0 || (size_t)index >= v.element_count) {
        PyErr_SetString(PyExc_IndexError, "element index out of range");
        return NULL;
    }
    const petct_element *e = &v.elements[index];
    if (e->kind != PETCT_KIND_BYTES || e->value_offset > v.source_length ||
        e->value_length > v.source_length - e->value_offset) {
        PyErr_SetString(PyExc_ValueError, "element has no byte value");
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)v.source + e->value_offset, (Py_ssize_t)e->value_length);
}

/* encoded_value(capsule, index) -> bytes of the value as encoded in the file, or None */
static PyObject *
native_encoded_value(PyObject *module, PyObject *args)
{
    petct_dataset_view v;
    Py_ssize_t index;
    petct_dataset *ds = dataset_view_and_index(args, &v, &index);
    if (ds == NULL)
        return NULL;
    size_t offset = 0, length = 0;
    int32_t found = 0;
    if (index >= 0)
        NOGIL(found = petct_dataset_encoded_value(ds, (size_t)index, &offset, &length));
    if (!found || offset > v.source_length || length > v.source_length - offset)
        Py_RETURN_NONE;
    return PyBytes_FromStringAndSize((const char *)v.source + offset, (Py_ssize_t)length);
}

/* pixel_info(capsule) -> dict */
static int
get_pixel_info(PyObject *module, petct_dataset *ds, petct_pixel_info *info, PyObject *name)
{
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    Py_BEGIN_ALLOW_THREADS
    rc = petct_pixel_info_get(ds, info, &err);
    Py_END_ALLOW_THREADS
    if (rc != PETCT_OK) {
        raise_error(module, &err, name);
        return -1;
    }
    if (info->ndim < 1 || info->ndim > 4) {
        PyErr_SetString(PyExc_RuntimeError, "petct core returned a bad pixel shape");
        return -1;
    }
    return 0;
}

static PyObject *
native_pixel_info(PyObject *module, PyObject *args)
{
    PyObject *capsule, *name;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &name))
        return NULL;
    petct_dataset *ds = dataset_from_capsule(capsule);
    if (ds == NULL)
        return NULL;
    petct_pixel_info info;
    if (get_pixel_info(module, ds, &info, name) < 0)
        return NULL;
    PyObject *shape = PyTuple_New(info.ndim);
    if (shape == NULL)
        return NULL;
    for (int i = 0; i < info.ndim; i++)
        PyTuple_SET_ITEM(shape, i, PyLong_FromUnsignedLongLong(info.shape[i]));
    return Py_BuildValue("{sNsIsIsIsIsIsIsIsIsC sisKssss}", "shape", shape, "frames", info.frames, "rows", info.rows,
                         "columns", info.columns, "samples", info.samples, "bits_allocated", info.bits_allocated,
                         "bits_stored", info.bits_stored, "pixel_representation", info.pixel_representation,
                         "planar_configuration", info.planar_configuration, "dtype_kind", (int)info.dtype_kind,
                         "itemsize", (int)info.itemsize, "nbytes", (unsigned long long)info.nbytes, "photometric",
                         info.photometric, "transfer_syntax", info.transfer_syntax);
}

static int
numpy_type(char kind, int itemsize)
{
    switch (kind) {
    case 'u':
        return itemsize == 1 ? NPY_UINT8 : itemsize == 2 ? NPY_UINT16 : itemsize == 4 ? NPY_UINT32 : itemsize == 8 ? NPY_UINT64 : -1;
    case 'i':
        return itemsize == 1 ? NPY_INT8 : itemsize == 2 ? NPY_INT16 : itemsize == 4 ? NPY_INT32 : itemsize == 8 ? NPY_INT64 : -1;
    case 'f':
        return itemsize == 4 ? NPY_FLOAT32 : itemsize == 8 ? NPY_FLOAT64 : -1;
    default:
        return -1;
    }
}

typedef struct {
    petct_dataset *ds;
    void *data;
    size_t nbytes, count;
    int rescaled;
    petct_error *err;
    int threads;
} pixel_job;

static int32_t
pixel_work(void *ctx, const int32_t *cancel)
{
    pixel_job *j = (pixel_job *)ctx;
    if (j->rescaled)
        return petct_pixel_decode_rescaled(j->ds, (float *)j->data, j->count, j->threads, cancel, j->err);
    return petct_pixel_decode(j->ds, j->data, j->nbytes, j->threads, cancel, j->err);
}

/* pixel_array(capsule, name, rescaled) -> ndarray, decoded straight into a NumPy-owned buffer. */
static PyObject *
native_pixel_array(PyObject *module, PyObject *args)
{
    PyObject *capsule, *name;
    int rescaled, threads = 0;
    if (!PyArg_ParseTuple(args, "OOp|i", &capsule, &name, &rescaled, &threads))
        return NULL;
    petct_dataset *ds = dataset_from_capsule(capsule);
    if (ds == NULL)
        return NULL;
    petct_pixel_info info;
    if (get_pixel_info(module, ds, &info, name) < 0)
        return NULL;
    npy_intp dims[4];
    for (int i = 0; i < info.ndim; i++)
        dims[i] = (npy_intp)info.shape[i];
    int type = rescaled ? NPY_FLOAT32 : numpy_type(info.dtype_kind, info.itemsize);
    if (type < 0) {
        PyErr_Format(PyExc_RuntimeError, "petct core returned an unknown dtype %c%d", info.dtype_kind, info.itemsize);
        return NULL;
    }
    PyArrayObject *arr = (PyArrayObject *)PyArray_SimpleNew(info.ndim, dims, type);
    if (arr == NULL)
        return NULL;
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    pixel_job job = {ds, PyArray_DATA(arr), (size_t)PyArray_NBYTES(arr), (size_t)PyArray_SIZE(arr), rescaled, &err, threads};
    if (info.frames <= 1 && (size_t)PyArray_NBYTES(arr) < INLINE_WORK_BYTES) {
        NOGIL(rc = pixel_work(&job, NULL));   /* one small frame: no worker thread */
    }
    else if (run_interruptible(pixel_work, &job, &rc) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    if (rc != PETCT_OK) {
        Py_DECREF(arr);
        return raise_error(module, &err, name);
    }
    return (PyObject *)arr;
}

/* ---------------------------------------------------------------------------------------------- */
/* dictionary                                                                                      */

static PyObject *
native_dict_tag(PyObject *module, PyObject *arg)
{
    unsigned long tag = PyLong_AsUnsignedLong(arg);
    if (tag == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    petct_dict_entry e;
    int32_t found;
    Py_BEGIN_ALLOW_THREADS
    found = petct_dict_lookup_tag((uint32_t)tag, &e);
    Py_END_ALLOW_THREADS
    if (!found)
        Py_RETURN_NONE;
    return Py_BuildValue("(ssssO)", e.vr, e.vm, e.keyword, e.name, e.retired ? Py_True : Py_False);
}

static PyObject *
native_dict_keyword(PyObject *module, PyObject *arg)
{
    const char *kw = PyUnicode_AsUTF8(arg);
    if (kw == NULL)
        return NULL;
    uint32_t tag = 0;
    int32_t found;
    Py_BEGIN_ALLOW_THREADS
    found = petct_dict_lookup_keyword(kw, &tag);
    Py_END_ALLOW_THREADS
    if (!found)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(tag);
}

/* ---------------------------------------------------------------------------------------------- */
/* series, volumes, SUV, resampling                                                                */

/* Converts a sequence of str paths into a NULL-free char* array; *keep holds the bytes objects. */
static const char **
path_array(PyObject *paths, Py_ssize_t *count, PyObject **keep)
{
    PyObject *seq = PySequence_Fast(paths, "paths must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *encoded = PyList_New(n);
    const char **out = PyMem_Calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    if (encoded == NULL || out == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *b = NULL;
        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(seq, i), &b))
            goto fail;
        PyList_SET_ITEM(encoded, i, b);
        out[i] = PyBytes_AS_STRING(b);
    }
    Py_DECREF(seq);
    *count = n;
    *keep = encoded;
    return out;
fail:
    Py_DECREF(seq);
    Py_XDECREF(encoded);
    PyMem_Free(out);
    if (!PyErr_Occurred())
        PyErr_NoMemory();
    return NULL;
}

/* The core's functions that take a list of paths and create an object; `extra` is the scan flags
 * or the scan whose headers a volume reuses. */
typedef int32_t (*path_opener)(const char *const *paths, size_t count, int32_t threads, void *extra,
                               const int32_t *cancel, void **out, petct_error *err);

static int32_t
open_scan(const char *const *paths, size_t count, int32_t threads, void *extra, const int32_t *cancel, void **out,
          petct_error *err)
{
    uint32_t flags = *(const uint32_t *)extra;
    return petct_scan_files(paths, count, threads, flags, cancel, (petct_scan **)out, err);
}

static int32_t
open_volume(const char *const *paths, size_t count, int32_t threads, void *extra, const int32_t *cancel,
            void **out, petct_error *err)
{
    return petct_volume_open(paths, count, threads, (const petct_scan *)extra, cancel, (petct_volume **)out, err);
}

typedef struct {
    path_opener opener;
    const char **paths;
    size_t count;
    int32_t threads;
    void *extra;
    void **out;
    petct_error *err;
} open_job;

static int32_t
open_work(void *ctx, const int32_t *cancel)
{
    open_job *j = (open_job *)ctx;
    return j->opener(j->paths, j->count, j->threads, j->extra, cancel, j->out, j->err);
}

/* Calls `opener` on the paths with the GIL released; returns the object or NULL with an exception set. */
static void *
open_with_paths(PyObject *module, PyObject *paths, int threads, path_opener opener, void *extra)
{
    PyObject *keep = NULL;
    Py_ssize_t n;
    const char **arr = path_array(paths, &n, &keep);
    if (arr == NULL)
        return NULL;
    void *obj = NULL;
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    open_job job = {opener, arr, (size_t)n, threads, extra, &obj, &err};
    int interrupted = run_interruptible(open_work, &job, &rc) < 0;
    PyMem_Free(arr);
    Py_DECREF(keep);
    if (interrupted) {
        if (rc == PETCT_OK && obj != NULL) {
            if (opener == open_scan)
                NOGIL(petct_scan_free((petct_scan *)obj));
            else
                NOGIL(petct_volume_free((petct_volume *)obj));
        }
        return NULL;
    }
    if (rc != PETCT_OK) {
        raise_error(module, &err, Py_None);
        return NULL;
    }
    return obj;
}

/* scan(paths, threads, keep_headers=False) -> JSON text, or (JSON text, capsule) with keep_headers:
 * the capsule holds the parsed headers for volume_open until it is released. */
static PyObject *
native_scan(PyObject *module, PyObject *args)
{
    PyObject *paths;
    int threads, keep_headers = 0;
    if (!PyArg_ParseTuple(args, "Oi|p", &paths, &threads, &keep_headers))
        return NULL;
    uint32_t flags = keep_headers ? PETCT_SCAN_KEEP_HEADERS : 0u;
    petct_scan *scan = open_with_paths(module, paths, threads, open_scan, &flags);
    if (scan == NULL)
        return NULL;
    const char *text;
    NOGIL(text = petct_scan_json(scan));
    PyObject *json = PyUnicode_FromString(text);
    if (json == NULL || !keep_headers) {
        NOGIL(petct_scan_free(scan));
        return json;
    }
    PyObject *capsule = PyCapsule_New(scan, SCAN_CAPSULE, scan_capsule_destructor);
    if (capsule == NULL) {
        Py_DECREF(json);
        NOGIL(petct_scan_free(scan));
        return NULL;
    }
    return Py_BuildValue("(NN)", json, capsule);
}

/* volume_open(paths, threads, scan=None) -> (capsule, json); `scan` is a capsule from
 * scan(..., keep_headers=True) whose headers are reused. */
static PyObject *
native_volume_open(PyObject *module, PyObject *args)
{
    PyObject *paths, *scan_obj = Py_None;
    int threads;
    if (!PyArg_ParseTuple(args, "Oi|O", &paths, &threads, &scan_obj))
        return NULL;
    petct_scan *scan = NULL;
    if (scan_obj != Py_None) {
        scan = PyCapsule_GetPointer(scan_obj, SCAN_CAPSULE);
        if (scan == NULL)
            return NULL;
    }
    /* scan_obj is borrowed from args, which outlive the call: the scan stays alive while Swift reads it. */
    petct_volume *vol = open_with_paths(module, paths, threads, open_volume, scan);
    if (vol == NULL)
        return NULL;
    PyObject *capsule = PyCapsule_New(vol, VOLUME_CAPSULE, volume_capsule_destructor);
    if (capsule == NULL) {
        NOGIL(petct_volume_free(vol));
        return NULL;
    }
    const char *text;
    NOGIL(text = petct_volume_json(vol));
    return Py_BuildValue("(Ns)", capsule, text);
}

typedef struct {
    petct_volume *vol;
    float *data;
    size_t count;
    petct_error *err;
    int threads;
} fill_job;

static int32_t
fill_work(void *ctx, const int32_t *cancel)
{
    fill_job *j = (fill_job *)ctx;
    return petct_volume_fill(j->vol, j->data, j->count, j->threads, cancel, j->err);
}

/* volume_fill(capsule, shape, threads=0) -> float32 ndarray */
static PyObject *
native_volume_fill(PyObject *module, PyObject *args)
{
    PyObject *capsule;
    Py_ssize_t k, r, c;
    int threads = 0;
    if (!PyArg_ParseTuple(args, "O(nnn)|i", &capsule, &k, &r, &c, &threads))
        return NULL;
    petct_volume *vol = PyCapsule_GetPointer(capsule, VOLUME_CAPSULE);
    if (vol == NULL)
        return NULL;
    npy_intp dims[3] = {k, r, c};
    PyArrayObject *arr = (PyArrayObject *)PyArray_SimpleNew(3, dims, NPY_FLOAT32);
    if (arr == NULL)
        return NULL;
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    fill_job job = {vol, (float *)PyArray_DATA(arr), (size_t)PyArray_SIZE(arr), &err, threads};
    if (run_interruptible(fill_work, &job, &rc) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    if (rc != PETCT_OK) {
        Py_DECREF(arr);
        return raise_error(module, &err, Py_None);
    }
    return (PyObject *)arr;
}

/* volume_suv(capsule, kind, slices) -> (float64 factors, info json) */
static PyObject *
native_volume_suv(PyObject *module, PyObject *args)
{
    PyObject *capsule;
    const char *kind;
    Py_ssize_t slices;
    if (!PyArg_ParseTuple(args, "Osn", &capsule, &kind, &slices))
        return NULL;
    petct_volume *vol = PyCapsule_GetPointer(capsule, VOLUME_CAPSULE);
    if (vol == NULL)
        return NULL;
    npy_intp dims[1] = {slices};
    PyArrayObject *arr = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_FLOAT64);
    if (arr == NULL)
        return NULL;
    enum { INFO_CAPACITY = 16384 };
    char *info = PyMem_Malloc(INFO_CAPACITY);
    if (info == NULL) {
        Py_DECREF(arr);
        return PyErr_NoMemory();
    }
    info[0] = 0;
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    double *data = (double *)PyArray_DATA(arr);
    Py_BEGIN_ALLOW_THREADS
    rc = petct_volume_suv(vol, kind, data, (size_t)slices, info, INFO_CAPACITY, &err);
    Py_END_ALLOW_THREADS
    if (rc != PETCT_OK) {
        PyMem_Free(info);
        Py_DECREF(arr);
        return raise_error(module, &err, Py_None);
    }
    PyObject *result = Py_BuildValue("(Ns)", (PyObject *)arr, info);
    PyMem_Free(info);
    return result;
}

/* Fills a petct_grid from (shape(3), origin(3), direction(9), spacing(3), offsets or None).
 * *offsets_keep holds the contiguous float64 offsets array while the grid is in use. */
static int
parse_grid(PyObject *t, petct_grid *g, PyObject **offsets_keep)
{
    PyObject *offsets;
    unsigned long long k, r, c;
    double o[3], d[9], s[3];
    *offsets_keep = NULL;
    if (!PyArg_ParseTuple(t, "(KKK)(ddd)(ddddddddd)(ddd)O;grid must be (shape, origin, direction, spacing, offsets)",
                          &k, &r, &c, &o[0], &o[1], &o[2], &d[0], &d[1], &d[2], &d[3], &d[4], &d[5], &d[6], &d[7], &d[8],
                          &s[0], &s[1], &s[2], &offsets))
        return -1;
    memset(g, 0, sizeof(*g));
    g->slices = k;
    g->rows = r;
    g->columns = c;
    memcpy(g->origin, o, sizeof(o));
    memcpy(g->direction, d, sizeof(d));
    memcpy(g->spacing, s, sizeof(s));
    g->slice_offsets = NULL;
    if (offsets != Py_None) {
        PyArrayObject *a = (PyArrayObject *)PyArray_FROMANY(offsets, NPY_FLOAT64, 1, 1, NPY_ARRAY_IN_ARRAY);
        if (a == NULL)
            return -1;
        if ((unsigned long long)PyArray_SIZE(a) != k) {
            Py_DECREF(a);
            PyErr_SetString(PyExc_ValueError, "slice offsets must have one value per slice");
            return -1;
        }
        g->slice_offsets = (const double *)PyArray_DATA(a);
        *offsets_keep = (PyObject *)a;
    }
    return 0;
}

/* resample(src float32 (k,r,c), src_grid, dst_grid, method, fill, want_mask, threads) -> dst or (dst, mask) */
static PyObject *
native_resample(PyObject *module, PyObject *args)
{
    PyObject *src_obj, *src_t, *dst_t;
    int method, want_mask, threads;
    float fill;
    if (!PyArg_ParseTuple(args, "OOOifpi", &src_obj, &src_t, &dst_t, &method, &fill, &want_mask, &threads))
        return NULL;
    petct_grid sg, dg;
    PyObject *skeep = NULL, *dkeep = NULL, *result = NULL;
    PyArrayObject *src = NULL, *dst = NULL, *mask = NULL;
    if (parse_grid(src_t, &sg, &skeep) < 0 || parse_grid(dst_t, &dg, &dkeep) < 0)
        goto done;
    src = (PyArrayObject *)PyArray_FROMANY(src_obj, NPY_FLOAT32, 3, 3, NPY_ARRAY_IN_ARRAY);
    if (src == NULL)
        goto done;
    if ((unsigned long long)PyArray_DIM(src, 0) != sg.slices || (unsigned long long)PyArray_DIM(src, 1) != sg.rows ||
        (unsigned long long)PyArray_DIM(src, 2) != sg.columns) {
        PyErr_SetString(PyExc_ValueError, "source array shape does not match its grid");
        goto done;
    }
    npy_intp dims[3] = {(npy_intp)dg.slices, (npy_intp)dg.rows, (npy_intp)dg.columns};
    dst = (PyArrayObject *)PyArray_SimpleNew(3, dims, NPY_FLOAT32);
    if (dst == NULL)
        goto done;
    if (want_mask) {
        mask = (PyArrayObject *)PyArray_SimpleNew(3, dims, NPY_BOOL);
        if (mask == NULL)
            goto done;
    }
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    const float *sp = (const float *)PyArray_DATA(src);
    float *dp = (float *)PyArray_DATA(dst);
    uint8_t *mp = mask ? (uint8_t *)PyArray_DATA(mask) : NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = petct_resample(sp, &sg, dp, &dg, method, fill, mp, threads, &err);
    Py_END_ALLOW_THREADS
    if (rc != PETCT_OK) {
        raise_error(module, &err, Py_None);
        goto done;
    }
    if (want_mask)
        result = Py_BuildValue("(OO)", dst, mask);
    else
        result = Py_NewRef((PyObject *)dst);
done:
    Py_XDECREF(skeep);
    Py_XDECREF(dkeep);
    Py_XDECREF(src);
    Py_XDECREF(dst);
    Py_XDECREF(mask);
    return result;
}

static int32_t
open_masks(const char *const *paths, size_t count, int32_t threads, void *extra, const int32_t *cancel,
           void **out, petct_error *err)
{
    (void)threads;
    (void)extra;
    (void)cancel;
    return petct_masks_open(paths, count, (petct_masks **)out, err);
}

/* masks_open(paths) -> (capsule, json) */
static PyObject *
native_masks_open(PyObject *module, PyObject *paths)
{
    petct_masks *m = open_with_paths(module, paths, 0, open_masks, NULL);
    if (m == NULL)
        return NULL;
    PyObject *capsule = PyCapsule_New(m, MASKS_CAPSULE, masks_capsule_destructor);
    if (capsule == NULL) {
        NOGIL(petct_masks_free(m));
        return NULL;
    }
    const char *text;
    NOGIL(text = petct_masks_json(m));
    return Py_BuildValue("(Ns)", capsule, text);
}

/* masks_fill(capsule, index, grid, fraction, strict, threshold, threads, name) -> uint8 (0/1) or float32
 * ndarray on the grid; `name` (the object's path) goes into errors. */
static PyObject *
native_masks_fill(PyObject *module, PyObject *args)
{
    PyObject *capsule, *grid_t, *name;
    Py_ssize_t index;
    int fraction, strict, threads;
    double threshold;
    if (!PyArg_ParseTuple(args, "OnOppdiO", &capsule, &index, &grid_t, &fraction, &strict, &threshold, &threads, &name))
        return NULL;
    petct_masks *m = PyCapsule_GetPointer(capsule, MASKS_CAPSULE);
    if (m == NULL)
        return NULL;
    if (index < 0) {
        PyErr_SetString(PyExc_ValueError, "mask index must be >= 0");
        return NULL;
    }
    petct_grid g;
    PyObject *keep = NULL;
    if (parse_grid(grid_t, &g, &keep) < 0)
        return NULL;
    npy_intp dims[3] = {(npy_intp)g.slices, (npy_intp)g.rows, (npy_intp)g.columns};
    PyArrayObject *arr = (PyArrayObject *)PyArray_ZEROS(3, dims, fraction ? NPY_FLOAT32 : NPY_UINT8, 0);
    if (arr == NULL) {
        Py_XDECREF(keep);
        return NULL;
    }
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    void *data = PyArray_DATA(arr);
    size_t nbytes = (size_t)PyArray_NBYTES(arr);
    uint32_t flags = (fraction ? PETCT_MASKS_FRACTION : 0u) | (strict ? PETCT_MASKS_STRICT : 0u);
    Py_BEGIN_ALLOW_THREADS
    rc = petct_masks_fill(m, (size_t)index, &g, flags, threshold, threads, data, nbytes, &err);
    Py_END_ALLOW_THREADS
    Py_XDECREF(keep);
    if (rc != PETCT_OK) {
        Py_DECREF(arr);
        return raise_error(module, &err, name);
    }
    return (PyObject *)arr;
}

static PyObject *
native_core_version(PyObject *module, PyObject *unused)
{
    const char *text;
    NOGIL(text = petct_core_version());
    return PyUnicode_FromString(text);
}

/* parallel_peak(reset=False) -> (width, active); a test hook, see petct_parallel_peak. */
static PyObject *
native_parallel_peak(PyObject *module, PyObject *args)
{
    int reset = 0;
    if (!PyArg_ParseTuple(args, "|p", &reset))
        return NULL;
    int32_t width, active = 0;
    NOGIL(width = petct_parallel_peak(reset, &active));
    return Py_BuildValue("(ii)", (int)width, (int)active);
}

/* codec_status(codec) -> (loaded: bool, description: str); codec is PETCT_CODEC_CHARLS / _OPENJPEG. */
static PyObject *
native_codec_status(PyObject *module, PyObject *arg)
{
    long codec = PyLong_AsLong(arg);
    if (codec == -1 && PyErr_Occurred())
        return NULL;
    char text[1024];
    int32_t rc;
    NOGIL(rc = petct_codec_status((int32_t)codec, text, sizeof text));
    if (rc < 0) {
        PyErr_Format(PyExc_ValueError, "unknown codec %ld", codec);
        return NULL;
    }
    return Py_BuildValue("(Os)", rc ? Py_True : Py_False, text);
}

/* ---------------------------------------------------------------------------------------------- */
/* writing                                                                                         */

/* write_file(path, records, heap) -> None
 * records: bytes holding packed petct_write_element structs (built by petct.writer with struct);
 * heap: bytes of the values. */
_Static_assert(sizeof(petct_write_element) == 32, "petct_write_element layout changed (petct/writer.py packs it)");

static PyObject *
native_write_file(PyObject *module, PyObject *args)
{
    PyObject *path_obj, *encoded = NULL;
    Py_buffer records, heap;
    if (!PyArg_ParseTuple(args, "Oy*y*", &path_obj, &records, &heap))
        return NULL;
    PyObject *result = NULL;
    if (records.len % (Py_ssize_t)sizeof(petct_write_element) != 0) {
        PyErr_SetString(PyExc_ValueError, "element records are not a whole number of petct_write_element");
        goto done;
    }
    if (!PyUnicode_FSConverter(path_obj, &encoded))
        goto done;
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    const char *path = PyBytes_AS_STRING(encoded);
    size_t count = (size_t)records.len / sizeof(petct_write_element);
    /* copy the records to aligned storage */
    petct_write_element *recs = PyMem_Malloc(count ? count * sizeof(petct_write_element) : 1);
    if (recs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(recs, records.buf, count * sizeof(petct_write_element));
    Py_BEGIN_ALLOW_THREADS
    rc = petct_write_file(path, recs, count, (const uint8_t *)heap.buf, (size_t)heap.len, &err);
    Py_END_ALLOW_THREADS
    PyMem_Free(recs);
    if (rc != PETCT_OK) {
        raise_error(module, &err, path_obj);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(encoded);
    PyBuffer_Release(&records);
    PyBuffer_Release(&heap);
    return result;
}

/* set_limits(max_decoded_bytes, decode_ratio, max_stream_bytes) -> None (0 leaves one unchanged);
 * get_limits() -> (max_decoded_bytes, decode_ratio, max_stream_bytes) */
static PyObject *
native_set_limits(PyObject *module, PyObject *args)
{
    unsigned long long a, b, c;
    if (!PyArg_ParseTuple(args, "KKK", &a, &b, &c))
        return NULL;
    petct_limits l = {a, b, c};
    NOGIL(petct_set_limits(&l));
    Py_RETURN_NONE;
}

static PyObject *
native_get_limits(PyObject *module, PyObject *Py_UNUSED(args))
{
    petct_limits l;
    NOGIL(petct_get_limits(&l));
    return Py_BuildValue("(KKK)", (unsigned long long)l.max_decoded_bytes, (unsigned long long)l.decode_ratio,
                         (unsigned long long)l.max_stream_bytes);
}

/* ---------------------------------------------------------------------------------------------- */
/* module                                                                                          */

static PyMethodDef native_methods[] = {
    {"read", native_read, METH_VARARGS, "read(source, flags, is_path, name) -> (handle, elements, info)"},
    {"element_bytes", native_element_bytes, METH_VARARGS, "element_bytes(handle, index) -> bytes"},
    {"level", native_level, METH_VARARGS, "level(handle, start, end) -> (uint32 tags, int64 indices) as bytes"},
    {"element", native_element, METH_VARARGS, "element(handle, index, depth) -> element tuple"},
    {"encoded_value", native_encoded_value, METH_VARARGS, "encoded_value(handle, index) -> bytes | None"},
    {"pixel_info", native_pixel_info, METH_VARARGS, "pixel_info(handle, name) -> dict"},
    {"pixel_array", native_pixel_array, METH_VARARGS,
     "pixel_array(handle, name, rescaled, threads=0) -> ndarray"},
    {"dict_tag", native_dict_tag, METH_O, "dict_tag(tag) -> (VR, VM, keyword, name, retired) or None"},
    {"dict_keyword", native_dict_keyword, METH_O, "dict_keyword(keyword) -> tag or None"},
    {"scan", native_scan, METH_VARARGS, "scan(paths, threads, keep_headers=False) -> JSON text | (JSON text, handle)"},
    {"volume_open", native_volume_open, METH_VARARGS, "volume_open(paths, threads, scan=None) -> (handle, JSON text)"},
    {"volume_fill", native_volume_fill, METH_VARARGS, "volume_fill(handle, shape, threads=0) -> float32 ndarray"},
    {"volume_suv", native_volume_suv, METH_VARARGS, "volume_suv(handle, kind, slices) -> (factors, JSON text)"},
    {"resample", native_resample, METH_VARARGS,
     "resample(src, src_grid, dst_grid, method, fill, want_mask, threads) -> dst or (dst, mask)"},
    {"masks_open", native_masks_open, METH_O, "masks_open(paths) -> (handle, JSON text)"},
    {"masks_fill", native_masks_fill, METH_VARARGS,
     "masks_fill(handle, index, grid, fraction, strict, threshold, threads, name) -> uint8 or float32 ndarray"},
    {"core_version", native_core_version, METH_NOARGS, "core_version() -> str"},
    {"parallel_peak", native_parallel_peak, METH_VARARGS,
     "parallel_peak(reset=False) -> (width, active): widest parallel loop since the last reset (tests)"},
    {"set_limits", native_set_limits, METH_VARARGS, "set_limits(max_decoded_bytes, decode_ratio, max_stream_bytes)"},
    {"get_limits", native_get_limits, METH_NOARGS, "get_limits() -> (max_decoded_bytes, decode_ratio, max_stream_bytes)"},
    {"codec_status", native_codec_status, METH_O, "codec_status(codec) -> (loaded, description)"},
    {"write_file", native_write_file, METH_VARARGS, "write_file(path, records, heap) -> None"},
    {NULL, NULL, 0, NULL}};

/* The core's constants as module attributes (KIND_*, DS_*, WRITE_*, and the lists of petct_list:
 * NATIVE_TRANSFER_SYNTAXES, SUV_KINDS, SINGLE_VALUED_TEXT_VRS), so Python spells none of them again. */
static int
add_core_constants(PyObject *module)
{
    static const struct {
        const char *name;
        long value;
    } ints[] = {
        {"KIND_EMPTY", PETCT_KIND_EMPTY},         {"KIND_TEXT", PETCT_KIND_TEXT},
        {"KIND_INT", PETCT_KIND_INT},             {"KIND_UINT", PETCT_KIND_UINT},
        {"KIND_FLOAT", PETCT_KIND_FLOAT},         {"KIND_BYTES", PETCT_KIND_BYTES},
        {"KIND_TAGS", PETCT_KIND_TAGS},           {"KIND_SEQUENCE", PETCT_KIND_SEQUENCE},
        {"KIND_ITEM", PETCT_KIND_ITEM},           {"KIND_RAW_TEXT", PETCT_KIND_RAW_TEXT},
        {"DS_PREAMBLE", PETCT_DS_PREAMBLE},       {"DS_FILE_META", PETCT_DS_FILE_META},
        {"DS_IMPLICIT_VR", PETCT_DS_IMPLICIT_VR}, {"DS_BIG_ENDIAN", PETCT_DS_BIG_ENDIAN},
        {"DS_DEFLATED", PETCT_DS_DEFLATED},       {"DS_STOPPED", PETCT_DS_STOPPED},
        {"WRITE_ENCAPSULATED", PETCT_WRITE_ENCAPSULATED},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (PyModule_AddIntConstant(module, ints[i].name, ints[i].value) < 0)
            return -1;
    }
    static const struct {
        const char *name;
        int32_t which;
        int frozen; /* frozenset, else tuple (order kept) */
    } lists[] = {
        {"NATIVE_TRANSFER_SYNTAXES", PETCT_LIST_NATIVE_TRANSFER_SYNTAXES, 1},
        {"SUV_KINDS", PETCT_LIST_SUV_KINDS, 0},
        {"SINGLE_VALUED_TEXT_VRS", PETCT_LIST_SINGLE_VALUED_TEXT_VRS, 1},
    };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        const char *names;
        NOGIL(names = petct_list(lists[i].which));
        if (names == NULL) {
            PyErr_Format(PyExc_ImportError, "libpetct has no list %d", (int)lists[i].which);
            return -1;
        }
        if (lists[i].which == PETCT_LIST_SINGLE_VALUED_TEXT_VRS) {
            single_valued_text_vr_count = 0;
            const size_t cap = sizeof(single_valued_text_vrs) / sizeof(single_valued_text_vrs[0]);
            for (const char *p = names; p[0] && p[1] && single_valued_text_vr_count < cap;) {
                single_valued_text_vrs[single_valued_text_vr_count++] =
                    (uint16_t)((unsigned char)p[0] | ((unsigned char)p[1] << 8));
                p += 2;
                if (*p != '\\')
                    break;
                p++;
            }
        }
        PyObject *text = PyUnicode_FromString(names);
        if (text == NULL)
            return -1;
        PyObject *sep = PyUnicode_FromString("\\");
        PyObject *parts = sep ? PyUnicode_Split(text, sep, -1) : NULL;
        Py_DECREF(text);
        Py_XDECREF(sep);
        if (parts == NULL)
            return -1;
        PyObject *obj = lists[i].frozen ? PyFrozenSet_New(parts) : PyList_AsTuple(parts);
        Py_DECREF(parts);
        if (obj == NULL || PyModule_AddObject(module, lists[i].name, obj) < 0) {
            Py_XDECREF(obj);
            return -1;
        }
    }
    return 0;
}

static int
native_exec(PyObject *module)
{
    if (_import_array() < 0)
        return -1;
    int32_t abi;
    NOGIL(abi = petct_abi_version());
    if (abi != PETCT_ABI_VERSION) {
        PyErr_Format(PyExc_ImportError, "libpetct ABI version %d does not match the extension's %d",
                     (int)abi, PETCT_ABI_VERSION);
        return -1;
    }
    module_state *st = get_state(module);
    PyObject *errors = PyImport_ImportModule("petct.errors");
    if (errors == NULL)
        return -1;
#define LOAD(field, name)                                             \
    st->field = PyObject_GetAttrString(errors, name);                \
    if (st->field == NULL) {                                          \
        Py_DECREF(errors);                                            \
        return -1;                                                    \
    }
    LOAD(DicomError, "DicomError");
    LOAD(InvalidDicomError, "InvalidDicomError");
    LOAD(MalformedDicomError, "MalformedDicomError");
    LOAD(UnsupportedTransferSyntaxError, "UnsupportedTransferSyntaxError");
    LOAD(SUVError, "SUVError");
    LOAD(GeometryError, "GeometryError");
    LOAD(NoPixelDataError, "NoPixelDataError");
    LOAD(DecodeLimitError, "DecodeLimitError");
#undef LOAD
    Py_DECREF(errors);
    if (PyModule_AddIntConstant(module, "ABI_VERSION", PETCT_ABI_VERSION) < 0 ||
        PyModule_AddIntConstant(module, "READ_STOP_BEFORE_PIXELS", PETCT_READ_STOP_BEFORE_PIXELS) < 0 ||
        PyModule_AddIntConstant(module, "READ_FORCE", PETCT_READ_FORCE) < 0 ||
        PyModule_AddIntConstant(module, "READ_NO_CHARSET", PETCT_READ_NO_CHARSET) < 0)
        return -1;
    if (add_core_constants(module) < 0)
        return -1;
    return 0;
}

static int
native_traverse(PyObject *module, visitproc visit, void *arg)
{
    module_state *st = get_state(module);
    Py_VISIT(st->DicomError);
    Py_VISIT(st->InvalidDicomError);
    Py_VISIT(st->MalformedDicomError);
    Py_VISIT(st->UnsupportedTransferSyntaxError);
    Py_VISIT(st->SUVError);
    Py_VISIT(st->GeometryError);
    Py_VISIT(st->NoPixelDataError);
    Py_VISIT(st->DecodeLimitError);
    return 0;
}

static int
native_clear(PyObject *module)
{
    module_state *st = get_state(module);
    Py_CLEAR(st->DicomError);
    Py_CLEAR(st->InvalidDicomError);
    Py_CLEAR(st->MalformedDicomError);
    Py_CLEAR(st->UnsupportedTransferSyntaxError);
    Py_CLEAR(st->SUVError);
    Py_CLEAR(st->GeometryError);
    Py_CLEAR(st->NoPixelDataError);
    Py_CLEAR(st->DecodeLimitError);
    return 0;
}

static void
native_free(void *module)
{
    native_clear((PyObject *)module);
}

static PyModuleDef_Slot native_slots[] = {{Py_mod_exec, native_exec}, {0, NULL}};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "petct._native", "Bridge to the petct Swift core.", sizeof(module_state),
    native_methods,        native_slots,    native_traverse,                      native_clear,
    native_free};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModuleDef_Init(&native_module);
}
