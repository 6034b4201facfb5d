/*
 * test_server.c — the HTTP server end to end: a real server (vs_server_start on a free
 * loopback port, or the `vecstore serve` binary) driven over sockets, and the router
 * through vs_server_handle. Expected answers are computed here from the data sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "test.h"
#include "vecstore.h"
#include "vecstore_server.h"

typedef struct http_resp {
    int status;
    char *body; /* malloc'd, NUL-terminated */
    size_t len;
    cJSON *json; /* parsed body (NULL if not JSON) */
} http_resp;

static void resp_free(http_resp *r) {
    free(r->body);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof *r);
}

/* One request over a fresh connection ("Connection: close": read to EOF). Returns 0, or
 * -1 if the connection failed (status 0 then). */
static int http_ct(uint16_t port, const char *method, const char *path, const char *hdr,
                   const char *ctype, const char *body, size_t blen, http_resp *out) {
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    if (body && !blen) blen = strlen(body);
    char head[1024];
    int hn = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%sContent-Length: %zu\r\n"
                      "Content-Type: %s\r\n\r\n",
                      method, path, hdr ? hdr : "", hdr ? "\r\n" : "", body ? blen : 0, ctype);
    size_t total = (size_t)hn + (body ? blen : 0), off = 0;
    char *req = malloc(total);
    memcpy(req, head, (size_t)hn);
    if (body) memcpy(req + hn, body, blen);
    while (off < total) {
        ssize_t w = send(fd, req + off, total - off, MSG_NOSIGNAL);
        if (w <= 0) break; /* the server may answer (413) before reading everything */
        off += (size_t)w;
    }
    free(req);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) buf = realloc(buf, cap *= 2);
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        free(buf);
        return -1;
    }
    char *b = strstr(buf, "\r\n\r\n");
    b = b ? b + 4 : buf + len;
    out->len = (size_t)(buf + len - b);
    out->body = malloc(out->len + 1);
    memcpy(out->body, b, out->len + 1);
    free(buf);
    out->json = cJSON_Parse(out->body);
    return 0;
}

static int http(uint16_t port, const char *method, const char *path, const char *hdr,
                const char *body, size_t blen, http_resp *out) {
    return http_ct(port, method, path, hdr, "application/json", body, blen, out);
}

static const char *KEY = "api-key: test-key";

/* The status of a request whose answer is not needed; an error must come in the envelope
 * (it is part of the contract). */
static int status_of(uint16_t port, const char *m, const char *p, const char *hdr, const char *ctype,
                     const char *body, size_t blen) {
    http_resp r;
    http_ct(port, m, p, hdr, ctype, body, blen, &r);
    int s = r.status;
    if (s >= 400)
        ASSERT_MSG(r.json && cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "status"), "error"),
                   "%s %s -> %d without an error envelope: %s", m, p, s, r.body);
    resp_free(&r);
    return s;
}

static int st(uint16_t port, const char *m, const char *p, const char *body) {
    return status_of(port, m, p, KEY, "application/json", body, 0);
}

static cJSON *result(http_resp *r) { return r->json ? cJSON_GetObjectItem(r->json, "result") : NULL; }

static vs_server *start(vs_store **s, const char *api_key, const char *ro_key, uint64_t max_body) {
    vs_store_options so;
    vs_store_options_init(&so);
    so.fsync = VS_FSYNC_OFF;
    char msg[256];
    ASSERT_OK(vs_store_open(vt_path("db"), &so, s, msg, sizeof msg));
    vs_server_options o;
    vs_server_options_init(&o);
    o.port = 0;
    o.threads = 2;
    o.api_key = api_key;
    o.read_only_key = ro_key;
    if (max_body) o.max_body_bytes = max_body;
    vs_server *srv;
    int rc = vs_server_start(*s, &o, &srv, msg, sizeof msg);
    ASSERT_MSG(rc == VS_OK, "start: %s", msg);
    ASSERT(vs_server_port(srv) > 0);
    return srv;
}

#define N 300
#define D 8

static float g_vec[N][D];

static void make_points(unsigned seed) {
    srand(seed);
    for (int i = 0; i < N; i++)
        for (int d = 0; d < D; d++) g_vec[i][d] = (float)rand() / RAND_MAX - 0.5f;
}

/* the upsert body of points [from, to): payload {"n": i, "city": one of 3, "tags": [...]} */
static char *points_body(int from, int to) {
    static const char *const cities[] = {"Berlin", "Paris", "Rome"};
    size_t cap = 256 + (size_t)(to - from) * 400, len = 0;
    char *b = malloc(cap);
    len += (size_t)sprintf(b + len, "{\"points\":[");
    for (int i = from; i < to; i++) {
        len += (size_t)sprintf(b + len, "%s{\"id\":%d,\"vector\":[", i > from ? "," : "", i);
        for (int d = 0; d < D; d++) len += (size_t)sprintf(b + len, "%s%.9g", d ? "," : "", (double)g_vec[i][d]);
        len += (size_t)sprintf(b + len, "],\"payload\":{\"n\":%d,\"city\":\"%s\",\"tags\":[\"t%d\",\"u%d\"]}}", i,
                               cities[i % 3], i % 5, i % 7);
    }
    sprintf(b + len, "]}");
    return b;
}

static float cosine(const float *a, const float *b) {
    double ab = 0, aa = 0, bb = 0;
    for (int d = 0; d < D; d++) ab += a[d] * b[d], aa += a[d] * a[d], bb += b[d] * b[d];
    return (float)(ab / sqrt(aa * bb));
}

TEST(server, routes_answer_like_qdrant) {
    vs_store *s;
    vs_server *srv = start(&s, "test-key", NULL, 0);
    uint16_t p = vs_server_port(srv);
    make_points(vt_seed());
    http_resp r;
    ASSERT_EQ(st(p, "PUT", "/collections/c", "{\"vectors\":{\"size\":8,\"distance\":\"Cosine\"}}"), 200);
    ASSERT_EQ(st(p, "PUT", "/collections/c", "{\"vectors\":{\"size\":8,\"distance\":\"Cosine\"}}"), 409);
    char *body = points_body(0, N);
    ASSERT_EQ(st(p, "PUT", "/collections/c/points?wait=true", body), 200);
    free(body);
    /* info and listing */
    http(p, "GET", "/collections/c", KEY, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(cJSON_GetObjectItem(result(&r), "points_count")->valuedouble, N);
    resp_free(&r);
    http(p, "GET", "/collections", KEY, NULL, 0, &r);
    ASSERT_STREQ(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(result(&r), "collections"), 0), "name")->valuestring, "c");
    resp_free(&r);
    http(p, "GET", "/collections/c/exists", KEY, NULL, 0, &r);
    ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(result(&r), "exists")));
    resp_free(&r);
    /* exact search equals brute force, under a filter */
    for (int qi = 0; qi < 5; qi++) {
        const float *q = g_vec[(qi * 37) % N];
        char sb[1024];
        int n = sprintf(sb, "{\"vector\":[");
        for (int d = 0; d < D; d++) n += sprintf(sb + n, "%s%.9g", d ? "," : "", (double)q[d]);
        sprintf(sb + n, "],\"limit\":7,\"params\":{\"exact\":true},\"with_payload\":true,"
                        "\"filter\":{\"must\":[{\"key\":\"city\",\"match\":{\"value\":\"Paris\"}}]}}");
        http(p, "POST", "/collections/c/points/search", KEY, sb, 0, &r);
        ASSERT_EQ(r.status, 200);
        cJSON *hits = result(&r);
        ASSERT_EQ(cJSON_GetArraySize(hits), 7);
        /* brute force over Paris points (i % 3 == 1) */
        int best[7];
        float bs[7];
        for (int j = 0; j < 7; j++) best[j] = -1, bs[j] = -2;
        for (int i = 1; i < N; i += 3) {
            float sc = cosine(q, g_vec[i]);
            for (int j = 0; j < 7; j++)
                if (sc > bs[j]) {
                    memmove(bs + j + 1, bs + j, (size_t)(6 - j) * sizeof *bs);
                    memmove(best + j + 1, best + j, (size_t)(6 - j) * sizeof *best);
                    bs[j] = sc, best[j] = i;
                    break;
                }
        }
        for (int j = 0; j < 7; j++) {
            cJSON *h = cJSON_GetArrayItem(hits, j);
            ASSERT_EQ((int)cJSON_GetObjectItem(h, "id")->valuedouble, best[j]);
            ASSERT_MSG(fabs(cJSON_GetObjectItem(h, "score")->valuedouble - bs[j]) < 1e-4, "score");
            ASSERT_STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "payload"), "city")->valuestring, "Paris");
        }
        resp_free(&r);
        /* the same through /points/query, with offset 2 */
        sprintf(sb + n, "],\"limit\":5,\"offset\":2,\"params\":{\"exact\":true},"
                        "\"filter\":\"city = 'Paris'\"}");
        char qb[1100];
        snprintf(qb, sizeof qb, "{\"query\":%s", strchr(sb, '['));
        http(p, "POST", "/collections/c/points/query", KEY, qb, 0, &r);
        ASSERT_MSG(r.status == 200, "%s", r.body);
        cJSON *pts = cJSON_GetObjectItem(result(&r), "points");
        ASSERT_EQ(cJSON_GetArraySize(pts), 5);
        for (int j = 0; j < 5; j++)
            ASSERT_EQ((int)cJSON_GetObjectItem(cJSON_GetArrayItem(pts, j), "id")->valuedouble, best[j + 2]);
        ASSERT(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(pts, 0), "payload")));
        resp_free(&r);
    }
    /* scroll: every point once, in id order, across pages */
    int seen = 0, next = -1;
    for (int page = 0; page < 100; page++) {
        char sb[128];
        if (next < 0) snprintf(sb, sizeof sb, "{\"limit\":37,\"with_payload\":false}");
        else snprintf(sb, sizeof sb, "{\"limit\":37,\"offset\":%d,\"with_payload\":false}", next);
        http(p, "POST", "/collections/c/points/scroll", KEY, sb, 0, &r);
        ASSERT_EQ(r.status, 200);
        cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(result(&r), "points"))
            ASSERT_EQ((int)cJSON_GetObjectItem(e, "id")->valuedouble, seen++);
        cJSON *no = cJSON_GetObjectItem(result(&r), "next_page_offset");
        next = cJSON_IsNull(no) ? -1 : (int)no->valuedouble;
        resp_free(&r);
        if (next < 0) break;
    }
    ASSERT_EQ(seen, N);
    /* count with a filter, payload operations, deletes */
    http(p, "POST", "/collections/c/points/count", KEY, "{\"filter\":{\"must\":[{\"key\":\"n\",\"range\":{\"lt\":100}}]}}", 0, &r);
    ASSERT_EQ(cJSON_GetObjectItem(result(&r), "count")->valuedouble, 100);
    resp_free(&r);
    ASSERT_EQ(st(p, "POST", "/collections/c/points/payload", "{\"payload\":{\"flag\":true},\"points\":[1,2,3]}"), 200);
    ASSERT_EQ(st(p, "PUT", "/collections/c/points/payload", "{\"payload\":{\"only\":1},\"points\":[4]}"), 200);
    ASSERT_EQ(st(p, "POST", "/collections/c/points/payload/delete", "{\"keys\":[\"tags\"],\"filter\":{\"must\":[{\"has_id\":[5]}]}}"), 200);
    ASSERT_EQ(st(p, "POST", "/collections/c/points/payload/clear", "{\"points\":[6]}"), 200);
    http(p, "POST", "/collections/c/points", KEY, "{\"ids\":[1,4,5,6,99999],\"with_vector\":true}", 0, &r);
    ASSERT_EQ(r.status, 200);
    cJSON *recs = result(&r);
    ASSERT_EQ(cJSON_GetArraySize(recs), 4);
    ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 0), "payload"), "flag")));
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 1), "payload")), 1);
    ASSERT(!cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 2), "payload"), "tags"));
    ASSERT(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 2), "payload"), "city"));
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 3), "payload")), 0);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 0), "vector")), D);
    resp_free(&r);
    ASSERT_EQ(st(p, "PUT", "/collections/c/index", "{\"field_name\":\"city\",\"field_schema\":\"keyword\"}"), 200);
    http(p, "GET", "/collections/c", KEY, NULL, 0, &r);
    ASSERT_STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&r), "payload_schema"), "city"), "data_type")->valuestring, "keyword");
    resp_free(&r);
    ASSERT_EQ(st(p, "POST", "/collections/c/points/delete", "{\"filter\":{\"must\":[{\"key\":\"city\",\"match\":{\"value\":\"Rome\"}}]}}"), 200);
    ASSERT_EQ(st(p, "POST", "/collections/c/points/delete", "{\"points\":[1,4]}"), 200);
    http(p, "POST", "/collections/c/points/count", KEY, "{}", 0, &r);
    ASSERT_EQ(cJSON_GetObjectItem(result(&r), "count")->valuedouble, N - N / 3 - 2); /* 1 and 4 are not Rome */
    resp_free(&r);
    ASSERT_EQ(st(p, "GET", "/collections/c/points/1", NULL), 404);
    ASSERT_EQ(st(p, "GET", "/collections/c/points/7", NULL), 200);
    ASSERT_EQ(st(p, "DELETE", "/collections/c/index/city", NULL), 200);
    ASSERT_EQ(st(p, "DELETE", "/collections/c", NULL), 200);
    ASSERT_EQ(st(p, "DELETE", "/collections/c", NULL), 404);
    vs_server_stop(srv);
    vs_store_close(s);
}

TEST(server, named_vectors_and_uuid_ids) {
    vs_store *s;
    vs_server *srv = start(&s, "test-key", NULL, 0);
    uint16_t p = vs_server_port(srv);
    ASSERT_EQ(st(p, "PUT", "/collections/m",
                 "{\"vectors\":{\"text\":{\"size\":3,\"distance\":\"Dot\"},\"image\":{\"size\":2,\"distance\":\"Euclid\"}}}"), 200);
    ASSERT_EQ(st(p, "PUT", "/collections/m/points",
                 "{\"points\":[{\"id\":\"550E8400-E29B-41D4-A716-446655440000\",\"vector\":{\"text\":[1,0,0],\"image\":[0,0]}},"
                 "{\"id\":2,\"vector\":{\"text\":[0,1,0],\"image\":[3,4]}}]}"), 200);
    http_resp r;
    /* any spelling of the UUID names the same point, returned canonical */
    http(p, "GET", "/collections/m/points/550e8400e29b41d4a716446655440000", KEY, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(cJSON_GetObjectItem(result(&r), "id")->valuestring, "550e8400-e29b-41d4-a716-446655440000");
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&r), "vector"), "image")), 2);
    resp_free(&r);
    http(p, "POST", "/collections/m/points/search", KEY, "{\"vector\":{\"name\":\"image\",\"vector\":[3,4]},\"limit\":2}", 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ((int)cJSON_GetObjectItem(cJSON_GetArrayItem(result(&r), 0), "id")->valuedouble, 2);
    ASSERT_MSG(fabs(cJSON_GetObjectItem(cJSON_GetArrayItem(result(&r), 1), "score")->valuedouble - 5.0) < 1e-5, "l2 distance");
    resp_free(&r);
    /* query by id (the point itself is not a hit), with "using" */
    http(p, "POST", "/collections/m/points/query", KEY, "{\"query\":2,\"using\":\"text\",\"limit\":5}", 0, &r);
    ASSERT_MSG(r.status == 200, "%s", r.body);
    cJSON *pts = cJSON_GetObjectItem(result(&r), "points");
    ASSERT_EQ(cJSON_GetArraySize(pts), 1);
    ASSERT(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetArrayItem(pts, 0), "id")));
    resp_free(&r);
    /* batch forms; the profile extension */
    ASSERT_EQ(st(p, "PUT", "/collections/m/points", "{\"batch\":{\"ids\":[3,4],\"vectors\":{\"text\":[[0,0,1],[1,1,1]],\"image\":[[1,1],[2,2]]},\"payloads\":[{\"k\":1},null]}}"), 200);
    http(p, "POST", "/collections/m/points/query/batch", KEY,
         "{\"searches\":[{\"query\":[0,0,1],\"using\":\"text\",\"limit\":1},{\"query\":[1,1],\"using\":\"image\",\"limit\":1,\"with_payload\":true}],\"profile\":true}", 0, &r);
    ASSERT_MSG(r.status == 200, "%s", r.body);
    ASSERT_EQ(cJSON_GetArraySize(result(&r)), 2);
    ASSERT_EQ((int)cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(result(&r), 1), "points"), 0), "id")->valuedouble, 3);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "profile")), 2);
    resp_free(&r);
    vs_server_stop(srv);
    vs_store_close(s);
}

TEST(server, bad_requests_get_clear_4xx) {
    vs_store *s;
    vs_server *srv = start(&s, "test-key", NULL, 4096);
    uint16_t p = vs_server_port(srv);
    ASSERT_EQ(st(p, "PUT", "/collections/c", "{\"vectors\":{\"size\":2,\"distance\":\"Cosine\"}}"), 200);
    static const struct { const char *m, *path, *body; int want; } cases[] = {
        {"PUT", "/collections/x", "{\"vectors\":{\"size\":0,\"distance\":\"Cosine\"}}", 400},
        {"PUT", "/collections/x", "{\"vectors\":{\"size\":4,\"distance\":\"Manhattan\"}}", 400},
        {"PUT", "/collections/x", "{\"vectors\":{\"size\":4}}", 400},
        {"PUT", "/collections/x", "[1,2]", 400},
        {"PUT", "/collections/..", "{\"vectors\":{\"size\":4,\"distance\":\"Dot\"}}", 400},
        {"PUT", "/collections/a%2F..%2Fb", "{\"vectors\":{\"size\":4,\"distance\":\"Dot\"}}", 404}, /* decoded: no such route */
        {"PUT", "/collections/c/points", "{\"points\":[{\"id\":1,\"vector\":[1,2,3]}]}", 400},
        {"PUT", "/collections/c/points", "{\"points\":[{\"id\":-1,\"vector\":[1,2]}]}", 400},
        {"PUT", "/collections/c/points", "{\"points\":[{\"id\":1.5,\"vector\":[1,2]}]}", 400},
        {"PUT", "/collections/c/points", "{\"points\":[{\"id\":18446744073709551615,\"vector\":[1,2]}]}", 400},
        {"PUT", "/collections/c/points", "{\"points\":[{\"id\":1,\"vector\":[1e39,2]}]}", 400},
        {"PUT", "/collections/c/points", "{\"points\":[{\"id\":1,\"vector\":[1,\"a\"]}]}", 400},
        {"PUT", "/collections/c/points", "{\"points\":[{\"id\":1,\"vector\":[1,2],\"payload\":[1]}]}", 400},
        {"PUT", "/collections/c/points", "{\"points\":[{\"id\":1,\"vector\":[1,2]}],\"batch\":{}}", 400},
        {"PUT", "/collections/c/points", "{\"points\":[{\"id\":1,\"vector\":[1,2]}", 400},
        {"PUT", "/collections/c/points", "{\"points\":[]} x", 400},
        {"POST", "/collections/c/points/search", "{\"vector\":[1,2],\"limit\":0}", 400},
        {"POST", "/collections/c/points/search", "{\"vector\":[1,2],\"limit\":100001}", 400},
        {"POST", "/collections/c/points/search", "{\"vector\":[1,2],\"filter\":{\"must\":[{\"key\":\"a\",\"bogus\":1}]}}", 400},
        {"POST", "/collections/c/points/search", "{\"vector\":[1,2],\"filter\":\"a MATCHES '('\"}", 400},
        {"POST", "/collections/c/points/search", "{\"vector\":[1,2],\"params\":{\"hnsw_ef\":-3}}", 400},
        {"POST", "/collections/c/points/search", "{\"vector\":[1,2],\"with_payload\":7}", 400},
        {"POST", "/collections/c/points/search", "{\"vector\":[1,2],\"profile\":\"yes\"}", 400},
        {"POST", "/collections/c/points/search", "{}", 400},
        {"POST", "/collections/c/points/query", "{\"query\":{\"fusion\":\"rrf\"}}", 400},
        {"POST", "/collections/c/points/query", "{\"query\":12345}", 404},
        {"POST", "/collections/c/points/search/batch", "{\"searches\":[{\"vector\":[1,2]},{\"vector\":[1]}]}", 400},
        {"POST", "/collections/c/points/scroll", "{\"limit\":-1}", 400},
        {"POST", "/collections/c/points/scroll", "{\"offset\":{}}", 400},
        {"POST", "/collections/c/points/count", "{\"filter\":5}", 400},
        {"POST", "/collections/c/points/delete", "{}", 400},
        {"POST", "/collections/c/points/delete", "{\"points\":[1],\"filter\":{}}", 400},
        {"POST", "/collections/c/points/payload", "{\"payload\":3,\"points\":[1]}", 400},
        {"POST", "/collections/c/points/payload/delete", "{\"keys\":[1],\"points\":[1]}", 400},
        {"PUT", "/collections/c/index", "{\"field_name\":\"a\",\"field_schema\":\"geo3d\"}", 400},
        {"PUT", "/collections/c/index", "{\"field_name\":\"a[\",\"field_schema\":\"keyword\"}", 400},
        {"POST", "/collections/nope/points/search", "{\"vector\":[1,2]}", 404},
        {"GET", "/collections/c/snapshots/..%2F..%2Fetc%2Fpasswd", NULL, 404},
        {"GET", "/collections/c/snapshots/x.snapshot", NULL, 404},
        {"PUT", "/collections/c/snapshots/recover", "{\"location\":\"file:///etc/passwd\"}", 403},
        {"PUT", "/collections/c/snapshots/recover", "{\"location\":\"http://example.com/x.snapshot\"}", 400},
        {"GET", "/nope", NULL, 404},
        {"PATCH", "/collections/c/points/search", "{}", 405},
        {"GET", "/collections/c/points/search", NULL, 404}, /* a GET of point id "search" */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = st(p, cases[i].m, cases[i].path, cases[i].body);
        ASSERT_MSG(got == cases[i].want, "%s %s %s: got %d, want %d", cases[i].m, cases[i].path,
                   cases[i].body ? cases[i].body : "", got, cases[i].want);
    }
    /* nesting beyond the limit, and a body over the limit (refused before it is read) */
    char deep[300];
    int n = sprintf(deep, "{\"filter\":");
    for (int i = 0; i < 70; i++) deep[n++] = '[';
    for (int i = 0; i < 70; i++) deep[n++] = ']';
    strcpy(deep + n, "}");
    ASSERT_EQ(st(p, "POST", "/collections/c/points/count", deep), 400);
    char *big = malloc(10000);
    memset(big, ' ', 10000);
    http_resp r;
    http(p, "PUT", "/collections/c/points", KEY, big, 10000, &r);
    ASSERT_EQ(r.status, 413);
    resp_free(&r);
    free(big);
    /* nothing above was half-applied */
    http(p, "POST", "/collections/c/points/count", KEY, "{}", 0, &r);
    ASSERT_EQ(cJSON_GetObjectItem(result(&r), "count")->valuedouble, 0);
    resp_free(&r);
    vs_server_stop(srv);
    vs_store_close(s);
}

TEST(server, keys_are_checked_before_anything) {
    vs_store *s;
    vs_server *srv = start(&s, "full-key", "read-key", 0);
    uint16_t p = vs_server_port(srv);
    const char *body = "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}";
    http_resp r;
    http(p, "PUT", "/collections/c", NULL, body, 0, &r);
    ASSERT_EQ(r.status, 401);
    resp_free(&r);
    http(p, "PUT", "/collections/c", "api-key: wrong", body, 0, &r);
    ASSERT_EQ(r.status, 401);
    resp_free(&r);
    http(p, "PUT", "/collections/c", "api-key: read-key", body, 0, &r);
    ASSERT_EQ(r.status, 403);
    resp_free(&r);
    http(p, "PUT", "/collections/c", "Authorization: Bearer full-key", body, 0, &r);
    ASSERT_EQ(r.status, 200);
    resp_free(&r);
    http(p, "PUT", "/collections/c/points", "Authorization: Bearer read-key", "{\"points\":[{\"id\":1,\"vector\":[1,2]}]}", 0, &r);
    ASSERT_EQ(r.status, 403);
    resp_free(&r);
    http(p, "POST", "/collections/c/points/count", "api-key: read-key", "{}", 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(cJSON_GetObjectItem(result(&r), "count")->valuedouble, 0);
    resp_free(&r);
    /* a big body with a wrong key: dropped unread, refused once it is in (so that the
     * client, still sending, gets the answer rather than a reset) */
    char *big = malloc(1 << 20);
    memset(big, '{', 1 << 20);
    http(p, "PUT", "/collections/c/points", "api-key: nope", big, 1 << 20, &r);
    ASSERT_EQ(r.status, 401);
    resp_free(&r);
    free(big);
    http(p, "GET", "/healthz", NULL, NULL, 0, &r); /* probes need no key */
    ASSERT_EQ(r.status, 200);
    resp_free(&r);
    http(p, "GET", "/metrics", "api-key: read-key", NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT(strstr(r.body, "vecstore_http_requests_total{route=\"collection_create\",code=\"401\"} 2"));
    ASSERT(strstr(r.body, "vecstore_collection_points{collection=\"c\"} 0"));
    resp_free(&r);
    vs_server_stop(srv);
    vs_store_close(s);
    /* bad options */
    vs_store_options so;
    vs_store_options_init(&so);
    char msg[256];
    ASSERT_OK(vs_store_open(vt_path("db"), &so, &s, msg, sizeof msg));
    vs_server_options o;
    vs_server_options_init(&o);
    o.port = 0;
    o.read_only_key = "r";
    ASSERT_RC(vs_server_start(s, &o, &srv, msg, sizeof msg), VS_EINVAL);
    o.api_key = "r";
    ASSERT_RC(vs_server_start(s, &o, &srv, msg, sizeof msg), VS_EINVAL);
    o.read_only_key = NULL;
    o.host = "no.such.host.invalid";
    ASSERT_RC(vs_server_start(s, &o, &srv, msg, sizeof msg), VS_EINVAL);
    o.host = "127.0.0.1";
    o.tls_cert_file = "/nonexistent.pem";
    o.tls_key_file = "/nonexistent.key";
    int rc = vs_server_start(s, &o, &srv, msg, sizeof msg);
    ASSERT_MSG(rc == VS_EIO || rc == VS_EUNSUPPORTED, "tls with missing files: %d", rc);
    vs_store_close(s);
}

typedef struct writer {
    uint16_t port;
    int id0, n, bad;
} writer;

static void *write_and_read(void *arg) {
    writer *w = arg;
    for (int i = 0; i < w->n; i++) {
        int id = w->id0 + i;
        char b[256];
        snprintf(b, sizeof b, "{\"points\":[{\"id\":%d,\"vector\":[%d,1],\"payload\":{\"w\":%d}}]}", id, id + 1, w->id0);
        http_resp r;
        http(w->port, "PUT", "/collections/c/points", KEY, b, 0, &r);
        if (r.status != 200) w->bad++;
        resp_free(&r);
        snprintf(b, sizeof b, "{\"ids\":[%d]}", id);
        http(w->port, "POST", "/collections/c/points", KEY, b, 0, &r);
        if (r.status != 200 || cJSON_GetArraySize(result(&r)) != 1) w->bad++;
        resp_free(&r);
    }
    return NULL;
}

TEST(server, concurrent_clients_final_state_exact) {
    vs_store *s;
    vs_server *srv = start(&s, "test-key", NULL, 0);
    uint16_t p = vs_server_port(srv);
    ASSERT_EQ(st(p, "PUT", "/collections/c", "{\"vectors\":{\"size\":2,\"distance\":\"Euclid\"}}"), 200);
    enum { T = 8, PER = 60 };
    pthread_t th[T];
    writer w[T];
    for (int t = 0; t < T; t++) {
        w[t] = (writer){p, t * 1000, PER, 0};
        pthread_create(&th[t], NULL, write_and_read, &w[t]);
    }
    for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < T; t++) ASSERT_EQ(w[t].bad, 0);
    http_resp r;
    http(p, "POST", "/collections/c/points/count", KEY, "{}", 0, &r);
    ASSERT_EQ(cJSON_GetObjectItem(result(&r), "count")->valuedouble, T * PER);
    resp_free(&r);
    for (int t = 0; t < T; t++) {
        char b[128];
        snprintf(b, sizeof b, "{\"filter\":{\"must\":[{\"key\":\"w\",\"match\":{\"value\":%d}}]}}", t * 1000);
        http(p, "POST", "/collections/c/points/count", KEY, b, 0, &r);
        ASSERT_EQ(cJSON_GetObjectItem(result(&r), "count")->valuedouble, PER);
        resp_free(&r);
    }
    vs_server_stop(srv);
    vs_store_close(s);
}

TEST(server, snapshots_roundtrip) {
    vs_store *s;
    vs_server *srv = start(&s, "test-key", NULL, 0);
    uint16_t p = vs_server_port(srv);
    ASSERT_EQ(st(p, "PUT", "/collections/c", "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}"), 200);
    ASSERT_EQ(st(p, "PUT", "/collections/c/points", "{\"points\":[{\"id\":1,\"vector\":[1,2]},{\"id\":2,\"vector\":[3,4]}]}"), 200);
    http_resp r;
    http(p, "POST", "/collections/c/snapshots", KEY, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    char name[256];
    snprintf(name, sizeof name, "%s", cJSON_GetObjectItem(result(&r), "name")->valuestring);
    double size = cJSON_GetObjectItem(result(&r), "size")->valuedouble;
    resp_free(&r);
    http(p, "GET", "/collections/c/snapshots", KEY, NULL, 0, &r);
    ASSERT_EQ(cJSON_GetArraySize(result(&r)), 1);
    resp_free(&r);
    char path[512];
    snprintf(path, sizeof path, "/collections/c/snapshots/%s", name);
    http(p, "GET", path, KEY, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ((double)r.len, size);
    resp_free(&r);
    /* recover into a new collection, then over the existing one after a change */
    char body[1024];
    snprintf(body, sizeof body, "{\"location\":\"file://%s/snapshots/c/%s\"}", vt_path("db"), name);
    ASSERT_EQ(st(p, "PUT", "/collections/d/snapshots/recover", body), 200);
    ASSERT_EQ(st(p, "PUT", "/collections/c/points", "{\"points\":[{\"id\":3,\"vector\":[5,6]}]}"), 200);
    snprintf(body, sizeof body, "{\"location\":\"%s\"}", name);
    ASSERT_EQ(st(p, "PUT", "/collections/c/snapshots/recover", body), 200);
    const char *colls[] = {"/collections/c/points/count", "/collections/d/points/count"};
    for (int i = 0; i < 2; i++) {
        http(p, "POST", colls[i], KEY, "{}", 0, &r);
        ASSERT_EQ(cJSON_GetObjectItem(result(&r), "count")->valuedouble, 2);
        resp_free(&r);
    }
    ASSERT_EQ(st(p, "DELETE", path, NULL), 200);
    ASSERT_EQ(st(p, "DELETE", path, NULL), 404);
    vs_server_stop(srv);
    vs_store_close(s);
}

static void sha256_hex(const char *p, size_t n, char out[65]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    ASSERT(EVP_Digest(p, n, d, &dn, EVP_sha256(), NULL) == 1 && dn == 32);
    for (unsigned i = 0; i < dn; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static double count_of(uint16_t p, const char *coll) {
    char path[256];
    snprintf(path, sizeof path, "/collections/%s/points/count", coll);
    http_resp r;
    http(p, "POST", path, KEY, "{}", 0, &r);
    double n = r.status == 200 ? cJSON_GetObjectItem(result(&r), "count")->valuedouble : -r.status;
    resp_free(&r);
    return n;
}

static int upload(uint16_t p, const char *path, const char *hdr, const char *ctype, const char *body,
                  size_t len) {
    return status_of(p, "POST", path, hdr, ctype, body, len);
}

/* Snapshot uploads (multipart as Qdrant's clients send them, or the raw archive) with
 * checksums; every refused upload leaves the collection as it was and no file behind. */
TEST(server, snapshot_upload) {
    vs_store *s;
    vs_server *srv = start(&s, "test-key", "ro-key", 0);
    uint16_t p = vs_server_port(srv);
    ASSERT_EQ(st(p, "PUT", "/collections/c", "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}"), 200);
    ASSERT_EQ(st(p, "PUT", "/collections/c/points", "{\"points\":[{\"id\":1,\"vector\":[1,2]},{\"id\":2,\"vector\":[3,4]}]}"), 200);
    http_resp r;
    http(p, "POST", "/collections/c/snapshots", KEY, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    char name[256], sum[65];
    snprintf(name, sizeof name, "%s", cJSON_GetObjectItem(result(&r), "name")->valuestring);
    const cJSON *cs = cJSON_GetObjectItem(result(&r), "checksum");
    ASSERT(cJSON_IsString(cs));
    snprintf(sum, sizeof sum, "%s", cs->valuestring);
    resp_free(&r);
    char path[512];
    snprintf(path, sizeof path, "/collections/c/snapshots/%s", name);
    http_resp snap;
    http(p, "GET", path, KEY, NULL, 0, &snap);
    ASSERT_EQ(snap.status, 200);
    char want[65];
    sha256_hex(snap.body, snap.len, want);
    ASSERT_STREQ(sum, want); /* the checksum is the file's SHA-256 */
    http(p, "GET", "/collections/c/snapshots", KEY, NULL, 0, &r);
    ASSERT_STREQ(cJSON_GetObjectItem(cJSON_GetArrayItem(result(&r), 0), "checksum")->valuestring, want);
    resp_free(&r);

    /* raw archive into a new collection, checksum verified (upper case accepted) */
    char q[256];
    char upper[65];
    for (int i = 0; i < 65; i++) upper[i] = (char)toupper((unsigned char)want[i]);
    snprintf(q, sizeof q, "/collections/e/snapshots/upload?checksum=%s", upper);
    ASSERT_EQ(upload(p, q, KEY, "application/octet-stream", snap.body, snap.len), 200);
    ASSERT_EQ(count_of(p, "e"), 2);

    /* multipart over a changed collection: back to the snapshot's two points */
    ASSERT_EQ(st(p, "PUT", "/collections/c/points", "{\"points\":[{\"id\":3,\"vector\":[5,6]}]}"), 200);
    ASSERT_EQ(count_of(p, "c"), 3);
    const char *bnd = "----vsTestBoundary7MA4YWxk";
    char pre[512], post[128];
    int pn = snprintf(pre, sizeof pre,
                      "--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n"
                      "--%s\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"c.snapshot\"\r\n"
                      "Content-Type: application/octet-stream\r\n\r\n", bnd, bnd);
    int qn = snprintf(post, sizeof post, "\r\n--%s--\r\n", bnd);
    size_t mlen = (size_t)pn + snap.len + (size_t)qn;
    char *mp = malloc(mlen);
    memcpy(mp, pre, (size_t)pn);
    memcpy(mp + pn, snap.body, snap.len);
    memcpy(mp + pn + snap.len, post, (size_t)qn);
    char ctype[128];
    snprintf(ctype, sizeof ctype, "multipart/form-data; boundary=%s", bnd);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload", KEY, ctype, mp, mlen), 200);
    ASSERT_EQ(count_of(p, "c"), 2);

    /* refusals: nothing changes, nothing is created */
    ASSERT_EQ(st(p, "PUT", "/collections/c/points", "{\"points\":[{\"id\":3,\"vector\":[5,6]}]}"), 200);
    char wrong[65];
    snprintf(wrong, sizeof wrong, "%s", want);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    snprintf(q, sizeof q, "/collections/c/snapshots/upload?checksum=%s", wrong);
    ASSERT_EQ(upload(p, q, KEY, "application/octet-stream", snap.body, snap.len), 400);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload?checksum=abc", KEY, "application/octet-stream", snap.body, snap.len), 400);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload", KEY, "text/plain", snap.body, snap.len), 415);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload", KEY, "application/octet-stream", "", 0), 400);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload", KEY, "application/octet-stream", "not a snapshot at all", 0), 400);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload", "api-key: ro-key", "application/octet-stream", snap.body, snap.len), 403);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload", NULL, "application/octet-stream", snap.body, snap.len), 401);
    ASSERT_EQ(upload(p, "/collections/..%2Fx/snapshots/upload", KEY, "application/octet-stream", snap.body, snap.len), 404);
    ASSERT_EQ(upload(p, "/collections/.hidden/snapshots/upload", KEY, "application/octet-stream", snap.body, snap.len), 400);
    /* multipart: no snapshot field; cut short; no boundary */
    char nofield[512];
    int nf = snprintf(nofield, sizeof nofield,
                      "--%s\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--%s--\r\n", bnd, bnd);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload", KEY, ctype, nofield, (size_t)nf), 400);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload", KEY, ctype, mp, (size_t)pn + snap.len / 2), 400);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload", KEY, "multipart/form-data", mp, mlen), 400);
    snprintf(q, sizeof q, "/collections/f/snapshots/upload?checksum=%s", wrong);
    ASSERT_EQ(upload(p, q, KEY, ctype, mp, mlen), 400);
    ASSERT_EQ(count_of(p, "c"), 3);
    ASSERT_EQ(count_of(p, "f"), -404);
    free(mp);

    /* without a network the body is the archive */
    int status;
    char *b;
    size_t len;
    const char *ct;
    ASSERT_OK(vs_server_handle(srv, "POST", "/collections/g/snapshots/upload", (const char *[]){"api-key: test-key", NULL},
                               snap.body, snap.len, &status, &b, &len, &ct));
    ASSERT_MSG(status == 200, "%s", b);
    vs_server_free(b);
    ASSERT_EQ(count_of(p, "g"), 2);
    resp_free(&snap);
    vs_server_stop(srv);

    /* no upload file is left behind, whatever happened */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/snapshots", vt_path("db"));
    DIR *d = opendir(dir);
    ASSERT(d);
    struct dirent *de;
    while ((de = readdir(d))) ASSERT_MSG(strncmp(de->d_name, ".upload-", 8), "left behind: %s", de->d_name);
    closedir(d);

    /* a server with a small upload limit answers 413 from Content-Length */
    vs_server_options o;
    vs_server_options_init(&o);
    o.port = 0;
    o.max_upload_bytes = 64;
    char msg[256];
    ASSERT_OK(vs_server_start(s, &o, &srv, msg, sizeof msg));
    p = vs_server_port(srv);
    char big[200];
    memset(big, 'x', sizeof big);
    ASSERT_EQ(upload(p, "/collections/c/snapshots/upload", NULL, "application/octet-stream", big, sizeof big), 413);
    vs_server_stop(srv);
    vs_store_close(s);
}

/* A self-signed P-256 certificate for 127.0.0.1 (subjectAltName IP), written as PEM. */
static void make_cert(const char *cert_path, const char *key_path) {
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    ASSERT(pk);
    X509 *x = X509_new();
    ASSERT(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
    ASSERT(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASSERT(X509_sign(x, pk, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    ASSERT(f && PEM_write_X509(f, x) == 1);
    fclose(f);
    f = fopen(key_path, "w");
    ASSERT(f && PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
}

/* One request over TLS, the server's certificate verified against ca (and its IP). */
static int https_get(uint16_t port, const char *ca, const char *path, const char *hdr, http_resp *out) {
    memset(out, 0, sizeof *out);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    ASSERT(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    ASSERT(SSL_CTX_load_verify_locations(ctx, ca, NULL) == 1);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), "127.0.0.1");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    int rc = -1;
    if (SSL_connect(ssl) == 1) {
        char req[512];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n\r\n",
                         path, hdr);
        ASSERT(SSL_write(ssl, req, n) == n);
        size_t cap = 1 << 16, len = 0;
        char *buf = malloc(cap);
        int r;
        while (len + 1 < cap && (r = SSL_read(ssl, buf + len, (int)(cap - len - 1))) > 0) len += (size_t)r;
        buf[len] = 0;
        if (sscanf(buf, "HTTP/1.%*d %d", &out->status) == 1) {
            char *b = strstr(buf, "\r\n\r\n");
            out->body = strdup(b ? b + 4 : "");
            out->len = strlen(out->body);
            out->json = cJSON_Parse(out->body);
            rc = 0;
        }
        free(buf);
    }
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    return rc;
}

/* HTTPS with a certificate: a verifying client gets its answers (keys still apply);
 * plain HTTP on that port gets none; an unreadable or bad certificate fails the start. */
TEST(server, tls) {
    char cert[512], key[512], other[512], other_key[512];
    snprintf(cert, sizeof cert, "%s/cert.pem", vt_path("."));
    snprintf(key, sizeof key, "%s/key.pem", vt_path("."));
    snprintf(other, sizeof other, "%s/other.pem", vt_path("."));
    snprintf(other_key, sizeof other_key, "%s/other-key.pem", vt_path("."));
    make_cert(cert, key);
    make_cert(other, other_key); /* a different certificate: the client must refuse the server */
    vs_store *s;
    vs_store_options so;
    vs_store_options_init(&so);
    char msg[256];
    ASSERT_OK(vs_store_open(vt_path("db"), &so, &s, msg, sizeof msg));
    vs_server_options o;
    vs_server_options_init(&o);
    o.port = 0;
    o.api_key = "k";
    o.tls_cert_file = cert;
    o.tls_key_file = key;
    vs_server *srv;
    int rc = vs_server_start(s, &o, &srv, msg, sizeof msg);
    ASSERT_MSG(rc == VS_OK, "start: %s", msg);
    uint16_t p = vs_server_port(srv);
    http_resp r;
    ASSERT_OK(https_get(p, cert, "/collections", "api-key: k", &r));
    ASSERT_EQ(r.status, 200);
    ASSERT(cJSON_GetObjectItem(result(&r), "collections"));
    resp_free(&r);
    ASSERT_OK(https_get(p, cert, "/collections", "api-key: nope", &r));
    ASSERT_EQ(r.status, 401);
    resp_free(&r);
    ASSERT(https_get(p, other, "/collections", "api-key: k", &r) != 0); /* not the server's certificate */
    resp_free(&r);
    http(p, "GET", "/collections", "api-key: k", NULL, 0, &r); /* plain HTTP: no HTTP answer */
    ASSERT_EQ(r.status, 0);
    resp_free(&r);
    vs_server_stop(srv);

    o.tls_key_file = "/nonexistent/key.pem";
    ASSERT_RC(vs_server_start(s, &o, &srv, msg, sizeof msg), VS_EIO);
    ASSERT(srv == NULL);
    o.tls_key_file = cert; /* a certificate where the key should be */
    ASSERT(vs_server_start(s, &o, &srv, msg, sizeof msg) != VS_OK);
    ASSERT(srv == NULL);
    o.tls_key_file = NULL;
    ASSERT_RC(vs_server_start(s, &o, &srv, msg, sizeof msg), VS_EINVAL);
    vs_store_close(s);
}

/* The router without a network: what the fuzz target drives. */
TEST(server, handle_without_network) {
    vs_store *s;
    vs_server *srv = start(&s, NULL, NULL, 0);
    int status;
    char *b;
    size_t len;
    const char *ct;
    const char *create = "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}";
    ASSERT_OK(vs_server_handle(srv, "PUT", "/collections/c?wait=true", NULL, create, strlen(create),
                               &status, &b, &len, &ct));
    ASSERT_EQ(status, 200);
    vs_server_free(b);
    /* the path is percent-decoded as libmicrohttpd decodes it: %63 is "c" */
    ASSERT_OK(vs_server_handle(srv, "GET", "/collections/%63/exists", NULL, NULL, 0, &status, &b, &len, &ct));
    ASSERT_EQ(status, 200);
    ASSERT(strstr(b, "\"exists\":true"));
    vs_server_free(b);
    ASSERT_OK(vs_server_handle(srv, "GET", "/", NULL, NULL, 0, &status, &b, &len, &ct));
    ASSERT(strstr(b, VS_SERVER_QDRANT_VERSION));
    vs_server_free(b);
    ASSERT_OK(vs_server_handle(srv, "POST", "/collections/c/points/count", NULL, "{\"filter\":{", 11, &status, &b, &len, &ct));
    ASSERT_EQ(status, 400);
    vs_server_free(b);
    vs_server_stop(srv);
    vs_store_close(s);
}

/* `vecstore serve` as a process: every write acknowledged before SIGTERM is in the store
 * afterwards, the process exits 0, and requests arriving during the stop are answered. */
TEST(server, sigterm_loses_no_acknowledged_write) {
    int out[2];
    ASSERT(pipe(out) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execl(vt_cli(), "vecstore", "serve", vt_path("db"), "--port", "0", "--api-key", "test-key",
              "--fsync", "always", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[64] = {0};
    size_t got = 0;
    while (got < sizeof line - 1 && !strchr(line, '\n')) {
        ssize_t r = read(out[0], line + got, sizeof line - 1 - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    unsigned port = 0;
    ASSERT_MSG(sscanf(line, "listening %u", &port) == 1, "serve printed '%s'", line);
    ASSERT_EQ(st((uint16_t)port, "PUT", "/collections/c", "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}"), 200);
    int acked = 0, stopped_at = -1;
    for (int i = 0; i < 400; i++) {
        if (i == 200) kill(pid, SIGTERM);
        char b[128];
        snprintf(b, sizeof b, "{\"points\":[{\"id\":%d,\"vector\":[%d,1]}]}", i, i + 1);
        http_resp r;
        int rc = http((uint16_t)port, "PUT", "/collections/c/points?wait=true", KEY, b, 0, &r);
        if (rc == 0 && r.status == 200) {
            ASSERT_MSG(stopped_at < 0, "write %d acknowledged after a refusal at %d", i, stopped_at);
            acked = i + 1;
        } else if (stopped_at < 0) {
            stopped_at = i;
        }
        resp_free(&r);
    }
    int wst;
    ASSERT(waitpid(pid, &wst, 0) == pid);
    close(out[0]);
    ASSERT_MSG(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "serve exit status %d", wst);
    ASSERT(acked >= 200);
    vs_store *s;
    char msg[256];
    ASSERT_OK(vs_store_open(vt_path("db"), NULL, &s, msg, sizeof msg));
    vs_coll *c;
    ASSERT_OK(vs_coll_open(s, "c", &c));
    uint64_t n;
    ASSERT_OK(vs_count(c, NULL, &n));
    /* Every acknowledged write is there; the one request in flight when the connection
     * closed may have been applied without its answer arriving (the client cannot tell). */
    ASSERT_MSG(n >= (uint64_t)acked && n <= (uint64_t)acked + 1, "%llu points, %d acknowledged",
               (unsigned long long)n, acked);
    for (int i = 0; i < acked; i++) {
        vs_id id = vs_id_num((uint64_t)i);
        vs_result *g;
        ASSERT_OK(vs_get(c, &id, 1, 0, &g));
        ASSERT_MSG(vs_result_rows(g, 0) == 1, "acknowledged write %d lost", i);
        vs_result_free(g);
    }
    vs_coll_close(c);
    vs_store_close(s);
}

/* ------------------------------------------------------------------ geo ---- */

/* POSTs body and asserts 200; *r holds the answer (resp_free it). Returns the result. */
static cJSON *post_ok(uint16_t p, const char *path, const char *body, http_resp *r) {
    http(p, "POST", path, KEY, body, 0, r);
    ASSERT_MSG(r->status == 200, "POST %s %s: %d %s", path, body, r->status, r->body);
    return result(r);
}

/* Asserts that pts (an array of scored points) holds these ids, with these scores when
 * scores is not NULL. */
static void expect_points(const cJSON *pts, const int *ids, const double *scores, int n) {
    ASSERT_MSG(cJSON_IsArray(pts) && cJSON_GetArraySize(pts) == n, "want %d points, got %d", n,
               cJSON_GetArraySize(pts));
    for (int i = 0; i < n; i++) {
        const cJSON *h = cJSON_GetArrayItem(pts, i);
        int id = (int)cJSON_GetObjectItem(h, "id")->valuedouble;
        ASSERT_MSG(id == ids[i], "point %d: id %d, want %d", i, id, ids[i]);
        if (scores) ASSERT_NEAR(cJSON_GetObjectItem(h, "score")->valuedouble, scores[i], 1e-6);
    }
}

/* The ids of pts sorted ascending into ids; returns how many. */
static int sorted_ids(const cJSON *pts, int *ids, int max) {
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, pts) if (n < max) ids[n++] = (int)cJSON_GetObjectItem(e, "id")->valuedouble;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && ids[j] < ids[j - 1]; j--) {
            int t = ids[j];
            ids[j] = ids[j - 1], ids[j - 1] = t;
        }
    return n;
}

static double gdist(double lat1, double lon1, double lat2, double lon2) {
    double m = -1;
    ASSERT_OK(vs_geo_distance(lat1, lon1, lat2, lon2, &m));
    return m;
}

/* Around Berlin's centre (52.52, 13.405); 7 has no location, 8 two (Munich, and one
 * 340 m from the centre). */
static const char geo_points[] =
    "{\"points\":["
    "{\"id\":1,\"vector\":[1,0],\"payload\":{\"location\":{\"lat\":52.5219,\"lon\":13.4132},\"open\":true}},"
    "{\"id\":2,\"vector\":[0,1],\"payload\":{\"location\":{\"lat\":52.5096,\"lon\":13.3759},\"open\":false}},"
    "{\"id\":3,\"vector\":[1,1],\"payload\":{\"location\":{\"lat\":52.5588,\"lon\":13.2884},\"open\":true}},"
    "{\"id\":4,\"vector\":[1,2],\"payload\":{\"location\":{\"lat\":52.3906,\"lon\":13.0645},\"open\":true}},"
    "{\"id\":5,\"vector\":[2,1],\"payload\":{\"location\":{\"lat\":53.5511,\"lon\":9.9937},\"open\":false}},"
    "{\"id\":6,\"vector\":[1,-1],\"payload\":{\"location\":{\"lat\":48.8566,\"lon\":2.3522},\"open\":true}},"
    "{\"id\":7,\"vector\":[-1,1],\"payload\":{\"open\":true}},"
    "{\"id\":8,\"vector\":[-1,-1],\"payload\":{\"location\":[{\"lat\":48.1351,\"lon\":11.582},"
    "{\"lat\":52.52,\"lon\":13.41}],\"open\":false}}]}";

TEST(server, geo_filters_index_and_nearest) {
    vs_store *s;
    vs_server *srv = start(&s, "test-key", NULL, 0);
    uint16_t p = vs_server_port(srv);
    http_resp r;
    ASSERT_EQ(st(p, "PUT", "/collections/g", "{\"vectors\":{\"size\":2,\"distance\":\"Cosine\"}}"), 200);
    ASSERT_EQ(st(p, "PUT", "/collections/g/points?wait=true", geo_points), 200);
    /* the expected nearest-first order from the centre */
    static const double places[][3] = {{1, 52.5219, 13.4132}, {2, 52.5096, 13.3759}, {3, 52.5588, 13.2884},
                                       {4, 52.3906, 13.0645}, {5, 53.5511, 9.9937},  {6, 48.8566, 2.3522},
                                       {8, 52.52, 13.41}};
    int ids[7];
    double dist[7];
    for (int i = 0; i < 7; i++) {
        ids[i] = (int)places[i][0];
        dist[i] = gdist(52.52, 13.405, places[i][1], places[i][2]);
    }
    for (int i = 1; i < 7; i++)
        for (int j = i; j > 0 && dist[j] < dist[j - 1]; j--) {
            double t = dist[j];
            dist[j] = dist[j - 1], dist[j - 1] = t;
            int u = ids[j];
            ids[j] = ids[j - 1], ids[j - 1] = u;
        }
    double neg[7];
    for (int i = 0; i < 7; i++) neg[i] = -dist[i];
    const char *near_q = "{\"query\":{\"formula\":{\"neg\":{\"geo_distance\":{\"origin\":{\"lat\":52.52,\"lon\":13.405},"
                         "\"to\":\"location\"}}}},\"limit\":%d%s}";
    char body[1024];
    for (int pass = 0; pass < 2; pass++) { /* without, then with a geo index: same answers */
        /* geo_radius through /points/search (a vector search under the filter) */
        cJSON *res = post_ok(p, "/collections/g/points/search",
                             "{\"vector\":[1,0],\"limit\":10,\"filter\":{\"must\":[{\"key\":\"location\",\"geo_radius\":"
                             "{\"center\":{\"lat\":52.52,\"lon\":13.405},\"radius\":5000}}]}}", &r);
        int got[10], n = sorted_ids(res, got, 10);
        ASSERT_EQ(n, 3);
        ASSERT(got[0] == 1 && got[1] == 2 && got[2] == 8);
        resp_free(&r);
        /* geo_bounding_box and geo_polygon (with a hole) through /points/scroll */
        res = post_ok(p, "/collections/g/points/scroll",
                      "{\"limit\":100,\"filter\":{\"must\":[{\"key\":\"location\",\"geo_bounding_box\":"
                      "{\"top_left\":{\"lat\":53,\"lon\":13},\"bottom_right\":{\"lat\":52,\"lon\":14}}}]}}", &r);
        n = sorted_ids(cJSON_GetObjectItem(res, "points"), got, 10);
        ASSERT_EQ(n, 5);
        ASSERT(got[0] == 1 && got[1] == 2 && got[2] == 3 && got[3] == 4 && got[4] == 8);
        resp_free(&r);
        res = post_ok(p, "/collections/g/points/scroll",
                      "{\"limit\":100,\"filter\":{\"must\":[{\"key\":\"location\",\"geo_polygon\":{"
                      "\"exterior\":{\"points\":[{\"lat\":52.3,\"lon\":13.0},{\"lat\":52.3,\"lon\":13.8},"
                      "{\"lat\":52.7,\"lon\":13.8},{\"lat\":52.7,\"lon\":13.0},{\"lat\":52.3,\"lon\":13.0}]},"
                      "\"interiors\":[{\"points\":[{\"lat\":52.51,\"lon\":13.40},{\"lat\":52.51,\"lon\":13.42},"
                      "{\"lat\":52.53,\"lon\":13.42},{\"lat\":52.53,\"lon\":13.40},{\"lat\":52.51,\"lon\":13.40}]}]}}]}}",
                      &r);
        n = sorted_ids(cJSON_GetObjectItem(res, "points"), got, 10);
        ASSERT_EQ(n, 3); /* 1 and 8's near location lie in the hole */
        ASSERT(got[0] == 2 && got[1] == 3 && got[2] == 4);
        resp_free(&r);
        /* the text syntax, as a string filter */
        res = post_ok(p, "/collections/g/points/count",
                      "{\"filter\":\"location WITHIN 5 KM OF (52.52, 13.405) AND open = true\"}", &r);
        ASSERT_EQ(cJSON_GetObjectItem(res, "count")->valuedouble, 1);
        resp_free(&r);
        /* nearest first: {"neg": {"geo_distance": …}}, scores −metres */
        snprintf(body, sizeof body, near_q, 10, "");
        res = post_ok(p, "/collections/g/points/query", body, &r);
        expect_points(cJSON_GetObjectItem(res, "points"), ids, neg, 7);
        resp_free(&r);
        /* with limit, offset, a filter, a threshold (within 10 km) and vectors */
        snprintf(body, sizeof body, near_q, 2,
                 ",\"offset\":1,\"filter\":{\"must_not\":[{\"has_id\":[8]}]},\"with_vector\":true,\"with_payload\":false");
        res = post_ok(p, "/collections/g/points/query", body, &r);
        {
            int want[2] = {ids[1] == 8 ? ids[2] : ids[1], 0};
            int k2 = 0, all[7];
            for (int i = 0; i < 7; i++)
                if (ids[i] != 8) all[k2++] = ids[i];
            want[0] = all[1], want[1] = all[2];
            expect_points(cJSON_GetObjectItem(res, "points"), want, NULL, 2);
            const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "points"), 0);
            ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(h, "vector")), 2);
            ASSERT(cJSON_IsNull(cJSON_GetObjectItem(h, "payload")));
        }
        resp_free(&r);
        snprintf(body, sizeof body, near_q, 10, ",\"score_threshold\":-10000");
        res = post_ok(p, "/collections/g/points/query", body, &r);
        int within = 0;
        while (within < 7 && dist[within] <= 10000) within++;
        ASSERT_EQ(within, 4);
        expect_points(cJSON_GetObjectItem(res, "points"), ids, neg, within);
        resp_free(&r);
        snprintf(body, sizeof body, near_q, 10, ",\"score_threshold\":1");
        res = post_ok(p, "/collections/g/points/query", body, &r);
        ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(res, "points")), 0);
        resp_free(&r);
        /* in a batch, next to a vector query */
        snprintf(body, sizeof body, "{\"searches\":[%s,{\"query\":[1,0],\"limit\":1}]}", near_q);
        char batch[1200];
        snprintf(batch, sizeof batch, body, 3, "");
        res = post_ok(p, "/collections/g/points/query/batch", batch, &r);
        ASSERT_EQ(cJSON_GetArraySize(res), 2);
        expect_points(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "points"), ids, neg, 3);
        expect_points(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 1), "points"), (int[]){1}, NULL, 1);
        resp_free(&r);
        if (pass == 0) {
            ASSERT_EQ(st(p, "PUT", "/collections/g/index", "{\"field_name\":\"location\",\"field_schema\":\"geo\"}"), 200);
            http(p, "GET", "/collections/g", KEY, NULL, 0, &r);
            ASSERT_STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(result(&r), "payload_schema"),
                                                                 "location"), "data_type")->valuestring, "geo");
            resp_free(&r);
        }
    }
    ASSERT_EQ(st(p, "PUT", "/collections/g/index", "{\"field_name\":\"loc2\",\"field_schema\":{\"type\":\"geo\"}}"), 200);
    vs_server_stop(srv);
    vs_store_close(s);
}

/* Query [1, 0]: point 1 ([1, 0], score 1) lies in Paris, 878 km from the origin; point 2
 * ([0.8, 0.6], score 0.8) and point 3 ([0, 1], score 0) at the origin; point 4 has no
 * location. */
static const char decay_points[] =
    "{\"points\":["
    "{\"id\":1,\"vector\":[1,0],\"payload\":{\"loc\":{\"lat\":48.8566,\"lon\":2.3522}}},"
    "{\"id\":2,\"vector\":[0.8,0.6],\"payload\":{\"loc\":{\"lat\":52.52,\"lon\":13.405}}},"
    "{\"id\":3,\"vector\":[0,1],\"payload\":{\"loc\":{\"lat\":52.52,\"lon\":13.405}}},"
    "{\"id\":4,\"vector\":[1,0.1]}]}";
#define GEO_X "{\"x\":{\"geo_distance\":{\"origin\":{\"lat\":52.52,\"lon\":13.405},\"to\":\"loc\"}}"

TEST(server, formula_decay_reorders_hits) {
    vs_store *s;
    vs_server *srv = start(&s, "test-key", NULL, 0);
    uint16_t p = vs_server_port(srv);
    http_resp r;
    ASSERT_EQ(st(p, "PUT", "/collections/d", "{\"vectors\":{\"size\":2,\"distance\":\"Cosine\"}}"), 200);
    ASSERT_EQ(st(p, "PUT", "/collections/d/points?wait=true", decay_points), 200);
    const double dp = gdist(52.52, 13.405, 48.8566, 2.3522), tg = pow(0.5, (dp / 1e6) * (dp / 1e6));
    const double s4 = 1 / sqrt(1.01);
    const char *Q = "/collections/d/points/query";
    /* without a formula: the vector order */
    cJSON *res = post_ok(p, Q, "{\"query\":[1,0],\"limit\":4}", &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){1, 4, 2, 3}, (double[]){1, s4, 0.8, 0}, 4);
    resp_free(&r);
    /* mult: s · t */
    res = post_ok(p, Q, "{\"prefetch\":{\"query\":[1,0],\"limit\":10},\"query\":{\"formula\":{\"mult\":[\"$score\","
                        "{\"gauss_decay\":" GEO_X ",\"scale\":1000000}}]}},\"limit\":4}", &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){2, 1, 3, 4}, (double[]){0.8, tg, 0, 0}, 4);
    resp_free(&r);
    /* sum with the operands the other way round, prefetch as a one-element array with
     * {"nearest": …}; the default prefetch limit */
    res = post_ok(p, Q, "{\"prefetch\":[{\"query\":{\"nearest\":[1,0]}}],\"query\":{\"formula\":{\"sum\":["
                        "{\"gauss_decay\":" GEO_X ",\"scale\":1000000,\"midpoint\":0.5,\"target\":0}},\"$score\"]}},"
                        "\"limit\":3}", &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){2, 1, 3}, (double[]){1.8, 1 + tg, 1}, 3);
    resp_free(&r);
    /* a weight: {"mult": [W, DECAY]} inside the sum, either order */
    res = post_ok(p, Q, "{\"prefetch\":{\"query\":[1,0]},\"query\":{\"formula\":{\"sum\":[\"$score\",{\"mult\":["
                        "{\"gauss_decay\":" GEO_X ",\"scale\":1000000}},0.1]}]}},\"limit\":2}", &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){1, 4}, (double[]){1 + 0.1 * tg, s4}, 2);
    resp_free(&r);
    /* exp with midpoint and the offset extension; lin */
    res = post_ok(p, Q, "{\"prefetch\":{\"query\":[1,0]},\"query\":{\"formula\":{\"mult\":[\"$score\","
                        "{\"exp_decay\":" GEO_X ",\"scale\":500000,\"midpoint\":0.2,\"offset\":100000}}]}},\"limit\":2}",
                  &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){2, 1},
                  (double[]){0.8, pow(0.2, (dp - 100000) / 500000)}, 2);
    resp_free(&r);
    res = post_ok(p, Q, "{\"prefetch\":{\"query\":[1,0]},\"query\":{\"formula\":{\"mult\":[\"$score\","
                        "{\"lin_decay\":" GEO_X ",\"scale\":2000000}}]}},\"limit\":2}", &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){2, 1}, (double[]){0.8, 1 - dp * 0.5 / 2000000}, 2);
    resp_free(&r);
    /* the prefetch's filter and the body's, combined with must (JSON, then text) */
    res = post_ok(p, Q, "{\"prefetch\":{\"query\":[1,0],\"filter\":{\"must\":[{\"key\":\"loc\",\"geo_radius\":{"
                        "\"center\":{\"lat\":52.52,\"lon\":13.405},\"radius\":1000000}}]}},"
                        "\"query\":{\"formula\":{\"mult\":[\"$score\",{\"gauss_decay\":" GEO_X ",\"scale\":1000000}}]}},"
                        "\"filter\":{\"must_not\":[{\"has_id\":[3]}]},\"limit\":4}", &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){2, 1}, (double[]){0.8, tg}, 2);
    resp_free(&r);
    res = post_ok(p, Q, "{\"prefetch\":{\"query\":[1,0],\"filter\":\"loc WITHIN 1000 KM OF (52.52, 13.405)\"},"
                        "\"query\":{\"formula\":{\"mult\":[\"$score\",{\"gauss_decay\":" GEO_X ",\"scale\":1000000}}]}},"
                        "\"filter\":\"NOT HAS_ID(2)\",\"limit\":4}", &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){1, 3}, (double[]){tg, 0}, 2);
    resp_free(&r);
    /* the prefetch's limit is the candidates window (vs_decay.candidates); the answer
     * still holds limit points */
    res = post_ok(p, Q, "{\"prefetch\":{\"query\":[1,0],\"limit\":1},\"query\":{\"formula\":{\"mult\":[\"$score\","
                        "{\"gauss_decay\":" GEO_X ",\"scale\":1000000}}]}},\"limit\":4}", &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){2, 1, 3, 4}, (double[]){0.8, tg, 0, 0}, 4);
    resp_free(&r);
    /* offset pages through the combined order; a point id as the prefetch's query */
    res = post_ok(p, Q, "{\"prefetch\":{\"query\":[1,0]},\"query\":{\"formula\":{\"mult\":[\"$score\","
                        "{\"gauss_decay\":" GEO_X ",\"scale\":1000000}}]}},\"limit\":2,\"offset\":1}", &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){1, 3}, (double[]){tg, 0}, 2);
    resp_free(&r);
    res = post_ok(p, Q, "{\"prefetch\":{\"query\":1},\"query\":{\"formula\":{\"mult\":[\"$score\","
                        "{\"gauss_decay\":" GEO_X ",\"scale\":1000000}}]}},\"limit\":3}", &r);
    expect_points(cJSON_GetObjectItem(res, "points"), (int[]){2, 3, 4}, (double[]){0.8, 0, 0}, 3);
    resp_free(&r);
    vs_server_stop(srv);
    vs_store_close(s);
}

TEST(server, formula_bad_inputs_get_400) {
    vs_store *s;
    vs_server *srv = start(&s, "test-key", NULL, 0);
    uint16_t p = vs_server_port(srv);
    ASSERT_EQ(st(p, "PUT", "/collections/d", "{\"vectors\":{\"size\":2,\"distance\":\"Cosine\"}}"), 200);
    ASSERT_EQ(st(p, "PUT", "/collections/d/points?wait=true", decay_points), 200);
#define PF "{\"prefetch\":{\"query\":[1,0]},\"query\":{\"formula\":"
#define GD(origin) "{\"geo_distance\":{\"origin\":" origin ",\"to\":\"loc\"}}"
#define BERLIN "{\"lat\":52.52,\"lon\":13.405}"
    static const struct {
        const char *body, *msg, *code;
    } cases[] = {
        /* origins */
        {"{\"query\":{\"formula\":{\"neg\":{\"geo_distance\":{\"to\":\"loc\"}}}}}", "neg.geo_distance.origin is missing",
         NULL},
        {"{\"query\":{\"formula\":{\"neg\":" GD("{\"lat\":91,\"lon\":0}") "}}}", "origin (91, 0)", "VS_EINVAL"},
        {"{\"query\":{\"formula\":{\"neg\":" GD("{\"lat\":0,\"lon\":-181}") "}}}", "origin (0, -181)", "VS_EINVAL"},
        {"{\"query\":{\"formula\":{\"neg\":" GD("{\"lat\":\"52\",\"lon\":13}") "}}}",
         "origin must be {\"lat\": number, \"lon\": number}", NULL},
        {"{\"query\":{\"formula\":{\"neg\":{\"geo_distance\":{\"origin\":" BERLIN "}}}}}",
         "geo_distance.to must be the payload key", NULL},
        {"{\"query\":{\"formula\":{\"neg\":{\"geo_distance\":{\"origin\":" BERLIN ",\"to\":\"loc\",\"unit\":\"km\"}}}}}",
         "neg.geo_distance.unit is not supported", NULL},
        {"{\"query\":{\"formula\":{\"neg\":{\"key\":\"loc\"}}}}", "\"key\" is not supported", NULL},
        {"{\"query\":{\"formula\":{\"neg\":{\"geo_distance\":{\"origin\":" BERLIN ",\"to\":\"loc\"},\"abs\":1}}}}",
         "formula: neg.abs is not supported (only geo_distance)", NULL},
        {"{\"query\":{\"nearest\":[1,0],\"formula\":{\"neg\":" GD(BERLIN) "}}}",
         "query: \"nearest\" cannot be combined with a formula", NULL},
        {PF "{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":" GD("{\"lat\":91,\"lon\":0}") ",\"scale\":1000}}]}}}",
         "decay: origin (91, 0)", "VS_EINVAL"},
        {PF "{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":" GD("{\"lon\":0}") ",\"scale\":1000}}]}}}",
         "gauss_decay.x.geo_distance.origin must be", NULL},
        /* decays */
        {PF "{\"mult\":[\"$score\",{\"cauchy_decay\":{\"x\":" GD(BERLIN) "}}]}}}",
         "mult operand {\"cauchy_decay\": …} is not supported", NULL},
        {PF "{\"sum\":[\"$score\",{\"sigmoid_decay\":{\"x\":" GD(BERLIN) "}}]}}}",
         "sum operand {\"sigmoid_decay\": …} is not supported", NULL},
        {PF "{\"mult\":[\"$score\",{\"exp_decay\":{\"x\":" GD(BERLIN) ",\"target\":5}}]}}}",
         "exp_decay.target must be 0 or absent", NULL},
        {PF "{\"mult\":[\"$score\",{\"exp_decay\":{\"x\":" GD(BERLIN) ",\"target\":{\"datetime\":\"2024-01-01\"}}}]}}}",
         "exp_decay.target must be 0", NULL},
        {PF "{\"mult\":[\"$score\",{\"lin_decay\":{\"x\":" GD(BERLIN) ",\"scale\":0}}]}}}", "decay: scale", "VS_EINVAL"},
        {PF "{\"mult\":[\"$score\",{\"lin_decay\":{\"x\":" GD(BERLIN) ",\"scale\":\"far\"}}]}}}",
         "lin_decay.scale must be a number", NULL},
        {PF "{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":" GD(BERLIN) ",\"midpoint\":1.5}}]}}}", "decay: decay",
         "VS_EINVAL"},
        {PF "{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":" GD(BERLIN) ",\"offset\":-1}}]}}}", "decay: offset",
         "VS_EINVAL"},
        {PF "{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":{\"datetime_key\":\"t\"}}}]}}}",
         "gauss_decay.x must be {\"geo_distance\"", NULL},
        {PF "{\"mult\":[\"$score\",{\"gauss_decay\":{\"scale\":5}}]}}}", "gauss_decay.x is missing", NULL},
        {PF "{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":" GD(BERLIN) ",\"decay\":0.5}}]}}}",
         "gauss_decay.decay is not supported", NULL},
        /* formula shapes */
        {PF "{\"div\":{\"left\":\"$score\",\"right\":2}}}}", "formula: \"div\" is not supported", NULL},
        {PF "{\"sum\":[\"$score\",{\"key\":\"tag\",\"match\":{\"value\":\"a\"}}]}}}", "sum operand {\"key\": …}", NULL},
        {PF "{\"sum\":[\"$score\",{\"gauss_decay\":{\"x\":" GD(BERLIN) "}},0.5]}}}", "sum of 3 operands", NULL},
        {PF "{\"sum\":[{\"gauss_decay\":{\"x\":" GD(BERLIN) "}},{\"exp_decay\":{\"x\":" GD(BERLIN) "}}]}}}",
         "sum must have \"$score\"", NULL},
        {PF "{\"mult\":[\"$score\",0.5]}}}", "mult operand {\"a number\": …}", NULL},
        {PF "{\"sum\":[\"$score\",{\"mult\":[\"w\",{\"gauss_decay\":{\"x\":" GD(BERLIN) "}}]}]}}}",
         "sum operand {\"mult\": …}", NULL},
        {PF "{\"gauss_decay\":{\"x\":" GD(BERLIN) "}}}}", "a gauss_decay alone is not supported", NULL},
        {PF "{\"sum\":[\"$score\",{\"gauss_decay\":{\"x\":" GD(BERLIN) "}}],\"mult\":[]}}}",
         "formula must hold one expression", NULL},
        {PF "[1,2]}}", "formula must be an expression object", NULL},
        {PF "{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":" GD(BERLIN) "}}]},\"defaults\":{\"loc\":1}}}",
         "defaults is not supported", NULL},
        /* prefetches */
        {"{\"query\":{\"formula\":{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":" GD(BERLIN) "}}]}}}",
         "a decay rescores the hits of a prefetch", NULL},
        {PF "{\"neg\":" GD(BERLIN) "}}}", "takes no prefetch", NULL},
        {"{\"prefetch\":{\"query\":[1,0]},\"query\":[1,0]}", "prefetch is supported only with a formula", NULL},
        {"{\"prefetch\":{\"query\":[1,0]}}", "prefetch without a formula query", NULL},
        {"{\"prefetch\":[{\"query\":[1,0]},{\"query\":[0,1]}],\"query\":{\"formula\":{\"mult\":[\"$score\","
         "{\"gauss_decay\":{\"x\":" GD(BERLIN) "}}]}}}", "2 prefetches are not supported", NULL},
        {"{\"prefetch\":{\"limit\":5},\"query\":{\"formula\":{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":" GD(BERLIN)
         "}}]}}}", "prefetch.query (the vector whose hits the formula rescores) is missing", NULL},
        {"{\"prefetch\":{\"query\":[1,0],\"limit\":0},\"query\":{\"formula\":{\"mult\":[\"$score\",{\"gauss_decay\":"
         "{\"x\":" GD(BERLIN) "}}]}}}", "prefetch.", NULL},
        {"{\"prefetch\":{\"query\":[1,0],\"prefetch\":{\"query\":[1,0]}},\"query\":{\"formula\":{\"mult\":[\"$score\","
         "{\"gauss_decay\":{\"x\":" GD(BERLIN) "}}]}}}", "prefetch.prefetch is not supported", NULL},
        {"{\"prefetch\":{\"query\":[1,0,0]},\"query\":{\"formula\":{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":"
         GD(BERLIN) "}}]}}}", "expected 2 dimensions, got 3", "VS_EDIM"},
        {"{\"prefetch\":{\"query\":[1,0],\"filter\":\"loc IS NULL\"},\"query\":{\"formula\":{\"mult\":[\"$score\","
         "{\"gauss_decay\":{\"x\":" GD(BERLIN) "}}]}},\"filter\":{\"must\":[]}}", "give both as JSON objects", NULL},
        {"{\"prefetch\":{\"query\":[1,0]},\"query\":{\"formula\":{\"mult\":[\"$score\",{\"gauss_decay\":{\"x\":"
         "{\"geo_distance\":{\"origin\":" BERLIN ",\"to\":\"a[x\"}}}}]}}}", "decay: key", "VS_EINVAL"},
    };
#undef PF
#undef GD
#undef BERLIN
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_resp r;
        http(p, "POST", "/collections/d/points/query", KEY, cases[i].body, 0, &r);
        const cJSON *stj = r.json ? cJSON_GetObjectItem(r.json, "status") : NULL;
        const cJSON *err = stj ? cJSON_GetObjectItem(stj, "error") : NULL;
        const cJSON *code = stj ? cJSON_GetObjectItem(stj, "code") : NULL;
        ASSERT_MSG(r.status == 400 && cJSON_IsString(err), "case %zu %s: %d %s", i, cases[i].body, r.status, r.body);
        ASSERT_MSG(strstr(err->valuestring, "Wrong input: ") == err->valuestring, "case %zu: %s", i, err->valuestring);
        ASSERT_MSG(strstr(err->valuestring, cases[i].msg), "case %zu: \"%s\" lacks \"%s\"", i, err->valuestring,
                   cases[i].msg);
        if (cases[i].code)
            ASSERT_MSG(cJSON_IsString(code) && !strcmp(code->valuestring, cases[i].code), "case %zu: code %s, want %s",
                       i, cJSON_IsString(code) ? code->valuestring : "(none)", cases[i].code);
        else
            ASSERT_MSG(!code, "case %zu: a code (%s) where the server refused by itself", i, code->valuestring);
        resp_free(&r);
    }
    /* in a batch the failing search is named */
    http_resp r;
    http(p, "POST", "/collections/d/points/query/batch", KEY,
         "{\"searches\":[{\"query\":[1,0]},{\"query\":{\"formula\":{\"div\":{}}}}]}", 0, &r);
    ASSERT_EQ(r.status, 400);
    ASSERT(strstr(r.body, "(searches[1])") && strstr(r.body, "\\\"div\\\" is not supported"));
    resp_free(&r);
    vs_server_stop(srv);
    vs_store_close(s);
}
