/*
 * store.c — the Store type: an open store directory (vs_store handles).
 */
#include "vsext.h"

#include <string.h>

typedef struct {
    PyObject_HEAD
    vs_store *h;    /* used under the GIL only (opening collections); NULL once closed */
    vsx_pool pool;  /* dups of h for calls made without the GIL */
    PyObject *path; /* str, as given */
    int read_only;
} StoreObject;

static void close_store(void *h) { vs_store_close(h); }

static int closed_error(StoreObject *s) {
    if (s->h) return 0;
    vsx_raise(VS_EINVAL, "the store is closed");
    return -1;
}

/* A handle for one call made without the GIL. */
static vs_store *take(StoreObject *s) {
    if (closed_error(s)) return NULL;
    vs_store *h = vsx_pool_take(&s->pool);
    if (h) return h;
    int rc = vs_store_dup(s->h, &h);
    if (rc) {
        vsx_raise(rc, vs_store_errmsg(s->h));
        return NULL;
    }
    return h;
}

static void give(StoreObject *s, vs_store *h) { vsx_pool_give(&s->pool, h, close_store); }

/* A library call on one of the store's handles (VSX_RUN), with the handle named h. */
#define RUN(s, rc, msg, ...) VSX_RUN(vs_store, take, give, vs_store_errmsg, s, rc, msg, __VA_ARGS__)

static int parse_fsync(PyObject *o, int *out) {
    const char *v = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
    if (v && !strcmp(v, "always")) *out = VS_FSYNC_ALWAYS;
    else if (v && !strcmp(v, "batch")) *out = VS_FSYNC_BATCH;
    else if (v && !strcmp(v, "off")) *out = VS_FSYNC_OFF;
    else {
        PyErr_Clear();
        vsx_raise(VS_EINVAL, "fsync must be 'always', 'batch' or 'off'");
        return -1;
    }
    return 0;
}

static int Store_init(StoreObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"path", "read_only", "create", "fsync", "fsync_interval_ms",
                             "flush_bytes", "background", "compact_min_segments", NULL};
    PyObject *path_obj, *fsync_obj = NULL;
    int read_only = 0, create = 1, background = 1;
    unsigned int interval = 0, compact = 0;
    unsigned long long flush_bytes = 0;
    if (self->h) {
        vsx_raise(VS_EINVAL, "Store.__init__ called twice");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|ppOIKpI", kwlist, PyUnicode_FSConverter, &path_obj,
                                     &read_only, &create, &fsync_obj, &interval, &flush_bytes,
                                     &background, &compact))
        return -1;
    vs_store_options o;
    vs_store_options_init(&o);
    o.read_only = read_only;
    o.create_if_missing = create;
    o.background = background;
    if (fsync_obj && fsync_obj != Py_None && parse_fsync(fsync_obj, &o.fsync) < 0) goto fail;
    if (interval) o.fsync_interval_ms = interval;
    if (flush_bytes) o.flush_bytes = flush_bytes;
    if (compact) o.compact_min_segments = compact;
    char msg[512] = "";
    int rc;
    vs_store *h = NULL;
    const char *p = PyBytes_AS_STRING(path_obj);
    Py_BEGIN_ALLOW_THREADS
    rc = vs_store_open(p, &o, &h, msg, sizeof msg);
    Py_END_ALLOW_THREADS
    if (rc) {
        vsx_raise(rc, msg);
        goto fail;
    }
    self->h = h;
    self->read_only = read_only;
    self->path = PyUnicode_DecodeFSDefault(p);
    Py_DECREF(path_obj);
    return self->path ? 0 : -1;
fail:
    Py_DECREF(path_obj);
    return -1;
}

static void Store_dealloc(StoreObject *self) {
    vsx_pool_close(&self->pool, close_store);
    vs_store_close(self->h);
    Py_XDECREF(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Store_close(StoreObject *self, PyObject *noargs) {
    (void)noargs;
    vsx_pool_close(&self->pool, close_store);
    vs_store *h = self->h;
    self->h = NULL;
    if (h) {
        /* The last handle syncs the WAL and joins the background thread. */
        Py_BEGIN_ALLOW_THREADS
        vs_store_close(h);
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

static PyObject *Store_list(StoreObject *self, PyObject *noargs) {
    (void)noargs;
    char **names = NULL;
    size_t n = 0;
    int rc;
    char msg[512] = "";
    RUN(self, rc, msg, rc = vs_store_list(h, &names, &n));
    if (rc) return vsx_failed(rc, msg);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *s = PyUnicode_FromString(names[i]);
        if (!s) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    vs_strlist_free(names, n);
    return list;
}

static PyObject *Store_drop(StoreObject *self, PyObject *args) {
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) return NULL;
    int rc;
    char msg[512] = "";
    RUN(self, rc, msg, rc = vs_store_drop(h, name));
    if (rc) return vsx_failed(rc, msg);
    Py_RETURN_NONE;
}

static int parse_choice(const char *what, const char *v, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) return i;
    char buf[200];
    snprintf(buf, sizeof buf, "unknown %s '%s'", what, v);
    vsx_raise(VS_EINVAL, buf);
    return -1;
}

/* fields: [(name, dim, metric, index, m, ef_construction, index_threshold, quant, pq_m)] */
static int build_schema(PyObject *fields, vs_schema *sc) {
    static const char *const indexes[] = {"flat", "hnsw"};
    static const char *const quants[] = {"none", "int8", "pq", "binary"};
    PyObject *seq = PySequence_Fast(fields, "fields must be a list of tuples");
    if (!seq) return -1;
    int rc = -1;
    char msg[300];
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        const char *name, *metric, *index, *quant;
        unsigned int dim, m, efc, thr, pq_m;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "sIssIIIsI", &name, &dim, &metric, &index,
                              &m, &efc, &thr, &quant, &pq_m))
            goto out;
        int mt = vs_metric_parse(metric);
        if (mt < 0) {
            snprintf(msg, sizeof msg, "unknown metric '%s' (cosine, l2, dot)", metric);
            vsx_raise(VS_EINVAL, msg);
            goto out;
        }
        int ix = parse_choice("index", index, indexes, 2), qt = parse_choice("quantization", quant, quants, 4);
        if (ix < 0 || qt < 0) goto out;
        int r = vs_schema_add_vector(sc, name, dim, mt);
        if (!r && ix == 1) r = vs_schema_set_hnsw(sc, name, m, efc, thr);
        if (!r && qt) r = vs_schema_set_quantization(sc, name, qt, pq_m);
        if (r) {
            snprintf(msg, sizeof msg, "vector field '%s': %s (dim %u, m %u, ef_construction %u, "
                     "index_threshold %u, pq_m %u)", name, vs_errstr(r), dim, m, efc, thr, pq_m);
            vsx_raise(r, msg);
            goto out;
        }
    }
    rc = 0;
out:
    Py_DECREF(seq);
    return rc;
}

static PyObject *Store_create(StoreObject *self, PyObject *args) {
    const char *name;
    PyObject *fields;
    if (!PyArg_ParseTuple(args, "sO", &name, &fields)) return NULL;
    if (closed_error(self)) return NULL;
    vs_schema *sc;
    if (vs_schema_new(&sc)) return PyErr_NoMemory();
    if (build_schema(fields, sc) < 0) {
        vs_schema_free(sc);
        return NULL;
    }
    int rc;
    char msg[512] = "";
    RUN(self, rc, msg, rc = vs_coll_create(h, name, sc));
    vs_schema_free(sc);
    if (rc) return vsx_failed(rc, msg);
    Py_RETURN_NONE;
}

static PyObject *Store_collection(StoreObject *self, PyObject *args) {
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) return NULL;
    if (closed_error(self)) return NULL;
    return vsx_coll_new(self->h, name);
}

static PyObject *Store_restore(StoreObject *self, PyObject *args) {
    PyObject *path;
    const char *name = NULL;
    if (!PyArg_ParseTuple(args, "O&|z", PyUnicode_FSConverter, &path, &name)) return NULL;
    int rc;
    char msg[512] = "";
    const char *p = PyBytes_AS_STRING(path);
    RUN(self, rc, msg, rc = vs_store_restore(h, p, name));
    Py_DECREF(path);
    if (rc) return vsx_failed(rc, msg);
    Py_RETURN_NONE;
}

static PyObject *Store_get_path(StoreObject *self, void *c) {
    (void)c;
    if (!self->path) Py_RETURN_NONE;
    Py_INCREF(self->path);
    return self->path;
}

static PyObject *Store_get_read_only(StoreObject *self, void *c) {
    (void)c;
    return PyBool_FromLong(self->read_only);
}

static PyObject *Store_get_closed(StoreObject *self, void *c) {
    (void)c;
    return PyBool_FromLong(self->h == NULL);
}

static PyMethodDef Store_methods[] = {
    {"close", (PyCFunction)Store_close, METH_NOARGS, "close()"},
    {"list", (PyCFunction)Store_list, METH_NOARGS, "list() -> list of collection names"},
    {"drop", (PyCFunction)Store_drop, METH_VARARGS, "drop(name)"},
    {"create", (PyCFunction)Store_create, METH_VARARGS, "create(name, fields)"},
    {"collection", (PyCFunction)Store_collection, METH_VARARGS, "collection(name) -> Collection"},
    {"restore", (PyCFunction)Store_restore, METH_VARARGS, "restore(archive_path, name=None)"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Store_getset[] = {
    {"path", (getter)Store_get_path, NULL, "the store directory", NULL},
    {"read_only", (getter)Store_get_read_only, NULL, "opened read-only", NULL},
    {"closed", (getter)Store_get_closed, NULL, "close() was called", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject vsx_StoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vecstore._vecstore.Store",
    .tp_basicsize = sizeof(StoreObject),
    .tp_dealloc = (destructor)Store_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An open store (low level; use vecstore.open).",
    .tp_methods = Store_methods,
    .tp_getset = Store_getset,
    .tp_init = (initproc)Store_init,
    .tp_new = PyType_GenericNew,
};
