/*
 * hnsw_io.c — saving, loading and validating an HNSW graph.
 *
 * FILE (one framed file, storage/frame.h, magic "VSHNSWG1", body at offset 64)
 *   The body is the in-memory layout of hnsw_int.h written as it is, so a load maps
 *   the file and points the arrays into the mapping (no copy, no parse of the links).
 *   All integers little-endian; every section starts 64-byte aligned within the body,
 *   and the body starts at file offset 64 of a page-aligned mapping, so the layer-0
 *   lists keep their cache-line alignment when mapped.
 *
 *     body off  size          field
 *        0      8             n (rows)
 *        8      8             dim
 *       16      4             kind (0 dot, 1 l2)
 *       20      4             m
 *       24      4             m0 (= 2m)
 *       28      4             stride0 (m0 rounded up to 16)
 *       32      4             ef_construction
 *       36      4             entry (0xFFFFFFFF when empty)
 *       40      4             top level (int32, -1 when empty)
 *       44      4             graph format version (1)
 *       48      8             seed
 *       56      8             nodes (rows in the graph)
 *       64      8             nupper (upper-layer lists)
 *       72     32             offsets of level, uoff, l0, up (u64 each, from body start)
 *      104     24             zero
 *      128      n             level[n] (u8; 0xFF = row not in the graph)
 *      align64  4n            uoff[n] (u32)
 *      align64  4 n stride0   l0 lists
 *      align64  4 nupper m    upper lists
 *   The body ends with the upper lists (no trailing padding); padding bytes are zero.
 *   The frame carries the XXH3-64 of the body; the frame version and the graph format
 *   version are both checked (a newer one is VS_EVERSION).
 *
 * WRITING
 *   The sections are streamed into "<path>.tmp" (no second in-memory copy of the
 *   graph), the header is written last at offset 0, then fsync, rename over path and
 *   fsync of the directory, the sequence of vs__file_replace; a failure removes the
 *   temporary file.
 *
 * LOADING
 *   mmap, frame and checksum, then the header against the layout these fields imply
 *   and against the caller's n (a graph saved for another segment is VS_ECORRUPT), then
 *   vs__hnsw_check_bounds: every link in range and on a layer its target has, so no
 *   search over a loaded graph can read outside it, whatever the file says. The full
 *   vs__hnsw_validate (duplicates, reachability) is the caller's to run.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "index/hnsw_int.h"
#include "storage/frame.h"
#include "util/alloc.h"
#include "util/checksum.h"

#define MAGIC "VSHNSWG1"
#define GRAPH_VERSION 1
#define HDR 128

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

typedef struct layout {
    size_t level, uoff, l0, up, end;
} layout;

static int layout_of(size_t n, size_t stride0, size_t nupper, size_t m, layout *L) {
    size_t a, b;
    if (vs__mul_ok(n, stride0 * 4, &a) || vs__mul_ok(nupper, m * 4, &b)) return -1;
    if (n > SIZE_MAX / 8 || a > SIZE_MAX / 4 || b > SIZE_MAX / 4) return -1;
    L->level = HDR;
    L->uoff = align64(L->level + n);
    L->l0 = align64(L->uoff + 4 * n);
    L->up = align64(L->l0 + a);
    L->end = L->up + b;
    return 0;
}

/* ---------------------------------------------------------------- save -- */

typedef struct writer {
    int fd;
    const char *path;
    vs__cksum_state *ck;
    size_t off; /* body bytes written */
    vs__err *e;
} writer;

static int put(writer *w, const void *p, size_t len) {
    if (!len) return VS_OK;
    vs__cksum_update(w->ck, p, len);
    w->off += len;
    return vs__file_write(w->fd, p, len, w->path, w->e);
}

static int pad_to(writer *w, size_t off) {
    static const uint8_t zero[64];
    return put(w, zero, off - w->off);
}

int vs__hnsw_save(const vs__hnsw *h, const char *path, vs__err *e) {
    char tmp[4096], dir[4096];
    layout L;
    int rc, fd = -1;
    writer w = {-1, tmp, NULL, 0, e};
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return vs__errf(e, VS_ENAME, "path too long: %s", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    if (layout_of(h->n, h->stride0, h->nupper, h->m, &L))
        return vs__errf(e, VS_ERANGE, "hnsw graph too large to save");
    if (!(w.ck = vs__cksum_new())) return vs__errf(e, VS_ENOMEM, "out of memory saving %s", path);
    if ((rc = vs__file_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd, e))) goto done;
    w.fd = fd;
    uint8_t frame[VS_FRAME_HDR] = {0}, hdr[HDR] = {0};
    vs__put_u64(hdr + 0, h->n);
    vs__put_u64(hdr + 8, h->dim);
    vs__put_u32(hdr + 16, (uint32_t)h->kind);
    vs__put_u32(hdr + 20, h->m);
    vs__put_u32(hdr + 24, h->m0);
    vs__put_u32(hdr + 28, h->stride0);
    vs__put_u32(hdr + 32, h->ef_construction);
    vs__put_u32(hdr + 36, h->entry);
    vs__put_u32(hdr + 40, (uint32_t)(int32_t)h->top);
    vs__put_u32(hdr + 44, GRAPH_VERSION);
    vs__put_u64(hdr + 48, h->seed);
    vs__put_u64(hdr + 56, h->nodes);
    vs__put_u64(hdr + 64, h->nupper);
    vs__put_u64(hdr + 72, L.level);
    vs__put_u64(hdr + 80, L.uoff);
    vs__put_u64(hdr + 88, L.l0);
    vs__put_u64(hdr + 96, L.up);
    /* header placeholder, then the body in order */
    if ((rc = vs__file_write(fd, frame, sizeof frame, tmp, e))) goto done;
    if ((rc = put(&w, hdr, HDR)) || (rc = put(&w, h->level, h->n)) || (rc = pad_to(&w, L.uoff)) ||
        (rc = put(&w, h->uoff, 4 * h->n)) || (rc = pad_to(&w, L.l0)) ||
        (rc = put(&w, h->l0, 4 * h->n * h->stride0)) || (rc = pad_to(&w, L.up)) ||
        (rc = put(&w, h->up, 4 * h->nupper * h->m)))
        goto done;
    vs__frame f = {{0}, VS_FORMAT_VERSION, 0, VS_FRAME_HDR, L.end, vs__cksum_digest(w.ck)};
    memcpy(f.magic, MAGIC, 8);
    vs__frame_encode(&f, frame);
    if ((rc = vs__file_pwrite(fd, frame, sizeof frame, 0, tmp, e))) goto done;
    if ((rc = vs__file_fsync(fd, tmp, e))) goto done;
    vs__file_close(fd);
    fd = -1;
    if ((rc = vs__file_rename(tmp, path, e))) goto done;
    rc = vs__dir_fsync(dir, e);
done:
    if (fd >= 0) vs__file_close(fd);
    if (rc && vs__path_exists(tmp)) unlink(tmp);
    vs__cksum_free(w.ck);
    return rc;
}

/* ---------------------------------------------------------------- load -- */

int vs__hnsw_load(const char *path, size_t n, vs__hnsw **out, vs__err *e) {
    vs__hnsw *h = NULL;
    vs__map map = {NULL, 0};
    vs__frame f;
    layout L;
    int rc;
    *out = NULL;
    if ((rc = vs__map_file(path, &map, e))) return rc;
    if ((rc = vs__frame_decode(map.data, map.len, MAGIC, &f, path, e))) goto done;
    if ((rc = vs__frame_check_body(&f, map.data, map.len, path, e))) goto done;
    if (f.body_off % 64 || f.body_len < HDR) {
        rc = vs__errf(e, VS_ECORRUPT, "%s: hnsw body of %llu bytes at %llu", path,
                      (unsigned long long)f.body_len, (unsigned long long)f.body_off);
        goto done;
    }
    const uint8_t *b = map.data + f.body_off;
    uint32_t ver = vs__get_u32(b + 44);
    if (ver > GRAPH_VERSION) {
        rc = vs__errf(e, VS_EVERSION, "%s: hnsw graph version %u is newer than this build supports (%d)",
                      path, ver, GRAPH_VERSION);
        goto done;
    }
    uint64_t fn = vs__get_u64(b), fdim = vs__get_u64(b + 8), nodes = vs__get_u64(b + 56),
             nupper = vs__get_u64(b + 64);
    uint32_t kind = vs__get_u32(b + 16), m = vs__get_u32(b + 20), m0 = vs__get_u32(b + 24),
             stride0 = vs__get_u32(b + 28);
    if (fn != n) {
        rc = vs__errf(e, VS_ECORRUPT, "%s: hnsw graph is for %llu rows, the segment has %zu", path,
                      (unsigned long long)fn, n);
        goto done;
    }
    const char *bad = NULL;
    if (ver == 0)
        bad = "graph version 0";
    else if (kind > 1)
        bad = "unknown score kind";
    else if (m < VS__HNSW_M_MIN || m > VS__HNSW_M_MAX || m0 != 2 * m || stride0 != ((m0 + 15) & ~15u))
        bad = "bad m / m0 / stride";
    else if (n > VS__HNSW_MAX_ROWS || nodes > n || nupper > UINT32_MAX)
        bad = "bad row or list count";
    else if (layout_of(n, stride0, (size_t)nupper, m, &L) || L.end != f.body_len ||
             vs__get_u64(b + 72) != L.level || vs__get_u64(b + 80) != L.uoff ||
             vs__get_u64(b + 88) != L.l0 || vs__get_u64(b + 96) != L.up)
        bad = "sections do not match the header";
    if (bad) {
        rc = vs__errf(e, VS_ECORRUPT, "%s: %s", path, bad);
        goto done;
    }
    if (!(h = vs__calloc(1, sizeof *h))) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory loading %s", path);
        goto done;
    }
    h->n = n;
    h->cap = n;
    h->dim = (size_t)fdim;
    h->kind = (int)kind;
    h->m = m;
    h->m0 = m0;
    h->stride0 = stride0;
    h->ef_construction = vs__get_u32(b + 32);
    h->entry = vs__get_u32(b + 36);
    h->top = (int32_t)vs__get_u32(b + 40);
    h->seed = vs__get_u64(b + 48);
    h->nodes = (size_t)nodes;
    h->nupper = (size_t)nupper;
    h->level = (uint8_t *)(b + L.level);
    h->uoff = (uint32_t *)(b + L.uoff);
    h->l0 = (uint32_t *)(b + L.l0);
    h->up = (uint32_t *)(b + L.up);
    h->map = map;
    h->mapped = 1;
    map.data = NULL;
    if ((rc = vs__hnsw_check_bounds(h, e))) {
        vs__err_ctx(e, "%s", path);
        goto done;
    }
    *out = h;
    h = NULL;
done:
    vs__hnsw_free(h);
    vs__unmap(&map);
    return rc;
}

/* ------------------------------------------------------------ validate -- */

#define FAIL(...)                                                                      \
    do {                                                                               \
        rc = vs__errf(e, VS_ECORRUPT, __VA_ARGS__);                                    \
        goto done;                                                                     \
    } while (0)

int vs__hnsw_check_bounds(const vs__hnsw *h, vs__err *e) {
    int rc = VS_OK;
    size_t nodes = 0, up = 0;
    int maxl = -1;
    for (size_t i = 0; i < h->n; i++) {
        uint8_t lv = h->level[i];
        if (h->uoff[i] != up) FAIL("hnsw row %zu: upper lists at %u, expected %zu", i, h->uoff[i], up);
        if (lv == VS__HNSW_ABSENT) continue;
        if (lv > VS__HNSW_MAX_LEVEL) FAIL("hnsw row %zu: level %u out of range", i, lv);
        nodes++;
        up += lv;
        if (lv > maxl) maxl = lv;
    }
    if (nodes != h->nodes) FAIL("hnsw graph: %zu nodes, header says %zu", nodes, h->nodes);
    if (up != h->nupper) FAIL("hnsw graph: %zu upper lists, header says %zu", up, h->nupper);
    if (nodes == 0) {
        if (h->entry != VS__HNSW_NONE || h->top != -1) FAIL("hnsw graph: empty but has an entry");
    } else {
        if (h->entry >= h->n || h->level[h->entry] == VS__HNSW_ABSENT)
            FAIL("hnsw graph: entry %u is not a node", h->entry);
        if (h->top != maxl || h->level[h->entry] != h->top)
            FAIL("hnsw graph: entry %u has level %d, top level is %d, highest node level %d",
                 h->entry, h->level[h->entry], h->top, maxl);
    }
    for (size_t i = 0; i < h->n; i++) {
        int lv = h->level[i] == VS__HNSW_ABSENT ? -1 : h->level[i];
        const uint32_t *L0 = h->l0 + i * h->stride0;
        for (uint32_t j = 0; j < h->stride0; j++) {
            uint32_t v = L0[j];
            if (v == VS__HNSW_NONE) continue;
            if (lv < 0) FAIL("hnsw row %zu is not in the graph but has links", i);
            if (j >= h->m0) FAIL("hnsw node %zu layer 0: more than %u links", i, h->m0);
            if (v >= h->n) FAIL("hnsw node %zu layer 0: link to row %u out of range (n = %zu)", i, v, h->n);
            if (h->level[v] == VS__HNSW_ABSENT)
                FAIL("hnsw node %zu layer 0: link to row %u, which is not in the graph", i, v);
        }
        for (int l = 1; l <= lv; l++) {
            const uint32_t *L = vs__hnsw_list(h, (uint32_t)i, l);
            for (uint32_t j = 0; j < h->m; j++) {
                uint32_t v = L[j];
                if (v == VS__HNSW_NONE) continue;
                if (v >= h->n) FAIL("hnsw node %zu layer %d: link to row %u out of range (n = %zu)", i, l, v, h->n);
                if (h->level[v] == VS__HNSW_ABSENT || h->level[v] < l)
                    FAIL("hnsw node %zu layer %d: link to row %u, which is not on that layer", i, l, v);
            }
        }
    }
done:
    return rc;
}

int vs__hnsw_validate(const vs__hnsw *h, vs__err *e) {
    int rc;
    uint32_t *stamp = NULL, *queue = NULL;
    if (!h) return vs__errf(e, VS_EINVAL, "hnsw validate: no graph");
    if ((rc = vs__hnsw_check_bounds(h, e))) return rc;
    if (h->nodes == 0) return VS_OK;
    /* stamp[v] = 1 + the list being checked that last saw v: duplicates in O(links) */
    if (!(stamp = vs__calloc(h->n, sizeof *stamp)) || !(queue = vs__malloc(h->nodes * sizeof *queue))) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory validating an hnsw graph");
        goto done;
    }
    uint32_t tag = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (h->level[i] == VS__HNSW_ABSENT) continue;
        for (int l = 0; l <= h->level[i]; l++) {
            const uint32_t *L = vs__hnsw_list(h, (uint32_t)i, l);
            uint32_t cap = vs__hnsw_cap(h, l);
            if (++tag == 0) { /* wrapped: start over */
                memset(stamp, 0, h->n * sizeof *stamp);
                tag = 1;
            }
            int ended = 0;
            for (uint32_t j = 0; j < cap; j++) {
                uint32_t v = L[j];
                if (v == VS__HNSW_NONE) {
                    ended = 1;
                    continue;
                }
                if (ended) FAIL("hnsw node %zu layer %d: link %u after the end of the list", i, l, j);
                if (v == i) FAIL("hnsw node %zu layer %d: links to itself", i, l);
                if (stamp[v] == tag) FAIL("hnsw node %zu layer %d: duplicate link to %u", i, l, v);
                stamp[v] = tag;
            }
        }
    }
    /* every node reachable from the entry on layer 0 (stamp reused as the seen mark) */
    memset(stamp, 0, h->n * sizeof *stamp);
    size_t head = 0, tail = 0;
    stamp[h->entry] = 1;
    queue[tail++] = h->entry;
    while (head < tail) {
        const uint32_t *L = vs__hnsw_list(h, queue[head++], 0);
        for (uint32_t j = 0; j < h->m0 && L[j] != VS__HNSW_NONE; j++)
            if (!stamp[L[j]]) {
                stamp[L[j]] = 1;
                queue[tail++] = L[j];
            }
    }
    if (tail != h->nodes) {
        size_t miss = 0;
        while (miss < h->n && (h->level[miss] == VS__HNSW_ABSENT || stamp[miss])) miss++;
        FAIL("hnsw graph: %zu of %zu nodes unreachable from the entry on layer 0 (first: row %zu)",
             h->nodes - tail, h->nodes, miss);
    }
done:
    vs__free(stamp);
    vs__free(queue);
    return rc;
}
