/*
 * points.h — what the point and search handlers share: writing records and scored
 * points, reading point selectors.
 */
#ifndef VS_SERVER_POINTS_H
#define VS_SERVER_POINTS_H

#include "server/reqjson.h"
#include "server/server.h"

/* How a record or scored point is written. */
typedef struct vs__rec_fmt {
    vs__wp wp;              /* payload projection */
    uint32_t vmask;         /* fields whose vectors are written */
    const vs_coll_info *info; /* needed when vmask != 0 */
    int score;              /* write "score" (search results) */
    int score_neg;          /* write it negated: nearest-first geo results, whose scores
                               are metres, answer Qdrant's {"neg": {"geo_distance": …}} */
} vs__rec_fmt;

/* {"id":…, ["version":0, "score":…,] "payload":…, "vector":…} */
void vs__write_record(vs__sb *b, const vs_result *r, size_t g, size_t row, const vs__rec_fmt *f);
/* The vs_get/vs_scroll/vs_query `with` bits a format needs. */
int vs__with_bits(const vs__rec_fmt *f);

/* Reads with_payload/with_vector of obj into f (info fetched into *info when vectors are
 * asked, or always if need_info). */
int vs__read_fmt(vs__call *k, const cJSON *obj, int payload_default, vs__rec_fmt *f,
                 vs_coll_info *info, int need_info);

/* An id written in a URL path segment: digits are a numeric id, anything else a string
 * id (UUIDs canonicalised). *holder keeps the string alive (cJSON_Delete it). */
int vs__path_id(vs__call *k, const char *seg, vs_id *id, cJSON **holder);

#endif
