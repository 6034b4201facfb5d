/*
 * checksum.c — XXH3-64 wrappers.
 */
#include "util/checksum.h"

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t's size, so our allocator can own it */
#include <xxhash.h>

#include "util/alloc.h"

uint64_t vs__checksum(const void *data, size_t len) { return XXH3_64bits(data, len); }

uint64_t vs__checksum_seed(const void *data, size_t len, uint64_t seed) {
    return XXH3_64bits_withSeed(data, len, seed);
}

vs__cksum_state *vs__cksum_new(void) {
    XXH3_state_t *s = vs__aligned_alloc(64, sizeof *s);
    if (s) {
        XXH3_INITSTATE(s);
        XXH3_64bits_reset(s);
    }
    return (vs__cksum_state *)s;
}

void vs__cksum_update(vs__cksum_state *s, const void *data, size_t len) {
    XXH3_64bits_update((XXH3_state_t *)s, data, len);
}

uint64_t vs__cksum_digest(const vs__cksum_state *s) {
    return XXH3_64bits_digest((const XXH3_state_t *)s);
}

void vs__cksum_free(vs__cksum_state *s) { vs__aligned_free(s); }
