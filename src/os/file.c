/*
 * file.c — POSIX implementation of the I/O layer with fault injection.
 */
#define _GNU_SOURCE
#include "os/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

static _Atomic int64_t g_count[VS_IO__COUNT];
static _Atomic int64_t g_arm_nth;
static _Atomic int g_arm_op, g_arm_fault, g_arm_sticky;
static _Atomic int64_t g_hits;

void vs__io_fault_arm(int op, int64_t nth, int fault, int sticky) {
    atomic_store(&g_arm_op, op);
    atomic_store(&g_arm_fault, fault);
    atomic_store(&g_arm_sticky, sticky);
    atomic_store(&g_arm_nth, nth);
}

void vs__io_fault_disarm(void) { atomic_store(&g_arm_nth, 0); }
int64_t vs__io_fault_hits(void) { return atomic_load(&g_hits); }
int64_t vs__io_count(int op) { return atomic_load(&g_count[op]); }

/* Counts the operation; returns the fault to inject (0 = none). */
static int tick(int op) {
    atomic_fetch_add(&g_count[op], 1);
    atomic_fetch_add(&g_count[VS_IO_ANY], 1);
    int64_t nth = atomic_load(&g_arm_nth);
    if (nth == 0) return 0;
    int aop = atomic_load(&g_arm_op);
    if (aop != op && aop != VS_IO_ANY) return 0;
    if (atomic_load(&g_arm_sticky)) {
        if (nth > 1) {
            atomic_fetch_sub(&g_arm_nth, 1);
            return 0;
        }
    } else {
        int64_t c = atomic_fetch_sub(&g_arm_nth, 1);
        if (c != 1) return 0;
    }
    atomic_fetch_add(&g_hits, 1);
    return atomic_load(&g_arm_fault);
}

static int fault_errno(int f) { return f == VS_FAULT_EIO ? EIO : ENOSPC; }

static int sys_err(vs__err *e, int errnum, const char *what, const char *path) {
    return vs__errf(e, vs__errno_code(errnum), "%s %s: %s", what, path ? path : "?",
                    strerror(errnum));
}

int vs__file_open(const char *path, int flags, int mode, int *fd, vs__err *e) {
    int f = tick(VS_IO_OPEN);
    if (f) return sys_err(e, fault_errno(f), "open", path);
    int r;
    do {
        r = open(path, flags | O_CLOEXEC, mode);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return sys_err(e, errno, "open", path);
    *fd = r;
    return VS_OK;
}

void vs__file_close(int fd) {
    if (fd >= 0) close(fd);
}

int vs__file_pread(int fd, void *buf, size_t n, uint64_t off, const char *path, vs__err *e) {
    int f = tick(VS_IO_READ);
    if (f) return sys_err(e, fault_errno(f), "read", path);
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return sys_err(e, errno, "read", path);
        }
        if (r == 0)
            return vs__errf(e, VS_EFORMAT, "read %s: file is truncated at offset %llu",
                            path ? path : "?", (unsigned long long)off);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return VS_OK;
}

static int write_loop(int fd, const void *buf, size_t n, int64_t off, const char *path,
                      vs__err *e) {
    int f = tick(VS_IO_WRITE);
    if (f == VS_FAULT_SHORT && n > 1) {
        /* Land the first half for real, then fail: a torn write. */
        size_t half = n / 2;
        (void)write_loop(fd, buf, half, off, path, NULL);
        return sys_err(e, ENOSPC, "write", path);
    }
    if (f) return sys_err(e, fault_errno(f), "write", path);
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = off >= 0 ? pwrite(fd, p, n, (off_t)off) : write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR) continue;
            return sys_err(e, errno, "write", path);
        }
        p += r;
        n -= (size_t)r;
        if (off >= 0) off += r;
    }
    return VS_OK;
}

int vs__file_pwrite(int fd, const void *buf, size_t n, uint64_t off, const char *path,
                    vs__err *e) {
    return write_loop(fd, buf, n, (int64_t)off, path, e);
}

int vs__file_write(int fd, const void *buf, size_t n, const char *path, vs__err *e) {
    return write_loop(fd, buf, n, -1, path, e);
}

int vs__file_fsync(int fd, const char *path, vs__err *e) {
    int f = tick(VS_IO_FSYNC);
    if (f) return sys_err(e, fault_errno(f), "fsync", path);
    if (fdatasync(fd) != 0) return sys_err(e, errno, "fsync", path);
    return VS_OK;
}

int vs__file_truncate(int fd, uint64_t size, const char *path, vs__err *e) {
    int f = tick(VS_IO_TRUNCATE);
    if (f) return sys_err(e, fault_errno(f), "truncate", path);
    if (ftruncate(fd, (off_t)size) != 0) return sys_err(e, errno, "truncate", path);
    return VS_OK;
}

int vs__file_size(int fd, uint64_t *size, const char *path, vs__err *e) {
    struct stat st;
    if (fstat(fd, &st) != 0) return sys_err(e, errno, "stat", path);
    *size = (uint64_t)st.st_size;
    return VS_OK;
}

int vs__file_rename(const char *from, const char *to, vs__err *e) {
    int f = tick(VS_IO_RENAME);
    if (f) return sys_err(e, fault_errno(f), "rename", to);
    if (rename(from, to) != 0) return sys_err(e, errno, "rename", to);
    return VS_OK;
}

int vs__file_unlink(const char *path, vs__err *e) {
    if (unlink(path) != 0 && errno != ENOENT) return sys_err(e, errno, "unlink", path);
    return VS_OK;
}

int vs__dir_make(const char *path, vs__err *e) {
    int f = tick(VS_IO_MKDIR);
    if (f) return sys_err(e, fault_errno(f), "mkdir", path);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return sys_err(e, errno, "mkdir", path);
    return VS_OK;
}

int vs__dir_fsync(const char *path, vs__err *e) {
    int fd;
    int rc = vs__file_open(path, O_RDONLY | O_DIRECTORY, 0, &fd, e);
    if (rc) return rc;
    rc = vs__file_fsync(fd, path, e);
    close(fd);
    return rc;
}

void vs__dir_remove_all(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *de;
    char buf[4096];
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if ((size_t)snprintf(buf, sizeof buf, "%s/%s", path, de->d_name) >= sizeof buf) continue;
        struct stat st;
        if (lstat(buf, &st) == 0 && S_ISDIR(st.st_mode))
            vs__dir_remove_all(buf);
        else
            unlink(buf);
    }
    closedir(d);
    rmdir(path);
}

int vs__path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int vs__path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int vs__file_read_all(const char *path, uint8_t **data, size_t *len, vs__err *e) {
    int fd, rc;
    uint64_t size;
    *data = NULL;
    *len = 0;
    if ((rc = vs__file_open(path, O_RDONLY, 0, &fd, e))) return rc;
    if ((rc = vs__file_size(fd, &size, path, e))) goto done;
    uint8_t *buf = vs__malloc((size_t)size + 1);
    if (!buf) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory reading %s (%llu bytes)", path,
                      (unsigned long long)size);
        goto done;
    }
    if (size && (rc = vs__file_pread(fd, buf, (size_t)size, 0, path, e))) {
        vs__free(buf);
        goto done;
    }
    buf[size] = 0;
    *data = buf;
    *len = (size_t)size;
done:
    close(fd);
    return rc;
}

int vs__file_write_atomic(const char *path, const void *data, size_t len, vs__err *e) {
    return vs__file_replace(path, data, len, NULL, e);
}

int vs__file_replace(const char *path, const void *data, size_t len, int *replaced, vs__err *e) {
    char tmp[4096], dir[4096];
    if (replaced) *replaced = 0;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return vs__errf(e, VS_ENAME, "path too long: %s", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    int fd, rc;
    if ((rc = vs__file_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd, e))) return rc;
    rc = vs__file_write(fd, data, len, tmp, e);
    if (!rc) rc = vs__file_fsync(fd, tmp, e);
    close(fd);
    if (!rc) rc = vs__file_rename(tmp, path, e);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    if (replaced) *replaced = 1;
    return vs__dir_fsync(dir, e);
}

int vs__map_file(const char *path, vs__map *m, vs__err *e) {
    int fd, rc;
    uint64_t size;
    m->data = NULL;
    m->len = 0;
    if ((rc = vs__file_open(path, O_RDONLY, 0, &fd, e))) return rc;
    if ((rc = vs__file_size(fd, &size, path, e))) {
        close(fd);
        return rc;
    }
    if (size == 0) {
        close(fd);
        return VS_OK;
    }
    int f = tick(VS_IO_READ);
    void *p = f ? MAP_FAILED : mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    int err = f ? fault_errno(f) : errno;
    close(fd);
    if (p == MAP_FAILED) return sys_err(e, err, "mmap", path);
    m->data = p;
    m->len = (size_t)size;
    return VS_OK;
}

void vs__unmap(vs__map *m) {
    if (m->data && m->len) munmap(m->data, m->len);
    m->data = NULL;
    m->len = 0;
}

int vs__path_join(char *buf, size_t cap, const char *dir, const char *name, vs__err *e) {
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap)
        return vs__errf(e, VS_ENAME, "path too long: %s/%s", dir, name);
    return VS_OK;
}
