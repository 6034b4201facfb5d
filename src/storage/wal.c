/*
 * wal.c — write-ahead log files, replay with torn-tail recovery, group commit.
 *
 * Locking: `mu` guards the sync state (synced, syncing, fatal) and the fd swap done
 * by rotate. Appends are serialised by the caller, so `end`, `last` and `written`
 * change only in append/rotate; sync reads `written` under `mu` (append publishes it
 * under `mu` after the bytes are in the file).
 */
#define _GNU_SOURCE
#include "storage/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/file.h"
#include "storage/frame.h"
#include "util/alloc.h"
#include "util/checksum.h"

#define WAL_MAGIC "VSWALOG1"

typedef struct wal_file {
    uint64_t first;
    char name[32];
} wal_file;

struct vs__wal {
    char dir[4096];
    int read_only;
    int fd;            /* current file, -1 if read-only */
    char path[4200];   /* of the current file */
    uint64_t end;      /* append offset in the current file */
    uint64_t last;     /* last appended lsn */
    uint64_t bytes;    /* all files */
    wal_file *files;   /* sorted by first lsn; the last one is current */
    size_t nfiles, capfiles;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t written;  /* last lsn whose bytes are in the file */
    uint64_t synced;   /* last lsn known durable */
    int syncing;
    int fatal;
    vs__err fatal_err;
};

static int cmp_file(const void *a, const void *b) {
    const wal_file *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int list_files(vs__wal *w, vs__err *e) {
    DIR *d = opendir(w->dir);
    if (!d) return vs__errf(e, vs__errno_code(errno), "open wal dir %s: %s", w->dir, strerror(errno));
    struct dirent *de;
    int rc = VS_OK;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strlen(n) != 20 || strcmp(n + 16, ".wal") != 0) continue;
        char *endp;
        uint64_t first = strtoull(n, &endp, 16);
        if (endp != n + 16) continue;
        if (w->nfiles == w->capfiles) {
            size_t cap = w->capfiles ? w->capfiles * 2 : 8;
            wal_file *nf = vs__realloc(w->files, cap * sizeof *nf);
            if (!nf) {
                rc = vs__errf(e, VS_ENOMEM, "out of memory listing wal files");
                break;
            }
            w->files = nf;
            w->capfiles = cap;
        }
        w->files[w->nfiles].first = first;
        snprintf(w->files[w->nfiles].name, sizeof w->files[0].name, "%s", n);
        w->nfiles++;
    }
    closedir(d);
    if (!rc && w->nfiles) qsort(w->files, w->nfiles, sizeof *w->files, cmp_file);
    return rc;
}

/* Parses the record at off; returns its total size, or 0 if it is not a valid record
 * with sequence number `want` (want == 0: any lsn >= min_lsn). */
static size_t rec_at(const uint8_t *p, size_t size, size_t off, uint64_t want,
                     uint64_t min_lsn, uint64_t *lsn_out) {
    if (size - off < VS_WAL_REC_HDR) return 0;
    const uint8_t *h = p + off;
    uint32_t len = vs__get_u32(h);
    uint64_t lsn = vs__get_u64(h + 8);
    if (len == 0 || len > VS_WAL_RECORD_MAX || vs__get_u32(h + 4) != 0) return 0;
    if (want ? lsn != want : lsn < min_lsn) return 0;
    if ((uint64_t)len > size - off - VS_WAL_REC_HDR) return 0;
    uint64_t sum = vs__checksum_seed(h + VS_WAL_REC_HDR, len, vs__checksum(h, 16));
    if (sum != vs__get_u64(h + 16)) return 0;
    if (lsn_out) *lsn_out = lsn;
    return VS_WAL_REC_HDR + len;
}

static int create_file(vs__wal *w, uint64_t first, vs__err *e) {
    wal_file f;
    f.first = first;
    snprintf(f.name, sizeof f.name, "%016" PRIx64 ".wal", first);
    char path[sizeof w->path];
    int rc = vs__path_join(path, sizeof path, w->dir, f.name, e);
    if (rc) return rc;
    int fd;
    if ((rc = vs__file_open(path, O_RDWR | O_CREAT | O_TRUNC, 0644, &fd, e))) return rc;
    uint8_t hdr[VS_FRAME_HDR];
    vs__frame fr = {WAL_MAGIC, VS_FORMAT_VERSION, 0, VS_FRAME_HDR, 0, 0};
    vs__frame_encode(&fr, hdr);
    rc = vs__file_pwrite(fd, hdr, sizeof hdr, 0, path, e);
    if (!rc) rc = vs__file_fsync(fd, path, e);
    if (!rc) rc = vs__dir_fsync(w->dir, e);
    if (!rc && w->nfiles == w->capfiles) {
        size_t cap = w->capfiles ? w->capfiles * 2 : 8;
        wal_file *nf = vs__realloc(w->files, cap * sizeof *nf);
        if (!nf)
            rc = vs__errf(e, VS_ENOMEM, "out of memory creating wal file");
        else {
            w->files = nf;
            w->capfiles = cap;
        }
    }
    if (rc) {
        close(fd);
        unlink(path);
        return rc;
    }
    w->files[w->nfiles++] = f;
    if (w->fd >= 0) close(w->fd);
    w->fd = fd;
    memcpy(w->path, path, sizeof path);
    w->end = VS_FRAME_HDR;
    __atomic_add_fetch(&w->bytes, VS_FRAME_HDR, __ATOMIC_RELAXED);
    return VS_OK;
}

/* Replays one file. expect: the lsn the next record must carry. is_last: torn tails
 * are allowed here. On a torn tail *torn_off is set (else left UINT64_MAX). */
static int replay_file(vs__wal *w, size_t idx, int first, uint64_t checkpoint, uint64_t *expect,
                       vs__wal_replay_fn fn, void *ctx, vs__wal_report *rep,
                       uint64_t *torn_off, uint64_t *file_size, vs__err *e) {
    char path[sizeof w->path];
    int rc = vs__path_join(path, sizeof path, w->dir, w->files[idx].name, e);
    if (rc) return rc;
    int is_last = idx + 1 == w->nfiles;
    vs__map m;
    if ((rc = vs__map_file(path, &m, e))) return rc;
    *file_size = m.len;
    vs__frame fr;
    vs__err fe;
    if (vs__frame_decode(m.data, m.len, WAL_MAGIC, &fr, path, &fe) != VS_OK) {
        if (is_last && fe.rc != VS_EVERSION && m.len <= VS_FRAME_HDR) {
            /* Crash while creating the file: nothing in it was ever acknowledged. */
            *torn_off = 0;
            goto done;
        }
        rc = vs__errf(e, fe.rc == VS_EVERSION ? VS_EVERSION : VS_ECORRUPT, "%s", fe.msg);
        goto done;
    }
    if (w->files[idx].first != *expect && !(first && w->files[idx].first <= *expect)) {
        rc = vs__errf(e, VS_ECORRUPT,
                      "%s: wal starts at lsn %" PRIu64 " but lsn %" PRIu64
                      " was expected (records are missing)",
                      path, w->files[idx].first, *expect);
        goto done;
    }
    if (first) *expect = w->files[idx].first;
    size_t off = VS_FRAME_HDR;
    while (off < m.len) {
        size_t n = rec_at(m.data, m.len, off, *expect, 0, NULL);
        if (n == 0) {
            /* Is anything valid here or after it? Then it is corruption, not a torn
             * tail. The scan starts at off itself: a valid record there carries a later
             * lsn than expected (a gap), and must not be cut away as a torn tail. */
            for (size_t p = off; p + VS_WAL_REC_HDR <= m.len; p++) {
                uint64_t lsn;
                if (rec_at(m.data, m.len, p, 0, *expect, &lsn)) {
                    if (p == off)
                        rc = vs__errf(e, VS_ECORRUPT,
                                      "%s: record at offset %zu has lsn %" PRIu64
                                      " but lsn %" PRIu64 " was expected (records are missing)",
                                      path, off, lsn, *expect);
                    else
                        rc = vs__errf(e, VS_ECORRUPT,
                                      "%s: record at offset %zu (lsn %" PRIu64
                                      ") is corrupt but a valid record (lsn %" PRIu64
                                      ") follows at offset %zu",
                                      path, off, *expect, lsn, p);
                    goto done;
                }
            }
            if (!is_last) {
                rc = vs__errf(e, VS_ECORRUPT,
                              "%s: record at offset %zu (lsn %" PRIu64
                              ") is corrupt and newer wal files follow",
                              path, off, *expect);
                goto done;
            }
            *torn_off = off;
            break;
        }
        uint64_t lsn = *expect;
        if (lsn > checkpoint && fn) {
            if ((rc = fn(ctx, lsn, m.data + off + VS_WAL_REC_HDR, n - VS_WAL_REC_HDR, e))) {
                vs__err_ctx(e, "replaying %s lsn %" PRIu64, path, lsn);
                goto done;
            }
            rep->records++;
        } else if (lsn > checkpoint) {
            rep->records++;
        }
        rep->last_lsn = lsn;
        (*expect)++;
        off += n;
    }
done:
    vs__unmap(&m);
    return rc;
}

int vs__wal_open(const char *dir, uint64_t checkpoint, int read_only, vs__wal_replay_fn fn,
                 void *ctx, vs__wal **out, vs__wal_report *rep, vs__err *e) {
    vs__wal_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    rep->last_lsn = checkpoint;
    *out = NULL;
    vs__wal *w = vs__calloc(1, sizeof *w);
    if (!w) return vs__errf(e, VS_ENOMEM, "out of memory opening wal");
    w->fd = -1;
    w->read_only = read_only;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int rc = VS_OK;
    if (snprintf(w->dir, sizeof w->dir, "%s", dir) >= (int)sizeof w->dir) {
        rc = vs__errf(e, VS_ENAME, "wal path too long");
        goto fail;
    }
    if (!read_only && (rc = vs__dir_make(dir, e))) goto fail;
    if (!vs__path_is_dir(dir)) {
        if (read_only) goto opened; /* nothing logged yet */
        rc = vs__errf(e, VS_EIO, "wal dir %s is missing", dir);
        goto fail;
    }
    if ((rc = list_files(w, e))) goto fail;
    uint64_t expect = checkpoint + 1;
    uint64_t torn_off = UINT64_MAX, size = 0;
    int first_replayed = 1;
    for (size_t i = 0; i < w->nfiles; i++) {
        /* Files wholly before the checkpoint may linger after a crash; skip them. */
        if (i + 1 < w->nfiles && w->files[i + 1].first <= checkpoint + 1) {
            char p[sizeof w->path];
            if (vs__path_join(p, sizeof p, w->dir, w->files[i].name, NULL) == VS_OK) {
                uint64_t sz = 0;
                int fd;
                if (vs__file_open(p, O_RDONLY, 0, &fd, NULL) == VS_OK) {
                    vs__file_size(fd, &sz, p, NULL);
                    close(fd);
                }
                rep->bytes += sz;
            }
            continue;
        }
        rc = replay_file(w, i, first_replayed, checkpoint, &expect, fn, ctx, rep, &torn_off,
                         &size, e);
        first_replayed = 0;
        if (rc) goto fail;
        rep->bytes += size;
        rep->files++;
    }
    if (torn_off != UINT64_MAX) {
        rep->torn = 1;
        rep->torn_offset = torn_off;
        rep->torn_bytes = size - torn_off;
        snprintf(rep->torn_file, sizeof rep->torn_file, "%s", w->files[w->nfiles - 1].name);
    }
    w->last = rep->last_lsn;
    if (rep->last_lsn < checkpoint) w->last = checkpoint;
    w->bytes = rep->bytes;
    if (read_only) goto opened;
    if (w->nfiles) {
        wal_file *cur = &w->files[w->nfiles - 1];
        if ((rc = vs__path_join(w->path, sizeof w->path, w->dir, cur->name, e))) goto fail;
        if (torn_off == 0) {
            /* The last file never got a header: drop it and start afresh. */
            unlink(w->path);
            w->nfiles--;
            w->bytes -= size;
        } else {
            if ((rc = vs__file_open(w->path, O_RDWR, 0, &w->fd, e))) goto fail;
            w->end = size;
            if (torn_off != UINT64_MAX) {
                if ((rc = vs__file_truncate(w->fd, torn_off, w->path, e))) goto fail;
                if ((rc = vs__file_fsync(w->fd, w->path, e))) goto fail;
                w->end = torn_off;
                w->bytes -= size - torn_off;
            }
        }
    }
    if (w->fd < 0 && (rc = create_file(w, w->last + 1, e))) goto fail;
opened:
    w->written = w->synced = w->last;
    *out = w;
    return VS_OK;
fail:
    vs__wal_close(w);
    return rc;
}

void vs__wal_close(vs__wal *w) {
    if (!w) return;
    if (w->fd >= 0) {
        if (!w->fatal && !w->read_only) vs__file_fsync(w->fd, w->path, NULL);
        close(w->fd);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    vs__free(w->files);
    vs__free(w);
}

static int fatal_rc(vs__wal *w, vs__err *e) {
    return vs__errf(e, VS_EFATAL, "write-ahead log failed earlier (%s); reopen the store",
                    w->fatal_err.msg);
}

int vs__wal_append(vs__wal *w, const void *payload, size_t len, uint64_t *lsn, vs__err *e) {
    if (w->read_only) return vs__errf(e, VS_EREADONLY, "store is open read-only");
    if (len == 0 || len > VS_WAL_RECORD_MAX)
        return vs__errf(e, VS_ERANGE, "wal record of %zu bytes is out of range (max %u)", len,
                        VS_WAL_RECORD_MAX);
    pthread_mutex_lock(&w->mu);
    int fatal = w->fatal;
    pthread_mutex_unlock(&w->mu);
    if (fatal) return fatal_rc(w, e);
    if (w->end >= VS_WAL_FILE_MAX) {
        int rc = vs__wal_rotate(w, e);
        if (rc) return rc;
    }
    uint8_t hdr[VS_WAL_REC_HDR];
    uint64_t n = w->last + 1;
    vs__put_u32(hdr, (uint32_t)len);
    vs__put_u32(hdr + 4, 0);
    vs__put_u64(hdr + 8, n);
    vs__put_u64(hdr + 16, vs__checksum_seed(payload, len, vs__checksum(hdr, 16)));
    /* One buffer, one write: a record is never split across two syscalls for small
     * records; large ones are written header first (a crash in between is a torn tail). */
    int rc;
    if (len <= 64 * 1024) {
        uint8_t stack[VS_WAL_REC_HDR + 64 * 1024];
        memcpy(stack, hdr, sizeof hdr);
        memcpy(stack + sizeof hdr, payload, len);
        rc = vs__file_pwrite(w->fd, stack, sizeof hdr + len, w->end, w->path, e);
    } else {
        rc = vs__file_pwrite(w->fd, hdr, sizeof hdr, w->end, w->path, e);
        if (!rc) rc = vs__file_pwrite(w->fd, payload, len, w->end + sizeof hdr, w->path, e);
    }
    if (rc) {
        /* Take back whatever landed so the log stays a clean sequence of records. */
        vs__err te;
        if (vs__file_truncate(w->fd, w->end, w->path, &te) != VS_OK) {
            pthread_mutex_lock(&w->mu);
            w->fatal = 1;
            w->fatal_err = te;
            pthread_mutex_unlock(&w->mu);
        }
        return rc;
    }
    w->end += sizeof hdr + len;
    __atomic_add_fetch(&w->bytes, sizeof hdr + len, __ATOMIC_RELAXED); /* read by info without the writer lock */
    w->last = n;
    pthread_mutex_lock(&w->mu);
    w->written = n;
    pthread_mutex_unlock(&w->mu);
    *lsn = n;
    return VS_OK;
}

int vs__wal_sync(vs__wal *w, uint64_t lsn, vs__err *e) {
    if (w->read_only) return VS_OK;
    int rc = VS_OK;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->fatal) {
            rc = 1;
            break;
        }
        if (w->synced >= lsn) break;
        if (w->syncing) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        /* Become the leader: sync everything written so far for all waiters. */
        w->syncing = 1;
        uint64_t target = w->written;
        int fd = w->fd;
        pthread_mutex_unlock(&w->mu);
        vs__err se;
        int src = vs__file_fsync(fd, w->path, &se);
        pthread_mutex_lock(&w->mu);
        w->syncing = 0;
        if (src) {
            w->fatal = 1;
            w->fatal_err = se;
        } else if (target > w->synced) {
            w->synced = target;
        }
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (rc) return fatal_rc(w, e);
    return VS_OK;
}

int vs__wal_sync_all(vs__wal *w, vs__err *e) { return vs__wal_sync(w, w->last, e); }

int vs__wal_rotate(vs__wal *w, vs__err *e) {
    if (w->read_only) return vs__errf(e, VS_EREADONLY, "store is open read-only");
    int rc = vs__wal_sync_all(w, e);
    if (rc) return rc;
    /* The current file holds no record yet: it starts at last + 1 (a rotation whose
     * flush a crash cut short before the manifest moved the checkpoint). It already is
     * the file a rotation would create. Creating it again would truncate the live file
     * and list it twice, and vs__wal_truncate_before would then unlink it while appends
     * still go to it: acknowledged writes lost at the next open. */
    if (w->nfiles && w->files[w->nfiles - 1].first == w->last + 1) return VS_OK;
    /* No sync is in flight now (synced == last and appends are serialised by us). */
    pthread_mutex_lock(&w->mu);
    while (w->syncing) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    int oldfd = w->fd;
    w->fd = -1;
    rc = create_file(w, w->last + 1, e);
    if (rc) {
        w->fd = oldfd;
        return rc;
    }
    close(oldfd);
    return VS_OK;
}

int vs__wal_truncate_before(vs__wal *w, uint64_t checkpoint, vs__err *e) {
    if (w->read_only) return VS_OK;
    size_t keep = 0;
    /* File i holds lsns [first_i, first_{i+1}); drop it if first_{i+1} - 1 <= checkpoint. */
    while (keep + 1 < w->nfiles && w->files[keep + 1].first <= checkpoint + 1) keep++;
    for (size_t i = 0; i < keep; i++) {
        char p[sizeof w->path];
        int rc = vs__path_join(p, sizeof p, w->dir, w->files[i].name, e);
        if (rc) return rc;
        int fd;
        uint64_t sz = 0;
        if (vs__file_open(p, O_RDONLY, 0, &fd, NULL) == VS_OK) {
            vs__file_size(fd, &sz, p, NULL);
            close(fd);
        }
        if ((rc = vs__file_unlink(p, e))) return rc;
        { uint64_t b = __atomic_load_n(&w->bytes, __ATOMIC_RELAXED); __atomic_store_n(&w->bytes, b - (sz < b ? sz : b), __ATOMIC_RELAXED); }
    }
    if (keep) {
        memmove(w->files, w->files + keep, (w->nfiles - keep) * sizeof *w->files);
        w->nfiles -= keep;
    }
    return VS_OK;
}

uint64_t vs__wal_last_lsn(vs__wal *w) { return w->last; }
uint64_t vs__wal_synced_lsn(vs__wal *w) {
    pthread_mutex_lock(&w->mu);
    uint64_t s = w->synced;
    pthread_mutex_unlock(&w->mu);
    return s;
}
uint64_t vs__wal_bytes(vs__wal *w) { return __atomic_load_n(&w->bytes, __ATOMIC_RELAXED); }
int vs__wal_is_fatal(vs__wal *w) {
    pthread_mutex_lock(&w->mu);
    int f = w->fatal;
    pthread_mutex_unlock(&w->mu);
    return f;
}
