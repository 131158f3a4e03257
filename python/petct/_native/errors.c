/* petct._native: the core's petct_error as an instance of one of petct.errors' classes. */
#include "_native_private.h"

/* The exception classes of petct.errors the core's error codes map to, in module_state.errors order
 * (entry 0, DicomError, is the class of every code not listed). Loaded at import, kept in the module state. */
static const struct {
    const char *name;
    int32_t code;
} error_classes[] = {
    {"DicomError", PETCT_E_INTERNAL},
    {"InvalidDicomError", PETCT_E_INVALID_DICOM},
    {"MalformedDicomError", PETCT_E_MALFORMED},
    {"UnsupportedTransferSyntaxError", PETCT_E_UNSUPPORTED_TS},
    {"SUVError", PETCT_E_SUV},
    {"GeometryError", PETCT_E_GEOMETRY},
    {"NoPixelDataError", PETCT_E_NO_PIXELS},
    {"DecodeLimitError", PETCT_E_LIMIT},
};
_Static_assert(sizeof(error_classes) / sizeof(error_classes[0]) == ERROR_CLASS_COUNT,
               "error_classes and module_state.errors disagree");

int
errors_load(PyObject *module)
{
    module_state *st = get_state(module);
    PyObject *errors = PyImport_ImportModule("petct.errors");
    if (errors == NULL)
        return -1;
    for (size_t i = 0; i < ERROR_CLASS_COUNT; i++) {
        st->errors[i] = PyObject_GetAttrString(errors, error_classes[i].name);
        if (st->errors[i] == NULL) {
            Py_DECREF(errors);
            return -1;
        }
    }
    Py_DECREF(errors);
    return 0;
}

int
errors_traverse(PyObject *module, visitproc visit, void *arg)
{
    module_state *st = get_state(module);
    for (size_t i = 0; i < ERROR_CLASS_COUNT; i++)
        Py_VISIT(st->errors[i]);
    return 0;
}

void
errors_clear(PyObject *module)
{
    module_state *st = get_state(module);
    for (size_t i = 0; i < ERROR_CLASS_COUNT; i++)
        Py_CLEAR(st->errors[i]);
}

static PyObject *raise_error_inner(PyObject *module, const petct_error *err, PyObject *source);

/* Raises the Python exception for a core error; returns NULL for convenient `return raise_error(...)`.
 * Sets `item_index` on it (the failing path of a list call) when the core gave one. I/O errors keep their errno: OSError(errno, strerror, path) becomes the matching
 * subclass (PermissionError, IsADirectoryError, FileNotFoundError, ...). A cancelled call keeps the
 * KeyboardInterrupt (or other exception) a signal handler raised. */
PyObject *
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
    PyObject *cls = st->errors[0];
    switch (err->code) {
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
    case PETCT_E_ARGUMENT: PyErr_SetString(PyExc_ValueError, err->message); return NULL;
    default:
        for (size_t i = 1; i < ERROR_CLASS_COUNT; i++) {
            if (error_classes[i].code == err->code)
                cls = st->errors[i];
        }
        break;
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
