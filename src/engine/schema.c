/*
 * schema.c — schema construction, validation and its JSON form.
 */
#include "engine/schema.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <strings.h>

#include "index/quant.h"
#include "util/alloc.h"

int vs__name_ok(const char *s, int allow_empty) {
    if (!s) return 0;
    size_t n = strlen(s);
    if (n == 0) return allow_empty;
    if (n > VS_NAME_MAX || s[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

int vs_schema_new(vs_schema **out) {
    if (!out) return VS_EINVAL;
    *out = vs__calloc(1, sizeof **out);
    return *out ? VS_OK : VS_ENOMEM;
}

void vs_schema_free(vs_schema *sc) { vs__free(sc); }

int vs_metric_parse(const char *s) {
    if (!s) return -1;
    if (!strcasecmp(s, "cosine")) return VS_METRIC_COSINE;
    if (!strcasecmp(s, "l2") || !strcasecmp(s, "euclid") || !strcasecmp(s, "euclidean"))
        return VS_METRIC_L2;
    if (!strcasecmp(s, "dot") || !strcasecmp(s, "ip")) return VS_METRIC_DOT;
    return -1;
}

const char *vs_metric_name(int m) {
    switch (m) {
    case VS_METRIC_COSINE: return "cosine";
    case VS_METRIC_L2: return "l2";
    case VS_METRIC_DOT: return "dot";
    }
    return "unknown";
}

int vs_schema_add_vector(vs_schema *sc, const char *name, uint32_t dim, int metric) {
    if (!sc) return VS_EINVAL;
    if (!name) name = "";
    if (!vs__name_ok(name, 1)) return VS_ENAME;
    if (dim < VS_DIM_MIN || dim > VS_DIM_MAX) return VS_ERANGE;
    if (metric < VS_METRIC_COSINE || metric > VS_METRIC_DOT) return VS_EINVAL;
    if (sc->nfields >= VS_FIELDS_MAX) return VS_ERANGE;
    for (uint32_t i = 0; i < sc->nfields; i++)
        if (!strcmp(sc->fields[i].name, name)) return VS_EEXIST;
    vs_field_info *f = &sc->fields[sc->nfields++];
    memset(f, 0, sizeof *f);
    strcpy(f->name, name);
    f->dim = dim;
    f->metric = metric;
    f->dtype = VS_DTYPE_F32;
    f->index = VS_INDEX_FLAT;
    f->hnsw_m = VS_HNSW_M_DEFAULT;
    f->hnsw_ef_construction = VS_HNSW_EF_CONSTRUCTION_DEFAULT;
    f->index_threshold = VS_INDEX_THRESHOLD_DEFAULT;
    f->quant = VS_QUANT_NONE;
    f->pq_m = 0;
    return VS_OK;
}

int vs_schema_set_hnsw(vs_schema *sc, const char *field, uint32_t m, uint32_t efc,
                       uint32_t threshold) {
    if (!sc) return VS_EINVAL;
    int fi = vs__schema_field(sc, field);
    if (fi < 0) return VS_ENOTFOUND;
    if (!m) m = VS_HNSW_M_DEFAULT;
    if (!efc) efc = VS_HNSW_EF_CONSTRUCTION_DEFAULT;
    if (m < VS_HNSW_M_MIN || m > VS_HNSW_M_MAX) return VS_ERANGE;
    if (efc < VS_HNSW_EF_CONSTRUCTION_MIN || efc > VS_HNSW_EF_CONSTRUCTION_MAX) return VS_ERANGE;
    if (threshold > VS_INDEX_THRESHOLD_MAX) return VS_ERANGE;
    vs_field_info *f = &sc->fields[fi];
    f->index = VS_INDEX_HNSW;
    f->hnsw_m = m;
    f->hnsw_ef_construction = efc;
    f->index_threshold = threshold ? threshold : VS_INDEX_THRESHOLD_DEFAULT;
    return VS_OK;
}

int vs_schema_set_quantization(vs_schema *sc, const char *field, int quant, uint32_t pq_m) {
    if (!sc) return VS_EINVAL;
    int fi = vs__schema_field(sc, field);
    if (fi < 0) return VS_ENOTFOUND;
    vs_field_info *f = &sc->fields[fi];
    switch (quant) {
    case VS_QUANT_NONE:
    case VS_QUANT_INT8: pq_m = 0; break;
    case VS_QUANT_PQ:
        if (pq_m == 0 || pq_m > f->dim || f->dim % pq_m) return VS_EINVAL;
        break;
    case VS_QUANT_BINARY:
        if (f->metric == VS_METRIC_L2) return VS_EINVAL;
        pq_m = 0;
        break;
    default: return VS_EINVAL;
    }
    f->quant = quant;
    f->pq_m = pq_m;
    return VS_OK;
}

const char *vs__index_name(int kind) { return kind == VS_INDEX_HNSW ? "hnsw" : "flat"; }

int vs__schema_field(const vs_schema *sc, const char *name) {
    if (!name || !*name) {
        for (uint32_t i = 0; i < sc->nfields; i++)
            if (!sc->fields[i].name[0]) return (int)i;
        return sc->nfields == 1 ? 0 : -1;
    }
    for (uint32_t i = 0; i < sc->nfields; i++)
        if (!strcmp(sc->fields[i].name, name)) return (int)i;
    return -1;
}

int vs__schema_validate(const vs_schema *sc, vs__err *e) {
    if (!sc || sc->nfields == 0)
        return vs__errf(e, VS_EINVAL, "schema has no vector fields");
    for (uint32_t i = 0; i < sc->nfields; i++) {
        const vs_field_info *f = &sc->fields[i];
        if (!vs__name_ok(f->name, 1)) return vs__errf(e, VS_ENAME, "invalid field name '%s'", f->name);
        if (f->dim < VS_DIM_MIN || f->dim > VS_DIM_MAX)
            return vs__errf(e, VS_ERANGE, "field '%s': dimension %u is out of range %d..%d",
                            f->name, f->dim, VS_DIM_MIN, VS_DIM_MAX);
        if (f->metric < 0 || f->metric > VS_METRIC_DOT)
            return vs__errf(e, VS_EINVAL, "field '%s': unknown metric %d", f->name, f->metric);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(sc->fields[j].name, f->name))
                return vs__errf(e, VS_EEXIST, "field '%s' appears twice", f->name);
        /* Codes only replace the vectors inside a graph walk; a flat index scores the
         * float rows directly. */
        if (f->quant != VS_QUANT_NONE && f->index != VS_INDEX_HNSW)
            return vs__errf(e, VS_EINVAL, "field '%s': quantization %s needs an HNSW index",
                            f->name, vs__quant_type_name(f->quant));
        if (f->quant == VS_QUANT_BINARY && f->metric == VS_METRIC_L2)
            return vs__errf(e, VS_EINVAL, "field '%s': binary quantization is for cosine and "
                            "dot fields, not l2", f->name);
        if (f->quant == VS_QUANT_PQ && (f->pq_m == 0 || f->dim % f->pq_m))
            return vs__errf(e, VS_EINVAL, "field '%s': pq_m %u does not divide dimension %u",
                            f->name, f->pq_m, f->dim);
    }
    return VS_OK;
}

cJSON *vs__schema_to_json(const vs_schema *sc) {
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "fields") : NULL;
    if (!arr) goto fail;
    for (uint32_t i = 0; i < sc->nfields; i++) {
        const vs_field_info *f = &sc->fields[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) goto fail;
        cJSON_AddItemToArray(arr, o);
        if (!cJSON_AddStringToObject(o, "name", f->name) ||
            !cJSON_AddNumberToObject(o, "dim", f->dim) ||
            !cJSON_AddStringToObject(o, "metric", vs_metric_name(f->metric)) ||
            !cJSON_AddStringToObject(o, "dtype", "f32") ||
            !cJSON_AddStringToObject(o, "index", vs__index_name(f->index)) ||
            !cJSON_AddNumberToObject(o, "hnsw_m", f->hnsw_m) ||
            !cJSON_AddNumberToObject(o, "hnsw_ef_construction", f->hnsw_ef_construction) ||
            !cJSON_AddNumberToObject(o, "index_threshold", f->index_threshold) ||
            !cJSON_AddStringToObject(o, "quantization", vs__quant_type_name(f->quant)) ||
            !cJSON_AddNumberToObject(o, "pq_m", f->pq_m))
            goto fail;
    }
    return root;
fail:
    cJSON_Delete(root);
    return NULL;
}

int vs__schema_from_json(const cJSON *j, vs_schema *sc, vs__err *e) {
    memset(sc, 0, sizeof *sc);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "fields");
    if (!cJSON_IsArray(arr)) return vs__errf(e, VS_ECORRUPT, "schema: 'fields' is not an array");
    const cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        if (sc->nfields >= VS_FIELDS_MAX)
            return vs__errf(e, VS_ECORRUPT, "schema: more than %d fields", VS_FIELDS_MAX);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON *dim = cJSON_GetObjectItemCaseSensitive(o, "dim");
        const cJSON *metric = cJSON_GetObjectItemCaseSensitive(o, "metric");
        const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(o, "dtype");
        if (!cJSON_IsString(name) || !cJSON_IsNumber(dim) || !cJSON_IsString(metric))
            return vs__errf(e, VS_ECORRUPT, "schema: field %u lacks name/dim/metric", sc->nfields);
        if (cJSON_IsString(dtype) && strcmp(dtype->valuestring, "f32"))
            return vs__errf(e, VS_EVERSION, "schema: dtype '%s' is not supported by this build",
                            dtype->valuestring);
        if (strlen(name->valuestring) > VS_NAME_MAX)
            return vs__errf(e, VS_ECORRUPT, "schema: field name too long");
        int m = vs_metric_parse(metric->valuestring);
        if (m < 0) return vs__errf(e, VS_ECORRUPT, "schema: unknown metric '%s'", metric->valuestring);
        vs_field_info *f = &sc->fields[sc->nfields++];
        strcpy(f->name, name->valuestring);
        f->dim = dim->valuedouble >= 1 && dim->valuedouble <= VS_DIM_MAX ? (uint32_t)dim->valuedouble : 0;
        f->metric = m;
        /* Index settings; files written before they existed mean flat, no quantization. */
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(o, "index");
        f->index = VS_INDEX_FLAT;
        if (cJSON_IsString(ix)) {
            if (!strcmp(ix->valuestring, "hnsw"))
                f->index = VS_INDEX_HNSW;
            else if (strcmp(ix->valuestring, "flat"))
                return vs__errf(e, VS_EVERSION, "schema: index '%s' is not supported by this build",
                                ix->valuestring);
        }
        const cJSON *jm = cJSON_GetObjectItemCaseSensitive(o, "hnsw_m");
        const cJSON *je = cJSON_GetObjectItemCaseSensitive(o, "hnsw_ef_construction");
        const cJSON *jt = cJSON_GetObjectItemCaseSensitive(o, "index_threshold");
        const cJSON *jq = cJSON_GetObjectItemCaseSensitive(o, "quantization");
        const cJSON *jp = cJSON_GetObjectItemCaseSensitive(o, "pq_m");
        f->hnsw_m = cJSON_IsNumber(jm) ? (uint32_t)jm->valuedouble : VS_HNSW_M_DEFAULT;
        f->hnsw_ef_construction =
            cJSON_IsNumber(je) ? (uint32_t)je->valuedouble : VS_HNSW_EF_CONSTRUCTION_DEFAULT;
        f->index_threshold = cJSON_IsNumber(jt) ? (uint32_t)jt->valuedouble : VS_INDEX_THRESHOLD_DEFAULT;
        f->quant = VS_QUANT_NONE;
        if (cJSON_IsString(jq)) {
            int found = -1;
            for (int k = VS_QUANT_NONE; k <= VS_QUANT_BINARY; k++)
                if (!strcmp(jq->valuestring, vs__quant_type_name(k))) found = k;
            if (found < 0)
                return vs__errf(e, VS_EVERSION, "schema: quantization '%s' is not supported by this build",
                                jq->valuestring);
            f->quant = found;
        }
        f->pq_m = cJSON_IsNumber(jp) ? (uint32_t)jp->valuedouble : 0;
        if (f->hnsw_m < VS_HNSW_M_MIN || f->hnsw_m > VS_HNSW_M_MAX ||
            f->hnsw_ef_construction < VS_HNSW_EF_CONSTRUCTION_MIN ||
            f->hnsw_ef_construction > VS_HNSW_EF_CONSTRUCTION_MAX ||
            (f->quant == VS_QUANT_PQ && (f->pq_m == 0 || f->dim % f->pq_m)))
            return vs__errf(e, VS_ECORRUPT, "schema: field '%s' has bad index parameters", f->name);
    }
    if (vs__schema_validate(sc, e) == VS_OK) return VS_OK;
    vs__err_ctx(e, "schema");
    if (e) e->rc = VS_ECORRUPT;
    return VS_ECORRUPT;
}
