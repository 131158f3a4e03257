/* petct._native: writing files, and encoding in memory. */
#include "_native_private.h"

/* records: bytes holding packed petct_write_element structs (built by petct.flatten with struct);
 * heap: bytes of the values. */
_Static_assert(sizeof(petct_write_element) == 32,
               "petct_write_element layout changed (petct/flatten.py packs it)");

/* The packed records copied to aligned storage (free with PyMem_Free) and their number; NULL with an
 * exception set when they are not a whole number of records or memory runs out. */
static petct_write_element *
aligned_records(const Py_buffer *records, size_t *count)
{
    if (records->len % (Py_ssize_t)sizeof(petct_write_element) != 0) {
        PyErr_SetString(PyExc_ValueError, "element records are not a whole number of petct_write_element");
        return NULL;
    }
    *count = (size_t)records->len / sizeof(petct_write_element);
    petct_write_element *recs = PyMem_Malloc(*count ? *count * sizeof(petct_write_element) : 1);
    if (recs == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(recs, records->buf, *count * sizeof(petct_write_element));
    return recs;
}

/* write_file(path, records, heap) -> None */
PyObject *
native_write_file(PyObject *module, PyObject *args)
{
    PyObject *path_obj, *encoded = NULL;
    Py_buffer records, heap;
    if (!PyArg_ParseTuple(args, "Oy*y*", &path_obj, &records, &heap))
        return NULL;
    PyObject *result = NULL;
    size_t count;
    petct_write_element *recs = aligned_records(&records, &count);
    if (recs == NULL || !PyUnicode_FSConverter(path_obj, &encoded))
        goto done;
    petct_error err;
    int32_t rc;
    memset(&err, 0, sizeof(err));
    const char *path = PyBytes_AS_STRING(encoded);
    NOGIL(rc = petct_write_file(path, recs, count, (const uint8_t *)heap.buf, (size_t)heap.len, &err));
    if (rc != PETCT_OK) {
        raise_error(module, &err, path_obj);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(recs);
    Py_XDECREF(encoded);
    PyBuffer_Release(&records);
    PyBuffer_Release(&heap);
    return result;
}

/* Parses (records, heap, flags, name) and runs petct_encode_read with the GIL released: the core's
 * status (its data set in *ds, its error in *err), or -1 with a Python exception set. */
static int32_t
encode_call(PyObject *args, uint32_t extra_flags, PyObject **name, petct_dataset **ds, petct_error *err)
{
    unsigned int flags = 0;
    Py_buffer records, heap;
    if (extra_flags == 0 ? !PyArg_ParseTuple(args, "y*y*IO", &records, &heap, &flags, name)
                         : !PyArg_ParseTuple(args, "y*y*O", &records, &heap, name))
        return -1;
    int32_t rc = -1;
    size_t count;
    petct_write_element *recs = aligned_records(&records, &count);
    if (recs != NULL) {
        memset(err, 0, sizeof(*err));
        NOGIL(rc = petct_encode_read(recs, count, (const uint8_t *)heap.buf, (size_t)heap.len,
                                     (uint32_t)flags | extra_flags, ds, err));
        PyMem_Free(recs);
    }
    PyBuffer_Release(&records);
    PyBuffer_Release(&heap);
    return rc;
}

/* encode_read(records, heap, flags, name) -> (handle, elements, info), as read(): the records encoded in
 * memory by the core's writer and parsed from that buffer (no file). `name` names errors. */
PyObject *
native_encode_read(PyObject *module, PyObject *args)
{
    PyObject *name = NULL;
    petct_dataset *ds = NULL;
    petct_error err;
    int32_t rc = encode_call(args, 0, &name, &ds, &err);
    if (rc < 0)
        return NULL;
    return dataset_result(module, rc, ds, &err, name);
}

/* encode(records, heap, name) -> bytes: the Part 10 bytes write_file would write, encoded in memory
 * (PETCT_ENCODE_ONLY) and copied once by the core into a new bytes object; no file is created. */
PyObject *
native_encode(PyObject *module, PyObject *args)
{
    PyObject *name = NULL;
    petct_dataset *ds = NULL;
    petct_error err;
    int32_t rc = encode_call(args, PETCT_ENCODE_ONLY, &name, &ds, &err);
    if (rc < 0)
        return NULL;
    if (rc != PETCT_OK)
        return raise_error(module, &err, name);
    petct_dataset_view v;
    int32_t vrc;
    PyObject *out = NULL;
    NOGIL(vrc = petct_dataset_get_view(ds, &v));
    if (vrc != PETCT_OK)
        PyErr_SetString(PyExc_RuntimeError, "petct core refused a dataset view");
    else
        out = source_bytes(ds, 0, v.source_length);
    NOGIL(petct_dataset_free(ds));
    return out;
}
