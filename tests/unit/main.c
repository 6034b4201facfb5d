/*
 * main.c — the unit-test runner (see test.h).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "os/file.h"
#include "query/regex.h"
#include "test.h"
#include "util/alloc.h"

typedef struct {
    const char *suite, *name;
    vt_fn fn;
} vt_case;

static vt_case g_cases[1024];
static int g_ncases;
static jmp_buf g_jmp;
static char g_msg[2048];
static char g_tmp[PATH_MAX];
static unsigned g_seed;
static char g_cli[PATH_MAX];
static const char *g_current; /* "suite.name" of the running test */

void vt_register(const char *suite, const char *name, vt_fn fn) {
    if (g_ncases < (int)(sizeof g_cases / sizeof g_cases[0]))
        g_cases[g_ncases++] = (vt_case){suite, name, fn};
}

void vt_fail(const char *file, int line, const char *fmt, ...) {
    int n = snprintf(g_msg, sizeof g_msg, "%s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg + n, sizeof g_msg - (size_t)n, fmt, ap);
    va_end(ap);
    longjmp(g_jmp, 1);
}

const char *vt_tmpdir(void) { return g_tmp; }

const char *vt_path(const char *name) {
    static char bufs[8][PATH_MAX];
    static int i;
    char *b = bufs[i++ & 7];
    snprintf(b, PATH_MAX, "%s/%s", g_tmp, name);
    return b;
}

unsigned vt_seed(void) { return g_seed; }
void vt_note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("# %s: ", g_current ? g_current : "?");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

int vt_long(void) {
    const char *s = getenv("VS_TEST_LONG");
    return s && *s && *s != '0';
}
const char *vt_cli(void) { return g_cli; }

int vt_exec_child(const char *test, const char *env_path) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (env_path) setenv("VT_CHILD_PATH", env_path, 1);
        execl("/proc/self/exe", "vstest", "--exec", test, (char *)NULL);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A test that crashes takes the runner with it and prints no FAIL line; say which test
 * it was and with which seed before dying, so a crash seen once in CI can be replayed.
 * Only async-signal-safe calls here. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
static void on_fatal(int sig) {
    char buf[512];
    size_t n = 0;
    const char *parts[] = {"FATAL signal in ", g_current ? g_current : "?", " (seed ", NULL};
    for (int i = 0; parts[i]; i++)
        for (const char *p = parts[i]; *p && n < sizeof buf - 32; p++) buf[n++] = *p;
    char digits[16];
    int nd = 0;
    unsigned v = g_seed;
    do digits[nd++] = (char)('0' + v % 10); while ((v /= 10) && nd < 15);
    while (nd) buf[n++] = digits[--nd];
    buf[n++] = ')';
    buf[n++] = '\n';
    ssize_t w = write(STDOUT_FILENO, buf, n);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}
#endif

static int run_one(const vt_case *c) {
    static char cur[256];
    snprintf(cur, sizeof cur, "%s.%s", c->suite, c->name);
    g_current = cur;
    volatile int ok = 1;
    if (setjmp(g_jmp) == 0)
        c->fn();
    else
        ok = 0;
    return ok;
}

int main(int argc, char **argv) {
    const char *suite = NULL, *pattern = NULL, *exec_name = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--suite") && i + 1 < argc)
            suite = argv[++i];
        else if (!strcmp(argv[i], "--exec") && i + 1 < argc)
            exec_name = argv[++i];
        else if (!strcmp(argv[i], "--list"))
            list = 1;
        else
            pattern = argv[i];
    }
    /* cJSON's allocations count too, so its leaks fail tests like ours do. */
    cJSON_Hooks hooks = {vs__malloc, vs__free};
    cJSON_InitHooks(&hooks);
    const char *seed = getenv("VS_TEST_SEED");
    g_seed = seed ? (unsigned)strtoul(seed, NULL, 10) : (unsigned)time(NULL);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    /* Not under the sanitizers: they install their own handlers and report better. */
    signal(SIGSEGV, on_fatal);
    signal(SIGBUS, on_fatal);
    signal(SIGFPE, on_fatal);
    signal(SIGILL, on_fatal);
#endif
    /* The CLI binary sits next to this one in the build tree. */
    char self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl > 0) {
        self[sl] = 0;
        char *slash = strrchr(self, '/');
        if (slash) *slash = 0;
        snprintf(g_cli, sizeof g_cli, "%s/vecstore", self);
    }
    int passed = 0, failed = 0;
    for (int i = 0; i < g_ncases; i++) {
        vt_case *c = &g_cases[i];
        /* Suites named "_x" are helpers run only in a child process (--exec). */
        if (c->suite[0] == '_' && !exec_name) continue;
        if (exec_name) {
            char full[256];
            snprintf(full, sizeof full, "%s.%s", c->suite, c->name);
            if (strcmp(full, exec_name)) continue;
            return run_one(c) ? 0 : 1;
        }
        if (suite && strcmp(suite, c->suite)) continue;
        if (pattern && !strstr(c->name, pattern)) continue;
        if (list) {
            printf("%s.%s\n", c->suite, c->name);
            continue;
        }
        const char *base = getenv("TMPDIR");
        snprintf(g_tmp, sizeof g_tmp, "%s/vstest-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(g_tmp)) {
            perror("mkdtemp");
            return 1;
        }
        int64_t live0 = vs__alloc_live();
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int ok = run_one(c);
        vs__alloc_fail_after(0);
        vs__io_fault_disarm();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        /* The regex cache keeps unheld compiled patterns alive across tests by design;
         * empty it so they are not counted as this test's leak (held ones still are). */
        vs__regex_cache_clear();
        int64_t live1 = vs__alloc_live();
        if (ok && live1 != live0) {
            snprintf(g_msg, sizeof g_msg, "leak: %lld allocations not freed",
                     (long long)(live1 - live0));
            ok = 0;
        }
        if (ok) {
            passed++;
            printf("ok   %s.%s (%.0f ms)\n", c->suite, c->name, ms);
        } else {
            failed++;
            printf("FAIL %s.%s (seed %u): %s\n", c->suite, c->name, g_seed, g_msg);
        }
        fflush(stdout);
        vs__dir_remove_all(g_tmp);
    }
    if (!list) printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
