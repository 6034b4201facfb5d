/*
 * result.c — the Result type: owns a vs_result; the NumPy arrays made over its memory
 * keep it alive through their base object.
 */
#include "vsext.h"

#include <string.h>

typedef struct {
    PyObject_HEAD
    vs_result *r;
    int nfields;
} ResultObject;

PyObject *vsx_result_wrap(vs_result *r, int nfields) {
    ResultObject *o = PyObject_New(ResultObject, &vsx_ResultType);
    if (!o) {
        vs_result_free(r);
        return NULL;
    }
    o->r = r;
    o->nfields = nfields;
    return (PyObject *)o;
}

static void Result_dealloc(ResultObject *o) {
    vs_result_free(o->r);
    PyObject_Free(o);
}

static int check_row(ResultObject *o, Py_ssize_t g, Py_ssize_t i) {
    if (g < 0 || (size_t)g >= vs_result_groups(o->r) || i < 0 || (size_t)i >= vs_result_rows(o->r, (size_t)g)) {
        PyErr_SetString(PyExc_IndexError, "result row out of range");
        return -1;
    }
    return 0;
}

static PyObject *Result_groups(ResultObject *o, PyObject *noargs) {
    (void)noargs;
    return PyLong_FromSize_t(vs_result_groups(o->r));
}

static PyObject *Result_rows(ResultObject *o, PyObject *args) {
    Py_ssize_t g = 0;
    if (!PyArg_ParseTuple(args, "|n", &g)) return NULL;
    if (g < 0 || (size_t)g >= vs_result_groups(o->r)) return PyLong_FromLong(0);
    return PyLong_FromSize_t(vs_result_rows(o->r, (size_t)g));
}

/* ids(g) -> list of int/str */
static PyObject *Result_ids(ResultObject *o, PyObject *args) {
    Py_ssize_t g = 0;
    if (!PyArg_ParseTuple(args, "|n", &g)) return NULL;
    size_t n = g >= 0 && (size_t)g < vs_result_groups(o->r) ? vs_result_rows(o->r, (size_t)g) : 0;
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *id = vsx_id_to_py(vs_result_id(o->r, (size_t)g, i));
        if (!id) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, id);
    }
    return list;
}

/* id_array(g) -> 1-D array of the group's ids: int64 over the result's memory when
 * vs_result_matrix can make one (k = the row count), else an object array. */
static PyObject *Result_id_array(ResultObject *o, PyObject *args) {
    Py_ssize_t g = 0;
    if (!PyArg_ParseTuple(args, "|n", &g)) return NULL;
    size_t ng = vs_result_groups(o->r);
    if (ng != 1 || g != 0) {
        PyErr_SetString(PyExc_ValueError, "id_array is for single-group results (get, scroll)");
        return NULL;
    }
    size_t n = vs_result_rows(o->r, 0);
    npy_intp dim = (npy_intp)n;
    const int64_t *mi;
    const float *ms;
    if (n <= UINT32_MAX && vs_result_matrix(o->r, (uint32_t)n, &mi, &ms) == VS_OK) {
        PyObject *a = PyArray_SimpleNewFromData(1, &dim, NPY_INT64, (void *)mi);
        if (!a) return NULL;
        Py_INCREF(o);
        if (PyArray_SetBaseObject((PyArrayObject *)a, (PyObject *)o) < 0) {
            Py_DECREF(a);
            return NULL;
        }
        return a;
    }
    PyObject *a = PyArray_SimpleNew(1, &dim, NPY_OBJECT);
    if (!a) return NULL;
    PyObject **ia = PyArray_DATA((PyArrayObject *)a);
    for (size_t i = 0; i < n; i++) {
        PyObject *id = vsx_id_to_py(vs_result_id(o->r, 0, i));
        if (!id) {
            Py_DECREF(a);
            return NULL;
        }
        Py_XDECREF(ia[i]);
        ia[i] = id;
    }
    return a;
}

static PyObject *Result_payload(ResultObject *o, PyObject *args) {
    Py_ssize_t g, i;
    if (!PyArg_ParseTuple(args, "nn", &g, &i)) return NULL;
    if (check_row(o, g, i) < 0) return NULL;
    const char *p = vs_result_payload(o->r, (size_t)g, (size_t)i);
    if (!p) Py_RETURN_NONE;
    return PyUnicode_FromString(p);
}

/* payloads(g) -> list of JSON texts (None where not requested) */
static PyObject *Result_payloads(ResultObject *o, PyObject *args) {
    Py_ssize_t g = 0;
    if (!PyArg_ParseTuple(args, "|n", &g)) return NULL;
    size_t n = g >= 0 && (size_t)g < vs_result_groups(o->r) ? vs_result_rows(o->r, (size_t)g) : 0;
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        const char *p = vs_result_payload(o->r, (size_t)g, i);
        PyObject *s = p ? PyUnicode_FromString(p) : (Py_INCREF(Py_None), Py_None);
        if (!s) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    return list;
}

/* vectors(g, field_index) -> (rows, dim) float32 array (a copy: each row's vectors are
 * their own allocation in the result), or None when vectors were not requested. */
static PyObject *Result_vectors(ResultObject *o, PyObject *args) {
    Py_ssize_t g, fi;
    if (!PyArg_ParseTuple(args, "nn", &g, &fi)) return NULL;
    if (fi < 0 || fi >= o->nfields) {
        PyErr_SetString(PyExc_IndexError, "vector field index out of range");
        return NULL;
    }
    size_t n = g >= 0 && (size_t)g < vs_result_groups(o->r) ? vs_result_rows(o->r, (size_t)g) : 0;
    uint32_t dim = 0;
    if (n && !vs_result_vector(o->r, (size_t)g, 0, (size_t)fi, &dim)) Py_RETURN_NONE;
    npy_intp dims[2] = {(npy_intp)n, (npy_intp)dim};
    PyObject *a = PyArray_SimpleNew(2, dims, NPY_FLOAT32);
    if (!a) return NULL;
    float *w = PyArray_DATA((PyArrayObject *)a);
    for (size_t i = 0; i < n; i++) {
        const float *v = vs_result_vector(o->r, (size_t)g, i, (size_t)fi, NULL);
        if (v) memcpy(w + i * dim, v, dim * sizeof(float));
    }
    return a;
}

static PyObject *Result_next(ResultObject *o, PyObject *noargs) {
    (void)noargs;
    vs_id nx;
    if (!vs_result_next(o->r, &nx)) Py_RETURN_NONE;
    return vsx_id_to_py(nx);
}

static PyObject *Result_profile(ResultObject *o, PyObject *args) {
    const char *fmt = "json";
    if (!PyArg_ParseTuple(args, "|s", &fmt)) return NULL;
    static const char *const names[] = {"json", "folded", "svg", "text"};
    int f = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(fmt, names[i])) f = i;
    if (f < 0) return vsx_raise(VS_EINVAL, "profile format must be 'json', 'folded', 'svg' or 'text'");
    const char *p = vs_result_profile(o->r, f);
    if (!p) Py_RETURN_NONE;
    return PyUnicode_FromString(p);
}

/* The address of the ids matrix (vs_result_matrix) for k, or 0: the zero-copy test
 * compares it with the NumPy array's data pointer. */
static PyObject *Result_matrix_address(ResultObject *o, PyObject *args) {
    unsigned int k;
    if (!PyArg_ParseTuple(args, "I", &k)) return NULL;
    const int64_t *mi;
    const float *ms;
    if (vs_result_matrix(o->r, k, &mi, &ms) != VS_OK) return PyLong_FromLong(0);
    return Py_BuildValue("(NN)", PyLong_FromVoidPtr((void *)mi), PyLong_FromVoidPtr((void *)ms));
}

static PyMethodDef Result_methods[] = {
    {"groups", (PyCFunction)Result_groups, METH_NOARGS, NULL},
    {"rows", (PyCFunction)Result_rows, METH_VARARGS, NULL},
    {"ids", (PyCFunction)Result_ids, METH_VARARGS, NULL},
    {"id_array", (PyCFunction)Result_id_array, METH_VARARGS, NULL},
    {"payload", (PyCFunction)Result_payload, METH_VARARGS, NULL},
    {"payloads", (PyCFunction)Result_payloads, METH_VARARGS, NULL},
    {"vectors", (PyCFunction)Result_vectors, METH_VARARGS, NULL},
    {"next", (PyCFunction)Result_next, METH_NOARGS, NULL},
    {"profile", (PyCFunction)Result_profile, METH_VARARGS, NULL},
    {"matrix_address", (PyCFunction)Result_matrix_address, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

PyTypeObject vsx_ResultType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vecstore._vecstore.Result",
    .tp_basicsize = sizeof(ResultObject),
    .tp_dealloc = (destructor)Result_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A query/get/scroll result held by the C library (low level).",
    .tp_methods = Result_methods,
};
