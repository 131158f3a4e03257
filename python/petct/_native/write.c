/* petct._native: writing files. */
#include "_native_private.h"

/* write_file(path, records, heap) -> None
 * records: bytes holding packed petct_write_element structs (built by petct.writer with struct);
 * heap: bytes of the values. */
_Static_assert(sizeof(petct_write_element) == 32,
               "petct_write_element layout changed (petct/writer.py packs it)");

PyObject *
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

/* encode_read(records, heap, flags, name) -> (handle, elements, info), as read(): the records encoded in
 * memory by the core's writer and parsed from that buffer (no file). `name` names errors. */
PyObject *
native_encode_read(PyObject *module, PyObject *args)
{
    PyObject *name;
    unsigned int flags;
    Py_buffer records, heap;
    if (!PyArg_ParseTuple(args, "y*y*IO", &records, &heap, &flags, &name))
        return NULL;
    PyObject *result = NULL;
    if (records.len % (Py_ssize_t)sizeof(petct_write_element) != 0) {
        PyErr_SetString(PyExc_ValueError, "element records are not a whole number of petct_write_element");
        goto done;
    }
    size_t count = (size_t)records.len / sizeof(petct_write_element);
    petct_write_element *recs = PyMem_Malloc(count ? count * sizeof(petct_write_element) : 1);
    if (recs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(recs, records.buf, count * sizeof(petct_write_element));
    petct_error err;
    petct_dataset *ds = NULL;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    Py_BEGIN_ALLOW_THREADS
    rc = petct_encode_read(recs, count, (const uint8_t *)heap.buf, (size_t)heap.len, flags, &ds, &err);
    Py_END_ALLOW_THREADS
    PyMem_Free(recs);
    result = dataset_result(module, rc, ds, &err, name);
done:
    PyBuffer_Release(&records);
    PyBuffer_Release(&heap);
    return result;
}
