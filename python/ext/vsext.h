/*
 * vsext.h — the CPython extension vecstore._vecstore: the C half of the Python package.
 *
 * It is a thin, fast layer over include/vecstore.h: handles, buffers in and out, error
 * mapping. Everything users see as API (argument defaults, filters as dicts, Pandas,
 * asyncio, the remote client) is in the Python half (python/vecstore/), which calls this.
 *
 * Rules every function here follows:
 *   - The GIL is released around every call into libvecstore, so Python threads run
 *     queries and writes in parallel. Python objects are never touched while it is
 *     released; input buffers stay acquired (Py_buffer) until the call has returned.
 *   - A library handle is used by one thread at a time: each Python Store/Collection keeps
 *     a small pool of library handles, takes one per call and gives it back, so concurrent
 *     calls each have their own handle and so their own error message.
 *   - Input vectors are read in place when they are C-contiguous float32 (the buffer
 *     protocol); anything else is converted once by numpy.ascontiguousarray, which the
 *     conversion counter records. Query ids and scores come back as NumPy arrays over the
 *     result's own memory (vs_result_matrix), kept alive by the array's base object.
 */
#ifndef VS_PY_VSEXT_H
#define VS_PY_VSEXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL vsext_ARRAY_API
#ifndef VSEXT_MODULE_C
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include "vecstore.h"

/* ---- errors (module.c) ---- */
/* Raises the vecstore.Error subclass for rc with msg (the handle's message). Returns NULL. */
PyObject *vsx_raise(int rc, const char *msg);

/* ---- inputs (module.c) ---- */
/* A 1-D or 2-D float32 matrix read from any object: the object's own memory when it is
 * C-contiguous float32, else a converted copy (counted). Release with vsx_vecs_release. */
typedef struct vsx_vecs {
    Py_buffer view;
    PyObject *converted; /* the copy, when one was needed */
    int have_view;
    const float *data;
    size_t rows;
    uint32_t dim;
    int ndim;
} vsx_vecs;
int vsx_vecs_get(PyObject *obj, vsx_vecs *v, const char *what);
void vsx_vecs_release(vsx_vecs *v);

/* Ids from a sequence of int/str or an integer buffer (numpy array). The vs_id array and
 * whatever keeps the strings alive are released with vsx_ids_release. */
typedef struct vsx_ids {
    vs_id *ids;
    size_t n;
    PyObject *keep; /* the list of items (string ids point into its str objects) */
} vsx_ids;
int vsx_ids_get(PyObject *obj, vsx_ids *out);
void vsx_ids_release(vsx_ids *ids);
/* A Python int or str for id. */
PyObject *vsx_id_to_py(vs_id id);
/* One id from a Python int/str; strings point into obj (which the caller keeps alive). */
int vsx_id_from_py(PyObject *obj, vs_id *out);

/* ---- handle pools (module.c) ---- */
/* Library handles not in use by a call. take() pops one (NULL: the caller opens another);
 * give() returns it, or closes it when the pool was closed meanwhile. Both run under the
 * GIL, which is what makes them safe. */
typedef struct vsx_pool {
    void **idle;
    size_t n, cap;
    int closed;
} vsx_pool;
void *vsx_pool_take(vsx_pool *p);
void vsx_pool_give(vsx_pool *p, void *h, void (*close_fn)(void *));
void vsx_pool_close(vsx_pool *p, void (*close_fn)(void *));

/* One call into the library on a pooled handle: h = TAKE(obj) (NULL with a Python
 * exception set when none can be had), the statements (which set int rc) run without the
 * GIL, the handle's message ERRMSG(h) is copied on failure while the call still owns h,
 * and GIVE(obj, h) returns it. When no handle could be had rc is VSX_NO_HANDLE;
 * vsx_failed(rc, msg) turns either case into the Python exception. */
#define VSX_NO_HANDLE INT_MIN
#define VSX_RUN(htype, TAKE, GIVE, ERRMSG, obj, rc, msg, ...)                              \
    do {                                                                                    \
        htype *h = TAKE(obj);                                                               \
        if (!h) {                                                                           \
            rc = VSX_NO_HANDLE;                                                             \
            break;                                                                          \
        }                                                                                   \
        Py_BEGIN_ALLOW_THREADS __VA_ARGS__;                                                 \
        if (rc) snprintf(msg, sizeof msg, "%s", ERRMSG(h));                                 \
        Py_END_ALLOW_THREADS                                                                \
        GIVE(obj, h);                                                                       \
    } while (0)
PyObject *vsx_failed(int rc, const char *msg);

/* ---- types ---- */
extern PyTypeObject vsx_StoreType;
extern PyTypeObject vsx_CollType;
extern PyTypeObject vsx_ResultType;

/* Wraps r (taking ownership) in a Result object; frees r on failure. */
PyObject *vsx_result_wrap(vs_result *r, int nfields);

/* A new Collection object for name, opened through store handle sh (GIL held). */
PyObject *vsx_coll_new(vs_store *sh, const char *name);

/* Debug counters the tests read (module.c). */
extern unsigned long long vsx_conversion_copies;
extern const void *vsx_last_input;

#endif
