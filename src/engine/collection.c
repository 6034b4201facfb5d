/*
 * collection.c — recovery, the command state machine, flush and compaction.
 *
 * Directory of a collection:
 *   MANIFEST        "VSMANIFT" frame, JSON body (docs/format/manifest.md):
 *                   {"format":1, "name", "schema":{…}, "checkpoint_lsn",
 *                    "next_segment_id", "segments":[{"id","rows","del_gen"}…]}
 *   wal/            the write-ahead log (storage/wal.h)
 *   seg-XXXXXXXX/   sealed segments (storage/segment.h)
 * Anything else (seg-*.tmp, segments the manifest does not name) is debris of an
 * interrupted flush or compaction and is removed when the collection is opened for
 * writing.
 *
 * See collection.h for the locking order and the durability argument.
 */
#define _GNU_SOURCE
#include "engine/collection.h"

#include "engine/indexer.h"
#include "engine/pindex.h"
#include "index/payload_index.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/file.h"
#include "storage/archive.h"
#include "storage/frame.h"
#include "util/alloc.h"
#include "util/checksum.h"
#include "util/json.h"

#define MANIFEST_MAGIC "VSMANIFT"

/* ------------------------------------------------------------ helpers ---- */

vs__segment *vs__coll_seg(vs__coll *c, uint32_t id) {
    if (c->mut && c->mut->id == id) return c->mut;
    if (c->pending && c->pending->id == id) return c->pending;
    for (size_t i = 0; i < c->nsegs; i++)
        if (c->segs[i]->id == id) return c->segs[i];
    return NULL;
}

static const vs__rowid *resolve(void *ctx, vs__idloc loc) {
    vs__segment *s = vs__coll_seg(ctx, loc.seg);
    return &s->ids[loc.row];
}

static vs_id rowid_to_id(const vs__rowid *r) {
    vs_id id = {r->kind, r->num, r->str, r->len};
    return id;
}

/* The manifest's JSON text (cJSON_free it). gens: tombstone generation per segment
 * (NULL = each segment's own). */
static int manifest_encode(const vs__coll *c, vs__segment **segs, const uint64_t *gens,
                           size_t nsegs, uint64_t checkpoint, uint32_t next_id, char **out,
                           vs__err *e) {
    int rc = VS_OK;
    char *text = NULL;
    cJSON *m = cJSON_CreateObject(), *arr = NULL;
    /* Every cJSON_Add* allocates and returns NULL when that fails, leaving the member
     * out: unchecked, out-of-memory would write a manifest that silently lacks fields. */
    if (!m) goto oom;
    if (!cJSON_AddNumberToObject(m, "format", VS_FORMAT_VERSION) ||
        !cJSON_AddStringToObject(m, "name", c->name))
        goto oom;
    cJSON *sc = vs__schema_to_json(&c->schema);
    if (!sc) goto oom;
    if (!cJSON_AddItemToObject(m, "schema", sc)) {
        cJSON_Delete(sc);
        goto oom;
    }
    /* lsns can exceed 2^53 in theory; keep them exact as strings */
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, checkpoint);
    if (!cJSON_AddStringToObject(m, "checkpoint_lsn", buf) ||
        !cJSON_AddNumberToObject(m, "next_segment_id", next_id))
        goto oom;
    cJSON *pi = vs__pindex_to_json(c->pdefs, c->npdefs);
    if (!pi) goto oom;
    if (!cJSON_AddItemToObject(m, "payload_indexes", pi)) {
        cJSON_Delete(pi);
        goto oom;
    }
    if (!(arr = cJSON_AddArrayToObject(m, "segments"))) goto oom;
    for (size_t i = 0; i < nsegs; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o) goto oom;
        cJSON_AddItemToArray(arr, o);
        uint64_t g = gens ? gens[i] : segs[i]->del_gen;
        snprintf(buf, sizeof buf, "%" PRIu64, segs[i]->ndeleted ? g : 0);
        if (!cJSON_AddNumberToObject(o, "id", segs[i]->id) ||
            !cJSON_AddNumberToObject(o, "rows", (double)segs[i]->rows) ||
            !cJSON_AddStringToObject(o, "del_gen", buf))
            goto oom;
    }
    if (!(text = cJSON_PrintUnformatted(m))) goto oom;
    *out = text;
    goto done;
oom:
    rc = vs__errf(e, VS_ENOMEM, "out of memory writing the manifest");
done:
    cJSON_Delete(m);
    return rc;
}

static uint8_t *frame_image(const char *magic, const void *body, size_t len, size_t *out_len);

/* Replaces the manifest (temp file, fsync, rename, fsync dir). *visible (may be NULL)
 * is set once the new manifest has replaced the old one: on a failure with *visible
 * set, only the directory fsync failed and a crash may leave either manifest (see
 * manifest_limbo). */
static int manifest_write(vs__coll *c, vs__segment **segs, size_t nsegs, uint64_t checkpoint,
                          uint32_t next_id, int *visible, vs__err *e) {
    char *text, path[4200];
    if (visible) *visible = 0;
    int rc = manifest_encode(c, segs, NULL, nsegs, checkpoint, next_id, &text, e);
    if (rc) return rc;
    size_t ilen;
    uint8_t *img = frame_image(MANIFEST_MAGIC, text, strlen(text), &ilen);
    cJSON_free(text);
    if (!img) return vs__errf(e, VS_ENOMEM, "out of memory writing the manifest");
    if (!(rc = vs__path_join(path, sizeof path, c->dir, "MANIFEST", e)))
        rc = vs__file_replace(path, img, ilen, visible, e);
    vs__free(img);
    return rc;
}

static int manifest_limbo(vs__coll *c, vs__err *e);

int vs__coll_write_manifest(vs__coll *c, vs__err *e) {
    int visible;
    int rc = manifest_write(c, c->segs, c->nsegs, c->checkpoint_lsn, c->next_seg_id, &visible, e);
    if (rc && visible) return manifest_limbo(c, e);
    return rc;
}

static uint64_t json_u64(const cJSON *j) {
    if (cJSON_IsString(j)) return strtoull(j->valuestring, NULL, 10);
    if (cJSON_IsNumber(j) && j->valuedouble >= 0) return (uint64_t)j->valuedouble;
    return 0;
}

typedef struct manifest {
    vs_schema schema;
    uint64_t checkpoint;
    uint32_t next_id;
    vs__pdef *pdefs;
    size_t npdefs;
    size_t nsegs;
    struct {
        uint32_t id;
        uint64_t rows, del_gen;
    } *segs;
} manifest;

static int manifest_read(const char *dir, manifest *mf, vs__err *e) {
    memset(mf, 0, sizeof *mf);
    char path[4200];
    int rc = vs__path_join(path, sizeof path, dir, "MANIFEST", e);
    if (rc) return rc;
    uint8_t *body;
    size_t len;
    if ((rc = vs__frame_read_file(path, MANIFEST_MAGIC, &body, &len, e))) {
        if (rc == VS_EFORMAT) e->rc = rc = VS_ECORRUPT;
        return rc;
    }
    /* cJSON fails alike for bad text and for memory: check the text first, so that a
     * failure to parse text that checked out is out-of-memory, not corruption. */
    size_t at;
    const char *why;
    if (vs__json_check((const char *)body, len, &at, &why) != 0) {
        vs__free(body);
        return vs__errf(e, VS_ECORRUPT, "%s: body is not valid JSON (byte %zu: %s)", path, at, why);
    }
    cJSON *m = cJSON_ParseWithLength((const char *)body, len);
    vs__free(body);
    if (!m) return vs__errf(e, VS_ENOMEM, "out of memory reading %s", path);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(m, "format");
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(m, "segments");
    const cJSON *nid = cJSON_GetObjectItemCaseSensitive(m, "next_segment_id");
    if (!cJSON_IsNumber(fmt) || !cJSON_IsArray(segs) || !cJSON_IsNumber(nid)) {
        rc = vs__errf(e, VS_ECORRUPT, "%s: missing fields", path);
        goto done;
    }
    if (fmt->valuedouble > VS_FORMAT_VERSION) {
        rc = vs__errf(e, VS_EVERSION, "%s: format %d is newer than this build (%d)", path,
                      fmt->valueint, VS_FORMAT_VERSION);
        goto done;
    }
    if ((rc = vs__schema_from_json(cJSON_GetObjectItemCaseSensitive(m, "schema"), &mf->schema, e)))
        goto done;
    if ((rc = vs__pindex_from_json(cJSON_GetObjectItemCaseSensitive(m, "payload_indexes"),
                                   &mf->pdefs, &mf->npdefs, e)))
        goto done;
    mf->checkpoint = json_u64(cJSON_GetObjectItemCaseSensitive(m, "checkpoint_lsn"));
    mf->next_id = (uint32_t)nid->valuedouble;
    int n = cJSON_GetArraySize(segs);
    mf->segs = vs__calloc((size_t)n + 1, sizeof *mf->segs);
    if (!mf->segs) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory reading the manifest");
        goto done;
    }
    const cJSON *o;
    cJSON_ArrayForEach(o, segs) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(o, "rows");
        if (!cJSON_IsNumber(id) || !cJSON_IsNumber(rows) || rows->valuedouble < 1 ||
            id->valuedouble < 0 || id->valuedouble >= mf->next_id) {
            rc = vs__errf(e, VS_ECORRUPT, "%s: bad segment entry", path);
            goto done;
        }
        mf->segs[mf->nsegs].id = (uint32_t)id->valuedouble;
        mf->segs[mf->nsegs].rows = (uint64_t)rows->valuedouble;
        mf->segs[mf->nsegs].del_gen = json_u64(cJSON_GetObjectItemCaseSensitive(o, "del_gen"));
        mf->nsegs++;
    }
done:
    cJSON_Delete(m);
    if (rc) {
        vs__free(mf->segs);
        mf->segs = NULL;
        vs__pindex_defs_free(mf->pdefs, mf->npdefs);
        mf->pdefs = NULL;
        mf->npdefs = 0;
    }
    return rc;
}

int vs__coll_create_dir(const char *colls_dir, const char *name, const vs_schema *sc,
                        vs__err *e) {
    char final[4200], tmp[4300];
    int rc = vs__path_join(final, sizeof final, colls_dir, name, e);
    if (rc) return rc;
    if (vs__path_exists(final)) return vs__errf(e, VS_EEXIST, "collection '%s' already exists", name);
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s", colls_dir, name);
    vs__dir_remove_all(tmp);
    if ((rc = vs__dir_make(tmp, e))) return rc;
    vs__coll c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.dir, sizeof c.dir, "%s", tmp);
    c.schema = *sc;
    char wal[4400];
    snprintf(wal, sizeof wal, "%s/wal", tmp);
    if ((rc = manifest_write(&c, NULL, 0, 0, 1, NULL, e)) || (rc = vs__dir_make(wal, e)) ||
        (rc = vs__dir_fsync(tmp, e)) || (rc = vs__file_rename(tmp, final, e))) {
        vs__dir_remove_all(tmp);
        return rc;
    }
    return vs__dir_fsync(colls_dir, e);
}

static void coll_free(vs__coll *c) {
    if (!c) return;
    vs__wal_close(c->wal);
    for (size_t i = 0; i < c->nsegs; i++) vs__seg_unref(c->segs[i]);
    vs__free(c->segs);
    vs__seg_unref(c->mut);
    vs__idmap_free(&c->map);
    vs__pindex_defs_free(c->pdefs, c->npdefs);
    pthread_mutex_destroy(&c->compact_mu);
    pthread_mutex_destroy(&c->ins_mu);
    pthread_mutex_destroy(&c->wmu);
    pthread_rwlock_destroy(&c->lock);
    vs__free(c);
}

void vs__coll_ref(vs__coll *c) { atomic_fetch_add(&c->refs, 1); }
void vs__coll_unref(vs__coll *c) {
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) coll_free(c);
}

static int segs_push(vs__coll *c, vs__segment *s, vs__err *e) {
    if (c->nsegs == c->capsegs) {
        size_t cap = c->capsegs ? c->capsegs * 2 : 8;
        vs__segment **n = vs__realloc(c->segs, cap * sizeof *n);
        if (!n) return vs__errf(e, VS_ENOMEM, "out of memory");
        c->segs = n;
        c->capsegs = cap;
    }
    c->segs[c->nsegs++] = s;
    return VS_OK;
}

/* Removes debris of interrupted flushes/compactions (writers only). */
static void remove_debris(vs__coll *c, const manifest *mf) {
    DIR *d = opendir(c->dir);
    if (!d) return;
    struct dirent *de;
    char path[4400];
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "seg-", 4)) continue;
        int keep = 0;
        char *end;
        uint32_t id = (uint32_t)strtoul(de->d_name + 4, &end, 16);
        if (*end == 0)
            for (size_t i = 0; i < mf->nsegs; i++)
                if (mf->segs[i].id == id) keep = 1;
        if (keep) {
            for (size_t i = 0; i < mf->nsegs; i++)
                if (mf->segs[i].id == id) vs__seg_remove_old_del(c->dir, id, mf->segs[i].del_gen);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", c->dir, de->d_name);
        vs__dir_remove_all(path);
    }
    closedir(d);
}

/* ------------------------------------------------------ state machine ---- */

typedef struct plan {
    vs__cmd cmd;
    vs__seg_grow grow;
    vs__idmap_ent *map_next;
    size_t map_next_cap;
    char **id_strs;  /* per id: owned copy for a new mutable row (string ids) */
    char **payloads; /* per point: owned new payload text */
} plan;

static void plan_free(plan *p, size_t n) {
    vs__seg_grow_abort(&p->grow);
    vs__free(p->map_next);
    if (p->id_strs)
        for (size_t i = 0; i < n; i++) vs__free(p->id_strs[i]);
    if (p->payloads)
        for (size_t i = 0; i < n; i++) vs__free(p->payloads[i]);
    vs__free(p->id_strs);
    vs__free(p->payloads);
    vs__cmd_free(&p->cmd);
}

/* Applies a payload update to one payload text; returns a new owned text. */
static int payload_update(const char *old, size_t oldlen, int op, const cJSON *arg, char **out,
                          vs__err *e) {
    *out = NULL;
    cJSON *p = NULL;
    if (op == VS_PAYLOAD_CLEAR) {
        *out = vs__strdup("{}");
        goto done;
    }
    if (op == VS_PAYLOAD_OVERWRITE) {
        char *t = cJSON_PrintUnformatted(arg);
        if (t) {
            *out = vs__strdup(t);
            cJSON_free(t);
        }
        goto done;
    }
    p = cJSON_ParseWithLength(old, oldlen);
    if (!p) return vs__errf(e, VS_ENOMEM, "out of memory updating a payload");
    if (op == VS_PAYLOAD_SET) {
        const cJSON *kv;
        cJSON_ArrayForEach(kv, arg) {
            /* Keys are case-sensitive (cJSON_HasObjectItem is not). The duplicate
             * carries its own copy of the key, so replacing allocates nothing; adding
             * copies the key and can fail, and then dup is still ours to free. */
            cJSON *dup = cJSON_Duplicate(kv, 1);
            if (!dup) goto oom;
            cJSON *cur = cJSON_GetObjectItemCaseSensitive(p, kv->string);
            if (cur) {
                cJSON_ReplaceItemViaPointer(p, cur, dup);
            } else if (!cJSON_AddItemToObject(p, kv->string, dup)) {
                cJSON_Delete(dup);
                goto oom;
            }
        }
    } else { /* VS_PAYLOAD_DELETE: arg is an array of keys */
        const cJSON *k;
        cJSON_ArrayForEach(k, arg) cJSON_DeleteItemFromObjectCaseSensitive(p, k->valuestring);
    }
    char *t = cJSON_PrintUnformatted(p);
    if (t) {
        *out = vs__strdup(t);
        cJSON_free(t);
    }
done:
    cJSON_Delete(p);
    p = NULL; /* the failure path below deletes p too */
    if (!*out) goto oom;
    return VS_OK;
oom:
    cJSON_Delete(p);
    return vs__errf(e, VS_ENOMEM, "out of memory updating a payload");
}

static int prepare(vs__coll *c, plan *p, vs__err *e) {
    vs__cmd *cmd = &p->cmd;
    size_t n = (size_t)cmd->n;
    size_t new_rows = 0;
    int rc = VS_OK;
    if (cmd->type == VS_CMD_DELETE) return VS_OK;
    if (cmd->type == VS_CMD_UPSERT) {
        if (cmd->nfields != c->schema.nfields)
            return vs__errf(e, VS_ECORRUPT, "command has %u vector fields, schema has %u",
                            cmd->nfields, c->schema.nfields);
        for (uint32_t f = 0; f < cmd->nfields; f++)
            if (cmd->dims[f] != c->schema.fields[f].dim)
                return vs__errf(e, VS_ECORRUPT, "command dimension %u, schema %u", cmd->dims[f],
                                c->schema.fields[f].dim);
        new_rows = n;
    }
    p->id_strs = vs__calloc(n ? n : 1, sizeof *p->id_strs);
    p->payloads = vs__calloc(n ? n : 1, sizeof *p->payloads);
    if (!p->id_strs || !p->payloads) goto oom;
    cJSON *arg = NULL;
    if (cmd->type == VS_CMD_SET_PAYLOAD && cmd->op != VS_PAYLOAD_CLEAR) {
        arg = cJSON_ParseWithLength(cmd->json, cmd->json_len);
        if (!arg) goto oom;
    }
    for (size_t i = 0; i < n; i++) {
        const vs_id *id = &cmd->ids[i];
        if (cmd->type == VS_CMD_UPSERT) {
            p->payloads[i] = vs__strndup(cmd->payloads[i], cmd->payload_lens[i]);
            if (!p->payloads[i]) goto oom_arg;
        } else {
            vs__idloc loc;
            if (!vs__idmap_get(&c->map, id, vs__id_hash(id), &loc)) continue;
            vs__segment *s = vs__coll_seg(c, loc.seg);
            size_t plen;
            const char *old = vs__seg_payload(s, loc.row, &plen);
            if ((rc = payload_update(old, plen, cmd->op, arg, &p->payloads[i], e))) {
                cJSON_Delete(arg);
                return rc;
            }
            if (!s->is_mutable) new_rows++; /* copy-on-write into the mutable segment */
        }
        if (id->kind == VS_ID_STR && !(p->id_strs[i] = vs__strndup(id->str, id->len)))
            goto oom_arg;
    }
    cJSON_Delete(arg);
    if (new_rows) {
        if ((rc = vs__seg_reserve(c->mut, c->mut->rows + new_rows, &p->grow, e))) return rc;
        if (vs__idmap_reserve(&c->map, new_rows, &p->map_next, &p->map_next_cap)) goto oom;
    }
    return VS_OK;
oom_arg:
    cJSON_Delete(arg);
oom:
    return vs__errf(e, VS_ENOMEM, "out of memory applying a command of %zu points", n);
}

/* Cannot fail. Returns the number of points affected. */
static uint64_t commit(vs__coll *c, plan *p) {
    vs__cmd *cmd = &p->cmd;
    uint64_t affected = 0;
    vs__seg_grow_commit(c->mut, &p->grow);
    vs__idmap_commit(&c->map, p->map_next, p->map_next_cap);
    p->map_next = NULL;
    for (size_t i = 0; i < cmd->n; i++) {
        const vs_id *id = &cmd->ids[i];
        uint64_t h = vs__id_hash(id);
        vs__idloc loc;
        int found = vs__idmap_get(&c->map, id, h, &loc);
        vs__segment *old = found ? vs__coll_seg(c, loc.seg) : NULL;
        switch (cmd->type) {
        case VS_CMD_DELETE:
            if (found) {
                vs__seg_delete(old, loc.row);
                vs__idmap_del(&c->map, id, h);
                affected++;
            }
            break;
        case VS_CMD_UPSERT: {
            const void *vecs[VS_FIELDS_MAX];
            for (uint32_t f = 0; f < cmd->nfields; f++)
                vecs[f] = cmd->vecs[f] + (size_t)i * cmd->dims[f] * 4;
            vs__rowid r = {id->num, p->id_strs[i], id->len, (uint8_t)id->kind};
            if (found) vs__seg_delete(old, loc.row);
            size_t row = vs__seg_append(c->mut, &r, vecs, p->payloads[i]);
            p->id_strs[i] = NULL;
            p->payloads[i] = NULL;
            vs__idmap_put(&c->map, id, h, (vs__idloc){c->mut->id, (uint32_t)row});
            affected++;
            break;
        }
        case VS_CMD_SET_PAYLOAD:
            if (!found || !p->payloads[i]) break;
            if (old->is_mutable) {
                vs__seg_set_payload(old, loc.row, p->payloads[i]);
            } else {
                const void *vecs[VS_FIELDS_MAX];
                for (uint32_t f = 0; f < old->nfields; f++) vecs[f] = vs__seg_vec(old, f, loc.row);
                vs__rowid r = {id->num, p->id_strs[i], id->len, (uint8_t)id->kind};
                vs__seg_delete(old, loc.row);
                size_t row = vs__seg_append(c->mut, &r, vecs, p->payloads[i]);
                p->id_strs[i] = NULL;
                vs__idmap_put(&c->map, id, h, (vs__idloc){c->mut->id, (uint32_t)row});
            }
            p->payloads[i] = NULL;
            affected++;
            break;
        }
    }
    return affected;
}

/* Applies an encoded command (replay: no WAL append). Caller holds wmu. */
static int apply(vs__coll *c, const uint8_t *buf, size_t len, int log, uint64_t *lsn_out,
                 uint64_t *affected, vs__err *e) {
    plan p;
    memset(&p, 0, sizeof p);
    int rc = vs__cmd_decode(buf, len, &p.cmd, e);
    if (rc) return rc;
    if ((rc = prepare(c, &p, e))) goto done;
    uint64_t lsn = c->last_lsn + 1;
    if (log && (rc = vs__wal_append(c->wal, buf, len, &lsn, e))) goto done;
    pthread_rwlock_wrlock(&c->lock);
    uint64_t a = commit(c, &p);
    c->last_lsn = lsn;
    pthread_rwlock_unlock(&c->lock);
    if (affected) *affected = a;
    if (lsn_out) *lsn_out = lsn;
done:
    plan_free(&p, (size_t)p.cmd.n);
    return rc;
}

static int replay_cb(void *ctx, uint64_t lsn, const uint8_t *payload, size_t len, vs__err *e) {
    vs__coll *c = ctx;
    c->last_lsn = lsn - 1;
    return apply(c, payload, len, 0, NULL, NULL, e);
}

/* ------------------------------------------------------------ open ---- */

int vs__coll_open(const char *dir, const char *name, const vs__coll_opts *opt,
                  vs__coll **out, vs__err *e) {
    *out = NULL;
    vs__coll *c = vs__calloc(1, sizeof *c);
    if (!c) return vs__errf(e, VS_ENOMEM, "out of memory opening collection '%s'", name);
    pthread_mutex_init(&c->compact_mu, NULL);
    pthread_mutex_init(&c->ins_mu, NULL);
    pthread_mutex_init(&c->wmu, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* Writers must not starve behind a stream of queries. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    atomic_init(&c->refs, 1);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    c->opt = *opt;
    manifest mf;
    int rc = manifest_read(dir, &mf, e);
    if (rc) goto fail_nomf;
    c->schema = mf.schema;
    c->pdefs = mf.pdefs;
    c->npdefs = mf.npdefs;
    mf.pdefs = NULL; /* the collection owns them */
    c->checkpoint_lsn = c->last_lsn = mf.checkpoint;
    c->next_seg_id = mf.next_id;
    if ((rc = vs__idmap_init(&c->map, resolve, c))) {
        vs__errf(e, rc, "out of memory");
        goto fail;
    }
    if (!opt->read_only) remove_debris(c, &mf);
    for (size_t i = 0; i < mf.nsegs; i++) {
        vs__segment *s;
        if ((rc = vs__seg_open(dir, mf.segs[i].id, mf.segs[i].rows, mf.segs[i].del_gen,
                               &c->schema, &s, e)))
            goto fail;
        if ((rc = segs_push(c, s, e))) {
            vs__seg_unref(s);
            goto fail;
        }
        vs__indexer_load(c, s);
        if ((rc = vs__pindex_attach(c, s, e))) goto fail;
    }
    /* The id map over sealed rows. */
    size_t live = 0;
    for (size_t i = 0; i < c->nsegs; i++) live += c->segs[i]->rows - c->segs[i]->ndeleted;
    vs__idmap_ent *next;
    size_t next_cap;
    if (vs__idmap_reserve(&c->map, live, &next, &next_cap)) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory building the id map");
        goto fail;
    }
    vs__idmap_commit(&c->map, next, next_cap);
    for (size_t i = 0; i < c->nsegs; i++) {
        vs__segment *s = c->segs[i];
        for (size_t r = 0; r < s->rows; r++) {
            if (vs__seg_deleted(s, r)) continue;
            vs_id id = rowid_to_id(&s->ids[r]);
            uint64_t h = vs__id_hash(&id);
            if (vs__idmap_get(&c->map, &id, h, NULL)) {
                rc = vs__errf(e, VS_ECORRUPT, "%s: a point id is live in two segments (segment %u row %zu)",
                              dir, s->id, r);
                goto fail;
            }
            vs__idmap_put(&c->map, &id, h, (vs__idloc){s->id, (uint32_t)r});
        }
    }
    if (!(c->mut = vs__seg_new_mutable(c->next_seg_id++, &c->schema))) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = vs__pindex_attach_live(c, c->mut, e))) goto fail;
    char wal[4200];
    if ((rc = vs__path_join(wal, sizeof wal, dir, "wal", e))) goto fail;
    if ((rc = vs__wal_open(wal, c->checkpoint_lsn, opt->read_only, replay_cb, c, &c->wal,
                           &c->replay, e)))
        goto fail;
    c->last_lsn = vs__wal_last_lsn(c->wal);
    if (c->last_lsn < c->checkpoint_lsn) c->last_lsn = c->checkpoint_lsn;
    vs__free(mf.segs);
    *out = c;
    return VS_OK;
fail:
    vs__free(mf.segs);
fail_nomf:
    vs__err_ctx(e, "collection '%s'", name);
    coll_free(c);
    return rc;
}

/* ------------------------------------------------------------ writes ---- */

static int check_writable(vs__coll *c, vs__err *e) {
    if (atomic_load(&c->dropped)) return vs__errf(e, VS_ENOTFOUND, "collection '%s' was dropped", c->name);
    if (c->opt.read_only) return vs__errf(e, VS_EREADONLY, "store is open read-only");
    if (c->fatal)
        return vs__errf(e, VS_EFATAL, "collection '%s' failed earlier (%s); reopen the store",
                        c->name, c->fatal_err.msg);
    return VS_OK;
}

static void set_fatal(vs__coll *c, const vs__err *e) {
    c->fatal = 1;
    c->fatal_err = *e;
}

/* A manifest write failed after the new manifest was renamed in (only the directory
 * fsync failed). A crash may now leave either manifest, and each names files that are
 * on disk: the caller removes nothing, and the collection refuses writes until it is
 * reopened, because going on (a flush reuses the segment id of the one that failed)
 * could destroy files that one of the two manifests needs. Returns VS_EFATAL. */
static int manifest_limbo(vs__coll *c, vs__err *e) {
    vs__err cause = *e;
    set_fatal(c, &cause);
    return vs__errf(e, VS_EFATAL,
                    "collection '%s': the new manifest may not be durable (%s); reopen the store",
                    c->name, cause.msg);
}

static int flush_locked(vs__coll *c, vs__err *e);

int vs__coll_execute(vs__coll *c, const uint8_t *cmd, size_t len, uint64_t *affected,
                     vs__err *e) {
    pthread_mutex_lock(&c->wmu);
    uint64_t lsn = 0;
    int rc = check_writable(c, e);
    if (!rc) rc = apply(c, cmd, len, 1, &lsn, affected, e);
    if (!rc && vs__seg_memory(c->mut) >= c->opt.flush_bytes) {
        vs__err fe;
        /* A failed automatic flush leaves the data in the WAL; the write itself stood. */
        if (flush_locked(c, &fe) == VS_EFATAL) set_fatal(c, &fe);
    }
    pthread_mutex_unlock(&c->wmu);
    if (!rc && c->opt.fsync == VS_FSYNC_ALWAYS) rc = vs__wal_sync(c->wal, lsn, e);
    return rc;
}

int vs__coll_sync(vs__coll *c, vs__err *e) {
    if (c->opt.read_only) return VS_OK;
    return vs__wal_sync_all(c->wal, e);
}

/* Persists the current state as sealed segments and moves the checkpoint to last_lsn.
 * Caller holds wmu. Returns VS_EFATAL if it failed after the manifest changed. */
static int flush_locked(vs__coll *c, vs__err *e) {
    int rc;
    int dirty = c->mut->rows > 0;
    for (size_t i = 0; i < c->nsegs; i++) dirty |= c->segs[i]->del_dirty;
    if (!dirty && c->last_lsn == c->checkpoint_lsn) return VS_OK;
    uint64_t L = c->last_lsn;
    vs__segment *mut = c->mut, *sealed = NULL, *fresh = NULL;
    /* 1. the mutable segment → seg dir */
    if (mut->rows) {
        vs__segw *w;
        if ((rc = vs__segw_open(c->dir, mut->id, &c->schema, &w, e))) return rc;
        for (size_t r = 0; r < mut->rows; r++) {
            const float *vecs[VS_FIELDS_MAX];
            for (uint32_t f = 0; f < mut->nfields; f++) vecs[f] = vs__seg_vec(mut, f, r);
            size_t plen;
            const char *pl = vs__seg_payload(mut, r, &plen);
            if ((rc = vs__segw_add(w, &mut->ids[r], vecs, pl, plen, e))) {
                vs__segw_abort(w);
                return rc;
            }
        }
        if ((rc = vs__segw_finish(w, mut->del, L, e))) return rc;
    }
    /* 2. tombstones of sealed segments */
    for (size_t i = 0; i < c->nsegs; i++) {
        vs__segment *s = c->segs[i];
        if (s->del_dirty && s->ndeleted && (rc = vs__seg_write_del(c->dir, s, L, e))) goto undo;
    }
    /* 3. new WAL file from L+1, 4. the manifest */
    if ((rc = vs__wal_rotate(c->wal, e))) goto undo;
    if (mut->rows && (rc = vs__seg_open(c->dir, mut->id, mut->rows, mut->ndeleted ? L : 0,
                                        &c->schema, &sealed, e)))
        goto undo;
    if (sealed && (rc = vs__pindex_prepare_seal(c, mut, e))) goto undo;
    if (!(fresh = vs__seg_new_mutable(c->next_seg_id, &c->schema))) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory during flush");
        goto undo;
    }
    if ((rc = vs__pindex_attach_live(c, fresh, e))) goto undo;
    size_t n = c->nsegs + (sealed ? 1 : 0);
    vs__segment **list = vs__malloc((n ? n : 1) * sizeof *list);
    if (!list) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory during flush");
        goto undo;
    }
    /* The manifest sees the new tombstone generations. */
    uint64_t *old_gens = vs__malloc((c->nsegs + 1) * sizeof *old_gens);
    if (!old_gens) {
        vs__free(list);
        rc = vs__errf(e, VS_ENOMEM, "out of memory during flush");
        goto undo;
    }
    for (size_t i = 0; i < c->nsegs; i++) {
        old_gens[i] = c->segs[i]->del_gen;
        if (c->segs[i]->del_dirty && c->segs[i]->ndeleted) c->segs[i]->del_gen = L;
        list[i] = c->segs[i];
    }
    if (sealed) list[c->nsegs] = sealed;
    int visible;
    rc = manifest_write(c, list, n, L, c->next_seg_id + 1, &visible, e);
    if (rc) {
        for (size_t i = 0; i < c->nsegs; i++) c->segs[i]->del_gen = old_gens[i];
        vs__free(old_gens);
        vs__free(list);
        if (visible) {
            /* The new manifest names the segment and tombstones just written: keep them. */
            vs__seg_unref(sealed);
            vs__seg_unref(fresh);
            return manifest_limbo(c, e);
        }
        goto undo;
    }
    vs__free(old_gens);
    /* Committed. Swap in memory. */
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < c->nsegs; i++) c->segs[i]->del_dirty = 0;
    /* The mutable segment's graphs go with its rows (same row numbers) to the sealed
     * segment, where the indexer completes them instead of building anew. */
    for (uint32_t f = 0; sealed && f < mut->nfields; f++)
        if (mut->idx[f].p) {
            sealed->idx[f] = mut->idx[f];
            sealed->idx[f].partial = 1;
            memset(&mut->idx[f], 0, sizeof mut->idx[f]);
        }
    /* Its payload indexes too, sorted already (vs__pindex_prepare_seal). */
    if (sealed) vs__pindex_move(mut, sealed);
    vs__free(c->segs);
    c->segs = list;
    c->nsegs = c->capsegs = n;
    c->mut = fresh;
    c->next_seg_id++;
    c->checkpoint_lsn = L;
    pthread_rwlock_unlock(&c->lock);
    vs__seg_unref(mut);
    if (sealed) vs__pindex_save_all(c, sealed);
    for (size_t i = 0; i < c->nsegs; i++) vs__seg_remove_old_del(c->dir, c->segs[i]->id, c->segs[i]->ndeleted ? c->segs[i]->del_gen : 0);
    vs__err te;
    vs__wal_truncate_before(c->wal, L, &te);
    return VS_OK;
undo:
    vs__seg_unref(sealed);
    vs__seg_unref(fresh);
    if (mut->rows) {
        char d[4200];
        if (vs__seg_dirname(d, sizeof d, c->dir, mut->id, NULL) == VS_OK) vs__dir_remove_all(d);
    }
    for (size_t i = 0; i < c->nsegs; i++)
        vs__seg_remove_old_del(c->dir, c->segs[i]->id, c->segs[i]->ndeleted ? c->segs[i]->del_gen : 0);
    if (vs__wal_is_fatal(c->wal)) {
        set_fatal(c, e);
        return VS_EFATAL;
    }
    return rc;
}

int vs__coll_flush(vs__coll *c, vs__err *e) {
    pthread_mutex_lock(&c->wmu);
    int rc = check_writable(c, e);
    if (!rc) rc = flush_locked(c, e);
    pthread_mutex_unlock(&c->wmu);
    return rc;
}

/* ------------------------------------------------------------ compaction ---- */

int vs__coll_needs_compaction(vs__coll *c) {
    pthread_rwlock_rdlock(&c->lock);
    int need = c->nsegs > c->opt.compact_min_segments;
    for (size_t i = 0; i < c->nsegs && !need; i++)
        need = c->segs[i]->ndeleted * 5 > c->segs[i]->rows; /* > 20 % dead */
    pthread_rwlock_unlock(&c->lock);
    /* c->fatal is not read here (it belongs to wmu); compaction checks it under wmu. */
    return need && !c->opt.read_only;
}

/* A compaction's row k: the payload of its source row. */
typedef struct merge_src {
    vs__segment **src;
    const vs__idloc *from;
} merge_src;

static const char *merge_payload(void *ctx, size_t k, size_t *len) {
    const merge_src *m = ctx;
    return vs__seg_payload(m->src[m->from[k].seg], m->from[k].row, len);
}

int vs__coll_compact(vs__coll *c, int force, vs__err *e) {
    pthread_mutex_lock(&c->compact_mu);
    pthread_mutex_lock(&c->wmu);
    int rc = check_writable(c, e);
    if (!rc) rc = flush_locked(c, e);
    if (rc) {
        pthread_mutex_unlock(&c->wmu);
        pthread_mutex_unlock(&c->compact_mu);
        return rc;
    }
    /* Take every sealed segment (they are immutable; tombstones may still grow). */
    size_t nsrc = c->nsegs;
    size_t total_del = 0;
    for (size_t i = 0; i < nsrc; i++) total_del += c->segs[i]->ndeleted;
    if (nsrc == 0 || (nsrc == 1 && total_del == 0) || (!force && !vs__coll_needs_compaction(c))) {
        pthread_mutex_unlock(&c->wmu);
        pthread_mutex_unlock(&c->compact_mu);
        return VS_OK;
    }
    vs__segment **src = vs__malloc(nsrc * sizeof *src);
    uint64_t **snap = vs__calloc(nsrc, sizeof *snap);
    uint32_t new_id = c->next_seg_id; /* the first unused id */
    if (!src || !snap) {
        vs__free(src);
        vs__free(snap);
        pthread_mutex_unlock(&c->wmu);
        pthread_mutex_unlock(&c->compact_mu);
        return vs__errf(e, VS_ENOMEM, "out of memory compacting");
    }
    rc = VS_OK;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < nsrc; i++) {
        src[i] = c->segs[i];
        vs__seg_ref(src[i]);
        size_t nw = (src[i]->rows + 63) / 64;
        snap[i] = vs__memdup(src[i]->del, nw * 8);
        if (!snap[i]) rc = vs__errf(e, VS_ENOMEM, "out of memory compacting");
    }
    pthread_rwlock_unlock(&c->lock);
    /* The mutable segment must never take the new id: reserve it now. */
    c->next_seg_id = new_id + 1;
    pthread_mutex_unlock(&c->wmu);

    /* Long phase: write the merged segment without blocking anyone. */
    size_t live = 0;
    vs__idloc *from = NULL;
    vs__segw *w = NULL;
    uint64_t *newdel = NULL;
    vs__segment *merged = NULL;
    void *pbuilt[VS_PINDEX_MAX] = {0};
    size_t npb = 0;
    if (rc) goto out;
    for (size_t i = 0; i < nsrc; i++)
        for (size_t r = 0; r < src[i]->rows; r++) live += !((snap[i][r >> 6] >> (r & 63)) & 1);
    if (live) {
        if (!(from = vs__malloc(live * sizeof *from))) {
            rc = vs__errf(e, VS_ENOMEM, "out of memory compacting");
            goto out;
        }
        if ((rc = vs__segw_open(c->dir, new_id, &c->schema, &w, e))) goto out;
        size_t k = 0;
        for (size_t i = 0; i < nsrc && !rc; i++) {
            vs__segment *s = src[i];
            for (size_t r = 0; r < s->rows; r++) {
                if ((snap[i][r >> 6] >> (r & 63)) & 1) continue;
                const float *vecs[VS_FIELDS_MAX];
                for (uint32_t f = 0; f < s->nfields; f++) vecs[f] = vs__seg_vec(s, f, r);
                size_t plen;
                const char *pl = vs__seg_payload(s, r, &plen);
                if ((rc = vs__segw_add(w, &s->ids[r], vecs, pl, plen, e))) break;
                from[k++] = (vs__idloc){(uint32_t)i, (uint32_t)r};
            }
        }
        if (rc) goto out;
        /* The payload indexes of the merged rows, built before any lock is taken (the
         * declarations cannot change: create and drop wait for compact_mu). */
        merge_src ms = {src, from};
        if ((rc = vs__pindex_build_for(c, live, merge_payload, &ms, pbuilt, e))) goto out;
        npb = c->npdefs;
    }

    /* Swap phase: under wmu, after a flush so that the checkpoint covers everything. */
    pthread_mutex_lock(&c->wmu);
    if ((rc = check_writable(c, e)) || (rc = flush_locked(c, e))) {
        pthread_mutex_unlock(&c->wmu);
        goto out;
    }
    uint64_t L = c->last_lsn;
    if (live) {
        newdel = vs__calloc((live + 63) / 64 + 1, 8);
        if (!newdel) {
            pthread_mutex_unlock(&c->wmu);
            rc = vs__errf(e, VS_ENOMEM, "out of memory compacting");
            goto out;
        }
        /* Rows deleted while we were writing stay deleted. */
        for (size_t k = 0; k < live; k++)
            if (vs__seg_deleted(src[from[k].seg], from[k].row)) newdel[k >> 6] |= 1ull << (k & 63);
        rc = vs__segw_finish(w, newdel, L, e);
        w = NULL;
        if (!rc) {
            size_t nd = 0;
            for (size_t k = 0; k < live; k++) nd += (newdel[k >> 6] >> (k & 63)) & 1;
            rc = vs__seg_open(c->dir, new_id, live, nd ? L : 0, &c->schema, &merged, e);
        }
        if (!rc) {
            vs__pindex_adopt(merged, pbuilt, npb);
            vs__pindex_save_all(c, merged);
        }
        if (rc) {
            pthread_mutex_unlock(&c->wmu);
            goto out;
        }
    }
    /* New segment list: the merged one replaces all sources; later ones stay. */
    size_t n = c->nsegs - nsrc + (merged ? 1 : 0);
    vs__segment **list = vs__malloc((n ? n : 1) * sizeof *list);
    if (!list) {
        pthread_mutex_unlock(&c->wmu);
        rc = vs__errf(e, VS_ENOMEM, "out of memory compacting");
        goto out;
    }
    size_t k = 0;
    if (merged) list[k++] = merged;
    for (size_t i = nsrc; i < c->nsegs; i++) list[k++] = c->segs[i];
    int visible;
    if ((rc = manifest_write(c, list, n, L, c->next_seg_id + 1, &visible, e))) {
        vs__free(list);
        if (visible) rc = manifest_limbo(c, e); /* VS_EFATAL: `out` keeps the new segment */
        pthread_mutex_unlock(&c->wmu);
        goto out;
    }
    pthread_rwlock_wrlock(&c->lock);
    c->pending = merged; /* so the id map can resolve rows already moved */
    if (merged) {
        for (size_t j = 0; j < live; j++) {
            if (vs__seg_deleted(merged, j)) continue;
            vs_id id = rowid_to_id(&merged->ids[j]);
            vs__idloc to = {merged->id, (uint32_t)j};
            vs__idmap_move(&c->map, &id, vs__id_hash(&id),
                           (vs__idloc){src[from[j].seg]->id, from[j].row}, to);
        }
    }
    c->pending = NULL;
    for (size_t i = 0; i < nsrc; i++) vs__seg_unref(c->segs[i]); /* the list's refs */
    vs__free(c->segs);
    c->segs = list;
    c->nsegs = c->capsegs = n;
    pthread_rwlock_unlock(&c->lock);
    merged = NULL;
    pthread_mutex_unlock(&c->wmu);
    for (size_t i = 0; i < nsrc; i++) {
        char d[4200];
        if (vs__seg_dirname(d, sizeof d, c->dir, src[i]->id, NULL) == VS_OK) vs__dir_remove_all(d);
    }
out:
    vs__segw_abort(w);
    vs__seg_unref(merged);
    for (size_t i = 0; i < npb; i++) vs__pidx_free(pbuilt[i]);
    if (rc && rc != VS_EFATAL) {
        char d[4200];
        if (vs__seg_dirname(d, sizeof d, c->dir, new_id, NULL) == VS_OK) vs__dir_remove_all(d);
    }
    for (size_t i = 0; i < nsrc; i++) {
        vs__seg_unref(src[i]);
        vs__free(snap[i]);
    }
    vs__free(src);
    vs__free(snap);
    vs__free(from);
    vs__free(newdel);
    pthread_mutex_unlock(&c->compact_mu);
    return rc;
}

/* ------------------------------------------------------------ snapshot ---- */

/* A framed file image in memory (for archive entries built from memory). */
static uint8_t *frame_image(const char *magic, const void *body, size_t len, size_t *out_len) {
    uint8_t *b = vs__malloc(VS_FRAME_HDR + len);
    if (!b) return NULL;
    vs__frame f = {{0}, VS_FORMAT_VERSION, 0, VS_FRAME_HDR, len, 0};
    memcpy(f.magic, magic, 8);
    f.body_sum = vs__checksum(body, len);
    vs__frame_encode(&f, b);
    memcpy(b + VS_FRAME_HDR, body, len);
    *out_len = VS_FRAME_HDR + len;
    return b;
}

int vs__coll_snapshot(vs__coll *c, const char *archive, vs__err *e) {
    /* compact_mu keeps segment directories from being removed while we copy them;
     * tombstones are copied from memory because flushes may replace their files. */
    pthread_mutex_lock(&c->compact_mu);
    pthread_mutex_lock(&c->wmu);
    int rc = VS_OK;
    if (!c->opt.read_only) {
        rc = check_writable(c, e);
    } else if (c->last_lsn != c->checkpoint_lsn) {
        /* A read-only handle cannot flush, and the archive holds only sealed segments:
         * the replayed WAL records would be lost. */
        rc = vs__errf(e, VS_EREADONLY,
                      "collection '%s' has unflushed writes (lsn %llu > checkpoint %llu); "
                      "snapshot it from a writable handle",
                      c->name, (unsigned long long)c->last_lsn,
                      (unsigned long long)c->checkpoint_lsn);
    }
    if (!rc && !c->opt.read_only) rc = flush_locked(c, e);
    size_t n = 0;
    vs__segment **segs = NULL;
    uint64_t **dels = NULL, *gens = NULL;
    char *mtext = NULL;
    vs__archive_writer *w = NULL;
    if (rc) {
        pthread_mutex_unlock(&c->wmu);
        goto out;
    }
    pthread_rwlock_rdlock(&c->lock);
    n = c->nsegs;
    segs = vs__calloc(n + 1, sizeof *segs);
    dels = vs__calloc(n + 1, sizeof *dels);
    gens = vs__calloc(n + 1, sizeof *gens);
    if (segs && dels && gens) {
        for (size_t i = 0; i < n; i++) {
            segs[i] = c->segs[i];
            vs__seg_ref(segs[i]);
            gens[i] = segs[i]->ndeleted ? 1 : 0;
            dels[i] = vs__memdup(segs[i]->del, ((segs[i]->rows + 63) / 64) * 8);
            if (!dels[i]) rc = vs__errf(e, VS_ENOMEM, "out of memory");
        }
        if (!rc)
            rc = manifest_encode(c, segs, gens, n, c->checkpoint_lsn, c->next_seg_id + 1, &mtext, e);
    } else {
        rc = vs__errf(e, VS_ENOMEM, "out of memory");
    }
    uint64_t ckpt = c->checkpoint_lsn;
    pthread_rwlock_unlock(&c->lock);
    pthread_mutex_unlock(&c->wmu);
    (void)ckpt;
    if (rc) goto out;
    if ((rc = vs__archive_create(archive, &w, e))) goto out;
    size_t ilen;
    uint8_t *img = frame_image(MANIFEST_MAGIC, mtext, strlen(mtext), &ilen);
    if (!img) {
        rc = vs__errf(e, VS_ENOMEM, "out of memory");
        goto out;
    }
    rc = vs__archive_add_mem(w, "MANIFEST", img, ilen, e);
    vs__free(img);
    for (size_t i = 0; i < n && !rc; i++) {
        char dir[4200], src[4400], name[128];
        vs__seg_dirname(dir, sizeof dir, c->dir, segs[i]->id, NULL);
        const char *fixed[] = {"meta", "ids", "payload"};
        for (int k = 0; k < 3 && !rc; k++) {
            snprintf(src, sizeof src, "%s/%s", dir, fixed[k]);
            snprintf(name, sizeof name, "seg-%08" PRIx32 "/%s", segs[i]->id, fixed[k]);
            rc = vs__archive_add_file(w, name, src, e);
        }
        for (uint32_t f = 0; f < segs[i]->nfields && !rc; f++) {
            snprintf(src, sizeof src, "%s/vec-%u", dir, f);
            snprintf(name, sizeof name, "seg-%08" PRIx32 "/vec-%u", segs[i]->id, f);
            rc = vs__archive_add_file(w, name, src, e);
        }
        if (!rc && gens[i]) {
            size_t nw = (segs[i]->rows + 63) / 64;
            uint8_t *body = vs__malloc(8 + nw * 8);
            if (!body) {
                rc = vs__errf(e, VS_ENOMEM, "out of memory");
                break;
            }
            vs__put_u64(body, segs[i]->rows);
            for (size_t k = 0; k < nw; k++) vs__put_u64(body + 8 + k * 8, dels[i][k]);
            img = frame_image("VSSEGDEL", body, 8 + nw * 8, &ilen);
            vs__free(body);
            if (!img) {
                rc = vs__errf(e, VS_ENOMEM, "out of memory");
                break;
            }
            snprintf(name, sizeof name, "seg-%08" PRIx32 "/del-%016" PRIx64, segs[i]->id, (uint64_t)1);
            rc = vs__archive_add_mem(w, name, img, ilen, e);
            vs__free(img);
        }
    }
    if (rc) goto out;
    rc = vs__archive_finish(w, e);
    w = NULL;
out:
    vs__archive_abort(w);
    cJSON_free(mtext);
    for (size_t i = 0; i < n; i++) {
        if (segs) vs__seg_unref(segs[i]);
        if (dels) vs__free(dels[i]);
    }
    vs__free(segs);
    vs__free(dels);
    vs__free(gens);
    pthread_mutex_unlock(&c->compact_mu);
    return rc;
}

/* ------------------------------------------------------------ check ---- */

int vs__coll_check(const char *dir, const char *name, vs_check_cb cb, void *ctx, vs__err *e) {
    vs__coll_opts o = {1, VS_FSYNC_OFF, UINT64_MAX, UINT32_MAX};
    vs__coll *c;
    int rc = vs__coll_open(dir, name, &o, &c, e);
    if (rc) {
        if (cb) cb(ctx, VS_CHECK_ERROR, dir, e->msg);
        return rc;
    }
    char msg[512];
    if (c->replay.torn && cb) {
        snprintf(msg, sizeof msg,
                 "torn wal tail of %" PRIu64 " bytes at offset %" PRIu64
                 " (an unacknowledged write cut by a crash; recoverable, truncated on next open)",
                 c->replay.torn_bytes, c->replay.torn_offset);
        char file[4300];
        snprintf(file, sizeof file, "%s/wal/%s", dir, c->replay.torn_file);
        cb(ctx, VS_CHECK_NOTE, file, msg);
    }
    if (c->bad_index_files) {
        snprintf(msg, sizeof msg, "%u damaged index file(s), first: %s", c->bad_index_files,
                 c->bad_index_msg);
        if (cb) cb(ctx, VS_CHECK_ERROR, dir, msg);
        rc = vs__errf(e, VS_ECORRUPT, "%s", msg);
    }
    if (vs__indexer_validate(c, e) != VS_OK) {
        if (cb) cb(ctx, VS_CHECK_ERROR, dir, e->msg);
        rc = VS_ECORRUPT;
    }
    /* Cross-check the id map against the segments' live rows. */
    size_t live = 0;
    for (size_t i = 0; i < c->nsegs; i++) live += c->segs[i]->rows - c->segs[i]->ndeleted;
    live += c->mut->rows - c->mut->ndeleted;
    if (live != c->map.count) {
        snprintf(msg, sizeof msg, "%zu live rows but %zu ids in the map", live, c->map.count);
        if (cb) cb(ctx, VS_CHECK_ERROR, dir, msg);
        rc = vs__errf(e, VS_ECORRUPT, "%s: %s", dir, msg);
    } else if (cb && rc == VS_OK) {
        snprintf(msg, sizeof msg, "ok: %zu points, %zu segments, wal lsn %" PRIu64 "..%" PRIu64,
                 live, c->nsegs, c->checkpoint_lsn, c->last_lsn);
        cb(ctx, VS_CHECK_OK, dir, msg);
    }
    vs__coll_unref(c);
    return rc;
}
