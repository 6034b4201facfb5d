/*
 * checksum.h — the one checksum of every on-disk structure: XXH3-64 (libxxhash).
 * Chosen for speed (tens of GB/s, so verifying a segment on open is cheap) and because
 * it detects torn and bit-flipped data as well as a CRC does for our purposes.
 */
#ifndef VS_UTIL_CHECKSUM_H
#define VS_UTIL_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint64_t vs__checksum(const void *data, size_t len);
uint64_t vs__checksum_seed(const void *data, size_t len, uint64_t seed);

/* Streaming form, for files written piece by piece. */
typedef struct vs__cksum_state vs__cksum_state;
vs__cksum_state *vs__cksum_new(void);
void vs__cksum_update(vs__cksum_state *s, const void *data, size_t len);
uint64_t vs__cksum_digest(const vs__cksum_state *s);
void vs__cksum_free(vs__cksum_state *s);

#endif
