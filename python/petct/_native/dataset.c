/* petct._native: datasets (read, elements, pixels) and the data dictionary. */
#include "_native_private.h"

CAPSULE_DESTRUCTOR(dataset_capsule_destructor, petct_dataset, DATASET_CAPSULE, petct_dataset_free)

petct_dataset *
dataset_from_capsule(PyObject *capsule)
{
    return (petct_dataset *)PyCapsule_GetPointer(capsule, DATASET_CAPSULE);
}

/* The core's single-valued text VRs (petct_list), packed like petct_element.vr; filled once at import. */
uint16_t single_valued_text_vrs[SINGLE_VALUED_TEXT_VRS_MAX];
size_t single_valued_text_vr_count;

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

#define NUMERIC_VALUE(ctype, maker)                                                   \
    do {                                                                              \
        size_t n = (size_t)(e->value_length / sizeof(ctype));                         \
        PyObject *list = PyList_New((Py_ssize_t)n);                                   \
        if (list == NULL)                                                             \
            return NULL;                                                              \
        for (size_t i = 0; i < n; i++) {                                              \
            ctype x;                                                                  \
            memcpy(&x, v->heap + e->value_offset + i * sizeof(ctype), sizeof(ctype)); \
            PyObject *o = maker(x);                                                   \
            if (o == NULL) {                                                          \
                Py_DECREF(list);                                                      \
                return NULL;                                                          \
            }                                                                         \
            PyList_SET_ITEM(list, (Py_ssize_t)i, o);                                  \
        }                                                                             \
        return collapse(list);                                                        \
    } while (0)

static int
is_bulk_tag(uint32_t tag)
{
    return (tag >> 16) == 0x7FE0 || ((tag >> 16) & 0xFF01) == 0x6000;
}

/* Bytes [offset, offset + length) of the data set's source, copied by the core straight into a new
 * bytes object (the caller checked the range against the view's source_length). */
PyObject *
source_bytes(const petct_dataset *ds, uint64_t offset, uint64_t length)
{
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)length);
    if (out == NULL)
        return NULL;
    int32_t rc;
    uint8_t *dst = (uint8_t *)PyBytes_AS_STRING(out);
    NOGIL(rc = petct_dataset_copy_source(ds, offset, (size_t)length, dst));
    if (rc != PETCT_OK) {
        Py_DECREF(out);
        PyErr_SetString(PyExc_RuntimeError, "petct core returned an element outside its buffer");
        return NULL;
    }
    return out;
}

/* Builds the value of element e (not SQ/ITEM). Bulk pixel data is left lazy (Py_None + flag). */
static PyObject *
element_value(const petct_dataset *ds, const petct_element *e, const petct_dataset_view *v, int *lazy)
{
    *lazy = 0;
    switch (e->kind) {
    case PETCT_KIND_EMPTY:
        Py_RETURN_NONE; /* the Python layer maps this to pydicom's empty value for the VR */
    case PETCT_KIND_TEXT: return text_value(e, v);
    case PETCT_KIND_INT: NUMERIC_VALUE(int64_t, PyLong_FromLongLong);
    case PETCT_KIND_UINT: NUMERIC_VALUE(uint64_t, PyLong_FromUnsignedLongLong);
    case PETCT_KIND_FLOAT: NUMERIC_VALUE(double, PyFloat_FromDouble);
    case PETCT_KIND_TAGS: NUMERIC_VALUE(uint32_t, PyLong_FromUnsignedLong);
    case PETCT_KIND_BYTES:
        if (is_bulk_tag(e->tag) && e->value_length > 4096) {
            *lazy = 1;
            Py_RETURN_NONE;
        }
        if (e->value_offset > v->source_length || e->value_length > v->source_length - e->value_offset) {
            PyErr_SetString(PyExc_RuntimeError, "petct core returned an element outside its buffer");
            return NULL;
        }
        return source_bytes(ds, e->value_offset, e->value_length);
    case PETCT_KIND_RAW_TEXT:
        return PyBytes_FromStringAndSize((const char *)v->heap + e->value_offset,
                                         (Py_ssize_t)e->value_length);
    default:
        PyErr_Format(PyExc_RuntimeError, "petct core returned unknown value kind %d", (int)e->kind);
        return NULL;
    }
}

/* Element tuples: (tag, VR, value, kind, flags, file_offset, index, lazy).
 * For SQ the value is a list of items, each item a list of element tuples. */
static PyObject *build_elements(const petct_dataset *ds, const petct_dataset_view *v, size_t *pos, size_t end,
                                int depth);

static PyObject *
build_element(const petct_dataset *ds, const petct_dataset_view *v, size_t *pos, int depth)
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
            PyObject *children = build_elements(ds, v, pos, item_end, depth + 1);
            if (children == NULL || PyList_Append(value, children) < 0) {
                Py_XDECREF(children);
                Py_DECREF(value);
                return NULL;
            }
            Py_DECREF(children);
        }
    } else {
        value = element_value(ds, e, v, &lazy);
        if (value == NULL)
            return NULL;
    }
    return Py_BuildValue("(kNNiiLnO)", (unsigned long)e->tag, vr_string(e->vr), value, (int)e->kind,
                         (int)e->flags, (long long)e->file_offset, (Py_ssize_t)index,
                         lazy ? Py_True : Py_False);
}

/* A level (top level or item) with more records than this below it is not built here: build_elements
 * returns (start, end, depth) instead, and Python reads it on demand through level() and element(),
 * so an element-heavy file does not become millions of tuples (memory bounded by the file size). */
#define LAZY_LEVEL_RECORDS 4096

static PyObject *
build_elements(const petct_dataset *ds, const petct_dataset_view *v, size_t *pos, size_t end, int depth)
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
        PyObject *t = build_element(ds, v, pos, depth);
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
read_work(void *ctx, const int32_t *cancel, int64_t *progress)
{
    read_job *j = (read_job *)ctx;
    (void)progress;
    return petct_read_file(j->path, j->flags, cancel, j->out, j->err);
}

/* read(source, flags, name) -> (capsule, elements, info)
 * source: str/bytes path (os.fsencode'd by the caller) when is_path, else a bytes-like buffer. */
PyObject *
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
        small_file =
            stat(job.path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size < INLINE_WORK_BYTES;
        Py_END_ALLOW_THREADS
        int interrupted = 0;
        if (small_file) /* a short read of a regular file: no worker thread */
            NOGIL(rc = read_work(&job, NULL, NULL));
        else /* a stream (may wait on its writer) or a large file: interruptible */
            interrupted = run_interruptible(read_work, &job, &rc) < 0;
        Py_DECREF(encoded);
        if (interrupted) {
            if (rc == PETCT_OK && ds != NULL)
                NOGIL(petct_dataset_free(ds));
            return NULL;
        }
    } else {
        Py_buffer view;
        if (PyObject_GetBuffer(source, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        Py_BEGIN_ALLOW_THREADS
        rc = petct_read_buffer((const uint8_t *)view.buf, (size_t)view.len, flags, &ds, &err);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&view);
    }
    return dataset_result(module, rc, ds, &err, name);
}

/* (handle, elements, info) for a data set the core just read (rc PETCT_OK), or the core's error raised
 * with `name`. Owns `ds`. */
PyObject *
dataset_result(PyObject *module, int32_t rc, petct_dataset *ds, petct_error *err, PyObject *name)
{
    if (rc != PETCT_OK)
        return raise_error(module, err, name);

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
    PyObject *elements = build_elements(ds, &v, &pos, v.element_count, 0);
    if (elements == NULL) {
        Py_DECREF(capsule);
        return NULL;
    }
    PyObject *info =
        Py_BuildValue("{sIsssssn}", "flags", (unsigned int)v.flags, "transfer_syntax", v.transfer_syntax,
                      "character_set", v.character_set, "source_length", (Py_ssize_t)v.source_length);
    if (info == NULL) {
        Py_DECREF(capsule);
        Py_DECREF(elements);
        return NULL;
    }
    return Py_BuildValue("(NNN)", capsule, elements, info);
}

/* The data set of `capsule` and its view, or NULL with an exception set. */
static petct_dataset *
capsule_view(PyObject *capsule, petct_dataset_view *v)
{
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

/* capsule_view, and a check that `index` names one of the view's records (IndexError otherwise). */
static petct_dataset *
capsule_view_at(PyObject *capsule, petct_dataset_view *v, Py_ssize_t index)
{
    petct_dataset *ds = capsule_view(capsule, v);
    if (ds != NULL && (index < 0 || (size_t)index >= v->element_count)) {
        PyErr_SetString(PyExc_IndexError, "element index out of range");
        return NULL;
    }
    return ds;
}

/* Parses (capsule, index) and fills the data set's view; `checked`: index must name a record. */
static petct_dataset *
parsed_view(PyObject *args, petct_dataset_view *v, Py_ssize_t *index, int checked)
{
    PyObject *capsule;
    if (!PyArg_ParseTuple(args, "On", &capsule, index))
        return NULL;
    return checked ? capsule_view_at(capsule, v, *index) : capsule_view(capsule, v);
}

/* level(handle, start, end) -> (tags, indices): the direct children of records [start, end) as a
 * uint32 and an int64 array in bytes (file order). */
PyObject *
native_level(PyObject *module, PyObject *args)
{
    PyObject *capsule;
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, "Onn", &capsule, &start, &end))
        return NULL;
    petct_dataset_view v;
    if (capsule_view(capsule, &v) == NULL)
        return NULL;
    if (start < 0 || end < start || (size_t)end > v.element_count) {
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
    for (size_t i = (size_t)start; i < (size_t)end && k < n;
         i += 1 + (size_t)v.elements[i].descendants, k++) {
        t[k] = v.elements[i].tag;
        x[k] = (int64_t)i;
    }
    return Py_BuildValue("(NN)", tags, indices);
}

/* element(handle, index, depth) -> the element tuple of record `index` (as the read built them). */
PyObject *
native_element(PyObject *module, PyObject *args)
{
    PyObject *capsule;
    Py_ssize_t index;
    int depth;
    if (!PyArg_ParseTuple(args, "Oni", &capsule, &index, &depth))
        return NULL;
    petct_dataset_view v;
    petct_dataset *ds = capsule_view_at(capsule, &v, index);
    if (ds == NULL)
        return NULL;
    size_t pos = (size_t)index;
    return build_element(ds, &v, &pos, depth);
}

PyObject *
native_element_bytes(PyObject *module, PyObject *args)
{
    petct_dataset_view v;
    Py_ssize_t index;
    petct_dataset *ds = parsed_view(args, &v, &index, 1);
    if (ds == NULL)
        return NULL;
    const petct_element *e = &v.elements[index];
    if (e->kind != PETCT_KIND_BYTES || e->value_offset > v.source_length ||
        e->value_length > v.source_length - e->value_offset) {
        PyErr_SetString(PyExc_ValueError, "element has no byte value");
        return NULL;
    }
    return source_bytes(ds, e->value_offset, e->value_length);
}

/* encoded_value(capsule, index) -> bytes of the value as encoded in the file, or None */
PyObject *
native_encoded_value(PyObject *module, PyObject *args)
{
    petct_dataset_view v;
    Py_ssize_t index;
    petct_dataset *ds = parsed_view(args, &v, &index, 0);
    if (ds == NULL)
        return NULL;
    size_t offset = 0, length = 0;
    int32_t found = 0;
    if (index >= 0)
        NOGIL(found = petct_dataset_encoded_value(ds, (size_t)index, &offset, &length));
    if (!found || offset > v.source_length || length > v.source_length - offset)
        Py_RETURN_NONE;
    return source_bytes(ds, offset, length);
}
