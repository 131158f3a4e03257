/* petct._native: series, volumes, SUV, resampling and masks. */
#include "_native_private.h"

CAPSULE_DESTRUCTOR(scan_capsule_destructor, petct_scan, SCAN_CAPSULE, petct_scan_free)
CAPSULE_DESTRUCTOR(volume_capsule_destructor, petct_volume, VOLUME_CAPSULE, petct_volume_free)
CAPSULE_DESTRUCTOR(masks_capsule_destructor, petct_masks, MASKS_CAPSULE, petct_masks_free)

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
 * or the scan whose headers a volume reuses; `progress` the counter the scan bumps per file read. */
typedef int32_t (*path_opener)(const char *const *paths, size_t count, int32_t threads, void *extra,
                               const int32_t *cancel, int64_t *progress, void **out, petct_error *err);

static int32_t
open_scan(const char *const *paths, size_t count, int32_t threads, void *extra, const int32_t *cancel,
          int64_t *progress, void **out, petct_error *err)
{
    uint32_t flags = *(const uint32_t *)extra;
    return petct_scan_files(paths, count, threads, flags, cancel, progress, (petct_scan **)out, err);
}

static int32_t
open_volume(const char *const *paths, size_t count, int32_t threads, void *extra, const int32_t *cancel,
            int64_t *progress, void **out, petct_error *err)
{
    (void)progress;
    return petct_volume_open(paths, count, threads, (const petct_scan *)extra, cancel, (petct_volume **)out,
                             err);
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
open_work(void *ctx, const int32_t *cancel, int64_t *progress)
{
    open_job *j = (open_job *)ctx;
    return j->opener(j->paths, j->count, j->threads, j->extra, cancel, progress, j->out, j->err);
}

/* Calls `opener` on the paths with the GIL released (`report`: NULL or the callable that gets the
 * progress count, see run_reporting); returns the object or NULL with an exception set. */
static void *
open_with_paths(PyObject *module, PyObject *paths, int threads, path_opener opener, void *extra,
                PyObject *report)
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
    int interrupted = run_reporting(open_work, &job, &rc, report) < 0;
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

/* scan(paths, threads, keep_headers=False, progress=None) -> JSON text, or (JSON text, capsule) with
 * keep_headers: the capsule holds the parsed headers for volume_open until it is released. `progress`:
 * None or a callable called with the number of files read so far while the scan runs (from the
 * waiting thread's 50 ms polls) and with the file count at the end; what it raises stops the scan. */
PyObject *
native_scan(PyObject *module, PyObject *args)
{
    PyObject *paths, *report = Py_None;
    int threads, keep_headers = 0;
    if (!PyArg_ParseTuple(args, "Oi|pO", &paths, &threads, &keep_headers, &report))
        return NULL;
    if (report != Py_None && !PyCallable_Check(report)) {
        PyErr_SetString(PyExc_TypeError, "progress must be None or a callable");
        return NULL;
    }
    uint32_t flags = keep_headers ? PETCT_SCAN_KEEP_HEADERS : 0u;
    petct_scan *scan =
        open_with_paths(module, paths, threads, open_scan, &flags, report == Py_None ? NULL : report);
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
PyObject *
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
    petct_volume *vol = open_with_paths(module, paths, threads, open_volume, scan, NULL);
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
fill_work(void *ctx, const int32_t *cancel, int64_t *progress)
{
    fill_job *j = (fill_job *)ctx;
    (void)progress;
    return petct_volume_fill(j->vol, j->data, j->count, j->threads, cancel, j->err);
}

/* volume_fill(capsule, shape, threads=0) -> float32 ndarray */
PyObject *
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
PyObject *
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
    const char *info = NULL;
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    double *data = (double *)PyArray_DATA(arr);
    Py_BEGIN_ALLOW_THREADS
    rc = petct_volume_suv(vol, kind, data, (size_t)slices, &info, &err);
    Py_END_ALLOW_THREADS
    if (rc != PETCT_OK) {
        Py_DECREF(arr);
        return raise_error(module, &err, Py_None);
    }
    /* the report is owned by the volume, which the capsule keeps alive during this call */
    return Py_BuildValue("(Ns)", (PyObject *)arr, info != NULL ? info : "");
}

/* A contiguous float64 copy of `obj` (1 to max_dims dimensions) with exactly `n` values, or NULL with
 * ValueError naming `what`. */
static PyArrayObject *
grid_doubles(PyObject *obj, unsigned long long n, int max_dims, const char *what)
{
    PyArrayObject *a = (PyArrayObject *)PyArray_FROMANY(obj, NPY_FLOAT64, 1, max_dims, NPY_ARRAY_IN_ARRAY);
    if (a == NULL)
        return NULL;
    if ((unsigned long long)PyArray_SIZE(a) != n) {
        Py_DECREF(a);
        PyErr_Format(PyExc_ValueError, "%s", what);
        return NULL;
    }
    return a;
}

/* Fills a petct_grid from (shape(3), origin(3), direction(9), spacing(3), offsets or None[, shifts or None])
 * (shifts: 3 values per slice, see petct_grid). keep[0] and keep[1] hold the contiguous float64 offsets
 * and shifts while the grid is in use. */
static int
parse_grid(PyObject *t, petct_grid *g, PyObject **keep)
{
    PyObject *offsets, *shifts = Py_None;
    unsigned long long k, r, c;
    double o[3], d[9], s[3];
    keep[0] = keep[1] = NULL;
    if (!PyArg_ParseTuple(t,
                          "(KKK)(ddd)(ddddddddd)(ddd)O|O;grid must be (shape, origin, direction, spacing, "
                          "offsets[, shifts])",
                          &k, &r, &c, &o[0], &o[1], &o[2], &d[0], &d[1], &d[2], &d[3], &d[4], &d[5], &d[6],
                          &d[7], &d[8], &s[0], &s[1], &s[2], &offsets, &shifts))
        return -1;
    memset(g, 0, sizeof(*g));
    g->slices = k;
    g->rows = r;
    g->columns = c;
    memcpy(g->origin, o, sizeof(o));
    memcpy(g->direction, d, sizeof(d));
    memcpy(g->spacing, s, sizeof(s));
    g->slice_offsets = NULL;
    g->slice_shifts = NULL;
    if (offsets != Py_None) {
        PyArrayObject *a = grid_doubles(offsets, k, 1, "slice offsets must have one value per slice");
        if (a == NULL)
            return -1;
        g->slice_offsets = (const double *)PyArray_DATA(a);
        keep[0] = (PyObject *)a;
    }
    if (shifts != Py_None) {
        if (k > ((unsigned long long)1 << 40)) {
            Py_CLEAR(keep[0]);
            PyErr_SetString(PyExc_ValueError, "grid has too many slices");
            return -1;
        }
        PyArrayObject *a = grid_doubles(shifts, 3 * k, 2, "slice shifts must have 3 values per slice");
        if (a == NULL) {
            Py_CLEAR(keep[0]);
            return -1;
        }
        g->slice_shifts = (const double *)PyArray_DATA(a);
        keep[1] = (PyObject *)a;
    }
    return 0;
}

/* resample(src float32 (k,r,c), src_grid, dst_grid, method, fill, want_mask, threads) -> dst or (dst, mask) */
PyObject *
native_resample(PyObject *module, PyObject *args)
{
    PyObject *src_obj, *src_t, *dst_t;
    int method, want_mask, threads;
    float fill;
    if (!PyArg_ParseTuple(args, "OOOifpi", &src_obj, &src_t, &dst_t, &method, &fill, &want_mask, &threads))
        return NULL;
    petct_grid sg, dg;
    PyObject *skeep[2] = {NULL, NULL}, *dkeep[2] = {NULL, NULL}, *result = NULL;
    PyArrayObject *src = NULL, *dst = NULL, *mask = NULL;
    if (parse_grid(src_t, &sg, skeep) < 0 || parse_grid(dst_t, &dg, dkeep) < 0)
        goto done;
    src = (PyArrayObject *)PyArray_FROMANY(src_obj, NPY_FLOAT32, 3, 3, NPY_ARRAY_IN_ARRAY);
    if (src == NULL)
        goto done;
    if ((unsigned long long)PyArray_DIM(src, 0) != sg.slices ||
        (unsigned long long)PyArray_DIM(src, 1) != sg.rows ||
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
    for (int q = 0; q < 2; q++) {
        Py_XDECREF(skeep[q]);
        Py_XDECREF(dkeep[q]);
    }
    Py_XDECREF(src);
    Py_XDECREF(dst);
    Py_XDECREF(mask);
    return result;
}

static int32_t
open_masks(const char *const *paths, size_t count, int32_t threads, void *extra, const int32_t *cancel,
           int64_t *progress, void **out, petct_error *err)
{
    (void)threads;
    (void)extra;
    (void)cancel;
    (void)progress;
    return petct_masks_open(paths, count, (petct_masks **)out, err);
}

/* masks_open(paths) -> (capsule, json) */
PyObject *
native_masks_open(PyObject *module, PyObject *paths)
{
    petct_masks *m = open_with_paths(module, paths, 0, open_masks, NULL, NULL);
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
PyObject *
native_masks_fill(PyObject *module, PyObject *args)
{
    PyObject *capsule, *grid_t, *name;
    Py_ssize_t index;
    int fraction, strict, threads;
    double threshold;
    if (!PyArg_ParseTuple(args, "OnOppdiO", &capsule, &index, &grid_t, &fraction, &strict, &threshold,
                          &threads, &name))
        return NULL;
    petct_masks *m = PyCapsule_GetPointer(capsule, MASKS_CAPSULE);
    if (m == NULL)
        return NULL;
    if (index < 0) {
        PyErr_SetString(PyExc_ValueError, "mask index must be >= 0");
        return NULL;
    }
    petct_grid g;
    PyObject *keep[2] = {NULL, NULL};
    if (parse_grid(grid_t, &g, keep) < 0)
        return NULL;
    npy_intp dims[3] = {(npy_intp)g.slices, (npy_intp)g.rows, (npy_intp)g.columns};
    PyArrayObject *arr = (PyArrayObject *)PyArray_ZEROS(3, dims, fraction ? NPY_FLOAT32 : NPY_UINT8, 0);
    if (arr == NULL) {
        Py_XDECREF(keep[0]);
        Py_XDECREF(keep[1]);
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
    Py_XDECREF(keep[0]);
    Py_XDECREF(keep[1]);
    if (rc != PETCT_OK) {
        Py_DECREF(arr);
        return raise_error(module, &err, name);
    }
    return (PyObject *)arr;
}
