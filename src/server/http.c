/*
 * http.c — the network side: libmicrohttpd (epoll, a pool of threads), request bodies
 * with their limits, TLS, graceful stop, the network-less vs_server_handle.
 *
 * libmicrohttpd calls the access handler several times per request: first with the
 * headers, then with each piece of the body, then once more with nothing. We answer on
 * a later call, never the first one when there is no error: 0.9.75 closes the
 * connection after a response queued on the first call (../shared/DEPENDENCIES.md), which
 * would cost keep-alive. Refusals decided from the headers alone (401/403/404/405/413)
 * are answered at once, before a body is read.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "server/server.h"

typedef struct conn_state {
    double t0;
    int route, upload;
    /* A refusal (status) decided before the body is in: from the headers, or met while
     * an upload streams. The rest of the body is dropped unread; -1 once answered. */
    int refused;
    char refused_msg[200];
    uint64_t discarded; /* body bytes dropped since the refusal */
    int too_big, timed_out;
    vs__sb body;
    /* A snapshot upload: streamed to a file through the multipart parser (pp) or as it
     * comes (raw). */
    vs__upload *up;
    struct MHD_PostProcessor *pp;
    uint64_t up_bytes;
    int up_fields;
    char up_sha[65];
    vs__req req;
    char *argbuf[VS__MAX_ARGS * 2];
} conn_state;

static double mono(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void vs_server_options_init(vs_server_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = VS_SERVER_PORT_DEFAULT;
    o->max_body_bytes = VS_SERVER_BODY_DEFAULT;
    o->max_connections = VS_SERVER_CONNECTIONS_DEFAULT;
    o->idle_timeout_s = VS_SERVER_IDLE_TIMEOUT_DEFAULT;
    o->request_timeout_s = VS_SERVER_REQUEST_TIMEOUT_DEFAULT;
    o->max_upload_bytes = VS_SERVER_UPLOAD_DEFAULT;
    o->quiet = 1;
}

void vs_server_free(void *p) { free(p); }

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
    (void)kind;
    vs__req *r = cls;
    if (r->nargs == VS__MAX_ARGS) return MHD_NO;
    r->arg_name[r->nargs] = key;
    r->arg_val[r->nargs] = value;
    r->nargs++;
    return MHD_YES;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, vs_server *srv, conn_state *st,
                                 vs__resp *rs) {
    struct MHD_Response *resp = NULL;
    if (rs->file) {
        FILE *f = fopen(rs->file, "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            long sz = ftell(f);
            int fd = dup(fileno(f));
            fclose(f);
            if (fd >= 0 && sz >= 0) resp = MHD_create_response_from_fd((uint64_t)sz, fd);
            else if (fd >= 0) close(fd);
        }
        if (!resp) {
            rs->status = 500;
            vs__sb_reset(&rs->body);
            vs__sb_puts(&rs->body, "{\"status\":{\"error\":\"Service internal error: snapshot file vanished\"},\"time\":0}");
            rs->content_type = "application/json";
        }
    }
    if (!resp) {
        size_t len = 0;
        char *body = vs__sb_take(&rs->body, &len);
        if (!body) {
            static const char oom[] = "{\"status\":{\"error\":\"Service internal error: out of memory\"},\"time\":0}";
            resp = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
            rs->status = 500;
        } else {
            resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
            if (!resp) free(body);
            atomic_fetch_add_explicit(&srv->metrics.bytes_out, len, memory_order_relaxed);
        }
    }
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type ? rs->content_type : "application/json");
    if (rs->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rs->allow);
    if (rs->status == 401) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)rs->status, resp);
    MHD_destroy_response(resp);
    uint64_t us = (uint64_t)((mono() - st->t0) * 1e6);
    vs__metrics_record(&srv->metrics, rs->route >= 0 ? rs->route : st->route, rs->status, us);
    if (!srv->opt.quiet)
        fprintf(stderr, "vecstore: %s %d %.3f ms\n", st->req.path, rs->status, (double)us / 1e3);
    return ok;
}

/* An error decided in http.c (not by the router): the Qdrant error envelope. */
static enum MHD_Result send_error(struct MHD_Connection *conn, vs_server *srv, conn_state *st,
                                  int status, const char *msg) {
    vs__resp rs;
    memset(&rs, 0, sizeof rs);
    rs.status = status;
    rs.route = st->route;
    vs__sb_puts(&rs.body, "{\"status\":{\"error\":");
    vs__sb_json_str(&rs.body, msg, strlen(msg));
    vs__sb_printf(&rs.body, "},\"time\":%.6f}", mono() - st->t0);
    enum MHD_Result r = send_resp(conn, srv, st, &rs);
    vs__resp_free(&rs);
    return r;
}

/* A refusal decided before the body is in (no key, read-only key, an upload that cannot
 * be taken) is answered once the body has been read and dropped, never stored or parsed:
 * clients such as fetch/undici fail on a connection reset while they are still sending
 * and never see an answer sent early. A body that goes on past VS__DISCARD_MAX is not
 * worth reading: it is answered at once and the connection closed. The first refusal
 * stands. */
#define VS__DISCARD_MAX (64ull << 20)

__attribute__((format(printf, 3, 4))) static void refuse(conn_state *st, int status, const char *fmt, ...) {
    if (st->refused) return;
    st->refused = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->refused_msg, sizeof st->refused_msg, fmt, ap);
    va_end(ap);
}

/* An errno met storing an upload. */
static void refuse_errno(conn_state *st, int e) {
    const char *prefix;
    int status = vs__errno_status(e, &prefix);
    refuse(st, status, "%scannot store the upload: %s", prefix, strerror(e));
}

static void upload_write(conn_state *st, const char *data, size_t size) {
    int e = vs__upload_write(st->up, data, size);
    if (e) refuse_errno(st, e);
}

/* The multipart parser's output: the parts named "snapshot" (as Qdrant's clients send
 * it) go to the file; other fields are ignored. */
static enum MHD_Result upload_part(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *filename, const char *content_type,
                                   const char *transfer_encoding, const char *data, uint64_t off,
                                   size_t size) {
    (void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
    conn_state *st = cls;
    if (!key || strcmp(key, "snapshot")) return MHD_YES;
    if (off == 0 && size && st->up_fields++) {
        refuse(st, 400, "Wrong input: more than one \"snapshot\" field in the upload");
        return MHD_NO;
    }
    if (size && !st->refused) upload_write(st, data, size);
    return st->refused ? MHD_NO : MHD_YES;
}

/* The first call of an upload route: where its bytes will go; else a refusal. */
static void upload_begin(struct MHD_Connection *conn, vs_server *srv, conn_state *st) {
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    int multipart = ct && !strncasecmp(ct, "multipart/form-data", 19);
    if (ct && !multipart && strncasecmp(ct, "application/octet-stream", 24)) {
        refuse(st, 415, "Unsupported media type: snapshot uploads are multipart/form-data "
                        "(field \"snapshot\") or application/octet-stream, not %.60s", ct);
        return;
    }
    int e = vs__upload_open(srv, &st->up);
    if (e) {
        refuse(st, 500, "Service internal error: cannot store the upload: %s", strerror(e));
        return;
    }
    if (multipart && !(st->pp = MHD_create_post_processor(conn, 65536, upload_part, st)))
        refuse(st, 400, "Wrong input: a multipart upload needs a boundary");
}

static void upload_data(vs_server *srv, conn_state *st, const char *data, size_t size) {
    st->up_bytes += size;
    if (st->too_big) return;
    if (st->up_bytes > srv->opt.max_upload_bytes) {
        st->too_big = 1;
        return;
    }
    if (st->pp) {
        if (MHD_post_process(st->pp, data, size) != MHD_YES)
            refuse(st, 400, "Wrong input: the multipart body is malformed");
    } else {
        upload_write(st, data, size);
    }
}

/* The last call of an upload: the file complete, or the reason why not. */
static void upload_end(conn_state *st) {
    if (st->pp) {
        if (MHD_destroy_post_processor(st->pp) != MHD_YES)
            refuse(st, 400, "Wrong input: the multipart body ends early");
        st->pp = NULL;
        if (!st->up_fields) refuse(st, 400, "Wrong input: no \"snapshot\" field in the multipart upload");
    }
    if (!vs__upload_size(st->up)) refuse(st, 400, "Wrong input: the upload is empty");
    if (st->refused) return;
    int e = vs__upload_finish(st->up, st->up_sha);
    if (e) refuse(st, 500, "Service internal error: cannot store the upload: %s", strerror(e));
}

/* The limit on this request's body. */
static uint64_t body_limit(const vs_server *srv, const conn_state *st) {
    return st->upload ? srv->opt.max_upload_bytes : srv->opt.max_body_bytes;
}

static enum MHD_Result send_too_large(struct MHD_Connection *conn, vs_server *srv, conn_state *st) {
    atomic_fetch_add_explicit(&srv->metrics.rejected_body, 1, memory_order_relaxed);
    char m[160];
    snprintf(m, sizeof m, "Payload too large: the body is limited to %llu bytes",
             (unsigned long long)body_limit(srv, st));
    return send_error(conn, srv, st, 413, m);
}

static enum MHD_Result send_refusal(struct MHD_Connection *conn, vs_server *srv, conn_state *st) {
    int status = st->refused;
    st->refused = -1; /* answered: later calls of this request only drop bytes */
    return send_error(conn, srv, st, status, st->refused_msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    (void)version;
    vs_server *srv = cls;
    conn_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return MHD_NO;
        *con_cls = st;
        atomic_fetch_add(&srv->inflight, 1);
        st->t0 = mono();
        st->req.method = vs__method_of(method);
        st->req.path = url;
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &st->req);
        st->req.api_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "api-key");
        st->req.bearer = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        st->route = vs__route_find(&st->req, &st->upload);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (atomic_load(&srv->stopping)) {
            return send_error(conn, srv, st, 503, "Service unavailable: shutting down");
        }
        /* Credentials before anything else: a bad key costs no body read. The router
         * checks again (it also serves vs_server_handle); here it saves the upload. */
        if (st->route >= 0) {
            const char *denied;
            int refused = vs__authorize(srv, &st->req, st->route, &denied);
            if (refused) {
                refuse(st, refused, "%s", denied);
                return MHD_YES;
            }
        }
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || *end || n > body_limit(srv, st)) return send_too_large(conn, srv, st);
        }
        if (st->upload) upload_begin(conn, srv, st);
        return MHD_YES;
    }
    atomic_fetch_add_explicit(&srv->metrics.bytes_in, *upload_size, memory_order_relaxed);
    if (st->refused) {
        st->discarded += *upload_size;
        int now = st->refused > 0 && (!*upload_size || st->discarded > VS__DISCARD_MAX);
        *upload_size = 0;
        return now ? send_refusal(conn, srv, st) : MHD_YES;
    }
    if (st->upload) {
        /* Uploads are bound by their size and the idle timeout, not request_timeout_s:
         * a large snapshot over a slow link takes as long as it takes. */
        if (*upload_size) {
            upload_data(srv, st, upload, *upload_size);
            *upload_size = 0;
            return MHD_YES;
        }
        if (!st->too_big) {
            upload_end(st);
            if (st->refused) return send_refusal(conn, srv, st);
        }
        st->req.upload_path = vs__upload_path(st->up);
        st->req.upload_sha256 = st->up_sha;
    } else if (*upload_size) {
        if (!st->too_big && !st->timed_out) {
            if (mono() - st->t0 > (double)srv->opt.request_timeout_s)
                st->timed_out = 1;
            else if (st->body.len + *upload_size > srv->opt.max_body_bytes)
                st->too_big = 1;
            else
                vs__sb_put(&st->body, upload, *upload_size);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->timed_out) return send_error(conn, srv, st, 408, "Request timeout: the body took too long to arrive");
    if (st->too_big || st->body.oom) return send_too_large(conn, srv, st);
    st->req.body = st->body.p ? st->body.p : "";
    st->req.body_len = st->body.len;
    vs__resp rs;
    memset(&rs, 0, sizeof rs);
    vs__route(srv, &st->req, &rs);
    enum MHD_Result r = send_resp(conn, srv, st, &rs);
    vs__resp_free(&rs);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)conn;
    (void)toe;
    vs_server *srv = cls;
    conn_state *st = *con_cls;
    if (!st) return;
    if (st->pp) MHD_destroy_post_processor(st->pp);
    vs__upload_free(st->up);
    vs__sb_free(&st->body);
    free(st);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
    (void)conn;
    (void)socket_context;
    vs_server *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add_explicit(&srv->metrics.connections, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&srv->metrics.connections_total, 1, memory_order_relaxed);
    } else {
        atomic_fetch_sub_explicit(&srv->metrics.connections, 1, memory_order_relaxed);
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    vs_server *srv = cls;
    if (srv->opt.quiet) return;
    fputs("vecstore: http: ", stderr);
    vfprintf(stderr, fmt, ap);
}

static char *dup_opt(const char *s) { return s ? strdup(s) : NULL; }

static int read_file(const char *path, char **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > (64 << 20)) {
        fclose(f);
        return -1;
    }
    char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        fclose(f);
        return -1;
    }
    p[n] = 0;
    fclose(f);
    *out = p;
    return 0;
}

static void server_free(vs_server *srv) {
    if (!srv) return;
    vs_store_close(srv->store);
    free(srv->host);
    free(srv->api_key);
    free(srv->ro_key);
    free(srv->snap_dir);
    free(srv->tls_cert);
    free(srv->tls_key);
    pthread_mutex_destroy(&srv->admin_mu);
    free(srv);
}

static int fail(char *msg, size_t len, int rc, const char *fmt, ...) {
    if (msg && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int vs_server_start(vs_store *s, const vs_server_options *o, vs_server **out, char *msg,
                    size_t msglen) {
    if (out) *out = NULL;
    if (!s || !out) return fail(msg, msglen, VS_EINVAL, "store and out must not be NULL");
    vs_server_options opt;
    if (o) opt = *o;
    else vs_server_options_init(&opt);
    if (!opt.host || !*opt.host) opt.host = "127.0.0.1";
    if (opt.max_body_bytes == 0 || opt.max_body_bytes > VS_SERVER_BODY_MAX)
        return fail(msg, msglen, VS_EINVAL, "max body size must be 1 byte to %llu bytes",
                    (unsigned long long)VS_SERVER_BODY_MAX);
    if (opt.threads > VS_SERVER_THREADS_MAX)
        return fail(msg, msglen, VS_EINVAL, "threads must be at most %d", VS_SERVER_THREADS_MAX);
    if (opt.max_connections == 0) return fail(msg, msglen, VS_EINVAL, "max connections must be at least 1");
    if (opt.read_only_key && !opt.api_key)
        return fail(msg, msglen, VS_EINVAL, "a read-only key needs an api key as well (else anyone could write)");
    if ((opt.api_key && !*opt.api_key) || (opt.read_only_key && !*opt.read_only_key))
        return fail(msg, msglen, VS_EINVAL, "keys must not be empty");
    if (opt.api_key && opt.read_only_key && !strcmp(opt.api_key, opt.read_only_key))
        return fail(msg, msglen, VS_EINVAL, "the read-only key must differ from the api key");
    if (!!opt.tls_cert_file != !!opt.tls_key_file)
        return fail(msg, msglen, VS_EINVAL, "TLS needs both a certificate and a key");
    if (opt.idle_timeout_s == 0) opt.idle_timeout_s = VS_SERVER_IDLE_TIMEOUT_DEFAULT;
    if (opt.request_timeout_s == 0) opt.request_timeout_s = VS_SERVER_REQUEST_TIMEOUT_DEFAULT;
    if (opt.max_upload_bytes == 0) opt.max_upload_bytes = VS_SERVER_UPLOAD_DEFAULT;
    if (!opt.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        opt.threads = n > 0 ? (uint32_t)n : 1;
    }
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    int v6 = 0;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, opt.host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(opt.port);
    } else if (inet_pton(AF_INET6, opt.host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(opt.port);
        v6 = 1;
    } else {
        struct addrinfo hints, *ai = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(opt.host, NULL, &hints, &ai) || !ai)
            return fail(msg, msglen, VS_EINVAL, "cannot resolve host '%s'", opt.host);
        memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
        v6 = ai->ai_family == AF_INET6;
        if (v6) a6->sin6_port = htons(opt.port);
        else a4->sin_port = htons(opt.port);
        freeaddrinfo(ai);
    }
    vs_server *srv = calloc(1, sizeof *srv);
    if (!srv) return fail(msg, msglen, VS_ENOMEM, "out of memory");
    pthread_mutex_init(&srv->admin_mu, NULL);
    int rc = VS_ENOMEM;
    if (vs_store_dup(s, &srv->store)) {
        fail(msg, msglen, rc, "out of memory");
        goto err;
    }
    srv->opt = opt;
    srv->host = dup_opt(opt.host);
    srv->api_key = dup_opt(opt.api_key);
    srv->ro_key = dup_opt(opt.read_only_key);
    if (opt.snapshots_dir) {
        srv->snap_dir = strdup(opt.snapshots_dir);
    } else if (asprintf(&srv->snap_dir, "%s/snapshots", vs_store_path(s)) < 0) {
        srv->snap_dir = NULL;
    }
    if (!srv->host || !srv->snap_dir || (opt.api_key && !srv->api_key) || (opt.read_only_key && !srv->ro_key)) {
        fail(msg, msglen, rc, "out of memory");
        goto err;
    }
    srv->opt.host = srv->host;
    srv->opt.api_key = srv->api_key;
    srv->opt.read_only_key = srv->ro_key;
    srv->opt.snapshots_dir = srv->snap_dir;
    srv->opt.tls_cert_file = srv->opt.tls_key_file = NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     (v6 ? MHD_USE_IPv6 : 0);
    if (opt.tls_cert_file) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            rc = fail(msg, msglen, VS_EUNSUPPORTED, "this libmicrohttpd has no TLS support");
            goto err;
        }
        if (read_file(opt.tls_cert_file, &srv->tls_cert) || read_file(opt.tls_key_file, &srv->tls_key)) {
            rc = fail(msg, msglen, VS_EIO, "cannot read the TLS certificate '%s' or key '%s'",
                      opt.tls_cert_file, opt.tls_key_file);
            goto err;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem ops[16];
    int n = 0;
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)opt.max_connections, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)opt.idle_timeout_s, NULL};
    if (opt.per_ip_connections)
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)opt.per_ip_connections, NULL};
    if (opt.threads > 1) ops[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)opt.threads, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, srv};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
    if (srv->tls_cert) {
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key};
    }
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    struct MHD_Daemon *d = MHD_start_daemon(flags, opt.port, NULL, NULL, on_request, srv,
                                            MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    if (!d) {
        rc = fail(msg, msglen, VS_EIO, "cannot listen on %s port %u (in use, or not an address of this "
                                       "machine%s)", opt.host, opt.port, srv->tls_cert ? ", or a bad TLS certificate/key" : "");
        goto err;
    }
    srv->daemon = d;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : opt.port;
    *out = srv;
    return VS_OK;
err:
    server_free(srv);
    return rc;
}

uint16_t vs_server_port(const vs_server *srv) { return srv ? srv->port : 0; }

void vs_server_stop(vs_server *srv) {
    if (!srv) return;
    atomic_store(&srv->stopping, 1);
    struct MHD_Daemon *d = srv->daemon;
    if (d) {
        /* Stop accepting; requests already begun run to their end (bounded wait). */
        MHD_socket ls = MHD_quiesce_daemon(d);
        if (ls != MHD_INVALID_SOCKET) close(ls);
        for (int i = 0; i < 3000 && atomic_load(&srv->inflight) > 0; i++) usleep(10000);
        MHD_stop_daemon(d);
    }
    server_free(srv);
}

/* ---------------------------------------------------------- no network --- */

/* Decodes a URL part in place as libmicrohttpd decodes what it hands the access handler
 * ('+' is a space in the query string only), with its own unescaper. */
static void unescape(char *s, int query) {
    if (query)
        for (char *p = s; *p; p++)
            if (*p == '+') *p = ' ';
    MHD_http_unescape(s);
}

int vs_server_handle(vs_server *srv, const char *method, const char *url,
                     const char *const *headers, const char *body, size_t body_len, int *status,
                     char **resp_body, size_t *resp_len, const char **content_type) {
    if (!srv || !method || !url || !status || !resp_body) return VS_EINVAL;
    *resp_body = NULL;
    char *u = strdup(url);
    if (!u) return VS_ENOMEM;
    vs__req req;
    memset(&req, 0, sizeof req);
    req.method = vs__method_of(method);
    char *q = strchr(u, '?');
    if (q) *q++ = 0;
    unescape(u, 0);
    req.path = u;
    while (q && *q && req.nargs < VS__MAX_ARGS) {
        char *amp = strchr(q, '&');
        if (amp) *amp = 0;
        char *eq = strchr(q, '=');
        if (eq) *eq = 0;
        unescape(q, 1);
        if (eq) unescape(eq + 1, 1);
        req.arg_name[req.nargs] = q;
        req.arg_val[req.nargs] = eq ? eq + 1 : "";
        req.nargs++;
        q = amp ? amp + 1 : NULL;
    }
    char *hv[2] = {NULL, NULL};
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *h = headers[i], *c = strchr(h, ':');
        if (!c) continue;
        size_t nl = (size_t)(c - h);
        const char *v = c + 1;
        while (*v == ' ') v++;
        if (nl == 7 && !strncasecmp(h, "api-key", 7)) hv[0] = strdup(v);
        if (nl == 13 && !strncasecmp(h, "authorization", 13)) hv[1] = strdup(v);
    }
    req.api_key = hv[0];
    req.bearer = hv[1];
    if (body_len > srv->opt.max_body_bytes) {
        free(u);
        free(hv[0]);
        free(hv[1]);
        *status = 413;
        static const char m[] = "{\"status\":{\"error\":\"Payload too large\"},\"time\":0}";
        *resp_body = strdup(m);
        if (resp_len) *resp_len = sizeof m - 1;
        if (content_type) *content_type = "application/json";
        return *resp_body ? VS_OK : VS_ENOMEM;
    }
    req.body = body ? body : "";
    req.body_len = body ? body_len : 0;
    vs__resp rs;
    memset(&rs, 0, sizeof rs);
    vs__route(srv, &req, &rs);
    vs__metrics_record(&srv->metrics, rs.route, rs.status, 0);
    *status = rs.status;
    if (content_type) *content_type = rs.content_type ? rs.content_type : "application/json";
    int rc = VS_OK;
    if (rs.file) {
        /* A download: the file's bytes. */
        FILE *f = fopen(rs.file, "rb");
        vs__sb_reset(&rs.body);
        char buf[65536];
        size_t got;
        while (f && (got = fread(buf, 1, sizeof buf, f)) > 0) vs__sb_put(&rs.body, buf, got);
        if (f) fclose(f);
    }
    size_t len = 0;
    *resp_body = vs__sb_take(&rs.body, &len);
    if (!*resp_body) rc = VS_ENOMEM;
    if (resp_len) *resp_len = len;
    vs__resp_free(&rs);
    free(u);
    free(hv[0]);
    free(hv[1]);
    return rc;
}
