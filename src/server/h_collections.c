/*
 * h_collections.c — collections (list, get, create, delete, exists) and payload indexes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/reqjson.h"
#include "server/server.h"

static const char *qdrant_distance(int metric) {
    return metric == VS_METRIC_L2 ? "Euclid" : metric == VS_METRIC_DOT ? "Dot" : "Cosine";
}

/* Qdrant counts full_scan_threshold in kilobytes of vectors; VecStore in rows. */
static uint64_t rows_to_kb(uint64_t rows, uint32_t dim) { return rows * dim * 4 / 1024; }

int vs__h_coll_list(vs__call *k) {
    char **names;
    size_t n;
    int rc = vs_store_list(k->store, &names, &n);
    if (rc) return vs__fail_rc(k, rc, vs_store_errmsg(k->store));
    vs__sb_puts(&k->out, "{\"collections\":[");
    for (size_t i = 0; i < n; i++) {
        vs__sb_puts(&k->out, i ? ",{\"name\":" : "{\"name\":");
        vs__sb_json_str(&k->out, names[i], strlen(names[i]));
        vs__sb_putc(&k->out, '}');
    }
    vs__sb_puts(&k->out, "]}");
    vs_strlist_free(names, n);
    return 0;
}

int vs__h_coll_exists(vs__call *k) {
    vs_coll *c;
    int rc = vs_coll_open(k->store, k->coll_name, &c);
    if (rc && rc != VS_ENOTFOUND) return vs__fail_rc(k, rc, vs_store_errmsg(k->store));
    vs_coll_close(c);
    vs__sb_printf(&k->out, "{\"exists\":%s}", rc ? "false" : "true");
    return 0;
}

static void quant_json(vs__sb *b, const vs_field_info *f) {
    switch (f->quant) {
    case VS_QUANT_INT8: vs__sb_puts(b, "{\"scalar\":{\"type\":\"int8\",\"always_ram\":true}}"); break;
    case VS_QUANT_PQ:
        vs__sb_printf(b, "{\"product\":{\"compression\":\"x%u\",\"always_ram\":true},\"vecstore_pq_m\":%u}",
                      f->pq_m ? f->dim * 4 / f->pq_m : 0, f->pq_m);
        break;
    case VS_QUANT_BINARY: vs__sb_puts(b, "{\"binary\":{\"always_ram\":true}}"); break;
    default: vs__sb_puts(b, "null");
    }
}

static void field_json(vs__sb *b, const vs_field_info *f) {
    vs__sb_printf(b, "{\"size\":%u,\"distance\":\"%s\"", f->dim, qdrant_distance(f->metric));
    if (f->index == VS_INDEX_HNSW)
        vs__sb_printf(b, ",\"hnsw_config\":{\"m\":%u,\"ef_construct\":%u,\"full_scan_threshold\":%llu}",
                      f->hnsw_m, f->hnsw_ef_construction,
                      (unsigned long long)rows_to_kb(f->index_threshold, f->dim));
    if (f->quant) {
        vs__sb_puts(b, ",\"quantization_config\":");
        quant_json(b, f);
    }
    vs__sb_puts(b, ",\"on_disk\":true}");
}

int vs__h_coll_get(vs__call *k) {
    vs_coll_info in;
    int rc = vs_coll_info_get(k->coll, &in);
    if (rc) return vs__fail_coll(k, rc);
    vs__sb *b = &k->out;
    /* Qdrant's colours: green = optimised, yellow = optimising (our: indexing). */
    uint64_t indexed = in.pending_segments ? in.points - (in.mutable_points - in.mutable_indexed) : in.points;
    if (indexed > in.points) indexed = in.points;
    vs__sb_printf(b, "{\"status\":\"%s\",\"optimizer_status\":\"ok\",\"indexed_vectors_count\":%llu,"
                     "\"points_count\":%llu,\"segments_count\":%u,\"config\":{\"params\":{\"vectors\":",
                  in.pending_segments ? "yellow" : "green", (unsigned long long)indexed,
                  (unsigned long long)in.points, in.segments + 1);
    const vs_field_info *f0 = &in.fields[0];
    if (in.n_fields == 1 && !f0->name[0]) {
        field_json(b, f0);
    } else {
        vs__sb_putc(b, '{');
        for (uint32_t i = 0; i < in.n_fields; i++) {
            if (i) vs__sb_putc(b, ',');
            vs__sb_json_str(b, in.fields[i].name, strlen(in.fields[i].name));
            vs__sb_putc(b, ':');
            field_json(b, &in.fields[i]);
        }
        vs__sb_putc(b, '}');
    }
    vs__sb_printf(b,
                  ",\"shard_number\":1,\"replication_factor\":1,\"write_consistency_factor\":1,"
                  "\"on_disk_payload\":true},\"hnsw_config\":{\"m\":%u,\"ef_construct\":%u,"
                  "\"full_scan_threshold\":%llu,\"max_indexing_threads\":0,\"on_disk\":false},"
                  "\"optimizer_config\":{\"deleted_threshold\":0.2,\"vacuum_min_vector_number\":1000,"
                  "\"default_segment_number\":0,\"max_segment_size\":null,\"memmap_threshold\":null,"
                  "\"indexing_threshold\":%llu,\"flush_interval_sec\":5,\"max_optimization_threads\":null},"
                  "\"wal_config\":{\"wal_capacity_mb\":32,\"wal_segments_ahead\":0},\"quantization_config\":",
                  f0->index == VS_INDEX_HNSW ? f0->hnsw_m : 0, f0->hnsw_ef_construction,
                  (unsigned long long)rows_to_kb(f0->index_threshold, f0->dim),
                  (unsigned long long)rows_to_kb(f0->index_threshold, f0->dim));
    quant_json(b, f0);
    vs__sb_puts(b, "},\"payload_schema\":{");
    vs_pindex_info *pi = NULL;
    size_t npi = 0;
    if (vs_coll_payload_indexes(k->coll, &pi, &npi) == VS_OK) {
        for (size_t i = 0; i < npi; i++) {
            if (i) vs__sb_putc(b, ',');
            /* Qdrant keys the schema by field; a path with two index types shows twice
             * under the same key in no JSON, so the type joins the key then. */
            int dup = 0;
            for (size_t j = 0; j < npi; j++)
                if (j != i && !strcmp(pi[j].path, pi[i].path)) dup = 1;
            if (dup) {
                char key[600];
                snprintf(key, sizeof key, "%s:%s", pi[i].path, vs_pindex_type_name(pi[i].type));
                vs__sb_json_str(b, key, strlen(key));
            } else {
                vs__sb_json_str(b, pi[i].path, strlen(pi[i].path));
            }
            vs__sb_printf(b, ":{\"data_type\":\"%s\",\"points\":%llu}", vs_pindex_type_name(pi[i].type),
                          (unsigned long long)pi[i].entries);
        }
        vs_free(pi);
    }
    vs__sb_printf(b,
                  "},\"vecstore\":{\"deleted_points\":%llu,\"mutable_points\":%llu,\"wal_bytes\":%llu,"
                  "\"disk_bytes\":%llu,\"memory_bytes\":%llu,\"index_memory_bytes\":%llu,"
                  "\"pending_index_builds\":%u,\"last_lsn\":%llu}}",
                  (unsigned long long)in.deleted, (unsigned long long)in.mutable_points,
                  (unsigned long long)in.wal_bytes, (unsigned long long)in.disk_bytes,
                  (unsigned long long)in.memory_bytes, (unsigned long long)in.index_bytes,
                  in.pending_segments, (unsigned long long)in.last_lsn);
    return 0;
}

typedef struct hnsw_cfg {
    uint64_t m, efc, full_scan_kb;
    int m_set;
} hnsw_cfg;

static int read_hnsw(vs__call *k, const cJSON *h, hnsw_cfg *out, const char *what) {
    if (!h || cJSON_IsNull(h)) return 0;
    if (!cJSON_IsObject(h)) return vs__fail(k, 400, "Wrong input: %s must be an object", what);
    char err[VS__ERRLEN];
    if (cJSON_GetObjectItemCaseSensitive(h, "m") && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(h, "m")))
        out->m_set = 1;
    if (vs__rj_uint(h, "m", 0, VS_HNSW_M_MAX, &out->m, err) ||
        vs__rj_uint(h, "ef_construct", 4, VS_HNSW_EF_CONSTRUCTION_MAX, &out->efc, err) ||
        vs__rj_uint(h, "full_scan_threshold", 0, 1ull << 40, &out->full_scan_kb, err))
        return vs__fail(k, 400, "Wrong input: %s.%s", what, err);
    if (out->m_set && out->m == 1) return vs__fail(k, 400, "Wrong input: %s.m must be 0 (no graph) or at least 2", what);
    return 0;
}

/* Qdrant's quantization_config -> (quant, pq_m). */
static int read_quant(vs__call *k, const cJSON *q, uint32_t dim, int *quant, uint32_t *pq_m) {
    if (!q || cJSON_IsNull(q)) return 0;
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(q, "scalar");
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(q, "product");
    const cJSON *bi = cJSON_GetObjectItemCaseSensitive(q, "binary");
    if (!cJSON_IsObject(q) || (!!sc + !!pr + !!bi) != 1)
        return vs__fail(k, 400, "Wrong input: quantization_config must be one of {\"scalar\": …}, "
                                "{\"product\": …}, {\"binary\": …}");
    if (sc) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(sc, "type");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "int8"))
            return vs__fail(k, 400, "Wrong input: scalar quantization type must be \"int8\"");
        *quant = VS_QUANT_INT8;
    } else if (pr) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(pr, "compression");
        unsigned x = 0;
        if (!cJSON_IsString(c) || sscanf(c->valuestring, "x%u", &x) != 1 ||
            (x != 4 && x != 8 && x != 16 && x != 32 && x != 64))
            return vs__fail(k, 400, "Wrong input: product compression must be x4, x8, x16, x32 or x64");
        /* bytes per vector = dim·4/x, rounded down to a divisor of dim (one byte per
         * sub-quantizer). */
        uint32_t want = dim * 4 / x, m = 0;
        for (uint32_t d = want < dim ? want : dim; d >= 1 && !m; d--)
            if (dim % d == 0) m = d;
        if (!m) return vs__fail(k, 400, "Wrong input: product compression x%u leaves no bytes for dimension %u", x, dim);
        *quant = VS_QUANT_PQ;
        *pq_m = m;
    } else {
        *quant = VS_QUANT_BINARY;
    }
    return 0;
}

static int add_field(vs__call *k, vs_schema *sc, const char *name, const cJSON *cfg,
                     const hnsw_cfg *top, const cJSON *top_quant) {
    char what[128];
    snprintf(what, sizeof what, name[0] ? "vectors.%s" : "vectors", name);
    if (!cJSON_IsObject(cfg)) return vs__fail(k, 400, "Wrong input: %s must be an object", what);
    uint64_t dim = 0;
    char err[VS__ERRLEN];
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(cfg, "size");
    if (!size) return vs__fail(k, 400, "Wrong input: %s.size is missing", what);
    if (vs__rj_uint(cfg, "size", VS_DIM_MIN, VS_DIM_MAX, &dim, err))
        return vs__fail(k, 400, "Wrong input: %s.%s", what, err);
    const cJSON *dist = cJSON_GetObjectItemCaseSensitive(cfg, "distance");
    if (!cJSON_IsString(dist)) return vs__fail(k, 400, "Wrong input: %s.distance is missing (Cosine, Euclid or Dot)", what);
    int metric = vs_metric_parse(dist->valuestring);
    if (metric < 0)
        return vs__fail(k, 400, "Wrong input: %s.distance '%.40s' is not supported (Cosine, Euclid or Dot)",
                        what, dist->valuestring);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(cfg, "datatype");
    if (dt && !cJSON_IsNull(dt) && !(cJSON_IsString(dt) && !strcmp(dt->valuestring, "float32")))
        return vs__fail(k, 400, "Wrong input: %s.datatype: only float32 is supported", what);
    if (cJSON_GetObjectItemCaseSensitive(cfg, "multivector_config"))
        return vs__fail(k, 400, "Wrong input: %s.multivector_config is not supported yet", what);
    hnsw_cfg h = *top;
    if (read_hnsw(k, cJSON_GetObjectItemCaseSensitive(cfg, "hnsw_config"), &h, what)) return -1;
    int quant = 0;
    uint32_t pq_m = 0;
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(cfg, "quantization_config");
    if (read_quant(k, q ? q : top_quant, (uint32_t)dim, &quant, &pq_m)) return -1;
    int rc = vs_schema_add_vector(sc, name, (uint32_t)dim, metric);
    if (rc) return vs__fail_rc(k, rc, "bad vector field");
    if (!(h.m_set && h.m == 0)) { /* m = 0: no graph, exact search (Qdrant's meaning) */
        uint64_t thr = 0;
        if (h.full_scan_kb) {
            thr = h.full_scan_kb * 1024 / (dim * 4);
            if (thr > VS_INDEX_THRESHOLD_MAX) thr = VS_INDEX_THRESHOLD_MAX;
            if (thr == 0) thr = 1;
        }
        if ((rc = vs_schema_set_hnsw(sc, name, (uint32_t)h.m, (uint32_t)h.efc, (uint32_t)thr)))
            return vs__fail_rc(k, rc, "bad hnsw_config");
        if (quant && (rc = vs_schema_set_quantization(sc, name, quant, pq_m)))
            return vs__fail_rc(k, rc, "bad quantization_config for this vector");
    } else if (quant) {
        return vs__fail(k, 400, "Wrong input: %s: quantization needs an HNSW index (m > 0)", what);
    }
    return 0;
}

int vs__h_coll_create(vs__call *k) {
    if (!k->json) return vs__fail(k, 400, "Wrong input: a body with \"vectors\" is required");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(k->json, "vectors");
    if (!cJSON_IsObject(v)) return vs__fail(k, 400, "Wrong input: \"vectors\" must be an object");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(k->json, "sparse_vectors");
    if (sp && !cJSON_IsNull(sp) && !(cJSON_IsObject(sp) && !sp->child))
        return vs__fail(k, 400, "Wrong input: sparse vectors are not supported yet");
    hnsw_cfg top = {0, 0, 0, 0};
    if (read_hnsw(k, cJSON_GetObjectItemCaseSensitive(k->json, "hnsw_config"), &top, "hnsw_config")) return -1;
    const cJSON *tq = cJSON_GetObjectItemCaseSensitive(k->json, "quantization_config");
    vs_schema *sc;
    if (vs_schema_new(&sc)) return vs__fail(k, 500, "Service internal error: out of memory");
    int r = 0;
    if (cJSON_GetObjectItemCaseSensitive(v, "size")) {
        r = add_field(k, sc, "", v, &top, tq);
    } else {
        if (!v->child) r = vs__fail(k, 400, "Wrong input: \"vectors\" names no vector");
        int n = 0;
        for (const cJSON *f = v->child; f && !r; f = f->next, n++) {
            if (n == VS_FIELDS_MAX) {
                r = vs__fail(k, 400, "Wrong input: at most %d named vectors", VS_FIELDS_MAX);
                break;
            }
            if (!f->string[0] || strlen(f->string) > VS_NAME_MAX)
                r = vs__fail(k, 400, "Wrong input: vector names must be 1 to %d bytes", VS_NAME_MAX);
            else
                r = add_field(k, sc, f->string, f, &top, tq);
        }
    }
    if (!r) {
        pthread_mutex_lock(&k->srv->admin_mu);
        int rc = vs_coll_create(k->store, k->coll_name, sc);
        pthread_mutex_unlock(&k->srv->admin_mu);
        if (rc == VS_EEXIST)
            r = vs__fail(k, 409, "Wrong input: Collection `%s` already exists!", k->coll_name);
        else if (rc)
            r = vs__fail_rc(k, rc, vs_store_errmsg(k->store));
        else
            vs__sb_puts(&k->out, "true");
    }
    vs_schema_free(sc);
    return r;
}

int vs__h_coll_delete(vs__call *k) {
    pthread_mutex_lock(&k->srv->admin_mu);
    int rc = vs_store_drop(k->store, k->coll_name);
    pthread_mutex_unlock(&k->srv->admin_mu);
    if (rc == VS_ENOTFOUND)
        return vs__fail(k, 404, "Not found: Collection `%s` doesn't exist!", k->coll_name);
    if (rc) return vs__fail_rc(k, rc, vs_store_errmsg(k->store));
    vs__sb_puts(&k->out, "true");
    return 0;
}

int vs__h_index_create(vs__call *k) {
    if (!k->json) return vs__fail(k, 400, "Wrong input: a body with field_name and field_schema is required");
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(k->json, "field_name");
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(k->json, "field_schema");
    if (!cJSON_IsString(fn) || !fn->valuestring[0])
        return vs__fail(k, 400, "Wrong input: field_name must be a non-empty string");
    const char *type = NULL;
    if (cJSON_IsString(fs))
        type = fs->valuestring;
    else if (cJSON_IsObject(fs) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(fs, "type")))
        type = cJSON_GetObjectItemCaseSensitive(fs, "type")->valuestring;
    else
        return vs__fail(k, 400, "Wrong input: field_schema must be a type name or {\"type\": …}");
    int t = vs_pindex_type_parse(type);
    if (t < 0)
        return vs__fail(k, 400, "Wrong input: field_schema type '%.40s' is not supported (keyword, "
                                "integer, float, bool, datetime, text, geo, uuid)", type);
    int rc = vs_coll_create_payload_index(k->coll, fn->valuestring, t);
    if (rc) return vs__fail_coll(k, rc);
    vs__write_op(k);
    return 0;
}

int vs__h_index_delete(vs__call *k) {
    int rc = vs_coll_drop_payload_index(k->coll, k->seg[3], 0);
    /* Idempotent, as in Qdrant: dropping an index that is not there succeeds. */
    if (rc && rc != VS_ENOTFOUND) return vs__fail_coll(k, rc);
    vs__write_op(k);
    return 0;
}
