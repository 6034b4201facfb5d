/*
 * reqjson.c — see reqjson.h.
 */
#include "server/reqjson.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vs__json_depth_ok(const char *s, size_t n, int max) {
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[') {
            if (++depth > max) return -1;
        } else if (c == '}' || c == ']')
            depth--;
    }
    return 0;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Canonical form of a UUID spelling into out[37], or -1 if s is not one. Accepted as
 * Rust's uuid crate (which Qdrant uses) accepts: 32 hex digits, optionally hyphenated
 * 8-4-4-4-12, optionally in braces or after "urn:uuid:". */
static int uuid_canon(const char *s, size_t n, char out[37]) {
    if (n > 9 && !strncasecmp(s, "urn:uuid:", 9)) {
        s += 9;
        n -= 9;
    } else if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
        s++;
        n -= 2;
    }
    unsigned char nib[32];
    size_t k = 0;
    if (n == 32) {
        for (size_t i = 0; i < 32; i++) {
            int v = hexval((unsigned char)s[i]);
            if (v < 0) return -1;
            nib[k++] = (unsigned char)v;
        }
    } else if (n == 36) {
        for (size_t i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                if (s[i] != '-') return -1;
                continue;
            }
            int v = hexval((unsigned char)s[i]);
            if (v < 0) return -1;
            nib[k++] = (unsigned char)v;
        }
    } else {
        return -1;
    }
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20) out[o++] = '-';
        out[o++] = hx[nib[i]];
    }
    out[o] = 0;
    return 0;
}

int vs__rj_id(cJSON *j, vs_id *out, const char *what, char *err) {
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (!(d >= 0) || d != floor(d) || d > (double)VS__ID_JSON_MAX) {
            snprintf(err, VS__ERRLEN,
                     "%s: a numeric id must be an integer from 0 to 2^53 (larger ids do not "
                     "survive JSON clients' doubles; use a string id), got %.17g", what, d);
            return VS_EID;
        }
        *out = vs_id_num((uint64_t)d);
        return 0;
    }
    if (cJSON_IsString(j)) {
        size_t n = strlen(j->valuestring);
        char canon[37];
        if (uuid_canon(j->valuestring, n, canon) == 0 && strcmp(canon, j->valuestring)) {
            if (!cJSON_SetValuestring(j, canon)) {
                snprintf(err, VS__ERRLEN, "out of memory");
                return VS_ENOMEM;
            }
            n = 36;
        }
        if (n < 1 || n > VS_ID_STR_MAX) {
            snprintf(err, VS__ERRLEN, "%s: a string id must be 1 to %d bytes, got %zu", what,
                     VS_ID_STR_MAX, n);
            return VS_EID;
        }
        out->kind = VS_ID_STR;
        out->num = 0;
        out->str = j->valuestring;
        out->len = (uint32_t)n;
        return 0;
    }
    snprintf(err, VS__ERRLEN, "%s: an id must be an unsigned integer or a string (UUID)", what);
    return VS_EID;
}

int vs__rj_ids(cJSON *arr, vs_id **ids, size_t *n, const char *what, char *err) {
    *ids = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr)) {
        snprintf(err, VS__ERRLEN, "%s must be an array of ids", what);
        return VS_EINVAL;
    }
    size_t cnt = (size_t)cJSON_GetArraySize(arr);
    if (cnt > VS_BATCH_MAX) {
        snprintf(err, VS__ERRLEN, "%s: %zu ids, at most %d in one request", what, cnt, VS_BATCH_MAX);
        return VS_ERANGE;
    }
    if (!cnt) return 0;
    vs_id *v = malloc(cnt * sizeof *v);
    if (!v) {
        snprintf(err, VS__ERRLEN, "out of memory");
        return VS_ENOMEM;
    }
    size_t i = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        char w[64];
        snprintf(w, sizeof w, "%s[%zu]", what, i);
        int rc = vs__rj_id(e, &v[i], w, err);
        if (rc) {
            free(v);
            return rc;
        }
        i++;
    }
    *ids = v;
    *n = cnt;
    return 0;
}

int vs__rj_floats(const cJSON *arr, float *out, uint32_t dim, const char *what, char *err) {
    if (!cJSON_IsArray(arr)) {
        snprintf(err, VS__ERRLEN, "%s must be an array of numbers", what);
        return VS_EINVAL;
    }
    uint32_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (i == dim) {
            snprintf(err, VS__ERRLEN, "%s: dimension mismatch: expected %u, got %d", what, dim,
                     cJSON_GetArraySize(arr));
            return VS_EDIM;
        }
        if (!cJSON_IsNumber(e)) {
            snprintf(err, VS__ERRLEN, "%s[%u] is not a number", what, i);
            return VS_EINVAL;
        }
        double d = e->valuedouble;
        /* JSON has no NaN; overflow to infinity is what can happen here, and converting a
         * double beyond FLT_MAX to float is undefined, so check before. */
        if (!isfinite(d) || fabs(d) > (double)FLT_MAX) {
            snprintf(err, VS__ERRLEN, "%s[%u] = %g is outside the float32 range", what, i, d);
            return VS_EVALUE;
        }
        out[i++] = (float)d;
    }
    if (i != dim) {
        snprintf(err, VS__ERRLEN, "%s: dimension mismatch: expected %u, got %u", what, dim, i);
        return VS_EDIM;
    }
    return 0;
}

int vs__rj_filter(const cJSON *f, char **text, char *err) {
    *text = NULL;
    if (!f || cJSON_IsNull(f)) return 0;
    if (cJSON_IsString(f)) {
        size_t n = strlen(f->valuestring) + 1;
        if (!(*text = cJSON_malloc(n))) goto oom;
        memcpy(*text, f->valuestring, n);
        return 0;
    }
    if (!cJSON_IsObject(f)) {
        snprintf(err, VS__ERRLEN, "filter must be an object (or a string in VecStore's text syntax)");
        return -1;
    }
    if (!(*text = cJSON_PrintUnformatted(f))) goto oom;
    return 0;
oom:
    snprintf(err, VS__ERRLEN, "out of memory");
    return -1;
}

static int all_strings(const cJSON *a) {
    if (!cJSON_IsArray(a)) return 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) if (!cJSON_IsString(e)) return 0;
    return 1;
}

int vs__rj_with_payload(const cJSON *j, int dflt, vs__wp *out, char *err) {
    memset(out, 0, sizeof *out);
    out->on = dflt;
    if (!j || cJSON_IsNull(j)) return 0;
    if (cJSON_IsBool(j)) {
        out->on = cJSON_IsTrue(j);
        return 0;
    }
    if (all_strings(j)) {
        out->on = 1;
        out->include = j;
        return 0;
    }
    if (cJSON_IsObject(j)) {
        const cJSON *inc = cJSON_GetObjectItemCaseSensitive(j, "include");
        const cJSON *exc = cJSON_GetObjectItemCaseSensitive(j, "exclude");
        if ((inc && all_strings(inc)) != !!inc || (exc && all_strings(exc)) != !!exc || (!inc && !exc))
            goto bad;
        out->on = 1;
        out->include = inc;
        out->exclude = exc;
        return 0;
    }
bad:
    snprintf(err, VS__ERRLEN, "with_payload must be a boolean, a list of keys, or "
                              "{\"include\": [keys]} / {\"exclude\": [keys]}");
    return -1;
}

static int listed(const cJSON *list, const char *k) {
    const cJSON *e;
    cJSON_ArrayForEach(e, list) if (!strcmp(e->valuestring, k)) return 1;
    return 0;
}

void vs__write_payload(vs__sb *b, const char *payload, const vs__wp *wp) {
    if (!payload || !*payload) {
        vs__sb_puts(b, "{}");
        return;
    }
    if (!wp->include && !wp->exclude) {
        vs__sb_puts(b, payload);
        return;
    }
    /* Projection: top-level keys (payloads are stored compact, and are valid JSON). */
    cJSON *p = cJSON_Parse(payload);
    if (!p) {
        b->oom = 1;
        return;
    }
    cJSON *e = p->child;
    while (e) {
        cJSON *next = e->next;
        int keep = (!wp->include || listed(wp->include, e->string)) &&
                   (!wp->exclude || !listed(wp->exclude, e->string));
        if (!keep) cJSON_Delete(cJSON_DetachItemViaPointer(p, e));
        e = next;
    }
    char *t = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    if (!t) {
        b->oom = 1;
        return;
    }
    vs__sb_puts(b, t);
    cJSON_free(t);
}

int vs__rj_with_vector(const cJSON *j, const vs_coll_info *info, uint32_t *mask, char *err) {
    if (!j || cJSON_IsNull(j) || cJSON_IsFalse(j)) {
        *mask = 0;
        return 0;
    }
    if (cJSON_IsTrue(j)) {
        *mask = info->n_fields >= 32 ? ~0u : (1u << info->n_fields) - 1;
        return 0;
    }
    if (!all_strings(j)) {
        snprintf(err, VS__ERRLEN, "with_vector must be a boolean or a list of vector names");
        return -1;
    }
    *mask = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        int f = vs__field_index(info, e->valuestring, err);
        if (f < 0) return -1;
        *mask |= 1u << f;
    }
    return 0;
}

int vs__rj_uint(const cJSON *obj, const char *key, uint64_t lo, uint64_t hi, uint64_t *out,
                char *err) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j || cJSON_IsNull(j)) return 0;
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) ||
        j->valuedouble < (double)lo || j->valuedouble > (double)hi) {
        snprintf(err, VS__ERRLEN, "%s must be an integer from %llu to %llu", key,
                 (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    *out = (uint64_t)j->valuedouble;
    return 0;
}

int vs__rj_bool(const cJSON *obj, const char *key, int *out, char *err) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j || cJSON_IsNull(j)) return 0;
    if (!cJSON_IsBool(j)) {
        snprintf(err, VS__ERRLEN, "%s must be true or false", key);
        return -1;
    }
    *out = cJSON_IsTrue(j);
    return 0;
}

int vs__field_index(const vs_coll_info *info, const char *name, char *err) {
    if (!name || !*name) {
        for (uint32_t i = 0; i < info->n_fields; i++)
            if (!info->fields[i].name[0]) return (int)i;
        if (info->n_fields == 1) return 0;
        snprintf(err, VS__ERRLEN, "the collection has named vectors: name one (\"using\" or "
                                  "{\"name\": ..., \"vector\": ...})");
        return -1;
    }
    for (uint32_t i = 0; i < info->n_fields; i++)
        if (!strcmp(info->fields[i].name, name)) return (int)i;
    snprintf(err, VS__ERRLEN, "Wrong input: Not existing vector name error: %s", name);
    return -1;
}
