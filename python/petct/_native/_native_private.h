/*
 * petct._native - private declarations shared by the extension's files (module.c, errors.c, call.c,
 * dataset.c, pixels.c, series.c, write.c). Not installed, not part of the ABI (that is petct.h).
 */
#ifndef PETCT_NATIVE_PRIVATE_H
#define PETCT_NATIVE_PRIVATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
/* One NumPy C-API table for all the files; module.c fills it (import_array), the others only use it. */
#define PY_ARRAY_UNIQUE_SYMBOL petct_native_ARRAY_API
#ifndef PETCT_NATIVE_MODULE
#define NO_IMPORT_ARRAY
#endif
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "petct.h"

#if PY_VERSION_HEX < 0x030A0000 /* Python 3.9: Py_NewRef is 3.10's */
static inline PyObject *
Py_NewRef(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#endif

/* Runs one statement of the core with the GIL released (every native call does, short ones too). */
#define NOGIL(stmt)            \
    do {                       \
        Py_BEGIN_ALLOW_THREADS \
        stmt;                  \
        Py_END_ALLOW_THREADS   \
    } while (0)

#define DATASET_CAPSULE "petct.dataset"
#define VOLUME_CAPSULE  "petct.volume"
#define SCAN_CAPSULE    "petct.scan"
#define MASKS_CAPSULE   "petct.masks"

/* Capsule destructors: each frees its Swift object through the matching petct_*_free. */
#define CAPSULE_DESTRUCTOR(name, type, capsule_name, free_fn)    \
    static void name(PyObject *capsule)                          \
    {                                                            \
        type *obj = PyCapsule_GetPointer(capsule, capsule_name); \
        if (obj != NULL)                                         \
            NOGIL(free_fn(obj));                                 \
    }

/* The exception classes of petct.errors, in the order of errors.c's table (error_classes). */
#define ERROR_CLASS_COUNT 8

typedef struct {
    PyObject *errors[ERROR_CLASS_COUNT];
} module_state;

static inline module_state *
get_state(PyObject *module)
{
    return (module_state *)PyModule_GetState(module);
}

/* Work this small runs on the calling thread (GIL released): a thread would cost more than it saves. */
#define INLINE_WORK_BYTES ((size_t)16 << 20)

typedef int32_t (*work_fn)(void *ctx, const int32_t *cancel, int64_t *progress);

/* Size of the table of single-valued text VRs (dataset.c), filled by module.c at import. */
#define SINGLE_VALUED_TEXT_VRS_MAX 16

#pragma GCC visibility push(hidden)

/* errors.c: the exception table in the module state; raise_error raises the Python exception for a core
 * error and returns NULL. */
int errors_load(PyObject *module);
int errors_traverse(PyObject *module, visitproc visit, void *arg);
void errors_clear(PyObject *module);
PyObject *raise_error(PyObject *module, const petct_error *err, PyObject *source);

/* call.c: runs fn(ctx, cancel) on a worker thread, interruptible by signal handlers. Returns the call's
 * status, or -1 with a Python exception set when a signal handler raised (the call's own status is then
 * in *rc, so the caller can free what it made). */
int run_interruptible(work_fn fn, void *ctx, int32_t *rc);
/* run_interruptible that also passes the progress counter the core bumps to `report(count)` (callable,
 * or NULL) from the waiting thread whenever it changed, and once more at the end. */
int run_reporting(work_fn fn, void *ctx, int32_t *rc, PyObject *report);

/* dataset.c; dataset_from_capsule: NULL with an exception set when not a data set capsule; source_bytes:
 * a new bytes object with the source bytes [offset, offset + length) (range checked by the caller) */
extern uint16_t single_valued_text_vrs[SINGLE_VALUED_TEXT_VRS_MAX];
extern size_t single_valued_text_vr_count;
petct_dataset *dataset_from_capsule(PyObject *capsule);
PyObject *source_bytes(const petct_dataset *ds, uint64_t offset, uint64_t length);
PyObject *native_read(PyObject *module, PyObject *args);
PyObject *native_element_bytes(PyObject *module, PyObject *args);
PyObject *native_level(PyObject *module, PyObject *args);
PyObject *native_element(PyObject *module, PyObject *args);
PyObject *native_encoded_value(PyObject *module, PyObject *args);

/* pixels.c */
PyObject *native_pixel_info(PyObject *module, PyObject *args);
PyObject *native_pixel_array(PyObject *module, PyObject *args);
PyObject *native_dict_tag(PyObject *module, PyObject *arg);
PyObject *native_dict_keyword(PyObject *module, PyObject *arg);

/* series.c */
PyObject *native_scan(PyObject *module, PyObject *args);
PyObject *native_volume_open(PyObject *module, PyObject *args);
PyObject *native_volume_fill(PyObject *module, PyObject *args);
PyObject *native_volume_suv(PyObject *module, PyObject *args);
PyObject *native_resample(PyObject *module, PyObject *args);
PyObject *native_masks_open(PyObject *module, PyObject *paths);
PyObject *native_masks_fill(PyObject *module, PyObject *args);

/* write.c */
PyObject *native_write_file(PyObject *module, PyObject *args);
PyObject *native_encode_read(PyObject *module, PyObject *args);
PyObject *native_encode(PyObject *module, PyObject *args);
PyObject *dataset_result(PyObject *module, int32_t rc, petct_dataset *ds, petct_error *err, PyObject *name);

#pragma GCC visibility pop

#endif /* PETCT_NATIVE_PRIVATE_H */
