/*
 * router.c — routes, authentication, dispatch, the Qdrant envelope and error mapping.
 *
 * Nothing here touches a socket: http.c hands over a complete request and sends what
 * comes back, vs_server_handle does the same without a network, and the fuzz target
 * drives it directly. The order of checks is fixed: route (from method and path alone),
 * then credentials, then the body is parsed — an unauthenticated client can make the
 * server do no work beyond matching a path.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/reqjson.h"
#include "server/server.h"

typedef struct route {
    int method;
    const char *pattern; /* segments; '*' matches any one */
    vs__handler fn;
    unsigned flags;
    const char *name;    /* metrics label */
} route;

#define WRITES 1u     /* needs the full key */
#define COLL 2u       /* segment 1 names a collection that must exist (opened for the handler) */
#define UPLOAD 4u     /* the body is a streamed file upload */
#define NO_AUTH 8u    /* probes: answered without credentials */
#define RAWBODY 16u   /* the body is not JSON */

static const route g_routes[] = {
    {M_GET, "", vs__h_root, NO_AUTH, "root"}, /* as Qdrant: clients check the version without a key */
    {M_GET, "healthz", vs__h_health, NO_AUTH, "healthz"},
    {M_GET, "livez", vs__h_health, NO_AUTH, "livez"},
    {M_GET, "readyz", vs__h_ready, NO_AUTH, "readyz"},
    {M_GET, "metrics", vs__h_metrics, 0, "metrics"},
    {M_GET, "collections", vs__h_coll_list, 0, "collections_list"},
    {M_GET, "collections/*", vs__h_coll_get, COLL, "collection_get"},
    {M_PUT, "collections/*", vs__h_coll_create, WRITES, "collection_create"},
    {M_DELETE, "collections/*", vs__h_coll_delete, WRITES, "collection_delete"},
    {M_GET, "collections/*/exists", vs__h_coll_exists, 0, "collection_exists"},
    {M_PUT, "collections/*/index", vs__h_index_create, WRITES | COLL, "index_create"},
    {M_DELETE, "collections/*/index/*", vs__h_index_delete, WRITES | COLL, "index_delete"},
    {M_PUT, "collections/*/points", vs__h_upsert, WRITES | COLL, "points_upsert"},
    {M_POST, "collections/*/points", vs__h_retrieve, COLL, "points_retrieve"},
    {M_POST, "collections/*/points/delete", vs__h_delete, WRITES | COLL, "points_delete"},
    {M_POST, "collections/*/points/payload", vs__h_payload_set, WRITES | COLL, "payload_set"},
    {M_PUT, "collections/*/points/payload", vs__h_payload_overwrite, WRITES | COLL, "payload_overwrite"},
    {M_POST, "collections/*/points/payload/delete", vs__h_payload_delete, WRITES | COLL, "payload_delete"},
    {M_POST, "collections/*/points/payload/clear", vs__h_payload_clear, WRITES | COLL, "payload_clear"},
    {M_POST, "collections/*/points/scroll", vs__h_scroll, COLL, "points_scroll"},
    {M_POST, "collections/*/points/count", vs__h_count, COLL, "points_count"},
    {M_POST, "collections/*/points/search", vs__h_search, COLL, "search"},
    {M_POST, "collections/*/points/search/batch", vs__h_search_batch, COLL, "search_batch"},
    {M_POST, "collections/*/points/query", vs__h_query, COLL, "query"},
    {M_POST, "collections/*/points/query/batch", vs__h_query_batch, COLL, "query_batch"},
    {M_GET, "collections/*/points/*", vs__h_get_point, COLL, "point_get"},
    {M_GET, "collections/*/snapshots", vs__h_snap_list, COLL, "snapshots_list"},
    {M_POST, "collections/*/snapshots", vs__h_snap_create, WRITES | COLL, "snapshot_create"},
    {M_PUT, "collections/*/snapshots/recover", vs__h_snap_recover, WRITES, "snapshot_recover"},
    {M_POST, "collections/*/snapshots/upload", vs__h_snap_upload, WRITES | UPLOAD | RAWBODY, "snapshot_upload"},
    {M_GET, "collections/*/snapshots/*", vs__h_snap_get, COLL, "snapshot_get"},
    {M_DELETE, "collections/*/snapshots/*", vs__h_snap_delete, WRITES | COLL, "snapshot_delete"},
};
#define NROUTES ((int)(sizeof g_routes / sizeof g_routes[0]))

const char *const *vs__route_names(void);
const char *const *vs__route_names(void) {
    static const char *names[NROUTES + 1];
    if (!names[0])
        for (int i = 0; i < NROUTES; i++) names[i] = g_routes[i].name;
    return names;
}

int vs__method_of(const char *m) {
    static const char *const names[] = {"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"};
    for (int i = 0; i < 6; i++)
        if (!strcmp(m, names[i])) return i;
    return M_OTHER;
}

const char *vs__arg(const vs__req *r, const char *name) {
    for (int i = 0; i < r->nargs; i++)
        if (!strcmp(r->arg_name[i], name)) return r->arg_val[i] ? r->arg_val[i] : "";
    return NULL;
}

/* Splits path into at most VS__MAX_SEGS segments (copies in buf); -1 if too many or an
 * empty segment sits in the middle ("a//b"). A trailing slash is ignored. */
static int split(const char *path, char *buf, size_t cap, char **seg, int *nseg) {
    size_t n = strlen(path);
    if (n + 1 > cap) return -1;
    memcpy(buf, path, n + 1);
    char *p = buf;
    while (*p == '/') p++;
    size_t len = strlen(p);
    if (len && p[len - 1] == '/') p[--len] = 0;
    *nseg = 0;
    if (!*p) return 0;
    for (;;) {
        if (*nseg == VS__MAX_SEGS) return -1;
        seg[(*nseg)++] = p;
        char *slash = strchr(p, '/');
        if (!slash) break;
        *slash = 0;
        p = slash + 1;
        if (!*p || *p == '/') return -1;
    }
    return 0;
}

static int matches(const route *r, char **seg, int nseg) {
    const char *p = r->pattern;
    int i = 0;
    while (*p) {
        if (i >= nseg) return 0;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!(len == 1 && *p == '*') && (strlen(seg[i]) != len || strncmp(seg[i], p, len)))
            return 0;
        i++;
        p += len;
        if (*p == '/') p++;
    }
    return i == nseg;
}

/* The route for the request: index, or -1 (no path matches: 404) / -2 (the path exists
 * with other methods: 405, *allow says which). */
static int find(const vs__req *req, char **seg, int nseg, const char **allow) {
    int method = req->method == M_HEAD ? M_GET : req->method;
    static const char *const allows[] = {"GET", "PUT", "POST", "DELETE"};
    int path_ok = 0;
    for (int i = 0; i < NROUTES; i++) {
        if (!matches(&g_routes[i], seg, nseg)) continue;
        if (g_routes[i].method == method) return i;
        path_ok = 1;
        if (allow) *allow = allows[g_routes[i].method];
    }
    return path_ok ? -2 : -1;
}

int vs__route_find(const vs__req *req, int *upload) {
    char buf[4096], *seg[VS__MAX_SEGS];
    int nseg;
    if (split(req->path, buf, sizeof buf, seg, &nseg)) return -1;
    int r = find(req, seg, nseg, NULL);
    if (r < 0) return -1;
    if (upload) *upload = !!(g_routes[r].flags & UPLOAD);
    return r;
}

/* Constant-time comparison: how long it takes says nothing about the key. */
static int key_eq(const char *given, const char *key) {
    size_t a = strlen(given), b = strlen(key);
    unsigned char d = (unsigned char)(a != b);
    for (size_t i = 0; i < b; i++) d |= (unsigned char)(key[i] ^ (i < a ? given[i] : 0));
    return d == 0;
}

/* Who the request authenticated as. */
enum { ROLE_NONE = 0, ROLE_READ = 1, ROLE_FULL = 2 };

static int role_of(const vs_server *srv, const vs__req *req) {
    if (!srv->api_key) return ROLE_FULL;
    const char *given = req->api_key;
    if (!given && req->bearer) {
        const char *b = req->bearer;
        if (!strncasecmp(b, "Bearer ", 7)) {
            b += 7;
            while (*b == ' ') b++;
            given = b;
        }
    }
    if (!given) return ROLE_NONE;
    if (key_eq(given, srv->api_key)) return ROLE_FULL;
    if (srv->ro_key && key_eq(given, srv->ro_key)) return ROLE_READ;
    return ROLE_NONE;
}

int vs__authorize(vs_server *srv, const vs__req *req, int ri, const char **msg) {
    unsigned flags = ri >= 0 && ri < NROUTES ? g_routes[ri].flags : 0;
    if (flags & NO_AUTH) return 0;
    int role = role_of(srv, req);
    int status = 0;
    if (role == ROLE_NONE) {
        status = 401;
        *msg = "Must provide an API key or an Authorization bearer token";
    } else if (role == ROLE_READ && (flags & WRITES)) {
        status = 403;
        *msg = "Forbidden: write access denied (read-only key)";
    }
    if (status) atomic_fetch_add_explicit(&srv->metrics.rejected_auth, 1, memory_order_relaxed);
    return status;
}

void vs__write_op(vs__call *k) {
    unsigned long long id = atomic_fetch_add(&k->srv->op_id, 1) + 1;
    vs__sb_printf(&k->out, "{\"operation_id\":%llu,\"status\":\"completed\"}", id);
}

int vs__fail(vs__call *k, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->err, sizeof k->err, fmt, ap);
    va_end(ap);
    k->err_status = status;
    k->err_code = 0;
    return -1;
}

int vs__fail_rc(vs__call *k, int rc, const char *msg) {
    int status;
    const char *prefix;
    switch (rc) {
    case VS_ENOTFOUND: status = 404, prefix = "Not found: "; break;
    case VS_EEXIST: status = 409, prefix = "Conflict: "; break;
    case VS_EREADONLY: status = 403, prefix = "Forbidden: "; break;
    case VS_EBUSY: status = 503, prefix = "Service unavailable: "; break;
    case VS_ENOSPC: status = 507, prefix = "Insufficient storage: "; break;
    case VS_ENOMEM: case VS_EIO: case VS_ECORRUPT: case VS_EFATAL: case VS_EVERSION:
    case VS_ENOTSTORE: case VS_EFORMAT:
        status = 500, prefix = "Service internal error: ";
        break;
    default: status = 400, prefix = "Wrong input: ";
    }
    if (!msg || !*msg) msg = vs_errstr(rc);
    vs__fail(k, status, "%s%s", prefix, msg);
    k->err_code = rc;
    return -1;
}

int vs__fail_coll(vs__call *k, int rc) { return vs__fail_rc(k, rc, vs_coll_errmsg(k->coll)); }

int vs__errno_status(int err, const char **prefix) {
    if (err == ENOSPC) {
        *prefix = "Insufficient storage: ";
        return 507;
    }
    *prefix = "Service internal error: ";
    return 500;
}

int vs__fail_errno(vs__call *k, int err, const char *what) {
    const char *prefix;
    int status = vs__errno_status(err, &prefix);
    return vs__fail(k, status, "%s%s: %s", prefix, what, strerror(err));
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A collection name as the store accepts it; checked before any path is built from it. */
static int name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > VS_NAME_MAX || s[0] == '.') return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-') return 0;
    return 1;
}

static void envelope(vs__call *k, double t0) {
    vs__sb *b = &k->resp->body;
    vs__sb_reset(b);
    double dt = now_s() - t0;
    if (k->err_status) {
        k->resp->status = k->err_status;
        vs__sb_puts(b, "{\"status\":{\"error\":");
        vs__sb_json_str(b, k->err, strlen(k->err));
        if (k->err_code) vs__sb_printf(b, ",\"code\":\"%s\"", vs_errname(k->err_code));
        vs__sb_printf(b, "},\"time\":%.6f", dt);
        vs__sb_putc(b, '}');
    } else {
        k->resp->status = 200;
        vs__sb_puts(b, "{\"result\":");
        if (k->out.len)
            vs__sb_put(b, k->out.p, k->out.len);
        else
            vs__sb_puts(b, "null");
        vs__sb_printf(b, ",\"status\":\"ok\",\"time\":%.6f", dt);
        if (k->profile_json) {
            vs__sb_puts(b, ",\"profile\":");
            vs__sb_puts(b, k->profile_json);
        }
        vs__sb_putc(b, '}');
    }
    k->resp->content_type = "application/json";
}

void vs__resp_free(vs__resp *r) {
    vs__sb_free(&r->body);
    free(r->file);
    r->file = NULL;
}

void vs__route(vs_server *srv, const vs__req *req, vs__resp *resp) {
    double t0 = now_s();
    vs__call k;
    memset(&k, 0, sizeof k);
    k.srv = srv;
    k.req = req;
    k.resp = resp;
    resp->route = -1;
    resp->content_type = "application/json";
    char buf[4096];
    const char *allow = NULL;
    int r = -1;
    if (split(req->path, buf, sizeof buf, k.seg, &k.nseg)) {
        vs__fail(&k, 404, "Not found: no such route: %.200s", req->path);
        goto done;
    }
    r = find(req, k.seg, k.nseg, &allow);
    if (r == -1) {
        vs__fail(&k, 404, "Not found: no such route: %.200s", req->path);
        goto done;
    }
    if (r == -2) {
        resp->allow = allow;
        vs__fail(&k, 405, "Method not allowed: %.200s", req->path);
        goto done;
    }
    const route *rt = &g_routes[r];
    resp->route = r;
    const char *denied;
    int refused = vs__authorize(srv, req, r, &denied);
    if (refused) {
        vs__fail(&k, refused, "%s", denied);
        goto done;
    }
    if (k.nseg >= 2 && !strcmp(k.seg[0], "collections")) {
        if (!name_ok(k.seg[1])) {
            vs__fail(&k, 400, "Wrong input: invalid collection name '%.100s': 1 to %d of "
                              "[A-Za-z0-9_.-], not starting with '.'", k.seg[1], VS_NAME_MAX);
            goto done;
        }
        k.coll_name = k.seg[1];
    }
    /* The body: JSON (depth-checked first) unless the route takes a file. */
    if (!(rt->flags & RAWBODY) && req->body_len) {
        if (vs__json_depth_ok(req->body, req->body_len, VS_SERVER_JSON_DEPTH_MAX)) {
            vs__fail(&k, 400, "Wrong input: the JSON body nests deeper than %d levels",
                     VS_SERVER_JSON_DEPTH_MAX);
            goto done;
        }
        const char *end = NULL;
        k.json = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
        if (!k.json) {
            const char *at = cJSON_GetErrorPtr();
            size_t off = at && at >= req->body && at <= req->body + req->body_len
                             ? (size_t)(at - req->body) : 0;
            vs__fail(&k, 400, "Wrong input: the body is not valid JSON (at byte %zu)", off);
            goto done;
        }
        while (end && end < req->body + req->body_len && isspace((unsigned char)*end)) end++;
        if (end && end < req->body + req->body_len) {
            vs__fail(&k, 400, "Wrong input: trailing bytes after the JSON body (at byte %zu)",
                     (size_t)(end - req->body));
            goto done;
        }
        if (!cJSON_IsObject(k.json)) {
            vs__fail(&k, 400, "Wrong input: the body must be a JSON object");
            goto done;
        }
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(k.json, "profile");
        if (pr && !cJSON_IsBool(pr)) {
            vs__fail(&k, 400, "Wrong input: profile must be true or false");
            goto done;
        }
        k.profile = cJSON_IsTrue(pr);
    }
    /* A store handle of this request: its error messages are its own. */
    if (vs_store_dup(srv->store, &k.store) != VS_OK) {
        vs__fail(&k, 500, "Service internal error: out of memory");
        goto done;
    }
    if ((rt->flags & COLL)) {
        int rc = vs_coll_open(k.store, k.coll_name, &k.coll);
        if (rc == VS_ENOTFOUND) {
            vs__fail(&k, 404, "Not found: Collection `%s` doesn't exist!", k.coll_name);
            goto done;
        }
        if (rc) {
            vs__fail_rc(&k, rc, vs_store_errmsg(k.store));
            goto done;
        }
    }
    rt->fn(&k);
done:
    if (k.out.oom) vs__fail(&k, 500, "Service internal error: out of memory");
    if (!k.raw || k.err_status)
        envelope(&k, t0);
    else if (!resp->status)
        resp->status = 200;
    if (resp->body.oom) {
        vs__sb_free(&resp->body);
        resp->status = 500;
    }
    vs__sb_free(&k.out);
    free(k.profile_json);
    cJSON_Delete(k.json);
    vs_coll_close(k.coll);
    vs_store_close(k.store);
}
