/*
 * h_snapshots.c — collection snapshots as files under the server's snapshots directory
 * (SNAPDIR/COLLECTION/NAME.snapshot): create, list, download, delete, recover.
 *
 * Names come from URLs and bodies, so every one is checked against a strict pattern
 * before a path is built from it, and a recover location must resolve (realpath) to a
 * file inside the snapshots directory: no path traversal, no reading arbitrary files.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static void snap_json(vs__sb *b, const char *name, const struct stat *st) {
    char t[32];
    iso_time(st->st_mtime, t);
    vs__sb_puts(b, "{\"name\":");
    vs__sb_json_str(b, name, strlen(name));
    vs__sb_printf(b, ",\"creation_time\":\"%s\",\"size\":%llu,\"checksum\":null}", t,
                  (unsigned long long)st->st_size);
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
    pthread_mutex_unlock(&k->srv->admin_mu);
    if (rc) return vs__fail_coll(k, rc);
    if (stat(path, &st)) return vs__fail(k, 500, "Service internal error: snapshot %s vanished", name);
    snap_json(&k->out, name, &st);
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
            snap_json(&k->out, de->d_name, &st);
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
    pthread_mutex_unlock(&k->srv->admin_mu);
    if (r) return vs__fail(k, 500, "Service internal error: cannot delete %s: %s", k->seg[3], strerror(errno));
    vs__sb_puts(&k->out, "true");
    return 0;
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
        return rc ? vs__fail_rc(k, rc, vs_store_errmsg(k->store)) : 0;
    }
    char tmp[VS_NAME_MAX + 1];
    snprintf(tmp, sizeof tmp, "%.40s-recovering-%d", k->coll_name, (int)getpid());
    vs_store_drop(k->store, tmp);
    int rc = vs_store_restore(k->store, archive, tmp);
    if (rc) return vs__fail_rc(k, rc, vs_store_errmsg(k->store));
    vs_store_drop(k->store, tmp);
    if ((rc = vs_store_drop(k->store, k->coll_name))) return vs__fail_rc(k, rc, vs_store_errmsg(k->store));
    if ((rc = vs_store_restore(k->store, archive, k->coll_name)))
        return vs__fail_rc(k, rc, vs_store_errmsg(k->store));
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
    pthread_mutex_lock(&k->srv->admin_mu);
    int r = replace_from(k, real);
    pthread_mutex_unlock(&k->srv->admin_mu);
    if (r) return r;
    vs__sb_puts(&k->out, "true");
    return 0;
}
