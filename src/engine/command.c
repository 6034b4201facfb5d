/*
 * command.c — encoding helpers and the bounds-checked decoder for commands.
 */
#include "engine/command.h"

#include <string.h>

#include "storage/frame.h"
#include "util/alloc.h"

void vs__buf_put(vs__buf *b, const void *p, size_t n) {
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = vs__realloc(b->data, cap);
        if (!d) {
            b->oom = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

void vs__buf_u8(vs__buf *b, uint8_t v) { vs__buf_put(b, &v, 1); }
void vs__buf_u16(vs__buf *b, uint16_t v) {
    uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    vs__buf_put(b, t, 2);
}
void vs__buf_u32(vs__buf *b, uint32_t v) {
    uint8_t t[4];
    vs__put_u32(t, v);
    vs__buf_put(b, t, 4);
}
void vs__buf_u64(vs__buf *b, uint64_t v) {
    uint8_t t[8];
    vs__put_u64(t, v);
    vs__buf_put(b, t, 8);
}
void vs__buf_id(vs__buf *b, const vs_id *id) {
    vs__buf_u8(b, (uint8_t)id->kind);
    if (id->kind == VS_ID_NUM) {
        vs__buf_u64(b, id->num);
    } else {
        vs__buf_u16(b, (uint16_t)id->len);
        vs__buf_put(b, id->str, id->len);
    }
}
void vs__buf_free(vs__buf *b) {
    vs__free(b->data);
    memset(b, 0, sizeof *b);
}

void vs__cmd_begin(vs__buf *b, int type, uint32_t nfields, uint64_t n) {
    vs__buf_u8(b, (uint8_t)type);
    vs__buf_u8(b, 1);
    vs__buf_u16(b, 0);
    vs__buf_u32(b, nfields);
    vs__buf_u64(b, n);
}

typedef struct rd {
    const uint8_t *p;
    size_t left;
    int bad;
} rd;

static const uint8_t *take(rd *r, size_t n) {
    if (r->bad || n > r->left) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}
static uint64_t rd_u64(rd *r) {
    const uint8_t *p = take(r, 8);
    return p ? vs__get_u64(p) : 0;
}
static uint32_t rd_u32(rd *r) {
    const uint8_t *p = take(r, 4);
    return p ? vs__get_u32(p) : 0;
}
static uint16_t rd_u16(rd *r) {
    const uint8_t *p = take(r, 2);
    return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}
static uint8_t rd_u8(rd *r) {
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

static int rd_ids(rd *r, vs__cmd *c, vs__err *e) {
    /* Each id takes at least 3 bytes: bound n before allocating. */
    if (c->n > r->left / 3) return vs__errf(e, VS_ECORRUPT, "command: %llu ids cannot fit", (unsigned long long)c->n);
    c->ids = vs__calloc(c->n ? c->n : 1, sizeof *c->ids);
    if (!c->ids) return vs__errf(e, VS_ENOMEM, "out of memory decoding command");
    for (uint64_t i = 0; i < c->n; i++) {
        vs_id *id = &c->ids[i];
        id->kind = rd_u8(r);
        if (id->kind == VS_ID_NUM) {
            id->num = rd_u64(r);
        } else if (id->kind == VS_ID_STR) {
            id->len = rd_u16(r);
            id->str = (const char *)take(r, id->len);
            if (id->len == 0 || id->len > VS_ID_STR_MAX) r->bad = 1;
        } else {
            r->bad = 1;
        }
        if (r->bad) return vs__errf(e, VS_ECORRUPT, "command: bad id %llu", (unsigned long long)i);
    }
    return VS_OK;
}

int vs__cmd_decode(const uint8_t *buf, size_t len, vs__cmd *c, vs__err *e) {
    memset(c, 0, sizeof *c);
    rd r = {buf, len, 0};
    c->type = rd_u8(&r);
    uint8_t ver = rd_u8(&r);
    rd_u16(&r);
    c->nfields = rd_u32(&r);
    c->n = rd_u64(&r);
    int rc = VS_OK;
    if (r.bad) return vs__errf(e, VS_ECORRUPT, "command: truncated header");
    if (ver != 1) return vs__errf(e, VS_EVERSION, "command: version %u is not supported", ver);
    if (c->n > VS_BATCH_MAX) return vs__errf(e, VS_ECORRUPT, "command: %llu points", (unsigned long long)c->n);
    switch (c->type) {
    case VS_CMD_UPSERT:
        if (c->nfields == 0 || c->nfields > VS_FIELDS_MAX)
            return vs__errf(e, VS_ECORRUPT, "command: %u vector fields", c->nfields);
        for (uint32_t f = 0; f < c->nfields; f++) {
            c->dims[f] = rd_u32(&r);
            if (c->dims[f] < VS_DIM_MIN || c->dims[f] > VS_DIM_MAX) r.bad = 1;
        }
        if (r.bad) return vs__errf(e, VS_ECORRUPT, "command: bad dimensions");
        if ((rc = rd_ids(&r, c, e))) goto fail;
        for (uint32_t f = 0; f < c->nfields; f++) {
            if (c->n > r.left / ((size_t)c->dims[f] * 4)) r.bad = 1;
            c->vecs[f] = take(&r, c->n * c->dims[f] * 4);
        }
        if (r.bad) {
            rc = vs__errf(e, VS_ECORRUPT, "command: truncated vectors");
            goto fail;
        }
        if (c->n > r.left / 4) {
            rc = vs__errf(e, VS_ECORRUPT, "command: truncated payloads");
            goto fail;
        }
        c->payloads = vs__calloc(c->n ? c->n : 1, sizeof *c->payloads);
        c->payload_lens = vs__calloc(c->n ? c->n : 1, sizeof *c->payload_lens);
        if (!c->payloads || !c->payload_lens) {
            rc = vs__errf(e, VS_ENOMEM, "out of memory decoding command");
            goto fail;
        }
        for (uint64_t i = 0; i < c->n; i++) {
            c->payload_lens[i] = rd_u32(&r);
            c->payloads[i] = (const char *)take(&r, c->payload_lens[i]);
            /* Stored payloads are JSON objects: at least "{}". */
            if (c->payload_lens[i] > VS_PAYLOAD_MAX || c->payload_lens[i] < 2 ||
                (c->payloads[i] && c->payloads[i][0] != '{'))
                r.bad = 1;
        }
        break;
    case VS_CMD_DELETE:
        if ((rc = rd_ids(&r, c, e))) goto fail;
        break;
    case VS_CMD_SET_PAYLOAD:
        c->op = rd_u8(&r);
        c->json_len = rd_u32(&r);
        c->json = (const char *)take(&r, c->json_len);
        if (c->op < VS_PAYLOAD_SET || c->op > VS_PAYLOAD_CLEAR || c->json_len > VS_PAYLOAD_MAX)
            r.bad = 1;
        if (r.bad) return vs__errf(e, VS_ECORRUPT, "command: bad payload update");
        if ((rc = rd_ids(&r, c, e))) goto fail;
        break;
    default:
        return vs__errf(e, VS_ECORRUPT, "command: unknown type %d", c->type);
    }
    if (r.bad || r.left) {
        rc = vs__errf(e, VS_ECORRUPT, "command: %s", r.bad ? "truncated" : "trailing bytes");
        goto fail;
    }
    return VS_OK;
fail:
    vs__cmd_free(c);
    return rc;
}

void vs__cmd_free(vs__cmd *c) {
    vs__free(c->ids);
    vs__free(c->payloads);
    vs__free(c->payload_lens);
    c->ids = NULL;
    c->payloads = NULL;
    c->payload_lens = NULL;
}
