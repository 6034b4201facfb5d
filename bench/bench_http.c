/*
 * bench_http.c — the HTTP server (`vecstore serve`) under load, beside the same work done
 * in-process through the C API: how much a query costs over HTTP, and whether the
 * server's memory stays flat under a long mixed load.
 *
 *   ./build/bench_http [PATH/TO/vecstore]       (or VS_BENCH_VECSTORE; scripts/bench-http.sh)
 *
 * DATA
 *   A store at $VS_BENCH_DIR/http-store (default ~/.cache/vecstore-bench), collection
 *   "bench": VS_BENCH_HTTP_N (100000) x 128 float32, cosine, HNSW at the default
 *   settings (M 16, efConstruction 200), one sealed segment, fully indexed, payload
 *   {"cat": id mod 10}, ids 0..N-1. The vectors are Gaussian blobs around 100 centres
 *   (centres ~ N(0,1)^128, points = centre + 0.5 N(0,1)^128, bench_util.h's generator,
 *   fixed seeds); VS_BENCH_HTTP_Q (2000) queries from the same mixture. The store is
 *   built once and reused while its marker file (http-store.marker) matches. Each query
 *   is printed once as its JSON body (%.7g) and the in-process side searches with the
 *   floats parsed back from that text, so both sides search with identical vectors.
 *
 * STEPS
 *   1. In-process: Q single-threaded searches (k 10, default ef, no payload, no vector),
 *      a warm-up pass then a timed one: p50, p99, mean, QPS. Upserts into a scratch
 *      collection (same schema as the server creates from {"size":128,"distance":"Cosine"})
 *      in batches of 100 and of 1 point, on 1 and 8 threads: points/s.
 *   2. The store is closed and `vecstore serve STORE --port 0 --threads T --fsync P` is
 *      spawned (T = VS_BENCH_HTTP_THREADS, default 2; P = VS_BENCH_HTTP_FSYNC, default
 *      always, also the in-process store's policy).
 *   3. The ids of the first 50 queries over HTTP against the in-process ids (same graph,
 *      same ef: they should be identical; reported, not enforced).
 *   4. Search load from a client written here: one thread, non-blocking sockets and
 *      epoll, HTTP/1.1 keep-alive, closed loop (each connection sends its next request
 *      when the previous response is complete), Content-Length framing; every answer
 *      must be 200. POST /collections/bench/points/search {"vector":[…],"limit":10},
 *      cycling through the Q bodies, at 1, 8 and 64 connections: VS_BENCH_HTTP_WARMUP
 *      (1 s) of warm-up, then VS_BENCH_HTTP_SECONDS (15 s) measured: QPS, p50, p99,
 *      max, the CPU time client and server spent per request, and the cores each server
 *      thread used (libmicrohttpd's thread pool does not always spread the connections:
 *      when one worker accepted them all, the level measures one thread). With wrk on PATH it
 *      also runs wrk (1 thread, 64 connections, bench/http_search.lua: one fixed body)
 *      as a cross-check of the client. The floor: GET /healthz at 1 connection (no
 *      JSON, no search: loopback TCP, libmicrohttpd, the router, both processes'
 *      wake-ups), which splits the overhead into transport and JSON work.
 *   5. Upserts: PUT /collections/bench2/points?wait=true, batches of 100 and of 1, at 1
 *      and 8 connections, VS_BENCH_HTTP_UPSERT_N (20000) points per configuration or
 *      VS_BENCH_HTTP_SECONDS, whichever ends first, into a freshly created bench2 each
 *      time; points/s and the ratio to in-process.
 *   6. Soak (only with VS_BENCH_HTTP_SOAK_SECONDS, e.g. 600): 8 connections, 89 %
 *      searches of "bench", 10 % (VS_BENCH_HTTP_SOAK_WRITE_PCT) single-point upserts
 *      into a collection "soak", ids cycling over [0, VS_BENCH_HTTP_SOAK_IDS = 50000)
 *      (new points until the range is full, overwrites after: the data stops growing,
 *      while WAL, flushes, compaction and index builds keep running), 1 % scrolls of
 *      "bench"; every
 *      VS_BENCH_HTTP_SOAK_EVERY (10) s the server's VmRSS (/proc/PID/status), the
 *      window's QPS and latencies and the soak collection's points and memory (its
 *      vecstore.memory_bytes); first, last, max RSS and the growth over the last half,
 *      also net of the collection's own growth ("rest" = RSS - collection memory: what
 *      should stay flat, since new points legitimately add memory).
 *   7. SIGTERM; the server must exit with status 0.
 * The client and the server share the machine's cores (2 on the dev box): the client's
 * CPU per request is printed so that its share can be judged. A table on stdout and
 * bench/results/http.json. Exit status 1 if any request failed or the server did not
 * stop cleanly.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "vecstore.h"

#define DIM 128
#define K 10
#define CENTRES 100
#define SIGMA 0.5
#define NCHECK 50
#define MAX_SAMPLES 100000
#define STORE_VERSION 1 /* bump when the data or the build changes */

/* ------------------------------------------------------------ settings ---- */

static size_t g_n, g_q, g_upsert_n;
static double g_secs, g_warm, g_soak_secs, g_soak_every, g_soak_write;
static uint64_t g_soak_ids; /* the soak's upserts cycle over ids [0, g_soak_ids) */
static unsigned g_threads;
static const char *g_fsync;
static const char *g_vecstore;
static char g_dir[900], g_store[1100];
static pid_t g_server = -1;
static uint16_t g_port;

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_http: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (g_server > 0) {
        kill(g_server, SIGKILL);
        waitpid(g_server, NULL, 0);
    }
    exit(1);
}

static double env_num(const char *name, double dflt) {
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    double d = strtod(v, &end);
    if (*end || d < 0) die("%s: expected a non-negative number, got '%s'", name, v);
    return d;
}

/* ------------------------------------------------------------ data -------- */

static double unif01(void) { /* (0, 1) */
    return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void) {
    return sqrt(-2.0 * log(unif01())) * cos(6.283185307179586 * unif01());
}

static float g_centres[CENTRES * DIM];

static void make_centres(void) {
    g_rng = 0x9E3779B97F4A7C15ull ^ 0x4854545042454E43ull; /* "HTTPBENC" */
    for (size_t i = 0; i < CENTRES * DIM; i++) g_centres[i] = (float)gauss();
}

/* m rows from the mixture, continuing the stream *state. */
static void gen_mixture(float *out, size_t m, uint64_t *state) {
    uint64_t saved = g_rng;
    g_rng = *state;
    for (size_t i = 0; i < m; i++) {
        const float *c = g_centres + (rnd() % CENTRES) * DIM;
        for (int j = 0; j < DIM; j++) out[i * DIM + j] = c[j] + (float)(SIGMA * gauss());
    }
    *state = g_rng;
    g_rng = saved;
}

/* ------------------------------------------------------------ strings ----- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_reserve(sbuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) die("out of memory");
    b->p = p;
    b->cap = cap;
}

static void sb_put(sbuf *b, const char *s, size_t n) {
    sb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    sb_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* "[v0,v1,…]" with %.7g into b; the floats parsed back from that text (what the
 * server's JSON parser makes of it: strtod, then float) into back. */
static void vec_text(sbuf *b, const float *v, float *back) {
    sb_reserve(b, DIM * 16 + 2);
    b->p[b->len++] = '[';
    for (int j = 0; j < DIM; j++) {
        char *at = b->p + b->len;
        int n = snprintf(at, 16, "%.7g", (double)v[j]);
        back[j] = (float)strtod(at, NULL);
        b->len += (size_t)n;
        if (j + 1 < DIM) b->p[b->len++] = ',';
    }
    b->p[b->len++] = ']';
    b->p[b->len] = 0;
}

static void http_request(sbuf *out, const char *method, const char *path, const char *body, size_t blen) {
    out->len = 0;
    sb_printf(out, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n", method, path, g_port);
    if (body) sb_printf(out, "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    sb_puts(out, "\r\n");
    if (body) sb_put(out, body, blen);
}

/* Parses a response held in buf. Returns 1 when complete (status, body offset and
 * length, whether the server closes), 0 when more bytes are needed, -1 when malformed
 * or not framed by Content-Length. */
static int parse_response(const char *buf, size_t len, int *status, size_t *body_off, size_t *body_len,
                          int *closes) {
    const char *end = NULL;
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            end = buf + i + 1;
            break;
        }
    if (!end) return len > 65536 ? -1 : 0;
    if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0) return -1;
    int st = atoi(buf + 9);
    if (st < 100 || st > 599) return -1;
    long long clen = -1;
    int close_ = 0;
    const char *line = (const char *)memchr(buf, '\n', (size_t)(end - buf)) + 1;
    while (line < end - 2) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) return -1;
        if (!strncasecmp(line, "content-length:", 15))
            clen = strtoll(line + 15, NULL, 10);
        else if (!strncasecmp(line, "transfer-encoding:", 18))
            return -1; /* the server always sends Content-Length */
        else if (!strncasecmp(line, "connection:", 11)) {
            const char *v = line + 11;
            while (*v == ' ') v++;
            if (!strncasecmp(v, "close", 5)) close_ = 1;
        }
        line = eol + 1;
    }
    if (clen < 0) return -1;
    size_t hdr = (size_t)(end - buf);
    if (len < hdr + (size_t)clen) return 0;
    if (len > hdr + (size_t)clen) return -1; /* nothing was pipelined: extra bytes are wrong */
    *status = st;
    *body_off = hdr;
    *body_len = (size_t)clen;
    *closes = close_;
    return 1;
}

/* ------------------------------------------------------------ process ----- */

static long rss_kb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    fclose(f);
    return kb;
}

/* utime + stime of a process, seconds. */
static double proc_cpu_s(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    if (!p) return 0;
    unsigned long ut = 0, st = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of each thread of a process (at most max), with names. */
typedef struct thr_cpu {
    int tid;
    double cpu;
    char name[32];
} thr_cpu;

static int threads_cpu(pid_t pid, thr_cpu *out, int max) {
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        int tid = atoi(e->d_name);
        char p2[160], buf[1024];
        snprintf(p2, sizeof p2, "/proc/%d/task/%d/stat", (int)pid, tid);
        FILE *f = fopen(p2, "r");
        if (!f) continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        const char *open_ = strchr(buf, '('), *close_ = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        if (!open_ || !close_ ||
            sscanf(close_ + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
            continue;
        out[n].tid = tid;
        out[n].cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
        snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)(close_ - open_ - 1), open_ + 1);
        n++;
    }
    closedir(d);
    return n;
}

/* "name 0.97, name 0.03" : the cores each server thread used between two snapshots
 * (threads that used less than 0.02 left out). */
static void threads_busy(const thr_cpu *a, int na, const thr_cpu *b, int nb, double secs, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < nb; i++) {
        double before = 0;
        for (int j = 0; j < na; j++)
            if (a[j].tid == b[i].tid) before = a[j].cpu;
        double cores = (b[i].cpu - before) / secs;
        if (cores < 0.02 || len + 48 > cap) continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s %.2f", len ? ", " : "", b[i].name, cores);
    }
}

static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

static int g_server_out = -1;

static void server_start(void) {
    int pfd[2];
    if (pipe(pfd)) die("pipe: %s", strerror(errno));
    char threads[16];
    snprintf(threads, sizeof threads, "%u", g_threads);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execl(g_vecstore, g_vecstore, "serve", g_store, "--port", "0", "--threads", threads, "--fsync", g_fsync,
              (char *)NULL);
        fprintf(stderr, "bench_http: cannot run %s: %s\n", g_vecstore, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    g_server = pid;
    g_server_out = pfd[0];
    char line[128];
    size_t n = 0;
    double t0 = now_s();
    while (n < sizeof line - 1) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        int left = (int)((t0 + 60 - now_s()) * 1000);
        if (left <= 0 || poll(&p, 1, left) <= 0) die("the server did not print 'listening PORT' within 60 s");
        ssize_t r = read(pfd[0], line + n, 1);
        if (r <= 0) die("the server exited before listening (see its messages above)");
        if (line[n] == '\n') break;
        n++;
    }
    line[n] = 0;
    unsigned port;
    if (sscanf(line, "listening %u", &port) != 1 || !port || port > 65535)
        die("unexpected first line from the server: '%s'", line);
    g_port = (uint16_t)port;
}

/* SIGTERM and wait; returns the exit status (or -1: killed after 60 s, -2: a signal). */
static int server_stop(double *secs) {
    double t0 = now_s();
    kill(g_server, SIGTERM);
    int st = 0;
    for (;;) {
        pid_t r = waitpid(g_server, &st, WNOHANG);
        if (r == g_server) break;
        if (now_s() - t0 > 60) {
            kill(g_server, SIGKILL);
            waitpid(g_server, &st, 0);
            g_server = -1;
            return -1;
        }
        struct timespec nap = {0, 10 * 1000000L};
        nanosleep(&nap, NULL);
    }
    *secs = now_s() - t0;
    g_server = -1;
    close(g_server_out);
    if (WIFSIGNALED(st)) return -2;
    return WEXITSTATUS(st);
}

/* ------------------------------------------------------------ sockets ----- */

static int connect_server(int nonblock) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket: %s", strerror(errno));
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) die("connect to 127.0.0.1:%u: %s", g_port, strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (nonblock) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* One request on a fresh blocking connection; returns the status, the body in *resp
 * (malloc'd, NUL-terminated; may be NULL). */
static int http_simple(const char *method, const char *path, const char *body, char **resp) {
    sbuf req = {0}, in = {0};
    http_request(&req, method, path, body, body ? strlen(body) : 0);
    int fd = connect_server(0);
    struct timeval tv = {120, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (size_t off = 0; off < req.len;) {
        ssize_t w = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);
        if (w <= 0) die("%s %s: send: %s", method, path, strerror(errno));
        off += (size_t)w;
    }
    int st = 0, closes;
    size_t bo, bl;
    for (;;) {
        sb_reserve(&in, 65536);
        ssize_t r = recv(fd, in.p + in.len, in.cap - in.len - 1, 0);
        if (r <= 0) die("%s %s: no complete response (%s)", method, path, r ? strerror(errno) : "closed");
        in.len += (size_t)r;
        int pr = parse_response(in.p, in.len, &st, &bo, &bl, &closes);
        if (pr < 0) die("%s %s: malformed response", method, path);
        if (pr) break;
    }
    close(fd);
    if (resp) {
        *resp = malloc(bl + 1);
        memcpy(*resp, in.p + bo, bl);
        (*resp)[bl] = 0;
    }
    free(req.p);
    free(in.p);
    return st;
}

/* ------------------------------------------------------------ load client - */

enum { KIND_SEARCH, KIND_UPSERT, KIND_SCROLL, NKINDS };
static const char *const kind_names[NKINDS] = {"search", "upsert", "scroll"};
enum { MODE_SEARCH, MODE_UPSERT, MODE_SOAK, MODE_PING };

typedef struct conn {
    int fd, events, busy, kind;
    size_t npoints;
    sbuf own; /* a request built for this connection */
    const char *out;
    size_t out_len, out_off;
    char *in;
    size_t in_len, in_cap;
    double t0;
} conn;

typedef struct lat_vec {
    double *v; /* ms */
    size_t n, cap;
} lat_vec;

static void lat_add(lat_vec *l, double ms) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) die("out of memory");
    }
    l->v[l->n++] = ms;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank on a sorted array. */
static double pct(const double *s, size_t n, double p) {
    if (!n) return 0;
    size_t i = (size_t)ceil(p * (double)n);
    return s[i ? i - 1 : 0];
}

typedef struct lat_sum {
    double p50, p99, max, mean;
    size_t n;
} lat_sum;

static lat_sum summarize(lat_vec *l) {
    lat_sum s = {0, 0, 0, 0, l->n};
    if (!l->n) return s;
    qsort(l->v, l->n, sizeof *l->v, cmp_d);
    double sum = 0;
    for (size_t i = 0; i < l->n; i++) sum += l->v[i];
    s.mean = sum / (double)l->n;
    s.p50 = pct(l->v, l->n, 0.50);
    s.p99 = pct(l->v, l->n, 0.99);
    s.max = l->v[l->n - 1];
    return s;
}

/* Prebuilt requests and data shared by the phases. */
static char **g_search_body;    /* Q search bodies */
static char **g_search_req;     /* the same as complete HTTP requests (once the port is known) */
static size_t *g_search_len;
static char g_ping_req[128];    /* GET /healthz: the transport's floor */
static char **g_pool_txt;       /* P vector texts "[…]" for upserts */
static float *g_pool;           /* the same, parsed back */
static size_t g_pool_n;

typedef struct load {
    int mode, ep, nconns, stopping, inflight;
    conn *c;
    double t_start, t_rec, t_end;
    /* searches: complete HTTP requests, cycled (load_init: g_search_req) */
    char **reqs;
    size_t *req_len, nreqs, qnext;
    /* upserts */
    const char *coll;
    size_t batch;
    uint64_t next_id, end_id;
    /* the recorded window */
    lat_vec lat[NKINDS];
    uint64_t done[NKINDS], points_done;
    double t_last;
    uint64_t errors, reconnects;
    sbuf body;
} load;

static void conn_events(load *L, conn *c, int ev) {
    if (c->events == ev) return;
    struct epoll_event e = {.events = (uint32_t)ev, .data.ptr = c};
    if (epoll_ctl(L->ep, EPOLL_CTL_MOD, c->fd, &e)) die("epoll_ctl: %s", strerror(errno));
    c->events = ev;
}

static void conn_open(load *L, conn *c) {
    c->fd = connect_server(1);
    c->events = EPOLLIN;
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(L->ep, EPOLL_CTL_ADD, c->fd, &e)) die("epoll_ctl: %s", strerror(errno));
}

static void conn_close(load *L, conn *c) {
    if (c->fd < 0) return;
    epoll_ctl(L->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

static const char *const g_cats[10] = {"{\"cat\":0}", "{\"cat\":1}", "{\"cat\":2}", "{\"cat\":3}",
                                      "{\"cat\":4}", "{\"cat\":5}", "{\"cat\":6}", "{\"cat\":7}",
                                      "{\"cat\":8}", "{\"cat\":9}"};

/* {"points":[…]} of ids first..first+m-1 (vectors from the pool, payload {"cat": id mod 10}). */
static void upsert_body(sbuf *b, uint64_t first, size_t m) {
    b->len = 0;
    sb_puts(b, "{\"points\":[");
    for (size_t i = 0; i < m; i++) {
        uint64_t id = first + i;
        sb_printf(b, "%s{\"id\":%llu,\"vector\":", i ? "," : "", (unsigned long long)id);
        sb_puts(b, g_pool_txt[id % g_pool_n]);
        sb_printf(b, ",\"payload\":{\"cat\":%d}}", (int)(id % 10));
    }
    sb_puts(b, "]}");
}

/* The next request of connection c; 0 when there is none (the run is over). */
static int next_request(load *L, conn *c) {
    int kind = KIND_SEARCH;
    if (L->mode == MODE_UPSERT) {
        if (L->next_id >= L->end_id) return 0;
        kind = KIND_UPSERT;
    } else if (L->mode == MODE_SOAK) {
        uint64_t r = rnd() % 100;
        kind = r < 1 ? KIND_SCROLL : (double)r < 1 + g_soak_write ? KIND_UPSERT : KIND_SEARCH;
    }
    c->kind = kind;
    c->npoints = 0;
    if (L->mode == MODE_PING) {
        c->out = g_ping_req;
        c->out_len = strlen(g_ping_req);
        return 1;
    }
    if (kind == KIND_SEARCH) {
        size_t i = L->qnext++ % L->nreqs;
        c->out = L->reqs[i];
        c->out_len = L->req_len[i];
        return 1;
    }
    char path[160];
    if (kind == KIND_UPSERT) {
        size_t m = L->batch;
        if (L->mode == MODE_UPSERT && L->end_id - L->next_id < m) m = (size_t)(L->end_id - L->next_id);
        /* The soak overwrites a bounded id range once it has filled it, so that its
         * data stops growing and the RSS answers the question of leaks. */
        upsert_body(&L->body, L->mode == MODE_SOAK ? L->next_id % g_soak_ids : L->next_id, m);
        L->next_id += m;
        c->npoints = m;
        snprintf(path, sizeof path, "/collections/%s/points?wait=true", L->coll);
    } else {
        L->body.len = 0;
        sb_printf(&L->body, "{\"limit\":10,\"offset\":%llu,\"with_payload\":true}",
                  (unsigned long long)(rnd() % g_n));
        snprintf(path, sizeof path, "/collections/bench/points/scroll");
    }
    http_request(&c->own, kind == KIND_UPSERT ? "PUT" : "POST", path, L->body.p, L->body.len);
    c->out = c->own.p;
    c->out_len = c->own.len;
    return 1;
}

static void conn_fail(load *L, conn *c, const char *why);

static void send_some(load *L, conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_events(L, c, EPOLLOUT);
            return;
        }
        if (w <= 0) {
            conn_fail(L, c, strerror(errno));
            return;
        }
        c->out_off += (size_t)w;
    }
    conn_events(L, c, EPOLLIN);
}

static void start_request(load *L, conn *c) {
    if (L->stopping || !next_request(L, c)) return;
    c->busy = 1;
    L->inflight++;
    c->in_len = 0;
    c->out_off = 0;
    c->t0 = now_s();
    send_some(L, c);
}

static void note_error(load *L, const char *what, const char *body, size_t len) {
    L->errors++;
    if (L->errors <= 5)
        fprintf(stderr, "bench_http: request failed: %s%s%.*s\n", what, len ? ": " : "",
                (int)(len > 300 ? 300 : len), body ? body : "");
}

static void conn_fail(load *L, conn *c, const char *why) {
    if (c->busy) {
        c->busy = 0;
        L->inflight--;
    }
    note_error(L, why, NULL, 0);
    conn_close(L, c);
    if (L->stopping) return;
    L->reconnects++;
    conn_open(L, c);
    start_request(L, c);
}

static void finish(load *L, conn *c, int status, const char *body, size_t blen, int closes) {
    double t = now_s(), ms = (t - c->t0) * 1e3;
    c->busy = 0;
    L->inflight--;
    if (status != 200) {
        char what[32];
        snprintf(what, sizeof what, "%s: HTTP %d", kind_names[c->kind], status);
        note_error(L, what, body, blen);
    } else if (t >= L->t_rec && t <= L->t_end) {
        lat_add(&L->lat[c->kind], ms);
        L->done[c->kind]++;
        L->points_done += c->npoints;
        L->t_last = t;
    }
    if (closes) {
        conn_close(L, c);
        if (L->stopping) return;
        L->reconnects++;
        conn_open(L, c);
    }
    start_request(L, c);
}

/* Reads what has arrived (one recv unless the buffer filled up: epoll is level-triggered,
 * so anything left is reported again, and the usual second recv that only says EAGAIN
 * is saved), then completes the request if its response is whole. */
static void on_readable(load *L, conn *c) {
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 65536;
            c->in = realloc(c->in, c->in_cap);
            if (!c->in) die("out of memory");
        }
        ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (r <= 0) {
            conn_fail(L, c, r ? strerror(errno) : "connection closed by the server");
            return;
        }
        if (!c->busy) {
            conn_fail(L, c, "bytes from the server with no request outstanding");
            return;
        }
        c->in_len += (size_t)r;
        if (c->in_len < c->in_cap) break;
    }
    if (!c->busy) return;
    int st, closes;
    size_t bo, bl;
    int pr = parse_response(c->in, c->in_len, &st, &bo, &bl, &closes);
    if (pr < 0)
        conn_fail(L, c, "malformed response");
    else if (pr)
        finish(L, c, st, c->in + bo, bl, closes);
}

typedef void (*tick_fn)(load *L, double t, void *ctx);

static void load_init(load *L, int mode, int nconns) {
    memset(L, 0, sizeof *L);
    L->mode = mode;
    L->nconns = nconns;
    L->reqs = g_search_req;
    L->req_len = g_search_len;
    L->nreqs = g_q;
    L->ep = epoll_create1(0);
    if (L->ep < 0) die("epoll_create1: %s", strerror(errno));
    L->c = calloc((size_t)nconns, sizeof *L->c);
    if (!L->c) die("out of memory");
    for (int i = 0; i < nconns; i++) L->c[i].fd = -1;
}

static void load_free(load *L) {
    for (int i = 0; i < L->nconns; i++) {
        conn_close(L, &L->c[i]);
        free(L->c[i].own.p);
        free(L->c[i].in);
    }
    for (int k = 0; k < NKINDS; k++) free(L->lat[k].v);
    free(L->c);
    free(L->body.p);
    close(L->ep);
}

/* Runs the closed loop: warm s of warm-up, then secs recorded; new requests stop at the
 * end (or when the workload has none left), the ones in flight are completed. */
static void load_run(load *L, double warm, double secs, tick_fn tick, void *ctx) {
    L->t_start = now_s();
    L->t_rec = L->t_start + warm;
    L->t_end = L->t_rec + secs;
    for (int i = 0; i < L->nconns; i++) conn_open(L, &L->c[i]);
    for (int i = 0; i < L->nconns; i++) start_request(L, &L->c[i]);
    struct epoll_event ev[128];
    while (L->inflight > 0) {
        int n = epoll_wait(L->ep, ev, 128, 10);
        if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            conn *c = ev[i].data.ptr;
            if (c->fd < 0) continue;
            if (ev[i].events & EPOLLOUT)
                send_some(L, c);
            else if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(L, c);
        }
        double t = now_s();
        if (!L->stopping && t >= L->t_end) L->stopping = 1;
        if (L->stopping && t > L->t_end + 60) die("requests still in flight 60 s after the end of a run");
        if (tick) tick(L, t, ctx);
    }
    for (int i = 0; i < L->nconns; i++) conn_close(L, &L->c[i]);
}

/* ------------------------------------------------------------ store ------- */

static void coll_die(vs_coll *c, int rc, const char *what) {
    die("%s: %s (%s)", what, vs_errname(rc), c ? vs_coll_errmsg(c) : "");
}

static int parse_fsync(const char *s) {
    if (!strcmp(s, "always")) return VS_FSYNC_ALWAYS;
    if (!strcmp(s, "batch")) return VS_FSYNC_BATCH;
    if (!strcmp(s, "off")) return VS_FSYNC_OFF;
    die("VS_BENCH_HTTP_FSYNC: expected always, batch or off, got '%s'", s);
    return 0;
}

static vs_schema *bench_schema(void) {
    vs_schema *sc;
    if (vs_schema_new(&sc) || vs_schema_add_vector(sc, "", DIM, VS_METRIC_COSINE) ||
        vs_schema_set_hnsw(sc, NULL, 0, 0, 0))
        die("schema");
    return sc;
}

/* Whether the store at g_store holds the collection this run wants (else rebuilt). */
static int store_ok(const char *marker, const char *want) {
    char got[256] = "";
    FILE *f = fopen(marker, "r");
    if (!f) return 0;
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = 0;
    if (strcmp(got, want)) return 0;
    vs_store *s;
    vs_coll *c;
    vs_coll_info in;
    char msg[256];
    vs_store_options o;
    vs_store_options_init(&o);
    o.create_if_missing = 0;
    if (vs_store_open(g_store, &o, &s, msg, sizeof msg)) return 0;
    int ok = vs_coll_open(s, "bench", &c) == VS_OK;
    if (ok) {
        ok = vs_coll_info_get(c, &in) == VS_OK && in.points == g_n && in.pending_segments == 0 &&
             in.deleted == 0;
        vs_coll_close(c);
    }
    vs_store_close(s);
    return ok;
}

static void build_store(void) {
    char marker[1200], want[256];
    snprintf(marker, sizeof marker, "%s/http-store.marker", g_dir);
    snprintf(want, sizeof want, "bench_http store v%d n=%zu dim=%d metric=cosine centres=%d sigma=%g hnsw=default\n",
             STORE_VERSION, g_n, DIM, CENTRES, SIGMA);
    if (store_ok(marker, want)) {
        printf("# store: reusing %s (%zu points, indexed)\n", g_store, g_n);
        return;
    }
    printf("# store: building %s (%zu x %d, HNSW) ...\n", g_store, g_n, DIM);
    fflush(stdout);
    unlink(marker);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_store);
    if (system(cmd) != 0) die("cannot remove %s", g_store);
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = VS_FSYNC_OFF; /* loading is not measured */
    o.flush_bytes = VS_FLUSH_BYTES_MAX;
    vs_store *s;
    char msg[256];
    if (vs_store_open(g_store, &o, &s, msg, sizeof msg)) die("%s", msg);
    vs_schema *sc = bench_schema();
    int rc = vs_coll_create(s, "bench", sc);
    vs_schema_free(sc);
    vs_coll *c = NULL;
    if (rc || (rc = vs_coll_open(s, "bench", &c))) coll_die(c, rc, "create bench");
    enum { B = 1000 };
    float *v = malloc(B * DIM * sizeof *v);
    vs_id *ids = malloc(B * sizeof *ids);
    const char *pl[B];
    uint64_t state = 0xB5AD4ECEDA1CE2A9ull;
    double t0 = now_s();
    for (size_t a = 0; a < g_n; a += B) {
        size_t m = g_n - a < B ? g_n - a : B;
        gen_mixture(v, m, &state);
        for (size_t i = 0; i < m; i++) {
            ids[i] = vs_id_num(a + i);
            pl[i] = g_cats[(a + i) % 10];
        }
        vs_vectors col = {NULL, v, DIM};
        vs_upsert_batch b = {m, ids, &col, 1, pl, NULL};
        if ((rc = vs_upsert(c, &b))) coll_die(c, rc, "upsert");
    }
    double t_load = now_s() - t0;
    t0 = now_s();
    if ((rc = vs_coll_flush(c)) || (rc = vs_coll_wait_indexed(c, -1))) coll_die(c, rc, "flush and index");
    printf("# store: loaded in %.1f s, indexed in %.1f s more\n", t_load, now_s() - t0);
    free(v);
    free(ids);
    vs_coll_close(c);
    vs_store_close(s);
    FILE *f = fopen(marker, "w");
    if (!f || fputs(want, f) < 0 || fclose(f)) die("cannot write %s", marker);
}

/* ------------------------------------------------------------ in-process -- */

typedef struct inproc {
    lat_sum lat;
    double qps;
    vs_id ids[NCHECK][K];
    size_t nids[NCHECK];
} inproc;

static float *g_qvec; /* the Q queries, as parsed back from their JSON text */

/* Heavier queries: what the same HTTP overhead is worth when the search itself costs
 * more (a wider beam; exact search over all rows). */
#define NWEIGHTS 2
static const struct weight {
    const char *name, *params; /* params: the HTTP request's "params" */
    uint32_t ef, flags;
} g_weights[NWEIGHTS] = {
    {"hnsw_ef 512", "{\"hnsw_ef\":512}", 512, 0},
    {"exact", "{\"exact\":true}", 0, VS_QUERY_EXACT},
};

/* The first nq queries, one at a time, with beam ef and query flags (0, 0: defaults):
 * a warm-up pass, then the measured one (latencies, QPS, the first NCHECK id lists). */
static void inproc_search(vs_coll *c, uint32_t ef, uint32_t flags, size_t nq, inproc *out) {
    lat_vec l = {0};
    vs_query q;
    vs_query_init(&q);
    q.dim = DIM;
    q.k = K;
    q.with = 0;
    q.ef = ef;
    q.flags = flags;
    double t_all = 0;
    for (int pass = 0; pass < 2; pass++) {
        double t_pass = now_s();
        for (size_t i = 0; i < nq; i++) {
            vs_result *r;
            q.vectors = g_qvec + i * DIM;
            double t0 = now_s();
            int rc = vs_query_run(c, &q, &r);
            double dt = now_s() - t0;
            if (rc) coll_die(c, rc, "query");
            if (pass == 1) {
                lat_add(&l, dt * 1e3);
                if (i < NCHECK) {
                    out->nids[i] = vs_result_rows(r, 0);
                    for (size_t j = 0; j < out->nids[i] && j < K; j++) out->ids[i][j] = vs_result_id(r, 0, j);
                }
            }
            vs_result_free(r);
        }
        t_all = now_s() - t_pass;
    }
    out->qps = (double)nq / t_all;
    out->lat = summarize(&l);
    free(l.v);
}

typedef struct up_run {
    vs_coll *c;
    size_t batch, end;
    atomic_size_t next, done;
    double deadline;
    double t_last[8]; /* each thread's last completion */
} up_run;

typedef struct up_arg {
    up_run *u;
    int i;
} up_arg;

static void *upsert_thread(void *arg) {
    up_run *u = ((up_arg *)arg)->u;
    int me = ((up_arg *)arg)->i;
    float *v = malloc(u->batch * DIM * sizeof *v);
    vs_id *ids = malloc(u->batch * sizeof *ids);
    const char **pl = malloc(u->batch * sizeof *pl);
    for (;;) {
        size_t a = atomic_fetch_add(&u->next, u->batch);
        if (a >= u->end || now_s() >= u->deadline) break;
        size_t m = u->end - a < u->batch ? u->end - a : u->batch;
        for (size_t i = 0; i < m; i++) {
            ids[i] = vs_id_num(a + i);
            pl[i] = g_cats[(a + i) % 10];
            memcpy(v + i * DIM, g_pool + ((a + i) % g_pool_n) * DIM, DIM * sizeof *v);
        }
        vs_vectors col = {NULL, v, DIM};
        vs_upsert_batch b = {m, ids, &col, 1, pl, NULL};
        int rc = vs_upsert(u->c, &b);
        if (rc) coll_die(u->c, rc, "upsert (scratch)");
        atomic_fetch_add(&u->done, m);
        u->t_last[me] = now_s();
    }
    free(v);
    free(ids);
    free(pl);
    return NULL;
}

/* Points/s of upserts of `batch` points on `threads` threads into a fresh collection. */
static double inproc_upsert(vs_store *s, size_t batch, int threads, size_t *points) {
    vs_store_drop(s, "scratch");
    vs_schema *sc = bench_schema();
    int rc = vs_coll_create(s, "scratch", sc);
    vs_schema_free(sc);
    vs_coll *c = NULL;
    if (rc || (rc = vs_coll_open(s, "scratch", &c))) coll_die(c, rc, "create scratch");
    up_run u;
    memset(&u, 0, sizeof u);
    u.c = c;
    u.batch = batch;
    u.end = g_upsert_n;
    atomic_init(&u.next, 0);
    atomic_init(&u.done, 0);
    double t0 = now_s();
    u.deadline = t0 + g_secs;
    pthread_t th[8];
    up_arg args[8];
    for (int i = 0; i < threads; i++) {
        u.t_last[i] = t0;
        args[i] = (up_arg){&u, i};
        if (pthread_create(&th[i], NULL, upsert_thread, &args[i])) die("pthread_create");
    }
    double t_last = t0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        if (u.t_last[i] > t_last) t_last = u.t_last[i];
    }
    *points = atomic_load(&u.done);
    double rate = t_last > t0 ? (double)*points / (t_last - t0) : 0;
    vs_coll_close(c);
    if ((rc = vs_store_drop(s, "scratch"))) die("drop scratch: %s", vs_store_errmsg(s));
    return rate;
}

/* ------------------------------------------------------------ soak -------- */

typedef struct soak_sample {
    double t;
    long rss_kb;
    double qps, p50, p99;
    uint64_t upserts, points, coll_mem;
} soak_sample;

typedef struct soak_ctx {
    soak_sample *s;
    size_t n;
    double next;
} soak_ctx;

static uint64_t json_u64(const cJSON *o, const char *a, const char *b) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? (uint64_t)x->valuedouble : 0;
}

static void soak_tick(load *L, double t, void *arg) {
    soak_ctx *S = arg;
    if (t < S->next || S->n >= MAX_SAMPLES) return;
    S->next += g_soak_every;
    soak_sample *p = &S->s[S->n++];
    p->t = t - L->t_rec;
    p->rss_kb = rss_kb(g_server);
    lat_sum ls = summarize(&L->lat[KIND_SEARCH]);
    uint64_t nreq = L->done[KIND_SEARCH] + L->done[KIND_UPSERT] + L->done[KIND_SCROLL];
    double win = S->n > 1 ? p->t - S->s[S->n - 2].t : p->t;
    p->qps = win > 0 ? (double)nreq / win : 0;
    p->p50 = ls.p50;
    p->p99 = ls.p99;
    p->upserts = L->done[KIND_UPSERT];
    char *resp = NULL;
    if (http_simple("GET", "/collections/soak", NULL, &resp) == 200) {
        cJSON *j = cJSON_Parse(resp);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "result");
        p->points = json_u64(r, "points_count", NULL);
        p->coll_mem = json_u64(r, "vecstore", "memory_bytes");
        cJSON_Delete(j);
    } else {
        note_error(L, "GET /collections/soak", resp, resp ? strlen(resp) : 0);
    }
    free(resp);
    printf("  %7.0f s  RSS %7.1f MiB (rest %7.1f)  %6.0f req/s  search p50 %6.3f ms p99 %7.3f ms  soak points %8llu"
           " (%6.1f MiB)  errors %llu\n",
           p->t, (double)p->rss_kb / 1024, ((double)p->rss_kb * 1024 - (double)p->coll_mem) / 1048576, p->qps,
           p->p50, p->p99, (unsigned long long)p->points, (double)p->coll_mem / 1048576, (unsigned long long)L->errors);
    fflush(stdout);
    for (int k = 0; k < NKINDS; k++) {
        L->lat[k].n = 0;
        L->done[k] = 0;
    }
    L->points_done = 0;
}

/* ------------------------------------------------------------ wrk --------- */

typedef struct wrk_res {
    int ran;
    double rps, p50, p99, max, avg;
    long non2xx, sock_errors;
} wrk_res;

static double wrk_time_ms(const char *s) {
    double v = strtod(s, NULL);
    const char *u = s + strspn(s, "0123456789.");
    if (!strncmp(u, "us", 2)) return v / 1e3;
    if (!strncmp(u, "ms", 2)) return v;
    if (!strncmp(u, "s", 1)) return v * 1e3;
    if (!strncmp(u, "m", 1)) return v * 60e3;
    return v;
}

static void run_wrk(int conns, wrk_res *w) {
    memset(w, 0, sizeof *w);
    if (system("command -v wrk >/dev/null 2>&1") != 0) {
        printf("  (wrk is not on PATH: cross-check skipped)\n");
        return;
    }
    if (access("bench/http_search.lua", R_OK)) {
        printf("  (bench/http_search.lua not found (run from the repository root): wrk cross-check skipped)\n");
        return;
    }
    char body[1200], cmd[2000];
    snprintf(body, sizeof body, "%s/http-search-body.json", g_dir);
    FILE *f = fopen(body, "w");
    if (!f || fputs(g_search_body[0], f) < 0 || fclose(f)) die("cannot write %s", body);
    setenv("VS_WRK_BODY", body, 1);
    snprintf(cmd, sizeof cmd,
             "wrk -t1 -c%d -d%ds --latency -s bench/http_search.lua http://127.0.0.1:%u/collections/bench/points/search 2>&1",
             conns, (int)ceil(g_secs), g_port);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p) return;
    char line[512];
    int in_dist = 0;
    while (fgets(line, sizeof line, p)) {
        printf("    | %s", line);
        char a[64], c[64], d[64];
        if (sscanf(line, " Latency %63s %63s %63s", a, c, d) == 3) {
            w->avg = wrk_time_ms(a);
            w->max = wrk_time_ms(d);
        }
        if (strstr(line, "Latency Distribution")) in_dist = 1;
        if (in_dist && sscanf(line, " 50%% %63s", a) == 1) w->p50 = wrk_time_ms(a);
        if (in_dist && sscanf(line, " 99%% %63s", a) == 1) w->p99 = wrk_time_ms(a);
        if (sscanf(line, "Requests/sec: %lf", &w->rps) == 1) w->ran = 1;
        long x1, x2, x3, x4;
        if (sscanf(line, " Non-2xx or 3xx responses: %ld", &x1) == 1) w->non2xx = x1;
        if (sscanf(line, " Socket errors: connect %ld, read %ld, write %ld, timeout %ld", &x1, &x2, &x3, &x4) == 4)
            w->sock_errors = x1 + x2 + x3 + x4;
    }
    int st = pclose(p);
    if (st != 0) printf("  (wrk exited with status %d)\n", st);
}

/* ------------------------------------------------------------ main -------- */

typedef struct level {
    char threads[256]; /* cores used per server thread */
    int conns;
    double qps, cpu_client_us, cpu_server_us;
    lat_sum lat;
    long rss_kb;
} level;

typedef struct upcfg {
    size_t batch;
    int conns;
    double inproc_rate, http_rate;
    size_t inproc_points, http_points;
    lat_sum http_lat;
} upcfg;

static void model_name(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            const char *v = strchr(line, ':');
            if (v) {
                v++;
                while (*v == ' ') v++;
                snprintf(out, cap, "%.*s", (int)strcspn(v, "\n"), v);
            }
            break;
        }
    fclose(f);
}

static void coll_reset(const char *name) {
    char path[128], *resp = NULL;
    snprintf(path, sizeof path, "/collections/%s", name);
    int st = http_simple("DELETE", path, NULL, &resp);
    if (st != 200 && st != 404) die("DELETE %s: HTTP %d %s", path, st, resp ? resp : "");
    free(resp);
    st = http_simple("PUT", path, "{\"vectors\":{\"size\":128,\"distance\":\"Cosine\"}}", &resp);
    if (st != 200) die("PUT %s: HTTP %d %s", path, st, resp ? resp : "");
    free(resp);
}

static void coll_delete(const char *name) {
    char path[128], *resp = NULL;
    snprintf(path, sizeof path, "/collections/%s", name);
    int st = http_simple("DELETE", path, NULL, &resp);
    if (st != 200) die("DELETE %s: HTTP %d %s", path, st, resp ? resp : "");
    free(resp);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    g_n = (size_t)env_num("VS_BENCH_HTTP_N", 100000);
    g_q = (size_t)env_num("VS_BENCH_HTTP_Q", 2000);
    g_secs = env_num("VS_BENCH_HTTP_SECONDS", 15);
    g_warm = env_num("VS_BENCH_HTTP_WARMUP", 1);
    g_upsert_n = (size_t)env_num("VS_BENCH_HTTP_UPSERT_N", 20000);
    g_soak_secs = env_num("VS_BENCH_HTTP_SOAK_SECONDS", 0);
    g_soak_every = env_num("VS_BENCH_HTTP_SOAK_EVERY", 10);
    g_soak_write = env_num("VS_BENCH_HTTP_SOAK_WRITE_PCT", 10);
    g_soak_ids = (uint64_t)env_num("VS_BENCH_HTTP_SOAK_IDS", 50000);
    if (g_soak_ids < 1) die("VS_BENCH_HTTP_SOAK_IDS: at least 1");
    if (g_soak_write > 99) die("VS_BENCH_HTTP_SOAK_WRITE_PCT: at most 99");
    g_threads = (unsigned)env_num("VS_BENCH_HTTP_THREADS", 2);
    g_fsync = getenv("VS_BENCH_HTTP_FSYNC") ? getenv("VS_BENCH_HTTP_FSYNC") : "always";
    int fsync_policy = parse_fsync(g_fsync);
    if (g_n < K || g_q < 1 || g_secs <= 0 || g_upsert_n < 1 || g_soak_every <= 0)
        die("VS_BENCH_HTTP_N >= %d, VS_BENCH_HTTP_Q, _SECONDS, _UPSERT_N and _SOAK_EVERY > 0 please", K);
    g_vecstore = argc > 1 ? argv[1] : getenv("VS_BENCH_VECSTORE");
    if (!g_vecstore || access(g_vecstore, X_OK))
        die("usage: bench_http PATH/TO/vecstore (or VS_BENCH_VECSTORE): the server binary%s%s",
            g_vecstore ? " is not executable: " : "", g_vecstore ? g_vecstore : "");
    const char *bdir = getenv("VS_BENCH_DIR"), *home = getenv("HOME");
    if (bdir)
        snprintf(g_dir, sizeof g_dir, "%s", bdir);
    else
        snprintf(g_dir, sizeof g_dir, "%s/.cache/vecstore-bench", home ? home : "/tmp");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_dir);
    if (system(cmd) != 0) die("cannot create %s", g_dir);
    snprintf(g_store, sizeof g_store, "%s/http-store", g_dir);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    char model[256];
    model_name(model, sizeof model);
    printf("# bench_http: n=%zu dim=%d cosine HNSW(default) queries=%zu k=%d  %g s per level after %g s warm-up\n",
           g_n, DIM, g_q, K, g_secs, g_warm);
    printf("# machine: %ld CPUs, %s; server: %s --threads %u --fsync %s\n", ncpu, model, g_vecstore, g_threads,
           g_fsync);
    printf("# NOTE: the load client (1 thread) and the server share these %ld CPUs; the client's own CPU\n"
           "#       time per request is shown, and it is part of every HTTP latency below.\n", ncpu);

    /* Data the phases share: the queries' bodies (and their floats), the upsert pool. */
    make_centres();
    build_store();
    g_qvec = malloc(g_q * DIM * sizeof *g_qvec);
    float *raw = malloc((g_q > 4096 ? g_q : 4096) * DIM * sizeof *raw);
    uint64_t qstate = 0x51E7A1C0FFEE1234ull;
    gen_mixture(raw, g_q, &qstate);
    g_search_body = malloc(g_q * sizeof *g_search_body);
    sbuf body = {0}, req = {0};
    for (size_t i = 0; i < g_q; i++) {
        body.len = 0;
        sb_puts(&body, "{\"vector\":");
        vec_text(&body, raw + i * DIM, g_qvec + i * DIM);
        sb_puts(&body, ",\"limit\":10}");
        g_search_body[i] = strdup(body.p);
    }
    g_pool_n = g_upsert_n < 20000 ? g_upsert_n : 20000;
    if (g_pool_n < 1000) g_pool_n = 1000;
    g_pool = malloc(g_pool_n * DIM * sizeof *g_pool);
    g_pool_txt = malloc(g_pool_n * sizeof *g_pool_txt);
    uint64_t pstate = 0x0DDBA11CAFEF00Dull;
    for (size_t a = 0; a < g_pool_n; a += 4096) {
        size_t m = g_pool_n - a < 4096 ? g_pool_n - a : 4096;
        gen_mixture(raw, m, &pstate);
        for (size_t i = 0; i < m; i++) {
            body.len = 0;
            vec_text(&body, raw + i * DIM, g_pool + (a + i) * DIM);
            g_pool_txt[a + i] = strdup(body.p);
        }
    }
    free(raw);

    /* 1. In-process. */
    vs_store_options o;
    vs_store_options_init(&o);
    o.fsync = fsync_policy;
    vs_store *s;
    char msg[256];
    if (vs_store_open(g_store, &o, &s, msg, sizeof msg)) die("%s", msg);
    vs_store_drop(s, "scratch"); /* leftovers of an interrupted run */
    vs_store_drop(s, "bench2");
    vs_store_drop(s, "soak");
    vs_coll *c = NULL;
    int rc = vs_coll_open(s, "bench", &c);
    if (rc) coll_die(c, rc, "open bench");
    inproc ip;
    memset(&ip, 0, sizeof ip);
    printf("== in-process (one thread, vs_query_run, %zu queries after one warm-up pass)\n", g_q);
    inproc_search(c, 0, 0, g_q, &ip);
    size_t nweight_q = g_q < 300 ? g_q : 300;
    lat_sum w_in[NWEIGHTS], w_http[NWEIGHTS];
    for (int w = 0; w < NWEIGHTS; w++) {
        inproc wip;
        inproc_search(c, g_weights[w].ef, g_weights[w].flags, nweight_q, &wip);
        w_in[w] = wip.lat;
    }
    vs_coll_close(c);
    printf("  search: %.0f QPS  p50 %.3f ms  p99 %.3f ms  mean %.3f ms  max %.3f ms\n", ip.qps, ip.lat.p50,
           ip.lat.p99, ip.lat.mean, ip.lat.max);
    for (int w = 0; w < NWEIGHTS; w++)
        printf("  search, %-11s: p50 %.3f ms  p99 %.3f ms  mean %.3f ms (%zu queries)\n", g_weights[w].name,
               w_in[w].p50, w_in[w].p99, w_in[w].mean, nweight_q);
    upcfg up[4] = {{.batch = 100, .conns = 1}, {.batch = 100, .conns = 8}, {.batch = 1, .conns = 1}, {.batch = 1, .conns = 8}};
    for (int i = 0; i < 4; i++) {
        up[i].inproc_rate = inproc_upsert(s, up[i].batch, up[i].conns, &up[i].inproc_points);
        printf("  upsert batch %3zu, %d thread%s: %8.0f points/s (%zu points, fsync %s)\n", up[i].batch, up[i].conns,
               up[i].conns > 1 ? "s" : " ", up[i].inproc_rate, up[i].inproc_points, g_fsync);
    }
    vs_store_close(s);

    /* 2. The server. */
    server_start();
    printf("== server: pid %d, port %u, RSS %.1f MiB at start\n", (int)g_server, g_port,
           (double)rss_kb(g_server) / 1024);
    g_search_req = malloc(g_q * sizeof *g_search_req);
    g_search_len = malloc(g_q * sizeof *g_search_len);
    for (size_t i = 0; i < g_q; i++) {
        http_request(&req, "POST", "/collections/bench/points/search", g_search_body[i], strlen(g_search_body[i]));
        g_search_req[i] = strdup(req.p);
        g_search_len[i] = req.len;
    }
    free(req.p);
    free(body.p);
    uint64_t total_errors = 0;

    /* 3. Same answers. */
    size_t same = 0, overlap = 0, total = 0, ncheck = g_q < NCHECK ? g_q : NCHECK;
    for (size_t i = 0; i < ncheck; i++) {
        char *resp = NULL;
        int st = http_simple("POST", "/collections/bench/points/search", g_search_body[i], &resp);
        if (st != 200) {
            fprintf(stderr, "bench_http: check query %zu: HTTP %d %s\n", i, st, resp ? resp : "");
            total_errors++;
            free(resp);
            continue;
        }
        cJSON *j = cJSON_Parse(resp);
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result"), *e;
        uint64_t got[K];
        size_t ng = 0;
        cJSON_ArrayForEach(e, res) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
            if (ng < K && cJSON_IsNumber(id)) got[ng++] = (uint64_t)id->valuedouble;
        }
        cJSON_Delete(j);
        free(resp);
        int eq = ng == ip.nids[i];
        for (size_t a = 0; a < ng; a++) {
            if (eq && got[a] != ip.ids[i][a].num) eq = 0;
            for (size_t bb = 0; bb < ip.nids[i]; bb++) overlap += got[a] == ip.ids[i][bb].num;
        }
        same += (size_t)eq;
        total += ip.nids[i];
    }
    double agree = ncheck ? (double)same / (double)ncheck : 1, ovl = total ? (double)overlap / (double)total : 1;
    printf("== HTTP vs in-process ids, first %zu queries: %zu/%zu identical top-%d lists (%.3f), id overlap %.4f%s\n",
           ncheck, same, ncheck, K, agree, ovl, same == ncheck ? "" : "  <-- NOT identical");

    /* 4. Search load. */
    static const int levels_c[3] = {1, 8, 64};
    level lv[3];
    printf("== search over HTTP (closed loop, keep-alive; %g s warm-up, %g s measured per level)\n", g_warm, g_secs);
    for (int li = 0; li < 3; li++) {
        load L;
        load_init(&L, MODE_SEARCH, levels_c[li]);
        thr_cpu ta[64], tb[64];
        int na = threads_cpu(g_server, ta, 64);
        double cs0 = self_cpu_s(), ss0 = proc_cpu_s(g_server), w0 = now_s();
        load_run(&L, g_warm, g_secs, NULL, NULL);
        double cs1 = self_cpu_s(), ss1 = proc_cpu_s(g_server), w1 = now_s();
        int nb = threads_cpu(g_server, tb, 64);
        threads_busy(ta, na, tb, nb, w1 - w0, lv[li].threads, sizeof lv[li].threads);
        /* CPU over warm-up + measured time, per request answered in that time (approx.:
         * the warm-up's requests are counted at the measured rate). */
        double span = g_warm + g_secs;
        uint64_t nreq = L.done[KIND_SEARCH];
        double per = nreq ? 1e6 / ((double)nreq * span / g_secs) : 0;
        lv[li].conns = levels_c[li];
        lv[li].qps = (double)nreq / g_secs;
        lv[li].lat = summarize(&L.lat[KIND_SEARCH]);
        lv[li].cpu_client_us = (cs1 - cs0) * per;
        lv[li].cpu_server_us = (ss1 - ss0) * per;
        lv[li].rss_kb = rss_kb(g_server);
        printf("  %2d conn: %8.0f QPS  p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms  cpu/req client %5.1f us server %5.1f us"
               "  errors %llu\n           server threads (cores): %s\n",
               lv[li].conns, lv[li].qps, lv[li].lat.p50, lv[li].lat.p99, lv[li].lat.max, lv[li].cpu_client_us,
               lv[li].cpu_server_us, (unsigned long long)L.errors, lv[li].threads);
        total_errors += L.errors;
        load_free(&L);
    }
    /* The floor: what a request costs with no JSON and no search (GET /healthz). */
    level ping;
    memset(&ping, 0, sizeof ping);
    {
        snprintf(g_ping_req, sizeof g_ping_req, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", g_port);
        load L;
        load_init(&L, MODE_PING, 1);
        double secs = g_secs < 5 ? g_secs : 5;
        load_run(&L, g_warm, secs, NULL, NULL);
        ping.conns = 1;
        ping.qps = (double)L.done[KIND_SEARCH] / secs;
        ping.lat = summarize(&L.lat[KIND_SEARCH]);
        printf("  floor, GET /healthz, 1 conn: %8.0f QPS  p50 %7.3f ms  p99 %7.3f ms  (the transport and the request\n"
               "    machinery without JSON or search: HTTP search p50 %.3f = floor %.3f + search/JSON work %.3f)\n",
               ping.qps, ping.lat.p50, ping.lat.p99, lv[0].lat.p50, ping.lat.p50, lv[0].lat.p50 - ping.lat.p50);
        total_errors += L.errors;
        load_free(&L);
    }
    /* The overhead by query weight: the same requests with heavier params, 1 connection. */
    printf("== HTTP overhead by query weight (1 connection, %zu queries cycled, %g s each)\n", nweight_q,
           g_secs < 10 ? g_secs : 10);
    printf("  %-12s %12s %12s %12s %10s\n", "query", "in-proc p50", "HTTP p50", "overhead", "ratio");
    printf("  %-12s %9.3f ms %9.3f ms %9.3f ms %+9.0f%%\n", "default ef", ip.lat.p50, lv[0].lat.p50,
           lv[0].lat.p50 - ip.lat.p50, 100 * (lv[0].lat.p50 - ip.lat.p50) / ip.lat.p50);
    {
        char **alt = malloc(nweight_q * sizeof *alt);
        size_t *alt_len = malloc(nweight_q * sizeof *alt_len);
        sbuf wb = {0}, wr2 = {0};
        for (int w = 0; w < NWEIGHTS; w++) {
            for (size_t i = 0; i < nweight_q; i++) {
                const char *b0 = g_search_body[i];
                wb.len = 0;
                sb_printf(&wb, "%.*s,\"params\":%s}", (int)(strlen(b0) - 1), b0, g_weights[w].params);
                http_request(&wr2, "POST", "/collections/bench/points/search", wb.p, wb.len);
                alt[i] = strdup(wr2.p);
                alt_len[i] = wr2.len;
            }
            load L;
            load_init(&L, MODE_SEARCH, 1);
            L.reqs = alt;
            L.req_len = alt_len;
            L.nreqs = nweight_q;
            load_run(&L, g_warm, g_secs < 10 ? g_secs : 10, NULL, NULL);
            w_http[w] = summarize(&L.lat[KIND_SEARCH]);
            total_errors += L.errors;
            load_free(&L);
            for (size_t i = 0; i < nweight_q; i++) free(alt[i]);
            printf("  %-12s %9.3f ms %9.3f ms %9.3f ms %+9.0f%%\n", g_weights[w].name, w_in[w].p50, w_http[w].p50,
                   w_http[w].p50 - w_in[w].p50, 100 * (w_http[w].p50 - w_in[w].p50) / w_in[w].p50);
        }
        free(alt);
        free(alt_len);
        free(wb.p);
        free(wr2.p);
    }

    wrk_res wr;
    printf("== wrk cross-check (1 thread, 64 connections, one fixed search body)\n");
    thr_cpu wa[64], wb[64];
    int nwa = threads_cpu(g_server, wa, 64);
    double ww0 = now_s();
    run_wrk(64, &wr);
    char wthreads[256];
    threads_busy(wa, nwa, wb, threads_cpu(g_server, wb, 64), now_s() - ww0, wthreads, sizeof wthreads);
    if (wr.ran) {
        printf("  server threads (cores) under wrk: %s\n", wthreads);
        printf("  wrk 64 conn: %8.0f QPS  p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms  (ours: %.0f QPS, p50 %.3f, p99 %.3f)\n",
               wr.rps, wr.p50, wr.p99, wr.max, lv[2].qps, lv[2].lat.p50, lv[2].lat.p99);
        if (wr.non2xx || wr.sock_errors) {
            printf("  wrk saw %ld non-2xx answers and %ld socket errors\n", wr.non2xx, wr.sock_errors);
            total_errors += (uint64_t)(wr.non2xx + wr.sock_errors);
        }
    }

    /* 5. Upserts. */
    printf("== upsert over HTTP (PUT /collections/bench2/points?wait=true, fresh collection each, up to %zu points or %g s)\n",
           g_upsert_n, g_secs);
    for (int i = 0; i < 4; i++) {
        coll_reset("bench2");
        load L;
        load_init(&L, MODE_UPSERT, up[i].conns);
        L.coll = "bench2";
        L.batch = up[i].batch;
        L.next_id = 0;
        L.end_id = g_upsert_n;
        load_run(&L, 0, g_secs, NULL, NULL);
        up[i].http_points = (size_t)L.points_done;
        up[i].http_rate = L.t_last > L.t_start ? (double)L.points_done / (L.t_last - L.t_start) : 0;
        up[i].http_lat = summarize(&L.lat[KIND_UPSERT]);
        printf("  batch %3zu, %d conn: %8.0f points/s (%zu points; request p50 %.3f ms p99 %.3f ms)  in-process %8.0f"
               "  HTTP/in-process %.2f  errors %llu\n",
               up[i].batch, up[i].conns, up[i].http_rate, up[i].http_points, up[i].http_lat.p50, up[i].http_lat.p99,
               up[i].inproc_rate, up[i].inproc_rate > 0 ? up[i].http_rate / up[i].inproc_rate : 0,
               (unsigned long long)L.errors);
        total_errors += L.errors;
        load_free(&L);
    }
    coll_delete("bench2");
    printf("  (the server handles at most %u requests at once (--threads %u): 8 connections give its group commit\n"
           "   at most %u concurrent writers, where the in-process runs have 8)\n", g_threads, g_threads, g_threads);

    /* 6. Soak. */
    soak_ctx S = {0};
    double soak_up_rate = 0;
    if (g_soak_secs > 0) {
        printf("== soak: %g s at 8 connections (%g%% search, %g%% upsert of 1 point into 'soak', ids cycling over"
               " [0, %llu), 1%% scroll), sample every %g s\n", g_soak_secs, 99 - g_soak_write, g_soak_write,
               (unsigned long long)g_soak_ids, g_soak_every);
        coll_reset("soak");
        S.s = calloc(MAX_SAMPLES, sizeof *S.s);
        load L;
        load_init(&L, MODE_SOAK, 8);
        L.coll = "soak";
        L.batch = 1;
        L.next_id = 0;
        L.end_id = UINT64_MAX;
        S.s[0].t = 0;
        S.s[0].rss_kb = rss_kb(g_server);
        S.n = 1;
        printf("  (rest = RSS - the soak collection's memory_bytes, an estimate; in parentheses after the points)\n");
        printf("  %7.0f s  RSS %7.1f MiB (before)\n", 0.0, (double)S.s[0].rss_kb / 1024);
        S.next = now_s() + g_soak_every;
        load_run(&L, 0, g_soak_secs, soak_tick, &S);
        soak_up_rate = (double)L.next_id / g_soak_secs;
        total_errors += L.errors;
        load_free(&L);
        coll_delete("soak");
    }
    long rss_end = rss_kb(g_server);

    /* 7. Stop. */
    double stop_s = 0;
    int exit_status = server_stop(&stop_s);
    printf("== server stopped by SIGTERM in %.2f s, exit status %d%s\n", stop_s, exit_status,
           exit_status == 0 ? "" : "  <-- expected 0");

    /* Summary. */
    double ovh_p50 = (lv[0].lat.p50 - ip.lat.p50) / ip.lat.p50, ovh_mean = (lv[0].lat.mean - ip.lat.mean) / ip.lat.mean;
    printf("\n%-28s %10s %10s %10s %10s %10s\n", "search (k=10, default ef)", "QPS", "p50 ms", "p99 ms", "max ms",
           "mean ms");
    printf("%-28s %10.0f %10.3f %10.3f %10.3f %10.3f\n", "in-process, 1 thread", ip.qps, ip.lat.p50, ip.lat.p99,
           ip.lat.max, ip.lat.mean);
    for (int li = 0; li < 3; li++) {
        char name[64];
        snprintf(name, sizeof name, "HTTP, %d connection%s", lv[li].conns, lv[li].conns > 1 ? "s" : "");
        printf("%-28s %10.0f %10.3f %10.3f %10.3f %10.3f\n", name, lv[li].qps, lv[li].lat.p50, lv[li].lat.p99,
               lv[li].lat.max, lv[li].lat.mean);
    }
    printf("%-28s %10.0f %10.3f %10.3f %10.3f %10.3f\n", "HTTP GET /healthz, 1 conn", ping.qps, ping.lat.p50,
           ping.lat.p99, ping.lat.max, ping.lat.mean);
    if (wr.ran)
        printf("%-28s %10.0f %10.3f %10.3f %10.3f %10.3f\n", "wrk, 64 connections", wr.rps, wr.p50, wr.p99, wr.max,
               wr.avg);
    printf("HTTP overhead at 1 connection: p50 %+.1f%% (%+.3f ms), mean %+.1f%% (%+.3f ms)  [goal <= 15%%]\n",
           100 * ovh_p50, lv[0].lat.p50 - ip.lat.p50, 100 * ovh_mean, lv[0].lat.mean - ip.lat.mean);
    printf("\n%-28s %12s %12s %8s\n", "upsert (fsync policy)", "HTTP pts/s", "in-proc", "ratio");
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "batch %zu, %d conn (%s)", up[i].batch, up[i].conns, g_fsync);
        printf("%-28s %12.0f %12.0f %8.2f\n", name, up[i].http_rate, up[i].inproc_rate,
               up[i].inproc_rate > 0 ? up[i].http_rate / up[i].inproc_rate : 0);
    }
    long rss_first = 0, rss_last = 0, rss_max = 0, rss_mid = 0;
    double rest_growth = 0;
    if (S.n > 1) {
        rss_first = S.s[0].rss_kb;
        rss_last = S.s[S.n - 1].rss_kb;
        rss_mid = S.s[(S.n - 1) / 2].rss_kb;
        for (size_t i = 0; i < S.n; i++)
            if (S.s[i].rss_kb > rss_max) rss_max = S.s[i].rss_kb;
        uint64_t pts_mid = S.s[(S.n - 1) / 2].points, pts_last = S.s[S.n - 1].points;
        double mem_mid = (double)S.s[(S.n - 1) / 2].coll_mem, mem_last = (double)S.s[S.n - 1].coll_mem;
        rest_growth = ((double)(rss_last - rss_mid) * 1024 - (mem_last - mem_mid)) / 1048576;
        printf("\nsoak RSS: first %.1f MiB, last %.1f MiB, max %.1f MiB; over the last half %+.1f MiB (%+.1f%%),"
               " while the soak collection grew by %llu points (%+.1f MiB of collection memory):"
               " %+.1f MiB not explained by the data\n",
               (double)rss_first / 1024, (double)rss_last / 1024, (double)rss_max / 1024,
               (double)(rss_last - rss_mid) / 1024, rss_mid ? 100.0 * (double)(rss_last - rss_mid) / (double)rss_mid : 0,
               (unsigned long long)(pts_last - pts_mid), (mem_last - mem_mid) / 1048576, rest_growth);
    }
    printf("server RSS at the end: %.1f MiB; requests failed: %llu\n", (double)rss_end / 1024,
           (unsigned long long)total_errors);
    printf("(client and server shared the same %ld CPUs)\n", ncpu);

    /* JSON. */
    cJSON *out = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(out, "machine");
    cJSON_AddNumberToObject(m, "nproc", (double)ncpu);
    cJSON_AddStringToObject(m, "model_name", model);
    cJSON_AddStringToObject(m, "note", "the load client (1 thread) and the server share the same CPUs");
    cJSON *cf = cJSON_AddObjectToObject(out, "config");
    cJSON_AddNumberToObject(cf, "n", (double)g_n);
    cJSON_AddNumberToObject(cf, "dims", DIM);
    cJSON_AddStringToObject(cf, "metric", "cosine");
    cJSON_AddNumberToObject(cf, "k", K);
    cJSON_AddNumberToObject(cf, "queries", (double)g_q);
    cJSON_AddNumberToObject(cf, "seconds_per_level", g_secs);
    cJSON_AddNumberToObject(cf, "warmup_seconds", g_warm);
    cJSON_AddNumberToObject(cf, "upsert_points", (double)g_upsert_n);
    cJSON_AddNumberToObject(cf, "server_threads", g_threads);
    cJSON_AddStringToObject(cf, "fsync", g_fsync);
    cJSON_AddNumberToObject(cf, "soak_seconds", g_soak_secs);
    cJSON *jip = cJSON_AddObjectToObject(out, "inprocess_search");
    cJSON_AddNumberToObject(jip, "qps", ip.qps);
    cJSON_AddNumberToObject(jip, "p50_ms", ip.lat.p50);
    cJSON_AddNumberToObject(jip, "p99_ms", ip.lat.p99);
    cJSON_AddNumberToObject(jip, "mean_ms", ip.lat.mean);
    cJSON_AddNumberToObject(jip, "max_ms", ip.lat.max);
    cJSON *jw = cJSON_AddArrayToObject(out, "overhead_by_query_weight");
    for (int w = 0; w < NWEIGHTS; w++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "query", g_weights[w].name);
        cJSON_AddNumberToObject(r, "inprocess_p50_ms", w_in[w].p50);
        cJSON_AddNumberToObject(r, "http_p50_ms", w_http[w].p50);
        cJSON_AddNumberToObject(r, "overhead_pct", 100 * (w_http[w].p50 - w_in[w].p50) / w_in[w].p50);
        cJSON_AddItemToArray(jw, r);
    }
    cJSON *jl = cJSON_AddArrayToObject(out, "http_search");
    for (int li = 0; li < 3; li++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "connections", lv[li].conns);
        cJSON_AddNumberToObject(r, "qps", lv[li].qps);
        cJSON_AddNumberToObject(r, "p50_ms", lv[li].lat.p50);
        cJSON_AddNumberToObject(r, "p99_ms", lv[li].lat.p99);
        cJSON_AddNumberToObject(r, "max_ms", lv[li].lat.max);
        cJSON_AddNumberToObject(r, "mean_ms", lv[li].lat.mean);
        cJSON_AddNumberToObject(r, "requests", (double)lv[li].lat.n);
        cJSON_AddNumberToObject(r, "client_cpu_us_per_request", lv[li].cpu_client_us);
        cJSON_AddNumberToObject(r, "server_cpu_us_per_request", lv[li].cpu_server_us);
        cJSON_AddNumberToObject(r, "server_rss_bytes", (double)lv[li].rss_kb * 1024);
        cJSON_AddStringToObject(r, "server_threads_cores", lv[li].threads);
        cJSON_AddItemToArray(jl, r);
    }
    cJSON *jp = cJSON_AddObjectToObject(out, "http_floor_healthz_1conn");
    cJSON_AddNumberToObject(jp, "qps", ping.qps);
    cJSON_AddNumberToObject(jp, "p50_ms", ping.lat.p50);
    cJSON_AddNumberToObject(jp, "p99_ms", ping.lat.p99);
    cJSON_AddNumberToObject(jp, "mean_ms", ping.lat.mean);
    cJSON *jo = cJSON_AddObjectToObject(out, "http_overhead_1conn");
    cJSON_AddNumberToObject(jo, "p50", ovh_p50);
    cJSON_AddNumberToObject(jo, "mean", ovh_mean);
    cJSON_AddNumberToObject(jo, "goal", 0.15);
    cJSON *ja = cJSON_AddObjectToObject(out, "agreement");
    cJSON_AddNumberToObject(ja, "queries", (double)ncheck);
    cJSON_AddNumberToObject(ja, "identical_fraction", agree);
    cJSON_AddNumberToObject(ja, "id_overlap", ovl);
    if (wr.ran) {
        cJSON *jw = cJSON_AddObjectToObject(out, "wrk");
        cJSON_AddNumberToObject(jw, "connections", 64);
        cJSON_AddNumberToObject(jw, "threads", 1);
        cJSON_AddNumberToObject(jw, "qps", wr.rps);
        cJSON_AddNumberToObject(jw, "p50_ms", wr.p50);
        cJSON_AddNumberToObject(jw, "p99_ms", wr.p99);
        cJSON_AddNumberToObject(jw, "max_ms", wr.max);
        cJSON_AddNumberToObject(jw, "mean_ms", wr.avg);
        cJSON_AddNumberToObject(jw, "non2xx", (double)wr.non2xx);
        cJSON_AddNumberToObject(jw, "socket_errors", (double)wr.sock_errors);
        cJSON_AddStringToObject(jw, "server_threads_cores", wthreads);
    }
    cJSON *ju = cJSON_AddArrayToObject(out, "upsert");
    for (int i = 0; i < 4; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "batch", (double)up[i].batch);
        cJSON_AddNumberToObject(r, "connections", up[i].conns);
        cJSON_AddNumberToObject(r, "http_points_per_s", up[i].http_rate);
        cJSON_AddNumberToObject(r, "http_points", (double)up[i].http_points);
        cJSON_AddNumberToObject(r, "http_request_p50_ms", up[i].http_lat.p50);
        cJSON_AddNumberToObject(r, "http_request_p99_ms", up[i].http_lat.p99);
        cJSON_AddNumberToObject(r, "inprocess_points_per_s", up[i].inproc_rate);
        cJSON_AddNumberToObject(r, "inprocess_points", (double)up[i].inproc_points);
        cJSON_AddNumberToObject(r, "ratio", up[i].inproc_rate > 0 ? up[i].http_rate / up[i].inproc_rate : 0);
        cJSON_AddItemToArray(ju, r);
    }
    if (S.n > 1) {
        cJSON *js = cJSON_AddObjectToObject(out, "soak");
        cJSON_AddNumberToObject(js, "seconds", g_soak_secs);
        cJSON_AddNumberToObject(js, "upserts_per_s", soak_up_rate);
        cJSON_AddNumberToObject(js, "rss_first_bytes", (double)rss_first * 1024);
        cJSON_AddNumberToObject(js, "rss_last_bytes", (double)rss_last * 1024);
        cJSON_AddNumberToObject(js, "rss_max_bytes", (double)rss_max * 1024);
        cJSON_AddNumberToObject(js, "write_percent", g_soak_write);
        cJSON_AddNumberToObject(js, "rss_growth_last_half_bytes", (double)(rss_last - rss_mid) * 1024);
        cJSON_AddNumberToObject(js, "rss_growth_last_half_net_of_collection_bytes", rest_growth * 1048576);
        cJSON *arr = cJSON_AddArrayToObject(js, "samples");
        for (size_t i = 0; i < S.n; i++) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "t_s", S.s[i].t);
            cJSON_AddNumberToObject(r, "rss_bytes", (double)S.s[i].rss_kb * 1024);
            cJSON_AddNumberToObject(r, "qps", S.s[i].qps);
            cJSON_AddNumberToObject(r, "search_p50_ms", S.s[i].p50);
            cJSON_AddNumberToObject(r, "search_p99_ms", S.s[i].p99);
            cJSON_AddNumberToObject(r, "soak_points", (double)S.s[i].points);
            cJSON_AddNumberToObject(r, "soak_collection_memory_bytes", (double)S.s[i].coll_mem);
            cJSON_AddItemToArray(arr, r);
        }
    }
    cJSON_AddNumberToObject(out, "server_rss_end_bytes", (double)rss_end * 1024);
    cJSON_AddNumberToObject(out, "errors", (double)total_errors);
    cJSON_AddNumberToObject(out, "server_exit_status", exit_status);
    char *txt = cJSON_Print(out);
    mkdir("bench/results", 0755);
    FILE *f = fopen("bench/results/http.json", "w");
    if (f) {
        fputs(txt, f);
        fputc('\n', f);
        fclose(f);
        printf("wrote bench/results/http.json\n");
    } else {
        printf("(could not write bench/results/http.json from this directory)\n");
    }
    cJSON_free(txt);
    cJSON_Delete(out);
    free(S.s);
    return total_errors || exit_status ? 1 : 0;
}
