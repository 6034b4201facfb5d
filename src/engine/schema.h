/*
 * schema.h — a collection's schema: its named dense vector fields.
 *
 * The schema is persisted as JSON inside the collection manifest, so new kinds of
 * fields (sparse, multi-vector, geo) and index/quantization settings are new JSON keys
 * that older files simply lack. Field names follow collection-name rules, except that
 * "" is the unnamed default field (a single-vector collection, as in Qdrant).
 */
#ifndef VS_ENGINE_SCHEMA_H
#define VS_ENGINE_SCHEMA_H

#include "util/err.h"
#include "vecstore.h"

struct cJSON;

struct vs_schema {
    uint32_t nfields;
    vs_field_info fields[VS_FIELDS_MAX];
};

/* Field index for a name (NULL or "" = the default field: the field named "" or, if
 * the schema has exactly one field, that one); -1 if none. */
int vs__schema_field(const vs_schema *sc, const char *name);
int vs__schema_validate(const vs_schema *sc, vs__err *e);
/* JSON form: {"fields":[{"name":"","dim":128,"metric":"cosine","dtype":"f32","index":"flat"}]} */
struct cJSON *vs__schema_to_json(const vs_schema *sc);
int vs__schema_from_json(const struct cJSON *j, vs_schema *sc, vs__err *e);
/* 1 if s is a valid collection/field name (1..VS_NAME_MAX of [A-Za-z0-9_.-], no
 * leading '.'); allow_empty for field names. */
int vs__name_ok(const char *s, int allow_empty);
const char *vs__index_name(int kind);

#endif
