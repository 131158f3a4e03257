/*
 * petct._native - CPython bridge to the petct Swift core (libpetct.so, C ABI in petct.h).
 *
 * Conventions:
 *  - Every call into the core runs with the GIL released; the core never touches Python objects.
 *  - Core objects live in PyCapsules whose destructors call the matching petct_*_free.
 *  - Pixel and volume buffers are NumPy arrays allocated here and filled by the core (no copies).
 *  - Errors: the core's petct_error becomes an instance of one of petct.errors' classes, looked up at
 *    import time and kept in the module state (errors.c).
 *
 * Files: module.c (this: the module, its method table and constants, small core queries), errors.c,
 * call.c (interruptible calls), dataset.c (datasets, pixels, dictionary), series.c (scan, volumes, SUV,
 * resampling, masks), write.c; shared declarations in _native_private.h.
 */
#define PETCT_NATIVE_MODULE /* the file that imports NumPy's C API (import_array) */
#include "_native_private.h"

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
    {"level", native_level, METH_VARARGS,
     "level(handle, start, end) -> (uint32 tags, int64 indices) as bytes"},
    {"element", native_element, METH_VARARGS, "element(handle, index, depth) -> element tuple"},
    {"encoded_value", native_encoded_value, METH_VARARGS, "encoded_value(handle, index) -> bytes | None"},
    {"pixel_info", native_pixel_info, METH_VARARGS, "pixel_info(handle, name) -> dict"},
    {"pixel_array", native_pixel_array, METH_VARARGS,
     "pixel_array(handle, name, rescaled, threads=0) -> ndarray"},
    {"dict_tag", native_dict_tag, METH_O, "dict_tag(tag) -> (VR, VM, keyword, name, retired) or None"},
    {"dict_keyword", native_dict_keyword, METH_O, "dict_keyword(keyword) -> tag or None"},
    {"scan", native_scan, METH_VARARGS,
     "scan(paths, threads, keep_headers=False, progress=None) -> JSON text | (JSON text, handle)"},
    {"volume_open", native_volume_open, METH_VARARGS,
     "volume_open(paths, threads, scan=None) -> (handle, JSON text)"},
    {"volume_fill", native_volume_fill, METH_VARARGS,
     "volume_fill(handle, shape, threads=0) -> float32 ndarray"},
    {"volume_suv", native_volume_suv, METH_VARARGS,
     "volume_suv(handle, kind, slices) -> (factors, JSON text)"},
    {"resample", native_resample, METH_VARARGS,
     "resample(src, src_grid, dst_grid, method, fill, want_mask, threads) -> dst or (dst, mask)"},
    {"masks_open", native_masks_open, METH_O, "masks_open(paths) -> (handle, JSON text)"},
    {"masks_fill", native_masks_fill, METH_VARARGS,
     "masks_fill(handle, index, grid, fraction, strict, threshold, threads, name) -> uint8 or float32 "
     "ndarray"},
    {"core_version", native_core_version, METH_NOARGS, "core_version() -> str"},
    {"parallel_peak", native_parallel_peak, METH_VARARGS,
     "parallel_peak(reset=False) -> (width, active): widest parallel loop since the last reset (tests)"},
    {"set_limits", native_set_limits, METH_VARARGS,
     "set_limits(max_decoded_bytes, decode_ratio, max_stream_bytes)"},
    {"get_limits", native_get_limits, METH_NOARGS,
     "get_limits() -> (max_decoded_bytes, decode_ratio, max_stream_bytes)"},
    {"codec_status", native_codec_status, METH_O, "codec_status(codec) -> (loaded, description)"},
    {"write_file", native_write_file, METH_VARARGS, "write_file(path, records, heap) -> None"},
    {"encode_read", native_encode_read, METH_VARARGS,
     "encode_read(records, heap, flags, name) -> (handle, elements, info): write_file's bytes, parsed in "
     "memory"},
    {"encode", native_encode, METH_VARARGS,
     "encode(records, heap, name) -> bytes: write_file's bytes, encoded in memory (no file)"},
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
        {"KIND_EMPTY", PETCT_KIND_EMPTY},
        {"KIND_TEXT", PETCT_KIND_TEXT},
        {"KIND_INT", PETCT_KIND_INT},
        {"KIND_UINT", PETCT_KIND_UINT},
        {"KIND_FLOAT", PETCT_KIND_FLOAT},
        {"KIND_BYTES", PETCT_KIND_BYTES},
        {"KIND_TAGS", PETCT_KIND_TAGS},
        {"KIND_SEQUENCE", PETCT_KIND_SEQUENCE},
        {"KIND_ITEM", PETCT_KIND_ITEM},
        {"KIND_RAW_TEXT", PETCT_KIND_RAW_TEXT},
        {"DS_PREAMBLE", PETCT_DS_PREAMBLE},
        {"DS_FILE_META", PETCT_DS_FILE_META},
        {"DS_IMPLICIT_VR", PETCT_DS_IMPLICIT_VR},
        {"DS_BIG_ENDIAN", PETCT_DS_BIG_ENDIAN},
        {"DS_DEFLATED", PETCT_DS_DEFLATED},
        {"DS_STOPPED", PETCT_DS_STOPPED},
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
        PyErr_Format(PyExc_ImportError, "libpetct ABI version %d does not match the extension's %d", (int)abi,
                     PETCT_ABI_VERSION);
        return -1;
    }
    if (errors_load(module) < 0)
        return -1;
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
    return errors_traverse(module, visit, arg);
}

static int
native_clear(PyObject *module)
{
    errors_clear(module);
    return 0;
}

static void
native_free(void *module)
{
    native_clear((PyObject *)module);
}

static PyModuleDef_Slot native_slots[] = {{Py_mod_exec, native_exec}, {0, NULL}};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "petct._native", "Bridge to the petct Swift core.",
    sizeof(module_state),  native_methods,  native_slots,
    native_traverse,       native_clear,    native_free};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModuleDef_Init(&native_module);
}
