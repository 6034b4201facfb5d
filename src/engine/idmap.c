/*
 * idmap.c — the id hash table (see idmap.h).
 */
#include "engine/idmap.h"

#include <string.h>

#include "util/alloc.h"
#include "util/checksum.h"

uint64_t vs__id_hash(const vs_id *id) {
    if (id->kind == VS_ID_NUM) {
        /* splitmix64 finaliser: sequential ids spread over the table */
        uint64_t x = id->num + 0x9e3779b97f4a7c15ull;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        return x ^ (x >> 31);
    }
    return vs__checksum_seed(id->str, id->len, 0x5354524944ull);
}

int vs__id_eq_row(const vs_id *id, const vs__rowid *r) {
    if (id->kind != r->kind) return 0;
    if (id->kind == VS_ID_NUM) return id->num == r->num;
    return id->len == r->len && memcmp(id->str, r->str, id->len) == 0;
}

int vs__id_check(const vs_id *id, vs__err *e) {
    if (!id) return vs__errf(e, VS_EID, "id is NULL");
    if (id->kind == VS_ID_NUM) return VS_OK;
    if (id->kind != VS_ID_STR) return vs__errf(e, VS_EID, "id kind %d is neither numeric nor string", id->kind);
    if (!id->str || id->len == 0) return vs__errf(e, VS_EID, "string id is empty");
    if (id->len > VS_ID_STR_MAX)
        return vs__errf(e, VS_EID, "string id of %u bytes exceeds the limit of %d", id->len,
                        VS_ID_STR_MAX);
    /* UTF-8 validity, so ids print and compare sanely everywhere (JSON, HTTP). */
    const unsigned char *s = (const unsigned char *)id->str;
    for (uint32_t i = 0; i < id->len;) {
        unsigned c = s[i];
        uint32_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > id->len || (n == 1 && c == 0))
            return vs__errf(e, VS_EID, "string id is not valid UTF-8 (byte %u)", i);
        for (uint32_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return vs__errf(e, VS_EID, "string id is not valid UTF-8 (byte %u)", i + k);
        i += n;
    }
    return VS_OK;
}

static vs__idmap_ent *new_table(size_t cap) {
    vs__idmap_ent *t = vs__malloc(cap * sizeof *t);
    if (t)
        for (size_t i = 0; i < cap; i++) t[i].seg = UINT32_MAX;
    return t;
}

int vs__idmap_init(vs__idmap *m, vs__idmap_resolve resolve, void *ctx) {
    memset(m, 0, sizeof *m);
    m->cap = 1024;
    m->ents = new_table(m->cap);
    m->resolve = resolve;
    m->ctx = ctx;
    return m->ents ? VS_OK : VS_ENOMEM;
}

void vs__idmap_free(vs__idmap *m) {
    vs__free(m->ents);
    m->ents = NULL;
}

static size_t find(const vs__idmap *m, const vs_id *id, uint64_t h, int *found) {
    size_t mask = m->cap - 1, i = h & mask;
    for (;;) {
        const vs__idmap_ent *e = &m->ents[i];
        if (e->seg == UINT32_MAX) {
            *found = 0;
            return i;
        }
        if (e->hash == h) {
            vs__idloc loc = {e->seg, e->row};
            if (vs__id_eq_row(id, m->resolve(m->ctx, loc))) {
                *found = 1;
                return i;
            }
        }
        i = (i + 1) & mask;
    }
}

int vs__idmap_get(const vs__idmap *m, const vs_id *id, uint64_t h, vs__idloc *loc) {
    int found;
    size_t i = find(m, id, h, &found);
    if (found && loc) {
        loc->seg = m->ents[i].seg;
        loc->row = m->ents[i].row;
    }
    return found;
}

void vs__idmap_put(vs__idmap *m, const vs_id *id, uint64_t h, vs__idloc loc) {
    int found;
    size_t i = find(m, id, h, &found);
    m->ents[i].hash = h;
    m->ents[i].seg = loc.seg;
    m->ents[i].row = loc.row;
    if (!found) m->count++;
}

int vs__idmap_del(vs__idmap *m, const vs_id *id, uint64_t h) {
    int found;
    size_t i = find(m, id, h, &found);
    if (!found) return 0;
    /* Backward-shift deletion (Knuth 6.4, Algorithm R). */
    size_t mask = m->cap - 1, j = i;
    for (;;) {
        m->ents[i].seg = UINT32_MAX;
        for (;;) {
            j = (j + 1) & mask;
            if (m->ents[j].seg == UINT32_MAX) {
                m->count--;
                return 1;
            }
            size_t k = m->ents[j].hash & mask;
            /* Move j back to i unless its home k lies cyclically in (i, j]. */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
            break;
        }
        m->ents[i] = m->ents[j];
        i = j;
    }
}

int vs__idmap_reserve(const vs__idmap *m, size_t extra, vs__idmap_ent **next, size_t *next_cap) {
    *next = NULL;
    *next_cap = 0;
    size_t need = m->count + extra;
    if (need * 10 <= m->cap * 7) return VS_OK; /* load factor <= 0.7 */
    size_t cap = m->cap;
    while (need * 10 > cap * 7) cap *= 2;
    vs__idmap_ent *t = new_table(cap);
    if (!t) return VS_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        const vs__idmap_ent *e = &m->ents[i];
        if (e->seg == UINT32_MAX) continue;
        size_t j = e->hash & (cap - 1);
        while (t[j].seg != UINT32_MAX) j = (j + 1) & (cap - 1);
        t[j] = *e;
    }
    *next = t;
    *next_cap = cap;
    return VS_OK;
}

void vs__idmap_commit(vs__idmap *m, vs__idmap_ent *next, size_t next_cap) {
    if (!next) return;
    vs__free(m->ents);
    m->ents = next;
    m->cap = next_cap;
}

void vs__idmap_move(vs__idmap *m, const vs_id *id, uint64_t h, vs__idloc from, vs__idloc to) {
    (void)from;
    int found;
    size_t i = find(m, id, h, &found);
    if (found) {
        m->ents[i].seg = to.seg;
        m->ents[i].row = to.row;
    }
}
