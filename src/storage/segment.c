/*
 * segment.c — mutable segment growth, sealed segment files (write and open).
 *
 * Files are written through `colw`, a buffered writer that streams the body through
 * XXH3 and writes the frame header last, so a segment of any size is written in one
 * pass with bounded memory. A segment directory is built under seg-N.tmp/ and renamed
 * to seg-N/ only when every file is complete and fsync'd; a crash leaves at worst a
 * .tmp directory that the next open removes.
 */
#define _GNU_SOURCE
#include "storage/segment.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/frame.h"
#include "util/alloc.h"
#include "util/checksum.h"
#include "util/json.h"

#define VEC_BODY_OFF 4096
#define COLW_BUF (1u << 20)

/* ------------------------------------------------------------ rows ---- */

const char *vs__seg_payload(const vs__segment *s, size_t row, size_t *len) {
    if (s->is_mutable) {
        const char *p = s->payloads[row];
        if (len) *len = strlen(p);
        return p;
    }
    uint64_t a = s->pay_off[row], b = s->pay_off[row + 1];
    if (len) *len = (size_t)(b - a - 1); /* texts are stored with their NUL */
    return s->pay_blob + a;
}

void vs__seg_delete(vs__segment *s, size_t row) {
    uint64_t bit = 1ull << (row & 63);
    if (s->del[row >> 6] & bit) return;
    s->del[row >> 6] |= bit;
    s->ndeleted++;
    s->del_dirty = 1;
}

static size_t words(size_t bits) { return (bits + 63) / 64; }

vs__segment *vs__seg_new_mutable(uint32_t id, const vs_schema *sc) {
    vs__segment *s = vs__calloc(1, sizeof *s);
    if (!s) return NULL;
    s->id = id;
    s->is_mutable = 1;
    s->nfields = sc->nfields;
    for (uint32_t f = 0; f < sc->nfields; f++) s->dims[f] = sc->fields[f].dim;
    s->del = vs__calloc(1, sizeof *s->del); /* so that cap 0 still has a word */
    if (!s->del) {
        vs__free(s);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    return s;
}

void vs__seg_ref(vs__segment *s) { atomic_fetch_add(&s->refs, 1); }

static void seg_free(vs__segment *s) {
    for (uint32_t f = 0; f < s->nfields; f++)
        if (s->idx[f].p) s->idx[f].free(s->idx[f].p);
    for (uint32_t i = 0; i < s->npidx; i++) s->pidx_free(s->pidx[i]);
    if (s->is_mutable) {
        for (uint32_t f = 0; f < s->nfields; f++) vs__aligned_free(s->vec[f]);
        for (size_t i = 0; i < s->rows; i++) {
            vs__free((void *)s->ids[i].str);
            vs__free(s->payloads[i]);
        }
        vs__free(s->payloads);
    } else {
        for (uint32_t f = 0; f < s->nfields; f++) vs__unmap(&s->vmap[f]);
        vs__unmap(&s->idmap_file);
        vs__unmap(&s->paymap);
    }
    vs__free(s->ids);
    vs__free(s->del);
    vs__free(s);
}

void vs__seg_unref(vs__segment *s) {
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) seg_free(s);
}

uint64_t vs__seg_memory(const vs__segment *s) {
    uint64_t m = sizeof *s + s->cap * sizeof *s->ids + words(s->cap) * 8;
    if (s->is_mutable) {
        for (uint32_t f = 0; f < s->nfields; f++) m += (uint64_t)s->cap * s->dims[f] * 4;
        m += s->cap * sizeof(char *) + s->heap_bytes;
    }
    return m;
}

int vs__seg_reserve(const vs__segment *s, size_t need, vs__seg_grow *g, vs__err *e) {
    memset(g, 0, sizeof *g);
    if (need <= s->cap) return VS_OK;
    size_t cap = s->cap ? s->cap : 1024;
    while (cap < need) cap *= 2;
    g->cap = cap;
    for (uint32_t f = 0; f < s->nfields; f++) {
        size_t bytes;
        if (vs__mul_ok(cap, (size_t)s->dims[f] * 4, &bytes)) goto oom;
        g->vec[f] = vs__aligned_alloc(64, bytes);
        if (!g->vec[f]) goto oom;
        if (s->rows) memcpy(g->vec[f], s->vec[f], s->rows * s->dims[f] * 4);
    }
    g->ids = vs__malloc(cap * sizeof *g->ids);
    g->payloads = vs__malloc(cap * sizeof *g->payloads);
    g->del = vs__calloc(words(cap), 8);
    if (!g->ids || !g->payloads || !g->del) goto oom;
    if (s->rows) {
        memcpy(g->ids, s->ids, s->rows * sizeof *g->ids);
        memcpy(g->payloads, s->payloads, s->rows * sizeof *g->payloads);
    }
    memcpy(g->del, s->del, words(s->rows) * 8);
    return VS_OK;
oom:
    vs__seg_grow_abort(g);
    return vs__errf(e, VS_ENOMEM, "out of memory growing the mutable segment to %zu rows", cap);
}

void vs__seg_grow_abort(vs__seg_grow *g) {
    for (int f = 0; f < VS_FIELDS_MAX; f++) vs__aligned_free(g->vec[f]);
    vs__free(g->ids);
    vs__free(g->payloads);
    vs__free(g->del);
    memset(g, 0, sizeof *g);
}

void vs__seg_grow_commit(vs__segment *s, vs__seg_grow *g) {
    if (!g->cap) return;
    for (uint32_t f = 0; f < s->nfields; f++) {
        vs__aligned_free(s->vec[f]);
        s->vec[f] = g->vec[f];
    }
    vs__free(s->ids);
    vs__free(s->payloads);
    vs__free(s->del);
    s->ids = g->ids;
    s->payloads = g->payloads;
    s->del = g->del;
    s->cap = g->cap;
    memset(g, 0, sizeof *g);
}

size_t vs__seg_append(vs__segment *s, const vs__rowid *id, const void *const *vecs,
                      char *payload) {
    size_t r = s->rows++;
    for (uint32_t f = 0; f < s->nfields; f++)
        memcpy(s->vec[f] + r * s->dims[f], vecs[f], (size_t)s->dims[f] * 4);
    s->ids[r] = *id;
    s->payloads[r] = payload;
    s->heap_bytes += strlen(payload) + 1 + id->len;
    return r;
}

void vs__seg_set_payload(vs__segment *s, size_t row, char *payload) {
    s->heap_bytes -= strlen(s->payloads[row]) + 1;
    s->heap_bytes += strlen(payload) + 1;
    vs__free(s->payloads[row]);
    s->payloads[row] = payload;
    s->pay_changes++;
}

/* ------------------------------------------------------------ writing ---- */

typedef struct colw {
    int fd;
    char path[4200];
    char magic[8];
    uint64_t body_off, off, body_len;
    vs__cksum_state *ck;
    uint8_t *buf;
    size_t blen;
} colw;

static int colw_open(colw *c, const char *dir, const char *name, const char *magic,
                     uint64_t body_off, vs__err *e) {
    memset(c, 0, sizeof *c);
    c->fd = -1;
    int rc = vs__path_join(c->path, sizeof c->path, dir, name, e);
    if (rc) return rc;
    memcpy(c->magic, magic, 8);
    c->body_off = c->off = body_off;
    c->ck = vs__cksum_new();
    c->buf = vs__malloc(COLW_BUF);
    if (!c->ck || !c->buf) return vs__errf(e, VS_ENOMEM, "out of memory writing %s", c->path);
    return vs__file_open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &c->fd, e);
}

static int colw_flush(colw *c, vs__err *e) {
    if (!c->blen) return VS_OK;
    int rc = vs__file_pwrite(c->fd, c->buf, c->blen, c->off, c->path, e);
    c->off += c->blen;
    c->blen = 0;
    return rc;
}

static int colw_write(colw *c, const void *p, size_t n, vs__err *e) {
    vs__cksum_update(c->ck, p, n);
    c->body_len += n;
    const uint8_t *s = p;
    while (n) {
        size_t k = COLW_BUF - c->blen;
        if (k > n) k = n;
        memcpy(c->buf + c->blen, s, k);
        c->blen += k;
        s += k;
        n -= k;
        if (c->blen == COLW_BUF) {
            int rc = colw_flush(c, e);
            if (rc) return rc;
        }
    }
    return VS_OK;
}

static int colw_finish(colw *c, vs__err *e) {
    int rc = colw_flush(c, e);
    if (rc) return rc;
    vs__frame f = {{0}, VS_FORMAT_VERSION, 0, c->body_off, c->body_len, vs__cksum_digest(c->ck)};
    memcpy(f.magic, c->magic, 8);
    uint8_t hdr[VS_FRAME_HDR];
    vs__frame_encode(&f, hdr);
    if ((rc = vs__file_pwrite(c->fd, hdr, sizeof hdr, 0, c->path, e))) return rc;
    return vs__file_fsync(c->fd, c->path, e);
}

static void colw_close(colw *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    if (c->ck) vs__cksum_free(c->ck);
    c->ck = NULL;
    vs__free(c->buf);
    c->buf = NULL;
}

struct vs__segw {
    char coll_dir[4096];
    char tmp[4200];
    uint32_t id, nfields;
    uint32_t dims[VS_FIELDS_MAX];
    colw vec[VS_FIELDS_MAX];
    colw ids, pay;
    uint64_t *offs; /* payload offsets */
    size_t rows, cap;
    uint64_t pay_bytes;
};

int vs__seg_dirname(char *buf, size_t cap, const char *coll_dir, uint32_t id, vs__err *e) {
    if ((size_t)snprintf(buf, cap, "%s/seg-%08" PRIx32, coll_dir, id) >= cap)
        return vs__errf(e, VS_ENAME, "path too long: %s", coll_dir);
    return VS_OK;
}

void vs__segw_abort(vs__segw *w) {
    if (!w) return;
    for (uint32_t f = 0; f < w->nfields; f++) colw_close(&w->vec[f]);
    colw_close(&w->ids);
    colw_close(&w->pay);
    if (w->tmp[0]) vs__dir_remove_all(w->tmp);
    vs__free(w->offs);
    vs__free(w);
}

int vs__segw_open(const char *coll_dir, uint32_t id, const vs_schema *sc, vs__segw **out,
                  vs__err *e) {
    *out = NULL;
    vs__segw *w = vs__calloc(1, sizeof *w);
    if (!w) return vs__errf(e, VS_ENOMEM, "out of memory writing a segment");
    for (int f = 0; f < VS_FIELDS_MAX; f++) w->vec[f].fd = -1;
    w->ids.fd = w->pay.fd = -1;
    snprintf(w->coll_dir, sizeof w->coll_dir, "%s", coll_dir);
    w->id = id;
    w->nfields = sc->nfields;
    int rc;
    char dir[4200];
    if ((rc = vs__seg_dirname(dir, sizeof dir, coll_dir, id, e))) goto fail;
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp", dir);
    vs__dir_remove_all(w->tmp);
    if ((rc = vs__dir_make(w->tmp, e))) {
        w->tmp[0] = 0;
        goto fail;
    }
    for (uint32_t f = 0; f < sc->nfields; f++) {
        char name[32];
        snprintf(name, sizeof name, "vec-%u", f);
        w->dims[f] = sc->fields[f].dim;
        if ((rc = colw_open(&w->vec[f], w->tmp, name, "VSSEGVEC", VEC_BODY_OFF, e))) goto fail;
    }
    if ((rc = colw_open(&w->ids, w->tmp, "ids", "VSSEGIDS", VS_FRAME_HDR, e))) goto fail;
    if ((rc = colw_open(&w->pay, w->tmp, "payload", "VSSEGPAY", VS_FRAME_HDR, e))) goto fail;
    *out = w;
    return VS_OK;
fail:
    vs__segw_abort(w);
    return rc;
}

int vs__segw_add(vs__segw *w, const vs__rowid *id, const float *const *vecs,
                 const char *payload, size_t plen, vs__err *e) {
    int rc;
    if (w->rows + 1 >= w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        uint64_t *o = vs__realloc(w->offs, cap * sizeof *o);
        if (!o) return vs__errf(e, VS_ENOMEM, "out of memory writing a segment");
        w->offs = o;
        w->cap = cap;
    }
    for (uint32_t f = 0; f < w->nfields; f++)
        if ((rc = colw_write(&w->vec[f], vecs[f], (size_t)w->dims[f] * 4, e))) return rc;
    uint8_t t[11];
    t[0] = id->kind;
    if (id->kind == VS_ID_NUM) {
        vs__put_u64(t + 1, id->num);
        rc = colw_write(&w->ids, t, 9, e);
    } else {
        t[1] = (uint8_t)id->len;
        t[2] = (uint8_t)(id->len >> 8);
        rc = colw_write(&w->ids, t, 3, e);
        if (!rc) rc = colw_write(&w->ids, id->str, id->len, e);
    }
    if (rc) return rc;
    w->offs[w->rows] = w->pay_bytes;
    if ((rc = colw_write(&w->pay, payload, plen, e))) return rc;
    if ((rc = colw_write(&w->pay, "", 1, e))) return rc;
    w->pay_bytes += plen + 1;
    w->rows++;
    return VS_OK;
}

int vs__segw_finish(vs__segw *w, const uint64_t *del, uint64_t del_gen, vs__err *e) {
    int rc;
    char dir[4200], path[4300];
    w->offs[w->rows] = w->pay_bytes;
    uint8_t t[8] = {0};
    /* Pad the blob so the offset table that follows is 8-byte aligned (read in place). */
    if (w->pay_bytes % 8 && (rc = colw_write(&w->pay, t, 8 - w->pay_bytes % 8, e))) goto fail;
    for (size_t i = 0; i <= w->rows; i++) {
        vs__put_u64(t, w->offs[i]);
        if ((rc = colw_write(&w->pay, t, 8, e))) goto fail;
    }
    for (uint32_t f = 0; f < w->nfields; f++)
        if ((rc = colw_finish(&w->vec[f], e))) goto fail;
    if ((rc = colw_finish(&w->ids, e)) || (rc = colw_finish(&w->pay, e))) goto fail;
    /* meta */
    /* Each cJSON call can fail for memory and then leaves its member out: check them
     * all, or out-of-memory writes a meta file that lacks rows or dimensions. */
    cJSON *m = cJSON_CreateObject();
    cJSON *dims = m ? cJSON_AddArrayToObject(m, "dims") : NULL;
    char *text = NULL;
    int built = dims && cJSON_AddNumberToObject(m, "id", w->id) &&
                cJSON_AddNumberToObject(m, "rows", (double)w->rows);
    for (uint32_t f = 0; f < w->nfields && built; f++) {
        cJSON *d = cJSON_CreateNumber(w->dims[f]);
        built = d != NULL;
        if (d) cJSON_AddItemToArray(dims, d);
    }
    if (built) text = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    if (!text) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory writing segment meta");
        goto fail;
    }
    snprintf(path, sizeof path, "%s/meta", w->tmp);
    rc = vs__frame_write_file(path, "VSSEGMET", text, strlen(text), e);
    cJSON_free(text);
    if (rc) goto fail;
    size_t ndel = 0;
    if (del)
        for (size_t i = 0; i < words(w->rows); i++) ndel += (size_t)__builtin_popcountll(del[i]);
    if (ndel) {
        size_t nw = words(w->rows);
        uint8_t *body = vs__malloc(8 + nw * 8);
        if (!body) {
            rc = vs__errf(e, VS_ENOMEM, "out of memory writing tombstones");
            goto fail;
        }
        vs__put_u64(body, w->rows);
        for (size_t i = 0; i < nw; i++) {
            uint64_t word = del[i];
            if (i == nw - 1 && (w->rows & 63)) word &= (1ull << (w->rows & 63)) - 1;
            vs__put_u64(body + 8 + i * 8, word);
        }
        snprintf(path, sizeof path, "%s/del-%016" PRIx64, w->tmp, del_gen);
        rc = vs__frame_write_file(path, "VSSEGDEL", body, 8 + nw * 8, e);
        vs__free(body);
        if (rc) goto fail;
    }
    if ((rc = vs__dir_fsync(w->tmp, e))) goto fail;
    if ((rc = vs__seg_dirname(dir, sizeof dir, w->coll_dir, w->id, e))) goto fail;
    vs__dir_remove_all(dir);
    if ((rc = vs__file_rename(w->tmp, dir, e))) goto fail;
    w->tmp[0] = 0;
    rc = vs__dir_fsync(w->coll_dir, e);
fail:
    vs__segw_abort(w);
    return rc;
}

/* ------------------------------------------------------------ opening ---- */

static int map_checked(const char *dir, const char *name, const char *magic, vs__map *m,
                       const uint8_t **body, uint64_t *len, vs__err *e) {
    char path[4300];
    int rc = vs__path_join(path, sizeof path, dir, name, e);
    if (rc) return rc;
    if ((rc = vs__map_file(path, m, e))) {
        /* A file missing from a segment the manifest names is corruption. */
        if (rc == VS_ENOTFOUND) rc = e->rc = VS_ECORRUPT;
        return rc;
    }
    vs__frame f;
    if ((rc = vs__frame_decode(m->data, m->len, magic, &f, path, e)) ||
        (rc = vs__frame_check_body(&f, m->data, m->len, path, e))) {
        if (rc == VS_EFORMAT) rc = e->rc = VS_ECORRUPT;
        vs__unmap(m);
        return rc;
    }
    *body = m->data + f.body_off;
    *len = f.body_len;
    return VS_OK;
}

int vs__seg_open(const char *coll_dir, uint32_t id, uint64_t rows, uint64_t del_gen,
                 const vs_schema *sc, vs__segment **out, vs__err *e) {
    *out = NULL;
    char dir[4200], path[4300];
    int rc = vs__seg_dirname(dir, sizeof dir, coll_dir, id, e);
    if (rc) return rc;
    vs__segment *s = vs__calloc(1, sizeof *s);
    if (!s) return vs__errf(e, VS_ENOMEM, "out of memory opening segment %u", id);
    atomic_init(&s->refs, 1);
    s->id = id;
    s->nfields = sc->nfields;
    s->rows = s->cap = (size_t)rows;
    const uint8_t *body;
    uint64_t len;
    /* meta: cross-check what the manifest says */
    uint8_t *meta = NULL;
    size_t mlen;
    snprintf(path, sizeof path, "%s/meta", dir);
    if ((rc = vs__frame_read_file(path, "VSSEGMET", &meta, &mlen, e))) {
        /* A missing or truncated file of a segment the manifest names is corruption. */
        if (rc == VS_EFORMAT || rc == VS_ENOTFOUND) rc = e->rc = VS_ECORRUPT;
        goto fail;
    }
    /* Text that checks out but does not parse means cJSON ran out of memory. */
    int valid = vs__json_check((const char *)meta, mlen, NULL, NULL) == 0;
    cJSON *mj = valid ? cJSON_ParseWithLength((const char *)meta, mlen) : NULL;
    vs__free(meta);
    if (valid && !mj) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory reading %s", path);
        goto fail;
    }
    const cJSON *jr = cJSON_GetObjectItemCaseSensitive(mj, "rows");
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(mj, "dims");
    int ok = cJSON_IsNumber(jr) && (uint64_t)jr->valuedouble == rows && cJSON_IsArray(jd) &&
             cJSON_GetArraySize(jd) == (int)sc->nfields;
    for (uint32_t f = 0; ok && f < sc->nfields; f++) {
        const cJSON *d = cJSON_GetArrayItem(jd, (int)f);
        ok = cJSON_IsNumber(d) && (uint32_t)d->valuedouble == sc->fields[f].dim;
    }
    cJSON_Delete(mj);
    if (!ok) {
        rc = vs__errf(e, VS_ECORRUPT, "%s: meta does not match the manifest (rows/dims)", dir);
        goto fail;
    }
    for (uint32_t f = 0; f < sc->nfields; f++) {
        char name[32];
        snprintf(name, sizeof name, "vec-%u", f);
        s->dims[f] = sc->fields[f].dim;
        if ((rc = map_checked(dir, name, "VSSEGVEC", &s->vmap[f], &body, &len, e))) goto fail;
        if (len != rows * s->dims[f] * 4) {
            rc = vs__errf(e, VS_ECORRUPT, "%s/%s: %" PRIu64 " bytes, expected %" PRIu64, dir,
                          name, len, rows * s->dims[f] * 4);
            goto fail;
        }
        s->vec[f] = (float *)(uintptr_t)body;
    }
    /* ids */
    if ((rc = map_checked(dir, "ids", "VSSEGIDS", &s->idmap_file, &body, &len, e))) goto fail;
    s->ids = vs__malloc((rows ? rows : 1) * sizeof *s->ids);
    s->del = vs__calloc(words(rows) + 1, 8);
    if (!s->ids || !s->del) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory opening segment %u", id);
        goto fail;
    }
    uint64_t p = 0;
    for (uint64_t i = 0; i < rows; i++) {
        vs__rowid *r = &s->ids[i];
        if (p + 1 > len) goto bad_ids;
        r->kind = body[p++];
        if (r->kind == VS_ID_NUM) {
            if (p + 8 > len) goto bad_ids;
            r->num = vs__get_u64(body + p);
            r->str = NULL;
            r->len = 0;
            p += 8;
        } else if (r->kind == VS_ID_STR) {
            if (p + 2 > len) goto bad_ids;
            r->len = (uint32_t)(body[p] | body[p + 1] << 8);
            p += 2;
            if (r->len == 0 || r->len > VS_ID_STR_MAX || p + r->len > len) goto bad_ids;
            r->str = (const char *)body + p;
            r->num = 0;
            p += r->len;
        } else {
            goto bad_ids;
        }
    }
    if (p != len) goto bad_ids;
    /* payloads */
    if ((rc = map_checked(dir, "payload", "VSSEGPAY", &s->paymap, &body, &len, e))) goto fail;
    if (len < (rows + 1) * 8) goto bad_pay;
    uint64_t blob = len - (rows + 1) * 8;
    const uint8_t *offs = body + blob;
    if ((uintptr_t)offs % 8) goto bad_pay; /* offsets are read in place */
    s->pay_off = (const uint64_t *)(uintptr_t)offs;
    s->pay_blob = (const char *)body;
    for (uint64_t i = 0; i < rows; i++) {
        uint64_t a = s->pay_off[i], b = s->pay_off[i + 1];
        if (a >= b || b > blob || body[b - 1] != 0) goto bad_pay;
    }
    if (s->pay_off[0] != 0 || s->pay_off[rows] > blob || blob - s->pay_off[rows] >= 8)
        goto bad_pay;
    /* tombstones */
    if (del_gen) {
        uint8_t *d = NULL;
        size_t dl;
        snprintf(path, sizeof path, "%s/del-%016" PRIx64, dir, del_gen);
        if ((rc = vs__frame_read_file(path, "VSSEGDEL", &d, &dl, e))) {
            if (rc == VS_EFORMAT || rc == VS_ENOTFOUND) rc = e->rc = VS_ECORRUPT;
            goto fail;
        }
        if (dl != 8 + words(rows) * 8 || vs__get_u64(d) != rows) {
            vs__free(d);
            rc = vs__errf(e, VS_ECORRUPT, "%s: tombstones do not match %" PRIu64 " rows", path, rows);
            goto fail;
        }
        for (size_t i = 0; i < words(rows); i++) {
            s->del[i] = vs__get_u64(d + 8 + i * 8);
            s->ndeleted += (size_t)__builtin_popcountll(s->del[i]);
        }
        vs__free(d);
        s->del_gen = del_gen;
    }
    s->disk_bytes = s->paymap.len + s->idmap_file.len;
    for (uint32_t f = 0; f < sc->nfields; f++) s->disk_bytes += s->vmap[f].len;
    *out = s;
    return VS_OK;
bad_ids:
    rc = vs__errf(e, VS_ECORRUPT, "%s/ids: malformed id table", dir);
    goto fail;
bad_pay:
    rc = vs__errf(e, VS_ECORRUPT, "%s/payload: malformed offset table", dir);
fail:
    seg_free(s);
    return rc;
}

int vs__seg_write_del(const char *coll_dir, const vs__segment *s, uint64_t gen, vs__err *e) {
    char dir[4200], path[4300];
    int rc = vs__seg_dirname(dir, sizeof dir, coll_dir, s->id, e);
    if (rc) return rc;
    size_t nw = words(s->rows);
    uint8_t *body = vs__malloc(8 + nw * 8);
    if (!body) return vs__errf(e, VS_ENOMEM, "out of memory writing tombstones");
    vs__put_u64(body, s->rows);
    for (size_t i = 0; i < nw; i++) vs__put_u64(body + 8 + i * 8, s->del[i]);
    snprintf(path, sizeof path, "%s/del-%016" PRIx64, dir, gen);
    rc = vs__frame_write_file(path, "VSSEGDEL", body, 8 + nw * 8, e);
    vs__free(body);
    return rc;
}

void vs__seg_remove_old_del(const char *coll_dir, uint32_t id, uint64_t keep) {
    char dir[4200], path[4400];
    if (vs__seg_dirname(dir, sizeof dir, coll_dir, id, NULL)) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "del-", 4)) continue;
        uint64_t g = strtoull(de->d_name + 4, NULL, 16);
        if (g == keep) continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
}
