/*
 * file.h — the I/O layer: every file operation of the library goes through here.
 *
 * Two reasons. (1) Error handling is uniform: each function returns a VS_* code and
 * writes a message naming the path and the system error. (2) Tests inject faults: the
 * Nth operation of a kind fails with EIO or ENOSPC, a write is cut short (the first half
 * is written, then the error), or an fsync fails — so the fault sweeps can prove that
 * no failure crashes, leaks or corrupts (after SQLite's ioerr tests).
 *
 * Writes loop until complete (EINTR and partial writes are retried); a short write is
 * only ever visible as an error. Fault injection is process-wide, for single-threaded
 * tests.
 */
#ifndef VS_OS_FILE_H
#define VS_OS_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

enum vs__io_op {
    VS_IO_OPEN = 0,
    VS_IO_READ,
    VS_IO_WRITE,
    VS_IO_FSYNC,
    VS_IO_RENAME,
    VS_IO_TRUNCATE,
    VS_IO_MKDIR,
    VS_IO_ANY, /* counts every operation above */
    VS_IO__COUNT
};
enum vs__io_fault {
    VS_FAULT_EIO = 1,
    VS_FAULT_ENOSPC = 2,
    VS_FAULT_SHORT = 3, /* writes: half the bytes land, then ENOSPC */
};

/* Arms a fault: the nth (1-based) operation of kind `op` from now fails with `fault`.
 * nth = 0 disarms. sticky: every operation from the nth on fails. */
void vs__io_fault_arm(int op, int64_t nth, int fault, int sticky);
void vs__io_fault_disarm(void);
int64_t vs__io_fault_hits(void);
/* Number of operations of a kind since start (for sweeps: count, then fail each). */
int64_t vs__io_count(int op);

int vs__file_open(const char *path, int flags, int mode, int *fd, vs__err *e);
void vs__file_close(int fd);
/* Reads exactly n bytes at off; a short read (EOF) is VS_EFORMAT "truncated". */
int vs__file_pread(int fd, void *buf, size_t n, uint64_t off, const char *path, vs__err *e);
int vs__file_pwrite(int fd, const void *buf, size_t n, uint64_t off, const char *path,
                    vs__err *e);
int vs__file_write(int fd, const void *buf, size_t n, const char *path, vs__err *e);
int vs__file_fsync(int fd, const char *path, vs__err *e);
int vs__file_truncate(int fd, uint64_t size, const char *path, vs__err *e);
int vs__file_size(int fd, uint64_t *size, const char *path, vs__err *e);
int vs__file_rename(const char *from, const char *to, vs__err *e);
int vs__file_unlink(const char *path, vs__err *e); /* a missing file is not an error */
int vs__dir_make(const char *path, vs__err *e);    /* an existing dir is not an error */
int vs__dir_fsync(const char *path, vs__err *e);
/* Removes a directory tree (best effort; errors ignored). */
void vs__dir_remove_all(const char *path);
int vs__path_exists(const char *path);
int vs__path_is_dir(const char *path);

/* Reads a whole file into a vs__malloc'd buffer (owned by the caller). */
int vs__file_read_all(const char *path, uint8_t **data, size_t *len, vs__err *e);
/* Writes a whole file atomically: path.tmp, fsync, rename, fsync dir. */
int vs__file_write_atomic(const char *path, const void *data, size_t len, vs__err *e);
/* The same, saying whether the new file took the old one's place: *replaced is set from
 * the rename on, so it is 1 also when only the directory fsync after the rename failed.
 * The new file is then visible but not known to be durable, and a crash may leave
 * either version: a caller that commits state by such a rename must treat that failure
 * as "maybe committed" (keep everything both versions need). */
int vs__file_replace(const char *path, const void *data, size_t len, int *replaced, vs__err *e);

/* Read-only shared mapping of a whole file. */
typedef struct vs__map {
    uint8_t *data;
    size_t len;
} vs__map;
int vs__map_file(const char *path, vs__map *m, vs__err *e);
void vs__unmap(vs__map *m);

/* Joins a directory and a name into buf; VS_ENAME if it does not fit. */
int vs__path_join(char *buf, size_t cap, const char *dir, const char *name, vs__err *e);

#endif
