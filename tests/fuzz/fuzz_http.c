/*
 * fuzz_http.c — a sequence of HTTP requests → the server's router and handlers
 * (vs_server_handle: everything but the socket), over one store that every input starts
 * empty.
 *
 * Input: requests separated by lines "===". A request is a first line
 * "METHOD URL [KEY]" and the body after it. The server requires the key "k" ("r" may
 * only read); a request without KEY carries "k", KEY "-" carries none.
 *
 * Invariants: vs_server_handle answers every request (VS_OK, or VS_ENOMEM); the status is
 * a real HTTP status and never a 5xx (bad input is the client's error: 4xx); a JSON
 * answer parses and has Qdrant's envelope ("result", or "status": {"error"}); nothing
 * leaks (the server and its store live for the whole run; stopped at exit).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "os/file.h"
#include "vecstore.h"
#include "vecstore_server.h"

static vs_store *g_store;
static vs_server *g_srv;
static char g_dir[64];

/* At exit: the server stopped, the store closed, its directory removed (every run would
 * otherwise leave one in /dev/shm). */
static void teardown(void) {
    vs_server_stop(g_srv);
    vs_store_close(g_store);
    vs__dir_remove_all(g_dir);
}

static void setup(void) {
    snprintf(g_dir, sizeof g_dir, "%s/vs-fuzz-http-XXXXXX", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
    if (!mkdtemp(g_dir)) abort();
    char path[128];
    snprintf(path, sizeof path, "%s/db", g_dir);
    vs_store_options so;
    vs_store_options_init(&so);
    so.fsync = VS_FSYNC_OFF;
    so.background = 0;
    char msg[256];
    if (vs_store_open(path, &so, &g_store, msg, sizeof msg)) abort();
    vs_server_options o;
    vs_server_options_init(&o);
    o.port = 0; /* it listens on a loopback port nobody uses: requests come through vs_server_handle */
    o.threads = 1;
    o.api_key = "k";
    o.read_only_key = "r";
    o.max_body_bytes = 1 << 20;
    if (vs_server_start(g_store, &o, &g_srv, msg, sizeof msg)) abort();
    atexit(teardown);
}

/* Every input starts from an empty store and no snapshots. */
static void reset(void) {
    char **names = NULL;
    size_t n = 0;
    if (vs_store_list(g_store, &names, &n) == VS_OK) {
        for (size_t i = 0; i < n; i++) vs_store_drop(g_store, names[i]);
        vs_strlist_free(names, n);
    }
    char dir[160];
    snprintf(dir, sizeof dir, "%s/db/snapshots", g_dir);
    vs__dir_remove_all(dir);
}

static void check(int status, const char *ct, const char *body, size_t len) {
    if (status < 200 || status > 599) abort();
    if (status >= 500) {
        fprintf(stderr, "fuzz_http: %d %.*s\n", status, (int)(len > 400 ? 400 : len), body);
        abort();
    }
    if (strcmp(ct, "application/json")) return; /* a snapshot download */
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j) abort();
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    if (status >= 400) {
        if (!cJSON_GetObjectItemCaseSensitive(st, "error")) abort();
    } else if (!cJSON_GetObjectItemCaseSensitive(j, "result") && !cJSON_IsString(st) &&
               !cJSON_GetObjectItemCaseSensitive(j, "title")) { /* GET / has no envelope */
        abort();
    }
    cJSON_Delete(j);
}

static void one(const char *req, size_t len) {
    const char *nl = memchr(req, '\n', len);
    size_t first = nl ? (size_t)(nl - req) : len;
    if (first > 2000) return;
    char line[2048], method[16], url[2048], key[64];
    memcpy(line, req, first);
    line[first] = 0;
    key[0] = 0;
    if (sscanf(line, "%15s %2047s %63s", method, url, key) < 2) return;
    char hk[80];
    const char *headers[2] = {NULL, NULL};
    if (!key[0]) headers[0] = "api-key: k";
    else if (strcmp(key, "-")) {
        snprintf(hk, sizeof hk, "api-key: %s", key);
        headers[0] = hk;
    }
    const char *body = nl ? nl + 1 : req + len;
    size_t blen = (size_t)(req + len - body);
    int status = 0;
    char *out = NULL;
    size_t olen = 0;
    const char *ct = NULL;
    int rc = vs_server_handle(g_srv, method, url, headers, body, blen, &status, &out, &olen, &ct);
    if (getenv("VS_FUZZ_HTTP_TRACE")) /* for whoever writes seeds: what each request got */
        fprintf(stderr, "%s %s -> %d %.*s\n", method, url, status, (int)(olen > 160 ? 160 : olen), out ? out : "");
    if (rc == VS_OK) check(status, ct, out, olen);
    else if (rc != VS_ENOMEM) abort();
    vs_server_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_srv) setup();
    const char *p = (const char *)data, *end = p + size;
    int n = 0;
    while (p < end && n++ < 32) {
        const char *sep = memmem(p, (size_t)(end - p), "\n===\n", 5);
        const char *stop = sep ? sep : end;
        one(p, (size_t)(stop - p));
        p = sep ? sep + 5 : end;
    }
    reset();
    return 0;
}
