/*
 * h_snapshots.c — collection snapshots as files under the server's snapshots directory
 * (SNAPDIR/COLLECTION/NAME.snapshot, its SHA-256 beside it in NAME.snapshot.checksum,
 * as Qdrant keeps it): create, list, download, delete, recover, upload.
 *
 * Names come from URLs and bodies, so every one is checked against a strict pattern
 * before a path is built from it, and a recover location must resolve (realpath) to a
 * file inside the snapshots directory: no path traversal, no reading arbitrary files.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "server/server.h"

#define SUFFIX ".snapshot"

static int snap_name_ok(const char *s) {
    size_t n = strlen(s), sl = strlen(SUFFIX);
    if (n <= sl || n > 200 || s[0] == '.' || strcmp(s + n - sl, SUFFIX)) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int mkdirs(const char *dir) {
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

static void iso_time(time_t t, char out[32]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
}

static void hex_of(const unsigned char *d, unsigned n, char *out) {
    static const char hx[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = 0;
}

/* SHA-256 of a file as lowercase hex; 0, or an errno value. */
static int sha256_file(const char *path, char out[65]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int err = !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ? ENOMEM : 0;
    static __thread unsigned char buf[1 << 16];
    for (ssize_t got; !err && (got = read(fd, buf, sizeof buf)) != 0;) {
        if (got < 0) {
            if (errno != EINTR) err = errno;
            continue;
        }
        if (!EVP_DigestUpdate(ctx, buf, (size_t)got)) err = ENOMEM;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    if (!err && !EVP_DigestFinal_ex(ctx, d, &dn)) err = ENOMEM;
    if (!err) hex_of(d, dn, out);
    EVP_MD_CTX_free(ctx);
    close(fd);
    return err;
}

/* A checksum given by a client: 64 hex digits, in either case. */
static int checksum_well_formed(const char *given) {
    if (strlen(given) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)given[i])) return 0;
    return 1;
}

/* Where a snapshot's checksum is kept. */
static void checksum_path(const char *snap_path, char *out, size_t cap) {
    snprintf(out, cap, "%s.checksum", snap_path);
}

/* The checksum recorded beside a snapshot file, or an empty string. */
static void read_checksum(const char *snap_path, char out[65]) {
    char p[PATH_MAX + 300];
    checksum_path(snap_path, p, sizeof p);
    out[0] = 0;
    FILE *f = fopen(p, "rb");
    if (!f) return;
    size_t n = fread(out, 1, 64, f);
    fclose(f);
    out[n] = 0;
    if (n != 64 || !checksum_well_formed(out)) out[0] = 0;
}

static void snap_json(vs__sb *b, const char *name, const char *path, const struct stat *st) {
    char t[32], sum[65];
    iso_time(st->st_mtime, t);
    read_checksum(path, sum);
    vs__sb_puts(b, "{\"name\":");
    vs__sb_json_str(b, name, strlen(name));
    vs__sb_printf(b, ",\"creation_time\":\"%s\",\"size\":%llu,\"checksum\":", t,
                  (unsigned long long)st->st_size);
    if (sum[0]) vs__sb_printf(b, "\"%s\"}", sum);
    else vs__sb_puts(b, "null}");
}

int vs__h_snap_create(vs__call *k) {
    char dir[PATH_MAX], path[PATH_MAX + 256], name[256], t[32];
    snprintf(dir, sizeof dir, "%s/%s", k->srv->snap_dir, k->coll_name);
    if (mkdirs(dir)) return vs__fail(k, 500, "Service internal error: cannot create %s: %s", dir, strerror(errno));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    iso_time(now.tv_sec, t);
    for (char *p = t; *p; p++)
        if (*p == ':' || *p == 'T') *p = '-';
    pthread_mutex_lock(&k->srv->admin_mu);
    /* Unique within the second: a counter after the time. */
    struct stat st;
    int i = 0;
    do {
        snprintf(name, sizeof name, "%s-%s-%d%s", k->coll_name, t, i++, SUFFIX);
        snprintf(path, sizeof path, "%s/%s", dir, name);
    } while (stat(path, &st) == 0 && i < 10000);
    int rc = vs_coll_snapshot(k->coll, path);
    char sum[65];
    int err = rc ? 0 : sha256_file(path, sum);
    if (!rc && !err) {
        /* The checksum file is written whole or not at all (temp + rename). */
        char cp[PATH_MAX + 300], tp[PATH_MAX + 310];
        checksum_path(path, cp, sizeof cp);
        snprintf(tp, sizeof tp, "%s.tmp", cp);
        FILE *f = fopen(tp, "wb");
        if (!f || fwrite(sum, 1, 64, f) != 64 || fclose(f) || rename(tp, cp)) {
            err = errno ? errno : EIO;
            if (f) unlink(tp);
        }
        if (err) unlink(path);
    }
    pthread_mutex_unlock(&k->srv->admin_mu);
    if (rc) return vs__fail_coll(k, rc);
    if (err) {
        char what[300];
        snprintf(what, sizeof what, "cannot checksum snapshot %s", name);
        return vs__fail_errno(k, err, what);
    }
    if (stat(path, &st)) return vs__fail(k, 500, "Service internal error: snapshot %s vanished", name);
    snap_json(&k->out, name, path, &st);
    return 0;
}

int vs__h_snap_list(vs__call *k) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", k->srv->snap_dir, k->coll_name);
    vs__sb_putc(&k->out, '[');
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        int n = 0;
        while ((de = readdir(d))) {
            if (!snap_name_ok(de->d_name)) continue;
            char p[PATH_MAX + 256];
            struct stat st;
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (stat(p, &st) || !S_ISREG(st.st_mode)) continue;
            if (n++) vs__sb_putc(&k->out, ',');
            snap_json(&k->out, de->d_name, p, &st);
        }
        closedir(d);
    }
    vs__sb_putc(&k->out, ']');
    return 0;
}

static int snap_path(vs__call *k, const char *name, char *out, size_t cap) {
    if (!snap_name_ok(name))
        return vs__fail(k, 400, "Wrong input: invalid snapshot name '%.100s' ([A-Za-z0-9_.-], ending in %s)",
                        name, SUFFIX);
    snprintf(out, cap, "%s/%s/%s", k->srv->snap_dir, k->coll_name, name);
    struct stat st;
    if (stat(out, &st) || !S_ISREG(st.st_mode))
        return vs__fail(k, 404, "Not found: Snapshot %s of collection %s not found", name, k->coll_name);
    return 0;
}

int vs__h_snap_get(vs__call *k) {
    char path[PATH_MAX + 256];
    if (snap_path(k, k->seg[3], path, sizeof path)) return -1;
    if (!(k->resp->file = strdup(path))) return vs__fail(k, 500, "Service internal error: out of memory");
    k->resp->status = 200;
    k->resp->content_type = "application/octet-stream";
    k->raw = 1;
    return 0;
}

int vs__h_snap_delete(vs__call *k) {
    char path[PATH_MAX + 256];
    if (snap_path(k, k->seg[3], path, sizeof path)) return -1;
    pthread_mutex_lock(&k->srv->admin_mu);
    int r = unlink(path);
    if (!r) {
        char cp[PATH_MAX + 300];
        checksum_path(path, cp, sizeof cp);
        unlink(cp);
    }
    pthread_mutex_unlock(&k->srv->admin_mu);
    if (r) return vs__fail(k, 500, "Service internal error: cannot delete %s: %s", k->seg[3], strerror(errno));
    vs__sb_puts(&k->out, "true");
    return 0;
}

/* A failed restore: a damaged or foreign archive is the client's error (400). */
static int restore_failed(vs__call *k, int rc) {
    if (rc == VS_ECORRUPT || rc == VS_EFORMAT || rc == VS_EVERSION)
        return vs__fail(k, 400, "Wrong input: not a usable snapshot: %s", vs_store_errmsg(k->store));
    return vs__fail_rc(k, rc, vs_store_errmsg(k->store));
}

/* Restores archive as name, replacing a collection of that name only once the archive
 * has been restored completely under a temporary name (so a bad archive leaves the old
 * collection alone). Called with admin_mu held. */
static int replace_from(vs__call *k, const char *archive) {
    vs_coll *c;
    int exists = vs_coll_open(k->store, k->coll_name, &c) == VS_OK;
    vs_coll_close(c);
    if (!exists) {
        int rc = vs_store_restore(k->store, archive, k->coll_name);
        return rc ? restore_failed(k, rc) : 0;
    }
    char tmp[VS_NAME_MAX + 1];
    snprintf(tmp, sizeof tmp, "%.40s-recovering-%d", k->coll_name, (int)getpid());
    vs_store_drop(k->store, tmp);
    int rc = vs_store_restore(k->store, archive, tmp);
    if (rc) return restore_failed(k, rc);
    vs_store_drop(k->store, tmp);
    if ((rc = vs_store_drop(k->store, k->coll_name))) return vs__fail_rc(k, rc, vs_store_errmsg(k->store));
    if ((rc = vs_store_restore(k->store, archive, k->coll_name))) return restore_failed(k, rc);
    return 0;
}

int vs__h_snap_recover(vs__call *k) {
    const cJSON *loc = k->json ? cJSON_GetObjectItemCaseSensitive(k->json, "location") : NULL;
    if (!cJSON_IsString(loc)) return vs__fail(k, 400, "Wrong input: \"location\" (a file:// URL or a snapshot name) is required");
    const char *l = loc->valuestring;
    char want[PATH_MAX + 256];
    if (!strncmp(l, "file://", 7)) {
        snprintf(want, sizeof want, "%s", l + 7);
    } else if (strstr(l, "://")) {
        return vs__fail(k, 400, "Wrong input: only file:// locations (inside the server's snapshots "
                                "directory) are supported; upload the file instead");
    } else { /* a bare snapshot name of this collection */
        if (!snap_name_ok(l)) return vs__fail(k, 400, "Wrong input: invalid snapshot name '%.100s'", l);
        snprintf(want, sizeof want, "%s/%s/%s", k->srv->snap_dir, k->coll_name, l);
    }
    char real[PATH_MAX], root[PATH_MAX];
    if (mkdirs(k->srv->snap_dir) || !realpath(k->srv->snap_dir, root))
        return vs__fail(k, 500, "Service internal error: no snapshots directory %s", k->srv->snap_dir);
    if (!realpath(want, real))
        return vs__fail(k, 404, "Not found: snapshot %.200s not found", l);
    size_t rl = strlen(root);
    if (strncmp(real, root, rl) || real[rl] != '/')
        return vs__fail(k, 403, "Forbidden: snapshot locations must lie inside the server's snapshots directory");
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(k->json, "checksum");
    if (sum && !cJSON_IsNull(sum)) {
        if (!cJSON_IsString(sum) || !checksum_well_formed(sum->valuestring))
            return vs__fail(k, 400, "Wrong input: \"checksum\" must be a SHA-256 as 64 hex digits");
        char hex[65];
        int err = sha256_file(real, hex);
        if (err) return vs__fail(k, 500, "Service internal error: cannot read %.200s: %s", l, strerror(err));
        if (strcasecmp(sum->valuestring, hex))
            return vs__fail(k, 400, "Wrong input: the snapshot's checksum %s does not match the one given", hex);
    }
    pthread_mutex_lock(&k->srv->admin_mu);
    int r = replace_from(k, real);
    pthread_mutex_unlock(&k->srv->admin_mu);
    if (r) return r;
    vs__sb_puts(&k->out, "true");
    return 0;
}

/* ------------------------------------------------------------- uploads --- */

struct vs__upload {
    int fd;
    uint64_t size;
    EVP_MD_CTX *md;
    char path[];
};

int vs__upload_open(vs_server *srv, vs__upload **out) {
    *out = NULL;
    if (mkdirs(srv->snap_dir)) return errno ? errno : EIO;
    size_t n = strlen(srv->snap_dir) + sizeof "/.upload-XXXXXX";
    vs__upload *u = calloc(1, sizeof *u + n);
    if (!u) return ENOMEM;
    snprintf(u->path, n, "%s/.upload-XXXXXX", srv->snap_dir);
    u->md = EVP_MD_CTX_new();
    if (!u->md || !EVP_DigestInit_ex(u->md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(u->md);
        free(u);
        return ENOMEM;
    }
    u->fd = mkostemp(u->path, O_CLOEXEC);
    if (u->fd < 0) {
        int e = errno;
        EVP_MD_CTX_free(u->md);
        free(u);
        return e;
    }
    *out = u;
    return 0;
}

int vs__upload_write(vs__upload *u, const void *p, size_t n) {
    if (u->fd < 0) return EBADF;
    if (!EVP_DigestUpdate(u->md, p, n)) return ENOMEM;
    const char *c = p;
    while (n) {
        ssize_t w = write(u->fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        c += w;
        n -= (size_t)w;
        u->size += (uint64_t)w;
    }
    return 0;
}

int vs__upload_finish(vs__upload *u, char sha256[65]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    int err = 0;
    if (u->fd < 0) return EBADF;
    if (close(u->fd)) err = errno;
    u->fd = -1;
    if (!err && !EVP_DigestFinal_ex(u->md, d, &dn)) err = ENOMEM;
    if (!err) hex_of(d, dn, sha256);
    return err;
}

const char *vs__upload_path(const vs__upload *u) { return u->path; }
uint64_t vs__upload_size(const vs__upload *u) { return u->size; }

void vs__upload_free(vs__upload *u) {
    if (!u) return;
    if (u->fd >= 0) close(u->fd);
    unlink(u->path);
    EVP_MD_CTX_free(u->md);
    free(u);
}

/* POST /collections/{c}/snapshots/upload[?checksum=SHA256]: the collection becomes the
 * uploaded snapshot (created if absent), replaced only once the archive has restored
 * completely. Over the network the body arrives already streamed to a file (http.c:
 * multipart/form-data field "snapshot", or the raw archive); without a network
 * (vs_server_handle) the body is the archive itself. */
int vs__h_snap_upload(vs__call *k) {
    const char *given = vs__arg(k->req, "checksum");
    if (given && !checksum_well_formed(given))
        return vs__fail(k, 400, "Wrong input: checksum must be a SHA-256 as 64 hex digits");
    const char *path = k->req->upload_path, *hex = k->req->upload_sha256;
    char hexbuf[65];
    vs__upload *u = NULL;
    if (!path) {
        if (!k->req->body_len) return vs__fail(k, 400, "Wrong input: the upload is empty");
        int err = vs__upload_open(k->srv, &u);
        if (!err) err = vs__upload_write(u, k->req->body, k->req->body_len);
        if (!err) err = vs__upload_finish(u, hexbuf);
        if (err) {
            vs__upload_free(u);
            return vs__fail_errno(k, err, "cannot store the upload");
        }
        path = vs__upload_path(u);
        hex = hexbuf;
    }
    int r = 0;
    if (given && strcasecmp(given, hex)) {
        r = vs__fail(k, 400, "Wrong input: the upload's checksum %s does not match the one given", hex);
    } else {
        pthread_mutex_lock(&k->srv->admin_mu);
        r = replace_from(k, path);
        pthread_mutex_unlock(&k->srv->admin_mu);
    }
    vs__upload_free(u);
    if (r) return r;
    vs__sb_puts(&k->out, "true");
    return 0;
}
