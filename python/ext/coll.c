/*
 * coll.c — the Collection type: writes, reads and queries of one collection (vs_coll).
 *
 * Each method takes a library handle from the object's pool, releases the GIL around the
 * library call, copies the handle's message on failure while it still owns the handle,
 * and gives the handle back.
 */
#include "vsext.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    PyObject_HEAD
    vs_store *sh;   /* a store handle of our own, to open more collection handles */
    vsx_pool pool;  /* idle collection handles */
    uint32_t nfields;
    char name[VS_NAME_MAX + 1];
} CollObject;

static void close_coll(void *h) { vs_coll_close(h); }

static vs_coll *take(CollObject *c) {
    if (c->pool.closed) {
        vsx_raise(VS_EINVAL, "the collection is closed");
        return NULL;
    }
    vs_coll *h = vsx_pool_take(&c->pool);
    if (h) return h;
    int rc = vs_coll_open(c->sh, c->name, &h);
    if (rc) {
        vsx_raise(rc, vs_store_errmsg(c->sh));
        return NULL;
    }
    return h;
}

static void give(CollObject *c, vs_coll *h) { vsx_pool_give(&c->pool, h, close_coll); }

/* A library call on one of c's handles (VSX_RUN), with the handle named h. */
#define RUN(c, rc, msg, ...) VSX_RUN(vs_coll, take, give, vs_coll_errmsg, c, rc, msg, __VA_ARGS__)

PyObject *vsx_coll_new(vs_store *sh, const char *name) {
    CollObject *c = PyObject_New(CollObject, &vsx_CollType);
    if (!c) return NULL;
    memset(&c->pool, 0, sizeof c->pool);
    c->sh = NULL;
    c->nfields = 0;
    snprintf(c->name, sizeof c->name, "%s", name);
    int rc = vs_store_dup(sh, &c->sh);
    if (rc) {
        vsx_raise(rc, vs_store_errmsg(sh));
        Py_DECREF(c);
        return NULL;
    }
    /* The first handle is opened now so that a missing collection fails here. */
    vs_coll *h = NULL;
    rc = vs_coll_open(c->sh, name, &h);
    if (rc) {
        vsx_raise(rc, vs_store_errmsg(c->sh));
        Py_DECREF(c);
        return NULL;
    }
    vs_coll_info in;
    if (vs_coll_info_get(h, &in) == VS_OK) c->nfields = in.n_fields;
    give(c, h);
    return (PyObject *)c;
}

static void Coll_dealloc(CollObject *c) {
    vsx_pool_close(&c->pool, close_coll);
    vs_store_close(c->sh);
    PyObject_Free(c);
}

static PyObject *Coll_close(CollObject *c, PyObject *noargs) {
    (void)noargs;
    vsx_pool_close(&c->pool, close_coll);
    /* Our store handle too, so that closing the Store object closes the store even while
     * this object lives on (calls in flight use their collection handle, not this). */
    vs_store_close(c->sh);
    c->sh = NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------- writes -- */

/* upsert(ids, columns, payloads): columns = [(field, matrix)], payloads None or a list of
 * JSON texts (str or None). */
static PyObject *Coll_upsert(CollObject *c, PyObject *args) {
    PyObject *ids_obj, *cols_obj, *pl_obj;
    if (!PyArg_ParseTuple(args, "OOO", &ids_obj, &cols_obj, &pl_obj)) return NULL;
    vsx_ids ids;
    if (vsx_ids_get(ids_obj, &ids) < 0) return NULL;
    PyObject *cols = NULL, *pls = NULL, *ret = NULL;
    vsx_vecs vv[VS_FIELDS_MAX];
    vs_vectors vc[VS_FIELDS_MAX];
    const char **ptxt = NULL;
    size_t *plen = NULL;
    Py_ssize_t ncol = 0, got = 0;
    char msg[600];
    cols = PySequence_Fast(cols_obj, "vectors must be a list of (field, matrix)");
    if (!cols) goto out;
    ncol = PySequence_Fast_GET_SIZE(cols);
    if (ncol > VS_FIELDS_MAX) {
        vsx_raise(VS_EINVAL, "more vector columns than a collection can have fields");
        goto out;
    }
    for (; got < ncol; got++) {
        const char *field;
        PyObject *mat;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(cols, got), "zO", &field, &mat)) goto out;
        char what[120];
        snprintf(what, sizeof what, "vectors%s%s%s", field && *field ? " of '" : "", field ? field : "",
                 field && *field ? "'" : "");
        if (vsx_vecs_get(mat, &vv[got], what) < 0) goto out;
        if (vv[got].rows != ids.n) {
            snprintf(msg, sizeof msg, "%s: %zu ids but %zu vector rows", what, ids.n, vv[got].rows);
            got++;
            vsx_raise(VS_EINVAL, msg);
            goto out;
        }
        vc[got].field = field;
        vc[got].data = vv[got].data;
        vc[got].dim = vv[got].dim;
    }
    if (pl_obj != Py_None) {
        pls = PySequence_Fast(pl_obj, "payloads must be a list");
        if (!pls) goto out;
        if ((size_t)PySequence_Fast_GET_SIZE(pls) != ids.n) {
            snprintf(msg, sizeof msg, "%zu ids but %zd payloads", ids.n, PySequence_Fast_GET_SIZE(pls));
            vsx_raise(VS_EINVAL, msg);
            goto out;
        }
        ptxt = PyMem_Calloc(ids.n ? ids.n : 1, sizeof *ptxt);
        plen = PyMem_Calloc(ids.n ? ids.n : 1, sizeof *plen);
        if (!ptxt || !plen) {
            PyErr_NoMemory();
            goto out;
        }
        for (size_t i = 0; i < ids.n; i++) {
            PyObject *t = PySequence_Fast_GET_ITEM(pls, i);
            if (t == Py_None) {
                ptxt[i] = "{}";
                plen[i] = 2;
                continue;
            }
            Py_ssize_t n;
            if (PyUnicode_Check(t)) {
                if (!(ptxt[i] = PyUnicode_AsUTF8AndSize(t, &n))) goto out;
            } else if (PyBytes_Check(t)) {
                ptxt[i] = PyBytes_AS_STRING(t);
                n = PyBytes_GET_SIZE(t);
            } else {
                snprintf(msg, sizeof msg, "payload %zu: expected JSON text, got %s", i, Py_TYPE(t)->tp_name);
                vsx_raise(VS_EJSON, msg);
                goto out;
            }
            plen[i] = (size_t)n;
        }
    }
    vs_upsert_batch b = {ids.n, ids.ids, vc, (size_t)ncol, ptxt, plen};
    int rc;
    RUN(c, rc, msg, rc = vs_upsert(h, &b));
    if (rc) vsx_failed(rc, msg);
    else ret = PyLong_FromSize_t(ids.n);
out:
    for (Py_ssize_t i = 0; i < got; i++) vsx_vecs_release(&vv[i]);
    PyMem_Free(ptxt);
    PyMem_Free(plen);
    Py_XDECREF(cols);
    Py_XDECREF(pls);
    vsx_ids_release(&ids);
    return ret;
}

static PyObject *Coll_delete(CollObject *c, PyObject *args) {
    PyObject *ids_obj;
    if (!PyArg_ParseTuple(args, "O", &ids_obj)) return NULL;
    vsx_ids ids;
    if (vsx_ids_get(ids_obj, &ids) < 0) return NULL;
    uint64_t n = 0;
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = vs_delete(h, ids.ids, ids.n, &n));
    vsx_ids_release(&ids);
    if (rc) return vsx_failed(rc, msg);
    return PyLong_FromUnsignedLongLong(n);
}

/* Deletes every point matching filter: pages of ids through scroll, each page deleted
 * before the next is read (the next page starts at an id >= the last, so deleting does
 * not disturb the walk). Not one atomic operation: points written meanwhile that match
 * may or may not be deleted. */
static int delete_where(vs_coll *h, const char *filter, uint64_t *deleted) {
    vs_id off, *ids = NULL;
    int have_off = 0, rc = VS_OK;
    char offstr[VS_ID_STR_MAX + 1];
    *deleted = 0;
    for (;;) {
        vs_result *r = NULL;
        rc = vs_scroll(h, have_off ? &off : NULL, 4096, filter, 0, &r);
        if (rc) break;
        size_t n = vs_result_rows(r, 0);
        vs_id *nids = realloc(ids, (n ? n : 1) * sizeof *ids);
        if (!nids) {
            vs_result_free(r);
            rc = VS_ENOMEM;
            break;
        }
        ids = nids;
        for (size_t i = 0; i < n; i++) ids[i] = vs_result_id(r, 0, i);
        uint64_t d = 0;
        rc = vs_delete(h, ids, n, &d);
        *deleted += d;
        vs_id nx;
        have_off = !rc && vs_result_next(r, &nx);
        if (have_off) {
            off = nx;
            if (nx.kind == VS_ID_STR) {
                memcpy(offstr, nx.str, nx.len);
                off.str = offstr;
            }
        }
        vs_result_free(r);
        if (rc || !have_off) break;
    }
    free(ids);
    return rc;
}

static PyObject *Coll_delete_where(CollObject *c, PyObject *args) {
    const char *filter;
    if (!PyArg_ParseTuple(args, "s", &filter)) return NULL;
    uint64_t n = 0;
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = delete_where(h, filter, &n));
    if (rc) return vsx_failed(rc, msg);
    return PyLong_FromUnsignedLongLong(n);
}

static PyObject *Coll_set_payload(CollObject *c, PyObject *args) {
    PyObject *ids_obj;
    int op;
    const char *json;
    if (!PyArg_ParseTuple(args, "Ois", &ids_obj, &op, &json)) return NULL;
    vsx_ids ids;
    if (vsx_ids_get(ids_obj, &ids) < 0) return NULL;
    uint64_t n = 0;
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = vs_set_payload(h, ids.ids, ids.n, op, json, &n));
    vsx_ids_release(&ids);
    if (rc) return vsx_failed(rc, msg);
    return PyLong_FromUnsignedLongLong(n);
}

/* flush(), compact(): no arguments, no result. */
static PyObject *simple(CollObject *c, int (*fn)(vs_coll *)) {
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = fn(h));
    if (rc) return vsx_failed(rc, msg);
    Py_RETURN_NONE;
}

static PyObject *Coll_flush(CollObject *c, PyObject *noargs) {
    (void)noargs;
    return simple(c, vs_coll_flush);
}

static PyObject *Coll_compact(CollObject *c, PyObject *noargs) {
    (void)noargs;
    return simple(c, vs_coll_compact);
}

static PyObject *Coll_wait_indexed(CollObject *c, PyObject *args) {
    int timeout_ms = -1;
    if (!PyArg_ParseTuple(args, "|i", &timeout_ms)) return NULL;
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = vs_coll_wait_indexed(h, timeout_ms));
    if (rc == VS_EBUSY) Py_RETURN_FALSE;
    if (rc) return vsx_failed(rc, msg);
    Py_RETURN_TRUE;
}

static PyObject *Coll_snapshot(CollObject *c, PyObject *args) {
    PyObject *path;
    if (!PyArg_ParseTuple(args, "O&", PyUnicode_FSConverter, &path)) return NULL;
    int rc;
    char msg[600];
    const char *p = PyBytes_AS_STRING(path);
    RUN(c, rc, msg, rc = vs_coll_snapshot(h, p));
    Py_DECREF(path);
    if (rc) return vsx_failed(rc, msg);
    Py_RETURN_NONE;
}

static PyObject *Coll_create_index(CollObject *c, PyObject *args) {
    const char *path, *type;
    if (!PyArg_ParseTuple(args, "ss", &path, &type)) return NULL;
    int t = vs_pindex_type_parse(type);
    if (t < 0) {
        char buf[200];
        snprintf(buf, sizeof buf, "unknown payload index type '%s' (keyword, integer, float, bool, "
                 "datetime, text, geo)", type);
        return vsx_raise(VS_EINVAL, buf);
    }
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = vs_coll_create_payload_index(h, path, t));
    if (rc) return vsx_failed(rc, msg);
    Py_RETURN_NONE;
}

static PyObject *Coll_drop_index(CollObject *c, PyObject *args) {
    const char *path, *type = NULL;
    if (!PyArg_ParseTuple(args, "s|z", &path, &type)) return NULL;
    int t = 0;
    if (type && (t = vs_pindex_type_parse(type)) < 0) {
        char buf[200];
        snprintf(buf, sizeof buf, "unknown payload index type '%s'", type);
        return vsx_raise(VS_EINVAL, buf);
    }
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = vs_coll_drop_payload_index(h, path, t));
    if (rc) return vsx_failed(rc, msg);
    Py_RETURN_NONE;
}

static PyObject *Coll_indexes(CollObject *c, PyObject *noargs) {
    (void)noargs;
    vs_pindex_info *pi = NULL;
    size_t n = 0;
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = vs_coll_payload_indexes(h, &pi, &n));
    if (rc) return vsx_failed(rc, msg);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *t = Py_BuildValue("{s:s,s:s,s:K,s:K}", "path", pi[i].path, "type",
                                    vs_pindex_type_name(pi[i].type), "entries",
                                    (unsigned long long)pi[i].entries, "memory_bytes",
                                    (unsigned long long)pi[i].memory_bytes);
        if (!t) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    vs_free(pi);
    return list;
}

static PyObject *Coll_info(CollObject *c, PyObject *noargs) {
    (void)noargs;
    vs_coll_info in;
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = vs_coll_info_get(h, &in));
    if (rc) return vsx_failed(rc, msg);
    static const char *const quants[] = {"none", "int8", "pq", "binary"};
    PyObject *fields = PyList_New(in.n_fields);
    for (uint32_t i = 0; fields && i < in.n_fields; i++) {
        const vs_field_info *f = &in.fields[i];
        PyObject *d = Py_BuildValue(
            "{s:s,s:I,s:s,s:s,s:I,s:I,s:I,s:s,s:I}", "name", f->name, "dim", f->dim, "metric",
            vs_metric_name(f->metric), "index", f->index == VS_INDEX_HNSW ? "hnsw" : "flat", "m", f->hnsw_m,
            "ef_construction", f->hnsw_ef_construction, "index_threshold", f->index_threshold,
            "quantization", quants[f->quant >= 0 && f->quant < 4 ? f->quant : 0], "pq_m", f->pq_m);
        if (!d) Py_CLEAR(fields);
        else PyList_SET_ITEM(fields, i, d);
    }
    if (!fields) return NULL;
    return Py_BuildValue("{s:K,s:K,s:I,s:K,s:K,s:K,s:K,s:K,s:K,s:I,s:I,s:K,s:K,s:N}", "points",
                         (unsigned long long)in.points, "deleted", (unsigned long long)in.deleted, "segments",
                         in.segments, "mutable_points", (unsigned long long)in.mutable_points, "last_lsn",
                         (unsigned long long)in.last_lsn, "checkpoint_lsn",
                         (unsigned long long)in.checkpoint_lsn, "wal_bytes", (unsigned long long)in.wal_bytes,
                         "disk_bytes", (unsigned long long)in.disk_bytes, "memory_bytes",
                         (unsigned long long)in.memory_bytes, "indexed_segments", in.indexed_segments,
                         "pending_segments", in.pending_segments, "index_bytes",
                         (unsigned long long)in.index_bytes, "mutable_indexed",
                         (unsigned long long)in.mutable_indexed, "fields", fields);
}

/* -------------------------------------------------------------------- reads -- */

static PyObject *Coll_count(CollObject *c, PyObject *args) {
    const char *filter = NULL;
    if (!PyArg_ParseTuple(args, "|z", &filter)) return NULL;
    uint64_t n = 0;
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = vs_count(h, filter, &n));
    if (rc) return vsx_failed(rc, msg);
    return PyLong_FromUnsignedLongLong(n);
}

static PyObject *Coll_get(CollObject *c, PyObject *args) {
    PyObject *ids_obj;
    int with = VS_WITH_PAYLOAD;
    if (!PyArg_ParseTuple(args, "O|i", &ids_obj, &with)) return NULL;
    vsx_ids ids;
    if (vsx_ids_get(ids_obj, &ids) < 0) return NULL;
    vs_result *r = NULL;
    int rc;
    char msg[600];
    RUN(c, rc, msg, rc = vs_get(h, ids.ids, ids.n, with, &r));
    vsx_ids_release(&ids);
    if (rc) return vsx_failed(rc, msg);
    return vsx_result_wrap(r, (int)c->nfields);
}

static PyObject *Coll_scroll(CollObject *c, PyObject *args) {
    PyObject *off_obj;
    unsigned int limit;
    const char *filter;
    int with;
    if (!PyArg_ParseTuple(args, "OIzi", &off_obj, &limit, &filter, &with)) return NULL;
    vs_id off;
    if (off_obj != Py_None && vsx_id_from_py(off_obj, &off) < 0) return NULL;
    vs_result *r = NULL;
    int rc;
    char msg[600];
    const vs_id *offp = off_obj == Py_None ? NULL : &off;
    RUN(c, rc, msg, rc = vs_scroll(h, offp, limit, filter, with, &r));
    if (rc) return vsx_failed(rc, msg);
    return vsx_result_wrap(r, (int)c->nfields);
}

/* The ids and scores of a query result as (nq, k) arrays, given what vs_result_matrix
 * answered (rc, mi, ms): views of the result's own matrices when every id is an int64;
 * otherwise an object array of ids and a copy of the
 * scores (the only case that copies). */
static int result_arrays(PyObject *res, vs_result *r, uint32_t k, int rc, const int64_t *mi, const float *ms,
                         PyObject **ids_out, PyObject **sc_out) {
    npy_intp dims[2] = {(npy_intp)vs_result_groups(r), (npy_intp)k};
    if (rc == VS_OK) {
        PyObject *a = PyArray_SimpleNewFromData(2, dims, NPY_INT64, (void *)mi);
        if (!a) return -1;
        Py_INCREF(res);
        if (PyArray_SetBaseObject((PyArrayObject *)a, res) < 0) {
            Py_DECREF(a);
            return -1;
        }
        PyObject *b = PyArray_SimpleNewFromData(2, dims, NPY_FLOAT32, (void *)ms);
        if (!b) {
            Py_DECREF(a);
            return -1;
        }
        Py_INCREF(res);
        if (PyArray_SetBaseObject((PyArrayObject *)b, res) < 0) {
            Py_DECREF(a);
            Py_DECREF(b);
            return -1;
        }
        *ids_out = a;
        *sc_out = b;
        return 0;
    }
    if (rc != VS_ERANGE) {
        vsx_raise(rc, "building the result matrices");
        return -1;
    }
    PyObject *a = PyArray_SimpleNew(2, dims, NPY_OBJECT);
    PyObject *b = PyArray_SimpleNew(2, dims, NPY_FLOAT32);
    if (!a || !b) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        return -1;
    }
    PyObject **ia = PyArray_DATA((PyArrayObject *)a);
    float *sb = PyArray_DATA((PyArrayObject *)b);
    for (npy_intp g = 0; g < dims[0]; g++) {
        size_t n = vs_result_rows(r, (size_t)g);
        for (npy_intp i = 0; i < dims[1]; i++) {
            PyObject *o = (size_t)i < n ? vsx_id_to_py(vs_result_id(r, (size_t)g, (size_t)i)) : PyLong_FromLong(-1);
            if (!o) {
                Py_DECREF(a);
                Py_DECREF(b);
                return -1;
            }
            Py_XDECREF(ia[g * dims[1] + i]); /* PyArray_SimpleNew filled it with None */
            ia[g * dims[1] + i] = o;
            sb[g * dims[1] + i] = (size_t)i < n ? vs_result_score(r, (size_t)g, (size_t)i) : NAN;
        }
    }
    *ids_out = a;
    *sc_out = b;
    return 0;
}

/* (Result, ids, scores): the result wrapped with its (nq, k) arrays (result_arrays). */
static PyObject *result_tuple(CollObject *c, vs_result *r, uint32_t k, int mrc, const int64_t *mi,
                              const float *ms) {
    PyObject *res = vsx_result_wrap(r, (int)c->nfields);
    if (!res) return NULL;
    PyObject *ids, *sc;
    if (result_arrays(res, r, k, mrc, mi, ms, &ids, &sc) < 0) {
        Py_DECREF(res);
        return NULL;
    }
    return Py_BuildValue("(NNN)", res, ids, sc);
}

/* A decay tuple (func, key, lat, lon, scale, offset, decay, combine, weight, candidates)
 * into *d; d->key points into the tuple's str, which the caller's args keep alive. */
static int decay_from_py(PyObject *t, vs_decay *d) {
    vs_decay_init(d);
    if (!PyArg_ParseTuple(t, "isdddddidI;decay must be (func, key, lat, lon, scale, offset, decay, combine, "
                             "weight, candidates)", &d->func, &d->key, &d->lat, &d->lon, &d->scale, &d->offset,
                          &d->decay, &d->combine, &d->weight, &d->candidates))
        return -1;
    return 0;
}

/* query(vectors, k, field, filter, with, flags, ef, threshold, offset, oversampling[, decay])
 *   -> (Result, ids (nq, k), scores (nq, k)); decay None or a tuple (decay_from_py) */
static PyObject *Coll_query(CollObject *c, PyObject *args) {
    PyObject *vec_obj, *thr_obj, *decay_obj = Py_None;
    unsigned int k, ef, offset;
    const char *field, *filter;
    int with;
    unsigned int flags;
    float oversampling;
    if (!PyArg_ParseTuple(args, "OIzziIIOIf|O", &vec_obj, &k, &field, &filter, &with, &flags, &ef, &thr_obj,
                          &offset, &oversampling, &decay_obj))
        return NULL;
    vs_decay decay;
    if (decay_obj != Py_None && decay_from_py(decay_obj, &decay) < 0) return NULL;
    vsx_vecs v;
    if (vsx_vecs_get(vec_obj, &v, "query vectors") < 0) return NULL;
    vs_query q;
    vs_query_init(&q);
    q.field = field;
    q.vectors = v.data;
    q.nq = v.rows;
    q.dim = v.dim;
    q.k = k;
    q.offset = offset;
    q.filter = filter;
    q.with = with;
    q.flags = flags;
    q.ef = ef;
    q.oversampling = oversampling;
    q.decay = decay_obj != Py_None ? &decay : NULL;
    if (thr_obj != Py_None) {
        double t = PyFloat_AsDouble(thr_obj);
        if (t == -1.0 && PyErr_Occurred()) {
            vsx_vecs_release(&v);
            return NULL;
        }
        q.has_threshold = 1;
        q.score_threshold = (float)t;
    }
    if (v.rows == 0) {
        vsx_vecs_release(&v);
        return vsx_raise(VS_EINVAL, "no query vectors (0 rows)");
    }
    vs_result *r = NULL;
    int rc, mrc = VS_OK;
    char msg[600];
    const int64_t *mi = NULL;
    const float *ms = NULL;
    /* The matrices are made in the same GIL-free stretch as the query: one release per call. */
    RUN(c, rc, msg, rc = vs_query_run(h, &q, &r);
        if (!rc && !(flags & VS_QUERY_EXPLAIN)) mrc = vs_result_matrix(r, k, &mi, &ms));
    vsx_vecs_release(&v);
    if (rc) return vsx_failed(rc, msg);
    if (flags & VS_QUERY_EXPLAIN) {
        PyObject *res = vsx_result_wrap(r, (int)c->nfields);
        return res ? Py_BuildValue("(NOO)", res, Py_None, Py_None) : NULL;
    }
    return result_tuple(c, r, k, mrc, mi, ms);
}

/* nearest(key, lat, lon, k, max_distance, filter, with) -> (Result, ids (1, k),
 * scores (1, k)): vs_geo_nearest, nearest first, scores in metres; max_distance < 0 is
 * no limit. */
static PyObject *Coll_nearest(CollObject *c, PyObject *args) {
    vs_geo_query q;
    vs_geo_query_init(&q);
    unsigned int k;
    if (!PyArg_ParseTuple(args, "sddIdzi", &q.key, &q.lat, &q.lon, &k, &q.max_distance, &q.filter, &q.with))
        return NULL;
    q.k = k;
    vs_result *r = NULL;
    int rc, mrc = VS_OK;
    char msg[600];
    const int64_t *mi = NULL;
    const float *ms = NULL;
    RUN(c, rc, msg, rc = vs_geo_nearest(h, &q, &r); if (!rc) mrc = vs_result_matrix(r, k, &mi, &ms));
    if (rc) return vsx_failed(rc, msg);
    return result_tuple(c, r, k, mrc, mi, ms);
}

/* A loop of single-vector queries entirely in C, timed in C: the baseline the Python
 * layer's per-query overhead is measured against (bench/bench_python.py). Not API. */
static PyObject *Coll_bench_queries(CollObject *c, PyObject *args) {
    PyObject *vec_obj;
    unsigned int k, ef, reps = 1;
    if (!PyArg_ParseTuple(args, "OII|I", &vec_obj, &k, &ef, &reps)) return NULL;
    vsx_vecs v;
    if (vsx_vecs_get(vec_obj, &v, "query vectors") < 0) return NULL;
    int rc = 0;
    char msg[600];
    double secs = 0;
    RUN(c, rc, msg, {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (unsigned int rep = 0; rep < reps && !rc; rep++)
            for (size_t i = 0; i < v.rows && !rc; i++) {
                vs_query q;
                vs_query_init(&q);
                q.vectors = v.data + i * v.dim;
                q.dim = v.dim;
                q.k = k;
                q.ef = ef;
                q.with = 0;
                vs_result *r = NULL;
                rc = vs_query_run(h, &q, &r);
                const int64_t *mi;
                const float *ms;
                if (!rc) rc = vs_result_matrix(r, k, &mi, &ms);
                vs_result_free(r);
            }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    });
    vsx_vecs_release(&v);
    if (rc) return vsx_failed(rc, msg);
    return PyFloat_FromDouble(secs);
}

static PyObject *Coll_get_name(CollObject *c, void *unused) {
    (void)unused;
    return PyUnicode_FromString(c->name);
}

static PyObject *Coll_get_closed(CollObject *c, void *unused) {
    (void)unused;
    return PyBool_FromLong(c->pool.closed);
}

static PyMethodDef Coll_methods[] = {
    {"close", (PyCFunction)Coll_close, METH_NOARGS, NULL},
    {"upsert", (PyCFunction)Coll_upsert, METH_VARARGS, NULL},
    {"delete", (PyCFunction)Coll_delete, METH_VARARGS, NULL},
    {"delete_where", (PyCFunction)Coll_delete_where, METH_VARARGS, NULL},
    {"set_payload", (PyCFunction)Coll_set_payload, METH_VARARGS, NULL},
    {"flush", (PyCFunction)Coll_flush, METH_NOARGS, NULL},
    {"compact", (PyCFunction)Coll_compact, METH_NOARGS, NULL},
    {"wait_indexed", (PyCFunction)Coll_wait_indexed, METH_VARARGS, NULL},
    {"snapshot", (PyCFunction)Coll_snapshot, METH_VARARGS, NULL},
    {"create_index", (PyCFunction)Coll_create_index, METH_VARARGS, NULL},
    {"drop_index", (PyCFunction)Coll_drop_index, METH_VARARGS, NULL},
    {"indexes", (PyCFunction)Coll_indexes, METH_NOARGS, NULL},
    {"info", (PyCFunction)Coll_info, METH_NOARGS, NULL},
    {"count", (PyCFunction)Coll_count, METH_VARARGS, NULL},
    {"get", (PyCFunction)Coll_get, METH_VARARGS, NULL},
    {"scroll", (PyCFunction)Coll_scroll, METH_VARARGS, NULL},
    {"query", (PyCFunction)Coll_query, METH_VARARGS, NULL},
    {"nearest", (PyCFunction)Coll_nearest, METH_VARARGS, NULL},
    {"bench_queries", (PyCFunction)Coll_bench_queries, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Coll_getset[] = {
    {"name", (getter)Coll_get_name, NULL, "the collection's name", NULL},
    {"closed", (getter)Coll_get_closed, NULL, "close() was called", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject vsx_CollType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vecstore._vecstore.Collection",
    .tp_basicsize = sizeof(CollObject),
    .tp_dealloc = (destructor)Coll_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An open collection (low level; use vecstore.Collection).",
    .tp_methods = Coll_methods,
    .tp_getset = Coll_getset,
};
