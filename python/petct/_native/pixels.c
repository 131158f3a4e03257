/* petct._native: pixel data (decoded into NumPy-owned buffers) and the data dictionary. */
#include "_native_private.h"

/* The data set of `capsule` and its pixel description in *info; NULL with the core's error raised
 * (named `name`) or another exception set. */
static petct_dataset *
pixel_info_of(PyObject *module, PyObject *capsule, petct_pixel_info *info, PyObject *name)
{
    petct_dataset *ds = dataset_from_capsule(capsule);
    if (ds == NULL)
        return NULL;
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    NOGIL(rc = petct_pixel_info_get(ds, info, &err));
    if (rc != PETCT_OK) {
        raise_error(module, &err, name);
        return NULL;
    }
    if (info->ndim < 1 || info->ndim > 4) {
        PyErr_SetString(PyExc_RuntimeError, "petct core returned a bad pixel shape");
        return NULL;
    }
    return ds;
}

/* pixel_info(capsule, name) -> dict */
PyObject *
native_pixel_info(PyObject *module, PyObject *args)
{
    PyObject *capsule, *name;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &name))
        return NULL;
    petct_pixel_info info;
    petct_dataset *ds = pixel_info_of(module, capsule, &info, name);
    if (ds == NULL)
        return NULL;
    PyObject *shape = PyTuple_New(info.ndim);
    if (shape == NULL)
        return NULL;
    for (int i = 0; i < info.ndim; i++)
        PyTuple_SET_ITEM(shape, i, PyLong_FromUnsignedLongLong(info.shape[i]));
    return Py_BuildValue("{sNsIsIsIsIsIsIsIsIsC sisKssss}", "shape", shape, "frames", info.frames, "rows",
                         info.rows, "columns", info.columns, "samples", info.samples, "bits_allocated",
                         info.bits_allocated, "bits_stored", info.bits_stored, "pixel_representation",
                         info.pixel_representation, "planar_configuration", info.planar_configuration,
                         "dtype_kind", (int)info.dtype_kind, "itemsize", (int)info.itemsize, "nbytes",
                         (unsigned long long)info.nbytes, "photometric", info.photometric, "transfer_syntax",
                         info.transfer_syntax);
}

static int
numpy_type(char kind, int itemsize)
{
    switch (kind) {
    case 'u':
        return itemsize == 1   ? NPY_UINT8
               : itemsize == 2 ? NPY_UINT16
               : itemsize == 4 ? NPY_UINT32
               : itemsize == 8 ? NPY_UINT64
                               : -1;
    case 'i':
        return itemsize == 1   ? NPY_INT8
               : itemsize == 2 ? NPY_INT16
               : itemsize == 4 ? NPY_INT32
               : itemsize == 8 ? NPY_INT64
                               : -1;
    case 'f': return itemsize == 4 ? NPY_FLOAT32 : itemsize == 8 ? NPY_FLOAT64 : -1;
    default: return -1;
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
pixel_work(void *ctx, const int32_t *cancel, int64_t *progress)
{
    pixel_job *j = (pixel_job *)ctx;
    (void)progress;
    if (j->rescaled)
        return petct_pixel_decode_rescaled(j->ds, (float *)j->data, j->count, j->threads, cancel, j->err);
    return petct_pixel_decode(j->ds, j->data, j->nbytes, j->threads, cancel, j->err);
}

/* pixel_array(capsule, name, rescaled) -> ndarray, decoded straight into a NumPy-owned buffer. */
PyObject *
native_pixel_array(PyObject *module, PyObject *args)
{
    PyObject *capsule, *name;
    int rescaled, threads = 0;
    if (!PyArg_ParseTuple(args, "OOp|i", &capsule, &name, &rescaled, &threads))
        return NULL;
    petct_pixel_info info;
    petct_dataset *ds = pixel_info_of(module, capsule, &info, name);
    if (ds == NULL)
        return NULL;
    npy_intp dims[4];
    for (int i = 0; i < info.ndim; i++)
        dims[i] = (npy_intp)info.shape[i];
    int type = rescaled ? NPY_FLOAT32 : numpy_type(info.dtype_kind, info.itemsize);
    if (type < 0) {
        PyErr_Format(PyExc_RuntimeError, "petct core returned an unknown dtype %c%d", info.dtype_kind,
                     info.itemsize);
        return NULL;
    }
    PyArrayObject *arr = (PyArrayObject *)PyArray_SimpleNew(info.ndim, dims, type);
    if (arr == NULL)
        return NULL;
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    pixel_job job = {
        ds,     PyArray_DATA(arr), (size_t)PyArray_NBYTES(arr), (size_t)PyArray_SIZE(arr), rescaled, &err,
        threads};
    if (info.frames <= 1 && (size_t)PyArray_NBYTES(arr) < INLINE_WORK_BYTES) {
        NOGIL(rc = pixel_work(&job, NULL, NULL)); /* one small frame: no worker thread */
    } else if (run_interruptible(pixel_work, &job, &rc) < 0) {
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

PyObject *
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

PyObject *
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
