/*
 * module.c — vecstore._vecstore: module set-up, error mapping, and reading ids and vectors
 * from Python objects.
 */
#define VSEXT_MODULE_C
#include "vsext.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h" /* vs__alloc_live: the leak check the tests run without a sanitizer */

unsigned long long vsx_conversion_copies;
const void *vsx_last_input;

static PyObject *g_by_code;   /* vecstore._errors.BY_CODE: {code: class} */
static PyObject *g_error;     /* vecstore._errors.Error */
static PyObject *g_ascontig;  /* numpy.ascontiguousarray */
static PyObject *g_float32;   /* numpy.float32 */

/* ------------------------------------------------------------------ errors -- */

PyObject *vsx_raise(int rc, const char *msg) {
    if (!msg || !*msg) msg = vs_errstr(rc);
    PyObject *key = PyLong_FromLong(rc);
    if (!key) return NULL;
    PyObject *cls = PyDict_GetItemWithError(g_by_code, key); /* borrowed */
    Py_DECREF(key);
    if (!cls) {
        if (PyErr_Occurred()) return NULL;
        cls = g_error;
    }
    PyObject *exc = PyObject_CallFunction(cls, "si", msg, rc);
    if (!exc) return NULL;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject *vsx_failed(int rc, const char *msg) { return rc == VSX_NO_HANDLE ? NULL : vsx_raise(rc, msg); }

/* Replaces the pending Python exception by vecstore's error rc whose message is prefix
 * followed by the exception's own text (NumPy's reason a conversion failed, ...). */
static void reraise(int rc, const char *prefix, const char *fallback) {
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PyObject *s = ev ? PyObject_Str(ev) : NULL;
    const char *m = s ? PyUnicode_AsUTF8(s) : NULL;
    PyErr_Clear();
    char buf[600];
    snprintf(buf, sizeof buf, "%s%s", prefix, m ? m : fallback);
    Py_XDECREF(s);
    Py_XDECREF(et);
    Py_XDECREF(ev);
    Py_XDECREF(tb);
    vsx_raise(rc, buf);
}

/* ------------------------------------------------------------------ vectors -- */

static int is_f32(const Py_buffer *b) {
    if (b->itemsize != 4 || !b->format) return 0;
    const char *f = b->format;
    if (*f == '<' || *f == '=' || *f == '@') f++; /* x86-64 and aarch64 are little-endian */
    return f[0] == 'f' && f[1] == 0;
}

int vsx_vecs_get(PyObject *obj, vsx_vecs *v, const char *what) {
    memset(v, 0, sizeof *v);
    if (PyObject_GetBuffer(obj, &v->view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) == 0) {
        v->have_view = 1;
        if (!is_f32(&v->view)) {
            PyBuffer_Release(&v->view);
            v->have_view = 0;
        }
    } else {
        PyErr_Clear();
    }
    if (!v->have_view) {
        /* One conversion, then the same path: the copy's buffer is read in place. */
        PyObject *conv = PyObject_CallFunctionObjArgs(g_ascontig, obj, g_float32, NULL);
        if (!conv) {
            char pre[200];
            snprintf(pre, sizeof pre, "%s cannot be read as float32 numbers: ", what);
            reraise(VS_EINVAL, pre, "?");
            return -1;
        }
        vsx_conversion_copies++;
        v->converted = conv;
        if (PyObject_GetBuffer(conv, &v->view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            vsx_vecs_release(v);
            return -1;
        }
        v->have_view = 1;
    }
    char buf[200];
    if (v->view.ndim == 1) {
        v->rows = 1;
        v->dim = (uint32_t)v->view.shape[0];
        if (v->view.shape[0] > VS_DIM_MAX) goto baddim;
    } else if (v->view.ndim == 2) {
        v->rows = (size_t)v->view.shape[0];
        if (v->view.shape[1] > VS_DIM_MAX) goto baddim;
        v->dim = (uint32_t)v->view.shape[1];
    } else {
        snprintf(buf, sizeof buf, "%s must be one vector (1-D) or a matrix of vectors (2-D), got %d dimensions",
                 what, v->view.ndim);
        vsx_vecs_release(v);
        vsx_raise(VS_EDIM, buf);
        return -1;
    }
    v->ndim = v->view.ndim;
    v->data = v->view.buf;
    vsx_last_input = v->data;
    return 0;
baddim:
    snprintf(buf, sizeof buf, "%s: vectors of %lld dimensions exceed the limit of %d", what,
             (long long)v->view.shape[v->view.ndim - 1], VS_DIM_MAX);
    vsx_vecs_release(v);
    vsx_raise(VS_EDIM, buf);
    return -1;
}

void vsx_vecs_release(vsx_vecs *v) {
    if (v->have_view) PyBuffer_Release(&v->view);
    v->have_view = 0;
    Py_CLEAR(v->converted);
}

/* ---------------------------------------------------------------------- ids -- */

int vsx_id_from_py(PyObject *o, vs_id *out) {
    if (PyUnicode_Check(o)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(o, &n);
        if (!s) return -1;
        out->kind = VS_ID_STR;
        out->num = 0;
        out->str = s;
        out->len = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n; /* the library checks 1..256 */
        return 0;
    }
    if (PyBool_Check(o) || !PyIndex_Check(o)) {
        char buf[200];
        snprintf(buf, sizeof buf, "an id must be a non-negative int or a str, got %s", Py_TYPE(o)->tp_name);
        vsx_raise(VS_EID, buf);
        return -1;
    }
    PyObject *i = PyNumber_Index(o);
    if (!i) return -1;
    unsigned long long v = PyLong_AsUnsignedLongLong(i);
    Py_DECREF(i);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        vsx_raise(VS_EID, "a numeric id must be an integer from 0 to 2**64-1");
        return -1;
    }
    *out = vs_id_num(v);
    return 0;
}

static int is_int_format(const char *f, int *is_signed) {
    if (*f == '<' || *f == '=' || *f == '@') f++;
    if (!f[0] || f[1]) return 0;
    switch (f[0]) {
    case 'b': case 'h': case 'i': case 'l': case 'q': *is_signed = 1; return 1;
    case 'B': case 'H': case 'I': case 'L': case 'Q': *is_signed = 0; return 1;
    default: return 0;
    }
}

/* An integer array (numpy int64/uint64/...): read straight from its buffer. */
static int ids_from_buffer(Py_buffer *b, vsx_ids *out) {
    int sgn;
    if (b->ndim != 1 || !b->format || !is_int_format(b->format, &sgn)) return 1; /* not ours */
    size_t n = (size_t)b->shape[0];
    out->ids = PyMem_Malloc((n ? n : 1) * sizeof(vs_id));
    if (!out->ids) {
        PyErr_NoMemory();
        return -1;
    }
    const char *p = b->buf;
    for (size_t i = 0; i < n; i++, p += b->itemsize) {
        long long sv = 0;
        unsigned long long uv = 0;
        switch (b->itemsize) {
        case 1: if (sgn) sv = *(const int8_t *)p; else uv = *(const uint8_t *)p; break;
        case 2: if (sgn) sv = *(const int16_t *)p; else uv = *(const uint16_t *)p; break;
        case 4: if (sgn) sv = *(const int32_t *)p; else uv = *(const uint32_t *)p; break;
        default: if (sgn) sv = *(const int64_t *)p; else uv = *(const uint64_t *)p; break;
        }
        if (sgn) {
            if (sv < 0) {
                char buf[120];
                snprintf(buf, sizeof buf, "id %zu is negative (%lld): numeric ids are 0 to 2**64-1", i, sv);
                PyMem_Free(out->ids);
                out->ids = NULL;
                vsx_raise(VS_EID, buf);
                return -1;
            }
            uv = (unsigned long long)sv;
        }
        out->ids[i] = vs_id_num(uv);
    }
    out->n = n;
    return 0;
}

int vsx_ids_get(PyObject *obj, vsx_ids *out) {
    memset(out, 0, sizeof *out);
    if (PyUnicode_Check(obj) || PyLong_Check(obj)) {
        vsx_raise(VS_EINVAL, "ids must be a sequence (a list, tuple or array) of ids");
        return -1;
    }
    if (PyObject_CheckBuffer(obj)) {
        Py_buffer b;
        if (PyObject_GetBuffer(obj, &b, PyBUF_FORMAT | PyBUF_STRIDES) == 0) {
            int rc = ids_from_buffer(&b, out);
            PyBuffer_Release(&b);
            if (rc <= 0) return rc;
        } else {
            PyErr_Clear();
        }
    }
    PyObject *seq = PySequence_Fast(obj, "ids must be a sequence (a list, tuple or array) of ids");
    if (!seq) {
        PyErr_Clear();
        vsx_raise(VS_EINVAL, "ids must be a sequence (a list, tuple or array) of ids");
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    out->ids = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(vs_id));
    if (!out->ids) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (vsx_id_from_py(items[i], &out->ids[i]) < 0) {
            char pre[40];
            snprintf(pre, sizeof pre, "id %zd: ", i); /* name the position; always an IdError */
            reraise(VS_EID, pre, "invalid id");
            Py_DECREF(seq);
            PyMem_Free(out->ids);
            out->ids = NULL;
            return -1;
        }
    }
    out->n = (size_t)n;
    out->keep = seq;
    return 0;
}

void vsx_ids_release(vsx_ids *ids) {
    PyMem_Free(ids->ids);
    ids->ids = NULL;
    Py_CLEAR(ids->keep);
}

PyObject *vsx_id_to_py(vs_id id) {
    if (id.kind == VS_ID_STR) return PyUnicode_DecodeUTF8(id.str, id.len, "replace");
    return PyLong_FromUnsignedLongLong(id.num);
}

/* -------------------------------------------------------------------- pools -- */

void *vsx_pool_take(vsx_pool *p) { return p->n ? p->idle[--p->n] : NULL; }

void vsx_pool_give(vsx_pool *p, void *h, void (*close_fn)(void *)) {
    if (!h) return;
    if (!p->closed && p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        void **v = PyMem_Realloc(p->idle, cap * sizeof *v);
        if (v) {
            p->idle = v;
            p->cap = cap;
        }
    }
    if (p->closed || p->n == p->cap) {
        close_fn(h);
        return;
    }
    p->idle[p->n++] = h;
}

void vsx_pool_close(vsx_pool *p, void (*close_fn)(void *)) {
    p->closed = 1;
    for (size_t i = 0; i < p->n; i++) close_fn(p->idle[i]);
    PyMem_Free(p->idle);
    p->idle = NULL;
    p->n = p->cap = 0;
}

/* ------------------------------------------------------------------ module -- */

static PyObject *m_conversion_copies(PyObject *self, PyObject *noargs) {
    (void)self, (void)noargs;
    return PyLong_FromUnsignedLongLong(vsx_conversion_copies);
}

static PyObject *m_last_input_address(PyObject *self, PyObject *noargs) {
    (void)self, (void)noargs;
    return PyLong_FromVoidPtr((void *)vsx_last_input);
}

static PyObject *m_live_allocations(PyObject *self, PyObject *noargs) {
    (void)self, (void)noargs;
    return PyLong_FromLongLong((long long)vs__alloc_live());
}

static PyObject *m_errname(PyObject *self, PyObject *arg) {
    (void)self;
    long rc = PyLong_AsLong(arg);
    if (rc == -1 && PyErr_Occurred()) return NULL;
    return PyUnicode_FromString(vs_errname((int)rc));
}

static PyObject *m_errstr(PyObject *self, PyObject *arg) {
    (void)self;
    long rc = PyLong_AsLong(arg);
    if (rc == -1 && PyErr_Occurred()) return NULL;
    return PyUnicode_FromString(vs_errstr((int)rc));
}

static PyObject *m_simd(PyObject *self, PyObject *noargs) {
    (void)self, (void)noargs;
    return PyUnicode_FromString(vs_simd_name());
}

/* geo_distance(lat1, lon1, lat2, lon2): the WGS84 geodesic in metres (a few µs of
 * arithmetic: the GIL is kept). */
static PyObject *m_geo_distance(PyObject *self, PyObject *args) {
    (void)self;
    double lat1, lon1, lat2, lon2, m = 0;
    if (!PyArg_ParseTuple(args, "dddd", &lat1, &lon1, &lat2, &lon2)) return NULL;
    int rc = vs_geo_distance(lat1, lon1, lat2, lon2, &m);
    if (rc) {
        char msg[200];
        snprintf(msg, sizeof msg, "geo_distance: (%g, %g), (%g, %g): a coordinate is not finite or out of range "
                 "(lat -90..90, lon -180..180)", lat1, lon1, lat2, lon2);
        return vsx_raise(rc, msg);
    }
    return PyFloat_FromDouble(m);
}

/* vs_store_check's reports, collected without the GIL and turned into tuples after. */
typedef struct note {
    int level;
    char *file, *msg;
} note;
typedef struct notes {
    note *v;
    size_t n, cap;
    int oom;
} notes;

static void on_note(void *ctx, int level, const char *file, const char *msg) {
    notes *ns = ctx;
    if (ns->oom) return;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 16;
        note *v = realloc(ns->v, cap * sizeof *v);
        if (!v) {
            ns->oom = 1;
            return;
        }
        ns->v = v;
        ns->cap = cap;
    }
    note *w = &ns->v[ns->n];
    w->level = level;
    w->file = strdup(file ? file : "");
    w->msg = strdup(msg ? msg : "");
    if (!w->file || !w->msg) {
        free(w->file);
        free(w->msg);
        ns->oom = 1;
        return;
    }
    ns->n++;
}

static PyObject *m_check(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *path;
    if (!PyArg_ParseTuple(args, "O&", PyUnicode_FSConverter, &path)) return NULL;
    notes ns = {0};
    int rc;
    const char *p = PyBytes_AS_STRING(path);
    Py_BEGIN_ALLOW_THREADS
    rc = vs_store_check(p, on_note, &ns);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    PyObject *out = NULL, *list = ns.oom ? NULL : PyList_New((Py_ssize_t)ns.n);
    if (ns.oom) PyErr_NoMemory();
    for (size_t i = 0; list && i < ns.n; i++) {
        static const char *const lv[] = {"ok", "note", "error"};
        PyObject *t = Py_BuildValue("(sss)", lv[ns.v[i].level >= 0 && ns.v[i].level <= 2 ? ns.v[i].level : 2],
                                    ns.v[i].file, ns.v[i].msg);
        if (!t) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    if (list) out = Py_BuildValue("(iN)", rc, list);
    for (size_t i = 0; i < ns.n; i++) {
        free(ns.v[i].file);
        free(ns.v[i].msg);
    }
    free(ns.v);
    return out;
}

/* as_f32(obj): obj as a C-contiguous float32 array — itself (a view, no copy) when it
 * already is one, else one converted copy, counted like every other conversion. */
static PyObject *m_as_f32(PyObject *self, PyObject *obj) {
    (void)self;
    vsx_vecs v;
    if (vsx_vecs_get(obj, &v, "vectors") < 0) return NULL;
    PyObject *out = v.converted ? (Py_INCREF(v.converted), v.converted) : PyArray_FROM_O(obj);
    vsx_vecs_release(&v);
    return out;
}

static PyMethodDef g_methods[] = {
    {"as_f32", m_as_f32, METH_O, "The object as a C-contiguous float32 array (converted only if needed)."},
    {"conversion_copies", m_conversion_copies, METH_NOARGS,
     "How many times an input had to be converted to C-contiguous float32 (a copy)."},
    {"last_input_address", m_last_input_address, METH_NOARGS,
     "Address of the float32 data the last call handed to the library (zero-copy proof)."},
    {"live_allocations", m_live_allocations, METH_NOARGS,
     "Allocations of libvecstore not yet freed (the leak check of the tests)."},
    {"errname", m_errname, METH_O, "Symbolic name of a VecStore error code ('VS_EDIM')."},
    {"errstr", m_errstr, METH_O, "Default text of a VecStore error code."},
    {"simd", m_simd, METH_NOARGS, "The distance kernel in use: 'scalar', 'avx2' or 'avx512'."},
    {"geo_distance", m_geo_distance, METH_VARARGS,
     "geo_distance(lat1, lon1, lat2, lon2) -> metres: the WGS84 geodesic distance."},
    {"check", m_check, METH_VARARGS,
     "check(path) -> (rc, [(level, file, message), ...]): verifies every checksum of a store."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef g_module = {PyModuleDef_HEAD_INIT, "_vecstore",
                                      "The C half of the vecstore package (use `import vecstore`).",
                                      -1, g_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__vecstore(void) {
    import_array();
    PyObject *errs = PyImport_ImportModule("vecstore._errors");
    if (!errs) return NULL;
    g_by_code = PyObject_GetAttrString(errs, "BY_CODE");
    g_error = PyObject_GetAttrString(errs, "Error");
    Py_DECREF(errs);
    if (!g_by_code || !g_error) return NULL;
    PyObject *np = PyImport_ImportModule("numpy");
    if (!np) return NULL;
    g_ascontig = PyObject_GetAttrString(np, "ascontiguousarray");
    g_float32 = PyObject_GetAttrString(np, "float32");
    Py_DECREF(np);
    if (!g_ascontig || !g_float32) return NULL;
    if (PyType_Ready(&vsx_StoreType) < 0 || PyType_Ready(&vsx_CollType) < 0 ||
        PyType_Ready(&vsx_ResultType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&g_module);
    if (!m) return NULL;
    Py_INCREF(&vsx_StoreType);
    Py_INCREF(&vsx_CollType);
    Py_INCREF(&vsx_ResultType);
    if (PyModule_AddObject(m, "Store", (PyObject *)&vsx_StoreType) < 0 ||
        PyModule_AddObject(m, "Collection", (PyObject *)&vsx_CollType) < 0 ||
        PyModule_AddObject(m, "Result", (PyObject *)&vsx_ResultType) < 0 ||
        PyModule_AddStringConstant(m, "VERSION", vs_version()) < 0 ||
        PyModule_AddIntConstant(m, "K_MAX", VS_K_MAX) < 0 ||
        PyModule_AddIntConstant(m, "BATCH_MAX", VS_BATCH_MAX) < 0 ||
        PyModule_AddIntConstant(m, "DIM_MAX", VS_DIM_MAX) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
