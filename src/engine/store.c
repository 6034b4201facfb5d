/*
 * store.c — opening, sharing, locking and closing stores; the collection catalog;
 * the background thread (batch fsync, compaction).
 */
#define _GNU_SOURCE
#include "engine/store.h"

#include "engine/indexer.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "os/file.h"
#include "simd/distance.h"
#include "storage/archive.h"
#include "storage/frame.h"
#include "util/alloc.h"
#include "util/json.h"

#define STORE_MAGIC "VSSTORE1"

typedef struct coll_slot {
    char name[VS_NAME_MAX + 1];
    vs__coll *c;
} coll_slot;

struct vs__store_core {
    char path[4096];
    char colls_dir[4200];
    dev_t dev;
    ino_t ino;
    int read_only;
    int lock_fd;
    vs_store_options opt;
    pthread_mutex_t mu;
    coll_slot *colls;
    size_t ncolls, capcolls;
    int refs; /* guarded by g_registry_mu */
    pthread_t bg, ins;
    int bg_running, ins_running, bg_stop;
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    vs__store_core *next;
};

static pthread_mutex_t g_registry_mu = PTHREAD_MUTEX_INITIALIZER;
static vs__store_core *g_registry;

void vs_store_options_init(vs_store_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->create_if_missing = 1;
    o->fsync = VS_FSYNC_ALWAYS;
    o->fsync_interval_ms = VS_FSYNC_INTERVAL_DEFAULT;
    o->flush_bytes = VS_FLUSH_BYTES_DEFAULT;
    o->background = 1;
    o->compact_min_segments = VS_COMPACT_SEGMENTS_DEFAULT;
}

static int check_options(const vs_store_options *o, vs__err *e) {
    if (o->fsync < VS_FSYNC_ALWAYS || o->fsync > VS_FSYNC_OFF)
        return vs__errf(e, VS_EINVAL, "fsync policy %d is not one of always/batch/off", o->fsync);
    if (o->fsync_interval_ms < VS_FSYNC_INTERVAL_MIN || o->fsync_interval_ms > VS_FSYNC_INTERVAL_MAX)
        return vs__errf(e, VS_ERANGE, "fsync interval %u ms is out of range %d..%d",
                        o->fsync_interval_ms, VS_FSYNC_INTERVAL_MIN, VS_FSYNC_INTERVAL_MAX);
    if (o->flush_bytes < VS_FLUSH_BYTES_MIN || o->flush_bytes > VS_FLUSH_BYTES_MAX)
        return vs__errf(e, VS_ERANGE, "flush threshold %llu bytes is out of range",
                        (unsigned long long)o->flush_bytes);
    if (o->compact_min_segments < VS_COMPACT_SEGMENTS_MIN ||
        o->compact_min_segments > VS_COMPACT_SEGMENTS_MAX)
        return vs__errf(e, VS_ERANGE, "compact_min_segments %u is out of range %d..%d",
                        o->compact_min_segments, VS_COMPACT_SEGMENTS_MIN, VS_COMPACT_SEGMENTS_MAX);
    return VS_OK;
}

/* ------------------------------------------------------------ background ---- */

/* The open collections, each with a reference taken (so they can be dropped
 * meanwhile); *n receives the count. NULL when out of memory. */
static vs__coll **colls_ref(vs__store_core *s, size_t *n) {
    pthread_mutex_lock(&s->mu);
    *n = s->ncolls;
    vs__coll **cs = vs__malloc((*n ? *n : 1) * sizeof *cs);
    if (cs)
        for (size_t i = 0; i < *n; i++) {
            cs[i] = s->colls[i].c;
            vs__coll_ref(cs[i]);
        }
    pthread_mutex_unlock(&s->mu);
    return cs;
}

static void colls_unref(vs__coll **cs, size_t n) {
    for (size_t i = 0; cs && i < n; i++) vs__coll_unref(cs[i]);
    vs__free(cs);
}

/* Waits on bg_cv for ms milliseconds; caller holds bg_mu. */
static void bg_wait(vs__store_core *s, uint32_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&s->bg_cv, &s->bg_mu, &ts);
}

static void *bg_main(void *arg) {
    vs__store_core *s = arg;
    uint32_t tick = s->opt.fsync == VS_FSYNC_BATCH ? s->opt.fsync_interval_ms : 200;
    pthread_mutex_lock(&s->bg_mu);
    while (!s->bg_stop) {
        bg_wait(s, tick);
        if (s->bg_stop) break;
        pthread_mutex_unlock(&s->bg_mu);
        size_t n;
        vs__coll **cs = colls_ref(s, &n);
        for (size_t i = 0; cs && i < n; i++) {
            vs__err e;
            if (s->opt.fsync == VS_FSYNC_BATCH) vs__coll_sync(cs[i], &e);
            if (s->opt.background && vs__coll_needs_compaction(cs[i])) vs__coll_compact(cs[i], 0, &e);
            /* One index build per tick keeps shutdown and other collections responsive. */
            if (s->opt.background && !s->read_only) vs__indexer_build_one(cs[i], &e);
        }
        colls_unref(cs, n);
        pthread_mutex_lock(&s->bg_mu);
    }
    pthread_mutex_unlock(&s->bg_mu);
    return NULL;
}

/* Time one collection's mutable graph may take per turn, and the pause when no graph
 * is behind. A turn holds the collection lock shared (indexer.h), so a writer waits at
 * most about one budget. */
#define INS_BUDGET_US 4000
#define INS_IDLE_MS 20

static void *ins_main(void *arg) {
    vs__store_core *s = arg;
    pthread_mutex_lock(&s->bg_mu);
    while (!s->bg_stop) {
        pthread_mutex_unlock(&s->bg_mu);
        size_t n;
        int busy = 0;
        vs__coll **cs = colls_ref(s, &n);
        for (size_t i = 0; cs && i < n; i++) {
            vs__err e;
            /* Errors (memory) leave the rows to exact search; the next turn retries. */
            busy |= vs__indexer_mutable_step(cs[i], INS_BUDGET_US, &e) == 1;
        }
        colls_unref(cs, n);
        pthread_mutex_lock(&s->bg_mu);
        if (!busy && !s->bg_stop) bg_wait(s, INS_IDLE_MS);
    }
    pthread_mutex_unlock(&s->bg_mu);
    return NULL;
}

/* ------------------------------------------------------------ open/close ---- */

static void core_free(vs__store_core *s) {
    if (s->bg_running || s->ins_running) {
        pthread_mutex_lock(&s->bg_mu);
        s->bg_stop = 1;
        pthread_cond_broadcast(&s->bg_cv);
        pthread_mutex_unlock(&s->bg_mu);
        if (s->bg_running) pthread_join(s->bg, NULL);
        if (s->ins_running) pthread_join(s->ins, NULL);
    }
    for (size_t i = 0; i < s->ncolls; i++) vs__coll_unref(s->colls[i].c);
    vs__free(s->colls);
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->bg_mu);
    pthread_cond_destroy(&s->bg_cv);
    vs__free(s);
}

static int mkdir_p(const char *path, vs__err *e) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return vs__errf(e, VS_ENAME, "path too long: %s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return vs__errf(e, vs__errno_code(errno), "mkdir %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return vs__errf(e, vs__errno_code(errno), "mkdir %s: %s", buf, strerror(errno));
    return VS_OK;
}

/* 1 if path is empty. With creating set, what a creation cut short by a crash leaves
 * before VECSTORE is in place (LOCK, VECSTORE.tmp, an empty collections/) counts as
 * empty too: that creation was never acknowledged, and must not leave a directory
 * that can be neither opened nor created. */
static int dir_is_empty(const char *path, int creating) {
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *de;
    int empty = 1;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..")) continue;
        if (creating && (!strcmp(n, "LOCK") || !strcmp(n, "VECSTORE.tmp"))) continue;
        if (creating && !strcmp(n, "collections")) {
            char sub[4200];
            snprintf(sub, sizeof sub, "%s/collections", path);
            if (dir_is_empty(sub, 0)) continue;
        }
        empty = 0;
    }
    closedir(d);
    return empty;
}

static int init_store_dir(const char *path, vs__err *e) {
    char f[4200], colls[4200];
    int rc;
    if ((rc = vs__path_join(colls, sizeof colls, path, "collections", e))) return rc;
    if ((rc = vs__dir_make(colls, e))) return rc;
    char body[128];
    snprintf(body, sizeof body, "{\"format\":%d,\"created\":%lld}", VS_FORMAT_VERSION,
             (long long)time(NULL));
    if ((rc = vs__path_join(f, sizeof f, path, "VECSTORE", e))) return rc;
    return vs__frame_write_file(f, STORE_MAGIC, body, strlen(body), e);
}

static int read_store_meta(const char *path, vs__err *e) {
    char f[4200];
    int rc = vs__path_join(f, sizeof f, path, "VECSTORE", e);
    if (rc) return rc;
    uint8_t *body;
    size_t len;
    if ((rc = vs__frame_read_file(f, STORE_MAGIC, &body, &len, e))) {
        if (rc == VS_EFORMAT) e->rc = rc = VS_ENOTSTORE;
        return rc;
    }
    /* Text that checks out but does not parse means cJSON ran out of memory. */
    int valid = vs__json_check((const char *)body, len, NULL, NULL) == 0;
    cJSON *j = valid ? cJSON_ParseWithLength((const char *)body, len) : NULL;
    vs__free(body);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    if (valid && !j) rc = vs__errf(e, VS_ENOMEM, "out of memory reading %s", f);
    else if (!cJSON_IsNumber(fmt)) rc = vs__errf(e, VS_ECORRUPT, "%s: no format number", f);
    else if (fmt->valuedouble > VS_FORMAT_VERSION)
        rc = vs__errf(e, VS_EVERSION, "store format %d is newer than this build supports (%d)",
                      fmt->valueint, VS_FORMAT_VERSION);
    cJSON_Delete(j);
    return rc;
}

static void remove_colls_debris(const char *colls) {
    DIR *d = opendir(colls);
    if (!d) return;
    struct dirent *de;
    char p[4400];
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ".tmp-", 5) && strncmp(de->d_name, ".dropped-", 9)) continue;
        snprintf(p, sizeof p, "%s/%s", colls, de->d_name);
        vs__dir_remove_all(p);
    }
    closedir(d);
}

static int core_open(const char *path, const struct stat *st, const vs_store_options *o,
                     vs__store_core **out, vs__err *e) {
    vs__store_core *s = vs__calloc(1, sizeof *s);
    if (!s) return vs__errf(e, VS_ENOMEM, "out of memory opening %s", path);
    s->lock_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->bg_mu, NULL);
    pthread_cond_init(&s->bg_cv, NULL);
    s->opt = *o;
    s->read_only = o->read_only;
    s->dev = st->st_dev;
    s->ino = st->st_ino;
    s->refs = 1;
    int rc;
    snprintf(s->path, sizeof s->path, "%s", path);
    snprintf(s->colls_dir, sizeof s->colls_dir, "%s/collections", path);
    char meta[4200];
    snprintf(meta, sizeof meta, "%s/VECSTORE", path);
    if (!vs__path_exists(meta)) {
        if (!dir_is_empty(path, 1)) {
            rc = vs__errf(e, VS_ENOTSTORE,
                          "%s is not a vecstore store (no VECSTORE file, and the directory is not empty)",
                          path);
            goto fail;
        }
        if (o->read_only) {
            rc = vs__errf(e, VS_ENOTFOUND, "%s: no store here (empty directory; opened read-only)", path);
            goto fail;
        }
    }
    if (!o->read_only) {
        char lock[4200];
        snprintf(lock, sizeof lock, "%s/LOCK", path);
        if ((rc = vs__file_open(lock, O_RDWR | O_CREAT, 0644, &s->lock_fd, e))) goto fail;
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            rc = errno == EWOULDBLOCK
                     ? vs__errf(e, VS_EBUSY,
                                "%s is open for writing by another process (open it read-only to read)",
                                path)
                     : vs__errf(e, VS_EIO, "lock %s: %s", lock, strerror(errno));
            goto fail;
        }
        if (!vs__path_exists(meta) && (rc = init_store_dir(path, e))) goto fail;
    }
    if ((rc = read_store_meta(path, e))) goto fail;
    if (!o->read_only) {
        if ((rc = vs__dir_make(s->colls_dir, e))) goto fail;
        remove_colls_debris(s->colls_dir);
        if (o->background || o->fsync == VS_FSYNC_BATCH) {
            if (pthread_create(&s->bg, NULL, bg_main, s) != 0) {
                rc = vs__errf(e, VS_ENOMEM, "cannot start the background thread");
                goto fail;
            }
            s->bg_running = 1;
        }
        if (o->background) {
            if (pthread_create(&s->ins, NULL, ins_main, s) != 0) {
                rc = vs__errf(e, VS_ENOMEM, "cannot start the index inserter thread");
                goto fail;
            }
            s->ins_running = 1;
        }
    }
    *out = s;
    return VS_OK;
fail:
    core_free(s);
    return rc;
}

int vs_store_open(const char *path, const vs_store_options *opt, vs_store **out, char *errmsg,
                  size_t errmsg_len) {
    vs__err e;
    vs__err_clear(&e);
    vs_store_options o;
    int rc;
    vs__store_core *core = NULL;
    vs__dist_init();
    if (out) *out = NULL;
    if (!path || !*path || !out) {
        rc = vs__errf(&e, VS_EINVAL, "path and out must not be NULL or empty");
        goto done;
    }
    if (opt)
        o = *opt;
    else
        vs_store_options_init(&o);
    if ((rc = check_options(&o, &e))) goto done;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT || !o.create_if_missing || o.read_only) {
            rc = vs__errf(&e, errno == ENOENT ? VS_ENOTFOUND : vs__errno_code(errno), "%s: %s", path,
                          strerror(errno));
            goto done;
        }
        if ((rc = mkdir_p(path, &e))) goto done;
        if (stat(path, &st) != 0) {
            rc = vs__errf(&e, VS_EIO, "%s: %s", path, strerror(errno));
            goto done;
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = vs__errf(&e, VS_ENOTSTORE, "%s is not a directory", path);
        goto done;
    }
    vs_store *h = vs__calloc(1, sizeof *h);
    if (!h) {
        rc = vs__errf(&e, VS_ENOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_lock(&g_registry_mu);
    for (vs__store_core *s = g_registry; s; s = s->next) {
        /* Same directory: same device and inode, and the core's own path still names it
         * (an inode of a deleted store directory can be reused by a new one). */
        struct stat cs;
        if (s->dev == st.st_dev && s->ino == st.st_ino && stat(s->path, &cs) == 0 &&
            cs.st_dev == s->dev && cs.st_ino == s->ino)
            core = s;
    }
    if (core) {
        if (core->read_only && !o.read_only) {
            rc = vs__errf(&e, VS_EBUSY, "%s is already open read-only in this process", path);
            core = NULL;
        } else {
            core->refs++;
        }
    } else {
        rc = core_open(path, &st, &o, &core, &e);
        if (!rc) {
            core->next = g_registry;
            g_registry = core;
        }
    }
    pthread_mutex_unlock(&g_registry_mu);
    if (rc) {
        vs__free(h);
        goto done;
    }
    h->core = core;
    h->read_only = o.read_only || core->read_only;
    *out = h;
done:
    if (rc && errmsg && errmsg_len) snprintf(errmsg, errmsg_len, "%s", e.msg);
    return rc;
}

void vs__store_core_ref(vs__store_core *core) {
    pthread_mutex_lock(&g_registry_mu);
    core->refs++;
    pthread_mutex_unlock(&g_registry_mu);
}

void vs__store_core_unref(vs__store_core *core) {
    if (!core) return;
    pthread_mutex_lock(&g_registry_mu);
    int last = --core->refs == 0;
    if (last) {
        vs__store_core **pp = &g_registry;
        while (*pp && *pp != core) pp = &(*pp)->next;
        if (*pp) *pp = core->next;
    }
    pthread_mutex_unlock(&g_registry_mu);
    if (last) core_free(core);
}

void vs_store_close(vs_store *s) {
    if (!s) return;
    vs__store_core_unref(s->core);
    vs__free(s);
}

const char *vs_store_errmsg(const vs_store *s) { return s ? s->err.msg : "store handle is NULL"; }

int vs_store_dup(vs_store *s, vs_store **out) {
    if (!s || !out) return VS_EINVAL;
    *out = NULL;
    vs_store *h = vs__calloc(1, sizeof *h);
    if (!h) return vs__errf(&s->err, VS_ENOMEM, "out of memory");
    vs__store_core_ref(s->core);
    h->core = s->core;
    h->read_only = s->read_only;
    *out = h;
    return VS_OK;
}

const char *vs_store_path(const vs_store *s) { return s ? s->core->path : NULL; }
int vs_store_read_only(const vs_store *s) { return s ? s->read_only : 1; }

int vs__store_core_read_only(const vs__store_core *core) { return core->read_only; }
int vs__store_background(const vs__store_core *core) {
    return core->bg_running && core->opt.background;
}
const char *vs__store_colls_dir(const vs__store_core *core) { return core->colls_dir; }
void vs__store_lock(vs__store_core *core) { pthread_mutex_lock(&core->mu); }
void vs__store_unlock(vs__store_core *core) { pthread_mutex_unlock(&core->mu); }

/* ------------------------------------------------------------ catalog ---- */

static vs__coll_opts coll_opts(const vs__store_core *s) {
    vs__coll_opts o = {s->read_only, s->opt.fsync, s->opt.flush_bytes, s->opt.compact_min_segments};
    return o;
}

/* Caller holds core->mu. */
static int find_or_open(vs__store_core *s, const char *name, vs__coll **out, vs__err *e) {
    for (size_t i = 0; i < s->ncolls; i++)
        if (!strcmp(s->colls[i].name, name)) {
            *out = s->colls[i].c;
            return VS_OK;
        }
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/%s", s->colls_dir, name);
    if (!vs__path_is_dir(dir)) return vs__errf(e, VS_ENOTFOUND, "collection '%s' does not exist", name);
    if (s->ncolls == s->capcolls) {
        size_t cap = s->capcolls ? s->capcolls * 2 : 8;
        coll_slot *n = vs__realloc(s->colls, cap * sizeof *n);
        if (!n) return vs__errf(e, VS_ENOMEM, "out of memory");
        s->colls = n;
        s->capcolls = cap;
    }
    vs__coll_opts o = coll_opts(s);
    vs__coll *c;
    int rc = vs__coll_open(dir, name, &o, &c, e);
    if (rc) return rc;
    snprintf(s->colls[s->ncolls].name, sizeof s->colls[0].name, "%s", name);
    s->colls[s->ncolls++].c = c;
    *out = c;
    return VS_OK;
}

int vs__store_coll(vs__store_core *s, const char *name, vs__coll **out, vs__err *e) {
    pthread_mutex_lock(&s->mu);
    int rc = find_or_open(s, name, out, e);
    if (!rc) vs__coll_ref(*out);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vs_store_list(vs_store *h, char ***names, size_t *n) {
    if (!h || !names || !n) return VS_EINVAL;
    *names = NULL;
    *n = 0;
    DIR *d = opendir(h->core->colls_dir);
    if (!d) {
        if (errno == ENOENT) return VS_OK; /* read-only view of a store without collections */
        return vs__errf(&h->err, VS_EIO, "open %s: %s", h->core->colls_dir, strerror(errno));
    }
    char **list = NULL;
    size_t cnt = 0, cap = 0;
    int rc = VS_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!vs__name_ok(de->d_name, 0)) continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            char **nl = vs__realloc(list, cap * sizeof *nl);
            if (!nl) {
                rc = VS_ENOMEM;
                break;
            }
            list = nl;
        }
        if (!(list[cnt] = vs__strdup(de->d_name))) {
            rc = VS_ENOMEM;
            break;
        }
        cnt++;
    }
    closedir(d);
    if (rc) {
        vs_strlist_free(list, cnt);
        return vs__errf(&h->err, rc, "out of memory listing collections");
    }
    if (cnt) qsort(list, cnt, sizeof *list, cmp_str);
    *names = list;
    *n = cnt;
    return VS_OK;
}

void vs_strlist_free(char **names, size_t n) {
    if (!names) return;
    for (size_t i = 0; i < n; i++) vs__free(names[i]);
    vs__free(names);
}

int vs_coll_create(vs_store *h, const char *name, const vs_schema *sc) {
    if (!h) return VS_EINVAL;
    vs__err *e = &h->err;
    if (h->read_only) return vs__errf(e, VS_EREADONLY, "store is open read-only");
    if (!name || !vs__name_ok(name, 0))
        return vs__errf(e, VS_ENAME,
                        "invalid collection name '%s': use 1..%d characters of [A-Za-z0-9_.-], not starting with '.'",
                        name ? name : "(null)", VS_NAME_MAX);
    int rc = vs__schema_validate(sc, e);
    if (rc) return rc;
    pthread_mutex_lock(&h->core->mu);
    rc = vs__coll_create_dir(h->core->colls_dir, name, sc, e);
    pthread_mutex_unlock(&h->core->mu);
    return rc;
}

int vs_store_drop(vs_store *h, const char *name) {
    if (!h) return VS_EINVAL;
    vs__err *e = &h->err;
    if (h->read_only) return vs__errf(e, VS_EREADONLY, "store is open read-only");
    if (!name || !vs__name_ok(name, 0)) return vs__errf(e, VS_ENAME, "invalid collection name");
    vs__store_core *s = h->core;
    pthread_mutex_lock(&s->mu);
    char dir[4400], grave[4500];
    snprintf(dir, sizeof dir, "%s/%s", s->colls_dir, name);
    int rc = VS_OK;
    if (!vs__path_is_dir(dir)) {
        rc = vs__errf(e, VS_ENOTFOUND, "collection '%s' does not exist", name);
        goto done;
    }
    /* Rename first (atomic: the collection is gone), then delete at leisure. */
    snprintf(grave, sizeof grave, "%s/.dropped-%s-%ld", s->colls_dir, name, (long)time(NULL));
    if ((rc = vs__file_rename(dir, grave, e)) || (rc = vs__dir_fsync(s->colls_dir, e))) goto done;
    for (size_t i = 0; i < s->ncolls; i++) {
        if (strcmp(s->colls[i].name, name)) continue;
        vs__coll *c = s->colls[i].c;
        atomic_store(&c->dropped, 1);
        s->colls[i] = s->colls[--s->ncolls];
        vs__coll_unref(c);
        break;
    }
    vs__dir_remove_all(grave);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int vs_store_restore(vs_store *h, const char *archive, const char *name) {
    if (!h || !archive) return VS_EINVAL;
    vs__err *e = &h->err;
    if (h->read_only) return vs__errf(e, VS_EREADONLY, "store is open read-only");
    int rc;
    char target[VS_NAME_MAX + 1]; /* extraction verifies the archive before writing */
    if (name) {
        if (!vs__name_ok(name, 0)) return vs__errf(e, VS_ENAME, "invalid collection name '%s'", name);
        snprintf(target, sizeof target, "%s", name);
    } else {
        uint8_t *m;
        size_t ml;
        if ((rc = vs__archive_read_entry(archive, "MANIFEST", &m, &ml, e))) return rc;
        vs__frame f;
        cJSON *j = NULL;
        int valid = 0;
        if (vs__frame_decode(m, ml, "VSMANIFT", &f, "snapshot manifest", e) == VS_OK &&
            vs__frame_check_body(&f, m, ml, "snapshot manifest", e) == VS_OK &&
            vs__json_check((const char *)m + f.body_off, (size_t)f.body_len, NULL, NULL) == 0) {
            valid = 1;
            j = cJSON_ParseWithLength((const char *)m + f.body_off, (size_t)f.body_len);
        }
        vs__free(m);
        if (valid && !j) return vs__errf(e, VS_ENOMEM, "out of memory reading the snapshot manifest");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
        if (!cJSON_IsString(n) || !vs__name_ok(n->valuestring, 0)) {
            cJSON_Delete(j);
            return vs__errf(e, VS_ECORRUPT, "snapshot manifest has no valid collection name");
        }
        snprintf(target, sizeof target, "%s", n->valuestring);
        cJSON_Delete(j);
    }
    vs__store_core *s = h->core;
    pthread_mutex_lock(&s->mu);
    char dir[4400], tmp[4500], wal[4600];
    snprintf(dir, sizeof dir, "%s/%s", s->colls_dir, target);
    snprintf(tmp, sizeof tmp, "%s/.tmp-restore-%s", s->colls_dir, target);
    if (vs__path_exists(dir)) {
        rc = vs__errf(e, VS_EEXIST, "collection '%s' already exists", target);
        goto done;
    }
    vs__dir_remove_all(tmp);
    if ((rc = vs__archive_extract(archive, tmp, e))) goto done;
    snprintf(wal, sizeof wal, "%s/wal", tmp);
    if ((rc = vs__dir_make(wal, e))) goto fail;
    /* Prove it opens before it becomes visible. */
    vs__coll_opts o = {1, VS_FSYNC_OFF, UINT64_MAX, UINT32_MAX};
    vs__coll *c;
    if ((rc = vs__coll_open(tmp, target, &o, &c, e))) goto fail;
    vs__coll_unref(c);
    if ((rc = vs__dir_fsync(tmp, e)) || (rc = vs__file_rename(tmp, dir, e))) goto fail;
    rc = vs__dir_fsync(s->colls_dir, e);
    goto done;
fail:
    vs__dir_remove_all(tmp);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ------------------------------------------------------------ check ---- */

int vs_store_check(const char *path, vs_check_cb cb, void *ctx) {
    vs__err e;
    if (!path) return VS_EINVAL;
    vs__dist_init();
    int rc = read_store_meta(path, &e);
    if (rc) {
        if (cb) cb(ctx, VS_CHECK_ERROR, path, e.msg);
        return rc;
    }
    char colls[4200];
    snprintf(colls, sizeof colls, "%s/collections", path);
    DIR *d = opendir(colls);
    if (!d) {
        if (cb) cb(ctx, VS_CHECK_OK, path, "ok: no collections");
        return VS_OK;
    }
    struct dirent *de;
    int worst = VS_OK;
    char **names = NULL;
    size_t n = 0, cap = 0;
    while ((de = readdir(d)) != NULL) {
        if (!vs__name_ok(de->d_name, 0)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = vs__realloc(names, cap * sizeof *nn);
            if (!nn) break;
            names = nn;
        }
        if (!(names[n] = vs__strdup(de->d_name))) break;
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", colls, names[i]);
        rc = vs__coll_check(dir, names[i], cb, ctx, &e);
        if (rc && worst == VS_OK) worst = rc == VS_ENOMEM ? rc : VS_ECORRUPT;
    }
    vs_strlist_free(names, n);
    return worst;
}
