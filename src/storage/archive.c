/*
 * archive.c — the snapshot archive: many files in one checksummed file.
 *
 * LAYOUT (all integers little-endian; the full tables are in docs/format/archive.md)
 *
 *   offset 0   header, 32 bytes
 *              0  magic "VSARCHV1"         8
 *              8  u32 version (1)         4
 *              12 u32 flags (0)           4
 *              16 u64 entry count         8
 *              24 u64 XXH3(bytes 0..23)   8
 *   offset 32  entry × count, each:
 *              0  u32 name length (1..255)
 *              4  u32 mode (0644)
 *              8  u64 data length
 *              16 u64 XXH3(data)
 *              24 u64 XXH3(bytes 0..23 of this entry header ++ name)
 *              32 name bytes, then data bytes (no padding)
 *   end - 24   trailer, 24 bytes: magic "VSARCEND" | u64 entry count |
 *              u64 XXH3(every byte before the trailer)
 *
 * WRITING. The header holds the entry count and each entry header holds its data
 * checksum, both known only after what follows them was written. So the writer leaves
 * a hole for the file header, streams each entry's data first and then fills in the
 * entry header in front of it, and at finish writes the file header and reads the file
 * back once to compute the whole-file checksum (XXH3 is tens of GB/s and the file was
 * just written, so this costs far less than the fsync that follows). Everything goes to
 * `path.tmp`, which is fsync'd and renamed over `path`, and the directory is fsync'd;
 * on any failure the temp file is removed (and, if only the directory fsync failed, the
 * renamed archive too: an archive we cannot call durable is not reported as written).
 * An I/O error on the archive file poisons the writer (every later call fails) because
 * the bytes on disk are then unknown; bad names and unreadable source files do not.
 *
 * READING. One sequential pass checks, in order: magic (VS_EFORMAT), header checksum
 * (VS_ECORRUPT), version (VS_EVERSION if newer — the 32-byte header frame is the same in
 * every version, which is why a checksum-valid header can be trusted to say "newer"
 * rather than "corrupt"), flags, trailer, then every entry: lengths against the file
 * size before reading anything they describe (VS_EFORMAT), entry-header checksum
 * (VS_ECORRUPT), mode, name rules (VS_ENAME), data checksum; finally that the entries
 * end exactly at the trailer, the whole-file checksum, and that no name repeats or is
 * both a file and a directory (VS_ENAME). Nothing is allocated from a length read from
 * the file before it was checked against the file size.
 *
 * EXTRACTING verifies the whole archive first, then creates dest_dir (which must not
 * exist) and makes a second pass that writes the files while checking every checksum
 * again — the archive could have changed between the passes. Files are created with
 * O_EXCL|O_NOFOLLOW inside a directory we just made, and names can only contain
 * [A-Za-z0-9._-] components that are not "." or "..", so nothing can land outside
 * dest_dir. Files and directories are fsync'd. On failure dest_dir is removed.
 *
 * All I/O goes through os/file.h (so the fault sweeps reach every call), all memory
 * through util/alloc.h, all checksums through util/checksum.h.
 */
#include "storage/archive.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "os/file.h"
#include "util/alloc.h"
#include "util/checksum.h"

#define AR_MAGIC "VSARCHV1"
#define AR_END_MAGIC "VSARCEND"
#define AR_VERSION 1u
#define AR_HDR 32u
#define AR_ENT 32u
#define AR_TRL 24u
#define AR_NAME_MAX 255u
#define AR_MODE 0644u
#define AR_PATH_MAX 4096
/* A reader reads and checksums names up to this long before judging them, so that an
 * over-long name with a valid checksum is a bad name (VS_ENAME) while a length garbled
 * by corruption is still caught by the checksum (VS_ECORRUPT). Beyond it: VS_EFORMAT. */
#define AR_NAME_READ_MAX 4096u
/* Copy buffer for streaming data in and out: large enough that per-call overhead
 * vanishes next to the copy, small enough to be nothing next to a segment. */
#define AR_BUF (1u << 20)

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int is_name_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int vs__archive_name_ok(const char *name) {
    if (!name) return 0;
    size_t n = strnlen(name, AR_NAME_MAX + 1);
    if (n == 0 || n > AR_NAME_MAX) return 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && name[i] != '/') {
            if (!is_name_char((unsigned char)name[i])) return 0;
            continue;
        }
        size_t len = i - start;
        if (len == 0) return 0; /* leading '/', "a//b", trailing '/' */
        if (name[start] == '.' && (len == 1 || (len == 2 && name[start + 1] == '.'))) return 0;
        start = i + 1;
    }
    return 1;
}

/* A name fit for a message: printable ASCII only (names read from a damaged or hostile
 * archive may hold anything), at most 64 bytes. */
static const char *shown(char out[80], const char *name, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n && k < 64; i++)
        out[k++] = (name[i] >= 0x20 && name[i] < 0x7f) ? name[i] : '?';
    if (n > 64) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = 0;
    return out;
}

/* 1 if a and b cannot both be entries: equal, or one is a directory of the other. */
static int names_clash(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la == lb) return !memcmp(a, b, la);
    if (la > lb) {
        const char *t = a;
        a = b;
        b = t;
        size_t tl = la;
        la = lb;
        lb = tl;
    }
    return !memcmp(a, b, la) && b[la] == '/';
}

/* The directory part of path, for fsync after a rename ("." if none). */
static void dir_of(char *buf, size_t cap, const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, cap, ".");
    else if (slash == path)
        snprintf(buf, cap, "/");
    else
        snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

/* ---------------------------------------------------------------- writer ---- */

struct vs__archive_writer {
    int fd;
    char *path, *tmp;
    uint64_t off;   /* where the next entry starts */
    uint64_t high;  /* highest byte written + 1: a failed add can leave a tail */
    uint64_t count;
    uint8_t *buf;   /* AR_BUF bytes */
    char **names;   /* entries so far, to refuse repeats at add time */
    size_t nnames, cap;
    int failed;     /* code of an I/O failure on the archive file; sticky */
};

static void writer_free(vs__archive_writer *w) {
    if (!w) return;
    if (w->fd >= 0) vs__file_close(w->fd);
    for (size_t i = 0; i < w->nnames; i++) vs__free(w->names[i]);
    vs__free(w->names);
    vs__free(w->buf);
    vs__free(w->tmp);
    vs__free(w->path);
    vs__free(w);
}

int vs__archive_create(const char *path, vs__archive_writer **out, vs__err *e) {
    vs__archive_writer *w = NULL;
    int rc = VS_OK;
    *out = NULL;
    if (!path || !*path) return vs__errf(e, VS_EINVAL, "archive path is empty");
    size_t pl = strlen(path);
    if (pl + 5 > AR_PATH_MAX) return vs__errf(e, VS_ENAME, "archive path too long: %s", path);
    if (!(w = vs__calloc(1, sizeof *w))) goto nomem;
    w->fd = -1;
    if (!(w->path = vs__strdup(path)) || !(w->tmp = vs__malloc(pl + 5)) ||
        !(w->buf = vs__malloc(AR_BUF)))
        goto nomem;
    memcpy(w->tmp, path, pl);
    memcpy(w->tmp + pl, ".tmp", 5);
    w->off = w->high = AR_HDR; /* the header is written last, over this hole */
    if ((rc = vs__file_open(w->tmp, O_RDWR | O_CREAT | O_TRUNC, 0644, &w->fd, e))) goto done;
    *out = w;
    w = NULL;
    goto done;
nomem:
    rc = vs__errf(e, VS_ENOMEM, "out of memory creating archive %s", path);
done:
    writer_free(w);
    return rc;
}

/* Checks name and reserves room to remember it. The name is committed (nnames++) by
 * the caller only once the entry is on disk. */
static int add_begin(vs__archive_writer *w, const char *name, char **copy, vs__err *e) {
    char show[80];
    *copy = NULL;
    if (!w) return vs__errf(e, VS_EINVAL, "no archive writer");
    if (w->failed)
        return vs__errf(e, w->failed, "archive %s: an earlier write failed; abort it", w->path);
    if (!vs__archive_name_ok(name))
        return vs__errf(e, VS_ENAME, "archive %s: invalid entry name '%s'", w->path,
                        name ? shown(show, name, strnlen(name, 256)) : "(null)");
    for (size_t i = 0; i < w->nnames; i++)
        if (names_clash(w->names[i], name))
            return vs__errf(e, VS_EEXIST, "archive %s: entry '%s' clashes with '%s'", w->path,
                            name, w->names[i]);
    if (w->nnames == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        char **nn = vs__realloc(w->names, cap * sizeof *nn);
        if (!nn) goto nomem;
        w->names = nn;
        w->cap = cap;
    }
    if (!(*copy = vs__strdup(name))) goto nomem;
    return VS_OK;
nomem:
    return vs__errf(e, VS_ENOMEM, "archive %s: out of memory adding '%s'", w->path, name);
}

/* Writes the entry header + name at w->off and commits the entry. */
static int add_finish(vs__archive_writer *w, char *copy, uint64_t len, uint64_t data_ck,
                      vs__err *e) {
    uint8_t h[AR_ENT + AR_NAME_MAX];
    uint32_t nl = (uint32_t)strlen(copy);
    put32(h, nl);
    put32(h + 4, AR_MODE);
    put64(h + 8, len);
    put64(h + 16, data_ck);
    memcpy(h + AR_ENT, copy, nl);
    /* The entry check skips its own 8 bytes: it covers bytes 0..23, then the name. */
    uint8_t ck[24 + AR_NAME_MAX];
    memcpy(ck, h, 24);
    memcpy(ck + 24, copy, nl);
    put64(h + 24, vs__checksum(ck, 24 + nl));
    int rc = vs__file_pwrite(w->fd, h, AR_ENT + nl, w->off, w->tmp, e);
    if (rc) {
        w->failed = rc;
        vs__free(copy);
        return rc;
    }
    uint64_t end = w->off + AR_ENT + nl + len;
    if (end > w->high) w->high = end;
    w->off = end;
    w->count++;
    w->names[w->nnames++] = copy;
    return VS_OK;
}

int vs__archive_add_mem(vs__archive_writer *w, const char *name, const void *data, size_t len,
                        vs__err *e) {
    char *copy;
    if (!data && len)
        return vs__errf(e, VS_EINVAL, "archive entry '%s': no data", name ? name : "(null)");
    int rc = add_begin(w, name, &copy, e);
    if (rc) return rc;
    uint64_t data_off = w->off + AR_ENT + strlen(name);
    if (len && (rc = vs__file_pwrite(w->fd, data, len, data_off, w->tmp, e))) {
        w->failed = rc;
        vs__free(copy);
        return rc;
    }
    if (data_off + len > w->high) w->high = data_off + len;
    return add_finish(w, copy, len, vs__checksum(data, len), e);
}

int vs__archive_add_file(vs__archive_writer *w, const char *name, const char *src_path,
                         vs__err *e) {
    char *copy = NULL;
    vs__cksum_state *ck = NULL;
    int fd = -1;
    int rc = add_begin(w, name, &copy, e);
    if (rc) return rc;
    /* O_NONBLOCK: a FIFO must fail the regular-file check below, not hang the open. */
    if ((rc = vs__file_open(src_path, O_RDONLY | O_NONBLOCK, 0, &fd, e))) goto done;
    /* Only regular files: a directory or device has no stable byte content to store.
     * fstat is metadata, not an I/O site the fault layer models. */
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = vs__errf(e, VS_EINVAL, "archive %s: %s is not a regular file", w->path, src_path);
        goto done;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (!(ck = vs__cksum_new())) {
        rc = vs__errf(e, VS_ENOMEM, "archive %s: out of memory adding '%s'", w->path, name);
        goto done;
    }
    uint64_t data_off = w->off + AR_ENT + strlen(name);
    for (uint64_t pos = 0; pos < size;) {
        size_t n = size - pos < AR_BUF ? (size_t)(size - pos) : AR_BUF;
        if ((rc = vs__file_pread(fd, w->buf, n, pos, src_path, e))) {
            /* A source that shrank reads as "truncated", which would blame the archive. */
            if (rc == VS_EFORMAT)
                rc = vs__errf(e, VS_EIO, "archive %s: %s shrank while being archived", w->path,
                              src_path);
            goto done;
        }
        vs__cksum_update(ck, w->buf, n);
        if ((rc = vs__file_pwrite(w->fd, w->buf, n, data_off + pos, w->tmp, e))) {
            w->failed = rc;
            goto done;
        }
        pos += n;
        if (data_off + pos > w->high) w->high = data_off + pos;
    }
    rc = add_finish(w, copy, size, vs__cksum_digest(ck), e);
    copy = NULL; /* add_finish owns it either way */
done:
    vs__free(copy);
    vs__cksum_free(ck);
    vs__file_close(fd);
    return rc;
}

int vs__archive_finish(vs__archive_writer *w, vs__err *e) {
    vs__cksum_state *ck = NULL;
    char dir[AR_PATH_MAX];
    int renamed = 0, rc = VS_OK;
    if (!w) return vs__errf(e, VS_EINVAL, "no archive writer");
    if (w->failed) {
        rc = vs__errf(e, w->failed, "archive %s: an earlier write failed", w->path);
        goto done;
    }
    uint8_t h[AR_HDR];
    memcpy(h, AR_MAGIC, 8);
    put32(h + 8, AR_VERSION);
    put32(h + 12, 0);
    put64(h + 16, w->count);
    put64(h + 24, vs__checksum(h, 24));
    if ((rc = vs__file_pwrite(w->fd, h, AR_HDR, 0, w->tmp, e))) goto done;
    if (!(ck = vs__cksum_new())) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory finishing archive %s", w->path);
        goto done;
    }
    for (uint64_t pos = 0; pos < w->off;) {
        size_t n = w->off - pos < AR_BUF ? (size_t)(w->off - pos) : AR_BUF;
        if ((rc = vs__file_pread(w->fd, w->buf, n, pos, w->tmp, e))) goto done;
        vs__cksum_update(ck, w->buf, n);
        pos += n;
    }
    uint8_t t[AR_TRL];
    memcpy(t, AR_END_MAGIC, 8);
    put64(t + 8, w->count);
    put64(t + 16, vs__cksum_digest(ck));
    if ((rc = vs__file_pwrite(w->fd, t, AR_TRL, w->off, w->tmp, e))) goto done;
    if (w->high > w->off + AR_TRL &&
        (rc = vs__file_truncate(w->fd, w->off + AR_TRL, w->tmp, e)))
        goto done;
    if ((rc = vs__file_fsync(w->fd, w->tmp, e))) goto done;
    vs__file_close(w->fd);
    w->fd = -1;
    if ((rc = vs__file_rename(w->tmp, w->path, e))) goto done;
    renamed = 1;
    dir_of(dir, sizeof dir, w->path);
    rc = vs__dir_fsync(dir, e);
done:
    if (rc) {
        vs__file_unlink(renamed ? w->path : w->tmp, NULL);
    }
    vs__cksum_free(ck);
    writer_free(w);
    return rc;
}

void vs__archive_abort(vs__archive_writer *w) {
    if (!w) return;
    vs__file_unlink(w->tmp, NULL);
    writer_free(w);
}

/* ---------------------------------------------------------------- reader ---- */

enum { WALK_VERIFY = 0, WALK_EXTRACT, WALK_READ };

typedef struct walk {
    int mode;
    const char *path;
    const char *dest; /* WALK_EXTRACT */
    const char *want; /* WALK_READ */
    uint8_t *got;     /* WALK_READ: the wanted entry's data, owned */
    uint64_t got_len;
    int found;
    char **names; /* every entry name, for the repeat check */
    size_t nnames;
} walk;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Repeated names, and names that are both a file and a directory ("a" and "a/b"):
 * sorted, a clash is always between neighbours or between a name and one of its
 * directory prefixes, which bsearch finds. */
static int check_names(walk *wk, vs__err *e) {
    char pre[AR_NAME_MAX + 1];
    qsort(wk->names, wk->nnames, sizeof *wk->names, cmp_str);
    for (size_t i = 0; i < wk->nnames; i++) {
        const char *n = wk->names[i];
        if (i && !strcmp(n, wk->names[i - 1]))
            return vs__errf(e, VS_ENAME, "archive %s: entry '%s' appears twice", wk->path, n);
        for (const char *s = strchr(n, '/'); s; s = strchr(s + 1, '/')) {
            memcpy(pre, n, (size_t)(s - n));
            pre[s - n] = 0;
            const char *key = pre;
            if (bsearch(&key, wk->names, wk->nnames, sizeof *wk->names, cmp_str))
                return vs__errf(e, VS_ENAME, "archive %s: '%s' is both a file and a directory",
                                wk->path, pre);
        }
    }
    return VS_OK;
}

/* Creates the directories leading to name inside dest. */
static int make_parents(const char *dest, const char *name, vs__err *e) {
    char rel[AR_NAME_MAX + 1], full[AR_PATH_MAX];
    for (const char *s = strchr(name, '/'); s; s = strchr(s + 1, '/')) {
        memcpy(rel, name, (size_t)(s - name));
        rel[s - name] = 0;
        int rc = vs__path_join(full, sizeof full, dest, rel, e);
        if (!rc) rc = vs__dir_make(full, e);
        if (rc) return rc;
    }
    return VS_OK;
}

/* fsyncs dest and every directory under it that holds an entry, so that the names of
 * the extracted files are as durable as their bytes. Names are sorted (check_names), and
 * names sharing a directory prefix are contiguous in sorted order, so a directory was
 * already synced exactly when the previous name has the same prefix. */
static int sync_dirs(walk *wk, vs__err *e) {
    char rel[AR_NAME_MAX + 1], full[AR_PATH_MAX];
    int rc = vs__dir_fsync(wk->dest, e);
    for (size_t i = 0; !rc && i < wk->nnames; i++) {
        const char *n = wk->names[i], *prev = i ? wk->names[i - 1] : "";
        for (const char *s = strchr(n, '/'); !rc && s; s = strchr(s + 1, '/')) {
            size_t len = (size_t)(s - n);
            if (!strncmp(prev, n, len) && prev[len] == '/') continue;
            memcpy(rel, n, len);
            rel[len] = 0;
            rc = vs__path_join(full, sizeof full, wk->dest, rel, e);
            if (!rc) rc = vs__dir_fsync(full, e);
        }
    }
    if (!rc) {
        dir_of(full, sizeof full, wk->dest);
        rc = vs__dir_fsync(full, e);
    }
    return rc;
}

static int walk_archive(walk *wk, vs__err *e) {
    const char *path = wk->path;
    uint8_t *buf = NULL;
    vs__cksum_state *whole = NULL, *dck = NULL;
    int fd = -1, out = -1, rc;
    uint64_t size;
    char show[80], outpath[AR_PATH_MAX];
    if ((rc = vs__file_open(path, O_RDONLY, 0, &fd, e))) goto done;
    if ((rc = vs__file_size(fd, &size, path, e))) goto done;
    uint8_t h[AR_HDR];
    size_t hn = size < AR_HDR ? (size_t)size : AR_HDR;
    if (hn && (rc = vs__file_pread(fd, h, hn, 0, path, e))) goto done;
    if (hn < 8 || memcmp(h, AR_MAGIC, 8)) {
        rc = vs__errf(e, VS_EFORMAT, "%s is not a vecstore archive (bad magic)", path);
        goto done;
    }
    if (size < AR_HDR + AR_TRL) {
        rc = vs__errf(e, VS_EFORMAT, "archive %s is truncated (%llu bytes)", path,
                      (unsigned long long)size);
        goto done;
    }
    if (get64(h + 24) != vs__checksum(h, 24)) {
        rc = vs__errf(e, VS_ECORRUPT, "archive %s: header checksum mismatch", path);
        goto done;
    }
    uint32_t version = get32(h + 8);
    if (version > AR_VERSION) {
        rc = vs__errf(e, VS_EVERSION, "archive %s has format version %u; this build reads %u",
                      path, version, AR_VERSION);
        goto done;
    }
    if (version == 0 || get32(h + 12) != 0) {
        rc = vs__errf(e, VS_EFORMAT, "archive %s: bad version %u or flags 0x%x", path, version,
                      get32(h + 12));
        goto done;
    }
    uint64_t end = size - AR_TRL, count = get64(h + 16);
    if (count > (end - AR_HDR) / AR_ENT) {
        rc = vs__errf(e, VS_EFORMAT, "archive %s: %llu entries cannot fit in %llu bytes", path,
                      (unsigned long long)count, (unsigned long long)size);
        goto done;
    }
    uint8_t t[AR_TRL];
    if ((rc = vs__file_pread(fd, t, AR_TRL, end, path, e))) goto done;
    if (memcmp(t, AR_END_MAGIC, 8)) {
        rc = vs__errf(e, VS_EFORMAT, "archive %s: no trailer (truncated or incomplete)", path);
        goto done;
    }
    if (get64(t + 8) != count) {
        rc = vs__errf(e, VS_ECORRUPT, "archive %s: trailer says %llu entries, header %llu", path,
                      (unsigned long long)get64(t + 8), (unsigned long long)count);
        goto done;
    }
    /* Small archives get a small buffer: the corruption tests walk thousands of them. */
    size_t bufsz = size < AR_BUF ? (size_t)size : AR_BUF;
    if (!(buf = vs__malloc(bufsz)) ||
        !(wk->names = vs__calloc(count ? count : 1, sizeof(char *))) ||
        !(whole = vs__cksum_new())) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory reading archive %s", path);
        goto done;
    }
    vs__cksum_update(whole, h, AR_HDR);
    uint64_t off = AR_HDR;
    for (uint64_t i = 0; i < count; i++) {
        uint8_t eh[24 + AR_NAME_READ_MAX + 1];
        if (end - off < AR_ENT) {
            rc = vs__errf(e, VS_EFORMAT, "archive %s: entry %llu starts past the end", path,
                          (unsigned long long)i);
            goto done;
        }
        if ((rc = vs__file_pread(fd, buf, AR_ENT, off, path, e))) goto done;
        vs__cksum_update(whole, buf, AR_ENT);
        uint32_t nl = get32(buf), mode = get32(buf + 4);
        uint64_t dlen = get64(buf + 8), dsum = get64(buf + 16), hsum = get64(buf + 24);
        if (nl > AR_NAME_READ_MAX || nl > end - off - AR_ENT) {
            rc = vs__errf(e, VS_EFORMAT, "archive %s: entry %llu has an impossible name length %u",
                          path, (unsigned long long)i, nl);
            goto done;
        }
        memcpy(eh, buf, 24);
        if (nl && (rc = vs__file_pread(fd, eh + 24, nl, off + AR_ENT, path, e))) goto done;
        vs__cksum_update(whole, eh + 24, nl);
        if (vs__checksum(eh, 24 + nl) != hsum) {
            rc = vs__errf(e, VS_ECORRUPT, "archive %s: entry %llu: header checksum mismatch",
                          path, (unsigned long long)i);
            goto done;
        }
        char *name = (char *)eh + 24;
        name[nl] = 0;
        if (mode != AR_MODE) {
            rc = vs__errf(e, VS_EFORMAT, "archive %s: entry %llu: unsupported mode 0%o", path,
                          (unsigned long long)i, mode);
            goto done;
        }
        if (nl > AR_NAME_MAX || strlen(name) != nl || !vs__archive_name_ok(name)) {
            rc = vs__errf(e, VS_ENAME, "archive %s: entry %llu has an invalid name '%s'", path,
                          (unsigned long long)i, shown(show, name, nl));
            goto done;
        }
        uint64_t data_off = off + AR_ENT + nl;
        if (dlen > end - data_off) {
            rc = vs__errf(e, VS_EFORMAT, "archive %s: entry '%s' (%llu bytes) runs past the end",
                          path, name, (unsigned long long)dlen);
            goto done;
        }
        if (!(wk->names[wk->nnames] = vs__strdup(name))) {
            rc = vs__errf(e, VS_ENOMEM, "out of memory reading archive %s", path);
            goto done;
        }
        wk->nnames++;
        int keep = wk->mode == WALK_READ && !wk->found && !strcmp(name, wk->want);
        if (keep) {
            if (dlen > SIZE_MAX - 1 || !(wk->got = vs__malloc((size_t)dlen))) {
                rc = vs__errf(e, VS_ENOMEM, "out of memory reading entry '%s' (%llu bytes)",
                              name, (unsigned long long)dlen);
                goto done;
            }
            wk->got_len = dlen;
            wk->found = 1;
        }
        if (wk->mode == WALK_EXTRACT) {
            if ((rc = make_parents(wk->dest, name, e)) ||
                (rc = vs__path_join(outpath, sizeof outpath, wk->dest, name, e)) ||
                (rc = vs__file_open(outpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644,
                                    &out, e)))
                goto done;
        }
        if (!(dck = vs__cksum_new())) {
            rc = vs__errf(e, VS_ENOMEM, "out of memory reading archive %s", path);
            goto done;
        }
        for (uint64_t pos = 0; pos < dlen;) {
            size_t n = dlen - pos < bufsz ? (size_t)(dlen - pos) : bufsz;
            if ((rc = vs__file_pread(fd, buf, n, data_off + pos, path, e))) goto done;
            vs__cksum_update(whole, buf, n);
            vs__cksum_update(dck, buf, n);
            if (keep) memcpy(wk->got + pos, buf, n);
            if (out >= 0 && (rc = vs__file_pwrite(out, buf, n, pos, outpath, e))) goto done;
            pos += n;
        }
        if (vs__cksum_digest(dck) != dsum) {
            rc = vs__errf(e, VS_ECORRUPT, "archive %s: entry '%s': data checksum mismatch", path,
                          name);
            goto done;
        }
        vs__cksum_free(dck);
        dck = NULL;
        if (out >= 0) {
            if ((rc = vs__file_fsync(out, outpath, e))) goto done;
            vs__file_close(out);
            out = -1;
        }
        off = data_off + dlen;
    }
    if (off != end) {
        rc = vs__errf(e, VS_EFORMAT, "archive %s: %llu unexpected bytes before the trailer", path,
                      (unsigned long long)(end - off));
        goto done;
    }
    if (vs__cksum_digest(whole) != get64(t + 16)) {
        rc = vs__errf(e, VS_ECORRUPT, "archive %s: archive checksum mismatch", path);
        goto done;
    }
    if ((rc = check_names(wk, e))) goto done;
    if (wk->mode == WALK_EXTRACT) rc = sync_dirs(wk, e);
done:
    vs__file_close(out);
    vs__file_close(fd);
    vs__cksum_free(dck);
    vs__cksum_free(whole);
    vs__free(buf);
    return rc;
}

static void walk_free(walk *wk) {
    for (size_t i = 0; i < wk->nnames; i++) vs__free(wk->names[i]);
    vs__free(wk->names);
    vs__free(wk->got);
}

int vs__archive_verify(const char *path, vs__err *e) {
    walk wk = {WALK_VERIFY, path, NULL, NULL, NULL, 0, 0, NULL, 0};
    int rc = walk_archive(&wk, e);
    walk_free(&wk);
    return rc;
}

int vs__archive_extract(const char *path, const char *dest_dir, vs__err *e) {
    walk wk = {WALK_VERIFY, path, NULL, NULL, NULL, 0, 0, NULL, 0};
    int made = 0, rc;
    struct stat st;
    /* lstat, not stat: a dangling symlink at dest_dir must count as existing, or mkdir's
     * EEXIST (which vs__dir_make forgives) would let us extract through it. */
    if (lstat(dest_dir, &st) == 0) {
        rc = vs__errf(e, VS_EEXIST, "extract %s: destination %s already exists", path, dest_dir);
        goto done;
    }
    if ((rc = walk_archive(&wk, e))) goto done;
    walk_free(&wk);
    wk = (walk){WALK_EXTRACT, path, dest_dir, NULL, NULL, 0, 0, NULL, 0};
    if ((rc = vs__dir_make(dest_dir, e))) goto done;
    made = 1;
    rc = walk_archive(&wk, e);
done:
    if (rc && made) vs__dir_remove_all(dest_dir);
    walk_free(&wk);
    return rc;
}

int vs__archive_read_entry(const char *path, const char *name, uint8_t **data, size_t *len,
                           vs__err *e) {
    walk wk = {WALK_READ, path, NULL, name, NULL, 0, 0, NULL, 0};
    *data = NULL;
    *len = 0;
    if (!name) return vs__errf(e, VS_EINVAL, "archive %s: no entry name given", path);
    int rc = walk_archive(&wk, e);
    if (!rc && !wk.found)
        rc = vs__errf(e, VS_ENOTFOUND, "archive %s has no entry '%s'", path, name);
    if (!rc) {
        *data = wk.got;
        *len = (size_t)wk.got_len;
        wk.got = NULL;
    }
    walk_free(&wk);
    return rc;
}
