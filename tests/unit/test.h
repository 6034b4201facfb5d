/*
 * test.h — the unit-test harness.
 *
 * A test is `TEST(suite, name) { ... }` in any tests/unit file; constructors register it.
 * `vstest [--suite S] [--list] [pattern]` runs tests in registration order. Assertions
 * print both sides and abort only the current test (longjmp). After every test the
 * harness checks that the library's allocator has no live allocations left: a leak fails
 * the test even without a sanitizer. The last line printed is "N passed, N failed".
 */
#ifndef VS_TEST_H
#define VS_TEST_H

#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

typedef void (*vt_fn)(void);
void vt_register(const char *suite, const char *name, vt_fn fn);
void vt_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* A fresh empty temp directory for the current test (removed after it). */
const char *vt_tmpdir(void);
/* Path inside the test's temp dir (static buffer rotated among 8). */
const char *vt_path(const char *name);
/* Seed for random tests (VS_TEST_SEED or time); printed on failure. */
unsigned vt_seed(void);
/* Prints "# <test>: <message>" on stdout: a measured figure worth seeing in the log
 * (e.g. a recall), kept out of the pass/fail lines. */
void vt_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Scale factor for long runs (VS_TEST_LONG=1 → larger iteration counts). */
int vt_long(void);
/* Runs the test "suite.name" (suite starting with '_') in a fresh process (exec of this
 * binary, so no state is inherited) with VT_CHILD_PATH=env_path; returns its exit status
 * (0 = passed). */
int vt_exec_child(const char *test, const char *env_path);
/* Path of the vecstore CLI binary built next to the test binary. */
const char *vt_cli(void);

#define TEST(suite, name)                                                              \
    static void vt_##suite##_##name(void);                                             \
    __attribute__((constructor)) static void vt_reg_##suite##_##name(void) {           \
        vt_register(#suite, #name, vt_##suite##_##name);                               \
    }                                                                                  \
    static void vt_##suite##_##name(void)

#define ASSERT(c)                                                                      \
    do {                                                                               \
        if (!(c)) vt_fail(__FILE__, __LINE__, "assertion failed: %s", #c);              \
    } while (0)
#define ASSERT_MSG(c, ...)                                                             \
    do {                                                                               \
        if (!(c)) vt_fail(__FILE__, __LINE__, __VA_ARGS__);                             \
    } while (0)
#define ASSERT_EQ(a, b)                                                                \
    do {                                                                               \
        long long va_ = (long long)(a), vb_ = (long long)(b);                          \
        if (va_ != vb_)                                                                \
            vt_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, va_, vb_);   \
    } while (0)
#define ASSERT_NE(a, b)                                                                \
    do {                                                                               \
        long long va_ = (long long)(a), vb_ = (long long)(b);                          \
        if (va_ == vb_)                                                                \
            vt_fail(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, va_);            \
    } while (0)
#define ASSERT_RC(expr, want)                                                          \
    do {                                                                               \
        int rc_ = (expr);                                                              \
        if (rc_ != (want))                                                             \
            vt_fail(__FILE__, __LINE__, "%s: got %s (%d), want %s", #expr,             \
                    vs_errname(rc_), rc_, vs_errname(want));                           \
    } while (0)
#define ASSERT_OK(expr) ASSERT_RC(expr, 0)
#define ASSERT_STREQ(a, b)                                                             \
    do {                                                                               \
        const char *sa_ = (a), *sb_ = (b);                                             \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                     \
            vt_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,          \
                    sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                       \
    } while (0)
#define ASSERT_CONTAINS(hay, needle)                                                   \
    do {                                                                               \
        const char *h_ = (hay), *n_ = (needle);                                        \
        if (!h_ || !strstr(h_, n_))                                                    \
            vt_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"",              \
                    h_ ? h_ : "(null)", n_);                                           \
    } while (0)
#define ASSERT_NEAR(a, b, tol)                                                         \
    do {                                                                               \
        double da_ = (double)(a), db_ = (double)(b), t_ = (double)(tol);               \
        if (!(fabs(da_ - db_) <= t_ * (1.0 + fabs(db_))))                              \
            vt_fail(__FILE__, __LINE__, "%s ~= %s: %.9g vs %.9g (tol %g)", #a, #b,     \
                    da_, db_, t_);                                                     \
    } while (0)

#endif
